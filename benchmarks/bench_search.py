"""Wall time of one 8-trial `nnlearn search` sweep with 1 and with 2 CPUs, on Ray and locally,
and Ray's own start-up cost; writes benchmarks/results/search.json and docs/benchmarks.md.

The sweep: the [784, 100, 10] network of chapter 3 on the 50,000 training images for 2
epochs (validation on 10,000), eta in 8 values; every trial is the same amount of work.
Each engine runs it in a fresh sweep folder, through the Python API of ``nnlearn search``
(``run_search``), timed from the call to its return: for Ray this includes starting a
local Ray with ``num_cpus`` CPUs and shutting it down. Ray's start-up cost is measured
on its own: ``ray.init`` (a local Ray), the first remote task (a worker process starts),
and ``ray.shutdown``.

Ray finds "its" address by probing a public resolver and then talks to the host's own
address rather than 127.0.0.1; so, run as root, the script re-runs itself inside a private
network namespace (``unshare --net``, loopback only) unless ``--no-isolate`` is given.

Usage: python benchmarks/bench_search.py [--repeats 2]  (needs: pip install -e ".[ray]")
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import environment, native_blas, write_result

SPACE = """
name = "bench-search"

[model]
hidden = [100]

[training]
epochs = 2
seed = 1

[regularization]
lmbda = 1.0

[search]
"training.eta" = [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4]
"""


def ray_startup(num_cpus: int) -> dict[str, float]:
    """Seconds of ``ray.init`` (local), the first task's round trip, and ``ray.shutdown``."""
    import logging

    import ray

    start = time.perf_counter()
    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
             logging_level=logging.ERROR)
    init = time.perf_counter() - start

    @ray.remote
    def nothing() -> int:
        return 0

    start = time.perf_counter()
    ray.get(nothing.remote())
    first_task = time.perf_counter() - start
    start = time.perf_counter()
    ray.shutdown()
    return {"init": init, "first_task": first_task, "shutdown": time.perf_counter() - start}


def sweep_seconds(engine, space_path: Path, root: Path, tag: str) -> tuple[float, list[float]]:
    """Wall time of the whole sweep on ``engine``, and each trial's own training seconds."""
    from nnlearn.experiments.sweeps.search import run_search

    start = time.perf_counter()
    sweep = run_search(space_path, engine, name=tag, root=root)
    wall = time.perf_counter() - start
    assert len(sweep.rows) == 8 and all(r["status"] == "completed" for r in sweep.rows), sweep.rows
    return wall, [r["seconds"] for r in sweep.rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--keep-blas-env", action="store_true",
                        help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE (see common.native_blas)")
    args = parser.parse_args()
    native_blas(args.keep_blas_env)
    from nnlearn.experiments.sweeps.engines import LocalEngine, RayEngine

    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    space_path = work / "space.toml"
    space_path.write_text(SPACE, encoding="utf-8")
    engines = {f"ray, {n} CPU{'s' if n > 1 else ''}": (lambda n=n: RayEngine(num_cpus=n))
               for n in (1, 2)}
    engines.update({f"local, {n} process{'es' if n > 1 else ''}": (lambda n=n: LocalEngine(cpus=n))
                    for n in (1, 2)})
    load_before = os.getloadavg()
    walls: dict[str, list[float]] = {name: [] for name in engines}
    trial_seconds: dict[str, list[float]] = {name: [] for name in engines}
    startup: dict[str, list[float]] = {"init": [], "first_task": [], "shutdown": []}
    for r in range(args.repeats):
        for n in (1, 2):
            for key, value in ray_startup(n).items():
                startup[key].append(value)
        for name, make in engines.items():
            wall, trials = sweep_seconds(make(), space_path, work, f"{name}-{r}".replace(", ", "-")
                                         .replace(" ", "-"))
            walls[name].append(wall)
            trial_seconds[name] += trials
            print(f"round {r + 1}/{args.repeats} {name}: {wall:.1f} s", flush=True)
    load = os.getloadavg()
    result = {
        "benchmark": "search", "repeats": args.repeats,
        "command": "python benchmarks/bench_search.py" + "".join(
            f" {a}" for a in sys.argv[1:]),
        "description": "8 trials of [784, 100, 10] sigmoid, cross-entropy, L2 λ = 1, 50,000 "
                       "training images, 2 epochs, η ∈ {0.05, ..., 6.4}; FIFO (every trial "
                       "runs all its epochs)",
        "sweeps": {name: {"wall_median": statistics.median(w), "wall_min": min(w), "walls": w,
                          "trial_median": statistics.median(trial_seconds[name])}
                   for name, w in walls.items()},
        "ray_startup": {k: {"median": statistics.median(v), "all": v} for k, v in startup.items()},
        "load_average": load, "load_average_before": load_before,
        "env": {**environment(), "ray": __import__("ray").__version__},
    }
    path = write_result("search", result)
    print("wrote", path)
    import report

    report.main([])


def isolate() -> None:
    """Re-run this script in a private network namespace whose only interface is loopback."""
    if "--no-isolate" in sys.argv or os.environ.get("NNLEARN_BENCH_ISOLATED"):
        if "--no-isolate" in sys.argv:
            sys.argv.remove("--no-isolate")
        return
    if os.geteuid() != 0:
        sys.exit("run as root (for unshare --net), or pass --no-isolate to let Ray use the "
                 "host's network")
    command = " ".join(["ip link set lo up && exec", sys.executable, *map(repr, sys.argv)])
    os.environ["NNLEARN_BENCH_ISOLATED"] = "1"
    os.execvp("unshare", ["unshare", "--net", "sh", "-c", command])


if __name__ == "__main__":
    isolate()
    main()
