r"""From a resolved experiment config (:mod:`nnlearn.experiments.config`) to data, a network and a Trainer.

``load_data(cfg)`` → ``(train, validation, test)``; ``build_network(cfg, input_shape,
n_classes)`` → :class:`~nnlearn.nn.network.Network`; ``trainer_options(cfg)`` → the
keyword arguments of :class:`~nnlearn.train.trainer.Trainer`. ``describe(cfg)`` is a
one-line summary for logs.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Callable, Sequence

from nnlearn.errors import ConfigError, DataError

MONITOR = ("training_cost", "training_accuracy", "evaluation_cost", "evaluation_accuracy")
"""What a CLI run records per epoch: the four curves of the book's overfitting figures."""


def needs_images(cfg: dict[str, Any]) -> bool:
    """Whether the network takes (C, H, W) images rather than flat vectors."""
    layers = cfg["model"].get("layers")
    return bool(layers) and layers[0]["type"] not in ("Dense",)


def load_data(cfg: dict[str, Any]):
    """``(train, validation, test)`` pairs ``(X, y)`` as the config's ``[data]`` table says.

    ``validation`` is ``None`` when ``data.validation_size`` is 0. ``data.expand =
    "shifts"`` appends the four one-pixel shifts of every training image (after
    ``train_size`` is applied).
    """
    from nnlearn.data import augment
    from nnlearn import data as datasets

    data_cfg = cfg["data"]
    source = data_cfg["source"]
    folder = datasets.mnist_path() if source == "mnist" else source
    data = datasets.load_idx_dataset(folder, validation_size=data_cfg["validation_size"],
                                     dtype=cfg["model"]["dtype"], flatten=not needs_images(cfg),
                                     train_size=data_cfg.get("train_size"))
    train = data.train
    if data_cfg["expand"] == "shifts":
        shape = None if train[0].ndim > 2 else _square_image(train[0].shape[1])
        train = augment.expand_shifts(*train, image_shape=shape)
    return train, data.validation, data.test


def _square_image(n: int) -> tuple[int, int]:
    side = math.isqrt(n)
    if side * side != n:
        raise DataError(f"data.expand = 'shifts' needs square images; these have {n} pixels")
    return (side, side)


def n_classes(*splits) -> int:
    """Number of classes: one more than the largest label in any of the splits."""
    return int(max(int(s[1].max()) for s in splits if s is not None)) + 1


def build_network(cfg: dict[str, Any], input_shape: Sequence[int], classes: int,
                  examples: Sequence[int] = ()):
    """The network the ``[model]`` table describes, with ``training.seed``.

    Before any layer is built, the memory that training it needs (``examples``: the
    sizes of the training, validation and test sets, for their one-hot targets) is
    compared with the memory available (:func:`nnlearn.nn.memory.require_training`).
    """
    from nnlearn.nn import memory
    from nnlearn.nn.network import Network

    model = cfg["model"]
    seed = cfg["training"].get("seed")
    if model.get("layers") is None:
        sizes = [int(math.prod(input_shape)), *model["hidden"], classes]
        specs = memory.mlp_specs(sizes, cfg["regularization"]["dropout"])
        _require_memory(cfg, memory.plan_network(specs, sizes[:1]), classes, examples)
        net = Network.from_sizes(sizes, activation=model["activation"],
                                 output_activation=model.get("output_activation"),
                                 cost=model["cost"], weight_init=model["init"],
                                 bias_init=model["bias_init"], seed=seed, dtype=model["dtype"])
        p = cfg["regularization"]["dropout"]
        if p > 0:  # after every hidden activation: Dense, act, [Dropout], Dense, act, ...
            from nnlearn.nn.layers import Dropout
            layers = []
            for i, layer in enumerate(net.layers):
                layers.append(layer)
                if i % 2 == 1 and i < len(net.layers) - 1:
                    layers.append(Dropout(p))
            net = Network(layers, net.cost, seed=seed, dtype=model["dtype"],
                          input_shape=net.input_shape)
        return net
    layers = build_layers(model["layers"], tuple(input_shape), classes, model,
                          check=lambda plans: _require_memory(cfg, plans, classes, examples))
    return Network(layers, model["cost"], seed=seed, dtype=model["dtype"],
                   input_shape=tuple(input_shape))


def _require_memory(cfg: dict[str, Any], plans: list, classes: int,
                    examples: Sequence[int]) -> None:
    """:func:`nnlearn.nn.memory.require_training` with the options of ``cfg``."""
    from nnlearn.nn import memory
    from nnlearn.optim.optimizers import OPTIMIZERS

    t, reg = cfg["training"], cfg["regularization"]
    memory.require_training(plans, cfg["model"]["dtype"], mini_batch_size=t["mini_batch_size"],
                            optimizer_slots=len(OPTIMIZERS[cfg["optimizer"]["name"]].slots),
                            examples=examples, classes=classes,
                            weight_decay=reg["lmbda"] > 0 or reg["l1"] > 0,
                            early_stopping=t["early_stopping"] > 0,
                            augment=cfg["data"]["augment"] != "none")


@contextlib.contextmanager
def _named(key: str, kind: str):
    """Re-raise a layer's ``TypeError``/``ValueError`` as a ``ConfigError`` naming its table."""
    try:
        yield
    except (TypeError, ValueError) as exc:  # ConfigError and DataError are ValueErrors
        raise ConfigError(f"{key} ({kind}): {exc}") from None


def build_layers(specs: list[dict[str, Any]], input_shape: tuple[int, ...], classes: int,
                 model: dict[str, Any], check: Callable[[list], None] | None = None) -> list:
    """Layer objects from ``model.layers`` tables, inferring input widths along the way.

    ``Dense`` gets ``n_in`` from the previous output (and ``n_out`` = ``classes`` if it
    is the last Dense and omits it); ``Conv2D`` gets ``in_channels``. Both default to
    ``model.init`` / ``model.bias_init``. Errors name the layer: ``model.layers[2]``.
    Shapes are found from the layers' plans (:mod:`nnlearn.nn.memory`), and ``check`` is
    called with the plans before any layer is built.
    """
    from nnlearn.experiments.config import layer_types
    from nnlearn.nn import memory

    LAYER_TYPES = layer_types()
    last_dense = max((i for i, s in enumerate(specs) if s["type"] == "Dense"), default=-1)
    shape, planned, plans = input_shape, [], []
    for i, spec in enumerate(specs):
        key, kind = f"model.layers[{i}]", spec["type"]
        options = {k: v for k, v in spec.items() if k != "type"}
        if kind in ("Dense", "Conv2D"):
            options.setdefault("weight_init", model["init"])
            options.setdefault("bias_init", model["bias_init"])
        if kind == "Dense":
            if len(shape) != 1:
                raise ConfigError(f"{key}: Dense needs flat inputs but gets shape {shape}; "
                                  "add a {type = \"Flatten\"} layer before it")
            options.setdefault("n_in", shape[0])
            if i == last_dense:
                options.setdefault("n_out", classes)
        elif kind == "Conv2D" and len(shape) == 3:
            options.setdefault("in_channels", shape[0])
        with _named(key, kind):
            plans.append(memory.plan_layer(kind, options, shape))
        shape = plans[-1].output_shape
        planned.append((key, kind, options))
    if shape != (classes,):
        raise ConfigError(f"model.layers: the network's output shape is {shape}, but the data "
                          f"has {classes} classes; end with a Dense layer of {classes} units "
                          "and an activation")
    if check is not None:
        check(plans)
    layers = []
    for key, kind, options in planned:
        with _named(key, kind):
            layers.append(LAYER_TYPES[kind](**options))
    return layers


def trainer_options(cfg: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :class:`~nnlearn.train.trainer.Trainer` for ``cfg`` (no data, no hooks)."""
    from nnlearn.nn.regularizers import L1, L2
    from nnlearn.optim.schedules import get_schedule

    t, reg = cfg["training"], cfg["regularization"]
    opt = {k: v for k, v in cfg["optimizer"].items() if k != "name"}
    sched = {k: v for k, v in cfg["schedule"].items() if k != "name"}
    regs = [cls(reg[key]) for key, cls in (("lmbda", L2), ("l1", L1)) if reg[key] > 0]
    augment = None
    if cfg["data"]["augment"] == "random_shift":
        from nnlearn.data.augment import RandomShift
        augment = RandomShift(cfg["data"]["max_shift"])
    return {"epochs": t["epochs"], "mini_batch_size": t["mini_batch_size"], "eta": t["eta"],
            "augment": augment,
            "optimizer": cfg["optimizer"]["name"], "optimizer_options": opt,
            "schedule": get_schedule(cfg["schedule"]["name"], **sched),
            "regularizers": regs, "max_norm": reg["max_norm"] or None,
            "early_stopping": t["early_stopping"] or None, "threads": t["threads"]}


def describe(cfg: dict[str, Any], sizes: str | None = None) -> str:
    """One line: architecture, cost, optimiser, η, λ, epochs, seed."""
    m, t, r = cfg["model"], cfg["training"], cfg["regularization"]
    arch = sizes or (f"hidden {m['hidden']} {m['activation']}" if "hidden" in m
                     else " → ".join(s["type"] for s in m["layers"]))
    extras = [f"{k} {r[k]:g}" for k in ("lmbda", "l1", "dropout", "max_norm") if r[k]]
    if cfg["schedule"]["name"] != "constant":
        extras.append(f"schedule {cfg['schedule']['name']}")
    if t["early_stopping"]:
        extras.append(f"early stopping {t['early_stopping']}")
    return (f"network {arch}, cost {m['cost']}, init {m['init']}, {cfg['optimizer']['name']} "
            f"eta {t['eta']:g}, mini-batch {t['mini_batch_size']}, {t['epochs']} epochs"
            + "".join(f", {e}" for e in extras) + f", seed {t.get('seed')}, {m['dtype']}")
