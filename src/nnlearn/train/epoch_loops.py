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
from numba import types

SIGMOID, TANH, RELU, LEAKY_RELU, LINEAR, SOFTMAX = range(6)

SGEMM, DGEMM = "nnlearn_blas_sgemm", "nnlearn_blas_dgemm"
"""Symbols of the Fortran ``sgemm``/``dgemm`` (every argument by address)."""

_signature = types.void(*(types.intp,) * 13)  # 13 addresses: flags, sizes, scalars, arrays
_sgemm = types.ExternalFunction(SGEMM, _signature)
_dgemm = types.ExternalFunction(DGEMM, _signature)

EXP_CAP = 88.0
"""σ's exponent cap, as :class:`nnlearn.nn.layers.activations.Sigmoid` (no overflow)."""

jit = numba.njit(cache=True, nogil=True)


@jit
def gemm(trans_a, trans_b, A, B, C, alpha, beta, work, ints):
    """``C ← α op(A) op(B) + β C`` for row-major (C-ordered) matrices, ``op`` a transpose
    when asked: the column-major BLAS computes ``Cᵀ = op(B)ᵀ op(A)ᵀ`` from the same memory.
    ``work`` (2 values of C's dtype) and ``ints`` (7 BLAS integers) hold the arguments the
    Fortran interface takes by address; ``ints[5:7]`` are the flags 'N' and 'T'."""
    M, N = C.shape
    K = A.shape[0] if trans_a else A.shape[1]
    if M == 0 or N == 0:
        return
    work[0], work[1] = alpha, beta
    ints[0], ints[1], ints[2] = N, M, K
    ints[3], ints[4] = B.shape[1], A.shape[1]       # leading dimensions: row lengths
    c_ld = C.shape[1]
    ints[7] = c_ld
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
def train_batches(X, Y, order, m, start, stop, Ws, bs, vWs, vbs, acts, alphas, fused,
                  eta, mu, l2, l1, momentum, Xb, As, Ds, work, ints):
    """Minibatches ``start`` to ``stop − 1`` of the epoch whose example order is ``order``:
    the forward pass, δᴸ, backpropagation and the update of every layer, each layer's
    update right after its δ has been carried below it (the weights it multiplies are
    then no longer needed). ``Xb``, ``As``, ``Ds``: work arrays of ``m`` rows."""
    n = order.shape[0]
    L = len(Ws)
    for batch in range(start, stop):
        lo = batch * m
        rows = min(m, n - lo)
        x = Xb[:rows]
        for r in range(rows):                      # gather the minibatch
            x[r, :] = X[order[lo + r], :]
        a = x
        for l in range(L):                         # Aˡ = f(Aˡ⁻¹ Wˡ + bˡ)
            z = As[l][:rows]
            gemm(False, False, a, Ws[l], z, 1.0, 0.0, work, ints)
            activate(z, bs[l], acts[l], alphas[l])
            a = z
        delta = Ds[L - 1][:rows]                   # δᴸ = (Aᴸ − Y)/m [⊙ f'(Zᴸ)]   (BP1)
        scale = 1.0 / rows
        for i in range(rows):
            target = order[lo + i]
            for j in range(a.shape[1]):
                g = (a[i, j] - Y[target, j]) * scale
                delta[i, j] = g if fused else g * slope(a[i, j], acts[L - 1], alphas[L - 1])
        for l in range(L - 1, -1, -1):
            delta = Ds[l][:rows]
            below = x if l == 0 else As[l - 1][:rows]
            if l > 0:                              # δˡ⁻¹ = (δˡ Wˡᵀ) ⊙ f'(Zˡ⁻¹)   (BP2)
                back = Ds[l - 1][:rows]
                gemm(False, True, delta, Ws[l], back, 1.0, 0.0, work, ints)
                for i in range(rows):
                    for j in range(back.shape[1]):
                        back[i, j] *= slope(below[i, j], acts[l - 1], alphas[l - 1])
            update(Ws[l], below, delta, vWs[l], eta, mu, l2, l1, momentum, work, ints)   # BP4
            update_bias(bs[l], delta, vbs[l], eta, mu, momentum)                        # BP3
