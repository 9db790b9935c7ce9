r"""Dropout (Hinton et al. 2012; Srivastava et al. 2014), inverted or classic scaling."""

from __future__ import annotations

from typing import Any

from nnlearn import backend
from nnlearn.errors import ConfigError, DataError
from nnlearn.nn.layers.base import Layer, register_layer


SCALE_AT = ("train", "test")
"""Where the keep probability 1 − p is compensated: at training (inverted) or at test time."""


@register_layer
class Dropout(Layer):
    r"""Dropout: drop each unit with probability ``p`` while training.

    Training (``training=True``), with a fresh mask per forward pass::

        K_ij ~ Bernoulli(1 − p)            (1 = keep)
        M = K / (1 − p)  (scale_at="train", inverted, the default)
        M = K            (scale_at="test", classic)
        Y = X ⊙ M                          ∂C/∂X = ∂C/∂Y ⊙ M   (dropped units get no gradient)

    Inference (``training=False``)::

        scale_at="train":  Y = X,          ∂C/∂X = ∂C/∂Y
        scale_at="test":   Y = (1 − p) X,  ∂C/∂X = (1 − p) ∂C/∂Y

    Both keep the expected input of the next layer equal at training and test time.
    Inverted dropout (CS231n) leaves inference free of any dropout logic. Classic
    dropout is the book's: ch. 3 halves the outgoing weights at test time and
    network3.py multiplies by (1 − p) at inference. The two are not the same
    training run: with the next layer's weights ``W`` the inverted mask makes
    ``∂C/∂W`` 1/(1 − p) times larger and each SGD step moves the network's function
    1/(1 − p)² times as far (4× at p = 0.5), so network3.py's η on a dropout
    network is matched by ``scale_at="test"``.

    Masks are drawn from ``self.rng``, which a ``Network`` sets to its own generator,
    so the same seed reproduces the same masks. For gradient checks,
    :meth:`fix_mask` freezes a keep-mask so that ``forward`` is deterministic.

    Args:
        p: drop probability in [0, 1); ``p = 0`` is the identity.
        scale_at: ``"train"`` (inverted dropout, default) or ``"test"`` (classic).
        seed: seed of the layer's own generator when used outside a Network.
    """

    def __init__(self, p: float = 0.5, *, scale_at: str = "train", seed: int | None = None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise ConfigError(f"Dropout p (the drop probability) must be a number in [0, 1), got {p!r}")
        if scale_at not in SCALE_AT:
            raise ConfigError(f"Dropout scale_at must be one of {', '.join(map(repr, SCALE_AT))} "
                              f"(inverted or classic dropout), got {scale_at!r}")
        self.p = float(p)
        self.scale_at = scale_at
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
        """``X ⊙ M`` while training; ``X`` (inverted) or ``(1 − p) X`` (classic) otherwise."""
        if not training or self.p == 0.0:
            self._M = None
            return X if self._test_scale == 1.0 else X * self._test_scale
        if self.fixed_mask is not None:
            if self.fixed_mask.shape != X.shape:
                raise DataError(f"Dropout fixed mask has shape {self.fixed_mask.shape}, "
                                f"but the input has shape {X.shape}")
            M = self.fixed_mask.astype(X.dtype)
        else:
            M = (self.rng.random(X.shape, dtype=X.dtype) >= self.p).astype(X.dtype)
        if self.scale_at == "train":
            M *= 1.0 / (1.0 - self.p)
        self._M = M
        return X * M

    def backward(self, dY, need_dx: bool = True):
        r"""``∂C/∂X = ∂C/∂Y ⊙ M``; after an inference-mode forward ``∂C/∂Y`` times its scale."""
        if not need_dx:
            return None
        if self._M is not None:
            return dY * self._M
        return dY if self._test_scale == 1.0 else dY * self._test_scale

    @property
    def _test_scale(self) -> float:
        """The inference-time factor: 1 (inverted) or 1 − p (classic)."""
        return 1.0 - self.p if self.scale_at == "test" else 1.0

    def config(self) -> dict[str, Any]:
        return {"p": self.p, "scale_at": self.scale_at}
