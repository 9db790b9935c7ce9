"""Crash-safe training: checkpoint files, resume, and a real ``kill -9`` / Ctrl-C of ``nnlearn train``.

The subprocess tests train on 2,000 MNIST images and compare the final weights of
an interrupted-and-resumed run with ``np.array_equal`` against the same run never
interrupted. When ``NNLEARN_KILL_REPORT`` names a file, the kill test writes what
it observed there (``scripts/reliability_report.py`` puts it in docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import nnlearn
from nnlearn import Network, Trainer
from nnlearn.io.checkpoint import Checkpointer, load_checkpoint, restore, save_checkpoint
from nnlearn.errors import ModelFileError

EPOCHS = 15
RUN = ["--train-size", "2000", "--epochs", str(EPOCHS), "--seed", "3", "--hidden", "30",
       "--optimizer", "momentum", "--dropout", "0.2", "--schedule", "book", "--no-plots", "--quiet"]
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1")


def _data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 5))
    return X, (X[:, 0] + X[:, 1] > 1).astype(int)


def _trainer(epochs=4, seed=1):
    from nnlearn import Dense, Dropout, Sigmoid, Softmax

    net = Network([Dense(5, 6), Sigmoid(), Dropout(0.2), Dense(6, 2), Softmax()],
                  "log_likelihood", seed=seed, dtype="float64")
    X, y = _data()
    return Trainer(net, X, y, epochs=epochs, mini_batch_size=7, eta=0.3, optimizer="adam",
                   schedule="book", early_stopping=10, validation_data=_data(20, 1))


def _weights(net):
    return [np.array(v) for layer in net.layers for v in (*layer.params.values(),
                                                          *layer.buffers.values())]


def test_checkpoint_file_round_trip_is_exact(tmp_path):
    t = _trainer()
    t.run(2)
    state = t.state_dict()
    path = tmp_path / "checkpoint.npz"
    save_checkpoint(path, state, {"config": {"note": "x"}})
    back = load_checkpoint(path)
    assert back.epoch == 2 and back.extra == {"config": {"note": "x"}}
    assert back.state["rng"] == state["rng"]  # 128-bit ints survive JSON exactly
    assert back.state["rng"]["state"]["state"] > 2**64
    for key, value in state["network"].items():
        assert back.state["network"][key].dtype == value.dtype
        assert np.array_equal(back.state["network"][key], value)
    assert back.state["history"] == state["history"]


def test_resume_through_a_file_is_bit_identical(tmp_path):
    full = _trainer()
    full.run()
    half = _trainer()
    half.run(2)
    save_checkpoint(tmp_path / "c.npz", half.state_dict())
    fresh = _trainer(seed=99)  # different initial weights and generator: all restored
    restore(fresh, load_checkpoint(tmp_path / "c.npz"))
    fresh.run()
    assert all(np.array_equal(a, b) for a, b in zip(_weights(full.network), _weights(fresh.network)))
    drop_time = [{k: v for k, v in r.items() if k != "train_seconds"} for r in full.history]
    assert drop_time == [{k: v for k, v in r.items() if k != "train_seconds"}
                         for r in fresh.history]


def test_checkpointer_saves_every_n_epochs_and_at_the_end(tmp_path, monkeypatch):
    saved = []
    monkeypatch.setattr("nnlearn.io.checkpoint.save_checkpoint",
                        lambda path, state, extra=None: saved.append(state["epoch"]))
    t = _trainer(epochs=5)
    t.on_epoch_end.append(Checkpointer(tmp_path / "c.npz", every=2))
    t.run()
    assert saved == [2, 4, 5]


def test_save_latest_writes_the_last_finished_epoch_once(tmp_path):
    t = _trainer(epochs=5)
    saver = Checkpointer(tmp_path / "c.npz", every=10)
    t.on_epoch_end.append(saver)
    t.run(3)
    assert not (tmp_path / "c.npz").exists()
    assert saver.save_latest() == 3 and load_checkpoint(tmp_path / "c.npz").epoch == 3
    mtime = (tmp_path / "c.npz").stat().st_mtime_ns
    assert saver.save_latest() == 3 and (tmp_path / "c.npz").stat().st_mtime_ns == mtime


def test_checkpoint_errors(tmp_path):
    net = Network.from_sizes([3, 2], seed=0)
    net.save(tmp_path / "model.npz")
    with pytest.raises(ModelFileError, match="not an nnlearn checkpoint file"):
        load_checkpoint(tmp_path / "model.npz")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "none.npz")
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04 damaged")
    with pytest.raises(ModelFileError, match="not an nnlearn checkpoint file"):
        load_checkpoint(tmp_path / "junk.npz")
    t = _trainer()
    save_checkpoint(tmp_path / "c.npz", t.state_dict())
    other = Trainer(Network.from_sizes([5, 3, 2], seed=0), *_data(), epochs=4)
    with pytest.raises(ModelFileError, match="does not fit this run"):
        restore(other, load_checkpoint(tmp_path / "c.npz"), tmp_path / "c.npz")
    with pytest.raises(nnlearn.ConfigError, match="positive integer, got 0"):
        Checkpointer(tmp_path / "c.npz", every=0)


# -- the real thing: subprocesses, SIGKILL and SIGINT --------------------------------------
def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "nnlearn.cli", "train", *args], env=ENV,
                          capture_output=True, text=True, timeout=120, **kw)


def _model_arrays(path):
    net = nnlearn.load(path)
    return _weights(net)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "uninterrupted"
    start = time.perf_counter()
    proc = _cli(*RUN, "--run-dir", str(folder))
    assert proc.returncode == 0, proc.stderr
    return folder, time.perf_counter() - start


def _start_and_wait_for_checkpoint(folder):
    proc = subprocess.Popen([sys.executable, "-m", "nnlearn.cli", "train", *RUN, "--run-dir",
                             str(folder)], env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while not (folder / "checkpoint.npz").exists():
        assert proc.poll() is None, f"train ended before its first checkpoint: {proc.stderr.read()}"
        assert time.monotonic() < deadline, "no checkpoint within 90 s"
        time.sleep(0.005)
    return proc


def _wait_for_epochs(proc, path, epochs: int) -> float:
    """Watch ``path`` being replaced (one atomic rename per epoch) ``epochs`` more times;
    return the mean seconds between replacements."""
    inode, changes, start = os.stat(path).st_ino, 0, time.monotonic()
    while changes < epochs and proc.poll() is None:
        try:
            current = os.stat(path).st_ino
        except FileNotFoundError:  # between unlink and rename on some filesystems
            continue
        if current != inode:
            inode, changes = current, changes + 1
        time.sleep(0.0005)
    return (time.monotonic() - start) / max(changes, 1)


@pytest.mark.slow
def test_sigkill_at_a_random_point_then_resume_is_bit_identical(tmp_path, uninterrupted):
    reference, _ = uninterrupted
    rng = random.Random()
    folder = tmp_path / "killed"
    proc = _start_and_wait_for_checkpoint(folder)
    # a random epoch, then a random moment inside the next one: never past the end of the run
    per_epoch = _wait_for_epochs(proc, folder / "checkpoint.npz", rng.randint(1, EPOCHS - 4))
    delay = rng.uniform(0.0, 0.9 * per_epoch)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    killed_at = load_checkpoint(folder / "checkpoint.npz").epoch
    assert not (folder / "model.npz").exists() and 1 <= killed_at < EPOCHS
    resumed = _cli("--resume", str(folder))
    assert resumed.returncode == 0, resumed.stderr
    a, b = _model_arrays(reference / "model.npz"), _model_arrays(folder / "model.npz")
    identical = len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))
    metrics = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    assert [m["epoch"] for m in metrics] == list(range(1, EPOCHS + 1))
    ref = [json.loads(line) for line in (reference / "metrics.jsonl").read_text().splitlines()]
    same_curves = [m["evaluation_cost"] for m in metrics] == [m["evaluation_cost"] for m in ref]
    report = os.environ.get("NNLEARN_KILL_REPORT")
    if report:
        Path(report).write_text(json.dumps({
            "command": "python -m nnlearn.cli train " + " ".join(RUN) + " --run-dir DIR",
            "epochs": EPOCHS, "signal": "SIGKILL", "kill_delay_after_first_checkpoint_s":
            round(delay, 3), "checkpoint_epoch_at_kill": killed_at,
            "resumed_with": "python -m nnlearn.cli train --resume DIR",
            "arrays_compared": len(a), "bit_identical": identical,
            "metrics_identical": same_curves}, indent=1) + "\n")
    assert identical, f"killed {delay:.3f} s into the epoch after checkpoint {killed_at}"
    assert same_curves


@pytest.mark.slow
def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(tmp_path, uninterrupted):
    reference, _ = uninterrupted
    folder = tmp_path / "interrupted"
    proc = _start_and_wait_for_checkpoint(folder)
    per_epoch = _wait_for_epochs(proc, folder / "checkpoint.npz", 2)
    time.sleep(0.5 * per_epoch)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert "interrupted: the checkpoint of epoch" in out and f"--resume {folder}" in out
    epoch = load_checkpoint(folder / "checkpoint.npz").epoch
    assert 1 <= epoch < EPOCHS and not (folder / "model.npz").exists()
    resumed = _cli("--resume", str(folder))
    assert resumed.returncode == 0, resumed.stderr
    a, b = _model_arrays(reference / "model.npz"), _model_arrays(folder / "model.npz")
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_resume_refuses_changes_and_missing_checkpoints(tmp_path, uninterrupted):
    reference, _ = uninterrupted
    proc = _cli("--resume", str(reference), "--eta", "0.1")
    assert proc.returncode == 2 and "cannot be combined with" in proc.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "config.toml").write_text((reference / "config.toml").read_text())
    proc = _cli("--resume", str(empty))
    assert proc.returncode == 2 and "has no checkpoint.npz" in proc.stderr
    proc = _cli("--resume", str(tmp_path / "nowhere"))
    assert proc.returncode == 1 and "is not a run folder" in proc.stderr
