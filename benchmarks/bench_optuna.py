"""Does Optuna's TPE with pruning find the grid's best for a third of the work? Writes
benchmarks/results/optuna.json and docs/benchmarks.md.

On configs/search/ch3-eta-lambda.toml (eta x lambda, 4 x 5 = 20 points, the book's reduced
chapter-3 problem), for each seed: the full grid (nnlearn's own, every trial to its last
epoch), then the same values searched by TPE with a pruner (``[sweep] sampler = "tpe"``,
``pruner``), as many trials as the grid has points. Every trial of both trains with
``training.seed = seed``, so a point gives the same curve in both until the pruner stops it.
Work is counted in trial-epochs (epochs trained, summed over trials, in the order the
trials finished). The question, per seed: after how many trial-epochs is TPE's best
validation accuracy within ``--tolerance`` points (default 0.2) of the grid's best, and is
that at most a third of the grid's trial-epochs?

The grid's sweep is the reference: ``--grid-trials`` is not a thing. The TPE sweep runs its
trials on ``--cpus`` worker processes (default 1: the trials then run in a fixed order and
the figures repeat exactly); the pruner compares each trial with those that reported before.

Usage (3 seeds x (600 grid + up to 600 TPE) trial-epochs of 1,000 images; 15-30 min on one core):
    python benchmarks/bench_optuna.py [--seeds 0 1 2] [--pruner median|asha] [--cpus 1]
A quick look at reduced size (what the tests run):
    python benchmarks/bench_optuna.py --epochs 3 --train-size 300 --seeds 0 --results /tmp/o
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from common import environment, write_result

ROOT = Path(__file__).resolve().parents[1]
SPACE = ROOT / "configs" / "search" / "ch3-eta-lambda.toml"


def space_text(epochs: int | None, train_size: int | None, sweep: str) -> str:
    """The benchmark's space file: ch3-eta-lambda.toml, its base made absolute, optionally
    reduced, plus a ``[sweep]`` table."""
    text = SPACE.read_text(encoding="utf-8")
    if train_size is not None:
        text = text.replace("train_size = 1000", f"train_size = {train_size}")
    if epochs is not None:
        text = text.replace("[data]", f"[training]\nepochs = {epochs}\n\n[data]", 1)
    return text + "\n[sweep]\n" + sweep


def trial_epochs(rows: list[dict[str, Any]]) -> int:
    return sum(int(r["epochs"]) for r in rows)


def epochs_to_reach(rows: list[dict[str, Any]], target: float) -> int | None:
    """Trial-epochs spent (in finishing order) when the best accuracy so far first reaches
    ``target``; ``None`` if it never does."""
    spent, best = 0, -1.0
    for row in rows:
        spent += int(row["epochs"])
        accuracy = row.get("validation_accuracy")
        if accuracy is not None:
            best = max(best, accuracy)
        if best >= target:
            return spent
    return None


def measure_seed(seed: int, folder: Path, *, epochs: int | None, train_size: int | None,
                 pruner: str, cpus: int, tolerance: float) -> dict[str, Any]:
    """The grid and TPE sweeps of one seed; their figures."""
    from nnlearn.experiments.sweeps import search
    from nnlearn.experiments.sweeps.engines import LocalEngine

    grid_space = folder / f"grid-{seed}.toml"
    grid_space.write_text(space_text(epochs, train_size, f"seed = {seed}\n"), encoding="utf-8")
    grid = search.run_search(grid_space, LocalEngine(cpus=cpus), name=f"grid-{seed}", root=folder)
    points = len(grid.specs)
    tpe_space = folder / f"tpe-{seed}.toml"
    tpe_space.write_text(space_text(epochs, train_size, f'seed = {seed}\nsampler = "tpe"\n'
                                    f'pruner = "{pruner}"\ntrials = {points}\n'),
                         encoding="utf-8")
    tpe = search.run_search(tpe_space, LocalEngine(cpus=cpus), name=f"tpe-{seed}", root=folder)
    grid_best = grid.best["validation_accuracy"]
    target = grid_best - tolerance / 100
    reach = epochs_to_reach(tpe.rows, target)
    grid_work = trial_epochs(grid.rows)
    return {"seed": seed, "grid_points": points, "grid_trial_epochs": grid_work,
            "grid_best": grid_best, "grid_best_settings": grid.best["settings"],
            "tpe_trials": len(tpe.rows), "tpe_pruned": sum(r["status"] == "pruned"
                                                            for r in tpe.rows),
            "tpe_trial_epochs": trial_epochs(tpe.rows), "tpe_best": tpe.best["validation_accuracy"],
            "tpe_best_settings": tpe.best["settings"],
            "tpe_trial_epochs_to_reach": reach,
            "fraction_of_grid": None if reach is None else reach / grid_work,
            "met": reach is not None and reach <= grid_work / 3}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--pruner", choices=("median", "asha"), default="median")
    parser.add_argument("--cpus", type=int, default=1, help="trial processes (default 1)")
    parser.add_argument("--tolerance", type=float, default=0.2,
                        help="percentage points below the grid's best that count (default 0.2)")
    parser.add_argument("--epochs", type=int, default=None, help="reduce: epochs per trial")
    parser.add_argument("--train-size", type=int, default=None, help="reduce: training images")
    parser.add_argument("--results", type=Path, default=None,
                        help="folder of the JSON results (default benchmarks/results; the "
                             "report is rewritten only there)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the sweep folders here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        seeds = [measure_seed(seed, folder, epochs=args.epochs, train_size=args.train_size,
                              pruner=args.pruner, cpus=args.cpus, tolerance=args.tolerance)
                 for seed in args.seeds]
    command = "python benchmarks/bench_optuna.py " + " ".join(argv if argv is not None
                                                               else sys.argv[1:])
    result = {"benchmark": "optuna", "command": command.strip(), "space": str(SPACE.relative_to(ROOT)),
              "pruner": args.pruner, "cpus": args.cpus, "tolerance_points": args.tolerance,
              "epochs": args.epochs, "train_size": args.train_size, "seeds": seeds,
              "met_all": all(s["met"] for s in seeds), "env": environment()}
    if args.results is None:
        import report

        write_result("optuna", result)
        report.main([])
    else:
        args.results.mkdir(parents=True, exist_ok=True)
        (args.results / "optuna.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
