"""Command-line values checked by the shared rules of :mod:`nnlearn.checks`.

A flag that is the only way a value enters (``--trials``, ``--port``) is checked here,
when argparse reads it (a bad value is a usage error, exit status 2, naming the flag).
A flag that sets a config key is only parsed here (:meth:`~nnlearn.checks.Rule.parse`):
the config's validation checks it once, with the files and ``--set`` values
(:func:`nnlearn.experiments.config.files.resolve`).
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

from nnlearn.checks import Rule, positive_int as _positive_int
from nnlearn.errors import ConfigError


def flag_type(name: str, rule: Rule) -> Callable[[str], Any]:
    """An argparse ``type``: parse the flag's text, then check it with ``rule``; a bad
    value becomes argparse's usage error (exit status 2) naming ``name``."""
    def convert(text: str) -> Any:
        try:
            return rule(name, rule.parse(text))
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return convert


def positive_int(name: str) -> Callable[[str], int]:
    """An argparse ``type`` for a positive integer option called ``name``."""
    return flag_type(name, _positive_int)
