r"""The size knob of the chapter notebooks (``notebooks/chN_*.py``, see docs/notebooks.md).

Every notebook's first cell chooses its sizes with :func:`sizes`::

    S = sizes(default=dict(images=50_000, epochs=30), small=dict(images=500, epochs=2))
    S.images, S.epochs

which returns the ``default`` or the ``small`` set as the environment variable
``NNLEARN_NOTEBOOK_SIZE`` says (``default`` when it is unset). ``default`` is what a
reader runs: the book's demonstration, a few minutes on a laptop; ``small`` is what the
test suite runs, seconds per notebook, through exactly the same cells.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any, Mapping

from nnlearn.errors import ConfigError
from nnlearn.nn.layers import Dense, get_activation
from nnlearn.nn.network import Network

SIZE_VARIABLE = "NNLEARN_NOTEBOOK_SIZE"
"""The environment variable that picks a notebook's sizes."""

SIZES = ("default", "small")
"""Its values: the reader's sizes (also when unset) and the test suite's."""


def notebook_size() -> str:
    """The chosen size: ``$NNLEARN_NOTEBOOK_SIZE`` or ``"default"``; a clear error otherwise."""
    size = os.environ.get(SIZE_VARIABLE, "").strip().lower() or "default"
    if size not in SIZES:
        raise ConfigError(f"{SIZE_VARIABLE}={os.environ[SIZE_VARIABLE]!r} is not a notebook size; "
                          f"use one of {', '.join(SIZES)} (or leave it unset for default)")
    return size


def sizes(*, default: Mapping[str, Any], small: Mapping[str, Any]) -> SimpleNamespace:
    """The ``default`` or ``small`` settings (same keys in both) as attributes, plus ``name``."""
    if set(default) != set(small):
        raise ConfigError(f"the default and small sizes must set the same names; default has "
                          f"{sorted(default)}, small has {sorted(small)}")
    name = notebook_size()
    return SimpleNamespace(name=name, **(default if name == "default" else small))


def neuron(w: float, b: float, activation: str = "sigmoid", cost: str = "quadratic", *,
           seed: int | None = None) -> Network:
    r"""One neuron with one input, output ``f(w x + b)``: ``Dense(1, 1)`` with weight ``w`` and
    bias ``b``, then the activation f named ``activation`` (``"sigmoid"``, ``"step"``,
    ``"linear"``, ...); float64, trained against ``cost``. ``seed`` fixes the order in which
    ``fit`` visits the examples (and so, with several per minibatch, the last bits of the sums)."""
    net = Network([Dense(1, 1), get_activation(activation)], cost=cost, dtype="float64", seed=seed)
    net.layers[0].params["W"][...] = w   # after Network(), which draws fresh initial weights
    net.layers[0].params["b"][...] = b
    return net
