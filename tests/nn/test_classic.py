"""Classic single neurons: the book's NAND perceptron, perceptron convergence, ADALINE's LMS fit."""

from __future__ import annotations

import numpy as np
import pytest

from nnlearn import ConfigError, DataError, DivergenceError
from nnlearn.nn.classic import Adaline, Perceptron

GATE_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
NAND = np.array([1, 1, 1, 0])


def separable_with_margin(seed, n=300, d=2, gamma=0.1):
    """Points in [−1, 1]^d labelled by a random hyperplane u·(x, 1) with ‖u‖ = 1, keeping only
    those at least γ from it: the data have margin ≥ γ by construction."""
    rng = np.random.default_rng(seed)
    u = rng.standard_normal(d + 1)
    u[-1] *= 0.3  # keep the plane through the box
    u /= np.linalg.norm(u)
    X = rng.uniform(-1, 1, (20 * n, d))
    s = np.c_[X, np.ones(len(X))] @ u
    keep = np.abs(s) >= gamma
    X, s = X[keep][:n], s[keep][:n]
    assert len(X) == n
    return X, (s > 0).astype(int), gamma


# -- perceptron ---------------------------------------------------------------------

def test_book_nand_perceptron_by_hand():
    """Book ch. 1: weights −2, −2 and bias 3 compute NAND."""
    p = Perceptron.from_weights([-2, -2], 3)
    np.testing.assert_array_equal(p.decision_function(GATE_X), [3, 1, 1, -1])
    np.testing.assert_array_equal(p.predict(GATE_X), NAND)
    assert p.score(GATE_X, NAND) == 1.0


@pytest.mark.parametrize("gate, labels", [("nand", NAND), ("and", [0, 0, 0, 1]),
                                          ("or", [0, 1, 1, 1])])
def test_perceptron_learns_logic_gates(gate, labels):
    p = Perceptron(eta=1.0, max_epochs=50).fit(GATE_X, labels)
    assert p.converged_
    np.testing.assert_array_equal(p.predict(GATE_X), labels)
    assert p.n_updates_ == sum(p.errors_) > 0 and p.errors_[-1] == 0


def test_perceptron_nand_learned_weights_by_hand():
    """From w = 0, b = 0, in order, η = 1: the rule's trace worked out on paper.

    epoch 1: (0,0)→ŷ=0,y=1: b=1 | (0,1): z=1 ok | (1,0): ok | (1,1): z=1, y=0: w=(−1,−1), b=0
    epoch 2: (0,0): z=0, y=1: b=1 | (0,1): z=0: w=(−1,0), b=2 | (1,0): z=1 ok | (1,1): z=1: w=(−2,−1), b=1
    epoch 3: (0,0) ok | (0,1): z=0: w=(−2,0), b=2 | (1,0): z=0: w=(−1,0), b=3 | (1,1): z=2: w=(−2,−1), b=2
    epoch 4: (0,0) ok | (0,1): z=1 ok | (1,0): z=0: w=(−1,−1), b=3 | (1,1): z=1: w=(−2,−2), b=2
    epoch 5: z = 2, 0 → (0,1) wrong: w=(−2,−1), b=3 | (1,0): z=1 ok | (1,1): z=0 ok
    epoch 6: z = 3, 2, 1, 0: no mistakes.
    """
    p = Perceptron(eta=1.0).fit(GATE_X, NAND)
    assert p.errors_ == [2, 3, 3, 2, 1, 0]
    np.testing.assert_array_equal(p.w_, [-2, -1])
    assert p.b_ == 3


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("shuffle", [False, True])
def test_perceptron_converges_within_novikoff_bound(seed, shuffle):
    X, y, gamma = separable_with_margin(seed)
    p = Perceptron(max_epochs=1000, shuffle=shuffle, seed=seed).fit(X, y)
    assert p.converged_
    np.testing.assert_array_equal(p.predict(X), y)  # every training point correct
    R = np.linalg.norm(np.c_[X, np.ones(len(X))], axis=1).max()
    assert 0 < p.n_updates_ <= (R / gamma) ** 2


def test_perceptron_eta_only_scales_the_weights():
    X, y, _ = separable_with_margin(5)
    a = Perceptron(eta=1.0).fit(X, y)
    b = Perceptron(eta=0.01).fit(X, y)
    assert a.errors_ == b.errors_
    np.testing.assert_allclose(b.w_, 0.01 * a.w_, rtol=1e-12)
    assert b.b_ == pytest.approx(0.01 * a.b_)


def test_perceptron_does_not_converge_on_xor():
    xor = [0, 1, 1, 0]
    p = Perceptron(max_epochs=30).fit(GATE_X, xor)
    assert not p.converged_
    assert len(p.errors_) == 30 and min(p.errors_) > 0
    assert p.score(GATE_X, xor) < 1.0


# -- ADALINE ------------------------------------------------------------------------

def test_adaline_batch_reaches_least_squares_solution():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    y = (X @ [1.0, -2.0, 0.5] + 0.3 > 0).astype(int)
    a = Adaline(eta=0.5, epochs=300, mode="batch").fit(X, y)
    coef, *_ = np.linalg.lstsq(np.c_[X, np.ones(200)], 2.0 * y - 1.0, rcond=None)
    np.testing.assert_allclose(a.w_, coef[:3], atol=1e-8)
    assert a.b_ == pytest.approx(coef[3], abs=1e-8)
    mse = np.asarray(a.mse_)
    assert (np.diff(mse) <= 1e-15).all()  # gradient descent with a small step never goes up
    assert mse[-1] == pytest.approx(((np.c_[X, np.ones(200)] @ coef - (2 * y - 1)) ** 2).mean())
    assert a.score(X, y) > 0.9


def test_adaline_learns_nand_least_squares_weights():
    """For NAND with targets ±1 the least-squares neuron is w = (−1, −1), b = 1.5
    (z = 1.5, 0.5, 0.5, −0.5; every residual ±0.5, so MSE = 0.25): it computes NAND."""
    a = Adaline(eta=0.5, epochs=500, mode="batch").fit(GATE_X, NAND)
    np.testing.assert_allclose(a.w_, [-1.0, -1.0], atol=1e-6)
    assert a.b_ == pytest.approx(1.5, abs=1e-6)
    assert a.mse_[-1] == pytest.approx(0.25, abs=1e-9)
    np.testing.assert_array_equal(a.predict(GATE_X), NAND)


def test_adaline_online_close_to_batch():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 2))
    y = (X[:, 0] - X[:, 1] > 0).astype(int)
    batch = Adaline(eta=0.5, epochs=200, mode="batch").fit(X, y)
    online = Adaline(eta=0.005, epochs=30, mode="online", seed=0).fit(X, y)
    assert online.mse_[-1] < online.mse_[0]
    assert online.mse_[-1] == pytest.approx(batch.mse_[-1], rel=0.02)
    np.testing.assert_allclose(online.w_, batch.w_, atol=0.05)
    assert online.score(X, y) > 0.95


def test_adaline_too_large_eta_diverges_with_clear_error():
    X = np.random.default_rng(0).standard_normal((50, 2)) * 10
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(DivergenceError, match="smaller eta"):
        Adaline(eta=5.0, epochs=1000).fit(X, y)


# -- bad input ----------------------------------------------------------------------

@pytest.mark.parametrize("cls", [Perceptron, Adaline])
def test_labels_must_be_binary(cls):
    with pytest.raises(DataError, match="0/1") as info:
        cls().fit(GATE_X, [1, -1, 1, -1])
    assert "-1" in str(info.value)
    with pytest.raises(DataError, match="0/1"):
        cls().fit(GATE_X, [0, 1, 2, 1])
    with pytest.raises(DataError, match="4 labels"):
        cls().fit(GATE_X, [0, 1, 1])


@pytest.mark.parametrize("cls", [Perceptron, Adaline])
def test_bad_inputs_and_options(cls):
    with pytest.raises(DataError, match="2-D"):
        cls().fit(np.zeros(4), NAND)
    with pytest.raises(DataError, match="NaN"):
        cls().fit(np.array([[0, np.nan], [0, 1], [1, 0], [1, 1]]), NAND)
    with pytest.raises(RuntimeError, match="not fitted"):
        cls().predict(GATE_X)
    fitted = cls().fit(GATE_X, NAND)
    with pytest.raises(DataError, match="fitted on 2"):
        fitted.predict(np.zeros((2, 3)))
    with pytest.raises(ConfigError, match="eta"):
        cls(eta=0)
    with pytest.raises(ConfigError, match="w must be"):
        cls.from_weights([[1, 2]], 0)


def test_bad_epoch_counts_and_mode():
    with pytest.raises(ConfigError, match="max_epochs"):
        Perceptron(max_epochs=0)
    with pytest.raises(ConfigError, match="epochs"):
        Adaline(epochs=2.5)
    with pytest.raises(ConfigError, match="batch, online"):
        Adaline(mode="minibatch")
