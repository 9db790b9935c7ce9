"""``nnlearn example NAME [ARGS...]``: run one of the seed examples (``nnlearn.examples``)."""

from __future__ import annotations

import argparse
from importlib import import_module

from nnlearn.examples import EXAMPLES


def add_parser(sub) -> None:
    listing = "\n".join(f"  {name:<13} {text}" for name, text in EXAMPLES.items())
    p = sub.add_parser("example", help="run one of the seed examples (xor, iris, vanishing, ...)",
                       description="Run a seed example; the arguments after NAME go to the example "
                                   "(`nnlearn example NAME --help` lists them). Same as "
                                   "`python -m nnlearn.examples.NAME`.\n\nexamples:\n" + listing,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", metavar="NAME", nargs="?", choices=sorted(EXAMPLES),
                   help="which example: " + ", ".join(EXAMPLES))
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the example")
    p.add_argument("--list", action="store_true", help="list the examples and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.list or args.name is None:
        for name, text in EXAMPLES.items():
            print(f"{name:<13} {text}")
        return 0
    return int(import_module(f"nnlearn.examples.{args.name}").main(args.args) or 0)
