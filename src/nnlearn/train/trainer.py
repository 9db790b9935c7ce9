r"""The training loop: minibatch stochastic gradient descent with monitoring and control.

One epoch: shuffle the training set (with the network's own generator), cut it
into minibatches of ``m`` examples, and for each one run::

    forward → backward (fills ∂C₀/∂w) → regularisers add (λ/n) w or (λ/n) sgn w
            → optimiser step → max-norm clamp

After the epoch the requested monitors are computed (reported costs include the
regularisers' value terms, with n the training-set size), the learning-rate
schedule sets η for the next epoch, early stopping takes its decision, the record
is appended to the history, and the callbacks and ``on_epoch_end`` hooks run.

The whole loop state lives in a :class:`Trainer`; at the end of any epoch
``Trainer.state_dict()`` captures it and ``Trainer.load_state_dict()`` on a fresh
Trainer (same network architecture, data and hyper-parameters) continues the run
with bit-identical results. :func:`fit` is a thin wrapper.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import time
from typing import Any, Callable, Iterable, Sequence

import numpy

from nnlearn import backend
from nnlearn.train.callbacks import EarlyStopping, get_early_stopping
from nnlearn.nn.costs import is_one_hot
from nnlearn.errors import ConfigError, DivergenceError
from nnlearn.checks import positive_int, positive_number
from nnlearn.optim.optimizers import Optimizer, get_optimizer
from nnlearn.train.parallel import ThreadedGradient, forward_backward, plan_threads
from nnlearn.nn.regularizers import L2, MaxNorm, Regularizer, decay_pairs, get_regularizer
from nnlearn.optim.schedules import Schedule, get_schedule

MONITORS = ("training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy")
"""What can be monitored per epoch (the book's four ``monitor_*`` flags)."""

STATE_FORMAT = "nnlearn.trainer"
STATE_VERSION = 1


class History:
    """Per-epoch records of a training run: a list of dicts, plus column access.

    ``history["evaluation_accuracy"]`` is the list of that metric over epochs.
    """

    def __init__(self, records: Iterable[dict[str, Any]] = ()) -> None:
        self.records: list[dict[str, Any]] = list(records)

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


def _regularizers(regularizers: Iterable[Regularizer | str] | Regularizer | None,
                  lmbda: float | None) -> tuple[Regularizer, ...]:
    if regularizers is None:
        regularizers = ()
    elif isinstance(regularizers, Regularizer):
        regularizers = (regularizers,)
    regs = [get_regularizer(r) for r in regularizers]
    if lmbda is not None:
        regs.append(L2(lmbda))
    return tuple(r for r in regs if r.lmbda > 0)


class Trainer:
    r"""Minibatch training of ``network`` on ``(X, y)``, resumable at any epoch boundary.

    Args:
        network: the :class:`~nnlearn.nn.network.Network` to train (updated in place).
        X, y: training inputs (N, ...) and integer labels (N,) or targets (N, K).
        epochs: total number of epochs of the run (the book's ``epochs``).
        mini_batch_size, eta: the book's ``m`` and ``η``.
        optimizer: a name in :data:`nnlearn.optim.OPTIMIZERS` (``"sgd"``, ``"momentum"``,
            ``"nesterov"``, ``"adagrad"``, ``"rmsprop"``, ``"adam"``) or an
            :class:`~nnlearn.optim.Optimizer` instance (then ``eta`` is ignored).
        optimizer_options: hyper-parameters for a named optimiser (``{"mu": 0.9}``).
        validation_data: ``(X_val, y_val)`` for the ``evaluation_*`` monitors.
        monitor: any of :data:`MONITORS`; default: evaluation accuracy when
            validation data is given. Metrics that the schedule or early stopping
            watch are added automatically.
        regularizers: :class:`~nnlearn.nn.regularizers.L2` / ``L1`` instances.
        lmbda: shortcut for the book's L2 with this λ (``lmbda=5.0``).
        max_norm: a bound c (or a :class:`~nnlearn.nn.regularizers.MaxNorm`) on each
            neuron's incoming weight norm, enforced after every step.
        schedule: a name in :data:`nnlearn.optim.schedules.SCHEDULES` (``"book"``, ...) or a
            :class:`~nnlearn.optim.schedules.Schedule`; default constant η.
        early_stopping: a patience n (int) or an
            :class:`~nnlearn.train.callbacks.EarlyStopping`; the best weights are restored
            when training ends.
        callbacks: ``callback(record)`` after each epoch (as in the core loop).
        on_batch: ``on_batch(done, total)`` about 100 times per epoch (progress bars).
        history: an existing ``History`` to append to (epoch numbers continue it).
        augment: on-the-fly data expansion, a callable ``(X, rng) -> X'`` applied to
            the whole training set at the start of every epoch with the network's
            generator (e.g. ``nnlearn.data.augment.RandomShift(1)``); monitors use the
            original data.
        threads: how many CPU threads share each minibatch (:mod:`nnlearn.train.parallel`):
            ``"auto"`` (default) splits only networks and minibatches big enough to
            gain (a convnet at mini-batch 64, not the book's MLPs at 10) and only
            when threadpoolctl is installed; 1 never splits; an int k > 1 always
            splits in k. Results depend (in the last bits) on the number used.

    Attributes:
        epoch: epochs completed so far (numbering includes a passed-in history).
        end_epoch: the epoch number at which the run ends.
        stopped: a schedule or early stopping ended the run.
        history, optimizer, schedule, early_stopping, regularizers, constraint.
        on_epoch_end: list of ``hook(trainer, record)`` called at the very end of
            each epoch, when ``state_dict()`` is consistent (checkpointing goes here).

    Resume::

        state = trainer.state_dict()                 # at an epoch end (e.g. in a hook)
        t2 = Trainer(same_arch_net, X, y, **same_options)
        t2.load_state_dict(state); t2.run()          # bit-identical to the uninterrupted run
    """

    def __init__(self, network, X, y, *, epochs: int = 30, mini_batch_size: int = 10,
                 eta: float = 3.0, optimizer: str | Optimizer = "sgd",
                 optimizer_options: dict[str, Any] | None = None,
                 validation_data: tuple[Any, Any] | None = None,
                 monitor: Iterable[str] | None = None,
                 regularizers: Iterable[Regularizer] | Regularizer | None = None,
                 lmbda: float | None = None, max_norm: float | MaxNorm | None = None,
                 schedule: str | Schedule | None = None,
                 early_stopping: int | EarlyStopping | None = None,
                 callbacks: Iterable[Callable[[dict], None]] = (),
                 on_batch: Callable[[int, int], None] | None = None,
                 history: History | None = None,
                 augment: Callable[[Any, Any], Any] | None = None,
                 threads: int | str = "auto"):
        self.network = network
        if augment is not None and not callable(augment):
            raise ConfigError(f"augment must be a callable (X, rng) -> X, got {augment!r}")
        self.augment = augment
        epochs = positive_int("epochs", epochs)
        self.mini_batch_size = positive_int("mini_batch_size", mini_batch_size)
        self.threads = plan_threads(network, self.mini_batch_size, threads)
        if not isinstance(optimizer, Optimizer):
            optimizer = get_optimizer(optimizer, positive_number("eta (learning rate η)", eta),
                                      **(optimizer_options or {}))
        self.optimizer = optimizer
        self.regularizers = _regularizers(regularizers, lmbda)
        self.constraint = max_norm if isinstance(max_norm, MaxNorm) or max_norm is None \
            else MaxNorm(max_norm)
        self.schedule = get_schedule(schedule)
        self.early_stopping = get_early_stopping(early_stopping)
        self.X = network.check_inputs(X, "X")
        self.n = int(self.X.shape[0])
        self.Y = network.targets(y, self.n, "y")
        self.evaluation = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ConfigError("validation_data must be a pair (X_val, y_val)")
            X_val = network.check_inputs(validation_data[0], "validation X")
            self.evaluation = (X_val, network.targets(validation_data[1], X_val.shape[0],
                                                      "validation y"))
        classification = is_one_hot(self.Y) and (self.evaluation is None
                                                 or is_one_hot(self.evaluation[1]))
        monitor = _check_monitor(monitor, self.evaluation is not None, classification)
        for watcher in (self.schedule, self.early_stopping):
            metric = getattr(watcher, "metric", None)
            if metric in MONITORS and metric not in monitor:
                monitor += _check_monitor((metric,), self.evaluation is not None, classification)
        self.monitor = monitor
        self.callbacks = list(callbacks)
        self.on_batch = on_batch
        self.on_epoch_end: list[Callable[["Trainer", dict], None]] = []
        self.history = History() if history is None else history
        self.epoch = len(self.history)
        self.end_epoch = self.epoch + epochs
        self.stopped = False
        self._interrupted_epoch: int | None = None

    # -- the loop -----------------------------------------------------------
    @property
    def finished(self) -> bool:
        """The run has reached ``end_epoch`` or was stopped by a schedule or early stopping."""
        return self.stopped or self.epoch >= self.end_epoch

    def run(self, epochs: int | None = None) -> History:
        """Train until the run is finished, or for at most ``epochs`` more epochs.

        When the run finishes (last epoch reached or stop requested), early
        stopping restores the best weights. Returns the ``History``.
        """
        last = self.end_epoch if epochs is None else \
            min(self.end_epoch, self.epoch + positive_int("epochs", epochs))
        while not self.finished and self.epoch < last:
            with numpy.errstate(over="ignore", invalid="ignore", divide="ignore"):
                self._run_epoch(self.epoch + 1)  # NaN/inf is detected and raised, not warned about
        return self.history

    def _run_epoch(self, epoch: int) -> None:
        network, optimizer, n, m = self.network, self.optimizer, self.n, self.mini_batch_size
        X, Y, on_batch = self.X, self.Y, self.on_batch
        take, isfinite = backend.xp.take, backend.xp.isfinite
        step = optimizer.step
        pairs, decay = network.parameters(), decay_pairs(network)
        weights = [w for w, _ in decay]
        regs = self.regularizers
        scratch = [backend.xp.empty_like(w) for w in weights] if regs else []
        constraint = self.constraint
        targets = constraint.targets(network) if constraint is not None else []
        n_batches = math.ceil(n / m)
        report_every = max(1, n_batches // 100)
        start = time.perf_counter()
        eta = optimizer.eta
        self._interrupted_epoch = epoch  # cleared at the epoch's end; stays set if it raises
        if self.augment is not None:  # a fresh expansion of the training set each epoch
            X = self.augment(X, network.rng)
        order = network.rng.permutation(n)
        refresh = False
        with self._gradient() as gradient:
            for b in range(n_batches):
                batch = order[b * m:(b + 1) * m]  # gathering per batch beats copying a shuffled X
                outputs = gradient(take(X, batch, axis=0), take(Y, batch, axis=0))
                # NaN/inf never heal, so looking ~100 times an epoch stops a diverged run at
                # once while keeping the check off most minibatches of the hot loop.
                if b % report_every == 0 and not all(bool(isfinite(A).all()) for A in outputs):
                    raise DivergenceError(f"the network's outputs became NaN or inf by minibatch "
                                          f"{b + 1} of epoch {epoch}: training diverged. {_FIXES}")
                if refresh or b == 0:  # a layer that rebinds its grads arrays is followed per batch
                    fresh = network.parameters()
                    if not _same_arrays(pairs, fresh):
                        refresh, pairs, decay = True, fresh, decay_pairs(network)
                for reg in regs:
                    reg.add_gradient(decay, n, scratch)
                step(pairs)
                if constraint is not None:
                    constraint(targets)
                if on_batch is not None and (b % report_every == 0 or b == n_batches - 1):
                    on_batch(b + 1, n_batches)
        record: dict[str, Any] = {"epoch": epoch, "eta": eta,
                                  "train_seconds": time.perf_counter() - start}
        _check_finite(network, epoch)
        penalty = sum(r.penalty(weights, n) for r in regs)
        monitor = self.monitor
        if "training_cost" in monitor or "training_accuracy" in monitor:
            _add_metrics(record, "training", network._evaluate(self.X, Y), monitor, penalty)
        if self.evaluation is not None and ("evaluation_cost" in monitor
                                            or "evaluation_accuracy" in monitor):
            _add_metrics(record, "evaluation", network._evaluate(*self.evaluation), monitor, penalty)
        self._end_epoch(epoch, record)

    def _gradient(self):
        """Context giving ``gradient(X, Y) → outputs``, which fills the network's grads
        for one minibatch: on this thread, or split over ``self.threads`` threads."""
        if self.threads > 1:
            return ThreadedGradient(self.network, self.threads)
        return contextlib.nullcontext(functools.partial(forward_backward, self.network))

    def _end_epoch(self, epoch: int, record: dict[str, Any]) -> None:
        self.schedule(record, self.optimizer)
        if self.schedule.stop:
            record["stopped_by"] = "schedule"
        es = self.early_stopping
        if es is not None:
            es(record, self.network)
            if es.stop and "stopped_by" not in record:
                record["stopped_by"] = "early_stopping"
        self.epoch = epoch
        self._interrupted_epoch = None
        self.stopped = "stopped_by" in record
        if self.finished and es is not None and es.restore(self.network):
            record["restored_epoch"] = es.best_epoch
        self.history.append(record)
        for callback in self.callbacks:
            callback(record)
        for hook in self.on_epoch_end:
            hook(self, record)

    # -- state --------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        r"""The complete loop state at the end of the last epoch (copies; JSON values and arrays).

        Keys: ``format``, ``version``, ``epoch`` (epochs done), ``end_epoch``,
        ``stopped``, ``n``, ``mini_batch_size``, ``network`` (``Network.state_dict()``),
        ``rng`` (``network.rng.bit_generator.state``), ``optimizer``, ``schedule``,
        ``early_stopping`` (or ``None``) and ``history`` (list of records). Use
        :func:`nnlearn.io.state.split_arrays` to store it without pickle.

        Raises ``RuntimeError`` if an epoch was interrupted (Ctrl-C, divergence):
        mid-epoch the weights no longer match the epoch counter, so save the state
        captured at the last ``on_epoch_end`` instead.
        """
        if self._interrupted_epoch is not None:
            raise RuntimeError(f"epoch {self._interrupted_epoch} was interrupted, so the "
                               "Trainer's state is not consistent; use the state captured at "
                               "the end of the last completed epoch")
        es = self.early_stopping
        return {"format": STATE_FORMAT, "version": STATE_VERSION, "epoch": self.epoch,
                "end_epoch": self.end_epoch, "stopped": self.stopped, "n": self.n,
                "mini_batch_size": self.mini_batch_size,
                "network": self.network.state_dict(),
                "rng": copy.deepcopy(self.network.rng.bit_generator.state),
                "optimizer": self.optimizer.state_dict(),
                "schedule": self.schedule.state_dict(),
                "early_stopping": None if es is None else es.state_dict(),
                "history": copy.deepcopy(self.history.records)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` into this Trainer (same architecture, data and options)."""
        if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
            raise ConfigError("not a Trainer state (format tag missing)")
        if state.get("version") != STATE_VERSION:
            raise ConfigError(f"Trainer state version {state.get('version')!r}; this nnlearn "
                              f"reads version {STATE_VERSION}")
        for key, mine in (("n", self.n), ("mini_batch_size", self.mini_batch_size)):
            if state[key] != mine:
                raise ConfigError(f"the saved run used {key}={state[key]}, this Trainer has "
                                  f"{key}={mine}; resume with the same data and options")
        if (state["early_stopping"] is None) != (self.early_stopping is None):
            raise ConfigError("the saved run and this Trainer differ in whether early stopping is on")
        self.network.load_state_dict(state["network"])
        self.network.rng.bit_generator.state = copy.deepcopy(state["rng"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        if self.early_stopping is not None:
            self.early_stopping.load_state_dict(state["early_stopping"])
        self.history.records = copy.deepcopy(list(state["history"]))
        self.epoch, self.end_epoch = int(state["epoch"]), int(state["end_epoch"])
        self.stopped = bool(state["stopped"])
        self._interrupted_epoch = None


def fit(network, X, y, *, epochs: int = 30, mini_batch_size: int = 10, eta: float = 3.0,
        validation_data: tuple[Any, Any] | None = None, monitor: Iterable[str] | None = None,
        callbacks: Iterable[Callable[[dict], None]] = (),
        on_batch: Callable[[int, int], None] | None = None, **options: Any) -> History:
    r"""Train ``network`` on ``(X, y)``: ``Trainer(network, X, y, ...).run()``.

    Every keyword of :class:`Trainer` is accepted (``optimizer``, ``lmbda``,
    ``regularizers``, ``max_norm``, ``schedule``, ``early_stopping``, ``history``, ...).

    Raises:
        DivergenceError: the weights or a monitored cost became NaN or inf.
    """
    return Trainer(network, X, y, epochs=epochs, mini_batch_size=mini_batch_size, eta=eta,
                   validation_data=validation_data, monitor=monitor, callbacks=callbacks,
                   on_batch=on_batch, **options).run()


def _same_arrays(a: Sequence[tuple[Any, Any]], b: Sequence[tuple[Any, Any]]) -> bool:
    return len(a) == len(b) and all(p is q and g is h for (p, g), (q, h) in zip(a, b))


def _add_metrics(record: dict[str, Any], prefix: str, metrics: dict[str, float],
                 monitor: Sequence[str], penalty: float = 0.0) -> None:
    if f"{prefix}_cost" in monitor:
        cost = metrics["cost"] + penalty
        if not math.isfinite(cost):
            raise DivergenceError(
                f"the {prefix} cost became {cost} at epoch {record['epoch']}: training "
                "diverged. Try a smaller eta, the normal_fan_in initialisation, or the "
                "cross-entropy cost instead of the quadratic one")
        record[f"{prefix}_cost"] = cost
    if f"{prefix}_accuracy" in monitor:
        record[f"{prefix}_accuracy"] = metrics["accuracy"]
        record[f"{prefix}_correct"] = metrics["correct"]
        record[f"{prefix}_total"] = metrics["total"]


_FIXES = ("Try a smaller eta, the normal_fan_in initialisation, or the cross-entropy cost "
          "instead of the quadratic one")


def _check_finite(network, epoch: int) -> None:
    xp = backend.xp
    for i, layer in enumerate(network.layers):
        for key, value in layer.params.items():
            if not bool(xp.isfinite(value).all()):
                raise DivergenceError(
                    f"layer {i} ({type(layer).__name__}) parameter {key!r} became NaN or inf "
                    f"during epoch {epoch}: training diverged. {_FIXES}")
