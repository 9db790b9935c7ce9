r"""The book's ``network.py``, transcribed: a reference to check nnlearn's chapter-1 runs against.

``network.py`` trains one example at a time with column vectors: for each minibatch
it sums ``backprop(x, y)`` over the examples and steps ``w → w − (η/m) Σ ∇w``. Here it
is in Python 3, float64, with its own random streams (``np.random.seed`` for the
N(0, 1) weights, biases first; ``random.seed`` for the per-epoch shuffle), on the
shipped MNIST (pixels / 255; the book's ``mnist.pkl.gz`` has pixels / 256).

``tests/experiments/test_book_network_py.py`` checks that nnlearn's epoch equals this one step
for step. Running it over seeds measures how often the *book's own* algorithm ends
stuck with whole digit classes unlearned::

    python -m nnlearn.experiments.reproduce.network_py --seeds 10 --out docs/results/ch1-network-py.md

It is slow by design (a Python loop over examples, as in the book: about 3 s per epoch
of [784, 30, 10]); the two networks run in two processes.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from nnlearn.experiments.reproduce.ch1 import specs
from nnlearn.data import load_mnist

STUCK_BELOW = 90.0
"""A run whose best test accuracy stays below this (%) ended with digit classes unlearned."""


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


def backprop(weights, biases, x, y):
    """network.py's ``backprop``: one example, (n, 1) columns, quadratic cost."""
    nabla_b = [np.zeros(b.shape) for b in biases]
    nabla_w = [np.zeros(w.shape) for w in weights]
    activation, activations, zs = x, [x], []
    for b, w in zip(biases, weights):
        z = np.dot(w, activation) + b
        zs.append(z)
        activation = sigmoid(z)
        activations.append(activation)
    delta = (activations[-1] - y) * sigmoid_prime(zs[-1])                 # BP1
    nabla_b[-1] = delta                                                    # BP3
    nabla_w[-1] = np.dot(delta, activations[-2].transpose())               # BP4
    for layer in range(2, len(weights) + 1):
        delta = np.dot(weights[-layer + 1].transpose(), delta) * sigmoid_prime(zs[-layer])  # BP2
        nabla_b[-layer] = delta
        nabla_w[-layer] = np.dot(delta, activations[-layer - 1].transpose())
    return nabla_b, nabla_w


def update_mini_batch(weights, biases, mini_batch, eta):
    """network.py's ``update_mini_batch``: returns the new ``(weights, biases)``."""
    nabla_b = [np.zeros(b.shape) for b in biases]
    nabla_w = [np.zeros(w.shape) for w in weights]
    for x, y in mini_batch:
        delta_nabla_b, delta_nabla_w = backprop(weights, biases, x, y)
        nabla_b = [nb + dnb for nb, dnb in zip(nabla_b, delta_nabla_b)]
        nabla_w = [nw + dnw for nw, dnw in zip(nabla_w, delta_nabla_w)]
    weights = [w - (eta / len(mini_batch)) * nw for w, nw in zip(weights, nabla_w)]
    biases = [b - (eta / len(mini_batch)) * nb for b, nb in zip(biases, nabla_b)]
    return weights, biases


def feedforward(weights, biases, a):
    for b, w in zip(biases, weights):
        a = sigmoid(np.dot(w, a) + b)
    return a


def sgd(sizes: Sequence[int], training_data: list, epochs: int, mini_batch_size: int, eta: float,
        test_data: list, seed: int) -> list[int]:
    """network.py's ``Network(sizes)`` then ``SGD(...)``; returns the test hits after each epoch."""
    np.random.seed(seed)
    random.seed(seed)
    biases = [np.random.randn(y, 1) for y in sizes[1:]]
    weights = [np.random.randn(y, x) for x, y in zip(sizes[:-1], sizes[1:])]
    training_data = list(training_data)
    hits = []
    for _ in range(epochs):
        random.shuffle(training_data)
        for k in range(0, len(training_data), mini_batch_size):
            weights, biases = update_mini_batch(weights, biases,
                                                training_data[k:k + mini_batch_size], eta)
        hits.append(sum(int(np.argmax(feedforward(weights, biases, x)) == y) for x, y in test_data))
    return hits


def book_data(train_size: int | None = None):
    """The book's ``load_data_wrapper`` lists: ``(x (784, 1), one-hot y (10, 1))`` training
    pairs and ``(x, label)`` test pairs, float64, from the shipped MNIST."""
    data = load_mnist()
    X, y = data.train
    n = len(y) if train_size is None else train_size
    eye = np.eye(10)
    training = [(X[i].astype(np.float64).reshape(784, 1), eye[y[i]].reshape(10, 1)) for i in range(n)]
    Xt, yt = data.test
    test = [(Xt[i].astype(np.float64).reshape(784, 1), int(yt[i])) for i in range(len(yt))]
    return training, test


def _run(job: dict[str, Any]) -> dict[str, Any]:
    training, test = book_data(job["train_size"])
    start = time.perf_counter()
    hits = sgd(job["sizes"], training, job["epochs"], job["mini_batch_size"], job["eta"], test,
               job["seed"])
    return {**job, "hits": hits, "total": len(test), "seconds": time.perf_counter() - start}


def table(runs: list[dict[str, Any]], command: str) -> str:
    """Markdown: per network the stuck count and mean best, then every run."""
    lines = ["# Chapter 1 with the book's own network.py (transcribed)", "",
             "The book's algorithm with its own random streams (see `nnlearn.experiments.reproduce.network_py`), "
             "to compare with nnlearn's runs in ch1.md. Best = the highest test accuracy over the epochs.",
             "",
             f"Generated by `{command}` on {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} "
             f"UTC (Python {platform.python_version()}, NumPy {np.__version__}). Do not edit by hand: "
             "rerun the command.", "",
             f"| network | book best % | runs | stuck (best < {STUCK_BELOW:.0f}%) | mean best %, all runs "
             "| mean best %, runs not stuck |",
             "|---|---:|---:|---:|---:|---:|"]
    labels = list(dict.fromkeys(r["label"] for r in runs))
    for label in labels:
        best = [100 * max(r["hits"]) / r["total"] for r in runs if r["label"] == label]
        free = [b for b in best if b >= STUCK_BELOW]
        book = next(r["book"] for r in runs if r["label"] == label)
        lines.append(f"| {label} | {book:.2f} | {len(best)} | {len(best) - len(free)} | "
                     f"{np.mean(best):.2f} | {f'{np.mean(free):.2f}' if free else '–'} |")
    lines += ["", "| network | seed | best % | at epoch | final % | wall s |", "|---|---:|---:|---:|---:|---:|"]
    for r in runs:
        acc = [100 * h / r["total"] for h in r["hits"]]
        lines.append(f"| {r['label']} | {r['seed']} | {max(acc):.2f} | {int(np.argmax(acc)) + 1} | "
                     f"{acc[-1]:.2f} | {r['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nnlearn.experiments.reproduce.network_py",
                                     description="Run the book's network.py (transcribed) on "
                                     "chapter 1's networks over several seeds and write a table.")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 1..N per network (default 10)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--train-size", type=int, default=None, help="first N training images")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--out", type=Path, default=Path("docs/results/ch1-network-py.md"))
    args = parser.parse_args(argv)
    for name in ("seeds", "epochs", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be a positive integer")
    jobs = [{"label": spec["label"], "book": spec["book"], "sizes": spec["network"]["sizes"],
             "epochs": args.epochs, "mini_batch_size": spec["fit"]["mini_batch_size"],
             "eta": spec["fit"]["eta"], "seed": seed, "train_size": args.train_size}
            for spec in specs() for seed in range(1, args.seeds + 1)]
    with ProcessPoolExecutor(args.workers) as pool:
        runs = []
        for run in pool.map(_run, jobs):
            runs.append(run)
            print(f"{run['label']} seed {run['seed']}: best {100 * max(run['hits']) / run['total']:.2f}% "
                  f"({run['seconds']:.0f} s)", flush=True)
    command = "python -m nnlearn.experiments.reproduce.network_py " + " ".join(argv if argv is not None
                                                                    else sys.argv[1:])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table(runs, command.strip()), encoding="utf-8")
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
