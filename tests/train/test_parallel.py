"""Data-parallel minibatch gradients (nnlearn.train.parallel): same gradients as one thread,
reproducible, BLAS threads restored, clear errors where a minibatch cannot be split."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import nnlearn
from nnlearn.train import parallel
from nnlearn.errors import ConfigError, DivergenceError
from nnlearn.nn.layers import Conv2D, Dropout, Flatten, MaxPool2D, ReLU
from nnlearn.nn.layers.base import Layer
from nnlearn.train.trainer import Trainer

threadpoolctl = pytest.importorskip("threadpoolctl")


def small_convnet(dtype="float64", seed=0, extra=()):
    layers = [Conv2D(1, 3, 3, input_shape=(1, 9, 8)), ReLU(), MaxPool2D(2), Flatten(),
              nnlearn.Dense(3 * 3 * 3, 6), *extra, nnlearn.Tanh(), nnlearn.Dense(6, 4),
              nnlearn.Softmax()]
    return nnlearn.Network(layers, "log_likelihood", seed=seed, dtype=dtype)


def data(n=37, seed=1):
    rng = np.random.default_rng(seed)
    return rng.random((n, 1, 9, 8)), rng.integers(0, 4, n)


def grads(net):
    return [g.copy() for _, g in net.parameters()]


@pytest.mark.parametrize("threads, m", [(2, 10), (3, 7), (4, 3), (5, 3)])
def test_threaded_gradient_equals_one_thread(threads, m):
    X, y = data(m)
    net = small_convnet()
    Y = net.targets(y, m)
    net.backward(net.forward(X, True), Y)  # one thread
    expected = grads(net)
    with parallel.ThreadedGradient(net, threads) as gradient:
        outputs = gradient(X, Y)
    assert sum(A.shape[0] for A in outputs) == m  # parts of unequal sizes; fewer parts than threads when m < threads
    for got, want in zip(grads(net), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.concatenate(outputs), net.forward(X), rtol=1e-13)


def test_threaded_training_matches_one_thread_and_is_bit_reproducible():
    X, y = data(60)
    runs = {}
    for threads in (1, 2, 2):
        net = small_convnet(seed=3)
        Trainer(net, X, y, epochs=3, mini_batch_size=12, eta=0.5, monitor=(),
                threads=threads).run()
        runs.setdefault(threads, []).append([p.copy() for p, _ in net.parameters()])
    for a, b in zip(runs[2][0], runs[2][1]):
        assert np.array_equal(a, b)  # same threads, same seed: identical bits
    for a, b in zip(runs[2][0], runs[1][0]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert not np.array_equal(runs[1][0][0], small_convnet(seed=3).layers[0].params["W"])  # it trained


def test_blas_threads_are_restored_after_training():
    before = [lib["num_threads"] for lib in threadpoolctl.threadpool_info()
              if lib["user_api"] == "blas"]
    X, y = data(40)
    Trainer(small_convnet(), X, y, epochs=1, mini_batch_size=20, eta=0.1, monitor=(),
            threads=2).run()
    after = [lib["num_threads"] for lib in threadpoolctl.threadpool_info()
             if lib["user_api"] == "blas"]
    assert after == before


def test_replica_shares_params_not_grads_or_work_arrays():
    conv = Conv2D(2, 3, 3)
    X = np.random.default_rng(0).random((4, 2, 6, 6)).astype(np.float32)
    conv.forward(X, training=True)
    twin = conv.replica()
    assert twin.params["W"] is conv.params["W"] and twin.params["b"] is conv.params["b"]
    assert twin.grads["W"] is not conv.grads["W"]
    assert all(twin._work[k] is not v for k, v in conv._work.items())
    conv.params["W"] += 1.0  # an optimiser step on the original is seen by the replica
    np.testing.assert_array_equal(twin.forward(X), conv.forward(X))


def test_plan_threads_auto(monkeypatch):
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    monkeypatch.setattr(parallel, "_controls_blas", lambda: True)
    convnet = nnlearn.Network([Conv2D(1, 20, 5, input_shape=(1, 28, 28)), ReLU(), MaxPool2D(2),
                               Conv2D(20, 40, 5), ReLU(), MaxPool2D(2), Flatten(),
                               nnlearn.Dense(640, 100), ReLU(), nnlearn.Dense(100, 10),
                               nnlearn.Softmax()], "log_likelihood")
    assert parallel.forward_macs(convnet) == 20 * 25 * 576 + 40 * 500 * 64 + 640 * 100 + 1000
    assert parallel.plan_threads(convnet, 64) == 2
    assert parallel.plan_threads(convnet, 10) == 1  # too little work per thread
    mlp = nnlearn.Network.from_sizes([784, 30, 10])
    assert parallel.plan_threads(mlp, 10) == 1
    assert parallel.plan_threads(mlp, 100) == 1
    monkeypatch.setattr(parallel, "available_cores", lambda: 1)
    assert parallel.plan_threads(convnet, 64) == 1
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    monkeypatch.setattr(parallel, "_controls_blas", lambda: False)
    assert parallel.plan_threads(convnet, 64) == 1  # BLAS threads cannot be held to one


def test_auto_leaves_dropout_networks_on_one_thread_and_explicit_threads_explain(monkeypatch):
    monkeypatch.setattr(parallel, "available_cores", lambda: 8)
    net = small_convnet(extra=(Dropout(0.5),))
    assert parallel.plan_threads(net, 1000) == 1
    with pytest.raises(ConfigError, match=r"layer 5 \(Dropout\).*threads=1"):
        parallel.plan_threads(net, 1000, 2)


@pytest.mark.parametrize("bad", [0, -1, True, 2.0, "two", None])
def test_bad_threads_values(bad):
    X, y = data(10)
    with pytest.raises(ConfigError, match="threads must be 'auto' or a positive integer"):
        Trainer(small_convnet(), X, y, epochs=1, threads=bad)


def test_explicit_threads_without_threadpoolctl(monkeypatch):
    monkeypatch.setattr(parallel, "_blas_controller", lambda: None)
    net = small_convnet()
    with pytest.raises(ConfigError, match=r"threadpoolctl.*nnlearn\[threads\]"):
        parallel.plan_threads(net, 64, 2)
    assert parallel.plan_threads(net, 64) == 1


class _MarkerLayer(Layer):
    """A per-example identity layer that raises, or outputs inf, where it sees a marker
    value: placed in the last part of a minibatch, that happens in a worker thread."""

    per_example = True

    def __init__(self, action="raise"):
        super().__init__()
        self.action = action

    def forward(self, X, training=False):
        if (X == 999.0).any():
            if self.action == "raise":
                raise ValueError("marker seen")
            return X * np.inf
        return X

    def backward(self, dY, need_dx=True):
        return dY


def marker_network(action):
    return nnlearn.Network([_MarkerLayer(action), nnlearn.Dense(3, 2), nnlearn.Softmax()],
                           "log_likelihood", input_shape=(3,), dtype="float64")


def test_an_error_in_a_worker_thread_reaches_the_caller():
    net = marker_network("raise")
    X = np.zeros((8, 3))
    X[-1, 0] = 999.0
    with parallel.ThreadedGradient(net, 2) as gradient:
        with pytest.raises(ValueError, match="marker seen"):
            gradient(X, net.targets(np.zeros(8, dtype=int), 8))


def test_threaded_gradient_needs_a_with_block_and_two_threads():
    net = small_convnet()
    with pytest.raises(ConfigError, match="at least 2 threads"):
        parallel.ThreadedGradient(net, 1)
    X, y = data(4)
    with pytest.raises(RuntimeError, match="with"):
        parallel.ThreadedGradient(net, 2)(X, net.targets(y, 4))


def test_divergence_in_a_worker_thread_is_detected():
    X = np.zeros((8, 3))
    X[-1, 0] = 999.0  # the worker's part goes to inf, then NaN
    with pytest.raises(DivergenceError, match="NaN or inf"):
        Trainer(marker_network("inf"), X, np.zeros(8, dtype=int), epochs=1, mini_batch_size=8,
                eta=0.1, monitor=(), threads=2).run()


def test_threads_is_a_config_key_and_a_cli_flag(tmp_path):
    from nnlearn.experiments.config import files as cfgmod
    cfg = cfgmod.resolve(overrides={"training.threads": 2})
    assert cfg["training"]["threads"] == 2
    assert cfgmod.resolve()["training"]["threads"] == "auto"
    with pytest.raises(ConfigError, match="training.threads.*'auto' or a positive integer"):
        cfgmod.resolve(overrides={"training.threads": "many"})


def test_blas_threads_follow_the_largest_product():
    # the largest product of a minibatch: conv2 of network (d), 40·500·64 = 1,280,000
    # multiply-adds per example; [784,100,10]: 78,400 per example
    convnet = nnlearn.Network([Conv2D(1, 20, 5, input_shape=(1, 28, 28)), ReLU(), MaxPool2D(2),
                               Conv2D(20, 40, 5), ReLU(), MaxPool2D(2), Flatten(),
                               nnlearn.Dense(640, 100), ReLU(), nnlearn.Dense(100, 10),
                               nnlearn.Softmax()], "log_likelihood")
    assert parallel.layer_macs(convnet)[3] == 1_280_000
    assert parallel.plan_blas_threads(convnet, 10) == 1           # 12.8 M < 16 M
    assert parallel.plan_blas_threads(convnet, 64) is None        # 81.9 M: BLAS decides
    mlp = nnlearn.Network.from_sizes([784, 100, 10])
    assert parallel.plan_blas_threads(mlp, 10) == 1               # 0.78 M
    assert parallel.plan_blas_threads(mlp, 1000) is None          # 78.4 M


def test_one_thread_training_holds_blas_to_one_thread_and_restores_it():
    controller = threadpoolctl.ThreadpoolController()
    blas = controller.select(user_api="blas")
    if not blas.lib_controllers:
        pytest.skip("no BLAS library that threadpoolctl can control")
    before = [lib.num_threads for lib in blas.lib_controllers]
    seen: list[list[int]] = []
    net = nnlearn.Network.from_sizes([784, 100, 10], seed=0)
    X = np.random.default_rng(0).random((40, 784)).astype(np.float32)
    y = np.arange(40) % 10
    trainer = Trainer(net, X, y, epochs=1, mini_batch_size=10, monitor=(), threads=1)
    trainer.batch_hooks.append(lambda *args: seen.append(
        [lib.num_threads for lib in threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers]))
    trainer.run()
    assert seen and all(counts == [1] * len(before) for counts in seen)
    assert [lib.num_threads for lib in threadpoolctl.ThreadpoolController().select(
        user_api="blas").lib_controllers] == before


def test_a_blas_loaded_after_the_first_training_is_held_too():
    """SciPy brings its own OpenBLAS beside NumPy's. The controller used to be made once, at the
    first training, so a BLAS imported after it ran with its own thread count (seen as [1, 2]
    on two cores once the suite imported SciPy late). A fresh process: NumPy's BLAS alone, one
    training, then SciPy, then a training whose minibatches record every BLAS's threads."""
    pytest.importorskip("scipy")
    script = """
import json, threadpoolctl, numpy as np, nnlearn
from nnlearn.train.trainer import Trainer
def counts():
    return [lib.num_threads for lib in threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers]
X = np.random.default_rng(0).random((40, 784)).astype(np.float32)
y = np.arange(40) % 10
Trainer(nnlearn.Network.from_sizes([784, 100, 10], seed=0), X, y, epochs=1, mini_batch_size=10,
        monitor=(), threads=1).run()
import scipy.linalg  # noqa: F401  (its own OpenBLAS)
seen = []
trainer = Trainer(nnlearn.Network.from_sizes([784, 100, 10], seed=0), X, y, epochs=1,
                  mini_batch_size=10, monitor=(), threads=1)
trainer.batch_hooks.append(lambda *args: seen.append(counts()))
trainer.run()
print(json.dumps({"libraries": len(counts()), "seen": seen}))
"""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env,
                         timeout=120, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    if result["libraries"] < 2:
        pytest.skip("SciPy shares NumPy's BLAS here: nothing loads late")
    assert len(result["seen"]) == 4
    assert all(counts == [1] * result["libraries"] for counts in result["seen"]), result["seen"]


def batchnorm_convnet(seed=0):
    from nnlearn.nn.layers import BatchNorm

    layers = [Conv2D(1, 3, 3, input_shape=(1, 9, 8)), BatchNorm(3), ReLU(), MaxPool2D(2), Flatten(),
              nnlearn.Dense(27, 6), BatchNorm(6), nnlearn.Tanh(), nnlearn.Dense(6, 4), nnlearn.Softmax()]
    return nnlearn.Network(layers, "log_likelihood", seed=seed, dtype="float64")


@pytest.mark.parametrize("threads, m", [(2, 10), (3, 7), (2, 3)])
def test_batch_norm_parts_exchange_statistics_so_the_gradient_is_the_whole_minibatch(threads, m):
    # every part normalises with the whole minibatch's μ and σ², and ∂C/∂x uses its sums:
    # the gradient, the outputs and the running statistics equal one thread's
    X, y = data(m, seed=4)
    one, split = batchnorm_convnet(), batchnorm_convnet()
    Y = one.targets(y, m)
    outputs_one = one.forward(X, True)
    one.backward(outputs_one, Y)
    with parallel.ThreadedGradient(split, threads) as gradient:
        outputs = gradient(X, Y)
    np.testing.assert_allclose(np.concatenate(outputs), outputs_one, rtol=1e-12, atol=1e-14)
    for got, want in zip(grads(split), grads(one)):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
    for a, b in zip(split.layers, one.layers):
        for key in a.buffers:
            np.testing.assert_allclose(a.buffers[key], b.buffers[key], rtol=1e-12)
    assert all(layer.part_sums is None for layer in split.layers if hasattr(layer, "part_sums"))


def test_auto_splits_batch_norm_networks_and_training_matches_one_thread(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_MACS_PER_THREAD", 1)
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    net = batchnorm_convnet(seed=3)
    assert parallel.serial_layers(net) == [] and parallel.plan_threads(net, 12) == 2
    X, y = data(60)
    runs = {}
    for threads in (1, 2, 2):
        net = batchnorm_convnet(seed=3)
        Trainer(net, X, y, epochs=2, mini_batch_size=12, eta=0.3, monitor=(), threads=threads).run()
        runs.setdefault(threads, []).append([p.copy() for p, _ in net.parameters()])
    for a, b in zip(runs[2][0], runs[2][1]):
        assert np.array_equal(a, b)  # same threads, same seed: identical bits
    for a, b in zip(runs[2][0], runs[1][0]):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


def test_an_error_in_one_part_does_not_leave_a_batch_norm_part_waiting():
    from nnlearn.nn.layers import BatchNorm

    net = nnlearn.Network([_MarkerLayer("raise"), BatchNorm(3), nnlearn.Dense(3, 2), nnlearn.Softmax()],
                          "log_likelihood", input_shape=(3,), dtype="float64")
    X = np.random.default_rng(0).random((8, 3))
    Y = net.targets(np.zeros(8, dtype=int), 8)
    with parallel.ThreadedGradient(net, 2) as gradient:
        bad = X.copy()
        bad[-1, 0] = 999.0  # only the worker's part raises, before the first exchange
        with pytest.raises(ValueError, match="marker seen"):
            gradient(bad, Y)
        bad = X.copy()
        bad[0, 0] = 999.0  # only this thread's part raises; the worker stops waiting
        with pytest.raises(ValueError, match="marker seen"):
            gradient(bad, Y)
        gradient(X, Y)  # and the next minibatch runs


def test_part_sums_exchanges_need_one_barrier_each_and_never_mix_rounds():
    # exchanges alternate between two sets of slots, so a part that runs ahead (here: parts
    # that sleep at random) can never overwrite values another part has not read yet
    import random
    import threading
    import time

    sums, parts, rounds = parallel.PartSums(), 3, 300
    sums.start([1 / parts] * parts)
    seen: list[list[tuple[int, int]]] = [[] for _ in range(parts)]

    def run(part):
        pace = random.Random(part)
        for r in range(rounds):
            if pace.random() < 0.1:
                time.sleep(0.0005)
            seen[part].append(tuple(sums.gather(part, (part, r))))

    threads = [threading.Thread(target=run, args=(p,)) for p in range(parts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    want = [tuple((p, r) for p in range(parts)) for r in range(rounds)]
    assert all(s == want for s in seen)
    sums.start([0.5, 0.5])
    totals = []
    workers = [threading.Thread(target=lambda p=p: totals.append(sums.total(p, np.full(2, p + 1.0))))
               for p in range(2)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert [list(t) for t in totals] == [[3.0, 3.0], [3.0, 3.0]]
