"""Shared helpers of the benchmark scripts: timing, environment facts, JSON results."""

from __future__ import annotations

import json
import os
import platform
import sys
import statistics
import time
from pathlib import Path
from typing import Any, Callable

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


def timed(fn: Callable[[], Any]) -> float:
    """Wall-clock seconds of one call of ``fn``."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def alternate(contenders: dict[str, Callable[[], Any]], repeats: int, log=print) -> dict[str, list[float]]:
    """Time each contender ``repeats`` times, alternating them round by round."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for r in range(repeats):
        for name, fn in contenders.items():
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
    return facts


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def summary(times: dict[str, list[float]], ours: str = "nnlearn", peer: str = "pytorch") -> dict[str, Any]:
    med = {name: statistics.median(t) for name, t in times.items()}
    return {"times": times, "median": med, "ratio": med[ours] / med[peer]}


def write_result(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
