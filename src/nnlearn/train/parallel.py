r"""One minibatch's gradient computed on several CPU threads (data parallelism).

The minibatch of m examples is cut into k contiguous parts of mᵢ examples. Part i
runs ``forward`` and ``backward`` on its own *replica* of the network (the same
parameter arrays; its own gradients, caches and work arrays) in its own thread.
Every cost is a mean over the minibatch, so the minibatch gradient is the
example-weighted mean of the parts' gradients::

    ∂C/∂w = Σᵢ (mᵢ / m) ∂Cᵢ/∂w          Cᵢ = the mean cost over part i

This is the one-thread gradient up to float rounding (the sums run in another
order), provided every layer maps each example on its own (``Layer.per_example``:
no dropout masks, no batch statistics) or is batch norm (``Layer.split_statistics``):
its parts exchange their per-channel sums (:class:`PartSums`, a barrier between the
threads), so that every part normalises with the statistics of the whole minibatch,
as one thread would. NumPy releases the GIL inside its array
loops and BLAS calls, so the parts really run on separate cores; meanwhile BLAS is
held to one thread (with threadpoolctl), so that k threads use k cores rather
than k × the BLAS threads.

It pays when a minibatch carries a lot of arithmetic (a convnet at mini-batch
64: each thread then also runs its share of the memory-bound passes — im2col,
pooling, ReLU — that NumPy would otherwise run on one core). For small networks
or minibatches, handing work to a thread costs more than it saves, so
``threads="auto"`` (the default of ``fit``) splits only above
:data:`MIN_MACS_PER_THREAD` multiply-adds per thread.

On one thread, a minibatch whose products are all small (mini-batch 10 of the book's
networks) runs with BLAS held to one thread too (:func:`plan_blas_threads`): two BLAS
threads bring little on such products and collapse when another job holds a core.

Results are bit-reproducible for a given number of threads; a different number
of threads (or 1) changes the last bits of the gradients, hence of a long run.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

from nnlearn import backend
from nnlearn.errors import ConfigError, install_hint

MIN_MACS_PER_THREAD = 20_000_000
"""``threads="auto"`` gives each thread at least this many multiply-adds of the forward
pass (about 3× as many in forward + backward). Measured on the chapter-6 convnet (d)
with 2 cores: splitting starts to pay between mini-batch 16 (26 M multiply-adds)
and 32."""


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def layer_macs(network) -> list[int]:
    """Multiply-adds of one example's forward pass through each layer: a weight
    array's size times the number of output positions it is applied at (1 for
    ``Dense``; OH·OW for ``Conv2D``); 0 for layers without weights ``W``."""
    shape, counts = network.input_shape, []
    for layer in network.layers:
        shape = layer.output_shape(shape)
        weights = layer.params.get("W")
        counts.append(0 if weights is None else int(weights.size) * math.prod(shape[1:]))
    return counts


def forward_macs(network) -> int:
    """Multiply-adds of one example's forward pass through the weight layers
    (the sum of :func:`layer_macs`)."""
    return sum(layer_macs(network))


MIN_MACS_FOR_BLAS_THREADS = 16_000_000
"""A minibatch whose largest product has fewer multiply-adds than this trains with one
BLAS thread (:func:`plan_blas_threads`); it covers mini-batch 10 of the book's networks
(convnet (d): 12.8 M). Measured on 2 cores shared with other developers' jobs, one
epoch, alternating rounds, medians: at load average 4–8, [784,100,10] at mini-batch 10
took 0.87 s with one BLAS thread and 24.8 s with two, convnet (d) at mini-batch 10
(10,000 images) 3.6 s and 30.4 s (OpenBLAS threads wait for each other on every small
product, and collapse when other jobs want the cores); at load 2.5, or with one or two
processes spinning, the two were level on [784,100,10] and two threads 7–13% faster on
the convnet. One thread trades that for never collapsing; ``python
benchmarks/blas_threads.py`` measures the products one by one (re-check on a quiet machine)."""


def plan_blas_threads(network, mini_batch_size: int) -> int | None:
    """BLAS threads for a minibatch computed on one thread: 1 when even its largest
    product (a layer's multiply-adds × the minibatch) is below
    :data:`MIN_MACS_FOR_BLAS_THREADS`, else ``None`` (BLAS keeps its own setting)."""
    largest = max(layer_macs(network), default=0) * mini_batch_size
    return 1 if largest < MIN_MACS_FOR_BLAS_THREADS else None


def blas_threads(count: int | None):
    """Context holding BLAS to ``count`` threads (nothing when ``count`` is None or
    threadpoolctl is missing)."""
    controller = _blas_controller() if count is not None else None
    if controller is None:
        return contextlib.nullcontext()
    return controller.limit(limits=count, user_api="blas")


def _blas_controller():
    """threadpoolctl's controller of the libraries loaded now, or None when threadpoolctl is
    not installed. Making one inspects every loaded library (about a millisecond), so it is
    kept until a module is imported: an import may load another BLAS (SciPy's, PyTorch's),
    which an older controller would not hold."""
    loaded = len(sys.modules)
    if _CONTROLLER[0] != loaded:
        try:
            from threadpoolctl import ThreadpoolController  # an optional extra
        except ImportError:
            return None
        _CONTROLLER[:] = [loaded, ThreadpoolController()]
    return _CONTROLLER[1]


_CONTROLLER: list[Any] = [-1, None]
"""``[len(sys.modules) when made, controller]`` of :func:`_blas_controller`."""


def serial_layers(network) -> list[str]:
    """Names of the layers that stop a minibatch from being split (neither ``per_example``
    nor ``split_statistics``)."""
    return [f"{i} ({type(layer).__name__})" for i, layer in enumerate(network.layers)
            if not layer.per_example and not layer.split_statistics]


def plan_threads(network, mini_batch_size: int, threads: int | str = "auto") -> int:
    """How many threads share each minibatch: ``threads`` itself when it is an int
    (checked), else (``"auto"``) 1 or as many as the cores and the arithmetic of a
    minibatch justify (see :data:`MIN_MACS_PER_THREAD`).

    An explicit ``threads > 1`` raises :class:`~nnlearn.errors.ConfigError` when the
    network cannot be split (dropout), the backend is not NumPy, or
    threadpoolctl is missing; ``"auto"`` quietly falls back to 1 in those cases.
    """
    if threads == "auto":
        if serial_layers(network) or backend.xp.__name__ != "numpy":
            return 1
        by_work = (mini_batch_size * forward_macs(network)) // MIN_MACS_PER_THREAD
        count = max(1, min(available_cores(), by_work, mini_batch_size))
        if count > 1 and not _controls_blas():
            return 1
        return count
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"threads must be 'auto' or a positive integer, got {threads!r}")
    if threads == 1:
        return 1
    blockers = serial_layers(network)
    if blockers:
        which = f"layers {', '.join(blockers)} do" if len(blockers) > 1 else f"layer {blockers[0]} does"
        raise ConfigError(f"threads={threads} needs every layer to treat examples separately, "
                          f"but {which} not (dropout masks are drawn over the whole "
                          "minibatch); use threads=1")
    if backend.xp.__name__ != "numpy":
        raise ConfigError(f"threads={threads} is for the NumPy backend (CPU); the "
                          f"{backend.xp.__name__} backend runs on its own device: use threads=1")
    if _blas_controller() is None:
        raise ConfigError(f"threads={threads} needs threadpoolctl (to hold BLAS to one thread "
                          f"per part): {install_hint('threads')}, or use threads=1")
    return threads


def _controls_blas() -> bool:
    controller = _blas_controller()
    return controller is not None and bool(controller.select(user_api="blas").lib_controllers)


def _forward_backward(network, X, Y):
    """One part's share of :meth:`~nnlearn.train.trainer.Trainer.train_step`: forward, δᴸ,
    backpropagate; fills ``network``'s grads and returns its outputs."""
    A = network.forward(X, True)
    network.backpropagate(network.output_error(A, Y))
    return A


class PartSums:
    r"""Per-feature sums exchanged by the k parts of a split minibatch (batch norm's statistics).

    Part ``i`` (of ``mᵢ`` examples, weight ``wᵢ = mᵢ/m``) calls :meth:`total` with its own
    sum and gets ``Σᵢ`` of every part's, added in part order, so that every part sees the
    same bits; a barrier makes each part wait for the others. When one part fails,
    :meth:`abort` breaks the barrier so that the others stop waiting (they raise
    ``threading.BrokenBarrierError``).
    """

    def __init__(self) -> None:
        self.weights: list[float] = []
        self._slots: list[Any] = []
        self._barrier = threading.Barrier(1)

    def start(self, weights: list[float]) -> None:
        """Before a minibatch: its parts' weights ``mᵢ/m`` (their count may change)."""
        if len(weights) != self._barrier.parties or self._barrier.broken:
            self._barrier = threading.Barrier(len(weights))
        self.weights = weights
        self._slots = [None] * len(weights)

    def total(self, part: int, value):
        """``Σ`` over the parts of each one's ``value`` (same shape in all), in part order."""
        self._slots[part] = value
        self._barrier.wait()
        result = sum(self._slots[1:], self._slots[0].copy())
        self._barrier.wait()  # nobody overwrites a slot before every part has read them all
        return result

    def abort(self) -> None:
        self._barrier.abort()


class ThreadedGradient:
    """Callable ``(X, Y) → outputs``: fills ``network``'s grads with the minibatch
    gradient computed by ``threads`` threads (see the module docstring); returns the
    parts' output arrays. Use it as a context manager: entering starts the worker
    threads and holds BLAS to one thread; leaving undoes both.

    Example::

        with ThreadedGradient(net, 2) as gradient:
            for X, Y in batches:
                gradient(X, Y)
                optimizer.step(net.parameters())
    """

    def __init__(self, network, threads: int):
        if threads < 2:
            raise ConfigError(f"ThreadedGradient needs at least 2 threads, got {threads}")
        self.network = network
        self.threads = threads
        self.replicas = [network] + [_replica(network) for _ in range(threads - 1)]
        self._sums = [PartSums() for layer in network.layers if layer.split_statistics]
        """One exchange per batch-norm layer, shared by that layer's replicas."""
        self._pool: ThreadPoolExecutor | None = None
        self._stack = ExitStack()
        self._errstate: dict[str, str] = {}

    def __enter__(self) -> "ThreadedGradient":
        self._errstate = backend.xp.geterr()  # thread-local in NumPy: handed to the workers
        self._stack.enter_context(blas_threads(1))
        self._pool = self._stack.enter_context(
            ThreadPoolExecutor(self.threads - 1, thread_name_prefix="nnlearn-gradient"))
        self._share_sums(True)
        return self

    def __exit__(self, *exc_info) -> None:
        self._share_sums(False)
        self._pool = None
        self._stack.close()

    def _share_sums(self, on: bool) -> None:
        """Give (or take back) each replica's batch-norm layers their exchange and part index."""
        for part, replica in enumerate(self.replicas):
            layers = [layer for layer in replica.layers if layer.split_statistics]
            for layer, sums in zip(layers, self._sums):
                layer.part_sums = (sums, part) if on else None

    def __call__(self, X, Y) -> list[Any]:
        if self._pool is None:
            raise RuntimeError("use ThreadedGradient inside a 'with' block")
        m = X.shape[0]
        k = min(self.threads, m)
        cut = [m * i // k for i in range(k + 1)]
        parts = [(X[cut[i]:cut[i + 1]], Y[cut[i]:cut[i + 1]]) for i in range(k)]
        for sums in self._sums:
            sums.start([(cut[i + 1] - cut[i]) / m for i in range(k)])
        futures = [self._pool.submit(self._worker, self.replicas[i], *parts[i])
                   for i in range(1, k)]
        try:
            outputs = [_forward_backward(self.network, *parts[0])]
        except BaseException as error:
            self._abort()
            # a worker's own error explains more than the broken barrier that stopped this part
            first = next((f.exception() for f in futures if f.exception() is not None
                          and not isinstance(f.exception(), threading.BrokenBarrierError)), None)
            if first is not None and isinstance(error, threading.BrokenBarrierError):
                raise first from None
            raise
        outputs += [future.result() for future in futures]  # waits for all; re-raises
        grads = [[g for _, g in replica.parameters()] for replica in self.replicas[:k]]
        for j, total in enumerate(grads[0]):  # Σᵢ (mᵢ/m) ∂Cᵢ/∂w, into the network's grads
            total *= (cut[1] - cut[0]) / m
            for i in range(1, k):
                part = grads[i][j]
                part *= (cut[i + 1] - cut[i]) / m
                total += part
        return outputs


    def _worker(self, network, X, Y):
        with backend.xp.errstate(**self._errstate):
            try:
                return _forward_backward(network, X, Y)
            except BaseException:
                self._abort()  # the other parts may wait at a barrier for this one
                raise

    def _abort(self) -> None:
        for sums in self._sums:
            sums.abort()


def _replica(network):
    """A network object over replicas of ``network``'s layers (shared params)."""
    clone = object.__new__(type(network))
    clone.__dict__.update(network.__dict__)
    clone.layers = [layer.replica() for layer in network.layers]
    return clone
