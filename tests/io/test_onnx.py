"""ONNX export: onnxruntime reproduces nnlearn's probabilities for MLPs and convnets."""

from __future__ import annotations

import numpy as np
import pytest

from nnlearn import Dense, Network
from nnlearn.errors import ConfigError
from nnlearn.nn.layers import BatchNorm, Dropout, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from nnlearn.nn.layers.base import Layer
from nnlearn.nn.layers.conv import Conv2D
from nnlearn.nn.layers.pool import AvgPool2D, L2Pool2D, MaxPool2D
from nnlearn.nn.layers.reshape import Flatten

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from nnlearn.io.onnx import export_onnx, to_onnx  # noqa: E402
from tests.batchnorm_state import randomise_batchnorm  # noqa: E402


def run_onnx(model_or_path, X):
    source = model_or_path if isinstance(model_or_path, str) else model_or_path.SerializeToString()
    session = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"input": X})
    return out


def test_trained_mnist_mlp_matches_within_1e5(mnist, tmp_path):
    X, y = mnist.train[0][:2000], mnist.train[1][:2000]
    net = Network.from_sizes([784, 30, 10], cost="cross_entropy", seed=0)
    net.fit(X, y, epochs=1, mini_batch_size=10, eta=0.5, monitor=())
    path = tmp_path / "mlp.onnx"
    export_onnx(net, path)
    X_test = mnist.test[0][:500]
    out = run_onnx(str(path), X_test)
    ref = net.predict_proba(X_test)
    assert out.shape == (500, 10) and out.dtype == np.float32
    np.testing.assert_allclose(out, ref, atol=1e-5, rtol=0)
    assert (out.argmax(1) == ref.argmax(1)).all()


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "linear", "step"])
def test_every_activation_in_an_mlp(activation):
    rng = np.random.default_rng(1)
    net = Network.from_sizes([6, 8, 5, 4], activation=activation, cost="log_likelihood", seed=2,
                             dtype="float64")
    X = rng.normal(size=(17, 6))
    for dtype in ("float32", "float64"):
        out = run_onnx(to_onnx(net, dtype=dtype), X.astype(dtype))
        np.testing.assert_allclose(out, net.predict_proba(X), atol=1e-5, rtol=0)
        assert out.dtype == np.dtype(dtype)
        np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-5)


def test_mlp_with_batchnorm_dropout_and_leaky_alpha():
    rng = np.random.default_rng(3)
    net = Network([Dense(5, 9), BatchNorm(9), LeakyReLU(0.2), Dropout(0.5), Dense(9, 7), Tanh(),
                   Dropout(0.25, scale_at="test"), Dense(7, 3), Sigmoid()],
                  cost="cross_entropy", seed=4)
    randomise_batchnorm(net, rng)
    X = rng.normal(size=(11, 5)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(to_onnx(net), X), net.predict_proba(X), atol=1e-5, rtol=0)


def small_convnet(rng):
    layers = [Conv2D(1, 3, 3, padding="same", input_shape=(1, 12, 12)), BatchNorm(3), ReLU(),
              MaxPool2D(2),                                   # 3×6×6
              Conv2D(3, 4, (2, 3), stride=(1, 2), padding=(1, 0)), Tanh(),   # 4×7×2
              Conv2D(4, 4, 2, padding="same"), Sigmoid(),     # 4×7×2, pads bottom/right only
              AvgPool2D((2, 1), stride=1),                    # 4×6×2
              L2Pool2D(2, stride=(2, 1)),                     # 4×3×1
              Flatten(), Dropout(0.3), Dense(12, 10), Softmax()]
    net = Network(layers, cost="log_likelihood", seed=5)
    randomise_batchnorm(net, rng)
    return net


def test_small_convnet_matches_within_1e5(tmp_path):
    rng = np.random.default_rng(6)
    net = small_convnet(rng)
    X = rng.normal(size=(8, 1, 12, 12)).astype(np.float32)
    path = tmp_path / "conv.onnx"
    export_onnx(net, path)
    model = onnx.load(str(path))
    ops = [n.op_type for n in model.graph.node]
    for op in ("Conv", "BatchNormalization", "MaxPool", "AveragePool", "LpPool", "Flatten",
               "Gemm", "Softmax"):
        assert op in ops
    out = run_onnx(str(path), X)
    np.testing.assert_allclose(out, net.predict_proba(X), atol=1e-5, rtol=0)
    # the batch dimension is symbolic: any N runs
    np.testing.assert_allclose(run_onnx(str(path), X[:1]), net.predict_proba(X[:1]), atol=1e-5)


def test_trained_mnist_convnet_matches(mnist):
    X = mnist.train[0][:600].reshape(-1, 1, 28, 28)
    y = mnist.train[1][:600]
    net = Network([Conv2D(1, 4, 5, input_shape=(1, 28, 28)), ReLU(), MaxPool2D(2), Flatten(),
                   Dense(4 * 12 * 12, 10), Softmax()], cost="log_likelihood", seed=7)
    net.fit(X, y, epochs=1, mini_batch_size=20, eta=0.1, monitor=())
    X_test = mnist.test[0][:200].reshape(-1, 1, 28, 28)
    np.testing.assert_allclose(run_onnx(to_onnx(net), X_test), net.predict_proba(X_test),
                               atol=1e-5, rtol=0)


def test_lppool_p2_is_the_square_root_of_the_sum_of_squares():
    """ONNX LpPool(p=2) and nnlearn's L2Pool2D agree with √(Σ x²) written as a loop."""
    rng = np.random.default_rng(8)
    net = Network([L2Pool2D((2, 3), stride=(1, 2))], "quadratic", input_shape=(2, 5, 7), seed=0,
                  dtype="float64")
    X = rng.normal(size=(3, 2, 5, 7))  # negative values too: |x|² = x²
    naive = np.zeros((3, 2, 4, 3))
    for n, c, i, j in np.ndindex(*naive.shape):
        window = X[n, c, i:i + 2, 2 * j:2 * j + 3]
        naive[n, c, i, j] = np.sqrt(np.sum(window ** 2))
    np.testing.assert_allclose(net.predict_proba(X), naive, rtol=1e-12)
    np.testing.assert_allclose(run_onnx(to_onnx(net, dtype="float32"), X.astype(np.float32)),
                               naive, rtol=1e-5)


def test_unsupported_layer_is_named():
    class Swish(Layer):
        def forward(self, X, training=False):
            return X / (1 + np.exp(-X))

    net = Network([Dense(3, 4), Swish(), Dense(4, 2), Softmax()], cost="log_likelihood", seed=0)
    with pytest.raises(ConfigError, match=r"layer 1 \(Swish\).*supported: .*Dense"):
        to_onnx(net)

    class MySigmoid(Sigmoid):  # a subclass may compute something else: not exported as Sigmoid
        pass

    net = Network([Dense(3, 2), MySigmoid()], seed=0)
    with pytest.raises(ConfigError, match="MySigmoid"):
        to_onnx(net)


def test_bad_options():
    net = Network.from_sizes([3, 2], seed=0)
    with pytest.raises(ConfigError, match="opset"):
        to_onnx(net, opset=9)
    with pytest.raises(ConfigError, match="dtype"):
        to_onnx(net, dtype="float16")


def test_cli_export(tmp_path, capsys):
    from nnlearn.cli import main

    rng = np.random.default_rng(9)
    net = small_convnet(rng)
    model = tmp_path / "conv.npz"
    net.save(model)
    out = tmp_path / "conv.onnx"
    assert main(["export", str(model), str(out)]) == 0
    assert "wrote" in capsys.readouterr().out
    X = rng.normal(size=(4, 1, 12, 12)).astype(np.float32)
    np.testing.assert_allclose(run_onnx(str(out), X), net.predict_proba(X), atol=1e-5, rtol=0)
    # unsupported opset: a usage error (exit 2) with a message, no file
    assert main(["export", str(model), str(tmp_path / "x.onnx"), "--opset", "7"]) == 2
    assert "opset" in capsys.readouterr().err
    assert not (tmp_path / "x.onnx").exists()
    assert main(["export", str(tmp_path / "missing.npz"), str(out)]) == 1


def test_missing_onnx_package_gives_an_install_hint(monkeypatch, tmp_path, capsys):
    from nnlearn.cli import main

    net = Network.from_sizes([3, 2], seed=0)
    net.save(tmp_path / "m.npz")
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)  # import onnx → ImportError
    with pytest.raises(ImportError, match=r"nnlearn\[onnx\]"):
        to_onnx(net)
    assert main(["export", str(tmp_path / "m.npz"), str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert 'pip install "nnlearn[onnx]"' in err and 'pip install ".[onnx]"' in err  # index, checkout
    assert "onnx, onnxruntime" in err                                                 # what it brings
    assert not (tmp_path / "m.onnx").exists()


def test_export_and_evaluate_accept_a_run_folder_and_sigmoid_outputs_are_documented(tmp_path, capsys):
    """Before: `nnlearn export RUN out.onnx` and `nnlearn evaluate RUN` refused a run folder that
    `predict` and `serve` accept. The export computes the network's output (for a sigmoid
    output layer rows need not sum to 1); `predict` shows those divided by their row sum."""
    from nnlearn.cli import main
    from nnlearn.data import digits
    from nnlearn.experiments.config import files as cfgmod
    from nnlearn.experiments.runs.folder import Run

    run = Run.create(cfgmod.resolve(), run_dir=tmp_path / "run")
    net = Network.from_sizes([784, 12, 10], seed=3)            # sigmoid output, cross-entropy
    assert main(["export", str(run.path), str(tmp_path / "m.onnx")]) == 1
    assert "without model.npz" in capsys.readouterr().err    # named, before the run has a model
    net.save(run.model_path)
    assert main(["export", str(run.path), str(tmp_path / "m.onnx")]) == 0
    assert main(["evaluate", str(run.path)]) == 0
    assert "accuracy" in capsys.readouterr().out
    X = np.random.default_rng(0).random((6, 784)).astype(np.float32)
    exported = run_onnx(str(tmp_path / "m.onnx"), X)
    np.testing.assert_allclose(exported, net.predict_proba(X), atol=1e-5)
    assert np.abs(exported.sum(axis=1) - 1).max() > 0.1       # not normalised ...
    np.testing.assert_allclose(exported / exported.sum(axis=1, keepdims=True),
                               digits.class_probabilities(net, X), atol=1e-5)  # ... predict's are
