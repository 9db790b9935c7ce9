r"""Read and write IDX files, the format of the MNIST database.

Layout of an IDX file (every integer big-endian)::

    offset  size     content
    0       2        0x00 0x00                       (magic, always zero)
    2       1        dtype code (table below)
    3       1        ndim, the number of dimensions  (1..255)
    4       4*ndim   the dimensions, uint32 each, outermost first
    4+4*ndim         the payload: prod(dims) items in C order, big-endian

    code  type           code  type
    0x08  uint8          0x0C  int32
    0x09  int8           0x0D  float32
    0x0B  int16          0x0E  float64

MNIST's images are ``0x00 0x00 0x08 0x03`` (magic 2051, uint8, 3 dims: N, 28, 28) and
its labels ``0x00 0x00 0x08 0x01`` (magic 2049, uint8, 1 dim: N).

A file may be gzip-compressed; that is detected from its first two bytes
(0x1f 0x8b), never from its name. The payload size implied by the header is
checked before anything is read: a header declaring more than
:data:`MAX_PAYLOAD_BYTES` is rejected, and at most that size plus one byte is ever
decompressed, so neither a hostile header nor a gzip bomb can force a giant
allocation. Every error is an :class:`~nnlearn.errors.IDXFormatError` naming the
file and what was expected.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import zlib
from contextlib import ExitStack
from pathlib import Path
from typing import NamedTuple, Sequence, Union

import numpy as np
import numpy.typing as npt

from nnlearn.errors import DataError, IDXFormatError
from nnlearn.files import open_regular

__all__ = ["MAX_PAYLOAD_BYTES", "IDXHeader", "read_idx", "read_idx_header", "read_idx_rows",
           "write_idx"]

PathLike = Union[str, "os.PathLike[str]"]

MAX_PAYLOAD_BYTES: int = 2**31
"""Largest payload (in bytes) a header may declare; larger files are refused."""

_CODE_TO_DTYPE: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_NAME_TO_CODE: dict[str, int] = {dt.name: code for code, dt in _CODE_TO_DTYPE.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
_GZIP_ERRORS = (zlib.error, EOFError, OSError)


class IDXHeader(NamedTuple):
    r"""The decoded header of an IDX file.

    ``dtype`` is the native-endian dtype :func:`read_idx` returns, ``shape`` the
    declared dimensions, ``header_bytes`` the header's length (``4 + 4*ndim``),
    ``payload_bytes`` the declared payload size and ``gzipped`` whether the file
    is gzip-compressed.
    """

    dtype: np.dtype
    shape: tuple[int, ...]
    header_bytes: int
    payload_bytes: int
    gzipped: bool


def _chunks(stream: io.BufferedIOBase, n: int, path: PathLike, gzipped: bool):
    r"""Yield the next (at most) ``n`` bytes in chunks of at most 1 MiB."""
    left = n
    try:
        while left > 0:
            chunk = stream.read(min(_CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk
    except _GZIP_ERRORS as exc:
        if not gzipped:
            raise
        raise IDXFormatError(f"{os.fspath(path)}: corrupt or truncated gzip data ({exc})") from exc


def _read_upto(stream: io.BufferedIOBase, n: int, path: PathLike, gzipped: bool) -> bytearray:
    r"""Read at most ``n`` bytes, in chunks, so memory grows only with real data."""
    buf = bytearray()
    for chunk in _chunks(stream, n, path, gzipped):
        buf += chunk
    return buf


def _open(path: PathLike, stack: ExitStack) -> tuple[io.BufferedIOBase, bool]:
    r"""Open ``path`` (a regular file) for reading; transparently gunzip when it starts
    with 0x1f 0x8b."""
    raw: io.BufferedIOBase = stack.enter_context(open_regular(path, "rb"))
    gzipped = raw.read(2) == _GZIP_MAGIC
    raw.seek(0)
    if not gzipped:
        return raw, False
    return stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb")), True


def _parse_header(stream: io.BufferedIOBase, path: PathLike, gzipped: bool) -> IDXHeader:
    name = os.fspath(path)
    head = _read_upto(stream, 4, path, gzipped)
    if len(head) < 4:
        raise IDXFormatError(
            f"{name}: truncated IDX header: expected at least 4 bytes, got {len(head)}"
        )
    if head[0] != 0 or head[1] != 0:
        raise IDXFormatError(
            f"{name}: not an IDX file: the first two bytes are 0x{head[0]:02x} 0x{head[1]:02x}, "
            "expected 0x00 0x00"
        )
    code, ndim = head[2], head[3]
    if code not in _CODE_TO_DTYPE:
        known = ", ".join(f"0x{c:02X} ({dt.name})" for c, dt in _CODE_TO_DTYPE.items())
        raise IDXFormatError(
            f"{name}: unknown IDX dtype code 0x{code:02X}; expected one of {known}"
        )
    if ndim < 1:
        raise IDXFormatError(f"{name}: IDX header declares 0 dimensions; expected 1 to 255")
    dims_raw = _read_upto(stream, 4 * ndim, path, gzipped)
    if len(dims_raw) < 4 * ndim:
        raise IDXFormatError(
            f"{name}: truncated IDX header: {ndim} dimensions need {4 * ndim} bytes after the "
            f"magic number, got {len(dims_raw)}"
        )
    shape = tuple(int(d) for d in np.frombuffer(bytes(dims_raw), dtype=">u4"))
    dtype = _CODE_TO_DTYPE[code]
    payload = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
    if payload > MAX_PAYLOAD_BYTES:
        raise IDXFormatError(
            f"{name}: IDX header declares shape {shape} of {dtype.name}, i.e. {payload} bytes; "
            f"refusing more than {MAX_PAYLOAD_BYTES} bytes (corrupt or hostile header?)"
        )
    return IDXHeader(dtype.newbyteorder("="), shape, 4 + 4 * ndim, payload, gzipped)


def read_idx_header(path: PathLike) -> IDXHeader:
    r"""Read and validate only the header of the IDX file at ``path``.

    Returns an :class:`IDXHeader`. Raises :class:`~nnlearn.errors.IDXFormatError`
    if the header is malformed or declares more than :data:`MAX_PAYLOAD_BYTES`.
    """
    with ExitStack() as stack:
        stream, gzipped = _open(path, stack)
        return _parse_header(stream, path, gzipped)


def read_idx(path: PathLike) -> np.ndarray:
    r"""Read the IDX file at ``path`` (raw or gzip-compressed) into a NumPy array.

    Returns a new, writable, native-endian array of the header's shape and dtype
    (uint8, int8, int16, int32, float32 or float64).

    Raises :class:`~nnlearn.errors.IDXFormatError` when the magic bytes are not
    zero, the dtype code is unknown, the header is truncated or declares a payload
    over :data:`MAX_PAYLOAD_BYTES`, the payload is shorter (``truncated``) or longer
    (trailing bytes) than the header says, or the gzip data is corrupt. A missing
    file raises :class:`FileNotFoundError`.
    """
    name = os.fspath(path)
    with ExitStack() as stack:
        stream, header = _open_checked(path, stack)
        data = _read_upto(stream, header.payload_bytes + 1, path, header.gzipped)
    _check_length(name, header, len(data), exact=False)
    return _to_array(name, data, header, header.shape)


def read_idx_rows(path: PathLike, ranges: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    r"""Only the rows ``[start, stop)`` (along the first axis) of each of ``ranges`` of the
    IDX file at ``path``, one array per range; ranges must be ascending and disjoint.

    The rest of the payload is read and discarded in chunks, so the file is checked
    exactly as by :func:`read_idx` (length, gzip integrity) while memory grows only with
    the rows kept: a small gzip file declaring millions of images costs the time to
    decompress it, not the memory to hold it.
    """
    name = os.fspath(path)
    with ExitStack() as stack:
        stream, header = _open_checked(path, stack)
        n, row_shape = (header.shape[0], header.shape[1:]) if header.shape else (0, ())
        row = math.prod(row_shape) * header.dtype.itemsize
        done, consumed, out = 0, 0, []
        for start, stop in ranges:
            if not done <= start <= stop <= n:
                raise ValueError(f"row ranges must be ascending and disjoint within [0, {n}], "
                                 f"got {list(ranges)}")
            consumed += _skip(stream, (start - done) * row, path, header.gzipped)
            data = _read_upto(stream, (stop - start) * row, path, header.gzipped)
            consumed += len(data)
            if len(data) < (stop - start) * row:
                _check_length(name, header, consumed, exact=False)  # truncated: raises
            out.append(_to_array(name, data, header, (stop - start,) + row_shape))
            done = stop
        consumed += _skip(stream, (n - done) * row + 1, path, header.gzipped)
    _check_length(name, header, consumed, exact=False)
    return out


def _open_checked(path: PathLike, stack: ExitStack) -> tuple[io.BufferedIOBase, IDXHeader]:
    """Open ``path``, parse its header and, for a raw file, check its length from ``fstat``."""
    stream, gzipped = _open(path, stack)
    header = _parse_header(stream, path, gzipped)
    if not gzipped:  # a regular file: its size is known, reject before reading
        size = os.fstat(stream.fileno()).st_size
        _check_length(os.fspath(path), header, size - header.header_bytes, exact=True)
    return stream, header


def _skip(stream: io.BufferedIOBase, n: int, path: PathLike, gzipped: bool) -> int:
    """Read and discard up to ``n`` bytes in chunks; returns how many there were."""
    return sum(len(chunk) for chunk in _chunks(stream, n, path, gzipped))


def _to_array(name: str, data: bytearray, header: IDXHeader, shape: tuple[int, ...]) -> np.ndarray:
    """``data`` (big-endian payload bytes) as a writable native-endian array of ``shape``."""
    be = header.dtype.newbyteorder(">")
    try:  # numpy refuses > 64 (NumPy 1.x: 32) dimensions, and an empty shape whose other
        # dimensions multiply past the address space ("array is too big")
        if not data:
            return np.empty(shape, dtype=header.dtype)
        arr = np.frombuffer(data, dtype=be)  # bytearray-backed: writable
        if be.itemsize > 1:
            arr = arr.astype(header.dtype)
        return arr.reshape(shape)
    except ValueError as exc:
        raise IDXFormatError(f"{name}: the header's shape {header.shape} cannot be an array "
                             f"in NumPy ({exc}); expected at most 32 dimensions") from None


def _check_length(name: str, header: IDXHeader, got: int, *, exact: bool) -> None:
    expected = header.payload_bytes
    what = f"shape {header.shape} of {header.dtype.name}"
    if got < expected:
        raise IDXFormatError(
            f"{name}: truncated IDX file: the header declares {what}, i.e. {expected} payload "
            f"bytes, but only {got} bytes follow the header"
        )
    if got > expected:
        extra = f"{got - expected} trailing bytes" if exact else "trailing bytes"
        raise IDXFormatError(
            f"{name}: {extra} after the {expected}-byte payload declared by the header ({what}); "
            "expected the file to end there"
        )


def write_idx(path: PathLike, array: npt.ArrayLike, *, compresslevel: int = 6) -> None:
    r"""Write ``array`` to ``path`` as an IDX file; gzip it when the name ends in ``.gz``.

    ``array`` must have 1 to 255 dimensions, each below ``2**32``, and one of the
    dtypes uint8, int8, int16, int32, float32 or float64 (any byte order); the data
    is stored big-endian. Gzip output is reproducible (its timestamp is zero).
    ``compresslevel`` (0-9) is used only for ``.gz`` paths. Raises
    :class:`~nnlearn.errors.DataError` for an unsupported dtype or shape.
    """
    arr = np.asarray(array)
    name = os.fspath(path)
    code = _NAME_TO_CODE.get(arr.dtype.name)
    if code is None:
        known = ", ".join(_NAME_TO_CODE)
        raise DataError(f"{name}: cannot write dtype {arr.dtype} to IDX; expected one of {known}")
    if not 1 <= arr.ndim <= 255:
        raise DataError(f"{name}: IDX needs 1 to 255 dimensions, got an array of ndim {arr.ndim}")
    if any(d >= 2**32 for d in arr.shape):
        raise DataError(f"{name}: IDX dimensions must be below 2**32, got shape {arr.shape}")
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    payload = np.ascontiguousarray(arr, dtype=_CODE_TO_DTYPE[code]).reshape(-1).view(np.uint8)
    with ExitStack() as stack:
        f: io.BufferedIOBase = stack.enter_context(open(path, "wb"))
        if Path(name).suffix.lower() == ".gz":
            inner = Path(name).with_suffix("").name
            f = stack.enter_context(gzip.GzipFile(inner, "wb", compresslevel, fileobj=f, mtime=0))
        f.write(header)
        f.write(payload.data)
