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
        {"label": "[784,30,10] sigmoid, quadratic, η=3.0, m=10, N(0,1)", "book": 95.42,
         "network": {"sizes": [784, 30, 10], **common}, "fit": fit, "min_best_mean": 95.0},
        {"label": "[784,100,10] sigmoid, quadratic, η=3.0, m=10, N(0,1)", "book": 96.59,
         "network": {"sizes": [784, 100, 10], **common}, "fit": fit, "min_best_mean": 96.0},
    ]
