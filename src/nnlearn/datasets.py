r"""The data-set loaders under their first name: ``from nnlearn.datasets import load_mnist``.

They live in :mod:`nnlearn.data` beside augmentation and preprocessing; this module
keeps the documented import path working.
"""

from nnlearn.data import (Dataset, IDXHeader, Split, load_idx_dataset, load_iris, load_mnist,
                          mnist_path, read_idx, read_idx_header, write_idx)

__all__ = ["Dataset", "IDXHeader", "Split", "load_idx_dataset", "load_iris", "load_mnist",
           "mnist_path", "read_idx", "read_idx_header", "write_idx"]
