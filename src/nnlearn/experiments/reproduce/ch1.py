"""Book chapter 1: sigmoid networks, quadratic cost, plain SGD on MNIST.

``network.py`` in the book: ``Network([784, 30, 10]).SGD(training_data, 30, 10, 3.0,
test_data=test_data)`` reaches 95.42% at best; with 100 hidden neurons 96.59%.
"""

from __future__ import annotations

from typing import Any

TITLE = "Chapter 1 reproduction: sigmoid networks with the quadratic cost"


def specs(epochs: int | None = None) -> list[dict[str, Any]]:
    common = {"activation": "sigmoid", "cost": "quadratic", "weight_init": "normal",
              "bias_init": "normal"}
    fit = {"epochs": epochs or 30, "mini_batch_size": 10, "eta": 3.0}
    return [
        {"key": "30", "label": "[784,30,10] sigmoid, quadratic, η=3.0, m=10, N(0,1)", "book": 95.42,
         "network": {"sizes": [784, 30, 10], **common}, "fit": fit, "min_best_mean": 95.0, "stuck_below": 90.0},
        {"key": "100", "label": "[784,100,10] sigmoid, quadratic, η=3.0, m=10, N(0,1)", "book": 96.59,
         "network": {"sizes": [784, 100, 10], **common}, "fit": fit, "min_best_mean": 96.0, "stuck_below": 90.0},
    ]


NOTES = [
    "Stuck runs: with N(0, 1) weights on 784 inputs the hidden neurons start deep in saturation, and with "
    "the quadratic cost the output deltas carry the factor σ'(z) ≈ 0, so some runs never escape and end "
    "with whole digit classes unlearned. The book warns in a footnote to this experiment that readers "
    "see large run-to-run variation and that some runs are much worse; chapter 3's cross-entropy cost and "
    "N(0, 1/n_in) initialisation remove it (see ch3.md). Spot checks in float64 (seed 3 of [784,30,10], "
    "seed 2 of [784,100,10]) got stuck too, so it is not a float32 effect.",
]
