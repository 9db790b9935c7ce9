r"""The training loop: minibatch stochastic gradient descent with monitoring and control.

One epoch shuffles the training set (with the network's own generator), cuts it into
minibatches of ``m`` examples and runs :meth:`Trainer.train_step` on each — the book's
``update_mini_batch``, with the whole minibatch as one matrix::

    A = network.forward(X, training=True)      # feedforward
    delta = network.output_error(A, Y)         # δᴸ                        (BP1)
    network.backpropagate(delta)               # δˡ, ∂C/∂bˡ, ∂C/∂Wˡ         (BP2–BP4)
    regulariser.add_gradient(...)              # + (λ/n) w  or  + (λ/n) sgn w
    optimizer.step(pairs)                      # w → w − η ∂C/∂w
    max_norm(...)                              # optional: clamp ‖w‖ ≤ c

Around the step sit hooks, not code in it: after each minibatch the *batch hooks*
(a divergence watch that stops a run whose outputs became NaN/inf, the progress bar);
after each epoch the monitors (reported costs include the regularisers' value terms,
with n the training-set size), the learning-rate schedule, early stopping, then the
``callbacks`` and ``on_epoch_end`` hooks (checkpoints go there). Data-parallel CPU
threads (:mod:`nnlearn.train.parallel`) are an option that replaces the three
backprop lines of the step by the same lines run on parts of the minibatch. For an MLP
whose epoch needs no Python per minibatch, the epoch runs as one compiled loop of these
same steps (:mod:`nnlearn.train.compiled_epoch`; with ``threads > 1`` its threads share
the first layer); ``NNLEARN_KERNELS=reference`` keeps the loop below.

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
from typing import Any, Callable, Iterable

import numpy

from nnlearn import backend, defaults
from nnlearn.checks import positive_int
from nnlearn.errors import ConfigError, DivergenceError
from nnlearn.nn.costs import is_one_hot
from nnlearn.nn.network import output_activation_name
from nnlearn.nn.regularizers import L2, MaxNorm, Regularizer, decay_pairs, get_regularizer
from nnlearn.optim.optimizers import Optimizer, get_optimizer
from nnlearn.optim.schedules import Schedule, get_schedule
from nnlearn.train.callbacks import EarlyStopping, get_early_stopping
from nnlearn.train.compiled_epoch import CompiledEpoch, compile_epoch
from nnlearn.train.parallel import ThreadedGradient, blas_threads, plan_blas_threads, plan_threads

MONITORS = ("training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy")
"""What can be monitored per epoch (the book's four ``monitor_*`` flags)."""

STATE_FORMAT = "nnlearn.trainer"
STATE_VERSION = 1


def watched(done: int, total: int) -> bool:
    """Whether the batch hooks look at minibatch ``done`` of ``total``: the first, then every
    ``total // 100``-th (about 100 times an epoch)."""
    return (done - 1) % max(1, total // 100) == 0


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
            splits in k (an MLP's compiled epoch splits its first layer's weights
            instead). Results depend (in the last bits) on the number used.

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

    def __init__(self, network, X, y, *, epochs: int = defaults.EPOCHS,
                 mini_batch_size: int = defaults.MINI_BATCH_SIZE, eta: float = defaults.ETA,
                 optimizer: str | Optimizer = "sgd",
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
                 threads: int | str = defaults.THREADS):
        self.network = network
        if augment is not None and not callable(augment):
            raise ConfigError(f"augment must be a callable (X, rng) -> X, got {augment!r}")
        self.augment = augment
        epochs = positive_int("epochs", epochs)
        self.mini_batch_size = positive_int("mini_batch_size", mini_batch_size)
        self.threads = plan_threads(network, self.mini_batch_size, threads)
        if not isinstance(optimizer, Optimizer):
            optimizer = get_optimizer(optimizer, eta,  # the optimiser checks η (once)
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
        self.batch_hooks: list[Callable[[int, int, int, list[Any]], None]] = [
            self._watch_outputs, self._report_progress]
        """``hook(epoch, done, total, outputs)`` after every minibatch (``done`` of ``total``)."""
        self.on_epoch_end: list[Callable[["Trainer", dict], None]] = []
        self.history = History() if history is None else history
        self.epoch = len(self.history)
        self.end_epoch = self.epoch + epochs
        self.stopped = False
        self._threaded: ThreadedGradient | None = None
        self._prepare_step()
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
        # NaN/inf is detected and raised, not warned about (the worker threads of a split
        # minibatch take this error state with them)
        with numpy.errstate(over="ignore", invalid="ignore", divide="ignore"), self._thread_pool():
            while not self.finished and self.epoch < last:
                self._run_epoch(self.epoch + 1)
        return self.history

    def train_step(self, X, Y) -> list[Any]:
        r"""One minibatch of SGD (the book's ``update_mini_batch``); returns the outputs.

        ``X`` (m, ...) and targets ``Y`` (m, K) are the minibatch; the gradients are
        the minibatch means, because every cost is (see :mod:`nnlearn.nn.costs`).
        """
        network = self.network
        if self._threaded is not None:       # the same three lines on parts of X, one per thread
            outputs = self._threaded(X, Y)
        else:
            A = network.forward(X, training=True)  # feedforward, keeping what backward needs
            delta = network.output_error(A, Y)     # δᴸ                                (BP1)
            network.backpropagate(delta)           # δˡ, and ∂C/∂bˡ, ∂C/∂Wˡ in grads (BP2–BP4)
            outputs = [A]
        for reg in self.regularizers:              # ∂C/∂w += (λ/n) w (L2) or (λ/n) sgn w (L1)
            reg.add_gradient(self._decay, self.n, self._scratch)
        self.optimizer.step(self._pairs)           # w → w − η ∂C/∂w (or momentum, Adam, ...)
        if self.constraint is not None:
            self.constraint(self._constrained)     # max-norm: rescale rows with ‖w‖ > c
        return outputs

    def _run_epoch(self, epoch: int) -> None:
        network, n, m = self.network, self.n, self.mini_batch_size
        X, Y = self.X, self.Y
        n_batches = math.ceil(n / m)
        self._prepare_step()
        start = time.perf_counter()
        per_step = self.schedule.per_step  # η set before every minibatch (one-cycle, linear)
        first_step, total_steps = (epoch - 1) * n_batches, self.end_epoch * n_batches
        if per_step:  # the epoch's record reports the η of its first minibatch
            self.schedule.set_step(first_step, total_steps, self.optimizer)
        eta = self.optimizer.eta
        self._interrupted_epoch = epoch  # cleared at the epoch's end; stays set if it raises
        if self.augment is not None:  # a fresh expansion of the training set each epoch
            X = self.augment(X, network.rng)
        order = network.rng.permutation(n)
        compiled = self._compiled_epoch(X, Y)
        if compiled is not None:  # the same steps as one compiled loop (nnlearn.train.compiled_epoch),
            # back in Python after the minibatches the batch hooks look at
            stops = [done for done in range(1, n_batches + 1) if watched(done, n_batches) or done == n_batches]
            compiled.run(X, Y, order, stops, functools.partial(self._batch_done, epoch, n_batches))
        else:
            for b in range(n_batches):
                if per_step:
                    self.schedule.set_step(first_step + b, total_steps, self.optimizer)
                batch = order[b * m:(b + 1) * m]  # gathering per batch beats copying a shuffled X
                # (the array method skips the ~1 µs Python wrapper of xp.take: a few % of a small step)
                outputs = self.train_step(X.take(batch, axis=0), Y.take(batch, axis=0))
                self._batch_done(epoch, n_batches, b + 1, outputs)
        record: dict[str, Any] = {"epoch": epoch, "eta": eta,
                                  "train_seconds": time.perf_counter() - start}
        self._check_finite(epoch)
        penalty = sum(r.penalty(self._weights, n) for r in self.regularizers)
        monitor = self.monitor
        if "training_cost" in monitor or "training_accuracy" in monitor:
            self._add_metrics(record, "training", network._evaluate(self.X, Y), penalty)
        if self.evaluation is not None and ("evaluation_cost" in monitor
                                            or "evaluation_accuracy" in monitor):
            self._add_metrics(record, "evaluation", network._evaluate(*self.evaluation), penalty)
        self._end_epoch(epoch, record)

    def _prepare_step(self) -> None:
        """The arrays ``train_step`` updates: ``(param, grad)`` pairs, the weights that
        regularisation and max-norm act on, and scratch space for the regularisers."""
        network = self.network
        self._pairs = network.parameters()
        self._decay = decay_pairs(network)
        self._weights = [w for w, _ in self._decay]
        self._scratch = [backend.xp.empty_like(w) for w in self._weights] if self.regularizers \
            else []
        self._constrained = self.constraint.targets(network) if self.constraint is not None \
            else []

    def epoch_loop(self, X=None, Y=None) -> str:
        """``"compiled"`` when an epoch on ``X``, ``Y`` (default: the training data) runs as
        one compiled loop (:mod:`nnlearn.train.compiled_epoch`), else ``"reference"``."""
        X, Y = self.X if X is None else self.network.check_inputs(X), \
            self.Y if Y is None else self.network.targets(Y, len(X))
        return "reference" if self._compiled_epoch(X, Y) is None else "compiled"

    def _compiled_epoch(self, X, Y) -> CompiledEpoch | None:
        """The epoch as one compiled loop when nothing in it needs Python per minibatch
        (with ``threads > 1``, its threads share the first layer's weights): η fixed for
        the epoch (no per-step schedule), the default batch hooks (which only look at
        :func:`watched` minibatches), ``train_step`` as written here, and a network and
        settings that
        :func:`~nnlearn.train.compiled_epoch.compile_epoch` takes; else None."""
        if type(self).train_step is not Trainer.train_step \
                or self.schedule.per_step \
                or self.batch_hooks != [self._watch_outputs, self._report_progress]:
            return None
        return compile_epoch(self.network, self.optimizer, self.regularizers, self.constraint,
                             X, Y, self.n, self.mini_batch_size, self.threads)

    def _thread_pool(self):
        """Context, around a whole ``run``, in which ``train_step`` splits minibatches over
        ``self.threads`` threads (on one thread: BLAS threads by the size of the products,
        see ``plan_blas_threads``)."""
        if self.threads < 2:
            return blas_threads(plan_blas_threads(self.network, self.mini_batch_size))
        if self.epoch_loop() == "compiled":  # its threads share the first layer, each BLAS call on one
            return blas_threads(1)
        threaded = ThreadedGradient(self.network, self.threads)

        @contextlib.contextmanager
        def pool():
            with threaded:
                self._threaded = threaded
                try:
                    yield
                finally:
                    self._threaded = None
        return pool()

    def _batch_done(self, epoch: int, total: int, done: int, outputs: list[Any]) -> None:
        """After minibatch ``done`` of ``total``: every batch hook."""
        for hook in self.batch_hooks:
            hook(epoch, done, total, outputs)

    def _watch_outputs(self, epoch: int, done: int, total: int, outputs: list[Any]) -> None:
        """Batch hook: stop at once when the outputs became NaN or inf. NaN/inf never heal,
        so looking ~100 times an epoch stops a diverged run while keeping the check off
        most minibatches."""
        if watched(done, total) and not all(bool(backend.xp.isfinite(A).all()) for A in outputs):
            raise DivergenceError(f"the network's outputs became NaN or inf by minibatch {done} "
                                  f"of epoch {epoch}: training diverged. {self.advice()}")

    def _report_progress(self, epoch: int, done: int, total: int, outputs: list[Any]) -> None:
        """Batch hook: ``on_batch(done, total)`` about 100 times an epoch and at its end."""
        if self.on_batch is not None and (watched(done, total) or done == total):
            self.on_batch(done, total)

    def advice(self) -> str:
        """What to change after a divergence: only changes that differ from this run's settings."""
        network = self.network
        fixes = [f"a smaller eta than {self.optimizer.eta:g}"]
        if any(getattr(layer, "weight_init", None) == "normal" for layer in network.layers):
            fixes.append("the normal_fan_in initialisation instead of N(0, 1) weights")
        if network.cost.name == "quadratic" and output_activation_name(network.layers) == "sigmoid":
            fixes.append("the cross-entropy cost instead of the quadratic one")
        if not self.regularizers and self.constraint is None:
            fixes.append("L2 regularisation or a max-norm bound")
        return "Try " + ", ".join(fixes[:-1]) + (" or " if len(fixes) > 1 else "") + fixes[-1]

    def _check_finite(self, epoch: int) -> None:
        xp = backend.xp
        for i, layer in enumerate(self.network.layers):
            for key, value in layer.params.items():
                if not bool(xp.isfinite(value).all()):
                    raise DivergenceError(
                        f"layer {i} ({type(layer).__name__}) parameter {key!r} became NaN or inf "
                        f"during epoch {epoch}: training diverged. {self.advice()}")

    def _add_metrics(self, record: dict[str, Any], prefix: str, metrics: dict[str, float],
                     penalty: float = 0.0) -> None:
        if f"{prefix}_cost" in self.monitor:
            cost = metrics["cost"] + penalty
            if not math.isfinite(cost):
                raise DivergenceError(f"the {prefix} cost became {cost} at epoch {record['epoch']}: "
                                      f"training diverged. {self.advice()}")
            record[f"{prefix}_cost"] = cost
        if f"{prefix}_accuracy" in self.monitor:
            record[f"{prefix}_accuracy"] = metrics["accuracy"]
            record[f"{prefix}_correct"] = metrics["correct"]
            record[f"{prefix}_total"] = metrics["total"]

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

    def release_data(self) -> None:
        """Drop this trainer's references to the training and validation data, so that a
        caller done training can free them (the run cannot go on after this)."""
        self.X = self.Y = self.evaluation = None
        self.end_epoch = self.epoch

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


def fit(network, X, y, *, epochs: int = defaults.EPOCHS,
        mini_batch_size: int = defaults.MINI_BATCH_SIZE, eta: float = defaults.ETA,
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
