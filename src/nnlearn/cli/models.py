"""The MODEL argument of ``nnlearn predict``, ``evaluate`` and ``export``: a model file or a
run folder (whose ``model.npz`` is used), resolved in one place."""

from __future__ import annotations

from pathlib import Path

from nnlearn.errors import DataError
from nnlearn.experiments.runs.folder import Run
from nnlearn.io.model_file import load


def model_path(text: str) -> Path:
    """The model file named by ``text``: the file itself, or ``RUN/model.npz`` for a run
    folder (``DataError`` naming the folder when it has none yet)."""
    path = Path(text)
    if not path.is_dir():
        return path
    found = Run(path).model_path
    if not found.is_file():
        raise DataError(f"{text!r} is a folder without {Run.MODEL}: is the run still training, "
                        f"or was it stopped before the end? (`nnlearn train --resume {text}` "
                        "continues a stopped run)")
    return found


def load_model(text: str):
    """The network of a model file or run folder (see :func:`model_path`)."""
    return load(model_path(text))


HELP = "model file (.npz or .safetensors) written by nnlearn, or a run folder (its model.npz)"
