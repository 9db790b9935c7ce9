"""The one array-module handle every layer, cost and optimiser uses.

All array math in nnlearn goes through ``backend.xp`` (NumPy by default), never
through a direct ``import numpy`` in the math, so that a GPU array module with the
same API (CuPy) can be swapped in with :func:`set_backend` and no edits to layers.
How much memory those arrays may still take is :mod:`nnlearn.system.memory`'s question.

Example::

    from nnlearn import backend
    xp = backend.xp          # the active array module
    backend.set_backend("numpy")
"""

from __future__ import annotations

import types

import numpy

xp: types.ModuleType = numpy
"""The active array module (``numpy`` or ``cupy``)."""

_NAMES = ("numpy", "cupy")


def set_backend(name: str) -> types.ModuleType:
    """Select the array module by name (``"numpy"`` or ``"cupy"``) and return it."""
    global xp
    if name not in _NAMES:
        raise ValueError(f"unknown backend {name!r}; expected one of {', '.join(_NAMES)}")
    if name == "numpy":
        xp = numpy
    else:
        try:
            import cupy  # type: ignore[import-not-found]
        except ImportError as exc:  # pragma: no cover - depends on the machine
            raise ImportError(
                "the 'cupy' backend needs CuPy and a CUDA GPU; install cupy-cuda12x "
                "or use set_backend('numpy')"
            ) from exc
        xp = cupy
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
