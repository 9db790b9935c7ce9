r"""Sliding-window helpers shared by the convolution and pooling layers.

For a batch ``X (N, C, H, W)``, a window of ``kh×kw`` pixels and a stride ``(sh, sw)``,
output position ``(y, x)`` sees the pixels ``X[n, c, y·sh + i, x·sw + j]`` for the
offsets ``0 ≤ i < kh, 0 ≤ j < kw``. Every function here loops over those kh·kw
offsets at most, each step one vectorised operation over the whole minibatch:

* :func:`window_slice` — the strided view of the pixel at offset ``(i, j)`` of every window;
* :func:`im2col` / :func:`im2col_batch_last` — all windows copied into a column matrix;
* :func:`col2im` — the adjoint, adding column entries back onto their pixels;
* :func:`tiles`, :func:`grad_buffer` and :func:`add_to_windows`, for the pooling layers'
  backward passes (a plain store where windows cannot overlap);
* argument and shape checks (:func:`pair`, :func:`image_shape`, :func:`check_batch`),
  :func:`batch_last` (is a batch stored batch-last?) and :func:`scratch`, work arrays
  reused between minibatches.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

from nnlearn import backend
from nnlearn.checks import positive_int
from nnlearn.errors import ConfigError, DataError
from nnlearn.nn.layers.base import Layer


def pair(name: str, value: Any) -> tuple[int, int]:
    """``value`` (an int or a pair of ints, all > 0) as a ``(rows, cols)`` tuple."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ConfigError(f"{name} must be a positive int or a pair of them, got {value!r}")
        return (positive_int(f"{name}[0]", value[0]), positive_int(f"{name}[1]", value[1]))
    try:
        v = positive_int(name, value)
    except ConfigError:
        raise ConfigError(f"{name} must be a positive int or a pair of them, "
                          f"got {value!r}") from None
    return (v, v)


MAX_WINDOW_PIXELS = 4096
"""Most pixels in one convolution kernel or pooling window (64×64). Every pass loops
once per window offset, so this bounds the Python-level work of a layer; the book's
kernels are 5×5 and its pools 2×2."""


def window_pair(name: str, value: Any) -> tuple[int, int]:
    """:func:`pair` for a kernel or pooling window, at most :data:`MAX_WINDOW_PIXELS` pixels."""
    rows, cols = pair(name, value)
    if rows * cols > MAX_WINDOW_PIXELS:
        raise ConfigError(f"{name} {rows}×{cols} has {rows * cols} pixels; windows of more than "
                          f"{MAX_WINDOW_PIXELS} pixels (64×64) are refused, since each pass "
                          "loops over every window offset; use a smaller window")
    return rows, cols


def image_shape(layer: str, input_shape: Sequence[int]) -> tuple[int, int, int]:
    """Check that one example's shape is ``(C, H, W)``; return it as ints."""
    shape = tuple(input_shape)
    if len(shape) != 3:
        raise DataError(f"{layer} expects images of shape (C, H, W) per example (NCHW batches), "
                        f"got per-example shape {shape}; reshape flat inputs with "
                        "X.reshape(N, C, H, W) or load MNIST with flatten=False")
    return tuple(int(d) for d in shape)  # type: ignore[return-value]


def check_batch(layer: Layer, X) -> tuple[int, ...]:
    """Check a minibatch is 4-D and fits ``layer``; return one example's output shape."""
    if getattr(X, "ndim", None) != 4:
        raise DataError(f"{type(layer).__name__} expects a 4-D batch (N, C, H, W), "
                        f"got shape {getattr(X, 'shape', None)}")
    return layer.output_shape(X.shape[1:])


def batch_last(X):
    """The ``(C, H, W, N)`` view of an NCHW batch ``X`` when that view is C-contiguous,
    i.e. ``X`` is stored batch-last (a batch-last convolution's output seen as NCHW, a
    :meth:`numpy.ndarray.transpose` view), else None. The layers that work batch-last
    (Conv2D, MaxPool2D, ReLU) read such an input without a transpose and return their
    output stored the same way, while every other layer just sees an NCHW array."""
    view = X.transpose(1, 2, 3, 0)
    return view if view.flags.c_contiguous else None


def scratch(work: dict[str, Any], name: str, shape: tuple[int, ...], dtype, reuse: bool = True):
    """A work array kept in ``work`` between minibatches when ``reuse`` (same shape: no
    new allocation, no page faults); its content is overwritten by whoever asks for it."""
    xp = backend.xp
    if not reuse:
        return xp.empty(shape, dtype=dtype)
    buf = work.get(name)
    if buf is None or buf.shape != shape or buf.dtype != dtype:
        buf = work[name] = xp.empty(shape, dtype=dtype)
    return buf


@functools.lru_cache(maxsize=256)
def window_slices(kernel: tuple[int, int], stride: tuple[int, int],
                  out_hw: tuple[int, int]) -> tuple[tuple[slice, ...], ...]:
    """:func:`window_slice` for every offset of :func:`window_offsets`, in that order (cached)."""
    return tuple(window_slice(i, j, out_hw, stride) for i, j in window_offsets(*kernel))


def window_offsets(kh: int, kw: int):
    """All offsets ``(i, j)`` inside a kh×kw window, row-major: the order of ``Wt[f, c, i, j]``."""
    return [(i, j) for i in range(kh) for j in range(kw)]


def window_slice(i: int, j: int, out_hw: tuple[int, int], stride: tuple[int, int]):
    """Index selecting, for offset ``(i, j)``, the input pixel of every output position.

    ``X[window_slice(...)]`` has shape ``(N, C, OH, OW)`` and element ``[n, c, y, x]`` is
    ``X[n, c, y·sh + i, x·sw + j]``: a strided view, not a copy.
    """
    (OH, OW), (sh, sw) = out_hw, stride
    return (slice(None), slice(None), slice(i, i + sh * (OH - 1) + 1, sh),
            slice(j, j + sw * (OW - 1) + 1, sw))


def im2col(Xp, kernel: tuple[int, int], stride: tuple[int, int], out_hw: tuple[int, int],
           out=None):
    r"""Receptive fields of a padded batch as ``cols (N, C·kh·kw, OH·OW)`` (one copy).

    ``cols[n, (c·kh + i)·kw + j, y·OW + x] = Xp[n, c, y·sh + i, x·sw + j]``. ``out``: an
    optional array of that shape to write into, with unit stride along its last axis
    (e.g. a slice ``big[:, :K]`` of a larger column matrix).
    """
    xp = backend.xp
    (kh, kw), (sh, sw), (OH, OW) = kernel, stride, out_hw
    N, C = Xp.shape[:2]
    # the window view built from strides directly: V[n, c, i, j, y, x] = Xp[n, c, y·sh + i,
    # x·sw + j] (sliding_window_view gives the same view but costs ~4× as long to build,
    # a noticeable share of a small minibatch's forward pass)
    sN, sC, sH, sW = Xp.strides
    V = xp.lib.stride_tricks.as_strided(Xp, (N, C, kh, kw, OH, OW),
                                        (sN, sC, sH, sW, sH * sh, sW * sw))  # read only
    if out is None:
        return xp.array(V).reshape(N, C * kh * kw, OH * OW)  # a copy, never a view of Xp
    xp.copyto(xp.reshape(out, V.shape, copy=False), V)  # a view: splitting axes never copies
    return out


def im2col_batch_last(Xt, kernel: tuple[int, int], stride: tuple[int, int],
                      out_hw: tuple[int, int], out=None):
    r"""Receptive fields with the batch axis last: ``Xt (C, Hp, Wp, N) → (C·kh·kw, OH·OW·N)``.

    ``cols_t[(c·kh + i)·kw + j, (y·OW + x)·N + n] = Xt[c, y·sh + i, x·sw + j, n]``, copied
    as one strided slice per kernel offset; with stride 1 each slice is made of
    contiguous runs of ``OW·N`` values. ``out``: optional C-contiguous destination.
    """
    xp = backend.xp
    (kh, kw), (OH, OW) = kernel, out_hw
    C, N = Xt.shape[0], Xt.shape[3]
    if out is None:
        out = xp.empty((C * kh * kw, OH * OW * N), dtype=Xt.dtype)
    cols = out.reshape(C, kh, kw, OH, OW, N)
    for (i, j), index in zip(window_offsets(kh, kw), window_slices(kernel, stride, out_hw)):
        xp.copyto(cols[:, i, j], Xt[index[1:]])
    return out


def col2im(dcols_t, padded_shape: tuple[int, ...], kernel: tuple[int, int],
           stride: tuple[int, int], out_hw: tuple[int, int], work=None):
    r"""Adjoint of :func:`im2col`: sum every column entry back onto its input pixel.

    Takes the columns' gradient batch-last, ``dcols_t (C·kh·kw, OH·OW·N)`` with
    ``dcols_t[(c·kh + i)·kw + j, (y·OW + x)·N + n] = ∂C/∂cols[n, (c·kh + i)·kw + j, y·OW + x]``,
    and returns ``dXp (N, C, Hp, Wp)`` with::

        dXp[n, c, y·sh + i, x·sw + j] += dcols_t[(c·kh + i)·kw + j, (y·OW + x)·N + n]

    as one strided add per kernel offset ``(i, j)`` over the whole batch. Keeping the
    batch axis innermost makes each add run over long contiguous rows (``OW·N``
    values) instead of rows of ``OW``, several times faster for small feature maps.
    ``work``: an optional ``(C, Hp, Wp, N)`` array to accumulate in (it is zeroed).
    """
    xp = backend.xp
    (kh, kw), (OH, OW) = kernel, out_hw
    N, C, Hp, Wp = padded_shape
    if work is None:
        dXt = xp.zeros((C, Hp, Wp, N), dtype=dcols_t.dtype)  # batch-last accumulator
    else:
        dXt = work
        dXt.fill(0)
    D = dcols_t.reshape(C, kh, kw, OH, OW, N)
    for (i, j), index in zip(window_offsets(kh, kw), window_slices(kernel, stride, out_hw)):
        dXt[index[1:]] += D[:, i, j]
    return dXt.transpose(3, 0, 1, 2)


def tiles(x_shape: tuple[int, ...], window: tuple[int, int], stride: tuple[int, int],
          out_hw: tuple[int, int]) -> bool:
    """The windows cover the input exactly once: stride = window and no edge left over."""
    (ph, pw), (OH, OW), (H, W) = window, out_hw, x_shape[2:]
    return tuple(stride) == tuple(window) and OH * ph == H and OW * pw == W


def grad_buffer(x_shape: tuple[int, ...], window: tuple[int, int], stride: tuple[int, int],
                out_hw: tuple[int, int], dtype):
    """A new array for ``∂C/∂X``: zeros, or uninitialised when the windows :func:`tiles` it
    (every pixel is then written by :func:`add_to_windows`)."""
    xp = backend.xp
    return (xp.empty if tiles(x_shape, window, stride, out_hw) else xp.zeros)(x_shape, dtype=dtype)


def add_to_windows(dX, index, value, window: tuple[int, int], stride: tuple[int, int]) -> None:
    """``dX[index] += value`` for one window offset; a plain store when windows cannot overlap."""
    if stride[0] >= window[0] and stride[1] >= window[1]:
        dX[index] = value
    else:
        dX[index] += value
