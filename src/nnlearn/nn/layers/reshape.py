r"""Reshaping layers: the bridge from convolutional feature maps to dense layers."""

from __future__ import annotations

import math
from typing import Sequence

from nnlearn.errors import DataError
from nnlearn.nn.layers.base import Layer, register_layer


@register_layer
class Flatten(Layer):
    r"""``(N, C, H, W) → (N, C·H·W)`` (any per-example shape to a vector), row-major.

    Forward ``Y[n, (c·H + h)·W + w] = X[n, c, h, w]``; backward is the inverse
    reshape ``∂C/∂X = δ.reshape(N, C, H, W)``: flattening moves no value, so the
    gradient only changes shape. Both are views when the arrays are contiguous.
    """

    per_example = True

    def __init__(self) -> None:
        super().__init__()
        self._shape: tuple[int, ...] | None = None

    def forward(self, X, training: bool = False):
        if getattr(X, "ndim", 0) < 2:
            raise DataError(f"Flatten expects a batch (N, ...) of at least 2 dimensions, "
                            f"got shape {getattr(X, 'shape', None)}")
        self._shape = X.shape
        return X.reshape(X.shape[0], -1)

    def backward(self, dY, need_dx: bool = True):
        if self._shape is None:
            raise RuntimeError("Flatten.backward called before forward")
        return dY.reshape(self._shape) if need_dx else None

    def output_shape(self, input_shape: Sequence[int]) -> tuple[int]:
        shape = tuple(int(d) for d in input_shape)
        if not shape:
            raise DataError("Flatten needs examples with at least one dimension, got shape ()")
        return (math.prod(shape),)
