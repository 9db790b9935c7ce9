r"""Helpers shared by the dataset loaders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nnlearn.errors import ConfigError

DATA_DIR: Path = Path(__file__).resolve().parent / "files"
"""The folder of the data files shipped inside the package."""

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def float_dtype(dtype: Any) -> np.dtype:
    r"""Return ``dtype`` as a NumPy dtype if it is float32 or float64, else raise ConfigError.

    Accepts the names ``"float32"``/``"float64"`` as well as ``np.float32`` and
    ``np.float64`` (or their dtypes).
    """
    dt: np.dtype | None = None
    if dtype is not None and not isinstance(dtype, bool):  # np.dtype(None) is float64
        try:
            dt = np.dtype(dtype)
        except (TypeError, ValueError):
            dt = None
    if dt is None or dt not in _FLOAT_DTYPES:
        raise ConfigError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    return dt
