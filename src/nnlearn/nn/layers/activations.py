r"""Activation functions as layers of their own.

Each activation maps ``Z → A = f(Z)`` element-wise (softmax: row-wise) and its
``backward`` applies the ``⊙ f'(z)`` factor of the book's BP1/BP2::

    δ = ∂C/∂Z = ∂C/∂A ⊙ f'(Z)

Derivatives are computed from the cached output ``A`` where that is cheaper
(σ' = σ(1 − σ)), never by recomputing the forward pass.

=================  ==========================  =================================
name               f(z)                        f'(z) used in backward
=================  ==========================  =================================
``"sigmoid"``      1 / (1 + e^{−z})            a (1 − a)
``"tanh"``         tanh z                      1 − a²
``"relu"``         max(0, z)                   1[z > 0]
``"leaky_relu"``   z if z > 0 else α z         1 if z > 0 else α
``"linear"``       z                           1
``"step"``         1[z > 0]                    0 (perceptron demos only)
``"softmax"``      e^{z_j} / Σ_k e^{z_k}       Jacobian-vector product (row-wise)
=================  ==========================  =================================

The element-wise ones are free of overflow and floating-point warnings for every
finite input; softmax for every row whose spread max − min is itself finite in
the dtype (e.g. any inputs within ±1e38 in float32).
"""

from __future__ import annotations

from typing import Any, ClassVar

from nnlearn import backend
from nnlearn.errors import ConfigError
from nnlearn.nn import kernels
from nnlearn.nn.layers.base import Layer, register_layer

# exp(x) overflows float32 above ~88.7; capping the exponent there keeps sigmoid
# free of overflow warnings for any finite input at an error below 1e-38.
_EXP_CAP = 88.0


class Activation(Layer):
    """Base class of parameter-free element-wise activations."""

    name: ClassVar[str] = ""
    per_example = True

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
        E = xp.negative(Z)  # one new array, then everything in place: −z, capped, e^·, 1 + ·, 1/·
        xp.minimum(E, _EXP_CAP, out=E)
        xp.exp(E, out=E)
        E += 1.0
        A = xp.reciprocal(E, out=E)
        self._A = A
        return A

    def backward(self, dA, need_dx: bool = True):
        r"""``∂C/∂Z = ∂C/∂A ⊙ A ⊙ (1 − A)``  (σ' = σ(1 − σ))."""
        A = self._cached_output()
        dZ = 1.0 - A
        dZ *= A
        dZ *= dA
        return dZ


@register_layer
class Softmax(Activation):
    r"""Softmax over each row: ``a_j = e^{z_j} / Σ_k e^{z_k}``.

    Forward subtracts the row maximum first (same result, no overflow).
    Backward is the Jacobian-vector product, without forming the Jacobian::

        ∂C/∂z_j = a_j (∂C/∂a_j − Σ_k a_k ∂C/∂a_k)

    With the log-likelihood cost the two fuse to ``δ = a − y`` (see
    ``nnlearn.nn.costs.LogLikelihood``); this general form is used otherwise.
    """

    name = "softmax"

    def forward(self, Z, training: bool = False):
        xp = backend.xp
        # Z − max Z, computed as 2·(Z/2 − max/2) so that it cannot overflow even when a row
        # spans ±3e38 (halving is exact); below −800 exp is 0 in float32 and float64 alike.
        M = Z.max(axis=1, keepdims=True)
        E = xp.exp(xp.maximum(Z * 0.5 - M * 0.5, -400.0) * 2.0)
        E /= E.sum(axis=1, keepdims=True)
        self._A = E
        return E

    def backward(self, dA, need_dx: bool = True):
        r"""``δ = A ⊙ (dA − rowsum(dA ⊙ A))``."""
        A = self._cached_output()
        return A * (dA - (dA * A).sum(axis=1, keepdims=True))


@register_layer
class Tanh(Activation):
    r"""Hyperbolic tangent ``tanh(z) = (e^z − e^{−z}) / (e^z + e^{−z}) = 2σ(2z) − 1``.

    Backward: ``δ = dA ⊙ (1 − A²)`` (tanh' = 1 − tanh², from the cached output).
    ``xp.tanh`` saturates to ±1 without overflow for every finite z. Outputs lie in
    (−1, 1) and are zero-centred, which is why LeCun et al. (1998, "Efficient
    BackProp") prefer it to σ in hidden layers (book ch. 3, "Other models of neuron").
    """

    name = "tanh"

    def forward(self, Z, training: bool = False):
        A = backend.xp.tanh(Z)
        self._A = A
        return A

    def backward(self, dA, need_dx: bool = True):
        r"""``∂C/∂Z = ∂C/∂A ⊙ (1 − A²)``."""
        A = self._cached_output()
        return dA * (1.0 - A * A)


@register_layer
class ReLU(Activation):
    r"""Rectified linear unit ``relu(z) = max(0, z)`` (Nair & Hinton 2010; Glorot et al. 2011).

    Backward: ``δ = dA ⊙ 1[z > 0]``. The derivative at exactly z = 0 is taken as 0
    (any value in [0, 1] is a valid subgradient). Since ``A > 0 ⇔ Z > 0`` the mask is
    read from the cached output; besides ``A`` the layer keeps only a zeros array of one
    example's shape, which ``forward`` compares against (see there).
    """

    name = "relu"

    def __init__(self) -> None:
        super().__init__()
        self._zeros = None

    def forward(self, Z, training: bool = False):
        xp = backend.xp
        zeros = self._zeros  # one example's worth, broadcast over the batch
        if zeros is None or zeros.shape != Z.shape[1:] or zeros.dtype != Z.dtype:
            zeros = self._zeros = xp.zeros(Z.shape[1:], dtype=Z.dtype)
        # one compiled pass on large batches, which keeps Z's memory order (a batch-last
        # convolution's output stays batch-last); else max against an array of zeros, not
        # the scalar 0: NumPy's array-array loop of maximum is vectorised, its array-scalar
        # loop is not (about 4× slower on a (10, 20, 24, 24) batch, NumPy 2.4, AVX2)
        A = kernels.relu_forward(Z, zeros)
        self._A = A
        return A

    def backward(self, dA, need_dx: bool = True):
        r"""``∂C/∂Z = ∂C/∂A ⊙ 1[A > 0]`` (one compiled pass on large batches: see
        :func:`nnlearn.nn.kernels.relu_backward`)."""
        return kernels.relu_backward(dA, self._cached_output())


@register_layer
class LeakyReLU(Activation):
    r"""Leaky ReLU ``f(z) = z`` for z > 0, ``α z`` otherwise (Maas et al. 2013).

    Backward: ``δ = dA ⊙ (1 if z > 0 else α)``. A small slope α keeps a gradient
    flowing through units that a plain ReLU would switch off for good.

    Args:
        alpha: slope α for z ≤ 0, a finite number in [0, 1) (default 0.01;
            α = 0 is the plain ReLU).
    """

    name = "leaky_relu"

    def __init__(self, alpha: float = 0.01) -> None:
        super().__init__()
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) \
                or not 0.0 <= alpha < 1.0:
            raise ConfigError(f"LeakyReLU alpha must be a number in [0, 1), got {alpha!r}")
        self.alpha = float(alpha)

    def forward(self, Z, training: bool = False):
        # For α ≥ 0, A > 0 exactly where Z > 0, so backward can use the cached A.
        A = backend.xp.where(Z > 0, Z, Z * self.alpha)
        self._A = A
        return A

    def backward(self, dA, need_dx: bool = True):
        r"""``∂C/∂Z = ∂C/∂A ⊙ (1[A > 0] + α 1[A ≤ 0])``."""
        A = self._cached_output()
        return dA * backend.xp.where(A > 0, 1.0, self.alpha).astype(dA.dtype, copy=False)

    def config(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


@register_layer
class Linear(Activation):
    r"""Identity ``f(z) = z``: the output layer of a regression network.

    Backward: ``δ = dA`` (f' = 1). With the quadratic ("mse") cost the output delta is
    ``(A − Y)/N``, which ``nnlearn.nn.costs.Quadratic`` fuses. ``forward`` returns its
    input itself, not a copy; no nnlearn layer modifies its input in place.
    """

    name = "linear"

    def forward(self, Z, training: bool = False):
        self._A = Z
        return Z

    def backward(self, dA, need_dx: bool = True):
        r"""``∂C/∂Z = ∂C/∂A``."""
        self._cached_output()
        return dA


def step(Z):
    r"""The perceptron's threshold ``1[z > 0]`` (0 at z = 0, as in the book ch. 1), in Z's dtype."""
    return (Z > 0).astype(Z.dtype)


@register_layer
class Step(Activation):
    r"""Heaviside step ``f(z) = 1[z > 0]``: the perceptron of the book's chapter 1.

    **For the perceptron demonstrations, not for gradient training.** Its derivative
    is 0 for every z ≠ 0 (and undefined at 0), so ``backward`` returns zeros: no
    gradient reaches the layers below, which therefore never learn. This is exactly
    why the book replaces perceptrons by sigmoid neurons, whose small weight changes
    cause small output changes. Use :class:`nnlearn.nn.classic.Perceptron`, whose
    learning rule needs no derivative, to train a single step neuron.
    """

    name = "step"

    def forward(self, Z, training: bool = False):
        A = step(Z)
        self._A = A
        return A

    def backward(self, dA, need_dx: bool = True):
        r"""``∂C/∂Z = 0`` almost everywhere (f' = 0 for z ≠ 0)."""
        self._cached_output()
        return backend.xp.zeros_like(dA)


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Sigmoid, Softmax, Tanh, ReLU, LeakyReLU, Linear, Step)
}
"""Activation layers by the name used in the CLI and in ``Network.from_sizes``."""


def get_activation(name: str, **options: Any) -> Activation:
    """A new activation layer from its name (e.g. ``"relu"``), with its options
    (e.g. ``get_activation("leaky_relu", alpha=0.1)``)."""
    try:
        cls = ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown activation {name!r}; expected one of {', '.join(sorted(ACTIVATIONS))}"
        ) from None
    try:
        return cls(**options)
    except TypeError:
        raise ConfigError(f"activation {name!r} takes no option(s) {', '.join(sorted(options))}; "
                          f"it takes {', '.join(cls().config()) or 'none'}") from None
