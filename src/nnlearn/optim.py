r"""Optimisers: how a parameter moves given its gradient.

Interface: ``step(pairs)`` receives the model's list of ``(param, grad)`` pairs, in
the same order at every step, and updates each ``param`` in place. Any
per-parameter state (velocities, moment estimates) is kept by position in that
list, never by a name shared between layers. ``eta`` is a plain attribute, so a
learning-rate schedule changes it between epochs.
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

from nnlearn.errors import ConfigError


def check_positive(name: str, value: Any) -> float:
    """``value`` as a float if it is a finite number > 0, else a ``ConfigError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or value == float("inf"):
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


class Optimizer:
    """Base class of optimisers (see the module docstring for the contract)."""

    name: ClassVar[str] = ""

    def __init__(self, eta: float):
        self.eta = check_positive("eta (learning rate η)", eta)

    def step(self, pairs: Sequence[tuple[Any, Any]]) -> None:
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume (hyper-parameters and per-parameter state)."""
        return {"eta": self.eta}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.eta = check_positive("eta (learning rate η)", state["eta"])

    def __repr__(self) -> str:
        return f"{type(self).__name__}(eta={self.eta})"


class SGD(Optimizer):
    r"""Plain stochastic gradient descent, the book's update rule.

    ``W ← W − η ∂C/∂W`` where ``∂C/∂W`` is already the minibatch mean, i.e. the
    book's ``w → w − (η/m) Σ_x ∂C_x/∂w`` (eq. 20–21).
    """

    name = "sgd"

    def step(self, pairs: Sequence[tuple[Any, Any]]) -> None:
        eta = self.eta
        for param, grad in pairs:
            param -= eta * grad


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD}
"""Optimiser classes by name."""


def get_optimizer(name: str | Optimizer, eta: float, **options: Any) -> Optimizer:
    """An optimiser instance from its name and learning rate."""
    if isinstance(name, Optimizer):
        return name
    try:
        cls = OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown optimiser {name!r}; expected one of {', '.join(sorted(OPTIMIZERS))}"
        ) from None
    return cls(eta, **options)
