"""The Book section's API (``/api/book/...``) through Starlette's TestClient (the real app, in
process): each demonstration's numbers equal nnlearn's own, computed here independently, and each
exported script reproduces them when run."""

from __future__ import annotations

import contextlib
import io
import json
import re

import numpy as np
import pytest
from starlette.testclient import TestClient

import nnlearn
from nnlearn.web.app import create_app
from nnlearn.web.book import CHAPTERS
from tests.paths import REPO


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with TestClient(create_app(tmp_path_factory.mktemp("runs")), base_url="http://localhost") as c:
        yield c


DOC = REPO / "docs" / "book.md"


def doc_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


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
        if path != "/book":
            name = path.rsplit("/", 1)[1]
            assert f"<h1>Chapter {name[2:]} · {CHAPTERS[name]}</h1>" in response.text
            assert response.text.count('class="caption"') >= 1 and "{{" not in response.text
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


def test_the_overfitting_session_is_network_fit_on_1000_images(client):
    from nnlearn.data import load_mnist

    snap = client.post("/api/book/ch3/session", json={"lmbda": 5, "dropout": 0.2}).json()
    session = snap["session"]
    assert snap["epoch"] == 0 and snap["history"][0]["training_cost"] is None
    for _ in range(3):
        client.post(f"/api/playground/{session}/control", json={"action": "step"})
    snap = client.get(f"/api/playground/{session}").json()
    mnist = load_mnist()
    net = nnlearn.Network.from_sizes([784, 30, 10], cost="cross_entropy", dropout=0.2, seed=1)
    history = net.fit(mnist.train[0][:1000], mnist.train[1][:1000], epochs=3, mini_batch_size=10,
                      eta=0.5, lmbda=5.0, validation_data=mnist.validation,
                      monitor=["training_cost", "evaluation_accuracy"])
    assert [r["training_cost"] for r in snap["history"][1:]] == history["training_cost"]
    assert [r["evaluation_accuracy"] for r in snap["history"][1:]] == history["evaluation_accuracy"]
    assert snap["history"][3]["evaluation_accuracy"] > 0.7
    code = run_code(snap["code"])
    assert code["history"]["training_cost"] == history["training_cost"]
    client.post(f"/api/playground/{session}/close", json={})


# -- chapter 1 ---------------------------------------------------------------------------------
def test_the_perceptron_and_the_sigmoid_neuron_are_eqs_2_and_3(client):
    answer = client.post("/api/book/ch1/neuron", json={"w": 8, "b": -4}).json()
    x = np.array(answer["x"])
    assert len(x) == 201 and x[0] == -1.0 and x[-1] == 1.0
    assert answer["step"] == [1.0 if v > 0 else 0.0 for v in 8 * x - 4]
    np.testing.assert_allclose(answer["sigmoid"], 1 / (1 + np.exp(-(8 * x - 4))), rtol=1e-12)
    assert answer["threshold"] == 0.5
    code = run_code(answer["code"])
    assert list(code["step"]) == answer["step"] and list(code["sigmoid"]) == answer["sigmoid"]
    hard = client.post("/api/book/ch1/neuron", json={"w": 50, "b": -25}).json()
    far = np.abs(x - 0.5) > 0.1
    gap = lambda r: np.abs(np.array(r["sigmoid"]) - np.array(r["step"]))[far].max()
    assert gap(hard) < 0.01 < gap(answer)   # a larger w: the sigmoid hardens into the step


def by_hand_descent(eta: float, steps: int) -> list[list[float]]:
    """Eq. (11) written out: (w, b) -= eta * (mean((a - y) x), mean(a - y))."""
    xs = np.linspace(0.0, 2.0, 20)
    ys = 2 * xs + 1
    w, b = -1.0, 4.0
    path = [[w, b]]
    for _ in range(steps):
        error = w * xs + b - ys
        w, b = w - eta * np.mean(error * xs), b - eta * np.mean(error)
        path.append([w, b])
    return path


def test_gradient_descent_is_eq_11_and_diverges_past_2_over_lambda_max(client):
    answer = client.post("/api/book/ch1/descent", json={"eta": 0.3, "steps": 30}).json()
    np.testing.assert_allclose(answer["path"], by_hand_descent(0.3, 30), rtol=1e-10, atol=1e-12)
    xs = np.linspace(0.0, 2.0, 20)
    w, b = np.array(answer["path"]).T
    expected_costs = [np.mean((wi * xs + bi - 2 * xs - 1) ** 2) / 2 for wi, bi in zip(w, b)]
    np.testing.assert_allclose(answer["costs"], expected_costs, rtol=1e-10)
    hessian = np.array([[np.mean(xs ** 2), np.mean(xs)], [np.mean(xs), 1.0]])
    assert answer["eta_limit"] == pytest.approx(2 / np.linalg.eigvalsh(hessian).max())
    assert answer["costs"][-1] < answer["costs"][0] and answer["diverged"] is None
    code = run_code(answer["code"])
    assert code["path"] == answer["path"] and code["costs"] == answer["costs"]
    surface = np.array(answer["surface"]["log10_cost"])
    assert surface.shape == (41, 41)
    row, col = np.unravel_index(surface.argmin(), surface.shape)   # the bottom of the bowl
    assert np.linspace(-1.5, 4.5, 41)[col] == pytest.approx(2.0, abs=0.16)
    assert np.linspace(-2.5, 5.0, 41)[row] == pytest.approx(1.0, abs=0.2)
    limit = answer["eta_limit"]
    over = client.post("/api/book/ch1/descent", json={"eta": round(1.1 * limit, 2), "steps": 30}).json()
    assert over["costs"][-1] > 100 * over["costs"][0]   # every step overshoots further



# -- chapter 2 ---------------------------------------------------------------------------------
def test_backprop_step_by_step_is_the_book_equations_and_the_finite_differences(client):
    body = {"x": [0.8, -0.3], "y": [0.0, 1.0], "seed": 7}
    bp = client.post("/api/book/ch2/backprop", json=body).json()
    net = nnlearn.Network.from_sizes([2, 3, 2], cost="quadratic", seed=7, dtype="float64")
    W2, b2 = net.layers[0].params["W"].T, net.layers[0].params["b"]   # the book's w is our W.T
    W3, b3 = net.layers[2].params["W"].T, net.layers[2].params["b"]
    sigma = lambda z: 1 / (1 + np.exp(-z))
    x, y = np.array(body["x"]), np.array(body["y"])
    # the book's backprop (network.py's backprop), written out here as the reference
    z2 = W2 @ x + b2
    a2 = sigma(z2)
    z3 = W3 @ a2 + b3
    a3 = sigma(z3)
    delta3 = (a3 - y) * a3 * (1 - a3)                       # BP1
    delta2 = (W3.T @ delta3) * a2 * (1 - a2)                # BP2
    hidden, output = bp["layers"]
    for layer, z, a, delta, below in ((hidden, z2, a2, delta2, x), (output, z3, a3, delta3, a2)):
        np.testing.assert_allclose(layer["z"], z, rtol=1e-12)
        np.testing.assert_allclose(layer["a"], a, rtol=1e-12)
        np.testing.assert_allclose(layer["delta"], delta, rtol=1e-12)
        np.testing.assert_allclose(layer["dC_db"], delta, rtol=1e-12)               # BP3
        np.testing.assert_allclose(layer["dC_dW"], np.outer(delta, below), rtol=1e-12)  # BP4
        np.testing.assert_allclose(layer["fd_db"], layer["dC_db"], rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(layer["fd_dW"], layer["dC_dW"], rtol=1e-6, atol=1e-9)
    assert bp["cost"] == pytest.approx(0.5 * np.sum((a3 - y) ** 2), rel=1e-12)
    # every number's terms give the number: sums for z, products for δ and the gradients
    assert len(bp["explain"]) == 2 * 5 + 5 + 5 + 6 + 6   # z, a, δ, ∂C/∂b, ∂C/∂w
    for key, e in bp["explain"].items():
        values = [v for _, v in e["terms"]]
        made = {"sum": sum(values), "product": float(np.prod(values)),
                "sigmoid": float(sigma(values[0]))}[e["combine"]]
        assert made == pytest.approx(e["value"], rel=1e-9, abs=1e-15), key
        if "parts" in e:
            assert sum(v for _, v in e["parts"]) == pytest.approx(values[0], rel=1e-12)
    assert bp["explain"]["delta3_1"]["equation"].startswith("BP1")
    assert bp["explain"]["delta2_3"]["equation"].startswith("BP2")
    assert bp["explain"]["dw3_2_3"]["terms"][0] == ["a²₃", pytest.approx(a2[2])]
    code = run_code(bp["code"])
    np.testing.assert_array_equal(code["net"].layers[2].grads["W"].T, bp["layers"][1]["dC_dW"])
    np.testing.assert_array_equal(code["outputs"][1][0], bp["layers"][0]["z"])   # Dense: z²
    np.testing.assert_array_equal(code["outputs"][2][0], bp["layers"][0]["a"])   # Sigmoid: a²



# -- chapter 4 ---------------------------------------------------------------------------------
def test_a_pair_of_steep_neurons_makes_a_bump_of_height_h(client):
    answer = client.post("/api/book/ch4/pair", json={"w": 500, "s1": 0.3, "s2": 0.7, "h": 1.5}).json()
    x = np.array(answer["x"])
    sigma = lambda z: 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(answer["steps"][0], sigma(500 * (x - 0.3)), rtol=1e-9, atol=1e-30)  # σ caps its exponent
    np.testing.assert_allclose(answer["bump"], 1.5 * (sigma(500 * (x - 0.3)) - sigma(500 * (x - 0.7))),
                               rtol=1e-9, atol=1e-12)
    inside, outside = (x > 0.32) & (x < 0.68), (x < 0.28) | (x > 0.72)
    assert np.allclose(np.array(answer["bump"])[inside], 1.5, atol=1e-3)
    assert np.allclose(np.array(answer["bump"])[outside], 0.0, atol=1e-3)
    assert run_code(answer["code"])["bump"].tolist() == answer["bump"]


def test_bumps_of_the_dragged_heights_and_the_matching_ones(client):
    from nnlearn.examples import universality

    heights = [0.5, -1.0, 0.0, 2.0, -0.25]
    answer = client.post("/api/book/ch4/bumps", json={"n": 5, "heights": heights}).json()
    x = np.linspace(0.0, 1.0, 201)
    expected = universality.build(5, heights=heights).predict_proba(x[:, None]).ravel()
    assert answer["output"] == expected.tolist()
    on_piece_2 = (x > 0.22) & (x < 0.38)               # output ≈ σ(h₂) inside piece 2
    np.testing.assert_allclose(np.array(answer["output"])[on_piece_2], 1 / (1 + np.exp(1.0)), atol=1e-3)
    assert answer["mean_deviation"] == pytest.approx(np.mean(np.abs(expected - universality.f(x))))
    assert run_code(answer["code"])["output"].tolist() == answer["output"]
    matched = client.post("/api/book/ch4/bumps", json={"n": 20}).json()
    np.testing.assert_allclose(matched["heights"],
                               universality.logit(universality.f((np.arange(20) + 0.5) / 20)))
    assert matched["mean_deviation"] < 0.03 < answer["mean_deviation"]


@pytest.mark.parametrize("start", ["random", "bumps"])
def test_gradient_descent_fits_the_same_network_as_network_fit(client, start):
    from nnlearn.examples import universality

    body = {"n": 5, "start": start, "epochs": 60, "heights": [0.0] * 5}
    answer = client.post("/api/book/ch4/fit", json=body).json()
    net = (nnlearn.Network.from_sizes([1, 10, 1], cost="quadratic", dtype="float64", seed=1)
           if start == "random" else universality.build(5, heights=[0.0] * 5, seed=1))
    xs = np.linspace(0.0, 1.0, 200)[:, None]
    history = net.fit(xs, universality.f(xs), epochs=60, mini_batch_size=20, optimizer="adam",
                      eta=0.03 if start == "random" else 0.001, monitor=["training_cost"])
    assert answer["costs"] == history["training_cost"]
    x = np.linspace(0.0, 1.0, 201)[:, None]
    assert answer["snapshots"][-1] == {"epoch": 60, "output": net.predict_proba(x).ravel().tolist()}
    epochs = [s["epoch"] for s in answer["snapshots"]]
    assert epochs[0] == 0 and epochs == sorted(set(epochs)) and 10 <= len(epochs) <= 25
    assert answer["mean_deviation_after"] < answer["mean_deviation_before"]
    assert run_code(answer["code"])["costs"] == answer["costs"]



# -- chapter 5: a session of the playground's pool ---------------------------------------------
def test_the_vanishing_session_steps_like_examples_vanishing_and_streams(client):
    from nnlearn.examples import vanishing

    created = client.post("/api/book/ch5/session", json={"activation": "sigmoid"})
    assert created.status_code == 201
    snap = created.json()
    session = snap["session"]
    assert snap["epoch"] == 0 and snap["history"][0]["accuracy"] is None and not snap["playing"]
    for _ in range(2):
        assert client.post(f"/api/playground/{session}/control", json={"action": "step"}).json()["playing"] is False
    snap = client.get(f"/api/playground/{session}").json()
    assert snap["epoch"] == 2 and [r["epoch"] for r in snap["history"]] == [0, 1, 2]
    expected = vanishing.measure(n=1000, epochs=2, sizes=[784, 30, 30, 30, 10], eta=0.1,
                                 mini_batch_size=10, seed=1)
    # float32: the same computation, up to the last bits of BLAS's summation order
    np.testing.assert_allclose([r["norms"] for r in snap["history"]], expected["norms"], rtol=1e-5)
    assert [r["accuracy"] for r in snap["history"][1:]] == expected["accuracy"]
    first, last = snap["norms"][0], snap["norms"][2]
    assert last > 5 * first                           # the first hidden layer learns slowest
    code = run_code(snap["code"])
    np.testing.assert_allclose(code["norms"], expected["norms"], rtol=1e-5)
    # the playground's stream drives it: play, two snapshots, each one epoch further
    client.post(f"/api/playground/{session}/control", json={"action": "play"})
    with client.stream("GET", f"/api/playground/{session}/stream?max_updates=3") as stream:
        events = [json.loads(line[6:]) for line in stream.iter_lines() if line.startswith("data: ")]
    epochs = [e["epoch"] for e in events]
    assert len(events) == 3 and epochs == sorted(epochs) and epochs[-1] > 2
    assert events[-1]["history"][-1]["epoch"] == epochs[-1]
    # the playground-only calls answer 400 naming the session, not a traceback
    for method, path, body in [("POST", "points", {"x": 0, "y": 0, "label": 1}),
                               ("POST", "settings", {"hidden": [3]}), ("GET", "code", None),
                               ("POST", "weight", {"layer": 0, "from": 0, "to": 0, "value": 1}),
                               ("GET", "model.npz", None)]:
        r = client.request(method, f"/api/playground/{session}/{path}", json=body)
        assert r.status_code == 400 and r.json()["field"] == "session", path
    assert client.post(f"/api/playground/{session}/close", json={}).json() == {"closed": True}


def test_a_relu_session_learns_its_first_layer_faster(client):
    sigmoid = client.post("/api/book/ch5/session", json={}).json()
    relu = client.post("/api/book/ch5/session", json={"activation": "relu", "init": "he"}).json()
    ratio = lambda snap: snap["norms"][2] / snap["norms"][0]
    assert ratio(relu) < ratio(sigmoid) / 5
    assert relu["activation"] == "relu" and 'activation="relu"' in relu["code"]
    for snap in (sigmoid, relu):
        client.post(f"/api/playground/{snap['session']}/close", json={})


def test_book_sessions_share_the_playground_limit(tmp_path):
    with TestClient(create_app(tmp_path, max_sessions=1), base_url="http://localhost") as c:
        assert c.post("/api/book/ch5/session", json={}).status_code == 201
        full = c.post("/api/book/ch5/session", json={})
        assert full.status_code == 503 and "--max-sessions" in full.json()["error"]
        assert c.post("/api/playground", json={}).status_code == 503



# -- chapter 6 ---------------------------------------------------------------------------------
def test_the_convnet_session_shows_the_filters_and_maps_of_network_fit(client):
    from nnlearn.data import load_mnist

    snap = client.post("/api/book/ch6/session", json={"filters": 4}).json()
    session = snap["session"]
    before = np.array(snap["filters"])
    assert before.shape == (4, 5, 5) and np.array(snap["feature_maps"]).shape == (4, 24, 24)
    client.post(f"/api/playground/{session}/control", json={"action": "step"})
    snap = client.get(f"/api/playground/{session}").json()
    assert snap["epoch"] == 1 and [r["epoch"] for r in snap["history"]] == [0, 1]
    mnist = load_mnist()
    X, y = mnist.train[0][:1000].reshape(-1, 1, 28, 28), mnist.train[1][:1000]
    X_test, y_test = mnist.test[0][:500].reshape(-1, 1, 28, 28), mnist.test[1][:500]
    net = nnlearn.Network([nnlearn.Conv2D(1, 4, 5, input_shape=(1, 28, 28)), nnlearn.ReLU(),
                           nnlearn.MaxPool2D(2), nnlearn.Flatten(), nnlearn.Dense(4 * 12 * 12, 10),
                           nnlearn.Softmax()], cost="log_likelihood", seed=1)
    np.testing.assert_allclose(before, net.layers[0].params["W"][:, 0], atol=6e-6)   # 5 decimals
    net.fit(X, y, epochs=1, mini_batch_size=10, eta=0.1, monitor=(), threads=1)
    np.testing.assert_allclose(snap["filters"], net.layers[0].params["W"][:, 0], atol=6e-6)
    maps = np.maximum(0, net.layers[0].forward(X_test[:1]))[0]
    np.testing.assert_allclose(snap["feature_maps"], maps, atol=6e-5)
    assert snap["accuracy"] == net.evaluate(X_test, y_test)["accuracy"] > 0.5
    assert snap["history"][0]["accuracy"] < 0.3            # untrained: about chance
    code = run_code(snap["code"])
    np.testing.assert_allclose(code["filters"], snap["filters"], atol=6e-6)
    client.post(f"/api/playground/{session}/close", json={})



@pytest.mark.parametrize("path, body, field", [
    ("ch3/slowdown", {"cost": "hinge"}, "cost"),
    ("ch3/slowdown", {"epochs": 0}, "epochs"),
    ("ch3/slowdown", {"eta": -1}, "eta"),
    ("ch3/slowdown", {"w": "two"}, "w"),
    ("ch3/softmax", {"z": [1, 2, 3]}, "z"),
    ("ch3/softmax", {"z": [1, 2, 3, 1e9]}, "z[3]"),
    ("ch3/softmax", {}, "z"),
    ("ch1/neuron", {"w": 51}, "w"),
    ("ch2/backprop", {"x": [1, 2, 3]}, "x"),
    ("ch2/backprop", {"y": [0, 2]}, "y[1]"),
    ("ch2/backprop", {"seed": -1}, "seed"),
    ("ch4/pair", {"w": 0.5}, "w"),
    ("ch4/bumps", {"n": 21}, "n"),
    ("ch4/bumps", {"n": 3, "heights": [1, 2]}, "heights"),
    ("ch4/fit", {"epochs": 2001}, "epochs"),
    ("ch4/fit", {"start": "hand"}, "start"),
    ("ch3/session", {"lmbda": 2}, "lmbda"),
    ("ch3/session", {"dropout": 0.9}, "dropout"),
    ("ch5/session", {"activation": "softplus"}, "activation"),
    ("ch5/session", {"init": "zeros"}, "init"),
    ("ch6/session", {"filters": 5}, "filters"),
    ("ch6/session", {"filters": True}, "filters"),
    ("ch1/descent", {"eta": 0}, "eta"),
    ("ch1/descent", {"steps": 201}, "steps"),
])
def test_bad_settings_get_400_naming_the_field(client, path, body, field):
    response = client.post(f"/api/book/{path}", json=body)
    assert response.status_code == 400
    assert response.json()["field"] == field and field in response.json()["error"]


# -- docs/book.md --------------------------------------------------------------------------------
def test_the_docs_python_snippet_prints_what_it_says():
    (snippet,) = doc_blocks("python")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_code(snippet)
    lines = out.getvalue().splitlines()
    promised = re.search(r"# ([0-9.]+):", snippet).group(1)
    assert lines[0] == promised
    assert lines[1].startswith("cost 0.482176 -> 0.020574 after 300 epochs")   # exec(answer["code"])


def test_the_docs_show_every_page_and_the_readme_links_them():
    text = DOC.read_text(encoding="utf-8")
    for name in ["index", *CHAPTERS]:
        assert f"(images/book/{name}.png)" in text
        assert (DOC.parent / "images" / "book" / f"{name}.png").is_file()
    assert [line.split("#")[0].strip() for block in doc_blocks("bash") for line in block.splitlines()] == \
        ["nnlearn serve", "python scripts/book_screenshots.py"]   # both run in tests/web/test_book_browser.py
    assert "docs/book.md" in (DOC.parent.parent / "README.md").read_text(encoding="utf-8")
