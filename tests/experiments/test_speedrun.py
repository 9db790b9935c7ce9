"""The speedrun preset (beyond the book): it builds its recipe, its one-cycle schedule
runs over the steps of its one epoch, and it learns; the reproduction's time note.

Its real bar (mean final test accuracy ≥ 99.0% over 10 seeds, training ≤ 5 s on two
cores) is measured by `nnlearn reproduce best --only speedrun` on a quiet machine."""

from __future__ import annotations

import subprocess
import sys

import pytest

from nnlearn.experiments.reproduce.common import build_preset, train_time_note
from nnlearn.optim.schedules import OneCycle


@pytest.mark.slow  # loads the full MNIST set
def test_speedrun_builds_its_recipe_and_learns_a_small_sample():
    net, (X, y), (X_test, y_test), options = build_preset({"preset": "speedrun"}, seed=1)
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Conv2D", "MaxPool2D", "BatchNorm", "ReLU", "Conv2D", "MaxPool2D", "BatchNorm",
                     "ReLU", "Flatten", "Dense", "ReLU", "Dense", "Softmax"]
    assert X.shape[0] == 60_000  # no validation split: the one epoch sees every training image
    assert (options["optimizer"], options["epochs"], options["mini_batch_size"]) == ("adam", 1, 256)
    assert options["optimizer_options"] == {"beta1": 0.7, "beta2": 0.9}
    assert isinstance(options["schedule"], OneCycle)
    assert net.cost.label_smoothing == 0.1
    before = net.evaluate(X_test[:500], y_test[:500])["accuracy"]
    net.fit(X[:2560], y[:2560], **{**options, "mini_batch_size": 64}, monitor=())
    after = net.evaluate(X_test[:500], y_test[:500])["accuracy"]
    assert before < 0.3 and after > 0.85, (before, after)


@pytest.mark.slow  # loads the full MNIST set
def test_speedrun_995_builds_its_wider_recipe_with_shifts_and_learns_a_small_sample():
    net, (X, y), (X_test, y_test), options = build_preset({"preset": "speedrun-995"}, seed=1)
    widths = [layer.params["W"].shape[0] for layer in net.layers if type(layer).__name__ == "Conv2D"]
    dense = [layer.params["W"].shape[1] for layer in net.layers if type(layer).__name__ == "Dense"]
    assert widths == [24, 48] and dense == [256, 10]
    assert X.shape[0] == 60_000 and options["augment"] is not None  # random shifts each epoch
    assert (options["optimizer"], options["epochs"], options["mini_batch_size"]) == ("adam", 8, 128)
    assert isinstance(options["schedule"], OneCycle) and net.cost.label_smoothing == 0.1
    net.fit(X[:2560], y[:2560], **{**options, "epochs": 2, "mini_batch_size": 64}, monitor=())
    assert net.evaluate(X_test[:500], y_test[:500])["accuracy"] > 0.85


def test_train_time_note_sums_the_epochs_and_judges_the_mean():
    runs = [{"train_seconds": [2.0, 2.5]}, {"train_seconds": [3.0, 3.5]}]  # 4.5 and 6.5 s
    note = train_time_note("speedrun", runs, 5.0)
    assert "5.50 ± 1.41 s over 2 run(s) (per seed: 4.50, 6.50); goal ≤ 5 s: NOT met." in note
    assert train_time_note("speedrun", runs[:1], 5.0).endswith("goal ≤ 5 s: met.")


def test_prepare_loads_the_compiled_kernels_of_a_convnet_before_the_clock():
    """The one-off load of Numba's cached kernels (about half a second a process) happens in
    ``prepare``, not in the first minibatch that 'training took' times (a fresh process:
    an MLP's prepare loads none, the speedrun's loads batch norm's for float32)."""
    pytest.importorskip("numba")
    script = (
        "from nnlearn.experiments.config import files as config\n"
        "from nnlearn.experiments.runs.builder import prepare\n"
        "from nnlearn.nn import kernels\n"
        "small = {'training.seed': 1, 'data.train_size': 200, 'data.validation_size': 0}\n"
        "prepare(config.resolve(config.load_preset('quick'), overrides=small))\n"
        "print(kernels._compiled.cache_info().currsize)\n"
        "prepare(config.resolve(config.load_preset('speedrun'), overrides=small))\n"
        "print([str(s) for s in kernels._compiled().batchnorm_normalize.signatures])\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         timeout=120).stdout.splitlines()
    assert out[0] == "0" and "Array(float32, 3, 'C'" in out[1], out
