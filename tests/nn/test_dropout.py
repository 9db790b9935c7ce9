"""Dropout, inverted and classic: gradient checks with a frozen mask, scaling, inference, bad input."""

import numpy as np
import pytest

import nnlearn
from nnlearn import Dense, Dropout, Network, gradcheck
from nnlearn.errors import ConfigError, DataError


@pytest.mark.parametrize("shape,p", [((4, 7), 0.5), ((3, 2, 5, 5), 0.2), ((6, 3), 0.9)])
def test_gradcheck_with_fixed_mask(shape, p):
    rng = np.random.default_rng(0)
    layer = Dropout(p)
    keep = (rng.random(shape) >= p).astype(np.float64)
    layer.fix_mask(keep)
    X = rng.normal(size=shape)
    result = gradcheck(layer, X)
    assert result.ok(1e-6), result
    # and the frozen mask is the one applied: kept units scaled by 1/(1-p), dropped ones zero
    np.testing.assert_allclose(layer.forward(X, training=True), X * keep / (1 - p), rtol=1e-15)


def test_gradcheck_network_with_dropout():
    rng = np.random.default_rng(1)
    net = Network([Dense(5, 6), nnlearn.Sigmoid(), Dropout(0.4), Dense(6, 3), nnlearn.Sigmoid()],
                  "cross_entropy", seed=2, dtype="float64")
    X, Y = rng.normal(size=(4, 5)), np.eye(3)[rng.integers(0, 3, 4)]
    net.layers[2].fix_mask(rng.random((4, 6)) >= 0.4)
    assert gradcheck(net, X, Y).ok(1e-6)


def test_backward_masks_dx():
    layer = Dropout(0.25, seed=3)
    X = np.ones((50, 40))
    Y = layer.forward(X, training=True)
    dY = np.random.default_rng(4).normal(size=X.shape)
    dX = layer.backward(dY)
    kept = Y != 0
    assert np.all(dX[~kept] == 0)
    np.testing.assert_allclose(dX[kept], dY[kept] / 0.75, rtol=1e-15)
    np.testing.assert_allclose(Y[kept], 1 / 0.75, rtol=1e-15)


def test_inference_is_identity():
    layer = Dropout(0.5, seed=0)
    X = np.random.default_rng(0).normal(size=(8, 9)).astype(np.float32)
    assert layer.forward(X) is X
    dY = np.ones_like(X)
    assert layer.backward(dY) is dY
    assert Dropout(0.0).forward(X, training=True) is X


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_training_preserves_the_mean(p):
    layer = Dropout(p, seed=11)
    X = np.full((1000, 1000), 2.0, dtype=np.float32)
    Y = layer.forward(X, training=True)
    assert Y.dtype == np.float32
    dropped = np.mean(Y == 0)
    assert abs(dropped - p) < 0.005            # ~5 standard deviations at N = 10⁶
    sigma = 2.0 * np.sqrt(p * (1 - p) / X.size) / (1 - p)  # std of the sample mean of Y
    assert abs(Y.mean() - 2.0) < 5 * sigma


def test_fresh_mask_each_forward_and_reproducible_with_seed():
    X = np.ones((20, 30))
    a, b = Dropout(0.5, seed=7), Dropout(0.5, seed=7)
    ya1, ya2, yb1 = a.forward(X, True), a.forward(X, True), b.forward(X, True)
    assert not np.array_equal(ya1, ya2)
    assert np.array_equal(ya1, yb1)
    a.fix_mask(np.ones((20, 30)))
    a.release_mask()
    assert not np.array_equal(a.forward(X, True), X * 2)


def test_network_training_with_dropout_is_reproducible_and_saves(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 5)), rng.integers(0, 3, 60)

    def make():
        return Network([Dense(5, 8), nnlearn.Sigmoid(), Dropout(0.3), Dense(8, 3), nnlearn.Sigmoid()],
                       "cross_entropy", seed=9, dtype="float64")

    n1, n2 = make(), make()
    assert n1.layers[2].rng is n1.rng
    for net in (n1, n2):
        net.fit(X, y, epochs=2, mini_batch_size=6, eta=0.5)
    assert np.array_equal(n1.layers[0].params["W"], n2.layers[0].params["W"])
    n1.save(tmp_path / "m.npz")
    loaded = nnlearn.load(tmp_path / "m.npz")
    assert isinstance(loaded.layers[2], Dropout) and loaded.layers[2].p == 0.3
    np.testing.assert_array_equal(loaded.predict_proba(X), n1.predict_proba(X))


@pytest.mark.parametrize("shape,p", [((4, 7), 0.5), ((3, 2, 5, 5), 0.2)])
def test_classic_gradcheck_and_scaling(shape, p):
    rng = np.random.default_rng(5)
    layer = Dropout(p, scale_at="test")
    keep = (rng.random(shape) >= p).astype(np.float64)
    layer.fix_mask(keep)
    X = rng.normal(size=shape)
    assert gradcheck(layer, X).ok(1e-6)
    # training: the bare mask, no 1/(1-p); inference: (1-p) X, and its backward the same factor
    np.testing.assert_array_equal(layer.forward(X, training=True), X * keep)
    np.testing.assert_allclose(layer.forward(X), (1 - p) * X, rtol=1e-15)
    dY = rng.normal(size=shape)
    np.testing.assert_allclose(layer.backward(dY), (1 - p) * dY, rtol=1e-15)
    assert layer.forward(X.astype(np.float32)).dtype == np.float32


def test_classic_and_inverted_predict_alike_but_train_differently():
    """Same masks and weights, W_classic = W_inverted / (1 − p) after dropout: identical
    training forward; inference equal; but one SGD step differs by the 1/(1 − p)² factor."""
    rng = np.random.default_rng(6)
    X, y = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)

    def make(scale_at):
        return Network([Dense(4, 5), nnlearn.Sigmoid(), Dropout(0.5, scale_at=scale_at),
                        Dense(5, 3), nnlearn.Softmax()], "log_likelihood", seed=1, dtype="float64")

    inv, cla = make("train"), make("test")
    cla.layers[3].params["W"][...] = inv.layers[3].params["W"] * 2.0  # ×1/(1−p)
    np.testing.assert_allclose(cla.predict_proba(X), inv.predict_proba(X), rtol=1e-12)
    keep = rng.random((8, 5)) >= 0.5
    for net in (inv, cla):
        net.layers[2].fix_mask(keep)
    np.testing.assert_allclose(cla.forward(X, training=True), inv.forward(X, training=True),
                               rtol=1e-12)
    Y = np.eye(3)[y]
    for net in (inv, cla):
        net.backward(net.forward(X, training=True), Y)
    # ∂C/∂W after the dropout layer: inverted = 2 × classic, and it sits on weights half as large
    np.testing.assert_allclose(inv.layers[3].grads["W"], 2.0 * cla.layers[3].grads["W"], rtol=1e-12)


def test_classic_mode_saves_and_loads(tmp_path):
    net = Network([Dense(3, 4), nnlearn.ReLU(), Dropout(0.25, scale_at="test"), Dense(4, 2),
                   nnlearn.Softmax()], "log_likelihood", seed=0)
    net.save(tmp_path / "m.npz")
    loaded = nnlearn.load(tmp_path / "m.npz")
    assert loaded.layers[2].scale_at == "test" and loaded.layers[2].p == 0.25
    X = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))


@pytest.mark.parametrize("scale_at", ["inverted", "Test", None, 1])
def test_bad_scale_at(scale_at):
    with pytest.raises(ConfigError, match=r"scale_at must be one of 'train', 'test'"):
        Dropout(0.5, scale_at=scale_at)


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5, True, "0.5", float("nan")])
def test_bad_p(p):
    with pytest.raises(ConfigError, match=r"Dropout p .* \[0, 1\)"):
        Dropout(p)


def test_bad_fixed_masks():
    layer = Dropout(0.5)
    with pytest.raises(DataError, match="0s and 1s"):
        layer.fix_mask(np.full((2, 2), 0.5))
    layer.fix_mask(np.ones((2, 3)))
    with pytest.raises(DataError, match=r"fixed mask has shape \(2, 3\)"):
        layer.forward(np.ones((4, 3)), training=True)
