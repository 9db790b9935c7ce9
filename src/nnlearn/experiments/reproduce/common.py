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
import re
import statistics
import time
from dataclasses import dataclass, field
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
    result = {**run_result(seed, history["evaluation_accuracy"], history["train_seconds"], wall),
              "network": net}
    log(run_line(spec, result))
    return result


def run_result(seed: int, accuracies: Sequence[float], train_seconds: Sequence[float],
               wall: float) -> dict[str, Any]:
    """A run's figures for the tables from its epochs' test accuracies (fractions) and
    training seconds, and its wall time: best and final accuracy (%), the best's epoch."""
    acc = [100 * a for a in accuracies]
    return {"seed": seed, "best": max(acc), "best_epoch": acc.index(max(acc)) + 1,
            "final": acc[-1], "epochs": len(acc), "seconds": wall, "accuracy": acc,
            "train_seconds": list(train_seconds)}


def run_line(spec: dict[str, Any], result: dict[str, Any]) -> str:
    """The log line of a finished run (:func:`run_result`)."""
    return (f"  {spec['label']} seed {result['seed']}: best {result['best']:.2f}% (epoch "
            f"{result['best_epoch']}), final {result['final']:.2f}%, {result['seconds']:.1f} s")


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
    return {"key": spec.get("key"), "label": spec["label"], "book": spec["book"], "seeds": [r["seed"] for r in runs],
            "best_mean": statistics.fmean(best), "best": mean_std(best),
            "final": mean_std([r["final"] for r in runs]),
            "seconds": mean_std([r["seconds"] for r in runs]),
            "epochs": runs[0]["epochs"],
            "runs": [{k: v for k, v in r.items() if k != "network"} for r in runs]}


SUMMARY_HEADER = ("| experiment | book best % | ours: best % (mean ± std) | ours: final % | seeds | "
                  "epochs | wall time per run, s |")
RUNS_HEADER = "| experiment | seed | best % | at epoch | final % | wall s | s per epoch |"
ENSEMBLES_LEAD = ("Ensembles: each member's final test accuracy, and the members combined by "
                  "majority vote (the book's) and by the mean of their probabilities:")
ENSEMBLES_HEADER = ("| experiment | seed | members' final % (mean) | majority vote % | mean of "
                    "probabilities % | better |")
MEMBERS_HEADER = "| experiment | member seed | final % | epochs | wall s | this reproduction |"
SOURCES_LEAD = ("Generated by these commands, each for the experiments it names "
                "(do not edit by hand: rerun them):")


@dataclass
class Table:
    """The rows of a results table, as lines of text by experiment label, and where they
    came from: ``sources`` pairs ``"`command` on DATE (machine)"`` with the keys of the
    experiments that command wrote."""

    sources: list[tuple[str, list[str]]] = field(default_factory=list)
    summary: dict[str, str] = field(default_factory=dict)
    runs: dict[str, list[str]] = field(default_factory=dict)
    ensembles: dict[str, list[str]] = field(default_factory=dict)
    members: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def table_lines(rows: list[dict[str, Any]]) -> Table:
    """The summary, per-run and ensemble lines of freshly trained ``rows`` (:func:`summarise`)."""
    table = Table()
    for r in rows:
        table.summary[r["label"]] = (f"| {r['label']} | {r['book']:.2f} | {r['best']} | {r['final']} | "
                                     f"{', '.join(map(str, r['seeds']))} | {r['epochs']} | {r['seconds']} |")
        table.runs[r["label"]] = [
            f"| {r['label']} | {run['seed']} | {run['best']:.2f} | {run['best_epoch']} | "
            f"{run['final']:.2f} | {run['seconds']:.1f} | {run['seconds'] / run['epochs']:.2f} |"
            for run in r["runs"]]
        for run in r["runs"]:
            if "members" in run:  # an ensemble (members.ensemble_run): its members, vote and mean
                better = "tie" if run["vote"] == run["mean"] else \
                    "vote" if run["vote"] > run["mean"] else "mean of probabilities"
                table.ensembles.setdefault(r["label"], []).append(
                    f"| {r['label']} | {run['seed']} | {mean_std([m['final'] for m in run['members']])} | "
                    f"{run['vote']:.2f} | {run['mean']:.2f} | {better} |")
                table.members.setdefault(r["label"], []).extend(
                    f"| {r['label']} | {m['seed']} | {m['final']:.2f} | {m['epochs']} | "
                    f"{m['seconds']:.1f} | {m['status']} |" for m in run["members"])
    return table


def read_table(path: str | Path, keys: dict[str, str]) -> Table:
    """The rows of the table at ``path`` (written by :func:`write_table`) whose experiment
    is one of ``keys`` (label → key), with their notes and sources; an empty Table when
    there is no file. Rows of other labels (experiments since renamed or removed) and the
    notes that name no experiment (the chapter's own, rewritten each time) are left out."""
    path = Path(path)
    table = Table()
    if not path.exists():
        return table
    lines = path.read_text(encoding="utf-8").splitlines()

    def label_of(line: str) -> str | None:
        return next((label for label in keys if line.startswith(f"| {label} |")), None)

    part = "head"
    for line in lines:
        if line == SUMMARY_HEADER:
            part = "summary"
        elif line in (RUNS_HEADER, ENSEMBLES_HEADER, MEMBERS_HEADER):
            part = {RUNS_HEADER: "runs", ENSEMBLES_HEADER: "ensembles", MEMBERS_HEADER: "members"}[line]
        elif part in ("runs", "ensembles", "members") and not line.startswith("|"):
            part = "notes"
        single = re.fullmatch(r"Generated by (`[^`]+` on .*)\. Do not edit by hand: rerun the command\.",
                              line)
        if part == "head" and single:
            table.sources.append((single.group(1), None))  # every experiment of the table
        elif part == "head" and line.startswith("- `"):
            text, named = line[2:].rsplit(": ", 1)
            table.sources.append((text, [k for k in named.split(", ") if k in keys.values()]))
        elif part == "summary" and label_of(line):
            table.summary[label_of(line)] = line
        elif part in ("runs", "ensembles", "members") and label_of(line):
            getattr(table, part).setdefault(label_of(line), []).append(line)
        elif part == "notes" and line and any(label in line for label in keys):
            table.notes.append(line)
    present = [keys[label] for label in table.summary]
    table.sources = [(text, [k for k in (present if named is None else named) if k in present])
                     for text, named in table.sources]
    return table


def write_table(path: str | Path, title: str, intro: str, rows: list[dict[str, Any]],
                command: str, notes: Sequence[str] = (), *, chapter_notes: Sequence[str] = (),
                keep: dict[str, str] | None = None, order: Sequence[str] = ()) -> str:
    """Write the markdown results table of ``rows`` to ``path`` and return its text.

    ``notes`` are those of ``rows``, ``chapter_notes`` the chapter's own. With ``keep``
    (label → key of experiments that did not run now), the rows, per-run lines and notes of
    those experiments already in the table at ``path`` stay, with the command that wrote
    them; rows follow ``order`` (labels), the chapter's order of experiments."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    cores = _cpu_count()
    source = (f"`{command}` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC "
              f"({platform.machine()}, Python {platform.python_version()}, NumPy {numpy.__version__}, "
              f"{cores} CPU core{'s' if cores != 1 else ''}"
              + (f"; load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
                 "(1 / 5 / 15 min) when the table was written" if load else "") + ")")
    new = table_lines(rows)
    old = read_table(path, keep) if keep else Table()
    sources = [(text, named) for text, named in old.sources if named]
    if sources:
        sources.append((source, [r.get("key") or r["label"] for r in rows]))
        provenance = [SOURCES_LEAD, "", *(f"- {text}: {', '.join(named)}" for text, named in sources)]
    else:
        provenance = [f"Generated by {source}. Do not edit by hand: rerun the command."]
    summary = {**old.summary, **new.summary}
    runs = {**old.runs, **new.runs}
    labels = [label for label in order if label in summary] + \
        [label for label in summary if label not in order]
    lines = [f"# {title}", "", intro, "", *provenance, "", SUMMARY_HEADER,
             "|---|---:|---:|---:|---|---:|---:|", *(summary[label] for label in labels)]
    lines += ["", "Per run (best = highest test accuracy over the epochs, as in the book; wall time "
              "covers training and the per-epoch test evaluation):", "", RUNS_HEADER,
              "|---|---:|---:|---:|---:|---:|---:|", *(line for label in labels for line in runs[label])]
    ensembles = {**old.ensembles, **new.ensembles}
    members = {**old.members, **new.members}
    if ensembles:
        lines += ["", ENSEMBLES_LEAD, "", ENSEMBLES_HEADER, "|---|---:|---:|---:|---:|---|",
                  *(line for label in labels for line in ensembles.get(label, [])),
                  "", MEMBERS_HEADER, "|---|---:|---:|---:|---:|---|",
                  *(line for label in labels for line in members.get(label, []))]
    kept_notes = {label: [n for n in old.notes if label in n] for label in old.summary}
    new_notes = {r["label"]: [n for n in notes if r["label"] in n] for r in rows}
    all_notes = [n for label in labels for n in {**kept_notes, **new_notes}.get(label, [])]
    all_notes += [n for n in notes if n not in all_notes] + list(chapter_notes)
    if all_notes:
        lines += ["", *all_notes]
    text = "\n".join(lines) + "\n"
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return text


def _cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
