r"""The playground's "show the code" and CSV upload.

:func:`python_code` writes a script that rebuilds the playground's experiment with
the same calls the server makes (:func:`nnlearn.web.playground.build_network`'s
``Network.from_sizes`` and ``build_trainer``'s ``Trainer``), so running it gives the
page's loss curve number for number. :func:`toml_config` writes the network and
training settings as an ``nnlearn train`` config; ``nnlearn train`` reads MNIST or
IDX folders, not the playground's 2-D points, so the file says so and leaves the
``[data]`` table out.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy

from nnlearn.web.playground import Settings
from nnlearn.web.validation import FieldError

MAX_CSV_POINTS = 5000


def _regularizer_code(s: Settings) -> str:
    if s.regularization == "none" or s.reg_rate == 0:
        return "[]"
    return f"[nnlearn.{s.regularization.upper()}({s.reg_rate!r})]"


def python_code(settings: Settings, epochs: int) -> str:
    """A Python script that trains the playground's network for ``epochs`` epochs."""
    s = settings
    output = "sigmoid" if s.problem == "classification" else "linear"
    return f'''"""The nnlearn playground's experiment as a script (written by nnlearn serve)."""
import nnlearn
from nnlearn.data.toy import input_features, make_dataset

data = make_dataset({s.dataset!r}, n_points={s.n_points}, noise={s.noise / 100!r},
                    train_ratio={s.train_ratio / 100!r}, seed={s.data_seed})
features = {list(s.features)!r}
X_train, y_train = input_features(data.train_points, features), data.train_labels
X_test, y_test = input_features(data.test_points, features), data.test_labels

net = nnlearn.Network.from_sizes(
    {s.sizes!r}, activation={s.activation!r}, output_activation={output!r},
    cost={s.cost!r}, weight_init={s.init!r}, seed={s.seed}, dtype="float64")
trainer = nnlearn.Trainer(
    net, X_train, y_train, epochs={epochs}, mini_batch_size={s.batch_size},
    optimizer={s.optimizer!r}, eta={s.learning_rate!r}, regularizers={_regularizer_code(s)},
    validation_data=(X_test, y_test), monitor=["training_cost", "evaluation_cost"],
    threads=1)
history = trainer.run()
print(f"epoch {{len(history)}}: training loss {{history['training_cost'][-1]:.4f}}, "
      f"test loss {{history['evaluation_cost'][-1]:.4f}}")
'''


def toml_config(settings: Settings, epochs: int) -> str:
    """The network and training settings as an ``nnlearn train`` config (TOML)."""
    from nnlearn.experiments.config import files as config

    s = settings
    overrides: dict[str, Any] = {
        "name": "playground", "model.hidden": list(s.hidden), "model.activation": s.activation,
        "model.output_activation": "sigmoid" if s.problem == "classification" else "linear",
        "model.cost": s.cost, "model.init": s.init, "training.eta": s.learning_rate,
        "training.mini_batch_size": s.batch_size, "training.epochs": max(1, epochs),
        "training.seed": s.seed, "training.threads": 1, "optimizer.name": s.optimizer,
        "model.dtype": "float64", "regularization.lmbda": 0.0,
        "regularization.l1": s.reg_rate if s.regularization == "l1" else 0.0}
    if s.regularization == "l2":
        overrides["regularization.lmbda"] = s.reg_rate
    cfg = config.resolve(None, overrides=overrides)
    cfg.pop("data", None)
    features = ", ".join(s.features)
    return (f"# The playground's network and training settings (written by nnlearn serve).\n"
            f"# Its data: the {s.dataset!r} set, {s.n_points} points, noise {s.noise} %, "
            f"{s.train_ratio} % for training (seed {s.data_seed}),\n"
            f"# inputs {features}. `nnlearn train` reads MNIST or an IDX folder, not these\n"
            f"# 2-D points, so [data] is left out (it defaults to MNIST); the Python tab runs\n"
            f"# this experiment on the playground's data.\n" + config.dumps(cfg))


def parse_csv(text: Any, problem: str) -> tuple[numpy.ndarray, numpy.ndarray]:
    r"""Points and labels from CSV text with rows ``x1,x2,label`` (an optional header
    row is skipped). Coordinates must lie in [−6, 6]; labels are 0/1 for
    classification and in [−1, 1] for regression."""
    if not isinstance(text, str) or not text.strip():
        raise FieldError("csv", "must be the text of a CSV file with rows x1,x2,label")
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r)]
    values = []
    for n, row in enumerate(rows, 1):
        if len(row) != 3:
            raise FieldError("csv", f"line {n} has {len(row)} columns; expected 3: x1,x2,label")
        try:
            values.append([float(c) for c in row])
        except ValueError:
            if n == 1:
                continue  # a header
            raise FieldError("csv", f"line {n}: {row!r} is not three numbers") from None
    if not values:
        raise FieldError("csv", "has no data rows (expected rows x1,x2,label)")
    if len(values) > MAX_CSV_POINTS:
        raise FieldError("csv", f"has {len(values)} points; the playground takes at most {MAX_CSV_POINTS}")
    data = numpy.array(values)
    if not numpy.isfinite(data).all() or numpy.abs(data[:, :2]).max() > 6:
        raise FieldError("csv", "coordinates must be finite numbers in [-6, 6]")
    labels = data[:, 2]
    if problem == "classification" and not numpy.isin(labels, (0.0, 1.0)).all():
        raise FieldError("csv", "labels of a classification data set must be 0 or 1")
    if problem == "regression" and numpy.abs(labels).max() > 1:
        raise FieldError("csv", "targets of a regression data set must be in [-1, 1]")
    return data[:, :2], labels
