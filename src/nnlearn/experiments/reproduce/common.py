"""Shared machinery of the book reproductions: run a spec over seeds, write a table.

A *spec* is a plain dict::

    {"label": "...", "book": 95.42,                # the book's best test accuracy, %
     "network": {...},                             # kwargs of Network.from_sizes (or "build": callable(seed))
     "fit": {...}}                                 # kwargs of Network.fit (epochs, mini_batch_size, eta, ...)

Each run monitors test accuracy after every epoch (as the book's figures do) and
records the best and the final epoch's accuracy and the wall time.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy

from nnlearn.experiments.config import files as config
from nnlearn.experiments.runs.builder import prepare
from nnlearn.nn.network import Network


def run_spec(spec: dict[str, Any], seed: int, data, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Train one network of ``spec`` with ``seed``; ``data`` is ``(train, test)`` pairs.

    A spec with ``"preset"`` names a shipped experiment config (its own data,
    architecture and training options; ``"overrides"`` are dotted config keys) and
    ignores ``data``; otherwise ``"network"`` holds ``Network.from_sizes`` kwargs.
    """
    if "preset" in spec:
        net, (X, y), (X_test, y_test), options = build_preset(spec, seed)
    else:
        (X, y), (X_test, y_test) = data
        net, options = Network.from_sizes(seed=seed, **spec["network"]), spec["fit"]
    start = time.perf_counter()
    history = net.fit(X, y, validation_data=(X_test, y_test), monitor=("evaluation_accuracy",),
                      **options)
    wall = time.perf_counter() - start
    acc = [100 * a for a in history["evaluation_accuracy"]]
    result = {"seed": seed, "best": max(acc), "best_epoch": acc.index(max(acc)) + 1,
              "final": acc[-1], "epochs": len(acc), "seconds": wall, "network": net,
              "accuracy": acc, "train_seconds": list(history["train_seconds"])}
    log(f"  {spec['label']} seed {seed}: best {result['best']:.2f}% (epoch {result['best_epoch']}), "
        f"final {result['final']:.2f}%, {wall:.1f} s")
    return result


def build_preset(spec: dict[str, Any], seed: int):
    """``(network, train, test, trainer options)`` for a spec naming a shipped preset,
    assembled by :func:`nnlearn.experiments.runs.builder.prepare` like every run (the
    stray-label rule and the memory check included)."""
    run = prepare(preset_config(spec, seed))
    options = {k: v for k, v in run.options.items() if k != "monitor"}  # run_spec monitors
    return run.network, run.train, run.test, options


def preset_config(spec: dict[str, Any], seed: int) -> dict[str, Any]:
    """The resolved config of a spec naming a shipped preset, with ``seed`` and its overrides."""
    overrides = {"training.seed": seed, **spec.get("overrides", {})}
    return config.resolve(config.load_preset(spec["preset"]), overrides=overrides)


def time_to(run: dict[str, Any], target: float) -> tuple[int, float] | None:
    """``(epoch, training seconds)`` of the first epoch whose test accuracy reached
    ``target`` %, the seconds summed over the epochs' training (evaluation excluded);
    None when no epoch did."""
    for epoch, (accuracy, _) in enumerate(zip(run.get("accuracy", ()),
                                              run.get("train_seconds", ())), start=1):
        if accuracy >= target:
            return epoch, sum(run["train_seconds"][:epoch])
    return None


def time_to_note(label: str, runs: Sequence[dict[str, Any]], target: float) -> str:
    """One line: per seed, the first epoch at ``target`` % test accuracy and its training time."""
    parts, reached = [], []
    for run in runs:
        hit = time_to(run, target)
        parts.append(f"seed {run['seed']}: " + (f"epoch {hit[0]}, {hit[1]:.1f} s" if hit
                                                 else f"not within {run['epochs']} epochs"))
        if hit:
            reached.append(hit[1])
    mean = (f"; mean {statistics.fmean(reached):.1f} s over the {len(reached)} run(s) that got there"
            if reached else "")
    return (f"Time to ≥ {target:.2f}% test accuracy for {label} (the first epoch that crossed it; "
            f"training seconds summed up to that epoch, evaluation excluded): "
            f"{'; '.join(parts)}{mean}.")


def train_time_note(label: str, runs: Sequence[dict[str, Any]], limit: float) -> str:
    """One line: each run's training seconds (all epochs, evaluation excluded: what ``nnlearn
    train`` reports as "training took"), their mean ± std, and whether the mean is ≤ ``limit``."""
    seconds = [sum(run["train_seconds"]) for run in runs]
    mean = statistics.fmean(seconds)
    return (f"Training time of {label} (all epochs, evaluation excluded; what `nnlearn train` reports "
            f"as 'training took'): {mean_std(seconds)} s over {len(seconds)} run(s) (per seed: "
            + ", ".join(f"{t:.2f}" for t in seconds) + f"); goal ≤ {limit:g} s: "
            f"{'met' if mean <= limit else 'NOT met'}.")


def mean_std(values: Sequence[float]) -> str:
    """``"m ± s"`` with two decimals (sample std; ± 0.00 for a single value)."""
    m = statistics.fmean(values)
    s = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{m:.2f} ± {s:.2f}"


def summarise(spec: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    best = [r["best"] for r in runs]
    return {"label": spec["label"], "book": spec["book"], "seeds": [r["seed"] for r in runs],
            "best_mean": statistics.fmean(best), "best": mean_std(best),
            "final": mean_std([r["final"] for r in runs]),
            "seconds": mean_std([r["seconds"] for r in runs]),
            "epochs": runs[0]["epochs"],
            "runs": [{k: v for k, v in r.items() if k != "network"} for r in runs]}


def write_table(path: str | Path, title: str, intro: str, rows: list[dict[str, Any]],
                command: str, notes: Sequence[str] = ()) -> str:
    """Write the markdown results table to ``path`` and return its text."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    lines = [f"# {title}", "", intro, "",
             f"Generated by `{command}` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC "
             f"({platform.machine()}, Python {platform.python_version()}, NumPy {numpy.__version__}, "
             f"{_cpu_count()} CPU cores" + (f"; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
             "(1 / 5 / 15 min) when the table was written" if load else "") +
             "). Do not edit by hand: rerun the command.", "",
             "| experiment | book best % | ours: best % (mean ± std) | ours: final % | seeds | "
             "epochs | wall time per run, s |",
             "|---|---:|---:|---:|---|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['label']} | {r['book']:.2f} | {r['best']} | {r['final']} | "
                     f"{', '.join(map(str, r['seeds']))} | {r['epochs']} | {r['seconds']} |")
    lines += ["", "Per run (best = highest test accuracy over the epochs, as in the book; wall time "
              "covers training and the per-epoch test evaluation):", "",
              "| experiment | seed | best % | at epoch | final % | wall s | s per epoch |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        for run in r["runs"]:
            lines.append(f"| {r['label']} | {run['seed']} | {run['best']:.2f} | {run['best_epoch']} | "
                         f"{run['final']:.2f} | {run['seconds']:.1f} | "
                         f"{run['seconds'] / run['epochs']:.2f} |")
    lines += ensemble_lines(rows)
    if notes:
        lines += ["", *notes]
    text = "\n".join(lines) + "\n"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return text


def ensemble_lines(rows: list[dict[str, Any]]) -> list[str]:
    """The ensembles' section of a table: each member's final test accuracy, epochs and wall
    time, and the members combined by majority vote and by the mean of their probabilities
    (runs with ``"members"``, from :func:`nnlearn.experiments.reproduce.members.ensemble_run`)."""
    runs = [(r["label"], run) for r in rows for run in r["runs"] if "members" in run]
    if not runs:
        return []
    lines = ["", "Ensembles: each member's final test accuracy, and the members combined by "
             "majority vote (the book's) and by the mean of their probabilities:", "",
             "| experiment | seed | members' final % (mean) | majority vote % | mean of "
             "probabilities % | better |", "|---|---:|---:|---:|---:|---|"]
    for label, run in runs:
        finals = [m["final"] for m in run["members"]]
        better = "tie" if run["vote"] == run["mean"] else \
            "vote" if run["vote"] > run["mean"] else "mean of probabilities"
        lines.append(f"| {label} | {run['seed']} | {mean_std(finals)} | {run['vote']:.2f} | "
                     f"{run['mean']:.2f} | {better} |")
    lines += ["", "| experiment | member seed | final % | epochs | wall s | this reproduction |",
              "|---|---:|---:|---:|---:|---|"]
    for label, run in runs:
        for m in run["members"]:
            lines.append(f"| {label} | {m['seed']} | {m['final']:.2f} | {m['epochs']} | "
                         f"{m['seconds']:.1f} | {m['status']} |")
    return lines


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
