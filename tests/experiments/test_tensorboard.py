"""TensorBoard event files, read back with TensorBoard's own reader and compared with
metrics.jsonl: live from `nnlearn train --log tensorboard`, converted by `nnlearn plot RUN
--tensorboard`, and one per sweep trial."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from nnlearn.cli import main
from nnlearn.experiments.runs.folder import Run
from nnlearn.io.model_file import load
from tests.paths import REPO

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

TINY = ["--hidden", "10", "--epochs", "3", "--train-size", "300", "--validation-size", "500",
        "--seed", "4", "--no-plots", "--quiet"]


def read_events(folder: Path):
    acc = event_accumulator.EventAccumulator(str(folder), size_guidance={
        event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0})
    acc.Reload()
    return acc


def scalar_series(acc, tag: str) -> dict[int, float]:
    return {e.step: e.value for e in acc.Scalars(tag)}


def assert_scalars_match_metrics(acc, run: Run) -> None:
    records = run.metrics()
    assert len(records) == 3
    for tag, key in [("cost/training", "training_cost"), ("accuracy/training", "training_accuracy"),
                     ("cost/evaluation", "evaluation_cost"),
                     ("accuracy/evaluation", "evaluation_accuracy"), ("run/eta", "eta")]:
        series = scalar_series(acc, tag)
        assert sorted(series) == [1, 2, 3], tag
        expected = [r[key] for r in records]
        np.testing.assert_allclose([series[e] for e in (1, 2, 3)], expected, rtol=1e-6, atol=0)


def test_train_with_log_tensorboard_writes_epochs_and_weight_histograms(tmp_path):
    run_dir = tmp_path / "run"
    assert main(["train", *TINY, "--log", "tensorboard", "--run-dir", str(run_dir)]) == 0
    run = Run.open(run_dir)
    assert run.config()["log"]["writer"] == "tensorboard"
    acc = read_events(run_dir / "tensorboard")
    assert_scalars_match_metrics(acc, run)
    assert set(acc.Tags()["histograms"]) == {"weights/0.Dense.W", "weights/0.Dense.b",
                                             "weights/2.Dense.W", "weights/2.Dense.b"}
    last = acc.Histograms("weights/0.Dense.W")
    assert [h.step for h in last] == [1, 2, 3]
    W = load(run.model_path).layers[0].params["W"]  # the last epoch's histogram is of these
    h = last[-1].histogram_value
    assert h.num == W.size == 784 * 10
    np.testing.assert_allclose([h.min, h.max, h.sum], [W.min(), W.max(), W.sum()], rtol=1e-5)


def test_convert_an_existing_run(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["train", *TINY, "--run-dir", str(run_dir)]) == 0
    assert not (run_dir / "tensorboard").exists()  # log.writer defaults to none
    capsys.readouterr()
    assert main(["plot", str(run_dir), "--tensorboard"]) == 0
    assert f"tensorboard --logdir {run_dir}" in capsys.readouterr().out
    run = Run.open(run_dir)
    acc = read_events(run_dir / "tensorboard")
    assert_scalars_match_metrics(acc, run)
    (h,) = acc.Histograms("weights/2.Dense.W")  # the saved model, at the last epoch
    W = load(run.model_path).layers[2].params["W"]
    assert h.step == 3 and h.histogram_value.num == W.size
    np.testing.assert_allclose(h.histogram_value.sum, W.sum(), rtol=1e-5)
    # a second conversion would double every point: refused, naming the fix
    assert main(["plot", str(run_dir), "--tensorboard"]) == 1
    assert "already holds event files" in capsys.readouterr().err


def test_sweep_writes_one_log_per_trial(tmp_path, monkeypatch):
    from nnlearn.experiments.runs.folder import RUNS_ENV
    from tensorboard.backend.event_processing.plugin_event_multiplexer import EventMultiplexer

    space = tmp_path / "space.toml"
    space.write_text('[data]\ntrain_size = 300\nvalidation_size = 500\n[model]\nhidden = [10]\n'
                     '[training]\nepochs = 2\n[log]\nwriter = "tensorboard"\n'
                     '[search]\n"training.eta" = [0.5, 3.0]\n', encoding="utf-8")
    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "runs"))
    assert main(["search", str(space), "--name", "tb", "--quiet"]) == 0
    sweep = tmp_path / "runs" / "tb"
    # what `tensorboard --logdir SWEEP` does: one run per folder holding event files
    mux = EventMultiplexer().AddRunsFromDirectory(str(sweep))
    mux.Reload()
    runs = sorted(mux.Runs())
    assert runs == ["trials/trial-000/tensorboard", "trials/trial-001/tensorboard"]
    for name in runs:
        run = Run.open(sweep / Path(name).parent)
        acc = read_events(sweep / name)
        assert set(scalar_series(acc, "run/eta").values()) == {run.config()["training"]["eta"]}
        series = scalar_series(acc, "accuracy/evaluation")
        expected = {r["epoch"]: r["evaluation_accuracy"] for r in run.metrics()}
        assert series.keys() == expected.keys() == {1, 2}
        np.testing.assert_allclose([series[k] for k in (1, 2)], [expected[k] for k in (1, 2)],
                                   rtol=1e-6)


def test_without_tensorboardx_the_install_hint_comes_before_any_work(tmp_path, monkeypatch,
                                                                       capsys):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # import tensorboardX → ImportError
    run_dir = tmp_path / "run"
    assert main(["train", *TINY, "--log", "tensorboard", "--run-dir", str(run_dir)]) == 1
    assert 'pip install "nnlearn[tensorboard]" (or pip install ".[tensorboard]"' in capsys.readouterr().err
    assert not run_dir.exists()


def test_the_docs_commands_run(tmp_path, monkeypatch):
    """docs/interop.md's TensorBoard commands, run as written (on 300 images, 2 epochs), and
    what `tensorboard --logdir runs` then finds."""
    import re
    import shlex

    from tensorboard.backend.event_processing.plugin_event_multiplexer import EventMultiplexer

    text = (REPO / "docs" / "interop.md").read_text()
    section = text[text.index("## TensorBoard"):]
    lines = re.search(r"```bash\n(.*?)```", section, re.S).group(1).strip().splitlines()
    monkeypatch.chdir(tmp_path)
    small = ["--train-size", "300", "--validation-size", "500", "--epochs", "2", "--quiet",
             "--no-plots"]
    for line in lines:
        argv = shlex.split(line)
        if argv[0] == "tensorboard":
            logdir = argv[argv.index("--logdir") + 1]
            continue
        assert argv[0] == "nnlearn"
        assert main(argv[1:] + (small if argv[1] == "train" else [])) == 0, line
    mux = EventMultiplexer().AddRunsFromDirectory(str(tmp_path / logdir))
    mux.Reload()
    assert sorted(mux.Runs()) == ["quick-tb/tensorboard", "quick/tensorboard"]
    toml = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    assert toml == '[log]\nwriter = "tensorboard"\n'  # what test_sweep_writes_one_log_per_trial uses


def test_a_resumed_log_drops_the_steps_past_the_checkpoint(tmp_path):
    """What `nnlearn train --resume` does (purge_step = first epoch trained again): epochs an
    interrupted run logged after its checkpoint appear once, with the resumed values."""
    from nnlearn.experiments.runs.tensorboard import EventLog

    first = EventLog(tmp_path)
    for epoch in (1, 2, 3):
        first.epoch({"epoch": epoch, "training_cost": float(epoch)})
    first.close()
    resumed = EventLog(tmp_path, purge_step=3)  # the checkpoint held epoch 2
    for epoch in (3, 4):
        resumed.epoch({"epoch": epoch, "training_cost": 10.0 * epoch})
    resumed.close()
    acc = read_events(tmp_path / "tensorboard")
    assert [(e.step, e.value) for e in acc.Scalars("cost/training")] == \
        [(1, 1.0), (2, 2.0), (3, 30.0), (4, 40.0)]
