"""The output layer fits the cost: chosen to fit when not given, refused when it cannot fit.

The defect this guards against: ``nnlearn train --activation relu`` used to end the
network in a ReLU under the cross-entropy cost (max |∂C/∂w| of the first minibatch
4.3e12, divergence by minibatch 5), and ``--activation tanh`` trained to chance.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnlearn import ConfigError, Dense, Linear, Network, ReLU, Sigmoid, Softmax
from nnlearn.cli import main
from nnlearn.experiments.runs import builder as experiment
from nnlearn.experiments.config import files as cfgmod
from nnlearn.nn.builder import output_activation_for


@pytest.mark.parametrize("cost, activation, output", [
    ("cross_entropy", "relu", "Sigmoid"), ("cross_entropy", "tanh", "Sigmoid"),
    ("log_likelihood", "relu", "Softmax"), ("hinge", "sigmoid", "Linear"),
    ("quadratic", "sigmoid", "Sigmoid"),  # the book's chapter-1 network
    ("quadratic", "relu", "Linear"),      # an L2 regression
])
def test_the_output_activation_follows_the_cost(cost, activation, output):
    net = Network.from_sizes([6, 5, 3], activation=activation, cost=cost, seed=0)
    assert type(net.layers[1]).__name__ == activation.title().replace("Relu", "ReLU")
    assert type(net.layers[-1]).__name__ == output
    assert output_activation_for(cost, activation) == output.lower()


@pytest.mark.parametrize("layers, cost, fix", [
    ([Dense(4, 3), ReLU()], "cross_entropy", "'sigmoid' or 'softmax'"),
    ([Dense(4, 3)], "cross_entropy", "'sigmoid' or 'softmax'"),
    ([Dense(4, 3), Sigmoid()], "log_likelihood", "'softmax' layer"),
    ([Dense(4, 3), Softmax()], "hinge", "'linear' layer"),
])
def test_a_misfit_output_is_refused_at_build_time_naming_the_fix(layers, cost, fix):
    with pytest.raises(ConfigError, match=f"the {cost} cost needs .*{fix}"):
        Network(layers, cost)


def test_an_explicit_output_activation_that_fits_is_kept():
    assert type(Network([Dense(4, 3), Linear()], "hinge").layers[-1]) is Linear
    net = Network.from_sizes([4, 3], output_activation="softmax", cost="cross_entropy", seed=0)
    assert type(net.layers[-1]) is Softmax
    with pytest.raises(ConfigError, match="output layer is 'relu'"):
        Network.from_sizes([4, 3], output_activation="relu", cost="cross_entropy")


@pytest.mark.parametrize("argv, phrase", [
    (["--output-activation", "relu"], "the cross_entropy cost needs outputs in (0, 1)"),
    (["--cost", "log_likelihood", "--output-activation", "sigmoid"], "'softmax' layer"),
])
def test_the_cli_refuses_a_misfit_with_exit_2(argv, phrase, tmp_path, capsys):
    assert main(["train", *argv, "--train-size", "100", "--epochs", "1", "--no-plots", "--quiet",
                 "--run-dir", str(tmp_path / "run")]) == 2
    assert phrase in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # refused before a run folder was made


def _first_minibatch_gradient(activation: str) -> float:
    cfg = cfgmod.resolve(None, overrides={"model.activation": activation, "model.hidden": [30],
                                          "data.train_size": 2000, "training.seed": 1})
    train, validation, test = experiment.load_data(cfg)
    net = experiment.build_network(cfg, train[0].shape[1:], 10)
    X, Y = net.check_inputs(train[0][:10]), net.targets(train[1][:10], 10)
    net.backward(net.forward(X, True), Y)
    return max(float(np.abs(g).max()) for _, g in net.parameters())


@pytest.mark.parametrize("activation, eta, floor", [
    ("relu", None, 0.3),   # the defect's own command: it diverged at minibatch 5
    ("relu", 0.1, 0.8),    # a step size suited to ReLU
    ("tanh", None, 0.8),   # used to end at chance (0.098)
])
def test_relu_and_tanh_hidden_layers_train_from_the_cli(activation, eta, floor, tmp_path):
    assert _first_minibatch_gradient(activation) < 10.0  # was 4.3e12 with ReLU outputs
    run = tmp_path / activation
    argv = ["train", "--activation", activation, "--hidden", "30", "--train-size", "2000",
            "--epochs", "2", "--seed", "1", "--no-plots", "--quiet", "--run-dir", str(run)]
    assert main(argv + (["--eta", str(eta)] if eta else [])) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["test_accuracy"] > floor  # chance is 0.1


def test_backward_overwrites_gradients_and_a_layer_is_used_once():
    """The gradient contract: ``backward`` writes this minibatch's gradients (two passes
    over the same batch give the same grads, not twice them), so a layer object may not
    appear twice in one network."""
    rng = np.random.default_rng(0)
    net = Network.from_sizes([4, 5, 3], seed=0, dtype="float64")
    X, Y = rng.random((6, 4)), net.targets(np.arange(6) % 3, 6)
    net.backward(net.forward(X, True), Y)
    once = [g.copy() for _, g in net.parameters()]
    net.backward(net.forward(X, True), Y)
    for g, g1 in zip((g for _, g in net.parameters()), once):
        np.testing.assert_array_equal(g, g1)
    shared = Dense(4, 4)
    with pytest.raises(ConfigError, match="layer 2 is the same Dense object as layer 0"):
        Network([shared, Sigmoid(), shared, Sigmoid()])
