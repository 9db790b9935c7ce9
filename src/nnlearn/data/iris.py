r"""Fisher's iris data set, shipped with the package as ``data/iris.csv``.

150 examples, 50 per species::

    X  (150, 4)   sepal length, sepal width, petal length, petal width (cm)
    y  (150,)     int64 class index into class_names
    class_names   ("setosa", "versicolor", "virginica")

Public-domain data (R. A. Fisher, 1936).
"""

from __future__ import annotations

import csv
import math
from typing import Any

import numpy as np

from nnlearn.checks import float_dtype
from nnlearn.data._common import DATA_DIR
from nnlearn.errors import DataError
from nnlearn.files import open_regular

__all__ = ["load_iris"]

_COLUMNS = ("sepal_length", "sepal_width", "petal_length", "petal_width", "species")


def load_iris(*, dtype: Any = "float32") -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    r"""Return ``(X, y, class_names)`` for the iris data set.

    ``X`` is ``dtype`` (``"float32"`` or ``"float64"``) of shape (150, 4), ``y``
    int64 of shape (150,) indexing ``class_names``, the species in order of first
    appearance (setosa, versicolor, virginica). Rows keep the file's order (sorted
    by species), so shuffle before splitting.
    """
    dt = np.dtype(float_dtype(dtype))
    path = DATA_DIR / "iris.csv"
    rows: list[list[float]] = []
    species: list[str] = []
    with open_regular(path, "r", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = tuple(next(reader, ()))
        if header != _COLUMNS:
            raise DataError(f"{path}: expected header {','.join(_COLUMNS)}, got {','.join(header)}")
        for line in reader:
            if not line:
                continue
            if len(line) != len(_COLUMNS):
                raise DataError(
                    f"{path}:{reader.line_num}: expected {len(_COLUMNS)} fields, got {len(line)}"
                )
            try:
                values = [float(v) for v in line[:4]]
            except ValueError as exc:
                raise DataError(f"{path}:{reader.line_num}: {exc}") from exc
            if not all(math.isfinite(v) for v in values):
                raise DataError(f"{path}:{reader.line_num}: non-finite measurement")
            rows.append(values)
            species.append(line[4].strip())
    class_names = tuple(dict.fromkeys(species))
    index = {name: i for i, name in enumerate(class_names)}
    X = np.array(rows, dtype=dt).reshape(len(rows), 4)
    y = np.array([index[s] for s in species], dtype=np.int64)
    return X, y, class_names
