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


def randomise_batchnorm(net, rng):
    """Non-trivial running statistics and γ, β, as after training (for export tests)."""
    from nnlearn.nn.layers import BatchNorm

    for layer in net.layers:
        if isinstance(layer, BatchNorm):
            shape = layer.params["gamma"].shape
            layer.params["gamma"][...] = rng.uniform(0.5, 2.0, shape)
            layer.params["beta"][...] = rng.normal(size=shape)
            layer.buffers["running_mean"][...] = rng.normal(size=shape)
            layer.buffers["running_var"][...] = rng.uniform(0.3, 3.0, shape)
    return net
