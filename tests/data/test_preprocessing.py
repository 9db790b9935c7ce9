"""Tests for nnlearn.data.preprocessing: centring, standardisation, PCA, PCA/ZCA whitening."""

from __future__ import annotations

import numpy as np
import pytest

from nnlearn.errors import ConfigError, DataError, ModelFileError
from nnlearn.data.preprocessing import (PCA, PREPROCESSORS, MeanSubtraction, NotFittedError,
                                   PCAWhitening, Preprocessor, Standardize, ZCAWhitening,
                                   load_preprocessor, save_preprocessor)


def _correlated(n: int = 2000, d: int = 6, seed: int = 0, dtype=np.float64):
    """Correlated Gaussian data with very different scales and a non-zero mean."""
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    A = Q * np.linspace(0.5, 5.0, d) @ np.linalg.qr(rng.standard_normal((d, d)))[0]
    return (rng.standard_normal((n, d)) @ A + rng.uniform(-10, 10, d)).astype(dtype)


def _cov(Z):
    Z = np.asarray(Z, dtype=np.float64)
    Zc = Z - Z.mean(axis=0)
    return Zc.T @ Zc / Z.shape[0]


def test_mean_subtraction_centres_and_inverts():
    X = _correlated()
    t = MeanSubtraction().fit(X)
    np.testing.assert_allclose(t.mean, X.mean(axis=0), rtol=1e-12)
    Z = t.transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(t.inverse_transform(Z), X, rtol=1e-12, atol=1e-12)


def test_standardize_unit_variance_and_constant_features():
    rng = np.random.default_rng(1)
    X = np.zeros((500, 5), dtype=np.float32)          # columns 0 and 4: constant (MNIST borders)
    X[:, 1:4] = rng.normal([0.3, -2.0, 7.0], [0.1, 3.0, 0.001], size=(500, 3))
    X[:, 4] = 0.25
    t = Standardize()
    with np.errstate(all="raise"):                    # no division by zero, no invalid values
        Z = t.fit_transform(X)
    assert Z.dtype == np.float32 and np.isfinite(Z).all()
    np.testing.assert_allclose(Z[:, 1:4].std(axis=0), 1.0, rtol=1e-4)
    np.testing.assert_allclose(Z[:, 1:4].mean(axis=0), 0.0, atol=1e-4)
    np.testing.assert_array_equal(Z[:, [0, 4]], 0.0)
    np.testing.assert_array_equal(t.scale[[0, 4]], 1.0)
    # new data: the constant features are only centred, not blown up
    X_new = np.full((2, 5), 1.0, dtype=np.float32)
    np.testing.assert_allclose(t.transform(X_new)[:, [0, 4]], [[1.0, 0.75], [1.0, 0.75]])
    np.testing.assert_allclose(t.inverse_transform(Z), X, rtol=1e-5, atol=1e-5)


def test_standardize_min_std_leaves_near_constant_features_unscaled():
    rng = np.random.default_rng(2)
    X = np.c_[rng.normal(0, 1e-3, 100), rng.normal(0, 1, 100)]
    t = Standardize(min_std=0.01).fit(X)
    assert t.scale[0] == 1.0 and abs(t.scale[1] - X[:, 1].std()) < 1e-12


def test_transform_of_new_data_uses_training_statistics():
    X_train, X_test = _correlated(seed=3), _correlated(seed=4) * 2.0 + 1.0
    for t in (MeanSubtraction(), Standardize(), PCA(3), PCAWhitening(), ZCAWhitening()):
        t.fit(X_train)
        refit = type(t)(**t.config()).fit(X_test)
        Z = t.transform(X_test)
        assert not np.allclose(Z, refit.transform(X_test)), t
    t = Standardize().fit(X_train)
    np.testing.assert_allclose(t.transform(X_test),
                               (X_test - X_train.mean(axis=0)) / X_train.std(axis=0), rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("eps", [1e-5, 1e-2])
def test_whitened_training_data_has_identity_covariance(dtype, eps):
    X = _correlated(dtype=dtype)
    lam = np.linalg.eigvalsh(_cov(X))[::-1]
    # exact target diag(λ/(λ+ε)); distance from I is bounded by ε/(λ_min + ε)
    tol = eps / (lam[-1] + eps) + (1e-9 if dtype == np.float64 else 1e-5)
    assert lam[-1] > 0.1  # well conditioned: the ε-bound is tight enough to mean "≈ I"
    for t in (ZCAWhitening(eps=eps), PCAWhitening(eps=eps)):
        Z = t.fit_transform(X)
        assert Z.dtype == dtype and Z.shape == X.shape
        C = _cov(Z)
        assert np.abs(C - np.eye(6)).max() < tol, (t, np.abs(C - np.eye(6)).max())
        # the spectrum of the whitened covariance is exactly λ/(λ+ε)
        np.testing.assert_allclose(np.linalg.eigvalsh(C)[::-1], lam / (lam + eps),
                                   rtol=1e-8 if dtype == np.float64 else 5e-4)
        np.testing.assert_allclose(t.inverse_transform(Z), X, rtol=1e-4, atol=1e-3)


def test_zca_is_symmetric_and_closest_to_input():
    X = _correlated(seed=5)
    zca, pca = ZCAWhitening().fit(X), PCAWhitening().fit(X)
    np.testing.assert_allclose(zca._W, zca._W.T, atol=1e-12)
    Xc = X - X.mean(axis=0)
    # ZCA is the whitening that changes the (centred) data least (Kessy et al. 2018)
    assert (np.linalg.norm(zca.transform(X) - Xc) < np.linalg.norm(pca.transform(X) - Xc))


def test_pca_recovers_low_rank_structure():
    rng = np.random.default_rng(6)
    basis = np.linalg.qr(rng.standard_normal((10, 3)))[0]          # orthonormal 3-D subspace
    X = (rng.standard_normal((1000, 3)) * [5.0, 3.0, 2.0]) @ basis.T + 4.0
    X_noisy = X + 1e-3 * rng.standard_normal(X.shape)
    pca = PCA(3).fit(X_noisy)
    # the components span the true subspace: projecting the basis onto them loses nothing
    P = pca.components.T @ pca.components
    np.testing.assert_allclose(P @ basis, basis, atol=1e-4)
    np.testing.assert_allclose(pca.components @ pca.components.T, np.eye(3), atol=1e-12)
    assert pca.explained_variance_ratio.sum() > 0.9999
    assert np.all(np.diff(pca.explained_variance) <= 0)
    Z = pca.transform(X_noisy)
    assert Z.shape == (1000, 3)
    np.testing.assert_allclose(pca.inverse_transform(Z), X, atol=1e-2)
    # variances of the scores are the top eigenvalues
    np.testing.assert_allclose(Z.var(axis=0), pca.explained_variance, rtol=1e-10)


def test_pca_explained_variance_ratio_matches_eigenvalues():
    X = _correlated(seed=7)
    lam = np.linalg.eigvalsh(_cov(X))[::-1]
    pca = PCA(2).fit(X)
    np.testing.assert_allclose(pca.explained_variance_ratio, lam[:2] / lam.sum(), rtol=1e-10)


def test_images_are_flattened_and_shape_kept():
    rng = np.random.default_rng(8)
    X = rng.random((50, 1, 4, 4)).astype(np.float32)
    t = ZCAWhitening(eps=0.1).fit(X)
    Z = t.transform(X)
    assert Z.shape == X.shape and Z.dtype == np.float32
    assert PCA(5).fit_transform(X).shape == (50, 5)
    assert t.inverse_transform(Z.reshape(50, 16)).shape == X.shape
    u8 = (X * 255).astype(np.uint8)
    assert Standardize().fit_transform(u8).dtype == np.float64


def test_state_dict_round_trip_and_file(tmp_path):
    X = _correlated(seed=9, dtype=np.float32)
    for t in (MeanSubtraction(), Standardize(min_std=0.5), PCA(4), PCAWhitening(3, eps=0.01),
              ZCAWhitening(eps=0.1)):
        t.fit(X)
        state = t.state_dict()
        assert all(isinstance(v, np.ndarray) and v.dtype != object for v in state.values())
        again = Preprocessor.from_state_dict(state)
        assert type(again) is type(t) and again.config() == t.config()
        np.testing.assert_array_equal(again.transform(X), t.transform(X))
        path = tmp_path / f"{type(t).__name__}.npz"
        save_preprocessor(t, path)
        np.testing.assert_array_equal(load_preprocessor(path).transform(X), t.transform(X))
    assert set(PREPROCESSORS) == {"MeanSubtraction", "Standardize", "PCA", "PCAWhitening",
                                  "ZCAWhitening"}


def test_bad_state_and_files(tmp_path):
    state = PCA(2).fit(_correlated()).state_dict()
    with pytest.raises(ModelFileError, match="expected ZCAWhitening"):
        ZCAWhitening.from_state_dict(state)
    del state["components"]
    with pytest.raises(ModelFileError, match="components"):
        PCA.from_state_dict(state)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="not a saved preprocessor"):
        load_preprocessor(bad)


def test_errors():
    X = _correlated()
    for t in (MeanSubtraction(), Standardize(), PCA(2), PCAWhitening(), ZCAWhitening()):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            t.transform(X)
        with pytest.raises(NotFittedError):
            t.inverse_transform(X)
        t.fit(X)
        with pytest.raises(DataError, match=r"fitted on 6 features"):
            t.transform(X[:, :5])
    assert issubclass(NotFittedError, ConfigError)
    with pytest.raises(DataError, match="NaN or inf"):
        Standardize().fit(np.array([[1.0, np.nan], [2.0, 3.0]]))
    with pytest.raises(DataError, match="empty"):
        MeanSubtraction().fit(np.zeros((0, 3)))
    with pytest.raises(DataError, match=r"shape \(N, D\)"):
        MeanSubtraction().fit(np.zeros(3))
    with pytest.raises(DataError, match="numeric"):
        MeanSubtraction().fit(np.array([["a", "b"]]))
    with pytest.raises(ConfigError, match="k=7 components"):
        PCA(7).fit(X)
    with pytest.raises(ConfigError, match="positive integer"):
        PCA(0)
    with pytest.raises(ConfigError, match="needs k"):
        PCA(None)
    with pytest.raises(ConfigError, match="eps must be > 0"):
        ZCAWhitening(eps=0.0)
    with pytest.raises(ConfigError, match="min_std"):
        Standardize(min_std=-1.0)
    with pytest.raises(DataError, match="transform outputs 2"):
        PCA(2).fit(X).inverse_transform(np.zeros((3, 4)))
