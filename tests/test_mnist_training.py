"""A short real training run on the shipped MNIST must reach a stated accuracy."""

import pytest

from nnlearn import Network

pytestmark = pytest.mark.slow  # trains on the full MNIST


def test_one_epoch_on_10k_images_reaches_90_percent(mnist):
    X, y = mnist.train
    net = Network.from_sizes([784, 30, 10], cost="cross_entropy", seed=0)
    history = net.fit(X[:10000], y[:10000], epochs=1, mini_batch_size=10, eta=0.5,
                      validation_data=mnist.validation)
    assert history["evaluation_accuracy"][0] >= 0.90
    assert net.evaluate(*mnist.test)["accuracy"] >= 0.90


def test_chapter_one_network_learns_in_one_epoch(mnist):
    X, y = mnist.train
    net = Network.from_sizes([784, 30, 10], cost="quadratic", weight_init="normal", seed=1)
    net.fit(X[:10000], y[:10000], epochs=1, mini_batch_size=10, eta=3.0)
    assert net.evaluate(*mnist.test)["accuracy"] >= 0.80
