"""The playground's settings: what the page's controls may choose, each setting's check, and
:class:`Settings`, the frozen record of one experiment (the page's controls and its URL).

The checks reuse the config's rules (:mod:`nnlearn.checks`), narrowed to what the page offers,
so that whatever the page sends is refused or accepted here by the same rule ``nnlearn train``
applies to the TOML config the page exports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from nnlearn.checks import Integer, OneOf, Rule, positive_int
from nnlearn.data import toy
from nnlearn.errors import ConfigError
from nnlearn.web.validation import FieldError, ListOf, check, config_rule

# The choice lists: value → how the page writes it (served to the page by :func:`limits`).
ACTIVATIONS = {"tanh": "tanh", "relu": "ReLU", "sigmoid": "sigmoid", "linear": "linear"}
OPTIMIZERS = {"sgd": "SGD", "momentum": "momentum (μ = 0.9)", "adam": "Adam"}
COSTS = {"cross_entropy": "cross-entropy", "quadratic": "quadratic",
         "log_likelihood": "log-likelihood (softmax)"}
INITS = {"xavier": "Xavier N(0, 2/(n_in + n_out))", "he": "He N(0, 2/n_in)",
         "normal_fan_in": "N(0, 1/n_in)", "normal": "N(0, 1)"}
REGULARIZATIONS = {"none": "none", "l1": "L1", "l2": "L2"}
SCHEDULES = {"constant": "constant", "exponential": "exponential: η₀·0.95ᵉ",
             "step": "step: halve every 10 epochs"}
"""Learning-rate schedules (nnlearn.optim.schedules with their default options; η₀ is ``eta``)."""
DROPOUTS = (0.0, 0.1, 0.2, 0.3, 0.5)
"""Dropout probabilities the page offers (after each hidden layer; any value in [0, 0.5] is read)."""
MAX_LAYERS, MAX_NEURONS = 6, 8
MAX_CLASSES = 5
"""Most classes a classification set may have (labels 0 … MAX_CLASSES − 1)."""
ALIASES = {"learning_rate": "eta", "batch_size": "mini_batch_size", "reg_rate": "lmbda",
           "init": "weight_init"}
"""Older names of settings, still read (links shared before the names followed the config)."""


@dataclass(frozen=True)
class Settings:
    r"""Everything that defines a playground experiment (the page's controls and its URL).

    The names are the config's and ``Trainer``'s (``eta``, ``mini_batch_size``, ``lmbda``,
    ``weight_init``). ``noise`` and ``train_ratio`` are percentages, as on the page. ``lmbda`` is
    the book's λ (the penalty's gradient is (λ/n)·w for L2, (λ/n)·sgn w for L1, n the number
    of training points). ``seed`` seeds the weights and the minibatch order;
    ``data_seed`` the points.
    """

    dataset: str = "circle"
    noise: int = 0
    train_ratio: int = 50
    n_points: int = 500
    data_seed: int = 1
    features: tuple[str, ...] = ("x1", "x2")
    hidden: tuple[int, ...] = (4, 2)
    activation: str = "tanh"
    eta: float = 0.3
    mini_batch_size: int = 10
    optimizer: str = "sgd"
    cost: str = "cross_entropy"
    weight_init: str = "xavier"
    regularization: str = "none"
    lmbda: float = 0.0
    seed: int = 1
    classes: int = 2
    dropout: float = 0.0
    schedule: str = "constant"
    activations: tuple[str, ...] = ()
    """Per hidden layer; empty: ``activation`` for every hidden layer."""

    @property
    def problem(self) -> str:
        """``"classification"`` or ``"regression"`` (set by the data set)."""
        return toy.DATASETS[self.dataset]

    @property
    def outputs(self) -> int:
        """Output units: one per class from three classes on (softmax), else one."""
        return self.classes if self.problem == "classification" and self.classes > 2 else 1

    @property
    def output_activation(self) -> str:
        """Sigmoid (an output in (0, 1), read as p(class 1)) for two classes, softmax (K
        probabilities summing to 1) for more, linear (any real target) for regression:
        the one place this rule is written."""
        if self.problem == "regression":
            return "linear"
        return "softmax" if self.outputs > 1 else "sigmoid"

    @property
    def hidden_activation(self) -> str | list[str]:
        """``activation``, or the per-layer list where ``activations`` gives one."""
        return list(self.activations) if self.activations else self.activation

    @property
    def sizes(self) -> list[int]:
        """Layer widths: inputs, hidden layers, outputs."""
        return [len(self.features), *self.hidden, self.outputs]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(features=list(self.features), hidden=list(self.hidden), problem=self.problem,
                   activations=list(self.activations))
        return out


LIVE_FIELDS = ("eta", "mini_batch_size", "regularization", "lmbda", "schedule")
"""Settings that change while training goes on (the network is kept)."""
DATA_FIELDS = ("dataset", "noise", "train_ratio", "n_points", "data_seed")
"""Settings that make new points (and a new network)."""


class Features(Rule):
    """A non-empty list of the input features of :data:`nnlearn.data.toy.FEATURES`, each
    once; returned in that canonical order."""

    def __call__(self, name: str, value: Any) -> tuple[str, ...]:
        names = list(toy.FEATURES)
        if not isinstance(value, (list, tuple)) or not value or \
                not all(isinstance(v, str) and v in names for v in value):
            raise ConfigError(f"{name} must be a non-empty list of {', '.join(names)}; "
                              f"got {value!r}")
        if len(set(value)) != len(value):
            raise ConfigError(f"{name} lists a feature twice: {value!r}")
        return tuple(n for n in names if n in value)

    def describe(self) -> str:
        return "list of " + ", ".join(toy.FEATURES)


SEED_MAX = 2 ** 31 - 1
_ACTIVATION = config_rule("model.activation", tuple(ACTIVATIONS))
RULES: dict[str, Rule] = {
    "dataset": OneOf(tuple(toy.DATASETS)),
    "noise": Integer(0, 50),
    "train_ratio": Integer(10, 90),
    "n_points": Integer(10, 2000),
    "data_seed": Integer(0, SEED_MAX),
    "features": Features(),
    "hidden": ListOf(positive_int.narrow(high=MAX_NEURONS), 0, MAX_LAYERS, "layer widths"),
    "activation": _ACTIVATION,
    "activations": ListOf(_ACTIVATION, 0, MAX_LAYERS, "activation names (one per hidden layer)"),
    "eta": config_rule("training.eta", high=10.0),
    "mini_batch_size": config_rule("training.mini_batch_size", high=1000),
    "optimizer": config_rule("optimizer.name", tuple(OPTIMIZERS)),
    "cost": config_rule("model.cost", tuple(COSTS)),
    "weight_init": config_rule("model.init", tuple(INITS)),
    "regularization": OneOf(tuple(REGULARIZATIONS)),
    "lmbda": config_rule("regularization.lmbda", high=10.0),
    "seed": config_rule("training.seed", high=SEED_MAX),
    "classes": config_rule("data.num_classes", low=2, high=MAX_CLASSES),
    "dropout": config_rule("regularization.dropout", high=0.5),
    "schedule": config_rule("schedule.name", tuple(SCHEDULES)),
}
"""The rule of each setting (:mod:`nnlearn.checks`). A setting that is also a config key
(``eta`` is ``training.eta``, ``weight_init`` is ``model.init``, ``classes`` is
``data.num_classes``, ...) is checked by that key's rule narrowed to what the page offers
(:meth:`~nnlearn.checks.Rule.narrow` never widens), so the TOML config the page exports
(:func:`nnlearn.web.code_export.toml_config`) always passes ``nnlearn train``'s check."""
PROBLEMS = OneOf(("classification", "regression"))


def parse_settings(raw: Any, base: Settings | None = None) -> Settings:
    """Settings from a JSON object: ``base`` (default: the defaults) with the given fields
    replaced, each checked. ``problem`` may be given and must match the data set; a
    regression data set without a given cost gets the quadratic one. The older names of
    :data:`ALIASES` are read as their new ones."""
    base = base or Settings()
    if not isinstance(raw, dict):
        raise FieldError("settings", f"must be a JSON object, got {type(raw).__name__}")
    raw = {ALIASES.get(key, key): value for key, value in raw.items()}
    known = {f.name for f in fields(Settings)}
    for key in raw:
        if key not in known and key != "problem":
            raise FieldError(key, f"unknown setting; the settings are {', '.join(sorted(known))}")
    settings = replace(base, **{key: check(key, RULES[key], value) for key, value in raw.items()
                                if key != "problem"})
    if "activation" in raw and "activations" not in raw:
        settings = replace(settings, activations=())  # one activation for every layer again
    if settings.activations:  # one per hidden layer: new layers take the last one's
        names = settings.activations[:len(settings.hidden)]
        names += (names[-1] if names else settings.activation,) * (len(settings.hidden) - len(names))
        settings = replace(settings, activations=() if len(set(names)) <= 1 and
                           names[:1] in ((), (settings.activation,)) else names)
    fixed = toy.CLASSES.get(settings.dataset)  # a built-in set's classes; custom: as given
    if fixed is not None and settings.classes != fixed:
        if "classes" in raw:
            raise FieldError("classes", f"the {settings.dataset!r} set has {fixed} classes; "
                                        "choose the custom set for another number")
        settings = replace(settings, classes=fixed)
    if "cost" not in raw:
        if settings.problem == "regression":
            settings = replace(settings, cost="quadratic")  # the only cost for real-valued targets
        elif settings.outputs > 1 and settings.cost == "cross_entropy":
            settings = replace(settings, cost="log_likelihood")  # softmax's own cost
        elif settings.outputs == 1 and settings.cost == "log_likelihood":
            settings = replace(settings, cost="cross_entropy")
    problem = raw.get("problem", settings.problem)
    check("problem", PROBLEMS, problem)
    if problem != settings.problem:
        choices = [n for n, p in toy.DATASETS.items() if p == problem]
        raise FieldError("dataset", f"{settings.dataset!r} is a {settings.problem} data set; "
                                    f"for {problem} choose one of {', '.join(choices)}")
    if settings.problem == "regression" and settings.cost != "quadratic":
        raise FieldError("cost", "regression needs the quadratic cost (cross-entropy needs "
                                 "labels in [0, 1])")
    if settings.outputs > 1 and settings.cost == "cross_entropy":
        raise FieldError("cost", f"{settings.classes} classes have a softmax output: use "
                                 "log_likelihood (or quadratic)")
    if settings.outputs == 1 and settings.cost == "log_likelihood":
        raise FieldError("cost", "log_likelihood needs a softmax output, i.e. three or more "
                                 "classes; two classes use cross_entropy")
    return settings


def limits() -> dict[str, Any]:
    """What the page's controls may offer, from the checks above (one home for each list)."""
    return {"max_layers": MAX_LAYERS, "max_neurons": MAX_NEURONS, "max_classes": MAX_CLASSES,
            "classes": toy.CLASSES, "activations": ACTIVATIONS,
            "optimizers": OPTIMIZERS, "costs": COSTS, "weight_inits": INITS,
            "regularizations": REGULARIZATIONS, "schedules": SCHEDULES,
            "dropouts": DROPOUTS, "aliases": ALIASES,
            "fields": [f.name for f in fields(Settings)]}
