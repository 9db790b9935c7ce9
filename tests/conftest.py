"""Shared fixtures: the shipped MNIST loaded once per test session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def mnist():
    from nnlearn.data import load_mnist

    return load_mnist()


@pytest.fixture(autouse=True, scope="session")
def _runs_in_a_temporary_folder(tmp_path_factory):
    """`nnlearn train` writes run folders; keep the tests' out of the working tree."""
    import os

    from nnlearn.experiments.runs.folder import RUNS_ENV

    old = os.environ.get(RUNS_ENV)
    os.environ[RUNS_ENV] = str(tmp_path_factory.mktemp("runs"))
    yield
    if old is None:
        os.environ.pop(RUNS_ENV, None)
    else:
        os.environ[RUNS_ENV] = old

