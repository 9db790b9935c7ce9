"""Trained-looking batch-norm state for the export tests (ONNX, safetensors)."""

from __future__ import annotations


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
