r"""The famous "neural network in 11 lines of Python", rebuilt from nnlearn layers.

A. Trask's blog post (2015) trains, with nothing but NumPy, first a single sigmoid
neuron and then a two-layer net on four 3-bit examples::

    X = 0 0 1        part 1: y = 0 0 1 1   (output = first input)
        0 1 1        part 2: y = 0 1 1 0   (XOR of the first two inputs; the
        1 0 1                                third, always 1, acts as a bias)
        1 1 1

Its update ``syn0 += l0ᵀ · ((y − l1) ⊙ l1 (1 − l1))`` is full-batch gradient descent
on the quadratic cost ``½ Σ_x (a − y)²`` with η = 1. nnlearn's quadratic cost is the
batch *mean* ``(1/2N) Σ_x (a − y)²``, so the same step needs η = N = 4, and
``mini_batch_size = N`` makes every step use the whole batch. Unlike the original,
the ``Dense`` layers have biases and start from nnlearn's N(0, 1/n_in) weights.

Part 1 is a single neuron: no hidden layer is needed because the target is a
linear threshold of the input. Part 2's XOR is not linearly separable, which is why
it needs the hidden layer (book ch. 1 on perceptrons; Minsky & Papert 1969).

Run: ``python -m nnlearn.examples.eleven_line`` (or ``nnlearn example eleven_line``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

import numpy
from nnlearn import Dense, Network, Sigmoid

X = numpy.array([[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]], dtype=numpy.float64)
"""The four 3-bit training inputs of the original post."""
Y_FIRST_INPUT = numpy.array([0, 0, 1, 1], dtype=numpy.float64)
"""Part 1 targets: the first input bit."""
Y_XOR = numpy.array([0, 1, 1, 0], dtype=numpy.float64)
"""Part 2 targets: XOR of the first two bits."""


def train(hidden: int | None, y, *, iterations: int = 10_000, seed: int = 1) -> dict[str, Any]:
    r"""Train ``3 → 1`` (``hidden=None``) or ``3 → hidden → 1`` sigmoid nets on :data:`X`.

    Full batch (all four examples per step), quadratic cost, η = 4 (= the original's
    η = 1 on a summed cost). Returns ``{"network", "outputs" (4,), "cost" (pairs
    (iteration, cost) at the first, every tenth of the run, and the last)}``.
    """
    layers = [Dense(3, 1), Sigmoid()] if hidden is None else \
        [Dense(3, hidden), Sigmoid(), Dense(hidden, 1), Sigmoid()]
    net = Network(layers, cost="quadratic", seed=seed, dtype="float64")
    history = net.fit(X, y, epochs=iterations, mini_batch_size=len(X), eta=float(len(X)),
                      monitor=("training_cost",))
    costs = history["training_cost"]
    every = max(1, iterations // 10)
    sampled = [(i, costs[i - 1]) for i in sorted({1, *range(every, iterations + 1, every),
                                                  iterations})]
    return {"network": net, "outputs": numpy.asarray(net.predict_proba(X)).ravel(),
            "cost": sampled}


def run(iterations: tuple[int, int] = (10_000, 60_000), hidden: int = 4,
        seed: int = 1) -> dict[str, dict[str, Any]]:
    """Both parts: ``{"part1": train(None, first input), "part2": train(hidden, XOR)}``."""
    return {"part1": train(None, Y_FIRST_INPUT, iterations=iterations[0], seed=seed),
            "part2": train(hidden, Y_XOR, iterations=iterations[1], seed=seed)}


def _report(title: str, y, result: dict[str, Any]) -> None:
    print(title)
    for it, cost in result["cost"]:
        print(f"  iteration {it:6d}: cost {cost:.6f}")
    print("  input    target  output")
    for x, t, a in zip(X.astype(int), y, result["outputs"]):
        print(f"  {' '.join(map(str, x))}    {t:.0f}       {a:.4f}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nnlearn.examples.eleven_line",
        description="The 11-line neural network, rebuilt from nnlearn layers.")
    parser.add_argument("--iterations", type=int, nargs=2, default=[10_000, 60_000],
                        metavar=("PART1", "PART2"),
                        help="full-batch steps of each part (default: %(default)s, as the original)")
    parser.add_argument("--hidden", type=int, default=4, help="hidden neurons of part 2 (default: 4)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if min(args.iterations) < 1 or args.hidden < 1:
        parser.error("--iterations and --hidden must be positive")
    results = run(tuple(args.iterations), args.hidden, args.seed)
    _report("Part 1: one sigmoid neuron, 3 → 1, learns output = first input",
            Y_FIRST_INPUT, results["part1"])
    _report(f"Part 2: 3 → {args.hidden} → 1, learns XOR of the first two inputs",
            Y_XOR, results["part2"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
