r"""The experiment config, described once: one dataclass per table.

Each field of the tables below carries its default (from :mod:`nnlearn.defaults`),
its check (a :class:`nnlearn.checks.Rule`: type and range, the same rules every entry
point uses), its help text and its command-line flag. Everything else is derived from these classes:

* validation of config files and overrides (:func:`nnlearn.experiments.config.files.resolve`);
* the flags of ``nnlearn train`` and their ``--help`` (:mod:`nnlearn.cli.train`);
* the order of keys in ``--print-config`` and in a run folder's ``config.toml``;
* the reference table in ``docs/config.md`` (:func:`markdown_reference`);
* the JSON Schema ``docs/config.schema.json`` that editors (Taplo) complete and check
  TOML configs with (:func:`json_schema`).

A resolved config is a plain nested dict (``cfg["training"]["eta"]``), easy to write
as TOML and to compare; :data:`SCHEMA` maps each dotted key (``"training.eta"``) to its
:class:`Field`.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from nnlearn import checks, defaults
from nnlearn.checks import (Integer, Maybe, OneOf, Param, Rule, Text, non_negative_number,
                            positive_int, positive_number, unit_interval)
from nnlearn.errors import ConfigError, install_hint
from nnlearn.nn.costs import COSTS
from nnlearn.nn.init import INITIALIZERS
from nnlearn.nn.layers import LAYER_TYPES
from nnlearn.nn.layers.activations import ACTIVATIONS
from nnlearn.optim.optimizers import OPTIMIZERS
from nnlearn.optim.schedules import SCHEDULES


# -- rules for the values only configs have (the shared ones live in nnlearn.checks) ---------
class Widths(Rule):
    def __call__(self, key: str, value: Any) -> list[int]:
        if not isinstance(value, (list, tuple)) or not all(checks.is_int(n) and n >= 1
                                                           for n in value):
            raise ConfigError(f"{key} must be a list of positive integers (layer widths), "
                              f"got {value!r}")
        return list(value)

    def parse(self, text: str) -> Any:
        return positive_int.parse(text)

    def describe(self) -> str:
        return "list of integers ≥ 1"

    def json_schema(self) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "integer", "minimum": 1}}


class AutoOrCount(Rule):
    def __call__(self, key: str, value: Any) -> int | str:
        if value == "auto":
            return value
        if not checks.is_int(value) or value < 1:
            raise ConfigError(f"{key} must be 'auto' or a positive integer, got {value!r}")
        return value

    def parse(self, text: str) -> Any:
        return int(text) if text.isdigit() else text

    def describe(self) -> str:
        return "`auto` or integer ≥ 1"

    def json_schema(self) -> dict[str, Any]:
        return {"anyOf": [{"const": "auto"}, {"type": "integer", "minimum": 1}]}


class LayerTables(Rule):
    """``[[model.layers]]``: checked against the layer classes in :func:`check_layers`."""

    def __call__(self, key: str, value: Any) -> Any:
        return check_layers(value)

    def describe(self) -> str:
        return "list of layer tables"

    def json_schema(self) -> dict[str, Any]:
        kinds = [{"type": "object", "required": ["type"], "additionalProperties": False,
                  "properties": {"type": {"const": kind},
                                 **{option: {} for option in layer_options(cls)}}}
                 for kind, cls in sorted(LAYER_TYPES.items())]
        return {"type": "array", "minItems": 1, "items": {"oneOf": kinds}}


def _names(registry: dict[str, Any]) -> Callable[[], list[str]]:
    return lambda: list(registry)


EXPANSIONS = ("none", "shifts")
"""``data.expand``: none, or the book's four one-pixel shifts (N → 5N, ``augment.expand_shifts``)."""
LOG_WRITERS = ("none", "tensorboard")
"""``log.writer``: where the per-epoch metrics go besides ``metrics.jsonl``."""
AUGMENTATIONS = ("none", "random_shift")
"""``data.augment``: on-the-fly expansion each epoch (``augment.RandomShift``)."""


# -- the tables ---------------------------------------------------------------------------
def setting(default: Any, check: Rule, help: str, flag: str | None = None) -> Any:
    """A table field: its default, check, help text and command-line flag."""
    meta = {"check": check, "help": help, "flag": flag}
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class Data:
    """``[data]``: where the images come from and how they are split and expanded."""

    source: str = setting("mnist", Text(), "'mnist' (shipped, book split) or a folder of the "
                          "four IDX files", "--data")
    validation_size: int = setting(10000, Integer(0), "last N training images held out for "
                                   "validation (0 = none)", "--validation-size")
    train_size: int | None = setting(None, Maybe(Integer(1)), "train on the first N training "
                                     "images only", "--train-size")
    num_classes: int | None = setting(None, Maybe(Integer(1)), "number of classes (default: the "
                                      "largest label + 1); state it to train on labels of which "
                                      "fewer than half the classes occur, otherwise refused as "
                                      "stray (nnlearn.data.labels)", "--num-classes")
    expand: str = setting("none", OneOf(lambda: EXPANSIONS), "data expansion: 'shifts' adds "
                          "the book's four one-pixel shifts (N → 5N)", "--expand")
    augment: str = setting("none", OneOf(lambda: AUGMENTATIONS), "on-the-fly expansion, fresh "
                           "every epoch: 'random_shift' moves each image by up to "
                           "data.max_shift pixels in x and y", "--augment")
    max_shift: int = setting(1, Integer(1), "largest shift of data.augment = 'random_shift', "
                             "in pixels", "--max-shift")


@dataclass
class Model:
    """``[model]``: an MLP (``hidden``) or explicit ``[[model.layers]]``, and its cost."""

    hidden: list[int] = setting(defaults.HIDDEN, Widths(), "hidden layer widths of an MLP",
                                "--hidden")
    activation: str = setting(defaults.ACTIVATION, OneOf(_names(ACTIVATIONS)),
                              "hidden activation", "--activation")
    output_activation: str | None = setting(
        None, Maybe(OneOf(_names(ACTIVATIONS))), "output activation (default: the one the "
        "cost needs: sigmoid for cross_entropy, softmax for log_likelihood, linear for hinge; "
        "for quadratic, sigmoid under sigmoid hidden layers, else linear)",
        "--output-activation")
    cost: str = setting(defaults.COST, OneOf(_names(COSTS)), "cost function", "--cost")
    label_smoothing: float = setting(0.0, unit_interval, "label smoothing ε of the log_likelihood "
                                     "cost: targets (1 − ε)·one-hot + ε/K", "--label-smoothing")
    init: str = setting(defaults.WEIGHT_INIT, OneOf(_names(INITIALIZERS)), "weight "
                        "initialiser (normal_fan_in = N(0, 1/n_in); normal = N(0, 1))", "--init")
    bias_init: str = setting(defaults.BIAS_INIT, OneOf(_names(INITIALIZERS)), "bias initialiser",
                             "--bias-init")
    dtype: str = setting(defaults.DTYPE, OneOf(lambda: checks.FLOAT_DTYPES),
                         "floating-point precision", "--dtype")
    layers: list[dict[str, Any]] | None = setting(None, Maybe(LayerTables()), "explicit layer "
                                                  "tables (convnets); exclusive with model.hidden")


@dataclass
class Training:
    """``[training]``: the SGD loop."""

    epochs: int = setting(defaults.EPOCHS, Integer(1), "number of epochs", "--epochs")
    mini_batch_size: int = setting(defaults.MINI_BATCH_SIZE, Integer(1), "examples per minibatch",
                                   "--mini-batch-size")
    eta: float = setting(defaults.ETA, positive_number, "learning rate η", "--eta")
    seed: int | None = setting(None, Maybe(Integer(0)), "seed for a bit-reproducible run "
                               "(default: random)", "--seed")
    early_stopping: int = setting(defaults.EARLY_STOPPING, Integer(0), "stop after N epochs "
                                  "without a new best validation accuracy, restoring the best "
                                  "weights (0 = off)", "--early-stopping")
    threads: int | str = setting(defaults.THREADS, AutoOrCount(), "CPU threads sharing each "
                                 "minibatch: 'auto' splits large convnet minibatches over the "
                                 "cores, 1 never; BLAS keeps its own threads either way (hold "
                                 "a run to one core with OPENBLAS_NUM_THREADS=1; "
                                 "nnlearn.train.parallel)", "--threads")


@dataclass
class Optimizer:
    """``[optimizer]``: ``name`` plus that optimiser's own options (``mu = 0.9``, ...)."""

    name: str = setting("sgd", OneOf(_names(OPTIMIZERS)), "optimiser", "--optimizer")


@dataclass
class Schedule:
    """``[schedule]``: ``name`` plus that schedule's own options (``patience = 10``, ...)."""

    name: str = setting("constant", OneOf(_names(SCHEDULES)), "learning-rate schedule",
                        "--schedule")


@dataclass
class Regularization:
    """``[regularization]``: weight decay, dropout and max-norm."""

    lmbda: float = setting(defaults.LMBDA, non_negative_number, "L2 strength λ (w → (1 − ηλ/n) w)",
                           "--lmbda")
    l1: float = setting(0.0, non_negative_number, "L1 strength λ", "--l1")
    dropout: float = setting(0.0, unit_interval, "dropout probability after each hidden "
                             "activation (MLP)", "--dropout")
    max_norm: float = setting(0.0, non_negative_number, "max-norm bound c on each neuron's weights "
                              "(0 = off)", "--max-norm")


@dataclass
class Log:
    """``[log]``: where the per-epoch metrics go besides the run folder's ``metrics.jsonl``."""

    writer: str = setting("none", OneOf(LOG_WRITERS), "'tensorboard' also writes "
                          "TensorBoard event files into the run folder's tensorboard/: the "
                          "per-epoch costs, accuracies and η, and a histogram of each weight "
                          "array (" + install_hint("tensorboard") + ")", "--log")


@dataclass
class Experiment:
    """A whole config: two labels and the tables."""

    name: str | None = setting(None, Maybe(Text()), "label of the experiment; run folders are "
                               "named after it")
    description: str | None = setting(None, Maybe(Text()), "free text")


TABLES: dict[str, type] = {"data": Data, "model": Model, "training": Training,
                           "optimizer": Optimizer, "schedule": Schedule,
                           "regularization": Regularization, "log": Log}
"""The tables of a config, in the order they are written."""

OPTION_TABLES = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES}
"""Tables whose other keys are the options of the class that ``name`` selects."""


def option_names(table: str, name: str) -> list[str]:
    """The keys besides ``name`` that ``[table]`` takes when ``name`` selects a class: an
    optimiser's hyper-parameters, a schedule's constructor options."""
    cls = OPTION_TABLES[table][name]
    return list(cls.hyper) if table == "optimizer" else init_params(cls, exclude=("eta0",))


@dataclass(frozen=True)
class Field(Param):
    """One config key: its rule (``check``), default, help text and CLI flag (or ``None``)."""

    flag: str | None = None


def _fields(prefix: str, cls: type) -> dict[str, Field]:
    out = {}
    instance = cls()
    for f in dataclasses.fields(cls):
        out[prefix + f.name] = Field(f.metadata["check"], getattr(instance, f.name),
                                     f.metadata["help"], f.metadata["flag"])
    return out


SCHEMA: dict[str, Field] = {**_fields("", Experiment),
                            **{k: v for table, cls in TABLES.items()
                               for k, v in _fields(table + ".", cls).items()}}
"""Every key with its check, default, flag and help (dotted ``table.key`` names)."""


def check_layers(specs: Any) -> list[dict[str, Any]]:
    """Check the shape of ``model.layers``: tables with a known ``type`` and known options.

    Values are checked when the network is built (:func:`nnlearn.nn.builder.build_network`).
    """
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
        valid = layer_options(LAYER_TYPES[kind])
        for option in spec:
            if option != "type" and option not in valid:
                raise ConfigError(f"unknown key '{key}.{option}': {kind} takes "
                                  f"{', '.join(valid) if valid else 'no options'}")
        out.append(dict(spec))
    return out


def layer_options(cls: type) -> list[str]:
    """The options a ``[[model.layers]]`` table of this layer class may set."""
    return init_params(cls, exclude=("dtype", "seed"))


def init_params(cls: type, exclude: Sequence[str] = ()) -> list[str]:
    """The keyword parameters of ``cls.__init__`` (its config options)."""
    params = inspect.signature(cls.__init__).parameters
    return [p for p in params if p not in ("self", *exclude)
            and params[p].kind not in (inspect.Parameter.VAR_POSITIONAL,
                                       inspect.Parameter.VAR_KEYWORD)]


def markdown_reference() -> str:
    """The reference of every config key as markdown tables (``docs/config.md``)."""
    lines = ["# Experiment config reference", "",
             "Written by `python scripts/config_reference.py` from the tables of "
             "`nnlearn.experiments.config.schema`; do not edit by hand.", "",
             "Every key can be set in a TOML file (`[table]` then `key = value`), with its flag, "
             "or with `--set table.key=value`. Defaults live in `nnlearn.defaults`.", "",
             "**In an editor.** [config.schema.json](config.schema.json), written beside this "
             "file from the same tables, is a JSON Schema of a config file. Editors built on "
             "[Taplo](https://taplo.tamasfe.dev/) (VS Code's *Even Better TOML*, Zed, Helix, ...) "
             "then complete keys and values, show each key's help on hover and flag unknown "
             "keys and out-of-range values as you type. Point them at it with a first line in "
             "the config, `#:schema ../docs/config.schema.json` (a path relative to the TOML "
             "file, or a URL), or once for the project in `.taplo.toml`:", "",
             "```toml", "[[rule]]", "include = [\"configs/*.toml\"]",
             "schema.path = \"docs/config.schema.json\"", "```", "",
             "The same check on the command line: `taplo check --schema "
             "file://$PWD/docs/config.schema.json configs/quick.toml`. Space files "
             "(configs/search/) add `base`, `[search]` and `[sweep]`, which this schema does "
             "not describe.", ""]
    groups = [("top level", Experiment, "")] + [(f"[{t}]", c, t + ".") for t, c in TABLES.items()]
    for title, cls, prefix in groups:
        lines += [f"## {title}", "", (cls.__doc__ or "").strip().replace("``", "`"), "",
                  "| key | default | accepts | flag | meaning |", "|---|---|---|---|---|"]
        for name, f in _fields(prefix, cls).items():
            default = "unset" if f.default is None else f"`{f.default}`"
            lines.append(f"| `{name}` | {default} | {f.check.describe()} | "
                         f"{'`' + f.flag + '`' if f.flag else ''} | {f.help} |")
        if prefix[:-1] in OPTION_TABLES:
            names = ", ".join(f"`{n}`" for n in OPTION_TABLES[prefix[:-1]])
            lines += ["", f"Other keys of this table are the options of the selected class "
                      f"({names}); see their docstrings."]
        lines.append("")
    return "\n".join(lines)


def json_schema() -> dict[str, Any]:
    """Every config key as a JSON Schema (draft-07) that editors use to complete and check
    TOML configs (Taplo, Even Better TOML): the same tables, checks, defaults and help as
    ``docs/config.md``. The cross-key rules (``model.hidden`` xor ``model.layers``, validation
    data for early stopping) are left to ``nnlearn train`` itself."""
    def table_schema(prefix: str, cls: type) -> dict[str, Any]:
        properties = {}
        for name, f in _fields(prefix, cls).items():
            entry = {"description": f.help + (f" (flag {f.flag})" if f.flag else ""),
                     **f.check.json_schema()}
            if f.default is not None:
                entry["default"] = f.default
            properties[name[len(prefix):]] = entry
        return {"type": "object", "description": (cls.__doc__ or "").strip().replace("``", "`"),
                "properties": properties, "additionalProperties": False}

    tables = {}
    for table, cls in TABLES.items():
        tables[table] = table_schema(table + ".", cls)
        if table in OPTION_TABLES:  # name selects a class; the other keys are its options
            registry = OPTION_TABLES[table]
            options = sorted({o for name in registry for o in option_names(table, name)})
            tables[table]["properties"].update(
                {o: {"type": ["number", "string"], "description": f"an option of the selected "
                     f"{table} (see its docstring)"} for o in options})
            default = SCHEMA[f"{table}.name"].default
            rules = [{"if": {"required": ["name"], "properties": {"name": {"const": name}}},
                      "then": {"propertyNames": {"enum": ["name", *option_names(table, name)]}}}
                     for name in registry]
            rules.append({"if": {"not": {"required": ["name"]}},
                          "then": {"propertyNames": {"enum": option_names(table, default)}}})
            tables[table]["allOf"] = rules
    top = table_schema("", Experiment)
    top["properties"].update(tables)
    return {"$schema": "http://json-schema.org/draft-07/schema#",
            "title": "nnlearn experiment config",
            "description": "An nnlearn experiment file (TOML); written by `python "
                           "scripts/config_reference.py` from nnlearn.experiments.config.schema.",
            **{k: v for k, v in top.items() if k != "description"}}
