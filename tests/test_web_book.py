"""The Book section's API (``/api/book/...``) through Starlette's TestClient (the real app, in
process): each demonstration's numbers equal nnlearn's own, computed here independently, and each
exported script reproduces them when run."""

from __future__ import annotations

import numpy as np
import pytest
from starlette.testclient import TestClient

import nnlearn
from nnlearn.nn.costs import get_cost
from nnlearn.web.app import create_app
from nnlearn.web.book import CHAPTERS


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with TestClient(create_app(tmp_path_factory.mktemp("runs"))) as c:
        yield c


def run_code(code: str) -> dict:
    """Execute an exported script; its variables."""
    namespace: dict = {"__name__": "__main__"}
    exec(compile(code, "<show the code>", "exec"), namespace)
    return namespace


def test_every_book_page_is_served_with_the_nav_link(client):
    for path in ["/book", *[f"/book/{name}" for name in CHAPTERS]]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert '<a href="/book">Book</a>' in response.text
        assert f'src="/static/{"book/index" if path == "/book" else path[1:]}.js"' in response.text
        assert client.get(f"/static/{'book/index' if path == '/book' else path[1:]}.js").status_code == 200
    assert client.get("/book/ch9").status_code == 404


# -- chapter 3 ---------------------------------------------------------------------------------
def by_hand(w: float, b: float, cost: str, eta: float, epochs: int) -> list[float]:
    """The neuron's cost before and after each epoch, by the book's gradients (eqs. 55-56 and
    61-62) written out here: an independent reference for Network.fit's numbers."""
    costs = []
    for epoch in range(epochs + 1):
        a = 1.0 / (1.0 + np.exp(-(w * 1.0 + b)))
        costs.append(a * a / 2 if cost == "quadratic" else -np.log(1.0 - a))
        if epoch == epochs:
            break
        delta = a * a * (1 - a) if cost == "quadratic" else a  # (a − y)σ′(z) or (a − y), y = 0
        w, b = w - eta * delta * 1.0, b - eta * delta
    return costs


@pytest.mark.parametrize("cost, w, b", [("quadratic", 2.0, 2.0), ("quadratic", 0.6, 0.9),
                                         ("cross_entropy", 2.0, 2.0)])
def test_the_slowdown_is_network_fit_and_the_book_gradients(client, cost, w, b):
    eta = {"quadratic": 0.15, "cross_entropy": 0.005}[cost]
    answer = client.post("/api/book/ch3/slowdown", json={"cost": cost, "w": w, "b": b,
                                                         "epochs": 300}).json()
    assert answer["eta"] == eta and answer["diverged"] is None
    assert len(answer["costs"]) == len(answer["outputs"]) == 301
    np.testing.assert_allclose(answer["costs"], by_hand(w, b, cost, eta, 300), rtol=1e-12)
    assert answer["outputs"][0] == pytest.approx(1 / (1 + np.exp(-(w + b))))
    # the exported script reproduces the page's numbers exactly
    code = run_code(answer["code"])
    assert code["costs"] == answer["costs"] and code["outputs"] == answer["outputs"]


def test_the_quadratic_neuron_from_2_2_crawls_then_learns(client):
    """The book's point: from (2, 2) the quadratic cost hardly falls in the first 50 epochs,
    while from (0.6, 0.9) it has already fallen by more than half."""
    far = client.post("/api/book/ch3/slowdown", json={"cost": "quadratic", "w": 2, "b": 2}).json()
    near = client.post("/api/book/ch3/slowdown", json={"cost": "quadratic", "w": 0.6, "b": 0.9}).json()
    assert far["costs"][50] > 0.95 * far["costs"][0]
    assert near["costs"][50] < 0.5 * near["costs"][0]
    assert far["costs"][300] < 0.1 * far["costs"][0]   # and then it does learn


def test_softmax_is_the_layer_and_sums_to_one(client):
    z = [2.5, -1.0, 3.2, 0.5]
    answer = client.post("/api/book/ch3/softmax", json={"z": z}).json()
    expected = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(answer["a"], expected, rtol=1e-12)
    assert answer["sum"] == pytest.approx(1.0, abs=1e-12)
    assert list(run_code(answer["code"])["a"]) == answer["a"]
    higher = client.post("/api/book/ch3/softmax", json={"z": [2.5, -1.0, 3.2, 1.5]}).json()["a"]
    assert higher[3] > answer["a"][3] and all(higher[j] < answer["a"][j] for j in range(3))


@pytest.mark.parametrize("path, body, field", [
    ("ch3/slowdown", {"cost": "hinge"}, "cost"),
    ("ch3/slowdown", {"epochs": 0}, "epochs"),
    ("ch3/slowdown", {"eta": -1}, "eta"),
    ("ch3/slowdown", {"w": "two"}, "w"),
    ("ch3/softmax", {"z": [1, 2, 3]}, "z"),
    ("ch3/softmax", {"z": [1, 2, 3, 1e9]}, "z[3]"),
    ("ch3/softmax", {}, "z"),
])
def test_bad_settings_get_400_naming_the_field(client, path, body, field):
    response = client.post(f"/api/book/{path}", json=body)
    assert response.status_code == 400
    assert response.json()["field"] == field and field in response.json()["error"]
