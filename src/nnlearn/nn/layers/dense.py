r"""Fully connected layer."""

from __future__ import annotations

from typing import Any

from nnlearn import backend, defaults
from nnlearn.checks import float_dtype, positive_int
from nnlearn.errors import DataError
from nnlearn.nn.init import get_initializer
from nnlearn.nn.layers.base import Layer, LayerPlan, register_layer


TRANSPOSED_DX_ROWS, TRANSPOSED_DX_WIDTH = 16, 100
"""A minibatch of at most ``TRANSPOSED_DX_ROWS`` examples through a layer of at least
``TRANSPOSED_DX_WIDTH`` outputs gets ``∂C/∂X = δ Wᵀ`` as ``(W δᵀ)ᵀ``: the same sums, in
the orientation that OpenBLAS runs 1.5–2× faster for so few rows (FC 640→1000 and
1000→1000 of ch. 6 (g), 640→100 of (d) and 784→100, mini-batch 10); with fewer outputs
(784→30, 1000→10) or more rows (mini-batch 64 of 784→100) it is slower.
``python benchmarks/dense_backward.py`` times both, product by product."""


def dense_output_shape(n_in: int, n_out: int, input_shape: tuple[int, ...]) -> tuple[int]:
    """``(n_out,)`` for one example of shape ``(n_in,)``; ``DataError`` otherwise."""
    if tuple(input_shape) != (n_in,):
        raise DataError(f"Dense({n_in}, {n_out}) expects inputs of width {n_in}, got shape "
                        f"{tuple(input_shape)}; flatten images first or fix n_in")
    return (n_out,)


@register_layer
class Dense(Layer):
    r"""Fully connected (affine) layer: ``Y = X @ W + b``.

    Shapes: ``X (N, n_in)``, ``W (n_in, n_out)``, ``b (n_out,)``, ``Y (N, n_out)``.
    This is the book's ``z = w a + b`` for a whole minibatch at once (``W = w.T``).

    Args:
        n_in, n_out: input and output widths.
        weight_init: ``"normal_fan_in"`` (N(0, 1/n_in), book ch. 3, default),
            ``"normal"`` (N(0, 1), ch. 1), or any name in ``nnlearn.nn.init.INITIALIZERS``.
        bias_init: ``"normal"`` (N(0, 1), the book's, default) or ``"zeros"``.
        dtype: ``"float32"`` (default) or ``"float64"``.
        seed: seed of the initial draw when the layer is used alone; a ``Network``
            re-initialises its layers from its own seed.
    """

    decay_keys = ("W",)
    per_example = True

    def __init__(self, n_in: int, n_out: int, *, weight_init: str = defaults.WEIGHT_INIT,
                 bias_init: str = defaults.BIAS_INIT, dtype: str = defaults.DTYPE,
                 seed: int | None = None):
        super().__init__()
        self.n_in = positive_int("n_in", n_in)
        self.n_out = positive_int("n_out", n_out)
        self.weight_init = weight_init
        self.bias_init = bias_init
        get_initializer(weight_init), get_initializer(bias_init)  # validate names now
        self.initialize(backend.default_rng(seed), dtype)
        self._X = None

    def initialize(self, rng, dtype: str = defaults.DTYPE) -> None:
        """Draw fresh ``W`` and ``b`` from ``rng`` (weights first, then biases)."""
        dtype = float_dtype(dtype)
        W = get_initializer(self.weight_init)(rng, (self.n_in, self.n_out), self.n_in, self.n_out)
        b = get_initializer(self.bias_init)(rng, (self.n_out,), self.n_in, self.n_out)
        self.params = {"W": W.astype(dtype), "b": b.astype(dtype)}
        self._allocate_grads()

    def forward(self, X, training: bool = False):
        """``Y = X @ W + b``; caches ``X`` for ``backward``."""
        self._X = X
        Z = X @ self.params["W"]
        Z += self.params["b"]
        return Z

    def backward(self, dY, need_dx: bool = True):
        r"""Backprop through the affine map (book BP2–BP4 in matrix form).

        With ``δ = dY = ∂C/∂Z`` for the minibatch (rows are examples)::

            ∂C/∂W = Xᵀ δ                 (BP4: ∂C/∂w_jk = a_k δ_j, summed over the batch)
            ∂C/∂b = Σ_rows δ             (BP3: ∂C/∂b_j = δ_j, summed over the batch)
            ∂C/∂X = δ Wᵀ                 (BP2 without the σ'(z) factor, which the
                                          activation layer below applies)

        The cost already divides by the batch size N, so these are the minibatch
        means of the per-example gradients that the book's update uses.
        """
        xp = backend.xp
        X = self._X
        if X is None:
            raise RuntimeError("Dense.backward called before forward")
        W = self.params["W"]
        xp.matmul(X.T, dY, out=self.grads["W"])
        dY.sum(axis=0, out=self.grads["b"])
        if not need_dx:
            return None
        if dY.shape[0] <= TRANSPOSED_DX_ROWS and self.n_out >= TRANSPOSED_DX_WIDTH:
            return xp.ascontiguousarray((W @ dY.T).T)  # δ Wᵀ, the faster way round here
        return dY @ W.T

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        return dense_output_shape(self.n_in, self.n_out, input_shape)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (self.n_in,)

    def config(self) -> dict[str, Any]:
        return {"n_in": self.n_in, "n_out": self.n_out,
                "weight_init": self.weight_init, "bias_init": self.bias_init}

    @classmethod
    def plan(cls, config: dict[str, Any], input_shape: tuple[int, ...]) -> LayerPlan:
        """``W (n_in, n_out)`` and ``b (n_out,)``, from ``config`` without allocating them."""
        n_in = positive_int("n_in", config.get("n_in"))
        n_out = positive_int("n_out", config.get("n_out"))
        shape = tuple(int(d) for d in input_shape)
        return LayerPlan("Dense", shape, dense_output_shape(n_in, n_out, shape),
                         params=n_in * n_out + n_out, largest_param=n_in * n_out)
