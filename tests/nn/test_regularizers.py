"""L2, L1 and max-norm: exact update rules, shrinkage, penalties in the cost, bad input."""

import numpy as np
import pytest

from nnlearn import Network
from nnlearn.errors import ConfigError
from nnlearn.nn.gradcheck import numerical_gradient
from nnlearn.nn.regularizers import L1, L2, MaxNorm, decay_pairs, get_regularizer, neuron_axis
from nnlearn.train.trainer import Trainer, fit


def blobs(n=120, d=6, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 2.0, (k, d))
    y = rng.integers(0, k, n)
    return centres[y] + rng.normal(0, 1.0, (n, d)), y


def net64(seed=3, sizes=(6, 8, 3)):
    return Network.from_sizes(list(sizes), cost="cross_entropy", seed=seed, dtype="float64")


@pytest.mark.parametrize("reg", [L2(4.0), L1(4.0)])
def test_sgd_with_penalty_is_the_books_update_rule(reg):
    r"""L2: w → (1 − ηλ/n) w − η ∂C₀/∂w;  L1: w → w − (ηλ/n) sgn w − η ∂C₀/∂w; biases: plain SGD."""
    X, y = blobs()
    n, m, eta, lam = len(y), 7, 0.3, reg.lmbda
    trained = net64()
    fit(trained, X, y, epochs=2, mini_batch_size=m, eta=eta, regularizers=[reg])

    ref = net64()  # the same seed: same initial weights and the same shuffles
    Xa, Ya = ref.check_inputs(X), ref.targets(y, n)
    for _ in range(2):
        order = ref.rng.permutation(n)
        for b in range(0, n, m):
            idx = order[b:b + m]
            ref.backward(ref.forward(Xa[idx], True), Ya[idx])
            for layer in ref.layers:
                if "W" in layer.params:
                    W, b_ = layer.params["W"], layer.params["b"]
                    if isinstance(reg, L2):
                        W[...] = (1 - eta * lam / n) * W - eta * layer.grads["W"]
                    else:
                        W[...] = W - eta * lam / n * np.sign(W) - eta * layer.grads["W"]
                    b_[...] = b_ - eta * layer.grads["b"]
    for got, want in zip(trained.layers, ref.layers):
        for key in got.params:
            np.testing.assert_allclose(got.params[key], want.params[key], rtol=1e-12, atol=1e-14)


def weight_norm(net):
    return sum(float((w ** 2).sum()) for w, _ in decay_pairs(net))


def test_l2_shrinks_weights_relative_to_no_l2():
    X, y = blobs(seed=1)
    plain, decayed = net64(seed=5), net64(seed=5)
    fit(plain, X, y, epochs=15, mini_batch_size=10, eta=0.5)
    fit(decayed, X, y, epochs=15, mini_batch_size=10, eta=0.5, lmbda=20.0)
    assert weight_norm(decayed) < 0.8 * weight_norm(plain)


def test_l1_makes_weights_sparser_than_l2():
    X, y = blobs(seed=2)
    a, b = net64(seed=5), net64(seed=5)
    fit(a, X, y, epochs=20, mini_batch_size=10, eta=0.5, regularizers=[L1(20.0)])
    fit(b, X, y, epochs=20, mini_batch_size=10, eta=0.5, regularizers=[L2(20.0)])
    band = 0.5 * 20.0 / len(y)  # ηλ/n: L1-driven weights end up oscillating within it around 0
    small = lambda net: np.mean(np.abs(net.layers[0].params["W"]) <= band)
    assert small(a) > small(b) + 0.1


def test_penalties_only_touch_weights_never_biases():
    net = net64()
    ids = {id(w) for w, _ in decay_pairs(net)}
    assert ids == {id(l.params["W"]) for l in net.layers if "W" in l.params}
    assert not ids & {id(l.params["b"]) for l in net.layers if "b" in l.params}


@pytest.mark.parametrize("reg", [L2(3.0), L1(3.0)])
def test_gradient_term_is_the_derivative_of_the_penalty(reg):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 5))
    w[np.abs(w) < 0.05] = 0.3  # keep L1 away from its kink at 0
    n = 50
    g = np.zeros_like(w)
    reg.add_gradient([(w, g)], n, [np.empty_like(w)])
    numeric = numerical_gradient(lambda: reg.penalty([w], n), w)
    np.testing.assert_allclose(g, numeric, rtol=1e-6, atol=1e-9)


def test_reported_cost_includes_the_penalty():
    X, y = blobs()
    net = net64()
    history = fit(net, X, y, epochs=1, mini_batch_size=10, eta=0.1, lmbda=5.0,
                  validation_data=(X[:30], y[:30]), monitor=["training_cost", "evaluation_cost"])
    n = len(y)
    penalty = 0.5 * 5.0 / n * weight_norm(net)
    assert penalty > 1e-3
    assert history["training_cost"][0] == pytest.approx(net.evaluate(X, y)["cost"] + penalty, rel=1e-12)
    assert history["evaluation_cost"][0] == pytest.approx(
        net.evaluate(X[:30], y[:30])["cost"] + penalty, rel=1e-12)


def test_lmbda_shortcut_is_l2():
    X, y = blobs()
    a, b = net64(), net64()
    fit(a, X, y, epochs=2, mini_batch_size=10, eta=0.3, lmbda=2.0)
    fit(b, X, y, epochs=2, mini_batch_size=10, eta=0.3, regularizers=[L2(2.0)])
    for la, lb in zip(a.layers, b.layers):
        for k in la.params:
            assert np.array_equal(la.params[k], lb.params[k])


def test_max_norm_holds_after_every_step():
    X, y = blobs()
    net = net64()
    c = 0.9
    seen = []

    def check(done, total):  # called after every step when there are < 100 batches
        for W, _ in decay_pairs(net):
            seen.append(np.linalg.norm(W, axis=0).max())

    fit(net, X, y, epochs=3, mini_batch_size=10, eta=2.0, max_norm=c, on_batch=check)
    assert len(seen) == 2 * 3 * 12
    assert max(seen) <= c * (1 + 1e-12)
    assert max(seen) > 0.99 * c  # the constraint was active


def test_max_norm_per_neuron_conventions():
    rng = np.random.default_rng(1)
    dense = rng.normal(size=(10, 4)) * np.array([0.1, 1.0, 3.0, 10.0])  # (n_in, n_out): columns
    conv = rng.normal(size=(3, 2, 3, 3)) * np.array([0.05, 1.0, 5.0])[:, None, None, None]
    c = 1.5
    for W, axis in ((dense, 1), (conv, 0)):
        assert neuron_axis(object(), W) == axis
        before = np.moveaxis(W, axis, 0).reshape(W.shape[axis], -1).copy()
        MaxNorm(c).apply(W, axis)
        after = np.moveaxis(W, axis, 0).reshape(W.shape[axis], -1)
        norms_before, norms_after = np.linalg.norm(before, axis=1), np.linalg.norm(after, axis=1)
        for j in range(len(norms_before)):
            if norms_before[j] <= c:
                assert np.array_equal(before[j], after[j])  # untouched
            else:
                assert norms_after[j] == pytest.approx(c, rel=1e-12)
                np.testing.assert_allclose(after[j], before[j] * c / norms_before[j], rtol=1e-12)


def test_max_norm_on_a_middle_neuron_axis():
    class Layer:  # a layer may name its neuron axis
        neuron_axis = 1

    W = np.random.default_rng(2).normal(size=(3, 4, 5)) * 3
    assert neuron_axis(Layer(), W) == 1
    expected = W.copy()
    for j in range(4):
        norm = np.linalg.norm(W[:, j, :])
        expected[:, j, :] *= min(1.0, 2.0 / norm)
    MaxNorm(2.0).apply(W, 1)
    np.testing.assert_allclose(W, expected, rtol=1e-12)


@pytest.mark.parametrize("make,phrase", [
    (lambda: L2(-1.0), "lmbda"),
    (lambda: L1(float("nan")), "lmbda"),
    (lambda: get_regularizer("l3", 1.0), "unknown regulariser 'l3'"),
    (lambda: MaxNorm(0), "max_norm"),
    (lambda: MaxNorm(-2.0), "max_norm"),
])
def test_bad_regulariser_arguments(make, phrase):
    with pytest.raises(ConfigError, match=phrase):
        make()


def test_negative_lmbda_in_fit():
    X, y = blobs()
    with pytest.raises(ConfigError, match=r"lmbda .* >= 0, got -5"):
        Trainer(net64(), X, y, lmbda=-5.0)
