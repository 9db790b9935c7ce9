r"""A training epoch of an eligible MLP as one compiled loop over its minibatches.

The reference, and the code to read, is :meth:`Trainer.train_step
<nnlearn.train.trainer.Trainer.train_step>` run on every minibatch of the epoch: the
layers' ``forward`` and ``backward``, the cost's δᴸ, the regularisers and the optimiser,
each a few NumPy calls. This module computes the same equations for every minibatch
``(X, Y)`` of ``m`` rows, layers ``l = 1 … L`` each a ``Dense`` with an element-wise
activation ``fˡ``, n the training-set size::

    Aˡ = fˡ(Aˡ⁻¹ Wˡ + bˡ),  A⁰ = X                                  (feedforward)
    δᴸ = (Aᴸ − Y)/m ⊙ fᴸ'(Zᴸ),  or the fused δᴸ = (Aᴸ − Y)/m        (BP1)
    δˡ⁻¹ = (δˡ Wˡᵀ) ⊙ fˡ⁻¹'(Zˡ⁻¹)                                    (BP2)
    ∂C/∂bˡ = Σ_rows δˡ,   ∂C/∂Wˡ = Aˡ⁻¹ᵀ δˡ                          (BP3, BP4)
    SGD:       W ← W − η (∂C/∂W + (λ₂/n) W + (λ₁/n) sgn W),   b ← b − η ∂C/∂b
    momentum:  v ← μ v − η (∂C/∂W + (λ₂/n) W + (λ₁/n) sgn W),  W ← W + v  (b likewise, no decay)

as one loop that Numba compiles (:mod:`nnlearn.train.epoch_loops`). At the book's
mini-batch of 10 the reference's time goes mostly to calling: some 40 NumPy calls a
step, each a microsecond or more of overhead around a few hundred multiply-adds. Here
Python is entered about a hundred times an epoch (for the batch hooks: the divergence
watch and the progress bar, at the minibatches where the reference calls them), and the
products go to the same BLAS as NumPy's (its Fortran ``?gemm``, found in NumPy's own
library: :func:`numpy_blas`), with the update folded into the product of BP4: with plain
SGD and L2, ``W ← (1 − ηλ₂/n) W − η Aᵀδ`` is one ``gemm`` call (the book's eq. 93).

**Eligible** (:func:`compile_epoch`): layers that are ``Dense``, each followed by at most
one sigmoid, tanh, ReLU, leaky ReLU or linear activation, or by a softmax output fused
with the log-likelihood; the quadratic cost with any of those outputs, the
cross-entropy with a sigmoid output, the log-likelihood with a softmax output; float32
or float64; the optimiser plain SGD or momentum; L2 and L1 regularisation; no max-norm.
The trainer adds its own conditions (one thread, no batch hooks of its own, no
overridden ``train_step``). Anything else, ``NNLEARN_KERNELS=reference``, a backend
other than NumPy, no Numba or no BLAS found: the reference runs.

**Agreement.** The same arithmetic in the same order, except where the two differ by
rounding: the update folded into the product (one rounding instead of three), the
activations through the compiled math library's ``exp``/``tanh`` in float64 rather than
NumPy's own, the deltas in float64 before being stored. The two therefore agree to float
tolerance, not bit for bit (the tests hold them to it over epochs of every eligible
configuration); each is deterministic, so a run is reproducible for a given seed, thread
count and BLAS build. The compiled epoch does not write the layers' ``grads`` (the update
never needs them whole).
"""

from __future__ import annotations

import ctypes
import functools
import math
from typing import Any, Callable, Iterable

import numpy

from nnlearn import backend
from nnlearn.nn import kernels
from nnlearn.nn.costs import CrossEntropy, LogLikelihood, Quadratic
from nnlearn.nn.layers.activations import LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
from nnlearn.nn.layers.dense import Dense
from nnlearn.nn.regularizers import L1, L2, Regularizer
from nnlearn.optim.optimizers import SGD, Momentum, Optimizer

ACTIVATION_CODES = {Sigmoid: 0, Tanh: 1, ReLU: 2, LeakyReLU: 3, Linear: 4, Softmax: 5}
"""The activations the loop computes, by layer class (the codes of :mod:`.epoch_loops`)."""
FUSED_ONLY = (Softmax,)
"""Activations taken only as the output fused with its cost (δᴸ = (A − Y)/m)."""
COSTS = (Quadratic, CrossEntropy, LogLikelihood)

BLAS_SYMBOLS = (("scipy_{}gemm_64_", numpy.int64), ("{}gemm_64_", numpy.int64),
                ("scipy_{}gemm_", numpy.int32), ("{}gemm_", numpy.int32))
"""Names of the Fortran ``?gemm`` in NumPy's BLAS, with the integer size the name says
(``64_``: a 64-bit-integer build, as NumPy's wheels; plain: 32-bit, as most others)."""


@functools.lru_cache(maxsize=1)
def numpy_blas() -> Any:
    """The integer dtype of NumPy's own BLAS after registering its ``sgemm`` and ``dgemm``
    for the compiled loops (and checking them on a small product), or None when NumPy's
    library exposes neither name of :data:`BLAS_SYMBOLS` (then the reference runs)."""
    core = getattr(numpy, "_core", None) or numpy.core
    try:
        library = ctypes.CDLL(core._multiarray_umath.__file__)
    except OSError:
        return None
    for pattern, int_dtype in BLAS_SYMBOLS:
        try:
            found = {t: getattr(library, pattern.format(t)) for t in "sd"}
        except AttributeError:
            continue
        import llvmlite.binding  # comes with Numba, which the caller has imported

        from nnlearn.train import epoch_loops  # needs Numba, an optional extra
        for t, symbol in (("s", epoch_loops.SGEMM), ("d", epoch_loops.DGEMM)):
            llvmlite.binding.add_symbol(symbol, ctypes.cast(found[t], ctypes.c_void_p).value)
        return int_dtype if _blas_works(int_dtype) else None
    return None


def _blas_works(int_dtype) -> bool:
    """The registered ``gemm`` gives NumPy's products, plain and transposed, in both dtypes."""
    from nnlearn.train import epoch_loops  # needs Numba, an optional extra
    rng = numpy.random.default_rng(0)
    for dtype in ("float32", "float64"):
        A, B = rng.standard_normal((3, 5)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype)
        C = numpy.ones((5, 4), dtype)
        epoch_loops.gemm(True, False, A, B, C, -2.0, 0.5, numpy.empty(2, dtype), blas_ints(int_dtype))
        if not numpy.allclose(C, 0.5 - 2.0 * (A.T @ B), rtol=1e-5, atol=1e-5):
            return False
    return True


def blas_ints(int_dtype):
    """The integer arguments' scratch of :func:`epoch_loops.gemm`, flags 'N', 'T' at 5, 6."""
    ints = numpy.zeros(8, int_dtype)
    ints[5], ints[6] = ord("N"), ord("T")
    return ints


def layer_plan(network) -> list[tuple[Dense, int, float]] | None:
    """``(Dense, activation code, leaky slope)`` per affine layer, or None when the
    network is not a stack of Dense layers with the activations the loop computes."""
    plan: list[tuple[Dense, int, float]] = []
    layers = network.layers
    for i, layer in enumerate(layers):
        kind = type(layer)
        if kind is Dense:
            plan.append((layer, ACTIVATION_CODES[Linear], 0.0))
        elif kind in ACTIVATION_CODES and plan and type(layers[i - 1]) is Dense:
            if kind in FUSED_ONLY and not (i == len(layers) - 1 and network._fused):
                return None
            plan[-1] = (plan[-1][0], ACTIVATION_CODES[kind], getattr(layer, "alpha", 0.0))
        else:
            return None
    return plan


def compile_epoch(network, optimizer: Optimizer, regularizers: Iterable[Regularizer],
                  constraint: Any, X, Y, n: int, mini_batch_size: int,
                  threads: int = 1) -> "CompiledEpoch | None":
    """The compiled epoch for these settings and the epoch's data ``X``, ``Y`` (C-ordered
    arrays of the network's dtype), or None when they need the reference (see the module
    docstring for what is eligible); ``n``: the training-set size of the L2/L1 terms;
    ``threads``: how many threads share the first layer's rows of weights (:func:`row_splits`)."""
    regularizers = tuple(regularizers)
    plan = layer_plan(network)
    if plan is None or type(network.cost) not in COSTS or constraint is not None \
            or type(optimizer) not in (SGD, Momentum) \
            or any(type(r) not in (L1, L2) for r in regularizers) \
            or network.dtype not in ("float32", "float64") \
            or not all(isinstance(A, numpy.ndarray) and A.ndim == 2 and A.dtype == network.dtype
                       and A.flags.c_contiguous for A in (X, Y)) \
            or kernels.implementation() != "compiled":
        return None
    if numpy_blas() is None:
        return None
    return CompiledEpoch(network, plan, optimizer, regularizers, n, mini_batch_size, threads)


def row_splits(n_in: int, n_out: int, itemsize: int, threads: int):
    """Boundaries ``[0, …, n_in]`` of the blocks of the first layer's weight rows (and of the
    minibatch's columns) shared by ``threads`` threads: near-equal parts, each boundary
    moved to the nearest index that starts a 64-byte cache line both in a row of the
    minibatch and among the rows of ``W¹`` (so no two threads write the same line)."""
    period = math.lcm(64 // math.gcd(64, n_out * itemsize), 64 // itemsize)
    cuts = [round(n_in * t / threads / period) * period for t in range(1, threads)]
    return numpy.array([0, *cuts, n_in], dtype=numpy.int64)


class CompiledEpoch:
    """The arrays of one network and optimiser arranged for :func:`epoch_loops.train_batches`
    (the network's own parameter and velocity arrays, updated in place, and work arrays of
    one minibatch)."""

    def __init__(self, network, plan, optimizer: Optimizer, regularizers, n: int, m: int,
                 threads: int = 1):
        xp = backend.xp
        dtype = network.dtype
        self.optimizer, self.m = optimizer, m
        self.momentum = type(optimizer) is Momentum
        self.l2 = sum(r.lmbda for r in regularizers if type(r) is L2) / n
        self.l1 = sum(r.lmbda for r in regularizers if type(r) is L1) / n
        layers = [dense for dense, _, _ in plan]
        self.Ws = tuple(d.params["W"] for d in layers)
        self.bs = tuple(d.params["b"] for d in layers)
        if self.momentum:
            pairs = network.parameters()
            optimizer.prepare(pairs)
            index = {id(p): k for k, (p, _) in enumerate(pairs)}
            velocity = optimizer.state["v"]
            self.vWs = tuple(velocity[index[id(d.params["W"])]] for d in layers)
            self.vbs = tuple(velocity[index[id(d.params["b"])]] for d in layers)
        else:  # never read
            self.vWs, self.vbs = self.Ws, self.bs
        self.acts = numpy.array([code for _, code, _ in plan], dtype=numpy.int64)
        self.alphas = numpy.array([alpha for _, _, alpha in plan], dtype=numpy.float64)
        self.fused = bool(network._fused)
        self.Xb = xp.empty((m, layers[0].n_in), dtype=dtype)
        self.As = tuple(xp.empty((m, d.n_out), dtype=dtype) for d in layers)
        self.Ds = tuple(xp.empty((m, d.n_out), dtype=dtype) for d in layers)
        first = layers[0]
        self.splits = row_splits(first.n_in, first.n_out, numpy.dtype(dtype).itemsize, threads)
        parts = len(self.splits) - 1
        self.partial = xp.empty((parts, m, first.n_out), dtype=dtype)  # each thread's share of Z¹
        self.works = xp.empty((parts, 2), dtype=dtype)           # each thread's BLAS scratch
        self.intss = numpy.stack([blas_ints(numpy_blas())] * parts)

    def run(self, X, Y, order, stops: Iterable[int],
            after: Callable[[int, list[Any]], None]) -> None:
        """Train on the minibatches of ``order`` (the reference's: ``order[b·m:(b+1)·m]``),
        calling ``after(done, [outputs])`` when ``done`` minibatches are through, for each
        ``done`` in ``stops`` (increasing, the last = all of them); ``outputs`` are the
        last minibatch's output activations, as the batch hooks receive them."""
        from nnlearn.train import epoch_loops  # needs Numba, an optional extra

        opt = self.optimizer
        eta, mu = float(opt.eta), float(getattr(opt, "mu", 0.0))
        start = 0
        arrays = (self.Ws, self.bs, self.vWs, self.vbs, self.acts, self.alphas, self.fused,
                  eta, mu, self.l2, self.l1, self.momentum, self.Xb, self.As, self.Ds)
        for stop in stops:
            if len(self.splits) > 2:
                epoch_loops.train_batches_split(X, Y, order, self.m, start, stop, *arrays,
                                                self.works, self.intss, self.splits, self.partial)
            else:
                epoch_loops.train_batches(X, Y, order, self.m, start, stop, *arrays,
                                          self.works[0], self.intss[0])
            opt.t += stop - start
            rows = min(self.m, order.shape[0] - (stop - 1) * self.m)
            after(stop, [self.As[-1][:rows]])
            start = stop
