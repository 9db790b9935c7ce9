r"""One home for value checks: declarative rules that every entry point shares.

A *rule* describes what one value may be, the way scikit-learn's
``_parameter_constraints`` does, and is applied once, where the value enters nnlearn
(a config file or flag, a sweep's ``[sweep]`` table, a ``nnlearn serve`` flag, a
library call from Python)::

    positive_int("mini_batch_size", 0)
    # ConfigError: mini_batch_size must be a positive integer, got 0
    Integer(0, 65535)("--port", 70000)
    # ConfigError: --port must be an integer from 0 to 65535, got 70000

Every rule is a :class:`Rule`:

* ``rule(name, value)`` returns the value normalised (an ``int``, a ``float``, a name)
  or raises :class:`~nnlearn.errors.ConfigError` whose message names the value, says
  what is accepted and what it got;
* ``rule.parse(text)`` turns command-line text into a value, unchecked (the check
  follows, so a bad text gets the same message as a bad value in a file);
* ``rule.describe()`` says in words what is accepted (docs and ``--help``);
* ``rule.choices()`` lists the names of a rule that takes one of a set (else ``None``);
* ``rule.narrow(...)`` is the same rule with tighter bounds or fewer names, never wider:
  an entry point that takes less than a config file (the web pages keep their trainings
  small) checks its field with the config key's rule narrowed, so that it can accept no
  value the config refuses, and says so in the same words.

The rules: :class:`Integer` (with bounds), :class:`Number` (finite, with open or closed
bounds), :class:`OneOf`, :class:`Text`, :class:`Maybe` (the inner rule, or unset), and
the common ones as names: :data:`positive_int`, :data:`positive_number`,
:data:`non_negative_number`, :data:`unit_interval`. A table of named values with their
defaults is a ``dict`` of :class:`Param` checked by :func:`check_table`. To add a rule,
subclass :class:`Rule` and override ``__call__`` and ``describe`` (and ``parse`` for a
value a flag can carry).

Web code turns the ``ConfigError`` of a rule into its per-field 400 answer
(:func:`nnlearn.web.validation.check`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

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


class Rule:
    """What one value may be (see the module docstring). The base rule accepts anything."""

    def __call__(self, name: str, value: Any) -> Any:
        return value

    def parse(self, text: str) -> Any:
        return text

    def choices(self) -> list[str] | None:
        """The valid names, for a rule that takes one of a set; else ``None``."""
        return None

    def describe(self) -> str:
        return "any value"

    def narrow(self, **limits: Any) -> Rule:
        """This rule accepting less (see the module docstring); a rule that cannot narrow says so."""
        raise TypeError(f"{type(self).__name__} has nothing to narrow")

    def json_schema(self) -> dict[str, Any]:
        """The accepted values as a JSON Schema (draft-07) fragment (editors check TOML with it)."""
        return {}


class Text(Rule):
    """A string."""

    def __call__(self, name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise ConfigError(f"{name} must be a string, got {value!r}")
        return value

    def describe(self) -> str:
        return "text"

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string"}


@dataclass(frozen=True)
class Integer(Rule):
    """An int (not a bool) in ``[low, high]`` (``high = None``: no upper bound)."""

    low: int = 1
    high: int | None = None

    def __call__(self, name: str, value: Any) -> int:
        if not is_int(value) or value < self.low or (self.high is not None and value > self.high):
            raise ConfigError(f"{name} must be {self.words()}, got {value!r}")
        return value

    def words(self) -> str:
        if self.high is not None:
            return f"an integer from {self.low} to {self.high}"
        return "a positive integer" if self.low == 1 else f"an integer >= {self.low}"

    def parse(self, text: str) -> Any:
        try:
            return int(text)
        except ValueError:
            return text  # the check then says what was expected

    def describe(self) -> str:
        if self.high is not None:
            return f"integer from {self.low} to {self.high}"
        return f"integer ≥ {self.low}"

    def narrow(self, low: int | None = None, high: int | None = None) -> Integer:
        """``Integer`` within ``[low, high]`` as well (``None``: this rule's bound)."""
        low = self.low if low is None else low
        high = self.high if high is None else high
        if low < self.low or (self.high is not None and (high is None or high > self.high)):
            raise ValueError(f"{Integer(low, high).words()} is wider than {self.words()}")
        return Integer(low, high)

    def json_schema(self) -> dict[str, Any]:
        bounds = {} if self.high is None else {"maximum": self.high}
        return {"type": "integer", "minimum": self.low, **bounds}


@dataclass(frozen=True)
class Number(Rule):
    """A finite real number (int or float, not a bool), returned as a float, within the
    bounds that are given: ``low < x`` with ``low_open``, else ``low ≤ x``; likewise ``high``."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __call__(self, name: str, value: Any) -> float:
        ok = is_number(value) and math.isfinite(value)
        if ok and self.low is not None:
            ok = value > self.low if self.low_open else value >= self.low
        if ok and self.high is not None:
            ok = value < self.high if self.high_open else value <= self.high
        if not ok:
            raise ConfigError(f"{name} must be {self.words()}, got {value!r}")
        return float(value)

    def _interval(self) -> str:
        return (f"{'(' if self.low_open else '['}{self.low:g}, "
                f"{self.high:g}{')' if self.high_open else ']'}")

    def _bounds(self, ascii_signs: bool) -> str:
        """``number in [a, b)``, ``number > a``, ``number ≤ b`` or ``number``."""
        at_least, at_most = (">=", "<=") if ascii_signs else ("≥", "≤")
        if self.low is not None and self.high is not None:
            return f"number in {self._interval()}"
        if self.low is not None:
            return f"number {'>' if self.low_open else at_least} {self.low:g}"
        if self.high is not None:
            return f"number {'<' if self.high_open else at_most} {self.high:g}"
        return "number"

    def words(self) -> str:
        """What the error message says is accepted (``a finite number > 0``)."""
        bounds = self._bounds(ascii_signs=True)
        return "a " + bounds if bounds.startswith("number in") else "a finite " + bounds

    def parse(self, text: str) -> Any:
        try:
            return float(text)
        except ValueError:
            return text

    def describe(self) -> str:
        return self._bounds(ascii_signs=False)

    def narrow(self, low: float | None = None, high: float | None = None, *,
               low_open: bool | None = None, high_open: bool | None = None) -> Number:
        """``Number`` within the given bounds as well (``None``: this rule's bound)."""
        if low is None:
            low, low_open = self.low, self.low_open if low_open is None else low_open
        if high is None:
            high, high_open = self.high, self.high_open if high_open is None else high_open
        new = Number(low, high, bool(low_open), bool(high_open))
        wider = ((self.low is not None and (low is None or low < self.low or
                                            (low == self.low and self.low_open and not low_open)))
                 or (self.high is not None and (high is None or high > self.high or
                                                (high == self.high and self.high_open
                                                 and not high_open))))
        if wider:
            raise ValueError(f"{new.words()} is wider than {self.words()}")
        return new

    def json_schema(self) -> dict[str, Any]:
        bounds: dict[str, float] = {}
        if self.low is not None:
            bounds["exclusiveMinimum" if self.low_open else "minimum"] = self.low
        if self.high is not None:
            bounds["exclusiveMaximum" if self.high_open else "maximum"] = self.high
        return {"type": "number", **bounds}


@dataclass(frozen=True)
class OneOf(Rule):
    """One of a set of names: a sequence, or a function returning one (a registry that
    plugins may still extend)."""

    names: Sequence[str] | Callable[[], Sequence[str]]

    def choices(self) -> list[str]:
        names = self.names() if callable(self.names) else self.names
        return sorted(names)

    def __call__(self, name: str, value: Any) -> str:
        valid = self.choices()
        if not isinstance(value, str) or value not in valid:
            raise ConfigError(f"{name}: unknown value {value!r}; expected one of "
                              f"{', '.join(valid)}")
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(f"`{n}`" for n in self.choices())

    def narrow(self, names: Sequence[str]) -> OneOf:
        """``OneOf`` the given ``names``, each of which this rule must accept."""
        extra = sorted(set(names) - set(self.choices()))
        if extra:
            raise ValueError(f"{', '.join(extra)} not among {', '.join(self.choices())}")
        return OneOf(tuple(names))

    def json_schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": self.choices()}


@dataclass(frozen=True)
class Maybe(Rule):
    """``inner``, or nothing: ``None`` (left out of a TOML file), or ``"none"`` for a choice."""

    inner: Rule

    def __call__(self, name: str, value: Any) -> Any:
        if value is None or (self.inner.choices() is not None and value in ("none", "")):
            return None
        return self.inner(name, value)

    def parse(self, text: str) -> Any:
        return self.inner.parse(text)

    def choices(self) -> list[str] | None:
        names = self.inner.choices()
        return None if names is None else names + ["none"]

    def describe(self) -> str:
        return f"{self.inner.describe()}, or unset"

    def narrow(self, **limits: Any) -> Rule:
        """The inner rule narrowed: a value is then required (unset is not accepted)."""
        return self.inner.narrow(**limits)

    def json_schema(self) -> dict[str, Any]:
        names = self.choices()  # TOML has no null: unset is a missing key (or "none")
        return {"type": "string", "enum": names} if names is not None else self.inner.json_schema()


positive_int = Integer(1)
"""An int > 0: ``positive_int("epochs", 0)`` raises."""
positive_number = Number(0, low_open=True)
"""A finite number > 0, as a float."""
non_negative_number = Number(0)
"""A finite number ≥ 0, as a float."""
unit_interval = Number(0, 1, high_open=True)
"""A number in [0, 1), as a float (a probability that is not 1)."""


@dataclass(frozen=True)
class Param:
    """One named value of a table: its rule, its default and what it means."""

    check: Rule
    default: Any
    help: str = ""


def check_table(params: Mapping[str, Param], table: Any, where: str) -> dict[str, Any]:
    """``table`` (a dict from a file) checked against ``params``, with the defaults filled
    in; ``ConfigError`` names ``where`` and the key for an unknown key or a bad value."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table, got {table!r}"[:300])
    unknown = sorted(set(table) - set(params), key=str)
    if unknown:
        raise ConfigError(f"unknown {where} key(s) {unknown}"[:300] +
                          f"; {where} takes {', '.join(params)}")
    out = {key: param.default for key, param in params.items()}
    for key, value in table.items():
        out[key] = params[key].check(f"{where} {key}", value)
    return out


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
