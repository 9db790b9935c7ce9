"""``nnlearn reproduce CHAPTER``: rerun the book's experiments and rewrite docs/results/."""

from __future__ import annotations

import argparse

from nnlearn.reproduce import CHAPTERS


def add_parser(sub) -> None:
    p = sub.add_parser("reproduce", help="rerun the book's accuracy tables",
                       description="Train the book's networks for several seeds and write "
                                   "docs/results/<chapter>.md with the book's figures beside ours.")
    p.add_argument("chapter", choices=(*CHAPTERS, "all"),
                   help="which chapter's table to reproduce ('all': every chapter in turn)")
    p.add_argument("--seeds", type=int, default=3, help="seeds per experiment (default: %(default)s)")
    p.add_argument("--epochs", type=int, default=None,
                   help="override the book's epoch count (quick checks only)")
    p.add_argument("--out", default="docs/results", help="output folder (default: %(default)s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nnlearn.reproduce import reproduce

    if args.seeds < 1:
        from nnlearn.errors import ConfigError
        raise ConfigError(f"--seeds must be at least 1, got {args.seeds}")
    for chapter in CHAPTERS if args.chapter == "all" else (args.chapter,):
        reproduce(chapter, seeds=args.seeds, epochs=args.epochs, out_dir=args.out)
    return 0
