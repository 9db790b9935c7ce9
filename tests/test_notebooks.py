"""The chapter notebooks (notebooks/, docs/notebooks.md).

Each ``notebooks/chN_*.py`` (jupytext's percent format) is the source; its ``.ipynb`` must hold
the same cells, without outputs. Each notebook runs top to bottom in a real Jupyter kernel
(nbclient) at ``NNLEARN_NOTEBOOK_SIZE=small``, and the numbers it shows are checked against
the library computing them here: a probe cell appended to the notebook prints its variables
as JSON. The commands of docs/notebooks.md are run as written.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnlearn
from nnlearn.examples import universality, vanishing
from nnlearn.examples.notebooks import SIZE_VARIABLE, neuron, sizes
from nnlearn.errors import ConfigError

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

jupytext = pytest.importorskip("jupytext")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOURCES = sorted(NOTEBOOKS.glob("ch*_*.py"))
DOC = ROOT / "docs" / "notebooks.md"
PROBE = "NOTEBOOK-PROBE "


def cells(nb) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in nb.cells]


# -- the pairs ------------------------------------------------------------------------------
def test_one_notebook_per_chapter():
    chapters = sorted(int(re.match(r"ch(\d)_", p.name).group(1)) for p in SOURCES)
    assert chapters == [1, 2, 3, 4, 5, 6]
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == \
        sorted(p.stem + ".ipynb" for p in SOURCES)


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_ipynb_is_its_py(source):
    """The committed .ipynb has the .py's cells, in order, and no outputs (regenerate with
    ``jupytext --update --to ipynb notebooks/NAME.py``)."""
    from_py = jupytext.read(source)
    committed = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    nbformat.validate(committed)
    assert cells(committed) == cells(from_py), f"{source.name} changed: regenerate its .ipynb"
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                "commit notebooks without outputs"
    assert committed.metadata["jupytext"]["formats"] == "ipynb,py:percent"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_each_notebook_chooses_its_sizes_first(source):
    """The first code cell reads the size knob, and captions name the book's sections."""
    nb = jupytext.read(source)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert "S = sizes(" in code[0]
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert text.count("§") >= 2 and re.search(r"\*Book §", text)


def test_size_knob(monkeypatch):
    monkeypatch.delenv(SIZE_VARIABLE, raising=False)
    assert sizes(default={"n": 1000}, small={"n": 10}).n == 1000
    monkeypatch.setenv(SIZE_VARIABLE, "small")
    assert sizes(default={"n": 1000}, small={"n": 10}).n == 10
    monkeypatch.setenv(SIZE_VARIABLE, "huge")
    with pytest.raises(ConfigError, match="NNLEARN_NOTEBOOK_SIZE='huge'.*default, small"):
        sizes(default={"n": 1}, small={"n": 1})
    monkeypatch.setenv(SIZE_VARIABLE, "small")
    with pytest.raises(ConfigError, match="same names"):
        sizes(default={"n": 1}, small={"m": 1})


def test_neuron_is_f_of_wx_plus_b():
    x = np.array([[-1.0], [0.4], [0.6], [2.0]])
    sigmoid = neuron(2.5, -1.25).predict_proba(x).ravel()
    assert np.allclose(sigmoid, 1 / (1 + np.exp(-(2.5 * x.ravel() - 1.25))), rtol=1e-15)
    assert neuron(2.5, -1.25, "step").predict_proba(x).ravel().tolist() == [0, 0, 1, 1]
    assert np.allclose(neuron(-3.0, 0.5, "linear").predict_proba(x).ravel(), [3.5, -0.7, -1.3, -5.5])
    with pytest.raises(ConfigError, match="unknown activation"):
        neuron(1.0, 0.0, "sigmoids")


# -- running them -----------------------------------------------------------------------------
def execute(name: str, probe: str, tmp_path, monkeypatch) -> tuple[dict, list[str], int]:
    """Run ``notebooks/NAME.ipynb`` at small sizes with a probe cell printing ``probe`` as JSON.

    Returns the probe's value, the text the notebook printed (one string per stream output)
    and the number of figures it showed. Fails on any error or anything written to stderr.
    """
    monkeypatch.setenv(SIZE_VARIABLE, "small")
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json as _json, numpy as _np\n"
        f"print({PROBE!r} + _json.dumps({probe}, default=lambda o: _np.asarray(o).tolist()))"))
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    texts, figures, value = [], 0, None
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.output_type != "error", out
            if out.output_type == "stream":
                assert out.name == "stdout", f"{name} wrote to stderr: {out.text}"
                if out.text.startswith(PROBE):
                    value = json.loads(out.text[len(PROBE):])
                else:
                    texts.append(out.text)
            elif "image/png" in out.get("data", {}):
                figures += 1
    assert value is not None
    return value, texts, figures


@pytest.mark.slow
def test_ch1_notebook(tmp_path, monkeypatch, mnist):
    got, texts, figures = execute("ch1_neurons_and_gradient_descent", """{
        "gap": list(largest_gap.values()), "final": {k: p[-1] for k, (p, c) in paths.items()},
        "costs": {k: c for k, (p, c) in paths.items()}, "etas": etas, "accuracy": accuracy,
        "correct": history["evaluation_correct"], "S": vars(S)}""", tmp_path, monkeypatch)
    assert figures == 4
    # the sigmoid neuron's output approaches the perceptron's step as w grows
    assert all(a > b for a, b in zip(got["gap"], got["gap"][1:])) and got["gap"][-1] < 1e-3
    # gradient descent: the bowl's bottom is the least-squares line (2, 1)
    xs = np.linspace(0.0, 2.0, 20)
    w, b = np.linalg.lstsq(np.column_stack([xs, np.ones_like(xs)]), 2 * xs + 1, rcond=None)[0]
    hessian = np.array([[np.mean(xs**2), np.mean(xs)], [np.mean(xs), 1.0]])
    lam = np.linalg.eigvalsh(hessian)
    assert math.isclose(got["etas"]["too large"], 2.2 / lam[1])
    assert math.isclose(got["etas"]["about right"], 2.0 / lam.sum())
    assert np.hypot(*(np.array(got["final"]["about right"]) - (w, b))) < 0.05
    small, right, large = (got["costs"][k] for k in ("too small", "about right", "too large"))
    assert len(small) == 31 and small[-1] > 0.5 * small[0]            # crawls
    assert right[-1] < 1e-3 * right[0]                                # converges
    assert large[-1] > 100 * large[0] and large[-1] > large[15] > large[0]   # diverges
    # the [784, 30, 10] network: the accuracy shown is Network.fit's
    S = got["S"]
    net = nnlearn.Network.from_sizes([784, 30, 10], cost="quadratic", weight_init="normal", seed=1)
    n, m = S["images"], S["test_images"]
    history = net.fit(mnist.train[0][:n], mnist.train[1][:n], epochs=S["epochs"], mini_batch_size=10,
                      eta=3.0, validation_data=(mnist.test[0][:m], mnist.test[1][:m]))
    assert got["accuracy"] == history["evaluation_accuracy"]
    assert f"Epoch {S['epochs']}: {got['correct'][-1]} / {S['test_images']}" in "".join(texts)


def bp_by_hand(W1, b1, W2, b2, x, y):
    """BP1–BP4 for a sigmoid [2, 3, 2] net and one example, written out in NumPy."""
    sig = lambda z: 1 / (1 + np.exp(-z))
    z1 = x @ W1 + b1
    a1 = sig(z1)
    z2 = a1 @ W2 + b2
    a2 = sig(z2)
    d2 = (a2 - y) * sig(z2) * (1 - sig(z2))
    d1 = (d2 @ W2.T) * sig(z1) * (1 - sig(z1))
    return {"b1": d1.sum(0), "W1": x.T @ d1, "b2": d2.sum(0), "W2": a1.T @ d2}


@pytest.mark.slow
def test_ch2_notebook(tmp_path, monkeypatch):
    got, texts, figures = execute("ch2_backpropagation", """{
        "errors": errors, "check": check.errors, "grads": step_by_step, "x": x, "y": y,
        "seed": S.seed}""", tmp_path, monkeypatch)
    assert figures == 0
    assert set(got["errors"]) == {"b1", "W1", "b2", "W2"} and max(got["errors"].values()) < 1e-7
    assert len(got["check"]) == 4 and max(got["check"].values()) < 1e-7
    shown = [float(v) for v in re.findall(r"relative error\s+(\d\.\de[-+]\d+)", "".join(texts))]
    assert len(shown) == 4 and max(shown) < 1e-7
    # the notebook's gradients are the library's, and the library's are BP1–BP4
    net = nnlearn.Network.from_sizes([2, 3, 2], cost="quadratic", dtype="float64", seed=got["seed"])
    x, y = np.array(got["x"]), np.array(got["y"])
    net.backward(net.forward(x, True), y)
    d1, d2 = net.layers[0], net.layers[2]
    hand = bp_by_hand(d1.params["W"], d1.params["b"], d2.params["W"], d2.params["b"], x, y)
    for name, layer, key in [("b1", d1, "b"), ("W1", d1, "W"), ("b2", d2, "b"), ("W2", d2, "W")]:
        assert np.array_equal(np.array(got["grads"][name]), layer.grads[key]), name
        assert np.allclose(hand[name], layer.grads[key], rtol=1e-12, atol=1e-15), name


def one_neuron_fit(w: float, b: float, cost: str, eta: float, epochs: int) -> list[float]:
    net = nnlearn.Network([nnlearn.Dense(1, 1), nnlearn.Sigmoid()], cost=cost, dtype="float64")
    net.layers[0].params["W"][...] = w
    net.layers[0].params["b"][...] = b
    history = net.fit(np.ones((1, 1)), np.zeros((1, 1)), epochs=epochs, mini_batch_size=1, eta=eta,
                      monitor=["training_cost"])
    return history["training_cost"]


@pytest.mark.slow
def test_ch3_notebook(tmp_path, monkeypatch):
    got, texts, figures = execute("ch3_improving_learning", """{
        "runs": {f"{c}|{s[0]}|{s[1]}": r for (c, s), r in runs.items()},
        "overfit": {k: h.records for k, h in overfit.items()}, "A": A, "z_4": z_4, "S": vars(S)}""",
        tmp_path, monkeypatch)
    assert figures == 4
    S = got["S"]
    for key, run in got["runs"].items():
        cost, w, b = key.split("|")
        eta = 0.15 if cost == "quadratic" else 0.005
        # the cost after n epochs is Network.fit's
        assert run["cost"][1:] == one_neuron_fit(float(w), float(b), cost, eta, S["neuron_epochs"]), key
    quad_good, quad_bad = got["runs"]["quadratic|0.6|0.9"], got["runs"]["quadratic|2.0|2.0"]
    ce_bad = got["runs"]["cross_entropy|2.0|2.0"]
    # the book's figures: output 0.82 → 0.09 from (0.6, 0.9); 0.98 → 0.20 from (2, 2), 300 epochs
    assert round(quad_good["output"][0], 2) == 0.82 and round(quad_good["output"][-1], 2) == 0.09
    assert round(quad_bad["output"][0], 2) == 0.98 and round(quad_bad["output"][-1], 2) == 0.20
    # the slowdown: from (2, 2) the quadratic cost hardly moves in 50 epochs, the cross-entropy does
    assert quad_bad["cost"][50] > 0.95 * quad_bad["cost"][0]
    assert quad_good["cost"][50] < 0.5 * quad_good["cost"][0]
    assert ce_bad["cost"][50] < 0.9 * ce_bad["cost"][0]
    A = np.array(got["A"])
    assert np.allclose(A.sum(axis=1), 1)
    assert np.all(np.diff(A[:, 3]) > 0) and np.all(np.diff(A[:, 0]) < 0)
    assert set(got["overfit"]) == {"no regularisation", "L2, λ = 0.1", "dropout 0.2"}
    for records in got["overfit"].values():
        assert len(records) == S["overfit_epochs"]
        assert records[-1]["training_cost"] < records[0]["training_cost"]
    # the reported L2 cost includes (λ/2n) Σ w²: larger than the unregularised run's from the same start
    first_cost = {name: records[0]["training_cost"] for name, records in got["overfit"].items()}
    assert first_cost["L2, λ = 0.1"] > first_cost["no regularisation"]


@pytest.mark.slow
def test_ch4_notebook(tmp_path, monkeypatch):
    got, texts, figures = execute("ch4_universality", """{
        "rise": rise, "bump": [bump[1000], bump[200], bump[1800]],
        "deviation": hand["mean_deviation"], "pairs": hand["pairs"],
        "fitted": {k: {"before": r["before"], "after": r["after"], "cost": r["cost"]}
                   for k, r in fitted.items()}}""", tmp_path, monkeypatch)
    assert figures == 4
    for w, width in got["rise"].items():
        assert math.isclose(width * float(w), 2 * math.log(9), rel_tol=0.03), w
    assert np.allclose(got["bump"], [0.8, 0.0, 0.0], atol=1e-6)
    expected = universality.approximate(got["pairs"])["mean_deviation"]
    assert {int(n): v for n, v in got["deviation"].items()} == expected
    random_start = got["fitted"]["random start"]
    assert random_start["after"] < 0.5 * random_start["before"]
    assert random_start["cost"][-1] < random_start["cost"][0]


@pytest.mark.slow
def test_ch5_notebook(tmp_path, monkeypatch, mnist):
    got, texts, figures = execute("ch5_vanishing_gradients", """{
        "norms": {k: r["norms"] for k, r in results.items()}, "setups": setups, "S": vars(S)}""",
        tmp_path, monkeypatch)
    assert figures == 2
    S, norms = got["S"], {k: np.array(v) for k, v in got["norms"].items()}
    book = "sigmoid, N(0, 1/n_in) (the book)"
    again = vanishing.measure(n=S["images"], epochs=S["epochs"], sizes=(784, 30, 30, 30, 10),
                              data=mnist.train, **got["setups"][book])
    assert np.array_equal(norms[book], again["norms"])
    first, last = norms[book][0, 0], norms[book][0, 2]
    assert last > 5 * first                                    # the first layer learns far slower
    he = norms["ReLU, He N(0, 2/n_in), zero biases"][0]
    assert 1 / 3 < he[2] / he[0] < 3                           # ReLU + He: about the same speed


@pytest.mark.slow
def test_ch6_notebook(tmp_path, monkeypatch):
    got, texts, figures = execute("ch6_convnets", """{
        "table": table, "change": filter_change, "shapes": [list(maps.shape), list(pooled.shape)],
        "W": list(conv_b.params["W"].shape), "S": vars(S)}""", tmp_path, monkeypatch)
    assert figures == 2
    assert [row[0][:3] for row in got["table"]] == ["(a)", "(b)", "(c)", "(d)"]
    assert [row[1] for row in got["table"]] == [97.80, 98.78, 99.06, 99.23]
    assert got["W"] == [20, 1, 5, 5] and got["shapes"] == [[1, 20, 24, 24], [1, 20, 12, 12]]
    assert got["change"] > 0
    # rung (a)'s test accuracy is what the preset, trained the same way here, scores
    from nnlearn.experiments.config.files import load_preset, resolve
    from nnlearn.experiments.runs.builder import prepare

    S = got["S"]
    cfg = resolve(load_preset("ch6-fc"), overrides={
        "data.train_size": S["train_images"], "data.validation_size": S["validation_images"],
        "training.epochs": S["epochs"], "training.seed": 1})
    run = prepare(cfg)
    nnlearn.Trainer(run.network, *run.train, validation_data=run.validation, **run.options).run()
    m = S["test_images"]
    test = run.test
    assert got["table"][0][3] == run.network.evaluate(test[0][:m], test[1][:m])["accuracy"]


# -- docs/notebooks.md ----------------------------------------------------------------------------
def doc_commands() -> list[str]:
    return [line.strip() for block in re.findall(r"```bash\n(.*?)```", DOC.read_text(), re.S)
            for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_docs_install_line_names_the_extra():
    """`pip install -e ".[notebook]"`: the extra exists, brings what the notebooks import, and
    the test extra brings what this file needs."""
    assert 'pip install -e ".[notebook]"' in doc_commands()
    readme = (ROOT / "README.md").read_text()
    assert "docs/notebooks.md" in readme and 'pip install -e ".[notebook]"' in readme
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = lambda reqs: {re.split(r"[<>=\[]", r)[0] for r in reqs}
    assert {"matplotlib", "ipykernel", "jupytext", "nbclient", "nbformat"} <= names(extras["notebook"])
    assert {"ipykernel", "jupytext", "nbclient", "nbformat", "matplotlib"} <= names(extras["test"])
    imported = set()
    for source in SOURCES:
        imported |= set(re.findall(r"^(?:import|from) (\w+)", source.read_text(), re.M))
    assert imported <= {"matplotlib", "numpy", "nnlearn"}, imported   # numpy comes with nnlearn


@pytest.mark.slow
def test_docs_commands_run_as_written(tmp_path):
    """Every other command of docs/notebooks.md, run by the shell in a copy of the notebooks."""
    shutil.copytree(NOTEBOOKS, tmp_path / "notebooks")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    commands = [c for c in doc_commands() if not c.startswith("pip install")]
    assert len(commands) == 2
    for command in commands:
        proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=180)
        assert proc.returncode == 0, f"{command}\n{proc.stdout}\n{proc.stderr}"
    # `jupytext --to ipynb` rewrote the copy's .ipynb: still the committed one's cells
    regenerated = next(c for c in commands if c.startswith("jupytext"))
    path = tmp_path / regenerated.split()[-1]
    assert cells(nbformat.read(path.with_suffix(".ipynb"), as_version=4)) == \
        cells(nbformat.read(NOTEBOOKS / path.with_suffix(".ipynb").name, as_version=4))
