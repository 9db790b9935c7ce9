"""How much a compiled, fused kernel could save in the chapter-1 training step: the evidence
behind "no compiled kernels yet".

For the element-wise parts of a [784, n, 10] sigmoid step at mini-batch 10 (the sigmoid
forward and backward, the quadratic cost's gradient, the SGD update of every parameter),
times NumPy's calls as nnlearn makes them against one fused Numba loop doing the same
arithmetic (``pip install numba``; without it only NumPy is timed), per call, median of
``--rounds`` alternating rounds, in process CPU time. Prints µs per training step for
each part and the total that fusing would save, beside the step's measured time.

Usage: python benchmarks/fusion_headroom.py [--hidden 30] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

M = 10  # mini-batch


def numpy_parts(n: int):
    """The element-wise work of one step, as nnlearn's layers and SGD do it."""
    from nnlearn.nn.costs import Quadratic
    from nnlearn.nn.layers import Sigmoid
    from nnlearn.optim.optimizers import SGD

    rng = np.random.default_rng(0)
    Z = [rng.standard_normal((M, k), dtype=np.float32) for k in (n, 10)]
    Y = np.zeros((M, 10), np.float32)
    pairs = [(rng.standard_normal(s, dtype=np.float32), rng.standard_normal(s, dtype=np.float32))
             for s in ((784, n), (n,), (n, 10), (10,))]
    sigmoids, cost, sgd = [Sigmoid(), Sigmoid()], Quadratic(), SGD(1e-6)
    for sig, z in zip(sigmoids, Z):
        sig.forward(z)  # each layer keeps its output for backward
    return {"sigmoid forward (2 layers)": lambda: [sig.forward(z) for sig, z in zip(sigmoids, Z)],
            "sigmoid backward (2 layers)": lambda: [sig.backward(z) for sig, z in zip(sigmoids, Z)],
            "quadratic cost gradient": lambda: cost.gradient(Z[1], Y),
            "SGD update (4 parameters)": lambda: sgd.step(pairs)}


def numba_parts(n: int):
    """The same arithmetic as single fused loops (None when Numba is not installed)."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(cache=True)
    def sigmoid(z, out):
        for i in range(z.shape[0]):
            for j in range(z.shape[1]):
                out[i, j] = 1.0 / (1.0 + np.exp(min(-z[i, j], 88.0)))

    @numba.njit(cache=True)
    def sigmoid_back(a, d, out):
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                out[i, j] = d[i, j] * a[i, j] * (1.0 - a[i, j])

    @numba.njit(cache=True)
    def gradient(a, y, out):
        s = 1.0 / a.shape[0]
        for i in range(a.shape[0]):
            for j in range(a.shape[1]):
                out[i, j] = (a[i, j] - y[i, j]) * s

    @numba.njit(cache=True)
    def update(w, g, eta):
        w, g = w.reshape(-1), g.reshape(-1)
        for i in range(w.size):
            w[i] -= eta * g[i]

    rng = np.random.default_rng(0)
    Z = [rng.standard_normal((M, k), dtype=np.float32) for k in (n, 10)]
    out = [np.empty_like(z) for z in Z]
    Y = np.zeros((M, 10), np.float32)
    pairs = [(rng.standard_normal(s, dtype=np.float32), rng.standard_normal(s, dtype=np.float32))
             for s in ((784, n), (n,), (n, 10), (10,))]
    parts = {"sigmoid forward (2 layers)": lambda: [sigmoid(z, o) for z, o in zip(Z, out)],
             "sigmoid backward (2 layers)": lambda: [sigmoid_back(z, z, o) for z, o in zip(Z, out)],
             "quadratic cost gradient": lambda: gradient(Z[1], Y, out[1]),
             "SGD update (4 parameters)": lambda: [update(w, g, 1e-6) for w, g in pairs]}
    start = time.perf_counter()
    for f in parts.values():
        f()  # compile (or load from the cache) before timing
    print(f"Numba {numba.__version__}: compiled or loaded in {time.perf_counter() - start:.2f} s")
    return parts


def per_call(fn, calls: int = 20_000) -> float:
    """µs per call, process CPU time."""
    start = time.process_time()
    for _ in range(calls):
        fn()
    return (time.process_time() - start) / calls * 1e6


def step_time(n: int) -> float:
    """µs per minibatch of nnlearn's whole training step (one epoch of 5,000 minibatches)."""
    import nnlearn
    from nnlearn.data import load_mnist

    X, y = load_mnist().train
    net = nnlearn.Network.from_sizes([784, n, 10], activation="sigmoid", cost="quadratic", seed=0)
    start = time.process_time()
    net.fit(X, y, epochs=1, mini_batch_size=M, eta=3.0, monitor=())
    return (time.process_time() - start) / (len(y) // M) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hidden", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    contenders = {"NumPy": numpy_parts(args.hidden)}
    fused = numba_parts(args.hidden)
    if fused is not None:
        contenders["Numba, fused"] = fused
    times: dict[str, dict[str, list[float]]] = {c: {p: [] for p in contenders["NumPy"]} for c in contenders}
    for _ in range(args.rounds):
        for name, parts in contenders.items():
            for part, fn in parts.items():
                times[name][part].append(per_call(fn))
    step = step_time(args.hidden)
    print(f"[784, {args.hidden}, 10], mini-batch {M}: µs per training step (median of {args.rounds} rounds)")
    print(f"{'part':32}" + "".join(f"{c:>16}" for c in contenders))
    totals = dict.fromkeys(contenders, 0.0)
    for part in contenders["NumPy"]:
        row = {c: statistics.median(times[c][part]) for c in contenders}
        for c, t in row.items():
            totals[c] += t
        print(f"{part:32}" + "".join(f"{t:16.2f}" for t in row.values()))
    print(f"{'total':32}" + "".join(f"{t:16.2f}" for t in totals.values()))
    print(f"nnlearn's whole step: {step:.1f} µs")
    if fused is not None:
        saved = totals["NumPy"] - totals["Numba, fused"]
        print(f"fusing these parts would save {saved:.1f} µs a step, {saved / step:.0%} of it")


if __name__ == "__main__":
    main()
