r"""How much memory a network will need, computed from its layer specs before any layer exists.

A *spec* is what a model file stores per layer, ``{"type": "Conv2D", "config": {...}}``
(the constructor arguments, ``n_in`` and ``in_channels`` included). :func:`plan_network`
walks the specs with one example's shape and returns, per layer, a
:class:`~nnlearn.nn.layers.base.LayerPlan`: the output shape, the number of parameter and
buffer values, and the largest work array per example (the im2col columns of a
convolution, the window stack of a max-pool). Each layer class says this itself
(:meth:`~nnlearn.nn.layers.base.Layer.plan`): layers with parameters (``Dense``,
``Conv2D``, ``BatchNorm``) compute it from the spec without being constructed, so
``--hidden 100000000`` is measured in microseconds, not allocated; parameter-free layers
are built (they allocate nothing), so their argument checks are theirs.

Structural limits that hold for configs and model files alike, whatever the machine:

* at most :data:`MAX_LAYERS` layers (:func:`plan_network`);
* at most :data:`MAX_EXAMPLE_VALUES` values in any one array per example (input,
  activation or work array), so that one example can never ask for gigabytes
  (:func:`check_limits`; a model file is checked before anything is built, a
  config after the memory check, so that ``--hidden 100000000`` gets its figure);
* and, in the layers themselves, Conv2D padding of at most ``kernel_size − 1`` and
  windows of at most ``MAX_WINDOW_PIXELS`` (``nnlearn.nn.layers.windows``).

From the plans, with ``s`` the bytes per value (4 for float32), ``P`` the parameter
values, ``B`` the buffer values, ``m`` the mini-batch size and ``k`` the optimiser's
state arrays per parameter (0 for SGD, 1 for momentum, 2 for Adam)::

    parameters and buffers     (P + B)·s
    gradients                  P·s
    optimiser state            k·P·s
    checkpoint copies          2·(P + B + k·P)·s      (the kept epoch-end state, and the next)
    training activations       m·(input + 3·Σ outputs + 3·Σ work)·s
    inference batch            b·(input + Σ outputs + Σ work)·s,  b ≤ 1000 (see below)
    one-hot targets            K·(N_train + N_val + N_test + max N)·s
    initial draw               8·(largest parameter array), float64, while building

The peak is the larger of building (parameters, gradients, initial draw) and training
(all the others and the first two).
and :func:`inference_batch_size` shrinks the batch of ``predict``/``evaluate`` from
1000 until it needs at most :data:`INFERENCE_BATCH_BYTES`. The figures are lower
bounds of the peak within a small factor (NumPy temporaries are not counted); they are
compared with :func:`nnlearn.system.memory.available_memory` by :func:`require_training` and
:func:`require_inference`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from nnlearn.checks import float_dtype
from nnlearn.errors import ConfigError
from nnlearn.nn.layers import LAYER_TYPES  # the package imports every layer family
from nnlearn.nn.layers.base import Layer, LayerPlan
from nnlearn.system.memory import require_memory

MAX_LAYERS = 1000
"""Most layers in a network (the book's deepest has 9 including activations)."""

MAX_EXAMPLE_VALUES = 2**24
"""Most values (16,777,216, 64 MiB in float32) in any one array of one example: its
input, a layer's output, or a layer's work array."""

INFERENCE_BATCH_BYTES = 128 * 2**20
"""Memory one inference batch may use; larger examples get smaller batches. At 512 MiB
the per-epoch evaluation of convnet (d) (375 kB an example, batches of 1000) added
409 MB to a training run's peak, more than the training itself; at 128 MiB its batches
hold 357 examples and the evaluation costs the same time."""

_PARAMETER_FIX = ("use a smaller network: fewer hidden units (e.g. --hidden 100) or smaller "
                  "layers in model.layers")
_FIXES = {"training activations": "use a smaller --mini-batch-size or smaller layers",
          "inference batch": "use smaller layers",
          "one-hot targets": "the labels name too many classes: check the label files for a "
                             "stray label, or train on fewer examples (--train-size)",
          "augmented copy": "train on fewer examples (--train-size) or drop data.augment"}


def plan_layer(kind: str, config: dict[str, Any], input_shape: Sequence[int]) -> LayerPlan:
    """The :class:`~nnlearn.nn.layers.base.LayerPlan` of one layer spec taking one example
    of ``input_shape``: the layer class's own :meth:`~nnlearn.nn.layers.base.Layer.plan`
    (computed from the spec, never allocated, for a layer with parameters).

    Raises ``ConfigError``/``DataError`` (the layer's own checks) when the arguments are
    invalid or the layer cannot take that input, ``TypeError`` for unknown arguments.
    """
    cls = LAYER_TYPES.get(kind)
    if cls is None:
        raise ConfigError(f"unknown type {kind!r}; known types: {', '.join(sorted(LAYER_TYPES))}")
    return cls.plan(config, tuple(int(d) for d in input_shape))


def layer_plan(layer, input_shape: Sequence[int]) -> LayerPlan:
    """The :class:`~nnlearn.nn.layers.base.LayerPlan` of a built layer (registered or not):
    its class's plan from its config where the class computes one, else its arrays measured."""
    if getattr(type(layer).plan, "__func__", None) is not Layer.plan.__func__:
        return type(layer).plan(layer.config(), tuple(int(d) for d in input_shape))
    return layer.measure(input_shape)


def plan_network(specs: Sequence[dict[str, Any]], input_shape: Sequence[int]) -> list[LayerPlan]:
    """Plans of a list of layer specs (at most :data:`MAX_LAYERS`); errors name the layer
    (``layer 3 (Conv2D): ...``). See :func:`check_limits` for the size limits."""
    _check_layer_count(len(specs))
    shape = tuple(int(d) for d in input_shape)
    if not shape or min(shape) < 1:
        raise ConfigError(f"input shape {shape} must be non-empty with positive sizes")
    plans = []
    for i, spec in enumerate(specs):
        kind = spec.get("type") if isinstance(spec, dict) else None
        if not isinstance(kind, str) or not isinstance(spec.get("config", {}), dict):
            raise ConfigError(f"layer {i} is malformed: expected {{'type': name, 'config': "
                              f"{{...}}}}, got {spec!r}"[:300])
        try:
            plan = plan_layer(kind, spec.get("config", {}), shape)
        except ValueError as exc:  # ConfigError and DataError
            raise type(exc)(f"layer {i} ({kind}): {exc}") from None
        plans.append(plan)
        shape = plan.output_shape
    return plans


def check_limits(plans: Sequence[LayerPlan]) -> None:
    """``ConfigError`` if there are more than :data:`MAX_LAYERS` layers, or the input, an
    output or a work array of one example has more than :data:`MAX_EXAMPLE_VALUES` values."""
    _check_layer_count(len(plans))
    if plans and math.prod(plans[0].input_shape) > MAX_EXAMPLE_VALUES:
        _too_many(f"the input shape {plans[0].input_shape}", math.prod(plans[0].input_shape))
    for i, plan in enumerate(plans):
        for what, values in ((f"its output {plan.output_shape}", plan.output_values),
                             ("its work array", plan.work)):
            if values > MAX_EXAMPLE_VALUES:
                _too_many(f"layer {i} ({plan.kind}): {what}", values)


def _check_layer_count(n: int) -> None:
    if n > MAX_LAYERS:
        raise ConfigError(f"the network has {n:,} layers, more than the limit of {MAX_LAYERS} "
                          "(nnlearn.nn.memory.MAX_LAYERS)")


def _too_many(what: str, values: int) -> None:
    raise ConfigError(f"{what} has {values:,} values per example, more than the limit of "
                      f"{MAX_EXAMPLE_VALUES:,} (nnlearn.nn.memory.MAX_EXAMPLE_VALUES); use "
                      "smaller images or layers")


def network_plans(network) -> list[LayerPlan]:
    """Plans of a built network, from its layers."""
    plans, shape = [], tuple(network.input_shape)
    for layer in network.layers:
        plans.append(layer_plan(layer, shape))
        shape = plans[-1].output_shape
    return plans


def mlp_specs(sizes: Sequence[int], dropout: float = 0.0) -> list[dict[str, Any]]:
    """Specs of the MLP ``Network.from_sizes(sizes)`` builds (activation types do not
    change the sizes, so every activation is planned as a ``Sigmoid``), with a
    ``Dropout`` after each hidden activation when ``dropout > 0``."""
    specs: list[dict[str, Any]] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        specs += [{"type": "Dense", "config": {"n_in": n_in, "n_out": n_out}},
                  {"type": "Sigmoid", "config": {}}]
        if dropout > 0 and i < len(sizes) - 2:
            specs.append({"type": "Dropout", "config": {"p": dropout}})
    return specs


def inference_example_values(plans: Sequence[LayerPlan]) -> int:
    """Values one example keeps alive in an inference forward pass: its input, and every
    layer's output and work array (layers keep their inputs and columns for ``backward``)."""
    if not plans:
        return 0
    return math.prod(plans[0].input_shape) + sum(p.output_values + p.work for p in plans)


def batch_for(per_example_bytes: int, batch_size: int = 1000) -> int:
    """``batch_size`` reduced so that a batch needs at most :data:`INFERENCE_BATCH_BYTES`
    (at least 1)."""
    return max(1, min(batch_size, INFERENCE_BATCH_BYTES // max(per_example_bytes, 1)))


def inference_batch_size(network, batch_size: int) -> int:
    """The inference batch of ``network``: :func:`batch_for` its per-example bytes.
    Unchanged (1000) for the book's networks, whose examples need a few hundred kB."""
    itemsize = 8 if network.dtype == "float64" else 4
    return batch_for(inference_example_values(network_plans(network)) * itemsize, batch_size)


def _totals(plans: Sequence[LayerPlan]) -> tuple[int, int, int]:
    return (sum(p.params for p in plans), sum(p.buffers for p in plans),
            max((p.largest_param for p in plans), default=0))


def training_bytes(plans: Sequence[LayerPlan], dtype: str, *, mini_batch_size: int,
                   optimizer_slots: int = 0, examples: Sequence[int] = (), classes: int = 0,
                   weight_decay: bool = False, early_stopping: bool = False,
                   augment: bool = False, checkpoint_copies: int = 2) -> dict[str, int]:
    """The parts of the peak memory of a training run, in bytes (module docstring): those of
    building the network (parameters, gradients and the initial draw) or of training,
    whichever needs more.

    ``examples``: the sizes of the training, validation and test sets (0 for none);
    ``classes``: the width of their one-hot targets.
    """
    s = 8 if float_dtype(dtype) == "float64" else 4
    P, B, largest = _totals(plans)
    inputs = math.prod(plans[0].input_shape) if plans else 0
    outputs = sum(p.output_values for p in plans)
    work = sum(p.work for p in plans)
    per_example = inference_example_values(plans)
    batch = batch_for(per_example * s)
    n = [int(k) for k in examples if k]
    kept = {"parameters": (P + B) * s, "gradients": P * s}
    building = {**kept, "initial draw": 8 * largest}  # the float64 draw of the largest array
    training = {**kept, "optimiser state": optimizer_slots * P * s,
                "checkpoint copies": checkpoint_copies * (P + B + optimizer_slots * P) * s,
                "early-stopping copy": (P + B) * s if early_stopping else 0,
                "regulariser scratch": P * s if weight_decay else 0,
                "one-hot targets": classes * (sum(n) + max(n, default=0)) * s,
                "augmented copy": n[0] * inputs * s if augment and n else 0,
                "training activations": mini_batch_size * (inputs + 3 * outputs + 3 * work) * s,
                "inference batch": batch * per_example * s}
    return max(building, training, key=lambda parts: sum(parts.values()))


def inference_bytes(plans: Sequence[LayerPlan], dtype: str, *, examples: int = 0,
                    classes: int = 0) -> dict[str, int]:
    """The parts of the memory ``evaluate`` needs beyond the loaded data, in bytes."""
    s = 8 if float_dtype(dtype) == "float64" else 4
    per_example = inference_example_values(plans)
    batch = batch_for(per_example * s)
    return {"inference batch": batch * per_example * s,
            "one-hot targets": 2 * examples * classes * s}


def _require(parts: dict[str, int], what: str) -> None:
    biggest = max(parts, key=parts.get)
    require_memory(sum(parts.values()), what, _FIXES.get(biggest, _PARAMETER_FIX), parts)


def require_training(plans: Sequence[LayerPlan], dtype: str, **options: Any) -> dict[str, int]:
    """:func:`training_bytes`, refused with a ``ResourceError`` (the figure, the parts and the
    fix for the largest) when more than the available memory, then
    :func:`check_limits`; returns the parts."""
    parts = training_bytes(plans, dtype, **options)
    _require(parts, "training this network")
    check_limits(plans)
    return parts


def require_inference(plans: Sequence[LayerPlan], dtype: str, **options: Any) -> dict[str, int]:
    """:func:`inference_bytes`, refused like :func:`require_training`; returns the parts."""
    parts = inference_bytes(plans, dtype, **options)
    _require(parts, "evaluating this network")
    return parts
