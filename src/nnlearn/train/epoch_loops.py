r"""The compiled loops of :mod:`nnlearn.train.compiled_epoch` (Numba, imported only from there).

Plain loops over minibatches, rows and columns, compiled by Numba; each product goes to
``?gemm`` of the BLAS that NumPy itself uses, registered by
:func:`nnlearn.train.compiled_epoch.numpy_blas` under the names :data:`SGEMM` and
:data:`DGEMM` before anything here is compiled or loaded from Numba's cache. The
equations, and what may run here, are in :mod:`nnlearn.train.compiled_epoch`.

Activation codes (``acts[l]``): :data:`SIGMOID`, :data:`TANH`, :data:`RELU`,
:data:`LEAKY_RELU` (slope ``alphas[l]``), :data:`LINEAR`, :data:`SOFTMAX` (output only,
with a fused cost).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

SIGMOID, TANH, RELU, LEAKY_RELU, LINEAR, SOFTMAX = range(6)

SGEMM, DGEMM = "nnlearn_blas_sgemm", "nnlearn_blas_dgemm"
"""Symbols of the Fortran ``sgemm``/``dgemm`` (every argument by address)."""

_signature = types.void(*(types.intp,) * 13)  # 13 addresses: flags, sizes, scalars, arrays
_sgemm = types.ExternalFunction(SGEMM, _signature)
_dgemm = types.ExternalFunction(DGEMM, _signature)

EXP_CAP = 88.0
"""σ's exponent cap, as :class:`nnlearn.nn.layers.activations.Sigmoid` (no overflow)."""

jit = numba.njit(cache=True, nogil=True)


@intrinsic
def prefetch(typing_context, address):
    """Ask the CPU to bring the cache line at ``address`` (an integer) into its caches
    (LLVM's ``llvm.prefetch``: read, high locality); a hint, with no effect on results."""
    def codegen(context, builder, signature, args):
        byte_pointer = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        hint = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]),
            "llvm.prefetch.p0")
        builder.call(hint, [builder.inttoptr(args[0], byte_pointer), ir.Constant(i32, 0),
                            ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()
    return types.void(types.intp), codegen


@jit
def gemm(trans_a, trans_b, A, B, C, alpha, beta, work, ints):
    """``C ← α op(A) op(B) + β C`` for row-major matrices (each row contiguous; a column
    slice of a C-ordered array is one), ``op`` a transpose
    when asked: the column-major BLAS computes ``Cᵀ = op(B)ᵀ op(A)ᵀ`` from the same memory.
    ``work`` (2 values of C's dtype) and ``ints`` (7 BLAS integers) hold the arguments the
    Fortran interface takes by address; ``ints[5:7]`` are the flags 'N' and 'T'."""
    M, N = C.shape
    K = A.shape[0] if trans_a else A.shape[1]
    if M == 0 or N == 0:
        return
    work[0], work[1] = alpha, beta
    ints[0], ints[1], ints[2] = N, M, K
    # leading dimensions: the distance between rows (a row length, or more for a column slice)
    ints[3], ints[4], ints[7] = B.strides[0] // B.itemsize, A.strides[0] // A.itemsize, \
        C.strides[0] // C.itemsize
    size, at = ints.itemsize, ints.ctypes.data
    flag_b = at + (6 if trans_b else 5) * size
    flag_a = at + (6 if trans_a else 5) * size
    args = (flag_b, flag_a, at, at + size, at + 2 * size, work.ctypes.data,
            B.ctypes.data, at + 3 * size, A.ctypes.data, at + 4 * size,
            work.ctypes.data + work.itemsize, C.ctypes.data, at + 7 * size)
    if C.itemsize == 4:
        _sgemm(*args)
    else:
        _dgemm(*args)


@jit
def activate(Z, b, act, alpha):
    """``Z ← f(Z + b)`` in place, row by row (softmax: over each row), in Z's dtype."""
    rows, cols = Z.shape
    one, cap = Z.dtype.type(1.0), Z.dtype.type(EXP_CAP)
    for i in range(rows):
        if act == SOFTMAX:  # the reference's form: e^{2·max(z/2 − max/2, −400)}, normalised
            top = -np.inf
            for j in range(cols):
                Z[i, j] += b[j]
                top = max(top, Z[i, j])
            total = 0.0
            for j in range(cols):
                e = math.exp(max(Z[i, j] * 0.5 - top * 0.5, -400.0) * 2.0)
                Z[i, j] = e
                total += Z[i, j]
            for j in range(cols):
                Z[i, j] /= total
            continue
        for j in range(cols):
            z = Z[i, j] + b[j]
            if act == SIGMOID:
                z = one / (one + math.exp(min(-z, cap)))
            elif act == TANH:
                z = math.tanh(z)
            elif act == RELU:
                z = z if z > 0 or z != z else 0.0
            elif act == LEAKY_RELU:
                z = z if z > 0 or z != z else alpha * z
            Z[i, j] = z


@jit
def slope(a, act, alpha):
    """``f'(z)`` from the output ``a = f(z)``, as the activation layers' ``backward``."""
    if act == SIGMOID:
        return (1.0 - a) * a
    if act == TANH:
        return 1.0 - a * a
    if act == RELU:
        return 1.0 if a > 0 else 0.0
    if act == LEAKY_RELU:
        return 1.0 if a > 0 else alpha
    return 1.0


@jit
def update(W, G_from, delta, v, eta, mu, l2, l1, momentum, work, ints):
    """One parameter matrix's step with ``∂C/∂W = G_fromᵀ δ`` folded into the product:

    SGD, L2 only:  ``W ← (1 − η λ₂) W − η G_fromᵀ δ``                       (one gemm)
    SGD with L1:   ``W ← W − η (λ₂ W + λ₁ sgn W)``, then ``W ← W − η G_fromᵀ δ``
    momentum:      ``v ← μ v − η (λ₂ W + λ₁ sgn W) − η G_fromᵀ δ``, ``W ← W + v``

    (``λ₂``, ``λ₁`` already divided by n)."""
    if momentum:
        if l2 != 0.0 or l1 != 0.0:
            for i in range(W.shape[0]):
                for j in range(W.shape[1]):
                    w = W[i, j]
                    v[i, j] = mu * v[i, j] - eta * (l2 * w + l1 * np.sign(w))
            gemm(True, False, G_from, delta, v, -eta, 1.0, work, ints)
        else:
            gemm(True, False, G_from, delta, v, -eta, mu, work, ints)
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                W[i, j] += v[i, j]
    elif l1 != 0.0:
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                w = W[i, j]
                W[i, j] = w - eta * (l2 * w + l1 * np.sign(w))
        gemm(True, False, G_from, delta, W, -eta, 1.0, work, ints)
    else:
        gemm(True, False, G_from, delta, W, -eta, 1.0 - eta * l2, work, ints)


@jit
def update_bias(b, delta, vb, eta, mu, momentum):
    """``∂C/∂b = Σ_rows δ``; ``b ← b − η ∂C/∂b`` or, with momentum, ``v ← μ v − η ∂C/∂b``,
    ``b ← b + v``."""
    for j in range(b.shape[0]):
        g = 0.0
        for i in range(delta.shape[0]):
            g += delta[i, j]
        if momentum:
            vb[j] = mu * vb[j] - eta * g
            b[j] += vb[j]
        else:
            b[j] -= eta * g


@jit
def gather(X, order, lo, rows, x, k0, k1):
    """``x[r, k0:k1] = X[order[lo + r], k0:k1]`` for the minibatch's rows, and a prefetch of
    the same columns of the next minibatch's rows, so that their memory arrives while this
    minibatch is computed."""
    n = order.shape[0]
    for r in range(rows):
        source = X[order[lo + r]]
        for k in range(k0, k1):
            x[r, k] = source[k]
    nxt = lo + rows
    line = 64 // X.itemsize
    for r in range(min(rows, n - nxt)):
        source = X[order[nxt + r]]
        for k in range(k0, k1, line):
            prefetch(source[k:].ctypes.data)


@jit
def forward_columns(a, W, b, z, act, alpha, lo, hi, work, ints):
    """Columns ``lo:hi`` of one layer's feedforward, ``z = f(a W + b)``."""
    gemm(False, False, a, W[:, lo:hi], z[:, lo:hi], 1.0, 0.0, work, ints)
    activate(z[:, lo:hi], b[lo:hi], act, alpha)


@jit
def update_columns(W, b, vW, vb, below, delta, lo, hi, eta, mu, l2, l1, momentum, work, ints):
    """Columns ``lo:hi`` of one layer's step: ``∂C/∂W = belowᵀ δ`` (BP4) folded into the
    update of ``W``, and ``∂C/∂b = Σ_rows δ`` (BP3)."""
    update(W[:, lo:hi], below, delta[:, lo:hi], vW[:, lo:hi], eta, mu, l2, l1, momentum, work, ints)
    update_bias(b[lo:hi], delta[:, lo:hi], vb[lo:hi], eta, mu, momentum)


@jit
def above_first_layer(Y, order, lo, rows, Ws, bs, vWs, vbs, acts, alphas, fused, eta, mu, l2, l1,
                      momentum, As, Ds, work, ints):
    """One minibatch from the first layer's output ``A¹`` on: the feedforward of the
    layers above it, δᴸ, and backpropagation down to δ¹ (each layer's update right after
    its δ has been carried below it: the weights it multiplies are then no longer
    needed). The first layer's own update is left to the caller."""
    L = len(Ws)
    a = As[0][:rows]
    for l in range(1, L):                          # Aˡ = f(Aˡ⁻¹ Wˡ + bˡ)
        z = As[l][:rows]
        forward_columns(a, Ws[l], bs[l], z, acts[l], alphas[l], 0, z.shape[1], work, ints)
        a = z
    delta = Ds[L - 1][:rows]                       # δᴸ = (Aᴸ − Y)/m [⊙ f'(Zᴸ)]   (BP1)
    scale = 1.0 / rows
    for i in range(rows):
        target = order[lo + i]
        for j in range(a.shape[1]):
            g = (a[i, j] - Y[target, j]) * scale
            delta[i, j] = g if fused else g * slope(a[i, j], acts[L - 1], alphas[L - 1])
    for l in range(L - 1, 0, -1):
        delta = Ds[l][:rows]
        below = As[l - 1][:rows]
        back = Ds[l - 1][:rows]                    # δˡ⁻¹ = (δˡ Wˡᵀ) ⊙ f'(Zˡ⁻¹)   (BP2)
        gemm(False, True, delta, Ws[l], back, 1.0, 0.0, work, ints)
        for i in range(rows):
            for j in range(back.shape[1]):
                back[i, j] *= slope(below[i, j], acts[l - 1], alphas[l - 1])
        update_columns(Ws[l], bs[l], vWs[l], vbs[l], below, delta, 0, delta.shape[1],
                       eta, mu, l2, l1, momentum, work, ints)                      # BP3, BP4


@jit
def train_batches(X, Y, order, m, start, stop, Ws, bs, vWs, vbs, acts, alphas, fused,
                  eta, mu, l2, l1, momentum, Xb, As, Ds, work, ints):
    """Minibatches ``start`` to ``stop − 1`` of the epoch whose example order is ``order``:
    the forward pass, δᴸ, backpropagation and the update of every layer.
    ``Xb``, ``As``, ``Ds``: work arrays of ``m`` rows."""
    n = order.shape[0]
    width = As[0].shape[1]
    for batch in range(start, stop):
        lo = batch * m
        rows = min(m, n - lo)
        x = Xb[:rows]
        gather(X, order, lo, rows, x, 0, x.shape[1])
        forward_columns(x, Ws[0], bs[0], As[0][:rows], acts[0], alphas[0], 0, width, work, ints)
        above_first_layer(Y, order, lo, rows, Ws, bs, vWs, vbs, acts, alphas, fused, eta, mu,
                          l2, l1, momentum, As, Ds, work, ints)
        update_columns(Ws[0], bs[0], vWs[0], vbs[0], x, Ds[0][:rows], 0, width,
                       eta, mu, l2, l1, momentum, work, ints)


@jit
def sum_parts(parts, rows, z):
    """``z = Σ_t parts[t]`` over the first ``rows`` rows, in the order of ``t``."""
    for i in range(rows):
        for j in range(z.shape[1]):
            total = parts[0, i, j]
            for t in range(1, parts.shape[0]):
                total += parts[t, i, j]
            z[i, j] = total


@numba.njit(cache=True, nogil=True, parallel=True)
def train_batches_split(X, Y, order, m, start, stop, Ws, bs, vWs, vbs, acts, alphas, fused,
                        eta, mu, l2, l1, momentum, Xb, As, Ds, works, intss, splits, partial):
    """:func:`train_batches` with the first layer's rows of weights shared among threads:
    thread ``t`` owns rows ``k = splits[t] … splits[t + 1] − 1`` of ``W¹`` (inputs ``k``),
    gathers those columns of the minibatch, computes their share ``X[:, k] W¹[k, :]`` of
    the first layer's feedforward into ``partial[t]`` (summed in thread order, then
    ``f(· + b¹)``), and later updates the same rows of ``W¹`` (BP4); each thread keeps its
    rows in its own cache and uses its own BLAS scratch ``works[t]``, ``intss[t]``. The
    rest of the minibatch runs on the calling thread."""
    n = order.shape[0]
    parts = splits.shape[0] - 1
    W, vW = Ws[0], vWs[0]          # the threads see plain arrays, not the tuples
    for batch in range(start, stop):
        lo = batch * m
        rows = min(m, n - lo)
        x = Xb[:rows]
        for t in numba.prange(parts):
            k0, k1 = splits[t], splits[t + 1]
            gather(X, order, lo, rows, x, k0, k1)
            gemm(False, False, x[:, k0:k1], W[k0:k1], partial[t, :rows], 1.0, 0.0, works[t], intss[t])
        z = As[0][:rows]
        sum_parts(partial, rows, z)
        activate(z, bs[0], acts[0], alphas[0])
        above_first_layer(Y, order, lo, rows, Ws, bs, vWs, vbs, acts, alphas, fused, eta, mu,
                          l2, l1, momentum, As, Ds, works[0], intss[0])
        delta = Ds[0][:rows]
        for t in numba.prange(parts):
            k0, k1 = splits[t], splits[t + 1]
            update(W[k0:k1], x[:, k0:k1], delta, vW[k0:k1], eta, mu, l2, l1, momentum,
                   works[t], intss[t])
        update_bias(bs[0], delta, vbs[0], eta, mu, momentum)
