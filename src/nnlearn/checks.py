r"""One home for the small value checks that layers, costs, optimisers, the trainer and
the config share.

Each check takes the name to report and the value, and returns the value normalised
(an ``int``, a ``float``, a dtype name) or raises :class:`~nnlearn.errors.ConfigError`
whose message names the argument, what it must be, and what it got::

    positive_int("mini_batch_size", 0)
    # ConfigError: mini_batch_size must be a positive integer, got 0
"""

from __future__ import annotations

import math
from typing import Any

import numpy

from nnlearn.errors import ConfigError

FLOAT_DTYPES = ("float32", "float64")
"""The floating-point precisions nnlearn computes in. Integer, bool and complex arrays
cannot hold gradients, and float16 loses the small updates of SGD (η·∂C/∂w is often
below its 1e-3 relative resolution), so these two are the only ones accepted."""


def is_number(value: Any) -> bool:
    """A real number (int or float), and not a bool."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_int(value: Any) -> bool:
    """An int, and not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def integer(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` if it is an int ≥ ``minimum`` (not a bool)."""
    if not is_int(value) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ConfigError(f"{name} must be {what}, got {value!r}")
    return value


def positive_int(name: str, value: Any) -> int:
    """``value`` if it is an int > 0 (not a bool)."""
    return integer(name, value, 1)


def positive_number(name: str, value: Any) -> float:
    """``value`` as a float if it is a finite number > 0."""
    if not is_number(value) or not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def non_negative_number(name: str, value: Any) -> float:
    """``value`` as a float if it is a finite number ≥ 0."""
    if not is_number(value) or not (value >= 0 and math.isfinite(value)):
        raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def unit_interval(name: str, value: Any) -> float:
    """``value`` as a float if it is a number in [0, 1)."""
    if not is_number(value) or not 0 <= value < 1:
        raise ConfigError(f"{name} must be a number in [0, 1), got {value!r}")
    return float(value)


def float_dtype(value: Any, name: str = "dtype") -> str:
    """``"float32"`` or ``"float64"`` from a name, a NumPy type or a dtype (see :data:`FLOAT_DTYPES`)."""
    found = None
    if value is not None and not isinstance(value, bool):  # numpy.dtype(None) is float64
        try:
            found = numpy.dtype(value).name
        except (TypeError, ValueError):
            found = None
    if found not in FLOAT_DTYPES:
        raise ConfigError(f"{name} must be 'float32' or 'float64', got {value!r}")
    return found
