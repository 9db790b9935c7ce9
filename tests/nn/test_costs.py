"""Costs: values against references, gradient checks, fused deltas, regression and multi-label fits."""

from __future__ import annotations

import numpy as np
import pytest

from nnlearn import ConfigError, DataError, Network, gradcheck
from nnlearn.nn.costs import (COSTS, CrossEntropy, Hinge, LogLikelihood, Quadratic,
                           SigmoidBinaryCrossEntropy, get_cost, is_one_hot)
from nnlearn.nn.layers import Dense, Linear, Sigmoid, Softmax

SHAPES = [(1, 1), (4, 3), (7, 10)]


def one_hot(rng, n, k):
    return np.eye(k)[rng.integers(0, k, n)]


def sigmoid(Z):
    return 1.0 / (1.0 + np.exp(-Z))


def softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def hinge_reference(A, labels, margin=1.0):
    """CS231n's loop: Σ_x Σ_{j≠y} max(0, a_j − a_y + Δ), averaged over examples."""
    total = 0.0
    for a, y in zip(A, labels):
        for j in range(len(a)):
            if j != y:
                total += max(0.0, a[j] - a[y] + margin)
    return total / len(A)


def hinge_scores(rng, shape):
    """Scores and one-hot targets whose margins a_j − a_y + 1 all stay away from the kink at 0."""
    while True:
        A = rng.standard_normal(shape) * 1.5
        Y = one_hot(rng, *shape)
        margins = A - (A * Y).sum(axis=1, keepdims=True) + 1.0
        if np.abs(margins[Y == 0]).min(initial=1.0) > 1e-3:
            return A, Y


def test_registry_and_aliases():
    assert {"quadratic", "mse", "l2", "cross_entropy", "binary_cross_entropy", "log_likelihood",
            "hinge"} == set(COSTS)
    assert COSTS["mse"] is COSTS["l2"] is Quadratic
    assert COSTS["binary_cross_entropy"] is CrossEntropy is SigmoidBinaryCrossEntropy
    assert isinstance(get_cost("hinge"), Hinge)


def test_unknown_cost_lists_choices():
    with pytest.raises(ConfigError) as info:
        get_cost("huber")
    for name in COSTS:
        assert name in str(info.value)


def test_hinge_cs231n_example():
    """CS231n's worked example: scores (3.2, 5.1, −1.7), correct class 0: loss 2.9."""
    A = np.array([[3.2, 5.1, -1.7]])
    Y = np.array([[1.0, 0.0, 0.0]])
    assert Hinge().value(A, Y) == pytest.approx(2.9)
    # class 1 violates the margin, class 2 does not: push 1 down and 0 up by one unit each
    np.testing.assert_allclose(Hinge().gradient(A, Y), [[-1.0, 1.0, 0.0]])


@pytest.mark.parametrize("shape", [(1, 2), (4, 3), (7, 10), (50, 6)])
def test_hinge_matches_loop_reference(shape):
    rng = np.random.default_rng(shape[0])
    A, Y = hinge_scores(rng, shape)
    assert Hinge().value(A, Y) == pytest.approx(hinge_reference(A, Y.argmax(axis=1)), rel=1e-12)


def _cost_inputs(name, shape, rng):
    n, k = shape
    if name == "hinge":
        return hinge_scores(rng, (n, max(k, 2)))
    if name in ("cross_entropy", "binary_cross_entropy"):
        return sigmoid(rng.standard_normal(shape)), (rng.random(shape) < 0.4).astype(float)
    if name == "log_likelihood":
        return softmax(rng.standard_normal(shape)), one_hot(rng, n, k)
    return rng.standard_normal(shape), rng.standard_normal(shape) * 3  # regression targets


@pytest.mark.parametrize("name", sorted(COSTS))
@pytest.mark.parametrize("shape", SHAPES)
def test_gradcheck_every_cost(name, shape):
    rng = np.random.default_rng(sum(shape))
    A, Y = _cost_inputs(name, shape, rng)
    result = gradcheck(get_cost(name), A, Y)
    assert result.ok(1e-6), str(result)


def test_gradcheck_binary_cross_entropy_soft_targets():
    rng = np.random.default_rng(2)
    A, Y = sigmoid(rng.standard_normal((6, 4))), rng.random((6, 4))
    assert gradcheck(CrossEntropy(), A, Y).ok(1e-6)


FUSED = [(Quadratic, Linear, "regression"), (CrossEntropy, Sigmoid, "one_hot"),
         (CrossEntropy, Sigmoid, "multi_label"), (CrossEntropy, Sigmoid, "soft"),
         (LogLikelihood, Softmax, "one_hot")]


@pytest.mark.parametrize("cost_cls, act_cls, targets", FUSED)
@pytest.mark.parametrize("shape", SHAPES)
def test_fused_delta_equals_unfused_chain(cost_cls, act_cls, targets, shape):
    """δᴸ = (A − Y)/N equals activation.backward(cost.gradient(A, Y)) to 1e-10."""
    assert cost_cls.fused_activation is act_cls
    rng = np.random.default_rng(7)
    n, k = shape
    Z = rng.standard_normal(shape) * 2
    Y = {"regression": rng.standard_normal(shape), "one_hot": one_hot(rng, n, k),
         "multi_label": (rng.random(shape) < 0.5).astype(float), "soft": rng.random(shape)}[targets]
    cost, act = cost_cls(), act_cls()
    A = act.forward(Z)
    np.testing.assert_allclose(cost.fused_delta(A, Y), act.backward(cost.gradient(A, Y)),
                               rtol=0, atol=1e-10)


def test_hinge_has_no_fused_delta():
    assert Hinge.fused_activation is None
    with pytest.raises(NotImplementedError):
        Hinge().fused_delta(np.zeros((2, 3)), np.eye(3)[:2])


@pytest.mark.parametrize("cost, out_act, Y", [
    ("hinge", Linear, "labels"), ("mse", Linear, "regression"),
    ("binary_cross_entropy", Sigmoid, "multi_label")])
def test_network_gradcheck_with_new_costs(cost, out_act, Y):
    rng = np.random.default_rng(4)
    net = Network([Dense(3, 5), Sigmoid(), Dense(5, 4), out_act()], cost, seed=0, dtype="float64")
    X = rng.standard_normal((6, 3))
    if Y == "labels":
        A = net.forward(X)
        Y = np.eye(4)[rng.integers(0, 4, 6)]
        margins = A - (A * Y).sum(axis=1, keepdims=True) + 1.0
        assert np.abs(margins[Y == 0]).min() > 1e-4  # away from the hinge's kinks
    elif Y == "regression":
        Y = rng.standard_normal((6, 4))
    else:
        Y = (rng.random((6, 4)) < 0.5).astype(float)
    result = gradcheck(net, X, Y)
    assert result.ok(1e-6), str(result)


def test_is_one_hot():
    assert is_one_hot(np.eye(3)[[0, 2, 1]])
    assert not is_one_hot(np.array([[1.0, 1.0, 0.0]]))        # multi-label
    assert not is_one_hot(np.array([[0.9, 0.1]]))              # soft
    assert not is_one_hot(np.ones((4, 1)))                     # one column: no classes to pick


# -- end to end through Network.fit -------------------------------------------------

def test_regression_fits_linear_map_of_width_3():
    """Linear output + mse learns y = X A + b (width 3) to small error."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 5))
    A_true, b_true = rng.standard_normal((5, 3)), rng.standard_normal(3)
    Y = X @ A_true + b_true + 0.01 * rng.standard_normal((400, 3))
    net = Network([Dense(5, 3, bias_init="zeros"), Linear()], "mse", seed=1, dtype="float64")
    before = net.evaluate(X, Y)
    assert set(before) == {"cost", "total"}  # no accuracy for regression targets
    history = net.fit(X, Y, epochs=30, mini_batch_size=20, eta=0.1, validation_data=(X, Y))
    after = net.evaluate(X, Y)
    assert after["cost"] < 1e-3 < before["cost"]
    assert "evaluation_cost" in history.records[-1]          # the default monitor for regression
    assert "evaluation_accuracy" not in history.records[-1]
    np.testing.assert_allclose(net.layers[0].params["W"], A_true, atol=0.01)
    np.testing.assert_allclose(net.layers[0].params["b"], b_true, atol=0.01)
    residual = net.predict_proba(X) - Y
    assert np.sqrt((residual ** 2).mean()) < 0.02


def test_regression_single_output_takes_1d_targets():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (200, 1))
    y = np.sin(2 * X[:, 0]) * 3.0                      # real values of width 1, given as 1-D
    net = Network([Dense(1, 16, weight_init="xavier"), Sigmoid(), Dense(16, 1), Linear()], "l2",
                  seed=0, dtype="float64")
    before = net.evaluate(X, y)["cost"]
    net.fit(X, y, epochs=200, mini_batch_size=10, eta=0.2)
    after = net.evaluate(X, y)["cost"]
    assert after < 0.02 * before, (before, after)


def test_accuracy_monitor_refused_for_regression():
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((10, 2)), rng.standard_normal((10, 2))
    net = Network([Dense(2, 2), Linear()], "mse", seed=0)
    with pytest.raises(ConfigError, match="accuracy"):
        net.fit(X, Y, epochs=1, monitor=["training_accuracy"])


def test_multi_label_two_of_five():
    """Sigmoid outputs + binary cross-entropy learn which 2 of 5 labels each example has."""
    rng = np.random.default_rng(0)
    prototypes = rng.standard_normal((5, 20))
    pairs = np.array([(i, j) for i in range(5) for j in range(i + 1, 5)])

    def make(n):
        chosen = pairs[rng.integers(0, len(pairs), n)]
        Y = np.zeros((n, 5))
        Y[np.arange(n)[:, None], chosen] = 1.0
        X = Y @ prototypes + 0.3 * rng.standard_normal((n, 20))
        return X, Y

    (X, Y), (X_test, Y_test) = make(600), make(300)
    assert (Y.sum(axis=1) == 2).all()
    net = Network.from_sizes([20, 16, 5], cost="binary_cross_entropy", seed=2, dtype="float64")
    before = net.evaluate(X_test, Y_test)
    history = net.fit(X, Y, epochs=15, mini_batch_size=10, eta=0.5,
                      validation_data=(X_test, Y_test), monitor=["evaluation_cost"])
    after = net.evaluate(X_test, Y_test)
    assert "accuracy" not in after  # argmax accuracy would be meaningless with two 1s per row
    assert after["cost"] < 0.2 * before["cost"]
    assert history["evaluation_cost"][-1] == pytest.approx(after["cost"])
    predicted = net.predict_proba(X_test) > 0.5
    exact_match = (predicted == (Y_test == 1)).all(axis=1).mean()
    assert exact_match > 0.95


def test_hinge_network_classifies_blobs():
    rng = np.random.default_rng(1)
    centres = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    y = rng.integers(0, 3, 300)
    X = centres[y] + 0.5 * rng.standard_normal((300, 2))
    net = Network([Dense(2, 3, weight_init="xavier", bias_init="zeros"), Linear()], "hinge", seed=0)
    before = net.evaluate(X, y)
    net.fit(X, y, epochs=10, mini_batch_size=10, eta=0.05)
    after = net.evaluate(X, y)
    assert after["cost"] < 0.3 * before["cost"]
    assert after["accuracy"] > 0.95


def test_binary_classification_with_one_sigmoid_output():
    """A single output unit takes 0/1 labels as a 1-D y (no one-hot of width 1)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    net = Network([Dense(2, 1), Sigmoid()], "binary_cross_entropy", seed=0, dtype="float64")
    net.fit(X, y, epochs=20, mini_batch_size=10, eta=1.0)
    assert ((net.predict_proba(X)[:, 0] > 0.5) == y).mean() > 0.95


# -- target checks --------------------------------------------------------------

def test_hinge_rejects_non_one_hot_targets():
    net = Network([Dense(2, 3), Linear()], "hinge", seed=0)
    X = np.zeros((2, 2))
    with pytest.raises(DataError, match="one-hot"):
        net.fit(X, np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]), epochs=1)
    net.fit(X, np.array([0, 2]), epochs=1)  # integer labels are fine


@pytest.mark.parametrize("cost", ["binary_cross_entropy", "log_likelihood"])
def test_cross_entropies_reject_targets_outside_unit_interval(cost):
    output = Softmax() if cost == "log_likelihood" else Sigmoid()
    net = Network([Dense(2, 3), output], cost, seed=0)
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        net.evaluate(np.zeros((2, 2)), np.array([[2.0, 0.0, 0.0], [0.0, -1.0, 1.0]]))


@pytest.mark.parametrize("shape", SHAPES)
def test_gradcheck_log_likelihood_with_label_smoothing(shape):
    rng = np.random.default_rng(11)
    A, Y = softmax(rng.standard_normal(shape)), one_hot(rng, *shape)
    result = gradcheck(LogLikelihood(label_smoothing=0.1), A, Y)
    assert result.ok(1e-6), str(result)


def test_label_smoothing_targets_value_and_fused_delta():
    # K = 4, ε = 0.2: the true class gets 1 − 0.2 + 0.05 = 0.85, the others 0.05
    cost = LogLikelihood(label_smoothing=0.2)
    Y = np.array([[0.0, 1.0, 0.0, 0.0]])
    np.testing.assert_allclose(cost.smoothed(Y), [[0.05, 0.85, 0.05, 0.05]], rtol=1e-15)
    A = np.array([[0.1, 0.6, 0.2, 0.1]])
    expected = -(0.05 * np.log(0.1) + 0.85 * np.log(0.6) + 0.05 * np.log(0.2) + 0.05 * np.log(0.1))
    assert cost.value(A, Y) == pytest.approx(expected, rel=1e-12)
    np.testing.assert_allclose(cost.fused_delta(A, Y), A - [[0.05, 0.85, 0.05, 0.05]], rtol=1e-12)
    # the fused delta is still softmax.backward(∂C/∂A): the smoothed rows sum to 1
    Z = np.random.default_rng(3).standard_normal((5, 4))
    Y5 = one_hot(np.random.default_rng(4), 5, 4)
    A5 = Softmax().forward(Z)
    act = Softmax()
    act.forward(Z)
    np.testing.assert_allclose(cost.fused_delta(A5, Y5), act.backward(cost.gradient(A5, Y5)),
                               rtol=0, atol=1e-12)
    assert LogLikelihood().value(A, Y) == pytest.approx(-np.log(0.6), rel=1e-12)


def test_a_network_trains_with_label_smoothing_and_its_gradient_checks():
    rng = np.random.default_rng(5)
    net = Network([Dense(3, 5), Sigmoid(), Dense(5, 4), Softmax()],
                  LogLikelihood(label_smoothing=0.1), seed=0, dtype="float64")
    X, Y = rng.standard_normal((6, 3)), one_hot(rng, 6, 4)
    assert gradcheck(net, X, Y).ok(1e-6)


@pytest.mark.parametrize("bad", [-0.1, 1.0, "x", True])
def test_label_smoothing_refuses_values_outside_0_1(bad):
    with pytest.raises(ConfigError, match="label_smoothing"):
        LogLikelihood(label_smoothing=bad)


def test_label_smoothing_is_for_the_log_likelihood_only():
    assert get_cost("log_likelihood", 0.1).label_smoothing == 0.1
    with pytest.raises(ConfigError, match="log_likelihood"):
        get_cost("cross_entropy", 0.1)


def test_a_config_model_table_sets_label_smoothing():
    from nnlearn.experiments.config.files import resolve
    from nnlearn.nn.builder import build_network

    cfg = resolve({"model": {"hidden": [5], "cost": "log_likelihood", "label_smoothing": 0.1}})
    net = build_network(cfg["model"], (4,), 3, seed=0)
    assert isinstance(net.cost, LogLikelihood) and net.cost.label_smoothing == 0.1
    with pytest.raises(ConfigError, match="label_smoothing"):
        resolve({"model": {"label_smoothing": 1.5}})
