r"""Weight and bias initialisers.

Each initialiser is a function ``(rng, shape, fan_in, fan_out) -> array`` drawing
float64 values from ``rng`` (the caller casts to the model's dtype, so the same
seed gives the same draw in float32 and float64).

========================  ==========================  =============================
name                      distribution                 where from
========================  ==========================  =============================
``"normal"``              N(0, 1)                      book ch. 1 (``large_weight_initializer``)
``"normal_fan_in"``       N(0, 1/n_in)                 book ch. 3 (``default_weight_initializer``)
``"zeros"``               0                            usual choice for biases
========================  ==========================  =============================
"""

from __future__ import annotations

from typing import Callable

from nnlearn import backend
from nnlearn.errors import ConfigError

Initializer = Callable[..., object]


def normal(rng, shape, fan_in: int, fan_out: int):
    """N(0, 1): the book's chapter-1 initialisation, for weights and biases."""
    return rng.standard_normal(shape)


def normal_fan_in(rng, shape, fan_in: int, fan_out: int):
    """N(0, 1/n_in): keeps z = Σ w·x of order 1, so sigmoids don't saturate (ch. 3)."""
    return rng.standard_normal(shape) / fan_in**0.5


def zeros(rng, shape, fan_in: int, fan_out: int):
    """All zeros (biases; never weights, which would then all stay equal)."""
    return backend.xp.zeros(shape)


INITIALIZERS: dict[str, Initializer] = {
    "normal": normal,
    "normal_fan_in": normal_fan_in,
    "zeros": zeros,
}


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
