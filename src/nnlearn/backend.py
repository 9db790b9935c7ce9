"""The one array-module handle every layer, cost and optimiser uses.

All array math in nnlearn goes through ``backend.xp`` (NumPy), never through a direct
``import numpy`` in the math, so that a GPU array module with the same API (CuPy) could
one day be swapped in with no edits to layers. That GPU path is **untested**: no test,
extra or CI job runs nnlearn on CuPy, and checkpoints store NumPy's generator state, so
:func:`set_backend` refuses every backend but NumPy until a GPU run verifies one.
How much memory the arrays may still take is :mod:`nnlearn.system.memory`'s question.

Example::

    from nnlearn import backend
    xp = backend.xp          # the active array module
    backend.set_backend("numpy")
"""

from __future__ import annotations

import types

import numpy

from nnlearn.errors import ConfigError

xp: types.ModuleType = numpy
"""The active array module (``numpy``)."""

BACKENDS = ("numpy",)
"""The array modules nnlearn is tested on and :func:`set_backend` accepts."""

UNVERIFIED = {
    "cupy": "nnlearn has never been run on CuPy: no test, extra or CI job exercises the GPU "
            "path, and checkpoints and dropout masks use NumPy's random generators",
}
"""Backends the code was written with in mind but that no run has verified, and why."""


def set_backend(name: str) -> types.ModuleType:
    """Select the array module by name and return it; only ``"numpy"`` is accepted (a
    :class:`~nnlearn.errors.ConfigError` says why any other is refused)."""
    global xp
    if name in UNVERIFIED:
        raise ConfigError(f"the {name!r} backend is not supported: {UNVERIFIED[name]}; use "
                          "set_backend('numpy'). It becomes supported once a GPU run in the "
                          "test suite verifies it")
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; expected one of {', '.join(BACKENDS)}")
    xp = numpy
    return xp


def to_numpy(array) -> numpy.ndarray:
    """Return ``array`` as a NumPy array (copies from the GPU when needed)."""
    if isinstance(array, numpy.ndarray):
        return array
    get = getattr(array, "get", None)
    return numpy.asarray(get() if get is not None else array)


def default_rng(seed: int | None = None):
    """A random generator of the active backend, seeded reproducibly."""
    return xp.random.default_rng(seed)
