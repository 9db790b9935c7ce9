r"""A small PNG reader and writer in NumPy and zlib (no Pillow needed for PNG files).

:func:`read_png` decodes non-interlaced PNGs of every colour type (greyscale,
RGB, palette, greyscale + alpha, RGBA) at bit depths 1–16 with all five row
filters (PNG spec §9: None, Sub, Up, Average, Paeth), checks every chunk's CRC,
and bounds decompression by the size the header announces (so a "zip bomb"
cannot exhaust memory). Interlaced (Adam7) files raise a ``DataError`` that
suggests installing Pillow. :func:`write_png` writes 8-bit greyscale, RGB or
RGBA images (filter 0, deflate).

Reference: Portable Network Graphics (PNG) Specification, W3C, 2nd ed. (2003).
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy

from nnlearn.errors import DataError

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


def _unfilter(raw: numpy.ndarray, height: int, row_bytes: int, bpp: int, path: str) -> numpy.ndarray:
    rows = raw.reshape(height, row_bytes + 1)
    out = numpy.zeros((height, row_bytes), dtype=numpy.uint8)
    prior = numpy.zeros(row_bytes, dtype=numpy.uint8)
    for y in range(height):
        kind, line = int(rows[y, 0]), rows[y, 1:]
        if kind == 0:
            cur = line.copy()
        elif kind == 1 and row_bytes % bpp == 0:  # Sub: a running sum per byte lane, mod 256
            cur = numpy.cumsum(line.reshape(-1, bpp), axis=0, dtype=numpy.uint8).ravel()
        elif kind == 2:  # Up
            cur = line + prior
        elif kind in (1, 3, 4):  # Sub (ragged), Average, Paeth: sequential in x
            cur = _unfilter_sequential(kind, line, prior, bpp)
        else:
            raise DataError(f"{path}: damaged PNG (unknown row filter {kind} in row {y})")
        out[y] = cur
        prior = cur
    return out


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


def read_png(path: str | os.PathLike) -> numpy.ndarray:
    """Decode a PNG file to ``uint8`` (or ``uint16`` for 16-bit files) pixels.

    Returns ``(H, W)`` for greyscale, ``(H, W, 2)`` grey + alpha, ``(H, W, 3)`` RGB,
    ``(H, W, 4)`` RGBA; palette images are expanded to RGB (RGBA if they carry
    transparency). Low bit depths are scaled to 0–255.
    """
    return decode_png(Path(path).read_bytes(), str(path))


def decode_png(data: bytes, name: str = "PNG data") -> numpy.ndarray:
    """Decode the bytes of a PNG file (see :func:`read_png`); ``name`` labels errors."""
    path_s = name
    if not data.startswith(SIGNATURE):
        raise DataError(f"{path_s} is not a PNG file (bad signature)")
    header, palette, alpha, idat = None, None, None, []
    for kind, body in _chunks(data, path_s):
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = numpy.frombuffer(body, dtype=numpy.uint8).reshape(-1, 3)
        elif kind == b"tRNS":
            alpha = numpy.frombuffer(body, dtype=numpy.uint8)
        elif kind == b"IDAT":
            idat.append(body)
    if header is None or not idat:
        raise DataError(f"{path_s}: damaged PNG (missing IHDR or IDAT)")
    width, height, depth, color, _, _, interlace = header
    if color not in _CHANNELS or depth not in _DEPTHS[color]:
        raise DataError(f"{path_s}: invalid PNG (colour type {color} with bit depth {depth})")
    if interlace:
        raise DataError(f"{path_s} is an interlaced PNG, which the built-in reader does not "
                        "decode; install Pillow (pip install 'nnlearn[images]') or re-save it")
    if not 0 < width * height <= MAX_PIXELS:
        raise DataError(f"{path_s}: PNG of {width}×{height} pixels is empty or too large")
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
    if depth == 16:
        pixels = rows.view(">u2").astype(numpy.uint16).reshape(height, width, channels)
    elif depth == 8:
        pixels = rows.reshape(height, width, channels)
    else:
        bits = numpy.unpackbits(rows, axis=1).reshape(height, -1, depth)[:, :width]
        values = (bits * (1 << numpy.arange(depth - 1, -1, -1))).sum(axis=2).astype(numpy.uint8)
        if color == 0:
            values = values * (255 // ((1 << depth) - 1))
        pixels = values.astype(numpy.uint8)[..., None]
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
