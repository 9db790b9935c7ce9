"""One epoch of the book's chapter-1 networks: nnlearn vs PyTorch and JAX on the CPU, side by side.

For [784,30,10] and [784,100,10] (sigmoid, quadratic cost, mini-batch 10, η = 3.0,
N(0,1) init) each contender trains one epoch over the same 50,000 MNIST images
(a fresh random order each epoch, minibatches gathered from it), evaluation
excluded: nnlearn (its compiled epoch when Numba is installed, see
nnlearn.train.compiled_epoch; ``NNLEARN_KERNELS=reference`` times the reference loop),
PyTorch (eager), JAX's jitted step called per minibatch and JAX's whole epoch as one
jitted ``lax.scan`` over the minibatches on the device (common.jax_scan_sgd_epoch).
They alternate for ``--repeats`` rounds, with a pause before each epoch (common.PAUSE_SECONDS),
each compiled or loaded before the rounds. The medians, the ratio nnlearn / the fastest
of the peers and each one's efficiency (counted FLOPs per second,
``flops.py``, over this machine's float32 GEMM peak, measured first) go to
benchmarks/results/mlp-TAG.json. ``--load`` repeats the race with a background
process spinning one core, as another job on the machine would.

Usage: python benchmarks/bench_mlp.py [--repeats 5] [--tag default] [--load] [--quick]
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from common import (competing_load, environment, gemm_peak, jax_scan_sgd_epoch, jax_sgd_epoch, native_blas,
                    race, torch_sgd_epoch, write_result)
from flops import example_flops

MINI_BATCH, ETA = 10, 3.0


def nnlearn_network(sizes, seed=0):
    import nnlearn

    return nnlearn.Network.from_sizes(sizes, activation="sigmoid", cost="quadratic",
                                      weight_init="normal", bias_init="normal", seed=seed)


NNLEARN_THREADS = {"[784, 30, 10]": 1, "[784, 100, 10]": 2}
"""nnlearn's ``threads`` per network, the faster setting on this 2-core machine (quiet): two
threads share the first layer's weights in the compiled epoch
(nnlearn.train.compiled_epoch.row_splits), which pays for [784, 100, 10] and not for
[784, 30, 10] (its products are too small for the hand-off between threads). ``"auto"``,
the default of fit, uses one thread for both (it never risks two threads waiting for
each other on a busy machine). ``--threads`` overrides it."""


def nnlearn_epoch(sizes, X, y, seed=0, threads: int | str = 1):
    """One more epoch of a Trainer made once: the data is checked and its targets made
    before the rounds, as the peers put theirs on the device before theirs."""
    from nnlearn.train.trainer import Trainer

    trainer = Trainer(nnlearn_network(sizes, seed), X, y, epochs=10**9, mini_batch_size=MINI_BATCH,
                      eta=ETA, monitor=(), threads=threads)
    return lambda: trainer.run(1)


def torch_epoch(sizes, X, y, seed=0):
    import torch

    torch.manual_seed(seed)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        lin = torch.nn.Linear(n_in, n_out)
        torch.nn.init.normal_(lin.weight)
        torch.nn.init.normal_(lin.bias)
        layers += [lin, torch.nn.Sigmoid()]
    model = torch.nn.Sequential(*layers)
    Xt = torch.from_numpy(X)
    Yt = torch.nn.functional.one_hot(torch.from_numpy(y), sizes[-1]).to(torch.float32)

    def quadratic(a, yb):  # the book's quadratic cost, batch mean
        return 0.5 * ((a - yb) ** 2).sum() / a.shape[0]

    return torch_sgd_epoch(model, quadratic, Xt, Yt, m=MINI_BATCH, lr=ETA)


def jax_problem(sizes, y, seed=0):
    """``(loss, params, Y)`` in JAX: sigmoid layers, the book's quadratic cost (batch mean),
    N(0, 1) weights and biases as the others, one-hot targets."""
    import jax
    import jax.numpy as jnp

    rng = np.random.default_rng(seed)
    params = [(rng.standard_normal((n_in, n_out), dtype=np.float32),
               rng.standard_normal(n_out, dtype=np.float32))
              for n_in, n_out in zip(sizes[:-1], sizes[1:])]

    def quadratic(params, xb, yb):
        a = xb
        for W, b in params:
            a = jax.nn.sigmoid(a @ W + b)
        return 0.5 * jnp.sum((a - yb) ** 2) / xb.shape[0]

    return quadratic, params, np.eye(sizes[-1], dtype=np.float32)[y]


def jax_epoch(sizes, X, y, seed=0):
    """JAX's jitted SGD step called per minibatch."""
    loss, params, Y = jax_problem(sizes, y, seed)
    return jax_sgd_epoch(loss, params, X, Y, m=MINI_BATCH, lr=ETA, seed=seed)


def jax_scan_epoch(sizes, X, y, seed=0):
    """JAX's whole epoch compiled as one ``lax.scan`` over the minibatches."""
    loss, params, Y = jax_problem(sizes, y, seed)
    return jax_scan_sgd_epoch(loss, params, X, Y, m=MINI_BATCH, lr=ETA, seed=seed)


PEERS = {"pytorch": torch_epoch, "jax": jax_epoch, "jax_scan": jax_scan_epoch}


def nnlearn_ready(sizes, X, y, threads: int | str = 1) -> dict:
    """Which epoch nnlearn runs for this network (``"compiled"``: one compiled loop,
    nnlearn.train.compiled_epoch; ``"reference"``: Trainer.train_step per minibatch) and the
    seconds its first minibatch took (importing Numba and compiling the loop, or loading
    it from Numba's disk cache), paid here, before the rounds, as JAX's compilation is."""
    import time

    from nnlearn.train.trainer import Trainer

    trainer = Trainer(nnlearn_network(sizes), X[:MINI_BATCH], y[:MINI_BATCH], epochs=1,
                      mini_batch_size=MINI_BATCH, eta=ETA, monitor=(), threads=threads)
    start = time.perf_counter()
    trainer.run()
    return {"nnlearn_epoch": trainer.epoch_loop(X, y), "nnlearn_compile_seconds": time.perf_counter() - start}


def race_network(sizes, X, y, repeats: int, peak: float, threads: int | str = 1) -> dict:
    """The alternating rounds of one network (see common.race), then the products floor."""
    from nnlearn.train.parallel import plan_blas_threads, plan_threads

    ready = nnlearn_ready(sizes, X, y, threads)
    print(f"  nnlearn's epoch: {ready['nnlearn_epoch']} (ready in {ready['nnlearn_compile_seconds']:.2f} s)")
    peers = {name: (lambda f=factory: f(sizes, X, y)) for name, factory in PEERS.items()}
    s = race(nnlearn_epoch(sizes, X, y, threads=threads), peers, repeats,
             len(y) * example_flops(nnlearn_network(sizes)), peak)
    s.update(ready)
    s["nnlearn_threads"] = plan_threads(nnlearn_network(sizes), MINI_BATCH, threads)
    threads = plan_blas_threads(nnlearn_network(sizes), MINI_BATCH)
    s["nnlearn_blas_threads"] = threads or "BLAS default"
    s["products_seconds"] = products_alone(sizes, len(y), MINI_BATCH, threads, repeats,
                                           compiled=s["nnlearn_epoch"] == "compiled")
    print(f"  the epoch's matrix products alone: {s['products_seconds']:.3f} s")
    return s


def products_alone(sizes, n: int, m: int, threads: int | None, repeats: int,
                   compiled: bool = False) -> float:
    """Seconds of one epoch's matrix products and nothing else (median of ``repeats``).

    The calls nnlearn makes per minibatch of ``m``: ``Z = A W`` per layer, ``∂C/∂W = Aᵀ δ``
    per layer and ``δ Wᵀ`` for all but the first, on float32 arrays of the same shapes, under
    the same BLAS thread count; ``n / m`` minibatches. ``compiled``: as the compiled epoch
    makes them (from a compiled loop, the update folded into ``W ← W − η Aᵀ δ``:
    :func:`compiled_products`); else as the Dense layers do, from Python. A floor for
    any implementation that makes these BLAS calls.
    """
    import statistics
    import time

    from nnlearn.train.parallel import blas_threads

    rng = np.random.default_rng(0)
    A = [rng.standard_normal((m, k), dtype=np.float32) for k in sizes]
    W = [rng.standard_normal((a, b), dtype=np.float32) * 1e-3 for a, b in zip(sizes[:-1], sizes[1:])]
    G = [np.empty_like(w) for w in W]
    batches = -(-n // m)
    times = []
    with blas_threads(threads):
        if compiled:
            run = compiled_products()
            run(tuple(A), tuple(W), 1)
        for _ in range(repeats):
            start = time.perf_counter()
            if compiled:
                run(tuple(A), tuple(W), batches)
            else:
                for _ in range(batches):
                    for i, w in enumerate(W):
                        A[i] @ w
                    for i in reversed(range(len(W))):
                        np.matmul(A[i].T, A[i + 1], out=G[i])
                        if i:
                            A[i + 1] @ W[i].T
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def compiled_products():
    """``run(A, W, batches)``: the compiled epoch's products (nnlearn.train.epoch_loops.gemm)
    for ``batches`` minibatches, nothing else, compiled by Numba."""
    import numba

    from nnlearn.train import compiled_epoch, epoch_loops

    ints = compiled_epoch.blas_ints(compiled_epoch.numpy_blas())
    work = np.empty(2, np.float32)

    @numba.njit
    def products(A, W, batches, work, ints):
        for _ in range(batches):
            for i in range(len(W)):
                epoch_loops.gemm(False, False, A[i], W[i], A[i + 1], 1.0, 0.0, work, ints)
            for i in range(len(W) - 1, -1, -1):
                if i:
                    epoch_loops.gemm(False, True, A[i + 1], W[i], A[i], 1.0, 0.0, work, ints)
                epoch_loops.gemm(True, False, A[i], A[i + 1], W[i], -1e-9, 1.0, work, ints)

    return lambda A, W, batches: products(A, W, batches, work, ints)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--keep-blas-env", action="store_true",
                        help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (see common.native_blas)")
    parser.add_argument("--tag", default="default", help="suffix of the results file")
    parser.add_argument("--threads", default=None,
                        help="nnlearn's threads for every network ('auto' or an int; default: NNLEARN_THREADS)")
    parser.add_argument("--load", action="store_true",
                        help="also race with a background process spinning one core")
    parser.add_argument("--images", type=int, default=50_000,
                        help="train on the first N images only (a shorter epoch on a busy machine)")
    parser.add_argument("--quick", action="store_true",
                        help="check the script: 1,000 images, 2 rounds, small GEMM; writes to common.QUICK_RESULTS")
    args = parser.parse_args()
    native_blas(args.keep_blas_env)
    from nnlearn.data import load_mnist

    X, y = load_mnist().train
    X = np.ascontiguousarray(X, dtype=np.float32)
    images, repeats = (min(args.images, 1000), 2) if args.quick else (args.images, args.repeats)
    X, y = X[:images], y[:images]
    peak = gemm_peak(512, 3) if args.quick else gemm_peak()
    print(f"float32 GEMM peak: {peak['gflops']:.1f} GFLOP/s ({peak['n']}² product)")
    results = {"benchmark": "mlp", "env": environment(), "repeats": repeats, "gemm_peak": peak,
               "images": len(y), "mini_batch": MINI_BATCH, "networks": {},
               "command": "python " + " ".join(sys.argv)}
    for sizes in ([784, 30, 10], [784, 100, 10]):
        print(f"{sizes}: one epoch of {len(y)} images, mini-batch {MINI_BATCH}")
        threads = NNLEARN_THREADS[str(sizes)] if args.threads is None else \
            (args.threads if args.threads == "auto" else int(args.threads))
        results["networks"][str(sizes)] = race_network(sizes, X, y, repeats, peak["gflops"], threads)
    if args.load:
        results["under_load"] = {}
        with competing_load(cores=1):
            for sizes in ([784, 30, 10], [784, 100, 10]):
                print(f"{sizes} with one core kept busy by another process:")
                results["under_load"][str(sizes)] = race_network(sizes, X, y, repeats, peak["gflops"], 1)
    print("wrote", write_result(f"mlp-{args.tag}", results, quick=args.quick))


if __name__ == "__main__":
    main()
