r"""Your own handwritten digits — drawn, scanned or photographed — prepared the way MNIST's were.

MNIST's digits (LeCun et al. 1998, and the database's README) were made by
size-normalising each NIST digit to fit a 20×20 box, preserving its aspect ratio,
with anti-aliasing (hence the grey levels), then centring it in a 28×28 field by
its centre of mass. NIST's digits were clean scans; a photo first needs its ink found
(:mod:`nnlearn.data.ink` holds those tools). :func:`to_mnist` applies every step to any
image, and ``nnlearn predict``, the Draw page and the Python API all call it::

    upright  by the EXIF orientation tag, when read from a file (load_pixels)
    reduce   photos to ≤ 1024 px a side by k × k block means
    polarity dark ink on light paper or the reverse, from which side of the paper the
             far values lie (a running median over 1/3 of a thumbnail is the paper)
    grey     one channel with the ink bright: X = 1 − pixels for dark ink; colour images
             project X on the principal direction u of each channel's ink residual
             (blue ink on yellow paper differs from the paper in R and G, not in B)
    paper    the background: the grey opening by a window of 1/3 of the image (strokes
             are narrower; lighting gradients and shadows are wider)
    s        = grey − paper − median, the ink's strength over flat paper; σ its noise
    strokes  components (8-connected) of s > max(4σ, 0.02) that hold some core
             s > t = max(Otsu's threshold, 6σ); the heaviest is the digit, marks within
             15% of its size that carry ≥ 2% of its ink are its pieces, smaller ones
             (specks) are ignored, and another mark with ≥ 25% of its ink is refused
             ("more than one candidate"), as is a digit fainter than 0.1 or 8σ ("no ink")
    stretch  ink = clip(s / level, 0, 1) on the digit's strokes, level = the 98th
             percentile of its core
    crop     to the bounding box of ink > 0.1
    scale    by s = 20 / max(h, w) with area averaging (anti-aliased), aspect kept
    centre   paste into 28×28 so that the centre of mass Σ ink·(y, x) / Σ ink lies
             at pixel (14, 14), rounded to whole pixels (MNIST's own digits have their
             centre of mass at (14.0, 14.0) ± 0.3 in row/column index coordinates)

A slightly tilted digit needs nothing more: MNIST's writers tilt theirs as much.
:func:`load_pixels` reads PNG files with the built-in reader (:mod:`nnlearn.data.png`)
and any other format with Pillow when it is installed. :func:`class_probabilities`
turns a network's outputs into probabilities. docs/photos.md measures the whole path on
photo-like images (``python scripts/photo_accuracy.py``).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy

from nnlearn import backend
from nnlearn.data import ink
from nnlearn.data.png import SIGNATURE, read_png
from nnlearn.errors import DataError, install_hint
from nnlearn.files import open_regular
from nnlearn.system.memory import require_memory

BOX = 20
FIELD = 28
INK_THRESHOLD = 0.1
"""Cropping keeps the rows and columns where the digit's ink exceeds this (of its strokes' level)."""
NOISE_SIGMAS = 6
"""A stroke's core lies at least this many noise σ above the paper (and above Otsu's threshold)."""
EDGE_SIGMAS, EDGE_FLOOR = 4, 0.02
"""A stroke's soft edge reaches down to 4 σ above the paper (at least 0.02): strokes are the
connected regions above this level that hold some core (hysteresis, as in Canny's edges)."""
STROKE_PERCENTILE = 98
"""The strokes' level (what becomes 1): this percentile of the digit's core values, so that
a few noisy pixels do not set it, while MNIST's own digits (whose darkest 2% or more of the
core are at the maximum) come back unchanged."""
MIN_CONTRAST = 0.1
"""The strokes must differ from the paper by at least this (of the full grey range) and by
8 noise σ; below it the image has no visible ink."""
PIECE_REACH = 0.15
"""A mark within this share of the digit's size from its box is one of its pieces..."""
PIECE_SHARE = 0.02
"""...if it carries at least this share of the main stroke's ink (smaller ones are specks,
unless they lie inside the digit's box)."""
RIVAL_SHARE = 0.25
"""A separate mark with at least this share of the digit's ink could be a digit itself: the
image is refused rather than guessed."""
NO_INK = ("the image has no visible ink (it is nearly uniform, or only noise); expected a "
          "dark digit on light paper or a light digit on a dark background")


MAX_IMAGE_PIXELS = 1 << 24
"""Largest image ``predict`` reads: 16,777,216 pixels (4096×4096; a 12-megapixel phone
photo fits). A digit needs 20×20; larger images are refused from their header, before
any pixel is decoded, so a small file declaring a huge image cannot exhaust memory."""

_GREY_BYTES_PER_PIXEL = 96
"""Peak bytes per pixel of :func:`to_grey` on RGBA (float64 copies of the channels)."""


def load_image(path: str | os.PathLike, max_pixels: int = MAX_IMAGE_PIXELS):
    """A greyscale ``float64`` image in [0, 1] (0 = black), shape ``(H, W)``: the pixels of
    :func:`load_pixels` as luminance (``to_grey``)."""
    return to_grey(load_pixels(path, max_pixels))


def load_pixels(path: str | os.PathLike, max_pixels: int = MAX_IMAGE_PIXELS):
    """The pixels of an image file, upright, as ``float64`` in [0, 1], shape ``(H, W, C)``
    with ``C`` = 1 (grey) or 3 (colour; alpha composited over white).

    PNG files are decoded by :func:`nnlearn.data.png.read_png`; other formats (JPEG, ...)
    and PNGs it cannot decode (interlaced) need Pillow, which also turns the image upright
    by its EXIF orientation tag (a phone's portrait photo is stored sideways with a tag
    saying so: ``PIL.ImageOps.exif_transpose``). Images of more than ``max_pixels`` pixels
    are refused from their header (``DataError``), and the memory the conversion needs is
    checked before decoding (``ResourceError``).
    """
    path = Path(path)
    with open_regular(path, "rb") as f:
        is_png = f.read(len(SIGNATURE)) == SIGNATURE
    pixels = None
    if is_png:
        try:
            pixels = read_png(path, max_pixels)
        except DataError as exc:
            if "interlaced" not in str(exc):
                raise
            pixels = _read_with_pillow(path, str(exc), max_pixels)
    else:
        pixels = _read_with_pillow(path, f"{path} is not a PNG file", max_pixels)
    _check_size(path, pixels.shape[1], pixels.shape[0], max_pixels)
    return to_colour(pixels)


def _check_size(path: Path, width: int, height: int, max_pixels: int) -> None:
    """Refuse an image of more than ``max_pixels`` pixels, or whose conversion to grey
    needs more memory than is available."""
    if width * height > max_pixels:
        raise DataError(f"{path}: an image of {width}×{height} = {width * height:,} pixels is "
                        f"larger than the limit of {max_pixels:,} pixels; scale it down first "
                        "(a digit needs only 20×20)")
    require_memory(width * height * _GREY_BYTES_PER_PIXEL,
                   f"converting {path} ({width}×{height} pixels) to grey", "scale it down first")


def _read_with_pillow(path: Path, why: str, max_pixels: int = MAX_IMAGE_PIXELS):
    try:
        from PIL import Image, ImageOps
    except ImportError:
        raise ImportError(f"{why}; reading it needs Pillow: {install_hint('images')}; or save "
                          "the image as PNG") from None
    try:
        with warnings.catch_warnings():  # sizes are checked here, below Pillow's own limits
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with open_regular(path, "rb") as handle, Image.open(handle) as image:  # the header
                _check_size(path, *image.size, max_pixels)
                image.load()
                upright = ImageOps.exif_transpose(image)  # EXIF orientation (phone photos)
                mode = "RGBA" if "A" in upright.getbands() or "transparency" in upright.info else "RGB"
                return numpy.asarray(upright.convert(mode))
    except Image.DecompressionBombError as exc:  # beyond Pillow's own limit, at open
        raise DataError(f"{path}: {exc} The limit here is {max_pixels:,} pixels; scale the "
                        "image down first") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot read the image ({exc})") from None


def to_grey(pixels):
    """Pixels ``(H, W)``, ``(H, W, 2|3|4)`` of any integer or float type → luminance
    ``0.299 R + 0.587 G + 0.114 B`` in [0, 1] (alpha composited over white)."""
    xp = backend.xp
    colour = to_colour(pixels)
    if colour.shape[2] == 1:
        return colour[..., 0]
    return colour @ xp.array([0.299, 0.587, 0.114])


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
    """An MNIST-style ``(28, 28)`` float32 digit (white ink on black, in [0, 1]) from an
    image ``(H, W)`` or ``(H, W, C)`` (see the module docstring for the steps).

    ``invert``: ``None`` finds whether the ink is darker or lighter than the paper;
    ``True`` (dark ink on light paper) or ``False`` force it. Raises ``DataError`` if the
    image has no ink, or more than one mark that could be the digit.
    """
    return mnist_stages(image, invert)["centred"]


def to_colour(pixels):
    """Pixels of any integer or float type → ``float64`` in [0, 1], shape ``(H, W, C)`` with
    ``C`` = 1 (grey) or 3 (RGB); alpha is composited over white paper."""
    xp = backend.xp
    a = xp.asarray(pixels)
    if a.dtype.kind in "ui":
        a = a / float(xp.iinfo(a.dtype).max)
    elif a.dtype.kind == "f":
        a = a.astype(xp.float64)
    else:
        raise DataError(f"image pixels must be numbers, got dtype {a.dtype}")
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4) or 0 in a.shape:
        raise DataError(f"expected an image of shape (H, W) or (H, W, C), got {a.shape}")
    if a.shape[2] in (2, 4):
        colour, alpha = a[..., :-1], a[..., -1:]
        a = colour * alpha + (1.0 - alpha)  # over white paper
    if not xp.isfinite(a).all():
        raise DataError("the image contains NaN or inf")
    return xp.clip(a, 0.0, 1.0)


def _ink_side(colour, dark_ink: bool) -> dict:
    r"""For one polarity: the image as one grey channel with the ink bright, its paper level
    and the ink strength ``s = grey − paper − median`` (paper at 0).

    Colour ink on coloured paper: each channel's residual over its own paper level
    ``R_c = X_c − open(X_c)`` (``X = 1 − pixels`` for dark ink) is large where the ink
    differs from the paper in that channel; the grey channel is ``X · u`` with ``u`` the
    principal direction of ``R`` over its strongest 2% of pixels (ink pixels), scaled to
    ``Σ|u| = 1`` so that the grey keeps the pixel's units.
    """
    xp = backend.xp
    X = 1.0 - colour if dark_ink else colour
    if X.shape[2] == 1:
        grey = X[..., 0]
    else:
        R = xp.stack([X[..., c] - ink.background(X[..., c]) for c in range(X.shape[2])], axis=-1)
        R = R.reshape(-1, X.shape[2])
        power = (R * R).sum(axis=1)
        strong = R[power >= xp.percentile(power, 98)]
        _, vectors = xp.linalg.eigh(strong.T @ strong)
        u = vectors[:, -1] * (1.0 if float(vectors[:, -1].sum()) >= 0 else -1.0)
        grey = X @ (u / xp.abs(u).sum())
    paper = ink.background(grey)
    strength = grey - paper
    strength = strength - xp.median(strength)
    return {"grey": grey, "paper": paper, "strength": strength,
            "sigma": ink.robust_sigma(strength)}


def _bounds(labels, n: int) -> list:
    """``[(top, left, bottom, right)]`` of components ``1 … n`` (bottom and right exclusive)."""
    xp = backend.xp
    ys, xs = xp.nonzero(labels)
    which = labels[ys, xs] - 1
    top, left = xp.full(n, labels.shape[0]), xp.full(n, labels.shape[1])
    bottom, right = xp.zeros(n, dtype=int), xp.zeros(n, dtype=int)
    xp.minimum.at(top, which, ys)
    xp.minimum.at(left, which, xs)
    xp.maximum.at(bottom, which, ys + 1)
    xp.maximum.at(right, which, xs + 1)
    return [tuple(int(v) for v in box) for box in zip(top, left, bottom, right)]


def _touches(box: tuple, other: tuple, margin: float) -> bool:
    """Whether ``other`` comes within ``margin`` pixels of ``box``."""
    return (other[0] < box[2] + margin and other[2] > box[0] - margin
            and other[1] < box[3] + margin and other[3] > box[1] - margin)


def _union(box: tuple, other: tuple) -> tuple:
    return (min(box[0], other[0]), min(box[1], other[1]), max(box[2], other[2]),
            max(box[3], other[3]))


def _choose_digit(masses, boxes: list) -> tuple[list[int], list[int]]:
    """``(digit, rivals)``: indices of the components that form the digit, and of the other
    marks heavy enough to be a digit themselves (see :data:`RIVAL_SHARE`)."""
    order = sorted(range(len(masses)), key=lambda i: -masses[i])
    main = order[0]
    digit, box = [main], boxes[main]
    grown = True
    while grown:  # a digit's pieces (a 5's flag, a broken stroke) lie within its box's reach
        grown = False
        margin = PIECE_REACH * max(box[2] - box[0], box[3] - box[1])
        for i in order:
            if i in digit or not _touches(box, boxes[i], margin):
                continue
            if masses[i] >= PIECE_SHARE * masses[main] or _union(box, boxes[i]) == box:
                digit.append(i)
                box = _union(box, boxes[i])
                grown = True
    mass = sum(masses[i] for i in digit)
    rivals = [i for i in order if i not in digit and masses[i] >= RIVAL_SHARE * mass]
    return digit, rivals


def mnist_stages(image, invert: bool | None = None) -> dict:
    """The images :func:`to_mnist` goes through, by name (``(h, w)`` arrays at the working
    resolution, the image block-averaged to at most ``nnlearn.data.ink.WORK_SIDE`` a side):

    ``"grey"`` (one channel, ink bright), ``"paper"`` (its background estimate),
    ``"ink"`` (``(grey − paper)`` stretched so the strokes reach 1, in [0, 1]),
    ``"kept"`` and ``"ignored"`` (boolean masks: the connected strokes that form the digit,
    and the marks set aside as specks), ``"cropped"`` (the kept ink in the digit's bounding
    box), ``"scaled"`` (into the 20×20 box) and ``"centred"`` (the 28×28 result); and
    ``"box"``, the crop as ``(top, left, bottom, right)`` pixel bounds of the input,
    ``"factor"`` (input pixels per working pixel), ``"threshold"`` (Otsu's, in ink units)
    and ``"dark_ink"``.
    """
    xp = backend.xp
    colour = to_colour(image)
    height, width = colour.shape[:2]
    factor = min(-(-max(height, width) // ink.WORK_SIDE), height, width)
    colour = ink.block_mean(colour, factor)
    if invert is None:  # each channel votes with its ink: darker or lighter than the paper
        votes = [ink.dark_ink_evidence(colour[..., c]) for c in range(colour.shape[2])]
        dark_ink = sum(v[0] for v in votes) >= sum(v[1] for v in votes)
    else:
        dark_ink = bool(invert)
    side = _ink_side(colour, dark_ink)
    s, sigma = side["strength"], side["sigma"]
    threshold = max(ink.otsu_threshold(s), NOISE_SIGMAS * sigma)
    strokes = s > max(EDGE_SIGMAS * sigma, EDGE_FLOOR)  # the strokes with their soft edges
    labels, n = ink.connected_components(strokes)
    core = s > threshold
    masses = backend.to_numpy(xp.bincount(labels[core], weights=s[core], minlength=n + 1))[1:]
    heavy = [i for i in range(n) if masses[i] > 0]
    if not heavy:
        raise DataError(NO_INK)
    boxes = _bounds(labels, n)
    inside = [i for i in heavy if boxes[i][0] > 0 and boxes[i][1] > 0
              and boxes[i][2] < labels.shape[0] and boxes[i][3] < labels.shape[1]]
    marks = inside or heavy  # marks cut by the frame (a shadow, the table) go when others remain
    digit, rivals = _choose_digit([float(masses[i]) for i in marks], [boxes[i] for i in marks])
    digit, rivals = [marks[i] for i in digit], [marks[i] for i in rivals]
    kept = xp.isin(labels, xp.asarray([i + 1 for i in digit]))
    level = float(xp.percentile(s[kept & core], STROKE_PERCENTILE))
    if level < max(MIN_CONTRAST, 8 * sigma):
        raise DataError(NO_INK)
    if rivals:
        shown = "; ".join(f"rows {b[0] * factor}–{b[2] * factor}, columns {b[1] * factor}–"
                          f"{b[3] * factor}" for b in (boxes[i] for i in [*digit[:1], *rivals[:4]]))
        raise DataError(f"found {len(rivals) + 1} separate marks that could each be the digit "
                        f"({shown}); crop the image to one digit")
    stretched = xp.clip(s / level, 0.0, 1.0)
    on_digit = stretched * kept
    rows = xp.flatnonzero((on_digit > INK_THRESHOLD).any(axis=1))
    cols = xp.flatnonzero((on_digit > INK_THRESHOLD).any(axis=0))
    if rows.size == 0:
        raise DataError(NO_INK)
    cropped = on_digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
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
    box = (int(rows[0]) * factor, int(cols[0]) * factor, min(height, (int(rows[-1]) + 1) * factor),
           min(width, (int(cols[-1]) + 1) * factor))
    ignored = (labels > 0) & ~kept & xp.isin(labels, xp.asarray([i + 1 for i in heavy]))
    return {"grey": side["grey"], "paper": side["paper"], "ink": stretched, "kept": kept,
            "ignored": ignored, "cropped": cropped, "scaled": small, "centred": out, "box": box,
            "factor": factor, "threshold": threshold / level, "dark_ink": dark_ink}


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
