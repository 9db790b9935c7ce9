"""One epoch of the book's chapter-6 convnet (d): nnlearn vs PyTorch on the CPU, side by side.

Architecture (d): conv 20×5×5 → ReLU → max-pool 2 → conv 40×5×5 → ReLU → max-pool 2
→ FC 100 ReLU → softmax, log-likelihood cost, plain SGD η = 0.03, on the same
50,000 MNIST images (N, 1, 28, 28), evaluation excluded; mini-batch 10 and 64,
alternating the two libraries, medians and ratios to benchmarks/results/conv*.json.
nnlearn trains with its default ``threads="auto"`` (nnlearn.train.parallel: the minibatch is
split over the cores when it carries enough work; the JSON records how many threads).

Usage: python benchmarks/bench_conv.py [--repeats 3] [--batches 10 64] [--tag default]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from common import alternate, native_blas, torch_sgd_epoch, environment, summary, write_result

ETA = 0.03


def nnlearn_network(seed=0):
    import nnlearn
    from nnlearn.nn.layers import Conv2D, Flatten, MaxPool2D, ReLU

    layers = [Conv2D(1, 20, 5), ReLU(), MaxPool2D(2), Conv2D(20, 40, 5), ReLU(), MaxPool2D(2),
              Flatten(), nnlearn.Dense(640, 100), ReLU(), nnlearn.Dense(100, 10), nnlearn.Softmax()]
    return nnlearn.Network(layers, "log_likelihood", seed=seed, input_shape=(1, 28, 28))


def nnlearn_epoch(X, y, m):
    net = nnlearn_network()
    return lambda: net.fit(X, y, epochs=1, mini_batch_size=m, eta=ETA, monitor=())


def torch_epoch(X, y, m, seed=0):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 20, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(20, 40, 5), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(640, 100), nn.ReLU(), nn.Linear(100, 10))
    # cross_entropy = softmax + log-likelihood, batch mean
    return torch_sgd_epoch(model, nn.functional.cross_entropy, torch.from_numpy(X),
                           torch.from_numpy(y), m=m, lr=ETA)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", type=int, nargs="+", default=[10, 64])
    parser.add_argument("--keep-blas-env", action="store_true",
                        help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (see common.native_blas)")
    parser.add_argument("--tag", default="default")
    args = parser.parse_args()
    native_blas(args.keep_blas_env)
    from nnlearn.data import load_mnist
    from nnlearn.train.parallel import plan_threads

    X, y = load_mnist(flatten=False).train
    X = np.ascontiguousarray(X, dtype=np.float32)
    results = {"benchmark": "conv", "env": environment(), "repeats": args.repeats, "batches": {},
               "description": "network (d), one epoch of 50,000 images, SGD η = 0.03",
               "command": "python " + " ".join(sys.argv)}
    for m in args.batches:
        print(f"mini-batch {m}: one epoch of {len(y)} images")
        times = alternate({"nnlearn": nnlearn_epoch(X, y, m), "pytorch": torch_epoch(X, y, m)}, args.repeats)
        s = summary(times)
        s["nnlearn_threads"] = plan_threads(nnlearn_network(), m)  # what fit's threads="auto" used
        results["batches"][f"mini-batch {m}"] = s
        print(f"  median nnlearn {s['median']['nnlearn']:.2f} s, pytorch {s['median']['pytorch']:.2f} s, "
              f"ratio {s['ratio']:.3f}")
    print("wrote", write_result(f"conv-{args.tag}", results))


if __name__ == "__main__":
    main()
