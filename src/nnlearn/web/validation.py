r"""Checks for the values that arrive over HTTP: each names the field it rejects.

A :class:`FieldError` is a :class:`~nnlearn.errors.ConfigError` that also carries the
name of the offending field; the server answers it with status 400 and
``{"error": message, "field": name}``. No web framework is imported here.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

from nnlearn.checks import is_int, is_number
from nnlearn.errors import ConfigError

_MISSING = object()
NAME_MAX = 255
"""Longest file or folder name, in bytes (Linux, macOS, Windows)."""


class FieldError(ConfigError):
    """A bad value of one request field; ``field`` names it (dotted for nested ones)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def get(body: dict[str, Any], field: str, default: Any = _MISSING) -> Any:
    """``body[field]``, or ``default``; a missing field without default is an error."""
    if field in body:
        return body[field]
    if default is _MISSING:
        raise FieldError(field, "is required")
    return default


def bounded_int(field: str, value: Any, low: int, high: int) -> int:
    """``value`` if it is an integer in ``[low, high]``."""
    if not is_int(value) or not low <= value <= high:
        raise FieldError(field, f"must be an integer from {low} to {high}, got {value!r}")
    return int(value)


def bounded_number(field: str, value: Any, low: float, high: float, *,
                   low_open: bool = False) -> float:
    """``value`` as a float if it is a finite number in ``[low, high]`` (``(low, high]``
    with ``low_open``)."""
    ok = is_number(value) and math.isfinite(value) and value <= high and \
        (value > low if low_open else value >= low)
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise FieldError(field, f"must be a number in {interval}, got {value!r}")
    return float(value)


def one_of(field: str, value: Any, names: Sequence[str]) -> str:
    """``value`` if it is one of ``names``."""
    if not isinstance(value, str) or value not in names:
        raise FieldError(field, f"must be one of {', '.join(names)}; got {value!r}")
    return value


def folder_name(field: str, value: Any, root: Path) -> Path:
    """``root / value`` for a plain folder name directly inside ``root``.

    Rejects anything that could reach outside ``root``: separators, ``.``/``..``,
    absolute paths, NUL bytes, and names whose resolved path (symbolic links
    followed) is not a child of ``root``.
    """
    if not isinstance(value, str) or not value:
        raise FieldError(field, f"must be a run folder name, got {value!r}")
    if len(value.encode("utf-8", "surrogatepass")) > NAME_MAX:
        raise FieldError(field, f"a folder name has at most {NAME_MAX} bytes; got "
                                f"{len(value.encode('utf-8', 'surrogatepass'))}")
    bad = value in (".", "..") or any(c in value for c in "/\\\0") or Path(value).is_absolute()
    if bad:
        raise FieldError(field, f"{value!r} is not a plain run folder name; give the name of a "
                                "folder inside --runs-dir (no '/', '..' or absolute paths)")
    path = resolved_inside(root, root / value)
    if path is None:
        raise FieldError(field, f"{value!r} leads outside --runs-dir")
    return path


def resolved_inside(root: Path, path: Path) -> Path | None:
    """``path`` with symbolic links followed if that is an entry directly inside ``root``
    (links followed too), else ``None`` (also for a loop of links)."""
    try:
        resolved = path.resolve()
        return resolved if resolved.parent == root.resolve() else None
    except (OSError, RuntimeError):  # RuntimeError: a loop of symbolic links
        return None
