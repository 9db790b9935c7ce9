r"""Universality by hand: pairs of step-like sigmoid neurons approximate any f (book ch. 4).

A sigmoid neuron with a large weight ``w`` and bias ``b = −w s`` is nearly a step
at ``x = s``: ``σ(w (x − s))`` jumps from 0 to 1 over a width of about 10/w. Two
such neurons with steps at ``s_j`` and ``s_{j+1}`` and output weights ``+h_j`` and
``−h_j`` add a *bump* of height ``h_j`` on ``[s_j, s_{j+1})``. With the unit
interval cut into ``n`` equal pieces, ``s_j = j/n``, the hidden layer's weighted
output is a staircase::

    z(x) = Σ_j h_j [σ(w (x − s_j)) − σ(w (x − s_{j+1}))]  ≈  h_j   for x in [s_j, s_{j+1})

The book's output neuron is itself a sigmoid, so the bumps must add up to
``σ⁻¹∘f`` rather than ``f``: ``h_j = σ⁻¹(f(m_j))`` at the piece's midpoint
``m_j``, and the output ``σ(z(x)) ≈ f(m_j)``. Here f is the book's

    f(x) = 0.2 + 0.4 x² + 0.3 x sin(15x) + 0.05 cos(50x),   0.095 < f < 0.853 on [0, 1]

The *mean deviation* ``(1/K) Σ_k |f(x_k) − σ(z(x_k))|`` over a fine grid falls
roughly as 1/n (each piece misses f by about |f'| · (its width)/4 on average)
until the steps' own width 10/w starts to matter, so ``w`` grows with ``n``.

The network is an ordinary nnlearn ``Network``: ``Dense(1, 2n) → Sigmoid →
Dense(2n, 1) → Sigmoid`` whose weights are set by hand, never trained.

Run: ``python -m nnlearn.examples.universality`` (or ``nnlearn example universality``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

import numpy

from nnlearn.examples._common import no_matplotlib, pyplot, save_figure

PAIRS = (5, 10, 20, 50)
"""Numbers of neuron pairs shown by default."""


def f(x):
    r"""The book's target ``f(x) = 0.2 + 0.4 x² + 0.3 x sin(15x) + 0.05 cos(50x)``."""
    return 0.2 + 0.4 * x ** 2 + 0.3 * x * numpy.sin(15 * x) + 0.05 * numpy.cos(50 * x)


def logit(p):
    r"""``σ⁻¹(p) = ln(p / (1 − p))`` for p in (0, 1)."""
    return numpy.log(p / (1.0 - p))


def build(pairs: int, *, sharpness: float = 200.0, heights: Sequence[float] | None = None,
          seed: int | None = None):
    r"""The hand-built network with ``pairs`` bumps on ``[0, 1]``.

    Hidden neuron ``2j`` steps up at ``s_j = j/n`` and neuron ``2j + 1`` at ``s_{j+1}``
    (the outermost two moved half a piece outside [0, 1]), both with weight
    ``w = sharpness · n`` (by default each step is about ``10/w = 1/(20 n)`` wide, a
    twentieth of a piece) and bias ``−w s``; their output weights are ``+h_j`` and
    ``−h_j`` with ``h_j = σ⁻¹(f(m_j))`` (or the given ``heights``, one per pair: the book's
    widget lets the reader drag them); the output bias is 0. ``seed`` is the network's (it
    orders the minibatches when the network is then trained).
    """
    from nnlearn import Dense, Network, Sigmoid
    from nnlearn.errors import ConfigError

    if isinstance(pairs, bool) or not isinstance(pairs, (int, numpy.integer)) or pairs < 1:
        raise ConfigError(f"pairs must be a positive integer, got {pairs!r}")
    if not sharpness > 0:
        raise ConfigError(f"sharpness must be positive, got {sharpness!r}")
    n = int(pairs)
    w = sharpness * n
    edges = numpy.arange(n + 1) / n
    mids = (edges[:-1] + edges[1:]) / 2
    h = logit(f(mids)) if heights is None else numpy.asarray(heights, dtype="float64")
    if h.shape != (n,):
        raise ConfigError(f"heights must hold one number per pair ({n}), got shape {h.shape}")
    # the outermost steps sit half a piece outside [0, 1], so that x = 0 and x = 1
    # get the full first and last bump instead of half of it (σ(0) = ½ at a step)
    edges[0], edges[-1] = -0.5 / n, 1.0 + 0.5 / n
    steps = numpy.stack([edges[:-1], edges[1:]], axis=1).ravel()  # s_0, s_1, s_1, s_2, …
    hidden, out = Dense(1, 2 * n), Dense(2 * n, 1)
    net = Network([hidden, Sigmoid(), out, Sigmoid()], cost="quadratic", dtype="float64", seed=seed)
    hidden.params["W"][...] = w
    hidden.params["b"][...] = -w * steps
    out.params["W"][:, 0] = numpy.stack([h, -h], axis=1).ravel()
    out.params["b"][...] = 0.0
    return net


def approximate(pairs_list: Sequence[int] = PAIRS, *, points: int = 2001,
                sharpness: float = 200.0) -> dict[str, Any]:
    r"""Mean deviation of the hand-built network for each number of pairs.

    Returns ``{"x" (points,), "f" (points,), "pairs": [...], "outputs": {n: (points,)},
    "mean_deviation": {n: float}, "max_deviation": {n: float}}`` on an even grid of
    ``points`` values in [0, 1].
    """
    x = numpy.linspace(0.0, 1.0, points)
    target = f(x)
    outputs, mean_dev, max_dev = {}, {}, {}
    for n in pairs_list:
        a = numpy.asarray(build(n, sharpness=sharpness).predict_proba(x[:, None])).ravel()
        outputs[n] = a
        mean_dev[n] = float(numpy.mean(numpy.abs(a - target)))
        max_dev[n] = float(numpy.max(numpy.abs(a - target)))
    return {"x": x, "f": target, "pairs": list(pairs_list), "outputs": outputs,
            "mean_deviation": mean_dev, "max_deviation": max_dev}


def plot(result: dict[str, Any], path: str) -> str | None:
    """Write f and each approximation to ``path`` (PNG); ``None`` without matplotlib."""
    plt = pyplot()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    draw(result, ax)
    ax.set_title("Hand-built sigmoid bump pairs approximating f (book ch. 4)")
    return str(save_figure(fig, path))


def draw(result: dict[str, Any], ax) -> None:
    """f and each approximation of :func:`approximate` on the matplotlib axes ``ax``."""
    ax.plot(result["x"], result["f"], color="black", lw=2, label="f(x)")
    for n in result["pairs"]:
        ax.plot(result["x"], result["outputs"][n], lw=1,
                label=f"{n} pairs (mean dev. {result['mean_deviation'][n]:.4f})")
    ax.set_xlabel("x")
    ax.set_ylabel("output")
    ax.legend(fontsize=8)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnlearn.examples.universality",
                                     description="Approximate f with hand-built sigmoid pairs.")
    parser.add_argument("--pairs", type=int, nargs="+", default=list(PAIRS),
                        help="numbers of neuron pairs (default: %(default)s)")
    parser.add_argument("--sharpness", type=float, default=200.0,
                        help="step weight per pair: w = sharpness · pairs (default: 200)")
    parser.add_argument("--plot", default="universality.png",
                        help="PNG to write (default: %(default)s)")
    parser.add_argument("--no-plot", action="store_true", help="write no figure")
    args = parser.parse_args(argv)
    if min(args.pairs) < 1 or not args.sharpness > 0:
        parser.error("--pairs and --sharpness must be positive")
    result = approximate(args.pairs, sharpness=args.sharpness)
    print("f(x) = 0.2 + 0.4x² + 0.3x·sin(15x) + 0.05·cos(50x) on [0, 1], 2001 points")
    print("  pairs   mean deviation   max deviation")
    for n in result["pairs"]:
        print(f"  {n:5d}   {result['mean_deviation'][n]:14.5f}   {result['max_deviation'][n]:13.5f}")
    if not args.no_plot:
        path = plot(result, args.plot)
        print(f"wrote {path}") if path else no_matplotlib("universality plot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
