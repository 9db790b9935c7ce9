r"""Experiment files: one TOML document describes a whole training run.

A config is a nested dict of six tables plus two top-level strings::

    name = "ch3-100-l2"                 # label of the experiment (run folders are named after it)
    description = "..."

    [data]            source = "mnist" | "path/to/idx-folder", validation_size, train_size, expand
    [model]           hidden = [100], activation, output_activation, cost, init, bias_init, dtype
                      -- or -- [[model.layers]] tables: type = "Conv2D", out_channels = 20, ...
    [training]        epochs, mini_batch_size, eta, seed, early_stopping (patience, 0 = off),
                      threads ("auto" or k CPU threads per minibatch)
    [optimizer]       name = "sgd" | "momentum" | ... plus that optimiser's options (mu = 0.9, ...)
    [schedule]        name = "constant" | "step" | "exponential" | "book" plus its options
    [regularization]  lmbda (L2 λ), l1 (L1 λ), dropout (p), max_norm (c, 0 = off)

Every key has a default (:data:`SCHEMA`); the defaults are the quick, sound recipe
of ``nnlearn train``: [784, 100, 10] sigmoid, cross-entropy, N(0, 1/n_in), η = 0.5,
m = 10, L2 λ = 5.0, 30 epochs (the book's ch. 3 "98%" network). Layer tables name a
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
import inspect
import json
import math
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Sequence

from nnlearn.errors import ConfigError
from nnlearn.files import read_regular_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

Check = Callable[[Any], Any]


# -- value checks: each returns the normalised value or raises ValueError("expected ...") ------
def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def integer(minimum: int = 1) -> Check:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            raise ValueError(f"expected {what}, got {v!r}")
        return v
    check.kind = int  # type: ignore[attr-defined]
    return check


def number(low: float = 0.0, *, low_open: bool = True, high: float | None = None,
           high_open: bool = True) -> Check:
    bound = (f"> {low:g}" if low_open else f">= {low:g}") if high is None else \
        f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"

    def check(v: Any) -> float:
        ok = _is_number(v) and math.isfinite(v) and (v > low if low_open else v >= low)
        if ok and high is not None:
            ok = v < high if high_open else v <= high
        if not ok:
            raise ValueError(f"expected a finite number {bound}, got {v!r}")
        return float(v)
    check.kind = float  # type: ignore[attr-defined]
    check.bound = bound  # type: ignore[attr-defined]
    return check


def choice(names: Callable[[], Sequence[str]], optional: bool = False) -> Check:
    def check(v: Any) -> str | None:
        if optional and v in (None, "none", ""):
            return None
        valid = sorted(names())
        if not isinstance(v, str) or v not in valid:
            raise ValueError(f"unknown value {v!r}; expected one of {', '.join(valid)}"
                             + (" (or 'none')" if optional else ""))
        return v
    check.kind = str  # type: ignore[attr-defined]
    check.choices = names  # type: ignore[attr-defined]
    return check


def _auto_or_int_text(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def threads_count(v: Any) -> int | str:
    """``"auto"`` or a positive integer (``training.threads``)."""
    if v == "auto":
        return v
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"expected 'auto' or a positive integer, got {v!r}")
    return v


threads_count.kind = _auto_or_int_text  # type: ignore[attr-defined]


def text(v: Any) -> str:
    if not isinstance(v, str):
        raise ValueError(f"expected a string, got {v!r}")
    return v


def optional(inner: Check) -> Check:
    def check(v: Any) -> Any:
        return None if v is None else inner(v)
    check.kind = getattr(inner, "kind", str)  # type: ignore[attr-defined]
    check.inner = inner  # type: ignore[attr-defined]
    return check


def int_list(v: Any) -> list[int]:
    if not isinstance(v, list) or any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in v):
        raise ValueError(f"expected a list of positive integers (layer widths), got {v!r}")
    return list(v)


def _registry(module: str, attr: str) -> Callable[[], list[str]]:
    def names() -> list[str]:
        from importlib import import_module
        return list(getattr(import_module(module), attr))
    return names


ACTIVATION_NAMES = _registry("nnlearn.nn.layers.activations", "ACTIVATIONS")
COST_NAMES = _registry("nnlearn.nn.costs", "COSTS")
INIT_NAMES = _registry("nnlearn.nn.init", "INITIALIZERS")
OPTIMIZER_NAMES = _registry("nnlearn.optim.optimizers", "OPTIMIZERS")
SCHEDULE_NAMES = _registry("nnlearn.optim.schedules", "SCHEDULES")
EXPANSIONS = ("none", "shifts")
"""``data.expand``: none, or the book's four one-pixel shifts (N → 5N, ``augment.expand_shifts``)."""
AUGMENTATIONS = ("none", "random_shift")
"""``data.augment``: on-the-fly expansion each epoch (``augment.RandomShift``)."""


@dataclass(frozen=True)
class Field:
    """One config key: its check, default, CLI flag (or ``None``) and help text."""

    check: Check
    default: Any
    help: str
    flag: str | None = None


SCHEMA: dict[str, Field] = {
    "name": Field(optional(text), None, "label of the experiment; run folders are named after it"),
    "description": Field(optional(text), None, "free text"),
    "data.source": Field(text, "mnist", "'mnist' (shipped, book split) or a folder of the four "
                         "IDX files", "--data"),
    "data.validation_size": Field(integer(0), 10000, "last N training images held out for "
                                  "validation (0 = none)", "--validation-size"),
    "data.train_size": Field(optional(integer(1)), None, "train on the first N training "
                             "images only", "--train-size"),
    "data.num_classes": Field(optional(integer(1)), None, "number of classes (default: the "
                              "largest label + 1); state it to train on labels of which fewer "
                              "than half the classes occur, which are otherwise refused as "
                              "stray", "--num-classes"),
    "data.expand": Field(choice(lambda: EXPANSIONS), "none", "data expansion: 'shifts' adds the "
                         "book's four one-pixel shifts (N → 5N)", "--expand"),
    "data.augment": Field(choice(lambda: AUGMENTATIONS), "none", "on-the-fly expansion, fresh "
                          "every epoch: 'random_shift' moves each image by up to data.max_shift "
                          "pixels in x and y", "--augment"),
    "data.max_shift": Field(integer(1), 1, "largest shift of data.augment = 'random_shift', "
                            "in pixels", "--max-shift"),
    "model.hidden": Field(int_list, [100], "hidden layer widths of an MLP", "--hidden"),
    "model.activation": Field(choice(ACTIVATION_NAMES), "sigmoid", "hidden activation",
                              "--activation"),
    "model.output_activation": Field(choice(ACTIVATION_NAMES, optional=True), None,
                                     "output activation (default: softmax for log_likelihood, "
                                     "else the hidden activation)", "--output-activation"),
    "model.cost": Field(choice(COST_NAMES), "cross_entropy", "cost function", "--cost"),
    "model.init": Field(choice(INIT_NAMES), "normal_fan_in", "weight initialiser "
                        "(normal_fan_in = N(0, 1/n_in); normal = N(0, 1))", "--init"),
    "model.bias_init": Field(choice(INIT_NAMES), "normal", "bias initialiser", "--bias-init"),
    "model.dtype": Field(choice(lambda: ("float32", "float64")), "float32",
                         "floating-point precision", "--dtype"),
    "model.layers": Field(optional(lambda v: v), None, "explicit layer tables (convnets); "
                          "exclusive with model.hidden"),
    "training.epochs": Field(integer(1), 30, "number of epochs", "--epochs"),
    "training.mini_batch_size": Field(integer(1), 10, "examples per minibatch",
                                      "--mini-batch-size"),
    "training.eta": Field(number(0.0), 0.5, "learning rate η", "--eta"),
    "training.seed": Field(optional(integer(0)), None, "seed for a bit-reproducible run "
                           "(default: random)", "--seed"),
    "training.early_stopping": Field(integer(0), 0, "stop after N epochs without a new best "
                                     "validation accuracy, restoring the best weights (0 = off)",
                                     "--early-stopping"),
    "training.threads": Field(threads_count, "auto", "CPU threads sharing each minibatch: 'auto' "
                              "splits large convnet minibatches over the cores, 1 never "
                              "(nnlearn.train.parallel)", "--threads"),
    "optimizer.name": Field(choice(OPTIMIZER_NAMES), "sgd", "optimiser", "--optimizer"),
    "schedule.name": Field(choice(SCHEDULE_NAMES), "constant", "learning-rate schedule",
                           "--schedule"),
    "regularization.lmbda": Field(number(0.0, low_open=False), 5.0, "L2 strength λ "
                                  "(w → (1 − ηλ/n) w)", "--lmbda"),
    "regularization.l1": Field(number(0.0, low_open=False), 0.0, "L1 strength λ", "--l1"),
    "regularization.dropout": Field(number(0.0, low_open=False, high=1.0), 0.0,
                                    "dropout probability after each hidden activation (MLP)",
                                    "--dropout"),
    "regularization.max_norm": Field(number(0.0, low_open=False), 0.0,
                                     "max-norm bound c on each neuron's weights (0 = off)",
                                     "--max-norm"),
}
"""Every key with its check, default, flag and help (dotted ``table.key`` names)."""

OPTION_TABLES = {"optimizer": (OPTIMIZER_NAMES, "nnlearn.optim.optimizers", "OPTIMIZERS"),
                 "schedule": (SCHEDULE_NAMES, "nnlearn.optim.schedules", "SCHEDULES")}
"""Tables whose other keys are the options of the class ``name`` selects."""

TABLES = ("data", "model", "training", "optimizer", "schedule", "regularization")


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
        raise ConfigError(f"{origin} is not valid TOML: {exc}") from None


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
    return resources.files("nnlearn.experiments") / "presets"


def list_presets() -> list[str]:
    """Names of the presets shipped in the package (``nnlearn/presets/*.toml``)."""
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
def resolve(*layers: dict[str, Any] | None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge the defaults, then each of ``layers`` (raw configs), then the dotted
    ``overrides`` (``{"training.eta": 0.1}``); validate and return the full config."""
    cfg = defaults()
    for raw in layers:
        if raw is not None:
            _merge(cfg, raw, "")
    for key, value in (overrides or {}).items():
        _check_known(key)
        set_key(cfg, key, value)
    return validate(cfg)


def _merge(cfg: dict[str, Any], raw: dict[str, Any], prefix: str) -> None:
    for key, value in raw.items():
        dotted = prefix + key
        if isinstance(value, dict):
            if dotted not in TABLES:
                _check_known(dotted)  # raises: only the six tables are tables
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


def validate(cfg: dict[str, Any]) -> dict[str, Any]:
    """Check every value of a merged config; returns it with values normalised."""
    out: dict[str, Any] = {t: {} for t in TABLES}
    for key, field in SCHEMA.items():
        value = get_key(cfg, key, field.default)
        try:
            value = field.check(value)
        except ValueError as exc:
            raise ConfigError(f"{key}: {exc}") from None
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
    from importlib import import_module

    _, module, attr = OPTION_TABLES[table]
    cls = getattr(import_module(module), attr)[name]
    valid = list(cls.hyper) if table == "optimizer" else _init_params(cls, exclude=("eta0",))
    for key, value in options.items():
        if key not in valid:
            raise ConfigError(f"unknown key '{table}.{key}': the {name!r} {table} takes "
                              f"{', '.join(valid) if valid else 'no options'}")
        if not _is_number(value) and not isinstance(value, str):
            raise ConfigError(f"{table}.{key}: expected a number, got {value!r}")
    try:  # the classes check their own values
        if table == "optimizer":
            cls(1.0, **options)
        else:
            cls(**options)
    except ConfigError as exc:
        raise ConfigError(f"[{table}] {name}: {exc}") from None


def _init_params(cls: type, exclude: Sequence[str] = ()) -> list[str]:
    params = inspect.signature(cls.__init__).parameters
    return [p for p in params if p not in ("self", *exclude)
            and params[p].kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]


def layer_types() -> dict[str, type]:
    """Every registered layer class by name (importing the layer families first)."""
    from importlib import import_module

    for family in ("conv", "pool", "reshape", "dropout", "batchnorm"):
        try:
            import_module(f"nnlearn.nn.layers.{family}")
        except ImportError:  # pragma: no cover - a family not present in this version
            pass
    from nnlearn.nn.layers.base import LAYER_TYPES
    return LAYER_TYPES


def check_layers(specs: Any) -> list[dict[str, Any]]:
    """Check the shape of ``model.layers``: tables with a known ``type`` and known options.

    Values are checked when the network is built (:func:`nnlearn.experiments.builder.build_network`).
    """
    LAYER_TYPES = layer_types()
    if not isinstance(specs, list) or not specs:
        raise ConfigError("model.layers must be a non-empty list of tables ([[model.layers]])")
    out = []
    for i, spec in enumerate(specs):
        key = f"model.layers[{i}]"
        if not isinstance(spec, dict):
            raise ConfigError(f"{key} must be a table with a 'type', got {spec!r}")
        kind = spec.get("type")
        if kind not in LAYER_TYPES:
            raise ConfigError(f"{key}.type: unknown layer type {kind!r}; expected one of "
                              f"{', '.join(sorted(LAYER_TYPES))}")
        valid = _init_params(LAYER_TYPES[kind], exclude=("dtype", "seed"))
        for option in spec:
            if option != "type" and option not in valid:
                raise ConfigError(f"unknown key '{key}.{option}': {kind} takes "
                                  f"{', '.join(valid) if valid else 'no options'}")
        out.append(dict(spec))
    return out


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
