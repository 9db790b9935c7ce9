r"""Weight and bias initialisers.

Each initialiser is a function ``(rng, shape, fan_in, fan_out) -> array`` drawing
float64 values from ``rng`` (the caller casts to the model's dtype, so the same
seed gives the same draw in float32 and float64). ``shape`` may be any shape; the
fans are passed explicitly because their meaning depends on the layer's layout:

====================================  =====================  =====================
layer, weight shape                   fan_in                 fan_out
====================================  =====================  =====================
Dense, ``W (n_in, n_out)``            n_in                   n_out
Conv2D, ``W (C_out, C_in, kh, kw)``   C_in · kh · kw         C_out · kh · kw
====================================  =====================  =====================

(:func:`fans` computes these.) Left out, they are taken from ``shape`` read as
``(n_in, n_out)`` for 2-D shapes and ``(C_out, C_in, kh, kw, ...)`` otherwise.

========================  ==========================  =====================================
name                      distribution                 where from
========================  ==========================  =====================================
``"normal"``              N(0, 1)                      book ch. 1 (``large_weight_initializer``);
                                                       the book's biases
``"normal_fan_in"``       N(0, 1/n_in)                 book ch. 3 (``default_weight_initializer``)
``"xavier"``              N(0, 2/(n_in + n_out))       Glorot & Bengio (2010), for tanh/sigmoid
``"he"``                  N(0, 2/n_in)                 He et al. (2015), for ReLU
``"zeros"``               0                            usual choice for biases
========================  ==========================  =====================================

Biases are chosen by name too (``Dense(..., bias_init="zeros")`` or ``"normal"``, the
book's, the default).
"""

from __future__ import annotations

import math
import numbers
from typing import Callable, Sequence

from nnlearn import backend
from nnlearn.errors import ConfigError

Initializer = Callable[..., object]


def fans(shape: Sequence[int]) -> tuple[int, int]:
    r"""``(fan_in, fan_out)`` of a weight of this shape.

    2-D ``(n_in, n_out)`` (Dense): ``(n_in, n_out)``. 1-D ``(n,)`` (a bias):
    ``(n, n)``. k-D ``(C_out, C_in, *kernel)`` (convolution): with r = Π kernel,
    ``(C_in · r, C_out · r)``: each output sees C_in·r inputs, each input reaches
    C_out·r outputs.
    """
    shape = tuple(int(d) for d in shape)
    if not shape or any(d <= 0 for d in shape):
        raise ConfigError(f"a weight shape needs positive dimensions, got {shape}")
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def _fans(shape, fan_in, fan_out) -> tuple[int, int]:
    if fan_in is None or fan_out is None:
        default_in, default_out = fans(shape)
        fan_in = default_in if fan_in is None else fan_in
        fan_out = default_out if fan_out is None else fan_out
    for name, value in (("fan_in", fan_in), ("fan_out", fan_out)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(fan_in), int(fan_out)


def normal(rng, shape, fan_in: int | None = None, fan_out: int | None = None):
    """N(0, 1): the book's chapter-1 initialisation, for weights and biases."""
    return rng.standard_normal(shape)


def normal_fan_in(rng, shape, fan_in: int | None = None, fan_out: int | None = None):
    """N(0, 1/n_in): keeps z = Σ w·x of order 1, so sigmoids don't saturate (ch. 3)."""
    fan_in, _ = _fans(shape, fan_in, fan_out)
    return rng.standard_normal(shape) / fan_in**0.5


def xavier(rng, shape, fan_in: int | None = None, fan_out: int | None = None):
    r"""Glorot/Xavier normal: N(0, 2/(n_in + n_out)).

    The compromise between keeping the forward activations' variance
    (Var w = 1/n_in) and the backward gradients' variance (Var w = 1/n_out) constant
    through layers of linear-regime tanh/sigmoid units. Glorot & Bengio, "Understanding
    the difficulty of training deep feedforward neural networks", AISTATS 2010.
    """
    fan_in, fan_out = _fans(shape, fan_in, fan_out)
    return rng.standard_normal(shape) * (2.0 / (fan_in + fan_out)) ** 0.5


def he(rng, shape, fan_in: int | None = None, fan_out: int | None = None):
    r"""He/Kaiming normal: N(0, 2/n_in).

    A ReLU zeroes half of its inputs on average, halving the variance of the next
    layer's z; the factor 2 restores it, so deep ReLU stacks neither explode nor
    vanish at the start. He et al., "Delving Deep into Rectifiers", ICCV 2015.
    """
    fan_in, _ = _fans(shape, fan_in, fan_out)
    return rng.standard_normal(shape) * (2.0 / fan_in) ** 0.5


def zeros(rng, shape, fan_in: int | None = None, fan_out: int | None = None):
    """All zeros (biases; never weights, which would then all stay equal)."""
    return backend.xp.zeros(shape)


INITIALIZERS: dict[str, Initializer] = {
    "normal": normal,
    "normal_fan_in": normal_fan_in,
    "xavier": xavier,
    "glorot": xavier,
    "he": he,
    "zeros": zeros,
}
"""Initialisers by name (``"glorot"`` is an alias of ``"xavier"``)."""


def get_initializer(name: str | Initializer) -> Initializer:
    """Look an initialiser up by name (or pass a callable through)."""
    if callable(name):
        return name
    try:
        return INITIALIZERS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown initialiser {name!r}; expected one of {', '.join(sorted(INITIALIZERS))}"
        ) from None
