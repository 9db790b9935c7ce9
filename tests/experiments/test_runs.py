"""Run folders written by `nnlearn train`, progress output, presets and `reproduce all`."""

import io
import json
import re

import numpy as np
import pytest

import nnlearn
from nnlearn.experiments.config import files as cfgmod
from nnlearn.cli import main
from nnlearn.cli.progress import ProgressBar, make_progress
from nnlearn.experiments.runs.folder import RUNS_ENV, Run

QUICK = ["--hidden", "16", "--epochs", "2", "--train-size", "2000", "--seed", "3", "--no-plots"]


def test_a_run_folder_holds_config_metrics_model_and_summary(tmp_path, capsys):
    run_dir = tmp_path / "r1"
    assert main(["train", *QUICK, "--run-dir", str(run_dir), "--lmbda", "1.5"]) == 0
    out = capsys.readouterr().out
    run = Run.open(run_dir)
    cfg = run.config()
    assert cfg["model"]["hidden"] == [16] and cfg["regularization"]["lmbda"] == 1.5
    assert cfg["training"]["seed"] == 3 and cfg["data"]["train_size"] == 2000
    records = run.metrics()
    assert [r["epoch"] for r in records] == [1, 2]
    for key in ("training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy"):
        assert all(key in r for r in records), key
    assert records[-1]["evaluation_total"] == 10000 and records[-1]["training_total"] == 2000
    net = nnlearn.load(run.model_path)
    summary = run.summary()
    data = nnlearn.data.load_mnist()
    assert net.evaluate(*data.test)["accuracy"] == summary["test_accuracy"] > 0.8
    assert net.metadata["config"] == cfg
    assert f"Test accuracy: {100 * summary['test_accuracy']:.2f}%" in out
    assert f"run folder: {run_dir}" in out


def test_rerunning_a_runs_config_reproduces_it_bit_for_bit(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["train", *QUICK, "--run-dir", str(first), "--quiet"]) == 0
    assert main(["train", "--config", str(first / "config.toml"), "--run-dir", str(second),
                 "--quiet", "--no-plots"]) == 0
    a, b = nnlearn.load(first / "model.npz"), nnlearn.load(second / "model.npz")
    for (pa, _), (pb, _) in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa, pb)
    assert (first / "config.toml").read_text() == (second / "config.toml").read_text()


def test_default_names_use_time_and_label_and_never_collide(tmp_path, monkeypatch):
    monkeypatch.setenv(RUNS_ENV, str(tmp_path))
    cfg = cfgmod.resolve({"name": "my exp"})
    a, b = Run.create(cfg), Run.create(cfg)
    assert re.fullmatch(r"\d{8}-\d{6}-my-exp", a.path.name), a.path.name
    assert b.path != a.path and b.path.name.startswith(a.path.name)
    unnamed = Run.create(cfgmod.resolve())
    assert unnamed.path.name.endswith(cfgmod.config_hash(cfgmod.resolve()))
    assert a.path.parent == tmp_path
    assert Run.create(cfg, name="fixed").path == tmp_path / "fixed"


def test_a_taken_name_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(RUNS_ENV, str(tmp_path))
    assert main(["train", *QUICK, "--epochs", "1", "--name", "same", "--quiet"]) == 0
    assert main(["train", *QUICK, "--epochs", "1", "--name", "same", "--quiet"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["train", *QUICK, "--name", "a/b"]) == 2


def test_not_a_run_folder(tmp_path, capsys):
    with pytest.raises(nnlearn.DataError, match="not a run folder"):
        Run.open(tmp_path)
    assert main(["plot", str(tmp_path / "missing")]) == 1
    assert "not a run folder" in capsys.readouterr().err


def test_quiet_prints_only_the_summary(tmp_path, capsys):
    assert main(["train", *QUICK, "--run-dir", str(tmp_path / "q"), "--quiet"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Test accuracy:")


def test_training_options_from_flags_reach_the_trainer(tmp_path):
    run_dir = tmp_path / "opts"
    assert main(["train", "--hidden", "16", "--epochs", "3", "--train-size", "1000", "--seed", "1",
                 "--optimizer", "momentum", "--set", "optimizer.mu=0.5", "--eta", "0.1",
                 "--schedule", "step", "--set", "schedule.step_size=1", "--dropout", "0.1",
                 "--max-norm", "2", "--run-dir", str(run_dir), "--quiet", "--no-plots"]) == 0
    etas = [r["eta"] for r in Run.open(run_dir).metrics()]
    assert etas == pytest.approx([0.1, 0.05, 0.025])  # step decay γ = 0.5 every epoch
    net = nnlearn.load(run_dir / "model.npz")
    assert [type(l).__name__ for l in net.layers].count("Dropout") == 1
    norms = np.sqrt((net.layers[0].params["W"] ** 2).sum(axis=0))
    assert norms.max() <= 2.0 + 1e-5


def test_a_convnet_preset_runs_from_the_cli(tmp_path):
    run_dir = tmp_path / "conv"
    layers = ('model.layers=[{type="Conv2D", out_channels=4, kernel_size=5}, {type="ReLU"}, '
              '{type="MaxPool2D", pool_size=2}, {type="Flatten"}, {type="Dense"}, {type="Softmax"}]')
    assert main(["train", "--preset", "ch6-conv1", "--set", layers, "--epochs", "1",
                 "--train-size", "300", "--validation-size", "1000", "--eta", "0.1",
                 "--seed", "0", "--run-dir", str(run_dir), "--quiet", "--no-plots"]) == 0
    net = nnlearn.load(run_dir / "model.npz")
    assert net.input_shape == (1, 28, 28) and type(net.layers[0]).__name__ == "Conv2D"
    assert Run.open(run_dir).summary()["test_accuracy"] > 0.3


def test_list_presets(capsys):
    assert main(["train", "--list-presets"]) == 0
    out = capsys.readouterr().out
    for name in cfgmod.list_presets():
        assert re.search(rf"^{re.escape(name)}\s+\S", out, re.M), name
    assert "98.04%" in out


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_only_on_a_terminal():
    assert make_progress(io.StringIO()) is None
    assert make_progress(FakeTerminal(), quiet=True) is None
    stream = FakeTerminal()
    bar = make_progress(stream, kind="builtin")
    assert isinstance(bar, ProgressBar)
    bar.reset("Epoch 1")
    bar(50, 100)
    bar.close()
    text = stream.getvalue()
    assert text.startswith("\rEpoch 1 [" + "#" * 15 + "." * 15 + "] 50/100 batches")


def test_tqdm_bar_when_installed():
    pytest.importorskip("tqdm")
    from nnlearn.cli.progress import TqdmBar

    stream = FakeTerminal()
    bar = make_progress(stream)
    assert isinstance(bar, TqdmBar)
    bar.reset("Epoch 1")
    bar(10, 20)
    bar.close()
    assert "Epoch 1" in stream.getvalue()


def test_reproduce_all_runs_every_chapter(monkeypatch, tmp_path):
    import nnlearn.experiments.reproduce as rep

    calls = []
    monkeypatch.setattr(rep, "reproduce", lambda chapter, **kw: calls.append((chapter, kw)))
    assert main(["reproduce", "all", "--seeds", "1", "--epochs", "1", "--out", str(tmp_path)]) == 0
    assert [c for c, _ in calls] == list(rep.CHAPTERS)
    assert all(kw == {"seeds": 1, "epochs": 1, "only": None, "out_dir": str(tmp_path)} for _, kw in calls)
    calls.clear()
    assert main(["reproduce", rep.CHAPTERS[0], "--seeds", "2"]) == 0
    assert [c for c, _ in calls] == [rep.CHAPTERS[0]]


def test_metrics_jsonl_damage_is_reported(tmp_path):
    run = Run.create(cfgmod.resolve(), run_dir=tmp_path / "d")
    run.append_metrics({"epoch": 1, "training_cost": 0.5})
    with open(run.metrics_path, "a") as f:
        f.write("{oops\n")
    with pytest.raises(nnlearn.DataError, match=r"metrics.jsonl:2"):
        run.metrics()
    assert json.loads(run.metrics_path.read_text().splitlines()[0])["epoch"] == 1
