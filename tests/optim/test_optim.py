"""Optimisers: first steps on f(w) = ½ wᵀ A w against the formulas, state round trips, bad input."""

import math

import numpy as np
import pytest

from nnlearn.errors import ConfigError
from nnlearn.optim.optimizers import OPTIMIZERS, Adagrad, Adam, Momentum, Nesterov, RMSprop, SGD, get_optimizer

A = np.array([[3.0, 0.5, 0.0], [0.5, 2.0, 0.3], [0.0, 0.3, 1.0]])
W0 = np.array([1.0, -2.0, 0.5])


def run(opt, steps, w0=W0):
    """Apply ``steps`` optimiser steps to f(w) = ½ wᵀ A w; return the iterates."""
    w, g = w0.copy(), np.zeros_like(w0)
    out = []
    for _ in range(steps):
        g[...] = A @ w
        opt.step([(w, g)])
        out.append(w.copy())
    return out


def test_sgd_steps():
    eta, w, got = 0.1, W0.copy(), run(SGD(0.1), 3)
    for k in range(3):
        w = w - eta * (A @ w)
        np.testing.assert_allclose(got[k], w, rtol=1e-14)


def test_momentum_steps():
    eta, mu = 0.1, 0.8
    w, v = W0.copy(), np.zeros(3)
    got = run(Momentum(eta, mu=mu), 3)
    for k in range(3):
        v = mu * v - eta * (A @ w)
        w = w + v
        np.testing.assert_allclose(got[k], w, rtol=1e-14)
    # first step by hand: v1 = -η A w0, so w1 = w0 - η A w0
    np.testing.assert_allclose(got[0], W0 - eta * (A @ W0), rtol=1e-14)


def test_nesterov_steps_cs231n_form():
    eta, mu = 0.1, 0.9
    w, v = W0.copy(), np.zeros(3)
    got = run(Nesterov(eta, mu=mu), 3)
    for k in range(3):
        v_prev = v
        v = mu * v - eta * (A @ w)
        w = w - mu * v_prev + (1 + mu) * v
        np.testing.assert_allclose(got[k], w, rtol=1e-13)


def test_nesterov_differs_from_momentum():
    a, b = run(Momentum(0.1, mu=0.9), 3), run(Nesterov(0.1, mu=0.9), 3)
    assert not np.allclose(a[1], b[1])


def test_adagrad_steps():
    eta, eps = 0.5, 1e-8
    w, G = W0.copy(), np.zeros(3)
    got = run(Adagrad(eta, eps=eps), 3)
    for k in range(3):
        g = A @ w
        G = G + g * g
        w = w - eta * g / (np.sqrt(G) + eps)
        np.testing.assert_allclose(got[k], w, rtol=1e-13)
    # Adagrad's first step moves every coordinate by ≈ η sign(g)
    np.testing.assert_allclose(np.abs(got[0] - W0), eta, rtol=1e-6)


def test_rmsprop_steps():
    eta, rho, eps = 0.01, 0.9, 1e-8
    w, G = W0.copy(), np.zeros(3)
    got = run(RMSprop(eta, rho=rho, eps=eps), 3)
    for k in range(3):
        g = A @ w
        G = rho * G + (1 - rho) * g * g
        w = w - eta * g / (np.sqrt(G) + eps)
        np.testing.assert_allclose(got[k], w, rtol=1e-13)


def test_adam_steps_with_bias_correction():
    eta, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    w, m, v = W0.copy(), np.zeros(3), np.zeros(3)
    got = run(Adam(eta, beta1=b1, beta2=b2, eps=eps), 3)
    for t in range(1, 4):
        g = A @ w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
        w = w - eta * m_hat / (np.sqrt(v_hat) + eps)
        np.testing.assert_allclose(got[t - 1], w, rtol=1e-12)
    # bias correction makes the first step ≈ η sign(g) per coordinate
    np.testing.assert_allclose(np.abs(got[0] - W0), eta, rtol=1e-6)


@pytest.mark.parametrize("name,eta", [("sgd", 0.1), ("momentum", 0.05), ("nesterov", 0.05),
                                      ("adagrad", 0.5), ("rmsprop", 0.01), ("adam", 0.05)])
def test_every_optimizer_minimises_the_quadratic(name, eta):
    w = run(get_optimizer(name, eta), 400)[-1]
    assert 0.5 * w @ A @ w < 1e-3 * (0.5 * W0 @ A @ W0)


def test_state_is_kept_per_position():
    """Two parameters with the same shape keep separate velocities."""
    opt = Momentum(0.1, mu=0.5)
    w1, w2 = np.ones(3), np.ones(3)
    g1, g2 = np.full(3, 1.0), np.full(3, -2.0)
    opt.step([(w1, g1), (w2, g2)])
    opt.step([(w1, g1), (w2, g2)])
    np.testing.assert_allclose(w1, 1 - 0.1 - (0.5 * 0.1 + 0.1))
    np.testing.assert_allclose(w2, 1 + 0.2 + (0.5 * 0.2 + 0.2))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_state_dict_round_trip_continues_bit_for_bit(name):
    a = get_optimizer(name, 0.05)
    w = run(a, 2)[-1]
    state = a.state_dict()
    b = get_optimizer(name, 0.05)
    b.load_state_dict(state)
    wa, wb = run(a, 3, w)[-1], run(b, 3, w)[-1]
    assert np.array_equal(wa, wb)
    assert state["t"] == 2 and b.t == 5
    if name != "sgd":  # the state holds copies, not views of the live arrays
        first = next(iter(state["state"].values()))[0]
        assert not np.shares_memory(first, next(iter(a.state.values()))[0])


def test_loaded_state_checked_against_parameters():
    a = Adam(0.1)
    run(a, 1)
    b = Adam(0.1)
    b.load_state_dict(a.state_dict())
    with pytest.raises(ConfigError, match="different network"):
        b.step([(np.zeros(4), np.zeros(4))])
    with pytest.raises(ConfigError, match="cannot load 'adam'"):
        Momentum(0.1).load_state_dict(a.state_dict())


def test_state_dict_restores_hyper_parameters():
    a = RMSprop(0.01, rho=0.5)
    b = RMSprop(0.3)
    b.load_state_dict(a.state_dict())
    assert (b.eta, b.rho) == (0.01, 0.5)


@pytest.mark.parametrize("make,phrase", [
    (lambda: get_optimizer("adamw", 0.1), "unknown optimiser 'adamw'"),
    (lambda: get_optimizer("momentum", 0.1, beta1=0.9), "no option"),
    (lambda: Momentum(0.1, mu=1.0), "mu"),
    (lambda: Nesterov(0.1, mu=-0.1), "mu"),
    (lambda: Adam(0.1, beta1=1.0), "beta1"),
    (lambda: Adam(0.1, beta2=1.5), "beta2"),
    (lambda: Adam(0.1, eps=0.0), "eps"),
    (lambda: RMSprop(0.1, rho=True), "rho"),
    (lambda: Adagrad(-1.0), "eta"),
    (lambda: SGD(math.inf), "eta"),
])
def test_bad_hyper_parameters(make, phrase):
    with pytest.raises(ConfigError, match=phrase):
        make()


def test_float32_params_stay_float32():
    w, g = np.ones(5, dtype=np.float32), np.full(5, 0.5, dtype=np.float32)
    opt = Adam(0.01)
    opt.step([(w, g)])
    assert w.dtype == np.float32 and opt.state["m"][0].dtype == np.float32
