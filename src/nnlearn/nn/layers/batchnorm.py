r"""Batch normalisation (Ioffe & Szegedy 2015).

Normalise each feature over the minibatch, then let the network rescale it::

    μ    = (1/M) Σ x                    per feature, over the M values in the batch
    σ²   = (1/M) Σ (x − μ)²
    x̂    = (x − μ) / √(σ² + ε)
    y    = γ x̂ + β

For ``(N, D)`` inputs a feature is a column and ``M = N``; for ``(N, C, H, W)`` (or
any ``(N, C, ...)``) a feature is a channel, normalised over ``N`` and every spatial
position, so ``M = N·H·W`` (the "spatial batch norm" used after convolutions).

Training mode uses the batch's μ, σ² and updates running estimates; inference
mode uses the running estimates, so a prediction never depends on the rest of
the batch.

Reference: S. Ioffe, C. Szegedy, "Batch Normalization: Accelerating Deep Network
Training by Reducing Internal Covariate Shift", ICML 2015.
"""

from __future__ import annotations

from typing import Any

from nnlearn import backend, defaults
from nnlearn.checks import float_dtype, positive_int
from nnlearn.errors import ConfigError, DataError
from nnlearn.nn.layers.base import Layer, LayerPlan, register_layer


def batchnorm_output_shape(num_features: int, input_shape: tuple[int, ...]) -> tuple[int, ...]:
    """``input_shape`` if its first axis has ``num_features`` features; ``DataError`` otherwise."""
    input_shape = tuple(input_shape)
    if not input_shape or input_shape[0] != num_features:
        raise DataError(f"BatchNorm({num_features}) expects examples of shape ({num_features},) "
                        f"or ({num_features}, H, W), got {input_shape}")
    return input_shape


@register_layer
class BatchNorm(Layer):
    r"""Batch normalisation over ``(N, D)`` features or ``(N, C, ...)`` channels.

    Args:
        num_features: ``D`` for ``(N, D)`` inputs, ``C`` for ``(N, C, H, W)``.
        momentum: weight of the old running value (CS231n/Keras convention)::

              running_mean ← momentum · running_mean + (1 − momentum) · μ
              running_var  ← momentum · running_var  + (1 − momentum) · σ² M/(M − 1)

          (the unbiased variance, as the paper uses for inference).
        eps: ε added to the variance before the square root.
        dtype: ``"float32"`` (default) or ``"float64"``.

    Params ``gamma`` (γ, init 1) and ``beta`` (β, init 0), shape ``(num_features,)``;
    neither is weight-decayed. Buffers ``running_mean`` (init 0), ``running_var``
    (init 1), saved with the model.

    Backward (training mode). With ``g = ∂C/∂y`` and sums over the M values of a
    feature, ``∂C/∂γ = Σ g x̂`` and ``∂C/∂β = Σ g``. For ``∂C/∂x``, let
    ``s = 1/√(σ² + ε)`` and ``ĝ = ∂C/∂x̂ = γ g``. x reaches the cost through x̂, μ
    and σ², and since ``∂μ/∂x_i = 1/M``, ``∂σ²/∂x_i = 2(x_i − μ)/M``::

        ∂C/∂σ² = Σ_j ĝ_j (x_j − μ) · (−½) s³
        ∂C/∂μ  = −s Σ_j ĝ_j  +  ∂C/∂σ² · (−2/M) Σ_j (x_j − μ) = −s Σ_j ĝ_j     (Σ(x_j − μ) = 0)
        ∂C/∂x_i = ĝ_i s + ∂C/∂σ² · 2(x_i − μ)/M + ∂C/∂μ / M

    Substituting ``x_j − μ = x̂_j / s``, every term carries a factor ``s/M``::

        ∂C/∂x_i = (γ s / M) · ( M g_i − Σ_j g_j − x̂_i Σ_j g_j x̂_j )

    i.e. the upstream gradient with its mean and its projection on x̂ removed, then
    scaled. In inference mode μ, σ² are constants and ``∂C/∂x = γ g / √(var_run + ε)``.
    """

    def __init__(self, num_features: int, *, momentum: float = 0.9, eps: float = 1e-5,
                 dtype: str = defaults.DTYPE) -> None:
        super().__init__()
        if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features <= 0:
            raise ConfigError(f"num_features must be a positive integer, got {num_features!r}")
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) \
                or not 0.0 <= momentum < 1.0:
            raise ConfigError(f"momentum must be a number in [0, 1), got {momentum!r}")
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
            raise ConfigError(f"eps must be a positive number, got {eps!r}")
        self.num_features = num_features
        self.momentum = float(momentum)
        self.eps = float(eps)
        self._cache = None
        self.initialize(None, dtype)

    def initialize(self, rng, dtype: str = defaults.DTYPE) -> None:
        """γ = 1, β = 0, running mean 0, running variance 1 (nothing random)."""
        dtype = float_dtype(dtype)
        xp = backend.xp
        F = self.num_features
        self.params = {"gamma": xp.ones(F, dtype=dtype), "beta": xp.zeros(F, dtype=dtype)}
        self.buffers = {"running_mean": xp.zeros(F, dtype=dtype),
                        "running_var": xp.ones(F, dtype=dtype)}
        self._allocate_grads()

    def _layout(self, X) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Axes to reduce over and the broadcast shape of per-feature vectors."""
        if X.ndim < 2 or X.shape[1] != self.num_features:
            raise DataError(f"BatchNorm({self.num_features}) expects inputs of shape "
                            f"(N, {self.num_features}) or (N, {self.num_features}, ...), "
                            f"got shape {tuple(X.shape)}")
        axes = (0,) + tuple(range(2, X.ndim))
        return axes, (1, self.num_features) + (1,) * (X.ndim - 2)

    def forward(self, X, training: bool = False):
        r"""``y = γ x̂ + β`` with batch statistics (training) or running ones (inference)."""
        xp = backend.xp
        axes, shape = self._layout(X)
        M = X.size // self.num_features
        if training:
            if M < 2:
                raise DataError(f"BatchNorm in training mode needs more than one value per "
                                f"feature, got input of shape {tuple(X.shape)}; use a "
                                "minibatch of at least 2 examples")
            mu = X.mean(axis=axes)
            Xc = X - mu.reshape(shape)
            var = (Xc * Xc).mean(axis=axes)
            m = self.momentum
            rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
            self.buffers["running_mean"] = (m * rm + (1 - m) * mu).astype(rm.dtype, copy=False)
            self.buffers["running_var"] = (m * rv + (1 - m) * var * (M / (M - 1))).astype(
                rv.dtype, copy=False)
        else:
            Xc = X - self.buffers["running_mean"].reshape(shape)
            var = self.buffers["running_var"]
        s = 1.0 / xp.sqrt(var + self.eps)
        X_hat = Xc * s.reshape(shape)
        self._cache = (X_hat, s, axes, shape, M, training)
        return self.params["gamma"].reshape(shape) * X_hat + self.params["beta"].reshape(shape)

    def backward(self, dY, need_dx: bool = True):
        r"""``∂C/∂γ = Σ g x̂``, ``∂C/∂β = Σ g``, ``∂C/∂x = (γ s/M)(M g − Σ g − x̂ Σ g x̂)``
        (derivation in the class docstring; inference mode: ``γ s g``)."""
        if self._cache is None:
            raise RuntimeError("BatchNorm.backward called before forward")
        X_hat, s, axes, shape, M, training = self._cache
        sum_g = dY.sum(axis=axes)
        sum_gx = (dY * X_hat).sum(axis=axes)
        self.grads["gamma"][...] = sum_gx
        self.grads["beta"][...] = sum_g
        if not need_dx:
            return None
        scale = (self.params["gamma"] * s).reshape(shape)
        if not training:
            return scale * dY
        return (scale / M) * (M * dY - sum_g.reshape(shape) - X_hat * sum_gx.reshape(shape))

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return batchnorm_output_shape(self.num_features, input_shape)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.num_features,)

    def config(self) -> dict[str, Any]:
        return {"num_features": self.num_features, "momentum": self.momentum, "eps": self.eps}

    @classmethod
    def plan(cls, config: dict[str, Any], input_shape: tuple[int, ...]) -> LayerPlan:
        """γ, β and the running mean and variance: ``num_features`` values each."""
        features = positive_int("num_features", config.get("num_features"))
        shape = tuple(int(d) for d in input_shape)
        return LayerPlan("BatchNorm", shape, batchnorm_output_shape(features, shape),
                         params=2 * features, buffers=2 * features, largest_param=features)
