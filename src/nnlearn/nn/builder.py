r"""The one place where a model description becomes layers and a ``Network``.

A model is described either by layer widths (an MLP: ``sizes`` or ``hidden``, with
an activation, a cost and initialisers) or by a list of layer tables
(``[{"type": "Conv2D", "out_channels": 20, "kernel_size": 5}, ...]``, as in an
experiment's ``[[model.layers]]``). Everything that builds networks — the
``nnlearn train`` command, the book reproductions, hyper-parameter search, the
scikit-learn estimators, the plots and ``Network.from_sizes`` — comes through here, so
the defaults (:mod:`nnlearn.defaults`) and the rule for the output layer are applied
the same way everywhere.

The output layer follows the cost (:func:`output_activation_for`): sigmoid for the
cross-entropy, softmax for the log-likelihood, linear scores for the hinge loss; the
quadratic cost keeps the book's sigmoid outputs under sigmoid hidden layers and is an
L2 regression (linear outputs) under any other. An explicit ``output_activation``
that does not fit the cost is refused (:meth:`nnlearn.nn.costs.Cost.check_output`).
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Callable, Mapping, Sequence

from nnlearn import defaults
from nnlearn.errors import ConfigError
from nnlearn.nn import memory
from nnlearn.nn.costs import Cost, get_cost
from nnlearn.nn.layers import LAYER_TYPES, Dense, Dropout, Layer, get_activation


def output_activation_for(cost: str | Cost, activation: str) -> str:
    """The output activation a network with hidden ``activation`` gets under ``cost``."""
    cost = get_cost(cost)
    if cost.default_output is not None:
        return cost.default_output
    return "sigmoid" if activation == "sigmoid" else "linear"


def mlp_layers(sizes: Sequence[int], *, activation: str | Sequence[str] = defaults.ACTIVATION,
               output_activation: str | None = None, cost: str | Cost = defaults.COST,
               weight_init: str = defaults.WEIGHT_INIT, bias_init: str = defaults.BIAS_INIT,
               dropout: float = 0.0) -> list[Layer]:
    """``Dense`` layers of the given widths, each followed by its activation (one name for
    every hidden layer, or a list with one per hidden layer), and by a ``Dropout(dropout)``
    after every hidden activation when ``dropout > 0``."""
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ConfigError(f"sizes needs at least an input and an output width, got {sizes!r}")
    hidden = [activation] * (len(sizes) - 2) if isinstance(activation, str) else list(activation)
    if len(hidden) != len(sizes) - 2:
        raise ConfigError(f"activation lists {len(hidden)} names for {len(sizes) - 2} hidden "
                          "layers; give one name, or one per hidden layer")
    for name in hidden or ([activation] if isinstance(activation, str) else []):  # even unused
        get_activation(name)
    if output_activation is None:
        output_activation = output_activation_for(cost, hidden[-1] if hidden else activation)
    layers: list[Layer] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        layers.append(Dense(n_in, n_out, weight_init=weight_init, bias_init=bias_init))
        layers.append(get_activation(output_activation if last else hidden[i]))
        if dropout and not last:
            layers.append(Dropout(dropout))
    return layers


def layers_from_specs(specs: Sequence[Mapping[str, Any]], input_shape: Sequence[int],
                      n_outputs: int, *, weight_init: str = defaults.WEIGHT_INIT,
                      bias_init: str = defaults.BIAS_INIT,
                      check: Callable[[list], None] | None = None) -> list[Layer]:
    """Layer objects from layer tables, inferring input widths along the way.

    ``Dense`` gets ``n_in`` from the previous output (and ``n_out = n_outputs`` if it
    is the last Dense and omits it); ``Conv2D`` gets ``in_channels``. Both default to
    ``weight_init`` / ``bias_init``. Errors name the layer: ``model.layers[2]``. The
    shapes are found from the layers' plans (:mod:`nnlearn.nn.memory`), and ``check`` is
    called with the plans before any layer is built.
    """
    last_dense = max((i for i, s in enumerate(specs) if s.get("type") == "Dense"), default=-1)
    shape, planned, plans = tuple(input_shape), [], []
    for i, spec in enumerate(specs):
        key, kind = f"model.layers[{i}]", spec.get("type")
        if kind not in LAYER_TYPES:
            raise ConfigError(f"{key}.type: unknown layer type {kind!r}; expected one of "
                              f"{', '.join(sorted(LAYER_TYPES))}")
        options = {k: v for k, v in spec.items() if k != "type"}
        if kind in ("Dense", "Conv2D"):
            options.setdefault("weight_init", weight_init)
            options.setdefault("bias_init", bias_init)
        if kind == "Dense":
            if len(shape) != 1:
                raise ConfigError(f"{key}: Dense needs flat inputs but gets shape {shape}; "
                                  "add a {type = \"Flatten\"} layer before it")
            options.setdefault("n_in", shape[0])
            if i == last_dense:
                options.setdefault("n_out", n_outputs)
        elif kind == "Conv2D" and len(shape) == 3:
            options.setdefault("in_channels", shape[0])
        with _named(key, kind):
            plans.append(memory.plan_layer(kind, options, shape))
        shape = plans[-1].output_shape
        planned.append((key, kind, options))
    if shape != (n_outputs,):
        raise ConfigError(f"model.layers: the network's output shape is {shape}, but the data "
                          f"has {n_outputs} classes; end with a Dense layer of {n_outputs} units "
                          "and an activation")
    if check is not None:
        check(plans)
    layers = []
    for key, kind, options in planned:
        with _named(key, kind):
            layers.append(LAYER_TYPES[kind](**options))
    return layers


@contextlib.contextmanager
def _named(key: str, kind: str):
    """Re-raise a layer's ``TypeError``/``ValueError`` as a ``ConfigError`` naming its table."""
    try:
        yield
    except (TypeError, ValueError) as exc:  # ConfigError and DataError are ValueErrors
        raise ConfigError(f"{key} ({kind}): {exc}") from None


def build_network(model: Mapping[str, Any], input_shape: Sequence[int], n_outputs: int, *,
                  seed: int | None = None, dropout: float = 0.0,
                  check: Callable[[list], None] | None = None):
    """The :class:`~nnlearn.nn.network.Network` that an experiment's ``[model]`` table describes.

    ``model`` holds ``hidden`` (an MLP's hidden widths) or ``layers`` (layer tables),
    and optionally ``activation``, ``output_activation``, ``cost``, ``label_smoothing``
    (of the log-likelihood), ``init``, ``bias_init`` and ``dtype`` (missing keys take
    :mod:`nnlearn.defaults`);
    ``dropout`` adds a ``Dropout`` after every hidden activation of an MLP.

    Before any layer is built, ``check`` is called with the layers' plans
    (:mod:`nnlearn.nn.memory`); by default :func:`nnlearn.nn.memory.require_training`
    for a mini-batch of 10 with SGD, so that a network too large for the memory is
    refused with the figure instead of failing half-way.
    """
    from nnlearn.nn.network import Network

    cost = get_cost(model.get("cost", defaults.COST), model.get("label_smoothing", 0.0))
    init = model.get("init", defaults.WEIGHT_INIT)
    bias_init = model.get("bias_init", defaults.BIAS_INIT)
    dtype = model.get("dtype", defaults.DTYPE)
    if check is None:
        def check(plans):
            memory.require_training(plans, dtype, mini_batch_size=defaults.MINI_BATCH_SIZE)
    if model.get("layers") is not None:
        layers = layers_from_specs(model["layers"], input_shape, n_outputs, weight_init=init,
                                   bias_init=bias_init, check=check)
    else:
        sizes = [int(math.prod(input_shape)), *model.get("hidden", defaults.HIDDEN), n_outputs]
        check(memory.plan_network(memory.mlp_specs(sizes, dropout), sizes[:1]))
        layers = mlp_layers(sizes, activation=model.get("activation", defaults.ACTIVATION),
                            output_activation=model.get("output_activation"), cost=cost,
                            weight_init=init, bias_init=bias_init, dropout=dropout)
    return Network(layers, cost, seed=seed, dtype=dtype, input_shape=tuple(input_shape))
