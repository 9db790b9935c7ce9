"""``nnlearn plot RUN``: learning curves, confusion matrix, misclassified digits, first-layer weights;
``--tensorboard``: the same run as TensorBoard event files."""

from __future__ import annotations

import argparse

from nnlearn.errors import ConfigError, install_hint
from nnlearn.experiments.runs import plots, tensorboard


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
    p.add_argument("--tensorboard", action="store_true",
                   help="instead of PNGs, write RUN/metrics.jsonl (and the saved model's weight "
                        "histograms) as TensorBoard event files in RUN/tensorboard/; needs "
                        "tensorboardX (" + install_hint("tensorboard").replace("%", "%%") + ")")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.tensorboard:
        if args.out is not None:
            raise ConfigError("--out names the folder of PNGs; the event files of --tensorboard "
                              "always go into RUN/tensorboard/")
        written = tensorboard.convert_run(args.run)
        print(f"wrote {written}; view with: tensorboard --logdir {written.parent}")
        return 0
    plots._figure("first_layer")  # without matplotlib: a clear ImportError (exit status 1)
    for path in plots.plot_run(args.run, out_dir=args.out):
        print(path)
    return 0
