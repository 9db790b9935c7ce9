r"""Inverted dropout (Srivastava et al. 2014; CS231n's "inverted" variant)."""

from __future__ import annotations

from typing import Any

from nnlearn import backend
from nnlearn.errors import ConfigError, DataError
from nnlearn.layers.base import Layer, register_layer


@register_layer
class Dropout(Layer):
    r"""Inverted dropout: drop each unit with probability ``p`` while training.

    Training (``training=True``), with a fresh mask per forward pass::

        K_ij ~ Bernoulli(1 − p)            (1 = keep)
        M = K / (1 − p)                    (the scaled mask)
        Y = X ⊙ M                          E[Y] = X
        ∂C/∂X = ∂C/∂Y ⊙ M                  (dropped units get no gradient)

    Inference (``training=False``): ``Y = X`` and ``∂C/∂X = ∂C/∂Y``. Scaling the kept
    units by 1/(1 − p) at training time (rather than scaling by (1 − p) at test
    time, as in the book's ch. 3 description) keeps inference free of any dropout
    logic.

    Masks are drawn from ``self.rng``, which a ``Network`` sets to its own generator,
    so the same seed reproduces the same masks. For gradient checks,
    :meth:`fix_mask` freezes a keep-mask so that ``forward`` is deterministic.

    Args:
        p: drop probability in [0, 1); ``p = 0`` is the identity.
        seed: seed of the layer's own generator when used outside a Network.
    """

    def __init__(self, p: float = 0.5, *, seed: int | None = None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise ConfigError(f"Dropout p (the drop probability) must be a number in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = backend.default_rng(seed)
        self.fixed_mask = None
        self._M = None

    def fix_mask(self, keep) -> None:
        """Use the keep-mask ``keep`` (1 = keep, 0 = drop; shape of one batch) in every
        training forward until :meth:`release_mask`. For gradient checks and tests."""
        xp = backend.xp
        keep = xp.asarray(keep)
        if not bool(xp.isin(keep, xp.asarray([0, 1])).all()):
            raise DataError("Dropout.fix_mask needs a mask of 0s and 1s (1 = keep)")
        self.fixed_mask = keep

    def release_mask(self) -> None:
        """Go back to drawing a fresh random mask per training forward."""
        self.fixed_mask = None

    def forward(self, X, training: bool = False):
        """``X ⊙ M`` while training (M = keep-mask / (1 − p)), ``X`` otherwise."""
        if not training or self.p == 0.0:
            self._M = None
            return X
        if self.fixed_mask is not None:
            if self.fixed_mask.shape != X.shape:
                raise DataError(f"Dropout fixed mask has shape {self.fixed_mask.shape}, "
                                f"but the input has shape {X.shape}")
            M = self.fixed_mask.astype(X.dtype)
        else:
            M = (self.rng.random(X.shape, dtype=X.dtype) >= self.p).astype(X.dtype)
        M *= 1.0 / (1.0 - self.p)
        self._M = M
        return X * M

    def backward(self, dY, need_dx: bool = True):
        r"""``∂C/∂X = ∂C/∂Y ⊙ M`` (identity after an inference-mode forward)."""
        if not need_dx:
            return None
        return dY if self._M is None else dY * self._M

    def config(self) -> dict[str, Any]:
        return {"p": self.p}
