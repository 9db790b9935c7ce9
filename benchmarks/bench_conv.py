"""One epoch of the book's chapter-6 convnet (d): nnlearn vs PyTorch and JAX on the CPU, side by side.

Architecture (d): conv 20×5×5 → ReLU → max-pool 2 → conv 40×5×5 → ReLU → max-pool 2
→ FC 100 ReLU → softmax, log-likelihood cost, plain SGD η = 0.03, on the same
50,000 MNIST images (N, 1, 28, 28), evaluation excluded; mini-batch 10 and 64.
The contenders: nnlearn, PyTorch (eager), JAX's jitted step called per minibatch and
JAX's whole epoch compiled as one ``lax.scan``; they alternate round by round with a
pause before each epoch (common.PAUSE_SECONDS); medians, the ratio nnlearn / the
fastest of them and each one's efficiency (counted FLOPs, ``flops.py``, per second over this
machine's float32 GEMM peak, measured first) to benchmarks/results/conv-TAG.json.
nnlearn trains with its default ``threads="auto"`` (nnlearn.train.parallel: the minibatch is
split over the cores when it carries enough work; the JSON records how many threads).
Initialisation: nnlearn and JAX draw N(0, 1/fan_in) weights and N(0, 1) biases;
PyTorch keeps its own default (the time does not depend on the values).

Usage: python benchmarks/bench_conv.py [--repeats 3] [--batches 10 64] [--tag default] [--quick]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from common import (environment, gemm_peak, jax_scan_sgd_epoch, jax_sgd_epoch, native_blas, race,
                    torch_sgd_epoch, write_result)
from flops import example_flops

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


def jax_problem(seed=0):
    """``(loss, params)`` of network (d) in JAX: softmax + log-likelihood, batch mean."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    rng = np.random.default_rng(seed)

    def normal(shape, fan_in):  # N(0, 1/fan_in) weights, N(0, 1) biases, as nnlearn's
        return (rng.standard_normal(shape, dtype=np.float32) / np.sqrt(fan_in),
                rng.standard_normal(shape[0] if len(shape) == 4 else shape[1], dtype=np.float32))

    params = [normal((20, 1, 5, 5), 25), normal((40, 20, 5, 5), 500),
              normal((640, 100), 640), normal((100, 10), 100)]

    def conv_relu_pool(x, W, b):
        z = lax.conv_general_dilated(x, W, (1, 1), "VALID",
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"))
        a = jax.nn.relu(z + b[None, :, None, None])
        return lax.reduce_window(a, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def log_likelihood(params, xb, yb):  # softmax + log-likelihood, batch mean
        (W1, b1), (W2, b2), (W3, b3), (W4, b4) = params
        a = conv_relu_pool(conv_relu_pool(xb, W1, b1), W2, b2).reshape(xb.shape[0], -1)
        z = jax.nn.relu(a @ W3 + b3) @ W4 + b4
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), yb[:, None], axis=1))

    return log_likelihood, params


def jax_epoch(X, y, m, seed=0):
    """JAX's jitted SGD step called per minibatch."""
    return jax_sgd_epoch(*jax_problem(seed), X, y, m=m, lr=ETA, seed=seed)


def jax_scan_epoch(X, y, m, seed=0):
    """JAX's whole epoch compiled as one ``lax.scan`` over the minibatches."""
    return jax_scan_sgd_epoch(*jax_problem(seed), X, y, m=m, lr=ETA, seed=seed)


PEERS = {"pytorch": torch_epoch, "jax": jax_epoch, "jax_scan": jax_scan_epoch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batches", type=int, nargs="+", default=[10, 64])
    parser.add_argument("--keep-blas-env", action="store_true",
                        help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (see common.native_blas)")
    parser.add_argument("--tag", default="default")
    parser.add_argument("--images", type=int, default=50_000,
                        help="train on the first N images only (a shorter epoch on a busy machine)")
    parser.add_argument("--quick", action="store_true",
                        help="check the script: 640 images, 2 rounds, small GEMM; writes to common.QUICK_RESULTS")
    args = parser.parse_args()
    native_blas(args.keep_blas_env)
    from nnlearn.data import load_mnist
    from nnlearn.nn import kernels
    from nnlearn.train.parallel import plan_blas_threads, plan_threads

    X, y = load_mnist(flatten=False).train
    X = np.ascontiguousarray(X, dtype=np.float32)
    images, repeats = (min(args.images, 640), 2) if args.quick else (args.images, args.repeats)
    X, y = X[:images], y[:images]
    peak = gemm_peak(512, 3) if args.quick else gemm_peak()
    print(f"float32 GEMM peak: {peak['gflops']:.1f} GFLOP/s ({peak['n']}² product)")
    flops_per_epoch = len(y) * example_flops(nnlearn_network())
    results = {"benchmark": "conv", "env": environment(), "repeats": repeats, "batches": {},
               "gemm_peak": peak, "images": len(y),
               "description": f"network (d), one epoch of {len(y):,} images, SGD η = {ETA}",
               "command": "python " + " ".join(sys.argv),
               # Numba compiling (or loading from its disk cache) nnlearn's kernels, paid once
               # per process before the rounds and not in any epoch; None: references in use
               "nnlearn_kernels": kernels.implementation(),
               "nnlearn_compile_seconds": kernels.compile_kernels(("float32",))}
    for m in args.batches:
        print(f"mini-batch {m}: one epoch of {len(y)} images")
        peers = {name: (lambda f=factory: f(X, y, m)) for name, factory in PEERS.items()}
        s = race(nnlearn_epoch(X, y, m), peers, repeats, flops_per_epoch, peak["gflops"])
        s["nnlearn_threads"] = plan_threads(nnlearn_network(), m)  # what fit's threads="auto" used
        s["nnlearn_blas_threads"] = plan_blas_threads(nnlearn_network(), m) or "BLAS default"
        results["batches"][f"mini-batch {m}"] = s
    print("wrote", write_result(f"conv-{args.tag}", results, quick=args.quick))


if __name__ == "__main__":
    main()
