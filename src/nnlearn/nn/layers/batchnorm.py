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
from nnlearn.nn import kernels
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

    On CPU threads (:mod:`nnlearn.train.parallel`) the parts of a minibatch exchange their
    sums (``part_sums``; once in ``forward``, once in ``backward``), so the statistics are
    still those of the whole minibatch.
    """

    split_statistics = True

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
        self.part_sums = None
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

    def forward(self, X, training: bool = False):
        r"""``y = γ x̂ + β`` with batch statistics (training) or running ones (inference).

        The per-channel passes run as :mod:`nnlearn.nn.kernels` (compiled, or their NumPy
        references) on ``X`` viewed as ``(N, C, L)``, L values per example and channel."""
        xp = backend.xp
        X3 = self._channels(X)
        if training:
            mu, var, M = self._batch_statistics(X3)
            if self.part_sums is None or self.part_sums[1] == 0:  # one update per minibatch
                m = self.momentum
                rm, rv = self.buffers["running_mean"], self.buffers["running_var"]
                self.buffers["running_mean"] = (m * rm + (1 - m) * mu).astype(rm.dtype, copy=False)
                self.buffers["running_var"] = (m * rv + (1 - m) * var * (M / (M - 1))).astype(
                    rv.dtype, copy=False)
        else:
            mu, var = self.buffers["running_mean"], self.buffers["running_var"]
            M = X3.shape[0] * X3.shape[2]
        s = 1.0 / xp.sqrt(var + self.eps)
        X_hat, Y = kernels.batchnorm_normalize(X3, mu.astype(xp.float64, copy=False), s,
                                               self.params["gamma"], self.params["beta"])
        self._cache = (X_hat, s, M, training)
        return Y.reshape(X.shape)

    def _channels(self, X):
        """``X (N, C, ...)`` or ``(N, D)`` as an ``(N, C, L)`` view (L = 1 for ``(N, D)``)."""
        if X.ndim < 2 or X.shape[1] != self.num_features:
            raise DataError(f"BatchNorm({self.num_features}) expects inputs of shape "
                            f"(N, {self.num_features}) or (N, {self.num_features}, ...), "
                            f"got shape {tuple(X.shape)}")
        return X.reshape(X.shape[0], self.num_features, -1)

    def _batch_statistics(self, X3):
        r"""``(μ, σ², M)`` over the minibatch, from the float64 sums ``Σx`` and then
        ``Σ(x − μ)²``. On part i of a split minibatch (``part_sums``), of Mᵢ values with mean
        μᵢ and ``Sᵢ = Σ(x − μᵢ)²``, one exchange pools them (Chan, Golub & LeVeque 1979)::

            M = Σᵢ Mᵢ,   μ = Σᵢ Mᵢ μᵢ / M,   M σ² = Σᵢ Sᵢ + Σᵢ Mᵢ (μᵢ − μ)²

        (exact: the cross terms vanish as each part's deviations from μᵢ sum to 0)."""
        M = X3.shape[0] * X3.shape[2]
        if self.part_sums is None:
            self._check_values(M, X3)
            mu = kernels.channel_sums(X3) / M
            return mu, kernels.channel_centered_squares(X3, mu) / M, M
        sums, part = self.part_sums
        mu_part = kernels.channel_sums(X3) / M
        parts = sums.gather(part, (M, mu_part, kernels.channel_centered_squares(X3, mu_part)))
        M = sum(size for size, _, _ in parts)
        self._check_values(M, X3)
        mu = sum(size * mean for size, mean, _ in parts) / M
        squares = sum(S + size * (mean - mu) ** 2 for size, mean, S in parts)
        return mu, squares / M, M

    def _check_values(self, M: int, X) -> None:
        if M < 2:
            raise DataError(f"BatchNorm in training mode needs more than one value per "
                            f"feature, got input of shape {tuple(X.shape)}; use a "
                            "minibatch of at least 2 examples")

    def backward(self, dY, need_dx: bool = True):
        r"""``∂C/∂γ = Σ g x̂``, ``∂C/∂β = Σ g``, ``∂C/∂x = (γ s/M)(M g − Σ g − x̂ Σ g x̂)``
        (derivation in the class docstring; inference mode: ``γ s g``).

        On part i of a split minibatch, ``g`` is scaled by ``m/mᵢ`` (its cost is the mean
        over its own mᵢ examples), ``∂C/∂γ`` and ``∂C/∂β`` are its own sums (the threads
        add them up weighted by ``mᵢ/m``), and the two sums inside ``∂C/∂x`` are the whole
        minibatch's, ``Σⱼ wⱼ Σ_(part j) g``, brought to this part's scale by ``1/wᵢ``."""
        if self._cache is None:
            raise RuntimeError("BatchNorm.backward called before forward")
        X_hat, s, M, training = self._cache
        g = self._channels(dY)
        sum_g, sum_gx = kernels.channel_grad_sums(g, X_hat)
        self.grads["gamma"][...] = sum_gx
        self.grads["beta"][...] = sum_g
        if not need_dx:
            return None
        scale = self.params["gamma"] * s
        if not training:
            return (scale[None, :, None] * g).reshape(dY.shape)
        if self.part_sums is not None:
            sums, part = self.part_sums
            w = sums.weights[part]
            sum_g, sum_gx = sums.total(part, backend.xp.stack([sum_g, sum_gx]) * w) / w
        return kernels.batchnorm_input_grad(g, X_hat, scale, M, sum_g, sum_gx).reshape(dY.shape)

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
