r"""The playground's "show the code" and CSV upload.

:func:`python_code` writes a script that replays a session with the same calls the
server makes (:func:`nnlearn.web.playground.build_network`'s ``Network.from_sizes``
and ``build_trainer``'s ``Trainer``), so running it gives the page's loss curve number
for number in every state: the points are a built-in set's ``make_dataset`` call or,
for an uploaded CSV and for points added by clicks, the points themselves; the epochs
trained with each setting of ``eta``, ``mini_batch_size`` and the penalty (changed while
training) are replayed in order (the session's ``schedule``). :func:`toml_config` dumps
the settings that ``nnlearn train`` knows into its config (:data:`CONFIG_KEYS`);
``nnlearn train`` reads MNIST or IDX folders, not the playground's 2-D points, so the
file says so and leaves the ``[data]`` table out.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy

from nnlearn.experiments.config import files as config
from nnlearn.web.playground import MAX_CLASSES, Segment, Session, penalty
from nnlearn.web.validation import FieldError

MAX_CSV_POINTS = 5000

CONFIG_KEYS = {"hidden": "model.hidden", "activation": "model.activation",
               "output_activation": "model.output_activation", "cost": "model.cost",
               "weight_init": "model.init", "eta": "training.eta",
               "mini_batch_size": "training.mini_batch_size", "seed": "training.seed",
               "optimizer": "optimizer.name", "schedule": "schedule.name",
               "dropout": "regularization.dropout"}
"""Playground setting → ``nnlearn train`` config key, where the config has one (the names
are the same but for the table; ``weight_init`` is the config's ``model.init``)."""


def _regularizer_code(kind: str, lmbda: float) -> str:
    return "[]" if kind == "none" else f"[nnlearn.{kind.upper()}({lmbda!r})]"


def _rows(array: numpy.ndarray) -> str:
    """An (N, 3) array as a Python literal, one point per line (floats written exactly)."""
    return "numpy.array([\n" + "".join(f"    {row!r},\n" for row in array.tolist()) + \
        "]).reshape(-1, 3)"


def python_code(session: Session) -> str:
    """A Python script that replays the session's training: it ends with the page's
    epoch and losses (one epoch when the page has not trained yet).

    Each :class:`~nnlearn.web.playground.Segment` becomes one ``Trainer`` run on the same
    network, optimiser and learning-rate schedule (so their state carries on, as on the
    server), after the weights set by hand before it."""
    with session.lock:
        s, data = session.settings, session.data
        added = numpy.column_stack([session.custom_points, session.custom_labels])
        uploaded = None if session.uploaded is None else numpy.column_stack(session.uploaded)
        kind, lmbda = penalty(s)
        segments = list(session.segments) or [Segment(
            1, s.eta, s.mini_batch_size, kind, lmbda, s.schedule, len(added), s.eta,
            tuple(session.pending_edits))]
        trailing = list(session.pending_edits) if session.segments else []
    has_test = len(data.test_labels) > 0
    cast = ".astype(int)" if s.outputs > 1 else ""  # class labels, one output per class
    if uploaded is None:
        source = (f"data = make_dataset({s.dataset!r}, n_points={s.n_points}, noise={s.noise / 100!r},\n"
                  f"                    train_ratio={s.train_ratio / 100!r}, seed={s.data_seed})\n")
    else:
        source = (f"# the uploaded CSV file's points (x1, x2, label), split as on the page\n"
                  f"uploaded = {_rows(uploaded)}\n"
                  f"data = split(uploaded[:, :2], uploaded[:, 2], train_ratio={s.train_ratio / 100!r}, "
                  f"seed={s.data_seed})\n")
    used = max(seg.n_added for seg in segments)
    if used:
        source += (f"# the points added by clicks on the page (x1, x2, label), in order\n"
                   f"added = {_rows(added[:used])}\n")
    validation = "validation_data=(X_test, y_test), monitor=[\"training_cost\", \"evaluation_cost\"]" \
        if has_test else "monitor=[\"training_cost\"]"
    if used:
        training = f'''

def training_set(n_added):
    """The page's training points with the first n_added clicked ones."""
    points = numpy.concatenate([data.train_points, added[:n_added, :2]])
    labels = numpy.concatenate([data.train_labels, added[:n_added, 2]])
    return input_features(points, features), labels{cast}

'''
    else:
        training = f"X_train, y_train = input_features(data.train_points, features), data.train_labels{cast}\n"
    scheduled = any(seg.schedule != "constant" for seg in segments)
    lines = [f'''"""The nnlearn playground's experiment as a script (written by nnlearn serve)."""
import numpy

import nnlearn
from nnlearn.data.toy import input_features, make_dataset, split
from nnlearn.optim import get_optimizer, get_schedule

{source}features = {list(s.features)!r}
X_test, y_test = input_features(data.test_points, features), data.test_labels{cast}
{training}
net = nnlearn.Network.from_sizes(
    {s.sizes!r}, activation={s.hidden_activation!r}, output_activation={s.output_activation!r},
    cost={s.cost!r}, weight_init={s.weight_init!r}, dropout={s.dropout!r}, seed={s.seed}, dtype="float64")
optimizer = get_optimizer({s.optimizer!r}, {segments[0].start_eta!r})  # one optimiser and one schedule
lr_schedule = get_schedule({segments[0].schedule!r})                 # for the whole run: their state carries on
history = nnlearn.History()
''' + ("dense_layers = [layer for layer in net.layers if 'W' in layer.params]\n"
                 if trailing or any(seg.edits for seg in segments) else "")]
    done, schedule = 0, segments[0].schedule
    for seg in segments:
        lines += _edit_lines(seg.edits)
        data_args = f"*training_set({seg.n_added})" if used else "X_train, y_train"
        settings_line = f"optimizer.eta, lr_schedule.eta0 = {seg.start_eta!r}, {seg.eta!r}"
        lines.append(f"# epochs {done + 1}–{done + seg.epochs}" if seg.epochs > 1 else f"# epoch {done + 1}")
        if seg.schedule != schedule:  # chosen on the page: a fresh schedule
            lines.append(f"lr_schedule = get_schedule({seg.schedule!r})")
            schedule = seg.schedule
        if len(segments) > 1 or scheduled:
            lines.append(settings_line)
        lines.append(f'''nnlearn.Trainer(
    net, {data_args}, epochs={seg.epochs}, mini_batch_size={seg.mini_batch_size}, optimizer=optimizer,
    schedule=lr_schedule, regularizers={_regularizer_code(seg.regularization, seg.lmbda)},
    {validation}, history=history, threads=1).run()''')
        done += seg.epochs
    lines += _edit_lines(trailing)
    test = ", test loss {history['evaluation_cost'][-1]:.4f}" if has_test else ""
    lines.append(f'''print(f"epoch {{len(history)}}: training loss {{history['training_cost'][-1]:.4f}}{test}")
''')
    return "\n".join(lines)


def _edit_lines(edits) -> list[str]:
    return [f"dense_layers[{layer}].params['W'][{k}, {j}] = {value!r}  # set by hand on the page"
            for layer, k, j, value in edits]


def toml_config(session: Session) -> str:
    """The session's settings as an ``nnlearn train`` config (TOML): each of
    :data:`CONFIG_KEYS` and the penalty (``regularization.lmbda`` for L2,
    ``regularization.l1`` for L1); ``training.epochs`` is the page's epoch count."""
    with session.lock:
        s, epochs, uploaded = session.settings, len(session.history), session.uploaded
    kind, lmbda = penalty(s)
    overrides: dict[str, Any] = {key: getattr(s, name) for name, key in CONFIG_KEYS.items()}
    per_layer = f"# hidden activations per layer: {', '.join(s.activations)} (model.activation below\n" \
        "# is the first; a [[model.layers]] list or the Python tab gives each its own).\n" if s.activations else ""
    overrides.update({"name": "playground", "model.hidden": list(s.hidden),
                      "model.activation": s.activations[0] if s.activations else s.activation,
                      "training.epochs": max(1, epochs), "training.threads": 1,
                      "model.dtype": "float64",
                      "regularization.lmbda": lmbda if kind == "l2" else 0.0,
                      "regularization.l1": lmbda if kind == "l1" else 0.0})
    cfg = config.resolve(None, overrides=overrides)
    cfg.pop("data", None)
    features = ", ".join(s.features)
    data = f"the {s.dataset!r} set, {s.n_points} points, noise {s.noise} %" if uploaded is None \
        else f"an uploaded CSV file of {len(uploaded[1])} points"
    return (f"# The playground's network and training settings (written by nnlearn serve).\n"
            f"# Its data: {data}, {s.train_ratio} % for training (seed {s.data_seed}),\n"
            f"# inputs {features}. `nnlearn train` reads MNIST or an IDX folder, not these\n"
            f"# 2-D points, so [data] is left out (it defaults to MNIST); the Python tab runs\n"
            f"# this experiment on the playground's data.\n" + per_layer + config.dumps(cfg))


def parse_csv(text: Any, problem: str) -> tuple[numpy.ndarray, numpy.ndarray]:
    r"""Points and labels from CSV text with rows ``x1,x2,label`` (an optional header
    row is skipped). Coordinates must lie in [−6, 6]; labels are classes 0 … K−1
    (K ≤ ``MAX_CLASSES``) for classification and in [−1, 1] for regression."""
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
    if problem == "classification" and not numpy.isin(labels, numpy.arange(MAX_CLASSES)).all():
        raise FieldError("csv", f"labels of a classification data set must be classes 0 to "
                                f"{MAX_CLASSES - 1} (whole numbers)")
    if problem == "regression" and numpy.abs(labels).max() > 1:
        raise FieldError("csv", "targets of a regression data set must be in [-1, 1]")
    return data[:, :2], labels
