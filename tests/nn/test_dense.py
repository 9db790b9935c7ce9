"""Dense layer: gradients against finite differences, shapes and errors."""

import numpy as np
import pytest

from nnlearn import ConfigError, DataError, Dense, gradcheck


@pytest.mark.parametrize("n, n_in, n_out", [(1, 1, 1), (4, 3, 2), (7, 10, 5), (3, 1, 6),
                                            (3, 4, 100), (17, 4, 100)])  # ∂C/∂X both ways round
def test_dense_gradcheck(n, n_in, n_out):
    layer = Dense(n_in, n_out, dtype="float64", seed=n + n_in)
    X = np.random.default_rng(0).standard_normal((n, n_in))
    result = gradcheck(layer, X)
    assert set(result.errors) == {"X", "W", "b"}
    assert result.max_error < 1e-6, result


@pytest.mark.parametrize("rows", [1, 10, 16, 17, 64])
@pytest.mark.parametrize("n_out", [99, 100, 1000])
def test_dense_dx_is_delta_times_w_transposed_whichever_way_it_is_computed(rows, n_out):
    """Small minibatches through wide layers compute ∂C/∂X = δWᵀ as (Wδᵀ)ᵀ
    (``TRANSPOSED_DX_ROWS``, ``TRANSPOSED_DX_WIDTH``): the same values to float32 rounding
    as the plain product, returned C-contiguous like it."""
    rng = np.random.default_rng(rows)
    layer = Dense(64, n_out, seed=rows)
    layer.forward(rng.standard_normal((rows, 64), dtype=np.float32))
    delta = rng.standard_normal((rows, n_out), dtype=np.float32)
    dX = layer.backward(delta)
    reference = delta.astype(np.float64) @ layer.params["W"].T.astype(np.float64)
    assert dX.dtype == np.float32 and dX.shape == (rows, 64) and dX.flags.c_contiguous
    np.testing.assert_allclose(dX, reference, rtol=1e-4, atol=1e-4)


def test_dense_forward_is_affine_map():
    layer = Dense(3, 2, dtype="float64", seed=0)
    layer.params["W"][...] = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    layer.params["b"][...] = [0.5, -1.0]
    Y = layer.forward(np.array([[1.0, 0.0, -1.0]]))
    np.testing.assert_array_equal(Y, [[1 - 5 + 0.5, 2 - 6 - 1.0]])


def test_dense_backward_writes_not_accumulates():
    layer = Dense(3, 2, dtype="float64", seed=0)
    X = np.ones((2, 3))
    layer.forward(X)
    layer.backward(np.ones((2, 2)))
    first = layer.grads["W"].copy()
    layer.forward(X)
    layer.backward(np.ones((2, 2)))
    np.testing.assert_array_equal(layer.grads["W"], first)


def test_gradcheck_detects_a_wrong_backward():
    class Broken(Dense):
        def backward(self, dY, need_dx=True):
            dX = super().backward(dY, need_dx)
            self.grads["W"] *= 1.01  # a 1% error must be caught
            return dX

    layer = Broken(4, 3, dtype="float64", seed=1)
    result = gradcheck(layer, np.random.default_rng(1).standard_normal((5, 4)))
    assert result.errors["W"] > 1e-3
    assert result.errors["X"] < 1e-6


def test_dense_float32_by_default_and_float64_on_request():
    assert Dense(2, 2).params["W"].dtype == np.float32
    assert Dense(2, 2, dtype="float64").params["b"].dtype == np.float64


def test_initialisers_have_the_book_variances():
    big = Dense(400, 300, weight_init="normal", seed=0)
    assert abs(big.params["W"].std() - 1.0) < 0.01
    scaled = Dense(400, 300, weight_init="normal_fan_in", seed=0)
    assert abs(scaled.params["W"].std() - 1 / 20) < 0.001
    assert abs(scaled.params["b"].std() - 1.0) < 0.15  # biases N(0, 1) as in the book


@pytest.mark.parametrize("args", [(0, 3), (3, -1), (2.5, 3), (True, 3)])
def test_dense_rejects_bad_sizes(args):
    with pytest.raises(ConfigError, match="positive integer"):
        Dense(*args)


def test_dense_rejects_unknown_initialiser():
    with pytest.raises(ConfigError, match="unknown initialiser 'uniformish'.*normal"):
        Dense(2, 2, weight_init="uniformish")


def test_dense_output_shape_mismatch():
    with pytest.raises(DataError, match="width 3"):
        Dense(3, 2).output_shape((4,))
