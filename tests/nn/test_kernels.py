"""The compiled kernels against their references (nnlearn.nn.kernels).

Every kernel's loops are checked three ways: compiled by Numba against the array
reference over window sizes, strides, ragged edges, ties and NaN; as plain
(uncompiled) Python on small inputs, which needs no Numba; and inside the layer by the
float64 gradient check, under each implementation.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from nnlearn.errors import ConfigError
from nnlearn.nn.gradcheck import gradcheck
from nnlearn.nn import kernels
from nnlearn.nn.layers import MaxPool2D, ReLU
from nnlearn.nn.layers.windows import batch_last, im2col_batch_last, tiles

CASES = [  # (input shape, pool, stride) that the compiled 2×2 kernel takes
    ((3, 4, 8, 8), (2, 2), (2, 2)),     # the book's pooling: windows tile the input
    ((2, 3, 9, 7), (2, 2), (2, 2)),     # a ragged edge: last row/column in no window
    ((1, 2, 2, 2), (2, 2), (2, 2)),     # one window per map
]
OTHER_WINDOWS = [  # geometries that always run the reference
    ((2, 2, 7, 7), (3, 3), (2, 2)),     # overlapping windows
    ((2, 2, 6, 8), (1, 3), (1, 2)),     # non-square, overlapping along one axis
    ((1, 2, 5, 5), (2, 2), (3, 3)),     # stride larger than the window: gaps
]


def _reference(X, pool, stride, dY):
    out_hw = dY.shape[2:]
    Y, state = kernels.max_pool_forward_reference(X, pool, stride, out_hw, {}, False)
    return Y, kernels.max_pool_backward_reference(dY, state, X.shape, pool, stride, {})


def _loops(X, pool, stride, dY, forward, backward):
    """The 2×2, stride-2 loops (plain or compiled) on ``X`` and ``dY``."""
    assert pool == stride == (2, 2)
    Y = np.empty(dY.shape, X.dtype)
    arg = np.empty(dY.shape, np.uint8)
    forward(X, Y, arg)
    dX = np.empty_like(X)
    backward(dY, arg, tiles(X.shape, pool, stride, dY.shape[2:]), dX)
    return Y, dX


def _inputs(shape, pool, stride, dtype, kind, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "random":
        X = rng.standard_normal(shape)
    elif kind == "ties":        # few distinct values: many windows hold their max twice
        X = rng.integers(-2, 3, size=shape).astype(float)
    else:                       # constant maps: every pixel of every window ties
        X = np.full(shape, 0.5)
    out_hw = MaxPool2D(pool, stride).output_shape(shape[1:])[1:]
    dY = rng.standard_normal(shape[:2] + out_hw)
    return X.astype(dtype), dY.astype(dtype)


def _compare(got, want, pool, stride):
    Y, dX = got
    Y_ref, dX_ref = want
    np.testing.assert_array_equal(Y, Y_ref)           # a max is exact: same bits
    if stride[0] >= pool[0] and stride[1] >= pool[1]:
        np.testing.assert_array_equal(dX, dX_ref)     # one window per pixel: same bits
    else:                                             # sums over windows, in another order
        np.testing.assert_allclose(dX, dX_ref, rtol=1e-6 if Y.dtype == np.float32 else 1e-13,
                                   atol=1e-6)


needs_numba = pytest.mark.skipif(importlib.util.find_spec("numba") is None,
                                 reason="the compiled kernels need Numba (nnlearn[fast])")


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["random", "ties", "constant"])
@pytest.mark.parametrize("shape,pool,stride", CASES + [((10, 20, 24, 24), (2, 2), (2, 2))])
def test_compiled_max_pool_matches_the_reference(shape, pool, stride, kind, dtype):
    compiled = kernels._compiled()
    X, dY = _inputs(shape, pool, stride, dtype, kind)
    got = _loops(X, pool, stride, dY, compiled.max_pool_2x2_forward, compiled.max_pool_2x2_backward)
    _compare(got, _reference(X, pool, stride, dY), pool, stride)


@needs_numba
def test_nan_windows_pool_to_nan_in_both():
    X, dY = _inputs((1, 1, 4, 4), (2, 2), (2, 2), "float32", "random")
    X[0, 0, 1, 1] = np.nan
    compiled = kernels._compiled()
    Y, _ = _loops(X, (2, 2), (2, 2), dY, compiled.max_pool_2x2_forward, compiled.max_pool_2x2_backward)
    Y_ref, _ = _reference(X, (2, 2), (2, 2), dY)
    assert np.isnan(Y[0, 0, 0, 0]) and np.isnan(Y_ref[0, 0, 0, 0])
    np.testing.assert_array_equal(Y[0, 0].ravel()[1:], Y_ref[0, 0].ravel()[1:])


@pytest.mark.parametrize("which", [pytest.param("compiled", marks=needs_numba), "reference"])
@pytest.mark.parametrize("shape,pool,stride", CASES + OTHER_WINDOWS)
def test_layer_gradcheck_under_each_implementation(monkeypatch, which, shape, pool, stride):
    monkeypatch.setenv(kernels.KERNELS_ENV, which)
    assert kernels.implementation() == which
    X = np.random.default_rng(3).standard_normal(shape)   # distinct values: no ties at ±ε
    result = gradcheck(MaxPool2D(pool, stride), X)
    assert set(result.errors) == {"X"} and result.max_error < 1e-6, result


@needs_numba
def test_other_windows_run_the_reference_and_the_book_s_run_compiled():
    for shape, pool, stride in OTHER_WINDOWS + CASES:
        layer = MaxPool2D(pool, stride)
        layer.forward(np.ones(shape, np.float32))
        assert layer._state[0] == ("compiled" if pool == stride == (2, 2) else "reference")


@needs_numba
def test_layer_output_is_the_same_under_both(monkeypatch):
    X, dY = _inputs((4, 3, 12, 12), (2, 2), (2, 2), "float32", "ties")
    out = {}
    for which in ("compiled", "reference"):
        monkeypatch.setenv(kernels.KERNELS_ENV, which)
        layer = MaxPool2D(2)
        out[which] = (layer.forward(X, training=True), layer.backward(dY))
    for a, b in zip(out["compiled"], out["reference"]):
        np.testing.assert_array_equal(a, b)


@needs_numba
def test_compile_kernels_reports_its_seconds(monkeypatch):
    assert kernels.compile_kernels(("float32", "float64")) >= 0
    monkeypatch.setenv(kernels.KERNELS_ENV, "reference")
    assert kernels.compile_kernels() is None


def test_an_unknown_choice_is_refused(monkeypatch):
    monkeypatch.setenv(kernels.KERNELS_ENV, "fast")
    with pytest.raises(ConfigError, match="NNLEARN_KERNELS='fast': expected 'compiled' or 'reference'"):
        kernels.implementation()


def _without_numba(lines: str) -> subprocess.CompletedProcess:
    """Run ``lines`` in a fresh Python in which Numba cannot be imported (as if not installed)."""
    code = ("import sys; sys.modules['numba'] = None\n"
            "import numpy as np\n"
            "from nnlearn.nn import kernels\n" + lines)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done


def test_without_numba_the_reference_runs_after_a_one_line_notice():
    done = _without_numba("from nnlearn.nn.layers import MaxPool2D\n"
                          "Y = MaxPool2D(2).forward(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))\n"
                          "MaxPool2D(2).forward(np.zeros((1, 1, 4, 4), np.float32))\n"
                          "print(kernels.implementation(), Y.ravel().tolist())\n")
    assert done.stdout.split() == ["reference", "[5.0,", "7.0,", "13.0,", "15.0]"]
    notice = done.stderr.strip().splitlines()
    assert len(notice) == 1 and "Numba is not installed" in notice[0] and "nnlearn[fast]" in notice[0]


# -- col2im -------------------------------------------------------------------------------------
COL2IM_CASES = [  # (padded input shape N, C, Hp, Wp), kernel, stride
    ((3, 2, 8, 8), (3, 3), (1, 1)),
    ((2, 3, 9, 7), (2, 3), (2, 1)),
    ((10, 20, 12, 12), (5, 5), (1, 1)),     # convnet (d)'s second convolution, mini-batch 10
    ((1, 1, 5, 5), (5, 5), (1, 1)),         # one output pixel
]


def _dcols(padded, kernel, stride, dtype="float32", seed=0):
    (N, C, Hp, Wp), (kh, kw), (sh, sw) = padded, kernel, stride
    out_hw = ((Hp - kh) // sh + 1, (Wp - kw) // sw + 1)
    D = np.random.default_rng(seed).standard_normal((C * kh * kw, out_hw[0] * out_hw[1] * N))
    return D.astype(dtype), out_hw


@pytest.mark.parametrize("padded,kernel,stride", COL2IM_CASES[:2] + COL2IM_CASES[3:])
def test_col2im_plain_python_loops_match_the_reference(padded, kernel, stride):
    from nnlearn.nn.layers.windows import col2im
    D, out_hw = _dcols(padded, kernel, stride, "float64")
    N, C, Hp, Wp = padded
    dXt = np.full((C, Hp, Wp, N), np.nan)        # the loops zero it themselves
    kernels.columns_image_loops(D.reshape(C, *kernel, *out_hw, N), dXt, *stride, True)
    np.testing.assert_array_equal(dXt.transpose(3, 0, 1, 2), col2im(D, padded, kernel, stride, out_hw))


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("padded,kernel,stride", COL2IM_CASES)
def test_compiled_col2im_matches_the_reference_bit_for_bit(monkeypatch, padded, kernel, stride, dtype):
    D, out_hw = _dcols(padded, kernel, stride, dtype)
    got = kernels.col2im(D, padded, kernel, stride, out_hw,
                         work=np.full(padded[1:] + padded[:1], 7.0, dtype))   # a dirty work array
    monkeypatch.setenv(kernels.KERNELS_ENV, "reference")
    np.testing.assert_array_equal(got, kernels.col2im(D, padded, kernel, stride, out_hw))


@pytest.mark.parametrize("which", [pytest.param("compiled", marks=needs_numba), "reference"])
@pytest.mark.parametrize("layout", ["batch", "batch_last"])
def test_conv_gradcheck_under_each_implementation(monkeypatch, which, layout):
    from nnlearn.nn.layers import Conv2D
    monkeypatch.setenv(kernels.KERNELS_ENV, which)
    layer = Conv2D(3, 4, 3, stride=(2, 1), padding=1, seed=0, dtype="float64")
    monkeypatch.setattr(layer, "_layout", layout)
    result = gradcheck(layer, np.random.default_rng(5).standard_normal((2, 3, 7, 6)))
    assert set(result.errors) == {"X", "W", "b"} and result.max_error < 1e-6, result


# -- ReLU's backward pass -------------------------------------------------------------------------
def test_relu_backward_plain_python_loops_match_the_reference():
    rng = np.random.default_rng(2)
    A = np.maximum(rng.standard_normal(500), 0)
    dA = rng.standard_normal(500)
    dZ = np.empty_like(A)
    kernels.relu_backward_loops(dA, A, dZ)
    np.testing.assert_array_equal(dZ, dA * (A > 0))
    assert np.array_equal(np.signbit(dZ), np.signbit(dA * (A > 0)))   # −0.0 where dA < 0 = A


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(64, 20, 24, 24), (10, 40, 8, 8), (3, 7)])
def test_compiled_relu_backward_matches_the_reference_bit_for_bit(monkeypatch, shape, dtype):
    from nnlearn.nn.layers import ReLU
    rng = np.random.default_rng(4)
    Z, dA = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    Z.flat[:7] = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30]
    dA.flat[:3] = [np.nan, np.inf, -3.0]
    out = {}
    for which in ("compiled", "reference"):
        monkeypatch.setenv(kernels.KERNELS_ENV, which)
        layer = ReLU()
        layer.forward(Z, training=True)
        with np.errstate(invalid="ignore"):    # inf · 0 = NaN, as in training
            out[which] = layer.backward(dA)
    assert out["compiled"].dtype == out["reference"].dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out["compiled"], out["reference"])
    assert np.array_equal(np.signbit(out["compiled"]), np.signbit(out["reference"]))


# -- activations stored batch-last (a batch-last convolution's output, seen as NCHW) -------------

def stored_batch_last(A):
    """``A`` (N, C, H, W) with the same values, stored batch-last: a view of a (C, H, W, N) array."""
    return np.ascontiguousarray(A.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


def _batch_last_loops(X, pool, stride, dY, forward, backward):
    """The batch-last 2×2 loops (plain or compiled) on ``X`` and ``dY`` given NCHW."""
    Xt = np.ascontiguousarray(X.transpose(1, 2, 3, 0))
    Yt = np.empty(dY.shape[1:] + dY.shape[:1], X.dtype)
    arg = np.empty(Yt.shape, np.uint8)
    forward(Xt, Yt, arg)
    dXt = np.empty_like(Xt)
    backward(dY.transpose(1, 2, 3, 0), arg, tiles(X.shape, pool, stride, dY.shape[2:]), dXt)
    return Yt.transpose(3, 0, 1, 2), dXt.transpose(3, 0, 1, 2)


@pytest.mark.parametrize("layout", ["nchw", "batch_last"])
@pytest.mark.parametrize("kind", ["random", "ties", "constant"])
@pytest.mark.parametrize("shape,pool,stride", CASES)
def test_plain_python_loops_match_the_reference(shape, pool, stride, kind, layout):
    X, dY = _inputs(shape, pool, stride, "float64", kind)
    if layout == "nchw":
        got = _loops(X, pool, stride, dY, kernels.max_pool_2x2_forward_loops,
                     kernels.max_pool_2x2_backward_loops)
    else:
        got = _batch_last_loops(X, pool, stride, dY, kernels.max_pool_2x2_forward_batch_last_loops,
                                kernels.max_pool_2x2_backward_batch_last_loops)
    _compare(got, _reference(X, pool, stride, dY), pool, stride)


@needs_numba
@pytest.mark.parametrize("grad_layout", ["nchw", "batch_last"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["random", "ties", "constant"])
@pytest.mark.parametrize("shape,pool,stride", CASES + [((10, 20, 24, 24), (2, 2), (2, 2))])
def test_max_pool_of_a_batch_last_input_is_batch_last_and_matches_the_reference(
        monkeypatch, shape, pool, stride, kind, dtype, grad_layout):
    monkeypatch.setenv(kernels.KERNELS_ENV, "compiled")
    X, dY = _inputs(shape, pool, stride, dtype, kind)
    layer = MaxPool2D(pool, stride)
    Y = layer.forward(stored_batch_last(X), training=True)
    assert batch_last(Y) is not None   # (one example: both layouts are the same memory)
    assert layer._state[0] == ("batch_last" if shape[0] > 1 else "compiled")
    dX = layer.backward(stored_batch_last(dY) if grad_layout == "batch_last" else dY)
    assert dX.shape == X.shape and batch_last(dX) is not None
    _compare((Y, dX), _reference(X, pool, stride, dY), pool, stride)


def test_relu_forward_plain_python_loops_match_numpy_maximum_bit_for_bit():
    Z = np.random.default_rng(3).standard_normal(300)
    Z[:6] = [0.0, -0.0, np.nan, -np.inf, np.inf, -1e-300]
    A = np.empty_like(Z)
    kernels.relu_forward_loops(Z, A)
    want = np.maximum(Z, np.zeros_like(Z))
    np.testing.assert_array_equal(A, want)
    assert np.array_equal(np.signbit(A), np.signbit(want))   # −0 gives +0 in both


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(16, 20, 24, 24), (10, 40, 8, 8)])
def test_relu_keeps_a_batch_last_layout_and_matches_the_reference_bit_for_bit(monkeypatch, shape,
                                                                              dtype):
    rng = np.random.default_rng(8)
    Z, dA = rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape).astype(dtype)
    Z.flat[:5] = [0.0, -0.0, np.inf, -np.inf, np.nan]
    out = {}
    for which in ("compiled", "reference"):
        monkeypatch.setenv(kernels.KERNELS_ENV, which)
        layer = ReLU()
        A = layer.forward(stored_batch_last(Z), training=True)
        dZ = layer.backward(stored_batch_last(dA))
        out[which] = A, dZ
        if which == "compiled":
            assert batch_last(A) is not None and batch_last(dZ) is not None
    for got, want in zip(out["compiled"], out["reference"]):
        np.testing.assert_array_equal(got, want)
        assert np.array_equal(np.signbit(got), np.signbit(want))
    # a gradient stored in another order than A: the reference's answer
    monkeypatch.setenv(kernels.KERNELS_ENV, "compiled")
    layer = ReLU()
    layer.forward(stored_batch_last(Z), training=True)
    np.testing.assert_array_equal(layer.backward(dA), out["reference"][1])


def test_flat_memory_is_a_view_for_the_two_layouts_only():
    X = np.arange(24.0).reshape(2, 3, 2, 2)
    assert np.shares_memory(kernels.flat_memory(X), X)
    stored = stored_batch_last(X)
    np.testing.assert_array_equal(kernels.flat_memory(stored), X.transpose(1, 2, 3, 0).ravel())
    assert kernels.flat_memory(X[:, :, :, :1]) is None and kernels.flat_memory(X.transpose(0, 2, 1, 3)) is None


IM2COL_CASES = [  # (Xt shape (C, Hp, Wp, N), kernel, stride)
    ((20, 12, 12, 16), (5, 5), (1, 1)),   # the convnet's second layer
    ((2, 9, 8, 17), (3, 2), (2, 1)),
    ((3, 7, 9, 16), (2, 3), (2, 3)),
]


def _out_hw(shape, kernel, stride):
    return ((shape[1] - kernel[0]) // stride[0] + 1, (shape[2] - kernel[1]) // stride[1] + 1)


@pytest.mark.parametrize("shape,kernel,stride", IM2COL_CASES)
def test_im2col_batch_last_plain_python_loops_match_the_reference(shape, kernel, stride):
    Xt = np.random.default_rng(1).standard_normal(shape)
    OH, OW = _out_hw(shape, kernel, stride)
    cols = np.empty((shape[0] * kernel[0] * kernel[1], OH * OW * shape[3]))
    kernels.columns_image_loops(cols.reshape(shape[0], *kernel, OH, OW, shape[3]), Xt, *stride, False)
    np.testing.assert_array_equal(cols, im2col_batch_last(Xt, kernel, stride, (OH, OW)))


@needs_numba
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape,kernel,stride", IM2COL_CASES)
def test_compiled_im2col_batch_last_matches_the_reference(monkeypatch, shape, kernel, stride, dtype):
    monkeypatch.setenv(kernels.KERNELS_ENV, "compiled")
    Xt = np.random.default_rng(2).standard_normal(shape).astype(dtype)
    OH, OW = _out_hw(shape, kernel, stride)
    calls = []
    real = kernels._compiled()
    monkeypatch.setattr(kernels, "_compiled", lambda: SimpleNamespace(
        columns_image=lambda *a: calls.append(a[-1]) or real.columns_image(*a)))
    out = np.full((shape[0] * kernel[0] * kernel[1], OH * OW * shape[3]), np.nan, dtype)
    got = kernels.im2col_batch_last(Xt, kernel, stride, (OH, OW), out)
    assert calls == [False] and got is out   # to_image=False: the im2col direction
    np.testing.assert_array_equal(got, im2col_batch_last(Xt, kernel, stride, (OH, OW)))


@needs_numba
def test_network_d_gradients_are_the_same_bits_under_both_implementations(monkeypatch):
    """Chapter 6's network (d) passes batch-last activations between its conv, ReLU and pooling
    layers; every kernel on that path gives the reference's bits, so the whole gradient does."""
    import nnlearn
    from nnlearn.nn.layers import Conv2D, Flatten

    X = np.random.default_rng(5).standard_normal((16, 1, 28, 28)).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[np.arange(16) % 10]
    grads = {}
    for which in ("compiled", "reference"):
        monkeypatch.setenv(kernels.KERNELS_ENV, which)
        net = nnlearn.Network([Conv2D(1, 20, 5), ReLU(), MaxPool2D(2), Conv2D(20, 40, 5), ReLU(),
                               MaxPool2D(2), Flatten(), nnlearn.Dense(640, 100), ReLU(),
                               nnlearn.Dense(100, 10), nnlearn.Softmax()],
                              "log_likelihood", seed=0, input_shape=(1, 28, 28))
        net.backward(net.forward(X, training=True), Y)
        if which == "compiled":   # the first convolution works batch-first, the second batch-last
            assert net.layers[2]._state[0] == "compiled" and net.layers[5]._state[0] == "batch_last"
        grads[which] = [g.copy() for _, g in net.parameters()]
    for got, want in zip(grads["compiled"], grads["reference"]):
        np.testing.assert_array_equal(got, want)


# -- batch norm's per-channel passes --------------------------------------------------------------

def _bn_arrays(shape, dtype, seed=6):
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    dY = rng.standard_normal(shape).astype(dtype)
    C = shape[1]
    return X, dY, (rng.random(C) + 0.5).astype(dtype), rng.standard_normal(C).astype(dtype)


def _bn_passes(X, dY, gamma, beta):
    """Every batch-norm kernel once, through the dispatch: sums, normalisation, gradients."""
    M = X.shape[0] * X.shape[2]
    mu = kernels.channel_sums(X) / M
    var = kernels.channel_centered_squares(X, mu) / M
    s = 1.0 / np.sqrt(var + 1e-5)
    X_hat, Y = kernels.batchnorm_normalize(X, mu, s, gamma, beta)
    sum_g, sum_gx = kernels.channel_grad_sums(dY, X_hat)
    dX = kernels.batchnorm_input_grad(dY, X_hat, gamma * s, M, sum_g, sum_gx)
    return mu, var, X_hat, Y, sum_g, sum_gx, dX


def test_batchnorm_plain_python_loops_match_the_reference(monkeypatch):
    monkeypatch.setenv(kernels.KERNELS_ENV, "reference")
    X, dY, gamma, beta = _bn_arrays((3, 2, 5), "float64")
    mu, var, X_hat, Y, sum_g, sum_gx, dX = _bn_passes(X, dY, gamma, beta)
    sums, squares = np.empty(2), np.empty(2)
    kernels.channel_sums_loops(X, sums)
    kernels.channel_centered_squares_loops(X, mu, squares)
    np.testing.assert_allclose(sums / 15, mu, rtol=1e-14)
    np.testing.assert_allclose(squares / 15, var, rtol=1e-14)
    got_hat, got_Y, got_dX = np.empty_like(X), np.empty_like(X), np.empty_like(X)
    s = 1.0 / np.sqrt(var + 1e-5)
    kernels.batchnorm_normalize_loops(X, mu, s, gamma, beta, got_hat, got_Y)
    np.testing.assert_allclose(got_hat, X_hat, rtol=1e-14)
    np.testing.assert_allclose(got_Y, Y, rtol=1e-14)
    g, gx = np.empty(2), np.empty(2)
    kernels.channel_grad_sums_loops(dY, X_hat, g, gx)
    np.testing.assert_allclose([g, gx], [sum_g, sum_gx], rtol=1e-13)
    kernels.batchnorm_input_grad_loops(dY, X_hat, gamma * s, 15, sum_g, sum_gx, got_dX)
    np.testing.assert_allclose(got_dX, dX, rtol=1e-12, atol=1e-14)
    # the statistics the passes give are the definition's: x̂ has mean 0 and variance ≈ 1 per channel
    np.testing.assert_allclose(X_hat.mean(axis=(0, 2)), 0, atol=1e-13)


@needs_numba
@pytest.mark.parametrize("dtype, rtol", [("float32", 2e-5), ("float64", 1e-12)])
@pytest.mark.parametrize("shape", [(128, 16, 144), (64, 32, 25), (7, 3, 1)])
def test_compiled_batchnorm_matches_the_reference_to_rounding(monkeypatch, shape, dtype, rtol):
    arrays = _bn_arrays(shape, dtype)
    out = {}
    for which in ("compiled", "reference"):
        monkeypatch.setenv(kernels.KERNELS_ENV, which)
        out[which] = _bn_passes(*arrays)
    for got, want in zip(out["compiled"], out["reference"]):
        assert got.dtype == want.dtype
        scale = np.abs(want).max()
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("which", [pytest.param("compiled", marks=needs_numba), "reference"])
@pytest.mark.parametrize("shape, training", [((4, 3, 5, 5), True), ((6, 4), True), ((4, 3, 5, 5), False)])
def test_batchnorm_gradcheck_under_each_implementation(monkeypatch, which, shape, training):
    from nnlearn.nn.layers import BatchNorm
    monkeypatch.setenv(kernels.KERNELS_ENV, which)
    layer = BatchNorm(shape[1], dtype="float64")
    rng = np.random.default_rng(8)
    layer.params["gamma"][...] = rng.random(shape[1]) + 0.5
    layer.params["beta"][...] = rng.standard_normal(shape[1])
    if not training:
        layer.buffers["running_mean"][...] = rng.standard_normal(shape[1])
        layer.buffers["running_var"][...] = rng.random(shape[1]) + 0.5
    result = gradcheck(layer, rng.standard_normal(shape) * 2, training=training)
    assert result.max_error < 1e-6, result


def test_without_numba_batch_norm_trains_on_its_references():
    done = _without_numba("from nnlearn.nn.layers import BatchNorm\n"
                          "layer = BatchNorm(2)\n"
                          "X = np.arange(16, dtype=np.float32).reshape(2, 2, 2, 2)\n"
                          "Y = layer.forward(X, training=True)\n"
                          "dX = layer.backward(np.ones_like(Y))\n"
                          "print(kernels.implementation(), round(float(Y.mean()), 6), "
                          "float(abs(dX).max()) < 1e-5)\n")
    assert done.stdout.split() == ["reference", "0.0", "True"]  # x̂ has mean 0; a constant δ has no ∂C/∂x


# -- untrusted inputs (issue 22, item 1) -----------------------------------------------------------
# Each case runs under both implementations in one child process (before the checks, the compiled
# loops read and wrote outside their arrays: "double free or corruption", segfaults, NaN garbage),
# and must end the same way: the same error (type and message) or the same array (dtype, shape, bits).
HOSTILE = r'''
import json, os, sys
import numpy as np
from nnlearn.nn import kernels
from nnlearn.nn.layers import BatchNorm, MaxPool2D, ReLU

def outcome(run):
    try:
        out = run()
    except Exception as exc:
        return ["error", type(exc).__name__, str(exc)]
    return ["array", str(out.dtype), list(out.shape), out.tobytes().hex()]

def pool(batch, dY, x_dtype="float32"):
    def run():
        X = np.random.default_rng(0).standard_normal((batch, 3, 8, 8)).astype(x_dtype)
        layer = MaxPool2D(2)
        layer.forward(X, True)
        return layer.backward(dY)
    return run

def relu(a_shape, a_dtype, dA):
    def run():
        layer = ReLU()
        layer.forward(np.ones(a_shape, a_dtype))
        return layer.backward(dA)
    return run

def col2im(dcols, padded, work):
    return lambda: kernels.col2im(dcols, padded, (2, 2), (1, 1), (2, 2),
                                  work=None if work is None else work.copy())

def batchnorm(dY, x_shape=(4, 3, 5, 5), dtype="float32"):
    def run():
        layer = BatchNorm(3)
        layer.forward(np.random.default_rng(1).standard_normal(x_shape).astype(dtype), True)
        return layer.backward(dY)
    return run

def bn_kernel(name, *args):
    return lambda: np.asarray(getattr(kernels, name)(*args))

f4 = np.float32
X3 = np.random.default_rng(2).standard_normal((4, 3, 25)).astype(f4)
c64 = np.ones(3)
cases = {
    "batch norm: a larger batch's gradient": batchnorm(np.ones((5, 3, 5, 5), f4)),
    "batch norm: longer maps": batchnorm(np.ones((4, 3, 6, 5), f4)),
    "batch norm: float64 gradient": batchnorm(np.ones((4, 3, 5, 5))),
    "batch norm: float16": batchnorm(np.ones((4, 3, 5, 5), np.float16), dtype="float16"),
    "batch norm: complex gradient": batchnorm(np.ones((4, 3, 5, 5), np.complex64)),
    "batch norm: centred squares, short means": bn_kernel("channel_centered_squares", X3, np.ones(2)),
    "batch norm: centred squares, float32 means": bn_kernel("channel_centered_squares", X3, np.ones(3, f4)),
    "batch norm: normalise, short γ": bn_kernel("batchnorm_normalize", X3, c64, c64, np.ones(2, f4),
                                               np.ones(3, f4)),
    "batch norm: normalise, long s": bn_kernel("batchnorm_normalize", X3, c64, np.ones(4), np.ones(3, f4),
                                              np.ones(3, f4)),
    "batch norm: gradient sums, small x̂": bn_kernel("channel_grad_sums", X3, X3[:2]),
    "batch norm: ∂C/∂X, short sums": bn_kernel("batchnorm_input_grad", X3, X3, c64, 100, np.ones(2), c64),
    "batch norm: ∂C/∂X, small x̂": bn_kernel("batchnorm_input_grad", X3, X3[:, :, :5], c64, 100, c64, c64),
    "pool: the issue's batch 3 after batch 2": pool(2, np.ones((3, 3, 4, 4), f4)),
    "pool: batch 2001 after batch 2000": pool(2000, np.ones((2001, 3, 4, 4), f4)),
    "pool: batch 2 after batch 1": pool(1, np.ones((2, 3, 4, 4), f4)),
    "pool: batch 1 after batch 2 (broadcast)": pool(2, np.ones((1, 3, 4, 4), f4)),
    "pool: a 3-D gradient": pool(2, np.ones((3, 4, 4), f4)),
    "pool: too few channels": pool(2, np.ones((2, 2, 4, 4), f4)),
    "pool: a strided gradient": pool(2, np.ones((2, 3, 4, 8), f4)[..., ::2]),
    "pool: float64 gradient": pool(2, np.arange(96.0).reshape(2, 3, 4, 4)),
    "pool: float16 gradient": pool(2, np.ones((2, 3, 4, 4), np.float16)),
    "pool: complex gradient": pool(2, np.ones((2, 3, 4, 4), np.complex64) * 1j),
    "pool: bool gradient": pool(2, np.ones((2, 3, 4, 4), bool)),
    "pool: int gradient": pool(2, np.ones((2, 3, 4, 4), np.int32)),
    "pool: float16 input": pool(2, np.ones((2, 3, 4, 4), np.float16), "float16"),
    "relu: the issue's one row after 400": relu((400, 16384), f4, np.ones((1, 16384), f4)),
    "relu: fewer columns": relu((400, 16384), f4, np.ones((400, 16383), f4)),
    "relu: more rows": relu((400, 16384), f4, np.ones((401, 16384), f4)),
    "relu: float32 gradient, float64 outputs": relu((40, 16384), np.float64, np.ones((40, 16384), f4)),
    "relu: float64 gradient, float32 outputs": relu((40, 16384), f4, np.ones((40, 16384))),
    "relu: float16": relu((40, 16384), np.float16, np.ones((40, 16384), np.float16)),
    "relu: complex gradient": relu((40, 16384), f4, np.ones((40, 16384), np.complex64)),
    "relu: bool gradient": relu((40, 16384), f4, np.ones((40, 16384), bool)),
    "col2im: a small work array": col2im(np.ones((8, 8), f4), (2, 2, 3, 3), np.zeros((2, 2, 2, 2), f4)),
    "col2im: a work array of another dtype": col2im(np.ones((8, 8), f4), (2, 2, 3, 3), np.zeros((2, 3, 3, 2))),
    "col2im: a strided work array": col2im(np.ones((8, 8), f4), (2, 2, 3, 3),
                                           np.zeros((2, 3, 3, 4), f4)[..., ::2]),
    "col2im: too few columns": col2im(np.ones((8, 7), f4), (2, 2, 3, 3), None),
    "col2im: a 1-D gradient": col2im(np.ones(64, f4), (2, 2, 3, 3), None),
    "col2im: windows beyond the input": col2im(np.ones((8, 8), f4), (2, 2, 2, 2), None),
    "col2im: float16": col2im(np.ones((8, 8), np.float16), (2, 2, 3, 3), None),
}
results = {}
for name, run in cases.items():
    for which in ("compiled", "reference"):
        os.environ[kernels.KERNELS_ENV] = which
        results.setdefault(name, {})[which] = outcome(run)
        print(name, which, "done", file=sys.stderr, flush=True)
print(json.dumps(results))
'''


@needs_numba
def test_compiled_kernels_handle_hostile_inputs_as_their_references_do():
    done = subprocess.run([sys.executable, "-c", HOSTILE], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"the child died (code {done.returncode}) after:\n{done.stderr[-2000:]}"
    results = json.loads(done.stdout)
    assert len(results) == 40
    differ = {name: r for name, r in results.items() if r["compiled"] != r["reference"]}
    assert not differ, differ
    # the crashes now raise the reference's error; its wrong dtype is the reference's
    assert results["pool: the issue's batch 3 after batch 2"]["compiled"][:2] == ["error", "ValueError"]
    assert results["relu: float32 gradient, float64 outputs"]["compiled"][1] == "float32"
    assert results["pool: bool gradient"]["compiled"][:2] == ["error", "TypeError"]


@needs_numba
def test_the_checks_keep_the_compiled_loops_for_well_formed_inputs(monkeypatch):
    calls = []
    real = kernels._compiled()
    monkeypatch.setattr(kernels, "_compiled", lambda: SimpleNamespace(**{
        name: (lambda *a, _f=getattr(real, name), _n=name: calls.append(_n) or _f(*a))
        for name in kernels.LOOPS}))
    layer = MaxPool2D(2)
    layer.forward(np.ones((2, 3, 8, 8), np.float32), True)
    layer.backward(np.ones((2, 3, 4, 4), np.float32)[:, :, :, :])
    relu = ReLU()
    stored_batch_last = np.ones((2, 64, 64, 4)).transpose(3, 0, 1, 2)  # forward compiles these only
    relu.forward(stored_batch_last)
    relu.backward(np.ones((2, 64, 64, 4)).transpose(3, 0, 1, 2))
    kernels.col2im(np.ones((8, 8), np.float32), (2, 2, 3, 3), (2, 2), (1, 1), (2, 2))
    assert calls == ["max_pool_2x2_forward", "max_pool_2x2_backward", "relu_forward", "relu_backward",
                     "columns_image"]
