r"""MNIST (shipped with the package) and any folder of MNIST-style IDX files.

The default split follows Nielsen's "Neural Networks and Deep Learning": the first
50,000 of the 60,000 training images for training, the last 10,000 for
validation, and the 10,000 ``t10k`` images for test.

Shapes (batch-first)::

    X  (N, 784)          flatten=True,  float in [0, 1]  (pixel / 255)
    X  (N, 1, 28, 28)    flatten=False, images (N, C, H, W)
    y  (N,)              int64 class labels 0..9

The book uses column vectors ``x`` of shape (784, 1) and one-hot ``y``; here
each example is a row of ``X`` and labels are integers.

MNIST: Y. LeCun, C. Cortes, C. J. C. Burges, available under the Creative Commons
Attribution-Share Alike 3.0 license (see ``data/mnist/README.md``).
"""

from __future__ import annotations

import functools
import math
import operator
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from nnlearn.checks import float_dtype, positive_int
from nnlearn.data._common import DATA_DIR
from nnlearn.data.idx import IDXHeader, PathLike, read_idx, read_idx_header, read_idx_rows
from nnlearn.errors import ConfigError, DataError
from nnlearn.system.memory import require_memory

__all__ = ["Dataset", "Split", "load_idx_dataset", "load_mnist", "mnist_path"]

Split = tuple[np.ndarray, np.ndarray]
"""An ``(X, y)`` pair: inputs and int64 labels, one example per row."""

_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_BOOK_VALIDATION = 10_000


class Dataset(NamedTuple):
    r"""A dataset split three ways; each part is an ``(X, y)`` pair.

    ``validation`` is ``None`` when no validation set was split off. Being a
    NamedTuple it unpacks like the book's loader:
    ``train, validation, test = load_mnist()``.
    """

    train: Split
    validation: Split | None
    test: Split


def mnist_path() -> Path:
    r"""Return the folder holding the MNIST IDX files shipped with nnlearn."""
    return DATA_DIR / "mnist"


CACHE_MAX_BYTES = 256 * 2**20
"""Decoded IDX files up to this size are cached in memory (MNIST's largest is 47 MB);
larger ones are read for each call and released with the arrays made from them."""


@functools.lru_cache(maxsize=16)
def _read_cached(path: str, mtime_ns: int) -> np.ndarray:
    r"""Decode an IDX file once per (path, mtime); the cached array is read-only."""
    arr = read_idx(path)
    arr.flags.writeable = False
    return arr


def release_decoded() -> None:
    """Forget the decoded files kept for later loads: a process that loads its data once
    (``nnlearn train``) frees them at once instead of holding them to its end (MNIST's
    55 MB of pixels, beside the float copies it trains on)."""
    _read_cached.cache_clear()


def _read_rows(path: Path, header: IDXHeader, ranges: list[tuple[int, int]]) -> list[np.ndarray]:
    """The row ``ranges`` of an IDX file: sliced from the cached whole file when it is
    small, else read alone (:func:`~nnlearn.data.idx.read_idx_rows`: memory for those
    rows only)."""
    if header.payload_bytes > CACHE_MAX_BYTES:
        return read_idx_rows(path, ranges)
    whole = _read_cached(str(path), path.stat().st_mtime_ns)
    return [whole[start:stop] for start, stop in ranges]


def _find_files(directory: Path) -> dict[str, Path]:
    if not directory.is_dir():
        raise DataError(f"{directory}: not a directory; expected a folder of IDX files")
    found: dict[str, Path] = {}
    missing: list[str] = []
    for key, stem in _FILES.items():
        for candidate in (directory / stem, directory / f"{stem}.gz"):
            if candidate.exists():  # read with open_regular: a FIFO or folder is refused
                found[key] = candidate
                break
        else:
            missing.append(f"{stem}[.gz]")
    if missing:
        raise DataError(
            f"{directory}: missing IDX file(s): {', '.join(missing)}; expected the four files "
            + ", ".join(f"{s}[.gz]" for s in _FILES.values())
        )
    return found


def _pair(images: IDXHeader, labels: IDXHeader, img_path: Path, lbl_path: Path) -> int:
    r"""Check from their headers that an images file and a labels file describe the same
    examples; returns their number."""
    if images.dtype != np.uint8 or len(images.shape) != 3:
        raise DataError(
            f"{img_path}: expected uint8 images of shape (N, rows, cols), "
            f"got {images.dtype} of shape {images.shape}"
        )
    if len(labels.shape) != 1 or labels.dtype.kind not in "iu":
        raise DataError(
            f"{lbl_path}: expected integer labels of shape (N,), "
            f"got {labels.dtype} of shape {labels.shape}"
        )
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{img_path} holds {images.shape[0]} images but {lbl_path} holds {labels.shape[0]} "
            "labels; expected the same number"
        )
    if images.shape[0] == 0:
        raise DataError(f"{img_path} holds no images; expected at least one (training and "
                        "evaluation both need examples)")
    return images.shape[0]


def _check_labels(labels: np.ndarray, lbl_path: Path) -> None:
    if labels.min() < 0:
        raise DataError(f"{lbl_path}: labels must be non-negative, found {labels.min()}")


def _convert(images: np.ndarray, labels: np.ndarray, dtype: np.dtype, flatten: bool) -> Split:
    r"""Scale uint8 pixels to [0, 1] in ``dtype`` and reshape; always returns new arrays."""
    n, rows, cols = images.shape
    X = images.astype(dtype)
    X /= 255
    X = X.reshape(n, rows * cols) if flatten else X.reshape(n, 1, rows, cols)
    return X, labels.astype(np.int64)


def _check_memory(directory: Path, headers: dict[str, IDXHeader], kept: dict[str, int],
                  itemsize: int) -> None:
    r"""Refuse before reading when the rows to be read (``kept``: rows per file; a small
    file is read whole) and their conversion to floats need more than the available memory."""
    raw = 0
    for key, h in headers.items():
        rows = h.shape[0] if h.payload_bytes <= CACHE_MAX_BYTES else kept[key]
        raw += h.payload_bytes // max(h.shape[0], 1) * rows * (2 if h.dtype.itemsize > 1 else 1)
    pixels = math.prod(headers["train_images"].shape[1:])
    converted = (kept["train_images"] + kept["test_images"]) * (pixels * itemsize + 8)
    counts = {key: h.shape[0] for key, h in headers.items() if key.endswith("images")}
    require_memory(raw + converted, f"loading {directory} (whose headers declare "
                   f"{counts['train_images']:,} training and {counts['test_images']:,} test "
                   f"images of {pixels} pixels)", "use fewer examples (train_size, --train-size) "
                   "or a smaller data set",
                   {"images and labels read": raw, "float images": converted})


def load_idx_dataset(
    directory: PathLike,
    *,
    validation_size: int = 0,
    dtype: Any = "float32",
    flatten: bool = True,
    train_size: int | None = None,
) -> Dataset:
    r"""Load a folder holding the four standard MNIST-style IDX files.

    The folder must contain ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each optionally
    gzip-compressed with a ``.gz`` suffix (e.g. MNIST or Fashion-MNIST). Images must
    be uint8 ``(N, rows, cols)``, labels integers ``(N,)``, and neither set empty.

    The last ``validation_size`` training examples become ``validation`` (``None``
    when 0); of the others, the first ``train_size`` (default: all) are ``train``; the
    ``t10k`` files are ``test``. ``X`` is ``dtype`` (float32 or float64) in [0, 1],
    shaped ``(N, rows*cols)`` if ``flatten`` else ``(N, 1, rows, cols)``; ``y`` is
    int64 ``(N,)``. Only the examples returned are converted to floats. Decoded files
    up to :data:`CACHE_MAX_BYTES` are cached in memory, but every call returns fresh
    arrays; of larger files only the rows returned are kept while reading.

    The headers are checked before any payload is read: shapes and counts, and the
    memory the files and the converted examples need against the memory available
    (:func:`nnlearn.system.memory.require_memory`), so that a small gzip file declaring
    millions of images is refused with a ``ResourceError`` instead of exhausting memory.

    Raises :class:`~nnlearn.errors.DataError` naming any missing file or on
    mismatched counts/shapes, :class:`~nnlearn.errors.ConfigError` on a bad
    ``dtype``, ``validation_size`` or ``train_size``.
    """
    dt = np.dtype(float_dtype(dtype))
    if not isinstance(flatten, bool):
        raise TypeError(f"flatten must be a bool, got {type(flatten).__name__}")
    if isinstance(validation_size, bool) or not isinstance(validation_size, (int, np.integer)):
        raise TypeError(f"validation_size must be an int, got {type(validation_size).__name__}")
    directory = Path(os.fspath(directory))
    paths = _find_files(directory)
    headers = {key: read_idx_header(p) for key, p in paths.items()}
    n_all = _pair(headers["train_images"], headers["train_labels"], paths["train_images"],
                  paths["train_labels"])
    n_test = _pair(headers["test_images"], headers["test_labels"], paths["test_images"],
                   paths["test_labels"])
    if headers["train_images"].shape[1:] != headers["test_images"].shape[1:]:
        raise DataError(
            f"{paths['test_images']}: test images are {headers['test_images'].shape[1:]}, "
            f"expected {headers['train_images'].shape[1:]} like the training images"
        )
    v = operator.index(validation_size)
    if not 0 <= v < n_all:
        raise ConfigError(
            f"validation_size must be in [0, {n_all}) for {n_all} training "
            f"examples, got {v}"
        )
    n = n_all - v
    if train_size is not None:
        if positive_int("train_size", train_size) > n:
            raise ConfigError(f"train_size {train_size} exceeds the {n} training images "
                              f"(of {n_all}, less {v} for validation)")
        n = train_size
    ranges = {"train": [(0, n), (n_all - v, n_all)], "test": [(0, n_test)]}
    _check_memory(directory, headers, {"train_images": n + v, "train_labels": n + v,
                                       "test_images": n_test, "test_labels": n_test}, dt.itemsize)
    parts = {key: _read_rows(p, headers[key], ranges[key.split("_")[0]])
             for key, p in paths.items()}
    for key in ("train_labels", "test_labels"):
        _check_labels(np.concatenate(parts[key]), paths[key])
    (tr_img, va_img), (tr_lbl, va_lbl) = parts["train_images"], parts["train_labels"]
    train = _convert(tr_img, tr_lbl, dt, flatten)
    validation = _convert(va_img, va_lbl, dt, flatten) if v else None
    test = _convert(parts["test_images"][0], parts["test_labels"][0], dt, flatten)
    return Dataset(train, validation, test)


def load_mnist(*, split: str = "book", dtype: Any = "float32", flatten: bool = True) -> Dataset:
    r"""Load the MNIST digits shipped with nnlearn.

    ``split="book"`` (default): train = first 50,000 training images, validation =
    the last 10,000, test = the 10,000 ``t10k`` images, as in Nielsen's book.
    ``split="full"``: train = all 60,000, ``validation`` is ``None``.

    ``X`` is ``dtype`` (``"float32"`` or ``"float64"``) with pixels in [0, 1],
    shaped ``(N, 784)`` if ``flatten`` else ``(N, 1, 28, 28)``; ``y`` is int64
    ``(N,)`` in 0..9. The first call decodes the files (about a second); later
    calls reuse the decoded bytes and return fresh arrays.
    """
    sizes = {"book": _BOOK_VALIDATION, "full": 0}
    if split not in sizes:
        raise ConfigError(f"split must be 'book' or 'full', got {split!r}")
    return load_idx_dataset(
        mnist_path(), validation_size=sizes[split], dtype=dtype, flatten=flatten
    )
