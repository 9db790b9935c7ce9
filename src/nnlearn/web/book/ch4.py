r"""Chapter 4, *A visual proof that neural nets can compute any function*.

**A step from one neuron, a bump from a pair** (book §"Universality with one input and one
output"). σ(w x + b) with a large w is nearly a step at s = −b/w. Two hidden neurons with
steps at s₁ < s₂ and output weights +h and −h give the weighted output
h σ(w(x − s₁)) − h σ(w(x − s₂)): a bump of height h on [s₁, s₂) (:func:`pair`).

**n bumps** (:func:`bumps`). [0, 1] cut into n pieces, bump j of height hⱼ on piece j:
the [1, 2n, 1] network of :func:`nnlearn.examples.universality.build`, whose output neuron is
itself a sigmoid, so the output is σ(Σⱼ hⱼ bumpⱼ(x)) ≈ σ(hⱼ) on piece j; the heights that
match the book's f are hⱼ = σ⁻¹(f(mⱼ)) at the pieces' midpoints. The reader drags them.

**Gradient descent on the same network** (:func:`fit`): ``Network.fit`` (Adam, as in the
chapter's notebook; plain SGD takes far longer here) on samples of f, from random weights or
from the reader's bumps.
"""

from __future__ import annotations

from typing import Any

import numpy

from nnlearn.checks import Integer, Number, OneOf
from nnlearn.errors import DivergenceError
from nnlearn.examples import universality
from nnlearn.nn.layers import Dense, Sigmoid
from nnlearn.nn.network import Network
from nnlearn.web.book import SEED, numbers
from nnlearn.web.validation import config_rule, read

GRID = 201
"""Points in [0, 1] at which the curves are drawn."""
MAX_PAIRS, MAX_HEIGHT = 20, 10.0
PAIRS = Integer(1, MAX_PAIRS)
"""``n``: the number of bumps (pairs of hidden neurons)."""
STEP_AT = Number(0.0, 1.0)
"""Where a step neuron steps, in the unit interval."""
FIT_POINTS, FIT_MINI_BATCH, MAX_FIT_EPOCHS = 200, 20, 2000
SNAPSHOTS = 24
"""How many intermediate output curves :func:`fit` returns (the page replays them)."""


def grid() -> numpy.ndarray:
    return numpy.linspace(0.0, 1.0, GRID)[:, None]


def pair(body: dict[str, Any]) -> dict[str, Any]:
    """Two step neurons (weight ``w``, steps at ``s1`` and ``s2``) and their weighted output
    with output weights +``h`` and −``h``: each hidden neuron's output and the bump."""
    w = read(body, "w", Number(1.0, 1000.0), 100.0)
    s1 = read(body, "s1", STEP_AT, 0.4)
    s2 = read(body, "s2", STEP_AT, 0.6)
    h = read(body, "h", Number(-MAX_HEIGHT, MAX_HEIGHT), 0.8)
    net = pair_network(w, s1, s2, h)
    x = grid()
    hidden = net.layers[1].forward(net.layers[0].forward(x))     # σ(w x − w sⱼ), one column each
    bump = net.predict_proba(x).ravel()
    return {"w": w, "s1": s1, "s2": s2, "h": h, "x": x.ravel().tolist(),
            "steps": hidden.T.tolist(), "bump": bump.tolist(), "code": pair_code(w, s1, s2, h)}


def pair_network(w: float, s1: float, s2: float, h: float) -> Network:
    """``Dense(1, 2) → Sigmoid → Dense(2, 1)``: steps at s1, s2 (biases −w s), output weights ±h."""
    net = Network([Dense(1, 2), Sigmoid(), Dense(2, 1)], cost="quadratic", dtype="float64")
    net.layers[0].params["W"][...] = w
    net.layers[0].params["b"][...] = [-w * s1, -w * s2]
    net.layers[2].params["W"][:, 0] = [h, -h]
    net.layers[2].params["b"][...] = 0.0
    return net


def pair_code(w: float, s1: float, s2: float, h: float) -> str:
    return f'''"""Book ch. 4: a step from one neuron, a bump from a pair (w = {w!r}, steps at {s1!r} and
{s2!r}, height {h!r}). Written by nnlearn serve."""
import numpy as np
import nnlearn

net = nnlearn.Network([nnlearn.Dense(1, 2), nnlearn.Sigmoid(), nnlearn.Dense(2, 1)],
                      cost="quadratic", dtype="float64")
net.layers[0].params["W"][...] = {w!r}                          # both steps as steep
net.layers[0].params["b"][...] = [{-w * s1!r}, {-w * s2!r}]     # b = -w s: the steps at s1, s2
net.layers[2].params["W"][:, 0] = [{h!r}, {-h!r}]               # +h and -h: a bump of height h
net.layers[2].params["b"][...] = 0.0
x = np.linspace(0.0, 1.0, {GRID})[:, None]
steps = net.layers[1].forward(net.layers[0].forward(x)).T      # each hidden neuron's output
bump = net.predict_proba(x).ravel()                            # the weighted output
print("bump at x = 0.5:", bump[{GRID // 2}], " at x = 0:", bump[0])
'''


def heights_of(body: dict[str, Any], n: int) -> list[float]:
    """The body's ``heights`` (n numbers), or the ones that match f: hⱼ = σ⁻¹(f(mⱼ))."""
    if body.get("heights") is None:
        return hand_heights(n)
    return numbers("heights", body["heights"], n, -MAX_HEIGHT, MAX_HEIGHT)


def hand_heights(n: int) -> list[float]:
    return universality.logit(universality.f((numpy.arange(n) + 0.5) / n)).tolist()


def mean_deviation(output: numpy.ndarray, target: numpy.ndarray) -> float:
    return float(numpy.mean(numpy.abs(output - target)))


def bumps(body: dict[str, Any]) -> dict[str, Any]:
    """The [1, 2n, 1] network with ``n`` bumps of the given ``heights`` (default: σ⁻¹(f(mⱼ))):
    its output against f, and the mean deviation |f − output| over the grid."""
    n = read(body, "n", PAIRS, 10)
    heights = heights_of(body, n)
    x = grid()
    output = universality.build(n, heights=heights).predict_proba(x).ravel()
    target = universality.f(x.ravel())
    return {"n": n, "heights": heights, "hand_heights": hand_heights(n), "x": x.ravel().tolist(),
            "f": target.tolist(), "output": output.tolist(),
            "mean_deviation": mean_deviation(output, target), "code": bumps_code(n, heights)}


def bumps_code(n: int, heights: list[float]) -> str:
    return f'''"""Book ch. 4: f approximated by {n} bumps of chosen heights, the [1, {2 * n}, 1] network.
Written by nnlearn serve."""
import numpy as np
from nnlearn.examples import universality

heights = {heights!r}
net = universality.build({n}, heights=heights)   # bump j: +h_j and -h_j from a pair of steps
x = np.linspace(0.0, 1.0, {GRID})
output = net.predict_proba(x[:, None]).ravel()
print("mean deviation |f - output|:", np.mean(np.abs(output - universality.f(x))))
'''


def fit(body: dict[str, Any]) -> dict[str, Any]:
    """``Network.fit`` (Adam, minibatches of 20) of the [1, 2n, 1] network to 200 samples of f,
    from ``start`` = ``"random"`` weights or the ``"bumps"`` of ``heights``: the training cost
    per epoch, the output at about 24 epochs on the way, and the mean deviation before and after."""
    n = read(body, "n", PAIRS, 10)
    start = read(body, "start", OneOf(("random", "bumps")), "random")
    heights = heights_of(body, n) if start == "bumps" else None
    epochs = read(body, "epochs", config_rule("training.epochs", high=MAX_FIT_EPOCHS), 500)
    eta = read(body, "eta", config_rule("training.eta", high=1.0),
               0.03 if start == "random" else 0.001)
    net = start_network(n, heights)
    xs = numpy.linspace(0.0, 1.0, FIT_POINTS)[:, None]
    x = grid()
    target = universality.f(x.ravel())
    marks = set(numpy.unique(numpy.geomspace(1, epochs, SNAPSHOTS).round().astype(int)).tolist())
    first = net.predict_proba(x).ravel()
    snapshots = [{"epoch": 0, "output": first.tolist()}]

    def record(epoch_record: dict) -> None:
        if epoch_record["epoch"] in marks:
            snapshots.append({"epoch": epoch_record["epoch"],
                              "output": net.predict_proba(x).ravel().tolist()})

    diverged = None
    try:
        history = net.fit(xs, universality.f(xs), epochs=epochs, mini_batch_size=FIT_MINI_BATCH,
                          optimizer="adam", eta=eta, monitor=["training_cost"], callbacks=[record])
        costs = history["training_cost"]
    except DivergenceError as exc:
        diverged, costs = str(exc), []
    last = numpy.array(snapshots[-1]["output"])
    return {"n": n, "start": start, "epochs": epochs, "eta": eta, "costs": costs,
            "snapshots": snapshots, "diverged": diverged,
            "mean_deviation_before": mean_deviation(first, target),
            "mean_deviation_after": mean_deviation(last, target),
            "code": fit_code(n, heights, epochs, eta)}


def start_network(n: int, heights: list[float] | None) -> Network:
    """The [1, 2n, 1] sigmoid network: random (seeded) weights, or the bumps of ``heights``."""
    if heights is None:
        return Network.from_sizes([1, 2 * n, 1], cost="quadratic", dtype="float64", seed=SEED)
    return universality.build(n, heights=heights, seed=SEED)


def fit_code(n: int, heights: list[float] | None, epochs: int, eta: float) -> str:
    if heights is None:
        start = (f'net = nnlearn.Network.from_sizes([1, {2 * n}, 1], cost="quadratic", '
                 f'dtype="float64", seed={SEED})')
    else:
        start = (f"net = universality.build({n}, heights={heights!r},\n"
                 f"                          seed={SEED})   # the bumps; the seed orders the minibatches")
    return f'''"""Book ch. 4: gradient descent (Adam) fits the [1, {2 * n}, 1] network to f.
Written by nnlearn serve."""
import numpy as np
import nnlearn
from nnlearn.examples import universality

{start}
xs = np.linspace(0.0, 1.0, {FIT_POINTS})[:, None]
history = net.fit(xs, universality.f(xs), epochs={epochs}, mini_batch_size={FIT_MINI_BATCH},
                  optimizer="adam", eta={eta!r}, monitor=["training_cost"])
costs = history["training_cost"]
x = np.linspace(0.0, 1.0, {GRID})
output = net.predict_proba(x[:, None]).ravel()
print(f"training cost {{costs[-1]:.6f}} after {epochs} epochs; mean deviation "
      f"{{np.mean(np.abs(output - universality.f(x))):.5f}}")
'''
