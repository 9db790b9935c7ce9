"""Tests for nnlearn.data.augment: shifts, rotations, elastic distortions, expansion."""

from __future__ import annotations

import numpy as np
import pytest

from nnlearn.data.augment import (Augmenter, ElasticDistortion, RandomRotation, RandomShift,
                             elastic_distort, expand, expand_shifts, gaussian_smooth, rotate,
                             shift)
from nnlearn.errors import ConfigError, DataError


def _digits(n: int = 6, side: int = 28, seed: int = 0) -> np.ndarray:
    """Blobby images in [0, 1] that stay clear of the border (like MNIST digits)."""
    rng = np.random.default_rng(seed)
    I, J = np.mgrid[:side, :side]
    out = np.zeros((n, side, side), dtype=np.float32)
    for k in range(n):
        for _ in range(3):
            cy, cx = rng.uniform(side * 0.35, side * 0.65, 2)
            out[k] += np.exp(-((I - cy) ** 2 + (J - cx) ** 2) / (2 * rng.uniform(1.5, 3.0) ** 2))
    return np.clip(out, 0, 1).reshape(n, side * side)


def _naive_rotate(img: np.ndarray, degrees: float) -> np.ndarray:
    """Loop reference: inverse-map every output pixel, bilinear with zero outside."""
    H, W = img.shape
    t = np.deg2rad(degrees)
    out = np.zeros_like(img, dtype=np.float64)
    for i in range(H):
        for j in range(W):
            u, v = i - (H - 1) / 2, j - (W - 1) / 2
            sy = (H - 1) / 2 + u * np.cos(t) + v * np.sin(t)
            sx = (W - 1) / 2 + v * np.cos(t) - u * np.sin(t)
            y0, x0 = int(np.floor(sy)), int(np.floor(sx))
            for yy, wy in ((y0, 1 - (sy - y0)), (y0 + 1, sy - y0)):
                for xx, wx in ((x0, 1 - (sx - x0)), (x0 + 1, sx - x0)):
                    if 0 <= yy < H and 0 <= xx < W:
                        out[i, j] += wy * wx * img[yy, xx]
    return out


# -- shifts -------------------------------------------------------------------
@pytest.mark.parametrize("layout", [(784,), (28, 28), (1, 28, 28)])
def test_expand_shifts_moves_a_known_pixel_exactly(layout):
    X = np.zeros((2, 28, 28), dtype=np.float32)
    X[0, 10, 20] = 0.7
    X[1, 0, 0] = 1.0                       # a corner pixel: shifted out on two sides
    y = np.array([3, 8])
    X5, y5 = expand_shifts(X.reshape((2,) + layout), y)
    assert X5.shape == (10,) + layout and X5.dtype == np.float32
    np.testing.assert_array_equal(y5, [3, 8] * 5)
    imgs = X5.reshape(10, 28, 28)
    expected = {0: (10, 20), 2: (9, 20), 4: (11, 20), 6: (10, 19), 8: (10, 21)}  # orig, up, down, left, right
    for row, (i, j) in expected.items():
        assert imgs[row, i, j] == np.float32(0.7) and np.count_nonzero(imgs[row]) == 1
    np.testing.assert_array_equal(imgs[1], X[1])
    assert np.count_nonzero(imgs[[3, 7]]) == 0          # corner pixel shifted up / left: gone
    assert imgs[5, 1, 0] == 1.0 and imgs[9, 0, 1] == 1.0


def test_expand_shifts_count_and_integer_pixels():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 256, size=(50, 16), dtype=np.uint8)
    y = rng.integers(0, 10, 50)
    X5, y5 = expand_shifts(X, y)
    assert X5.shape == (250, 16) and X5.dtype == np.uint8 and y5.shape == (250,)
    np.testing.assert_array_equal(X5[:50], X)
    np.testing.assert_array_equal(X5[50:100].reshape(50, 4, 4)[:, :3], X.reshape(50, 4, 4)[:, 1:])
    np.testing.assert_array_equal(X5[50:100].reshape(50, 4, 4)[:, 3], 0)
    Y = np.eye(10)[y]                                    # one-hot targets are repeated too
    assert expand_shifts(X, Y)[1].shape == (250, 10)


def test_shift_general_offsets_and_fill():
    X = np.arange(16, dtype=np.float64).reshape(1, 4, 4)
    out = shift(X, 2, -1, fill=-1.0)
    expected = np.full((4, 4), -1.0)
    expected[2:, :3] = X[0, :2, 1:]
    np.testing.assert_array_equal(out[0], expected)
    np.testing.assert_array_equal(shift(X, 4, 0), 0.0)


def test_random_shift_is_a_one_pixel_shift_per_image():
    X = _digits(40, seed=2)
    out = RandomShift(1)(X, np.random.default_rng(3))
    seen = set()
    for k in range(40):
        matches = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                   if np.array_equal(out[k], shift(X[k:k + 1], dy, dx)[0])]
        assert matches, k
        seen.add(matches[0])
    assert len(seen) >= 6                   # offsets vary between images
    np.testing.assert_array_equal(RandomShift(0)(X, 0), X)


# -- rotations --------------------------------------------------------------------
def test_rotation_by_zero_is_identity_and_small_angle_keeps_mass():
    X = _digits(8)
    np.testing.assert_array_equal(rotate(X, 0.0), X)
    out = rotate(X, 8.0)
    assert out.shape == X.shape and out.dtype == np.float32
    assert not np.allclose(out, X, atol=1e-2)
    np.testing.assert_allclose(out.sum(axis=1), X.sum(axis=1), rtol=0.01)


def test_rotation_by_90_degrees_is_rot90_counter_clockwise():
    rng = np.random.default_rng(4)
    X = rng.random((3, 1, 5, 5))
    np.testing.assert_allclose(rotate(X, 90.0), np.rot90(X, 1, axes=(2, 3)), atol=1e-12)
    np.testing.assert_allclose(rotate(X, -90.0), np.rot90(X, -1, axes=(2, 3)), atol=1e-12)


def test_rotation_matches_loop_reference_per_image_angles():
    X = _digits(3, side=12, seed=5).reshape(3, 12, 12).astype(np.float64)
    angles = np.array([-13.0, 4.5, 30.0])
    out = rotate(X, angles)
    for k in range(3):
        np.testing.assert_allclose(out[k], _naive_rotate(X[k], angles[k]), atol=1e-12)


def test_random_rotation_range_and_determinism():
    X = _digits(20)
    a = RandomRotation(10)(X, np.random.default_rng(7))
    b = RandomRotation(10)(X, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    assert a.min() >= 0.0 and a.max() <= 1.0
    angles = np.random.default_rng(7).uniform(-10, 10, 20)
    np.testing.assert_array_equal(a, rotate(X, angles))


# -- elastic distortions -------------------------------------------------------------
def _naive_smooth(F: np.ndarray, sigma: float, truncate: float = 4.0) -> np.ndarray:
    """2-D convolution with the full (outer-product) Gaussian kernel, mirror padding."""
    r = int(truncate * sigma + 0.5)
    t = np.arange(-r, r + 1)
    k = np.exp(-0.5 * (t / sigma) ** 2)
    K = np.outer(k, k) / k.sum() ** 2
    P = np.pad(F, r, mode="symmetric")
    out = np.zeros_like(F)
    for i in range(F.shape[0]):
        for j in range(F.shape[1]):
            out[i, j] = (K * P[i:i + 2 * r + 1, j:j + 2 * r + 1]).sum()
    return out


@pytest.mark.parametrize("sigma", [0.7, 1.5])
def test_gaussian_smooth_matches_2d_convolution(sigma):
    F = np.random.default_rng(8).uniform(-1, 1, (3, 9, 11))
    out = gaussian_smooth(F, sigma)
    for k in range(3):
        np.testing.assert_allclose(out[k], _naive_smooth(F[k], sigma), atol=1e-12)
    np.testing.assert_allclose(gaussian_smooth(np.full((1, 6, 6), 2.5), 4.0), 2.5, rtol=1e-12)
    assert gaussian_smooth(F, 0.0) is F


def test_elastic_alpha_zero_is_identity_and_output_in_range():
    X = _digits(10)
    np.testing.assert_array_equal(elastic_distort(X, 0, alpha=0.0), X)
    out = elastic_distort(X, 1, alpha=34.0, sigma=4.0)
    assert out.shape == X.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert np.abs(out - X).max() > 0.1                        # visibly distorted


def test_elastic_displacement_is_alpha_times_smoothed_uniform_field():
    """On a ramp image I[i, j] = j bilinear sampling is exact, so out − I reads off α·Δx_s."""
    n, H, W, alpha, sigma = 3, 20, 24, 8.0, 3.0
    ramp = np.broadcast_to(np.arange(W, dtype=np.float64), (n, H, W))
    out = elastic_distort(ramp, np.random.default_rng(14), alpha=alpha, sigma=sigma)
    field = np.random.default_rng(14).uniform(-1, 1, (2 * n, H, W))
    dy, dx = (alpha * gaussian_smooth(field, sigma))[:n], (alpha * gaussian_smooth(field, sigma))[n:]
    I, J = np.mgrid[:H, :W]
    inside = (I + dy >= 0) & (I + dy <= H - 1) & (J + dx >= 0) & (J + dx <= W - 1)
    assert inside.mean() > 0.8
    np.testing.assert_allclose((out - ramp)[inside], dx[inside], atol=1e-9)
    assert 0.1 < dx.std() < 2.0                               # a real, moderate displacement


def test_elastic_is_deterministic_given_seed_and_varies_otherwise():
    X = _digits(5)
    t = ElasticDistortion(alpha=20.0, sigma=3.0)
    np.testing.assert_array_equal(t(X, np.random.default_rng(9)), t(X, np.random.default_rng(9)))
    assert not np.array_equal(t(X, np.random.default_rng(9)), t(X, np.random.default_rng(10)))
    rng = np.random.default_rng(11)
    assert not np.array_equal(t(X, rng), t(X, rng))           # a new field every epoch


def test_channels_share_one_transform_per_image():
    X1 = _digits(4).reshape(4, 1, 28, 28)
    X3 = np.concatenate([X1, 0.5 * X1, X1[:, :, ::-1]], axis=1)
    out = elastic_distort(X3, 12, alpha=30.0, sigma=4.0)
    ref = elastic_distort(X1, 12, alpha=30.0, sigma=4.0)
    np.testing.assert_allclose(out[:, :1], ref, atol=1e-6)
    np.testing.assert_allclose(out[:, 1:2], 0.5 * ref, atol=1e-6)


# -- composition and expansion --------------------------------------------------------
def test_augmenter_composes_in_order_with_one_generator():
    X = _digits(6)
    aug = Augmenter(RandomRotation(10), ElasticDistortion(30, 4))
    rng = np.random.default_rng(12)
    manual = ElasticDistortion(30, 4)(RandomRotation(10)(X, rng), rng)
    np.testing.assert_array_equal(aug(X, np.random.default_rng(12)), manual)
    assert Augmenter()(X, 0) is X


def test_expand_precomputes_copies_with_repeated_labels():
    X, y = _digits(6), np.arange(6)
    X3, y3 = expand(X, y, RandomShift(1), copies=2, rng=13)
    assert X3.shape == (18, 784)
    np.testing.assert_array_equal(X3[:6], X)
    np.testing.assert_array_equal(y3, np.tile(y, 3))


def test_bad_input():
    with pytest.raises(DataError, match="not square"):
        rotate(np.zeros((2, 10)), 5.0)
    assert rotate(np.ones((2, 10)), 0.0, image_shape=(2, 5)).shape == (2, 10)
    with pytest.raises(DataError, match=r"image_shape=\(3, 3\) has 9 pixels"):
        shift(np.zeros((2, 10)), 1, 0, image_shape=(3, 3))
    with pytest.raises(DataError, match=r"\(N, H\*W\), \(N, H, W\) or \(N, C, H, W\)"):
        RandomShift()(np.zeros(5), 0)
    with pytest.raises(DataError, match="one label per image"):
        expand_shifts(np.zeros((3, 4)), np.zeros(2))
    with pytest.raises(ConfigError, match="integer number of pixels"):
        shift(np.zeros((1, 4)), 0.5, 0)
    with pytest.raises(ConfigError, match="alpha"):
        ElasticDistortion(alpha=-1.0)
    with pytest.raises(ConfigError, match="max_shift"):
        RandomShift(-1)
    with pytest.raises(ConfigError, match="copies"):
        expand(np.zeros((2, 4)), np.zeros(2), RandomShift(), copies=0)
    with pytest.raises(ConfigError, match="rng must be"):
        RandomRotation()(np.zeros((2, 4)), "seed")
    with pytest.raises(ConfigError, match="not callable"):
        Augmenter(3)
