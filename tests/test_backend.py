"""nnlearn.backend accepts only the array module nnlearn is tested on, and says why not others."""

from __future__ import annotations

import numpy
import pytest

from nnlearn import backend
from nnlearn.errors import ConfigError


def test_numpy_is_the_backend():
    assert backend.set_backend("numpy") is numpy and backend.xp is numpy


@pytest.mark.parametrize("name, phrase", [
    ("cupy", "the 'cupy' backend is not supported: nnlearn has never been run on CuPy"),
    ("jax", "unknown backend 'jax'; expected one of numpy"),
])
def test_a_backend_nnlearn_cannot_run_is_refused_with_the_reason(name, phrase):
    with pytest.raises(ConfigError, match=phrase.replace("(", r"\(")):
        backend.set_backend(name)
    assert backend.xp is numpy  # unchanged


def test_cupy_is_refused_even_when_installed(monkeypatch):
    """Installing CuPy does not make the untested GPU path run."""
    import sys
    import types

    monkeypatch.setitem(sys.modules, "cupy", types.ModuleType("cupy"))
    with pytest.raises(ConfigError, match="set_backend\\('numpy'\\)"):
        backend.set_backend("cupy")
    assert backend.xp is numpy
