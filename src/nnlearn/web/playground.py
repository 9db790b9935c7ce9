r"""Playground sessions: a small network trained by nnlearn on a 2-D data set, one per browser tab.

A :class:`Session` holds the :class:`Settings`, the data, an
:class:`~nnlearn.nn.network.Network` and a :class:`~nnlearn.train.trainer.Trainer`
(one playground *epoch* is one ``Trainer.run(epochs=1)``: a shuffled pass over the
training points in minibatches). :meth:`Session.snapshot` renders what the page
draws: the output over the square as a heat map (the decision boundary), every
neuron's output as a small heat map, the weights, and the loss curves.
:meth:`Session.backprop` runs ``forward`` and ``backward`` on one point and returns
each layer's z, a, δ and the gradients of its incoming weights and biases, i.e. the
book's equations with numbers::

    δᴸ = ∇ₐC ⊙ f'(zᴸ)                     (BP1)
    δˡ = ((wˡ⁺¹)ᵀ δˡ⁺¹) ⊙ f'(zˡ)          (BP2)
    ∂C/∂bˡⱼ = δˡⱼ                          (BP3)
    ∂C/∂wˡⱼₖ = aˡ⁻¹ₖ δˡⱼ                   (BP4)

A :class:`SessionPool` bounds the number of live sessions and frees idle ones.
Everything here is NumPy and nnlearn; the web server only calls it.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy

from nnlearn.errors import DivergenceError, NNLearnError
from nnlearn.data import toy
from nnlearn.web.validation import FieldError, bounded_int, bounded_number, one_of

ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
OPTIMIZERS = ("sgd", "momentum", "adam")
COSTS = ("cross_entropy", "quadratic")
INITS = ("xavier", "he", "normal_fan_in", "normal")
REGULARIZATIONS = ("none", "l1", "l2")
MAX_LAYERS, MAX_NEURONS = 6, 8
BOUNDARY_RESOLUTION = 64
"""Pixels per side of the output heat map; neuron thumbnails use every second pixel."""
RUN_EPOCHS = 1_000_000_000
"""The Trainer's nominal length: a playground runs until the page pauses it."""


@dataclass(frozen=True)
class Settings:
    r"""Everything that defines a playground experiment (the page's controls and its URL).

    ``noise`` and ``train_ratio`` are percentages, as on the page. ``reg_rate`` is the
    book's λ (the penalty's gradient is (λ/n)·w for L2, (λ/n)·sgn w for L1, n the number
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
    learning_rate: float = 0.3
    batch_size: int = 10
    optimizer: str = "sgd"
    cost: str = "cross_entropy"
    init: str = "xavier"
    regularization: str = "none"
    reg_rate: float = 0.0
    seed: int = 1

    @property
    def problem(self) -> str:
        """``"classification"`` or ``"regression"`` (set by the data set)."""
        return toy.DATASETS[self.dataset]

    @property
    def sizes(self) -> list[int]:
        """Layer widths: inputs, hidden layers, one output."""
        return [len(self.features), *self.hidden, 1]

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(features=list(self.features), hidden=list(self.hidden), problem=self.problem)
        return out


LIVE_FIELDS = ("learning_rate", "batch_size", "regularization", "reg_rate")
"""Settings that change while training goes on (the network is kept)."""
DATA_FIELDS = ("dataset", "noise", "train_ratio", "n_points", "data_seed")
"""Settings that make new points (and a new network)."""


def _features(value: Any) -> tuple[str, ...]:
    names = list(toy.FEATURES)
    if not isinstance(value, (list, tuple)) or not value:
        raise FieldError("features", f"must be a non-empty list of {', '.join(names)}; got {value!r}")
    for name in value:
        one_of("features", name, names)
    if len(set(value)) != len(value):
        raise FieldError("features", f"lists a feature twice: {value!r}")
    return tuple(n for n in names if n in value)  # canonical order


def _hidden(value: Any) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or len(value) > MAX_LAYERS:
        raise FieldError("hidden", f"must be a list of 0 to {MAX_LAYERS} layer widths; got {value!r}")
    return tuple(bounded_int(f"hidden[{i}]", n, 1, MAX_NEURONS) for i, n in enumerate(value))


_CHECKS = {
    "dataset": lambda v: one_of("dataset", v, list(toy.DATASETS)),
    "noise": lambda v: bounded_int("noise", v, 0, 50),
    "train_ratio": lambda v: bounded_int("train_ratio", v, 10, 90),
    "n_points": lambda v: bounded_int("n_points", v, 10, 2000),
    "data_seed": lambda v: bounded_int("data_seed", v, 0, 2 ** 31 - 1),
    "features": _features,
    "hidden": _hidden,
    "activation": lambda v: one_of("activation", v, ACTIVATIONS),
    "learning_rate": lambda v: bounded_number("learning_rate", v, 0.0, 10.0, low_open=True),
    "batch_size": lambda v: bounded_int("batch_size", v, 1, 1000),
    "optimizer": lambda v: one_of("optimizer", v, OPTIMIZERS),
    "cost": lambda v: one_of("cost", v, COSTS),
    "init": lambda v: one_of("init", v, INITS),
    "regularization": lambda v: one_of("regularization", v, REGULARIZATIONS),
    "reg_rate": lambda v: bounded_number("reg_rate", v, 0.0, 10.0),
    "seed": lambda v: bounded_int("seed", v, 0, 2 ** 31 - 1),
}


def parse_settings(raw: Any, base: Settings | None = None) -> Settings:
    """Settings from a JSON object: ``base`` (default: the defaults) with the given fields
    replaced, each checked. ``problem`` may be given and must match the data set; a
    regression data set without a given cost gets the quadratic one."""
    base = base or Settings()
    if not isinstance(raw, dict):
        raise FieldError("settings", f"must be a JSON object, got {type(raw).__name__}")
    known = {f.name for f in fields(Settings)}
    for key in raw:
        if key not in known and key != "problem":
            raise FieldError(key, f"unknown setting; the settings are {', '.join(sorted(known))}")
    settings = replace(base, **{key: _CHECKS[key](value) for key, value in raw.items()
                                if key != "problem"})
    if "cost" not in raw and settings.problem == "regression":
        settings = replace(settings, cost="quadratic")  # the only cost for real-valued targets
    problem = raw.get("problem", settings.problem)
    one_of("problem", problem, ("classification", "regression"))
    if problem != settings.problem:
        choices = [n for n, p in toy.DATASETS.items() if p == problem]
        raise FieldError("dataset", f"{settings.dataset!r} is a {settings.problem} data set; "
                                    f"for {problem} choose one of {', '.join(choices)}")
    if settings.problem == "regression" and settings.cost != "quadratic":
        raise FieldError("cost", "regression needs the quadratic cost (cross-entropy needs "
                                 "labels in [0, 1])")
    return settings


# -- the network and its trainer, from settings (the exported code makes the same calls) --------
def build_network(settings: Settings):
    """``Network.from_sizes`` for these settings: sigmoid output for classification,
    linear for regression; float64 so that the backprop numbers are exact to print."""
    from nnlearn.nn.network import Network

    output = "sigmoid" if settings.problem == "classification" else "linear"
    return Network.from_sizes(settings.sizes, activation=settings.activation,
                              output_activation=output, cost=settings.cost,
                              weight_init=settings.init, seed=settings.seed, dtype="float64")


def regularizers(settings: Settings) -> list:
    """The L1 or L2 penalty of the settings (empty for none or a zero rate)."""
    from nnlearn.nn.regularizers import L1, L2

    if settings.regularization == "none" or settings.reg_rate == 0:
        return []
    return [(L1 if settings.regularization == "l1" else L2)(settings.reg_rate)]


def build_trainer(settings: Settings, network, optimizer, history, train, test):
    """A Trainer continuing ``history`` with ``optimizer`` (an instance, so its state and
    step count carry over when the settings change)."""
    from nnlearn.train.trainer import Trainer

    has_test = len(test[1]) > 0
    return Trainer(network, *train, epochs=RUN_EPOCHS, mini_batch_size=settings.batch_size,
                   optimizer=optimizer, regularizers=regularizers(settings),
                   validation_data=test if has_test else None,
                   monitor=("training_cost", "evaluation_cost") if has_test else ("training_cost",),
                   history=history, threads=1)


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


class Session:
    """One tab's experiment: settings, data, network, trainer, and the play state.

    All methods take the session's lock, so the stream that trains and the requests
    that change settings or ask for backprop never see a half-updated network.
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
        self.custom_points = numpy.zeros((0, 2))
        self.custom_labels = numpy.zeros(0)
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
        s = self.settings
        self.data = toy.make_dataset(s.dataset, n_points=s.n_points, noise=s.noise / 100,
                                          train_ratio=s.train_ratio / 100, seed=s.data_seed)
        self.custom_points, self.custom_labels = numpy.zeros((0, 2)), numpy.zeros(0)
        self.data_version += 1

    def _train_split(self):
        points = numpy.concatenate([self.data.train_points, self.custom_points])
        labels = numpy.concatenate([self.data.train_labels, self.custom_labels])
        return toy.input_features(points, self.settings.features), labels

    def _test_split(self):
        return (toy.input_features(self.data.test_points, self.settings.features),
                self.data.test_labels)

    def _rebuild_trainer(self) -> None:
        train, test = self._train_split(), self._test_split()
        self.trainer = None if len(train[1]) == 0 else build_trainer(
            self.settings, self.network, self.optimizer, self.history, train, test)

    def reset(self) -> None:
        """A fresh network (same seed: the same initial weights), epoch 0, paused."""
        from nnlearn.optim.optimizers import get_optimizer
        from nnlearn.train.trainer import History

        with self.lock:
            self.network = build_network(self.settings)
            self.optimizer = get_optimizer(self.settings.optimizer, self.settings.learning_rate)
            self.history = History()
            self.error = None
            self.generation += 1
            self._rebuild_trainer()
            self.version += 1

    def update(self, settings: Settings) -> None:
        """Apply new settings: learning rate, batch size and regularisation change while
        training goes on; a new data set regenerates the points; anything else resets."""
        with self.lock:
            old, self.settings = self.settings, settings
            changed = {f.name for f in fields(Settings) if getattr(old, f.name) != getattr(settings, f.name)}
            if not changed:
                return
            if changed & set(DATA_FIELDS):
                self._make_data()
            if changed - set(LIVE_FIELDS):
                self.reset()
                return
            self.optimizer.eta = settings.learning_rate
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
        """Replace the data by these points (from a CSV file), split by ``train_ratio``."""
        with self.lock:
            self.data = toy.split(points, labels, self.settings.train_ratio / 100,
                                       self.settings.data_seed)
            self.custom_points, self.custom_labels = numpy.zeros((0, 2)), numpy.zeros(0)
            self.data_version += 1
            self.reset()

    def step(self, epochs: int = 1) -> None:
        """Train for ``epochs`` epochs (nothing without training points); a diverged run
        pauses with its message in ``error``."""
        with self.lock:
            if self.trainer is None or self.error:
                self.playing = False
                return
            try:
                self.trainer.run(epochs)
            except (DivergenceError, FloatingPointError) as exc:
                self.error = str(exc)
                self.playing = False
            self.version += 1

    # -- views ----------------------------------------------------------------------------
    def _layer_outputs(self, X: numpy.ndarray) -> list[numpy.ndarray]:
        """The output of every layer (z after each Dense, a after each activation)."""
        outputs = []
        for layer in self.network.layers:
            X = layer.forward(X, False)
            outputs.append(X)
        return outputs

    def _display(self, values: numpy.ndarray, kind: str) -> tuple[numpy.ndarray, float]:
        """Values centred on 0 with a scale, for :func:`encode_map`."""
        if kind == "sigmoid":
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
            activations = outputs[1::2]
            neurons = []
            for depth, A in enumerate(activations):
                last = depth == len(activations) - 1
                kind = "sigmoid" if (last and s.problem == "classification") or \
                    (not last and s.activation == "sigmoid") else "other"
                maps = A.reshape(res, res, -1)
                layer_maps = []
                for j in range(A.shape[1]):
                    shown, scale = self._display(maps[::2, ::2, j], kind)
                    layer_maps.append(encode_map(shown, scale))
                neurons.append(layer_maps)
            out, out_scale = self._display(activations[-1][:, 0],
                                           "sigmoid" if s.problem == "classification" else "other")
            records = self.history.records
            start = 0
            if history_from is not None and history_from[0] == self.generation:
                start = min(history_from[1], len(records))
            last = records[-1] if records else {}
            snap: dict[str, Any] = {
                "session": self.id, "version": self.version, "generation": self.generation,
                "epoch": len(records), "playing": self.playing, "error": self.error,
                "train_loss": last.get("training_cost"), "test_loss": last.get("evaluation_cost"),
                "history_start": start,
                "history": [[r["epoch"], r.get("training_cost"), r.get("evaluation_cost")]
                            for r in records[start:]],
                "boundary": encode_map(out, out_scale), "boundary_resolution": res,
                "boundary_scale": out_scale, "neurons": neurons, "neuron_resolution": res // 2,
                "weights": [{"W": layer.params["W"].tolist(), "b": layer.params["b"].tolist()}
                            for layer in self.network.layers[::2]],
                "settings": s.to_json(), "data_version": self.data_version,
            }
            snap.update(self._accuracies())
            if with_points:
                snap["points"] = self.points()
                snap["feature_maps"] = feature_maps(res // 2)
            return snap

    def _accuracies(self) -> dict[str, float | None]:
        if self.settings.problem != "classification":
            return {"train_accuracy": None, "test_accuracy": None}
        result = {}
        for name, (X, y) in (("train", self._train_split()), ("test", self._test_split())):
            if len(y) == 0:
                result[f"{name}_accuracy"] = None
                continue
            p = self._layer_outputs(X)[-1][:, 0]
            result[f"{name}_accuracy"] = float(((p > 0.5) == (y > 0.5)).mean())
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
        for the output layer ∇ₐC (BP1's first factor). The gradients are those of this
        one point's cost Cₓ (no regularisation term)."""
        with self.lock:
            X_all, y_all = self._train_split() if split == "train" else self._test_split()
            if not 0 <= index < len(y_all):
                raise FieldError("index", f"must be a point index from 0 to {len(y_all) - 1} "
                                          f"of the {split} set, got {index}")
            net = self.network
            x, Y = X_all[index:index + 1], numpy.array([[y_all[index]]])
            outputs = self._layer_outputs(x)
            A = outputs[-1]
            cost_gradient = net.cost.gradient(A, Y)  # ∇ₐC for this one point
            net.backward(A, Y)
            layers = []
            dense_layers = net.layers[::2]
            for l, (dense, act) in enumerate(zip(dense_layers, net.layers[1::2])):
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
            return {"split": split, "index": index, "input": x[0].tolist(),
                    "features": list(self.settings.features),
                    "point": (numpy.concatenate([self.data.train_points, self.custom_points])
                              if split == "train" else self.data.test_points)[index].tolist(),
                    "target": float(y_all[index]), "cost": net.cost.value(A, Y),
                    "cost_name": net.cost.name, "layers": layers}


class PoolFull(NNLearnError):
    """No room for another playground session."""


class SessionPool:
    """At most ``max_sessions`` live sessions; a session unused for ``idle_seconds`` is freed."""

    def __init__(self, max_sessions: int = 8, idle_seconds: float = 600.0):
        self.max_sessions = max_sessions
        self.idle_seconds = idle_seconds
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()
        self._starting = 0
        """Sessions being built: counted against the limit before they join ``sessions``."""

    def sweep(self) -> list[str]:
        """Free the idle sessions; returns their ids."""
        now = time.monotonic()
        with self.lock:
            idle = [k for k, s in self.sessions.items() if now - s.last_seen > self.idle_seconds]
            for key in idle:
                del self.sessions[key]
        return idle

    def create(self, settings: Settings) -> Session:
        """A new session, or :class:`PoolFull` when ``max_sessions`` are live."""
        self.sweep()
        with self.lock:  # count and reserve in one step: concurrent creates cannot overshoot
            if len(self.sessions) + self._starting >= self.max_sessions:
                raise PoolFull(f"all {self.max_sessions} playground sessions are in use; close "
                               "another playground tab, wait for idle ones to be freed, or start "
                               "the server with a larger --max-sessions")
            self._starting += 1
        session = None
        try:
            session = Session(settings)
        finally:
            with self.lock:
                self._starting -= 1
                if session is not None:
                    self.sessions[session.id] = session
        return session

    def get(self, session_id: str) -> Session | None:
        """The live session with this id (its idle clock restarts), or ``None``."""
        with self.lock:
            session = self.sessions.get(session_id)
        if session is not None:
            session.touch()
        return session

    def close(self, session_id: str) -> bool:
        with self.lock:
            return self.sessions.pop(session_id, None) is not None
