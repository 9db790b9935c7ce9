"""``nnlearn plot RUN``: learning curves, confusion matrix, misclassified digits, first-layer weights."""

from __future__ import annotations

import argparse
from nnlearn.errors import install_hint


def add_parser(sub) -> None:
    p = sub.add_parser("plot", help="draw a run's figures (PNG)",
                       description="Draw the figures of a run folder written by `nnlearn train`: "
                                   "learning_curves.png (training and validation cost and "
                                   "accuracy per epoch), confusion_matrix.png, misclassified.png "
                                   "and first_layer.png (weights or filters). Needs matplotlib "
                                   "(" + install_hint("plot") + "); no display is used.")
    p.add_argument("run", metavar="RUN", help="run folder (runs/<name>)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="write the PNGs here (default: RUN/plots)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nnlearn.experiments.runs import plots

    plots._figure("first_layer")  # without matplotlib: a clear ImportError (exit status 1)
    for path in plots.plot_run(args.run, out_dir=args.out):
        print(path)
    return 0
