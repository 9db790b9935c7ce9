"""Tests for nnlearn.data: the IDX reader/writer, MNIST and iris loaders."""

from __future__ import annotations

import gzip
import hashlib
import struct
import time
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from nnlearn.data import idx as idx_module
from nnlearn.data import (
    load_idx_dataset,
    load_iris,
    load_mnist,
    mnist_path,
    read_idx,
    read_idx_header,
    write_idx,
)
from nnlearn.errors import ConfigError, DataError, IDXFormatError

DTYPES = ["uint8", "int8", "int16", "int32", "float32", "float64"]
CODES = {
    "uint8": 0x08,
    "int8": 0x09,
    "int16": 0x0B,
    "int32": 0x0C,
    "float32": 0x0D,
    "float64": 0x0E,
}


def _header(code: int, *dims: int) -> bytes:
    return bytes([0, 0, code, len(dims)]) + struct.pack(f">{len(dims)}I", *dims)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


# ---------------------------------------------------------------- IDX format


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_roundtrip_every_dtype(tmp_path: Path, dtype: str, suffix: str) -> None:
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if dtype[0] in "ui" else np.finfo(dtype)
    arr = rng.uniform(info.min / 2, info.max / 2, size=(3, 4, 5)).astype(dtype)
    arr.flat[0] = info.max
    arr.flat[1] = info.min
    path = tmp_path / f"a.idx{suffix}"
    write_idx(path, arr)
    raw = path.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == (suffix == ".gz")
    data = gzip.decompress(raw) if suffix else raw
    assert data[:4] == bytes([0, 0, CODES[dtype], 3])
    assert data[4:16] == struct.pack(">3I", 3, 4, 5)
    assert data[16:] == arr.astype(np.dtype(dtype).newbyteorder(">")).tobytes()
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    assert out.shape == (3, 4, 5)
    np.testing.assert_array_equal(out, arr)
    assert out.flags.writeable
    header = read_idx_header(path)
    assert header.shape == (3, 4, 5) and header.dtype == np.dtype(dtype)
    assert header.gzipped == (suffix == ".gz")


def test_roundtrip_non_native_and_noncontiguous(tmp_path: Path) -> None:
    arr = np.arange(24, dtype=">i4").reshape(4, 6)[:, ::2]
    write_idx(tmp_path / "b.idx", arr)
    np.testing.assert_array_equal(read_idx(tmp_path / "b.idx"), arr)


def test_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    arr = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "x.gz", arr)
    renamed = tmp_path / "x.idx"
    renamed.write_bytes((tmp_path / "x.gz").read_bytes())
    np.testing.assert_array_equal(read_idx(renamed), arr)
    raw_named_gz = _write(tmp_path / "y.bin", _header(0x08, 3) + b"abc")
    np.testing.assert_array_equal(read_idx(raw_named_gz), np.frombuffer(b"abc", np.uint8))


def test_empty_dimension(tmp_path: Path) -> None:
    write_idx(tmp_path / "e.idx", np.zeros((0, 28, 28), np.uint8))
    assert read_idx(tmp_path / "e.idx").shape == (0, 28, 28)


def test_write_rejects_bad_arrays(tmp_path: Path) -> None:
    for bad in (np.zeros(3, np.int64), np.zeros(3, bool), np.zeros(3, np.float16)):
        with pytest.raises(DataError, match="dtype"):
            write_idx(tmp_path / "bad.idx", bad)
    with pytest.raises(DataError, match="dimensions"):
        write_idx(tmp_path / "bad.idx", np.array(3, np.uint8))


def test_wrong_magic(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.idx", b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"x")
    with pytest.raises(IDXFormatError, match="0x00 0x00") as exc:
        read_idx(path)
    assert "m.idx" in str(exc.value)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_unknown_dtype_code(tmp_path: Path, suffix: str) -> None:
    path = _write(tmp_path / f"c.idx{suffix}", _header(0x0A, 2) + b"ab")
    with pytest.raises(IDXFormatError, match="0x0A") as exc:
        read_idx(path)
    assert path.name in str(exc.value)


def test_zero_dimensions(tmp_path: Path) -> None:
    with pytest.raises(IDXFormatError, match="0 dimensions"):
        read_idx(_write(tmp_path / "z.idx", _header(0x08)))


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_truncated_payload(tmp_path: Path, suffix: str) -> None:
    path = _write(tmp_path / f"trunc.idx{suffix}", _header(0x0C, 2, 3) + bytes(20))
    with pytest.raises(IDXFormatError, match="truncated") as exc:
        read_idx(path)
    msg = str(exc.value)
    assert path.name in msg and "24" in msg and "20" in msg


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("data", [b"", b"\x00\x00", b"\x00\x00\x08\x03" + bytes(5)])
def test_truncated_header(tmp_path: Path, suffix: str, data: bytes) -> None:
    path = _write(tmp_path / f"h.idx{suffix}", data)
    with pytest.raises(IDXFormatError, match="truncated") as exc:
        read_idx(path)
    assert path.name in str(exc.value)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_trailing_bytes(tmp_path: Path, suffix: str) -> None:
    path = _write(tmp_path / f"t.idx{suffix}", _header(0x08, 4) + bytes(7))
    with pytest.raises(IDXFormatError, match="trailing") as exc:
        read_idx(path)
    assert path.name in str(exc.value)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_huge_header_rejected_without_allocation(tmp_path: Path, suffix: str) -> None:
    path = _write(tmp_path / f"huge.idx{suffix}", _header(0x0E, *[2**20] * 4))
    start = time.perf_counter()
    tracemalloc.start()
    try:
        with pytest.raises(IDXFormatError, match="refusing") as exc:
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 1.0
    assert peak < 4 * 2**20
    assert path.name in str(exc.value)


def test_short_gzip_with_large_header_reads_only_what_exists(tmp_path: Path) -> None:
    # Declares 1 GiB (below the limit) but holds 10 bytes: fails as truncated, small memory.
    path = _write(tmp_path / "big.idx.gz", _header(0x08, 2**15, 2**15) + bytes(10))
    tracemalloc.start()
    try:
        with pytest.raises(IDXFormatError, match="truncated"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


def test_gzip_bomb_is_not_fully_decompressed(tmp_path: Path) -> None:
    # A small header followed by 64 MiB of zeros that compress to ~64 KiB.
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [comp.compress(_header(0x08, 16))]
    block = bytes(2**20)
    parts += [comp.compress(block) for _ in range(64)]
    parts.append(comp.flush())
    path = tmp_path / "bomb.idx"
    path.write_bytes(b"".join(parts))
    tracemalloc.start()
    try:
        with pytest.raises(IDXFormatError, match="trailing"):
            read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20


def test_max_payload_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(tmp_path / "s.idx", _header(0x08, 100) + bytes(100))
    monkeypatch.setattr(idx_module, "MAX_PAYLOAD_BYTES", 99)
    with pytest.raises(IDXFormatError, match="refusing"):
        read_idx(path)


@pytest.mark.parametrize("cut", ["garbage", "cut"])
def test_corrupt_gzip(tmp_path: Path, cut: str) -> None:
    good = gzip.compress(_header(0x08, 1000) + bytes(range(250)) * 4)
    data = good[:12] + b"\xff" * 40 if cut == "garbage" else good[: len(good) // 2]
    path = tmp_path / "bad.idx.gz"
    path.write_bytes(data)
    with pytest.raises(IDXFormatError, match="gzip") as exc:
        read_idx(path)
    assert "bad.idx.gz" in str(exc.value)


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.idx")


# ---------------------------------------------------------------- MNIST


MNIST_TRAIN_MD5 = "6bbc9ace898e44ae57da46a324031adb"
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.slow
def test_shipped_mnist_raw_files(tmp_path: Path) -> None:
    folder = mnist_path()
    images = folder / "train-images-idx3-ubyte.gz"
    with gzip.open(images, "rb") as f:
        assert hashlib.md5(f.read()).hexdigest() == MNIST_TRAIN_MD5
    assert read_idx_header(images).shape == (60000, 28, 28)
    write_idx(tmp_path / "copy", read_idx(images))  # the writer reproduces the original bytes
    assert hashlib.md5((tmp_path / "copy").read_bytes()).hexdigest() == MNIST_TRAIN_MD5
    labels = read_idx(folder / "train-labels-idx1-ubyte.gz")
    assert labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert np.bincount(labels, minlength=10).tolist() == TRAIN_COUNTS
    test_labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    assert np.bincount(test_labels, minlength=10).tolist() == TEST_COUNTS
    assert (folder / "README.md").read_text().count("CC BY-SA 3.0") >= 1


def test_load_mnist_book_split() -> None:
    data = load_mnist()
    assert data.validation is not None
    (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = data.train, data.validation, data.test
    assert X_tr.shape == (50000, 784) and X_va.shape == (10000, 784) and X_te.shape == (10000, 784)
    assert y_tr.shape == (50000,) and y_va.shape == (10000,) and y_te.shape == (10000,)
    for X, y in (data.train, data.validation, data.test):
        assert X.dtype == np.float32 and y.dtype == np.int64
        assert X.min() >= 0.0 and X.max() <= 1.0
    assert X_tr.max() == 1.0
    assert y_tr[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    counts = np.bincount(y_tr, minlength=10) + np.bincount(y_va, minlength=10)
    assert counts.tolist() == TRAIN_COUNTS
    assert np.bincount(y_te, minlength=10).tolist() == TEST_COUNTS


def test_release_decoded_forgets_the_cached_files_and_a_later_load_decodes_again() -> None:
    from nnlearn.data import mnist
    first = load_mnist().test
    assert mnist._read_cached.cache_info().currsize >= 4     # the four files, decoded once
    mnist.release_decoded()
    assert mnist._read_cached.cache_info().currsize == 0
    again = load_mnist().test
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1])


@pytest.mark.slow
def test_load_mnist_full_unflattened_float64() -> None:
    data = load_mnist(split="full", flatten=False, dtype="float64")
    assert data.validation is None
    assert data.train[0].shape == (60000, 1, 28, 28) and data.train[0].dtype == np.float64
    assert data.test[0].shape == (10000, 1, 28, 28)
    assert np.bincount(data.train[1]).tolist() == TRAIN_COUNTS


def test_load_mnist_returns_fresh_arrays() -> None:
    first = load_mnist()
    first.train[0][:] = 7.0
    first.train[1][:] = -1
    second = load_mnist()
    assert second.train[0].max() == 1.0
    assert second.train[1][:3].tolist() == [5, 0, 4]


def test_load_mnist_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="float32"):
        load_mnist(dtype="int32")
    with pytest.raises(ConfigError, match="float32"):
        load_mnist(dtype=None)
    with pytest.raises(ConfigError, match="split"):
        load_mnist(split="train")


def _write_folder(folder: Path, n_train: int = 12, n_test: int = 5, gz: bool = False) -> None:
    rng = np.random.default_rng(1)
    sfx = ".gz" if gz else ""
    folder.mkdir(exist_ok=True)
    write_idx(
        folder / f"train-images-idx3-ubyte{sfx}", rng.integers(0, 256, (n_train, 4, 3), np.uint8)
    )
    write_idx(folder / f"train-labels-idx1-ubyte{sfx}", np.arange(n_train, dtype=np.uint8) % 3)
    write_idx(
        folder / f"t10k-images-idx3-ubyte{sfx}", rng.integers(0, 256, (n_test, 4, 3), np.uint8)
    )
    write_idx(folder / f"t10k-labels-idx1-ubyte{sfx}", np.arange(n_test, dtype=np.uint8) % 3)


@pytest.mark.parametrize("gz", [False, True])
def test_load_idx_dataset(tmp_path: Path, gz: bool) -> None:
    _write_folder(tmp_path, gz=gz)
    images = read_idx(next(tmp_path.glob("train-images*")))
    data = load_idx_dataset(tmp_path, validation_size=2, dtype="float64")
    assert data.validation is not None
    assert data.train[0].shape == (10, 12) and data.validation[0].shape == (2, 12)
    assert data.test[0].shape == (5, 12)
    np.testing.assert_allclose(data.validation[0], images[10:].reshape(2, 12) / 255.0)
    assert data.train[1].tolist() == [0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
    plain = load_idx_dataset(str(tmp_path), flatten=False)
    assert plain.validation is None and plain.train[0].shape == (12, 1, 4, 3)
    assert plain.train[0].dtype == np.float32


def test_load_idx_dataset_missing_files(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    (tmp_path / "train-images-idx3-ubyte").unlink()
    with pytest.raises(DataError, match="missing") as exc:
        load_idx_dataset(tmp_path)
    msg = str(exc.value)
    assert "t10k-labels-idx1-ubyte" in msg and "train-images-idx3-ubyte" in msg
    with pytest.raises(DataError, match="not a directory"):
        load_idx_dataset(tmp_path / "absent")


def test_load_idx_dataset_count_mismatch_and_bad_validation(tmp_path: Path) -> None:
    _write_folder(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(DataError, match="5 images .* 4 labels"):
        load_idx_dataset(tmp_path)
    _write_folder(tmp_path)
    with pytest.raises(ConfigError, match="validation_size"):
        load_idx_dataset(tmp_path, validation_size=12)
    with pytest.raises(TypeError):
        load_idx_dataset(tmp_path, validation_size=2.0)  # type: ignore[arg-type]


# ---------------------------------------------------------------- iris


def test_load_iris() -> None:
    X, y, names = load_iris()
    assert X.shape == (150, 4) and X.dtype == np.float32
    assert y.shape == (150,) and y.dtype == np.int64
    assert names == ("setosa", "versicolor", "virginica")
    assert np.bincount(y).tolist() == [50, 50, 50]
    np.testing.assert_allclose(X[0], [5.1, 3.5, 1.4, 0.2], rtol=1e-6)
    assert np.isfinite(X).all() and (X > 0).all()
    X64, _, _ = load_iris(dtype="float64")
    assert X64.dtype == np.float64
    with pytest.raises(ConfigError):
        load_iris(dtype="int64")
