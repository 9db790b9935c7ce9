r"""XOR with one hidden layer: the loss falling and the final truth table.

No single neuron computes XOR: its four points are not linearly separable (book
ch. 1; Minsky & Papert 1969). One hidden layer suffices. The net here is::

    2 inputs → Dense(2, hidden) → Sigmoid → Dense(hidden, 1) → Sigmoid

trained by full-batch gradient descent (all four examples per step) on the
cross-entropy cost ``C = −(1/N) Σ [y ln a + (1 − y) ln(1 − a)]``, whose output delta
with a sigmoid output is simply ``δᴸ = (a − y)/N`` (book ch. 3; fused in
``nnlearn.nn.costs.CrossEntropy``).

Run: ``python -m nnlearn.examples.xor`` (or ``nnlearn example xor``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

import numpy
from nnlearn import Dense, Network, Sigmoid

X = numpy.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=numpy.float64)
Y = numpy.array([0, 1, 1, 0], dtype=numpy.float64)


def train_xor(hidden: int = 4, *, epochs: int = 3000, eta: float = 2.0,
              seed: int = 0) -> dict[str, Any]:
    r"""Train the XOR net; returns ``{"network", "cost" (per epoch), "outputs" (4,),
    "predictions" (4,) ints, "correct" (bool)}``."""
    net = Network([Dense(2, hidden), Sigmoid(), Dense(hidden, 1), Sigmoid()],
                  cost="cross_entropy", seed=seed, dtype="float64")
    history = net.fit(X, Y, epochs=epochs, mini_batch_size=len(X), eta=eta,
                      monitor=("training_cost",))
    outputs = numpy.asarray(net.predict_proba(X)).ravel()
    predictions = (outputs > 0.5).astype(int)
    return {"network": net, "cost": list(history["training_cost"]), "outputs": outputs,
            "predictions": predictions, "correct": bool((predictions == Y).all())}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnlearn.examples.xor",
                                     description="XOR with one hidden layer of sigmoid neurons.")
    parser.add_argument("--hidden", type=int, default=4, help="hidden neurons (default: 4)")
    parser.add_argument("--epochs", type=int, default=3000, help="full-batch steps (default: 3000)")
    parser.add_argument("--eta", type=float, default=2.0, help="learning rate η (default: 2.0)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.hidden < 1 or args.epochs < 1 or not args.eta > 0:
        parser.error("--hidden, --epochs and --eta must be positive")
    result = train_xor(args.hidden, epochs=args.epochs, eta=args.eta, seed=args.seed)
    cost = result["cost"]
    print(f"2 → {args.hidden} → 1 sigmoid net, cross-entropy, full batch, η = {args.eta}")
    shown = sorted({1, 10, 100, *range(500, args.epochs + 1, 500), args.epochs} - {0})
    for epoch in shown:
        if epoch <= args.epochs:
            print(f"  epoch {epoch:5d}: cost {cost[epoch - 1]:.5f}")
    print("  x1 x2 | XOR | output  predicted")
    for x, t, a, p in zip(X.astype(int), Y, result["outputs"], result["predictions"]):
        print(f"   {x[0]}  {x[1]} |  {t:.0f}  | {a:.4f}  {p}")
    print("all four correct" if result["correct"] else "not yet correct: try more epochs or a new seed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
