"""Resumable reproduction runs (nnlearn.experiments.reproduce.members): the long rungs of
chapter 6 and the ensembles' members train into stable run folders; a second start reuses
the finished ones, resumes a stopped one bit for bit, and never takes a run of another
config. Tiny sizes: a few hundred images, 1-2 epochs."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from nnlearn.errors import ConfigError
from nnlearn.experiments.reproduce import members
from nnlearn.experiments.reproduce.common import write_table, summarise
from nnlearn.experiments.reproduce.members import (ensemble_run, member_folder, scoring_split,
                                                   train_member)
from nnlearn.io.model_file import load
from nnlearn.nn.ensemble import Ensemble
from nnlearn.train.trainer import Trainer
from tests.paths import FUZZ

sys.path.insert(0, str(FUZZ))
import bombs  # noqa: E402


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """An MNIST folder of the first 400 training and 300 test images."""
    return bombs.mnist_folder(tmp_path_factory.mktemp("digits"), n_train=400, n_test=300)


def mlp(digits, epochs=2, **more):
    """A tiny preset spec: ``quick`` ([784,100,10] sigmoid) on 400 images."""
    return {"key": "q", "label": "quick", "preset": "quick",
            "overrides": {"data.source": str(digits), "data.train_size": 400,
                          "data.validation_size": 0, "training.epochs": epochs, **more}}


def convnet(digits):
    """``cnn-best`` (batch norm, dropout, random shifts, Adam, decay) on 200 images, 2 epochs:
    every piece of state a resume must restore (generator, moments, schedule, statistics)."""
    return {"key": "c", "label": "cnn", "preset": "cnn-best",
            "overrides": {"data.source": str(digits), "data.train_size": 200,
                          "data.validation_size": 0, "training.epochs": 2}}


@pytest.fixture
def trainings(monkeypatch):
    """How many times a Trainer ran (the real one, counted)."""
    count = []
    real = Trainer.run

    def counted(self, *args, **kwargs):
        count.append(self.end_epoch - self.epoch)  # epochs this run has to go
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "run", counted)
    return count


def test_a_second_start_reuses_the_finished_members(digits, tmp_path, trainings):
    spec, logs = mlp(digits), []
    first = ensemble_run(spec, 1, 3, logs.append, runs_dir=tmp_path)
    assert trainings == [2, 2, 2]
    folders = sorted(p.name for p in (tmp_path / "reproduce").iterdir())
    assert len(folders) == 3 and [f.split("-")[:2] for f in folders] == [
        ["q", "seed1"], ["q", "seed2"], ["q", "seed3"]]
    models = {f: (tmp_path / "reproduce" / f / "model.npz").stat().st_mtime_ns for f in folders}
    again = []
    second = ensemble_run(spec, 1, 3, again.append, runs_dir=tmp_path)
    assert trainings == [2, 2, 2]  # nothing trained the second time
    assert sum("reusing the finished run" in line for line in again) == 3
    assert models == {f: (tmp_path / "reproduce" / f / "model.npz").stat().st_mtime_ns
                      for f in folders}
    assert [m["status"] for m in second["members"]] == ["reused"] * 3
    assert [m["status"] for m in first["members"]] == ["trained"] * 3
    for key in ("vote", "mean", "final"):
        assert second[key] == first[key]
    assert [m["final"] for m in second["members"]] == [m["final"] for m in first["members"]]
    # the wall time of a reused member is the one its training took, from summary.json
    assert [m["seconds"] for m in second["members"]] == [m["seconds"] for m in first["members"]]


def test_a_stopped_member_resumes_bit_identical_to_an_uninterrupted_one(digits, tmp_path,
                                                                         trainings):
    spec = convnet(digits)

    def stop_after_first_epoch(record):
        if record["epoch"] == 1:
            raise KeyboardInterrupt  # as a Ctrl-C or a kill would, once epoch 1 is saved

    with pytest.raises(KeyboardInterrupt):
        train_member(spec, 1, lambda _: None, tmp_path / "a", on_epoch=stop_after_first_epoch)
    folder, cfg = member_folder(spec, 1, tmp_path / "a")
    assert (folder / "checkpoint.npz").is_file() and not (folder / "model.npz").exists()
    assert not members.is_finished(folder)
    logs = []
    resumed = train_member(spec, 1, logs.append, tmp_path / "a")
    assert resumed["status"] == "resumed" and trainings == [2, 1]
    assert any("resuming" in line and "from the checkpoint of epoch 1 (1 epochs to go)" in line
               for line in logs)
    # one line per epoch trained in this sitting, with the test accuracy the table takes
    epochs = [line for line in logs if ": epoch " in line]
    assert len(epochs) == 1 and epochs[0].startswith(
        f"    c seed 1: epoch 2/2, test accuracy {resumed['accuracy'][1]:.2f}%, ")
    assert epochs[0].endswith(" s to go (checkpoint saved)")
    whole = train_member(spec, 1, lambda _: None, tmp_path / "b")
    assert whole["status"] == "trained" and trainings == [2, 1, 2]
    a, b = resumed["network"].state_dict(), whole["network"].state_dict()
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert resumed["accuracy"] == whole["accuracy"] and len(resumed["accuracy"]) == 2
    saved = load(folder / "model.npz").state_dict()
    assert all(np.array_equal(saved[k], a[k]) for k in a)
    lines = (folder / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2]
    assert json.loads((folder / "summary.json").read_text())["reproduce"]["resumed"] is True
    assert resumed["seconds"] > 0 and members.is_finished(folder)


def test_a_changed_config_is_not_reused(digits, tmp_path, trainings):
    logs = []
    one = train_member(mlp(digits, epochs=1), 1, logs.append, tmp_path)
    two = train_member(mlp(digits, epochs=2), 1, logs.append, tmp_path)
    assert trainings == [1, 2] and two["status"] == "trained" and two["epochs"] == 2
    assert one["run_dir"] != two["run_dir"]
    assert any(f"not reusing {Path(one['run_dir']).name}" in line and "another config" in line
               for line in logs)
    eta = train_member(mlp(digits, epochs=1, **{"training.eta": 0.1}), 1, logs.append, tmp_path)
    assert eta["status"] == "trained" and trainings == [1, 2, 1]
    assert train_member(mlp(digits, epochs=1), 1, logs.append, tmp_path)["status"] == "reused"


def test_a_hand_edited_half_trained_run_is_refused(digits, tmp_path):
    spec = mlp(digits)

    def stop(record):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_member(spec, 1, lambda _: None, tmp_path, on_epoch=stop)
    folder, _ = member_folder(spec, 1, tmp_path)
    text = (folder / "config.toml").read_text()
    (folder / "config.toml").write_text(text.replace("eta = 0.5", "eta = 0.25"))
    with pytest.raises(ConfigError, match="holds a run of another config than its name says"):
        train_member(spec, 1, lambda _: None, tmp_path)


def test_the_table_has_vote_and_mean_columns_computed_from_the_members(digits, tmp_path):
    spec = mlp(digits, epochs=1, **{"model.hidden": [12]})
    result = ensemble_run(spec, 1, 3, lambda _: None, runs_dir=tmp_path)
    nets = [load(member_folder(spec, s, tmp_path)[0] / "model.npz") for s in (1, 2, 3)]
    X, y = scoring_split(spec, 1)
    assert len(y) == 300
    expanded = {**spec, "overrides": {**spec["overrides"], "data.expand": "shifts"}}
    X_e, y_e = scoring_split(expanded, 1)  # the test split, whatever the training data
    assert np.array_equal(X_e, X) and np.array_equal(y_e, y)
    ensemble = Ensemble(nets)
    for method in ("vote", "mean"):
        assert result[method] == pytest.approx(100 * ensemble.evaluate(X, y, method)["accuracy"])
    finals = [100 * net.evaluate(X, y)["accuracy"] for net in nets]
    assert [m["final"] for m in result["members"]] == pytest.approx(finals)
    assert result["final"] == result["mean"] and 30 < min(finals) < 100
    assert [m["epochs"] for m in result["members"]] == [1, 1, 1]
    row = summarise({"label": "tiny ensemble", "book": 99.0}, [result])
    text = write_table(tmp_path / "t.md", "T", "intro", [row], "nnlearn reproduce x")
    assert ("| experiment | seed | members' final % (mean) | majority vote % | mean of "
            "probabilities % | better |") in text
    assert f"| tiny ensemble | 1 | {np.mean(finals):.2f} ± {np.std(finals, ddof=1):.2f} | " \
           f"{result['vote']:.2f} | {result['mean']:.2f} |" in text
    for m in result["members"]:
        assert (f"| tiny ensemble | {m['seed']} | {m['final']:.2f} | 1 | {m['seconds']:.1f} | "
                f"trained |") in text
    # Rerunning another experiment of the table (reproduce --only) keeps the ensemble's section.
    other = summarise({"label": "other", "book": 90.0},
                      [{"seed": 1, "best": 91.0, "best_epoch": 1, "final": 90.5, "seconds": 2.0, "epochs": 1}])
    again = write_table(tmp_path / "t.md", "T", "intro", [other], "nnlearn reproduce x --only other",
                        keep={"tiny ensemble": "tiny"}, order=["tiny ensemble", "other"])
    ensemble_part = text[text.index("Ensembles:"):]
    assert ensemble_part.strip() in again and "| other | 1 | 91.00 | 1 | 90.50 |" in again


def test_epoch_lines_give_the_time_so_far_and_to_go():
    assert members.epoch_line("g", 2, 3, 40, 0.99251, 612.0, 7 * 3600 + 5 * 60) == (
        "    g seed 2: epoch 3/40, test accuracy 99.25%, 10 min so far, about 7 h 05 min to go "
        "(checkpoint saved)")
    assert members.epoch_line("q", 1, 1, 2, 0.5, 3.2, 2.6).endswith(
        "50.00%, 3 s so far, about 3 s to go (checkpoint saved)")


def test_compare_scores_members_and_both_combinations_from_one_pass():
    """Two members that disagree: the vote tie goes to the higher mean probability."""
    class Fixed:
        input_shape, output_shape = (1,), (3,)

        def __init__(self, P):
            self.P = np.array(P)

        def predict_proba(self, X, batch_size=None):
            return self.P

        def check_inputs(self, X, name="X"):
            return np.asarray(X, dtype=float)

        def targets(self, y, n, name="y"):
            return np.eye(3)[np.asarray(y)]

    a = Fixed([[0.98, 0.02, 0.0], [0.2, 0.8, 0.0], [0.5, 0.0, 0.5]])
    b = Fixed([[0.45, 0.55, 0.0], [0.3, 0.7, 0.0], [0.0, 0.0, 1.0]])
    c = Fixed([[0.45, 0.55, 0.0], [0.4, 0.6, 0.0], [0.0, 1.0, 0.0]])
    X, y = np.zeros((3, 1)), [0, 1, 2]
    scores = Ensemble([a, b, c]).compare(X, y)
    # row 0: votes 0,1,1 → vote 1 (wrong); mean (0.627, 0.373, 0) → 0 (right)
    # row 1: all vote 1 (right); row 2: a picks 0 (first max), b 2, c 1 → a three-way tie
    #        → the highest mean (0.167, 0.333, 0.5) → 2 (right); mean → 2 (right)
    assert scores["members"] == pytest.approx([2 / 3, 2 / 3, 1 / 3])
    assert scores["vote"] == pytest.approx(2 / 3) and scores["mean"] == pytest.approx(1.0)
    for method in ("vote", "mean"):
        assert scores[method] == Ensemble([a, b, c]).evaluate(X, y, method)["accuracy"]


def test_the_rows_that_take_hours_are_resumable_ensembles_of_the_right_members(tmp_path):
    from nnlearn.experiments.reproduce import best, ch6

    rungs = {s["key"]: s for s in ch6.specs()}
    assert rungs["g"]["resumable"] and rungs["h"]["engine"]
    rows = {s["key"]: s for s in best.specs()}
    ensemble = rows["cnn-best-ensemble"]
    assert rows["cnn-best"]["resumable"]  # its runs are the ensemble's members of seeds 1-3
    assert ensemble["seeds"] == 1 and ensemble["min_final_mean"] == 99.7
    # the members are cnn-best's runs of seeds 1-5, in folders named by key, seed and config
    names = [member_folder(rows["cnn-best"], s, tmp_path)[0].name for s in range(1, 6)]
    assert [n.rsplit("-", 1)[0] for n in names] == [f"cnn-best-seed{s}" for s in range(1, 6)]
    assert len({n.rsplit("-", 1)[1] for n in names}) == 5  # the seed is part of the config


def test_cli_reproduce_runs_dir_picks_up_a_half_finished_ensemble(digits, tmp_path, monkeypatch,
                                                                  trainings, capsys):
    """`nnlearn reproduce best --only ... --runs-dir DIR` through the CLI, with best's rows
    swapped for tiny ones: a member stopped half-way is resumed, the others are reused, and
    the table gets the ensemble's vote and mean-of-probabilities columns."""
    from nnlearn.cli import main
    from nnlearn.experiments.reproduce import best
    from nnlearn.experiments.reproduce.members import ensemble_spec

    member = {**mlp(digits), "resumable": True}
    rows = [member, ensemble_spec(member, "q-ensemble", "tiny ensemble", 99.0, size=3, seeds=1)]
    monkeypatch.setattr(best, "specs", lambda epochs=None: rows)
    runs, out = tmp_path / "runs", tmp_path / "out"

    def stop_seed_3(record):
        raise KeyboardInterrupt

    train_member(member, 1, lambda _: None, runs)
    with pytest.raises(KeyboardInterrupt):
        train_member(member, 3, lambda _: None, runs, on_epoch=stop_seed_3)
    assert trainings == [2, 2]
    command = ["reproduce", "best", "--only", "q-ensemble", "--runs-dir", str(runs),
               "--out", str(out)]
    assert main(command) == 0
    assert trainings == [2, 2, 2, 1]  # seed 2 trained, seed 3 resumed, seed 1 reused
    said = capsys.readouterr().out
    assert "quick seed 1: reusing the finished run" in said
    assert "quick seed 3: resuming" in said and "quick seed 2: training into" in said
    text = (out / "best.md").read_text()
    assert "| tiny ensemble | 1 |" in text and "majority vote %" in text
    assert re.findall(r"^\| tiny ensemble \| (\d) \| [\d.]+ \| 2 \| [\d.]+ \| (\w+) \|$", text,
                      re.M) == [("1", "reused"), ("2", "trained"), ("3", "resumed")]
    assert main(command) == 0
    assert trainings == [2, 2, 2, 1]  # the second start trains nothing


def test_a_member_killed_by_sigkill_is_resumed_bit_identical(digits, tmp_path):
    """A real ``kill -9`` of the training process right after epoch 1's checkpoint (no
    cleanup, its lock left behind): the next start resumes it and ends where a run that was
    never killed ends."""
    import os
    import signal
    import subprocess

    spec = mlp(digits, epochs=3, **{"model.hidden": [20]})
    code = ("import os, signal, sys\n"
            "from nnlearn.experiments.reproduce.members import train_member\n"
            "def kill(record):\n"
            "    if record['epoch'] == 1:\n"
            "        os.kill(os.getpid(), signal.SIGKILL)\n"
            f"train_member({spec!r}, 1, print, {str(tmp_path / 'killed')!r}, on_epoch=kill)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    folder, _ = member_folder(spec, 1, tmp_path / "killed")
    assert (folder / ".lock").exists() and not members.is_finished(folder)
    logs = []
    resumed = train_member(spec, 1, logs.append, tmp_path / "killed")
    assert resumed["status"] == "resumed"
    assert any("from the checkpoint of epoch 1 (2 epochs to go)" in line for line in logs)
    whole = train_member(spec, 1, lambda _: None, tmp_path / "whole")
    a, b = resumed["network"].state_dict(), whole["network"].state_dict()
    assert all(np.array_equal(a[k], b[k]) for k in a) and resumed["accuracy"] == whole["accuracy"]


def test_the_local_engine_trains_the_members_side_by_side_and_each_stays_resumable(
        digits, tmp_path, capfd):
    """``--engine local``: the members not finished on disk train in two worker processes at
    once, each in its own resumable run folder: a finished one is reused, a stopped one
    resumed and a missing one trained, and each ends as the same run trained here alone."""
    from nnlearn.experiments.sweeps.engines import LocalEngine

    spec = mlp(digits)

    def stop(record):
        raise KeyboardInterrupt

    train_member(spec, 1, lambda _: None, tmp_path / "runs")
    with pytest.raises(KeyboardInterrupt):
        train_member(spec, 2, lambda _: None, tmp_path / "runs", on_epoch=stop)
    logs = []
    row = ensemble_run(spec, 1, 3, logs.append, engine=LocalEngine(cpus=2),
                       runs_dir=tmp_path / "runs")
    said = capfd.readouterr().out  # the workers' lines, printed from their processes
    assert [m["status"] for m in row["members"]] == ["reused", "resumed", "trained"]
    assert any("2 members side by side on local (2 processes, 1 core(s) each)" in line
               for line in logs)
    assert "quick seed 2: resuming" in said and "quick seed 3: training into" in said
    assert all(members.is_finished(member_folder(spec, s, tmp_path / "runs")[0])
               for s in (1, 2, 3))
    alone = ensemble_run(spec, 1, 3, lambda _: None, runs_dir=tmp_path / "alone")
    assert [m["final"] for m in row["members"]] == [m["final"] for m in alone["members"]]
    assert (row["vote"], row["mean"]) == (alone["vote"], alone["mean"])
    for s in (2, 3):  # the networks themselves, bit for bit
        a = load(member_folder(spec, s, tmp_path / "runs")[0] / "model.npz").state_dict()
        b = load(member_folder(spec, s, tmp_path / "alone")[0] / "model.npz").state_dict()
        assert all(np.array_equal(a[k], b[k]) for k in a)


def test_a_member_that_fails_in_a_worker_is_named_and_the_others_finish(digits, tmp_path):
    from nnlearn.errors import DataError
    from nnlearn.experiments.sweeps.engines import LocalEngine

    spec = mlp(digits)
    bad = {**spec, "overrides": {**spec["overrides"], "data.source": str(tmp_path / "none")}}
    with pytest.raises(DataError, match="none"):
        LocalEngine(cpus=2).map(members.train_member_elsewhere,
                                [(bad, 1, tmp_path, 1), (spec, 2, tmp_path, 1)])
    assert members.is_finished(member_folder(spec, 2, tmp_path)[0])
