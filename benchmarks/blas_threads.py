"""One BLAS thread or two, product by product: the evidence for nnlearn's thread choice.

Times the float32 products that the benchmarked networks run per minibatch (and two
square ones) with BLAS held to 1 and to 2 threads, alternating, medians; prints the
rate of each and the ratio. ``nnlearn.train.parallel.MIN_MACS_FOR_BLAS_THREADS`` is
the product size below which training on one thread holds BLAS to one thread.

Usage: python benchmarks/blas_threads.py [--rounds 5]   (needs threadpoolctl)
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from common import load_average

PRODUCTS = {  # (M, K, N): an (M×K)·(K×N) product
    "[784,30,10] mini-batch 10, layer 1": (10, 784, 30),
    "[784,100,10] mini-batch 10, layer 1": (10, 784, 100),
    "convnet (d) mini-batch 10, FC 640→100": (10, 640, 100),
    "convnet (d) mini-batch 10, conv2 forward": (40, 500, 640),
    "convnet (d) mini-batch 10, conv2 ∂C/∂W": (500, 640, 40),
    "convnet (d) mini-batch 64, conv2 forward": (40, 500, 4096),
    "square 256": (256, 256, 256),
    "square 1024": (1024, 1024, 1024),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from threadpoolctl import threadpool_limits

    from nnlearn.train.parallel import MIN_MACS_FOR_BLAS_THREADS

    print(f"load average {load_average()}; one BLAS thread below {MIN_MACS_FOR_BLAS_THREADS:,} multiply-adds")
    rng = np.random.default_rng(0)
    for name, (M, K, N) in PRODUCTS.items():
        A, B = rng.standard_normal((M, K), dtype=np.float32), rng.standard_normal((K, N), dtype=np.float32)
        C = np.empty((M, N), dtype=np.float32)
        calls = max(3, int(2e8 / (M * K * N)))  # about 0.2 GFLOP per timing
        times: dict[int, list[float]] = {1: [], 2: []}
        for _ in range(args.rounds):
            for threads in times:
                with threadpool_limits(threads, user_api="blas"):
                    np.matmul(A, B, out=C)
                    start = time.perf_counter()
                    for _ in range(calls):
                        np.matmul(A, B, out=C)
                    times[threads].append((time.perf_counter() - start) / calls)
        rate = {t: 2 * M * K * N / statistics.median(v) / 1e9 for t, v in times.items()}
        print(f"{name:<44} {M * K * N:>12,} MACs: 1 thread {rate[1]:6.1f}, 2 threads {rate[2]:6.1f} "
              f"GFLOP/s (time 2/1: {rate[1] / rate[2]:.2f})")
    print(f"load average {load_average()}")


if __name__ == "__main__":
    main()
