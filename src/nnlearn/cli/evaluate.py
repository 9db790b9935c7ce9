"""``nnlearn evaluate MODEL``: accuracy and cost of a saved model on a test set."""

from __future__ import annotations

import argparse

from nnlearn import data as datasets
from nnlearn.cli import models
from nnlearn.nn import memory


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="accuracy and cost of a saved model on a test set",
                       description="Evaluate a model saved by `nnlearn train --save` on the MNIST "
                                   "test set (10,000 t10k images) or the test split of an IDX folder.")
    p.add_argument("model", metavar="MODEL|RUN", help=models.HELP)
    p.add_argument("--data", metavar="DIR", default=None,
                   help="folder with the four IDX files (default: the shipped MNIST)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    net = models.load_model(args.model)
    flatten = len(net.input_shape) == 1
    folder = datasets.mnist_path() if args.data is None else args.data
    test = datasets.load_idx_dataset(folder, flatten=flatten, dtype=net.dtype,
                                     train_size=1).test  # only the test set is converted
    memory.require_inference(memory.network_plans(net), net.dtype, examples=len(test[1]),
                             classes=net.output_shape[0])
    result = net.evaluate(*test)
    print(f"{args.model}: accuracy {100 * result['accuracy']:.2f}% "
          f"({result['correct']} / {result['total']}), cost {result['cost']:.4f}")
    return 0
