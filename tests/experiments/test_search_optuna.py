"""Sweeps whose trials Optuna proposes ([sweep] sampler, pruner): the study in the sweep folder
agrees with the trials' own records, pruned trials stop where the pruner said, --resume
continues the study, and optuna-dashboard reads the file."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from nnlearn.cli import main
from nnlearn.experiments.runs.folder import Run
from nnlearn.experiments.sweeps import search
from nnlearn.experiments.sweeps.engines import LocalEngine
from nnlearn.experiments.sweeps.optuna_study import STUDY_FILE
from tests.paths import REPO

optuna = pytest.importorskip("optuna")

TINY = """
[data]
train_size = 300
validation_size = 500

[model]
hidden = [10]

[training]
epochs = 4
"""


def space_file(folder: Path, body: str) -> Path:
    path = folder / "space.toml"
    path.write_text(TINY + body, encoding="utf-8")
    return path


def load_study(folder: Path):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    storage = JournalStorage(JournalFileBackend(str(folder / STUDY_FILE)))
    return optuna.load_study(study_name=folder.name, storage=storage)


def test_grid_with_asha_pruning_stops_the_poor_trials_after_one_epoch(tmp_path):
    """One worker, so the order is fixed (eta 1.0 first, by the grid sampler's seed): with
    reduction factor 2, a trial continues past epoch 1 only in the top half of the epoch-1
    accuracies so far, so every later one is pruned there; the study holds what the trial
    folders hold."""
    path = space_file(tmp_path, '[search]\n"training.eta" = [0.0001, 0.0002, 1.0, 3.0]\n'
                                '[sweep]\nsampler = "grid"\npruner = "asha"\nseed = 0\n')
    sweep = search.run_search(path, LocalEngine(cpus=1), name="grid", root=tmp_path)
    rows = {row["trial"]: row for row in sweep.rows}
    assert len(rows) == 4
    order = [rows[f"trial-{i:03d}"] for i in range(4)]
    assert order[0]["settings"]["training.eta"] == 1.0 and order[0]["status"] == "completed"
    first_epoch = [Run(r["run_dir"]).metrics()[0]["evaluation_accuracy"] for r in order]
    for i, row in enumerate(order[1:], 1):
        assert first_epoch[i] < max(first_epoch[:i])  # below the best at that rung so far
        assert row["status"] == "pruned" and row["epochs"] == 1, row
    pruned = order[1:]
    study = load_study(sweep.folder)
    assert len(study.trials) == 4
    for trial in study.trials:
        row = rows[f"trial-{trial.number:03d}"]
        assert trial.params == {"training.eta": row["settings"]["training.eta"]}
        curve = {r["epoch"]: r["evaluation_accuracy"] for r in Run(row["run_dir"]).metrics()}
        if row["status"] == "pruned":
            assert trial.state == optuna.trial.TrialState.PRUNED and row["stopped_by"] == "asha"
            assert row["epochs"] == len(curve) < 4  # stopped where the pruner said
            assert (Path(row["run_dir"]) / "model.npz").is_file()  # the model of that epoch
            # every epoch it trained was reported, and nothing after
            assert trial.intermediate_values == curve
        else:
            assert trial.state == optuna.trial.TrialState.COMPLETE
            assert trial.value == row["validation_accuracy"] == max(curve.values())
    assert study.best_trial.value == sweep.best["validation_accuracy"]
    csv = (sweep.folder / "results.csv").read_text()
    assert csv.count(",pruned,") == len(pruned)


@pytest.mark.slow
def test_tpe_with_median_pruner_and_resume_continue_the_study(tmp_path, capsys, monkeypatch):
    """Interrupt after the first result (two trials running), resume: the study ends with
    the planned number of trials, none lost or run twice."""
    doc = (REPO / "docs" / "interop.md").read_text()
    sweep_table = re.search(r"```toml\n(\[sweep\]\n.*?)```", doc, re.S).group(1)
    assert "trials = 10\n" in sweep_table  # the docs' table, with fewer trials here
    path = space_file(tmp_path, '[search]\n"training.eta" = {low = 0.05, high = 5.0, '
                                'scale = "log"}\n"model.hidden" = [[10], [20]]\n'
                                + sweep_table.replace("trials = 10", "trials = 5") + 'seed = 3\n')

    def interrupt(row):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        search.run_search(path, LocalEngine(cpus=2), name="tpe", root=tmp_path,
                          on_result=interrupt)
    folder = tmp_path / "tpe"
    assert len(load_study(folder).trials) == 2  # the second was still running
    sweep = search.run_search(path, LocalEngine(cpus=2), name="tpe", root=tmp_path, resume=True)
    study = load_study(folder)
    assert len(sweep.rows) == len(study.trials) == 5 and not sweep.unfinished
    assert all(t.state.is_finished() for t in study.trials)
    assert len({row["trial"] for row in sweep.rows}) == 5
    for row in sweep.rows:
        assert row["settings"]["model.hidden"] in ([10], [20])  # lists round-trip
        assert 0.05 <= row["settings"]["training.eta"] <= 5.0
        assert Run(row["run_dir"]).config()["model"]["hidden"] == row["settings"]["model.hidden"]
    # a changed sampler is not the same study
    changed = path.read_text().replace('pruner = "median"', 'pruner = "none"')
    path.write_text(changed)
    monkeypatch.setenv("NNLEARN_RUNS_DIR", str(tmp_path))
    assert main(["search", str(path), "--name", "tpe", "--resume"]) == 2
    assert "resume with the same space" in capsys.readouterr().err


@pytest.mark.parametrize("body, phrase", [
    ('[search]\n"training.eta" = [0.1, 1.0]\n[sweep]\nsampler = "bayes"\n',
     "[sweep] sampler: unknown value 'bayes'; expected one of grid, random, tpe"),
    ('[search]\n"training.eta" = [0.1, 1.0]\n[sweep]\npruner = "median"\n',
     "[sweep] pruner needs a sampler"),
    ('[search]\n"training.eta" = {low = 0.1, high = 1.0}\n[sweep]\nsampler = "tpe"\n',
     "sampler 'tpe' needs a number of trials"),
    ('[search]\n"training.eta" = {low = 0.1, high = 1.0}\n[sweep]\nsampler = "grid"\n'
     'trials = 2\n', "sampler 'grid' tries grid lists only"),
    ('[data]\nvalidation_size = 0\n[search]\n"training.eta" = [0.1]\n[sweep]\nsampler = "grid"\n',
     "Optuna maximises the validation accuracy"),
    ('[search]\n"training.eta" = [0.1]\n[sweep]\nsampler = "grid"\nscheduler = "asha"\n',
     'use pruner = "asha"'),
])
def test_bad_optuna_settings_exit_2_before_anything_runs(tmp_path, capsys, monkeypatch, body,
                                                        phrase):
    monkeypatch.setenv("NNLEARN_RUNS_DIR", str(tmp_path))
    path = tmp_path / "bad.toml"
    path.write_text(TINY + body if "[data]" not in body else body, encoding="utf-8")
    assert main(["search", str(path), "--name", "bad"]) == 2
    assert phrase in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_without_optuna_the_install_hint(tmp_path, monkeypatch, capsys):
    from nnlearn.experiments.runs.folder import RUNS_ENV

    monkeypatch.setenv(RUNS_ENV, str(tmp_path / "runs"))
    monkeypatch.setitem(sys.modules, "optuna", None)
    path = space_file(tmp_path, '[search]\n"training.eta" = [0.1]\n[sweep]\nsampler = "grid"\n')
    assert main(["search", str(path), "--name", "x"]) == 1
    assert 'pip install "nnlearn[optuna]" (or pip install ".[optuna]"' in capsys.readouterr().err
    assert not (tmp_path / "runs" / "x").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_optuna_dashboard_reads_the_study(tmp_path):
    """`optuna-dashboard runs/<sweep>/optuna.journal`, as docs/interop.md says, on loopback."""
    import shutil

    dashboard = shutil.which("optuna-dashboard")
    if dashboard is None:
        pytest.skip("optuna-dashboard is not installed (it is in the test extra)")
    path = space_file(tmp_path, '[search]\n"training.eta" = [0.5, 3.0]\n'
                                '[sweep]\nsampler = "grid"\n')
    sweep = search.run_search(path, LocalEngine(cpus=1), name="dash", root=tmp_path)
    port = _free_port()
    proc = subprocess.Popen([dashboard, str(sweep.folder / STUDY_FILE), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies",
                                            timeout=5) as response:
                    studies = json.load(response)["study_summaries"]
                break
            except OSError:
                assert proc.poll() is None, "optuna-dashboard exited"
                assert time.monotonic() < deadline, "optuna-dashboard did not answer in 60 s"
                time.sleep(0.3)
        (study,) = studies
        assert study["study_name"] == "dash"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies/"
                                    f"{study['study_id']}?after=0", timeout=10) as response:
            trials = json.load(response)["trials"]
        values = sorted(t["values"][0] for t in trials)
        assert values == sorted(r["validation_accuracy"] for r in sweep.rows)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
