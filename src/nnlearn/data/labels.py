r"""How many classes the labels of a data set name, and refusing stray labels.

A network for integer labels gets one output per class, and the class count is read
from the labels: ``K = max label + 1``. One stray label (a 255 in an MNIST-style
folder) would then silently turn a 10-class problem into a 256-class one. The rule:

* if the caller states the class count (``num_classes``, ``--num-classes``), every
  label must be below it and that is the count;
* otherwise ``K = max label + 1``, and when fewer than half of the classes
  ``0 … K − 1`` occur in the data (``K > 2 · distinct labels``) the labels are refused
  as stray, naming the outlying labels and where they occur; stating the count is the
  opt-in for data sets whose classes really are that sparse;
* when the count differs from what the data's name suggests (10 for MNIST-style
  folders), :func:`count_classes` returns a note saying so, for the run's banner.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from nnlearn.errors import DataError

MNIST_STYLE_CLASSES = 10
"""The class count an MNIST-style IDX folder suggests: the ten digits (or Fashion-MNIST's ten)."""


class ClassCount(NamedTuple):
    """The class count and, when it is not the expected one, a note saying so."""

    classes: int
    note: str | None


def count_classes(splits: dict[str, np.ndarray | None], num_classes: int | None = None,
                  expected: int | None = MNIST_STYLE_CLASSES) -> ClassCount:
    """The number of classes of integer labels ``splits`` (name → labels), by the rule of
    the module docstring. Raises ``DataError`` for labels at or above ``num_classes`` and
    for stray labels when ``num_classes`` is not given."""
    present = {name: y for name, y in splits.items() if y is not None and len(y)}
    if not present:
        raise DataError("there are no labels to count classes from; every split is empty")
    largest = max(int(y.max()) for y in present.values())
    if num_classes is not None:
        if largest >= num_classes:
            where = [name for name, y in present.items() if int(y.max()) >= num_classes]
            raise DataError(f"the {' and '.join(where)} labels go up to {largest}, but "
                            f"num_classes (--num-classes) is {num_classes}: labels must be in "
                            f"[0, {num_classes - 1}]; fix the labels or the class count")
        classes = num_classes
    else:
        classes = largest + 1
        distinct = np.unique(np.concatenate([np.unique(y) for y in present.values()]))
        if classes > 2 * len(distinct):
            raise DataError(_stray(present, distinct, classes))
    note = None
    if expected is not None and classes != expected:
        note = (f"note: the labels name {classes} classes (0 to {classes - 1}), not the "
                f"{expected} an MNIST-style data set suggests; the network gets {classes} outputs")
    return ClassCount(classes, note)


def _stray(present: dict[str, np.ndarray], distinct: np.ndarray, classes: int) -> str:
    """The message for labels far outside the others: which ones, how often, where."""
    gaps = np.diff(distinct)
    cut = int(np.argmax(gaps)) + 1  # the outliers are the labels above the widest gap
    outliers = distinct[cut:]
    found = []
    for label in outliers[:5]:
        counts = {name: int(np.count_nonzero(y == label)) for name, y in present.items()}
        found.append(f"{int(label)} ({', '.join(f'{n}× in {name}' for name, n in counts.items() if n)})")
    return (f"only {len(distinct)} of the {classes} classes 0 to {classes - 1} occur in the "
            f"labels: the labels {', '.join(found)}{' ...' if len(outliers) > 5 else ''} lie far "
            f"beyond the others (0 to {int(distinct[cut - 1])}); a stray label would make a "
            f"{classes}-output network. Fix the label files, or state the class count "
            f"(--num-classes {classes}, data.num_classes) to train on these labels anyway")
