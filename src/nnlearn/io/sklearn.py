r"""scikit-learn compatible estimators wrapping :class:`nnlearn.Network`.

``NNClassifier`` and ``NNRegressor`` follow the scikit-learn estimator contract:
hyper-parameters are the constructor's keyword arguments, stored unchanged
(``get_params``/``set_params``, ``clone``); ``fit(X, y)`` builds a fresh network
and learns the attributes ending in ``_``; ``predict``, ``predict_proba`` and
``score`` read them. So they work in ``Pipeline``, ``cross_val_score`` and
``GridSearchCV``::

    from sklearn.model_selection import GridSearchCV
    from nnlearn.io.sklearn import NNClassifier

    search = GridSearchCV(NNClassifier(epochs=10, seed=0),
                          {"hidden_layer_sizes": [(30,), (100,)], "eta": [0.1, 0.5]}, cv=3)
    search.fit(X, y)

The network is ``Network.from_sizes([n_features, *hidden_layer_sizes, n_outputs])``
trained by :meth:`Network.fit` (minibatch SGD, the book's ``eta``, ``epochs``,
``mini_batch_size`` and L2 ``lmbda``). For the classifier, labels may be any
sortable values (ints, strings, ...): ``classes_`` holds them sorted and the
network's output ``k`` stands for ``classes_[k]``; there is one output per class
(two for a binary problem). With the default ``cost="log_likelihood"`` the output
layer is a softmax, so ``predict_proba`` is the network's output; with a sigmoid
output (``"cross_entropy"``, ``"quadratic"``) the outputs are divided by their row
sum so that each row of ``predict_proba`` still sums to 1.

scikit-learn is optional (``pip install 'nnlearn[sklearn]'``): ``import nnlearn``
never imports it. When it is installed the estimators derive from its
``BaseEstimator`` (and ``ClassifierMixin``/``RegressorMixin``) and validate input
with its ``validate_data``; without it a small stand-in provides
``get_params``/``set_params``/``score`` and NumPy input checks.

Checks of ``sklearn.utils.estimator_checks`` that cannot pass are listed with
their reason in :data:`EXPECTED_FAILED_CHECKS` (empty when all pass).
"""

from __future__ import annotations

import inspect
from typing import Any, Sequence

import numpy

from nnlearn import defaults
from nnlearn.errors import ConfigError, DataError
from nnlearn.nn.network import Network

try:  # optional dependency; only this module imports it
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted
    try:
        from sklearn.utils.validation import validate_data as _sk_validate_data  # ≥ 1.6
    except ImportError:  # pragma: no cover - older scikit-learn
        def _sk_validate_data(estimator, X, y="no_validation", reset=True, **kw):
            return estimator._validate_data(X, y, reset=reset, **kw)
    HAVE_SKLEARN = True
except ImportError:  # pragma: no cover - exercised in environments without scikit-learn
    HAVE_SKLEARN = False

    class BaseEstimator:  # type: ignore[no-redef]
        """Stand-in for ``sklearn.base.BaseEstimator``: parameters from ``__init__``'s signature."""

        @classmethod
        def _get_param_names(cls) -> list[str]:
            params = inspect.signature(cls.__init__).parameters
            return sorted(name for name in params if name != "self")

        def get_params(self, deep: bool = True) -> dict[str, Any]:
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params: Any) -> "BaseEstimator":
            valid = self._get_param_names()
            for key, value in params.items():
                if key not in valid:
                    raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}; "
                                     f"valid parameters: {', '.join(valid)}")
                setattr(self, key, value)
            return self

        def __repr__(self) -> str:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
            return f"{type(self).__name__}({args})"

    class ClassifierMixin:  # type: ignore[no-redef]
        _estimator_type = "classifier"

        def score(self, X, y) -> float:
            """Mean accuracy of ``predict(X)`` against ``y``."""
            return float(numpy.mean(self.predict(X) == numpy.asarray(y)))

    class RegressorMixin:  # type: ignore[no-redef]
        _estimator_type = "regressor"

        def score(self, X, y) -> float:
            """Coefficient of determination R² of ``predict(X)`` against ``y``."""
            y = numpy.asarray(y, dtype=numpy.float64)
            p = numpy.asarray(self.predict(X), dtype=numpy.float64).reshape(y.shape)
            ss_res = ((y - p) ** 2).sum()
            ss_tot = ((y - y.mean(axis=0)) ** 2).sum()
            return float(1.0 - ss_res / ss_tot) if ss_tot > 0 else 0.0

__all__ = ["EXPECTED_FAILED_CHECKS", "HAVE_SKLEARN", "NNClassifier", "NNRegressor"]

EXPECTED_FAILED_CHECKS: dict[str, str] = {}
"""``sklearn.utils.estimator_checks`` check name → why it fails (none known)."""


_NO_Y = object()


def _validate(estimator, X, y=_NO_Y, *, reset: bool):
    """Checked float arrays ``X`` (N, D) and, when given, ``y``; sets ``n_features_in_`` on reset."""
    multi = isinstance(estimator, NNRegressor)
    if HAVE_SKLEARN:
        if y is _NO_Y:
            return _sk_validate_data(estimator, X, reset=reset, dtype=(numpy.float64, numpy.float32))
        return _sk_validate_data(estimator, X, y, reset=reset, dtype=(numpy.float64, numpy.float32),
                                 multi_output=multi, y_numeric=multi)
    X = numpy.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"X must be a non-empty 2-D array (n_samples, n_features), got shape {X.shape}")
    if X.dtype.kind not in "biuf":
        raise DataError(f"X must be numeric, got dtype {X.dtype}")
    if not numpy.isfinite(X).all():
        raise DataError("X contains NaN or inf")
    if reset:
        estimator.n_features_in_ = X.shape[1]
    elif X.shape[1] != estimator.n_features_in_:
        raise DataError(f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
                        f"{estimator.n_features_in_} features as input")
    if y is _NO_Y:
        return X
    if y is None:
        raise DataError(f"{type(estimator).__name__} requires y to be passed, but the target y is None")
    y = numpy.asarray(y)
    if y.shape[0] != X.shape[0]:
        raise DataError(f"X has {X.shape[0]} samples but y has {y.shape[0]}")
    return X, y


def _require_fitted(estimator) -> None:
    if HAVE_SKLEARN:
        check_is_fitted(estimator, "network_")
    elif not hasattr(estimator, "network_"):
        raise ConfigError(f"this {type(estimator).__name__} is not fitted yet; call fit(X, y) first")


class _NNBase(BaseEstimator):
    r"""Shared hyper-parameters and training of the nnlearn estimators.

    Args:
        hidden_layer_sizes: widths of the hidden layers, e.g. ``(30,)`` or ``(100, 100)``.

    Defaults come from :mod:`nnlearn.defaults` (the classifier's cost and the
    regressor's cost and η differ from the recipe on purpose; the reasons are there).
        activation: hidden activation (``"sigmoid"``, ``"tanh"``, ``"relu"``, ...).
        cost: cost name (``nnlearn.nn.costs.COSTS``); ``None``: the estimator's
            ``default_cost`` (log-likelihood for the classifier, quadratic for the regressor).
        eta: learning rate η; ``None``: the estimator's ``default_eta`` (0.5; the regressor 0.1).
        epochs: passes over the training data.
        mini_batch_size: the book's ``m``.
        lmbda: L2 regularisation λ (the book's ``(λ/2n) Σ w²``); 0 for none.
        weight_init: initialiser name for the weights (``nnlearn.nn.init``).
        seed: seed of the weights and of the minibatch order; ``None`` for a fresh draw.
        dtype: ``"float32"`` or ``"float64"`` for the network's arithmetic.
    """

    default_cost: str = defaults.CLASSIFIER_COST
    default_eta: float = defaults.ETA

    def __init__(self, hidden_layer_sizes: Sequence[int] = defaults.ESTIMATOR_HIDDEN,
                 activation: str = defaults.ACTIVATION, cost: str | None = None,
                 eta: float | None = None, epochs: int = defaults.EPOCHS,
                 mini_batch_size: int = defaults.MINI_BATCH_SIZE, lmbda: float = 0.0,
                 weight_init: str = defaults.WEIGHT_INIT, seed: int | None = None,
                 dtype: str = defaults.DTYPE):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.cost = cost
        self.eta = eta
        self.epochs = epochs
        self.mini_batch_size = mini_batch_size
        self.lmbda = lmbda
        self.weight_init = weight_init
        self.seed = seed
        self.dtype = dtype

    def _hidden(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, (int, numpy.integer)) and not isinstance(sizes, bool):
            sizes = (sizes,)
        try:
            sizes = list(sizes)
        except TypeError:
            sizes = None
        if sizes is None or any(isinstance(s, bool) or not isinstance(s, (int, numpy.integer))
                                or s < 1 for s in sizes):
            raise ConfigError(f"hidden_layer_sizes must be a sequence of positive integers, "
                              f"e.g. (30,) or (100, 100), got {self.hidden_layer_sizes!r}")
        return [int(s) for s in sizes]

    def _cost(self) -> str:
        """``cost``, or this estimator's default when it is ``None``."""
        return self.default_cost if self.cost is None else self.cost

    def _build_and_fit(self, X, targets, n_outputs: int, output_activation: str | None):
        seed = self.seed
        if seed is not None and not isinstance(seed, (int, numpy.integer)):
            raise ConfigError(f"seed must be an int or None, got {seed!r}")
        net = Network.from_sizes([X.shape[1], *self._hidden(), n_outputs],
                                 activation=self.activation, output_activation=output_activation,
                                 cost=self._cost(), weight_init=self.weight_init,
                                 seed=None if seed is None else int(seed), dtype=self.dtype)
        lmbda = float(self.lmbda) if self.lmbda else None
        self.history_ = net.fit(X, targets, epochs=self.epochs, mini_batch_size=self.mini_batch_size,
                                eta=self.default_eta if self.eta is None else self.eta,
                                lmbda=lmbda, monitor=())
        self.network_ = net
        return self

    # Tags. scikit-learn < 1.6 reads _more_tags (with the known failures as
    # "_xfail_checks"); ≥ 1.6 reads __sklearn_tags__ and takes the failures from
    # parametrize_with_checks(expected_failed_checks=...); a class defining one must
    # define both.
    def _more_tags(self) -> dict[str, Any]:
        return {"_xfail_checks": EXPECTED_FAILED_CHECKS}

    def __sklearn_tags__(self):
        return super().__sklearn_tags__()

    def _outputs(self, X):
        _require_fitted(self)
        X = _validate(self, X, reset=False)
        return numpy.asarray(self.network_.predict_proba(X), dtype=numpy.float64)


class NNClassifier(ClassifierMixin, _NNBase):
    r"""A neural-network classifier: nnlearn's ``Network`` behind scikit-learn's API.

    Hyper-parameters as in :class:`_NNBase` (the default cost is the log-likelihood
    with a softmax output layer). Fitted attributes: ``classes_`` (sorted labels),
    ``n_features_in_``, ``network_`` (the trained :class:`nnlearn.Network`),
    ``history_`` (its per-epoch records).
    """

    def fit(self, X, y) -> "NNClassifier":
        """Learn ``classes_`` and train a fresh network on ``(X, y)``; returns ``self``."""
        X, y = _validate(self, X, y, reset=True)
        if HAVE_SKLEARN:
            check_classification_targets(y)
        if y.ndim != 1:
            raise DataError(f"y must be 1-D (one label per sample), got shape {y.shape}")
        classes, index = numpy.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise DataError(f"NNClassifier needs samples of at least 2 classes in y, got 1 class "
                            f"({classes[0]!r})")
        self.classes_ = classes
        return self._build_and_fit(X, index.astype(numpy.int64), len(classes), None)

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes), columns in the order of ``classes_``."""
        A = self._outputs(X)
        if self.network_.cost.name != "log_likelihood":
            A = A / numpy.maximum(A.sum(axis=1, keepdims=True), numpy.finfo(A.dtype).tiny)
        return A

    def predict(self, X):
        """The most probable label of each sample (values from ``classes_``)."""
        index = self._outputs(X).argmax(axis=1)  # checks fitted before reading classes_
        return self.classes_[index]


class NNRegressor(RegressorMixin, _NNBase):
    r"""A neural-network regressor: linear output layer and the quadratic (mean squared) cost.

    Same hyper-parameters as :class:`NNClassifier`, except that ``cost`` defaults
    to ``"quadratic"`` and the output activation is always linear. ``y`` may be
    1-D (one target) or 2-D (several). Scale the targets to order 1 (e.g. with
    ``sklearn.compose.TransformedTargetRegressor``) for SGD to behave.
    """

    default_cost = defaults.REGRESSOR_COST
    default_eta = defaults.REGRESSOR_ETA

    def fit(self, X, y) -> "NNRegressor":
        """Train a fresh network on ``(X, y)``; returns ``self``."""
        X, y = _validate(self, X, y, reset=True)
        y = numpy.asarray(y, dtype=numpy.float64)
        if y.ndim not in (1, 2):
            raise DataError(f"y must be 1-D or 2-D, got shape {y.shape}")
        self._y_1d = y.ndim == 1
        Y = y.reshape(len(y), -1)
        return self._build_and_fit(X, Y, Y.shape[1], "linear")

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {**super()._more_tags(), "multioutput": True}

    def __sklearn_tags__(self):  # scikit-learn ≥ 1.6
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def predict(self, X):
        """Predicted targets, (n_samples,) or (n_samples, n_targets) like the ``y`` of ``fit``."""
        A = self._outputs(X)
        return A[:, 0] if self._y_1d else A
