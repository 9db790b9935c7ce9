"""Shared helpers of the benchmark scripts: timing, environment facts, JSON results."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import subprocess
import sys
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


FORCED_BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def native_blas(keep_env: bool) -> None:
    """Re-run this script without the variables that force an old OpenBLAS kernel.

    Some machines set OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE as a workaround for old
    OpenBLAS builds; they slow a current NumPy (and not PyTorch, which brings its own
    kernels), so a fair comparison unsets both for the benchmark process only. The
    kernel actually used is recorded via threadpoolctl. ``keep_env=True`` measures
    with the forced kernel instead.
    """
    if keep_env or not any(v in os.environ for v in FORCED_BLAS_VARS):
        return
    env = {k: v for k, v in os.environ.items() if k not in FORCED_BLAS_VARS}
    env["NNLEARN_BENCH_UNSET"] = ",".join(v for v in FORCED_BLAS_VARS if v in os.environ)
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def torch_sgd_epoch(model, loss_fn, X, Y, m: int, lr: float) -> Callable[[], None]:
    """One PyTorch epoch as the book trains: shuffle, minibatches of ``m``, plain SGD step.

    ``loss_fn(outputs, targets)`` must be the batch mean, like nnlearn's costs.
    """
    import torch

    opt = torch.optim.SGD(model.parameters(), lr=lr)

    def epoch() -> None:
        order = torch.randperm(X.shape[0])
        for k in range(0, X.shape[0], m):
            idx = order[k:k + m]
            opt.zero_grad(set_to_none=True)
            loss_fn(model(X.index_select(0, idx)), Y.index_select(0, idx)).backward()
            opt.step()

    return epoch


def jax_sgd_epoch(loss_fn, params, X: np.ndarray, Y: np.ndarray, m: int, lr: float,
                  seed: int = 0) -> Callable[[], None]:
    """One JAX epoch as its users write it: a jitted SGD step called per minibatch.

    ``loss_fn(params, xb, yb)`` must be the batch mean; ``params`` is any pytree of
    arrays. Each epoch draws a fresh order (NumPy generator seeded by ``seed``) and
    hands the step NumPy minibatches gathered from ``X`` and ``Y``, as a data loader
    does; the epoch waits for the last step (JAX dispatches asynchronously). The
    step is compiled here, for the full and for the last (smaller) minibatch shape,
    so that no timed epoch pays compilation: the seconds are in ``epoch.compile_seconds``.
    """
    import jax

    @jax.jit
    def step(params, xb, yb):
        grads = jax.grad(loss_fn)(params, xb, yb)
        return jax.tree.map(lambda p, g: p - lr * g, params, grads)

    rng = np.random.default_rng(seed)
    state = {"params": jax.device_put(params)}
    start = time.perf_counter()
    for size in sorted({m, X.shape[0] % m} - {0}):  # compile each minibatch shape once
        jax.block_until_ready(step(state["params"], X[:size], Y[:size]))
    compile_seconds = time.perf_counter() - start

    def epoch() -> None:
        order = rng.permutation(X.shape[0])
        params = state["params"]
        for k in range(0, X.shape[0], m):
            idx = order[k:k + m]
            params = step(params, X[idx], Y[idx])
        state["params"] = jax.block_until_ready(params)

    epoch.compile_seconds = compile_seconds  # type: ignore[attr-defined]
    epoch.state = state  # type: ignore[attr-defined]  # the parameters after the last epoch
    return epoch


def jax_scan_sgd_epoch(loss_fn, params, X: np.ndarray, Y: np.ndarray, m: int, lr: float,
                       seed: int = 0) -> Callable[[], None]:
    """One JAX epoch compiled whole: ``jax.lax.scan`` of the SGD step over the minibatches.

    This is how JAX users write a fast training loop: the data set is put on the
    device once, and one jitted function takes the parameters and the epoch's order
    (drawn as in :func:`jax_sgd_epoch`), gathers each minibatch inside the scan's body
    (``X[order[k·m:(k+1)·m]]``, no Python between steps, no permuted copy of the data
    set) and, when ``m`` does not divide the set, takes one last smaller step after
    the scan. Compiled here on a first call, outside any timed epoch
    (``epoch.compile_seconds``).
    """
    import jax
    from jax import lax

    n = X.shape[0]
    full = n // m

    def step(params, xb, yb):
        grads = jax.grad(loss_fn)(params, xb, yb)
        return jax.tree.map(lambda p, g: p - lr * g, params, grads)

    @jax.jit
    def run(params, Xd, Yd, order):
        def body(params, idx):
            return step(params, Xd[idx], Yd[idx]), None

        params, _ = lax.scan(body, params, order[:full * m].reshape(full, m))
        if full * m < n:  # the last, smaller minibatch
            params = step(params, Xd[order[full * m:]], Yd[order[full * m:]])
        return params

    rng = np.random.default_rng(seed)
    Xd, Yd = jax.device_put(X), jax.device_put(Y)
    state = {"params": jax.device_put(params)}
    start = time.perf_counter()
    run.lower(state["params"], Xd, Yd, np.arange(n)).compile()  # compile once, outside the epochs
    compile_seconds = time.perf_counter() - start

    def epoch() -> None:
        state["params"] = jax.block_until_ready(run(state["params"], Xd, Yd, rng.permutation(n)))

    epoch.compile_seconds = compile_seconds  # type: ignore[attr-defined]
    epoch.state = state  # type: ignore[attr-defined]  # the parameters after the last epoch
    return epoch


def gemm_peak(n: int = 2048, repeats: int = 7) -> dict[str, Any]:
    """This machine's float32 GEMM rate: the median of ``repeats`` NumPy products of two
    ``n × n`` matrices (``2n³`` FLOPs each), with BLAS on one thread and on all cores;
    the peak is the faster of the two (on a busy machine, all cores can be the slower)."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    A, B = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    C = np.empty_like(A)
    rates = {}
    for threads in sorted({1, len(os.sched_getaffinity(0))}):
        with threadpool_limits(threads, user_api="blas"):
            np.matmul(A, B, out=C)  # warm-up: BLAS threads started, pages touched
            times = [timed(lambda: np.matmul(A, B, out=C)) for _ in range(repeats)]
        rates[threads] = 2 * n**3 / statistics.median(times) / 1e9
    return {"n": n, "repeats": repeats, "gflops_by_threads": rates, "gflops": max(rates.values())}


@contextlib.contextmanager
def competing_load(cores: int = 1) -> Iterator[None]:
    """Run ``cores`` background processes that spin one core each, for the block's duration.

    Stands in for another job on the machine (a second training run, a build): the
    benchmark then shows how each contender degrades when it cannot have every core.
    """
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(cores)]
    try:
        time.sleep(0.5)  # let them start spinning
        yield
    finally:
        for proc in spinners:
            proc.terminate()
            proc.wait()


def load_average() -> list[float]:
    """The 1, 5 and 15-minute load averages (what else competed for the cores)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:  # pragma: no cover - not on Linux/macOS
        return []


def timed(fn: Callable[[], Any]) -> float:
    """Wall-clock seconds of one call of ``fn``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


PAUSE_SECONDS = 2.0
"""Seconds :func:`race` waits before each contender's epoch: PyTorch's OpenMP threads and
XLA's workers keep spinning for a while after a call, and without a pause they slowed
whichever contender ran next by up to 40% (issue 20)."""


def alternate(contenders: dict[str, Callable[[], Any]], repeats: int, log=print,
              pause: float = 0.0) -> dict[str, list[float]]:
    """Time each contender ``repeats`` times, alternating them round by round, sleeping
    ``pause`` seconds before each (see :data:`PAUSE_SECONDS`)."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for r in range(repeats):
        for name, fn in contenders.items():
            time.sleep(pause)
            times[name].append(timed(fn))
            log(f"  round {r + 1}/{repeats} {name}: {times[name][-1]:.3f} s")
    return times


def environment() -> dict[str, Any]:
    """Facts that matter for reading a timing: CPU, threads, library versions, BLAS."""
    import numpy

    facts: dict[str, Any] = {
        "machine": platform.machine(), "python": platform.python_version(),
        "numpy": numpy.__version__, "cpus": len(os.sched_getaffinity(0)),
        "cpu_model": _cpu_model(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
        "unset_for_benchmark": os.environ.get("NNLEARN_BENCH_UNSET", ""),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    try:
        import threadpoolctl

        facts["blas"] = [{k: info.get(k) for k in ("internal_api", "version", "architecture",
                                                   "num_threads")}
                         for info in threadpoolctl.threadpool_info()]
    except ImportError:
        facts["blas"] = "threadpoolctl not installed"
    try:
        import torch

        facts["torch"] = torch.__version__
        facts["torch_threads"] = torch.get_num_threads()
    except ImportError:
        facts["torch"] = None
    try:
        import jax

        facts["jax"] = jax.__version__
        facts["jax_devices"] = [str(d) for d in jax.devices()]
    except ImportError:
        facts["jax"] = None
    facts["load_average_at_start"] = load_average()
    return facts


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def summary(times: dict[str, list[float]], flops_per_epoch: float, peak_gflops: float,
            ours: str = "nnlearn") -> dict[str, Any]:
    """Medians, the ratio ours / the fastest peer (of all contenders), and each one's efficiency:
    counted FLOPs per second as a fraction of the measured GEMM peak."""
    med = {name: statistics.median(t) for name, t in times.items()}
    peers = {name: t for name, t in med.items() if name != ours}
    best = min(peers, key=peers.get)
    return {"times": times, "median": med, "best_peer": best, "ratio": med[ours] / med[best],
            "ratios": {name: med[ours] / t for name, t in peers.items()},
            "flops_per_epoch": flops_per_epoch,
            "efficiency": {name: flops_per_epoch / t / (peak_gflops * 1e9) for name, t in med.items()}}


def summary_line(s: dict[str, Any]) -> str:
    """One printed line: medians, the ratio against the faster peer, efficiencies."""
    medians = ", ".join(f"{name} {t:.3f} s ({100 * s['efficiency'][name]:.1f}% of peak)"
                        for name, t in s["median"].items())
    return f"  median {medians}; nnlearn / {s['best_peer']} {s['ratio']:.3f}"


def race(ours: Callable[[], Any], peers: dict[str, Callable[[], Callable[[], Any]]], repeats: int,
         flops_per_epoch: float, peak_gflops: float, pause: float = PAUSE_SECONDS) -> dict[str, Any]:
    """Alternate nnlearn's epoch ``ours`` with each installed peer's (``peers`` maps a
    name in :data:`PEER_PACKAGES` to a factory of its epoch) for ``repeats`` rounds,
    ``pause`` seconds before each epoch; :func:`summary` of it, with each JAX
    contender's compile time and the load average after the rounds."""
    contenders = {"nnlearn": ours}
    installed = contenders_available()
    contenders.update({name: factory() for name, factory in peers.items()
                       if PEER_PACKAGES[name] in installed})
    s = summary(alternate(contenders, repeats, pause=pause), flops_per_epoch, peak_gflops)
    s["pause_seconds"] = pause
    compiled = {name: fn.compile_seconds for name, fn in contenders.items()
                if hasattr(fn, "compile_seconds")}
    if compiled:
        s["compile_seconds"] = compiled
    if "jax" in compiled:
        s["jax_compile_seconds"] = compiled["jax"]
    s["load_average_after"] = load_average()
    print(summary_line(s))
    return s


PEER_PACKAGES = {"pytorch": "torch", "jax": "jax", "jax_scan": "jax"}
"""The package each peer contender needs: PyTorch eager, JAX's jitted step called per
minibatch, JAX's whole epoch as one ``lax.scan`` (:func:`jax_scan_sgd_epoch`)."""


def contenders_available() -> list[str]:
    """The peer packages that are installed (``pip install -e '.[bench]'`` brings both)."""
    import importlib.util

    found = [module for module in ("torch", "jax") if importlib.util.find_spec(module) is not None]
    if not found:
        sys.exit("no peer installed: pip install -e '.[bench]' (PyTorch and JAX, CPU)")
    return found


QUICK_RESULTS = Path(tempfile.gettempdir()) / "nnlearn-bench-quick"
"""Where ``--quick`` runs write (never into results/, which the report reads)."""


def write_result(name: str, payload: dict[str, Any], quick: bool = False) -> Path:
    """Write ``payload`` as ``results/NAME.json`` (``--quick``: under :data:`QUICK_RESULTS`)."""
    folder = QUICK_RESULTS if quick else RESULTS
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
