r"""Activation functions as layers of their own.

Each activation maps ``Z → A = f(Z)`` element-wise (softmax: row-wise) and its
``backward`` applies the ``⊙ f'(z)`` factor of the book's BP1/BP2::

    δ = ∂C/∂Z = ∂C/∂A ⊙ f'(Z)

Derivatives are computed from the cached output ``A`` where that is cheaper
(σ' = σ(1 − σ)), never by recomputing the forward pass.
"""

from __future__ import annotations

from typing import ClassVar

from nnlearn import backend
from nnlearn.errors import ConfigError
from nnlearn.layers.base import Layer, register_layer

# exp(x) overflows float32 above ~88.7; capping the exponent there keeps sigmoid
# free of overflow warnings for any finite input at an error below 1e-38.
_EXP_CAP = 88.0


class Activation(Layer):
    """Base class of parameter-free element-wise activations."""

    name: ClassVar[str] = ""

    def __init__(self) -> None:
        super().__init__()
        self._A = None

    def _cached_output(self):
        if self._A is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self._A


@register_layer
class Sigmoid(Activation):
    r"""Logistic sigmoid ``σ(z) = 1 / (1 + e^{−z})``.

    Backward: ``δ = dA ⊙ σ(z)(1 − σ(z))`` (the book's σ'(z), from the cached output).
    Stable for every finite z: the exponent is capped, so nothing overflows.
    """

    name = "sigmoid"

    def forward(self, Z, training: bool = False):
        xp = backend.xp
        E = xp.exp(xp.minimum(-Z, _EXP_CAP))
        E += 1.0
        A = xp.reciprocal(E, out=E)
        self._A = A
        return A

    def backward(self, dA, need_dx: bool = True):
        r"""``∂C/∂Z = ∂C/∂A ⊙ A ⊙ (1 − A)``  (σ' = σ(1 − σ))."""
        A = self._cached_output()
        return dA * A * (1.0 - A)


@register_layer
class Softmax(Activation):
    r"""Softmax over each row: ``a_j = e^{z_j} / Σ_k e^{z_k}``.

    Forward subtracts the row maximum first (same result, no overflow).
    Backward is the Jacobian-vector product, without forming the Jacobian::

        ∂C/∂z_j = a_j (∂C/∂a_j − Σ_k a_k ∂C/∂a_k)

    With the log-likelihood cost the two fuse to ``δ = a − y`` (see
    ``nnlearn.costs.LogLikelihood``); this general form is used otherwise.
    """

    name = "softmax"

    def forward(self, Z, training: bool = False):
        xp = backend.xp
        E = xp.exp(Z - Z.max(axis=1, keepdims=True))
        E /= E.sum(axis=1, keepdims=True)
        self._A = E
        return E

    def backward(self, dA, need_dx: bool = True):
        r"""``δ = A ⊙ (dA − rowsum(dA ⊙ A))``."""
        A = self._cached_output()
        return A * (dA - (dA * A).sum(axis=1, keepdims=True))


ACTIVATIONS: dict[str, type[Activation]] = {"sigmoid": Sigmoid, "softmax": Softmax}
"""Activation layers by the name used in the CLI and in ``Network.from_sizes``."""


def get_activation(name: str) -> Activation:
    """A new activation layer from its name (e.g. ``"sigmoid"``)."""
    try:
        return ACTIVATIONS[name]()
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown activation {name!r}; expected one of {', '.join(sorted(ACTIVATIONS))}"
        ) from None
