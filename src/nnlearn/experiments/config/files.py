r"""Experiment files: one TOML document describes a whole training run.

A config is a nested dict of seven tables plus two top-level strings::

    name = "ch3-100-l2"                 # label of the experiment (run folders are named after it)
    description = "..."

    [data]            source = "mnist" | "path/to/idx-folder", validation_size, train_size, expand
    [model]           hidden = [100], activation, output_activation, cost, label_smoothing, init, bias_init, dtype
                      -- or -- [[model.layers]] tables: type = "Conv2D", out_channels = 20, ...
    [training]        epochs, mini_batch_size, eta, seed, early_stopping (patience, 0 = off),
                      threads ("auto" or k CPU threads per minibatch)
    [optimizer]       name = "sgd" | "momentum" | ... plus that optimiser's options (mu = 0.9, ...)
    [schedule]        name = "constant" | "step" | "exponential" | "book" | "one_cycle" | "linear" plus its options
    [regularization]  lmbda (L2 λ), l1 (L1 λ), dropout (p), max_norm (c, 0 = off)
    [log]             writer = "none" | "tensorboard" (event files in the run folder)

Every key is described once, with its default, check, help and flag, by the table
dataclasses of :mod:`nnlearn.experiments.config.schema` (:data:`SCHEMA` lists them by dotted
key; ``docs/config.md`` is written from them). The defaults (:mod:`nnlearn.defaults`)
are the quick, sound recipe of ``nnlearn train``: [784, 100, 10] sigmoid,
cross-entropy, N(0, 1/n_in), η = 0.5, m = 10, L2 λ = 5.0, 30 epochs (the book's
ch. 3 "98%" network). Layer tables name a
registered layer class (``nnlearn.nn.layers.LAYER_TYPES``) and its constructor
options; ``n_in`` of ``Dense`` and ``in_channels`` of ``Conv2D`` are inferred from the
previous layer, and the last ``Dense`` may omit ``n_out`` (= number of classes).

:func:`resolve` merges, in increasing priority, the defaults, a preset or file and
the command-line overrides, and validates everything: an unknown key or a bad
value raises :class:`~nnlearn.errors.ConfigError` naming the dotted key and the
valid choices. :func:`dumps` writes a resolved config back as TOML, so a run's
``config.toml`` reruns it exactly (``nnlearn train --config runs/X/config.toml``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from nnlearn.checks import is_number
from nnlearn.errors import ConfigError
from nnlearn.files import read_regular_text
from nnlearn.experiments.config.schema import (OPTION_TABLES, SCHEMA, TABLES, Field, check_layers,
                                               option_names)

__all__ = ["SCHEMA", "TABLES", "Field", "defaults", "set_key", "get_key", "loads", "load",
           "list_presets", "load_preset", "parse_assignment", "resolve", "validate", "dumps",
           "config_hash"]


def defaults() -> dict[str, Any]:
    """The default config (the quick MLP of ``nnlearn train``), with ``None`` values left out.

    ``model.hidden`` is left out too: it is filled in by :func:`validate` unless the
    config gives ``model.layers`` (the two are exclusive).
    """
    cfg: dict[str, Any] = {t: {} for t in TABLES}
    for key, field in SCHEMA.items():
        if field.default is not None and key != "model.hidden":
            set_key(cfg, key, copy.deepcopy(field.default))
    return cfg


def set_key(cfg: dict[str, Any], key: str, value: Any) -> None:
    """Set the dotted ``key`` (``"training.eta"``) of ``cfg`` in place."""
    *tables, last = key.split(".")
    node = cfg
    for t in tables:
        node = node.setdefault(t, {})
        if not isinstance(node, dict):
            raise ConfigError(f"{key}: {t!r} is not a table")
    node[last] = value


def get_key(cfg: dict[str, Any], key: str, default: Any = None) -> Any:
    node: Any = cfg
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


# -- reading ----------------------------------------------------------------------------
def loads(source: str, origin: str = "<string>") -> dict[str, Any]:
    """Parse TOML text (no validation); syntax errors become a ``ConfigError``."""
    try:
        return tomllib.loads(source)
    except (tomllib.TOMLDecodeError, RecursionError) as exc:  # RecursionError: deep nesting
        reason = str(exc) if len(str(exc)) <= 300 else str(exc)[:300] + "..."  # a huge key
        raise ConfigError(f"{origin} is not valid TOML: {reason}") from None


def load(path: str | Path) -> dict[str, Any]:
    """Read an experiment file (no validation; see :func:`resolve`)."""
    path = Path(path)
    try:
        source = read_regular_text(path)  # a FIFO or a folder is refused, not waited on
    except FileNotFoundError:
        raise ConfigError(f"config file {str(path)!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc}") from None
    return loads(source, str(path))


def _presets_dir():
    return resources.files("nnlearn.experiments.config") / "presets"


def list_presets() -> list[str]:
    """Names of the presets shipped in the package (``nnlearn/experiments/config/presets/*.toml``)."""
    return sorted(p.name[:-5] for p in _presets_dir().iterdir() if p.name.endswith(".toml"))


def load_preset(name: str) -> dict[str, Any]:
    """The raw config of preset ``name``; ``ConfigError`` listing the presets if unknown."""
    names = list_presets()
    if name not in names:
        raise ConfigError(f"unknown preset {name!r}; expected one of {', '.join(names)}")
    return loads((_presets_dir() / f"{name}.toml").read_text(encoding="utf-8"), f"preset {name}")


def parse_assignment(item: str) -> tuple[str, Any]:
    """``"optimizer.mu=0.95"`` → ``("optimizer.mu", 0.95)``; the value is read as TOML
    (numbers, booleans, ``[1, 2]``, ``"text"``) or else taken as a bare string."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"--set expects KEY=VALUE (e.g. optimizer.mu=0.95), got {item!r}")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        value = raw.strip()
    return key, value


# -- validation ---------------------------------------------------------------------------
def resolve(*layers: dict[str, Any] | None, overrides: dict[str, Any] | None = None,
            given_by: dict[str, str] | None = None) -> dict[str, Any]:
    """Merge the defaults, then each of ``layers`` (raw configs), then the dotted
    ``overrides`` (``{"training.eta": 0.1}``); validate and return the full config.

    ``given_by`` maps override keys to the flag that set them (``{"training.eta":
    "--eta"}``), so that the error for a bad value names the flag the user typed."""
    cfg = defaults()
    for raw in layers:
        if raw is not None:
            _merge(cfg, raw, "")
    for key, value in (overrides or {}).items():
        _check_known(key)
        set_key(cfg, key, value)
    return validate(cfg, given_by)


def _merge(cfg: dict[str, Any], raw: dict[str, Any], prefix: str) -> None:
    for key, value in raw.items():
        dotted = prefix + key
        if isinstance(value, dict):
            if dotted not in TABLES:
                _check_known(dotted)  # raises: only the seven tables are tables
            _merge(cfg, value, dotted + ".")
        else:
            _check_known(dotted)
            set_key(cfg, dotted, value)


def _known_in(table: str) -> list[str]:
    return sorted(k.split(".", 1)[1] for k in SCHEMA if k.startswith(table + "."))


def _check_known(key: str) -> None:
    if key in SCHEMA:
        return
    table, dot, name = key.partition(".")
    if dot and table in OPTION_TABLES:
        return  # checked against the selected class in validate()
    if dot and table in TABLES:
        raise ConfigError(f"unknown key {key!r}; [{table}] takes {', '.join(_known_in(table))}")
    top = [k for k in SCHEMA if "." not in k]
    raise ConfigError(f"unknown key {key!r}; the top level takes {', '.join(top)} and the "
                      f"tables [{'], ['.join(TABLES)}]")


def validate(cfg: dict[str, Any], given_by: dict[str, str] | None = None) -> dict[str, Any]:
    """Check every value of a merged config, once, with its rule from the schema; returns
    it with values normalised (``given_by``: see :func:`resolve`)."""
    out: dict[str, Any] = {t: {} for t in TABLES}
    for key, field in SCHEMA.items():
        if key == "model.layers":
            continue  # checked below, with model.hidden
        try:
            value = field.check(key, get_key(cfg, key, field.default))
        except ConfigError as exc:
            if given_by and key in given_by:
                raise ConfigError(f"{given_by[key]}: {exc}") from None
            raise
        if value is not None:
            set_key(out, key, value)
    for table in OPTION_TABLES:
        options = {k: v for k, v in cfg.get(table, {}).items() if k != "name"}
        _check_options(table, out[table]["name"], options)
        out[table].update(options)
    model = cfg.get("model", {})
    if model.get("layers") is not None:
        if "hidden" in model:
            raise ConfigError("model.hidden and model.layers are exclusive: give an MLP's hidden "
                              "widths or an explicit list of layers, not both")
        out["model"]["layers"] = check_layers(model["layers"])
        del out["model"]["hidden"]
        if out["regularization"]["dropout"]:
            raise ConfigError("regularization.dropout applies to MLPs (model.hidden); with "
                              "model.layers add {type = \"Dropout\", p = ...} layers instead")
    needs_validation = [k for k in ("training.early_stopping",) if get_key(out, k)]
    if out["schedule"]["name"] == "book":
        needs_validation.append("schedule.name = 'book'")
    if needs_validation and out["data"]["validation_size"] == 0:
        raise ConfigError(f"{needs_validation[0]} watches validation accuracy, but "
                          "data.validation_size is 0; hold out validation data")
    return out


def _check_options(table: str, name: str, options: dict[str, Any]) -> None:
    cls = OPTION_TABLES[table][name]
    valid = option_names(table, name)
    for key, value in options.items():
        if key not in valid:
            raise ConfigError(f"unknown key '{table}.{key}': the {name!r} {table} takes "
                              f"{', '.join(valid) if valid else 'no options'}")
        if not is_number(value) and not isinstance(value, str):
            raise ConfigError(f"{table}.{key}: expected a number, got {value!r}")
    try:  # the classes check their own values
        if table == "optimizer":
            cls(1.0, **options)
        else:
            cls(**options)
    except ConfigError as exc:
        raise ConfigError(f"[{table}] {name}: {exc}") from None








# -- writing ----------------------------------------------------------------------------
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(f"cannot write the non-finite number {v!r} to TOML")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # JSON strings are TOML basic strings
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ConfigError(f"cannot write {type(v).__name__} value {v!r} to TOML")


def dumps(cfg: dict[str, Any]) -> str:
    """A config as TOML text (``loads(dumps(cfg)) == cfg`` for resolved configs)."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in cfg.items() if not isinstance(v, dict)]
    for table, body in cfg.items():
        if not isinstance(body, dict):
            continue
        lines += ["", f"[{table}]"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in body.items()
                  if not (isinstance(v, list) and v and all(isinstance(x, dict) for x in v))]
        for k, v in body.items():
            if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                for item in v:
                    lines += ["", f"[[{table}.{k}]]"]
                    lines += [f"{ik} = {_toml_value(iv)}" for ik, iv in item.items()]
    return "\n".join(lines).lstrip("\n") + "\n"


def config_hash(cfg: dict[str, Any]) -> str:
    """A short stable hash of a config (8 hex digits), used in default run-folder names."""
    return hashlib.sha1(json.dumps(cfg, sort_keys=True).encode("utf-8")).hexdigest()[:8]
