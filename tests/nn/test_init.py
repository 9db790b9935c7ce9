"""Initialisers: variances on large draws, fans for dense and conv shapes, bias options."""

from __future__ import annotations

import numpy as np
import pytest

from nnlearn import ConfigError, Network
from nnlearn.nn.init import INITIALIZERS, fans, get_initializer, he, normal_fan_in, xavier
from nnlearn.nn.layers import Dense


def rel_tol(n_samples):
    """Five standard errors of a sample variance of normals: sd(s²)/σ² = √(2/(n−1))."""
    return 5 * (2 / (n_samples - 1)) ** 0.5


@pytest.mark.parametrize("name, fan_in, fan_out, expected", [
    ("xavier", 1000, 1000, 2 / 2000),
    ("xavier", 784, 100, 2 / 884),
    ("he", 1000, 1000, 2 / 1000),
    ("he", 300, 1000, 2 / 300),
    ("normal_fan_in", 1000, 1000, 1 / 1000),
    ("normal", 1000, 1000, 1.0),
])
def test_variances_on_large_draws(name, fan_in, fan_out, expected):
    rng = np.random.default_rng(0)
    W = get_initializer(name)(rng, (fan_in, fan_out), fan_in, fan_out)
    assert W.shape == (fan_in, fan_out) and W.dtype == np.float64
    assert abs(W.mean()) < 5 * (expected / W.size) ** 0.5
    assert W.var() == pytest.approx(expected, rel=rel_tol(W.size))


def test_conv_kernel_fans_and_variances():
    """Conv weights (C_out, C_in, kh, kw): fan_in = C_in·kh·kw, fan_out = C_out·kh·kw."""
    shape = (64, 32, 5, 5)
    assert fans(shape) == (32 * 25, 64 * 25)
    assert fans((784, 30)) == (784, 30)
    assert fans((10,)) == (10, 10)
    rng = np.random.default_rng(1)
    n = np.prod(shape)
    W = he(rng, shape, 32 * 25, 64 * 25)
    assert W.shape == shape and W.var() == pytest.approx(2 / 800, rel=rel_tol(n))
    W = xavier(rng, shape, np.int64(32 * 25), np.int64(64 * 25))  # numpy integers are fine
    assert W.var() == pytest.approx(2 / (800 + 1600), rel=rel_tol(n))
    W = xavier(rng, shape)  # fans inferred from the conv layout
    assert W.var() == pytest.approx(2 / (800 + 1600), rel=rel_tol(n))


def test_inferred_fans_equal_explicit_ones():
    a = he(np.random.default_rng(3), (40, 7))
    b = he(np.random.default_rng(3), (40, 7), 40, 7)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, he(np.random.default_rng(3), (40, 7), 7, 40))


def test_he_keeps_relu_activations_from_shrinking():
    """Through 10 ReLU layers of width 500 He init keeps E[z²] at its first-layer value
    (2 for standard-normal inputs); N(0, 1/n_in) halves it at every layer after the first,
    1 → 2⁻⁹ (He et al. 2015, eq. 10)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 500))
    out = {}
    for name in ("he", "normal_fan_in"):
        A = X
        init = get_initializer(name)
        for _ in range(10):
            Z = A @ init(rng, (500, 500), 500, 500)
            A = np.maximum(Z, 0)
        out[name] = (Z ** 2).mean()
    assert out["he"] == pytest.approx(2.0, rel=0.25)
    assert out["normal_fan_in"] == pytest.approx(2.0 ** -9, rel=0.25)


@pytest.mark.parametrize("fan_in", [0, -3, 2.5, True, "10"])
def test_bad_fans_raise(fan_in):
    with pytest.raises(ConfigError, match="fan_in"):
        xavier(np.random.default_rng(0), (3, 3), fan_in, 3)


def test_bad_shape_raises():
    with pytest.raises(ConfigError, match="positive"):
        fans((3, 0))


def test_unknown_initializer_lists_choices():
    with pytest.raises(ConfigError) as info:
        get_initializer("orthogonal")
    for name in ("he", "xavier", "normal", "normal_fan_in", "zeros"):
        assert name in str(info.value)
    with pytest.raises(ConfigError, match="xavier"):
        Dense(3, 4, weight_init="glorot_uniform")


def test_registry():
    assert INITIALIZERS["glorot"] is INITIALIZERS["xavier"] is xavier
    assert INITIALIZERS["he"] is he and INITIALIZERS["normal_fan_in"] is normal_fan_in


@pytest.mark.parametrize("weight_init, var", [("he", 2 / 400), ("xavier", 2 / 700)])
def test_dense_weight_and_bias_options(weight_init, var):
    d = Dense(400, 300, weight_init=weight_init, bias_init="zeros", dtype="float64", seed=0)
    assert d.params["W"].var() == pytest.approx(var, rel=rel_tol(400 * 300))
    assert not d.params["b"].any()
    d = Dense(400, 300, weight_init=weight_init, bias_init="normal", dtype="float64", seed=0)
    assert d.params["b"].var() == pytest.approx(1.0, rel=rel_tol(300))  # the book's biases


def test_network_from_sizes_uses_initializer_and_seed():
    a = Network.from_sizes([50, 40, 10], weight_init="he", bias_init="zeros", seed=5)
    b = Network.from_sizes([50, 40, 10], weight_init="he", bias_init="zeros", seed=5)
    for la, lb in zip(a.layers, b.layers):
        for key in la.params:
            np.testing.assert_array_equal(la.params[key], lb.params[key])
    assert not a.layers[0].params["b"].any()
    assert a.layers[0].params["W"].std() == pytest.approx((2 / 50) ** 0.5, rel=0.1)
