"""Checkpoints and resume for ``nnlearn train`` (the mechanics live in :mod:`nnlearn.io.checkpoint`).

* ``--checkpoint-every N`` (default 1): write ``<run folder>/checkpoint.npz``
  atomically every N epochs and after the last one.
* ``--resume DIR``: rebuild the run of folder DIR from its ``config.toml``, load
  ``checkpoint.npz`` (weights, optimiser, generator, schedule, early stopping,
  history) and train the remaining epochs; the result is bit-identical to the run
  that was never interrupted.
* Ctrl-C saves the state of the last completed epoch and exits with status 130;
  divergence keeps the last good checkpoint and exits with status 1.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from nnlearn.experiments import config as cfgmod
from nnlearn.io.checkpoint import Checkpointer, load_checkpoint, restore
from nnlearn.errors import ConfigError, DivergenceError


def resume_config(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """``(run folder, config)`` of ``--resume DIR``; flags that would change the run are refused."""
    from nnlearn.experiments.runs import Run

    changed = [k for k in vars(args) if k in cfgmod.SCHEMA]
    changed += [f"--{k}" for k in ("config", "preset") if getattr(args, k, None)]
    changed += ["--set"] if getattr(args, "set", None) else []
    if changed:
        raise ConfigError(f"--resume continues the saved run with its own config.toml; it cannot "
                          f"be combined with {', '.join(changed)} (got --resume {args.resume!r})")
    folder = Run.open(args.resume)
    if not folder.checkpoint_path.is_file():
        raise ConfigError(f"--resume {args.resume!r}: the run folder has no {folder.CHECKPOINT} "
                          "(the run was stopped before its first checkpoint); start it again")
    return folder, folder.config()


def attach(trainer, folder, cfg: dict[str, Any], args: argparse.Namespace,
           say=lambda *a: None) -> Checkpointer:
    """Hook a :class:`Checkpointer` on ``trainer``; when resuming, restore the checkpoint
    first and rewrite ``metrics.jsonl`` with the restored history."""
    saver = Checkpointer(folder.checkpoint_path, args.checkpoint_every, {"config": cfg})
    if getattr(args, "resume", None):
        checkpoint = load_checkpoint(folder.checkpoint_path)
        restore(trainer, checkpoint, folder.checkpoint_path)
        saver.saved_epoch = checkpoint.epoch
        with open(folder.metrics_path, "w", encoding="utf-8") as f:
            write_history(f, trainer.history)
        say(f"resuming from the checkpoint of epoch {checkpoint.epoch} "
            f"({trainer.end_epoch - trainer.epoch} epochs to go)")
    saver.remember(trainer)
    trainer.on_epoch_end.append(saver)
    return saver


def write_history(stream, history) -> None:
    """Write the restored epochs' records as JSON lines (a resumed run's metrics start with them)."""
    stream.write("".join(json.dumps(record) + "\n" for record in history))
    stream.flush()


def interrupted(saver: Checkpointer, folder, out) -> None:
    """On Ctrl-C: save the last completed epoch's state and say how to resume."""
    epoch = saver.save_latest()
    print(f"\ninterrupted: the checkpoint of epoch {epoch} is in {saver.path}; continue with "
          f"`nnlearn train --resume {folder.path}`", file=out, flush=True)


def diverged(exc: DivergenceError, saver: Checkpointer, folder) -> DivergenceError:
    """The divergence error, extended with where the last good checkpoint is kept."""
    epoch = saver.save_latest()
    first = " = the initial weights" if epoch == 0 else ""
    return DivergenceError(f"{exc}. The last good checkpoint (epoch {epoch}{first}) is kept in "
                           f"{saver.path}")
