"""The one array-module handle every layer, cost and optimiser uses, and the memory its
arrays may still take.

All array math in nnlearn goes through ``backend.xp`` (NumPy by default), never
through a direct ``import numpy`` in the math, so that a GPU array module with the
same API (CuPy) can be swapped in with :func:`set_backend` and no edits to layers.

Every size nnlearn can compute before allocating (a network's parameters and
activations, a data set declared by its file headers, an image declared by its PNG
header) is compared with :func:`available_memory` first (:func:`require_memory`), so
that a hostile or mistaken input ends in a :class:`~nnlearn.errors.ResourceError`
naming the figure and the fix instead of a ``MemoryError`` half-way (or the kernel's
OOM killer). For NumPy the memory available is the smallest of:

* ``MemAvailable`` of ``/proc/meminfo`` (what the kernel can hand out without swapping);
* the headroom under ``RLIMIT_AS`` (``ulimit -v``): the limit minus the address space
  already mapped (``VmSize`` of ``/proc/self/status``);
* the headroom of the control group (``memory.max − memory.current``, or the cgroup v1
  files), as in a container;
* ``$NNLEARN_MEMORY_LIMIT`` (bytes, or with a suffix: ``512M``, ``4G``, ``1.5GiB``), a cap
  a user can set on a shared machine.

For CuPy it is the GPU's free memory (and the cap). Where none of these can be read
nothing is refused.

Example::

    from nnlearn import backend
    xp = backend.xp          # the active array module
    backend.set_backend("numpy")
"""

from __future__ import annotations

import os
import re
import types
from pathlib import Path

import numpy

from nnlearn.errors import ConfigError, ResourceError

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

# -- memory: how much the arrays of this process may still take --------------------------
MEMORY_LIMIT_ENV = "NNLEARN_MEMORY_LIMIT"
"""Environment variable capping the memory nnlearn plans to use (e.g. ``4G``)."""

_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_size(text: str) -> int:
    """Bytes from ``"4096"``, ``"512M"``, ``"4G"``, ``"1.5GiB"`` (binary units, case-insensitive)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([kmgt]?)(?:i?b)?\s*", str(text), re.I)
    if not match:
        raise ConfigError(f"{MEMORY_LIMIT_ENV} must be a size such as 4G, 512M or 1073741824, "
                          f"got {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def format_bytes(n: float) -> str:
    """``1536`` → ``"1.5 KiB"``; binary units, three significant figures."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _read_kib(path: str, key: str) -> int | None:
    """The ``key:  N kB`` line of a ``/proc`` file, in bytes."""
    try:
        with open(path, encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _read_int(path: str) -> int | None:
    try:
        return int(Path(path).read_text(encoding="ascii").strip())
    except (OSError, ValueError):  # missing, or "max"
        return None


def _cgroup_headroom() -> int | None:
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        limit, usage = _read_int(limit_file), _read_int(usage_file)
        if limit is not None and usage is not None and limit < 2**60:
            return max(limit - usage, 0)
    return None


def _address_space_headroom() -> int | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    mapped = _read_kib("/proc/self/status", "VmSize")
    return max(soft - (mapped or 0), 0)


def available_memory() -> tuple[int | None, str]:
    """``(bytes, where the figure comes from)``: the least of the limits in the module
    docstring, or ``(None, "unknown")`` where none can be read."""
    if xp is not numpy:  # a GPU: its own memory
        free, _ = xp.cuda.runtime.memGetInfo()
        candidates = [(int(free), "free GPU memory")]
    else:
        candidates = [(_read_kib("/proc/meminfo", "MemAvailable"), "MemAvailable in /proc/meminfo"),
                      (_address_space_headroom(), "headroom under RLIMIT_AS (ulimit -v)"),
                      (_cgroup_headroom(), "headroom of the memory cgroup")]
    cap = os.environ.get(MEMORY_LIMIT_ENV)
    if cap:
        candidates.append((parse_size(cap), f"${MEMORY_LIMIT_ENV}"))
    known = [(n, source) for n, source in candidates if n is not None]
    return min(known) if known else (None, "unknown")


def require_memory(needed: int, what: str, fix: str, parts: dict[str, int] | None = None) -> None:
    """Raise :class:`~nnlearn.errors.ResourceError` if ``needed`` bytes exceed
    :func:`available_memory`; the message gives ``what`` needs them (with the largest
    ``parts``), what is available and ``fix``."""
    available, source = available_memory()
    if available is None or needed <= available:
        return
    shown = sorted(((n, name) for name, n in (parts or {}).items() if n), reverse=True)[:4]
    detail = f" ({', '.join(f'{name} {format_bytes(n)}' for n, name in shown)})" if shown else ""
    raise ResourceError(f"{what} needs about {format_bytes(needed)}{detail}, but only "
                        f"{format_bytes(available)} is available ({source}); {fix}")
