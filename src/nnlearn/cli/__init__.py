"""The ``nnlearn`` command line: ``train``, ``evaluate``, ``plot``, ``predict``, ``reproduce``,
``serve``, ``search``, ...

Every sub-command lives in its own module exposing ``add_parser(subparsers)``,
which registers the parser and sets ``func`` to the function that runs it.
Exit codes: 0 success, 1 a runtime failure (bad data file, divergence, not enough
memory: sizes are checked before allocating, and a ``MemoryError`` that still happens
is reported like any other error), 2 a usage error (unknown option or value, invalid
hyper-parameter).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from nnlearn.errors import ConfigError, NNLearnError
from nnlearn.system.version import __version__

COMMAND_MODULES = ("train", "evaluate", "plot", "predict", "reproduce", "example", "export",
                   "serve", "search")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command module."""
    from importlib import import_module

    parser = argparse.ArgumentParser(
        prog="nnlearn",
        description="Neural networks and deep learning, with the backprop equations in plain sight.")
    parser.add_argument("--version", action="version", version=f"nnlearn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        import_module(f"nnlearn.cli.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"nnlearn {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except (NNLearnError, OSError, ImportError) as exc:  # ImportError: a missing optional extra
        print(f"nnlearn {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except MemoryError as exc:  # what the estimates before allocating (nnlearn.system.memory) missed
        print(f"nnlearn {args.command}: error: out of memory ({exc or 'MemoryError'}); use a "
              "smaller network, mini-batch or data set, or give the process more memory",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"nnlearn {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
