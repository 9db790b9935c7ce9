r"""Data expansion for images: one-pixel shifts, small rotations, elastic distortions.

Images may come as ``(N, H·W)`` rows (square images by default, e.g. MNIST's 784 =
28×28; pass ``image_shape=(H, W)`` otherwise), ``(N, H, W)`` or ``(N, C, H, W)``;
every function returns the same layout and dtype it was given (integer pixels
become float64 where interpolation is involved).

Two ways to use it:

* precomputed — a new, larger data set::

      X5, y5 = expand_shifts(X, y)                   # the book's 50,000 → 250,000
      X2, y2 = expand(X, y, ElasticDistortion(), copies=1, rng=0)

* on the fly — a transform ``(X, rng) -> X'`` applied to each epoch's data::

      augment = Augmenter(RandomShift(1), RandomRotation(10), ElasticDistortion(34, 4))
      X_epoch = augment(X, rng)                      # fresh distortions every epoch

Geometric transforms resample by bilinear interpolation. Output pixel ``(i, j)``
reads the input at a source point ``(s_y, s_x)``; with ``y0 = ⌊s_y⌋``,
``x0 = ⌊s_x⌋``, ``a = s_y − y0``, ``b = s_x − x0``::

    out = (1−a)(1−b) I[y0, x0] + (1−a) b I[y0, x0+1] + a (1−b) I[y0+1, x0] + a b I[y0+1, x0+1]

where pixels outside the image read ``fill`` (0: MNIST's background). The weights
are non-negative and sum to one, so the output stays within the input's range.

References: M. Nielsen, *Neural Networks and Deep Learning*, ch. 3 ("Other techniques
for regularization: artificially expanding the training data") and ``expand_mnist.py``;
P. Y. Simard, D. Steinkraus, J. C. Platt, "Best practices for convolutional neural
networks applied to visual document analysis", ICDAR 2003 (elastic distortions).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy

from nnlearn import backend
from nnlearn.errors import ConfigError, DataError

__all__ = ["Augmenter", "ElasticDistortion", "RandomRotation", "RandomShift", "elastic_distort",
           "expand", "expand_shifts", "gaussian_smooth", "rotate", "shift"]

_CHUNK = 2048
"""Images resampled at a time: bounds the temporary coordinate arrays (~50 MB for 28×28)."""

Transform = Callable[[Any, Any], Any]


# -- layout helpers ------------------------------------------------------------
def _as_images(X, image_shape: Sequence[int] | None = None, name: str = "X"):
    """``X`` viewed as ``(N, C, H, W)``; returns ``(X4, original_shape)``."""
    xp = backend.xp
    if not hasattr(X, "shape"):
        X = numpy.asarray(X)
    X = xp.asarray(X)
    if X.dtype.kind not in "biuf":
        raise DataError(f"{name} must be a numeric array of images, got dtype {X.dtype}")
    if X.ndim == 2:
        D = X.shape[1]
        if image_shape is None:
            side = math.isqrt(D)
            if side * side != D:
                raise DataError(f"{name} has shape {X.shape}: rows of {D} pixels are not square "
                                "images; pass image_shape=(H, W)")
            image_shape = (side, side)
        H, W = (int(d) for d in image_shape)
        if H * W != D:
            raise DataError(f"image_shape={tuple(image_shape)} has {H * W} pixels, but {name} "
                            f"rows have {D}")
        return X.reshape(X.shape[0], 1, H, W), X.shape
    if X.ndim == 3:
        return X[:, None], X.shape
    if X.ndim == 4:
        return X, X.shape
    raise DataError(f"{name} must be images of shape (N, H*W), (N, H, W) or (N, C, H, W), "
                    f"got shape {X.shape}")


def _float_dtype(X):
    return X.dtype if X.dtype.kind == "f" else numpy.dtype("float64")


def _get_rng(rng):
    if rng is None or isinstance(rng, (int, numpy.integer)):
        return backend.default_rng(None if rng is None else int(rng))
    if not hasattr(rng, "uniform"):
        raise ConfigError(f"rng must be a random Generator or an integer seed, got {rng!r}")
    return rng


def _number(name: str, value: Any, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= minimum:
        raise ConfigError(f"{name} must be a number >= {minimum}, got {value!r}")
    return float(value)


# -- kernels ---------------------------------------------------------------------
def _bilinear(X4, src_y, src_x, fill: float):
    r"""Sample ``X4 (n, C, H, W)`` at points ``src_y, src_x (n, H, W)`` (see module doc).

    The images are padded with one ring of ``fill`` and the source points clamped to
    ``[−1, H] × [−1, W]``: a point further out has zero weight on every real pixel
    either way, so the four taps are plain gathers with no masks.
    """
    xp = backend.xp
    n, C, H, W = X4.shape
    dtype = _float_dtype(X4)
    P = xp.pad(X4.astype(dtype, copy=False), ((0, 0), (0, 0), (1, 1), (1, 1)),
               constant_values=fill).reshape(n, C, (H + 2) * (W + 2))
    sy, sx = xp.clip(src_y, -1.0, float(H)), xp.clip(src_x, -1.0, float(W))
    y0, x0 = xp.minimum(xp.floor(sy), H - 1), xp.minimum(xp.floor(sx), W - 1)
    a, b = (sy - y0).astype(dtype).reshape(n, 1, -1), (sx - x0).astype(dtype).reshape(n, 1, -1)
    top = ((y0 + 1) * (W + 2) + (x0 + 1)).astype(numpy.int64).reshape(n, 1, -1)

    def tap(offset: int):
        idx = xp.broadcast_to(top + offset, (n, C, H * W))
        return xp.take_along_axis(P, idx, axis=2)

    out = (1 - a) * ((1 - b) * tap(0) + b * tap(1)) + a * ((1 - b) * tap(W + 2) + b * tap(W + 3))
    return out.reshape(n, C, H, W)


def _resample(X, image_shape, coords: Callable[[int, int, Any, Any], tuple], fill: float):
    """Apply ``coords(start, stop, I, J) -> (src_y, src_x)`` chunk by chunk; clip to the data range."""
    xp = backend.xp
    X4, shape = _as_images(X, image_shape)
    n, C, H, W = X4.shape
    dtype = _float_dtype(X4)
    I, J = xp.meshgrid(xp.arange(H, dtype=numpy.float64), xp.arange(W, dtype=numpy.float64),
                       indexing="ij")
    out = xp.empty((n, C, H, W), dtype=dtype)
    for s in range(0, n, _CHUNK):
        e = min(n, s + _CHUNK)
        sy, sx = coords(s, e, I, J)
        out[s:e] = _bilinear(X4[s:e], sy, sx, fill)
    if n:  # rounding in the weights must not leave the input's range (e.g. [0, 1])
        lo, hi = min(float(X4.min()), fill), max(float(X4.max()), fill)
        xp.clip(out, lo, hi, out=out)
    return out.reshape(shape)


def gaussian_smooth(F, sigma: float, truncate: float = 4.0):
    r"""Smooth each 2-D field of ``F (n, H, W)`` with a normalised Gaussian of std ``sigma``.

    Separable: a 1-D convolution along rows, then along columns, with taps
    ``k_t ∝ exp(−t²/2σ²)``, ``|t| ≤ r = ⌊truncate·σ + ½⌋``, ``Σ k_t = 1``, and
    mirror boundaries (``… c b a | a b c …``, scipy.ndimage's ``"reflect"``). Each
    1-D convolution is written as a banded ``(H, H)`` matrix ``K`` with the
    mirrored taps folded in, so the whole batch is one product ``K_H F K_Wᵀ``.
    ``sigma = 0`` returns ``F`` unchanged.
    """
    xp = backend.xp
    sigma = _number("sigma", sigma)
    if sigma == 0:
        return F
    r = int(truncate * sigma + 0.5)
    t = xp.arange(-r, r + 1, dtype=numpy.float64)
    k = xp.exp(-0.5 * (t / sigma) ** 2)
    k /= k.sum()

    def band(size: int):
        src = xp.arange(size)[:, None] + xp.arange(-r, r + 1)[None, :]   # (size, 2r+1)
        src = src % (2 * size)
        src = xp.where(src >= size, 2 * size - 1 - src, src)              # mirror
        onehot = src[:, :, None] == xp.arange(size)[None, None, :]
        return (onehot * k[None, :, None]).sum(axis=1)                    # (size, size)

    H, W = F.shape[-2:]
    return (band(H) @ F @ band(W).T).astype(F.dtype, copy=False)


# -- deterministic transforms ---------------------------------------------------------
def shift(X, dy: int, dx: int, *, fill: float = 0.0, image_shape: Sequence[int] | None = None):
    r"""Translate every image by whole pixels: content moves ``dy`` rows down, ``dx`` columns right.

    ``out[i, j] = X[i − dy, j − dx]``, and ``fill`` where that is outside the image.
    Exact (no interpolation); keeps the dtype, integer pixels included.
    """
    xp = backend.xp
    for name, v in (("dy", dy), ("dx", dx)):
        if isinstance(v, bool) or not isinstance(v, (int, numpy.integer)):
            raise ConfigError(f"{name} must be an integer number of pixels, got {v!r}")
    X4, shape = _as_images(X, image_shape)
    H, W = X4.shape[2:]
    out = xp.full(X4.shape, fill, dtype=X4.dtype)
    if abs(dy) < H and abs(dx) < W:
        out[:, :, max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)] = \
            X4[:, :, max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
    return out.reshape(shape)


def rotate(X, degrees, *, fill: float = 0.0, image_shape: Sequence[int] | None = None):
    r"""Rotate each image about its centre by ``degrees`` (a scalar or one angle per image).

    Positive angles turn the picture counter-clockwise as displayed (row 0 at the
    top). With ``c = ((H−1)/2, (W−1)/2)`` and ``(u, v) = (i − c_y, j − c_x)``, output
    pixel ``(i, j)`` reads the source point ``(c_y + u cos θ + v sin θ, c_x + v cos θ − u sin θ)``
    by bilinear interpolation.
    """
    xp = backend.xp
    n = len(X)
    theta = xp.deg2rad(xp.broadcast_to(xp.asarray(degrees, dtype=numpy.float64), (n,)))
    cos, sin = xp.cos(theta)[:, None, None], xp.sin(theta)[:, None, None]

    def coords(s, e, I, J):
        H, W = I.shape
        u, v = I - (H - 1) / 2, J - (W - 1) / 2
        return ((H - 1) / 2 + u * cos[s:e] + v * sin[s:e],
                (W - 1) / 2 + v * cos[s:e] - u * sin[s:e])

    return _resample(X, image_shape, coords, float(fill))


def elastic_distort(X, rng=None, *, alpha: float = 34.0, sigma: float = 4.0, fill: float = 0.0,
                    image_shape: Sequence[int] | None = None):
    r"""Elastic distortion of Simard, Steinkraus & Platt (2003), one random field per image.

    For each image draw ``Δy, Δx ~ U(−1, 1)`` independently per pixel, smooth
    them with a Gaussian of std ``sigma`` pixels (:func:`gaussian_smooth`), scale
    by ``alpha``, and resample bilinearly at ``(i + α Δy_s, j + α Δx_s)``. Small σ
    gives random jitter, large σ almost a translation; the paper's MNIST values
    are σ = 4, α = 34. ``alpha = 0`` returns the images unchanged.
    """
    alpha = _number("alpha", alpha)
    sigma = _number("sigma", sigma)
    rng = _get_rng(rng)

    def coords(s, e, I, J):
        field = rng.uniform(-1.0, 1.0, size=(2 * (e - s),) + I.shape)
        field = alpha * gaussian_smooth(field, sigma)
        return I + field[: e - s], J + field[e - s:]

    return _resample(X, image_shape, coords, float(fill))


# -- expansion of a data set -------------------------------------------------------
def expand_shifts(X, y, *, fill: float = 0.0, image_shape: Sequence[int] | None = None):
    r"""The book's expansion: each image plus its four one-pixel translations (N → 5N).

    Returns ``(X5, y5)`` in blocks: the originals, then every image shifted up,
    down, left and right by one pixel (vacated pixels get ``fill``); ``y5`` repeats
    ``y`` five times in the same order. Shuffle before training as usual.
    """
    xp = backend.xp
    if not hasattr(y, "shape") or y.shape[:1] != X.shape[:1]:
        raise DataError(f"y must have one label per image ({X.shape[0]}), "
                        f"got shape {getattr(y, 'shape', type(y).__name__)}")
    kw = {"fill": fill, "image_shape": image_shape}
    parts = [xp.asarray(X)] + [shift(X, dy, dx, **kw) for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1))]
    return xp.concatenate(parts), xp.concatenate([xp.asarray(y)] * 5)


def expand(X, y, transform: Transform, *, copies: int = 1, rng=None):
    r"""A data set of the originals followed by ``copies`` transformed copies (N → (1+copies)N).

    ``transform`` is any ``(X, rng) -> X'`` (e.g. :class:`ElasticDistortion`); the
    labels ``y`` are repeated to match.
    """
    xp = backend.xp
    if isinstance(copies, bool) or not isinstance(copies, int) or copies < 1:
        raise ConfigError(f"copies must be a positive integer, got {copies!r}")
    if not hasattr(y, "shape") or y.shape[:1] != X.shape[:1]:
        raise DataError(f"y must have one label per image ({X.shape[0]}), "
                        f"got shape {getattr(y, 'shape', type(y).__name__)}")
    rng = _get_rng(rng)
    parts = [xp.asarray(X)] + [transform(X, rng) for _ in range(copies)]
    return xp.concatenate(parts), xp.concatenate([xp.asarray(y)] * (copies + 1))


# -- random transforms for on-the-fly augmentation -----------------------------------
class RandomShift:
    r"""Translate each image by independent whole-pixel offsets ``dy, dx ∈ {−k, …, k}``.

    Exact (see :func:`shift`); keeps the dtype.
    """

    def __init__(self, max_shift: int = 1, *, fill: float = 0.0,
                 image_shape: Sequence[int] | None = None) -> None:
        if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
            raise ConfigError(f"max_shift must be a non-negative integer, got {max_shift!r}")
        self.max_shift, self.fill, self.image_shape = max_shift, float(fill), image_shape

    def __call__(self, X, rng=None):
        xp = backend.xp
        rng = _get_rng(rng)
        k = self.max_shift
        X4, shape = _as_images(X, self.image_shape)
        d = rng.integers(-k, k + 1, size=(2, int(X4.shape[0])))
        code = backend.to_numpy((d[0] + k) * (2 * k + 1) + (d[1] + k))
        out = xp.empty_like(X4)
        for c in numpy.unique(code):  # one exact slice-shift per offset pair
            rows = xp.asarray(numpy.flatnonzero(code == c))
            out[rows] = shift(X4[rows], int(c // (2 * k + 1)) - k, int(c % (2 * k + 1)) - k,
                              fill=self.fill)
        return out.reshape(shape)

    def __repr__(self) -> str:
        return f"RandomShift(max_shift={self.max_shift})"


class RandomRotation:
    r"""Rotate each image by an angle drawn uniformly from ``[−max_degrees, max_degrees]``."""

    def __init__(self, max_degrees: float = 10.0, *, fill: float = 0.0,
                 image_shape: Sequence[int] | None = None) -> None:
        self.max_degrees = _number("max_degrees", max_degrees)
        self.fill, self.image_shape = float(fill), image_shape

    def __call__(self, X, rng=None):
        rng = _get_rng(rng)
        angles = rng.uniform(-self.max_degrees, self.max_degrees, size=len(X))
        return rotate(X, angles, fill=self.fill, image_shape=self.image_shape)

    def __repr__(self) -> str:
        return f"RandomRotation(max_degrees={self.max_degrees})"


class ElasticDistortion:
    r"""Simard et al.'s elastic distortion as a transform; see :func:`elastic_distort`."""

    def __init__(self, alpha: float = 34.0, sigma: float = 4.0, *, fill: float = 0.0,
                 image_shape: Sequence[int] | None = None) -> None:
        self.alpha, self.sigma = _number("alpha", alpha), _number("sigma", sigma)
        self.fill, self.image_shape = float(fill), image_shape

    def __call__(self, X, rng=None):
        return elastic_distort(X, rng, alpha=self.alpha, sigma=self.sigma, fill=self.fill,
                               image_shape=self.image_shape)

    def __repr__(self) -> str:
        return f"ElasticDistortion(alpha={self.alpha}, sigma={self.sigma})"


class Augmenter:
    r"""Compose transforms ``(X, rng) -> X'``, applied in order with one generator.

    Example, fresh distortions every epoch (``rng``: e.g. the network's generator)::

        augment = Augmenter(RandomRotation(10), ElasticDistortion(34, 4))
        X_epoch = augment(X_train, rng)
    """

    def __init__(self, *transforms: Transform) -> None:
        for i, t in enumerate(transforms):
            if not callable(t):
                raise ConfigError(f"transform {i} ({t!r}) is not callable as t(X, rng)")
        self.transforms = tuple(transforms)

    def __call__(self, X, rng=None):
        rng = _get_rng(rng)
        for t in self.transforms:
            X = t(X, rng)
        return X

    def __repr__(self) -> str:
        return f"Augmenter({', '.join(map(repr, self.transforms))})"
