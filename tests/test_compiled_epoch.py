"""The compiled training epoch (nnlearn.train.compiled_epoch) against the reference loop.

Each eligible configuration trains the same network from the same seed twice, once
through the compiled epoch and once through ``Trainer.train_step`` per minibatch
(``NNLEARN_KERNELS=reference``), and the weights, biases, velocities, step counts and
monitored costs agree to float tolerance after two epochs; the compiled path is seen to
run (or not, for the configurations it must leave to the reference).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

import nnlearn
from nnlearn.errors import DivergenceError
from nnlearn.nn import kernels
from nnlearn.nn.layers import (BatchNorm, Dense, Dropout, LeakyReLU, Linear, ReLU, Sigmoid, Softmax,
                               Tanh)
from nnlearn.train.trainer import Trainer

pytestmark = pytest.mark.skipif(importlib.util.find_spec("numba") is None,
                                reason="the compiled epoch needs Numba (nnlearn[fast])")

N_TRAIN = 203  # 20 minibatches of 10 and a last one of 3


@pytest.fixture(scope="module")
def data():
    from nnlearn.data import load_mnist
    X, y = load_mnist().train
    return np.ascontiguousarray(X[:N_TRAIN]), y[:N_TRAIN].copy(), X[-100:], y[-100:]


@pytest.fixture
def runs(monkeypatch):
    """Count the compiled epochs that run (the real ones, wrapped)."""
    from nnlearn.train.compiled_epoch import CompiledEpoch
    seen = []
    real = CompiledEpoch.run
    monkeypatch.setattr(CompiledEpoch, "run", lambda self, *a: seen.append(1) or real(self, *a))
    return seen


def _net(layers, cost, dtype="float32", hidden=12):
    return nnlearn.Network(layers(hidden), cost, seed=3, dtype=dtype)


ARCHITECTURES = {   # name: (layers for a hidden width, cost)
    "sigmoid, quadratic": (lambda h: [Dense(784, h), Sigmoid(), Dense(h, 10), Sigmoid()], "quadratic"),
    "tanh, cross-entropy": (lambda h: [Dense(784, h), Tanh(), Dense(h, 10), Sigmoid()], "cross_entropy"),
    "relu, log-likelihood": (lambda h: [Dense(784, h), ReLU(), Dense(h, 10), Softmax()], "log_likelihood"),
    "leaky relu, linear output, quadratic": (lambda h: [Dense(784, h), LeakyReLU(0.1), Dense(h, 10)],
                                             "quadratic"),
    "tanh, linear layer, quadratic": (lambda h: [Dense(784, h), Tanh(), Dense(h, 10), Linear()], "quadratic"),
    "three layers": (lambda h: [Dense(784, h), Sigmoid(), Dense(h, 8), ReLU(), Dense(8, 10), Softmax()],
                     "log_likelihood"),
    "one layer": (lambda h: [Dense(784, 10), Sigmoid()], "cross_entropy"),
}
LINEAR_OUTPUT_ETA = 0.05
"""η × this for a linear output (regression targets): the settings' η would diverge."""
SETTINGS = {
    "sgd": dict(eta=0.5),
    "sgd + L2": dict(eta=0.5, lmbda=5.0),
    "sgd + L1 + L2": dict(eta=0.5, regularizers=[nnlearn.L1(2.0), nnlearn.L2(1.0)]),
    "momentum": dict(eta=0.1, optimizer="momentum", optimizer_options={"mu": 0.7}),
    "momentum + L2 + L1": dict(eta=0.1, optimizer="momentum", lmbda=3.0, regularizers=[nnlearn.L1(1.0)]),
}
CASES = [(a, "sgd", "float32") for a in ARCHITECTURES] + [
    ("sigmoid, quadratic", s, "float32") for s in SETTINGS if s != "sgd"] + [
    ("relu, log-likelihood", "momentum + L2 + L1", "float32"),
    ("sigmoid, quadratic", "sgd + L2", "float64"), ("three layers", "momentum", "float64"),
    ("leaky relu, linear output, quadratic", "sgd + L1 + L2", "float64")]


def _train(which, monkeypatch, data, architecture, setting, dtype, threads=1):
    monkeypatch.setenv(kernels.KERNELS_ENV, which)
    layers, cost = ARCHITECTURES[architecture]
    net = _net(layers, cost, dtype)
    X, y, X_val, y_val = data
    options = dict(SETTINGS[setting])
    if cost == "quadratic" and type(net.layers[-1]) is not Sigmoid:  # regression-style targets too
        y = np.eye(10)[y] * 0.8 + 0.1
        options["eta"] *= LINEAR_OUTPUT_ETA
    trainer = Trainer(net, X.astype(dtype), y, epochs=2, mini_batch_size=10,
                      validation_data=(X_val, y_val),
                      monitor=("training_cost", "evaluation_cost"), threads=threads, **options)
    history = trainer.run()
    return net, trainer, history


SPLIT_CASES = [("sigmoid, quadratic", "sgd + L2", "float32", 2), ("three layers", "momentum", "float64", 2),
               ("relu, log-likelihood", "momentum + L2 + L1", "float32", 3)]
"""Cases trained with threads sharing the first layer's weights (the reference on one thread)."""


@pytest.mark.parametrize("architecture,setting,dtype,threads",
                         [case + (1,) for case in CASES] + SPLIT_CASES)
def test_the_compiled_epoch_agrees_with_the_reference(monkeypatch, runs, data, architecture, setting, dtype,
                                                      threads):
    net, trainer, history = _train("compiled", monkeypatch, data, architecture, setting, dtype, threads)
    assert len(runs) == 2                                 # both epochs ran compiled
    ref, ref_trainer, ref_history = _train("reference", monkeypatch, data, architecture, setting, dtype)
    assert len(runs) == 2                                 # ... and the reference none
    # float64 holds the arithmetic to 1e-11 of each array's scale; float32 to 1e-3, since two
    # libraries' float32 exp/tanh differ in the last bit and a saturated unit's 1 − a² or
    # a(1 − a) turns that into a relative error of the gradient far larger than float32's ε
    tolerance = 1e-3 if dtype == "float32" else 1e-11
    for a, b in zip(net.state_dict().values(), ref.state_dict().values()):
        assert a.dtype == b.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, b, rtol=0, atol=tolerance * np.abs(b).max())
    assert not np.array_equal(net.layers[0].params["W"], _net(*ARCHITECTURES[architecture], dtype)
                              .layers[0].params["W"])     # it did learn
    assert trainer.optimizer.t == ref_trainer.optimizer.t == 42
    for va, vb in zip(*(t.optimizer.state_dict()["state"]["v"] if t.optimizer.name == "momentum" else []
                        for t in (trainer, ref_trainer))):
        np.testing.assert_allclose(va, vb, rtol=0, atol=tolerance * np.abs(vb).max())
    for ra, rb in zip(history, ref_history):
        for key in ("training_cost", "evaluation_cost"):
            assert ra[key] == pytest.approx(rb[key], rel=tolerance)
    assert net.rng.bit_generator.state == ref.rng.bit_generator.state


def _extra_hook(trainer):
    trainer.batch_hooks.append(lambda *args: None)


class _OwnStep(Trainer):
    def train_step(self, X, Y):
        return super().train_step(X, Y)


INELIGIBLE = {
    "dropout": dict(layers=lambda: [Dense(784, 12), Sigmoid(), Dropout(0.5), Dense(12, 10), Sigmoid()]),
    "batch norm": dict(layers=lambda: [Dense(784, 12), BatchNorm(12), Sigmoid(), Dense(12, 10), Sigmoid()]),
    "softmax hidden layer": dict(layers=lambda: [Dense(784, 12), Softmax(), Dense(12, 10), Sigmoid()]),
    "two activations in a row": dict(layers=lambda: [Dense(784, 12), Sigmoid(), Tanh(), Dense(12, 10),
                                                     Sigmoid()]),
    "cross-entropy on softmax outputs": dict(layers=lambda: [Dense(784, 10), Softmax()], cost="cross_entropy"),
    "hinge": dict(layers=lambda: [Dense(784, 10)], cost="hinge"),
    "adam": dict(options=dict(optimizer="adam", eta=0.01)),
    "nesterov": dict(options=dict(optimizer="nesterov", eta=0.1)),
    "max-norm": dict(options=dict(max_norm=3.0)),
    "η set per minibatch (one-cycle)": dict(options=dict(eta=0.5, schedule="one_cycle")),
    "a batch hook of its own": dict(hook=_extra_hook),
    "train_step overridden": dict(trainer=_OwnStep),
}


@pytest.mark.parametrize("case", INELIGIBLE)
def test_what_the_compiled_epoch_does_not_take_runs_the_reference(runs, data, case):
    spec = INELIGIBLE[case]
    layers = spec.get("layers", lambda: [Dense(784, 12), Sigmoid(), Dense(12, 10), Sigmoid()])()
    net = nnlearn.Network(layers, spec.get("cost", "quadratic"), seed=1)
    trainer = spec.get("trainer", Trainer)(net, data[0], data[1], epochs=1, mini_batch_size=10,
                                           **spec.get("options", dict(eta=0.5)))
    spec.get("hook", lambda t: None)(trainer)
    trainer.run()
    assert runs == []


def test_a_strided_training_set_runs_the_reference(runs, data):
    X = np.asfortranarray(data[0])
    nnlearn.Network.from_sizes([784, 12, 10], seed=1).fit(X, data[1], epochs=1, monitor=())
    assert runs == []


def _reference_bits(monkeypatch, data):
    monkeypatch.setenv(kernels.KERNELS_ENV, "reference")
    net = nnlearn.Network.from_sizes([784, 12, 10], seed=1)
    net.fit(data[0], data[1], epochs=1, monitor=())
    return [a.tobytes().hex() for a in net.state_dict().values()]


def test_nnlearn_kernels_reference_forces_the_reference_loop(monkeypatch, runs, data):
    from nnlearn.train import compiled_epoch
    reference = _reference_bits(monkeypatch, data)
    assert runs == []
    monkeypatch.setenv(kernels.KERNELS_ENV, "compiled")
    monkeypatch.setattr(compiled_epoch, "compile_epoch", lambda *args: None)   # the loop, by hand
    monkeypatch.setattr(sys.modules["nnlearn.train.trainer"], "compile_epoch", lambda *args: None)
    net = nnlearn.Network.from_sizes([784, 12, 10], seed=1)
    net.fit(data[0], data[1], epochs=1, monitor=())
    assert [a.tobytes().hex() for a in net.state_dict().values()] == reference


def test_without_numba_the_reference_loop_trains_after_the_notice(monkeypatch, data):
    code = ("import sys, json; sys.modules['numba'] = None\n"      # as if Numba were not installed
            "import numpy as np, nnlearn\n"
            "from nnlearn.data import load_mnist\n"
            "X, y = load_mnist().train\n"
            f"X, y = np.ascontiguousarray(X[:{N_TRAIN}]), y[:{N_TRAIN}].copy()\n"
            "net = nnlearn.Network.from_sizes([784, 12, 10], seed=1)\n"
            "net.fit(X, y, epochs=1, monitor=())\n"
            "print(json.dumps([a.tobytes().hex() for a in net.state_dict().values()]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == _reference_bits(monkeypatch, data)
    notice = done.stderr.strip().splitlines()
    assert len(notice) == 1 and "Numba is not installed" in notice[0] and "MLP training epoch" in notice[0]


def _fit(data, seed, epochs=2, **options):
    net = nnlearn.Network.from_sizes([784, 12, 10], seed=seed)
    history = net.fit(data[0], data[1], epochs=epochs, mini_batch_size=10, eta=2.0, monitor=(),
                      **options)
    return net, history


def test_a_seed_gives_the_same_bits_and_another_seed_other_ones(runs, data):
    a, b, c = (_fit(data, seed)[0] for seed in (5, 5, 6))
    assert len(runs) == 6
    for x, y, z in zip(*(net.state_dict().values() for net in (a, b, c))):
        assert np.array_equal(x, y) and not np.array_equal(x, z)


def test_a_resumed_compiled_run_is_bit_identical_to_an_uninterrupted_one(runs, data):
    whole, _ = _fit(data, 2, epochs=3, optimizer="momentum")
    net = nnlearn.Network.from_sizes([784, 12, 10], seed=2)
    states = []
    first = Trainer(net, data[0], data[1], epochs=3, mini_batch_size=10, eta=2.0, monitor=(),
                    optimizer="momentum")
    first.on_epoch_end.append(lambda t, record: states.append(t.state_dict()))
    first.run(1)
    second = Trainer(nnlearn.Network.from_sizes([784, 12, 10], seed=99), data[0], data[1], epochs=3,
                     mini_batch_size=10, eta=2.0, monitor=(), optimizer="momentum")
    second.load_state_dict(states[0])
    second.run()
    assert len(runs) == 6
    for x, y in zip(whole.state_dict().values(), second.network.state_dict().values()):
        assert np.array_equal(x, y)


def test_progress_reports_at_the_same_minibatches_as_the_reference(monkeypatch, data):
    calls = {}
    for which in ("compiled", "reference"):
        monkeypatch.setenv(kernels.KERNELS_ENV, which)
        calls[which] = []
        X = np.concatenate([data[0]] * 6)   # 1,218 examples: 122 minibatches, a report every 1
        _fit((X, np.concatenate([data[1]] * 6)), 1, epochs=1,
             on_batch=lambda done, total: calls[which].append((done, total)))
    assert calls["compiled"] == calls["reference"]
    assert calls["compiled"][:2] == [(1, 122), (2, 122)] and calls["compiled"][-1] == (122, 122)


def test_a_divergence_stops_at_the_same_minibatch_as_the_reference(monkeypatch, runs, data):
    messages = {}
    for which in ("compiled", "reference"):
        monkeypatch.setenv(kernels.KERNELS_ENV, which)
        net = nnlearn.Network([Dense(784, 12), Tanh(), Dense(12, 10)], "quadratic", seed=1)
        with pytest.raises(DivergenceError) as caught:
            net.fit(data[0] * 1e6, data[1], epochs=1, mini_batch_size=10, eta=1e30, monitor=())
        messages[which] = str(caught.value)
    assert len(runs) == 1
    assert messages["compiled"] == messages["reference"]
    assert "outputs became NaN or inf by minibatch" in messages["compiled"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True), (True, True)])
def test_the_blas_products_are_numpy_s(dtype, trans_a, trans_b):
    from nnlearn.train import compiled_epoch
    assert kernels.implementation() == "compiled" and compiled_epoch.numpy_blas() is not None
    from nnlearn.train import epoch_loops
    rng = np.random.default_rng(0)
    A = rng.standard_normal((7, 5) if trans_a else (5, 7)).astype(dtype)
    B = rng.standard_normal((9, 7) if trans_b else (7, 9)).astype(dtype)
    big = rng.standard_normal((8, 9)).astype(dtype)
    before = big.copy()
    C = big[:5]                               # the leading rows of a larger array, as the loop uses
    expected = -0.5 * ((A.T if trans_a else A) @ (B.T if trans_b else B)) + 2.0 * C
    epoch_loops.gemm(trans_a, trans_b, A, B, C, -0.5, 2.0, np.empty(2, dtype),
                     compiled_epoch.blas_ints(compiled_epoch.numpy_blas()))
    np.testing.assert_allclose(big[:5], expected, rtol=1e-5 if dtype == "float32" else 1e-13)
    assert np.array_equal(big[5:], before[5:])   # the rows below are left alone


@pytest.mark.parametrize("n_in,n_out,dtype,threads", [(784, 100, "float32", 2), (784, 30, "float32", 2),
                                                      (784, 30, "float64", 3), (7, 5, "float32", 2)])
def test_the_first_layer_is_shared_on_cache_line_boundaries(n_in, n_out, dtype, threads):
    from nnlearn.train.compiled_epoch import row_splits
    itemsize = np.dtype(dtype).itemsize
    cuts = row_splits(n_in, n_out, itemsize, threads)
    assert cuts[0] == 0 and cuts[-1] == n_in and len(cuts) == threads + 1
    assert all(a <= b for a, b in zip(cuts, cuts[1:]))
    for cut in cuts[1:-1]:                      # no cache line written by two threads
        assert cut * n_out * itemsize % 64 == 0 and cut * itemsize % 64 == 0
    sizes = np.diff(cuts)
    assert sizes.max() - sizes.min() <= 64    # near-equal shares


def test_threads_sharing_the_first_layer_give_the_same_bits_each_run(runs, data):
    a, b = (_fit(data, 5, threads=2)[0] for _ in range(2))
    single = _fit(data, 5, threads=1)[0]
    assert len(runs) == 6
    for x, y, z in zip(*(net.state_dict().values() for net in (a, b, single))):
        assert np.array_equal(x, y)
        np.testing.assert_allclose(x, z, rtol=0, atol=1e-3 * np.abs(z).max())
