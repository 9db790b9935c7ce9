r"""Weight regularisation (L2, L1) and the max-norm constraint (book ch. 3; CS231n).

Penalties apply only to the parameters a layer lists in ``decay_keys`` (its
weights, never its biases). ``n`` is the size of the training set, as in the book.

**L2** (weight decay). The regularised cost and its gradient are::

    C = C₀ + (λ / 2n) Σ_w w²          ∂C/∂w = ∂C₀/∂w + (λ/n) w

nnlearn adds ``(λ/n) w`` to each weight's gradient after backprop, before the
optimiser step, so L2 composes with every optimiser. With plain SGD this is exactly
the book's rescaling rule (eq. 93)::

    w → w − η (∂C₀/∂w + (λ/n) w) = (1 − ηλ/n) w − η ∂C₀/∂w

With adaptive optimisers (Adagrad, RMSprop, Adam) this is "L2 in the gradient": the
decay term is divided by the same per-element √G as the data gradient, so it is
*not* the decoupled weight decay of AdamW (Loshchilov & Hutter 2019).

**L1**::

    C = C₀ + (λ/n) Σ_w |w|             ∂C/∂w = ∂C₀/∂w + (λ/n) sgn(w)

which with SGD gives the book's ``w → w − (ηλ/n) sgn(w) − η ∂C₀/∂w`` (eq. 96),
with ``sgn(0) = 0``.

**Max-norm** (Srivastava et al. 2014, §5.1): after every update, each neuron's
incoming weight vector is rescaled to Euclidean norm ≤ c. The "neuron axis" of a
weight array holds one entry per output neuron: a layer may name it in a
``neuron_axis`` attribute; otherwise it is the *last* axis of a 2-D array (Dense
stores ``W (n_in, n_out)``, so each column is one neuron) and the *first* axis of
an array with more dimensions (Conv2D stores ``W (C_out, C_in, kh, kw)``, so each
output map's whole kernel is one "neuron").
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

from nnlearn import backend
from nnlearn.checks import non_negative_number
from nnlearn.errors import ConfigError


def decay_pairs(network) -> list[tuple[Any, Any]]:
    """The ``(weight, grad)`` pairs of every layer's ``decay_keys`` params, in layer order."""
    return [(layer.params[k], layer.grads[k]) for layer in network.layers for k in layer.decay_keys]


class Regularizer:
    r"""Base class of weight penalties ``Ω(w)`` added to the cost with strength λ/n.

    ``add_gradient(pairs, n, scratch)`` adds ∂Ω/∂w to each grad in place (using the
    preallocated ``scratch`` arrays, one per pair, to avoid allocating per batch);
    ``penalty(weights, n)`` is the value term added to the reported cost.
    """

    name: ClassVar[str] = ""

    def __init__(self, lmbda: float):
        self.lmbda = non_negative_number("lmbda (regularisation strength λ)", lmbda)

    def add_gradient(self, pairs: Sequence[tuple[Any, Any]], n: int, scratch: Sequence[Any]) -> None:
        """``∂C/∂w += (λ/n) ∂Ω/∂w`` for every ``(w, ∂C/∂w)`` pair, in place."""
        c = self.lmbda / n
        for (w, g), s in zip(pairs, scratch):
            self.decay_term(w, c, s)
            g += s

    def decay_term(self, w, c: float, out) -> None:
        """Write ``c · ∂Ω/∂w`` into ``out``."""
        raise NotImplementedError

    def penalty(self, weights: Sequence[Any], n: int) -> float:
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        return {"lmbda": self.lmbda}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lmbda={self.lmbda})"


class L2(Regularizer):
    r"""L2 weight decay: ``C = C₀ + (λ/2n) Σ w²``, gradient term ``(λ/n) w`` (see module doc)."""

    name = "l2"

    def decay_term(self, w, c: float, out) -> None:
        backend.xp.multiply(w, c, out=out)  # (λ/n) w

    def penalty(self, weights, n) -> float:
        xp = backend.xp
        return 0.5 * self.lmbda / n * sum(float(xp.vdot(w, w)) for w in weights)


class L1(Regularizer):
    r"""L1 penalty: ``C = C₀ + (λ/n) Σ |w|``, gradient term ``(λ/n) sgn(w)`` (see module doc)."""

    name = "l1"

    def decay_term(self, w, c: float, out) -> None:
        backend.xp.sign(w, out=out)  # (λ/n) sgn(w)
        out *= c

    def penalty(self, weights, n) -> float:
        xp = backend.xp
        return self.lmbda / n * sum(float(xp.abs(w).sum()) for w in weights)


REGULARIZERS: dict[str, type[Regularizer]] = {"l2": L2, "l1": L1}
"""Regulariser classes by name."""


def get_regularizer(spec: str | Regularizer, lmbda: float | None = None) -> Regularizer:
    """A regulariser from an instance, or from its name (``"l2"``, ``"l1"``) and ``lmbda``."""
    if isinstance(spec, Regularizer):
        return spec
    if spec not in REGULARIZERS:
        raise ConfigError(f"unknown regulariser {spec!r}; expected a Regularizer or one of "
                          f"{', '.join(REGULARIZERS)}")
    if lmbda is None:
        raise ConfigError(f"regulariser {spec!r} needs lmbda")
    return REGULARIZERS[spec](lmbda)


def neuron_axis(layer, W) -> int:
    """The axis of ``W`` indexing output neurons (see the module doc for the convention)."""
    axis = getattr(layer, "neuron_axis", None)
    if axis is not None:
        return int(axis) % W.ndim
    return W.ndim - 1 if W.ndim == 2 else 0


class MaxNorm:
    r"""Max-norm constraint: ``w_j ← w_j · min(1, c / ‖w_j‖₂)`` for each neuron j, after each update.

    ``w_j`` is neuron j's incoming weight vector: the slice of ``W`` at index j of
    its neuron axis (a column of a Dense ``W``; a whole output map's kernel of a
    conv ``W``). Biases are not constrained. Srivastava et al. (2014) use c ≈ 3–4
    together with dropout.
    """

    def __init__(self, c: float):
        if isinstance(c, bool) or not isinstance(c, (int, float)) or not 0 < c < float("inf"):
            raise ConfigError(f"max_norm (the max-norm bound c) must be a finite number > 0, got {c!r}")
        self.c = float(c)

    @staticmethod
    def targets(network) -> list[tuple[Any, int]]:
        """``(W, neuron_axis)`` for every ``decay_keys`` param of ``network``."""
        return [(layer.params[k], neuron_axis(layer, layer.params[k]))
                for layer in network.layers for k in layer.decay_keys]

    def apply(self, W, axis: int) -> None:
        """Clamp the norms of ``W``'s neuron slices (along ``axis``) to ≤ c, in place."""
        xp = backend.xp
        axis %= W.ndim
        if axis == 0:             # e.g. conv W (C_out, C_in, kh, kw): rows of a (C_out, −1) view
            V = W.reshape(W.shape[0], -1)
            sq, shape = xp.einsum("ij,ij->i", V, V), (-1,) + (1,) * (W.ndim - 1)
        elif axis == W.ndim - 1:  # e.g. Dense W (n_in, n_out): columns
            V = W.reshape(-1, W.shape[-1])
            sq, shape = xp.einsum("ij,ij->j", V, V), (-1,)
        else:
            other = tuple(a for a in range(W.ndim) if a != axis)
            sq = xp.sum(W * W, axis=other)
            shape = tuple(-1 if a == axis else 1 for a in range(W.ndim))
        over = sq > self.c * self.c
        if bool(over.any()):      # rescale only when some neuron is over the bound
            scale = xp.where(over, self.c / xp.sqrt(xp.maximum(sq, self.c * self.c)), 1.0)
            W *= scale.astype(W.dtype, copy=False).reshape(shape)

    def __call__(self, targets: Sequence[tuple[Any, int]]) -> None:
        for W, axis in targets:
            self.apply(W, axis)

    def __repr__(self) -> str:
        return f"MaxNorm(c={self.c})"
