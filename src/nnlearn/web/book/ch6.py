r"""Chapter 6, *Deep learning*: a small convnet learns its first-layer filters, live.

Book §"Introducing convolutional networks": feature map j of a convolutional layer is
σ(bⱼ + Σₗ Σₘ wⱼ,ₗ,ₘ a_{x+l, y+m}) (eq. 125), one 5×5 filter wⱼ shared across the image, then
max-pooling over 2×2 blocks. A :class:`ConvSession` trains nnlearn's
``Conv2D(1, k, 5) → ReLU → MaxPool2D(2) → Flatten → Dense(k·12·12, 10) → Softmax`` (the
log-likelihood cost, minibatches of 10, η = 0.1) on 1,000 MNIST training images, one epoch
per stream update, and shows the k filters and the k feature maps (after the ReLU) of one
test digit as they change, with the accuracy on 500 test images.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy

from nnlearn.data import load_mnist
from nnlearn.nn.layers import Conv2D, Dense, Flatten, MaxPool2D, ReLU, Softmax
from nnlearn.nn.network import Network
from nnlearn.train.trainer import Trainer
from nnlearn.web.book import SEED
from nnlearn.web.book.sessions import TrainingSession
from nnlearn.web.validation import Among, read

IMAGES, TEST_IMAGES, MINI_BATCH, ETA, MAX_EPOCHS, KERNEL = 1000, 500, 10, 0.1, 30, 5
FILTERS = (4, 8, 16)
DIGIT = 0
"""The test image whose feature maps are shown (the first of MNIST's test set, a 7)."""


@functools.lru_cache(maxsize=1)
def images() -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """1,000 training and 500 test images of MNIST as (N, 1, 28, 28), with their labels."""
    mnist = load_mnist()
    (X, y), (X_test, y_test) = mnist.train, mnist.test
    return (X[:IMAGES].reshape(-1, 1, 28, 28), y[:IMAGES],
            X_test[:TEST_IMAGES].reshape(-1, 1, 28, 28), y_test[:TEST_IMAGES])


def session(body: dict[str, Any]) -> Callable[[], "ConvSession"]:
    """Check the body (``filters``: 4, 8 or 16); the factory of its session."""
    filters = read(body, "filters", Among(FILTERS), 8)
    return lambda: ConvSession(int(filters))


def build_network(filters: int) -> Network:
    """The convnet of this page with ``filters`` 5×5 filters (the exported code builds the same)."""
    side = (28 - KERNEL + 1) // 2
    return Network([Conv2D(1, filters, KERNEL, input_shape=(1, 28, 28)), ReLU(), MaxPool2D(2),
                    Flatten(), Dense(filters * side * side, 10), Softmax()],
                   cost="log_likelihood", seed=SEED)


class ConvSession(TrainingSession):
    """Each record is one epoch's ``{"epoch", "accuracy"}`` on the 500 test images."""

    max_epochs = MAX_EPOCHS

    def __init__(self, filters: int):
        self.filters = filters
        super().__init__()

    def build(self) -> None:
        X, y, _, _ = images()
        self.network = build_network(self.filters)
        self.trainer = Trainer(self.network, X, y, epochs=MAX_EPOCHS, mini_batch_size=MINI_BATCH,
                               eta=ETA, monitor=(), threads=1)

    def record(self) -> dict[str, Any]:
        _, _, X_test, y_test = images()
        return {"epoch": len(self.records),
                "accuracy": self.network.evaluate(X_test, y_test)["accuracy"]}

    def view(self) -> dict[str, Any]:
        _, _, X_test, _ = images()
        conv = self.network.layers[0]
        digit = X_test[DIGIT:DIGIT + 1]
        maps = self.network.layers[1].forward(conv.forward(digit))[0]   # ReLU(conv): (k, 24, 24)
        return {"filters": numpy.asarray(conv.params["W"])[:, 0].round(5).tolist(),
                "feature_maps": numpy.asarray(maps).round(4).tolist(),
                "digit": numpy.asarray(digit[0, 0]).round(3).tolist(),
                "accuracy": self.records[-1]["accuracy"], "filter_count": self.filters,
                "code": code(self.filters, self.epoch)}


def code(filters: int, epochs: int) -> str:
    side = (28 - KERNEL + 1) // 2
    return f'''"""Book ch. 6: a small convnet on 1,000 MNIST images, {epochs} epochs; its {filters}
first-layer filters and the feature maps of one test digit. Written by nnlearn serve."""
import nnlearn
from nnlearn.data import load_mnist

mnist = load_mnist()
X, y = mnist.train[0][:{IMAGES}].reshape(-1, 1, 28, 28), mnist.train[1][:{IMAGES}]
X_test, y_test = mnist.test[0][:{TEST_IMAGES}].reshape(-1, 1, 28, 28), mnist.test[1][:{TEST_IMAGES}]
net = nnlearn.Network([nnlearn.Conv2D(1, {filters}, {KERNEL}, input_shape=(1, 28, 28)), nnlearn.ReLU(),
                       nnlearn.MaxPool2D(2), nnlearn.Flatten(), nnlearn.Dense({filters * side * side}, 10),
                       nnlearn.Softmax()], cost="log_likelihood", seed={SEED})
net.fit(X, y, epochs={epochs}, mini_batch_size={MINI_BATCH}, eta={ETA}, monitor=(), threads=1)
filters = net.layers[0].params["W"][:, 0]                            # ({filters}, {KERNEL}, {KERNEL})
feature_maps = net.layers[1].forward(net.layers[0].forward(X_test[{DIGIT}:{DIGIT + 1}]))[0]  # after the ReLU
print("test accuracy", net.evaluate(X_test, y_test)["accuracy"])
'''
