r"""Run folders: everything one ``nnlearn train`` run leaves behind, in one place.

::

    runs/<name>/
        config.toml       the resolved experiment (``nnlearn train --config`` reruns it)
        metrics.jsonl     one JSON object per epoch (costs, accuracies, η, seconds)
        model.npz         the final network (``nnlearn.load``; ``nnlearn evaluate``/``predict``)
        summary.json      test accuracy and cost, wall time, epochs run
        checkpoint.npz    the resumable training state (written by the checkpoint code)
        plots/*.png       learning curves, confusion matrix, misclassified digits, weights
        .lock             held by the one process writing the run (pid and command inside)

The root folder is ``runs`` in the working directory, or ``$NNLEARN_RUNS_DIR``. The
default name is ``<YYYYmmdd-HHMMSS>-<config name or config hash>``; a taken name gets
``-2``, ``-3``, ... appended.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Iterator

from nnlearn.errors import ConfigError, DataError
from nnlearn.experiments.config import files as config_mod
from nnlearn.files import atomic_write, naming_the_file, open_regular, read_regular_text
from nnlearn.system.processes import FolderLock

RUNS_ENV = "NNLEARN_RUNS_DIR"
"""Environment variable naming the folder that holds run folders (default ``./runs``)."""


def runs_root() -> Path:
    """``$NNLEARN_RUNS_DIR`` or ``./runs``."""
    return Path(os.environ.get(RUNS_ENV) or "runs")


class Run:
    """A run folder: the paths of its files and helpers to write and read them."""

    CONFIG, METRICS, MODEL, SUMMARY, CHECKPOINT, PLOTS = (
        "config.toml", "metrics.jsonl", "model.npz", "summary.json", "checkpoint.npz", "plots")

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.lock = FolderLock(self.path, "run folder")
        """The one-writer lock (:class:`~nnlearn.system.processes.FolderLock`): taken by
        :meth:`create`, and by :meth:`take_lock` before a resume writes anything."""

    def take_lock(self, wait: float = 0.0) -> "Run":
        """Hold this folder's lock (``LockedError`` naming the writer that holds it)."""
        self.lock.acquire(wait)
        return self

    config_path = property(lambda self: self.path / self.CONFIG)
    metrics_path = property(lambda self: self.path / self.METRICS)
    model_path = property(lambda self: self.path / self.MODEL)
    summary_path = property(lambda self: self.path / self.SUMMARY)
    checkpoint_path = property(lambda self: self.path / self.CHECKPOINT)
    plots_dir = property(lambda self: self.path / self.PLOTS)

    # -- creating ----------------------------------------------------------------------
    @classmethod
    def create(cls, cfg: dict[str, Any], *, run_dir: str | os.PathLike | None = None,
               name: str | None = None, root: str | os.PathLike | None = None,
               exist_ok: bool = False, wait: float = 0.0) -> "Run":
        """Make the folder for a new run of ``cfg``, take its lock (waiting at most
        ``wait`` seconds for another writer), then write its ``config.toml`` and an
        empty ``metrics.jsonl``.

        ``run_dir`` is used as is; else ``root/name``; else ``root/<timestamp>-<label>``.
        An existing non-empty folder is an error unless ``exist_ok`` (a trial run again).
        """
        if run_dir is not None and name is not None:
            raise ConfigError("give --run-dir or --name, not both")
        root = Path(root) if root is not None else runs_root()
        if run_dir is not None:
            path = Path(run_dir)
        elif name is not None:
            if not name or "/" in name or name in (".", ".."):
                raise ConfigError(f"--name must be a plain folder name, got {name!r}")
            path = root / name
        else:
            label = cfg.get("name") or config_mod.config_hash(cfg)
            path = _unique(root / f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(label)}")
        if path.exists() and any(path.iterdir()) and not exist_ok:
            raise ConfigError(f"run folder {str(path)!r} already exists and is not empty; "
                              "choose another --name/--run-dir")
        path.mkdir(parents=True, exist_ok=True)
        run = cls(path).take_lock(wait)
        text = config_mod.dumps(cfg)
        atomic_write(run.config_path, lambda f: f.write(text.encode("utf-8")))
        run.metrics_path.write_text("", encoding="utf-8")
        return run

    def append_metrics(self, record: dict[str, Any]) -> None:
        """Add one epoch's record to ``metrics.jsonl``."""
        with naming_the_file(self.metrics_path), open(self.metrics_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")

    def write_metrics(self, records) -> None:
        """Replace ``metrics.jsonl`` (atomically) with ``records``: a resumed run's file is
        cut back to the epochs its checkpoint holds before the run continues."""
        text = "".join(json.dumps(record) + "\n" for record in records)
        atomic_write(self.metrics_path, lambda f: f.write(text.encode("utf-8")))

    def write_summary(self, summary: dict[str, Any]) -> None:
        """Write ``summary.json`` atomically: a full disk or a kill leaves the old one or none."""
        text = json.dumps(summary, indent=2) + "\n"
        atomic_write(self.summary_path, lambda f: f.write(text.encode("utf-8")))

    # -- reading -----------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike) -> "Run":
        """An existing run folder (must hold ``config.toml``); ``DataError`` otherwise."""
        run = cls(path)
        if not run.path.is_dir():
            raise DataError(f"{str(run.path)!r} is not a run folder (no such directory)")
        if not run.config_path.is_file():
            raise DataError(f"{str(run.path)!r} is not a run folder (no {cls.CONFIG}); run "
                            "folders are written by `nnlearn train`")
        return run

    def config(self) -> dict[str, Any]:
        """The run's resolved config, validated again."""
        return config_mod.resolve(config_mod.load(self.config_path))

    def metrics(self) -> list[dict[str, Any]]:
        """The per-epoch records of ``metrics.jsonl`` (empty if none yet)."""
        return list(self.iter_metrics())

    def iter_metrics(self) -> Iterator[dict[str, Any]]:
        if not self.metrics_path.is_file():
            return
        with open_regular(self.metrics_path, "r", encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    yield _json_object(line, f"{self.metrics_path}:{n}")

    def summary(self) -> dict[str, Any]:
        """The run's ``summary.json`` (empty before the run ends); ``DataError`` if damaged."""
        if not self.summary_path.is_file():
            return {}
        return _json_object(read_regular_text(self.summary_path), str(self.summary_path))

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"


def _json_object(text: str, where: str) -> dict[str, Any]:
    """``text`` parsed as a JSON object, else ``DataError`` naming ``where``."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:  # too deep, or an integer of > 4300 digits
        raise DataError(f"{where}: not JSON ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(value, dict):
        raise DataError(f"{where}: expected a JSON object, found {type(value).__name__}")
    return value


def _slug(label: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "-" for c in label)
    return keep.strip("-.") or "run"


def _unique(path: Path) -> Path:
    if not path.exists():
        return path
    k = 2
    while path.with_name(f"{path.name}-{k}").exists():
        k += 1
    return path.with_name(f"{path.name}-{k}")
