"""Where an nnlearn epoch spends its time: a sampling profile of the benchmark workloads.

Runs each workload of ``bench_mlp.py`` and ``bench_conv.py`` (the same networks, data and
settings, nnlearn only) for one epoch under py-spy (``pip install py-spy``, in the
``bench`` extra), native frames included, and attributes every sample taken inside the
training loop (``Trainer._run_epoch``) to

* the innermost nnlearn function on the stack (e.g. ``Conv2D.backward``), and
* what the CPU was doing under it: ``BLAS`` (OpenBLAS: the matrix products),
  ``compiled`` (nnlearn's Numba kernels, :mod:`nnlearn.nn.kernels`: samples whose
  innermost nnlearn frame is there, their thin Python wrappers included), ``NumPy/C``
  (element-wise passes, copies, reductions: memory traffic) or ``Python`` (the
  interpreter: per-call overhead).

The shares are of CPU samples (both worker threads count when a minibatch is split over
two), so "BLAS 55%" means 55% of the CPU time went to the products. Results go to
``results/profile.json`` (``report.py`` renders them). Usage::

    python benchmarks/profile_epoch.py              # all four workloads
    python benchmarks/profile_epoch.py --only mlp-30 --rate 500
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import environment, native_blas, write_result

HERE = Path(__file__).resolve().parent
WORKLOADS = {
    "mlp-30": "[784, 30, 10] sigmoid, mini-batch 10",
    "mlp-100": "[784, 100, 10] sigmoid, mini-batch 10",
    "conv-mb10": "convnet (d), mini-batch 10",
    "conv-mb64": "convnet (d), mini-batch 64",
}
ROWS = {"mlp-30": ("mlp", "[784, 30, 10]"), "mlp-100": ("mlp", "[784, 100, 10]"),
        "conv-mb10": ("conv", "mini-batch 10"), "conv-mb64": ("conv", "mini-batch 64")}
"""The row of bench_mlp.py / bench_conv.py that each workload is (report.py joins them)."""
KERNELS_FILES = ("nnlearn/nn/kernels.py", "nnlearn/train/compiled_epoch.py")
"""Samples whose innermost nnlearn frame is in these files ran (almost all) in compiled code."""
LOOP_FRAME = "Trainer._run_epoch"
"""Samples whose stack holds this frame are training; the rest (start-up, data) are dropped."""
WARM_UP_FRAME = "nnlearn_ready"
"""bench_mlp's warm-up (one minibatch: the compiled loop loaded, NumPy's BLAS checked) runs
the training loop too, before the timed epoch; its samples are dropped, as the benchmark
leaves it out of its rounds."""


def run_workload(name: str) -> None:
    """The profiled child: one epoch of workload ``name``, built as the benchmarks build it."""
    import numpy as np

    from nnlearn.data import load_mnist
    from nnlearn.nn import kernels

    kernels.compile_kernels()  # paid before the epoch, as in the benchmarks
    X, y = load_mnist().train
    if name.startswith("mlp"):
        from bench_mlp import nnlearn_epoch as mlp_epoch
        from bench_mlp import nnlearn_ready

        # One thread, whatever bench_mlp.NNLEARN_THREADS says: py-spy stops the process for
        # every sample, and two threads that meet at a barrier every minibatch then spend
        # most of the profile waiting for each other (81% "compiled", 6x the samples).
        sizes, X = [784, int(name.split("-")[1]), 10], np.ascontiguousarray(X, dtype=np.float32)
        nnlearn_ready(sizes, X, y)  # the compiled epoch loaded before, as in the benchmarks
        mlp_epoch(sizes, X, y)()
    else:
        from bench_conv import nnlearn_epoch as conv_epoch

        X4 = np.ascontiguousarray(X.reshape(-1, 1, 28, 28), dtype=np.float32)
        conv_epoch(X4, y, int(name.split("mb")[1]))()


def frame_kind(frame: str) -> str:
    """``BLAS``, ``Python`` or ``NumPy/C`` for one py-spy frame (``name (file:line)``)."""
    where = frame.rsplit(" (", 1)[-1].lower()
    if "openblas" in where or "mkl" in where:
        return "BLAS"
    if ".py" in where or "libpython" in where:
        return "Python"
    return "NumPy/C"


def attribute(raw: str) -> dict[str, Any]:
    """Shares of the training samples in py-spy's raw output (``frame;frame;... count`` lines).

    Returns ``{"samples": n, "kinds": {kind: share}, "rows": [[function, kind, share], ...]}``,
    rows by decreasing share; a sample's function is its innermost ``nnlearn/`` frame and
    its kind that of its leaf frame (BLAS anywhere under the function counts as BLAS).
    """
    rows: collections.Counter[tuple[str, str]] = collections.Counter()
    kinds: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if not any(f.startswith(LOOP_FRAME + " ") for f in frames) or \
                any(f.startswith(WARM_UP_FRAME + " ") for f in frames):
            continue
        ours = [i for i, f in enumerate(frames) if "nnlearn/" in f]
        below = frames[ours[-1] + 1:]
        kind = "BLAS" if any(frame_kind(f) == "BLAS" for f in below) else \
            "compiled" if any(f in frames[ours[-1]] for f in KERNELS_FILES) else frame_kind(frames[-1])
        function = frames[ours[-1]].rsplit(" (", 1)[0]
        rows[(function, kind)] += int(count)
        kinds[kind] += int(count)
    total = sum(kinds.values())
    if not total:
        raise RuntimeError(f"no samples inside {LOOP_FRAME}: was the epoch too short for the rate?")
    return {"samples": total, "kinds": {k: v / total for k, v in kinds.most_common()},
            "rows": [[f, k, v / total] for (f, k), v in rows.most_common()]}


def profile(name: str, rate: int) -> dict[str, Any]:
    """Run workload ``name`` under py-spy; return :func:`attribute` of its samples."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "raw.txt"
        cmd = [spy, "record", "--native", "--format", "raw", "--rate", str(rate), "--output", str(out),
               "--", sys.executable, str(Path(__file__)), "--child", name]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE)
        if done.returncode != 0 or not out.exists():
            raise SystemExit(f"py-spy failed for {name} (exit {done.returncode}): {done.stderr[-2000:]}\n"
                             "install it with: pip install py-spy (it needs ptrace permission)")
        return attribute(out.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(WORKLOADS), action="append",
                        help="profile this workload only (repeatable)")
    parser.add_argument("--rate", type=int, default=250, help="samples per second (py-spy --rate)")
    parser.add_argument("--keep-blas-env", action="store_true",
                        help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (see common.native_blas)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return run_workload(args.child)
    native_blas(args.keep_blas_env)
    results: dict[str, Any] = {"benchmark": "profile", "env": environment(), "rate": args.rate,
                               "command": "python " + " ".join(["benchmarks/profile_epoch.py", *sys.argv[1:]]),
                               "workloads": {}}
    for name in args.only or WORKLOADS:
        print(f"{name}: {WORKLOADS[name]} under py-spy")
        r = results["workloads"][name] = {"label": WORKLOADS[name], "row": ROWS[name],
                                          **profile(name, args.rate)}
        print("  " + ", ".join(f"{k} {v:.0%}" for k, v in r["kinds"].items()))
    print("wrote", write_result("profile", results))


if __name__ == "__main__":
    main()
