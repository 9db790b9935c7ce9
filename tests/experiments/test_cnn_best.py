"""The cnn-best preset (beyond the book): it builds the intended network and learns.

Its real bar (≥ 99.5% test accuracy in ≤ 20 minutes, mean of 3 seeds) is measured by
`nnlearn reproduce best --only cnn-best` on a quiet machine, not here."""

from __future__ import annotations

import pytest

from nnlearn.experiments.reproduce import best
from nnlearn.experiments.reproduce.common import build_preset


@pytest.mark.slow  # loads the full MNIST set
def test_cnn_best_builds_its_recipe_and_learns_a_small_sample():
    net, (X, y), (X_test, y_test), options = build_preset({"preset": "cnn-best"}, seed=1)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Conv2D", "BatchNorm", "ReLU", "MaxPool2D", "Conv2D", "BatchNorm", "ReLU",
                     "MaxPool2D", "Flatten", "Dense", "ReLU", "Dropout", "Dense", "Softmax"]
    assert (options["optimizer"], options["epochs"], options["mini_batch_size"]) == ("adam", 24, 64)
    before = net.evaluate(X_test[:500], y_test[:500])["accuracy"]
    net.fit(X[:1280], y[:1280], **{**options, "epochs": 2}, monitor=())
    after = net.evaluate(X_test[:500], y_test[:500])["accuracy"]
    assert before < 0.3 and after > 0.8, (before, after)
    assert [s["key"] for s in best.specs()] == ["mlp-best", "cnn-best", "speedrun", "speedrun-995",
                                                 "cnn-best-ensemble", "speedrun-995-ensemble"]
    assert best.specs(epochs=1)[1]["overrides"] == {"training.epochs": 1}
