"""``nnlearn reproduce CHAPTER``: rerun the book's experiments and rewrite docs/results/."""

from __future__ import annotations

import argparse

from nnlearn.cli.flags import positive_int
from nnlearn.errors import ConfigError
from nnlearn.experiments import reproduce as reproductions
from nnlearn.experiments.reproduce import CHAPTERS, DEFAULT_SEEDS
from nnlearn.experiments.sweeps.engines import get_engine


def _epochs(text: str) -> int | dict[str, int]:
    """``15`` (every experiment) or ``b=15,c=20`` (per experiment key)."""
    if "=" not in text:
        return positive_int("--epochs")(text)
    out = {}
    for item in text.split(","):
        key, _, value = item.partition("=")
        if not key.strip():
            raise argparse.ArgumentTypeError(f"expected KEY=EPOCHS pairs, got {item!r}")
        out[key.strip()] = positive_int(f"--epochs {key.strip()}")(value)
    return out


def add_parser(sub) -> None:
    p = sub.add_parser("reproduce", help="rerun the book's accuracy tables",
                       description="Train the book's networks for several seeds and write "
                                   "docs/results/<chapter>.md with the book's figures beside ours.")
    p.add_argument("chapter", choices=(*CHAPTERS, "all"),
                   help="which chapter's table to reproduce ('all': every chapter in turn)")
    p.add_argument("--seeds", type=positive_int("--seeds"), default=None,
                   help="seeds per experiment (default: " +
                        ", ".join(f"{k}: {v}" for k, v in DEFAULT_SEEDS.items()) + ")")
    p.add_argument("--epochs", type=_epochs, default=None, metavar="E|KEY=E,...",
                   help="override every experiment's epoch count, or some: --epochs b=15,c=15 "
                        "(time-limited runs; the table records what was run)")
    p.add_argument("--only", default=None, metavar="KEYS",
                   help="comma-separated experiment keys to run, e.g. --only a,b,c,d for ch6")
    p.add_argument("--out", default="docs/results", help="output folder (default: %(default)s)")
    p.add_argument("--engine", choices=("local", "ray"), default=None,
                   help="train the members of an ensemble (ch6 h, best cnn-best-ensemble) side "
                        "by side: 'local' in processes here, one per core, each still resumable; "
                        "'ray' as Ray Tune trials, which start again if stopped (default: one "
                        "after another in this process, each resumable)")
    p.add_argument("--runs-dir", metavar="DIR", default=None,
                   help="where long runs ((g), ensemble members) keep their resumable run folders "
                        "(DIR/reproduce/<key>-seed<S>-<config hash>); a finished one is reused, a "
                        "stopped one resumed (default: $NNLEARN_RUNS_DIR or ./runs)")
    p.add_argument("--address", metavar="auto|HOST:PORT",
                   help="with --engine ray: join this Ray cluster (default: start one here)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    only = [k.strip() for k in args.only.split(",") if k.strip()] if args.only else None
    if args.address is not None and args.engine is None:
        raise ConfigError("--address joins a Ray cluster: it needs --engine ray")
    extra = {} if args.engine is None else \
        {"engine": get_engine(args.engine, address=args.address)}
    if args.runs_dir is not None:  # else reproduce's default: $NNLEARN_RUNS_DIR or ./runs
        extra["runs_dir"] = args.runs_dir
    for chapter in CHAPTERS if args.chapter == "all" else (args.chapter,):
        reproductions.reproduce(chapter, seeds=args.seeds, epochs=args.epochs, only=only,
                                out_dir=args.out, **extra)
    return 0
