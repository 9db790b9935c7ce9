r"""The classic single neurons: Rosenblatt's perceptron and Widrow–Hoff's ADALINE.

Both compute a weighted sum ``z = w·x + b`` of a real input ``x`` (d,) and output
the threshold ``ŷ = 1[z > 0]`` (the book's chapter-1 perceptron; nnlearn's
``"step"`` activation). They differ in how they learn:

* **Perceptron** (Rosenblatt 1958) corrects its *thresholded* output, one example
  at a time, only when it is wrong::

      w ← w + η (y − ŷ) x,    b ← b + η (y − ŷ)          (y, ŷ ∈ {0, 1})

  On linearly separable data it stops after finitely many updates (Novikoff 1962):
  if ‖(x, 1)‖ ≤ R for all examples and some unit vector u = (w*, b*) separates them
  with margin γ (``(2y − 1) u·(x, 1) ≥ γ``), it makes at most ``(R/γ)²`` updates,
  whatever η (starting from w = 0, b = 0).

* **ADALINE** (Widrow & Hoff 1960) does gradient descent on the squared error of
  its *linear* output against targets t = 2y − 1 ∈ {−1, +1} (the delta or LMS rule)::

      E = (1/2N) Σ_x (t − z)²,   w ← w + η (1/N) Σ_x (t − z) x,   b ← b + η (1/N) Σ_x (t − z)

  full-batch (``mode="batch"``, the sum over the whole set per step) or online
  (``mode="online"``, one example per step, N = 1). It converges (for small η) to
  the least-squares fit even when the classes are not separable.

The book's NAND gate (ch. 1) is a perceptron with ``w = (−2, −2)`` and ``b = 3``::

    Perceptron.from_weights([-2, -2], 3).predict([[0, 0], [0, 1], [1, 0], [1, 1]])
    # -> array([1, 1, 1, 0])
"""

from __future__ import annotations

from typing import Any

import numpy

from nnlearn import backend
from nnlearn.errors import ConfigError, DataError, DivergenceError
from nnlearn.nn.layers.activations import step
from nnlearn.checks import positive_int, positive_number

_MODES = ("batch", "online")


def _check_X(X, d: int | None = None):
    xp = backend.xp
    if not hasattr(X, "shape"):
        X = numpy.asarray(X)
    if X.dtype.kind not in "biuf":
        raise DataError(f"X must be a numeric array, got dtype {X.dtype}")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"X must be a non-empty 2-D array (N examples, d features), got shape {X.shape}")
    if d is not None and X.shape[1] != d:
        raise DataError(f"X has {X.shape[1]} features but the neuron was fitted on {d}")
    X = xp.asarray(X, dtype="float64")
    if not bool(xp.isfinite(X).all()):
        raise DataError("X contains NaN or inf; clean or impute the data first")
    return X


def _check_binary(y, n: int):
    """``y`` as float64 0/1 labels of shape (n,), or a ``DataError``."""
    xp = backend.xp
    if not hasattr(y, "shape"):
        y = numpy.asarray(y)
    if y.dtype.kind not in "biuf" or y.shape != (n,):
        raise DataError(f"y must be a 1-D numeric array of {n} labels (one per row of X), "
                        f"got shape {y.shape} and dtype {y.dtype}")
    y = xp.asarray(y, dtype="float64")
    if not bool(((y == 0) | (y == 1)).all()):
        bad = xp.unique(y[(y != 0) & (y != 1)])[:5]
        raise DataError(f"y must hold binary labels 0/1, got other values such as "
                        f"{[float(v) for v in backend.to_numpy(bad)]}")
    return y


class _ThresholdNeuron:
    """Shared parts: ``z = X w + b`` and the threshold output ``1[z > 0]``."""

    def __init__(self) -> None:
        self.w_ = None
        self.b_ = 0.0

    def _fitted(self):
        if self.w_ is None:
            raise RuntimeError(f"this {type(self).__name__} is not fitted yet; call fit(X, y) "
                               "or build it with from_weights(w, b)")
        return self.w_

    def decision_function(self, X):
        r"""The weighted input ``z = X w + b`` (N,)."""
        w = self._fitted()
        return _check_X(X, w.shape[0]) @ w + self.b_

    def predict(self, X):
        r"""``ŷ = 1[z > 0]`` as integer labels 0/1 (N,)."""
        return step(self.decision_function(X)).astype("int64")

    def score(self, X, y) -> float:
        """Fraction of examples classified correctly."""
        X = _check_X(X)
        y = _check_binary(y, X.shape[0])
        return float((self.predict(X) == y).mean())

    @classmethod
    def from_weights(cls, w, b: float, **options: Any):
        """A neuron with hand-set weights ``w`` (d,) and bias ``b`` (no training)."""
        xp = backend.xp
        neuron = cls(**options)
        w = xp.asarray(w, dtype="float64")
        if w.ndim != 1 or w.shape[0] == 0 or not bool(xp.isfinite(w).all()) \
                or not numpy.isfinite(float(b)):
            raise ConfigError(f"w must be a non-empty finite 1-D array and b a finite number, "
                              f"got w of shape {tuple(w.shape)} and b={b!r}")
        neuron.w_, neuron.b_ = w, float(b)
        return neuron


class Perceptron(_ThresholdNeuron):
    r"""Rosenblatt's perceptron with the perceptron learning rule (see module docstring).

    Args:
        eta: learning rate η > 0 (from w = 0 it only scales w and b, never changes
            the predictions; kept for the book's form of the rule).
        max_epochs: passes over the data at most; training stops at the first pass
            without a mistake.
        shuffle: visit the examples in a new random order each epoch (else in order).
        seed: seed of that order.

    Attributes after ``fit``:
        w_ (d,), b_: weights and bias.
        n_updates_: total number of updates (mistakes) made.
        errors_: mistakes per epoch.
        converged_: True when the last epoch made no mistake, i.e. every training
            example is classified correctly; False when ``max_epochs`` ran out
            (e.g. the data are not linearly separable).
    """

    def __init__(self, eta: float = 1.0, max_epochs: int = 100, *, shuffle: bool = False,
                 seed: int | None = None) -> None:
        super().__init__()
        self.eta = positive_number("eta (learning rate η)", eta)
        self.max_epochs = positive_int("max_epochs", max_epochs)
        self.shuffle = bool(shuffle)
        self.seed = seed
        self.n_updates_ = 0
        self.errors_: list[int] = []
        self.converged_ = False

    def fit(self, X, y) -> "Perceptron":
        r"""Learn from zero weights with ``w ← w + η (y − ŷ) x`` until an epoch has no mistake."""
        xp = backend.xp
        X = _check_X(X)
        n, d = X.shape
        y = _check_binary(y, n)
        rng = backend.default_rng(self.seed)
        w, b, eta = xp.zeros(d), 0.0, self.eta
        self.n_updates_, self.errors_, self.converged_ = 0, [], False
        for _ in range(self.max_epochs):
            order = rng.permutation(n) if self.shuffle else range(n)
            mistakes = 0
            for i in order:
                x = X[i]
                error = float(y[i]) - (1.0 if float(x @ w) + b > 0 else 0.0)  # y − ŷ ∈ {−1, 0, 1}
                if error != 0.0:
                    w = w + (eta * error) * x
                    b += eta * error
                    mistakes += 1
            self.errors_.append(mistakes)
            self.n_updates_ += mistakes
            if mistakes == 0:
                self.converged_ = True
                break
        self.w_, self.b_ = w, b
        return self


class Adaline(_ThresholdNeuron):
    r"""ADALINE trained by the Widrow–Hoff delta (LMS) rule (see module docstring).

    Args:
        eta: learning rate η > 0. Full-batch descent converges for
            η < 2 / λ_max((1/N) X̃ᵀX̃) with X̃ = [X, 1]; standardise the inputs.
        epochs: passes over the data.
        mode: ``"batch"`` (one step per epoch on the mean gradient) or ``"online"``
            (one step per example, the original LMS rule).
        shuffle: in online mode, visit the examples in a new random order each epoch.
        seed: seed of that order.

    Attributes after ``fit``:
        w_ (d,), b_: weights and bias of the linear output ``z = w·x + b``.
        mse_: mean squared error ``(1/N) Σ (t − z)²`` on the training set after each
            epoch (t = 2y − 1).

    Raises:
        DivergenceError: when the error overflows (η too large for the data's scale).
    """

    def __init__(self, eta: float = 0.01, epochs: int = 50, *, mode: str = "batch",
                 shuffle: bool = True, seed: int | None = None) -> None:
        super().__init__()
        self.eta = positive_number("eta (learning rate η)", eta)
        self.epochs = positive_int("epochs", epochs)
        if mode not in _MODES:
            raise ConfigError(f"mode must be one of {', '.join(_MODES)}, got {mode!r}")
        self.mode = mode
        self.shuffle = bool(shuffle)
        self.seed = seed
        self.mse_: list[float] = []

    def fit(self, X, y) -> "Adaline":
        r"""Minimise ``E = (1/2N) Σ (t − z)²`` by the delta rule from zero weights."""
        xp = backend.xp
        X = _check_X(X)
        n, d = X.shape
        t = 2.0 * _check_binary(y, n) - 1.0
        rng = backend.default_rng(self.seed)
        w, b, eta = xp.zeros(d), 0.0, self.eta
        self.mse_ = []
        with numpy.errstate(over="raise", invalid="raise"):
            try:
                for epoch in range(1, self.epochs + 1):
                    if self.mode == "batch":
                        err = t - (X @ w + b)                     # (N,)  t − z
                        w = w + (eta / n) * (X.T @ err)           # −η ∂E/∂w
                        b += eta * float(err.mean())              # −η ∂E/∂b
                    else:
                        order = rng.permutation(n) if self.shuffle else range(n)
                        for i in order:
                            err_i = float(t[i]) - (float(X[i] @ w) + b)
                            w = w + (eta * err_i) * X[i]
                            b += eta * err_i
                    residual = t - (X @ w + b)
                    mse = float((residual * residual).mean())
                    if not numpy.isfinite(mse):
                        raise FloatingPointError
                    self.mse_.append(mse)
            except FloatingPointError:
                raise DivergenceError(
                    f"ADALINE diverged at epoch {epoch} (eta={eta}): the squared error "
                    "overflowed. Use a smaller eta or standardise the inputs") from None
        self.w_, self.b_ = w, b
        return self
