r"""The results of a sweep: the ranked table (Markdown and CSV) and ``best.toml``.

Rows are the dicts :mod:`nnlearn.experiments.sweeps.trial` returns for each trial; trials that
trained without error are ranked by validation accuracy, the diverged and failed ones
after them.
"""

from __future__ import annotations

import copy
import csv
import io
from pathlib import Path
from typing import Any, Sequence

from nnlearn.experiments.config import files as cfgmod

ENDED_WELL = ("completed", "asha_stopped", "pruned")
"""Statuses of trials that trained without error (ranked by validation accuracy)."""
STOPPED_EARLY = ("asha_stopped", "pruned")
"""Statuses of trials a scheduler (Ray Tune's ASHA) or an Optuna pruner ended early."""


def stopped_by_asha(row: dict[str, Any]) -> bool:
    """Whether ASHA ended the trial: Ray Tune's scheduler or Optuna's pruner of that name."""
    return row["status"] == "asha_stopped" or (row["status"] == "pruned"
                                               and row.get("stopped_by") == "asha")


def settings_text(settings: dict[str, Any]) -> str:
    """``key=value`` pairs of a trial's settings, for messages and headers."""
    return " ".join(f"{k}={format_value(v)}" for k, v in settings.items()) or "(base config)"


def format_value(value: Any) -> str:
    """A setting or metric for tables: 4 significant digits for floats, TOML for lists."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    return str(value)


def rank(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows sorted: trials that trained without error by validation accuracy (best first,
    then by trial number), then the diverged and failed ones."""
    def key(row):
        acc = row.get("validation_accuracy")
        return (row["status"] not in ENDED_WELL, -(acc if acc is not None else -1.0), row["index"])
    return sorted(rows, key=key)


def best(rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The trial with the highest validation accuracy among those that trained without error."""
    ranked = [r for r in rank(rows) if r["status"] in ENDED_WELL
              and r.get("validation_accuracy") is not None]
    return ranked[0] if ranked else None


COLUMNS = ("validation_accuracy", "best_epoch", "epochs", "seconds", "stopped_by_asha",
           "status", "stopped_by", "error", "run_dir")


def _cells(row: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    return {"trial": row["trial"], **{k: row["settings"].get(k) for k in keys},
            **{c: row.get(c) for c in COLUMNS},
            "stopped_by_asha": "yes" if stopped_by_asha(row) else "no"}


def results_csv(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> str:
    """One CSV line per trial (ranked): trial, the searched keys, then :data:`COLUMNS`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["rank", "trial", *keys, *COLUMNS])
    for i, row in enumerate(rank(rows), 1):
        cells = _cells(row, keys)
        writer.writerow([i, *(_csv_cell(cells[k]) for k in ("trial", *keys, *COLUMNS))])
    return out.getvalue()


def _csv_cell(value: Any) -> Any:
    return format_value(value) if value is None or isinstance(value, (list, tuple)) else value


def results_markdown(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> str:
    """The results table in Markdown, best validation accuracy first."""
    head = ["rank", "trial", *(f"`{k}`" for k in keys), "validation accuracy, %", "best epoch",
            "epochs run", "time, s", "stopped early by ASHA", "status"]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join("---:" if h in ("rank", "best epoch", "epochs run", "time, s") or
                            h.startswith("validation") else "---" for h in head) + "|"]
    for i, row in enumerate(rank(rows), 1):
        acc = row.get("validation_accuracy")
        status = row["status"].replace("_", " ")
        if row.get("error"):
            status += ": " + _short(row["error"])
        elif row.get("stopped_by") and row["stopped_by"] != "asha":
            status += f" ({row['stopped_by'].replace('_', ' ')})"
        cells = [str(i), row["trial"], *(format_value(row["settings"].get(k)) for k in keys),
                 "" if acc is None else f"{100 * acc:.2f}", format_value(row.get("best_epoch")),
                 str(row.get("epochs", "")), f"{row.get('seconds', 0.0):.1f}",
                 "yes" if stopped_by_asha(row) else "no", status]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _short(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def best_toml(row: dict[str, Any], sweep: str, cfg: dict[str, Any]) -> str:
    """The best trial's config (``cfg``, as its ``config.toml`` holds it) with a header
    saying where it comes from.

    A trial that ASHA stopped gets ``training.epochs`` = the epochs it ran, so that
    ``nnlearn train --config`` reruns exactly what the trial trained.
    """
    cfg = copy.deepcopy(cfg)
    header = [f"# The best trial of the sweep {sweep}: {row['trial']} "
              f"({settings_text(row['settings'])}),",
              f"# validation accuracy {100 * row['validation_accuracy']:.2f}% at epoch "
              f"{row['best_epoch']}. Rerun it: nnlearn train --config best.toml"]
    if row["status"] in STOPPED_EARLY:
        cfg["training"]["epochs"] = row["epochs"]
        who = "ASHA" if stopped_by_asha(row) else f"the {row.get('stopped_by')} pruner"
        header.append(f"# {who} stopped this trial after {row['epochs']} epochs; "
                      "training.epochs is set to that.")
    return "\n".join(header) + "\n\n" + cfgmod.dumps(cfg)


def write_results(folder: Path, rows: Sequence[dict[str, Any]], keys: Sequence[str],
                  specs: Sequence[dict[str, Any]]) -> dict[str, Path]:
    """Write results.md, results.csv and (if a trial trained) best.toml; return their paths.

    best.toml is the best trial's own ``config.toml``; where this machine cannot see the
    trial's folder (a cluster without shared storage), the trial's spec config."""
    from nnlearn.experiments.runs.folder import Run

    paths = {"markdown": folder / "results.md", "csv": folder / "results.csv"}
    paths["markdown"].write_text(f"# Sweep {folder.name}\n\n" + results_markdown(rows, keys),
                                 encoding="utf-8")
    paths["csv"].write_text(results_csv(rows, keys), encoding="utf-8")
    top = best(rows)
    if top is not None:
        run = Run(top["run_dir"])
        cfg = run.config() if run.config_path.is_file() else specs[top["index"]]["config"]
        paths["best"] = folder / "best.toml"
        paths["best"].write_text(best_toml(top, folder.name, cfg), encoding="utf-8")
    return paths
