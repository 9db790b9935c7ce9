r"""The Runs page's data: run folders of ``--runs-dir`` read through
:class:`nnlearn.experiments.runs.folder.Run`.

Status of a run: ``finished`` when it has ``summary.json``; ``running`` when it has
none and its ``metrics.jsonl`` (or ``config.toml``) changed within
:data:`RUNNING_WINDOW` seconds; ``stopped`` otherwise (interrupted or crashed; a
checkpoint may resume it); ``unreadable`` when its config, summary or metrics do not
load (the row's ``problem`` says why; the other runs are listed as usual).

A folder entry that is a symbolic link leading outside the runs folder is not a run
here: it is left out of the table, and its name is refused by every route.
Numbers that JSON cannot carry (NaN, ±inf: a diverged run's cost) are sent as ``null``.
"""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path
from typing import Any

import numpy

from nnlearn import backend
from nnlearn.errors import DataError, NNLearnError
from nnlearn.experiments.runs import builder
from nnlearn.experiments.runs.folder import Run
from nnlearn.io.model_file import load
from nnlearn.web.validation import FieldError, RunFolder, check, resolved_inside

RUNNING_WINDOW = 600.0
"""A run without summary whose files changed this recently (seconds) counts as running."""
MISCLASSIFIED_SHOWN = 24


def _open(root: Path, name: Any, field: str = "name"):
    path = check(field, RunFolder(root), name)
    if not (path / Run.CONFIG).is_file():
        raise FieldError(field, f"no run named {name!r} in --runs-dir {str(root)!r}")
    return Run(path)


def finite(value: Any) -> Any:
    """``value`` with every NaN or infinite float (in nested lists and dicts) made ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


def read_metrics(run) -> list[dict[str, Any]]:
    """The run's epoch records; a last line still being written is left for the next read."""
    records: list[dict[str, Any]] = []
    try:
        for record in run.iter_metrics():
            records.append(record)
    except DataError:
        text = run.metrics_path.read_bytes()
        if text.endswith(b"\n"):
            raise
    return finite(records)


def _status(run, readable: bool) -> str:
    if not readable:
        return "unreadable"
    if run.summary_path.is_file():
        return "finished"
    newest = max(p.stat().st_mtime for p in (run.metrics_path, run.config_path) if p.is_file())
    return "running" if time.time() - newest < RUNNING_WINDOW else "stopped"


def _best(records: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in records if isinstance(r.get(key), (int, float))]
    return max(values) if values else None


def run_row(run) -> dict[str, Any]:
    """One line of the runs table."""
    row = _ROWS.get(run)
    row["status"] = _status(run, row["problem"] is None)  # "running" turns "stopped" with time alone
    return row


def _read_row(run) -> dict[str, Any]:
    """The parts of a row that change only when the run's files do (see :class:`_RowCache`)."""
    problems = []
    try:
        cfg = run.config()
        summary_text, epochs_total = builder.describe(cfg), cfg["training"]["epochs"]
    except (NNLearnError, OSError) as exc:
        summary_text, epochs_total = f"config does not load: {exc}", None
        problems.append(f"config.toml: {exc}")
    try:
        records = read_metrics(run)
    except (NNLearnError, OSError) as exc:
        records = []
        problems.append(str(exc))
    try:
        summary = finite(run.summary())
    except (NNLearnError, OSError) as exc:
        summary = {}
        problems.append(str(exc))
    try:
        created = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run.config_path.stat().st_mtime))
    except OSError:
        created = None
    return {"name": run.path.name, "created": created,
            "problem": "; ".join(problems) or None, "summary": summary_text,
            "epochs_done": len(records), "epochs_total": epochs_total,
            "best_validation_accuracy": _best(records, "evaluation_accuracy"),
            "test_accuracy": summary.get("test_accuracy"),
            "has_model": run.model_path.is_file()}


class _RowCache:
    """Rows of the runs table kept between polls of the Runs page, each reread only when
    one of its run's files changed (size or modification time) or appeared: a page
    polling a folder of many finished runs then costs a few ``stat`` calls per run."""

    def __init__(self, size: int = 4096) -> None:
        self._rows: dict[str, tuple[tuple, dict[str, Any]]] = {}
        self._size = size
        self._lock = threading.Lock()

    @staticmethod
    def _stamp(run) -> tuple:
        stamp = []
        for path in (run.config_path, run.metrics_path, run.summary_path, run.model_path):
            try:
                st = path.stat()
                stamp.append((st.st_mtime_ns, st.st_size))
            except OSError:
                stamp.append(None)
        return tuple(stamp)

    def get(self, run) -> dict[str, Any]:
        key, stamp = str(run.path.absolute()), self._stamp(run)  # a link inside is its own row
        with self._lock:
            hit = self._rows.get(key)
        if hit is None or hit[0] != stamp:
            hit = (stamp, _read_row(run))
            with self._lock:
                if len(self._rows) >= self._size:
                    self._rows.clear()
                self._rows[key] = hit
        return dict(hit[1])


_ROWS = _RowCache()


def list_runs(root: Path) -> list[dict[str, Any]]:
    """Every run folder of ``root`` (folders with a ``config.toml``), newest first."""
    if not root.is_dir():
        return []
    runs = [Run(p) for p in root.iterdir() if resolved_inside(root, p) and (p / Run.CONFIG).is_file()]
    runs.sort(key=lambda r: _mtime(r.config_path), reverse=True)
    return [run_row(r) for r in runs]


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed since it was listed
        return 0.0


def run_detail(root: Path, name: Any) -> dict[str, Any]:
    """``GET /api/runs/{name}``: the table row, the config, the summary and all metrics."""
    run = _open(root, name)
    row = run_row(run)
    parts = {}
    for key, read in (("config", run.config), ("summary_json", run.summary),
                      ("metrics", lambda: read_metrics(run))):
        try:
            parts[key] = finite(read())
        except (NNLearnError, OSError):  # the row's "problem" says what is wrong
            parts[key] = None
    return {**row, **parts}


def run_metrics(root: Path, name: Any, since: int = 0) -> dict[str, Any]:
    """The records after the first ``since`` (for live curves), and the status."""
    run = _open(root, name)
    try:
        records = read_metrics(run)
    except (NNLearnError, OSError) as exc:
        raise FieldError("name", f"the metrics of run {name!r} do not load: {exc}") from None
    return {"name": run.path.name, "count": len(records), "since": since,
            "records": records[since:], "status": _status(run, True)}


def _flatten(cfg: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in cfg.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def config_diff(root: Path, a: Any, b: Any) -> dict[str, Any]:
    """The config keys whose values differ between runs ``a`` and ``b``."""
    left, right = (_flatten(_open(root, n, field).config()) for n, field in ((a, "a"), (b, "b")))
    keys = sorted(set(left) | set(right))
    return {"a": a, "b": b, "differences": [{"key": k, "a": left.get(k), "b": right.get(k)}
                                            for k in keys if left.get(k) != right.get(k)],
            "same": sum(1 for k in keys if left.get(k) == right.get(k))}


class Evaluations:
    """Confusion matrices and misclassified test digits of finished runs, computed once
    per model file version."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def get(self, root: Path, name: Any) -> dict[str, Any]:
        run = _open(root, name)
        try:
            run.config()
        except (NNLearnError, OSError) as exc:
            raise FieldError("name", f"run {name!r} cannot be evaluated: its config.toml does not "
                                     f"load ({exc})") from None
        if not run.model_path.is_file():
            why = "the run finished without saving one" if run.summary_path.is_file() else \
                "still training, or stopped before its first save"
            raise FieldError("name", f"run {name!r} has no model.npz ({why})")
        key = (str(run.model_path), run.model_path.stat().st_mtime_ns)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._evaluate(run)
            return self._cache[key]

    @staticmethod
    def _evaluate(run) -> dict[str, Any]:
        cfg = run.config()
        network = load(run.model_path)
        X, y = builder.load_data(cfg)[2]
        probs = backend.to_numpy(network.predict_proba(X))
        y, predicted = backend.to_numpy(y), probs.argmax(axis=1)
        k = probs.shape[1]
        confusion = numpy.zeros((k, k), dtype=int)
        numpy.add.at(confusion, (y, predicted), 1)
        wrong = numpy.flatnonzero(predicted != y)[:MISCLASSIFIED_SHOWN]
        images = backend.to_numpy(X[wrong]).reshape(len(wrong), -1)
        side = int(round(images.shape[1] ** 0.5)) if len(wrong) else 0
        shown = [{"index": int(i), "label": int(y[i]), "predicted": int(predicted[i]),
                  "probability": float(probs[i, predicted[i]]),
                  "image": (numpy.clip(img, 0, 1) * 255).round().astype(int).reshape(side, side).tolist()
                  if side * side == images.shape[1] else None}
                 for i, img in zip(wrong, images)]
        return {"name": run.path.name, "classes": k, "total": int(len(y)),
                "correct": int((predicted == y).sum()), "confusion": confusion.tolist(),
                "misclassified": shown, "misclassified_total": int((predicted != y).sum())}
