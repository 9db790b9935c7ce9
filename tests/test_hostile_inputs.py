"""Hostile inputs that ended in a raw traceback, a lax check or a wrong run (issue 13):
resume with an edited config, damaged checkpoints, odd layer dtypes, damaged PNG headers,
empty and deeply nested inputs, and files that are not regular files or cannot be written."""

from __future__ import annotations

import json
import os
import signal
import stat
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import bombs  # noqa: E402

import nnlearn  # noqa: E402
from nnlearn import Network, Trainer, files  # noqa: E402
from nnlearn.cli import main  # noqa: E402
from nnlearn.data import digits, png  # noqa: E402
from nnlearn.errors import ConfigError, DataError, ModelFileError  # noqa: E402
from nnlearn.io import model_file  # noqa: E402
from nnlearn.io.checkpoint import FORMAT, VERSION, load_checkpoint, restore, save_checkpoint  # noqa: E402

RUN = ["--train-size", "500", "--validation-size", "100", "--hidden", "10", "--seed", "5",
       "--no-plots", "--quiet"]


@pytest.fixture
def seconds_limit():
    """Fail (instead of hanging) a test that blocks for more than 20 s, e.g. on a FIFO."""
    def expired(signum, frame):
        raise TimeoutError("blocked for 20 s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


# -- 3. --resume with an edited config.toml ---------------------------------------------------
@pytest.fixture
def stopped_run(tmp_path, capsys):
    """A 2-epoch run folder whose checkpoint was taken after epoch 1 (as if killed then)."""
    folder = tmp_path / "run"
    assert main(["train", *RUN, "--epochs", "2", "--checkpoint-every", "1", "--run-dir",
                 str(folder)]) == 0
    capsys.readouterr()
    first = tmp_path / "first"
    assert main(["train", *RUN, "--epochs", "1", "--run-dir", str(first)]) == 0
    capsys.readouterr()
    checkpoint = load_checkpoint(first / "checkpoint.npz")
    state = dict(checkpoint.state, end_epoch=2)  # epoch 1 of the 2-epoch run: same weights
    save_checkpoint(folder / "checkpoint.npz", state, {"config": json.loads(
        json.dumps(nnlearn.experiments.runs.folder.Run(folder).config()))})
    (folder / "model.npz").unlink()
    return folder


def test_resume_refuses_an_edited_config_naming_the_keys(stopped_run, capsys):
    config = stopped_run / "config.toml"
    original = config.read_text()
    config.write_text(original.replace("eta = 0.5", "eta = 0.05").replace("epochs = 2",
                                                                          "epochs = 6"))
    assert main(["train", "--resume", str(stopped_run)]) == 2
    err = capsys.readouterr().err
    assert "config.toml was edited after the checkpoint was written (training.epochs: 2 → 6; " \
           "training.eta: 0.5 → 0.05)" in err
    assert f"nnlearn train --config {config}" in err
    assert not (stopped_run / "model.npz").exists()
    config.write_text(original)
    (stopped_run / ".checkpoint.npz.k2j4x.tmp").write_bytes(b"half a checkpoint")  # a kill's
    (stopped_run / ".model.npz.a8b1q.tmp").write_bytes(b"half a model")
    assert main(["train", "--resume", str(stopped_run), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "eta 0.5" in out and "resuming from the checkpoint of epoch 1 (1 epochs to go)" in out
    metrics = [json.loads(line) for line in (stopped_run / "metrics.jsonl").read_text().splitlines()]
    assert [(m["epoch"], m["eta"]) for m in metrics] == [(1, 0.5), (2, 0.5)]
    saved = nnlearn.load(stopped_run / "model.npz").metadata["config"]
    assert saved["training"]["eta"] == 0.5 and saved["training"]["epochs"] == 2
    assert not list(stopped_run.glob(".*.tmp"))  # the leftovers of the kill are gone


def test_resume_refuses_a_checkpoint_without_its_config(stopped_run, capsys):
    checkpoint = load_checkpoint(stopped_run / "checkpoint.npz")
    save_checkpoint(stopped_run / "checkpoint.npz", checkpoint.state, {})
    assert main(["train", "--resume", str(stopped_run)]) == 2
    assert "does not record the config it was written with" in capsys.readouterr().err


# -- 6 and 7. checkpoints held to the model loader's rules ----------------------------------------
def _trainer(epochs=3):
    from nnlearn import Dense, Sigmoid

    rng = np.random.default_rng(0)
    X = rng.random((40, 4))
    net = Network([Dense(4, 3), Sigmoid(), Dense(3, 2), Sigmoid()], seed=1)
    return Trainer(net, X, (X[:, 0] > 0.5).astype(int), epochs=epochs, mini_batch_size=8,
                   eta=0.5, optimizer="momentum")


def _edited_checkpoint(path, edit_header=None, edit_arrays=None):
    trainer = _trainer()
    trainer.run(2)
    save_checkpoint(path, trainer.state_dict())
    header, arrays = model_file.read_archive(path, FORMAT, VERSION, "checkpoint")
    if edit_header:
        edit_header(header["state"])
    if edit_arrays:
        edit_arrays(arrays)
    model_file.write_archive(path, header, arrays)
    return path


def _set(key, value):
    return lambda tree: tree.__setitem__(key, value)


def _retype(dtype):
    def edit(arrays):
        key = "state.network.layer0.params.W"
        arrays[key] = arrays[key].astype(dtype)
    return edit


@pytest.mark.parametrize("edit_header, edit_arrays, phrase", [
    (_set("history", {"epoch": 1}), None, "the history must be a list of 2 per-epoch records"),
    (_set("history", [{"epoch": 1}]), None, "the history must be a list of 2 per-epoch records"),
    (_set("end_epoch", -5), None, "epoch 2 and end_epoch -5 must be integers with 0 <= epoch"),
    (_set("epoch", True), None, "epoch True and end_epoch 3 must be integers"),
    (_set("network", []), None, "the network state is not a table of arrays"),
    (None, _retype(np.int64), "array state.network.layer0.params.W has shape (4, 3) and dtype "
                              "int64, expected floating point"),
    (None, _retype(bool), "dtype bool, expected floating point"),
    (None, _retype(np.complex64), "dtype complex64, expected floating point"),
    (None, lambda a: a["state.optimizer.state.v.0"].fill(np.nan), "holds NaN, inf"),
])
def test_damaged_checkpoints_are_refused(tmp_path, edit_header, edit_arrays, phrase):
    path = _edited_checkpoint(tmp_path / "c.npz", edit_header, edit_arrays)
    with pytest.raises(ModelFileError, match=__import__("re").escape(phrase)):
        load_checkpoint(path)


def test_the_checkpoint_must_end_where_the_config_does(tmp_path):
    for end in (10**9, 5):
        path = _edited_checkpoint(tmp_path / "c.npz", _set("end_epoch", end))
        with pytest.raises(ModelFileError, match=f"the checkpoint's run ends at epoch {end}, but "
                                                 "this run's config trains 3 epochs"):
            restore(_trainer(), load_checkpoint(path), path)
    path = _edited_checkpoint(tmp_path / "c.npz", edit_arrays=lambda a: a.update(
        {"state.network.layer0.params.W": np.full((4, 3), 1e300)}))
    with pytest.raises(ModelFileError, match="beyond the float32 range"):
        restore(_trainer(), load_checkpoint(path), path)


def test_a_damaged_history_fails_before_training_and_keeps_the_saved_model(stopped_run, capsys):
    header, arrays = model_file.read_archive(stopped_run / "checkpoint.npz", FORMAT, VERSION,
                                             "checkpoint")
    header["state"]["history"] = {"epoch": 1}
    model_file.write_archive(stopped_run / "checkpoint.npz", header, arrays)
    assert main(["train", "--resume", str(stopped_run)]) == 1
    assert "the history must be a list of 1 per-epoch records" in capsys.readouterr().err
    assert not (stopped_run / "model.npz").exists()


# -- 8. layers take float32 and float64 only -----------------------------------------------------
@pytest.mark.parametrize("dtype", ["int32", "bool", "complex64", "float16", np.int64, None])
def test_layers_refuse_non_float_dtypes(dtype):
    layers = [lambda: nnlearn.Dense(4, 3, dtype=dtype), lambda: nnlearn.Conv2D(1, 2, 3, dtype=dtype),
              lambda: nnlearn.BatchNorm(3, dtype=dtype), lambda: nnlearn.Dense(4, 3).astype(dtype),
              lambda: nnlearn.Sigmoid().astype(dtype)]
    for make in layers:
        with pytest.raises(ConfigError, match="dtype must be 'float32' or 'float64'"):
            make()


def test_layers_keep_float32_and_float64():
    for dtype in ("float32", "float64", np.float64):
        layer = nnlearn.Dense(4, 3, dtype=dtype, seed=0)
        assert layer.params["W"].dtype == np.dtype(dtype) and layer.params["W"].any()
        assert nnlearn.BatchNorm(3, dtype=dtype).astype("float32").params["gamma"].dtype == np.float32


# -- 6. raw tracebacks that are now errors ----------------------------------------------------------
def test_png_with_short_ihdr_or_plte_chunks(tmp_path):
    short_ihdr = bombs.png_file(tmp_path / "ihdr.png", 4, 4, ihdr=struct.pack(">IB", 4, 4))
    with pytest.raises(DataError, match="the IHDR chunk has 5 bytes, expected 13"):
        png.read_png(short_ihdr)
    short_plte = bombs.png_file(tmp_path / "plte.png", 4, 4, color=3, plte=bytes(5))
    with pytest.raises(DataError, match="the PLTE chunk has 5 bytes; expected 3 bytes per colour"):
        png.read_png(short_plte)
    zero = bombs.png_file(tmp_path / "zero.png", 4, 4, ihdr=struct.pack(">IIBBBBB", 0, 4, 8, 0,
                                                                         0, 0, 0))
    with pytest.raises(DataError, match="size 0×4"):
        png.read_png(zero)


def test_an_empty_test_set_is_a_data_error(tmp_path, capsys):
    folder = bombs.mnist_folder(tmp_path / "d", n_test=0)
    assert main(["train", "--data", str(folder), *RUN]) == 1
    assert "t10k-images-idx3-ubyte.gz holds no images" in capsys.readouterr().err


def test_deeply_nested_toml_is_a_config_error(tmp_path, capsys):
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert main(["train", "--config", str(deep)]) == 2
    assert "deep.toml is not valid TOML" in capsys.readouterr().err
    assert main(["train", "--set", "training.eta=" + "[" * 100_000, *RUN]) == 2
    assert "training.eta must be a finite number > 0" in capsys.readouterr().err


# -- 9. files ---------------------------------------------------------------------------------------
def test_a_bad_metrics_path_leaves_no_run_folder(tmp_path, capsys):
    folder = tmp_path / "run"
    for bad in (tmp_path / "missing" / "m.jsonl", tmp_path):
        assert main(["train", *RUN, "--epochs", "1", "--run-dir", str(folder),
                     "--metrics", str(bad)]) == 1
        err = capsys.readouterr().err
        assert "metrics file (--metrics)" in err or "is a folder" in err
        assert not folder.exists()
    assert main(["train", *RUN, "--epochs", "1", "--run-dir", str(folder), "--metrics",
                 str(tmp_path / "m.jsonl")]) == 0


def test_save_is_checked_before_training(tmp_path, capsys):
    assert main(["train", *RUN, "--epochs", "1", "--save", "/proc/m.npz"]) == 1
    captured = capsys.readouterr()
    assert "cannot write the model file (--save) /proc/m.npz: the folder /proc does not accept " \
           "new files" in captured.err
    assert "Epoch" not in captured.out and "Test accuracy" not in captured.out
    assert main(["train", *RUN, "--epochs", "1", "--save", str(tmp_path / "no" / "m.npz")]) == 1
    assert f"the folder {tmp_path / 'no'} does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_files_follow_the_umask(tmp_path, umask, capsys):
    old = os.umask(umask)
    try:
        assert main(["train", *RUN, "--epochs", "1", "--run-dir", str(tmp_path / "r")]) == 0
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "r").iterdir()}
    assert set(modes.values()) == {0o666 & ~umask}, modes
    model = tmp_path / "r" / "model.npz"
    model.chmod(0o640)
    nnlearn.load(model).save(model)  # a replaced file keeps its mode
    assert stat.S_IMODE(model.stat().st_mode) == 0o640


def test_fifos_and_folders_are_refused_at_once(tmp_path, seconds_limit, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert main(["evaluate", str(fifo)]) == 1
    assert f"{fifo} is a FIFO (named pipe), not a regular file" in capsys.readouterr().err
    assert main(["train", "--config", str(fifo)]) == 2
    assert "is a FIFO (named pipe)" in capsys.readouterr().err
    assert main(["predict", str(bombs.small_model(tmp_path / "m.npz")), str(fifo)]) == 1
    assert "is a FIFO (named pipe)" in capsys.readouterr().err
    folder = bombs.mnist_folder(tmp_path / "d")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    os.mkfifo(folder / "t10k-labels-idx1-ubyte")
    with pytest.raises(files.NotARegularFileError, match="is a FIFO"):
        nnlearn.datasets.load_idx_dataset(folder)
    with pytest.raises(files.NotARegularFileError, match="is a folder"):
        files.read_regular_bytes(tmp_path)
    with pytest.raises(files.NotARegularFileError, match="is a FIFO"):
        digits.load_image(fifo)


@pytest.mark.slow
def test_python_dash_m_nnlearn(tmp_path):
    done = subprocess.run([sys.executable, "-m", "nnlearn", "--version"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"nnlearn {nnlearn.__version__}"
    done = subprocess.run([sys.executable, "-m", "nnlearn", "evaluate", str(tmp_path / "x")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "nnlearn evaluate: error:" in done.stderr


@pytest.mark.slow
def test_an_allocation_the_estimates_miss_is_a_clean_out_of_memory_error(tmp_path):
    # --expand shifts makes 5 copies of the training set after the estimate: under a 1.2 GiB
    # address space the float64 expansion of 50,000 images (1.5 GB) fails in NumPy
    outcome = bombs.nnlearn("train", "--expand", "shifts", "--dtype", "float64", "--epochs", "1",
                            "--no-plots", "--quiet", limit=int(1.2 * 2**30), timeout=120)
    assert outcome.returncode == 1, outcome.stderr
    assert "nnlearn train: error: out of memory (Unable to allocate" in outcome.stderr
    assert "Traceback" not in outcome.stderr
