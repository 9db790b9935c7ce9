"""Divergence is caught, and extreme finite inputs never make a layer or cost warn.

pytest runs with warnings as errors (pyproject), so any "overflow encountered in
exp" or "divide by zero" inside these calls fails the test.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnlearn import Network, Trainer
from nnlearn.io.checkpoint import Checkpointer, load_checkpoint
from nnlearn.nn.costs import COSTS, get_cost
from nnlearn.errors import DivergenceError
from nnlearn.nn.layers.activations import ACTIVATIONS, get_activation

EXTREMES = [("float32", 1e30), ("float32", 3e38), ("float64", 1e30), ("float64", 1e308)]


def _extreme_batch(dtype, v):
    return np.array([[v, -v, 0.0, 1.0], [-v, v, v, -1.0], [-v, -v, -v, -v], [v, v, -v, 0.5]],
                    dtype=dtype)


@pytest.mark.parametrize("dtype, v", EXTREMES)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("training", [False, True])
def test_activations_stay_finite_and_silent_on_extreme_inputs(name, dtype, v, training):
    layer = get_activation(name)
    layer.initialize(np.random.default_rng(0), dtype)
    Z = _extreme_batch(dtype, v)
    A = layer.forward(Z, training)
    dZ = layer.backward(np.full_like(A, 0.25), True)
    assert A.dtype == dtype and dZ.dtype == dtype
    if name in ("sigmoid", "tanh", "softmax", "step"):  # bounded outputs: finite everywhere
        assert np.isfinite(A).all() and np.isfinite(dZ).all()
    else:  # relu, leaky_relu, linear pass the (finite) input through, scaled by ≤ 1
        assert np.isfinite(A).all() and np.isfinite(dZ).all() and np.abs(A).max() <= v
    if name == "sigmoid":
        assert A[0, 0] == 1.0 and 0.0 <= A[0, 1] < 1e-37  # exponent capped at float32's limit
    if name == "softmax":
        np.testing.assert_array_equal(A[0], [1.0, 0.0, 0.0, 0.0])  # the v entry takes all
        np.testing.assert_allclose(A.sum(axis=1), 1.0, rtol=1e-6)
        np.testing.assert_allclose(A[2], 0.25)                      # a constant row: uniform
    if name == "tanh":
        np.testing.assert_array_equal(A[0, :2], [1.0, -1.0])


def test_softmax_matches_the_naive_formula_on_ordinary_inputs():
    Z = np.random.default_rng(1).normal(size=(6, 5)) * 10
    naive = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(get_activation("softmax").forward(Z), naive, rtol=1e-12)


@pytest.mark.parametrize("dtype, v", EXTREMES)
@pytest.mark.parametrize("cost_name", sorted(COSTS))
def test_costs_stay_finite_and_silent_on_saturated_outputs(cost_name, dtype, v):
    cost = get_cost(cost_name)
    Z = _extreme_batch(dtype, v)
    Y = np.eye(4, dtype=dtype)
    if cost_name in ("hinge",):  # linear scores: the extremes themselves, halved (no v − (−v))
        outputs = [Z * 0.25]
    elif cost_name in ("quadratic", "mse", "l2"):
        outputs = [get_activation(a).forward(Z) for a in ("sigmoid", "softmax", "tanh")]
    else:  # probabilities: saturated sigmoid and softmax give exact 0s and 1s
        outputs = [get_activation(a).forward(Z) for a in ("sigmoid", "softmax")]
    for A in outputs:
        value = cost.value(A, Y)
        grad = cost.gradient(A, Y)
        assert np.isfinite(value) and value >= 0
        assert grad.shape == A.shape and np.isfinite(grad).all()
        if cost.fused_activation is not None:
            assert np.isfinite(cost.fused_delta(A, Y)).all()


@pytest.mark.parametrize("layer, dtype, v", [
    ("dense", "float32", 1e30), ("dense", "float64", 1e300),
    ("dropout", "float32", 1e30), ("dropout", "float64", 1e300),
    ("batchnorm", "float32", 1e15), ("batchnorm", "float64", 1e150),
])
def test_other_layers_on_the_largest_inputs_whose_results_are_representable(layer, dtype, v):
    from nnlearn import BatchNorm, Dense, Dropout

    obj = {"dense": lambda: Dense(4, 3), "dropout": lambda: Dropout(0.5),
           "batchnorm": lambda: BatchNorm(4)}[layer]()
    obj.rng = np.random.default_rng(0)
    obj.initialize(obj.rng, dtype)
    for training in (False, True):
        A = obj.forward(_extreme_batch(dtype, v), training)
        dX = obj.backward(np.ones_like(A), True)
        assert np.isfinite(A).all() and np.isfinite(dX).all()


# -- divergence ----------------------------------------------------------------------------
def _regression_net(seed=0):
    return Network.from_sizes([8, 10, 3], activation="relu", output_activation="linear",
                              cost="quadratic", seed=seed)


def _data():
    rng = np.random.default_rng(0)
    X = rng.random((200, 8))
    return X, np.arange(200) % 3


def test_huge_eta_on_the_quadratic_cost_stops_with_a_helpful_message():
    X, y = _data()
    net = _regression_net()
    with pytest.raises(DivergenceError) as info:  # and no RuntimeWarning on the way
        net.fit(X, y, epochs=5, mini_batch_size=10, eta=1e6, validation_data=(X, y))
    message = str(info.value)
    assert "of epoch 1" in message and "NaN or inf" in message
    assert "a smaller eta than 1e+06" in message
    # only changes that differ from this run: it already uses N(0, 1/n_in) weights, and its
    # linear outputs are a regression, for which the cross-entropy is no fix
    assert "normal_fan_in" not in message and "cross-entropy" not in message


def test_divergence_advice_names_only_what_differs_from_the_settings():
    X, y = _data()
    book = Network.from_sizes([8, 10, 3], cost="quadratic", weight_init="normal", seed=0)
    advice = Trainer(book, X, y, eta=3.0).advice()
    for fix in ("smaller eta than 3", "normal_fan_in", "cross-entropy", "L2 regularisation"):
        assert fix in advice
    recipe = Network.from_sizes([8, 10, 3], seed=0)  # cross-entropy, N(0, 1/n_in)
    with pytest.raises(DivergenceError) as info:  # a real divergence carries the same advice
        recipe.fit(X, y, epochs=2, eta=1e6, lmbda=1.0, validation_data=(X, y))
    message = str(info.value)
    assert message.endswith("Try a smaller eta than 1e+06")


def test_divergence_after_good_epochs_keeps_the_last_good_checkpoint(tmp_path):
    X, y = _data()
    trainer = Trainer(_regression_net(), X, y, epochs=6, mini_batch_size=10, eta=0.01,
                      validation_data=(X, y))
    trainer.on_epoch_end.append(Checkpointer(tmp_path / "c.npz", every=1))
    trainer.run(2)
    good = [np.array(w) for w, _ in trainer.network.parameters()]
    trainer.optimizer.eta = 1e6
    with pytest.raises(DivergenceError, match="epoch 3"):
        trainer.run()
    saved = load_checkpoint(tmp_path / "c.npz")
    assert saved.epoch == 2
    arrays = [v for k, v in sorted(saved.state["network"].items()) if ".params." in k]
    assert all(np.isfinite(a).all() for a in arrays)
    restored = _regression_net(seed=5)
    restored.load_state_dict(saved.state["network"])
    assert all(np.array_equal(a, b) for a, (b, _) in zip(good, restored.parameters()))


def test_infinite_weights_with_finite_outputs_are_caught_at_the_epoch_end():
    X, y = _data()
    net = Network.from_sizes([8, 3], cost="quadratic", seed=0)  # sigmoid saturates: A finite
    net.layers[0].params["W"][0, 0] = np.inf  # X > 0, so z = +inf and sigmoid(z) = 1
    with pytest.raises(DivergenceError, match=r"parameter 'W' became NaN or inf during epoch 1"):
        net.fit(X, y, epochs=2, mini_batch_size=10, eta=0.1)


@pytest.mark.slow
def test_cli_divergence_exits_1_and_keeps_the_checkpoint(tmp_path, capsys):
    from nnlearn.cli import main

    run = tmp_path / "run"
    code = main(["train", "--train-size", "300", "--epochs", "3", "--hidden", "10",
                 "--activation", "relu", "--output-activation", "linear", "--cost", "quadratic",
                 "--eta", "1e6", "--lmbda", "0", "--seed", "1", "--run-dir", str(run),
                 "--no-plots", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1
    assert "diverged" in err and "epoch 1" in err and "smaller eta" in err
    assert "last good checkpoint (epoch 0 = the initial weights)" in err
    assert load_checkpoint(run / "checkpoint.npz").epoch == 0
    assert not (run / "model.npz").exists()
