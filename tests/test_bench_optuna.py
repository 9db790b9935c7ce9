"""benchmarks/bench_optuna.py: its arithmetic, and at a tiny size its figures checked against
the sweep folders it leaves, then rendered into the report."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from bench_optuna import epochs_to_reach, main  # noqa: E402
from report import render  # noqa: E402

from nnlearn.experiments.runs.folder import Run  # noqa: E402


def test_epochs_to_reach_counts_in_finishing_order():
    rows = [{"epochs": 3, "validation_accuracy": 0.5}, {"epochs": 1, "validation_accuracy": None},
            {"epochs": 2, "validation_accuracy": 0.8}, {"epochs": 3, "validation_accuracy": 0.9}]
    assert epochs_to_reach(rows, 0.5) == 3
    assert epochs_to_reach(rows, 0.79) == 6
    assert epochs_to_reach(rows, 0.9) == 9
    assert epochs_to_reach(rows, 0.95) is None


@pytest.mark.slow
def test_tiny_run_figures_match_the_sweep_folders(tmp_path):
    pytest.importorskip("optuna")
    result = main(["--epochs", "2", "--train-size", "200", "--seeds", "0", "--results",
                   str(tmp_path / "results"), "--keep", str(tmp_path / "sweeps")])
    (seed,) = result["seeds"]
    assert json.loads((tmp_path / "results" / "optuna.json").read_text())["seeds"] == [seed]

    def trials(name):
        folders = sorted((tmp_path / "sweeps" / name / "trials").iterdir())
        return [(len(Run(f).metrics()), Run(f).summary()["sweep"]) for f in folders]

    grid = trials("grid-0")
    assert seed["grid_points"] == len(grid) == 20
    assert seed["grid_trial_epochs"] == sum(n for n, _ in grid)
    assert seed["grid_best"] == max(row["validation_accuracy"] or 0 for _, row in grid)
    tpe = trials("tpe-0")  # one process: trial-000, -001, ... finished in that order
    assert seed["tpe_trials"] == len(tpe) == 20
    assert seed["tpe_trial_epochs"] == sum(n for n, _ in tpe)
    assert seed["tpe_pruned"] == sum(row["status"] == "pruned" for _, row in tpe)
    spent, best, reach = 0, -1.0, None
    for n, row in tpe:
        spent += n
        best = max(best, row["validation_accuracy"] or 0)
        if reach is None and best >= seed["grid_best"] - 0.002:
            reach = spent
    assert seed["tpe_trial_epochs_to_reach"] == reach
    assert seed["met"] == (reach is not None and reach <= seed["grid_trial_epochs"] / 3)
    text = "\n".join(render(tmp_path / "results"))
    assert "## Optuna's TPE with median pruning against the full grid (`optuna.json`)" in text
    assert f"| 0 | {100 * seed['grid_best']:.2f} (" in text
    assert f"| {seed['grid_trial_epochs']} | 20 ({seed['tpe_pruned']}) | {reach} |" in text
