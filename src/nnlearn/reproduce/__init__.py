"""Reproductions of the book's accuracy tables; each writes ``docs/results/<chapter>.md``.

Run ``nnlearn reproduce ch1`` (or ``python -m nnlearn.reproduce ch1``).
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Any, Callable

from nnlearn.errors import ConfigError

CHAPTERS = ("ch1", "ch3")


def reproduce(chapter: str, *, seeds: int = 3, epochs: int | None = None,
              out_dir: str | Path = "docs/results", command: str | None = None,
              log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Train every spec of ``chapter`` for ``seeds`` seeds and write its results table."""
    from nnlearn import datasets
    from nnlearn.reproduce.common import run_spec, summarise, write_table

    if chapter not in CHAPTERS:
        raise ConfigError(f"unknown chapter {chapter!r}; expected one of {', '.join(CHAPTERS)}")
    module = import_module(f"nnlearn.reproduce.{chapter}")
    specs = module.specs() if epochs is None else module.specs(epochs=epochs)
    data = datasets.load_mnist()
    rows = []
    for spec in specs:
        log(f"{spec['label']}: {seeds} seed(s)")
        runs = [run_spec(spec, seed, (data.train, data.test), log) for seed in range(1, seeds + 1)]
        rows.append(summarise(spec, runs))
    command = command or f"nnlearn reproduce {chapter} --seeds {seeds}" + (
        f" --epochs {epochs}" if epochs is not None else "")
    notes = []
    for s, r in zip(specs, rows):
        bar = s.get("min_best_mean", s["book"] - s["within"] if "within" in s else None)
        if bar is not None:
            notes.append(f"Bar for {s['label']}: mean best ≥ {bar:.2f}%; ours {r['best_mean']:.2f}%: "
                         f"{'met' if r['best_mean'] >= bar else 'NOT met'}.")
    write_table(Path(out_dir) / f"{chapter}.md", module.TITLE,
                "Training on the book's 50,000 images; accuracy on the 10,000 test images after "
                "every epoch.", rows, command, notes)
    return rows
