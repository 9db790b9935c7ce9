"""Activation layers: values against formulas, gradient checks, extreme inputs, training."""

from __future__ import annotations

import numpy as np
import pytest

import nnlearn
from nnlearn import ConfigError, Network, gradcheck
from nnlearn.nn.layers import (ACTIVATIONS, LAYER_TYPES, Dense, LeakyReLU, Linear, ReLU, Sigmoid,
                            Softmax, Step, Tanh, get_activation)

SHAPES = [(1, 1), (4, 3), (7, 10)]
SMOOTH = ["sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax"]


def away_from_zero(rng, shape, margin=1e-3):
    """Standard normals with |z| > margin, so kinks at 0 don't spoil finite differences."""
    Z = rng.standard_normal(shape)
    return np.where(np.abs(Z) < margin, np.copysign(margin * 10, Z), Z)


def test_registry_names_and_layer_types():
    assert set(ACTIVATIONS) == {"sigmoid", "softmax", "tanh", "relu", "leaky_relu", "linear", "step"}
    for name, cls in ACTIVATIONS.items():
        assert cls.name == name
        assert LAYER_TYPES[cls.__name__] is cls
        assert isinstance(get_activation(name), cls)


def test_unknown_activation_lists_choices():
    with pytest.raises(ConfigError) as info:
        get_activation("relu6")
    for name in ACTIVATIONS:
        assert name in str(info.value)
    with pytest.raises(ConfigError, match="alpha"):
        get_activation("tanh", alpha=0.1)


def test_forward_values_match_formulas():
    Z = np.array([[-3.0, -0.5, 0.0, 0.25, 2.0]])
    np.testing.assert_allclose(Tanh().forward(Z), np.tanh(Z))
    np.testing.assert_array_equal(ReLU().forward(Z), [[0, 0, 0, 0.25, 2.0]])
    np.testing.assert_allclose(LeakyReLU().forward(Z), [[-0.03, -0.005, 0, 0.25, 2.0]])
    np.testing.assert_allclose(LeakyReLU(alpha=0.2).forward(Z), [[-0.6, -0.1, 0, 0.25, 2.0]])
    np.testing.assert_array_equal(Linear().forward(Z), Z)
    np.testing.assert_array_equal(Step().forward(Z), [[0, 0, 0, 1, 1]])  # 1[z > 0]: 0 at 0
    assert get_activation("leaky_relu", alpha=0.3).alpha == 0.3


def test_relu_one_layer_across_batch_shapes_and_dtypes():
    # ReLU keeps a zeros array of one example's shape between calls (a speed detail);
    # a new batch size, example shape or dtype must still give max(0, z) in that dtype
    relu, rng = ReLU(), np.random.default_rng(0)
    for shape, dtype in [((4, 3, 5, 5), np.float32), ((7, 3, 5, 5), np.float32),
                         ((2, 6), np.float64), ((3, 3, 5, 5), np.float64), ((1, 6), np.float32)]:
        Z = rng.standard_normal(shape).astype(dtype)
        A = relu.forward(Z)
        assert A.dtype == dtype and A.shape == shape
        np.testing.assert_array_equal(A, np.where(Z > 0, Z, 0))
    assert np.isnan(relu.forward(np.array([[np.nan, -1.0]])))[0, 0]  # NaN propagates, as max(0, NaN)


@pytest.mark.parametrize("name", SMOOTH)
@pytest.mark.parametrize("shape", SHAPES)
def test_gradcheck(name, shape):
    rng = np.random.default_rng(sum(shape))
    layer = get_activation(name)
    result = gradcheck(layer, away_from_zero(rng, shape) * 2)
    assert result.ok(1e-6), str(result)


@pytest.mark.parametrize("alpha", [0.0, 0.1, 0.5])
def test_leaky_relu_gradcheck_alphas(alpha):
    rng = np.random.default_rng(3)
    result = gradcheck(LeakyReLU(alpha=alpha), away_from_zero(rng, (6, 5)))
    assert result.ok(1e-6), str(result)


def test_backward_derivatives_explicitly():
    Z = np.array([[-2.0, -0.1, 0.3, 4.0]])
    G = np.array([[1.0, 2.0, 3.0, 4.0]])
    t = Tanh()
    t.forward(Z)
    np.testing.assert_allclose(t.backward(G), G / np.cosh(Z) ** 2)
    r = ReLU()
    r.forward(Z)
    np.testing.assert_array_equal(r.backward(G), [[0, 0, 3.0, 4.0]])
    lr = LeakyReLU(alpha=0.25)
    lr.forward(Z)
    np.testing.assert_allclose(lr.backward(G), [[0.25, 0.5, 3.0, 4.0]])
    li = Linear()
    li.forward(Z)
    np.testing.assert_array_equal(li.backward(G), G)


@pytest.mark.parametrize("shape", SHAPES)
def test_step_gradient_is_zero(shape):
    """The step's derivative vanishes away from 0: finite differences and backward agree on 0."""
    rng = np.random.default_rng(1)
    Z = away_from_zero(rng, shape, margin=1e-2)
    layer = Step()
    A = layer.forward(Z)
    G = rng.standard_normal(shape)
    dZ = layer.backward(G)
    assert dZ.shape == Z.shape and not dZ.any()
    eps = 1e-6
    for idx in np.ndindex(*shape):
        Zp = Z.copy()
        Zp[idx] += eps
        assert np.array_equal(Step().forward(Zp), A)  # output does not move: numeric gradient 0
    assert gradcheck(layer, Z).max_error == 0.0


def test_step_blocks_learning_below_it():
    """Through a hidden step layer no gradient reaches the first Dense layer."""
    net = Network([Dense(3, 4), Step(), Dense(4, 2), Sigmoid()], "cross_entropy", seed=0,
                  dtype="float64")
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)), rng.integers(0, 2, 20)
    W0 = net.layers[0].params["W"].copy()
    W2 = net.layers[2].params["W"].copy()
    net.fit(X, y, epochs=2, mini_batch_size=5, eta=1.0)
    np.testing.assert_array_equal(net.layers[0].params["W"], W0)
    assert not np.array_equal(net.layers[2].params["W"], W2)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extreme_inputs_no_warnings(name, dtype):
    """±1e30 and friends: finite outputs and gradients, no overflow (warnings are errors)."""
    Z = np.array([[1e30, -1e30, 0.0, 1e3, -1e3, 88.7, -88.7, 1e-30]], dtype=dtype)
    layer = get_activation(name)
    A = layer.forward(Z)
    dZ = layer.backward(np.ones_like(A))
    assert A.dtype == Z.dtype and dZ.dtype == Z.dtype
    assert np.isfinite(A).all() and np.isfinite(dZ).all()
    if name in ("tanh", "sigmoid", "step"):
        low = -1.0 if name == "tanh" else 0.0  # sigmoid's capped exponent: within 1e-38 of 0
        assert A[0, 0] == 1.0 and abs(A[0, 1] - low) < 1e-38
    if name in ("relu", "leaky_relu", "linear"):
        assert A[0, 0] == np.asarray(1e30, dtype)


def test_backward_before_forward_raises():
    for name in ACTIVATIONS:
        with pytest.raises(RuntimeError, match="before forward"):
            get_activation(name).backward(np.ones((2, 2)))


@pytest.mark.parametrize("alpha", [-0.1, 1.0, float("nan"), "0.1", True])
def test_leaky_relu_bad_alpha(alpha):
    with pytest.raises(ConfigError, match="alpha"):
        LeakyReLU(alpha=alpha)


def test_leaky_relu_alpha_survives_save_load(tmp_path):
    net = Network([Dense(3, 4), LeakyReLU(alpha=0.2), Dense(4, 2), Linear()], "mse", seed=1)
    path = tmp_path / "m.npz"
    net.save(path)
    net2 = nnlearn.load(path)
    assert isinstance(net2.layers[1], LeakyReLU) and net2.layers[1].alpha == 0.2
    assert isinstance(net2.layers[3], Linear)
    X = np.random.default_rng(0).standard_normal((5, 3))
    np.testing.assert_array_equal(net.predict_proba(X), net2.predict_proba(X))


@pytest.mark.parametrize("name", ["tanh", "relu", "leaky_relu", "linear"])
def test_network_gradcheck_with_hidden_activation(name):
    rng = np.random.default_rng(5)
    net = Network([Dense(4, 6), get_activation(name), Dense(6, 3), Softmax()], "log_likelihood",
                  seed=2, dtype="float64")
    X = rng.standard_normal((5, 4))
    Y = np.eye(3)[rng.integers(0, 3, 5)]
    result = gradcheck(net, X, Y)
    assert result.ok(1e-6), str(result)


@pytest.mark.parametrize("name", ["tanh", "relu", "leaky_relu", "linear"])
def test_short_training_decreases_cost(name):
    """A [2, 16, 3] net on three Gaussian blobs: the cost falls clearly in a few epochs."""
    rng = np.random.default_rng(0)
    centres = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    y = rng.integers(0, 3, 300)
    X = centres[y] + 0.5 * rng.standard_normal((300, 2))
    net = Network.from_sizes([2, 16, 3], activation=name, cost="log_likelihood",
                             weight_init="he" if "relu" in name else "xavier", seed=3)
    before = net.evaluate(X, y)
    net.fit(X, y, epochs=5, mini_batch_size=10, eta=0.1)
    after = net.evaluate(X, y)
    assert after["cost"] < 0.5 * before["cost"], (before, after)
    assert after["accuracy"] > 0.9
