"""Command-line values checked by the same rules as config values
(:mod:`nnlearn.experiments.config.schema`)."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from nnlearn.errors import ConfigError
from nnlearn.experiments.config.schema import Check, Integer


def flag_type(name: str, check: Check) -> Callable[[str], Any]:
    """An argparse ``type``: parse the flag's text, then check it as the config would;
    a bad value becomes argparse's usage error (exit status 2) naming ``name``."""
    def convert(text: str) -> Any:
        try:
            return check(name, check.parse(text))
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return convert


def positive_int(name: str) -> Callable[[str], int]:
    """An argparse ``type`` for a positive integer option called ``name``."""
    return flag_type(name, Integer(1))
