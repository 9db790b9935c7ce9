"""Run the long fuzz job and record how many cases ran: ``python scripts/fuzz.py [--examples N]``.

Runs ``pytest tests/fuzz -m fuzz`` (hypothesis; ``--examples`` per test, default
2,500 for the five file-format tests; ``--bomb-examples`` per valid-but-huge target,
default 60 for three, each case a subprocess under a 2 GiB address space) and writes
``docs/results/fuzz.json`` with the cases run per target, the total, the wall time and
whether every case passed. Then regenerates docs/reliability.md
(``scripts/reliability_report.py``). Exit status: pytest's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "docs" / "results" / "fuzz.json"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2500, help="examples per fuzz test")
    parser.add_argument("--bomb-examples", type=int, default=60,
                        help="examples per valid-but-huge target (each a subprocess)")
    parser.add_argument("--no-report", action="store_true", help="do not rewrite docs/reliability.md")
    args = parser.parse_args(argv)
    counts_file = RESULT.with_suffix(".counts.tmp")
    env = dict(os.environ, NNLEARN_FUZZ_EXAMPLES=str(args.examples),
               NNLEARN_FUZZ_BOMB_EXAMPLES=str(args.bomb_examples),
               NNLEARN_FUZZ_COUNTS=str(counts_file), OPENBLAS_NUM_THREADS="1")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "tests/fuzz", "-m", "fuzz", "-q",
                           "-p", "no:cacheprovider"], cwd=ROOT, env=env)
    wall = time.perf_counter() - start
    counts = json.loads(counts_file.read_text())["counts"]
    counts_file.unlink()
    import hypothesis
    import numpy

    result = {"command": f"python scripts/fuzz.py --examples {args.examples} "
                         f"--bomb-examples {args.bomb_examples}",
              "examples_per_test": args.examples, "bomb_examples_per_test": args.bomb_examples,
              "counts": counts,
              "total_cases": sum(counts.values()), "passed": proc.returncode == 0,
              "wall_seconds": round(wall, 1), "date": time.strftime("%Y-%m-%d"),
              "hypothesis": hypothesis.__version__, "numpy": numpy.__version__,
              "python": sys.version.split()[0]}
    RESULT.parent.mkdir(parents=True, exist_ok=True)
    RESULT.write_text(json.dumps(result, indent=1) + "\n")
    print(f"fuzz: {result['total_cases']} cases in {wall:.0f} s, "
          f"{'all passed' if result['passed'] else 'FAILURES'}; wrote {RESULT.relative_to(ROOT)}")
    if not args.no_report:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "reliability_report.py")], cwd=ROOT)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
