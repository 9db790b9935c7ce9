"""Grid and random hyper-parameter search on a tiny problem."""

import math

import numpy as np
import pytest

from nnlearn.errors import ConfigError
from nnlearn.experiments.search import format_table, grid, run_trial, sample, search


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1.5, (3, 4))
    y = rng.integers(0, 3, 240)
    X = (centres[y] + rng.normal(0, 1.0, (240, 4))).astype(np.float32)
    return X[:160], y[:160], X[160:], y[160:]


BASE = {"epochs": 8, "patience": 3, "hidden": [6]}


def test_grid_search_returns_sorted_table(data):
    space = {"eta": [0.001, 0.5, 3.0], "hidden": [[2], [8]]}
    rows = search(space, data, base=BASE)
    assert len(rows) == 6
    assert {(r["eta"], r["hidden"][0]) for r in rows} == \
        {(e, h) for e in (0.001, 0.5, 3.0) for h in (2, 8)}
    accuracies = [r["validation_accuracy"] for r in rows]
    assert accuracies == sorted(accuracies, reverse=True)
    assert rows[0]["validation_accuracy"] > 0.7          # the problem is learnable ...
    assert rows[-1]["eta"] == 0.001                     # ... and η = 0.001 barely moves
    for r in rows:
        assert 1 <= r["best_epoch"] <= r["epochs_run"] <= 8
        assert r["final_validation_accuracy"] <= r["validation_accuracy"]


def test_run_trial_is_pure_and_reproducible(data):
    copies = [a.copy() for a in data]
    config = {"eta": 0.5, "epochs": 3, "seed": 4, "optimizer": "momentum",
              "optimizer_options": {"mu": 0.5}, "lmbda": 0.1, "dropout": 0.2, "max_norm": 4.0}
    a, b = run_trial(config, data), run_trial(dict(config), data)
    for key in a:
        if key != "train_seconds":
            assert a[key] == b[key]
    assert all(np.array_equal(x, c) for x, c in zip(data, copies))
    assert config["eta"] == 0.5 and "patience" not in config  # the config is not modified


def test_early_stopping_in_trials(data):
    # η = 1e-9: validation accuracy cannot improve after epoch 1, so patience 2 stops at epoch 3
    metrics = run_trial({"eta": 1e-9, "epochs": 20, "patience": 2}, data)
    assert metrics["epochs_run"] == 3 and metrics["stopped_by"] == "early_stopping"


def test_random_search_samples_within_ranges(data):
    space = {"eta": (0.01, 10.0, "log"), "mini_batch_size": (5, 20, "linear"),
             "activation": ["sigmoid", "tanh"]}
    configs = sample(space, 40, seed=3)
    assert configs == sample(space, 40, seed=3) and configs != sample(space, 40, seed=4)
    etas = [c["eta"] for c in configs]
    assert all(0.01 <= e <= 10.0 for e in etas)
    logs = np.log10(etas)
    assert logs.min() < -1 and logs.max() > 0.3          # log-uniform spreads over decades
    assert all(isinstance(c["mini_batch_size"], int) and 5 <= c["mini_batch_size"] <= 20
               for c in configs)
    assert {c["activation"] for c in configs} == {"sigmoid", "tanh"}
    rows = search(space, data, method="random", n_trials=3, seed=3, base=BASE)
    assert len(rows) == 3 and [r["validation_accuracy"] for r in rows] == \
        sorted((r["validation_accuracy"] for r in rows), reverse=True)


def test_custom_trial_and_map_executor():
    calls = []

    def fake_trial(config, data):
        calls.append(config)
        return {"validation_accuracy": -abs(math.log10(config["eta"]) + 1)}  # best at η = 0.1

    used = []

    def my_map(f, *iterables):
        used.append(True)
        return [f(*args) for args in zip(*iterables)]

    rows = search({"eta": [1.0, 0.1, 0.001]}, None, trial=fake_trial, map=my_map, base={"seed": 1})
    assert used and [r["eta"] for r in rows] == [0.1, 1.0, 0.001]
    assert all(c["seed"] == 1 for c in calls)


def test_grid_order():
    assert grid({"eta": [1, 2], "lmbda": [0, 5]}) == [
        {"eta": 1, "lmbda": 0}, {"eta": 1, "lmbda": 5}, {"eta": 2, "lmbda": 0}, {"eta": 2, "lmbda": 5}]


def test_format_table():
    rows = [{"eta": 0.5, "validation_accuracy": 0.91234, "stopped_by": None},
            {"eta": 3.0, "validation_accuracy": 0.8, "stopped_by": "early_stopping"}]
    md = format_table(rows).splitlines()
    assert md[0] == "| eta | validation_accuracy | stopped_by |"
    assert md[1] == "|---|---|---|"
    assert md[2] == "| 0.5 | 0.9123 | - |" and len(md) == 4
    text = format_table(rows, ["validation_accuracy", "eta"], style="text").splitlines()
    assert text[0].split() == ["validation_accuracy", "eta"] and text[3].split() == ["0.8", "3"]


@pytest.mark.parametrize("call,phrase", [
    (lambda d: search({"eta": (0.1, 1.0, "log")}, d), "grid search needs a non-empty list"),
    (lambda d: search({"eta": [0.1]}, d, method="bayes"), "unknown search method"),
    (lambda d: search({"eta": [0.1]}, d, method="random"), "n_trials"),
    (lambda d: search({"learning_rate": [0.1]}, d), "unknown search-space key"),
    (lambda d: sample({"eta": (0.0, 1.0, "log")}, 2), "log range"),
    (lambda d: sample({"eta": (1.0, 0.1, "linear")}, 2), "low <= high"),
    (lambda d: sample({"eta": (0.1, 1.0, "cubic")}, 2), "must be a list or"),
    (lambda d: sample({"eta": [0.1]}, 0), "n_trials"),
    (lambda d: run_trial({"eta": 0.1, "momentum": 0.9}, d), "unknown trial config key"),
    (lambda d: run_trial({"optimizer": "lbfgs"}, d), "unknown optimiser"),
    (lambda d: run_trial({"eta": 0.1}, d[:2]), "data must be"),
    (lambda d: format_table([], style="html"), "table style"),
])
def test_bad_search_input(data, call, phrase):
    with pytest.raises(ConfigError, match=phrase):
        call(data)
