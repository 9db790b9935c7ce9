"""Write docs/reliability.md from actual runs: ``python scripts/reliability_report.py``.

Runs the reliability test files (fuzz short profile, checkpoints with the real
``kill -9`` and Ctrl-C, divergence, the validation table, atomic saves, resource limits
and hostile inputs) and records their counts and wall time, the kill-and-resume
observation written by tests/train/test_checkpoint.py, and the latest long fuzz job
(docs/results/fuzz.json, written by ``python scripts/fuzz.py``; ``--fuzz`` runs it
first). Then it builds the bombs of issue 13 (inputs small on disk and huge in memory,
tests/fuzz/bombs.py), runs each command line under ``RLIMIT_AS`` and records its exit
status, message, peak memory (``ru_maxrss``) and wall time (docs/results/bombs.json).
The web server's rules are read from nnlearn.web, each with the test command that checks it,
and its log under file-descriptor exhaustion from tests/web/test_server.py's run.
Every number in the page comes from these runs; ``--bombs-only`` reruns just the bombs,
``--files TEST_FILE ...`` just those test files (the others' saved counts are kept), and
``--no-bombs`` keeps the saved bomb runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
FILES = {
    "tests/test_fuzz.py": "hostile IDX and model files (short fuzz profile and named attacks)",
    "tests/train/test_checkpoint.py": "checkpoint files, resume, SIGKILL and Ctrl-C of `nnlearn train`",
    "tests/train/test_divergence.py": "extreme inputs to every activation and cost, divergence handling",
    "tests/test_validation_table.py": "bad inputs across the API and the CLI",
    "tests/test_atomic.py": "failed saves keep the previous model or checkpoint",
    "tests/system/test_resource_limits.py": "inputs small on disk and huge in memory (bombs)",
    "tests/test_hostile_inputs.py": "resume edits, damaged checkpoints and headers, FIFOs, modes",
    "tests/system/test_locks.py": "one writer per run and sweep folder (real holders, two concurrent "
                           "resumes), kill -9 of a real `nnlearn search` driver, resumed metrics",
    "tests/experiments/test_search.py": "sweeps: bad spaces, the trial limit, a 10⁹-point grid, deep keys, "
                            "the Ray probe (a non-Ray listener, `--address auto` with no cluster)",
    "tests/web/test_api.py": "the web API: hostile fields, damaged run folders, foreign hosts "
                             "and origins, symbolic links out of the runs folder",
    "tests/web/test_server.py": "`nnlearn serve` as a process: slow, idle and flooding "
                                "connections, file descriptors running out, other sites in Chromium",
}
BOMB_LIMIT = 4 * 2**30
"""``RLIMIT_AS`` of every bomb run: a 4 GiB machine."""


def run_tests(only: list[str] | None = None) -> tuple[dict[str, dict], dict]:
    """Run each test file once (or those of ``only``); returns per-file counts and the
    kill-and-resume records (``nnlearn train``'s, and a sweep driver's under ``"sweep"``; the
    server's log under file-descriptor exhaustion goes to docs/results/server_flood.json)."""
    out: dict[str, dict] = {}
    kill_file = Path(tempfile.mkdtemp()) / "kill.json"
    sweep_file = kill_file.with_name("sweep_kill.json")
    server_file = kill_file.with_name("server.json")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", NNLEARN_KILL_REPORT=str(kill_file),
               NNLEARN_SWEEP_KILL_REPORT=str(sweep_file), NNLEARN_SERVER_REPORT=str(server_file))
    for path in only or FILES:
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
    if sweep_file.exists():
        kill["sweep"] = json.loads(sweep_file.read_text())
    if server_file.exists():
        (RESULTS / "server_flood.json").write_text(server_file.read_text() + "\n")
    return out, kill


def _bomb_cases(tmp: Path) -> list[tuple[str, list]]:
    """``(what, argv)`` of each bomb, its files built in ``tmp``."""
    sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
    import bombs
    import numpy as np

    n = 2_739_000
    idx_bomb = bombs.mnist_folder(
        tmp / "idx", train_images=bombs.gzip_zeros(bombs.idx_header((n, 28, 28)), n * 784),
        train_labels=bombs.gzip_zeros(bombs.idx_header((n,)), n))
    digit, model = bombs.digit_png(tmp / "digit.png"), bombs.small_model(tmp / "small.npz")
    labels = {}
    for name, label in (("stray", 255), ("max", 2**31 - 1), ("3m", 3_000_000)):
        y = np.arange(2500) % 10
        y[17] = label
        labels[name] = bombs.mnist_folder(tmp / f"labels-{name}", n_train=2500,
                                          labels={"train_labels": y})
    wide = tmp / "wide.toml"
    conv = ('[[model.layers]]\ntype = "Conv2D"\n{}\n[[model.layers]]\ntype = "MaxPool2D"\n'
            'pool_size = 2\n[[model.layers]]\ntype = "Flatten"\n[[model.layers]]\n'
            'type = "Dense"\n[[model.layers]]\ntype = "Softmax"\n[model]\n'
            'cost = "log_likelihood"\n')
    wide.write_text(conv.format("out_channels = 20000\nkernel_size = 5"))
    padded = tmp / "padded.toml"
    padded.write_text(conv.format("out_channels = 20\nkernel_size = 5\npadding = 20000"))
    deep = tmp / "deep.toml"
    deep.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    fifo = tmp / "fifo.npz"
    os.mkfifo(fifo)
    empty = bombs.mnist_folder(tmp / "empty", n_test=0)
    run = ["--epochs", "1", "--no-plots", "--quiet"]
    small = ["--train-size", "2000", "--hidden", "30", "--seed", "1", *run]
    mine = ["--validation-size", "500", *small]  # the label folders hold 2,500 training images
    return [
        ("baseline: start-up only", ["--version"]),
        ("model: Conv2D padding 1000 → MaxPool2D 1000 → Dense(4, 10)",
         ["evaluate", bombs.conv_pool_bomb(tmp / "conv.npz")]),
        ("the same model, one digit", ["predict", tmp / "conv.npz", digit]),
        ("model: 1,000,000 Sigmoid layers", ["evaluate", bombs.deep_model(tmp / "deep.npz", 10**6)]),
        ("IDX: gzip declaring 2,739,000 images, --train-size 2000",
         ["train", "--data", idx_bomb, *small, "--run-dir", tmp / "r1"]),
        ("the same, --dtype float64",
         ["train", "--data", idx_bomb, *small, "--dtype", "float64", "--run-dir", tmp / "r2"]),
        ("the same, all of it", ["train", "--data", idx_bomb, *run]),
        ("PNG: 16384² RGBA, 16 bits, zeros",
         ["predict", model, bombs.png_file(tmp / "rgba16.png", 16384, 16384, color=6, depth=16)]),
        ("PNG: 16384² grey, 8 bits, zeros",
         ["predict", model, bombs.png_file(tmp / "grey8.png", 16384, 16384)]),
        ("PNG: 8192² RGBA, every row Paeth",
         ["predict", model, bombs.png_file(tmp / "paeth8k.png", 8192, 8192, color=6,
                                            row_filter=4, fill=1)]),
        ("PNG: 4096² grey, every row Paeth (decoded)",
         ["predict", model, bombs.png_file(tmp / "paeth4k.png", 4096, 4096, row_filter=4,
                                            fill=1)]),
        ("BMP header: 30000² (Pillow)", ["predict", model, bombs.bmp_header(tmp / "b.bmp", 30000,
                                                                          30000)]),
        ("--hidden 100000000", ["train", "--hidden", "100000000", *small[:2], *run]),
        ("--hidden 1000000", ["train", "--hidden", "1000000", *small[:2], *run]),
        ("config: Conv2D with 20,000 maps", ["train", "--config", wide, *small[:2], *run]),
        ("config: Conv2D padding 20000", ["train", "--config", padded, *small[:2], *run]),
        ("labels: one 255 among 0–9", ["train", "--data", labels["stray"], *mine]),
        ("the same, --num-classes 256",
         ["train", "--data", labels["stray"], *mine, "--num-classes", "256"]),
        ("labels: one 2³¹−1 (int32)", ["train", "--data", labels["max"], *mine]),
        ("the same, --num-classes 2147483648",
         ["train", "--data", labels["max"], *mine, "--num-classes", "2147483648"]),
        ("labels: one 3,000,000, --num-classes 3000001",
         ["train", "--data", labels["3m"], *mine, "--num-classes", "3000001"]),
        ("IDX: empty t10k set", ["train", "--data", empty, *small]),
        ("TOML nested 100,000 deep", ["train", "--config", deep]),
        ("a FIFO as the model", ["evaluate", fifo]),
    ]


def measure_bombs() -> list[dict]:
    """Run every bomb under :data:`BOMB_LIMIT`; one record per bomb."""
    import shutil

    sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
    import bombs

    tmp = Path(tempfile.mkdtemp(prefix="nnlearn-bombs-"))
    records = []
    try:
        for what, argv in _bomb_cases(tmp):
            inputs = [a for a in argv if isinstance(a, Path) and a.exists()]
            size = sum(f.stat().st_size for a in inputs if not stat.S_ISFIFO(a.stat().st_mode)
                       for f in ([a] if a.is_file() else a.iterdir()))
            outcome = bombs.nnlearn(*argv, limit=BOMB_LIMIT, timeout=600)
            shown = " ".join(a.name if isinstance(a, Path) else str(a) for a in argv)
            error = bombs.first_error(outcome).split(": error: ", 1)[-1]
            said = (outcome.stdout.strip().splitlines() or [""])[-1 if "train" in argv else 0]
            records.append({"what": what, "command": f"nnlearn {shown}", "file_bytes": size or None,
                            "exit": outcome.returncode, "clean": bombs.clean_failure(outcome) is None,
                            "message": (error or said).replace(str(tmp) + "/", ""),
                            "peak_rss_bytes": outcome.peak_rss,
                            "seconds": round(outcome.seconds, 2)})
            print(f"bomb: {what}: exit {outcome.returncode}, {outcome.peak_rss >> 20} MiB, "
                  f"{outcome.seconds:.1f} s", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return records


def _limits() -> list[tuple[str, str]]:
    """The limits, read from the code."""
    from nnlearn.data import digits, idx, mnist, png
    from nnlearn.experiments.sweeps import engines, search
    from nnlearn.io import model_file
    from nnlearn.nn import memory
    from nnlearn.nn.layers import windows
    from nnlearn.system import memory as system_memory

    return [
        ("memory", "every size computable before allocating (network, data set from its IDX "
         "headers, image from its PNG header) is compared with the memory available: the least "
         "of MemAvailable, the headroom under RLIMIT_AS, the cgroup's headroom and "
         f"`${system_memory.MEMORY_LIMIT_ENV}`; refused with the figure, its largest parts and a fix"),
        ("layers per network", f"{memory.MAX_LAYERS:,}"),
        ("values per example in any array", f"{memory.MAX_EXAMPLE_VALUES:,} (input, activation, "
         "im2col columns or pooling windows)"),
        ("Conv2D padding", "at most kernel_size − 1 per side"),
        ("kernel or pooling window", f"{windows.MAX_WINDOW_PIXELS:,} pixels"),
        ("inference batch", f"1,000 examples or {memory.INFERENCE_BATCH_BYTES >> 20} MiB, "
         "whichever is fewer"),
        ("model or checkpoint JSON header", f"{model_file.MAX_HEADER_BYTES >> 20} MiB"),
        ("model archive expansion", f"{model_file.MAX_EXPANSION}× the file size + 16 MiB"),
        ("IDX payload", f"{idx.MAX_PAYLOAD_BYTES:,} bytes declared; files over "
         f"{mnist.CACHE_MAX_BYTES >> 20} MiB are read row range by row range, keeping only "
         "the rows used"),
        ("PNG (reader)", f"{png.MAX_PIXELS:,} pixels; thin Average/Paeth images at most "
         f"{png.SEQUENTIAL_MAX_BYTES:,} bytes decoded one by one"),
        ("image for `predict`", f"{digits.MAX_IMAGE_PIXELS:,} pixels (PNG header, or Pillow's "
         "header before decoding)"),
        ("labels", "refused as stray when fewer than half the classes 0 … max occur, unless "
         "`--num-classes` (data.num_classes) states the count"),
        ("files read", "regular files only (a FIFO, device or folder is refused at once)"),
        ("trials of a sweep", f"{search.MAX_TRIALS:,} unless `--max-trials` or `[sweep] "
         "max_trials` says more; counted (grid points × draws) before any trial is listed"),
        ("`[search]` keys", f"at most {search.MAX_KEY_DEPTH} dotted parts and 200 characters "
         "(walked without recursion)"),
        ("Ray address probe", f"{engines.CONNECT_TIMEOUT:g} s to connect and {engines.CONNECT_TIMEOUT:g} "
         "s for a gRPC answer, before Ray is imported or a sweep folder made"),
        ("writers per run or sweep folder", "one: `.lock` (flock, with the holder's pid and "
         "command); a second is refused naming the pid, a dead holder's lock is taken over"),
    ]


def render(tests: dict[str, dict], kill: dict, fuzz: dict, bomb_runs: list[dict]) -> str:
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
              "strategies (tests/fuzz/harness/): random bytes; IDX headers built from edge "
              "values (wrong magic, unknown dtype codes, 0 to 255 dimensions with sizes up to "
              "2³²−1 whose products overflow, payloads too short or too long), raw and gzip "
              "(whole, truncated, bit-flipped); byte mutations of valid files; and structured "
              "mutations of valid model files: the JSON header edited as a tree (unknown layer "
              "types, wrong types and huge sizes in configs, deep nesting, invalid UTF-8) and "
              "the arrays edited (wrong shapes and dtypes, object/string/complex/structured "
              "arrays, NaN, values beyond float32, missing and extra entries). Valid-but-huge "
              "inputs (tests/fuzz/harness/huge.py `huge_models`, `huge_idx`, `huge_png`): model "
              "files whose small arrays come with Conv2D padding, strides, kernels and pooling "
              "windows up to 2³¹−1, up to 100,000 layers and inputs up to 65535² pixels; "
              "MNIST-style folders whose IDX headers declare up to 2³¹−1 images of up to "
              "65535² pixels (stored as gzip zeros in full, up to 256 MiB, or cut short) or "
              "int32 labels up to 2³¹−1; PNG headers of up to 2³¹−1 pixels a side in every "
              "colour type and depth with every row filter. Each runs the command line "
              "(`nnlearn predict` or `nnlearn train`) in a subprocess under a 2 GiB address "
              "space (`RLIMIT_AS`) and must succeed or fail with exit status 1 or 2 and a "
              "message, never a traceback or a `MemoryError`.", ""]
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
              "five tests, and `NNLEARN_FUZZ_BOMB_EXAMPLES=N` (`--bomb-examples`) those of the "
              "three valid-but-huge targets, default 60). The short profile runs in the normal "
              "suite (tests/test_fuzz.py; the valid-but-huge cases, 4 per target, are `slow`).", "",
              "## Kill and resume", ""]
    if kill.get("command"):
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
                  "The kill point is random on every run of tests/train/test_checkpoint.py. Ctrl-C "
                  "(SIGINT) is tested the same way: the run saves the state of its last finished "
                  "epoch, exits with status 130 without a traceback, and resumes bit-identically."]
    else:
        lines += ["No kill-and-resume record (tests/train/test_checkpoint.py did not reach it)."]
    lines += ["", "## Sweeps, resumes and locks", "",
              "Each run folder and sweep folder has one writer at a time: `nnlearn train` (new "
              "or `--resume`), a sweep's driver and each trial's worker hold `<folder>/.lock` "
              "(`fcntl.flock`, released by the kernel when the process dies however it dies; "
              "the file records the holder's pid and command). A second writer is refused at "
              "once with exit status 1, naming the holder's pid; a lock left by a dead process "
              "is taken over. A resumed run cuts `metrics.jsonl` back to the epochs of its "
              "checkpoint before it continues (atomically); a resumed sweep reruns unfinished "
              "trials from their first epoch, emptying their metrics once it holds their "
              "folder. The local engine's workers die with their driver "
              "(`prctl(PR_SET_PDEATHSIG, SIGKILL)` on Linux, a watchdog thread elsewhere). "
              "Checked by `python -m pytest tests/system/test_locks.py` with real processes.", ""]
    sweep = kill.get("sweep") if kill else None
    if sweep:
        lines += [f"`{sweep['command']}` was killed with SIGKILL while both trials trained: "
                  f"its {sweep['processes_below_driver']} processes (workers and resource "
                  f"tracker) were all gone {sweep['seconds_until_all_gone']} s later "
                  f"({sweep['orphans']} orphans). Two `--resume` started at once exited "
                  f"{' and '.join(map(str, sweep['resume_exit_codes']))}; the refused one said: "
                  f"\"{sweep['refused_message']}\". Epochs per trial afterwards: "
                  f"{', '.join(map(str, sweep['epochs_per_trial_after_resume']))} (no record "
                  "repeated).", ""]
    lines += ["A sweep above its trial limit, a grid of 10⁹ points or a 5,000-part dotted key "
              "is refused before anything is listed or allocated; `nnlearn search --engine ray "
              "--address HOST:PORT` where something other than Ray listens, or `--address auto` "
              "with no cluster, fails within seconds with a message and creates no sweep "
              "folder (tests/experiments/test_search.py). The sweep space files are fuzzed like model files "
              "(tests/fuzz/harness/spaces.py `space_files`).", ""]
    lines += ["## Divergence and extreme inputs", "",
              "NaN or inf in the network's outputs stops training at the first such minibatch; "
              "NaN or inf in the weights (with finite outputs, e.g. a saturated sigmoid) stops "
              "it at the end of the epoch; a non-finite monitored cost too. The message names "
              "the epoch and suggests a smaller η, the normal_fan_in initialisation and the "
              "cross-entropy cost. `nnlearn train` then exits with status 1 and keeps the last "
              "good checkpoint. Every activation and cost is run on ±1e30 and ±3e38 (float32) "
              "and ±1e30 and ±1e308 (float64) with warnings as errors: no overflow warnings, "
              "finite outputs and gradients.", ""]
    lines += render_limits(bomb_runs)
    flood_file = RESULTS / "server_flood.json"
    lines += [""] + render_server(json.loads(flood_file.read_text()) if flood_file.exists() else {})
    return "\n".join(lines) + "\n"


def render_server(flood: dict) -> list[str]:
    """The "Web server" section: each rule of ``nnlearn serve``, its value read from the code,
    and the command that checks it."""
    from nnlearn.web import guard, server
    from nnlearn.web.routes.common import MAX_BODY_BYTES

    test = "python -m pytest tests/{} -k {}".format
    rows = [
        ("`Host` header", "localhost, `*.localhost`, " + ", ".join(
            f"`{h}`" for h in guard.LOCAL_HOSTS[1:]) + ", the `--host` address and each "
         "`--allowed-host`; else 400 (DNS rebinding)",
         test("web/test_api.py", "foreign_hosts") + "; " + test("web/test_server.py", "another_site")),
        ("state-changing requests (" + ", ".join(sorted(guard.STATE_CHANGING)) + ")",
         f"only `Content-Type: {guard.JSON_TYPE}` (else 415), and an `Origin`, if sent, equal to "
         "the server's own (else 403)", test("web/test_server.py", "another_site")),
        ("playground sessions", "`--max-sessions` (default 8), counted and reserved under one "
         "lock: 20 simultaneous creates with a limit of 3 leave 3", test("web/test_server.py", "twenty")),
        ("request body", f"{MAX_BODY_BYTES:,} bytes, with or without `Content-Length` (413); "
         "deep JSON, 5,000-digit integers and names over 255 bytes are 400s naming the field",
         test("web/test_api.py", "hostile_fields")),
        ("open connections", f"`--max-connections` (default {server.MAX_CONNECTIONS}); one more "
         "is answered 503 and closed at once", test("web/test_server.py", "slow_connections")),
        ("time to send a request", f"`--request-timeout` (default {server.REQUEST_TIMEOUT:g} s) "
         "from the connection or the previous answer, headers and body; an idle keep-alive "
         f"connection is closed after {server.KEEP_ALIVE_SECONDS} s",
         test("web/test_server.py", "slow_connections")),
        ("repeated log lines", f"{server.RepeatFilter().burst} copies of one message per "
         f"{server.RepeatFilter().window:g} s, then a count", test("web/test_server.py", "file_descriptors")),
        ("CSV uploads", "parsed in a worker thread: health checks are answered meanwhile",
         test("web/test_server.py", "csv_upload")),
        ("damaged run folders", "an empty, cut-short, list-valued or too-deep `summary.json`, a "
         "metrics line that is not an object: that run is listed as `unreadable` with its problem; "
         "NaN and ±inf are sent as `null`; a model file with a raw zip member is refused by name",
         test("web/test_api.py", "'damaged or nan_and or raw_member'")),
        ("symbolic links in the runs folder", "one leading outside is skipped by `/api/runs` "
         "and `/api/models` (the models Draw a digit offers), and refused by name",
         test("web/test_api.py", "symlink_leading")),
        ("files a run writes at its end", "`summary.json`, `model.npz`, `config.toml` and the plots "
         "are written atomically; a write error (a full disk) names the file",
         test("test_atomic.py", "'summary_json or full_disk'")),
    ]
    lines = ["## Web server (`nnlearn serve`)", "",
             "What any web page in the same browser, or any client on the network when `--host` "
             "is not 127.0.0.1, can do to the server, and what stops it. The web API's JSON "
             "endpoints are also fuzzed (`web_requests` in tests/fuzz/harness/web.py: every answer "
             "a success or a 4xx/503 with a JSON error, never a 500).", "",
             "| rule | value | checked by |", "|---|---|---|"]
    lines += [f"| {rule} | {value} | `{command}` |" for rule, value, command in rows]
    if flood:
        lines += ["", f"File descriptors running out (`ulimit -n {flood['ulimit_n']}`, "
                  f"`--max-connections` off, {flood['connections_opened']} idle connections "
                  f"opened): in {flood['seconds']} s the server logged {flood['log_bytes']:,} "
                  f"bytes ({flood['log_lines']} lines), then answered again once the idle "
                  "clients were dropped (tests/web/test_server.py, the run that wrote this "
                  "page)."]
    return lines


def render_limits(bomb_runs: list[dict]) -> list[str]:
    """The "Resource limits" section: the limits, and each bomb's outcome, memory and time."""
    lines = ["## Resource limits", "",
             "No input file, config or flag may make nnlearn use memory or time far out of "
             "proportion to the work it states; sizes are checked before anything is "
             "allocated, and every failure is an error with exit status 1 or 2, never a "
             "traceback (a `MemoryError` the checks miss is reported as an error too).", "",
             "| limit | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in _limits()]
    if not bomb_runs:
        return lines + ["", "The bombs have not been run yet (`python scripts/reliability_report.py`)."]
    lines += ["", f"Bombs tried (built by tests/fuzz/bombs.py), each command run by "
              f"`python scripts/reliability_report.py` in a subprocess under "
              f"`RLIMIT_AS` = {BOMB_LIMIT >> 30} GiB; peak memory is the subprocess's "
              "`ru_maxrss` (forked from a small spawner, so that it is the command's own; "
              "the first row is the start-up alone). The outcome is the error message, or the "
              "last line printed on success.", "",
              "| input | file | command | exit | outcome | peak memory | time |",
              "|---|---|---|---|---|---|---|"]
    for r in bomb_runs:
        size = f"{r['file_bytes']:,} B" if r["file_bytes"] else ""
        outcome = r["message"].replace("|", "\\|")
        if len(outcome) > 160:
            outcome = outcome[:157] + "..."
        flag = "" if r["clean"] else " **(not clean)**"
        lines.append(f"| {r['what']} | {size} | `{r['command']}` | {r['exit']}{flag} | {outcome} "
                     f"| {r['peak_rss_bytes'] / 2**20:.0f} MiB | {r['seconds']} s |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz", action="store_true", help="run the long fuzz job first")
    parser.add_argument("--bombs-only", action="store_true",
                        help="rerun only the bombs; reuse the saved test counts")
    parser.add_argument("--files", nargs="+", metavar="TEST_FILE", choices=list(FILES),
                        help="rerun only these test files; reuse the saved counts of the others")
    parser.add_argument("--no-bombs", action="store_true",
                        help="reuse the saved bomb runs (docs/results/bombs.json)")
    args = parser.parse_args(argv)
    if args.fuzz:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "fuzz.py"), "--no-report"],
                       cwd=ROOT, check=False)
    RESULTS.mkdir(parents=True, exist_ok=True)
    saved_tests = RESULTS / "reliability_tests.json"
    if args.bombs_only and saved_tests.exists():
        tests = json.loads(saved_tests.read_text())
        kill_file = RESULTS / "kill_resume.json"
        kill = json.loads(kill_file.read_text()) if kill_file.exists() else {}
    else:
        tests, kill = run_tests(args.files)
        if args.files:  # the other files keep their saved counts and records
            saved = json.loads(saved_tests.read_text()) if saved_tests.exists() else {}
            tests = {path: tests.get(path, saved.get(path)) for path in FILES
                     if path in tests or path in saved}
            kill_file = RESULTS / "kill_resume.json"
            kill = {**(json.loads(kill_file.read_text()) if kill_file.exists() else {}), **kill}
        saved_tests.write_text(json.dumps(tests, indent=1) + "\n")
    if kill:
        (RESULTS / "kill_resume.json").write_text(json.dumps(kill, indent=1) + "\n")
    bombs_file = RESULTS / "bombs.json"
    if args.no_bombs and bombs_file.exists():
        bomb_runs = json.loads(bombs_file.read_text())["runs"]
    else:
        bomb_runs = measure_bombs()
        bombs_file.write_text(json.dumps(
            {"limit_bytes": BOMB_LIMIT, "date": time.strftime("%Y-%m-%d"), "runs": bomb_runs},
            indent=1) + "\n")
    fuzz_file = RESULTS / "fuzz.json"
    fuzz = json.loads(fuzz_file.read_text()) if fuzz_file.exists() else {}
    (ROOT / "docs" / "reliability.md").write_text(render(tests, kill, fuzz, bomb_runs),
                                                  encoding="utf-8")
    print("wrote docs/reliability.md")
    return 0 if all(r["ok"] for r in tests.values()) and all(r["clean"] for r in bomb_runs) else 1


if __name__ == "__main__":
    sys.exit(main())
