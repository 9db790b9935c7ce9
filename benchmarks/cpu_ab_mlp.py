"""CPU-time A/B of one chapter-1 MLP epoch: nnlearn compiled and reference, JAX, PyTorch.

For a busy machine, where wall time measures the neighbours: each contender's epoch is
timed in process CPU time (``time.process_time``: every thread of this process, so a
contender that spins idle threads pays for them), alternating round by round in one
process after a warm-up epoch each, with a pause before each epoch. The contenders are
bench_mlp.py's, plus ``reference``: nnlearn's epoch under ``NNLEARN_KERNELS=reference``
(Trainer.train_step per minibatch). Prints the medians and the minimum of each, and the
ratio of nnlearn's median to the fastest peer's; writes nothing (bench_mlp.py and
report.py make the documented figures, in wall time on a quiet machine).

Usage: python benchmarks/cpu_ab_mlp.py [--hidden 30] [--rounds 5]
       [--contenders nnlearn,reference,jax_scan,jax,pytorch] [--images 50000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import bench_mlp
from common import PAUSE_SECONDS

PEERS = ("jax_scan", "jax", "pytorch")


def reference_epoch(sizes, X, y):
    """nnlearn's epoch with the reference loop (the environment variable set around it)."""
    from nnlearn.nn import kernels

    epoch = bench_mlp.nnlearn_epoch(sizes, X, y)

    def run() -> None:
        before = os.environ.get(kernels.KERNELS_ENV)
        os.environ[kernels.KERNELS_ENV] = "reference"
        try:
            epoch()
        finally:
            if before is None:
                del os.environ[kernels.KERNELS_ENV]
            else:
                os.environ[kernels.KERNELS_ENV] = before
    return run


def cpu_ab(sizes, X, y, contenders, rounds: int, pause: float) -> dict[str, list[float]]:
    """CPU seconds of each contender's epochs, ``rounds`` alternating rounds after a warm-up."""
    factories = {"nnlearn": bench_mlp.nnlearn_epoch, "reference": reference_epoch,
                 **{name: bench_mlp.PEERS[name] for name in PEERS}}
    epochs = {name: factories[name](sizes, X, y) for name in contenders}
    for epoch in epochs.values():
        epoch()  # compiles or loads what each needs, outside the rounds
    times: dict[str, list[float]] = {name: [] for name in epochs}
    for _ in range(rounds):
        for name, epoch in epochs.items():
            time.sleep(pause)
            start = time.process_time()
            epoch()
            times[name].append(time.process_time() - start)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--images", type=int, default=50_000)
    parser.add_argument("--pause", type=float, default=PAUSE_SECONDS)
    parser.add_argument("--contenders", default="nnlearn,reference," + ",".join(PEERS))
    args = parser.parse_args(argv)
    from nnlearn.data import load_mnist

    X, y = load_mnist().train
    X, y = np.ascontiguousarray(X[:args.images], dtype=np.float32), y[:args.images]
    sizes = [784, args.hidden, 10]
    times = cpu_ab(sizes, X, y, args.contenders.split(","), args.rounds, args.pause)
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"{sizes}, {len(y)} images, mini-batch {bench_mlp.MINI_BATCH}, CPU seconds per epoch "
          f"(median / min of {args.rounds}); load average {os.getloadavg()[0]:.1f}:")
    for name, t in times.items():
        print(f"  {name:10s} {medians[name]:.3f} / {min(t):.3f}")
    peers = [name for name in medians if name in PEERS]
    if "nnlearn" in medians and peers:
        fastest = min(peers, key=medians.get)
        print(f"  nnlearn / {fastest} (the fastest peer): {medians['nnlearn'] / medians[fastest]:.3f}")


if __name__ == "__main__":
    main()
