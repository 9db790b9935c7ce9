r"""IDX files (oracle :func:`check_idx`: the array, or ``IDXFormatError``/``DataError`` naming
the file): random bytes; *structured* headers (magic, dtype code, ndim and dimensions drawn
from edge values such as 0, 2**31 - 1 and 2**32 - 1, so their product overflows 32 and 64
bits) followed by payloads of the exact, a shorter, a longer or a random length; byte-level
mutations (flip, truncate, insert, splice) of valid files; each written raw or
gzip-compressed (whole, truncated or bit-flipped).
"""

from __future__ import annotations

import gzip
import io
import warnings

import numpy as np
from hypothesis import strategies as st

from nnlearn.data import read_idx
from nnlearn.errors import DataError, IDXFormatError

from .common import _count, _write, mutated


def check_idx(data: bytes, target: str = "read_idx") -> np.ndarray | None:
    """Read ``data`` as an IDX file: the result or ``None`` for our own error; anything else raises."""
    _count(target)
    path = _write(data, ".idx")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            arr = read_idx(path)
        except (IDXFormatError, DataError) as exc:
            assert str(path) in str(exc), f"error message does not name the file: {exc}"
            return None
    assert isinstance(arr, np.ndarray) and arr.flags.writeable
    return arr


_CODES = (0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)
_ITEMSIZE = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}
_EDGE_DIMS = (0, 1, 2, 3, 7, 28, 255, 256, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1)

dims = st.one_of(st.sampled_from(_EDGE_DIMS), st.integers(0, 12), st.integers(0, 2**32 - 1))


@st.composite
def idx_structured(draw) -> bytes:
    """A header assembled from (mostly) plausible parts and a payload of a chosen length."""
    magic = draw(st.one_of(st.just(b"\x00\x00"), st.binary(min_size=2, max_size=2)))
    code = draw(st.one_of(st.sampled_from(_CODES), st.integers(0, 255)))
    ndim = draw(st.one_of(st.integers(0, 4), st.sampled_from((32, 33, 64, 65, 255)),
                          st.integers(0, 255)))
    small = draw(st.booleans())
    shape = [draw(st.integers(0, 5) if small else dims) for _ in range(min(ndim, 70))]
    header = magic + bytes([code, ndim]) + b"".join(d.to_bytes(4, "big") for d in shape)
    if draw(st.booleans()):  # truncate inside the header sometimes
        header = header[:draw(st.integers(0, len(header)))]
    expected = int(np.prod([float(d) for d in shape])) * _ITEMSIZE.get(code, 1) \
        if all(d < 1000 for d in shape) else 10**9
    mode = draw(st.sampled_from(("exact", "short", "long", "random")))
    if mode == "exact" and expected <= 4096:
        n = expected
    elif mode == "short" and 0 < expected <= 4096:
        n = draw(st.integers(0, expected - 1))
    elif mode == "long" and expected <= 4096:
        n = expected + draw(st.integers(1, 16))
    else:
        n = draw(st.integers(0, 64))
    return header + draw(st.binary(min_size=n, max_size=n))


@st.composite
def idx_valid(draw) -> bytes:
    """Bytes of a valid IDX file (the layout ``write_idx`` writes) of a small array 0, 1, 2, ..."""
    dtype = draw(st.sampled_from(("uint8", "int8", "int16", "int32", "float32", "float64")))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=1, max_size=4)))
    arr = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    buf = io.BytesIO()
    header = bytes([0, 0, {"uint8": 8, "int8": 9, "int16": 11, "int32": 12, "float32": 13,
                           "float64": 14}[dtype], len(shape)])
    buf.write(header + np.asarray(shape, dtype=">u4").tobytes())
    buf.write(arr.astype(arr.dtype.newbyteorder(">")).tobytes())
    return buf.getvalue()


@st.composite
def gzipped(draw, base: st.SearchStrategy[bytes]) -> bytes:
    """``base`` gzip-compressed, and then possibly truncated or corrupted."""
    data = gzip.compress(draw(base), mtime=0)
    how = draw(st.sampled_from(("whole", "whole", "truncate", "flip")))
    if how == "truncate":
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif how == "flip":
        data = bytearray(data)
        data[draw(st.integers(2, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
        data = bytes(data)
    return data


idx_raw = st.one_of(st.binary(max_size=96), idx_structured(), mutated(idx_valid()))
idx_files = st.one_of(idx_raw, gzipped(idx_raw))
"""Every kind of IDX case, raw and gzip."""
