r"""Ensembles of trained networks (book ch. 6, "using an ensemble of networks").

``K`` networks trained independently (other seeds, other data orders) make partly
independent mistakes, so combining them helps: the book's five convnets together
reach 99.67% where each alone gets about 99.6%. Two ways to combine, for an input x::

    mean:  P(x) = (1/K) Σ_k Pₖ(x),  prediction argmaxⱼ P(x)ⱼ        (soft voting)
    vote:  votesⱼ(x) = #{k : argmax Pₖ(x) = j},  prediction argmaxⱼ votesⱼ(x)
           (majority vote, the book's; ties between the most-voted classes go to the
           one of them with the highest mean probability P(x)ⱼ, then the lowest index)

References: L. K. Hansen, P. Salamon, "Neural network ensembles" (1990);
T. G. Dietterich, "Ensemble methods in machine learning" (2000).
"""

from __future__ import annotations

from typing import Any, Sequence

from nnlearn import backend
from nnlearn.errors import ConfigError
from nnlearn.nn.network import EVAL_BATCH_SIZE

METHODS = ("mean", "vote")


class Ensemble:
    """Combine trained networks that share input and output shapes.

    Args:
        networks: the members (``nnlearn.Network`` objects or anything with the same
            ``predict_proba``/``check_inputs``/``targets`` and ``input_shape``/``output_shape``).

    Example::

        nets = [nnlearn.load(f"convnet{k}.npz") for k in range(5)]
        ens = Ensemble(nets)
        ens.evaluate(X_test, y_test, method="vote")["accuracy"]
    """

    def __init__(self, networks: Sequence[Any]):
        networks = list(networks)
        if not networks:
            raise ConfigError("an Ensemble needs at least one network")
        first = networks[0]
        for i, net in enumerate(networks):
            if not callable(getattr(net, "predict_proba", None)) or not hasattr(net, "input_shape"):
                raise ConfigError(f"ensemble member {i} is {type(net).__name__}, not a trained "
                                  "network (needs predict_proba and input_shape)")
            for attr in ("input_shape", "output_shape"):
                if tuple(getattr(net, attr)) != tuple(getattr(first, attr)):
                    raise ConfigError(
                        f"ensemble member {i} has {attr} {tuple(getattr(net, attr))}, but member "
                        f"0 has {tuple(getattr(first, attr))}; all members must match")
        self.networks = networks

    @classmethod
    def train(cls, configs: Sequence[Any], engine: Any) -> "Ensemble":
        """Train one member per experiment config as parallel trials on ``engine``; combine them.

        ``engine`` is anything with ``train_networks(configs) -> networks``: the engines of
        :mod:`nnlearn.experiments.sweeps.engines` run the members in processes on this machine
        (``LocalEngine()``) or on a Ray cluster (``RayEngine(address=...)``), each into its
        own run folder. Example (the book's five members differ in their seed)::

            from nnlearn.experiments.config import files as config
            from nnlearn.experiments.sweeps.engines import LocalEngine
            base = config.load_preset("ch6-conv2-dropout")
            configs = [config.resolve(base, overrides={"training.seed": k}) for k in range(5)]
            ens = Ensemble.train(configs, LocalEngine())
        """
        train_networks = getattr(engine, "train_networks", None)
        if not callable(train_networks):
            raise ConfigError(f"engine must have a train_networks(configs) method (e.g. "
                              f"nnlearn.experiments.sweeps.engines.LocalEngine()), got {engine!r}")
        return cls(train_networks(list(configs)))

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.networks[0].input_shape)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return tuple(self.networks[0].output_shape)

    def __len__(self) -> int:
        return len(self.networks)

    def _member_probas(self, X, batch_size: int) -> list:
        return [net.predict_proba(X, batch_size) for net in self.networks]

    def predict_proba(self, X, batch_size: int = EVAL_BATCH_SIZE):
        r"""Mean of the members' output probabilities, ``(1/K) Σ_k Pₖ(X)``, shape (N, classes)."""
        probas = self._member_probas(X, batch_size)
        return _mean(probas)

    def predict(self, X, method: str = "mean", batch_size: int = EVAL_BATCH_SIZE):
        """Predicted class per example by ``method`` ``"mean"`` or ``"vote"`` (see the module)."""
        method = _check_method(method)
        probas = self._member_probas(X, batch_size)
        return _combine(probas, method)

    def evaluate(self, X, y, method: str = "mean", batch_size: int = EVAL_BATCH_SIZE) -> dict[str, float]:
        """Accuracy of the ensemble on ``(X, y)``: ``{"accuracy", "correct", "total"}``,
        plus ``"cost"`` (the members' cost of the mean probabilities) for ``method="mean"``
        when all members share one cost.

        ``y``: integer labels (N,) or one-hot/target rows (N, classes).
        """
        method = _check_method(method)
        first = self.networks[0]
        X = first.check_inputs(X)
        Y = first.targets(y, X.shape[0])
        probas = self._member_probas(X, batch_size)
        predicted = _combine(probas, method)
        correct = int((predicted == Y.argmax(axis=1)).sum())
        total = int(X.shape[0])
        result: dict[str, float] = {"accuracy": correct / total, "correct": correct, "total": total}
        costs = {getattr(getattr(net, "cost", None), "name", None) for net in self.networks}
        if method == "mean" and len(costs) == 1 and None not in costs:
            result["cost"] = first.cost.value(_mean(probas), Y)
        return result

    def compare(self, X, y, batch_size: int = EVAL_BATCH_SIZE) -> dict[str, Any]:
        """Each member's accuracy and every combination's (:data:`METHODS`) on ``(X, y)``,
        from one pass of each member: ``{"members": [acc₁, ..., acc_K], "mean": acc,
        "vote": acc}`` (fractions), to show which way of combining does better."""
        first = self.networks[0]
        X = first.check_inputs(X)
        labels = first.targets(y, X.shape[0]).argmax(axis=1)
        probas = self._member_probas(X, batch_size)
        total = int(X.shape[0])
        return {"members": [int((P.argmax(axis=1) == labels).sum()) / total for P in probas],
                **{m: int((_combine(probas, m) == labels).sum()) / total for m in METHODS}}

    def __repr__(self) -> str:
        return f"Ensemble({len(self.networks)} networks, input_shape={self.input_shape})"


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise ConfigError(f"method must be one of {', '.join(map(repr, METHODS))}, got {method!r}")
    return method


def _mean(probas: list):
    total = probas[0].copy()
    for P in probas[1:]:
        total += P
    total /= len(probas)
    return total


def _combine(probas: list, method: str):
    """Class per row from the members' probabilities (see the module docstring)."""
    xp = backend.xp
    mean = _mean(probas)
    if method == "mean":
        return mean.argmax(axis=1)
    n, k = mean.shape
    rows = xp.arange(n)
    votes = xp.zeros((n, k), dtype=xp.int64)
    for P in probas:
        votes[rows, P.argmax(axis=1)] += 1
    most = votes == votes.max(axis=1, keepdims=True)
    # among the most-voted classes, the highest mean probability; others can't win
    return xp.where(most, mean, -xp.inf).argmax(axis=1)
