"""Peak memory (max RSS) of a full ``nnlearn train`` run, measured from a child process.

Usage: python benchmarks/memory.py [--tag mlp] -- [nnlearn train arguments]
Default arguments: the main job, `nnlearn train` with its default 30-epoch recipe
(run folder, plots and all), seeded.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

from common import environment, write_result

DEFAULT = ["--seed", "1", "--quiet"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="mlp")
    parser.add_argument("train_args", nargs="*", default=DEFAULT)
    args = parser.parse_args()
    command = [sys.executable, "-m", "nnlearn.cli", "train", *args.train_args]
    start = time.perf_counter()
    env = dict(os.environ, NNLEARN_RUNS_DIR=tempfile.mkdtemp(prefix="nnlearn-memory-"))
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"training failed:\n{proc.stderr}")
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: KiB
    print(proc.stdout.strip())
    print(f"peak memory {peak_mb:.0f} MB, wall {wall:.1f} s")
    write_result(f"memory-{args.tag}", {
        "benchmark": "memory", "command": "nnlearn train " + " ".join(args.train_args),
        "peak_rss_mb": peak_mb, "wall_seconds": wall, "output": proc.stdout.strip().splitlines()[-1],
        "env": environment()})


if __name__ == "__main__":
    main()
