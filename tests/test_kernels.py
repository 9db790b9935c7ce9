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
from nnlearn.nn.layers.windows import tiles

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


@pytest.mark.parametrize("kind", ["random", "ties", "constant"])
@pytest.mark.parametrize("shape,pool,stride", CASES)
def test_plain_python_loops_match_the_reference(shape, pool, stride, kind):
    X, dY = _inputs(shape, pool, stride, "float64", kind)
    got = _loops(X, pool, stride, dY, kernels.max_pool_2x2_forward_loops,
                 kernels.max_pool_2x2_backward_loops)
    _compare(got, _reference(X, pool, stride, dY), pool, stride)


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


def test_without_numba_the_reference_runs_after_a_one_line_notice():
    code = ("import sys; sys.modules['numba'] = None\n"       # as if Numba were not installed
            "import numpy as np\n"
            "from nnlearn.nn import kernels\n"
            "from nnlearn.nn.layers import MaxPool2D\n"
            "Y = MaxPool2D(2).forward(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4))\n"
            "MaxPool2D(2).forward(np.zeros((1, 1, 4, 4), np.float32))\n"
            "print(kernels.implementation(), Y.ravel().tolist())\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
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
    kernels.col2im_loops(D.reshape(C, *kernel, *out_hw, N), *stride, dXt)
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


# -- untrusted inputs (issue 22, item 1) -----------------------------------------------------------
# Each case runs under both implementations in one child process (before the checks, the compiled
# loops read and wrote outside their arrays: "double free or corruption", segfaults, NaN garbage),
# and must end the same way: the same error (type and message) or the same array (dtype, shape, bits).
HOSTILE = r'''
import json, os, sys
import numpy as np
from nnlearn.nn import kernels
from nnlearn.nn.layers import MaxPool2D, ReLU

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

f4 = np.float32
cases = {
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
    assert len(results) == 28
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
    relu.forward(np.ones((2, kernels.RELU_MIN_SIZE)))
    relu.backward(np.ones((2, kernels.RELU_MIN_SIZE)))
    kernels.col2im(np.ones((8, 8), np.float32), (2, 2, 3, 3), (2, 2), (1, 1), (2, 2))
    assert calls == ["max_pool_2x2_forward", "max_pool_2x2_backward", "relu_backward", "col2im"]
