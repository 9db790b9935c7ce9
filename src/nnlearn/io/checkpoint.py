r"""Crash-safe training: checkpoints of the whole training state, written atomically.

A checkpoint is what :meth:`nnlearn.train.trainer.Trainer.state_dict` returns at an
epoch end — weights and buffers, the optimiser's state (velocities, moment
estimates, step count), the generator state of the network's PCG64 (the next
shuffle and dropout masks), the schedule, early stopping and the history — stored
without pickle, like a model file (:mod:`nnlearn.io.model_file`)::

    checkpoint.npz
        __nnlearn__         UTF-8 JSON: {"format": "nnlearn.io.checkpoint", "version": 1,
                            "state": <state tree, arrays replaced by references>,
                            "extra": <caller's JSON, e.g. the run's config>}
        state.network.…     the arrays (nnlearn.io.state.split_arrays)

The PCG64 state is a dict of Python ints (128-bit state and increment); JSON holds
integers of any size exactly, so the generator resumes bit for bit.

Writes go to a temporary file that is renamed over ``checkpoint.npz``
(:func:`nnlearn.io.model_file.atomic_write`), so a crash or ``kill -9`` at any instant
leaves either the previous checkpoint or the new one, never a torn file.

Example::

    trainer = Trainer(net, X, y, epochs=30, ...)
    saver = Checkpointer("runs/a/checkpoint.npz", every=5)
    trainer.on_epoch_end.append(saver)
    trainer.run()
    # after a crash, with a Trainer built the same way:
    trainer.load_state_dict(load_checkpoint("runs/a/checkpoint.npz").state)
    trainer.run()     # ends bit-identical to the uninterrupted run
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

from nnlearn import checks
from nnlearn.io import model_file as serialize
from nnlearn.errors import ConfigError, ModelFileError
from nnlearn.io.state import join_arrays, split_arrays

FORMAT = "nnlearn.io.checkpoint"
VERSION = 1
_HINT = "checkpoints are written by `nnlearn train --checkpoint-every N` or nnlearn.io.checkpoint"


class Checkpoint(NamedTuple):
    """A loaded checkpoint: the Trainer ``state`` and the caller's ``extra`` JSON."""

    state: dict[str, Any]
    extra: dict[str, Any]

    @property
    def epoch(self) -> int:
        """Epochs completed when the checkpoint was taken."""
        return int(self.state["epoch"])


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any],
                    extra: dict[str, Any] | None = None) -> None:
    """Write a Trainer ``state`` (``Trainer.state_dict()``) and ``extra`` JSON atomically."""
    tree, arrays = split_arrays(state)
    serialize.write_archive(path, {"format": FORMAT, "version": VERSION, "state": tree,
                                   "extra": extra or {}}, arrays)


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises ``FileNotFoundError`` when there is none and ``ModelFileError`` when the file
    is damaged or not a checkpoint. The loader is held to the model loader's rules: every
    array must be a finite real floating-point array
    (:func:`nnlearn.io.model_file.check_float_array`), and the counters and the history
    must be those of a real run (``0 ≤ epoch ≤ end_epoch``, one record per epoch done).
    """
    header, arrays = serialize.read_archive(path, FORMAT, VERSION, "checkpoint", _HINT)
    tree, extra = header.get("state"), header.get("extra", {})
    if not isinstance(tree, dict) or not isinstance(extra, dict):
        raise ModelFileError(f"{path}: checkpoint header lacks the training state")
    for name, value in arrays.items():
        serialize.check_float_array(path, name, value, "float64")
    try:
        state = join_arrays(tree, arrays)
    except ConfigError as exc:
        raise ModelFileError(f"{path}: damaged checkpoint ({exc})") from None
    for key in ("epoch", "end_epoch", "rng", "network", "optimizer", "history"):
        if key not in state:
            raise ModelFileError(f"{path}: checkpoint state lacks {key!r}")
    _check_progress(path, state)
    return Checkpoint(state, extra)


def _check_progress(path, state: dict[str, Any]) -> None:
    """``ModelFileError`` unless epoch, end_epoch and history describe a possible run."""
    epoch, end, history = state["epoch"], state["end_epoch"], state["history"]
    if not checks.is_int(epoch) or not checks.is_int(end) or not 0 <= epoch <= end:
        raise ModelFileError(f"{path}: damaged checkpoint (epoch {epoch!r} and end_epoch "
                             f"{end!r} must be integers with 0 <= epoch <= end_epoch)")
    if not isinstance(history, list) or len(history) != epoch or not all(
            isinstance(r, dict) and r.get("epoch") == i for i, r in enumerate(history, 1)):
        raise ModelFileError(f"{path}: damaged checkpoint (the history must be a list of "
                             f"{epoch} per-epoch records numbered 1 to {epoch}, got "
                             f"{type(history).__name__} {str(history)[:80]})")
    if not isinstance(state["network"], dict):
        raise ModelFileError(f"{path}: damaged checkpoint (the network state is not a table "
                             "of arrays)")


def restore(trainer, checkpoint: Checkpoint, path: str | os.PathLike = "checkpoint") -> None:
    """``trainer.load_state_dict(checkpoint.state)``, with a mismatch reported as ``ModelFileError``.

    The checkpoint's run must end where ``trainer``'s does (its config's epochs), and its
    weights must fit the network's dtype.
    """
    state = checkpoint.state
    if state["end_epoch"] != trainer.end_epoch:
        raise ModelFileError(f"{path}: the checkpoint's run ends at epoch {state['end_epoch']}, "
                             f"but this run's config trains {trainer.end_epoch} epochs; resume "
                             "with the config the checkpoint was written with")
    for name, value in state["network"].items():
        serialize.check_float_array(path, f"state.network.{name}", value, trainer.network.dtype)
    try:
        trainer.load_state_dict(state)
    except (ConfigError, KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: the checkpoint does not fit this run "
                             f"({type(exc).__name__}: {exc})") from None


class Checkpointer:
    r"""A ``Trainer.on_epoch_end`` hook saving a checkpoint every ``every`` epochs and at the end.

    It also keeps the state of the latest epoch end in memory (a copy of the weights
    and optimiser state, cheap next to an epoch), so that an interrupted run can
    still save a consistent checkpoint: :meth:`save_latest`, called on Ctrl-C,
    writes the state of the last *completed* epoch, never a half-finished one.

    Args:
        path: the checkpoint file (``runs/<name>/checkpoint.npz``).
        every: epochs between checkpoints (the last epoch is always saved).
        extra: JSON stored with each checkpoint (e.g. the run's config).
    """

    def __init__(self, path: str | os.PathLike, every: int = 1,
                 extra: dict[str, Any] | None = None):
        if isinstance(every, bool) or not isinstance(every, int) or every <= 0:
            raise ConfigError(f"checkpoint every must be a positive integer, got {every!r}")
        self.path = Path(path)
        self.every = every
        self.extra = extra or {}
        self.latest: dict[str, Any] | None = None
        self.saved_epoch: int | None = None

    def remember(self, trainer) -> None:
        """Keep ``trainer``'s current (epoch-end) state for :meth:`save_latest`."""
        self.latest = trainer.state_dict()

    def __call__(self, trainer, record: dict[str, Any]) -> None:
        self.remember(trainer)
        if trainer.epoch % self.every == 0 or trainer.finished:
            self.save_latest()

    def save_latest(self) -> int | None:
        """Write the remembered state unless it is already on disk; returns its epoch."""
        if self.latest is None:
            return None
        epoch = int(self.latest["epoch"])
        if epoch != self.saved_epoch:
            save_checkpoint(self.path, self.latest, self.extra)
            self.saved_epoch = epoch
        return epoch
