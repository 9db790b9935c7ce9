"""``nnlearn export MODEL OUT.onnx``: write a saved model as an ONNX inference graph."""

from __future__ import annotations

import argparse

from nnlearn.cli import models
from nnlearn.errors import install_hint


def add_parser(sub) -> None:
    from nnlearn.io.onnx import DEFAULT_OPSET

    p = sub.add_parser("export", help="export a saved model to ONNX",
                       description="Translate a model saved by nnlearn (.npz) into an ONNX file "
                                   "computing the same output probabilities (input 'input' of shape "
                                   "(N, ...), output 'output'). Needs the onnx package: "
                                   + install_hint("onnx") + ".")
    p.add_argument("model", metavar="MODEL|RUN", help=models.HELP)
    p.add_argument("out", metavar="OUT", help="ONNX file to write, e.g. model.onnx")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET,
                   help="ONNX operator set (default: %(default)s; at least 13)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="tensor type of the graph (default: %(default)s)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nnlearn.io.onnx import export_onnx

    net = models.load_model(args.model)
    export_onnx(net, args.out, opset=args.opset, dtype=args.dtype)
    kinds = ", ".join(type(layer).__name__ for layer in net.layers)
    print(f"wrote {args.out}: {len(net.layers)} layers ({kinds}), input (N, "
          f"{', '.join(map(str, net.input_shape))}), output (N, "
          f"{', '.join(map(str, net.output_shape))}), opset {args.opset}, {args.dtype}")
    return 0
