"""One writer per run or sweep folder, workers that die with their driver, resumes that do
not repeat epochs: real processes, real signals (issue 22, item 2).

Every subprocess here is bounded by a timeout; the sweeps train 300-2,000 images.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nnlearn.errors import LockedError
from nnlearn.experiments.runs.folder import Run
from nnlearn.system.processes import LOCK_NAME, FolderLock
from tests.paths import REPO

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1")
SRC = str(REPO / "src")
ENV["PYTHONPATH"] = SRC + os.pathsep + ENV.get("PYTHONPATH", "")

HOLD = textwrap.dedent("""
    import sys, time
    from nnlearn.system.processes import FolderLock
    lock = FolderLock(sys.argv[1], "run folder").acquire()
    print("held", flush=True)
    time.sleep(120)
""")


def _holder(folder: Path) -> subprocess.Popen:
    """A real other process holding ``folder``'s lock (it prints "held" once it has it)."""
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(folder)], env=ENV,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)  # reaps it and closes its pipes


def _alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie awaiting its reaper counts as dead)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux /proc), found now."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                kids = [int(k) for k in (task / "children").read_text().split()]
            except (FileNotFoundError, ProcessLookupError):
                continue
            found.update(kids)
            todo.extend(kids)
    return found


def _epochs(run_dir: Path) -> list[int]:
    return [r["epoch"] for r in Run(run_dir).metrics()]


# -- the lock itself -------------------------------------------------------------------------
def test_a_second_writer_is_refused_naming_the_holder_and_a_dead_ones_lock_is_taken_over(tmp_path):
    holder = _holder(tmp_path)
    try:
        with pytest.raises(LockedError) as info:
            FolderLock(tmp_path, "run folder").acquire()
        message = str(info.value)
        assert f"pid {holder.pid}" in message and str(tmp_path) in message
        assert "kill PID" in message  # and the way out
        start = time.monotonic()
        with pytest.raises(LockedError):
            FolderLock(tmp_path).acquire(wait=0.3)  # waits, then still refuses
        assert time.monotonic() - start >= 0.3
    finally:
        _kill(holder)
    lock = FolderLock(tmp_path, "run folder").acquire()  # the dead holder's lock is free
    try:
        assert lock.stale_pid == holder.pid
        assert (tmp_path / LOCK_NAME).read_text().startswith(f"pid {os.getpid()} ")
    finally:
        lock.release()
    with FolderLock(tmp_path) as again:  # released: takeable again, by anyone
        assert again.held and again.stale_pid is None  # our own record is not "stale"


# -- nnlearn train ---------------------------------------------------------------------------
TRAIN = ["--train-size", "2000", "--validation-size", "1000", "--hidden", "30", "--seed", "3",
         "--no-plots", "--quiet"]


def _train(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnlearn.cli", "train", *args], env=ENV,
                          capture_output=True, text=True, timeout=180, **kw)


def test_resume_while_another_process_writes_the_run_is_refused(tmp_path):
    folder = tmp_path / "run"
    assert _train(*TRAIN, "--epochs", "2", "--run-dir", str(folder)).returncode == 0
    before = (folder / "metrics.jsonl").read_bytes()
    holder = _holder(folder)
    try:
        proc = _train("--resume", str(folder))
    finally:
        _kill(holder)
    assert proc.returncode == 1
    assert f"in use by another nnlearn process (pid {holder.pid}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert (folder / "metrics.jsonl").read_bytes() == before  # nothing was touched


@pytest.mark.slow
def test_two_concurrent_resumes_one_runs_one_is_refused_and_metrics_are_not_doubled(tmp_path):
    folder = tmp_path / "run"
    epochs = 12
    first = subprocess.Popen([sys.executable, "-m", "nnlearn.cli", "train", *TRAIN, "--epochs",
                              str(epochs), "--checkpoint-every", "3", "--run-dir", str(folder)],
                             env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(_epochs(folder) if (folder / "metrics.jsonl").exists() else []) < 4:
        assert first.poll() is None, f"the run ended early: {first.stderr.read()}"
        assert time.monotonic() < deadline, "no fourth epoch within 120 s"
        time.sleep(0.01)
    _kill(first)  # after a checkpoint (epoch 3) and at least one record beyond it
    written = _epochs(folder)
    assert len(written) >= 4 and written == list(range(1, len(written) + 1))
    resumes = [subprocess.Popen([sys.executable, "-m", "nnlearn.cli", "train", "--resume",
                                 str(folder)], env=ENV, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.returncode, err) for p in resumes for _, err in [p.communicate(timeout=180)]]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    refused = next(err for code, err in results if code == 1)
    assert "in use by another nnlearn process (pid" in refused
    # the winner cut metrics.jsonl back to the checkpoint, then wrote each epoch once
    assert _epochs(folder) == list(range(1, epochs + 1))


@pytest.mark.slow
def test_resume_cuts_metrics_back_to_the_checkpoint(tmp_path):
    """Records written after the last checkpoint (then a kill) are dropped, not repeated."""
    folder = tmp_path / "run"
    assert _train(*TRAIN, "--epochs", "4", "--run-dir", str(folder)).returncode == 0
    from nnlearn.io.checkpoint import Checkpointer, load_checkpoint  # noqa: F401 - the format

    checkpoint = load_checkpoint(folder / "checkpoint.npz")
    assert checkpoint.epoch == 4
    records = Run(folder).metrics()
    # a run killed after epoch 4's record but with epochs 5 and 6 appended by a stray writer
    Run(folder).write_metrics(records + [dict(records[-1], epoch=5), dict(records[-1], epoch=6)])
    proc = _train("--resume", str(folder))
    assert proc.returncode == 0, proc.stderr
    assert _epochs(folder) == [1, 2, 3, 4]


# -- nnlearn search --------------------------------------------------------------------------
SPACE = """
[data]
train_size = 2000
validation_size = 500

[model]
hidden = [30]

[training]
epochs = {epochs}

[search]
"training.eta" = [0.5, 1.0]
"""


def _search(space: Path, *args: str) -> tuple[subprocess.Popen, Path]:
    """A real ``nnlearn search`` driver and the file that gets its output (not a pipe: a
    pipe would stay open as long as any worker that inherited it lives)."""
    log = space.parent / f"search-{time.monotonic_ns()}.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "nnlearn.cli", "search", str(space),
                                 "--name", "sweep", *args], cwd=space.parent, stdout=out,
                                stderr=subprocess.STDOUT,
                                env=dict(ENV, NNLEARN_RUNS_DIR=str(space.parent)))
    return proc, log


@pytest.mark.slow
def test_kill_9_of_the_driver_leaves_no_worker_and_two_resumes_do_not_double_metrics(tmp_path):
    epochs = 40
    space = tmp_path / "space.toml"
    space.write_text(SPACE.format(epochs=epochs), encoding="utf-8")
    trials = tmp_path / "sweep" / "trials"
    driver, log = _search(space)
    deadline = time.monotonic() + 150
    running: list[Path] = []
    while len(running) < 2:  # both trials are training (one worker each on >= 2 cores; else one)
        assert driver.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the trials did not start within 150 s"
        running = [t for t in trials.glob("trial-*") if (t / "metrics.jsonl").is_file()
                   and (t / "metrics.jsonl").stat().st_size > 0]
        if running and len(os.sched_getaffinity(0)) < 2:
            break
        time.sleep(0.02)
    workers = _descendants(driver.pid)
    assert workers, "the driver has no worker processes"
    driver.send_signal(signal.SIGKILL)
    driver.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    gone_after = time.monotonic() - (deadline - 10)
    orphans = [pid for pid in workers if _alive(pid)]
    for pid in orphans:  # do not leave them behind for the rest of the suite
        os.kill(pid, signal.SIGKILL)
    assert not orphans, "worker processes outlived their driver"
    # two resumes at once: one drives the sweep, the other is refused naming its pid
    resumes = [_search(space, "--resume") for _ in range(2)]
    results = [(p.wait(timeout=240), log.read_text()) for p, log in resumes]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    refused = next(out for code, out in results if code == 1)
    assert "sweep folder" in refused and "in use by another nnlearn process (pid" in refused
    for trial in sorted(trials.glob("trial-*")):
        assert _epochs(trial) == list(range(1, epochs + 1)), trial.name
        assert json.loads((trial / "summary.json").read_text())["sweep"]["status"] == "completed"
    report = os.environ.get("NNLEARN_SWEEP_KILL_REPORT")  # read by scripts/reliability_report.py
    if report:
        Path(report).write_text(json.dumps({
            "command": "nnlearn search space.toml (2 trials of 40 epochs, 2,000 images)",
            "processes_below_driver": len(workers), "seconds_until_all_gone": round(gone_after, 2),
            "orphans": len(orphans), "resume_exit_codes": codes,
            "refused_message": refused.strip().splitlines()[-1][:200],
            "epochs_per_trial_after_resume": [len(_epochs(t)) for t in sorted(trials.glob("trial-*"))],
        }, indent=1))


def test_a_trial_folder_held_by_another_process_fails_that_trial_only(tmp_path):
    """A trial waits for a dying holder; one that never lets go fails its trial, cleanly,
    without writing into the folder it does not hold."""
    from nnlearn.experiments.sweeps import trial as trial_module
    from nnlearn.experiments.config import files as cfgmod

    cfg = cfgmod.resolve({"data": {"train_size": 300, "validation_size": 100},
                          "model": {"hidden": [5]}, "training": {"epochs": 1, "seed": 1}})
    spec = trial_module.make_spec(0, cfg)
    folder = tmp_path / "trials" / spec["name"]
    folder.mkdir(parents=True)
    holder = _holder(folder)
    old_wait, trial_module.LOCK_WAIT = trial_module.LOCK_WAIT, 0.2
    try:
        row = trial_module.run_trial(spec, str(tmp_path))
    finally:
        trial_module.LOCK_WAIT = old_wait
        _kill(holder)
    assert row["status"] == "failed" and f"pid {holder.pid}" in row["error"]
    assert not (folder / "summary.json").exists() and not (folder / "config.toml").exists()
    row = trial_module.run_trial(spec, str(tmp_path))  # the holder is gone: the trial runs
    assert row["status"] == "completed" and _epochs(folder) == [1]
