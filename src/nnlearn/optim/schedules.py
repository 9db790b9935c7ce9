r"""Learning-rate schedules (book ch. 3; CS231n "annealing"; one-cycle for short runs).

A schedule is an object the training loop calls after every epoch as
``schedule(record, optimizer)``, where ``record`` is that epoch's dict of metrics
(``"epoch"`` counts from 1). It sets ``optimizer.eta`` for the *next* epoch and may
set ``schedule.stop = True`` to ask the loop to end training. ``η₀`` is the
optimiser's learning rate when the schedule is first called (or ``eta0=``).

A schedule with ``per_step = True`` also sets η before every minibatch: the loop calls
``schedule.set_step(t, T, optimizer)`` for step ``t = 0 … T − 1`` of a run of ``T``
minibatches in all (every epoch of the run), so that a run of one or two epochs can
still warm up and anneal.

========================  =====================================================
``"constant"``            η = η₀
``"step"``                η = η₀ γ^⌊e / step_size⌋ after epoch e (γ = ``gamma``)
``"exponential"``         η = η₀ γᵉ after epoch e
``"book"``                halve η each time ``metric`` (validation accuracy) has not
                          improved for ``patience`` epochs; stop once η < η₀/128
``"one_cycle"``           per minibatch: η rises linearly from η₀·``start_ratio`` to η₀
                          over the first ``warmup`` fraction of the run, then falls
                          linearly to η₀·``end_ratio`` at its last step
``"linear"``              per minibatch: η falls linearly from η₀ to η₀·``end_ratio``
========================  =====================================================

``state_dict()``/``load_state_dict()`` capture everything the schedule remembers,
so a resumed run continues exactly.
"""

from __future__ import annotations

from typing import Any, ClassVar

from nnlearn.errors import ConfigError
from nnlearn.checks import positive_int, positive_number, unit_interval


class Schedule:
    """Base class: per-epoch learning-rate control (see the module docstring)."""

    name: ClassVar[str] = ""
    per_step: ClassVar[bool] = False
    """Whether the loop calls :meth:`set_step` before every minibatch."""
    metric: str | None = None
    """The record key the schedule reads, if any (the loop checks it is monitored)."""

    def __init__(self, eta0: float | None = None):
        self.eta0 = None if eta0 is None else positive_number("eta0 (initial learning rate η₀)", eta0)
        self.stop = False

    def __call__(self, record: dict[str, Any], optimizer) -> None:
        if self.eta0 is None:
            self.eta0 = float(optimizer.eta)
        optimizer.eta = self.eta_after(int(record["epoch"]), record, optimizer.eta)

    def eta_after(self, epoch: int, record: dict[str, Any], eta: float) -> float:
        """The learning rate for epoch ``epoch + 1``."""
        raise NotImplementedError

    def set_step(self, step: int, total: int, optimizer) -> None:
        """Per-step schedules: set ``optimizer.eta`` for minibatch ``step`` of ``total``."""
        if self.eta0 is None:
            self.eta0 = float(optimizer.eta)
        optimizer.eta = self.eta0 * self.factor(step / max(1, total - 1))

    def factor(self, progress: float) -> float:
        """Per-step schedules: η / η₀ at ``progress`` = t / (T − 1) ∈ [0, 1] of the run."""
        raise NotImplementedError

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name, "eta0": self.eta0, "stop": self.stop, **self._extra_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("name") != self.name:
            raise ConfigError(f"cannot load {state.get('name')!r} schedule state into a "
                              f"{self.name!r} schedule")
        self.eta0 = None if state["eta0"] is None else float(state["eta0"])
        self.stop = bool(state["stop"])
        for key in self._extra_state():
            setattr(self, key, state[key])

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Constant(Schedule):
    """η stays η₀."""

    name = "constant"

    def eta_after(self, epoch, record, eta) -> float:
        return eta


class StepDecay(Schedule):
    r"""``η = η₀ γ^⌊e / step_size⌋`` after epoch e: multiply by γ every ``step_size`` epochs."""

    name = "step"

    def __init__(self, step_size: int = 10, gamma: float = 0.5, eta0: float | None = None):
        super().__init__(eta0)
        self.step_size = positive_int("step_size", step_size)
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not 0 < gamma <= 1:
            raise ConfigError(f"gamma (decay factor γ) must be a number in (0, 1], got {gamma!r}")
        self.gamma = float(gamma)

    def eta_after(self, epoch, record, eta) -> float:
        return self.eta0 * self.gamma ** (epoch // self.step_size)

    def __repr__(self) -> str:
        return f"StepDecay(step_size={self.step_size}, gamma={self.gamma})"


class ExponentialDecay(Schedule):
    r"""``η = η₀ γᵉ`` after epoch e (CS231n's ``η₀ e^{−k t}`` with γ = e^{−k})."""

    name = "exponential"

    def __init__(self, gamma: float = 0.95, eta0: float | None = None):
        super().__init__(eta0)
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not 0 < gamma <= 1:
            raise ConfigError(f"gamma (decay factor γ) must be a number in (0, 1], got {gamma!r}")
        self.gamma = float(gamma)

    def eta_after(self, epoch, record, eta) -> float:
        return self.eta0 * self.gamma ** epoch

    def __repr__(self) -> str:
        return f"ExponentialDecay(gamma={self.gamma})"


class BookSchedule(Schedule):
    r"""The book's learning-rate rule (ch. 3, "How to choose a neural network's hyper-parameters").

    Track the best value of ``metric`` so far (``"evaluation_accuracy"``, i.e. the
    validation accuracy). Each time it has not improved for ``patience``
    consecutive epochs, multiply η by ``factor`` (½) and start counting again. Once
    η < η₀ · ``min_ratio`` (1/128), set ``stop``. With the defaults that is after
    the 8th halving (η₀/256 < η₀/128); the book's looser wording "until η has
    dropped to 1/128 of its original value" is ``min_ratio=1/64`` here.

    Args:
        patience: n, the epochs without improvement before halving (book: 10).
        factor: the multiplier applied to η (½).
        min_ratio: stop when η < η₀ · min_ratio.
        metric: the record key to watch; larger is better.
    """

    name = "book"

    def __init__(self, patience: int = 10, factor: float = 0.5, min_ratio: float = 1 / 128,
                 metric: str = "evaluation_accuracy", eta0: float | None = None):
        super().__init__(eta0)
        self.patience = positive_int("patience", patience)
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor < 1:
            raise ConfigError(f"factor must be a number in (0, 1), got {factor!r}")
        self.factor = float(factor)
        self.min_ratio = unit_interval("min_ratio", min_ratio)
        self.metric = metric
        self.best: float | None = None
        self.wait = 0

    def eta_after(self, epoch, record, eta) -> float:
        if self.metric not in record:
            raise ConfigError(f"the book schedule watches {self.metric!r}, which epoch {epoch} "
                              "did not record; pass validation_data and monitor it")
        value = float(record[self.metric])
        if self.best is None or value > self.best:
            self.best, self.wait = value, 0
            return eta
        self.wait += 1
        if self.wait >= self.patience:
            self.wait = 0
            eta *= self.factor
            if eta < self.eta0 * self.min_ratio:
                self.stop = True
        return eta

    def _extra_state(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait}

    def __repr__(self) -> str:
        return (f"BookSchedule(patience={self.patience}, factor={self.factor}, "
                f"min_ratio={self.min_ratio}, metric={self.metric!r})")


def _ratio(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)


class OneCycle(Schedule):
    r"""One-cycle (Smith & Topin 2019, in its linear form), set before every minibatch.

    With progress ``p = t / (T − 1)`` through the ``T`` minibatches of the whole run and
    ``w`` = ``warmup``::

        η(p) = η₀ · (r₀ + (1 − r₀) · p / w)                    for p < w   (warm-up)
        η(p) = η₀ · (1 − (1 − r₁) · (p − w) / (1 − w))         for p ≥ w   (annealing)

    with ``r₀ = start_ratio`` and ``r₁ = end_ratio``: a large η₀ is reached only once the
    weights have moved away from their initial values, and the run ends at a small η.
    ``warmup = 0`` is a plain linear decay (:class:`LinearDecay`).

    References: L. N. Smith, N. Topin, "Super-convergence: very fast training of neural
    networks using large learning rates" (2019).
    """

    name = "one_cycle"
    per_step = True

    def __init__(self, warmup: float = 0.25, start_ratio: float = 0.1, end_ratio: float = 0.0,
                 eta0: float | None = None):
        super().__init__(eta0)
        self.warmup = _ratio("warmup", warmup)
        if self.warmup == 1:
            raise ConfigError("warmup must be below 1 (the fraction of the run spent warming up; "
                              "the rest anneals)")
        self.start_ratio = _ratio("start_ratio", start_ratio)
        self.end_ratio = _ratio("end_ratio", end_ratio)

    def factor(self, progress: float) -> float:
        w = self.warmup
        if progress < w:
            return self.start_ratio + (1 - self.start_ratio) * progress / w
        return 1 - (1 - self.end_ratio) * (progress - w) / (1 - w)

    def eta_after(self, epoch, record, eta) -> float:
        return eta  # set per minibatch instead

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(warmup={self.warmup}, start_ratio={self.start_ratio}, "
                f"end_ratio={self.end_ratio})")


class LinearDecay(OneCycle):
    r"""η falls linearly over the run's minibatches: ``η(p) = η₀ (1 − (1 − r₁) p)``,
    ``p = t / (T − 1)``, ``r₁ = end_ratio`` (a :class:`OneCycle` without warm-up)."""

    name = "linear"

    def __init__(self, end_ratio: float = 0.0, eta0: float | None = None):
        super().__init__(warmup=0.0, start_ratio=1.0, end_ratio=end_ratio, eta0=eta0)

    def __repr__(self) -> str:
        return f"LinearDecay(end_ratio={self.end_ratio})"


SCHEDULES: dict[str, type[Schedule]] = {
    cls.name: cls for cls in (Constant, StepDecay, ExponentialDecay, BookSchedule, OneCycle,
                              LinearDecay)}
"""Schedule classes by name: constant, step, exponential, book, one_cycle, linear."""


def get_schedule(spec: str | Schedule | None, **options: Any) -> Schedule:
    """A schedule from an instance, ``None`` (constant) or a name plus its options."""
    if spec is None:
        spec = "constant"
    if isinstance(spec, Schedule):
        return spec
    try:
        cls = SCHEDULES[spec]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown learning-rate schedule {spec!r}; expected one of "
                          f"{', '.join(SCHEDULES)}") from None
    try:
        return cls(**options)
    except TypeError as exc:
        raise ConfigError(f"bad options for the {spec!r} schedule: {exc}") from None
