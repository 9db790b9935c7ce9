r"""Chapter 5, *Why are deep neural networks hard to train?*: the vanishing gradient, live.

Book §"The vanishing gradient problem": the speed of learning of hidden layer l is the length
of its bias gradient ‖∂C/∂bˡ‖ = ‖δˡ‖ (BP3), over the 1,000 training images. By BP2,
δˡ = ((wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ σ′(zˡ): each layer back multiplies by a weight matrix and by
σ′ ≤ 1/4, so in a sigmoid [784, 30, 30, 30, 10] network the first hidden layer learns far
more slowly than the last. A :class:`VanishingSession` trains that network (the set-up of
:func:`nnlearn.examples.vanishing.measure`: cross-entropy, minibatches of 10, η = 0.1) one
epoch per stream update and records the norms after each; the page can switch the hidden
layers to ReLU or tanh, or the weights to another initialisation, and watch the bars change.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from nnlearn.data import load_mnist
from nnlearn.examples import vanishing
from nnlearn.nn.network import Network
from nnlearn.train.trainer import Trainer
from nnlearn.web.book import SEED
from nnlearn.web.book.sessions import TrainingSession
from nnlearn.web.validation import config_rule, read

SIZES = (784, 30, 30, 30, 10)
IMAGES, MINI_BATCH, ETA, MAX_EPOCHS = 1000, 10, 0.1, 100
ACTIVATIONS = ("sigmoid", "relu", "tanh")
INITS = ("normal_fan_in", "normal", "xavier", "he")
"""N(0, 1/n_in) (the book's from chapter 3 on), N(0, 1) (chapter 1's), Glorot, He."""


@functools.lru_cache(maxsize=1)
def images():
    """The first 1,000 MNIST training images and labels (the book's split)."""
    X, y = load_mnist().train
    return X[:IMAGES], y[:IMAGES]


def session(body: dict[str, Any]) -> Callable[[], "VanishingSession"]:
    """Check the body (``activation``, ``init``); the factory of its session."""
    activation = read(body, "activation", config_rule("model.activation", ACTIVATIONS), "sigmoid")
    init = read(body, "init", config_rule("model.init", INITS), "normal_fan_in")
    return lambda: VanishingSession(activation, init)


class VanishingSession(TrainingSession):
    """The [784, 30, 30, 30, 10] network on 1,000 images; each record is one epoch's
    ``{"epoch", "norms": ‖∂C/∂bˡ‖ of every layer (the last is the output), "accuracy"}``."""

    max_epochs = MAX_EPOCHS

    def __init__(self, activation: str, init: str):
        self.activation, self.init = activation, init
        super().__init__()

    def build(self) -> None:
        X, y = images()
        self.network = Network.from_sizes(list(SIZES), activation=self.activation,
                                          cost="cross_entropy", weight_init=self.init,
                                          bias_init="normal", seed=SEED)
        self.X = self.network.check_inputs(X)
        self.y, self.Y = y, self.network.targets(y, self.X.shape[0])
        self.trainer = Trainer(self.network, self.X, y, epochs=MAX_EPOCHS,
                               mini_batch_size=MINI_BATCH, eta=ETA, monitor=())

    def record(self) -> dict[str, Any]:
        norms = vanishing.bias_gradient_norms(self.network, self.X, self.Y)
        accuracy = None if not self.records else self.network.evaluate(self.X, self.y)["accuracy"]
        return {"epoch": len(self.records), "norms": norms, "accuracy": accuracy}

    def view(self) -> dict[str, Any]:
        return {"sizes": list(SIZES), "activation": self.activation, "init": self.init,
                "norms": self.records[-1]["norms"], "code": code(self.activation, self.init,
                                                                 self.epoch)}


def code(activation: str, init: str, epochs: int) -> str:
    return f'''"""Book ch. 5: the speed of learning ||dC/db^l|| of each layer of {list(SIZES)}
({activation} hidden layers, {init} weights), at initialisation and after each of {epochs} epochs.
Written by nnlearn serve."""
from nnlearn.examples import vanishing

result = vanishing.measure(n={IMAGES}, epochs={epochs}, sizes={list(SIZES)}, eta={ETA},
                           mini_batch_size={MINI_BATCH}, seed={SEED}, activation="{activation}",
                           weight_init="{init}", bias_init="normal")
norms = result["norms"]          # (epochs + 1, layers): row 0 at initialisation; last column: output
for layer, value in enumerate(norms[-1][:-1], 1):
    print(f"hidden layer {{layer}}: ||delta|| = {{value:.5f}}")
'''
