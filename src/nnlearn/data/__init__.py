r"""Data sets and the IDX file format.

- :func:`load_mnist` — the MNIST digits shipped with nnlearn, split as in Nielsen's
  book (50,000 train / 10,000 validation / 10,000 test).
- :func:`load_idx_dataset` — any folder with the four MNIST-style IDX files.
- :func:`load_iris` — Fisher's iris data (150 x 4, three classes).
- :mod:`nnlearn.data.toy` — the web playground's 2-D sets (circle, xor, spiral, ...) and
  their input features.
- :func:`read_idx`, :func:`write_idx`, :func:`read_idx_header` — the IDX format.

Everything here returns NumPy arrays (host memory), batch-first.
"""

from __future__ import annotations

from nnlearn.data.idx import IDXHeader, read_idx, read_idx_header, write_idx
from nnlearn.data.iris import load_iris
from nnlearn.data.mnist import Dataset, Split, load_idx_dataset, load_mnist, mnist_path

__all__ = [
    "Dataset",
    "IDXHeader",
    "Split",
    "load_idx_dataset",
    "load_iris",
    "load_mnist",
    "mnist_path",
    "read_idx",
    "read_idx_header",
    "write_idx",
]
