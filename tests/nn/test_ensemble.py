"""Ensemble: mean of probabilities, majority vote and its tie rule, evaluate, errors."""

from __future__ import annotations

import numpy as np
import pytest

import nnlearn
from nnlearn import ConfigError, DataError, Ensemble


def constant_net(p, n_in=2):
    """A network whose softmax output is the distribution ``p`` for every input."""
    p = np.asarray(p, dtype=np.float64)
    net = nnlearn.Network([nnlearn.Dense(n_in, len(p)), nnlearn.Softmax()], "log_likelihood",
                          dtype="float64", seed=0)
    net.layers[0].params["W"][...] = 0.0
    net.layers[0].params["b"][...] = np.log(p)
    return net


X2 = np.zeros((1, 2))


def test_constant_nets_output_their_distribution():
    np.testing.assert_allclose(constant_net([0.2, 0.5, 0.3]).predict_proba(X2), [[0.2, 0.5, 0.3]])


def test_mean_and_vote_disagree_as_designed():
    # mean = [0.6, 0.4, 0.0] -> class 0; votes: 1, 1, 0 -> class 1
    ens = Ensemble([constant_net([0.4, 0.6 - 1e-9, 1e-9]), constant_net([0.4, 0.6 - 1e-9, 1e-9]),
                    constant_net([1 - 2e-9, 1e-9, 1e-9])])
    np.testing.assert_allclose(ens.predict_proba(X2), [[0.6, 0.4, 0.0]], atol=1e-8)
    assert ens.predict(X2).tolist() == [0]
    assert ens.predict(X2, method="vote").tolist() == [1]


@pytest.mark.parametrize("members,expected", [
    ([[0.9, 0.1, 1e-9], [0.3, 0.7, 1e-9]], 0),      # 1–1 tie; mean favours 0
    ([[0.55, 0.45, 1e-9], [0.1, 0.9, 1e-9]], 1),    # 1–1 tie; mean favours 1
    # 1–1 tie between classes 0 and 1; class 2 has the highest mean but no vote
    ([[0.41, 0.20, 0.39], [0.19, 0.42, 0.39]], 1),
])
def test_vote_ties_broken_by_mean_probability(members, expected):
    ens = Ensemble([constant_net(p) for p in members])
    assert ens.predict(X2, method="vote").tolist() == [expected]


def test_single_member_ensemble_is_the_member():
    net = nnlearn.Network.from_sizes([4, 5, 3], cost="log_likelihood", seed=2)
    X = np.random.default_rng(0).random((20, 4))
    ens = Ensemble([net])
    np.testing.assert_array_equal(ens.predict_proba(X), net.predict_proba(X))
    np.testing.assert_array_equal(ens.predict(X, method="vote"), net.predict(X))


def trained_members(k=3):
    X, y, _ = nnlearn.data.load_iris()
    order = np.random.default_rng(0).permutation(len(y))
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    train, test = order[:100], order[100:]
    nets = []
    for seed in range(k):
        net = nnlearn.Network.from_sizes([4, 8, 3], cost="log_likelihood", seed=seed)
        net.fit(X[train], y[train], epochs=10, mini_batch_size=10, eta=0.1)
        nets.append(net)
    return nets, (X[test], y[test])


def test_ensemble_of_trained_networks_matches_manual_combination():
    nets, (X, y) = trained_members()
    ens = Ensemble(nets)
    probas = [net.predict_proba(X) for net in nets]
    mean = sum(probas) / len(probas)
    np.testing.assert_allclose(ens.predict_proba(X), mean, rtol=1e-6)
    np.testing.assert_allclose(ens.predict_proba(X).sum(axis=1), 1.0, rtol=1e-5)
    votes = np.zeros_like(mean)
    for P in probas:
        votes[np.arange(len(X)), P.argmax(axis=1)] += 1
    manual_vote = np.where(votes == votes.max(axis=1, keepdims=True), mean, -1).argmax(axis=1)
    np.testing.assert_array_equal(ens.predict(X, method="vote"), manual_vote)
    for method, predicted in (("mean", mean.argmax(axis=1)), ("vote", manual_vote)):
        result = ens.evaluate(X, y, method=method)
        correct = int((predicted == y).sum())
        assert result["correct"] == correct and result["total"] == len(y)
        assert result["accuracy"] == correct / len(y)
    cost = ens.evaluate(X, y)["cost"]
    assert cost == pytest.approx(nets[0].cost.value(mean, np.eye(3)[y]), rel=1e-5)
    assert "cost" not in ens.evaluate(X, y, method="vote")
    one_hot = ens.evaluate(X, np.eye(3)[y])
    assert one_hot["correct"] == ens.evaluate(X, y)["correct"]


def test_errors():
    net = nnlearn.Network.from_sizes([4, 3], seed=0)
    with pytest.raises(ConfigError, match="at least one"):
        Ensemble([])
    with pytest.raises(ConfigError, match="member 1 is str"):
        Ensemble([net, "model.npz"])
    with pytest.raises(ConfigError, match=r"member 1 has input_shape \(5,\)"):
        Ensemble([net, nnlearn.Network.from_sizes([5, 3], seed=0)])
    with pytest.raises(ConfigError, match=r"member 1 has output_shape \(4,\)"):
        Ensemble([net, nnlearn.Network.from_sizes([4, 4], seed=0)])
    ens = Ensemble([net, net])
    with pytest.raises(ConfigError, match="method"):
        ens.predict(np.zeros((1, 4)), method="median")
    with pytest.raises(DataError, match="shape"):
        ens.predict(np.zeros((1, 5)))
    with pytest.raises(DataError, match="labels"):
        ens.evaluate(np.zeros((2, 4)), np.array([0, 7]))
