"""Book chapter 3: cross-entropy, L2 regularisation and better initialisation.

``network2.py`` in the book, every run on the 50,000 training images with the test
set monitored per epoch. The first three rows use the book's
``large_weight_initializer`` (N(0, 1) weights and biases), as the chapter does
before it introduces N(0, 1/n_in); λ is taken with n = 50,000 as in the book.
"""

from __future__ import annotations

from typing import Any

TITLE = "Chapter 3 reproduction: cross-entropy, L2 regularisation, weight initialisation"


def specs(epochs: int | None = None) -> list[dict[str, Any]]:
    def spec(key, label, book, hidden, eta, n_epochs, init, lmbda=None):
        fit = {"epochs": epochs or n_epochs, "mini_batch_size": 10, "eta": eta}
        if lmbda is not None:
            fit["lmbda"] = lmbda
        return {"key": key, "label": label, "book": book,
                "network": {"sizes": [784, hidden, 10], "activation": "sigmoid",
                            "cost": "cross_entropy", "weight_init": init, "bias_init": "normal"},
                "fit": fit, "within": 0.3}

    return [
        spec("30", "[784,30,10] cross-entropy, η=0.5, m=10, N(0,1)", 95.49, 30, 0.5, 30, "normal"),
        spec("100", "[784,100,10] cross-entropy, η=0.5, m=10, N(0,1)", 96.82, 100, 0.5, 30, "normal"),
        spec("30-l2", "[784,30,10] + L2 λ=5.0, η=0.5, N(0,1)", 96.49, 30, 0.5, 30, "normal", 5.0),
        spec("100-l2", "[784,100,10] + L2 λ=5.0, η=0.5, N(0,1/n_in)", 97.92, 100, 0.5, 30, "normal_fan_in", 5.0),
        spec("100-l2-60", "[784,100,10] + L2 λ=5.0, η=0.1, 60 epochs, N(0,1/n_in)", 98.04, 100, 0.1, 60,
             "normal_fan_in", 5.0),
    ]
