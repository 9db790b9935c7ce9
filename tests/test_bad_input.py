"""Every bad input of the core API gets a clear error naming the problem."""

import numpy as np
import pytest

from nnlearn import ConfigError, DataError, Network


@pytest.fixture
def net():
    return Network.from_sizes([4, 3, 2], seed=0)


X = np.random.default_rng(0).random((10, 4)).astype(np.float32)
y = np.arange(10) % 2


@pytest.mark.parametrize("kwargs, error, phrase", [
    ({"X": np.ones((10, 5))}, DataError, r"shape \(10, 5\).*\(N, 4\)"),
    ({"X": np.ones((0, 4)), "y": np.zeros(0, int)}, DataError, "empty"),
    ({"X": np.where(np.eye(10, 4) > 0, np.nan, 0.0)}, DataError, "NaN or inf"),
    ({"X": np.full((10, 4), np.inf)}, DataError, "NaN or inf"),
    ({"X": np.array([["a"] * 4] * 10)}, DataError, "numeric"),
    ({"y": np.arange(10)}, DataError, r"labels in \[0, 9\].*\[0, 1\]"),
    ({"y": -np.ones(10, int)}, DataError, r"labels in \[-1, -1\]"),
    ({"y": np.zeros(10) + 0.5}, DataError, "integer class labels"),
    ({"y": np.zeros(9, int)}, DataError, "9 rows but X has 10"),
    ({"y": np.zeros((10, 3))}, DataError, r"shape \(10, 3\)"),
    ({"mini_batch_size": 0}, ConfigError, "mini_batch_size must be a positive integer"),
    ({"mini_batch_size": -5}, ConfigError, "mini_batch_size"),
    ({"eta": 0.0}, ConfigError, "eta .* > 0"),
    ({"eta": -1.0}, ConfigError, "eta"),
    ({"eta": float("nan")}, ConfigError, "eta"),
    ({"epochs": 0}, ConfigError, "epochs must be a positive integer"),
    ({"monitor": ["training_costs"]}, ConfigError, "unknown monitor 'training_costs'"),
    ({"monitor": ["evaluation_accuracy"], "validation_data": None}, ConfigError, "needs validation_data"),
    ({"validation_data": (X,)}, ConfigError, "pair"),
    ({"validation_data": (np.ones((3, 7)), np.zeros(3, int))}, DataError, "validation X"),
])
def test_fit_rejects(net, kwargs, error, phrase):
    args = {"X": X, "y": y, "epochs": 1, "mini_batch_size": 2, "eta": 0.1}
    args.update(kwargs)
    with pytest.raises(error, match=phrase):
        net.fit(args.pop("X"), args.pop("y"), **args)


def test_predict_rejects_wrong_width(net):
    with pytest.raises(DataError, match="this network takes examples of shape"):
        net.predict(np.ones((2, 3)))


def test_nothing_is_coerced_silently(net):
    before = [p.copy() for p, _ in net.parameters()]
    with pytest.raises(DataError):
        net.fit(X, np.arange(10), epochs=1, mini_batch_size=2, eta=0.1)
    for a, (b, _) in zip(before, net.parameters()):
        np.testing.assert_array_equal(a, b)
