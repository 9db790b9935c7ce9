"""Exception types raised by nnlearn.

Every error nnlearn raises on bad input is one of these (or a plain ``TypeError``
for a wrong Python type). They subclass ``ValueError`` so that code written for
the standard library's conventions keeps working.
"""

from __future__ import annotations


class NNLearnError(Exception):
    """Base class of every nnlearn-specific error."""


class DataError(NNLearnError, ValueError):
    """Input data is unusable: wrong shape, NaN/inf, labels out of range, empty."""


class IDXFormatError(DataError):
    """An IDX file is corrupt, truncated or not an IDX file at all."""


class ModelFileError(NNLearnError, ValueError):
    """A model file is not an nnlearn model, or is damaged."""


class ConfigError(NNLearnError, ValueError):
    """A hyper-parameter, option or name is invalid."""


class DivergenceError(NNLearnError, FloatingPointError):
    """Training produced NaN or inf in the cost or the weights."""


class ResourceError(NNLearnError, MemoryError):
    """An input, a config or a flag would need more memory than the machine has
    (:mod:`nnlearn.backend`), or more than nnlearn's limits allow."""


class LockedError(NNLearnError, RuntimeError):
    """A run or sweep folder is being written by another live process
    (:class:`nnlearn.system.processes.FolderLock`)."""


EXTRAS = {
    "plot": "matplotlib", "images": "Pillow", "progress": "tqdm", "sklearn": "scikit-learn",
    "onnx": "onnx, onnxruntime", "threads": "threadpoolctl", "fast": "numba",
    "ray": "ray[tune]", "web": "starlette, uvicorn, threadpoolctl",
    "notebook": "matplotlib, ipykernel, jupytext, nbclient, nbformat",
    "tensorboard": "tensorboardX, tensorboard", "optuna": "optuna",
}
"""The optional extras and the packages each brings (pyproject.toml's
``[project.optional-dependencies]``; tests/test_docs.py checks they agree)."""


def install_hint(extra: str) -> str:
    """How to install an extra, from a package index and from a checkout, and what it brings:
    ``pip install "nnlearn[web]"`` (or ``pip install ".[web]"`` in a checkout of nnlearn;
    it brings starlette, uvicorn, threadpoolctl)."""
    return (f'pip install "nnlearn[{extra}]" (or pip install ".[{extra}]" in a checkout of '
            f"nnlearn; it brings {EXTRAS[extra]})")
