"""``nnlearn export MODEL OUT``: write a saved model as ONNX, safetensors or ``.npz``,
the format following OUT's suffix."""

from __future__ import annotations

import argparse
from pathlib import Path

from nnlearn.cli import models
from nnlearn.errors import ConfigError, install_hint
from nnlearn.io.model_file import save
from nnlearn.io.onnx import DEFAULT_OPSET, export_onnx
from nnlearn.io.safetensors import save_safetensors

FORMATS = {".onnx": "an ONNX inference graph (needs the onnx extra)",
           ".safetensors": "safetensors in PyTorch's layout and names (torch.nn.Sequential "
                           "state dict), the architecture in its metadata",
           ".npz": "nnlearn's own model file"}
"""The suffixes ``nnlearn export`` writes, and what each writes."""


def add_parser(sub) -> None:
    listing = "; ".join(f"{suffix}: {what}" for suffix, what in FORMATS.items())
    p = sub.add_parser("export", help="export a saved model to ONNX, safetensors or .npz",
                       description="Write a model saved by nnlearn (.npz or .safetensors) in the "
                                   "format OUT's suffix names. " + listing + ". ONNX files "
                                   "compute the network's outputs (input 'input' of shape "
                                   "(N, ...), output 'output'; a sigmoid output layer's rows need "
                                   "not sum to 1) and need the onnx package: "
                                   + install_hint("onnx") + ".")
    p.add_argument("model", metavar="MODEL|RUN", help=models.HELP)
    p.add_argument("out", metavar="OUT", help="file to write: model.onnx, model.safetensors or "
                                              "model.npz")
    p.add_argument("--opset", type=int, default=DEFAULT_OPSET,
                   help="ONNX operator set (default: %(default)s; at least 13)")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="tensor type of the ONNX graph (default: %(default)s)")
    p.set_defaults(func=run)


def export_format(out: str) -> str:
    """The suffix of ``out`` if nnlearn can write it; ``ConfigError`` listing the choices."""
    suffix = Path(out).suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(f"cannot tell the export format from {out!r}: its suffix is "
                          f"{suffix or 'missing'}; use one of {', '.join(FORMATS)}")
    return suffix


def run(args: argparse.Namespace) -> int:
    suffix = export_format(args.out)
    net = models.load_model(args.model)
    if suffix == ".onnx":
        export_onnx(net, args.out, opset=args.opset, dtype=args.dtype)
        detail = f", opset {args.opset}, {args.dtype}"
    elif suffix == ".safetensors":
        save_safetensors(net, args.out, metadata=net.metadata)
        detail = ", safetensors (PyTorch names)"
    else:
        save(net, args.out, metadata=net.metadata)
        detail = ", nnlearn .npz"
    kinds = ", ".join(type(layer).__name__ for layer in net.layers)
    print(f"wrote {args.out}: {len(net.layers)} layers ({kinds}), input (N, "
          f"{', '.join(map(str, net.input_shape))}), output (N, "
          f"{', '.join(map(str, net.output_shape))}){detail}")
    return 0
