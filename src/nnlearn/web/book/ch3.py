r"""Chapter 3, *Improving the way neural networks learn*: the learning slowdown and softmax.

**The slowdown** (book §"The cross-entropy cost function", eqs. 54–57 and 61–62). One
sigmoid neuron with one input learns to output 0 for the input 1. Under the quadratic cost
C = (y − a)²/2 its gradients are ∂C/∂w = (a − y) σ′(z) x and ∂C/∂b = (a − y) σ′(z), so from
(w, b) = (2, 2), where a ≈ 0.98 and σ′(z) is tiny, it hardly moves for the first hundred
epochs. Under the cross-entropy C = −[y ln a + (1 − y) ln(1 − a)] the σ′(z) cancels:
∂C/∂w = x (a − y), ∂C/∂b = a − y, and it learns fastest when it is most wrong.
:func:`slowdown` trains the neuron with ``Network.fit`` and records the cost and the output
before training and after every epoch.

**Softmax** (book §"Softmax", eq. 78): aᴸⱼ = e^{zᴸⱼ} / Σₖ e^{zᴸₖ}, by nnlearn's ``Softmax``
layer (:func:`softmax`).

**Overfitting** (book §"Overfitting and regularization", eq. 85): [784, 30, 10] trained on only
1,000 images; the training cost keeps falling while the accuracy on the 10,000 validation images
stalls. L2 regularisation, C = C₀ + (λ/2n) Σ w², and dropout are the controls. An
:class:`OverfitSession` trains one epoch per stream update (a session of the playground's pool).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy

from nnlearn.checks import Number
from nnlearn.data import load_mnist
from nnlearn.errors import DivergenceError
from nnlearn.examples.notebooks import neuron
from nnlearn.nn.layers import Softmax
from nnlearn.nn.network import Network
from nnlearn.train.trainer import Trainer
from nnlearn.web.book import SEED, numbers
from nnlearn.web.book.sessions import TrainingSession
from nnlearn.web.validation import Among, config_rule, get, read

COSTS = ("quadratic", "cross_entropy")
BOOK_ETA = {"quadratic": 0.15, "cross_entropy": 0.005}
"""The book's η for each cost in this demonstration (its widgets use these)."""
MAX_EPOCHS = 2000
START = Number(-10.0, 10.0)
"""The neuron's starting ``w`` and ``b``."""
SOFTMAX_SIZE = 4
"""The book's softmax widget has four outputs."""


def slowdown(body: dict[str, Any]) -> dict[str, Any]:
    """The neuron's cost and output before training and after each epoch.

    Body: ``cost`` (quadratic | cross_entropy), ``w``, ``b`` (the start, in [−10, 10]),
    ``eta`` (default: the book's for that cost), ``epochs`` (1–2000, default 300).
    """
    cost = read(body, "cost", config_rule("model.cost", COSTS), "quadratic")
    w = read(body, "w", START, 2.0)
    b = read(body, "b", START, 2.0)
    eta = read(body, "eta", config_rule("training.eta", high=100.0), BOOK_ETA[cost])
    epochs = read(body, "epochs", config_rule("training.epochs", high=MAX_EPOCHS), 300)
    costs, outputs, diverged = learn(w, b, cost, eta, epochs)
    return {"cost": cost, "w": w, "b": b, "eta": eta, "epochs": epochs, "costs": costs,
            "outputs": outputs, "diverged": diverged, "code": slowdown_code(w, b, cost, eta, epochs)}


def learn(w: float, b: float, cost: str, eta: float, epochs: int
          ) -> tuple[list[float], list[float], str | None]:
    """Train ``neuron(w, b)`` on x = 1, y = 0 with ``Network.fit`` (minibatches of 1): the cost
    and the output a before training and after each epoch, and the divergence message if the
    run diverged (the lists then stop at the last finite epoch)."""
    x_one, y_zero = numpy.array([[1.0]]), numpy.array([[0.0]])
    net = neuron(w, b, "sigmoid", cost, seed=SEED)
    costs = [net.evaluate(x_one, y_zero)["cost"]]
    outputs = [float(net.predict_proba(x_one)[0, 0])]

    def record(epoch_record: dict) -> None:
        costs.append(epoch_record["training_cost"])
        outputs.append(float(net.predict_proba(x_one)[0, 0]))

    try:
        net.fit(x_one, y_zero, epochs=epochs, mini_batch_size=1, eta=eta,
                monitor=["training_cost"], callbacks=[record])
    except DivergenceError as exc:
        return costs, outputs, str(exc)
    return costs, outputs, None


def slowdown_code(w: float, b: float, cost: str, eta: float, epochs: int) -> str:
    """A script that reproduces :func:`slowdown`'s numbers (``costs``, ``outputs``)."""
    return f'''"""Book ch. 3, the learning slowdown: one sigmoid neuron learns to output 0 from the input 1
({cost} cost, start (w, b) = ({w!r}, {b!r}), eta = {eta!r}). Written by nnlearn serve."""
import numpy as np
from nnlearn.examples.notebooks import neuron   # Dense(1, 1) + Sigmoid with weight w, bias b

x_one, y_zero = np.array([[1.0]]), np.array([[0.0]])
net = neuron({w!r}, {b!r}, "sigmoid", "{cost}", seed={SEED})
costs = [net.evaluate(x_one, y_zero)["cost"]]
outputs = [float(net.predict_proba(x_one)[0, 0])]


def record(epoch_record):
    costs.append(epoch_record["training_cost"])
    outputs.append(float(net.predict_proba(x_one)[0, 0]))


net.fit(x_one, y_zero, epochs={epochs}, mini_batch_size=1, eta={eta!r},
        monitor=["training_cost"], callbacks=[record])
print(f"cost {{costs[0]:.6f}} -> {{costs[-1]:.6f}} after {{len(costs) - 1}} epochs; "
      f"output {{outputs[0]:.4f}} -> {{outputs[-1]:.4f}}")
'''


def softmax(body: dict[str, Any]) -> dict[str, Any]:
    """Softmax of the weighted inputs ``z`` (four numbers in [−10, 10]) by nnlearn's layer."""
    z = numbers("z", get(body, "z"), SOFTMAX_SIZE, -10.0, 10.0)
    a = Softmax().forward(numpy.array([z], dtype="float64"))[0]
    return {"z": z, "a": [float(v) for v in a], "sum": float(a.sum()), "code": softmax_code(z)}


def softmax_code(z: list[float]) -> str:
    """A script that reproduces :func:`softmax`'s ``a``."""
    return f'''"""Book ch. 3, eq. (78): a_j = exp(z_j) / sum_k exp(z_k). Written by nnlearn serve."""
import numpy as np
import nnlearn

z = np.array([[{", ".join(repr(v) for v in z)}]])   # one row: the weighted inputs z_1..z_4
a = nnlearn.Softmax().forward(z)[0]
print("a =", a.round(4), " sum =", a.sum())
'''


# -- overfitting, live ------------------------------------------------------------------------
OVERFIT_SIZES, OVERFIT_IMAGES, OVERFIT_ETA, OVERFIT_MINI_BATCH, OVERFIT_EPOCHS = (784, 30, 10), 1000, 0.5, 10, 400
LMBDAS = (0.0, 0.1, 1.0, 5.0)
DROPOUTS = (0.0, 0.2, 0.5)


@functools.lru_cache(maxsize=1)
def overfit_data():
    """The first 1,000 training images and the 10,000 validation images (the book's split)."""
    mnist = load_mnist()
    return mnist.train[0][:OVERFIT_IMAGES], mnist.train[1][:OVERFIT_IMAGES], *mnist.validation


def overfit_session(body: dict[str, Any]) -> Callable[[], "OverfitSession"]:
    """Check the body (``lmbda``, ``dropout``, each one of the page's choices); its factory."""
    lmbda = read(body, "lmbda", Among(LMBDAS), 0.0)
    dropout = read(body, "dropout", Among(DROPOUTS), 0.0)
    return lambda: OverfitSession(float(lmbda), float(dropout))


class OverfitSession(TrainingSession):
    """Each record: ``{"epoch", "training_cost" (with the L2 term), "evaluation_accuracy"}``;
    epoch 0 (before training) has the validation accuracy only."""

    max_epochs = OVERFIT_EPOCHS

    def __init__(self, lmbda: float, dropout: float):
        self.lmbda, self.dropout = lmbda, dropout
        super().__init__()

    def build(self) -> None:
        X, y, X_val, y_val = overfit_data()
        self.network = Network.from_sizes(list(OVERFIT_SIZES), cost="cross_entropy",
                                          dropout=self.dropout, seed=SEED)
        self.validation = (X_val, y_val)
        self.trainer = Trainer(self.network, X, y, epochs=OVERFIT_EPOCHS,
                               mini_batch_size=OVERFIT_MINI_BATCH, eta=OVERFIT_ETA,
                               lmbda=self.lmbda, validation_data=self.validation,
                               monitor=["training_cost", "evaluation_accuracy"])

    def record(self) -> dict[str, Any]:
        if not self.records:
            return {"epoch": 0, "training_cost": None,
                    "evaluation_accuracy": self.network.evaluate(*self.validation)["accuracy"]}
        last = self.trainer.history.records[-1]
        return {"epoch": last["epoch"], "training_cost": last["training_cost"],
                "evaluation_accuracy": last["evaluation_accuracy"]}

    def view(self) -> dict[str, Any]:
        return {"lmbda": self.lmbda, "dropout": self.dropout,
                "code": overfit_code(self.lmbda, self.dropout, self.epoch)}


def overfit_code(lmbda: float, dropout: float, epochs: int) -> str:
    return f'''"""Book ch. 3, overfitting: [784, 30, 10] on 1,000 MNIST images, {epochs} epochs, L2 lambda
= {lmbda!r}, dropout {dropout!r}. Written by nnlearn serve."""
import nnlearn
from nnlearn.data import load_mnist

mnist = load_mnist()
X, y = mnist.train[0][:{OVERFIT_IMAGES}], mnist.train[1][:{OVERFIT_IMAGES}]
net = nnlearn.Network.from_sizes({list(OVERFIT_SIZES)!r}, cost="cross_entropy", dropout={dropout!r}, seed={SEED})
history = net.fit(X, y, epochs={epochs}, mini_batch_size={OVERFIT_MINI_BATCH}, eta={OVERFIT_ETA!r}, lmbda={lmbda!r},
                  validation_data=mnist.validation, monitor=["training_cost", "evaluation_accuracy"])
print(f"training cost {{history['training_cost'][-1]:.4f}}, validation accuracy "
      f"{{history['evaluation_accuracy'][-1]:.4f}} after {{len(history)}} epochs")
'''
