r"""A small PNG reader and writer in NumPy and zlib (no Pillow needed for PNG files).

:func:`read_png` decodes non-interlaced PNGs of every colour type (greyscale,
RGB, palette, greyscale + alpha, RGBA) at bit depths 1–16 with all five row
filters (PNG spec §9: None, Sub, Up, Average, Paeth), checks every chunk's CRC,
and bounds decompression by the size the header announces (so a "zip bomb"
cannot exhaust memory; the memory decoding needs is checked from the header first).
Average- and Paeth-filtered images are unfiltered by anti-diagonals, vectorised, not
byte by byte. Interlaced (Adam7) files raise a ``DataError`` that suggests installing
Pillow. :func:`write_png` writes 8-bit greyscale, RGB or
RGBA images (filter 0, deflate).

Reference: Portable Network Graphics (PNG) Specification, W3C, 2nd ed. (2003).
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy

from nnlearn.errors import DataError, install_hint
from nnlearn.files import read_regular_bytes
from nnlearn.system.memory import require_memory

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
MAX_PIXELS = 1 << 28
"""Refuse images with more pixels than this (about 268 million)."""


def _chunks(data: bytes, path: str):
    pos = len(SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = data[pos + 8 + length:pos + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise DataError(f"{path}: truncated PNG (chunk {kind!r} is cut off)")
        if zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            raise DataError(f"{path}: damaged PNG (CRC mismatch in chunk {kind!r})")
        yield kind, body
        if kind == b"IEND":
            return
        pos += 12 + length
    raise DataError(f"{path}: truncated PNG (no IEND chunk)")


_FILTER_NAMES = ("None", "Sub", "Up", "Average", "Paeth")
WAVEFRONT_MIN_WIDTH = 48
"""Average- and Paeth-filtered images whose shorter side (in bytes of a pixel lane) is at
least this wide are unfiltered by diagonals (:func:`_unfilter_wavefront`); thinner ones
byte by byte, which is faster for them but is allowed at most :data:`SEQUENTIAL_MAX_BYTES`."""
SEQUENTIAL_MAX_BYTES = 1 << 24
"""Most bytes unfiltered one at a time in Python (about 10 s): thin Average/Paeth images only."""


def _unfilter(raw: numpy.ndarray, height: int, row_bytes: int, bpp: int, path: str) -> numpy.ndarray:
    """The image bytes ``(height, row_bytes)`` from the filtered rows (PNG spec §9).

    None, Sub and Up are vectorised per row. Average and Paeth predict each byte from
    its left neighbour ``a``, the byte above ``b`` and the one above-left ``c``, so a row
    cannot be computed at once; but every pixel of an anti-diagonal depends only on the
    two diagonals before it, so images with such rows are unfiltered one diagonal at a
    time (``height + width − 1`` vectorised steps) instead of one byte at a time.
    """
    rows = raw.reshape(height, row_bytes + 1)
    kinds = rows[:, 0]
    bad = numpy.flatnonzero(kinds > 4)
    if bad.size:
        raise DataError(f"{path}: damaged PNG (unknown row filter {kinds[bad[0]]} in row "
                        f"{bad[0]})")
    lines = rows[:, 1:]
    if bool(numpy.isin(kinds, (3, 4)).any()):
        if min(height, row_bytes // bpp) * bpp >= WAVEFRONT_MIN_WIDTH:
            return _unfilter_wavefront(lines, kinds, bpp)
        if height * row_bytes > SEQUENTIAL_MAX_BYTES:
            raise DataError(f"{path}: a {row_bytes // bpp}×{height}-pixel PNG with Average or "
                            "Paeth filters is too thin to decode quickly with the built-in "
                            f"reader ({height * row_bytes} bytes, one at a time); re-save it "
                            "with other dimensions or without those filters")
    out = numpy.empty((height, row_bytes), dtype=numpy.uint8)
    prior = numpy.zeros(row_bytes, dtype=numpy.uint8)
    for y in range(height):
        kind, line = int(kinds[y]), lines[y]
        if kind == 0:
            cur = line
        elif kind == 1:  # Sub: a running sum per byte lane, mod 256
            cur = numpy.cumsum(line.reshape(-1, bpp), axis=0, dtype=numpy.uint8).ravel()
        elif kind == 2:  # Up
            cur = line + prior
        else:  # Average, Paeth on a thin image: sequential in x
            cur = _unfilter_sequential(kind, line, prior, bpp)
        out[y] = cur
        prior = out[y]
    return out


def _predict(kinds: numpy.ndarray, a: numpy.ndarray, b: numpy.ndarray,
             c: numpy.ndarray) -> numpy.ndarray:
    r"""The filters' predictions of bytes with neighbours ``a`` (left), ``b`` (up), ``c``
    (up-left), arrays ``(n, lanes)`` of uint8, for rows of filter ``kinds`` ``(n,)``::

        None 0   Sub a   Up b   Average ⌊(a + b)/2⌋
        Paeth: of a, b, c the one closest to p = a + b − c (ties: a, then b)
    """
    a, b, c = a.astype(numpy.int16), b.astype(numpy.int16), c.astype(numpy.int16)
    if bool((kinds == kinds[0]).all()):  # the usual case: one filter along the diagonal
        return _prediction(int(kinds[0]), a, b, c)
    k = kinds[:, None]
    return numpy.select([k == kind for kind in range(1, 5)],
                        [_prediction(kind, a, b, c) for kind in range(1, 5)], 0)


def _prediction(kind: int, a: numpy.ndarray, b: numpy.ndarray, c: numpy.ndarray):
    """The prediction of filter ``kind`` from int16 neighbours."""
    if kind == 4:
        pa, pb, pc = numpy.abs(b - c), numpy.abs(a - c), numpy.abs(a + b - 2 * c)  # |p − a| ...
        return numpy.where((pa <= pb) & (pa <= pc), a, numpy.where(pb <= pc, b, c))
    return (numpy.zeros_like(a), a, b, (a + b) >> 1)[kind]


def _unfilter_wavefront(lines: numpy.ndarray, kinds: numpy.ndarray, bpp: int) -> numpy.ndarray:
    r"""Unfilter by anti-diagonals ``d = y + x`` of the pixel grid (``x`` in pixels of
    ``bpp`` byte lanes, which never depend on each other).

    Pixel ``(y, x)`` needs ``(y, x−1)`` and ``(y−1, x)`` on diagonal ``d − 1`` and
    ``(y−1, x−1)`` on ``d − 2``. The grid is stored skewed, ``S[d + 2, j + 1]`` with ``j``
    the position along the shorter side (``y`` if the image is wider than tall, else
    ``x``), so that each diagonal and its neighbours are contiguous slices, and a zero
    row and column stand for the pixels outside the image. Memory: about twice the image.
    """
    height, row_bytes = lines.shape
    width = row_bytes // bpp
    by_rows = height <= width
    short, diagonals = min(height, width), height + width - 1
    grid = lines.reshape(height, width, bpp)
    S = numpy.zeros((diagonals + 2, short + 1, bpp), dtype=numpy.uint8)
    for j in range(short):  # skew: S[j + 2 + k, j + 1] = pixel k along row (or column) j
        S[j + 2:j + 2 + (width if by_rows else height), j + 1] = grid[j] if by_rows else grid[:, j]
    long = width if by_rows else height
    for d in range(diagonals):
        lo, hi = max(0, d - long + 1), min(short - 1, d)  # positions j on this diagonal
        here, before = slice(lo + 1, hi + 2), slice(lo, hi + 1)
        if by_rows:  # j = y: left is (d−1, j), up is (d−1, j−1), up-left (d−2, j−1)
            rows = kinds[lo:hi + 1]
            a, b, c = S[d + 1, here], S[d + 1, before], S[d, before]
        else:  # j = x: left is (d−1, j−1), up is (d−1, j), up-left (d−2, j−1)
            rows = kinds[d - hi:d - lo + 1][::-1]
            a, b, c = S[d + 1, before], S[d + 1, here], S[d, before]
        S[d + 2, here] += _predict(rows, a, b, c).astype(numpy.uint8)  # mod 256
    out = numpy.empty_like(grid)
    for j in range(short):  # unskew
        if by_rows:
            out[j] = S[j + 2:j + 2 + width, j + 1]
        else:
            out[:, j] = S[j + 2:j + 2 + height, j + 1]
    return out.reshape(height, row_bytes)


def _unfilter_sequential(kind: int, line: numpy.ndarray, prior: numpy.ndarray, bpp: int) -> numpy.ndarray:
    cur = bytearray(line.tobytes())
    up = prior.tobytes()
    for x in range(len(cur)):
        a = cur[x - bpp] if x >= bpp else 0
        if kind == 1:
            pred = a
        elif kind == 3:
            pred = (a + up[x]) >> 1
        else:
            b, c = up[x], up[x - bpp] if x >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
        cur[x] = (cur[x] + pred) & 255
    return numpy.frombuffer(bytes(cur), dtype=numpy.uint8)


def _header(body: bytes, path: str) -> tuple[int, int, int, int, int]:
    """``(width, height, depth, colour type, interlace)`` of an IHDR chunk, checked."""
    if len(body) != 13:
        raise DataError(f"{path}: damaged PNG (the IHDR chunk has {len(body)} bytes, expected 13)")
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
    if not (0 < width < 2**31 and 0 < height < 2**31):
        raise DataError(f"{path}: invalid PNG (size {width}×{height}; each side must be 1 to "
                        "2³¹−1 pixels)")
    if color not in _CHANNELS or depth not in _DEPTHS[color]:
        raise DataError(f"{path}: invalid PNG (colour type {color} with bit depth {depth})")
    return width, height, depth, color, interlace


def _palette(body: bytes, path: str) -> numpy.ndarray:
    if not body or len(body) % 3 or len(body) > 3 * 256:
        raise DataError(f"{path}: damaged PNG (the PLTE chunk has {len(body)} bytes; expected "
                        "3 bytes per colour, 1 to 256 colours)")
    return numpy.frombuffer(body, dtype=numpy.uint8).reshape(-1, 3)


def _decode_bytes(width: int, height: int, depth: int, color: int) -> dict[str, int]:
    """The memory decoding needs, by part, before anything is decompressed."""
    channels = _CHANNELS[color]
    row_bytes = (width * channels * depth + 7) // 8
    pixels = width * height * (4 if color == 3 else channels) * (2 if depth == 16 else 1)
    return {"inflated rows": height * (row_bytes + 1), "unfiltered rows": 3 * height * row_bytes,
            "pixels": 2 * pixels}


def read_png(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> numpy.ndarray:
    """Decode a PNG file to ``uint8`` (or ``uint16`` for 16-bit files) pixels.

    Returns ``(H, W)`` for greyscale, ``(H, W, 2)`` grey + alpha, ``(H, W, 3)`` RGB,
    ``(H, W, 4)`` RGBA; palette images are expanded to RGB (RGBA if they carry
    transparency). Low bit depths are scaled to 0–255.

    The header is checked before any image data is decompressed: at most ``max_pixels``
    pixels, and the memory decoding needs against the memory available
    (:func:`nnlearn.system.memory.require_memory`); decompression stops at the size the
    header implies.
    """
    return decode_png(read_regular_bytes(path), str(path), max_pixels)


def decode_png(data: bytes, name: str = "PNG data", max_pixels: int = MAX_PIXELS) -> numpy.ndarray:
    """Decode the bytes of a PNG file (see :func:`read_png`); ``name`` labels errors."""
    path_s = name
    if not data.startswith(SIGNATURE):
        raise DataError(f"{path_s} is not a PNG file (bad signature)")
    header, palette, alpha, idat = None, None, None, []
    for kind, body in _chunks(data, path_s):
        if kind == b"IHDR":
            header = _header(body, path_s)
        elif kind == b"PLTE":
            palette = _palette(body, path_s)
        elif kind == b"tRNS":
            alpha = numpy.frombuffer(body, dtype=numpy.uint8)
        elif kind == b"IDAT":
            idat.append(body)
    if header is None or not idat:
        raise DataError(f"{path_s}: damaged PNG (missing IHDR or IDAT)")
    width, height, depth, color, interlace = header
    if interlace:
        raise DataError(f"{path_s} is an interlaced PNG, which the built-in reader does not "
                        f"decode; install Pillow ({install_hint('images')}) or re-save it")
    if width * height > max_pixels:
        raise DataError(f"{path_s}: a PNG of {width}×{height} = {width * height:,} pixels is "
                        f"larger than the limit of {max_pixels:,} pixels; scale it down first")
    parts = _decode_bytes(width, height, depth, color)
    require_memory(sum(parts.values()), f"decoding {path_s} ({width}×{height} pixels)",
                   "scale the image down first", parts)
    channels = _CHANNELS[color]
    bpp = max(1, channels * depth // 8)
    row_bytes = (width * channels * depth + 7) // 8
    expected = height * (row_bytes + 1)
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(b"".join(idat), expected)
    except zlib.error as exc:
        raise DataError(f"{path_s}: damaged PNG image data ({exc})") from None
    if len(raw) != expected:
        raise DataError(f"{path_s}: PNG image data has {len(raw)} bytes, expected {expected}")
    rows = _unfilter(numpy.frombuffer(raw, dtype=numpy.uint8), height, row_bytes, bpp, path_s)
    del raw
    if depth == 16:
        pixels = rows.view(">u2").astype(numpy.uint16).reshape(height, width, channels)
    elif depth == 8:
        pixels = rows.reshape(height, width, channels)
    else:  # 1, 2 or 4 bits per value, big end first: shift each out of its byte
        shifts = numpy.arange(8 - depth, -1, -depth, dtype=numpy.uint8)
        values = (rows[:, :, None] >> shifts) & numpy.uint8((1 << depth) - 1)
        values = values.reshape(height, -1)[:, :width]
        if color == 0:
            values *= numpy.uint8(255 // ((1 << depth) - 1))
        pixels = values[..., None]
    if color == 3:
        if palette is None:
            raise DataError(f"{path_s}: damaged PNG (palette image without PLTE)")
        index = pixels[..., 0]
        if index.max() >= len(palette):
            raise DataError(f"{path_s}: damaged PNG (palette index out of range)")
        pixels = palette[index]
        if alpha is not None:
            a = numpy.full(len(palette), 255, dtype=numpy.uint8)
            a[:len(alpha)] = alpha[:len(palette)]
            pixels = numpy.dstack([pixels, a[index]])
    return pixels[..., 0] if pixels.shape[-1] == 1 else pixels


def write_png(path: str | os.PathLike, image) -> None:
    """Write a ``uint8`` image ``(H, W)``, ``(H, W, 3)`` or ``(H, W, 4)`` as a PNG file."""
    image = numpy.asarray(image)
    if image.dtype != numpy.uint8:
        raise DataError(f"write_png needs uint8 pixels, got dtype {image.dtype}")
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4) or 0 in image.shape:
        raise DataError(f"write_png needs an image of shape (H, W), (H, W, 3) or (H, W, 4), "
                        f"got {image.shape}")
    height, width, channels = image.shape
    color = {1: 0, 3: 2, 4: 6}[channels]
    rows = numpy.concatenate([numpy.zeros((height, 1), numpy.uint8),
                              image.reshape(height, width * channels)], axis=1)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    data = (SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + chunk(b"IEND", b""))
    Path(path).write_bytes(data)
