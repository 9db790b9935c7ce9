"""On-the-fly data expansion in the Trainer: applied once per epoch, with the network's generator."""

import numpy as np
import pytest

from nnlearn import ConfigError, Network
from nnlearn.data.augment import RandomShift


def test_augment_runs_once_per_epoch_and_feeds_the_batches():
    rng = np.random.default_rng(0)
    X, y = rng.random((60, 16)).astype(np.float32), rng.integers(0, 3, 60)
    calls = []

    def blank(batch_X, generator):  # training on all-zero inputs leaves W untouched (∂C/∂W = Xᵀδ = 0)
        calls.append(generator)
        return np.zeros_like(batch_X)

    net = Network.from_sizes([16, 3], seed=0)
    W0, b0 = net.layers[0].params["W"].copy(), net.layers[0].params["b"].copy()
    net.fit(X, y, epochs=3, mini_batch_size=6, eta=1.0, augment=blank)
    assert len(calls) == 3 and all(g is net.rng for g in calls)
    np.testing.assert_array_equal(net.layers[0].params["W"], W0)
    assert not np.array_equal(net.layers[0].params["b"], b0)


def test_random_shift_training_is_seeded(mnist):
    X, y = mnist.train[0][:2000], mnist.train[1][:2000]
    runs = []
    for _ in range(2):
        net = Network.from_sizes([784, 20, 10], cost="cross_entropy", seed=3)
        net.fit(X, y, epochs=2, mini_batch_size=10, eta=0.5, augment=RandomShift(1))
        runs.append(net.layers[0].params["W"].copy())
    np.testing.assert_array_equal(*runs)


def test_augment_must_be_callable():
    net = Network.from_sizes([4, 2], seed=0)
    with pytest.raises(ConfigError, match="augment must be a callable"):
        net.fit(np.ones((4, 4)), np.array([0, 1, 0, 1]), epochs=1, mini_batch_size=2, eta=0.1,
                augment="shifts")
