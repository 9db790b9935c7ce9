r"""The layer interface that every layer of nnlearn implements.

Notation (batch-first, one row per example)::

    X  (N, D_in)   input of the layer for a minibatch of N examples
    Y  (N, D_out)  output of the layer
    dY (N, D_out)  ∂C/∂Y, the upstream gradient, arriving in ``backward``
    dX (N, D_in)   ∂C/∂X, returned by ``backward``

The book writes activations as column vectors and weights as ``w`` of shape
``(D_out, D_in)``; nnlearn stores rows, so the book's ``w`` is our ``W.T`` and the
book's ``w a + b`` is our ``X @ W + b``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Sequence

from nnlearn import backend, defaults
from nnlearn.checks import float_dtype


@dataclass(frozen=True)
class LayerPlan:
    """What one layer needs, per example unless said otherwise (:mod:`nnlearn.nn.memory`
    adds the plans up into a network's memory)."""

    kind: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int = 0
    """Trainable values (the gradients have as many), for the whole layer."""
    buffers: int = 0
    """Non-trainable saved values (BatchNorm's running statistics), for the whole layer."""
    work: int = 0
    """Values of the largest work array of a forward pass, per example."""
    largest_param: int = 0
    """Values of the largest single parameter array (drawn in float64 when built)."""

    @property
    def output_values(self) -> int:
        return math.prod(self.output_shape)


def window_work(window: int, output_shape: Sequence[int]) -> int:
    """Values of the column matrix (or window stack) that gathers ``window`` input values
    for each of the ``output_shape[1:]`` positions: ``window·OH·OW`` per example."""
    return window * math.prod(output_shape[1:])


class Layer:
    r"""Base class: a differentiable map with explicit ``forward`` and ``backward``.

    Attributes:
        params:  trainable arrays by name (``"W"``, ``"b"``, ...).
        grads:   ∂C/∂param for the last minibatch, same keys and shapes as ``params``.
        buffers: non-trainable arrays saved with the model (e.g. running statistics).
        decay_keys: names of the params that weight regularisation applies to
            (weights, never biases).

    ``forward(X, training)`` caches only what ``backward`` needs; ``backward(dY)``
    writes the parameter gradients of that same minibatch into ``grads``
    (overwriting, not accumulating) and returns ``dX``. ``need_dx=False`` lets the
    first layer of a network skip computing a gradient nobody uses.
    """

    decay_keys: ClassVar[tuple[str, ...]] = ()
    per_example: ClassVar[bool] = False
    """True when, in training, each example's output depends only on that example and
    the params (no random draws, no statistics over the batch, no buffers updated), so
    that a minibatch may be cut into parts computed separately (:mod:`nnlearn.train.parallel`)."""
    split_statistics: ClassVar[bool] = False
    """True for a layer that is not ``per_example`` only because of statistics over the
    batch, and that can run on the parts of a split minibatch when they exchange their sums
    (``nnlearn.train.parallel.PartSums``, set as ``layer.part_sums`` while a split runs):
    batch norm. Such a layer does not stop a minibatch from being split."""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}
        self.grads: dict[str, Any] = {}
        self.buffers: dict[str, Any] = {}

    def initialize(self, rng, dtype: str = defaults.DTYPE) -> None:
        """(Re)draw the parameters from ``rng`` in ``dtype``; parameter-free layers
        only cast their buffers."""
        self.astype(dtype)

    # -- the two passes -------------------------------------------------------
    def forward(self, X, training: bool = False):
        raise NotImplementedError

    def backward(self, dY, need_dx: bool = True):
        raise NotImplementedError

    def __call__(self, X, training: bool = False):
        return self.forward(X, training)

    # -- shapes and serialisation --------------------------------------------
    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one example's output given one example's input shape.

        Raises ``ValueError`` when the layer cannot take that input.
        """
        return input_shape

    def config(self) -> dict[str, Any]:
        """Constructor arguments as JSON-compatible values (for ``save``/``load``)."""
        return {}

    @classmethod
    def plan(cls, config: dict[str, Any], input_shape: tuple[int, ...]) -> LayerPlan:
        """The :class:`LayerPlan` of a layer built from ``config`` (its constructor
        arguments) taking one example of ``input_shape``, for the memory check made before
        a network is built. A layer with parameters overrides this to compute the plan from
        ``config`` alone (so that a huge layer is measured, not allocated); the default
        builds the layer, which for a parameter-free layer allocates nothing, and measures
        it. Raises the constructor's errors for bad arguments, ``DataError`` for an input
        the layer cannot take."""
        return cls(**config).measure(input_shape)

    def measure(self, input_shape: tuple[int, ...], work: int = 0) -> LayerPlan:
        """The :class:`LayerPlan` of this built layer, from its arrays."""
        shape = tuple(int(d) for d in input_shape)
        sizes = [int(v.size) for v in self.params.values()]
        return LayerPlan(type(self).__name__, shape,
                         tuple(int(d) for d in self.output_shape(shape)), params=sum(sizes),
                         buffers=sum(int(v.size) for v in self.buffers.values()), work=work,
                         largest_param=max(sizes, default=0))

    def astype(self, dtype) -> "Layer":
        """Cast params, grads and buffers to ``dtype`` (float32 or float64) in place; returns ``self``."""
        dtype = float_dtype(dtype)
        for store in (self.params, self.grads, self.buffers):
            for key, value in store.items():
                store[key] = value.astype(dtype, copy=False)
        return self

    def replica(self) -> "Layer":
        """A copy that shares this layer's ``params`` and ``buffers`` (the very arrays)
        and its ``rng``, but has its own ``grads``, caches and work arrays: one per
        thread of :mod:`nnlearn.train.parallel`."""
        shared: dict[int, Any] = {}
        for store in (self.params, self.buffers):
            shared[id(store)] = store
            shared.update((id(value), value) for value in store.values())
        rng = getattr(self, "rng", None)
        if rng is not None:
            shared[id(rng)] = rng
        return copy.deepcopy(self, shared)

    def _allocate_grads(self) -> None:
        xp = backend.xp
        self.grads = {k: xp.zeros_like(v) for k, v in self.params.items()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


LAYER_TYPES: dict[str, type[Layer]] = {}
"""Registry of layer classes by name, used by ``load`` to rebuild a network."""


def register_layer(cls: type[Layer]) -> type[Layer]:
    """Class decorator adding a layer type to :data:`LAYER_TYPES`."""
    LAYER_TYPES[cls.__name__] = cls
    return cls
