r"""TensorBoard event files for a run folder: ``RUN/tensorboard/events.out.tfevents.*``.

One step per epoch (the ``epoch`` of each ``metrics.jsonl`` record), these tags::

    cost/training      cost/evaluation      the records' training_cost, evaluation_cost
    accuracy/training  accuracy/evaluation  … _accuracy (fractions in [0, 1])
    run/eta            run/train_seconds    the learning rate and the epoch's training time
    weights/3.Dense.W  …                    a histogram of each parameter array (live runs:
                                            every epoch; converted runs: the saved model, at
                                            the last epoch)

Written with tensorboardX (``pip install "nnlearn[tensorboard]"``, no TensorFlow), live by
``nnlearn train`` and by each sweep trial when the config says ``[log] writer =
"tensorboard"`` (``--log tensorboard``), or afterwards from ``metrics.jsonl`` by ``nnlearn
plot RUN --tensorboard``. ``tensorboard --logdir runs/`` (or a sweep folder) then shows
every run found below it, each under its folder's name.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Iterable

import numpy

from nnlearn import backend
from nnlearn.errors import DataError, install_hint
from nnlearn.experiments.runs.folder import Run
from nnlearn.io.model_file import load

EVENTS_DIR = "tensorboard"
"""The sub-folder of a run folder that holds its event files."""

CURVES = ("training", "evaluation")
MEASURES = ("cost", "accuracy")
RUN_SCALARS = ("eta", "train_seconds")


def summary_writer():
    """tensorboardX's ``SummaryWriter`` class, or an ``ImportError`` saying how to install it."""
    try:
        from tensorboardX import SummaryWriter  # optional extra: imported only when used
    except ImportError as exc:
        raise ImportError(f"TensorBoard logging needs tensorboardX: {install_hint('tensorboard')}") from exc
    return SummaryWriter


def scalars(record: dict[str, Any]) -> dict[str, float]:
    """The tags and values a ``metrics.jsonl`` record gives TensorBoard."""
    out = {f"{measure}/{curve}": float(record[f"{curve}_{measure}"])
           for measure in MEASURES for curve in CURVES
           if record.get(f"{curve}_{measure}") is not None}
    out.update({f"run/{key}": float(record[key]) for key in RUN_SCALARS
                if record.get(key) is not None})
    return out


class EventLog:
    """Event files of one run folder, written epoch by epoch.

    ``purge_step``: on ``--resume``, the first epoch that will be trained again; TensorBoard
    then drops the events an interrupted run wrote from that step on.
    """

    def __init__(self, run_dir: str | os.PathLike, purge_step: int | None = None):
        self.path = Path(run_dir) / EVENTS_DIR
        # tensorboardX names the file after the second it opens it: the suffix keeps a
        # second log opened in the same second (a quick resume) from overwriting the first
        self.writer = summary_writer()(logdir=str(self.path), purge_step=purge_step,
                                       flush_secs=10, filename_suffix=f".{time.time_ns()}")

    def epoch(self, record: dict[str, Any], network=None) -> None:
        """Add one epoch's scalars (and, given the network, its weight histograms)."""
        step = int(record["epoch"])
        for tag, value in scalars(record).items():
            self.writer.add_scalar(tag, value, step)
        if network is not None:
            self.histograms(network, step)
        self.writer.flush()

    def histograms(self, network, step: int) -> None:
        """A histogram of every parameter array of ``network`` at ``step``."""
        for i, layer in enumerate(network.layers):
            for key, value in layer.params.items():
                self.writer.add_histogram(f"weights/{i}.{type(layer).__name__}.{key}",
                                          numpy.asarray(backend.to_numpy(value)), step)

    def close(self) -> None:
        self.writer.close()


def open_log(cfg: dict[str, Any], run_dir: str | os.PathLike,
             purge_step: int | None = None) -> EventLog | None:
    """The event log a config asks for (``log.writer``), or ``None``."""
    if cfg.get("log", {}).get("writer", "none") != "tensorboard":
        return None
    return EventLog(run_dir, purge_step=purge_step)


def check_available(cfg: dict[str, Any]) -> None:
    """Raise the install hint now, before any training, if the config asks for a writer
    that is not installed."""
    if cfg.get("log", {}).get("writer", "none") == "tensorboard":
        summary_writer()


def convert_run(run_dir: str | os.PathLike) -> Path:
    """Write a finished (or running) run's ``metrics.jsonl`` as event files; the saved model's
    weight histograms go at the last epoch. Returns the folder written. A run folder that
    already has event files is refused (delete ``RUN/tensorboard`` to write them again)."""
    run = Run.open(run_dir)
    records = run.metrics()
    if not records:
        raise DataError(f"{run.metrics_path} holds no epochs yet: nothing to convert")
    target = run.path / EVENTS_DIR
    existing = sorted(target.glob("events.out.tfevents.*")) if target.is_dir() else []
    if existing:
        raise DataError(f"{target} already holds event files ({existing[0].name}, ...); delete "
                        "that folder to write them again")
    log = EventLog(run.path)
    try:
        for record in _last_of_each_epoch(records):
            log.epoch(record)
        if run.model_path.is_file():
            log.histograms(load(run.model_path), int(records[-1]["epoch"]))
    finally:
        log.close()
    return target


def _last_of_each_epoch(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records in epoch order, a resumed run's repeated epochs given once (the last)."""
    by_epoch = {int(r["epoch"]): r for r in records if "epoch" in r}
    return [by_epoch[e] for e in sorted(by_epoch)]
