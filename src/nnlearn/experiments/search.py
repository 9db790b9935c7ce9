r"""Hyper-parameter search on one machine: grid and random search with early stopping.

A trial is the *pure* function :func:`run_trial` ``(config, data) -> metrics``: it
builds a network from the config (seeded), trains it with early stopping on the
validation data, and returns plain numbers. It touches no global state, so any
executor that can call a module-level function (``map``, a process pool, a cluster
scheduler) can run trials; :func:`search` takes that ``map`` as an argument.

Search spaces are dicts from config keys to ranges:

* grid search: every value is a list; all combinations are tried;
* random search: a list (uniform choice) or a tuple ``(low, high, "log" | "linear")``;
  with integer ``low`` and ``high`` the draw is rounded to an integer.

Random search is usually the better use of a budget (Bergstra & Bengio 2012);
the book's ch. 3 advice is to start with η, then λ, on a reduced problem.
"""

from __future__ import annotations

import itertools
import math
import time
from typing import Any, Callable, Iterable, Sequence

import numpy

from nnlearn.errors import ConfigError

TRIAL_DEFAULTS: dict[str, Any] = {
    "sizes": None,            # full layer widths; default [n_inputs, *hidden, n_classes]
    "hidden": [30],           # hidden widths (int or list) when sizes is None
    "activation": "sigmoid",
    "output_activation": None,  # softmax for log_likelihood, else sigmoid
    "cost": "cross_entropy",
    "weight_init": "normal_fan_in",
    "bias_init": "normal",
    "dropout": 0.0,           # inverted dropout after every hidden activation
    "eta": 0.5,
    "mini_batch_size": 10,
    "epochs": 30,
    "optimizer": "sgd",
    "optimizer_options": None,
    "lmbda": 0.0,             # L2 strength λ (n = training-set size)
    "max_norm": None,
    "schedule": None,
    "patience": 10,           # early stopping on validation accuracy; None = off
    "seed": 0,
    "dtype": "float32",
}
"""Every key a trial config may set, with its default."""


def _split_data(data) -> tuple[Any, Any, Any, Any]:
    if hasattr(data, "train") and hasattr(data, "validation"):
        (X, y), (Xv, yv) = data.train, data.validation
        return X, y, Xv, yv
    if isinstance(data, (tuple, list)) and len(data) == 4:
        return tuple(data)
    raise ConfigError("data must be (X_train, y_train, X_val, y_val) or an object with "
                      ".train and .validation pairs (e.g. load_mnist())")


def build_network(config: dict[str, Any], n_inputs: int, n_classes: int):
    """The network a trial trains: Dense layers, activations and optional dropout."""
    from nnlearn.nn.layers.activations import get_activation
    from nnlearn.nn.layers.dense import Dense
    from nnlearn.nn.layers.dropout import Dropout
    from nnlearn.nn.costs import get_cost
    from nnlearn.nn.network import Network

    sizes = config["sizes"]
    if sizes is None:
        hidden = config["hidden"]
        hidden = [hidden] if isinstance(hidden, int) else list(hidden)
        sizes = [n_inputs, *hidden, n_classes]
    cost = get_cost(config["cost"])
    output = config["output_activation"] or (  # sigmoid outputs suit the other costs
        "softmax" if cost.name == "log_likelihood" else "sigmoid")
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Dense(n_in, n_out, weight_init=config["weight_init"],
                            bias_init=config["bias_init"]))
        last = i == len(sizes) - 2
        layers.append(get_activation(output if last else config["activation"]))
        if not last and config["dropout"]:
            layers.append(Dropout(config["dropout"]))
    return Network(layers, cost, seed=config["seed"], dtype=config["dtype"])


def run_trial(config: dict[str, Any], data) -> dict[str, Any]:
    r"""Train one configuration; return its metrics. Pure: same inputs, same numbers.

    Args:
        config: keys of :data:`TRIAL_DEFAULTS` (others are an error).
        data: ``(X_train, y_train, X_val, y_val)`` or an object with ``.train`` and
            ``.validation`` pairs. Labels are integer classes.

    Returns:
        ``validation_accuracy`` (best over epochs; the weights early stopping keeps),
        ``best_epoch``, ``epochs_run``, ``final_validation_accuracy``,
        ``train_seconds`` and ``stopped_by`` (``"early_stopping"``, ``"schedule"`` or
        ``None``).
    """
    from nnlearn.train.trainer import Trainer

    unknown = set(config) - set(TRIAL_DEFAULTS)
    if unknown:
        raise ConfigError(f"unknown trial config key(s) {sorted(unknown)}; expected any of "
                          f"{', '.join(TRIAL_DEFAULTS)}")
    config = {**TRIAL_DEFAULTS, **config}
    X, y, Xv, yv = _split_data(data)
    n_classes = int(max(numpy.max(y), numpy.max(yv))) + 1
    network = build_network(config, int(numpy.prod(numpy.shape(X)[1:])), n_classes)
    patience = config["patience"]
    start = time.perf_counter()
    trainer = Trainer(network, X, y, epochs=config["epochs"],
                      mini_batch_size=config["mini_batch_size"], eta=config["eta"],
                      optimizer=config["optimizer"],
                      optimizer_options=config["optimizer_options"],
                      validation_data=(Xv, yv), lmbda=config["lmbda"] or None,
                      max_norm=config["max_norm"], schedule=config["schedule"],
                      early_stopping=patience)
    history = trainer.run()
    accuracies = history["evaluation_accuracy"]
    best = max(range(len(accuracies)), key=lambda i: accuracies[i])
    return {"validation_accuracy": accuracies[best], "best_epoch": best + 1,
            "epochs_run": len(history), "final_validation_accuracy": accuracies[-1],
            "train_seconds": time.perf_counter() - start,
            "stopped_by": history.records[-1].get("stopped_by")}


def grid(space: dict[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the listed values, in key order (last key varies fastest)."""
    _check_space(space)
    for key, values in space.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid search needs a non-empty list for {key!r}, got {values!r}")
    keys = list(space)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(space[k] for k in keys))]


def sample(space: dict[str, Any], n_trials: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n_trials`` random configs: uniform choice from lists, uniform or log-uniform ranges."""
    _check_space(space)
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ConfigError(f"n_trials must be a positive integer, got {n_trials!r}")
    rng = numpy.random.default_rng(seed)
    configs = []
    for _ in range(n_trials):
        config = {}
        for key, spec in space.items():
            if isinstance(spec, list):
                if not spec:
                    raise ConfigError(f"the list of values for {key!r} is empty")
                config[key] = spec[int(rng.integers(len(spec)))]
            else:
                config[key] = _draw(key, spec, rng)
        configs.append(config)
    return configs


def _draw(key: str, spec: Any, rng) -> float | int:
    if not (isinstance(spec, tuple) and len(spec) == 3 and spec[2] in ("log", "linear")
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in spec[:2])
            and spec[0] <= spec[1]):
        raise ConfigError(f"range for {key!r} must be a list or (low, high, 'log'|'linear') "
                          f"with low <= high, got {spec!r}")
    low, high, kind = spec
    if kind == "log":
        if low <= 0:
            raise ConfigError(f"log range for {key!r} needs low > 0, got {low!r}")
        value = math.exp(rng.uniform(math.log(low), math.log(high)))
    else:
        value = rng.uniform(low, high)
    if isinstance(low, int) and isinstance(high, int):
        return int(min(high, max(low, round(value))))
    return float(value)


def _check_space(space: Any) -> None:
    if not isinstance(space, dict) or not space:
        raise ConfigError(f"the search space must be a non-empty dict of ranges, got {space!r}")
    unknown = set(space) - set(TRIAL_DEFAULTS)
    if unknown:
        raise ConfigError(f"unknown search-space key(s) {sorted(unknown)}; expected any of "
                          f"{', '.join(TRIAL_DEFAULTS)}")


def search(space: dict[str, Any], data, *, method: str = "grid", n_trials: int | None = None,
           seed: int = 0, base: dict[str, Any] | None = None,
           trial: Callable[[dict, Any], dict] = run_trial,
           map: Callable[..., Iterable] = map) -> list[dict[str, Any]]:
    r"""Run a grid or random search; return rows sorted by validation accuracy (best first).

    Args:
        space: config key → range (see the module docstring).
        data: passed unchanged to every ``trial``.
        method: ``"grid"`` or ``"random"`` (then ``n_trials`` is required).
        seed: seed of the random sampling (the trials' own seed is the config's ``seed``).
        base: fixed config entries shared by every trial (e.g. ``{"epochs": 10}``).
        trial: the pure trial function (default :func:`run_trial`).
        map: how to run the trials, e.g. ``concurrent.futures.ProcessPoolExecutor().map``.

    Each row is the trial's varied config entries followed by its metrics.
    """
    if method == "grid":
        configs = grid(space)
    elif method == "random":
        if n_trials is None:
            raise ConfigError("random search needs n_trials")
        configs = sample(space, n_trials, seed)
    else:
        raise ConfigError(f"unknown search method {method!r}; expected 'grid' or 'random'")
    base = dict(base or {})
    results = list(map(trial, [{**base, **c} for c in configs], itertools.repeat(data, len(configs))))
    rows = [{**c, **r} for c, r in zip(configs, results)]
    rows.sort(key=lambda r: -r["validation_accuracy"])
    return rows


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else str(value)


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None, *,
                 style: str = "markdown") -> str:
    """Rows as a Markdown table (``style="markdown"``) or aligned plain text (``"text"``)."""
    if style not in ("markdown", "text"):
        raise ConfigError(f"table style must be 'markdown' or 'text', got {style!r}")
    if columns is None:
        columns = list(dict.fromkeys(k for row in rows for k in row))
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    if style == "markdown":
        lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in cells]
        return "\n".join(lines)
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)
