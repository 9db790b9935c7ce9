r"""The training loop: minibatch stochastic gradient descent with monitoring.

One epoch: shuffle the training set (with the network's own generator), cut it
into minibatches of ``m`` examples, and for each one run ``forward``, ``backward``
and one optimiser ``step``. After each epoch the requested monitors are computed
and every callback receives that epoch's record.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Iterable, Sequence

from nnlearn import backend
from nnlearn.costs import is_one_hot
from nnlearn.errors import ConfigError, DivergenceError
from nnlearn.optim import Optimizer, check_positive, get_optimizer

MONITORS = ("training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy")
"""What can be monitored per epoch (the book's four ``monitor_*`` flags)."""


class History:
    """Per-epoch records of a training run: a list of dicts, plus column access.

    ``history["evaluation_accuracy"]`` is the list of that metric over epochs.
    """

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def append(self, record: dict[str, Any]) -> None:
        self.records.append(record)

    def __getitem__(self, key: str) -> list[Any]:
        return [r[key] for r in self.records if key in r]

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    def __repr__(self) -> str:
        return f"History({len(self.records)} epochs)"


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return value


def _check_monitor(monitor: Iterable[str] | None, has_validation: bool,
                   classification: bool = True) -> tuple[str, ...]:
    if monitor is None:  # accuracy is undefined for regression and multi-label targets
        return (("evaluation_accuracy",) if classification else ("evaluation_cost",)) \
            if has_validation else ()
    if isinstance(monitor, str):
        monitor = (monitor,)
    monitor = tuple(monitor)
    for name in monitor:
        if name not in MONITORS:
            raise ConfigError(f"unknown monitor {name!r}; expected any of {', '.join(MONITORS)}")
        if name.startswith("evaluation") and not has_validation:
            raise ConfigError(f"monitor {name!r} needs validation_data=(X, y)")
        if name.endswith("accuracy") and not classification:
            raise ConfigError(f"monitor {name!r} needs class labels (integer labels or one-hot "
                              "rows); these targets are real-valued or multi-label: monitor the cost")
    return monitor


def fit(network, X, y, *, epochs: int = 30, mini_batch_size: int = 10, eta: float = 3.0,
        optimizer: str | Optimizer = "sgd", validation_data: tuple[Any, Any] | None = None,
        monitor: Iterable[str] | None = None,
        callbacks: Iterable[Callable[[dict], None]] = (),
        on_batch: Callable[[int, int], None] | None = None,
        history: History | None = None) -> History:
    r"""Train ``network`` on ``(X, y)`` by minibatch SGD.

    Args:
        X, y: training inputs (N, ...) and integer labels (N,) or targets (N, K).
        epochs, mini_batch_size, eta: the book's hyper-parameters, one to one.
        optimizer: ``"sgd"`` (default) or an :class:`~nnlearn.optim.Optimizer`
            instance (then ``eta`` is ignored in favour of the optimiser's).
        validation_data: ``(X_val, y_val)`` for the ``evaluation_*`` monitors.
        monitor: any of :data:`MONITORS`; default: evaluation accuracy when
            validation data is given.
        callbacks: called with each epoch's record (a dict) after the epoch.
        on_batch: called as ``on_batch(done, total)`` about 100 times per epoch
            (progress bars).
        history: an existing ``History`` to append to.

    Raises:
        DivergenceError: the weights or a monitored cost became NaN or inf.
    """
    epochs = _positive_int("epochs", epochs)
    m = _positive_int("mini_batch_size", mini_batch_size)
    if not isinstance(optimizer, Optimizer):
        optimizer = get_optimizer(optimizer, check_positive("eta (learning rate η)", eta))
    X = network.check_inputs(X, "X")
    n = X.shape[0]
    Y = network.targets(y, n, "y")
    evaluation = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise ConfigError("validation_data must be a pair (X_val, y_val)")
        X_val = network.check_inputs(validation_data[0], "validation X")
        evaluation = (X_val, network.targets(validation_data[1], X_val.shape[0], "validation y"))
    monitor = _check_monitor(monitor, evaluation is not None, is_one_hot(Y) and (
        evaluation is None or is_one_hot(evaluation[1])))
    callbacks = list(callbacks)
    history = History() if history is None else history

    rng = network.rng
    take = backend.xp.take
    n_batches = math.ceil(n / m)
    report_every = max(1, n_batches // 100)
    forward, backward, step = network.forward, network.backward, optimizer.step
    first_epoch = len(history) + 1
    for epoch in range(first_epoch, first_epoch + epochs):
        start = time.perf_counter()
        order = rng.permutation(n)
        for b in range(n_batches):
            batch = order[b * m:(b + 1) * m]  # gathering per batch beats copying a shuffled X
            xb, yb = take(X, batch, axis=0), take(Y, batch, axis=0)
            backward(forward(xb, True), yb)
            step(network.parameters())
            if on_batch is not None and (b % report_every == 0 or b == n_batches - 1):
                on_batch(b + 1, n_batches)
        record: dict[str, Any] = {"epoch": epoch, "eta": optimizer.eta,
                                  "train_seconds": time.perf_counter() - start}
        _check_finite(network, epoch)
        if "training_cost" in monitor or "training_accuracy" in monitor:
            _add_metrics(record, "training", network._evaluate(X, Y), monitor)
        if evaluation is not None and ("evaluation_cost" in monitor or "evaluation_accuracy" in monitor):
            _add_metrics(record, "evaluation", network._evaluate(*evaluation), monitor)
        history.append(record)
        for callback in callbacks:
            callback(record)
    return history


def _add_metrics(record: dict[str, Any], prefix: str, metrics: dict[str, float],
                 monitor: Sequence[str]) -> None:
    if f"{prefix}_cost" in monitor:
        if not math.isfinite(metrics["cost"]):
            raise DivergenceError(
                f"the {prefix} cost became {metrics['cost']} at epoch {record['epoch']}: training "
                "diverged. Try a smaller eta, the normal_fan_in initialisation, or the "
                "cross-entropy cost instead of the quadratic one")
        record[f"{prefix}_cost"] = metrics["cost"]
    if f"{prefix}_accuracy" in monitor:
        record[f"{prefix}_accuracy"] = metrics["accuracy"]
        record[f"{prefix}_correct"] = metrics["correct"]
        record[f"{prefix}_total"] = metrics["total"]


def _check_finite(network, epoch: int) -> None:
    xp = backend.xp
    for i, layer in enumerate(network.layers):
        for key, value in layer.params.items():
            if not bool(xp.isfinite(value).all()):
                raise DivergenceError(
                    f"layer {i} ({type(layer).__name__}) parameter {key!r} became NaN or inf "
                    f"during epoch {epoch}: training diverged. Try a smaller eta, the "
                    "normal_fan_in initialisation, or the cross-entropy cost instead of the "
                    "quadratic one")
