"""Network: backprop end to end, fused output deltas, one SGD step by hand, seeds."""

import numpy as np
import pytest

from nnlearn import (ConfigError, CrossEntropy, Dense, LogLikelihood, Network,
                     Quadratic, Sigmoid, Softmax, gradcheck)


def _data(n=6, d=5, k=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)), rng.integers(0, k, n)


@pytest.mark.parametrize("cost, out", [("quadratic", "sigmoid"), ("cross_entropy", "sigmoid"),
                                       ("log_likelihood", "softmax"), ("quadratic", "softmax")])
@pytest.mark.parametrize("sizes", [[5, 4], [5, 7, 4], [5, 3, 6, 4]])
def test_network_gradcheck(cost, out, sizes):
    net = Network.from_sizes(sizes, cost=cost, output_activation=out, seed=3, dtype="float64")
    X, y = _data()
    Y = net.targets(y, len(y))
    result = gradcheck(net, X, Y)
    assert result.max_error < 1e-6, result


@pytest.mark.parametrize("cost, act", [(CrossEntropy(), Sigmoid), (LogLikelihood(), Softmax)])
def test_fused_delta_equals_the_chain_rule(cost, act):
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((5, 3))
    Y = np.eye(3)[rng.integers(0, 3, 5)]
    layer = act()
    A = layer.forward(Z)
    chained = layer.backward(cost.gradient(A, Y))
    np.testing.assert_allclose(cost.fused_delta(A, Y), chained, rtol=1e-10, atol=1e-14)
    assert isinstance(layer, cost.fused_activation)


def test_one_sgd_step_by_hand():
    # A 1-1 sigmoid neuron, quadratic cost, two examples: every number worked out here.
    net = Network([Dense(1, 1, dtype="float64"), Sigmoid()], "quadratic", dtype="float64", seed=0)
    net.layers[0].params["W"][...] = 0.5
    net.layers[0].params["b"][...] = -0.25
    X = np.array([[1.0], [2.0]])
    Y = np.array([[1.0], [0.0]])
    sig = lambda z: 1 / (1 + np.exp(-z))
    z = np.array([0.25, 0.75])
    a = sig(z)
    delta = (a - Y[:, 0]) * a * (1 - a)  # BP1 per example
    eta = 2.0
    w_expected = 0.5 - eta / 2 * np.sum(delta * X[:, 0])  # w → w − (η/m) Σ δ x
    b_expected = -0.25 - eta / 2 * np.sum(delta)
    from nnlearn.optim.optimizers import SGD

    net.backward(net.forward(X, True), Y)
    SGD(eta).step(net.parameters())
    assert net.layers[0].params["W"][0, 0] == pytest.approx(w_expected, rel=1e-12)
    assert net.layers[0].params["b"][0] == pytest.approx(b_expected, rel=1e-12)


def test_same_seed_same_run_bit_for_bit():
    X, y = _data(n=200, d=8, k=3, seed=1)
    weights = []
    for _ in range(2):
        net = Network.from_sizes([8, 6, 3], seed=42)
        net.fit(X, y, epochs=3, mini_batch_size=7, eta=1.0)
        weights.append([p.copy() for p, _ in net.parameters()])
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)
    other = Network.from_sizes([8, 6, 3], seed=43)
    assert not np.array_equal(other.layers[0].params["W"], weights[0][0])


def test_training_lowers_the_cost_on_xor():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    net = Network.from_sizes([2, 4, 2], cost="cross_entropy", seed=0, dtype="float64")
    before = net.evaluate(X, y)
    net.fit(X, y, epochs=2000, mini_batch_size=4, eta=2.0)
    after = net.evaluate(X, y)
    assert after["cost"] < before["cost"] / 5
    assert after["accuracy"] == 1.0


def test_float64_network_keeps_float64():
    net = Network.from_sizes([3, 2], dtype="float64", seed=0)
    assert net.predict_proba(np.ones((2, 3), dtype=np.float32)).dtype == np.float64


def test_history_records_requested_monitors():
    X, y = _data(n=40, d=5, k=4)
    net = Network.from_sizes([5, 4], seed=0)
    h = net.fit(X, y, epochs=3, mini_batch_size=8, eta=0.5, validation_data=(X, y),
                monitor=["training_cost", "evaluation_accuracy", "evaluation_cost"])
    assert [r["epoch"] for r in h] == [1, 2, 3]
    assert len(h["training_cost"]) == 3 and len(h["evaluation_accuracy"]) == 3
    assert "training_accuracy" not in h.records[0]
    assert h["training_cost"][-1] < h["training_cost"][0]


def test_layer_sizes_must_chain():
    with pytest.raises(ConfigError, match=r"layer 2 .*width 100, got shape \(30,\)"):
        Network([Dense(784, 30), Sigmoid(), Dense(100, 10)])


def test_cost_objects_and_names():
    assert isinstance(Network.from_sizes([2, 2], cost="quadratic").cost, Quadratic)
    with pytest.raises(ConfigError, match="unknown cost 'hinged'.*cross_entropy"):
        Network.from_sizes([2, 2], cost="hinged")
    with pytest.raises(ConfigError, match="unknown activation 'sigmud'.*sigmoid"):
        Network.from_sizes([2, 2], activation="sigmud")
    with pytest.raises(ConfigError, match="dtype"):
        Network.from_sizes([2, 2], dtype="float16")
