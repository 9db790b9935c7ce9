"""Peak memory (max RSS) of a full ``nnlearn train`` run, measured from a child process.

Usage: python benchmarks/memory.py [--tag mlp] -- [nnlearn train arguments]
Default arguments: a 30-epoch run of the chapter-1 network [784,30,10].
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

from common import environment, write_result

DEFAULT = ["--hidden", "30", "--activation", "sigmoid", "--cost", "quadratic", "--init", "normal",
           "--eta", "3.0", "--epochs", "30", "--mini-batch-size", "10", "--seed", "1", "--quiet"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="mlp")
    parser.add_argument("train_args", nargs="*", default=DEFAULT)
    args = parser.parse_args()
    command = [sys.executable, "-m", "nnlearn.cli", "train", *args.train_args]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True)
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
