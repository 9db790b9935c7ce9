"""Write docs/reliability.md from actual runs: ``python scripts/reliability_report.py``.

Runs the reliability test files (fuzz short profile, checkpoints with the real
``kill -9`` and Ctrl-C, divergence, the validation table, atomic saves) and records
their counts and wall time, the kill-and-resume observation written by
tests/test_checkpoint.py, and the latest long fuzz job (docs/results/fuzz.json,
written by ``python scripts/fuzz.py``; ``--fuzz`` runs it first). Every number in
the page comes from these runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
FILES = {
    "tests/test_fuzz.py": "hostile IDX and model files (short fuzz profile and named attacks)",
    "tests/test_checkpoint.py": "checkpoint files, resume, SIGKILL and Ctrl-C of `nnlearn train`",
    "tests/test_divergence.py": "extreme inputs to every activation and cost, divergence handling",
    "tests/test_validation_table.py": "bad inputs across the API and the CLI",
    "tests/test_atomic.py": "failed saves keep the previous model or checkpoint",
}


def run_tests() -> tuple[dict[str, dict], dict]:
    """Run each test file once; returns per-file counts and the kill-and-resume record."""
    out: dict[str, dict] = {}
    kill_file = Path(tempfile.mkdtemp()) / "kill.json"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", NNLEARN_KILL_REPORT=str(kill_file))
    for path in FILES:
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rfE", "-p",
                               "no:cacheprovider", path], cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - start
        tail = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
        counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|skipped|error)", tail)}
        failed = [line for line in proc.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
        out[path] = {"counts": counts, "seconds": round(wall, 1), "ok": proc.returncode == 0,
                     "failed": failed}
        print(f"{path}: {tail}", flush=True)
        if failed:  # keep the evidence: the whole pytest output next to the results
            log = RESULTS / f"failed-{Path(path).stem}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(proc.stdout + proc.stderr)
            print(f"  failures logged in {log.relative_to(ROOT)}", flush=True)
    kill = json.loads(kill_file.read_text()) if kill_file.exists() else {}
    return out, kill


def render(tests: dict[str, dict], kill: dict, fuzz: dict) -> str:
    lines = ["# Reliability", "",
             "Written by `python scripts/reliability_report.py` from the runs it makes; do not "
             "edit by hand.", "",
             f"Generated {time.strftime('%Y-%m-%d')} with Python {sys.version.split()[0]}.", "",
             "## What is tested", "",
             "| test file | what | passed | failed | skipped | wall time |",
             "|---|---|---|---|---|---|"]
    for path, what in FILES.items():
        r = tests[path]
        c = r["counts"]
        lines.append(f"| `{path}` | {what} | {c.get('passed', 0)} | {c.get('failed', 0) + c.get('error', 0)} "
                     f"| {c.get('skipped', 0)} | {r['seconds']} s |")
    failures = [f for r in tests.values() for f in r["failed"]]
    if failures:
        lines += ["", "Failures in this run:", ""] + [f"- `{f}`" for f in failures]
    lines += ["", "The skipped test (if any) is the real read-only-folder test, which cannot fail "
              "when the tests run as root; the same failure is simulated by making the OS "
              "calls fail.", "",
              "## Hostile files (fuzzing)", "",
              "`nnlearn.data.read_idx` and `nnlearn.load` are fed generated files; the only "
              "allowed outcome is a result or nnlearn's own error (`IDXFormatError`/`DataError`, "
              "`ModelFileError`, `FileNotFoundError`), with warnings turned into errors. The "
              "strategies (tests/fuzz/harness.py): random bytes; IDX headers built from edge "
              "values (wrong magic, unknown dtype codes, 0 to 255 dimensions with sizes up to "
              "2³²−1 whose products overflow, payloads too short or too long), raw and gzip "
              "(whole, truncated, bit-flipped); byte mutations of valid files; and structured "
              "mutations of valid model files: the JSON header edited as a tree (unknown layer "
              "types, wrong types and huge sizes in configs, deep nesting, invalid UTF-8) and "
              "the arrays edited (wrong shapes and dtypes, object/string/complex/structured "
              "arrays, NaN, values beyond float32, missing and extra entries).", ""]
    if fuzz:
        lines += [f"Long job, last run {fuzz['date']} (`{fuzz['command']}`): "
                  f"**{fuzz['total_cases']:,} cases** in {fuzz['wall_seconds']} s, "
                  f"{'all passed' if fuzz['passed'] else 'FAILURES'} "
                  f"(hypothesis {fuzz['hypothesis']}, NumPy {fuzz['numpy']}).", "",
                  "| target | cases |", "|---|---|"]
        lines += [f"| {k} | {v:,} |" for k, v in fuzz["counts"].items()]
        lines.append("")
    else:
        lines += ["The long fuzz job has not been run yet (`python scripts/fuzz.py`).", ""]
    lines += ["Bugs the fuzzing found and that are fixed: an IDX header whose shape NumPy "
              "cannot hold (more than 64 dimensions, or an empty dimension beside sizes whose "
              "product passes the address space) raised a NumPy `ValueError`; a model header "
              "of deeply nested JSON raised `RecursionError`; a header stored as a non-uint8 "
              "array was cast blindly; NaN, inf or float64 values beyond the float32 range were "
              "loaded (the latter with an overflow warning); a layer config such as "
              "`Dense(10**6, 10**6)` allocated before any check (now refused when its sizes "
              "exceed what the file stores); a zip bomb was decompressed in full (now refused "
              "from the zip directory when it declares more than 64x the file size).", "",
              "Run the long job: `python scripts/fuzz.py` (or `python -m pytest tests/fuzz -m "
              "fuzz`; `NNLEARN_FUZZ_EXAMPLES=N` sets the examples per test, default 2,500 for "
              "five tests). The short profile runs in the normal suite (tests/test_fuzz.py).", "",
              "## Kill and resume", ""]
    if kill:
        lines += [f"`{kill['command']}` ({kill['epochs']} epochs) was killed with "
                  f"{kill['signal']} {kill['kill_delay_after_first_checkpoint_s']} s after its "
                  f"first checkpoint appeared; its last checkpoint was from epoch "
                  f"{kill['checkpoint_epoch_at_kill']}. `{kill['resumed_with']}` finished the run.",
                  "",
                  f"- final weights bit-identical to the uninterrupted run "
                  f"({kill['arrays_compared']} arrays, `np.array_equal`): "
                  f"**{'yes' if kill['bit_identical'] else 'NO'}**",
                  f"- per-epoch validation costs identical: "
                  f"**{'yes' if kill['metrics_identical'] else 'NO'}**", "",
                  "The kill point is random on every run of tests/test_checkpoint.py. Ctrl-C "
                  "(SIGINT) is tested the same way: the run saves the state of its last finished "
                  "epoch, exits with status 130 without a traceback, and resumes bit-identically."]
    else:
        lines += ["No kill-and-resume record (tests/test_checkpoint.py did not reach it)."]
    lines += ["", "## Divergence and extreme inputs", "",
              "NaN or inf in the network's outputs stops training at the first such minibatch; "
              "NaN or inf in the weights (with finite outputs, e.g. a saturated sigmoid) stops "
              "it at the end of the epoch; a non-finite monitored cost too. The message names "
              "the epoch and suggests a smaller η, the normal_fan_in initialisation and the "
              "cross-entropy cost. `nnlearn train` then exits with status 1 and keeps the last "
              "good checkpoint. Every activation and cost is run on ±1e30 and ±3e38 (float32) "
              "and ±1e30 and ±1e308 (float64) with warnings as errors: no overflow warnings, "
              "finite outputs and gradients.", ""]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz", action="store_true", help="run the long fuzz job first")
    args = parser.parse_args(argv)
    if args.fuzz:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "fuzz.py"), "--no-report"],
                       cwd=ROOT, check=False)
    tests, kill = run_tests()
    RESULTS.mkdir(parents=True, exist_ok=True)
    if kill:
        (RESULTS / "kill_resume.json").write_text(json.dumps(kill, indent=1) + "\n")
    fuzz_file = RESULTS / "fuzz.json"
    fuzz = json.loads(fuzz_file.read_text()) if fuzz_file.exists() else {}
    (ROOT / "docs" / "reliability.md").write_text(render(tests, kill, fuzz), encoding="utf-8")
    print("wrote docs/reliability.md")
    return 0 if all(r["ok"] for r in tests.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
