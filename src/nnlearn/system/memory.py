"""The memory the arrays of this process may still take, and the check made before allocating.

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

For CuPy (the active :data:`nnlearn.backend.xp`) it is the GPU's free memory (and the cap).
Where none of these can be read nothing is refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy

from nnlearn import backend
from nnlearn.errors import ConfigError, ResourceError

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
    xp = backend.xp
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
