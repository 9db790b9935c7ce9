"""Checkpoints and resume for ``nnlearn train`` (the mechanics live in :mod:`nnlearn.io.checkpoint`).

* ``--checkpoint-every N`` (default 1): write ``<run folder>/checkpoint.npz``
  atomically every N epochs and after the last one.
* ``--resume DIR``: rebuild the run of folder DIR from its ``config.toml``, load
  ``checkpoint.npz`` (weights, optimiser, generator, schedule, early stopping,
  history) and train the remaining epochs; the result is bit-identical to the run
  that was never interrupted. The rule for edits: a resumed run continues exactly as
  it was checkpointed, so a ``config.toml`` that differs from the config stored in the
  checkpoint is refused, naming the changed keys (applying an edit half-way would make
  the banner, the metrics and the model's metadata disagree about the run). Temporary
  files left by a kill during a write are removed first.
* Ctrl-C saves the state of the last completed epoch and exits with status 130;
  divergence keeps the last good checkpoint and exits with status 1.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from nnlearn.experiments.config import files as cfgmod
from nnlearn.io.checkpoint import Checkpointer, load_checkpoint, restore
from nnlearn.errors import ConfigError, DivergenceError
from nnlearn.files import remove_stale_temporaries


def resume_config(args: argparse.Namespace) -> tuple[Any, dict[str, Any]]:
    """``(run folder, config)`` of ``--resume DIR``; flags that would change the run are refused."""
    from nnlearn.experiments.runs.folder import Run

    changed = [k for k in vars(args) if k in cfgmod.SCHEMA]
    changed += [f"--{k}" for k in ("config", "preset") if getattr(args, k, None)]
    changed += ["--set"] if getattr(args, "set", None) else []
    if changed:
        raise ConfigError(f"--resume continues the saved run with its own config.toml; it cannot "
                          f"be combined with {', '.join(changed)} (got --resume {args.resume!r})")
    folder = Run.open(args.resume).take_lock()  # one writer: a second resume is refused here
    try:
        return folder, _checked_config(folder, args)
    except BaseException:
        folder.lock.release()
        raise


def _checked_config(folder, args: argparse.Namespace) -> dict[str, Any]:
    """The config of the locked run ``folder``, refused if it cannot be resumed as it was."""
    if not folder.checkpoint_path.is_file():
        raise ConfigError(f"--resume {args.resume!r}: the run folder has no {folder.CHECKPOINT} "
                          "(the run was stopped before its first checkpoint); start it again")
    for stale in (folder.checkpoint_path, folder.model_path):  # writes cut short by a kill
        remove_stale_temporaries(stale)
    cfg = folder.config()
    saved = load_checkpoint(folder.checkpoint_path).extra.get("config")
    if not isinstance(saved, dict):
        raise ConfigError(f"--resume {args.resume!r}: {folder.CHECKPOINT} does not record the "
                          "config it was written with, so edits to config.toml cannot be ruled "
                          "out; start the run again")
    edited = changed_keys(cfgmod.resolve(saved), cfg)
    if edited:
        raise ConfigError(f"--resume {args.resume!r}: {folder.CONFIG} was edited after the "
                          f"checkpoint was written ({'; '.join(edited)}). A resumed run "
                          f"continues exactly as it was checkpointed: undo the edit, or start a "
                          f"new run with the edited config (nnlearn train --config "
                          f"{folder.config_path})")
    return cfg


def changed_keys(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    """``["training.eta: 0.5 → 0.05", ...]``: the dotted keys whose values differ."""
    out = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += changed_keys(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {_shown(a)} → {_shown(b)}")
    return out


def _shown(value: Any) -> str:
    text = "(unset)" if value is None else json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


def attach(trainer, folder, cfg: dict[str, Any], args: argparse.Namespace,
           say=lambda *a: None) -> Checkpointer:
    """Hook a :class:`Checkpointer` on ``trainer``; when resuming, restore the checkpoint
    first and rewrite ``metrics.jsonl`` with the restored history."""
    saver = Checkpointer(folder.checkpoint_path, args.checkpoint_every, {"config": cfg})
    if getattr(args, "resume", None):
        checkpoint = load_checkpoint(folder.checkpoint_path)
        restore(trainer, checkpoint, folder.checkpoint_path)
        saver.saved_epoch = checkpoint.epoch
        folder.write_metrics(trainer.history)  # cut back to the checkpoint's epochs
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
