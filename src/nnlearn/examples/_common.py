r"""Small helpers shared by the examples: optional plotting and seeded data splits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy

from nnlearn.errors import ConfigError, DataError, install_hint


def pyplot() -> Any | None:
    """``matplotlib.pyplot`` on the display-free Agg backend, or ``None`` without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | Path) -> Path:
    """Write ``fig`` as a PNG to ``path`` (parent folders created) and close it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def no_matplotlib(what: str) -> None:
    print(f"({what}: matplotlib is not installed; {install_hint('plot')} for the figure)")


def stratified_split(y, test_fraction: float, seed: int | None) -> tuple[numpy.ndarray, numpy.ndarray]:
    r"""Indices ``(train, test)`` holding out ``round(test_fraction · n_c)`` of each class c.

    Each class is shuffled with one generator seeded by ``seed``, so the split is
    reproducible and every class keeps its share in both parts.
    """
    y = numpy.asarray(y)
    if y.ndim != 1 or y.size == 0:
        raise DataError(f"y must be a non-empty 1-D array of labels, got shape {y.shape}")
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    rng = numpy.random.default_rng(seed)
    train, test = [], []
    for label in numpy.unique(y):
        members = rng.permutation(numpy.flatnonzero(y == label))
        k = int(round(test_fraction * members.size))
        test.append(members[:k])
        train.append(members[k:])
    return numpy.sort(numpy.concatenate(train)), numpy.sort(numpy.concatenate(test))
