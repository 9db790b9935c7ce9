"""Pooling and Flatten: naive loop references, ties, gradient checks, shapes and errors."""

from __future__ import annotations

import numpy as np
import pytest

from nnlearn import ConfigError, DataError, gradcheck
from nnlearn.nn.layers import LAYER_TYPES
from nnlearn.nn.layers.pool import AvgPool2D, L2Pool2D, MaxPool2D
from nnlearn.nn.layers.reshape import Flatten


# -- naive references: one window at a time ----------------------------------------
def windows(X, pool, stride):
    (ph, pw), (sh, sw) = pool, stride
    N, C, H, W = X.shape
    for n in range(N):
        for c in range(C):
            for y in range((H - ph) // sh + 1):
                for x in range((W - pw) // sw + 1):
                    yield n, c, y, x, X[n, c, y * sh:y * sh + ph, x * sw:x * sw + pw]


def naive_pool(kind, X, dY, pool, stride):
    """Forward output and ∂C/∂X for a given upstream gradient, window by window."""
    (ph, pw), (sh, sw) = pool, stride
    N, C, H, W = X.shape
    Y = np.zeros((N, C, (H - ph) // sh + 1, (W - pw) // sw + 1))
    dX = np.zeros_like(X)
    for n, c, y, x, win in windows(X, pool, stride):
        rows, cols = slice(y * sh, y * sh + ph), slice(x * sw, x * sw + pw)
        if kind == "max":
            Y[n, c, y, x] = win.max()
            i, j = divmod(int(np.argmax(win)), pw)  # first max in row-major order
            dX[n, c, y * sh + i, x * sw + j] += dY[n, c, y, x]
        elif kind == "avg":
            Y[n, c, y, x] = win.mean()
            dX[n, c, rows, cols] += dY[n, c, y, x] / (ph * pw)
        else:
            norm = np.sqrt((win ** 2).sum())
            Y[n, c, y, x] = norm
            if norm > 0:
                dX[n, c, rows, cols] += dY[n, c, y, x] * win / norm
    return Y, dX


LAYERS = {"max": MaxPool2D, "avg": AvgPool2D, "l2": L2Pool2D}
GEOMETRIES = [
    # (N, C, H, W), pool_size, stride
    ((2, 3, 4, 6), 2, None),           # non-overlapping, dividing
    ((2, 2, 7, 5), 2, None),           # not dividing: last row/column dropped (floor)
    ((1, 3, 7, 8), 3, 2),              # overlapping
    ((2, 2, 6, 7), (2, 3), (1, 2)),    # non-square window, overlapping rows
    ((2, 1, 5, 9), (3, 2), (3, 2)),    # non-square, non-overlapping, not dividing
    ((1, 2, 8, 8), 2, 3),              # gaps between windows
    ((2, 2, 3, 3), 3, None),           # one window covers everything
]


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("shape,pool,stride", GEOMETRIES)
def test_matches_naive_reference(kind, shape, pool, stride):
    rng = np.random.default_rng(0)
    layer = LAYERS[kind](pool, stride)
    X = rng.standard_normal(shape)
    Y = layer.forward(X, training=True)
    dY = rng.standard_normal(Y.shape)
    Y_ref, dX_ref = naive_pool(kind, X, dY, layer.pool_size, layer.stride)
    assert Y.shape == Y_ref.shape == (shape[0],) + layer.output_shape(shape[1:])
    np.testing.assert_allclose(Y, Y_ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(layer.backward(dY), dX_ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("shape,pool,stride", [((2, 3, 5, 7), 2, None),
                                               ((1, 2, 7, 6), (3, 2), (2, 1))])
def test_gradcheck(kind, shape, pool, stride):
    X = np.random.default_rng(1).standard_normal(shape)
    result = gradcheck(LAYERS[kind](pool, stride), X)
    assert set(result.errors) == {"X"}
    assert result.max_error < 1e-6, result


@pytest.mark.parametrize("stride", [None, 1])
def test_max_pool_ties_go_to_the_first_maximum(stride):
    X = np.array([[[[1.0, 3.0, 3.0, 0.0],
                    [3.0, 2.0, 3.0, 3.0],
                    [5.0, 5.0, 4.0, 4.0],
                    [5.0, 5.0, 4.0, 4.0]]]])
    layer = MaxPool2D(2, stride)
    Y = layer.forward(X, training=True)
    dY = np.arange(1.0, Y.size + 1).reshape(Y.shape)
    dX = layer.backward(dY)
    if stride is None:  # windows [[1,3],[3,2]] [[3,0],[3,3]] [[5,5],[5,5]] [[4,4],[4,4]]
        np.testing.assert_array_equal(Y[0, 0], [[3, 3], [5, 4]])
        np.testing.assert_array_equal(dX[0, 0], [[0, 1, 2, 0],
                                                 [0, 0, 0, 0],
                                                 [3, 0, 4, 0],
                                                 [0, 0, 0, 0]])
    else:  # overlapping 3×3 grid of windows: each sends its gradient to its first max
        _, dX_ref = naive_pool("max", X, dY, (2, 2), (1, 1))
        np.testing.assert_array_equal(dX, dX_ref)
        assert dX[0, 0, 2, 0] == 4 + 7 and dX[0, 0, 0, 1] == 1 + 2
    assert dX.sum() == dY.sum()  # every output's gradient goes to exactly one pixel


def test_max_pool_constant_image_routes_each_window_once():
    layer = MaxPool2D(2)
    layer.forward(np.full((1, 2, 4, 4), 7.0), training=True)
    dX = layer.backward(np.ones((1, 2, 2, 2)))
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1
    np.testing.assert_array_equal(dX[0, 1], expected)


def test_l2_pool_of_a_zero_window_has_zero_gradient_and_no_warning():
    X = np.zeros((1, 1, 4, 4))
    X[0, 0, 0, 0], X[0, 0, 0, 1] = 3.0, 4.0
    layer = L2Pool2D(2)
    Y = layer.forward(X, training=True)
    np.testing.assert_array_equal(Y[0, 0], [[5, 0], [0, 0]])
    dX = layer.backward(np.ones_like(Y))
    np.testing.assert_allclose(dX[0, 0, 0, :2], [0.6, 0.8])
    assert np.count_nonzero(dX) == 2


def test_average_and_l2_pool_values():
    X = np.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(AvgPool2D(2).forward(X)[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    np.testing.assert_allclose(L2Pool2D(2).forward(X)[0, 0, 0, 0], np.sqrt(0 + 1 + 16 + 25))


def test_float32_stays_float32():
    X = np.random.default_rng(0).random((2, 3, 6, 6), dtype=np.float32)
    for cls in LAYERS.values():
        layer = cls(2)
        Y = layer.forward(X, training=True)
        assert Y.dtype == np.float32
        assert layer.backward(np.ones_like(Y)).dtype == np.float32


# -- shapes, errors, config ----------------------------------------------------------
def test_output_shapes():
    assert MaxPool2D(2).output_shape((20, 24, 24)) == (20, 12, 12)
    assert MaxPool2D(2).output_shape((3, 5, 7)) == (3, 2, 3)
    assert AvgPool2D(3, 2).output_shape((1, 7, 8)) == (1, 3, 3)
    assert L2Pool2D((2, 3), (1, 2)).output_shape((2, 6, 7)) == (2, 5, 3)


@pytest.mark.parametrize("args,match", [
    ((0,), "pool_size"), (((2, 0),), "pool_size"), ((2.0,), "pool_size"), (("2",), "pool_size"),
    ((2, 0), "stride"), ((2, -1), "stride"), ((2, (1, 2, 3)), "stride"),
])
def test_bad_configuration(args, match):
    for cls in LAYERS.values():
        with pytest.raises(ConfigError, match=match):
            cls(*args)


def test_impossible_inputs():
    with pytest.raises(DataError, match=r"window 3×3 is larger than its input 2×5"):
        MaxPool2D(3).output_shape((4, 2, 5))
    with pytest.raises(DataError, match=r"\(C, H, W\)"):
        AvgPool2D(2).output_shape((16,))
    with pytest.raises(DataError, match="4-D"):
        L2Pool2D(2).forward(np.zeros((3, 4, 4)))
    with pytest.raises(DataError, match="larger than its input"):
        MaxPool2D(5).forward(np.zeros((1, 1, 4, 6)))
    with pytest.raises(RuntimeError, match="before forward"):
        MaxPool2D(2).backward(np.zeros((1, 1, 1, 1)))


def test_config_round_trip_and_registry():
    for cls in LAYERS.values():
        layer = cls((2, 3), (1, 2))
        assert LAYER_TYPES[cls.__name__] is cls
        clone = cls(**layer.config())
        assert (clone.pool_size, clone.stride) == ((2, 3), (1, 2))
    assert MaxPool2D(3).config() == {"pool_size": [3, 3], "stride": [3, 3]}


# -- Flatten ---------------------------------------------------------------------------
def test_flatten_forward_backward():
    X = np.arange(2 * 3 * 2 * 4.0).reshape(2, 3, 2, 4)
    layer = Flatten()
    Y = layer.forward(X, training=True)
    assert Y.shape == (2, 24)
    np.testing.assert_array_equal(Y[1], X[1].ravel())
    dY = np.random.default_rng(0).standard_normal(Y.shape)
    dX = layer.backward(dY)
    assert dX.shape == X.shape
    np.testing.assert_array_equal(dX[1, 2, 1], dY[1, 2 * 8 + 4:2 * 8 + 8])
    assert layer.backward(dY, need_dx=False) is None
    X = np.random.default_rng(1).standard_normal((3, 2, 3, 5))
    assert gradcheck(Flatten(), X).max_error < 1e-6


def test_flatten_shapes_and_errors():
    assert Flatten().output_shape((40, 4, 4)) == (640,)
    assert Flatten().output_shape((7,)) == (7,)
    assert LAYER_TYPES["Flatten"] is Flatten and Flatten().config() == {}
    with pytest.raises(DataError, match="at least one dimension"):
        Flatten().output_shape(())
    with pytest.raises(DataError, match="at least 2 dimensions"):
        Flatten().forward(np.zeros(5))
    with pytest.raises(RuntimeError, match="before forward"):
        Flatten().backward(np.zeros((1, 4)))
