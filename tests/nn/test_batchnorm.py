"""Tests for nnlearn.nn.layers.BatchNorm: gradients, train/inference modes, running stats, save/load."""

from __future__ import annotations

import numpy as np
import pytest

import nnlearn
from nnlearn import BatchNorm, Dense, Network, gradcheck
from nnlearn.errors import ConfigError, DataError
from nnlearn.nn.layers.base import LAYER_TYPES


def _bn(num_features: int, seed: int = 0, **kw) -> BatchNorm:
    """A float64 BatchNorm with non-trivial gamma/beta (so their gradients matter)."""
    layer = BatchNorm(num_features, dtype="float64", **kw)
    rng = np.random.default_rng(seed)
    layer.params["gamma"][...] = rng.uniform(0.5, 2.0, num_features)
    layer.params["beta"][...] = rng.standard_normal(num_features)
    return layer


def _reference_forward(X, gamma, beta, eps):
    """Loop over features: the textbook definition, one feature at a time."""
    Y = np.empty_like(X)
    for f in range(X.shape[1]):
        v = X[:, f]
        mu, var = v.mean(), ((v - v.mean()) ** 2).mean()
        Y[:, f] = gamma[f] * (v - mu) / np.sqrt(var + eps) + beta[f]
    return Y


@pytest.mark.parametrize("shape", [(5, 3), (8, 1), (2, 7), (4, 2, 3, 3), (3, 3, 2, 4), (2, 4, 5)])
def test_gradcheck_training_mode(shape):
    X = np.random.default_rng(1).normal(2.0, 3.0, size=shape)
    result = gradcheck(_bn(shape[1]), X, training=True)
    assert set(result.errors) == {"X", "gamma", "beta"}
    assert result.ok(1e-6), result


@pytest.mark.parametrize("shape", [(5, 3), (3, 2, 3, 3)])
def test_gradcheck_inference_mode(shape):
    layer = _bn(shape[1])
    rng = np.random.default_rng(2)
    layer.buffers["running_mean"][...] = rng.standard_normal(shape[1])
    layer.buffers["running_var"][...] = rng.uniform(0.5, 2.0, shape[1])
    result = gradcheck(layer, rng.standard_normal(shape), training=False)
    assert result.ok(1e-6), result


def test_training_forward_normalises_each_feature():
    rng = np.random.default_rng(3)
    X = rng.normal([1.0, -5.0, 10.0], [0.1, 2.0, 30.0], size=(64, 3))
    layer = _bn(3)
    Y = layer.forward(X, training=True)
    np.testing.assert_allclose(Y, _reference_forward(X, layer.params["gamma"],
                                                     layer.params["beta"], layer.eps), rtol=1e-12)
    X_hat = (Y - layer.params["beta"]) / layer.params["gamma"]
    np.testing.assert_allclose(X_hat.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(X_hat.var(axis=0), X.var(axis=0) / (X.var(axis=0) + 1e-5), rtol=1e-10)


def test_per_channel_equals_per_feature_on_moved_axes():
    """(N, C, H, W) normalises each channel over N, H, W: same as (N·H·W, C) rows."""
    rng = np.random.default_rng(4)
    X = rng.normal(3.0, 2.0, size=(4, 3, 5, 2))
    rows = X.transpose(0, 2, 3, 1).reshape(-1, 3)
    conv_bn, dense_bn = _bn(3, seed=7), _bn(3, seed=7)
    Y = conv_bn.forward(X, training=True)
    Y_rows = dense_bn.forward(rows, training=True)
    np.testing.assert_allclose(Y.transpose(0, 2, 3, 1).reshape(-1, 3), Y_rows, rtol=1e-12)
    G = rng.standard_normal(X.shape)
    dX = conv_bn.backward(G)
    dX_rows = dense_bn.backward(G.transpose(0, 2, 3, 1).reshape(-1, 3))
    np.testing.assert_allclose(dX.transpose(0, 2, 3, 1).reshape(-1, 3), dX_rows, rtol=1e-10)
    np.testing.assert_allclose(conv_bn.grads["gamma"], dense_bn.grads["gamma"], rtol=1e-10)
    np.testing.assert_allclose(conv_bn.buffers["running_var"], dense_bn.buffers["running_var"])


def test_inference_uses_running_stats_not_the_batch():
    layer = _bn(2)
    layer.buffers["running_mean"][...] = [1.0, -2.0]
    layer.buffers["running_var"][...] = [4.0, 0.25]
    X = np.array([[3.0, -2.0], [1.0, -1.0], [5.0, 0.0]])
    g, b = layer.params["gamma"], layer.params["beta"]
    expected = g * (X - [1.0, -2.0]) / np.sqrt(np.array([4.0, 0.25]) + layer.eps) + b
    np.testing.assert_allclose(layer.forward(X), expected, rtol=1e-12)
    # one example at a time gives the same rows: no dependence on the rest of the batch
    np.testing.assert_allclose(layer.forward(X[1:2]), expected[1:2], rtol=1e-12)
    before = {k: v.copy() for k, v in layer.buffers.items()}
    layer.forward(X, training=False)
    for k in before:
        np.testing.assert_array_equal(layer.buffers[k], before[k])


def test_running_stats_update_rule_and_convergence():
    rng = np.random.default_rng(5)
    layer = BatchNorm(3, momentum=0.8, dtype="float64")
    X = rng.standard_normal((10, 3))
    layer.forward(X, training=True)
    np.testing.assert_allclose(layer.buffers["running_mean"], 0.2 * X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(layer.buffers["running_var"],
                               0.8 + 0.2 * X.var(axis=0, ddof=1), rtol=1e-12)
    mean, std = np.array([2.0, -1.0, 0.5]), np.array([3.0, 0.5, 1.0])
    layer = BatchNorm(3, momentum=0.9, dtype="float64")
    for _ in range(300):
        layer.forward(rng.normal(mean, std, size=(200, 3)), training=True)
    # stationary spread of the estimates: ~0.016 σ for the mean, ~2.3 % for the variance
    assert np.all(np.abs(layer.buffers["running_mean"] - mean) < 0.1 * std)
    np.testing.assert_allclose(layer.buffers["running_var"], std ** 2, rtol=0.1)


def test_float32_forward_keeps_dtype_and_buffers():
    layer = BatchNorm(4)
    X = np.random.default_rng(6).standard_normal((8, 4)).astype(np.float32)
    Y = layer.forward(X, training=True)
    assert Y.dtype == np.float32
    assert layer.buffers["running_mean"].dtype == np.float32
    assert layer.backward(Y).dtype == np.float32


def test_gamma_not_decayed_and_registered():
    assert BatchNorm.decay_keys == ()
    assert LAYER_TYPES["BatchNorm"] is BatchNorm
    assert BatchNorm(3, momentum=0.5, eps=1e-3).config() == {"num_features": 3, "momentum": 0.5,
                                                             "eps": 1e-3}


def test_save_load_round_trip_with_buffers(tmp_path):
    rng = np.random.default_rng(8)
    net = Network([Dense(4, 6), BatchNorm(6, momentum=0.7), nnlearn.Sigmoid(), Dense(6, 2),
                   nnlearn.Sigmoid()], "quadratic", seed=3)
    bn = net.layers[1]
    for _ in range(5):
        net.forward(rng.normal(1.0, 2.0, size=(16, 4)).astype(np.float32), training=True)
    bn.params["gamma"][...] = rng.uniform(0.5, 2.0, 6)
    assert not np.allclose(bn.buffers["running_mean"], 0.0)
    path = tmp_path / "bn.npz"
    net.save(path)
    loaded = nnlearn.load(path)
    lbn = loaded.layers[1]
    assert isinstance(lbn, BatchNorm) and lbn.config() == bn.config()
    for store in ("params", "buffers"):
        for key, value in getattr(bn, store).items():
            np.testing.assert_array_equal(getattr(lbn, store)[key], value)
    X = rng.standard_normal((7, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))


def test_network_with_batchnorm_gradchecks():
    rng = np.random.default_rng(9)
    net = Network([Dense(3, 5), BatchNorm(5), nnlearn.Sigmoid(), Dense(5, 2), nnlearn.Sigmoid()],
                  "quadratic", seed=1, dtype="float64")
    X, Y = rng.standard_normal((6, 3)), rng.uniform(0, 1, (6, 2))
    result = gradcheck(net, X, Y, training=True)
    # BN subtracts the batch mean, so the bias of the Dense layer before it has no
    # effect on the cost: its gradient is exactly 0 (finite differences give noise,
    # hence relative error 1 for that entry).
    np.testing.assert_allclose(net.layers[0].grads["b"], 0.0, atol=1e-12)
    others = {k: v for k, v in result.errors.items() if k != "layer0.b"}
    assert len(others) == 5 and max(others.values()) < 1e-6, result


@pytest.mark.parametrize("kwargs", [{"num_features": 0}, {"num_features": 2.0},
                                    {"num_features": 2, "momentum": 1.0},
                                    {"num_features": 2, "momentum": -0.1},
                                    {"num_features": 2, "eps": 0.0}])
def test_bad_config(kwargs):
    with pytest.raises(ConfigError, match=next(iter(k for k in kwargs if k != "num_features"),
                                               "num_features")):
        BatchNorm(**kwargs)


def test_bad_input():
    layer = BatchNorm(3, dtype="float64")
    with pytest.raises(DataError, match=r"BatchNorm\(3\) expects inputs of shape \(N, 3\)"):
        layer.forward(np.zeros((4, 2)))
    with pytest.raises(DataError, match="expects inputs"):
        layer.forward(np.zeros(3))
    with pytest.raises(DataError, match="at least 2 examples"):
        layer.forward(np.zeros((1, 3)), training=True)
    layer.forward(np.zeros((1, 3)), training=False)  # inference on one example is fine
    with pytest.raises(DataError, match="expects examples of shape"):
        layer.output_shape((4,))
    assert layer.output_shape((3, 5, 5)) == (3, 5, 5)
    with pytest.raises(RuntimeError, match="before forward"):
        BatchNorm(2).backward(np.zeros((2, 2)))
