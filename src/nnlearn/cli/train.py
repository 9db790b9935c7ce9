"""``nnlearn train``: train a network on the shipped MNIST (or any IDX folder)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from nnlearn.cli.progress import ProgressBar
from nnlearn.costs import COSTS
from nnlearn.errors import ConfigError
from nnlearn.init import INITIALIZERS
from nnlearn.layers.activations import ACTIVATIONS

DEFAULTS: dict[str, Any] = {
    # A sound default recipe: the book's chapter-3 network with cross-entropy and
    # N(0, 1/n_in) initialisation.
    "hidden": [100], "activation": "sigmoid", "cost": "cross_entropy", "init": "normal_fan_in",
    "eta": 0.5, "epochs": 30, "mini_batch_size": 10, "seed": None, "dtype": "float32",
}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train", help="train a network on MNIST and report its test accuracy",
        description="Train a fully connected network by minibatch SGD on the shipped MNIST "
                    "(book split: 50k train / 10k validation / 10k test). Prints the book's "
                    "'Epoch j: k / 10000' line (validation accuracy) after every epoch and the "
                    "test accuracy at the end.")
    p.add_argument("--hidden", type=_positive_int, nargs="*", metavar="N",
                   default=DEFAULTS["hidden"],
                   help="hidden layer widths, e.g. --hidden 30 or --hidden 100 100 "
                        "(default: %(default)s; input and output widths come from the data)")
    p.add_argument("--activation", choices=sorted(ACTIVATIONS), default=DEFAULTS["activation"],
                   help="hidden activation (default: %(default)s)")
    p.add_argument("--cost", choices=sorted(COSTS), default=DEFAULTS["cost"],
                   help="cost function (default: %(default)s; log_likelihood implies a softmax output)")
    p.add_argument("--init", choices=sorted(INITIALIZERS), default=DEFAULTS["init"],
                   help="weight initialiser (default: %(default)s = N(0, 1/n_in); 'normal' is N(0, 1))")
    p.add_argument("--eta", type=_positive_float, default=DEFAULTS["eta"],
                   help="learning rate η (default: %(default)s)")
    p.add_argument("--epochs", type=_positive_int, default=DEFAULTS["epochs"],
                   help="number of epochs (default: %(default)s)")
    p.add_argument("--mini-batch-size", type=_positive_int, default=DEFAULTS["mini_batch_size"],
                   help="examples per minibatch (default: %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"],
                   help="seed for a bit-reproducible run (default: random)")
    p.add_argument("--dtype", choices=("float32", "float64"), default=DEFAULTS["dtype"],
                   help="floating-point precision (default: %(default)s)")
    p.add_argument("--train-size", type=_positive_int, default=None, metavar="N",
                   help="train on the first N training images only (quick runs)")
    p.add_argument("--data", metavar="DIR", default=None,
                   help="folder with the four IDX files of an MNIST-like dataset "
                        "(default: the MNIST shipped with nnlearn)")
    p.add_argument("--save", metavar="PATH", default=None, help="write the trained model here (.npz)")
    p.add_argument("--metrics", metavar="PATH", default=None,
                   help="write one JSON object per epoch to this file (JSON lines)")
    p.add_argument("--quiet", action="store_true", help="print only the final summary")
    p.set_defaults(func=run)


def load_data(data_dir: str | None, train_size: int | None, flatten: bool = True):
    """(train, validation, test) splits from the shipped MNIST or an IDX folder."""
    from nnlearn import datasets

    if data_dir is None:
        data = datasets.load_mnist(flatten=flatten)
    else:
        data = datasets.load_idx_dataset(data_dir, validation_size=10000, flatten=flatten)
    train = data.train
    if train_size is not None:
        if train_size > len(train[1]):
            raise ConfigError(f"--train-size {train_size} exceeds the {len(train[1])} training images")
        train = (train[0][:train_size], train[1][:train_size])
    return train, data.validation, data.test


def build_network(args: argparse.Namespace, n_in: int, n_out: int):
    from nnlearn.network import Network

    return Network.from_sizes([n_in, *args.hidden, n_out], activation=args.activation,
                              cost=args.cost, weight_init=args.init, seed=args.seed,
                              dtype=args.dtype)


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    train, validation, test = load_data(args.data, args.train_size)
    n_classes = int(max(train[1].max(), test[1].max())) + 1
    net = build_network(args, train[0].shape[1], n_classes)
    hyper = {k: getattr(args, k) for k in ("hidden", "activation", "cost", "init", "eta", "epochs",
                                            "mini_batch_size", "seed", "dtype", "train_size")}
    if not args.quiet:
        print(f"nnlearn train: {len(train[1])} training images, "
              f"{len(validation[1]) if validation else 0} validation, {len(test[1])} test", file=out)
        print(f"network {[train[0].shape[1], *args.hidden, n_classes]} {args.activation}, "
              f"cost {args.cost}, init {args.init}, eta {args.eta}, mini-batch {args.mini_batch_size}, "
              f"{args.epochs} epochs, seed {args.seed}, {args.dtype}", file=out)
        if validation:
            print("per epoch: accuracy on the validation set", file=out)
    bar = ProgressBar(stream=out) if not args.quiet else None
    metrics_file = open(args.metrics, "w", encoding="utf-8") if args.metrics else None

    def on_epoch(record: dict[str, Any]) -> None:
        if bar is not None:
            bar.close()
            bar.reset(f"Epoch {record['epoch'] + 1}")
        if metrics_file is not None:
            metrics_file.write(json.dumps(record) + "\n")
            metrics_file.flush()
        if not args.quiet:
            if "evaluation_correct" in record:
                print(f"Epoch {record['epoch']}: {record['evaluation_correct']} / "
                      f"{record['evaluation_total']}", file=out)
            else:
                print(f"Epoch {record['epoch']} complete", file=out)
            out.flush()

    if bar is not None:
        bar.reset("Epoch 1")
    start = time.perf_counter()
    try:
        net.fit(*train, epochs=args.epochs, mini_batch_size=args.mini_batch_size, eta=args.eta,
                validation_data=validation, callbacks=[on_epoch], on_batch=bar)
    finally:
        if bar is not None:
            bar.close()
        if metrics_file is not None:
            metrics_file.close()
    wall = time.perf_counter() - start
    result = net.evaluate(*test)
    print(f"Test accuracy: {100 * result['accuracy']:.2f}% ({result['correct']} / {result['total']}), "
          f"test cost {result['cost']:.4f}; training took {wall:.1f} s", file=out)
    if args.save:
        net.save(args.save, metadata={"hyper_parameters": hyper,
                                      "test_accuracy": result["accuracy"], "wall_seconds": wall})
        print(f"saved model to {args.save}", file=out)
    return 0
