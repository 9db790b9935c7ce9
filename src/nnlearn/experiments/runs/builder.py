r"""From a resolved experiment config (:mod:`nnlearn.experiments.config.files`) to data, a
network and a Trainer: :func:`prepare`, the one function that assembles a run.

Every entry point calls :func:`prepare`: ``nnlearn train`` (:mod:`nnlearn.cli.train`),
each sweep trial (:func:`nnlearn.experiments.sweeps.trial.run_trial`) and the book's
preset reproductions (:func:`nnlearn.experiments.reproduce.common.build_preset`), so a
run gets the same data, class count (with the stray-label rule), memory check and
trainer options whichever way it was started. Its parts: ``load_data(cfg)`` →
``(train, validation, test)``; :func:`count_classes`; ``build_network(cfg, input_shape,
classes, examples)`` → :class:`~nnlearn.nn.network.Network` (memory checked first);
``trainer_options(cfg)`` → the keyword arguments of :class:`~nnlearn.train.trainer.Trainer`.
``describe(cfg)`` is a one-line summary for logs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

from nnlearn import data as datasets
from nnlearn.data.augment import RandomShift, expand_shifts
from nnlearn.data.labels import count_classes as count
from nnlearn.errors import DataError
from nnlearn.nn import builder, kernels, memory
from nnlearn.nn.regularizers import L1, L2
from nnlearn.optim.optimizers import OPTIMIZERS
from nnlearn.optim.schedules import get_schedule
from nnlearn.train.trainer import MONITORS


@dataclass
class Prepared:
    """A run assembled from a config, ready for :class:`~nnlearn.train.trainer.Trainer`."""

    train: tuple[Any, Any]
    validation: tuple[Any, Any] | None
    test: tuple[Any, Any]
    network: Any
    options: dict[str, Any]
    """``Trainer`` keyword arguments (:func:`trainer_options`) plus ``monitor``."""
    class_note: str | None = None
    """What the stray-label rule said about the labels, if anything (for the log)."""


def prepare(cfg: dict[str, Any]) -> Prepared:
    """Data, network and trainer options of a resolved config: load the splits, count the
    classes under ``data.num_classes`` and the stray-label rule, check the memory that
    training needs (with the sizes of all three splits), build the network. For a network
    on images, the compiled kernels of its layers (:mod:`nnlearn.nn.kernels`) are loaded
    now, from Numba's cache, so that this one-off load (about half a second per process)
    does not count as training time, as in the benchmarks."""
    train, validation, test = load_data(cfg)
    classes, note = count_classes(cfg, train, validation, test)
    net = build_network(cfg, train[0].shape[1:], classes,
                        split_sizes(train, validation, test))
    if needs_images(cfg):
        kernels.compile_kernels((cfg["model"]["dtype"],))
    options = {**trainer_options(cfg), "monitor": monitors(validation)}
    return Prepared(train, validation, test, net, options, note)


def monitors(validation) -> list[str]:
    """What a run records per epoch: the four curves of the book's overfitting figures
    (:data:`nnlearn.train.trainer.MONITORS`), the evaluation ones only with validation data."""
    return [m for m in MONITORS if validation is not None or m.startswith("training")]


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
    data_cfg = cfg["data"]
    source = data_cfg["source"]
    folder = datasets.mnist_path() if source == "mnist" else source
    data = datasets.load_idx_dataset(folder, validation_size=data_cfg["validation_size"],
                                     dtype=cfg["model"]["dtype"], flatten=not needs_images(cfg),
                                     train_size=data_cfg.get("train_size"))
    train = data.train
    if data_cfg["expand"] == "shifts":
        shape = None if train[0].ndim > 2 else _square_image(train[0].shape[1])
        train = expand_shifts(*train, image_shape=shape)
    return train, data.validation, data.test


def _square_image(n: int) -> tuple[int, int]:
    side = math.isqrt(n)
    if side * side != n:
        raise DataError(f"data.expand = 'shifts' needs square images; these have {n} pixels")
    return (side, side)


def count_classes(cfg: dict[str, Any], train, validation, test):
    """The class count of the splits' labels under ``data.num_classes`` and the stray-label
    rule (:func:`nnlearn.data.labels.count_classes`): ``(classes, note or None)``."""
    return count({"training": train[1], "validation": None if validation is None else
                  validation[1], "test": test[1]}, cfg["data"].get("num_classes"))


def split_sizes(*splits) -> list[int]:
    """The number of examples of each split that is not ``None`` (for the memory estimate)."""
    return [len(s[1]) for s in splits if s is not None]


def build_network(cfg: dict[str, Any], input_shape: Sequence[int], classes: int,
                  examples: Sequence[int] = ()):
    """The network the ``[model]`` table describes, seeded with ``training.seed``
    (built by :func:`nnlearn.nn.builder.build_network`, like every network of nnlearn).

    Before any layer is built, the memory that training it needs (``examples``: the
    sizes of the training, validation and test sets, for their one-hot targets) is
    compared with the memory available (:func:`nnlearn.nn.memory.require_training`).
    """
    return builder.build_network(cfg["model"], input_shape, classes,
                                 seed=cfg["training"].get("seed"),
                                 dropout=cfg["regularization"]["dropout"],
                                 check=lambda plans: _require_memory(cfg, plans, classes, examples))


def _require_memory(cfg: dict[str, Any], plans: list, classes: int,
                    examples: Sequence[int]) -> None:
    """:func:`nnlearn.nn.memory.require_training` with the options of ``cfg``."""
    t, reg = cfg["training"], cfg["regularization"]
    memory.require_training(plans, cfg["model"]["dtype"], mini_batch_size=t["mini_batch_size"],
                            optimizer_slots=len(OPTIMIZERS[cfg["optimizer"]["name"]].slots),
                            examples=examples, classes=classes,
                            weight_decay=reg["lmbda"] > 0 or reg["l1"] > 0,
                            early_stopping=t["early_stopping"] > 0,
                            augment=cfg["data"]["augment"] != "none")


def trainer_options(cfg: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of :class:`~nnlearn.train.trainer.Trainer` for ``cfg`` (no data, no hooks)."""
    t, reg = cfg["training"], cfg["regularization"]
    opt = {k: v for k, v in cfg["optimizer"].items() if k != "name"}
    sched = {k: v for k, v in cfg["schedule"].items() if k != "name"}
    regs = [cls(reg[key]) for key, cls in (("lmbda", L2), ("l1", L1)) if reg[key] > 0]
    augment = None
    if cfg["data"]["augment"] == "random_shift":
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
            + "".join(f", {e}" for e in extras)
            + (", unseeded" if t.get("seed") is None else f", seed {t['seed']}") + f", {m['dtype']}")
