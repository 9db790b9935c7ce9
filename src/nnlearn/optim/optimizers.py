r"""Optimisers: how a parameter moves given its gradient.

Interface: ``step(pairs)`` receives the model's list of ``(param, grad)`` pairs, in
the same order at every step, and updates each ``param`` in place. Per-parameter
state (velocities, moment estimates) is kept by position in that list, never by a
name shared between layers, and is allocated on the first step. ``eta`` is a plain
attribute, so a learning-rate schedule changes it between epochs.

Notation: ``g = ∂C/∂w`` is the minibatch-mean gradient (with any L2/L1 term already
added, see :mod:`nnlearn.nn.regularizers`), ``η`` the learning rate; all operations are
element-wise.

``state_dict()`` returns everything needed to resume bit for bit: the name, the
hyper-parameters, the step count ``t`` and copies of every state array;
``load_state_dict()`` restores it (the arrays are checked against the parameters
on the next ``step``).

References: CS231n notes "Neural Networks 3: parameter updates"; Duchi et al. 2011
(Adagrad); Tieleman & Hinton 2012, lecture 6.5 (RMSprop); Kingma & Ba 2015 (Adam);
Sutskever et al. 2013 (momentum and Nesterov).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Sequence

from nnlearn import backend
from nnlearn.checks import positive_number, unit_interval
from nnlearn.errors import ConfigError


class Optimizer:
    """Base class of optimisers (see the module docstring for the contract).

    Subclasses list their per-parameter state arrays in ``slots`` (e.g. ``("v",)``)
    and their hyper-parameters other than ``eta`` in ``hyper``.
    """

    name: ClassVar[str] = ""
    slots: ClassVar[tuple[str, ...]] = ()
    hyper: ClassVar[tuple[str, ...]] = ()

    def __init__(self, eta: float):
        self.eta = positive_number("eta (learning rate η)", eta)
        self.t = 0
        self.state: dict[str, list[Any]] | None = None
        self._checked = False

    def step(self, pairs: Sequence[tuple[Any, Any]]) -> None:
        """Update every ``param`` in place from its ``grad``."""
        if not self._checked:
            self.prepare(pairs)
        self.t += 1
        self._update(pairs)

    def _update(self, pairs: Sequence[tuple[Any, Any]]) -> None:
        raise NotImplementedError

    def prepare(self, pairs: Sequence[tuple[Any, Any]]) -> None:
        """Allocate zero state on the first step, or check loaded state against ``pairs``
        (``step`` calls it; so does a loop that updates the state arrays itself)."""
        xp = backend.xp
        if not self.slots:
            self.state = {}
        elif self.state is None:
            self.state = {s: [xp.zeros_like(p) for p, _ in pairs] for s in self.slots}
        else:
            for slot, arrays in self.state.items():
                shapes = [tuple(a.shape) for a in arrays]
                expected = [tuple(p.shape) for p, _ in pairs]
                if shapes != expected:
                    raise ConfigError(
                        f"{type(self).__name__} state {slot!r} has shapes {shapes} but the "
                        f"parameters have shapes {expected}; the optimiser state belongs to a "
                        "different network")
                self.state[slot] = [xp.asarray(a, dtype=p.dtype) for a, (p, _) in zip(arrays, pairs)]
        self._checked = True

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume: name, ``eta``, hyper-parameters, ``t`` and state arrays."""
        xp = backend.xp
        state = None if self.state is None else {
            s: [xp.array(a, copy=True) for a in arrays] for s, arrays in self.state.items()}
        return {"name": self.name, "eta": self.eta, "t": self.t,
                "hyper": {h: getattr(self, h) for h in self.hyper}, "state": state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (copies the arrays)."""
        xp = backend.xp
        if state.get("name", self.name) != self.name:
            raise ConfigError(f"cannot load {state.get('name')!r} optimiser state into a "
                              f"{self.name!r} optimiser")
        self.eta = positive_number("eta (learning rate η)", state["eta"])
        self.t = int(state.get("t", 0))
        for h, value in state.get("hyper", {}).items():
            if h not in self.hyper:
                raise ConfigError(f"{self.name} optimiser has no hyper-parameter {h!r}")
            setattr(self, h, float(value))
        arrays = state.get("state")
        if arrays is not None and set(arrays) != set(self.slots):
            raise ConfigError(f"{self.name} optimiser state needs slots {list(self.slots)}, "
                              f"got {sorted(arrays)}")
        self.state = None if arrays is None else {
            s: [xp.array(a, copy=True) for a in arrays[s]] for s in self.slots}
        self._checked = False

    def __repr__(self) -> str:
        args = "".join(f", {h}={getattr(self, h)}" for h in self.hyper)
        return f"{type(self).__name__}(eta={self.eta}{args})"


class SGD(Optimizer):
    r"""Plain stochastic gradient descent, the book's update rule.

    ``W ← W − η ∂C/∂W`` where ``∂C/∂W`` is already the minibatch mean, i.e. the
    book's ``w → w − (η/m) Σ_x ∂C_x/∂w`` (eq. 20–21).
    """

    name = "sgd"

    def _update(self, pairs: Sequence[tuple[Any, Any]]) -> None:
        eta = self.eta
        for param, grad in pairs:
            param -= eta * grad


class Momentum(SGD):
    r"""Momentum SGD (book ch. 3; CS231n): a velocity ``v`` (initially 0) per parameter::

        v ← μ v − η g
        w ← w + v

    ``μ`` ("momentum coefficient", ``mu``) is in [0, 1); ``μ = 0`` is plain SGD.
    """

    name = "momentum"
    slots = ("v",)
    hyper = ("mu",)

    def __init__(self, eta: float, mu: float = 0.9):
        super().__init__(eta)
        self.mu = unit_interval("mu (momentum coefficient μ)", mu)

    def _update(self, pairs: Sequence[tuple[Any, Any]]) -> None:
        eta, mu = self.eta, self.mu
        for (w, g), v in zip(pairs, self.state["v"]):
            v *= mu
            v -= eta * g
            w += v


class Nesterov(Momentum):
    r"""Nesterov accelerated momentum in CS231n's form (Sutskever et al. 2013)::

        v_prev = v
        v ← μ v − η g
        w ← w − μ v_prev + (1 + μ) v

    Substituting ``v = μ v_prev − η g`` shows the last line equals
    ``w ← w + μ v − η g``, which is what is computed (no copy of ``v_prev``).
    Here ``g`` is the gradient at the stored ``w``, which CS231n's change of
    variables makes the "look-ahead" point of the original formulation.
    """

    name = "nesterov"

    def _update(self, pairs: Sequence[tuple[Any, Any]]) -> None:
        eta, mu = self.eta, self.mu
        for (w, g), v in zip(pairs, self.state["v"]):
            v *= mu
            step = eta * g
            v -= step
            w -= step
            w += mu * v


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al. 2011): a per-element rate from the summed squared gradients::

        G ← G + g²
        w ← w − η g / (√G + ε)
    """

    name = "adagrad"
    slots = ("cache",)
    hyper = ("eps",)

    def __init__(self, eta: float, eps: float = 1e-8):
        super().__init__(eta)
        self.eps = positive_number("eps (ε)", eps)

    def _update(self, pairs: Sequence[tuple[Any, Any]]) -> None:
        xp = backend.xp
        eta, eps = self.eta, self.eps
        for (w, g), cache in zip(pairs, self.state["cache"]):
            cache += g * g
            denom = xp.sqrt(cache)
            denom += eps
            w -= eta * g / denom


class RMSprop(Optimizer):
    r"""RMSprop (Tieleman & Hinton 2012): Adagrad with a leaky average of g²::

        G ← ρ G + (1 − ρ) g²
        w ← w − η g / (√G + ε)

    ``rho`` (the decay rate ρ) defaults to 0.9.
    """

    name = "rmsprop"
    slots = ("cache",)
    hyper = ("rho", "eps")

    def __init__(self, eta: float, rho: float = 0.9, eps: float = 1e-8):
        super().__init__(eta)
        self.rho = unit_interval("rho (decay rate ρ)", rho)
        self.eps = positive_number("eps (ε)", eps)

    def _update(self, pairs: Sequence[tuple[Any, Any]]) -> None:
        xp = backend.xp
        eta, rho, eps = self.eta, self.rho, self.eps
        for (w, g), cache in zip(pairs, self.state["cache"]):
            cache *= rho
            cache += (1.0 - rho) * (g * g)
            denom = xp.sqrt(cache)
            denom += eps
            w -= eta * g / denom


class Adam(Optimizer):
    r"""Adam (Kingma & Ba 2015) with bias correction; ``t`` counts steps from 1::

        m ← β₁ m + (1 − β₁) g
        v ← β₂ v + (1 − β₂) g²
        m̂ = m / (1 − β₁ᵗ),  v̂ = v / (1 − β₂ᵗ)
        w ← w − η m̂ / (√v̂ + ε)

    Defaults ``β₁ = 0.9, β₂ = 0.999, ε = 1e-8``; the paper's η is 0.001.
    """

    name = "adam"
    slots = ("m", "v")
    hyper = ("beta1", "beta2", "eps")

    def __init__(self, eta: float, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        super().__init__(eta)
        self.beta1 = unit_interval("beta1 (β₁)", beta1)
        self.beta2 = unit_interval("beta2 (β₂)", beta2)
        self.eps = positive_number("eps (ε)", eps)

    def _update(self, pairs: Sequence[tuple[Any, Any]]) -> None:
        xp = backend.xp
        b1, b2, eps, t = self.beta1, self.beta2, self.eps, self.t
        step_size = self.eta / (1.0 - b1 ** t)     # η / (1 − β₁ᵗ) folds m̂ into one scalar
        v_scale = 1.0 / math.sqrt(1.0 - b2 ** t)   # √v̂ = √v / √(1 − β₂ᵗ)
        for (w, g), m, v in zip(pairs, self.state["m"], self.state["v"]):
            m *= b1
            m += (1.0 - b1) * g
            v *= b2
            v += (1.0 - b2) * (g * g)
            denom = xp.sqrt(v)
            denom *= v_scale
            denom += eps
            w -= step_size * m / denom


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Nesterov, Adagrad, RMSprop, Adam)}
"""Optimiser classes by name: sgd, momentum, nesterov, adagrad, rmsprop, adam."""


def get_optimizer(name: str | Optimizer, eta: float, **options: Any) -> Optimizer:
    """An optimiser instance from its name, learning rate and hyper-parameters."""
    if isinstance(name, Optimizer):
        return name
    try:
        cls = OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown optimiser {name!r}; expected one of {', '.join(sorted(OPTIMIZERS))}"
        ) from None
    unknown = set(options) - set(cls.hyper)
    if unknown:
        raise ConfigError(f"optimiser {name!r} has no option(s) {sorted(unknown)}; "
                          f"its options are {list(cls.hyper) or 'none'}")
    return cls(eta, **options)
