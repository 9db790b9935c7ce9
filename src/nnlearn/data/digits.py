r"""Your own handwritten digits, prepared the way MNIST's were.

MNIST's digits (LeCun et al. 1998, and the database's README) were made by
size-normalising each NIST digit to fit a 20×20 box, preserving its aspect ratio,
with anti-aliasing (hence the grey levels), then centring it in a 28×28 field by
its centre of mass. :func:`to_mnist` applies the same steps to any image::

    grey   g = 0.299 R + 0.587 G + 0.114 B  (alpha composited over white), in [0, 1]
    invert if the border is light (dark ink on paper):  g ← 1 − g
    stretch  ink = clip((g − b) / (max g − b), 0, 1),  b = median of the border
    crop     to the bounding box of ink > 0.1
    scale    by s = 20 / max(h, w) with area averaging (anti-aliased), aspect kept
    centre   paste into 28×28 so that the centre of mass Σ ink·(y, x) / Σ ink lies
             at pixel (14, 14), rounded to whole pixels (MNIST's own digits have their
             centre of mass at (14.0, 14.0) ± 0.3 in row/column index coordinates)

:func:`load_image` reads PNG files with the built-in reader (:mod:`nnlearn.data.png`)
and any other format with Pillow when it is installed. :func:`class_probabilities`
turns a network's outputs into probabilities.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy

from nnlearn import backend
from nnlearn.errors import DataError

BOX = 20
FIELD = 28
INK_THRESHOLD = 0.1


def load_image(path: str | os.PathLike):
    """A greyscale ``float64`` image in [0, 1] (0 = black), shape ``(H, W)``.

    PNG files are decoded by :func:`nnlearn.data.png.read_png`; other formats (JPEG, ...)
    and PNGs it cannot decode (interlaced) need Pillow. Alpha is composited over
    white, so transparent backgrounds read as paper.
    """
    from nnlearn.data.png import SIGNATURE, read_png

    path = Path(path)
    with open(path, "rb") as f:
        is_png = f.read(len(SIGNATURE)) == SIGNATURE
    pixels = None
    if is_png:
        try:
            pixels = read_png(path)
        except DataError as exc:
            if "interlaced" not in str(exc):
                raise
            pixels = _read_with_pillow(path, str(exc))
    else:
        pixels = _read_with_pillow(path, f"{path} is not a PNG file")
    return to_grey(pixels)


def _read_with_pillow(path: Path, why: str):
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f"{why}; reading it needs Pillow: pip install 'nnlearn[images]' "
                          "(or save the image as PNG)") from None
    try:
        with Image.open(path) as image:
            image.load()
            mode = "RGBA" if "A" in image.getbands() or "transparency" in image.info else "RGB"
            return numpy.asarray(image.convert(mode))
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the image ({exc})") from None


def to_grey(pixels):
    """Pixels ``(H, W)``, ``(H, W, 2|3|4)`` of any integer or float type → grey in [0, 1]."""
    xp = backend.xp
    a = xp.asarray(pixels)
    if a.dtype.kind in "ui":
        a = a / float(xp.iinfo(a.dtype).max)
    elif a.dtype.kind == "f":
        a = a.astype(xp.float64)
    else:
        raise DataError(f"image pixels must be numbers, got dtype {a.dtype}")
    if a.ndim == 3 and a.shape[2] in (2, 4):
        colour, alpha = a[..., :-1], a[..., -1:]
        a = colour * alpha + (1.0 - alpha)  # over white paper
    if a.ndim == 3 and a.shape[2] == 3:
        a = a @ xp.array([0.299, 0.587, 0.114])
    elif a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim != 2 or 0 in a.shape:
        raise DataError(f"expected an image of shape (H, W) or (H, W, C), got {a.shape}")
    if not xp.isfinite(a).all():
        raise DataError("the image contains NaN or inf")
    return xp.clip(a, 0.0, 1.0)


def area_weights(n_in: int, n_out: int):
    r"""Resampling matrix ``R (n_out, n_in)``: output pixel i is the mean of the input
    over its span ``[i·n_in/n_out, (i+1)·n_in/n_out)``, so ``R[i, j]`` is the overlap of
    that span with input pixel ``[j, j+1)`` divided by the span's length (rows sum to 1)."""
    xp = backend.xp
    step = n_in / n_out
    lo = xp.arange(n_out)[:, None] * step
    j = xp.arange(n_in)[None, :]
    overlap = xp.clip(xp.minimum(lo + step, j + 1) - xp.maximum(lo, j), 0.0, None)
    return overlap / step


def resize_area(image, shape: tuple[int, int]):
    """Resize a 2-D image to ``shape`` by area averaging: ``R_y · image · R_xᵀ``."""
    xp = backend.xp
    image = xp.asarray(image, dtype=xp.float64)
    return area_weights(image.shape[0], shape[0]) @ image @ area_weights(image.shape[1], shape[1]).T


def to_mnist(image, invert: bool | None = None):
    """An MNIST-style ``(28, 28)`` float32 digit (white ink on black, in [0, 1]) from a
    greyscale image in [0, 1] (see the module docstring for the steps).

    ``invert``: ``None`` detects dark-on-light from the border's median brightness;
    ``True``/``False`` force it. Raises ``DataError`` if the image has no ink.
    """
    return mnist_stages(image, invert)["centred"]


def mnist_stages(image, invert: bool | None = None) -> dict:
    """The images :func:`to_mnist` goes through, by name: ``"ink"`` (grey, inverted if
    needed, stretched: white ink on black), ``"cropped"`` (to the ink's bounding box),
    ``"scaled"`` (into the 20×20 box) and ``"centred"`` (the 28×28 result); and
    ``"box"``, the crop as ``(top, left, bottom, right)`` pixel bounds of the input."""
    xp = backend.xp
    g = to_grey(image)
    border = xp.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    if invert is None:
        invert = float(xp.median(border)) > 0.5
    if invert:
        g, border = 1.0 - g, 1.0 - border
    background = float(xp.median(border))
    top = float(g.max())
    if top - background < 0.1:
        raise DataError("the image has no visible ink (it is nearly uniform); expected a dark "
                        "digit on light paper or a light digit on a dark background")
    ink = xp.clip((g - background) / (top - background), 0.0, 1.0)
    rows = xp.flatnonzero((ink > INK_THRESHOLD).any(axis=1))
    cols = xp.flatnonzero((ink > INK_THRESHOLD).any(axis=0))
    cropped = ink[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = cropped.shape
    scale = BOX / max(h, w)
    small = resize_area(cropped, (max(1, round(h * scale)), max(1, round(w * scale))))
    sh, sw = small.shape
    mass = small.sum()
    cy = float((small.sum(axis=1) * xp.arange(sh)).sum() / mass)
    cx = float((small.sum(axis=0) * xp.arange(sw)).sum() / mass)
    centre = FIELD / 2  # where MNIST's centres of mass lie (measured: 14.0 ± 0.3)
    y0 = min(max(int(round(centre - cy)), 0), FIELD - sh)
    x0 = min(max(int(round(centre - cx)), 0), FIELD - sw)
    out = xp.zeros((FIELD, FIELD), dtype=xp.float32)
    out[y0:y0 + sh, x0:x0 + sw] = small
    box = (int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)
    return {"ink": ink, "cropped": cropped, "scaled": small, "centred": out, "box": box}


def class_probabilities(network, X):
    r"""Class probabilities for a batch: the outputs if the last layer is a softmax;
    outputs ``a ≥ 0`` (sigmoid) normalised to sum to 1; otherwise softmax of the outputs."""
    xp = backend.xp
    A = network.predict_proba(X)
    if type(network.layers[-1]).__name__ == "Softmax":
        return A
    if bool((A >= 0).all()):
        return A / xp.maximum(A.sum(axis=1, keepdims=True), xp.finfo(A.dtype).tiny)
    E = xp.exp(A - A.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def network_inputs(network, digits):
    """Stack ``(N, 28, 28)`` digits into the network's input shape (784 or 1×28×28)."""
    xp = backend.xp
    digits = xp.asarray(digits, dtype=xp.float32)
    n = digits.shape[0]
    shape = tuple(network.input_shape)
    if shape == (FIELD * FIELD,):
        return digits.reshape(n, FIELD * FIELD)
    if shape == (1, FIELD, FIELD):
        return digits.reshape(n, 1, FIELD, FIELD)
    raise DataError(f"this model takes inputs of shape {shape}; predicting digits from images "
                    "needs a model trained on 28×28 MNIST-style images (784 or 1×28×28)")
