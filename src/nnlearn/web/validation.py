r"""The values that arrive over HTTP, checked by the rules of :mod:`nnlearn.checks`.

A web field is checked like a config key: by a :class:`~nnlearn.checks.Rule` (for a field
that is also a config key, that key's rule narrowed to what the page offers, see
:meth:`~nnlearn.checks.Rule.narrow`). :func:`check` turns the rule's
:class:`~nnlearn.errors.ConfigError` into a :class:`FieldError`, which also carries the
name of the offending field; the server answers it with status 400 and
``{"error": message, "field": name}``. No web framework is imported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from nnlearn.checks import Rule, is_number
from nnlearn.errors import ConfigError
from nnlearn.experiments.config.schema import SCHEMA

_MISSING = object()
NAME_MAX = 255
"""Longest file or folder name, in bytes (Linux, macOS, Windows)."""


class FieldError(ConfigError):
    """A bad value of one request field; ``field`` names it (dotted for nested ones)."""

    def __init__(self, field: str, message: str, *, named: bool = False):
        super().__init__(message if named else f"{field}: {message}")
        self.field = field


def get(body: dict[str, Any], field: str, default: Any = _MISSING) -> Any:
    """``body[field]``, or ``default``; a missing field without default is an error."""
    if field in body:
        return body[field]
    if default is _MISSING:
        raise FieldError(field, "is required")
    return default


def check(field: str, rule: Rule, value: Any) -> Any:
    """``rule(field, value)``: the value normalised, or a :class:`FieldError` naming ``field``."""
    try:
        return rule(field, value)
    except FieldError:
        raise
    except ConfigError as exc:
        raise FieldError(field, str(exc), named=True) from None


def read(body: dict[str, Any], field: str, rule: Rule, default: Any = _MISSING) -> Any:
    """``body[field]`` (or ``default``) checked by ``rule``; see :func:`get` and :func:`check`."""
    return check(field, rule, get(body, field, default))


def config_rule(key: str, *args: Any, **limits: Any) -> Rule:
    """The rule of config key ``key`` (``"training.eta"``) narrowed to what a page offers:
    ``config_rule("training.eta", high=2.0)`` is (0, 2]. Narrowing never widens, so a page
    accepts no value that ``nnlearn train`` would refuse."""
    return SCHEMA[key].check.narrow(*args, **limits)


@dataclass(frozen=True)
class Among(Rule):
    """One of a few numbers the page offers (not a bool): ``Among((4, 8, 16))``."""

    values: Sequence[float]

    def __call__(self, name: str, value: Any) -> Any:
        if not is_number(value) or value not in self.values:
            raise ConfigError(f"{name} must be one of {', '.join(map(str, self.values))}, "
                              f"got {value!r}")
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(map(str, self.values))


@dataclass(frozen=True)
class ListOf(Rule):
    """A list of ``low`` to ``high`` ``what``, item ``i`` checked by ``item`` as field
    ``name[i]`` (the 400 names that item); returned as a tuple."""

    item: Rule
    low: int
    high: int
    what: str = "values"

    def __call__(self, name: str, value: Any) -> tuple[Any, ...]:
        if not isinstance(value, (list, tuple)) or not self.low <= len(value) <= self.high:
            raise ConfigError(f"{name} must be a {self.describe()}; got {value!r}")
        return tuple(check(f"{name}[{i}]", self.item, v) for i, v in enumerate(value))

    def describe(self) -> str:
        count = self.low if self.low == self.high else f"{self.low} to {self.high}"
        return f"list of {count} {self.what}"


@dataclass(frozen=True)
class RunFolder(Rule):
    """A plain folder name directly inside ``root``; the value is its path (links followed).

    Rejects anything that could reach outside ``root``: separators, ``.``/``..``,
    absolute paths, NUL bytes, and names whose resolved path (symbolic links
    followed) is not a child of ``root``.
    """

    root: Path

    def __call__(self, name: str, value: Any) -> Path:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{name} must be a run folder name, got {value!r}")
        size = len(value.encode("utf-8", "surrogatepass"))
        if size > NAME_MAX:
            raise ConfigError(f"{name}: a folder name has at most {NAME_MAX} bytes; got {size}")
        if value in (".", "..") or any(c in value for c in "/\\\0") or Path(value).is_absolute():
            raise ConfigError(f"{name}: {value!r} is not a plain run folder name; give the name "
                              "of a folder inside --runs-dir (no '/', '..' or absolute paths)")
        path = resolved_inside(self.root, self.root / value)
        if path is None:
            raise ConfigError(f"{name}: {value!r} leads outside --runs-dir")
        return path

    def describe(self) -> str:
        return f"the name of a folder in {self.root}"


def resolved_inside(root: Path, path: Path) -> Path | None:
    """``path`` with symbolic links followed if that is an entry directly inside ``root``
    (links followed too), else ``None`` (also for a loop of links)."""
    try:
        resolved = path.resolve()
        return resolved if resolved.parent == root.resolve() else None
    except (OSError, RuntimeError):  # RuntimeError: a loop of symbolic links
        return None
