r"""Cost functions.

Reduction: every cost is the **mean over the minibatch** of the per-example cost,
``C = (1/N) Σ_x C_x``, and ``gradient`` returns ``∂C/∂A`` of that mean, i.e. the
per-example gradients divided by N. Plain SGD ``W ← W − η ∂C/∂W`` is therefore
exactly the book's ``w → w − (η/m) Σ_x ∂C_x/∂w``, with η meaning what it means there.

Targets ``Y`` have the shape of the outputs ``A``: one-hot rows for classification
(``Network`` converts integer labels), real values for regression.

Fused output deltas: for (sigmoid, cross-entropy) and (softmax, log-likelihood)
the product ``∂C/∂A ⊙ f'(Z)`` simplifies to ``δᴸ = (A − Y)/N`` (book eqs. 66 and
84). ``Network`` uses :meth:`Cost.fused_delta` whenever the last layer is the
cost's ``fused_activation``, skipping the activation's own backward; this is both
faster and numerically better (no division by a(1 − a) ≈ 0).
"""

from __future__ import annotations

from typing import ClassVar

from nnlearn import backend
from nnlearn.errors import ConfigError
from nnlearn.layers.activations import Activation, Sigmoid, Softmax

_TINY = 1e-12  # floor inside logarithms when the cost *value* is reported


class Cost:
    """Base class: ``value(A, Y)`` and ``gradient(A, Y) = ∂value/∂A``."""

    name: ClassVar[str] = ""
    fused_activation: ClassVar[type[Activation] | None] = None

    def value(self, A, Y) -> float:
        raise NotImplementedError

    def gradient(self, A, Y):
        raise NotImplementedError

    def fused_delta(self, A, Y):
        """``δᴸ = ∂C/∂Z`` when the output layer is ``fused_activation`` (here ``(A − Y)/N``)."""
        return (A - Y) * (1.0 / A.shape[0])

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Quadratic(Cost):
    r"""Quadratic (mean squared error) cost, book eq. 6.

    ``C = (1/N) Σ_x ½‖a − y‖²``;  ``∂C/∂A = (A − Y)/N``.
    With a sigmoid output, ``δᴸ = (a − y) ⊙ σ'(z)`` (BP1): the σ' factor is what
    makes learning slow when the output saturates.
    """

    name = "quadratic"

    def value(self, A, Y) -> float:
        D = A - Y
        return float(0.5 * (D * D).sum() / A.shape[0])

    def gradient(self, A, Y):
        return (A - Y) * (1.0 / A.shape[0])


class CrossEntropy(Cost):
    r"""Binary cross-entropy for sigmoid outputs, book eq. 63.

    ``C = −(1/N) Σ_x Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]``
    ``∂C/∂A = (A − Y) / (A(1 − A)) / N``; fused with a sigmoid output: ``δᴸ = (A − Y)/N``.
    """

    name = "cross_entropy"
    fused_activation = Sigmoid

    def value(self, A, Y) -> float:
        xp = backend.xp
        loss = Y * xp.log(xp.maximum(A, _TINY)) + (1.0 - Y) * xp.log(xp.maximum(1.0 - A, _TINY))
        return float(-loss.sum() / A.shape[0])

    def gradient(self, A, Y):
        return (A - Y) / (A * (1.0 - A)) * (1.0 / A.shape[0])


class LogLikelihood(Cost):
    r"""Log-likelihood for softmax outputs, book eq. 80.

    ``C = −(1/N) Σ_x ln a_y`` (equivalently ``−(1/N) Σ Σ_j y_j ln a_j`` with one-hot y);
    ``∂C/∂A = −Y / A / N``; fused with a softmax output: ``δᴸ = (A − Y)/N``.
    """

    name = "log_likelihood"
    fused_activation = Softmax

    def value(self, A, Y) -> float:
        xp = backend.xp
        return float(-(Y * xp.log(xp.maximum(A, _TINY))).sum() / A.shape[0])

    def gradient(self, A, Y):
        return -Y / A * (1.0 / A.shape[0])


COSTS: dict[str, type[Cost]] = {c.name: c for c in (Quadratic, CrossEntropy, LogLikelihood)}
"""Cost classes by the name used in the CLI, configs and model files."""


def get_cost(cost: str | Cost) -> Cost:
    """A cost instance from its name (``"quadratic"``, ``"cross_entropy"``, ...)."""
    if isinstance(cost, Cost):
        return cost
    try:
        return COSTS[cost]()
    except (KeyError, TypeError):
        raise ConfigError(f"unknown cost {cost!r}; expected one of {', '.join(sorted(COSTS))}") from None
