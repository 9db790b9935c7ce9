r"""One trial of a sweep: train one resolved experiment config into an ordinary run folder.

A trial is built and trained by the same code as ``nnlearn train``
(:func:`nnlearn.experiments.runs.builder.prepare` and :class:`~nnlearn.train.trainer.Trainer`) and
leaves the same folder behind (:class:`~nnlearn.experiments.runs.folder.Run`)::

    <sweep>/trials/trial-003/
        config.toml     the trial's resolved config (``nnlearn train --config`` reruns it)
        metrics.jsonl   one record per epoch
        model.npz       the trained network (with ``save_every_epoch``: rewritten after
                        every epoch, so a trial that a scheduler stops still has one)
        summary.json    ``nnlearn train``'s summary plus a ``"sweep"`` entry: the trial's row
        tensorboard/    with ``[log] writer = "tensorboard"``: the trial's event files, so
                        that ``tensorboard --logdir <sweep>`` compares the trials

:func:`run_trial` takes and returns plain JSON values (a *spec* and a *row*), so any
engine that can call a module-level function in another process or on another
machine can run it (:mod:`nnlearn.experiments.sweeps.engines`). It never raises for a bad
trial: a diverged or failed trial comes back as a row with its error.

A row::

    {"trial": "trial-003", "index": 3, "settings": {"training.eta": 0.25},
     "status": "completed" | "running" | "asha_stopped" | "pruned" | "diverged" | "failed",
     "validation_accuracy": 0.9187, "best_epoch": 7, "epochs": 10, "seconds": 4.2,
     "stopped_by": None | "early_stopping" | "schedule" | "asha" | "median", "error": None,
     "run_dir": "/abs/path/trials/trial-003"}
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any, Callable

from nnlearn.errors import DivergenceError, LockedError, NNLearnError
from nnlearn.experiments.runs import tensorboard
from nnlearn.experiments.runs.builder import prepare
from nnlearn.experiments.runs.folder import Run
from nnlearn.train.parallel import plan_threads
from nnlearn.train.trainer import Trainer

FINISHED = ("completed", "asha_stopped", "pruned", "diverged", "failed")
"""Row statuses of a trial that will not run again (``--resume`` skips them)."""

LOCK_WAIT = 30.0
"""Seconds a trial waits for its folder's lock: within a locked sweep, only a worker of a
driver that was just killed can hold it, and it dies within moments."""

TRIALS_DIR = "trials"
"""The sub-folder of a sweep folder that holds one run folder per trial."""


class StopTrial(Exception):
    """Raised by a ``report`` callback to end its trial after this epoch: an Optuna pruner's
    decision (:mod:`nnlearn.experiments.sweeps.optuna_study`). The trial ends with status
    ``"pruned"`` and ``stopped_by = by``."""

    def __init__(self, by: str):
        super().__init__(f"pruned by {by}")
        self.by = by


def make_spec(index: int, cfg: dict[str, Any], settings: dict[str, Any] | None = None,
              name: str | None = None) -> dict[str, Any]:
    """A trial spec: its number, folder name, the varied settings and the resolved config."""
    return {"index": index, "name": name or f"trial-{index:03d}",
            "settings": dict(settings or {}), "config": cfg}


def new_row(spec: dict[str, Any], sweep_dir: str | Path) -> dict[str, Any]:
    """The row of a trial that has not run an epoch yet."""
    return {"trial": spec["name"], "index": spec["index"], "settings": spec["settings"],
            "status": "running", "validation_accuracy": None, "best_epoch": None, "epochs": 0,
            "seconds": 0.0, "stopped_by": None, "error": None,
            "run_dir": str(Path(sweep_dir) / TRIALS_DIR / spec["name"])}


def summarize(net, trainer, test, wall: float) -> dict[str, Any]:
    """``nnlearn train``'s ``summary.json``: the test result of the trained ``net`` and how the run ended."""
    result = net.evaluate(*test)
    last = trainer.history.records[-1] if len(trainer.history) else {}
    return {"test_accuracy": result.get("accuracy"), "test_correct": result.get("correct"),
            "test_total": result["total"], "test_cost": result["cost"],
            "wall_seconds": wall, "epochs": trainer.epoch,
            "stopped_by": last.get("stopped_by"), "restored_epoch": last.get("restored_epoch")}


def save_outcome(folder, cfg: dict[str, Any], net, summary: dict[str, Any]) -> dict[str, Any]:
    """Write ``model.npz`` (with the config and the summary's test accuracy and wall time as
    metadata) and ``summary.json`` into the run ``folder``; returns the model metadata."""
    metadata = {"config": cfg, **{k: summary[k] for k in ("test_accuracy", "wall_seconds")
                                  if k in summary}}
    net.save(folder.model_path, metadata=metadata)
    folder.write_summary(summary)
    return metadata


def read_row(run_dir: str | Path) -> dict[str, Any] | None:
    """The row a trial left in its ``summary.json``, or ``None`` (never ran, or interrupted
    before its first epoch)."""
    try:
        return Run(run_dir).summary().get("sweep")
    except ValueError:  # a summary.json cut short by a kill
        return None


def mark_stopped(row: dict[str, Any], by: str = "asha") -> dict[str, Any]:
    """The row of a trial that Ray Tune's scheduler ``by`` stopped after its last reported
    epoch (ASHA: status ``"asha_stopped"``; the median stopping rule of an Optuna sweep:
    ``"pruned"``); its ``summary.json`` is updated where this machine can see the trial's
    folder."""
    row = {**row, "status": "asha_stopped" if by == "asha" else "pruned", "stopped_by": by}
    folder = Run(row["run_dir"])
    try:
        summary = folder.summary()
    except ValueError:
        summary = {}
    if folder.path.is_dir():  # else it is on another node without shared storage
        folder.write_summary({**summary, "stopped_by": by, "sweep": row})
    return row


def run_trial(spec: dict[str, Any], sweep_dir: str, cpus: int = 1,
              report: Callable[[dict[str, Any], float | None], None] | None = None,
              save_every_epoch: bool = False) -> dict[str, Any]:
    r"""Train ``spec["config"]`` into ``<sweep_dir>/trials/<spec["name"]>``; return its row.

    Args:
        spec: from :func:`make_spec` (plain JSON values).
        sweep_dir: absolute path of the sweep folder (all nodes must see the same path).
        cpus: CPU cores this trial may use: ``training.threads = "auto"`` is resolved
            to at most this many threads and written into the trial's ``config.toml``,
            so that ``nnlearn train --config`` reruns it bit for bit.
        report: ``report(row, accuracy)`` after every epoch (``accuracy``: that epoch's
            validation accuracy; ``row["status"]`` is ``"running"`` until the last
            epoch, then ``"completed"``), and once for a trial that fails: how a
            scheduler sees the per-epoch validation accuracy. It may raise
            :class:`StopTrial` to end the trial there (status ``"pruned"``).
        save_every_epoch: rewrite ``model.npz`` and ``summary.json`` after every
            epoch (for schedulers that may stop the trial at any epoch).
    """
    cfg = copy.deepcopy(spec["config"])
    row = new_row(spec, sweep_dir)
    run_dir = Path(row["run_dir"])
    folder = events = None
    start = time.perf_counter()
    try:
        run = prepare(cfg)
        net, test, options = run.network, run.test, run.options
        if options["threads"] == "auto":
            options["threads"] = cfg["training"]["threads"] = min(
                max(1, cpus), plan_threads(net, options["mini_batch_size"], "auto"))
        # the trial starts again from its first epoch: its metrics.jsonl is emptied, once this
        # process holds the folder (a worker of a killed driver may take a moment to die)
        folder = Run.create(cfg, run_dir=run_dir, exist_ok=True, wait=LOCK_WAIT)
        events = tensorboard.open_log(cfg, run_dir, purge_step=1)  # a rerun trial starts afresh

        def on_epoch(record: dict[str, Any]) -> None:
            folder.append_metrics(record)
            if events is not None:
                events.epoch(record, net)
            accuracy = record.get("evaluation_accuracy")
            if accuracy is not None and (row["validation_accuracy"] is None
                                         or accuracy > row["validation_accuracy"]):
                row.update(validation_accuracy=accuracy, best_epoch=record["epoch"])
            row.update(epochs=record["epoch"], seconds=time.perf_counter() - start)
            if trainer.finished:
                summary = summarize(net, trainer, test, row["seconds"])
                row.update(status="completed", stopped_by=summary["stopped_by"])
                save_outcome(folder, cfg, net, {**summary, "sweep": row})
            elif save_every_epoch:
                save_outcome(folder, cfg, net, {"wall_seconds": row["seconds"],
                                                "epochs": row["epochs"], "sweep": row})
            if report is not None:
                report(dict(row), accuracy)

        trainer = Trainer(net, *run.train, validation_data=run.validation,
                          callbacks=[on_epoch], **options)
        start = time.perf_counter()
        trainer.run()
    except StopTrial as stop:  # after a finished epoch: its model and summary are saved
        row.update(status="pruned", stopped_by=stop.by)
        summary = Run(run_dir).summary() if Run(run_dir).summary_path.is_file() else {}
        Run(run_dir).write_summary({**summary, "stopped_by": stop.by, "sweep": row})
    except Exception as exc:  # a bad trial is a result, not the end of the sweep
        status = "diverged" if isinstance(exc, DivergenceError) else "failed"
        message = str(exc) if isinstance(exc, (NNLearnError, OSError)) else \
            f"{type(exc).__name__}: {exc}"
        row.update(status=status, error=message, seconds=time.perf_counter() - start)
        if not isinstance(exc, LockedError):  # the folder is another process's
            run_dir.mkdir(parents=True, exist_ok=True)
            Run(run_dir).write_summary({"sweep": row})
        if report is not None:
            report(dict(row), row["validation_accuracy"])
    finally:
        if events is not None:
            events.close()
        if folder is not None:
            folder.lock.release()
    return row
