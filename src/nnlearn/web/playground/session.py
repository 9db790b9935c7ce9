"""One playground session: a small network trained by nnlearn on a 2-D data set, one per
browser tab, and what the page draws of it.

A :class:`Session` holds the :class:`~nnlearn.web.playground.settings.Settings`, the data, an
:class:`~nnlearn.nn.network.Network` and a :class:`~nnlearn.train.trainer.Trainer` (one
playground *epoch* is one ``Trainer.run(epochs=1)``: a shuffled pass over the training points
in minibatches). :meth:`Session.snapshot` renders what the page draws; :meth:`Session.backprop`
gives the book's equations with numbers, for one point.
"""

from __future__ import annotations

import base64
import copy
import math
import secrets
import threading
import time
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy

from nnlearn.data import toy
from nnlearn.errors import DivergenceError
from nnlearn.nn.layers import Dropout
from nnlearn.nn.network import Network
from nnlearn.nn.regularizers import L1, L2, decay_pairs
from nnlearn.optim.optimizers import get_optimizer
from nnlearn.optim.schedules import get_schedule
from nnlearn.train.trainer import History, Trainer
from nnlearn.web.playground.settings import DATA_FIELDS, LIVE_FIELDS, Settings, parse_settings
from nnlearn.web.validation import FieldError

BOUNDARY_RESOLUTION = 64
"""Pixels per side of the output heat map; neuron thumbnails use every second pixel."""
DEAD_RANGE = 1e-4
"""A unit whose output varies less than this over the training points counts as dead."""
RUN_EPOCHS = 1_000_000_000
"""The Trainer's nominal length: a playground runs until the page pauses it."""


# -- the network and its trainer, from settings (the exported code makes the same calls) --------
def build_network(settings: Settings):
    """``Network.from_sizes`` for these settings (output activation: :attr:`Settings.
    output_activation`); float64 so that the backprop numbers are exact to print."""
    return Network.from_sizes(settings.sizes, activation=settings.hidden_activation,
                              output_activation=settings.output_activation, cost=settings.cost,
                              weight_init=settings.weight_init, dropout=settings.dropout,
                              seed=settings.seed, dtype="float64")


def penalty(settings: Settings) -> tuple[str, float]:
    """``(regularization, lmbda)`` with "no penalty" written one way: ``("none", 0.0)``."""
    if settings.regularization == "none" or settings.lmbda == 0:
        return "none", 0.0
    return settings.regularization, settings.lmbda


def regularizers(settings: Settings) -> list:
    """The L1 or L2 penalty of the settings (empty for none or a zero rate)."""
    kind, lmbda = penalty(settings)
    return [] if kind == "none" else [(L1 if kind == "l1" else L2)(lmbda)]


def build_trainer(settings: Settings, network, optimizer, lr_schedule, history, train, test):
    """A Trainer continuing ``history`` with ``optimizer`` and ``lr_schedule`` (instances, so
    their state and step count carry over when the settings change)."""
    has_test = len(test[1]) > 0
    return Trainer(network, *train, epochs=RUN_EPOCHS, mini_batch_size=settings.mini_batch_size,
                   optimizer=optimizer, regularizers=regularizers(settings), schedule=lr_schedule,
                   validation_data=test if has_test else None,
                   monitor=("training_cost", "evaluation_cost") if has_test else ("training_cost",),
                   history=history, threads=1)


def dense_and_activations(network) -> list[tuple[Any, Any]]:
    """The network's (Dense layer, its activation layer) pairs, Dropout layers left out."""
    layers = [layer for layer in network.layers if not isinstance(layer, Dropout)]
    return list(zip(layers[::2], layers[1::2]))


def json_safe(value: Any) -> Any:
    """``value`` with every NaN or ±inf float replaced by ``None`` (JSON has no such numbers;
    Starlette refuses them and browsers cannot parse Python's bare ``NaN``)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def encode_map(values: numpy.ndarray, scale: float) -> str:
    """A heat map as base64 bytes: ``round((v/scale + 1)·127.5)`` clipped to 0–255
    (128 is zero, 0 is −scale, 255 is +scale)."""
    q = numpy.clip(numpy.rint((values / scale + 1.0) * 127.5), 0, 255).astype(numpy.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def feature_maps(resolution: int) -> dict[str, str]:
    """Every input feature over the square, as heat maps (:func:`encode_map`, scale 1)."""
    X = toy.input_features(toy.grid(resolution), list(toy.FEATURES))
    return {name: encode_map(X[:, i], 1.0) for i, name in enumerate(toy.FEATURES)}


def dataset_previews(n_points: int = 150) -> dict[str, dict[str, Any]]:
    """A small noise-free sample of every data set, for the page's data set buttons."""
    previews = {}
    for name, problem in toy.DATASETS.items():
        P, y = toy.make_points(name, n_points, 0.0, 1)
        previews[name] = {"problem": problem,
                          "points": numpy.column_stack([P, y]).round(3).tolist()}
    return previews


@dataclass
class Segment:
    """Consecutive epochs trained with the same live settings and the same training points
    (the first ``n_added`` clicked points), after the weights set by hand in ``edits``
    (``(layer, k, j, value)``: ``W[k, j]`` of Dense layer ``layer``): one step of the run
    the exported code replays. ``start_eta`` is the optimiser's η when the segment began
    (a learning-rate schedule moves it away from ``eta``, the schedule's η₀)."""

    epochs: int
    eta: float
    mini_batch_size: int
    regularization: str
    lmbda: float
    schedule: str
    n_added: int
    start_eta: float
    edits: tuple[tuple[int, int, int, float], ...] = ()


class Session:
    """One tab's experiment: settings, data, network, trainer, and the play state.

    The data are a built-in set (``uploaded`` is False) or the points of a CSV file,
    plus the points added by clicks. ``schedule`` lists the epochs trained since the
    last reset with the settings of each (:class:`Segment`), so the exported code can
    replay the page's run exactly. All methods take the session's lock, so the stream
    that trains and the requests that change settings or ask for backprop never see a
    half-updated network.
    """

    def __init__(self, settings: Settings, session_id: str | None = None):
        self.id = session_id or secrets.token_urlsafe(9)
        self.lock = threading.RLock()
        self.last_seen = time.monotonic()
        self.playing = False
        self.error: str | None = None
        self.version = 0          # bumped on every change the page must draw
        self.data_version = 0     # bumped when the points change
        self.generation = 0       # bumped when the network starts over (history restarts)
        self.stream_token: object | None = None  # the one stream that drives this session
        self.settings = settings
        self.uploaded: tuple[numpy.ndarray, numpy.ndarray] | None = None
        self.custom_points = numpy.zeros((0, 2))
        self.custom_labels = numpy.zeros(0)
        self.segments: list[Segment] = []
        self.pending_edits: list[tuple[int, int, int, float]] = []
        self._make_data()
        self.reset()

    # -- state changes ------------------------------------------------------------------
    def touch(self) -> None:
        self.last_seen = time.monotonic()

    def set_playing(self, playing: bool) -> None:
        """Play (the stream trains one epoch per update) or pause."""
        with self.lock:
            if self.playing != playing:
                self.playing = playing
                self.version += 1

    def _make_data(self) -> None:
        """The points: the built-in set of the settings, or the uploaded ones split anew
        (by ``train_ratio`` and ``data_seed``); the clicked points are dropped."""
        s = self.settings
        if self.uploaded is None:
            self.data = toy.make_dataset(s.dataset, n_points=s.n_points, noise=s.noise / 100,
                                         train_ratio=s.train_ratio / 100, seed=s.data_seed)
        else:
            self.data = toy.split(*self.uploaded, s.train_ratio / 100, s.data_seed)
        self.custom_points, self.custom_labels = numpy.zeros((0, 2)), numpy.zeros(0)
        self.data_version += 1

    def _labels(self, labels: numpy.ndarray) -> numpy.ndarray:
        """Class labels as integers where the network has one output per class."""
        return labels.astype(numpy.int64) if self.settings.outputs > 1 else labels

    def _train_split(self):
        points = numpy.concatenate([self.data.train_points, self.custom_points])
        labels = numpy.concatenate([self.data.train_labels, self.custom_labels])
        return toy.input_features(points, self.settings.features), self._labels(labels)

    def _test_split(self):
        return (toy.input_features(self.data.test_points, self.settings.features),
                self._labels(self.data.test_labels))

    def _rebuild_trainer(self) -> None:
        train, test = self._train_split(), self._test_split()
        self.trainer = None if len(train[1]) == 0 else build_trainer(
            self.settings, self.network, self.optimizer, self.lr_schedule, self.history, train, test)

    def _new_schedule(self) -> None:
        """The learning-rate schedule of the settings, with η₀ = ``eta``."""
        self.lr_schedule = get_schedule(self.settings.schedule)
        self.lr_schedule.eta0 = self.settings.eta

    def reset(self) -> None:
        """A fresh network (same seed: the same initial weights), epoch 0, paused."""
        with self.lock:
            self.network = build_network(self.settings)
            self.optimizer = get_optimizer(self.settings.optimizer, self.settings.eta)
            self._new_schedule()
            self.history = History()
            self.segments, self.pending_edits = [], []
            self.error = None
            self.playing = False
            self.generation += 1
            self._rebuild_trainer()
            self.version += 1

    def update(self, settings: Settings, new_data: bool = False) -> None:
        """Apply new settings: ``eta``, ``mini_batch_size`` and regularisation change while
        training goes on; a new data set regenerates the points; anything else resets.

        Uploaded points stay until a data set is chosen (``new_data``: the page's data set
        buttons, even the one already selected): ``noise`` and ``n_points`` do not apply
        to them, ``train_ratio`` and ``data_seed`` split them anew."""
        with self.lock:
            old, self.settings = self.settings, settings
            changed = {f.name for f in fields(Settings) if getattr(old, f.name) != getattr(settings, f.name)}
            if new_data or "dataset" in changed:
                self.uploaded = None
                changed.add("dataset")
            if self.uploaded is not None:
                changed -= {"noise", "n_points"}
            if not changed:
                return
            self.error = None  # new settings: training may go on
            if changed & set(DATA_FIELDS):
                self._make_data()
            if changed - set(LIVE_FIELDS):
                self.reset()
                return
            if changed & {"eta", "schedule"}:  # η is set anew; a schedule starts from it
                self.optimizer.eta = settings.eta
                self._new_schedule()
            self._rebuild_trainer()
            self.version += 1

    def regenerate(self) -> None:
        """New points from the next data seed (and a fresh network)."""
        self.update(replace(self.settings, data_seed=self.settings.data_seed + 1))

    def add_point(self, x: float, y: float, label: float) -> None:
        """Add a training point (label 0/1 for classification, a target in [−1, 1] otherwise)."""
        with self.lock:
            self.custom_points = numpy.concatenate([self.custom_points, [[x, y]]])
            self.custom_labels = numpy.concatenate([self.custom_labels, [label]])
            self.data_version += 1
            self._rebuild_trainer()
            self.version += 1

    def set_points(self, points: numpy.ndarray, labels: numpy.ndarray) -> None:
        """Replace the data by these points (from a CSV file), split by ``train_ratio``.
        Classification points make the set ``custom`` with as many classes as the labels
        name (at least two)."""
        with self.lock:
            if self.settings.problem == "classification":
                classes = max(2, int(labels.max()) + 1)
                self.settings = parse_settings({"dataset": "custom", "classes": classes},
                                               replace(self.settings, dataset="custom"))
            self.uploaded = (points, labels)
            self._make_data()
            self.reset()

    def step(self, epochs: int = 1) -> None:
        """Train for ``epochs`` epochs (nothing without training points).

        An epoch that diverges (NaN or inf in the outputs, weights or costs) is undone:
        the network, the minibatch order and the optimiser go back to the end of the
        last finite epoch, training pauses, and ``error`` holds the Trainer's message."""
        with self.lock:
            if self.trainer is None or self.error:
                self.playing = False
                return
            for _ in range(epochs):
                start_eta = self.optimizer.eta
                saved = (self.network.state_dict(), self.lr_schedule.state_dict(),
                         copy.deepcopy(self.network.rng.bit_generator.state),
                         self.optimizer.state_dict())
                try:
                    self.trainer.run(1)
                except (DivergenceError, FloatingPointError) as exc:
                    self.network.load_state_dict(saved[0])
                    self.lr_schedule.load_state_dict(saved[1])
                    self.network.rng.bit_generator.state = saved[2]
                    self.optimizer.load_state_dict(saved[3])
                    self._rebuild_trainer()  # the Trainer's own epoch state, afresh
                    self.error = (f"{exc}. Training stopped; the network is kept as it was after "
                                  f"epoch {len(self.history)}, its last finite state. Change a "
                                  "setting and play again, or reset.")
                    self.playing = False
                    break
                self._log_epoch(start_eta)
            self.version += 1

    def _log_epoch(self, start_eta: float) -> None:
        s = self.settings
        kind, lmbda = penalty(s)
        segment = Segment(1, s.eta, s.mini_batch_size, kind, lmbda, s.schedule,
                          len(self.custom_labels), start_eta, tuple(self.pending_edits))
        self.pending_edits = []
        last = self.segments[-1] if self.segments else None
        if last and not segment.edits and replace(last, epochs=1, start_eta=start_eta, edits=()) == segment:
            last.epochs += 1
        else:
            self.segments.append(segment)

    def set_weight(self, layer: int, k: int, j: int, value: float) -> None:
        """Set weight ``W[k, j]`` of Dense layer ``layer`` (from unit k to unit j) by hand;
        training goes on from the edited network (the exported code replays the edit)."""
        with self.lock:
            dense = [d for d, _ in dense_and_activations(self.network)]
            if not 0 <= layer < len(dense):
                raise FieldError("layer", f"must be a layer from 0 to {len(dense) - 1}, got {layer}")
            W = dense[layer].params["W"]
            for field, index, size in (("from", k, W.shape[0]), ("to", j, W.shape[1])):
                if not 0 <= index < size:
                    raise FieldError(field, f"must be a unit from 0 to {size - 1}, got {index}")
            W[k, j] = value
            self.pending_edits.append((layer, k, j, float(value)))
            self.version += 1

    def model_file(self, path) -> None:
        """Write the network as an nnlearn model file (``nnlearn.load``, ``nnlearn predict``);
        its metadata say which input features it reads."""
        with self.lock:
            self.network.save(path, metadata={
                "source": "nnlearn serve playground", "epochs": len(self.history),
                "inputs": list(self.settings.features), "settings": self.settings.to_json(),
                "note": "inputs are nnlearn.data.toy.input_features(points, inputs) of points "
                        "(x1, x2) in [-6, 6]^2"})

    # -- views ----------------------------------------------------------------------------
    def _layer_outputs(self, X: numpy.ndarray) -> list[numpy.ndarray]:
        """The output of every layer in inference mode (z after each Dense, a after each
        activation); Dropout, the identity here, runs but is not listed."""
        outputs = []
        for layer in self.network.layers:
            X = layer.forward(X, False)
            if not isinstance(layer, Dropout):
                outputs.append(X)
        return outputs

    def _display(self, values: numpy.ndarray, kind: str) -> tuple[numpy.ndarray, float]:
        """Values centred on 0 with a scale, for :func:`encode_map`."""
        if kind in ("sigmoid", "softmax"):  # probabilities p in [0, 1], shown as 2p − 1
            return 2.0 * values - 1.0, 1.0
        return values, max(1.0, float(numpy.abs(values).max()) if values.size else 1.0)

    def snapshot(self, history_from: tuple[int, int] | None = None,
                 with_points: bool = True) -> dict[str, Any]:
        """What the page draws now. ``history_from = (generation, count)`` already sent
        makes ``history`` hold only the newer records (``history_start`` says from where)."""
        with self.lock:
            s = self.settings
            res = BOUNDARY_RESOLUTION
            grid = toy.grid(res)
            outputs = self._layer_outputs(toy.input_features(grid, s.features))
            activations = outputs[1::2]  # after each activation (Dropout is left out)
            neurons = []
            for depth, A in enumerate(activations):
                last = depth == len(activations) - 1
                kind = s.output_activation if last else (s.activations[depth] if s.activations
                                                         else s.activation)
                maps = A.reshape(res, res, -1)
                layer_maps = []
                for j in range(A.shape[1]):
                    shown, scale = self._display(maps[::2, ::2, j], kind)
                    layer_maps.append(encode_map(shown, scale))
                neurons.append(layer_maps)
            probabilities = activations[-1]
            out, out_scale = self._display(probabilities.max(axis=1) if s.outputs > 1
                                           else probabilities[:, 0], s.output_activation)
            records = self.history.records
            start = 0
            if history_from is not None and history_from[0] == self.generation:
                start = min(history_from[1], len(records))
            last = records[-1] if records else self._initial_losses()
            snap: dict[str, Any] = {
                "session": self.id, "version": self.version, "generation": self.generation,
                "epoch": len(records), "playing": self.playing, "error": self.error,
                "train_loss": last.get("training_cost"), "test_loss": last.get("evaluation_cost"),
                "history_start": start,
                "history": [[r["epoch"], r.get("training_cost"), r.get("evaluation_cost")]
                            for r in records[start:]],
                "boundary": encode_map(out, out_scale), "boundary_resolution": res,
                "boundary_classes": base64.b64encode(probabilities.argmax(axis=1).astype(
                    numpy.uint8).tobytes()).decode("ascii") if s.outputs > 1 else None,
                "boundary_scale": out_scale, "neurons": neurons, "neuron_resolution": res // 2,
                "weights": [{"W": layer.params["W"].tolist(), "b": layer.params["b"].tolist()}
                            for layer, _ in dense_and_activations(self.network)],
                "settings": s.to_json(), "data_version": self.data_version,
                "uploaded": None if self.uploaded is None else len(self.uploaded[1]),
                "segments": len(self.segments),
            }
            snap.update(self._scores())
            snap["dead"] = self._dead_units()
            if with_points:
                snap["points"] = self.points()
                snap["feature_maps"] = feature_maps(res // 2)
            return json_safe(snap)

    def _dead_units(self) -> list[list[bool]]:
        """Per layer, whether each unit's output is constant (range below :data:`DEAD_RANGE`)
        over the training inputs: a dead ReLU (z ≤ 0 for every point) or a saturated
        sigmoid/tanh. Its f′(z) ≈ 0, so its δ and its incoming gradients are ≈ 0 (BP2, BP4)."""
        X, y = self._train_split()
        if len(y) < 2:
            return [[False] * n for n in self.settings.sizes[1:]]
        activations = self._layer_outputs(X)[1::2]
        return [(numpy.ptp(A, axis=0) < DEAD_RANGE).tolist() for A in activations]

    def _initial_losses(self) -> dict[str, float]:
        """Epoch 0's training and test cost (what the Trainer would record, penalty included)."""
        out = {}
        train = self._train_split()
        weights = [w for w, _ in decay_pairs(self.network)]
        penalty_term = sum(r.penalty(weights, len(train[1])) for r in regularizers(self.settings))
        for name, (X, y) in (("training", train), ("evaluation", self._test_split())):
            if len(y):
                out[f"{name}_cost"] = self.network.evaluate(X, y)["cost"] + penalty_term
        return out

    def _scores(self) -> dict[str, float | None]:
        """Accuracy (output > 0.5 is class 1) for classification; for regression the
        coefficient of determination R² = 1 − Σ(a − y)² / Σ(y − ȳ)²."""
        classification = self.settings.problem == "classification"
        result: dict[str, float | None] = {}
        for name, (X, y) in (("train", self._train_split()), ("test", self._test_split())):
            a = self._layer_outputs(X)[-1][:, 0] if len(y) else None
            accuracy = r2 = None
            if a is not None and classification and self.settings.outputs > 1:
                accuracy = float((self._layer_outputs(X)[-1].argmax(axis=1) == y).mean())
            elif a is not None and classification:
                accuracy = float(((a > 0.5) == (y > 0.5)).mean())
            elif a is not None and len(y) > 1 and numpy.var(y) > 0:
                r2 = float(1.0 - ((a - y) ** 2).sum() / ((y - y.mean()) ** 2).sum())
            result[f"{name}_accuracy"], result[f"{name}_r2"] = accuracy, r2
        return result

    def points(self) -> dict[str, list[list[float]]]:
        """Training (generated and added) and test points as ``[x, y, label]`` rows."""
        train_points = numpy.concatenate([self.data.train_points, self.custom_points])
        train_labels = numpy.concatenate([self.data.train_labels, self.custom_labels])
        return {"train": numpy.column_stack([train_points, train_labels]).round(4).tolist(),
                "test": numpy.column_stack([self.data.test_points,
                                            self.data.test_labels]).round(4).tolist()}

    def backprop(self, split: str, index: int) -> dict[str, Any]:
        r"""Forward and backward on one point: for every layer l, zˡ, aˡ, f'(zˡ), δˡ,
        ∂C/∂bˡ = δˡ (BP3), ∂C/∂wˡ = aˡ⁻¹ δˡ (BP4), and (wˡ⁺¹)ᵀδˡ⁺¹ (BP2's first factor);
        for the output layer ∇ₐC (BP1's first factor; a softmax output's δᴸ is its
        Jacobian times ∇ₐC, which with the log-likelihood is aᴸ − y). The gradients are
        those of this one point's cost Cₓ (no regularisation term)."""
        with self.lock:
            X_all, y_all = self._train_split() if split == "train" else self._test_split()
            if not 0 <= index < len(y_all):
                raise FieldError("index", f"must be a point index from 0 to {len(y_all) - 1} "
                                          f"of the {split} set, got {index}")
            net = self.network
            x, Y = X_all[index:index + 1], net.targets(y_all[index:index + 1], 1)
            outputs = self._layer_outputs(x)
            A = outputs[-1]
            cost_gradient = net.cost.gradient(A, Y)  # ∇ₐC for this one point
            net.backward(A, Y)
            layers = []
            pairs = dense_and_activations(net)
            dense_layers = [dense for dense, _ in pairs]
            for l, (dense, act) in enumerate(pairs):
                fprime = act.backward(numpy.ones_like(outputs[2 * l + 1]), True)  # f'(zˡ)
                layers.append({
                    "z": outputs[2 * l][0].tolist(), "a": outputs[2 * l + 1][0].tolist(),
                    "fprime": fprime[0].tolist(), "delta": dense.grads["b"].tolist(),
                    "dW": dense.grads["W"].tolist(), "db": dense.grads["b"].tolist(),
                    "W": dense.params["W"].tolist(), "b": dense.params["b"].tolist(),
                    "activation": type(act).__name__.lower(),
                })
            for l in range(len(layers) - 1):
                upper = dense_layers[l + 1]
                layers[l]["backprop_sum"] = (upper.params["W"] @ upper.grads["b"]).tolist()
            layers[-1]["cost_gradient"] = cost_gradient[0].tolist()
            return json_safe({"split": split, "index": index, "input": x[0].tolist(),
                    "features": list(self.settings.features),
                    "point": (numpy.concatenate([self.data.train_points, self.custom_points])
                              if split == "train" else self.data.test_points)[index].tolist(),
                    "target": float(y_all[index]), "cost": net.cost.value(A, Y),
                    "cost_name": net.cost.name, "layers": layers})
