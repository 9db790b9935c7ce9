"""Nothing saved is lost: saving a model or a checkpoint over an existing file is atomic.

A failed save — the rename refused, the disk full half-way through, Ctrl-C during
the write, a folder we may not write to — leaves the previous file byte for byte
and no temporary file behind. Tests run as root in CI, where ``chmod`` does not stop
writes, so the failures are injected by making the OS calls fail and, for real, by a
file-size limit (``RLIMIT_FSIZE``), which binds root too.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import nnlearn
from nnlearn import Network, files
from nnlearn.io import model_file
from nnlearn.io.checkpoint import Checkpointer, load_checkpoint, save_checkpoint


def _net(seed):
    return Network.from_sizes([5, 4, 3], cost="log_likelihood", seed=seed)


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "model.npz"
    _net(1).save(path)
    return path, path.read_bytes()


def _intact(path, before):
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp files
    back = nnlearn.load(path)
    assert np.array_equal(back.layers[0].params["W"], _net(1).layers[0].params["W"])


def test_refused_rename_keeps_the_old_model(saved, monkeypatch):
    path, before = saved

    def refuse(src, dst):
        raise OSError(errno.EXDEV, "rename refused", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="rename refused"):
        _net(2).save(path)
    monkeypatch.undo()
    _intact(path, before)


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left on device"),
                                     KeyboardInterrupt()])
def test_write_failing_half_way_keeps_the_old_model(saved, monkeypatch, failure):
    path, before = saved
    real_savez = np.savez

    def half_then_fail(f, **arrays):
        real_savez(f, **arrays)
        f.truncate(f.tell() // 2)  # the disk fills up (or Ctrl-C) after half the bytes
        raise failure

    monkeypatch.setattr(model_file.numpy, "savez", half_then_fail)
    with pytest.raises(type(failure)):
        _net(2).save(path)
    monkeypatch.undo()
    _intact(path, before)


def test_unwritable_folder_keeps_the_old_model(saved, monkeypatch):
    path, before = saved

    def denied(*args, **kwargs):  # what mkstemp does in a read-only folder (non-root)
        raise PermissionError(errno.EACCES, "Permission denied", str(path.parent))

    monkeypatch.setattr(files.tempfile, "mkstemp", denied)
    with pytest.raises(PermissionError):
        _net(2).save(path)
    monkeypatch.undo()
    _intact(path, before)


@pytest.mark.slow
def test_a_real_write_limit_keeps_the_old_model(saved):
    """A real OS failure, not a simulated one, that root cannot bypass: the process's
    file-size limit (RLIMIT_FSIZE) makes the write fail half-way with EFBIG."""
    path, before = saved
    code = textwrap.dedent(f"""
        import resource, signal, sys
        import nnlearn
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # fail the write with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))
        net = nnlearn.Network.from_sizes([5, 4, 3], cost="log_likelihood", seed=2)
        try:
            net.save({str(path)!r})
        except OSError as exc:
            print("refused:", exc.errno)
            sys.exit(0)
        sys.exit("the save went through despite the 200-byte file-size limit")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"refused: {errno.EFBIG}"
    _intact(path, before)


def test_successful_save_replaces_in_one_step(saved, monkeypatch):
    path, _ = saved
    renames = []
    real_replace = os.replace

    def spy(src, dst):
        assert nnlearn.load(src) is not None  # the temp file is complete before the rename
        renames.append((os.path.dirname(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    _net(2).save(path)
    assert renames == [(str(path.parent), str(path))]
    assert np.array_equal(nnlearn.load(path).layers[0].params["W"], _net(2).layers[0].params["W"])


def test_failed_checkpoint_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    X = np.random.default_rng(0).random((30, 5))
    y = np.arange(30) % 3
    trainer = nnlearn.Trainer(_net(3), X, y, epochs=4, mini_batch_size=5, eta=0.2,
                              optimizer="momentum")
    saver = Checkpointer(tmp_path / "checkpoint.npz", every=1)
    trainer.on_epoch_end.append(saver)
    trainer.run(2)
    before = (tmp_path / "checkpoint.npz").read_bytes()

    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError, match="No space left"):
        trainer.run(1)
    monkeypatch.undo()
    assert (tmp_path / "checkpoint.npz").read_bytes() == before
    assert load_checkpoint(tmp_path / "checkpoint.npz").epoch == 2
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]


def test_checkpoint_over_a_model_name_is_atomic_too(tmp_path):
    path = tmp_path / "c.npz"
    state = nnlearn.Trainer(_net(4), np.ones((6, 5)), np.arange(6) % 3, epochs=1).state_dict()
    save_checkpoint(path, state)
    save_checkpoint(path, state, {"again": True})
    assert load_checkpoint(path).extra == {"again": True}
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]


@pytest.mark.slow
def test_summary_json_is_written_atomically_and_the_error_names_it(tmp_path):
    """``summary.json`` used to be written in place: a full disk left it empty or cut short
    (and the Runs page with a 500), and the error said only ``[Errno 27] File too large``."""
    from nnlearn.experiments.runs.folder import Run

    run = Run(tmp_path)
    run.write_summary({"test_accuracy": 0.5})
    before = run.summary_path.read_bytes()
    code = textwrap.dedent(f"""
        import resource, signal, sys
        from nnlearn.experiments.runs.folder import Run
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # fail the write with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))
        try:
            Run({str(tmp_path)!r}).write_summary({{"test_accuracy": 0.75, "notes": "x" * 1000}})
        except OSError as exc:
            print(exc)
            sys.exit(0)
        sys.exit("the write went through despite the 200-byte file-size limit")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"[Errno {errno.EFBIG}] File too large: '{run.summary_path}'"
    assert run.summary_path.read_bytes() == before and run.summary() == {"test_accuracy": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temporary file left


def test_a_full_disk_names_the_file_it_could_not_write(tmp_path):
    """/dev/full answers every write with ENOSPC, as a full disk does."""
    from nnlearn.experiments.runs.folder import Run

    run = Run(tmp_path)
    run.metrics_path.symlink_to("/dev/full")
    with pytest.raises(OSError) as caught:
        run.append_metrics({"epoch": 1, "training_cost": 0.5})
    assert caught.value.errno == errno.ENOSPC
    assert str(caught.value) == f"[Errno {errno.ENOSPC}] No space left on device: '{run.metrics_path}'"

    def to_the_full_disk(f):
        with open("/dev/full", "wb") as full:
            full.write(b"x" * 10)
            full.flush()
    with pytest.raises(OSError, match=f"No space left on device: '{tmp_path / 'out.bin'}'"):
        files.atomic_write(tmp_path / "out.bin", to_the_full_disk)
    assert not (tmp_path / "out.bin").exists()
