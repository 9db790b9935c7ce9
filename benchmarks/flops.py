r"""Counted floating-point operations of one training epoch, layer by layer.

The count is the arithmetic of the weight products, which is what a GEMM peak
measures; the efficiency column of the benchmarks divides it by the epoch's time.
Not counted (each is proportional to the number of activations, not to
weights × positions): biases, activations, pooling, the cost, the SGD update,
im2col/col2im copies.

Usage: python benchmarks/flops.py   (prints the table of the benchmarked networks)
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class LayerFlops:
    """One example's counted FLOPs through one layer."""

    name: str
    forward: int
    grad_weights: int
    grad_input: int

    @property
    def total(self) -> int:
        return self.forward + self.grad_weights + self.grad_input


def layer_flops(layer, input_shape: Sequence[int], first: bool) -> LayerFlops:
    r"""FLOPs of one example through ``layer`` (one multiply-add = 2 FLOPs).

    ``Dense(n_in, n_out)``: forward ``Z = X W`` costs ``2·n_in·n_out``; the backward
    products ``∂C/∂W = Xᵀ δ`` and ``∂C/∂X = δ Wᵀ`` cost the same each, so 3× in all.

    ``Conv2D(C → F, kh×kw)`` with ``P = OH·OW`` output positions: every position is
    one dot product of the kernel with its receptive field, forward
    ``2·F·C·kh·kw·P``; ``∂C/∂W`` and ``∂C/∂X`` again cost the same each.

    ``first``: the network's first weight layer, whose ``∂C/∂X`` (the gradient with
    respect to the data) nnlearn, PyTorch and JAX all skip: 2× instead of 3×.

    Any other layer (activations, pooling, reshapes, dropout, batch norm): 0.
    """
    weights = getattr(layer, "params", {}).get("W")
    if weights is None or type(layer).__name__ not in ("Dense", "Conv2D"):
        return LayerFlops(type(layer).__name__, 0, 0, 0)
    positions = math.prod(layer.output_shape(input_shape)[1:])  # 1 for Dense, OH·OW for Conv2D
    forward = 2 * int(weights.size) * positions
    name = (f"Conv2D({layer.in_channels}→{layer.out_channels}, "
            f"{'×'.join(map(str, layer.kernel_size))}) at {positions} positions"
            if type(layer).__name__ == "Conv2D" else f"Dense({layer.n_in}, {layer.n_out})")
    return LayerFlops(name, forward, forward, 0 if first else forward)


def network_flops(network) -> list[LayerFlops]:
    """:func:`layer_flops` of every layer of an nnlearn ``Network``, per example."""
    shape, rows, first = tuple(network.input_shape), [], True
    for layer in network.layers:
        row = layer_flops(layer, shape, first)
        first = first and row.forward == 0
        rows.append(row)
        shape = layer.output_shape(shape)
    return rows


def example_flops(network) -> int:
    """Counted FLOPs of one example, forward and backward."""
    return sum(row.total for row in network_flops(network))


def table(network) -> str:
    """A plain-text table of :func:`network_flops` with the total."""
    lines = [f"{'layer':<52}{'forward':>12}{'dC/dW':>12}{'dC/dX':>12}"]
    for row in network_flops(network):
        if row.total:
            lines.append(f"{row.name:<52}{row.forward:>12,}{row.grad_weights:>12,}"
                         f"{row.grad_input:>12,}")
    lines.append(f"{'total per example (forward + backward)':<52}{example_flops(network):>36,}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    import nnlearn
    from bench_conv import nnlearn_network

    for sizes in ([784, 30, 10], [784, 100, 10]):
        print(f"{sizes}:\n{table(nnlearn.Network.from_sizes(sizes))}\n")
    print(f"convnet (d):\n{table(nnlearn_network())}")


if __name__ == "__main__":
    main()
