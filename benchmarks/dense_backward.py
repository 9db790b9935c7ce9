"""∂C/∂X = δ Wᵀ of a dense layer both ways round: the evidence for ``Dense.backward``'s choice.

For each weight shape (n_in × n_out) and mini-batch m, times ``δ @ W.T`` and
``(W @ δ.T).T`` (made contiguous, as ``Dense.backward`` returns it) in float32, with BLAS
held to 1 and to 2 threads, alternating, minimum of the rounds; prints the ratio
(below 1: the transposed form is faster). ``nnlearn.nn.layers.dense.TRANSPOSED_DX_ROWS``
and ``TRANSPOSED_DX_WIDTH`` say where ``Dense.backward`` takes it.

Usage: python benchmarks/dense_backward.py [--rounds 3]   (needs threadpoolctl)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

SHAPES = {  # (n_in, n_out) of the layers of the benchmarked and reproduced networks
    "ch6 (g) FC 640→1000": (640, 1000),
    "ch6 (g) FC 1000→1000": (1000, 1000),
    "[784,100,10] layer 1": (784, 100),
    "ch6 (d) FC 640→100": (640, 100),
    "[784,30,10] layer 1": (784, 30),
    "ch6 (g) FC 1000→10": (1000, 10),
    "[784,100,10] layer 2": (100, 10),
}
MINI_BATCHES = (10, 16, 64)


def seconds(fn, calls: int, rounds: int) -> float:
    """The fastest of ``rounds`` means over ``calls`` calls, after a warm-up."""
    for _ in range(3):
        fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def both_ways(n_in: int, n_out: int, m: int, rounds: int) -> tuple[float, float]:
    """Seconds of ``δ @ W.T`` and of ``(W @ δ.T).T`` for W (n_in, n_out) and δ (m, n_out)."""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((n_in, n_out), dtype=np.float32)
    delta = rng.standard_normal((m, n_out), dtype=np.float32)
    calls = max(3, int(2e7 / (n_in * n_out * m)))
    return (seconds(lambda: delta @ W.T, calls, rounds),
            seconds(lambda: np.ascontiguousarray((W @ delta.T).T), calls, rounds))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    from nnlearn.nn.layers.dense import TRANSPOSED_DX_ROWS, TRANSPOSED_DX_WIDTH

    print(f"Dense.backward takes (W δᵀ)ᵀ for m ≤ {TRANSPOSED_DX_ROWS} and n_out ≥ "
          f"{TRANSPOSED_DX_WIDTH}\n")
    print("| layer | m | BLAS threads | δ Wᵀ, µs | (W δᵀ)ᵀ, µs | ratio | taken |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, (n_in, n_out) in SHAPES.items():
        for m in MINI_BATCHES:
            for threads in (1, 2):
                with threadpool_limits(limits=threads, user_api="blas"):
                    plain, turned = both_ways(n_in, n_out, m, args.rounds)
                taken = m <= TRANSPOSED_DX_ROWS and n_out >= TRANSPOSED_DX_WIDTH
                print(f"| {name} | {m} | {threads} | {plain * 1e6:.1f} | {turned * 1e6:.1f} | "
                      f"{turned / plain:.2f} | {'(W δᵀ)ᵀ' if taken else 'δ Wᵀ'} |", flush=True)


if __name__ == "__main__":
    main()
