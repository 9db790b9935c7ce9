r"""Compiled kernels for the layers' memory-bound passes, each beside its plain reference.

The kernels: 2×2 max-pooling at stride 2 (forward and backward), the convolution's
col2im (:func:`col2im`), ReLU's backward pass and batch norm's per-channel passes
(:func:`channel_sums` … :func:`batchnorm_input_grad`). A layer calls them by name
(``kernels.max_pool_forward(...)``); :func:`implementation` picks, on every call, one of
two versions that compute the same thing:

* **reference** — vectorised array code on the backend handle ``backend.xp`` (NumPy,
  or CuPy for a GPU): a few whole-batch operations per window offset. It is the
  definition the tests hold the compiled version to.
* **compiled** — the plain Python loops below (``*_loops``), compiled for the CPU by
  Numba (``pip install "nnlearn[fast]"``) and run without the GIL, so that the
  threads of :mod:`nnlearn.train.parallel` run them side by side. They read each
  input value once and write each output once, where the reference makes one pass
  per window offset and operation (``benchmarks/profile_epoch.py`` shows the share).

The compiled version is used when the backend is NumPy and Numba imports; otherwise the
reference runs, and the first call says so in one line on stderr (without Numba).
``NNLEARN_KERNELS=reference`` forces the references (``compiled`` is the default).
Compiling takes a second or two the first time; Numba caches the result on disk
(``cache=True``: beside this file, or in the user's cache folder), so later processes
only load it (about 0.4 s, mostly importing Numba). :func:`compile_kernels` does either
ahead and returns the seconds, which the benchmarks report apart from the epoch times.

Each compiled kernel trusts nothing it is handed: once per call (never per element) it
checks that its arrays have the shapes, dtypes (float32 or float64, one dtype) and layout
its loops index, and otherwise runs the reference, which then computes what it always
computes (broadcasting a gradient of another shape, float16, complex) or raises its own
error (:func:`compiled_fits`). A loop handed a gradient of the wrong shape would read and
write outside its arrays.

Both versions are deterministic, so a run is reproducible bit for bit with either, and
they agree bit for bit (the tests check): max and ReLU select values, and col2im adds
each pixel's terms in the reference's order. Batch norm's kernels are the exception:
their float64 sums run in another order than NumPy's pairwise ones, so the two agree to
rounding (the tests hold them to it). One difference: for a pooling window
holding NaN both output NaN, but the compiled backward routes that window's gradient to
the NaN and the reference to nowhere (training stops on NaN outputs anyway).
"""

from __future__ import annotations

import functools
import os
import sys
import time
from types import SimpleNamespace
from typing import Any, Callable

from nnlearn import backend
from nnlearn.errors import ConfigError, install_hint
from nnlearn.nn.layers.windows import add_to_windows, grad_buffer, scratch, tiles, window_slices
from nnlearn.nn.layers.windows import col2im as col2im_reference

KERNELS_ENV = "NNLEARN_KERNELS"
"""Environment variable: ``compiled`` (default: Numba when available) or ``reference``."""


# -- max-pooling: the compiled loops (plain Python; Numba compiles them) -------------------
# Written out for the book's 2×2 windows at stride 2: with the window size a run-time
# value the same loops ran 5–15× slower (Numba cannot unroll them), slower than the
# reference; other windows use the reference.

def max_pool_2x2_forward_loops(X, Y, arg) -> None:
    """``Y[n,c,y,x] = max(X[n, c, 2y:2y+2, 2x:2x+2])`` and ``arg[n,c,y,x] = 2i + j`` of its
    first maximum (row-major), NaN and the first NaN's position when the window holds one."""
    N, C, OH, OW = Y.shape
    for n in range(N):
        for c in range(C):
            for y in range(OH):
                for x in range(OW):
                    best, k = X[n, c, 2 * y, 2 * x], 0
                    v = X[n, c, 2 * y, 2 * x + 1]
                    if v > best or (v != v and best == best):
                        best, k = v, 1
                    v = X[n, c, 2 * y + 1, 2 * x]
                    if v > best or (v != v and best == best):
                        best, k = v, 2
                    v = X[n, c, 2 * y + 1, 2 * x + 1]
                    if v > best or (v != v and best == best):
                        best, k = v, 3
                    Y[n, c, y, x] = best
                    arg[n, c, y, x] = k


def max_pool_2x2_backward_loops(dY, arg, tiles: bool, dX) -> None:
    """``dX[n, c, 2y + i*, 2x + j*] = dY[n,c,y,x]`` for ``2i* + j* = arg[n,c,y,x]``, 0 at the
    window's other pixels. ``tiles``: the windows cover ``dX`` (even height and width);
    otherwise the row or column they leave out is zeroed first."""
    N, C, OH, OW = dY.shape
    if not tiles:
        dX[...] = 0
    for n in range(N):
        for c in range(C):
            for y in range(OH):
                for x in range(OW):
                    k, d = arg[n, c, y, x], dY[n, c, y, x]
                    dX[n, c, 2 * y, 2 * x] = d if k == 0 else 0
                    dX[n, c, 2 * y, 2 * x + 1] = d if k == 1 else 0
                    dX[n, c, 2 * y + 1, 2 * x] = d if k == 2 else 0
                    dX[n, c, 2 * y + 1, 2 * x + 1] = d if k == 3 else 0


# -- col2im: the compiled loops --------------------------------------------------------------

def col2im_loops(D, sh: int, sw: int, dXt) -> None:
    """``dXt[c, y·sh + i, x·sw + j, n] += D[c, i, j, y, x, n]`` over all indices, from zero.

    ``D (C, kh, kw, OH, OW, N)`` is the columns' gradient batch-last, ``dXt (C, Hp, Wp, N)``
    the padded input's. Each pixel receives its terms in the reference's order
    (offsets ``(i, j)`` row-major), so the two agree bit for bit.
    """
    C, kh, kw, OH, OW, N = D.shape
    dXt[...] = 0
    for c in range(C):
        for i in range(kh):
            for j in range(kw):
                for y in range(OH):
                    for x in range(OW):
                        for n in range(N):
                            dXt[c, y * sh + i, x * sw + j, n] += D[c, i, j, y, x, n]


# -- ReLU's backward pass ----------------------------------------------------------------------

def relu_backward_loops(dA, A, dZ) -> None:
    """``dZ = dA · 1[A > 0]``, element by element over flat arrays (the same products as the
    reference, so the same bits, signed zeros included)."""
    for i in range(A.size):
        dZ[i] = dA[i] * (A[i] > 0)


RELU_MIN_SIZE = 1 << 14
"""Below this many elements the reference (two NumPy calls) beats a compiled call's overhead."""


def relu_backward(dA, A):
    """``∂C/∂Z = ∂C/∂A ⊙ 1[A > 0]`` as a new array: one compiled pass for large arrays of
    one shape and dtype, else the reference ``dA * (A > 0)`` (a mask, then a product)."""
    if A.size < RELU_MIN_SIZE or not compiled_fits((dA, A.shape), (A, A.shape)):
        return dA * (A > 0)
    xp = backend.xp
    dA, A = xp.ascontiguousarray(dA), xp.ascontiguousarray(A)
    dZ = xp.empty(A.shape, dtype=xp.result_type(dA, A))
    _compiled().relu_backward(dA.reshape(-1), A.reshape(-1), dZ.reshape(-1))
    return dZ


# -- max-pooling: the references (whole-batch array operations) ------------------------------

def max_pool_forward_reference(X, pool, stride, out_hw, work: dict, reuse: bool):
    """``(Y, state)``: the windows' pixels copied offset-major, ``Xw[k] = X[offset k]``
    (N, C, OH, OW), after which the max runs over contiguous arrays."""
    windows = window_slices(pool, stride, out_hw)
    Xw = scratch(work, "X_w", (len(windows),) + X.shape[:2] + tuple(out_hw), X.dtype, reuse)
    for k, index in enumerate(windows):
        Xw[k] = X[index]
    Y = Xw.max(axis=0)
    return Y, (Xw, Y)


def max_pool_backward_reference(dY, state, x_shape, pool, stride, work: dict):
    """Route each ``δ[n,c,y,x]`` to its window's first maximum, offsets in row-major order:
    ``rest`` holds the gradient not yet routed, so a later pixel equal to the max gets
    nothing once an earlier one did."""
    xp = backend.xp
    Xw, Y = state
    dXw = scratch(work, "dX_w", Xw.shape, dY.dtype)
    at_max = scratch(work, "at_max", Y.shape, bool)
    rest = scratch(work, "rest", Y.shape, dY.dtype)
    xp.copyto(rest, dY)
    for k in range(len(Xw)):
        xp.equal(Xw[k], Y, out=at_max)
        xp.multiply(rest, at_max, out=dXw[k])
        if k < len(Xw) - 1:
            rest -= dXw[k]  # = rest·(1 − at_max), exactly; np.where is far slower
    dX = grad_buffer(x_shape, pool, stride, Y.shape[2:], dY.dtype)
    for k, index in enumerate(window_slices(pool, stride, Y.shape[2:])):
        add_to_windows(dX, index, dXw[k], pool, stride)
    return dX


# -- max-pooling: what the layer calls ---------------------------------------------------------

def max_pool_forward(X, pool: tuple[int, int], stride: tuple[int, int], out_hw: tuple[int, int],
                     work: dict[str, Any], reuse: bool = True):
    """Max-pool ``X (N, C, H, W)`` over ``pool`` windows at ``stride``: ``(Y, state)`` with
    ``Y (N, C, OH, OW)`` a new array and ``state`` what :func:`max_pool_backward` needs.
    ``work`` keeps work arrays between minibatches when ``reuse`` (training). Compiled
    for 2×2 windows at stride 2; the reference for the others."""
    if tuple(pool) != (2, 2) or tuple(stride) != (2, 2) or getattr(X, "ndim", 0) != 4 \
            or tuple(out_hw) != (X.shape[2] // 2, X.shape[3] // 2) \
            or not compiled_fits((X, X.shape)):
        Y, state = max_pool_forward_reference(X, pool, stride, out_hw, work, reuse)
        return Y, ("reference", state)
    xp = backend.xp
    Xc = xp.ascontiguousarray(X)
    Y = xp.empty(X.shape[:2] + tuple(out_hw), dtype=X.dtype)
    arg = scratch(work, "argmax", Y.shape, xp.uint8, reuse)
    _compiled().max_pool_2x2_forward(Xc, Y, arg)
    return Y, ("compiled", (arg, X))


def max_pool_backward(dY, state, x_shape: tuple[int, ...], pool: tuple[int, int],
                      stride: tuple[int, int], work: dict[str, Any]):
    """``∂C/∂X`` (a new array of ``x_shape``) from ``dY`` and the forward pass's ``state``."""
    which, saved = state
    if which == "compiled":
        arg, X = saved
        if tuple(x_shape) == X.shape and compiled_fits((dY, arg.shape)):
            xp = backend.xp
            dX = xp.empty(x_shape, dtype=dY.dtype)
            _compiled().max_pool_2x2_backward(xp.ascontiguousarray(dY), arg,
                                              tiles(x_shape, pool, stride, arg.shape[2:]), dX)
            return dX
        # a gradient the loops cannot take: the reference's answer (or error), from its own state
        _, saved = max_pool_forward_reference(X, pool, stride, arg.shape[2:], work, reuse=False)
    return max_pool_backward_reference(dY, saved, x_shape, pool, stride, work)


# -- col2im: what Conv2D calls ----------------------------------------------------------------

def col2im(dcols_t, padded_shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int],
           out_hw: tuple[int, int], work=None):
    """:func:`nnlearn.nn.layers.windows.col2im` (the reference: one strided add per kernel
    offset), compiled when available: ``dXp (N, C, Hp, Wp)``, a batch-first view of the
    batch-last accumulator ``work`` (or a new one)."""
    (kh, kw), (sh, sw), (OH, OW) = kernel, stride, out_hw
    N, C, Hp, Wp = padded_shape
    inside = OH > 0 and OW > 0 and (OH - 1) * sh + kh <= Hp and (OW - 1) * sw + kw <= Wp
    if not inside or not compiled_fits((dcols_t, (C * kh * kw, OH * OW * N)),
                                       *(() if work is None else ((work, (C, Hp, Wp, N)),)),
                                       contiguous=() if work is None else (work,)):
        return col2im_reference(dcols_t, padded_shape, kernel, stride, out_hw, work)
    xp = backend.xp
    dXt = xp.empty((C, Hp, Wp, N), dtype=dcols_t.dtype) if work is None else work
    D = xp.ascontiguousarray(dcols_t).reshape(C, kh, kw, OH, OW, N)
    _compiled().col2im(D, stride[0], stride[1], dXt)
    return dXt.transpose(3, 0, 1, 2)


# -- batch norm: the compiled loops over (N, C, L) arrays (C channels, L values per example) --
# Each makes one pass (two for the sums) where the reference makes one per operation.

def channel_sums_loops(X, out) -> None:
    """``out[c] = Σ_{n,l} X[n, c, l]`` (float64 ``out``)."""
    N, C, L = X.shape
    out[:] = 0
    for n in range(N):
        for c in range(C):
            acc = 0.0
            for v in range(L):
                acc += X[n, c, v]
            out[c] += acc


def channel_centered_squares_loops(X, mu, out) -> None:
    """``out[c] = Σ_{n,l} (X[n, c, l] − μ[c])²`` (float64 ``mu`` and ``out``)."""
    N, C, L = X.shape
    out[:] = 0
    for n in range(N):
        for c in range(C):
            m, acc = mu[c], 0.0
            for v in range(L):
                d = X[n, c, v] - m
                acc += d * d
            out[c] += acc


def batchnorm_normalize_loops(X, mu, s, gamma, beta, X_hat, Y) -> None:
    """``X̂ = (X − μ) s`` and ``Y = γ X̂ + β``, per channel, in one pass."""
    N, C, L = X.shape
    for n in range(N):
        for c in range(C):
            m, k, g, b = mu[c], s[c], gamma[c], beta[c]
            for v in range(L):
                xh = (X[n, c, v] - m) * k
                X_hat[n, c, v] = xh
                Y[n, c, v] = g * xh + b


def channel_grad_sums_loops(dY, X_hat, sum_g, sum_gx) -> None:
    """``Σg[c] = Σ_{n,l} dY[n, c, l]`` and ``Σgx̂[c] = Σ_{n,l} dY[n, c, l] X̂[n, c, l]`` (float64)."""
    N, C, L = dY.shape
    sum_g[:] = 0
    sum_gx[:] = 0
    for n in range(N):
        for c in range(C):
            a, b = 0.0, 0.0
            for v in range(L):
                g = dY[n, c, v]
                a += g
                b += g * X_hat[n, c, v]
            sum_g[c] += a
            sum_gx[c] += b


def batchnorm_input_grad_loops(dY, X_hat, scale, M: int, sum_g, sum_gx, dX) -> None:
    """``dX = (scale / M) (M dY − Σg − X̂ Σgx̂)`` per channel, ``scale = γ s``."""
    N, C, L = dY.shape
    for n in range(N):
        for c in range(C):
            k, u, w = scale[c] / M, sum_g[c], sum_gx[c]
            for v in range(L):
                dX[n, c, v] = k * (M * dY[n, c, v] - u - X_hat[n, c, v] * w)


# -- batch norm: what BatchNorm calls (each with its reference, whole-array NumPy) -----------

def channel_sums(X):
    """``Σ_{n,l} X[n, c, l]`` per channel of ``X (N, C, L)``, in float64."""
    if getattr(X, "ndim", 0) != 3 or not compiled_fits((X, X.shape)):
        return X.sum(axis=(0, 2), dtype=backend.xp.float64)
    out = backend.xp.empty(X.shape[1])
    _compiled().channel_sums(backend.xp.ascontiguousarray(X), out)
    return out


def channel_centered_squares(X, mu):
    """``Σ_{n,l} (X[n, c, l] − μ[c])²`` per channel (``mu`` float64), in float64."""
    xp = backend.xp
    if getattr(X, "ndim", 0) != 3 or not compiled_fits((X, X.shape), float64=((mu, X.shape[1:2]),)):
        D = X - mu[None, :, None]
        return (D * D).sum(axis=(0, 2))
    out = xp.empty(X.shape[1])
    _compiled().channel_centered_squares(xp.ascontiguousarray(X), mu, out)
    return out


def batchnorm_normalize(X, mu, s, gamma, beta):
    """``(X̂, Y)``: ``X̂ = (X − μ) s`` and ``Y = γ X̂ + β`` per channel, in ``X``'s dtype."""
    xp = backend.xp
    C = X.shape[1:2] if getattr(X, "ndim", 0) == 3 else None
    if C is None or not compiled_fits((X, X.shape), (gamma, C), (beta, C),
                                      float64=((mu, C), (xp.asarray(s, xp.float64), C))):
        X_hat = ((X - mu[None, :, None]) * s[None, :, None]).astype(X.dtype, copy=False)
        return X_hat, gamma[None, :, None] * X_hat + beta[None, :, None]
    X = xp.ascontiguousarray(X)
    X_hat, Y = xp.empty_like(X), xp.empty_like(X)
    _compiled().batchnorm_normalize(X, mu, xp.asarray(s, xp.float64), gamma, beta, X_hat, Y)
    return X_hat, Y


def channel_grad_sums(dY, X_hat):
    """``(Σg, Σg x̂)`` per channel of ``dY (N, C, L)`` and ``X̂``, in float64."""
    xp = backend.xp
    if getattr(dY, "ndim", 0) != 3 or not compiled_fits((dY, dY.shape), (X_hat, dY.shape)):
        return dY.sum(axis=(0, 2), dtype=xp.float64), (dY * X_hat).sum(axis=(0, 2), dtype=xp.float64)
    sum_g, sum_gx = xp.empty(dY.shape[1]), xp.empty(dY.shape[1])
    _compiled().channel_grad_sums(xp.ascontiguousarray(dY), xp.ascontiguousarray(X_hat), sum_g, sum_gx)
    return sum_g, sum_gx


def batchnorm_input_grad(dY, X_hat, scale, M: int, sum_g, sum_gx):
    """``∂C/∂X = (scale / M)(M dY − Σg − X̂ Σgx̂)`` (``scale = γ s``), in ``dY``'s dtype."""
    xp = backend.xp
    C = dY.shape[1:2] if getattr(dY, "ndim", 0) == 3 else None
    if C is None or not compiled_fits((dY, dY.shape), (X_hat, dY.shape), float64=(
            (xp.asarray(scale, xp.float64), C), (sum_g, C), (sum_gx, C))):
        dX = (scale[None, :, None] / M) * (M * dY - sum_g[None, :, None] - X_hat * sum_gx[None, :, None])
        return dX.astype(dY.dtype, copy=False)
    dX = xp.empty(dY.shape, dtype=dY.dtype)
    _compiled().batchnorm_input_grad(xp.ascontiguousarray(dY), xp.ascontiguousarray(X_hat),
                                     xp.asarray(scale, xp.float64), M, sum_g, sum_gx, dX)
    return dX


# -- dispatch ----------------------------------------------------------------------------------

LOOPS: dict[str, Callable[..., None]] = {
    "max_pool_2x2_forward": max_pool_2x2_forward_loops,
    "max_pool_2x2_backward": max_pool_2x2_backward_loops,
    "col2im": col2im_loops,
    "relu_backward": relu_backward_loops,
    "channel_sums": channel_sums_loops,
    "channel_centered_squares": channel_centered_squares_loops,
    "batchnorm_normalize": batchnorm_normalize_loops,
    "channel_grad_sums": channel_grad_sums_loops,
    "batchnorm_input_grad": batchnorm_input_grad_loops,
}
"""The loop functions that Numba compiles, by kernel name."""


COMPILED_DTYPES = ("float32", "float64")
"""The dtypes the compiled loops are run on; other dtypes take the reference."""


def compiled_fits(*arrays: tuple[Any, tuple[int, ...]], contiguous: tuple[Any, ...] = (),
                  float64: tuple[tuple[Any, tuple[int, ...]], ...] = ()) -> bool:
    """Whether the compiled loops may run: they are chosen (:func:`implementation`), every
    ``(array, shape)`` pair is a NumPy array of exactly that shape, those of ``arrays`` all
    of one dtype in :data:`COMPILED_DTYPES` and those of ``float64`` (statistics and sums
    kept in double precision) float64, and each array in ``contiguous`` (one the loops write
    into as it is) is C-contiguous. Checked once per call; the loops check nothing."""
    if implementation() != "compiled":
        return False
    xp = backend.xp
    for array, shape in arrays + float64:
        if not isinstance(array, xp.ndarray) or array.shape != tuple(shape):
            return False
    dtypes = {array.dtype for array, _ in arrays}
    return len(dtypes) == 1 and dtypes.pop().name in COMPILED_DTYPES and \
        all(array.dtype == xp.float64 for array, _ in float64) and \
        all(array.flags.c_contiguous for array in contiguous)


def implementation() -> str:
    """``"compiled"`` or ``"reference"``: what the kernels run now (see the module docstring)."""
    wanted = os.environ.get(KERNELS_ENV, "compiled")
    if wanted not in ("compiled", "reference"):
        raise ConfigError(f"{KERNELS_ENV}={wanted!r}: expected 'compiled' or 'reference'")
    if wanted == "reference" or backend.xp.__name__ != "numpy" or _compiled() is None:
        return "reference"
    return "compiled"


@functools.lru_cache(maxsize=1)
def _compiled():
    """The compiled kernels (a namespace of Numba dispatchers), or None without Numba."""
    try:
        import numba
    except ImportError:
        print("nnlearn: Numba is not installed, so max-pooling, col2im, ReLU's backward pass and "
              "batch norm and the MLP training epoch run as NumPy array code (slower); "
              f"{install_hint('fast')} compiles them", file=sys.stderr)
        return None

    return SimpleNamespace(**{name: numba.njit(cache=True, nogil=True)(loops)
                              for name, loops in LOOPS.items()})


def compile_kernels(dtypes: tuple[str, ...] = ("float32",)) -> float | None:
    """Compile (or load from Numba's cache) every kernel for ``dtypes``; the seconds it
    took, or None when the references are in use."""
    if implementation() != "compiled":
        return None
    xp = backend.xp
    start = time.perf_counter()
    for dtype in dtypes:
        X = xp.zeros((1, 1, 2, 2), dtype=dtype)
        Y, state = max_pool_forward(X, (2, 2), (2, 2), (1, 1), {}, reuse=False)
        max_pool_backward(Y, state, X.shape, (2, 2), (2, 2), {})
        col2im(xp.zeros((4, 1), dtype=dtype), (1, 1, 2, 2), (2, 2), (1, 1), (1, 1))
        _compiled().relu_backward(xp.zeros(1, dtype), xp.zeros(1, dtype), xp.zeros(1, dtype))
        X3, one = xp.ones((2, 1, 1), dtype=dtype), xp.ones(1, dtype=dtype)
        mu = channel_sums(X3)
        channel_centered_squares(X3, mu)
        X_hat, _ = batchnorm_normalize(X3, mu, one, one, one)
        sum_g, sum_gx = channel_grad_sums(X3, X_hat)
        batchnorm_input_grad(X3, X_hat, one, 2, sum_g, sum_gx)
    return time.perf_counter() - start
