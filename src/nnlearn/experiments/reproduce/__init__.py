"""Reproductions of the book's accuracy tables; each writes ``docs/results/<chapter>.md``.

Run ``nnlearn reproduce ch1`` (or ``python -m nnlearn.experiments.reproduce ch1``). Each chapter
module defines ``TITLE`` and ``specs(epochs=None)`` (see :mod:`nnlearn.experiments.reproduce.common`).
"""

from __future__ import annotations

import statistics
from importlib import import_module
from pathlib import Path
from typing import Any, Callable, Sequence

from nnlearn import data as datasets
from nnlearn.errors import ConfigError
from nnlearn.experiments.reproduce.common import (run_spec, summarise, time_to_note,
                                                  train_time_note, write_table)
from nnlearn.experiments.reproduce.members import train_member

CHAPTERS = ("ch1", "ch3", "ch6", "best")
DEFAULT_SEEDS = {"ch1": 3, "ch3": 3, "ch6": 1, "best": 3}
"""Seeds per experiment when none are asked for: the issues' protocol (ch6: one seed each)."""


def reproduce(chapter: str, *, seeds: int | None = None, epochs: int | dict[str, int] | None = None,
              only: Sequence[str] | None = None, out_dir: str | Path = "docs/results",
              command: str | None = None, log: Callable[[str], None] = print,
              engine: Any = None, runs_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """Train the specs of ``chapter`` (all, or the keys in ``only``) for ``seeds`` seeds each
    (when ``seeds`` is None: a spec's own ``"seeds"``, else the chapter's default)
    and write its results table ``out_dir/<chapter>.md``. With ``only``, the rows of the
    other experiments already in that table stay (with the command that wrote them) and
    those trained now replace their own. ``epochs`` overrides every experiment's epoch count, or,
    as ``{"b": 15, ...}``, those of the named preset experiments. ``engine``
    (:mod:`nnlearn.experiments.sweeps.engines`) trains the members of ensemble experiments (ch6 h)
    as parallel trials; the others always run in this process. Long runs (specs with
    ``"resumable"``, ensemble members) train into run folders under ``runs_dir`` (default
    ``$NNLEARN_RUNS_DIR`` or ``./runs``): finished ones are reused, stopped ones resumed
    (:mod:`nnlearn.experiments.reproduce.members`)."""
    if chapter not in CHAPTERS:
        raise ConfigError(f"unknown chapter {chapter!r}; expected one of {', '.join(CHAPTERS)}")
    asked = seeds  # None: each spec's own "seeds", else the chapter's default
    seeds = DEFAULT_SEEDS[chapter] if seeds is None else seeds
    if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
        raise ConfigError(f"seeds must be a positive integer, got {seeds!r}")
    module = import_module(f"nnlearn.experiments.reproduce.{chapter}")
    per_key = epochs if isinstance(epochs, dict) else {}
    specs = module.specs(epochs=None if per_key else epochs)
    order = [s["label"] for s in specs]
    for spec in specs:
        if spec.get("key") in per_key:
            if "preset" not in spec:
                raise ConfigError(f"per-experiment epochs apply to preset experiments, not "
                                  f"{spec['key']!r}")
            spec["overrides"] = {**spec.get("overrides", {}), "training.epochs": per_key[spec["key"]]}
    if only:
        keys = [s.get("key") for s in specs]
        unknown = sorted(set(only) - set(keys))
        if unknown:
            raise ConfigError(f"unknown experiment(s) {', '.join(unknown)} for {chapter}; "
                              f"--only takes some of: " + "; ".join(
                                  f"{s['key']} ({s['label']})" for s in specs))
        others = {s["label"]: s["key"] for s in specs if s.get("key") not in only}
        specs = [s for s in specs if s.get("key") in only]
    if engine is not None and not any(s.get("engine") for s in specs):
        raise ConfigError(f"--engine trains ensemble members as parallel trials; none of the "
                          f"selected {chapter} experiments is an ensemble (ch6 --only h, best --only "
                          f"cnn-best-ensemble)")
    data = None
    rows = []
    trained: dict[tuple[str, int], Any] = {}
    """(spec key, seed) → the run (with its network), for ensembles whose members already ran."""
    for spec in specs:
        count = spec.get("seeds", seeds) if asked is None else seeds
        log(f"{spec['label']}: {count} seed(s)")
        if "run" in spec:
            extra = {"engine": engine} if spec.get("engine") and engine is not None else {}
            runs = [spec["run"](seed, log, trained=trained, runs_dir=runs_dir, **extra)
                    for seed in range(1, count + 1)]
        elif spec.get("resumable"):
            runs = [train_member(spec, seed, log, runs_dir) for seed in range(1, count + 1)]
            trained.update({(spec.get("key"), run["seed"]): run for run in runs})
        else:
            if data is None and "preset" not in spec:
                mnist = datasets.load_mnist()
                data = (mnist.train, mnist.test)
            runs = [run_spec(spec, seed, data, log) for seed in range(1, count + 1)]
            trained.update({(spec.get("key"), run["seed"]): run for run in runs})
        rows.append(summarise(spec, runs))
    command = command or " ".join(
        ["nnlearn reproduce", chapter]
        + ([f"--seeds {seeds}"] if asked is not None or not any("seeds" in s for s in specs) else [])
        + ([f"--epochs {_epochs_text(epochs)}"] if epochs else [])
        + ([f"--only {','.join(only)}"] if only else [])
        + ([f"--engine {engine.name}"] if engine is not None else []))
    notes = []
    for s, r in zip(specs, rows):
        if "min_final_mean" in s:
            final = statistics.fmean(run["final"] for run in r["runs"])
            notes.append(f"Bar for {s['label']}: mean final accuracy ≥ {s['min_final_mean']:.2f}%; "
                         f"ours {final:.2f}%: {'met' if final >= s['min_final_mean'] else 'NOT met'}.")
        if "time_to" in s:
            notes.append(time_to_note(s["label"], r["runs"], s["time_to"]))
        if "max_train_seconds" in s:
            notes.append(train_time_note(s["label"], r["runs"], s["max_train_seconds"]))
        if "stuck_below" in s:  # the book's chapter-1 recipe sometimes never escapes saturation
            best = [run["best"] for run in r["runs"]]
            free = [b for b in best if b >= s["stuck_below"]]
            notes.append(f"{s['label']}: {len(best) - len(free)} of {len(best)} runs stayed below "
                         f"{s['stuck_below']:.2f}% (stuck); the mean best of the other {len(free)} is "
                         + (f"{statistics.fmean(free):.2f}%." if free else "undefined."))
        bar = s.get("min_best_mean", s["book"] - s["within"] if "within" in s else None)
        if bar is not None:
            notes.append(f"Bar for {s['label']}: mean best ≥ {bar:.2f}%; ours {r['best_mean']:.2f}%: "
                         f"{'met' if r['best_mean'] >= bar else 'NOT met'}.")
    write_table(Path(out_dir) / f"{chapter}.md", module.TITLE,
                "Accuracy on the 10,000 test images after every epoch; best = the highest over the "
                "epochs, as in the book.", rows, command, notes,
                chapter_notes=getattr(module, "NOTES", []), keep=others if only else None, order=order)
    return rows


def _epochs_text(epochs: int | dict[str, int]) -> str:
    return ",".join(f"{k}={v}" for k, v in epochs.items()) if isinstance(epochs, dict) else str(epochs)
