r"""Export a trained :class:`~nnlearn.nn.network.Network` to ONNX (inference graph).

Every nnlearn layer becomes one ONNX operator (opset 17 by default), applied to the
batch tensor ``input (N, *input_shape)``; the last one writes ``output (N, K)``::

    Dense(W, b)          Gemm(X, W, b)              Y = X W + b   (W is (n_in, n_out): no transpose)
    Sigmoid / Tanh       Sigmoid / Tanh
    ReLU / LeakyReLU(α)  Relu / LeakyRelu(alpha=α)
    Linear               Identity
    Step                 Cast(Greater(X, 0))        1[z > 0] in the float type
    Softmax              Softmax(axis=1)            rows of (N, K)
    Conv2D               Conv(W, b, strides, pads=[top, left, bottom, right])
                         (a cross-correlation in both libraries)
    MaxPool2D            MaxPool(kernel_shape, strides)      both drop incomplete
    AvgPool2D            AveragePool(kernel_shape, strides)  windows (floor, no padding)
    L2Pool2D             LpPool(p=2, kernel_shape, strides)  Y = (Σ |x|²)^(1/2) = √(Σ x²)
    Flatten              Flatten(axis=1)            row-major, as nnlearn's
    Dropout              Identity (inverted), Mul(X, 1 − p) (classic, scale_at="test")
    BatchNorm            BatchNormalization(γ, β, running mean, running var, ε)
                         for (N, C, H, W); for (N, D) the same inference map as
                         Mul(X, γ/√(var + ε)) then Add(β − mean·γ/√(var + ε))

Layers of any other type (including subclasses of these, whose forward may differ)
raise :class:`~nnlearn.errors.ConfigError` naming the layer.

``output`` is the network's own output, ``Network.predict_proba``: for a softmax output
layer, probabilities summing to 1; for a sigmoid output layer (the book's cross-entropy
networks), one activation per class in (0, 1) whose rows need not sum to 1. ``nnlearn
predict`` and the Draw page show those divided by their row sum
(:func:`nnlearn.data.digits.class_probabilities`); the arg-max is the same. The graph is
left unnormalised on purpose: it computes the trained function itself, the same for every
model, and a multi-label network's independent per-class probabilities must not be
normalised.

Requires the optional ``onnx`` package (``pip install 'nnlearn[onnx]'``); running
the exported file needs a runtime such as ``onnxruntime``.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy

from nnlearn import backend
from nnlearn.checks import float_dtype
from nnlearn.errors import ConfigError, install_hint
from nnlearn.files import atomic_write
from nnlearn.nn.layers import (AvgPool2D, BatchNorm, Conv2D, Dense, Dropout, Flatten, L2Pool2D,
                               LeakyReLU, Linear, MaxPool2D, ReLU, Sigmoid, Softmax, Step, Tanh)
from nnlearn.system.version import __version__

DEFAULT_OPSET = 17


def _onnx():
    try:
        import onnx
        from onnx import helper, numpy_helper
    except ImportError as exc:
        raise ImportError(f"ONNX export needs the onnx package: {install_hint('onnx')}") from exc
    return onnx, helper, numpy_helper


class _Graph:
    """Collects nodes and initialisers while the layers are translated in order."""

    def __init__(self, dtype: numpy.dtype):
        _, self.helper, self.numpy_helper = _onnx()
        self.dtype = dtype
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.names: set[str] = set()

    def const(self, name: str, array) -> str:
        array = numpy.ascontiguousarray(numpy.asarray(array, dtype=self.dtype))
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], output: str, name: str, **attrs: Any) -> str:
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=name, **attrs))
        return output


def _np(a) -> numpy.ndarray:
    return numpy.asarray(backend.to_numpy(a))


# -- one translator per layer type: (graph, layer, x, prefix, input_shape) -> output name --
def _dense(g: _Graph, layer, x: str, p: str, shape) -> str:
    W = g.const(f"{p}.W", _np(layer.params["W"]))
    b = g.const(f"{p}.b", _np(layer.params["b"]))
    return g.node("Gemm", [x, W, b], f"{p}.out", p)


def _simple(op: str) -> Callable[..., str]:
    def translate(g: _Graph, layer, x: str, p: str, shape) -> str:
        return g.node(op, [x], f"{p}.out", p)
    return translate


def _leaky_relu(g: _Graph, layer, x: str, p: str, shape) -> str:
    return g.node("LeakyRelu", [x], f"{p}.out", p, alpha=float(layer.alpha))


def _softmax(g: _Graph, layer, x: str, p: str, shape) -> str:
    return g.node("Softmax", [x], f"{p}.out", p, axis=1)


def _step(g: _Graph, layer, x: str, p: str, shape) -> str:
    _, helper, _ = _onnx()
    zero = g.const(f"{p}.zero", numpy.zeros((), dtype=g.dtype))
    above = g.node("Greater", [x, zero], f"{p}.above", f"{p}.greater")
    to = helper.np_dtype_to_tensor_dtype(numpy.dtype(g.dtype))
    return g.node("Cast", [above], f"{p}.out", p, to=to)


def _conv(g: _Graph, layer, x: str, p: str, shape) -> str:
    top, bottom, left, right = layer.pads
    W = g.const(f"{p}.W", _np(layer.params["W"]))
    b = g.const(f"{p}.b", _np(layer.params["b"]))
    return g.node("Conv", [x, W, b], f"{p}.out", p, kernel_shape=list(layer.kernel_size),
                  strides=list(layer.stride), pads=[top, left, bottom, right])


def _pool(op: str, **extra: Any) -> Callable[..., str]:
    def translate(g: _Graph, layer, x: str, p: str, shape) -> str:
        return g.node(op, [x], f"{p}.out", p, kernel_shape=list(layer.pool_size),
                      strides=list(layer.stride), **extra)
    return translate


def _flatten(g: _Graph, layer, x: str, p: str, shape) -> str:
    return g.node("Flatten", [x], f"{p}.out", p, axis=1)


def _dropout(g: _Graph, layer, x: str, p: str, shape) -> str:
    if layer.scale_at == "train":  # inverted dropout: inference is the identity
        return g.node("Identity", [x], f"{p}.out", p)
    keep = g.const(f"{p}.keep", numpy.asarray(1.0 - layer.p))
    return g.node("Mul", [x, keep], f"{p}.out", p)


def _batchnorm(g: _Graph, layer, x: str, p: str, shape) -> str:
    gamma, beta = _np(layer.params["gamma"]), _np(layer.params["beta"])
    mean, var = _np(layer.buffers["running_mean"]), _np(layer.buffers["running_var"])
    if len(shape) == 1:  # (N, D): the same inference map, written as x·s + t
        scale = gamma.astype(numpy.float64) / numpy.sqrt(var.astype(numpy.float64) + layer.eps)
        shift = beta - mean * scale
        scaled = g.node("Mul", [x, g.const(f"{p}.scale", scale)], f"{p}.scaled", f"{p}.mul")
        return g.node("Add", [scaled, g.const(f"{p}.shift", shift)], f"{p}.out", p)
    inputs = [x] + [g.const(f"{p}.{k}", v) for k, v in
                    (("gamma", gamma), ("beta", beta), ("mean", mean), ("var", var))]
    return g.node("BatchNormalization", inputs, f"{p}.out", p, epsilon=float(layer.eps))


def _translators() -> dict[type, Callable[..., str]]:
    return {Dense: _dense, Sigmoid: _simple("Sigmoid"), Tanh: _simple("Tanh"),
            ReLU: _simple("Relu"), LeakyReLU: _leaky_relu, Linear: _simple("Identity"),
            Step: _step, Softmax: _softmax, Conv2D: _conv, MaxPool2D: _pool("MaxPool"),
            AvgPool2D: _pool("AveragePool"), L2Pool2D: _pool("LpPool", p=2),
            Flatten: _flatten, Dropout: _dropout, BatchNorm: _batchnorm}


SUPPORTED_LAYERS = ("AvgPool2D", "BatchNorm", "Conv2D", "Dense", "Dropout", "Flatten", "L2Pool2D",
                    "LeakyReLU", "Linear", "MaxPool2D", "ReLU", "Sigmoid", "Softmax", "Step", "Tanh")
"""Names of the layer types that :func:`to_onnx` translates."""


def to_onnx(network, *, opset: int = DEFAULT_OPSET, dtype: str = "float32",
            graph_name: str = "nnlearn"):
    r"""The ONNX ``ModelProto`` computing ``network.predict_proba``.

    Args:
        network: a :class:`~nnlearn.nn.network.Network`.
        opset: ONNX operator-set version (default 17; at least 13).
        dtype: ``"float32"`` (default, whatever the network's dtype: the type every
            runtime implements for every operator; onnxruntime has no float64
            ``Conv``, for one) or ``"float64"`` (fine for MLPs).
        graph_name: the graph's name.

    The input ``input`` has shape ``(N, *network.input_shape)`` with a symbolic
    batch size ``N``; the output ``output`` has shape ``(N, *network.output_shape)``.
    Raises ``ConfigError`` for a layer type with no ONNX translation and
    ``ImportError`` without the onnx package.
    """
    onnx, helper, _ = _onnx()
    if isinstance(opset, bool) or not isinstance(opset, int) or opset < 13:
        raise ConfigError(f"opset must be an integer ≥ 13, got {opset!r}")
    dt = numpy.dtype(float_dtype(dtype))
    translators = _translators()
    for i, layer in enumerate(network.layers):
        if type(layer) not in translators:
            raise ConfigError(f"cannot export layer {i} ({type(layer).__name__}) to ONNX: no "
                              f"translation for this layer type; supported: "
                              f"{', '.join(SUPPORTED_LAYERS)}")
    g = _Graph(dt)
    x, shape = "input", tuple(network.input_shape)
    for i, layer in enumerate(network.layers):
        x = translators[type(layer)](g, layer, x, f"layer{i}.{type(layer).__name__}", shape)
        shape = tuple(layer.output_shape(shape))
    g.nodes.append(helper.make_node("Identity", [x], ["output"], name="output"))
    elem = helper.np_dtype_to_tensor_dtype(dt)
    graph = helper.make_graph(
        g.nodes, graph_name,
        [helper.make_tensor_value_info("input", elem, ["N", *network.input_shape])],
        [helper.make_tensor_value_info("output", elem, ["N", *network.output_shape])],
        initializer=g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="nnlearn", producer_version=__version__,
                              doc_string=f"nnlearn network, cost {network.cost.name}; "
                                         f"output = Network.predict_proba(input)")
    model.ir_version = min(model.ir_version, 8)  # readable by runtimes of 2021 onwards
    onnx.checker.check_model(model, full_check=True)
    return model


def export_onnx(network, path: str | os.PathLike, **options: Any) -> None:
    """Write :func:`to_onnx` ``(network, **options)`` to ``path`` (a ``.onnx`` file)."""
    model = to_onnx(network, **options)
    data = model.SerializeToString()
    atomic_write(path, lambda f: f.write(data))
