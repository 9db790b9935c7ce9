r"""Cost functions.

Reduction: every cost is the **mean over the minibatch** of the per-example cost,
``C = (1/N) Σ_x C_x``, and ``gradient`` returns ``∂C/∂A`` of that mean, i.e. the
per-example gradients divided by N. Plain SGD ``W ← W − η ∂C/∂W`` is therefore
exactly the book's ``w → w − (η/m) Σ_x ∂C_x/∂w``, with η meaning what it means there.

Targets ``Y`` have the shape of the outputs ``A``: one-hot rows for classification
(``Network`` converts integer labels), real values for regression.

Fused output deltas: for (sigmoid, cross-entropy), (softmax, log-likelihood) and
(linear, quadratic) the product ``∂C/∂A ⊙ f'(Z)`` simplifies to ``δᴸ = (A − Y)/N``
(book eqs. 66 and 84; f' = 1 for the last). ``Network`` uses :meth:`Cost.fused_delta` whenever the last layer is the
cost's ``fused_activation``, skipping the activation's own backward; this is both
faster and numerically better (no division by a(1 − a) ≈ 0).

Output layers that fit: each cost states the output activations it is defined for
(``outputs``) and the one a network gets when nobody chooses (``default_output``).
The cross-entropy needs outputs in (0, 1), the log-likelihood a probability
distribution (softmax), the hinge loss linear scores; ``Network`` refuses any other
pairing when it is built (:meth:`Cost.check_output`).
"""

from __future__ import annotations

from typing import ClassVar

from nnlearn import backend
from nnlearn.checks import unit_interval
from nnlearn.errors import ConfigError, DataError
from nnlearn.nn.layers.activations import Activation, Linear, Sigmoid, Softmax

_TINY = 1e-12  # floor inside logarithms when the cost *value* is reported


def is_one_hot(Y) -> bool:
    """Whether ``Y`` (N, K) with K ≥ 2 has rows of K − 1 zeros and a single 1, i.e.
    encodes one class per example, so that argmax accuracy is meaningful."""
    if Y.ndim != 2 or Y.shape[1] < 2:
        return False
    ones = Y == 1
    return bool(((Y == 0) | ones).all()) and bool((ones.sum(axis=1) == 1).all())


class Cost:
    """Base class: ``value(A, Y)`` and ``gradient(A, Y) = ∂value/∂A``."""

    name: ClassVar[str] = ""
    fused_activation: ClassVar[type[Activation] | None] = None
    outputs: ClassVar[tuple[str, ...] | None] = None
    """Output activations this cost is defined for (``None``: any)."""
    default_output: ClassVar[str | None] = None
    """The output activation a network gets when none is chosen (``None``: see
    :func:`nnlearn.nn.builder.output_activation_for`)."""
    needs: ClassVar[str] = ""
    """What the cost needs of the outputs, in words (for error messages)."""

    def check_output(self, activation: str) -> None:
        """Raise ``ConfigError`` when outputs of ``activation`` do not fit this cost,
        naming the activations that do."""
        if self.outputs is None or activation in self.outputs:
            return
        fits = " or ".join(repr(a) for a in self.outputs)
        raise ConfigError(
            f"the {self.name} cost needs {self.needs}, but the output layer is {activation!r}; "
            f"end the network with a {fits} layer (output_activation={self.outputs[0]!r}), "
            f"or choose a cost that fits {activation!r} outputs (e.g. 'quadratic')")

    def check_targets(self, Y, name: str = "y") -> None:
        """Raise ``DataError`` when targets ``Y`` (N, K) are outside this cost's domain.

        Called once per data set by ``Network.targets``, not per minibatch. The
        default accepts any finite values (regression).
        """

    def value(self, A, Y) -> float:
        raise NotImplementedError

    def gradient(self, A, Y):
        raise NotImplementedError

    def fused_delta(self, A, Y):
        """``δᴸ = ∂C/∂Z`` when the output layer is ``fused_activation`` (here ``(A − Y)/N``).

        Every pair listed in the module docstring fuses to this same expression: each
        is a canonical link (Gaussian/identity, Bernoulli/logit, categorical/softmax).
        """
        if self.fused_activation is None:
            raise NotImplementedError(f"{type(self).__name__} has no fused output activation")
        return (A - Y) * (1.0 / A.shape[0])

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _check_unit_interval(cost: Cost, Y, name: str) -> None:
    lo, hi = float(Y.min()), float(Y.max())
    if lo < 0.0 or hi > 1.0:
        raise DataError(f"the {cost.name} cost needs targets in [0, 1] (labels or probabilities); "
                        f"{name} has values in [{lo:g}, {hi:g}]")


class Quadratic(Cost):
    r"""Quadratic (mean squared error) cost, book eq. 6; also the L2 regression cost.

    ``C = (1/N) Σ_x ½‖a − y‖²``;  ``∂C/∂A = (A − Y)/N``.
    With a sigmoid output, ``δᴸ = (a − y) ⊙ σ'(z)`` (BP1): the σ' factor is what
    makes learning slow when the output saturates. With a linear output (regression,
    real-valued targets of any width k) f' = 1 and the delta is fused: ``δᴸ = (A − Y)/N``.

    Registered as ``"quadratic"``, ``"mse"`` and ``"l2"`` (one class, one formula).
    Note the ½ and the sum over the k outputs: this "mse" is half the squared error
    per example, not the mean over the N·k entries that some libraries call MSE.
    """

    name = "quadratic"
    fused_activation = Linear

    def value(self, A, Y) -> float:
        D = A - Y
        return float(0.5 * (D * D).sum() / A.shape[0])

    def gradient(self, A, Y):
        return (A - Y) * (1.0 / A.shape[0])


class CrossEntropy(Cost):
    r"""Binary cross-entropy for sigmoid outputs, book eq. 63; also the multi-label cost.

    ``C = −(1/N) Σ_x Σ_j [y_j ln a_j + (1 − y_j) ln(1 − a_j)]``
    ``∂C/∂A = (A − Y) / (A(1 − A)) / N``; fused with a sigmoid output: ``δᴸ = (A − Y)/N``.

    The sum over j treats every output as an independent Bernoulli label, so the
    same formula is the sigmoid multi-label cost: targets are 0/1 rows of any width
    with any number of 1s (e.g. 2-of-5 tags), not only one-hot rows. Registered as
    ``"cross_entropy"`` and ``"binary_cross_entropy"``; ``SigmoidBinaryCrossEntropy``
    is this class under its multi-label name.
    """

    name = "cross_entropy"
    fused_activation = Sigmoid
    outputs = ("sigmoid", "softmax")
    default_output = "sigmoid"
    needs = "outputs in (0, 1)"

    def check_targets(self, Y, name: str = "y") -> None:
        _check_unit_interval(self, Y, name)

    def value(self, A, Y) -> float:
        xp = backend.xp
        loss = Y * xp.log(xp.maximum(A, _TINY)) + (1.0 - Y) * xp.log(xp.maximum(1.0 - A, _TINY))
        return float(-loss.sum() / A.shape[0])

    def gradient(self, A, Y):
        xp = backend.xp  # a saturated sigmoid gives A = 0 or 1 exactly: floor as in value()
        return (A - Y) / xp.maximum(A * (1.0 - A), _TINY) * (1.0 / A.shape[0])


class LogLikelihood(Cost):
    r"""Log-likelihood for softmax outputs, book eq. 80, optionally with label smoothing.

    ``C = −(1/N) Σ_x ln a_y`` (equivalently ``−(1/N) Σ Σ_j y_j ln a_j`` with one-hot y);
    ``∂C/∂A = −Y / A / N``; fused with a softmax output: ``δᴸ = (A − Y)/N``.

    Label smoothing ε (``label_smoothing``) trains towards ``Y' = (1 − ε) Y + ε/K`` over
    the K classes instead of the one-hot ``Y``: the same formulas with ``Y'`` for ``Y``::

        C = −(1/N) Σ_x Σ_j y'_j ln a_j        ∂C/∂A = −Y'/A/N        δᴸ = (A − Y')/N

    (the fused delta still holds: each row of ``Y'`` sums to 1). The network is then
    never pushed towards probabilities of exactly 0 and 1, a regulariser for short runs
    at large learning rates. ε = 0 is the book's cost. Reported costs use ``Y'`` too.
    Model files record the cost's name only, so a loaded network has ε = 0 (it matters
    for training, not for predictions).

    References: C. Szegedy et al., "Rethinking the Inception architecture for computer
    vision" (2016), section 7.
    """

    name = "log_likelihood"
    fused_activation = Softmax
    outputs = ("softmax",)
    default_output = "softmax"
    needs = "a probability distribution over the classes (softmax outputs)"

    def __init__(self, label_smoothing: float = 0.0):
        self.label_smoothing = unit_interval("label_smoothing (ε)", label_smoothing)

    def smoothed(self, Y):
        """``Y' = (1 − ε) Y + ε/K`` (``Y`` itself when ε = 0)."""
        eps = self.label_smoothing
        return Y if eps == 0 else Y * (1 - eps) + eps / Y.shape[1]

    def check_targets(self, Y, name: str = "y") -> None:
        _check_unit_interval(self, Y, name)

    def value(self, A, Y) -> float:
        xp = backend.xp
        return float(-(self.smoothed(Y) * xp.log(xp.maximum(A, _TINY))).sum() / A.shape[0])

    def gradient(self, A, Y):  # softmax may underflow to 0
        return -self.smoothed(Y) / backend.xp.maximum(A, _TINY) * (1.0 / A.shape[0])

    def fused_delta(self, A, Y):
        """``δᴸ = (A − Y')/N`` with a softmax output."""
        return super().fused_delta(A, self.smoothed(Y))

    def __repr__(self) -> str:
        return (f"LogLikelihood(label_smoothing={self.label_smoothing})" if self.label_smoothing
                else "LogLikelihood()")


class Hinge(Cost):
    r"""Multiclass hinge (SVM) loss on linear scores (Weston & Watkins 1999; CS231n).

    With one-hot rows ``Y`` marking the correct class y of each example and
    ``a_y = Σ_j y_j a_j`` its score::

        C = (1/N) Σ_x Σ_{j≠y} max(0, a_j − a_y + Δ),          Δ = 1
        ∂C/∂a_j = (1/N) 1[a_j − a_y + Δ > 0]                  (j ≠ y)
        ∂C/∂a_y = −(1/N) Σ_{j≠y} 1[a_j − a_y + Δ > 0]

    i.e. a class is pushed down while it scores within Δ of the correct one. The
    derivative at a margin of exactly 0 is taken as 0 (a subgradient). Use it with
    a linear output layer (``"linear"``); there is no fused delta. Targets must be
    one-hot rows (integer labels are converted by ``Network``).
    """

    name = "hinge"
    delta_margin: ClassVar[float] = 1.0
    outputs = ("linear",)
    default_output = "linear"
    needs = "linear scores"

    def check_targets(self, Y, name: str = "y") -> None:
        if not is_one_hot(Y):
            raise DataError(f"the hinge cost needs one class per example: {name} must be integer "
                            f"labels or one-hot rows of width ≥ 2, got shape {tuple(Y.shape)} "
                            "with other values")

    def _margins(self, A, Y):
        """``max(0, a_j − a_y + Δ)`` for j ≠ y, and 0 at j = y, shape (N, K)."""
        xp = backend.xp
        a_y = (A * Y).sum(axis=1, keepdims=True)
        return xp.maximum(A - a_y + self.delta_margin, 0.0) * (1.0 - Y)

    def value(self, A, Y) -> float:
        return float(self._margins(A, Y).sum() / A.shape[0])

    def gradient(self, A, Y):
        active = (self._margins(A, Y) > 0).astype(A.dtype)
        return (active - Y * active.sum(axis=1, keepdims=True)) * (1.0 / A.shape[0])


SigmoidBinaryCrossEntropy = CrossEntropy
"""Multi-label name of :class:`CrossEntropy` (same maths; see its docstring)."""

COSTS: dict[str, type[Cost]] = {
    **{c.name: c for c in (Quadratic, CrossEntropy, LogLikelihood, Hinge)},
    "mse": Quadratic, "l2": Quadratic, "binary_cross_entropy": CrossEntropy,
}
"""Cost classes by the name used in the CLI, configs and model files (with aliases:
``"mse"``/``"l2"`` → Quadratic, ``"binary_cross_entropy"`` → CrossEntropy)."""


def get_cost(cost: str | Cost, label_smoothing: float = 0.0) -> Cost:
    """A cost instance from its name (``"quadratic"``, ``"cross_entropy"``, ...);
    ``label_smoothing`` ε > 0 is for the log-likelihood only (:class:`LogLikelihood`)."""
    if isinstance(cost, Cost):
        return cost
    try:
        cls = COSTS[cost]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown cost {cost!r}; expected one of {', '.join(sorted(COSTS))}") from None
    if cls is LogLikelihood:
        return LogLikelihood(label_smoothing)
    if label_smoothing:
        raise ConfigError(f"label_smoothing applies to the log_likelihood cost (softmax outputs), "
                          f"not to {cost!r}; set it to 0 or use cost = 'log_likelihood'")
    return cls()
