r"""Preprocessing fitted on training data and applied to any data (CS231n, "Data preprocessing").

Every transformer learns its statistics from the training set only (``fit``) and
then applies those same statistics to training, validation and test data
(``transform``); fitting on the test set would leak it into the model.

Notation: ``X (N, D)`` rows are examples (image batches ``(N, ...)`` are flattened
to ``D`` features and, where the output width is ``D``, reshaped back)::

    μ   = (1/N) Σ_n x_n                        (D,)     feature means
    σ²  = (1/N) Σ_n (x_n − μ)²                 (D,)     feature variances
    Σ   = (1/N) (X − μ)ᵀ (X − μ) = U Λ Uᵀ      (D, D)   covariance, eigendecomposition,
                                                        λ_1 ≥ λ_2 ≥ … ≥ λ_D ≥ 0

    MeanSubtraction   X' = X − μ
    Standardize       X' = (X − μ) / s,     s = σ, or 1 where σ ≤ min_std (constant features)
    PCA(k)            X' = (X − μ) U_k                          (N, k)
    PCAWhitening      X' = (X − μ) U_k diag(1/√(λ_k + ε))       (N, k)
    ZCAWhitening      X' = (X − μ) U diag(1/√(λ + ε)) Uᵀ        (N, D)

Whitened training data has covariance ``diag(λ / (λ + ε))``: the identity up to
the ε, which keeps directions of (near-)zero variance from being blown up.

Numerics: statistics (means, covariance, eigendecomposition) are computed in
float64 whatever the input; ``transform`` returns the input's floating dtype
(integer input such as uint8 pixels becomes float64).

Fitted state is a dict of plain NumPy arrays (``state_dict``/``from_state_dict``),
saved by :func:`save_preprocessor` as an ``.npz`` loaded with ``allow_pickle=False``.

References: CS231n notes, "Neural Networks Part 2: Setting up the Data";
A. Kessy, A. Lewin, K. Strimmer, "Optimal whitening and decorrelation" (2018).
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy

from nnlearn import backend
from nnlearn.errors import ConfigError, DataError, ModelFileError
from nnlearn.files import NotARegularFileError, atomic_write, open_regular

__all__ = ["MeanSubtraction", "NotFittedError", "PCA", "PCAWhitening", "PREPROCESSORS",
           "Preprocessor", "Standardize", "ZCAWhitening", "load_preprocessor",
           "save_preprocessor"]


class NotFittedError(ConfigError):
    """A transformer was used before ``fit``."""


def _as_features(X, name: str = "X"):
    """``X`` as a finite 2-D array ``(N, D)`` plus its original per-example shape."""
    xp = backend.xp
    if not hasattr(X, "shape"):
        X = numpy.asarray(X)
    if X.dtype.kind not in "biuf":
        raise DataError(f"{name} must be a numeric array, got dtype {X.dtype}")
    if X.ndim < 2:
        raise DataError(f"{name} must have shape (N, D) or (N, ...) with one row per example, "
                        f"got shape {X.shape}")
    if X.shape[0] == 0:
        raise DataError(f"{name} is empty (shape {X.shape}); pass at least one example")
    X2 = xp.asarray(X).reshape(X.shape[0], -1)
    if X2.dtype.kind == "f" and not bool(xp.isfinite(X2).all()):
        raise DataError(f"{name} contains NaN or inf; clean or impute the data first")
    return X2, tuple(int(d) for d in X.shape[1:])


def _out_dtype(X):
    return X.dtype if X.dtype.kind == "f" else numpy.dtype("float64")


def _nonneg_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigError(f"{name} must be a non-negative number, got {value!r}")
    return float(value)


class Preprocessor:
    r"""Base class: ``fit`` on training data, then ``transform`` any data of the same width.

    Subclasses set ``_state_keys`` (the fitted arrays) and implement ``_fit(X64)``
    (float64 ``(N, D)``), ``_transform(X2)`` and, where invertible, ``_inverse(Z)``.
    """

    _state_keys: ClassVar[tuple[str, ...]] = ("mean",)
    preserves_width: ClassVar[bool] = True

    def __init__(self) -> None:
        self.feature_shape: tuple[int, ...] | None = None
        self.n_features: int | None = None
        self.mean = None

    # -- public API ----------------------------------------------------------
    def fit(self, X) -> "Preprocessor":
        """Learn the statistics of the training data ``X (N, D)`` or ``(N, ...)``; returns self."""
        X2, shape = _as_features(X, "X")
        self._check_fit_size(X2)
        Xc = X2.astype("float64")  # a copy, centred in place below
        mean = Xc.mean(axis=0)
        Xc -= mean
        self._fit(Xc)
        self.mean, self.feature_shape, self.n_features = mean, shape, int(X2.shape[1])
        return self

    def transform(self, X):
        """Apply the fitted statistics to ``X`` (same width as the training data)."""
        X2, _ = self._checked(X, "X")
        Z = self._transform(X2, _out_dtype(X2))
        return Z.reshape(X.shape) if self.preserves_width else Z

    def fit_transform(self, X):
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        """Map transformed data back to the input space (approximately, for k < D)."""
        self._require_fitted()
        Z2, _ = _as_features(Z, "Z")
        width = self._out_width()
        if Z2.shape[1] != width:
            raise DataError(f"Z has {Z2.shape[1]} features per example, but "
                            f"{type(self).__name__}.transform outputs {width}")
        dtype = _out_dtype(Z2)
        X = self._inverse(Z2, dtype)
        return X.reshape((Z2.shape[0],) + self.feature_shape)

    def state_dict(self) -> dict[str, numpy.ndarray]:
        """Fitted state and settings as plain NumPy arrays (no objects, no pickle)."""
        self._require_fitted()
        state = {"type": numpy.array(type(self).__name__),
                 "feature_shape": numpy.array(self.feature_shape, dtype=numpy.int64)}
        for key, value in self.config().items():
            state[f"config.{key}"] = numpy.array(-1 if value is None else value)
        for key in self._state_keys:
            state[key] = backend.to_numpy(getattr(self, key))
        return state

    @classmethod
    def from_state_dict(cls, state: dict[str, Any]) -> "Preprocessor":
        """Rebuild a fitted transformer from :meth:`state_dict`'s arrays."""
        kind = str(numpy.asarray(state.get("type", "")))
        target = PREPROCESSORS.get(kind) if cls is Preprocessor else cls
        if target is None or kind != target.__name__:
            raise ModelFileError(f"state is for {kind!r}, expected "
                                 f"{cls.__name__ if cls is not Preprocessor else 'a preprocessor'}")
        try:
            kwargs = {k[len("config."):]: numpy.asarray(v).item() for k, v in state.items()
                      if k.startswith("config.")}
            kwargs = {k: (None if v == -1 else v) for k, v in kwargs.items()}
            obj = target(**kwargs)
            xp = backend.xp
            for key in target._state_keys:
                setattr(obj, key, xp.asarray(numpy.asarray(state[key], dtype=numpy.float64)))
            obj.feature_shape = tuple(int(d) for d in numpy.asarray(state["feature_shape"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"invalid {kind} state ({type(exc).__name__}: {exc})") from None
        obj.n_features = int(numpy.prod(obj.feature_shape))
        if obj.mean is None or obj.mean.shape != (obj.n_features,):
            raise ModelFileError(f"invalid {kind} state: mean does not match feature_shape")
        obj._after_load()
        return obj

    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-compatible)."""
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.config().items())})"

    # -- helpers for subclasses ------------------------------------------------
    def _fit(self, Xc) -> None:
        """Learn anything beyond the mean from centred float64 data."""

    def _transform(self, X2, dtype):
        xp = backend.xp
        return xp.subtract(X2, self.mean.astype(dtype), dtype=dtype)

    def _inverse(self, Z2, dtype):
        return Z2 + self.mean.astype(dtype)

    def _after_load(self) -> None:
        """Recompute derived arrays after ``fit`` or ``from_state_dict``."""

    def _check_fit_size(self, X2) -> None:
        """Reject training data that cannot give the statistics (e.g. k > D)."""

    def _out_width(self) -> int:
        return int(self.n_features)

    def _require_fitted(self) -> None:
        if self.mean is None:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call "
                                 "fit(X_train) first (or fit_transform)")

    def _checked(self, X, name: str):
        self._require_fitted()
        X2, shape = _as_features(X, name)
        if X2.shape[1] != self.n_features:
            raise DataError(f"{name} has shape {tuple(X.shape)} ({X2.shape[1]} features per "
                            f"example), but this {type(self).__name__} was fitted on "
                            f"{self.n_features} features (examples of shape {self.feature_shape})")
        return X2, shape


class MeanSubtraction(Preprocessor):
    r"""Centre every feature: ``X' = X − μ``; inverse ``X = X' + μ``."""


class Standardize(Preprocessor):
    r"""Zero mean, unit variance per feature: ``X' = (X − μ) / s``.

    ``s = σ`` (population standard deviation) except where ``σ ≤ min_std``: such
    constant features (e.g. MNIST's border pixels, σ = 0) get ``s = 1``, so they map
    to ``x − μ`` (0 on the training data) instead of dividing by zero. Raise
    ``min_std`` (e.g. to 0.01 for pixels in [0, 1]) to also leave nearly constant
    features unscaled rather than amplifying them on new data.
    """

    _state_keys = ("mean", "scale")

    def __init__(self, min_std: float = 1e-8) -> None:
        super().__init__()
        self.min_std = _nonneg_float("min_std", min_std)
        self.scale = None

    def _fit(self, Xc) -> None:
        xp = backend.xp
        std = xp.sqrt(xp.einsum("ij,ij->j", Xc, Xc) / Xc.shape[0])
        self.scale = xp.where(std > self.min_std, std, 1.0)

    def _transform(self, X2, dtype):
        return super()._transform(X2, dtype) / self.scale.astype(dtype)

    def _inverse(self, Z2, dtype):
        return Z2 * self.scale.astype(dtype) + self.mean.astype(dtype)

    def config(self) -> dict[str, Any]:
        return {"min_std": self.min_std}


class _Eigen(Preprocessor):
    r"""Shared part of PCA and whitening: the covariance eigendecomposition.

    ``Σ = XcᵀXc / N`` is formed in float64 and diagonalised with ``eigh``
    (symmetric, eigenvalues ascending, reordered here to descending). Each
    eigenvector's sign is fixed so that its largest-magnitude entry is positive,
    making the result deterministic.
    """

    _state_keys = ("mean", "components", "explained_variance", "total_variance")

    def __init__(self, k: int | None = None) -> None:
        super().__init__()
        if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k <= 0):
            raise ConfigError(f"k (number of components) must be a positive integer or None, got {k!r}")
        self.k = k
        self.components = None          # (k, D) rows are principal directions u_iᵀ
        self.explained_variance = None  # (k,)   λ_1 ≥ … ≥ λ_k
        self.total_variance = None      # ()     trace Σ = Σ_i λ_i

    def _check_fit_size(self, X2) -> None:
        if self.k is not None and self.k > X2.shape[1]:
            raise ConfigError(f"k={self.k} components requested, but X has only {X2.shape[1]} "
                              "features; choose k <= the number of features")

    def _fit(self, Xc) -> None:
        xp = backend.xp
        cov = (Xc.T @ Xc) / Xc.shape[0]
        lam, U = xp.linalg.eigh(cov)
        lam, U = xp.maximum(lam[::-1], 0.0), U[:, ::-1]          # descending, clip round-off
        k = U.shape[1] if self.k is None else self.k
        U = U[:, :k]
        pivot = xp.argmax(xp.abs(U), axis=0)
        U = U * xp.where(U[pivot, xp.arange(k)] < 0, -1.0, 1.0)
        self.components = xp.ascontiguousarray(U.T)
        self.explained_variance = xp.ascontiguousarray(lam[:k])
        self.total_variance = xp.asarray(xp.trace(cov))
        self._after_load()

    @property
    def explained_variance_ratio(self):
        r"""``λ_i / Σ_j λ_j`` for the kept components (their sum is the variance retained)."""
        self._require_fitted()
        total = float(self.total_variance)
        return self.explained_variance / (total if total > 0 else 1.0)

    def _out_width(self) -> int:
        return int(self.components.shape[0])

    def config(self) -> dict[str, Any]:
        return {"k": self.k}


class PCA(_Eigen):
    r"""Project onto the top-k principal components: ``X' = (X − μ) U_k``, shape ``(N, k)``.

    ``inverse_transform(X') = X' U_kᵀ + μ`` is the best rank-k reconstruction in the
    least-squares sense. ``explained_variance_ratio`` gives ``λ_i / trace Σ``.
    """

    preserves_width = False

    def __init__(self, k: int) -> None:
        if k is None:
            raise ConfigError("PCA needs k, the number of components to keep")
        super().__init__(k)

    def _transform(self, X2, dtype):
        return super()._transform(X2, dtype) @ self.components.T.astype(dtype)

    def _inverse(self, Z2, dtype):
        return Z2 @ self.components.astype(dtype) + self.mean.astype(dtype)


class PCAWhitening(_Eigen):
    r"""PCA then divide each component by its standard deviation (CS231n)::

        X' = (X − μ) U_k diag(1/√(λ_k + ε))          (N, k), covariance ≈ I_k

    ``k=None`` keeps all D components. ε > 0 regularises components of tiny
    variance (the notes use 1e-5; larger ε also smooths high-frequency noise).
    """

    preserves_width = False

    def __init__(self, k: int | None = None, eps: float = 1e-5) -> None:
        super().__init__(k)
        self.eps = _nonneg_float("eps", eps)
        if self.eps == 0:
            raise ConfigError("eps must be > 0 for whitening (it bounds 1/sqrt(lambda + eps))")

    def _after_load(self) -> None:
        xp = backend.xp
        self._sd = xp.sqrt(self.explained_variance + self.eps)

    def _transform(self, X2, dtype):
        W = self.components.T / self._sd
        return super()._transform(X2, dtype) @ W.astype(dtype)

    def _inverse(self, Z2, dtype):
        return Z2 @ (self._sd[:, None] * self.components).astype(dtype) + self.mean.astype(dtype)

    def config(self) -> dict[str, Any]:
        return {"k": self.k, "eps": self.eps}


class ZCAWhitening(PCAWhitening):
    r"""Zero-phase (Mahalanobis) whitening: PCA-whiten, then rotate back with U::

        W = U diag(1/√(λ + ε)) Uᵀ,     X' = (X − μ) W,     covariance ≈ I_D

    Among all whitening matrices, ZCA's output stays closest to the input (images
    still look like images, with edges enhanced). Inverse: ``X = X' W⁻¹ + μ``,
    ``W⁻¹ = U diag(√(λ + ε)) Uᵀ``.
    """

    preserves_width = True

    def __init__(self, eps: float = 1e-5) -> None:
        super().__init__(None, eps)

    def _after_load(self) -> None:
        super()._after_load()
        U = self.components.T
        self._W = (U / self._sd) @ self.components
        self._W_inv = (U * self._sd) @ self.components

    def _transform(self, X2, dtype):
        return Preprocessor._transform(self, X2, dtype) @ self._W.astype(dtype)

    def _inverse(self, Z2, dtype):
        return Z2 @ self._W_inv.astype(dtype) + self.mean.astype(dtype)

    def config(self) -> dict[str, Any]:
        return {"eps": self.eps}


PREPROCESSORS: dict[str, type[Preprocessor]] = {
    cls.__name__: cls for cls in (MeanSubtraction, Standardize, PCA, PCAWhitening, ZCAWhitening)}
"""Preprocessor classes by name, used by :func:`load_preprocessor`."""


def save_preprocessor(preprocessor: Preprocessor, path: str | os.PathLike) -> None:
    """Write a fitted preprocessor's :meth:`~Preprocessor.state_dict` to an ``.npz`` atomically."""
    state = preprocessor.state_dict()
    atomic_write(path, lambda f: numpy.savez(f, **state))


def load_preprocessor(path: str | os.PathLike) -> Preprocessor:
    """Read a preprocessor written by :func:`save_preprocessor` (``allow_pickle=False``)."""
    try:
        with open_regular(path, "rb") as handle, numpy.load(handle, allow_pickle=False) as archive:
            state = {name: archive[name] for name in archive.files}
    except (FileNotFoundError, NotARegularFileError):
        raise
    except Exception as exc:  # numpy/zipfile raise many types on damaged files
        raise ModelFileError(f"{path} is not a saved preprocessor ({type(exc).__name__}: {exc})") from None
    return Preprocessor.from_state_dict(state)
