r"""The experiment config, described once: one dataclass per table.

Each field of the tables below carries its default (from :mod:`nnlearn.defaults`),
its check (a :class:`Check`: type and range), its help text and its command-line
flag. Everything else is derived from these classes:

* validation of config files and overrides (:func:`nnlearn.experiments.config.files.resolve`);
* the flags of ``nnlearn train`` and their ``--help`` (:mod:`nnlearn.cli.train`);
* the order of keys in ``--print-config`` and in a run folder's ``config.toml``;
* the reference table in ``docs/config.md`` (:func:`markdown_reference`).

A resolved config is a plain nested dict (``cfg["training"]["eta"]``), easy to write
as TOML and to compare; :data:`SCHEMA` maps each dotted key (``"training.eta"``) to its
:class:`Field`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from nnlearn import checks, defaults
from nnlearn.errors import ConfigError
from nnlearn.nn.costs import COSTS
from nnlearn.nn.init import INITIALIZERS
from nnlearn.nn.layers.activations import ACTIVATIONS
from nnlearn.optim.optimizers import OPTIMIZERS
from nnlearn.optim.schedules import SCHEDULES


# -- checks: the type and range of one value ---------------------------------------------
class Check:
    """The type and range of a config value.

    ``check(key, value)`` returns the value normalised or raises
    :class:`~nnlearn.errors.ConfigError` naming ``key``; ``parse(text)`` turns a
    command-line flag's text into a value (then checked); ``describe()`` says in words
    what is accepted (docs and ``--help``).
    """

    def __call__(self, key: str, value: Any) -> Any:
        return value

    def parse(self, text: str) -> Any:
        return text

    def choices(self) -> list[str] | None:
        """The valid names, for a check that takes one of a set; else ``None``."""
        return None

    def describe(self) -> str:
        return "any value"


class Text(Check):
    def __call__(self, key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise ConfigError(f"{key} must be a string, got {value!r}")
        return value

    def describe(self) -> str:
        return "text"


@dataclass(frozen=True)
class Integer(Check):
    minimum: int = 1

    def __call__(self, key: str, value: Any) -> int:
        return checks.integer(key, value, self.minimum)

    def parse(self, text: str) -> Any:
        try:
            return int(text)
        except ValueError:
            return text  # the check then says what was expected

    def describe(self) -> str:
        return "integer ≥ 1" if self.minimum == 1 else f"integer ≥ {self.minimum}"


@dataclass(frozen=True)
class Number(Check):
    rule: Callable[[str, Any], float]  # one of nnlearn.checks' number checks
    words: str

    def __call__(self, key: str, value: Any) -> float:
        return self.rule(key, value)

    def parse(self, text: str) -> Any:
        try:
            return float(text)
        except ValueError:
            return text

    def describe(self) -> str:
        return self.words


POSITIVE = Number(checks.positive_number, "number > 0")
NON_NEGATIVE = Number(checks.non_negative_number, "number ≥ 0")
PROBABILITY = Number(checks.unit_interval, "number in [0, 1)")


@dataclass(frozen=True)
class Choice(Check):
    names: Callable[[], Sequence[str]]

    def __call__(self, key: str, value: Any) -> str:
        valid = sorted(self.names())
        if not isinstance(value, str) or value not in valid:
            raise ConfigError(f"{key}: unknown value {value!r}; expected one of {', '.join(valid)}")
        return value

    def choices(self) -> list[str]:
        return sorted(self.names())

    def describe(self) -> str:
        return "one of " + ", ".join(f"`{n}`" for n in self.choices())


@dataclass(frozen=True)
class Maybe(Check):
    """``inner``, or nothing: ``None`` (left out of the TOML), or ``"none"`` for a choice."""

    inner: Check

    def __call__(self, key: str, value: Any) -> Any:
        if value is None or (self.inner.choices() is not None and value in ("none", "")):
            return None
        return self.inner(key, value)

    def parse(self, text: str) -> Any:
        return self.inner.parse(text)

    def choices(self) -> list[str] | None:
        names = self.inner.choices()
        return None if names is None else names + ["none"]

    def describe(self) -> str:
        return f"{self.inner.describe()}, or unset"


class Widths(Check):
    def __call__(self, key: str, value: Any) -> list[int]:
        if not isinstance(value, (list, tuple)) or not all(checks.is_int(n) and n >= 1
                                                           for n in value):
            raise ConfigError(f"{key} must be a list of positive integers (layer widths), "
                              f"got {value!r}")
        return list(value)

    def parse(self, text: str) -> Any:
        return Integer(1).parse(text)

    def describe(self) -> str:
        return "list of integers ≥ 1"


class AutoOrCount(Check):
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


class LayerTables(Check):
    """``[[model.layers]]``: checked against the layer classes in :func:`check_layers`."""

    def __call__(self, key: str, value: Any) -> Any:
        return check_layers(value)

    def describe(self) -> str:
        return "list of layer tables"


def _names(registry: dict[str, Any]) -> Callable[[], list[str]]:
    return lambda: list(registry)


EXPANSIONS = ("none", "shifts")
"""``data.expand``: none, or the book's four one-pixel shifts (N → 5N, ``augment.expand_shifts``)."""
AUGMENTATIONS = ("none", "random_shift")
"""``data.augment``: on-the-fly expansion each epoch (``augment.RandomShift``)."""


# -- the tables ---------------------------------------------------------------------------
def setting(default: Any, check: Check, help: str, flag: str | None = None) -> Any:
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
    expand: str = setting("none", Choice(lambda: EXPANSIONS), "data expansion: 'shifts' adds "
                          "the book's four one-pixel shifts (N → 5N)", "--expand")
    augment: str = setting("none", Choice(lambda: AUGMENTATIONS), "on-the-fly expansion, fresh "
                           "every epoch: 'random_shift' moves each image by up to "
                           "data.max_shift pixels in x and y", "--augment")
    max_shift: int = setting(1, Integer(1), "largest shift of data.augment = 'random_shift', "
                             "in pixels", "--max-shift")


@dataclass
class Model:
    """``[model]``: an MLP (``hidden``) or explicit ``[[model.layers]]``, and its cost."""

    hidden: list[int] = setting(defaults.HIDDEN, Widths(), "hidden layer widths of an MLP",
                                "--hidden")
    activation: str = setting(defaults.ACTIVATION, Choice(_names(ACTIVATIONS)),
                              "hidden activation", "--activation")
    output_activation: str | None = setting(
        None, Maybe(Choice(_names(ACTIVATIONS))), "output activation (default: the one the "
        "cost needs: sigmoid for cross_entropy, softmax for log_likelihood, linear for hinge; "
        "for quadratic, sigmoid under sigmoid hidden layers, else linear)",
        "--output-activation")
    cost: str = setting(defaults.COST, Choice(_names(COSTS)), "cost function", "--cost")
    label_smoothing: float = setting(0.0, PROBABILITY, "label smoothing ε of the log_likelihood "
                                     "cost: targets (1 − ε)·one-hot + ε/K", "--label-smoothing")
    init: str = setting(defaults.WEIGHT_INIT, Choice(_names(INITIALIZERS)), "weight "
                        "initialiser (normal_fan_in = N(0, 1/n_in); normal = N(0, 1))", "--init")
    bias_init: str = setting(defaults.BIAS_INIT, Choice(_names(INITIALIZERS)), "bias initialiser",
                             "--bias-init")
    dtype: str = setting(defaults.DTYPE, Choice(lambda: checks.FLOAT_DTYPES),
                         "floating-point precision", "--dtype")
    layers: list[dict[str, Any]] | None = setting(None, Maybe(LayerTables()), "explicit layer "
                                                  "tables (convnets); exclusive with model.hidden")


@dataclass
class Training:
    """``[training]``: the SGD loop."""

    epochs: int = setting(defaults.EPOCHS, Integer(1), "number of epochs", "--epochs")
    mini_batch_size: int = setting(defaults.MINI_BATCH_SIZE, Integer(1), "examples per minibatch",
                                   "--mini-batch-size")
    eta: float = setting(defaults.ETA, POSITIVE, "learning rate η", "--eta")
    seed: int | None = setting(None, Maybe(Integer(0)), "seed for a bit-reproducible run "
                               "(default: random)", "--seed")
    early_stopping: int = setting(defaults.EARLY_STOPPING, Integer(0), "stop after N epochs "
                                  "without a new best validation accuracy, restoring the best "
                                  "weights (0 = off)", "--early-stopping")
    threads: int | str = setting(defaults.THREADS, AutoOrCount(), "CPU threads sharing each "
                                 "minibatch: 'auto' splits large convnet minibatches over the "
                                 "cores, 1 never (nnlearn.train.parallel)", "--threads")


@dataclass
class Optimizer:
    """``[optimizer]``: ``name`` plus that optimiser's own options (``mu = 0.9``, ...)."""

    name: str = setting("sgd", Choice(_names(OPTIMIZERS)), "optimiser", "--optimizer")


@dataclass
class Schedule:
    """``[schedule]``: ``name`` plus that schedule's own options (``patience = 10``, ...)."""

    name: str = setting("constant", Choice(_names(SCHEDULES)), "learning-rate schedule",
                        "--schedule")


@dataclass
class Regularization:
    """``[regularization]``: weight decay, dropout and max-norm."""

    lmbda: float = setting(defaults.LMBDA, NON_NEGATIVE, "L2 strength λ (w → (1 − ηλ/n) w)",
                           "--lmbda")
    l1: float = setting(0.0, NON_NEGATIVE, "L1 strength λ", "--l1")
    dropout: float = setting(0.0, PROBABILITY, "dropout probability after each hidden "
                             "activation (MLP)", "--dropout")
    max_norm: float = setting(0.0, NON_NEGATIVE, "max-norm bound c on each neuron's weights "
                              "(0 = off)", "--max-norm")


@dataclass
class Experiment:
    """A whole config: two labels and the six tables."""

    name: str | None = setting(None, Maybe(Text()), "label of the experiment; run folders are "
                               "named after it")
    description: str | None = setting(None, Maybe(Text()), "free text")


TABLES: dict[str, type] = {"data": Data, "model": Model, "training": Training,
                           "optimizer": Optimizer, "schedule": Schedule,
                           "regularization": Regularization}
"""The tables of a config, in the order they are written."""

OPTION_TABLES = {"optimizer": OPTIMIZERS, "schedule": SCHEDULES}
"""Tables whose other keys are the options of the class that ``name`` selects."""


@dataclass(frozen=True)
class Field:
    """One config key: its check, default, help text and CLI flag (or ``None``)."""

    check: Check
    default: Any
    help: str
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
    from nnlearn.nn.layers import LAYER_TYPES

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
        valid = init_params(LAYER_TYPES[kind], exclude=("dtype", "seed"))
        for option in spec:
            if option != "type" and option not in valid:
                raise ConfigError(f"unknown key '{key}.{option}': {kind} takes "
                                  f"{', '.join(valid) if valid else 'no options'}")
        out.append(dict(spec))
    return out


def init_params(cls: type, exclude: Sequence[str] = ()) -> list[str]:
    """The keyword parameters of ``cls.__init__`` (its config options)."""
    import inspect

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
             "or with `--set table.key=value`. Defaults live in `nnlearn.defaults`.", ""]
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
