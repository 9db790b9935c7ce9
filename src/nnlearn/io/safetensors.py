r"""Model files in the safetensors format, in PyTorch's layout and names (no pickle, NumPy only).

A safetensors file is an 8-byte little-endian header length ``n``, then ``n`` bytes of
UTF-8 JSON, then the raw tensor bytes::

    {"__metadata__": {str: str, ...},
     "0.weight": {"dtype": "F32", "shape": [30, 784], "data_offsets": [0, 94080]}, ...}

(https://huggingface.co/docs/safetensors). The format is simple enough to write and
read with NumPy, so the core stays NumPy-only; the tests check the files against the
``safetensors`` package itself and load them into PyTorch.

Names follow a ``torch.nn.Sequential`` with one module per nnlearn layer, so the
tensors of layer ``i`` are ``i.weight``, ``i.bias``, … and ``load_state_dict`` accepts
the file as it is::

    Dense(W (n_in, n_out), b)   nn.Linear(n_in, n_out)   i.weight = Wᵀ (n_out, n_in), i.bias = b
                                (the book's w is nnlearn's Wᵀ, and so is PyTorch's weight)
    Conv2D(W (F, C, kh, kw), b)  nn.Conv2d(C, F, ...)    i.weight = W (the same layout), i.bias = b
    BatchNorm(γ, β, buffers)     nn.BatchNorm1d/2d       i.weight = γ, i.bias = β, i.running_mean,
                                                         i.running_var, i.num_batches_tracked (0)

Layers without parameters (activations, pooling, flatten, dropout) store nothing. The
metadata holds nnlearn's own description of the network (``"nnlearn"``: the same JSON
an ``.npz`` model file holds), which :func:`load_safetensors` rebuilds from, and
``"pytorch"``: the matching ``nn.Sequential`` as Python source (``None`` where PyTorch has
no module for a layer: ``Step``, classic-scaled ``Dropout``, strided asymmetric padding).
PyTorch's ``BatchNorm`` momentum is ``1 − momentum`` of nnlearn's (the weight of the new
batch, not of the old running value).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy

from nnlearn import backend
from nnlearn.errors import ConfigError, ModelFileError
from nnlearn.files import atomic_write, open_regular
from nnlearn.io.model_file import FORMAT, MAX_HEADER_BYTES, VERSION, network_from_arrays

DTYPES = {"F64": numpy.float64, "F32": numpy.float32, "F16": numpy.float16,
          "I64": numpy.int64, "I32": numpy.int32, "I16": numpy.int16, "I8": numpy.int8,
          "U8": numpy.uint8, "BOOL": numpy.bool_}
"""safetensors dtype tags and the NumPy types they store (little-endian)."""

_TAGS = {numpy.dtype(t): tag for tag, t in DTYPES.items()}
SUFFIX = ".safetensors"


# -- the container: tensors and string metadata ------------------------------------------

def write_safetensors(path: str | os.PathLike, tensors: dict[str, numpy.ndarray],
                      metadata: dict[str, str]) -> None:
    """Atomically write ``tensors`` (in insertion order) and ``metadata`` as a safetensors file."""
    entries: dict[str, Any] = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, array in tensors.items():
        array = numpy.ascontiguousarray(array)
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        entries[name] = {"dtype": _TAGS[array.dtype.newbyteorder("=")], "shape": list(array.shape),
                         "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header = json.dumps(entries, separators=(",", ":")).encode("utf-8")
    header += b" " * (-len(header) % 8)  # the format pads the header to 8-byte alignment
    prefix = len(header).to_bytes(8, "little")

    def write(f) -> None:
        f.write(prefix)
        f.write(header)
        for data in blobs:
            f.write(data)
    atomic_write(path, write)


def _broken(path, problem: str) -> ModelFileError:
    return ModelFileError(f"{path} is not a valid safetensors file ({problem})")


def read_safetensors(path: str | os.PathLike) -> tuple[dict[str, str], dict[str, numpy.ndarray]]:
    """The metadata and the tensors of a safetensors file, every offset and size checked
    against the file before anything is read into an array."""
    path = Path(path)
    with open_regular(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        prefix = f.read(8)
        if len(prefix) < 8:
            raise _broken(path, f"{size} bytes, shorter than the 8-byte header length")
        n = int.from_bytes(prefix, "little")
        if n > min(MAX_HEADER_BYTES, size - 8):
            raise _broken(path, f"the header claims {n:,} bytes in a {size:,}-byte file "
                                f"(at most {MAX_HEADER_BYTES:,} are read)")
        try:
            entries = json.loads(f.read(n).decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise _broken(path, f"the header is not JSON: {type(exc).__name__}: {exc}") from None
        data = f.read()
    if not isinstance(entries, dict):
        raise _broken(path, "the header is not a JSON object")
    metadata = entries.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _broken(path, "__metadata__ must map names to strings")
    tensors, spans = {}, []
    for name, entry in entries.items():
        if not isinstance(entry, dict) or entry.get("dtype") not in DTYPES:
            raise _broken(path, f"tensor {name!r} has dtype "
                                f"{entry.get('dtype') if isinstance(entry, dict) else entry!r}; "
                                f"known: {', '.join(DTYPES)}")
        shape, offsets = entry.get("shape"), entry.get("data_offsets")
        if (not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape)
                or not isinstance(offsets, list) or len(offsets) != 2
                or not all(type(o) is int for o in offsets)):
            raise _broken(path, f"tensor {name!r} needs a shape of non-negative integers and "
                                "data_offsets [begin, end]")
        dtype = numpy.dtype(DTYPES[entry["dtype"]]).newbyteorder("<")
        begin, end = offsets
        if not 0 <= begin <= end <= len(data) or end - begin != math.prod(shape) * dtype.itemsize:
            raise _broken(path, f"tensor {name!r} of shape {shape} ({entry['dtype']}) has "
                                f"data_offsets {offsets}, which do not fit its size in the "
                                f"{len(data):,} data bytes")
        spans.append((begin, end, name))
        tensors[name] = numpy.frombuffer(data, dtype, count=math.prod(shape),
                                         offset=begin).reshape(shape).astype(dtype.newbyteorder("="))
    spans.sort()
    for (_, end, first), (begin, _, second) in zip(spans, spans[1:]):
        if begin < end:
            raise _broken(path, f"tensors {first!r} and {second!r} overlap")
    return metadata, tensors


# -- nnlearn layers ↔ torch.nn modules -----------------------------------------------------

TORCH_NAMES = {
    "Dense": {"params.W": "weight", "params.b": "bias"},
    "Conv2D": {"params.W": "weight", "params.b": "bias"},
    "BatchNorm": {"params.gamma": "weight", "params.beta": "bias",
                  "buffers.running_mean": "running_mean", "buffers.running_var": "running_var"},
}
"""For each layer type with arrays: nnlearn's ``kind.key`` → PyTorch's attribute name."""

TRANSPOSED = {("Dense", "params.W")}
"""Arrays stored transposed: nnlearn's Dense W is (n_in, n_out), nn.Linear's weight (out, in)."""


def _torch_module(layer, shape: tuple[int, ...]) -> str | None:
    """The ``torch.nn`` module computing the same inference map as ``layer`` (as source)."""
    kind = type(layer).__name__
    if kind == "Dense":
        return f"nn.Linear({layer.n_in}, {layer.n_out})"
    if kind == "Conv2D":
        top, bottom, left, right = layer.pads
        if (top, left) == (bottom, right):
            padding = f"({top}, {left})"
        elif tuple(layer.stride) == (1, 1):  # PyTorch's "same" puts the odd row below, as nnlearn
            padding = "'same'"
        else:
            return None
        return (f"nn.Conv2d({layer.in_channels}, {layer.out_channels}, "
                f"kernel_size={tuple(layer.kernel_size)}, stride={tuple(layer.stride)}, "
                f"padding={padding})")
    if kind == "BatchNorm":
        dims = "1d" if len(shape) == 1 else "2d" if len(shape) == 3 else None
        return dims and (f"nn.BatchNorm{dims}({layer.num_features}, eps={layer.eps!r}, "
                         f"momentum={1 - layer.momentum!r})")
    if kind in ("MaxPool2D", "AvgPool2D", "L2Pool2D"):
        window = f"kernel_size={tuple(layer.pool_size)}, stride={tuple(layer.stride)}"
        return {"MaxPool2D": f"nn.MaxPool2d({window})", "AvgPool2D": f"nn.AvgPool2d({window})",
                "L2Pool2D": f"nn.LPPool2d(2, {window})"}[kind]
    if kind == "Dropout":
        return f"nn.Dropout({layer.p!r})" if layer.scale_at == "train" else None
    if kind == "LeakyReLU":
        return f"nn.LeakyReLU({layer.alpha!r})"
    return {"Sigmoid": "nn.Sigmoid()", "Tanh": "nn.Tanh()", "ReLU": "nn.ReLU()",
            "Linear": "nn.Identity()", "Softmax": "nn.Softmax(dim=1)",
            "Flatten": "nn.Flatten()"}.get(kind)


def pytorch_source(network) -> str:
    """``nn.Sequential(...)`` as Python source, one module per layer (``None`` for a layer
    PyTorch has no module for)."""
    modules, shape = [], tuple(network.input_shape)
    for layer in network.layers:
        modules.append(_torch_module(layer, shape) or "None")
        shape = tuple(layer.output_shape(shape))
    return "nn.Sequential(\n    " + ",\n    ".join(modules) + ",\n)"


def torch_state_dict(network) -> dict[str, numpy.ndarray]:
    """The network's arrays under ``nn.Sequential`` state-dict names, in PyTorch's layout."""
    state = {}
    for i, layer in enumerate(network.layers):
        kind = type(layer).__name__
        stored = {f"{group}.{key}": value for group in ("params", "buffers")
                  for key, value in getattr(layer, group).items()}
        names = TORCH_NAMES.get(kind, {}) if type(layer).__module__.startswith("nnlearn.") else {}
        if set(stored) - set(names):
            raise ConfigError(f"cannot export layer {i} ({kind}) to safetensors: no PyTorch "
                              f"names for its arrays {sorted(set(stored) - set(names))}; "
                              f"layers with arrays that export: {', '.join(TORCH_NAMES)}")
        for ours, theirs in names.items():
            array = numpy.asarray(backend.to_numpy(stored[ours]))
            state[f"{i}.{theirs}"] = array.T if (kind, ours) in TRANSPOSED else array
        if kind == "BatchNorm":
            state[f"{i}.num_batches_tracked"] = numpy.zeros((), numpy.int64)
    return state


def save_safetensors(network, path: str | os.PathLike,
                     metadata: dict[str, Any] | None = None) -> None:
    """Write ``network`` to ``path`` as safetensors: PyTorch's names and layout, nnlearn's
    architecture (and ``metadata``, e.g. the training hyper-parameters) in the metadata."""
    header = {"format": FORMAT, "version": VERSION, **network.config(),
              "metadata": metadata or {}}
    write_safetensors(path, torch_state_dict(network),
                      {"format": FORMAT, "nnlearn": json.dumps(header),
                       "pytorch": pytorch_source(network)})


def load_safetensors(path: str | os.PathLike):
    """Rebuild a network from a file written by :func:`save_safetensors` (the architecture
    from the metadata, every array checked as for an ``.npz`` model file)."""
    metadata, tensors = read_safetensors(path)
    if metadata.get("format") != FORMAT or "nnlearn" not in metadata:
        raise ModelFileError(f"{path} is a safetensors file without nnlearn's architecture in "
                             "its metadata (a bare state dict does not say which layers to "
                             "build); such files are written by `nnlearn export MODEL "
                             "OUT.safetensors`")
    try:
        header = json.loads(metadata["nnlearn"])
        specs = header["layers"]
        kinds = [spec["type"] for spec in specs]
        if header.get("version") != VERSION:
            raise ValueError(f"model format version {header.get('version')!r}; this nnlearn "
                             f"reads version {VERSION}")
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ModelFileError(f"{path}: the nnlearn metadata is damaged "
                             f"({type(exc).__name__}: {exc})") from None
    arrays = {}
    for name, value in tensors.items():
        index, _, attribute = name.partition(".")
        kind = kinds[int(index)] if index.isdigit() and int(index) < len(kinds) else None
        ours = {v: k for k, v in TORCH_NAMES.get(kind, {}).items()}.get(attribute)
        if kind == "BatchNorm" and attribute == "num_batches_tracked":
            continue  # PyTorch's counter; nnlearn's momentum does not use it
        if ours is None:
            arrays[name] = value  # reported as unexpected by network_from_arrays
            continue
        arrays[f"layer{index}.{ours}"] = (numpy.ascontiguousarray(value.T)
                                          if (kind, ours) in TRANSPOSED else value)
    return network_from_arrays(path, header, arrays)


def is_safetensors(path: str | os.PathLike) -> bool:
    """Whether ``path`` starts like a safetensors file (a header length, then ``{``), as
    opposed to a zip (``.npz``, starting ``PK``)."""
    with open_regular(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{" and head[:2] != b"PK"

