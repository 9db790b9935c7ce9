r"""Pooling over NCHW feature maps: max, average and L2 (book ch. 6).

Each output pixel summarises one ``ph×pw`` window of its own channel::

    window(n,c,y,x) = { X[n, c, y·sh + i, x·sw + j] : 0 ≤ i < ph, 0 ≤ j < pw }
    OH = ⌊(H − ph) / sh⌋ + 1,  OW = ⌊(W − pw) / sw⌋ + 1

so windows that do not fit at the bottom/right edge are dropped (floor), and
``stride < pool_size`` gives overlapping windows. The default stride is the pool
size (the book's non-overlapping 2×2 max-pooling).

Every pass loops only over the ``ph·pw`` offsets ``(i, j)`` inside a window; each
step is one vectorised operation on a strided view ``X[:, :, i::sh, j::sw]`` that
covers the whole minibatch, so no Python loop runs over examples, channels or pixels.
(Max-pooling runs as a compiled kernel when Numba is installed, else as the same
kind of array code: see :mod:`nnlearn.nn.kernels`.) The backward passes add
into ``dX`` offset by offset, which handles overlapping windows (an input pixel in
several windows gets the sum of their gradients).
"""

from __future__ import annotations

from typing import Any, Sequence

from nnlearn import backend
from nnlearn.errors import DataError
from nnlearn.nn import kernels
from nnlearn.nn.layers.base import Layer, LayerPlan, register_layer, window_work
from nnlearn.nn.layers.windows import (add_to_windows, check_batch, grad_buffer, image_shape, pair,
                                       window_pair, window_slices)


def pool_output_shape(name: str, input_shape: Sequence[int], pool_size: tuple[int, int],
                      stride: tuple[int, int]) -> tuple[int, int, int]:
    """``(C, OH, OW)`` of pooling one example ``(C, H, W)``; ``DataError`` if a window can't fit."""
    C, H, W = image_shape(name, input_shape)
    (ph, pw), (sh, sw) = pool_size, stride
    if ph > H or pw > W:
        raise DataError(f"{name} window {ph}×{pw} is larger than its input {H}×{W}; use a "
                        "smaller pool_size or fewer layers that shrink the maps before")
    return (C, (H - ph) // sh + 1, (W - pw) // sw + 1)


class Pool2D(Layer):
    """Base of the pooling layers: window geometry, shapes and config (no parameters).

    Args:
        pool_size: ``p`` or ``(ph, pw)``.
        stride: ``s`` or ``(sh, sw)``; default: ``pool_size`` (non-overlapping windows).
    """

    per_example = True

    def __init__(self, pool_size: int | Sequence[int] = 2,
                 stride: int | Sequence[int] | None = None):
        super().__init__()
        self.pool_size = window_pair("pool_size", pool_size)
        self.stride = self.pool_size if stride is None else pair("stride", stride)
        self._X = None
        self._out_hw: tuple[int, int] = (0, 0)
        self._work: dict[str, Any] = {}

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int, int, int]:
        """``(C, OH, OW)`` for one example ``(C, H, W)``; ``DataError`` if a window can't fit."""
        return pool_output_shape(type(self).__name__, input_shape, self.pool_size, self.stride)

    def config(self) -> dict[str, Any]:
        return {"pool_size": list(self.pool_size), "stride": list(self.stride)}

    def _windows(self, X):
        """Check ``X`` and yield ``(k, index)`` per window offset, ``X[index]`` (N, C, OH, OW)."""
        _, OH, OW = check_batch(self, X)
        self._out_hw = (OH, OW)
        return self._offsets()

    def _offsets(self):
        return list(enumerate(window_slices(self.pool_size, self.stride, self._out_hw)))

    def _grad_buffer(self, X, dtype):
        """A new ``∂C/∂X`` array (see :func:`~nnlearn.nn.layers.windows.grad_buffer`)."""
        return grad_buffer(X.shape, self.pool_size, self.stride, self._out_hw, dtype)

    def _accumulate(self, dX, index, value) -> None:
        """``dX[index] += value``; a plain store when windows cannot overlap."""
        add_to_windows(dX, index, value, self.pool_size, self.stride)

    def _cached_input(self):
        if self._X is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self._X

    def __repr__(self) -> str:
        return f"{type(self).__name__}(pool_size={self.pool_size}, stride={self.stride})"

    @classmethod
    def plan(cls, config: dict[str, Any], input_shape: Sequence[int]) -> LayerPlan:
        """No parameters; the window stack ``ph·pw·C × OH·OW`` per example is the work array."""
        layer = cls(**config)
        out = layer.output_shape(tuple(int(d) for d in input_shape))
        return layer.measure(input_shape, work=window_work(
            layer.pool_size[0] * layer.pool_size[1] * out[0], out))


@register_layer
class MaxPool2D(Pool2D):
    r"""Max-pooling: ``Y[n,c,y,x] = max window(n,c,y,x)``.

    Backward: the whole gradient of an output goes to the input pixel that attained
    the maximum (the max is locally the identity on that pixel, constant in the others)::

        ∂C/∂X[n, c, y·sh + i*, x·sw + j*] += δ[n,c,y,x],   (i*, j*) = argmax of the window

    Ties: when several pixels of a window share the maximum, the gradient goes to the
    *first* of them in row-major order (smallest i, then smallest j), like
    ``numpy.argmax``; the others get 0. (Any convex combination is a valid
    subgradient; this one is deterministic.)
    """

    def forward(self, X, training: bool = False):
        """``Y[n,c,y,x] = max window(n,c,y,x)``, remembering which pixel gave each maximum."""
        self._windows(X)
        Y, self._state = kernels.max_pool_forward(X, self.pool_size, self.stride, self._out_hw,
                                                  self._work, reuse=training)
        self._X = X
        return Y

    def backward(self, dY, need_dx: bool = True):
        r"""``∂C/∂X[n, c, y·sh + i*, x·sw + j*] += δ[n,c,y,x]``, ``(i*, j*)`` the window's first
        maximum; every other pixel gets 0 (see :mod:`nnlearn.nn.kernels`)."""
        X = self._cached_input()
        if not need_dx:
            return None
        return kernels.max_pool_backward(dY, self._state, X.shape, self.pool_size, self.stride,
                                         self._work)


@register_layer
class AvgPool2D(Pool2D):
    r"""Average pooling: ``Y = (1 / ph·pw) Σ window``.

    Backward: every pixel of a window receives ``δ / (ph·pw)``::

        ∂C/∂X[n, c, y·sh + i, x·sw + j] += δ[n,c,y,x] / (ph·pw)
    """

    def forward(self, X, training: bool = False):
        windows = self._windows(X)
        Y = X[windows[0][1]].copy()
        for _, index in windows[1:]:
            Y += X[index]
        Y *= 1.0 / len(windows)
        self._X = X
        return Y

    def backward(self, dY, need_dx: bool = True):
        X = self._cached_input()
        if not need_dx:
            return None
        dX = self._grad_buffer(X, dY.dtype)
        share = dY * (1.0 / (self.pool_size[0] * self.pool_size[1]))
        for _, index in self._offsets():
            self._accumulate(dX, index, share)
        return dX


@register_layer
class L2Pool2D(Pool2D):
    r"""L2 pooling, the book's "square root of the sum of the squares" of each window.

    Forward and backward (``∂√(Σx²)/∂x = x / √(Σx²)``)::

        Y[n,c,y,x] = √( Σ_{i,j} X[n, c, y·sh + i, x·sw + j]² )
        ∂C/∂X[n, c, y·sh + i, x·sw + j] += δ[n,c,y,x] · X[n, c, y·sh + i, x·sw + j] / Y[n,c,y,x]

    Where a window is all zeros (``Y = 0``) the norm is not differentiable; the
    gradient used there is 0, a valid subgradient.
    """

    def forward(self, X, training: bool = False):
        xp = backend.xp
        windows = self._windows(X)
        Y = xp.square(X[windows[0][1]])
        for _, index in windows[1:]:
            S = X[index]
            Y += S * S
        xp.sqrt(Y, out=Y)
        self._X, self._Y = X, Y
        return Y

    def backward(self, dY, need_dx: bool = True):
        xp = backend.xp
        X = self._cached_input()
        if not need_dx:
            return None
        Y = self._Y
        # δ / Y, with 0 where the window is all zeros
        ratio = xp.divide(dY, Y, out=xp.zeros(Y.shape, dtype=dY.dtype), where=Y > 0)
        dX = self._grad_buffer(X, dY.dtype)
        for _, index in self._offsets():
            self._accumulate(dX, index, ratio * X[index])
        return dX
