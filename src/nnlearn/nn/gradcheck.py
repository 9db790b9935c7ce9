r"""Gradient checking: analytic gradients against central finite differences.

For a scalar function L of a tensor θ, each component is estimated by::

    ∂L/∂θ_i ≈ (L(θ + ε e_i) − L(θ − ε e_i)) / 2ε        (error O(ε²))

and compared with the analytic gradient g by the relative error
``‖g − ĝ‖ / (‖g‖ + ‖ĝ‖)`` (0 when both vanish). In float64 with ε = 1e-6 a correct
backward gives errors around 1e-9…1e-7; a wrong one, errors of order 1.

What L is depends on the target:
  * a Layer: ``L = Σ G ⊙ layer.forward(X)`` with a random upstream gradient G
    (not all ones, which would hide transposition bugs); checks ∂L/∂X and every param;
  * a Cost: ``L = cost.value(A, Y)``; checks ∂L/∂A;
  * a Network: ``L = cost(network.forward(X), Y)``; checks every param and ∂L/∂X.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy

from nnlearn.nn.costs import Cost
from nnlearn.errors import ConfigError
from nnlearn.nn.layers.base import Layer


@dataclass
class GradCheckResult:
    """Relative error per checked tensor (``"X"``, ``"A"``, ``"layer0.W"``, ...)."""

    errors: dict[str, float] = field(default_factory=dict)

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    def ok(self, tol: float = 1e-6) -> bool:
        return self.max_error < tol

    def __str__(self) -> str:
        rows = ", ".join(f"{k}: {v:.2e}" for k, v in self.errors.items())
        return f"GradCheckResult(max {self.max_error:.2e}; {rows})"


def relative_error(analytic, numeric) -> float:
    """``‖a − n‖ / (‖a‖ + ‖n‖)``, or 0.0 when both are zero."""
    a, n = numpy.asarray(analytic, dtype=numpy.float64), numpy.asarray(numeric, dtype=numpy.float64)
    denom = numpy.linalg.norm(a) + numpy.linalg.norm(n)
    return 0.0 if denom == 0 else float(numpy.linalg.norm(a - n) / denom)


def numerical_gradient(f: Callable[[], float], x, eps: float = 1e-6):
    """Central differences of ``f()`` with respect to the array ``x``, perturbed in place."""
    grad = numpy.zeros(x.shape, dtype=numpy.float64)
    flat = x.reshape(-1)
    if not numpy.shares_memory(flat, x):
        raise ConfigError("numerical_gradient needs a contiguous array")
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        up = f()
        flat[i] = old - eps
        down = f()
        flat[i] = old
        grad.reshape(-1)[i] = (up - down) / (2 * eps)
    return grad


def _require_float64(name: str, array) -> None:
    if array.dtype != numpy.float64:
        raise ConfigError(f"gradcheck needs float64 arrays; {name} is {array.dtype} "
                          "(build the layer/network with dtype='float64')")


def gradcheck(target: Layer | Cost | Any, X, Y=None, *, eps: float = 1e-6, seed: int = 0,
              training: bool = True) -> GradCheckResult:
    """Compare ``target``'s analytic gradients with central differences (see module doc).

    Args:
        target: a Layer, a Cost or a Network (float64).
        X: layer/network input, or the outputs ``A`` for a cost.
        Y: targets, for a cost or a network.
        eps: finite-difference step.
        seed: seed of the random upstream gradient for layers.
        training: the mode passed to ``forward``.
    """
    X = numpy.array(X, dtype=numpy.float64)
    result = GradCheckResult()
    if isinstance(target, Cost):
        if Y is None:
            raise ConfigError("gradcheck of a cost needs targets Y")
        Y = numpy.asarray(Y, dtype=numpy.float64)
        result.errors["A"] = relative_error(target.gradient(X, Y),
                                            numerical_gradient(lambda: target.value(X, Y), X, eps))
        return result
    if isinstance(target, Layer):
        layers, named = [target], [("", target)]
        Y0 = target.forward(X, training)
        G = numpy.random.default_rng(seed).standard_normal(Y0.shape)

        def loss() -> float:
            return float((G * target.forward(X, training)).sum())

        dX = target.backward(G, True)
    else:  # a Network
        if Y is None:
            raise ConfigError("gradcheck of a network needs targets Y")
        Y = numpy.asarray(Y, dtype=numpy.float64)
        layers = target.layers
        named = [(f"layer{i}.", layer) for i, layer in enumerate(layers)]

        def loss() -> float:
            return target.cost.value(target.forward(X, training), Y)

        A = target.forward(X, training)
        target.backward(A, Y)
        dX = None  # the network's first layer skips dX
    for layer in layers:
        for key, value in layer.params.items():
            _require_float64(f"{type(layer).__name__}.{key}", value)
    analytic = {f"{prefix}{k}": numpy.array(layer.grads[k]) for prefix, layer in named
                for k in layer.params}
    if dX is not None:
        result.errors["X"] = relative_error(dX, numerical_gradient(loss, X, eps))
    for prefix, layer in named:
        for key, value in layer.params.items():
            result.errors[f"{prefix}{key}"] = relative_error(
                analytic[f"{prefix}{key}"], numerical_gradient(loss, value, eps))
    return result
