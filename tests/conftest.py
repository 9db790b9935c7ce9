"""Shared fixtures: the shipped MNIST loaded once per test session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def mnist():
    from nnlearn.datasets import load_mnist

    return load_mnist()
