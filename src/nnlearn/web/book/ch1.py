r"""Chapter 1, *Using neural nets to recognize handwritten digits*: neurons and gradient descent.

**Perceptron and sigmoid neuron** (book §"Perceptrons", eq. 2, and §"Sigmoid neurons",
eqs. 3–4). One input x, weight w, bias b: the perceptron outputs 1 if w x + b > 0 and 0
otherwise, the sigmoid neuron σ(w x + b). :func:`neuron` evaluates nnlearn's ``Dense(1, 1)``
followed by its ``Step`` and ``Sigmoid`` layers; as w grows (with the threshold s = −b/w
fixed) the sigmoid hardens into the step.

**Gradient descent** (book §"Learning with gradient descent", eqs. 6, 10, 11). A linear
neuron a = w x + b is fitted to 20 points on y = 2x + 1 under C(w, b) = (1/2n) Σₓ (a − y)².
Each step is v → v′ = v − η∇C with v = (w, b): ``Network.fit`` with one minibatch holding all
20 points, so one epoch is one step (:func:`descent`). C is a quadratic bowl with Hessian
H = mean [[x², x], [x, 1]]; the distance to the bottom along an eigenvector of H with
eigenvalue λ shrinks by |1 − ηλ| per step, so the descent diverges once η > 2/λ_max.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy

from nnlearn.checks import Integer, Number
from nnlearn.errors import DivergenceError
from nnlearn.examples.notebooks import neuron as make_neuron
from nnlearn.web.book import SEED
from nnlearn.web.validation import config_rule, read

NEURON_X = (-1.0, 1.0, 201)
"""The inputs x at which both neurons are drawn: 201 points in [−1, 1]."""
DESCENT_START = (-1.0, 4.0)
GRID_W, GRID_B, GRID_SIZE = (-1.5, 4.5), (-2.5, 5.0), 41
"""The (w, b) window of the cost surface and its resolution."""
MAX_STEPS = 200
WEIGHT = Number(-50.0, 50.0)
"""The neuron's ``w`` and ``b``."""
ETA = config_rule("training.eta", high=2.0)
"""η of the descent: (0, 2], past the 2/λ_max where it diverges."""


def descent_data() -> tuple[numpy.ndarray, numpy.ndarray]:
    """The 20 points (x, y = 2x + 1), x evenly spaced in [0, 2]."""
    xs = numpy.linspace(0.0, 2.0, 20)[:, None]
    return xs, 2.0 * xs + 1.0


def neuron(body: dict[str, Any]) -> dict[str, Any]:
    """Outputs of a perceptron (Step) and a sigmoid neuron with the same ``w``, ``b`` (each in
    [−50, 50]) at 201 inputs x in [−1, 1]."""
    w = read(body, "w", WEIGHT, 8.0)
    b = read(body, "b", WEIGHT, -4.0)
    x = numpy.linspace(*NEURON_X)[:, None]
    step = make_neuron(w, b, "step").predict_proba(x).ravel()
    sigmoid = make_neuron(w, b, "sigmoid").predict_proba(x).ravel()
    return {"w": w, "b": b, "x": x.ravel().tolist(), "step": step.tolist(),
            "sigmoid": sigmoid.tolist(), "threshold": -b / w if w else None,
            "code": neuron_code(w, b)}


def neuron_code(w: float, b: float) -> str:
    lo, hi, count = NEURON_X
    return f'''"""Book ch. 1, eqs. (2)-(4): a perceptron and a sigmoid neuron with w = {w!r}, b = {b!r}.
Written by nnlearn serve."""
import numpy as np
from nnlearn.examples.notebooks import neuron   # Dense(1, 1) + the activation, weight w, bias b

x = np.linspace({lo!r}, {hi!r}, {count})[:, None]
step = neuron({w!r}, {b!r}, "step").predict_proba(x).ravel()        # 1 if w x + b > 0 else 0
sigmoid = neuron({w!r}, {b!r}, "sigmoid").predict_proba(x).ravel()  # 1 / (1 + exp(-(w x + b)))
print("largest |sigmoid - step|:", np.abs(sigmoid - step).max())
'''


def descent(body: dict[str, Any]) -> dict[str, Any]:
    """``steps`` (1–200, default 30) gradient steps with learning rate ``eta`` (in (0, 2]) from
    (w, b) = (−1, 4): the path, C after each step, the surface, 2/λ_max and the minimum."""
    eta = read(body, "eta", ETA, 0.3)
    steps = read(body, "steps", Integer(1, MAX_STEPS), 30)
    path, costs, diverged = descend(eta, steps)
    xs, _ = descent_data()
    hessian = numpy.array([[numpy.mean(xs ** 2), numpy.mean(xs)], [numpy.mean(xs), 1.0]])
    return {"eta": eta, "steps": steps, "path": path, "costs": costs, "diverged": diverged,
            "eta_limit": 2.0 / float(numpy.linalg.eigvalsh(hessian).max()), "minimum": [2.0, 1.0],
            "surface": surface(), "code": descent_code(eta, steps)}


def descend(eta: float, steps: int) -> tuple[list[list[float]], list[float], str | None]:
    """(w, b) before and after each full-batch step of ``Network.fit``, C at each of them, and
    the divergence message if the parameters overflowed (the lists then stop there)."""
    xs, ys = descent_data()
    net = make_neuron(*DESCENT_START, "linear", seed=SEED)
    dense = net.layers[0]
    path = [list(DESCENT_START)]
    costs = [net.evaluate(xs, ys)["cost"]]

    def record(epoch_record: dict) -> None:
        path.append([dense.params["W"].item(), dense.params["b"].item()])
        costs.append(net.evaluate(xs, ys)["cost"])

    try:
        net.fit(xs, ys, epochs=steps, mini_batch_size=len(xs), eta=eta, monitor=(),
                callbacks=[record])
    except DivergenceError as exc:
        return path, costs, str(exc)
    if not numpy.isfinite(costs[-1]):
        return path[:-1], costs[:-1], "C(w, b) overflowed: gradient descent diverged"
    return path, costs, None


@functools.lru_cache(maxsize=1)
def surface() -> dict[str, Any]:
    """log₁₀ C(w, b) on a GRID_SIZE² grid over the window, each value ``Network.evaluate`` of
    the linear neuron with that (w, b); rows run over b, columns over w."""
    xs, ys = descent_data()
    net = make_neuron(0.0, 0.0, "linear")
    dense = net.layers[0]
    ws, bs = numpy.linspace(*GRID_W, GRID_SIZE), numpy.linspace(*GRID_B, GRID_SIZE)
    rows = []
    for b in bs:
        row = []
        for w in ws:
            dense.params["W"][...], dense.params["b"][...] = w, b
            row.append(round(float(numpy.log10(net.evaluate(xs, ys)["cost"])), 4))
        rows.append(row)
    return {"w": [GRID_W[0], GRID_W[1]], "b": [GRID_B[0], GRID_B[1]], "log10_cost": rows}


def descent_code(eta: float, steps: int) -> str:
    w0, b0 = DESCENT_START
    return f'''"""Book ch. 1, eq. (11): {steps} gradient-descent steps v -> v - eta * grad C with
eta = {eta!r} on C(w, b) = (1/2n) sum (w x + b - y)^2. Written by nnlearn serve."""
import numpy as np
from nnlearn.examples.notebooks import neuron   # Dense(1, 1) + Linear, weight w, bias b

xs = np.linspace(0.0, 2.0, 20)[:, None]
ys = 2.0 * xs + 1.0                               # the bottom of the bowl is (w, b) = (2, 1)
net = neuron({w0!r}, {b0!r}, "linear", seed={SEED})
dense = net.layers[0]
path = [[{w0!r}, {b0!r}]]
costs = [net.evaluate(xs, ys)["cost"]]


def record(epoch_record):                         # one epoch = one step: one minibatch of all 20
    path.append([dense.params["W"].item(), dense.params["b"].item()])
    costs.append(net.evaluate(xs, ys)["cost"])


net.fit(xs, ys, epochs={steps}, mini_batch_size=len(xs), eta={eta!r}, monitor=(), callbacks=[record])
print(f"after {{len(path) - 1}} steps (w, b) = ({{path[-1][0]:.4f}}, {{path[-1][1]:.4f}}), C = {{costs[-1]:.6g}}")
'''
