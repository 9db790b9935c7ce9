r"""Saving and loading networks without pickle.

A model file is an ``.npz`` archive (a zip of ``.npy`` arrays) holding:

* ``__nnlearn__``: UTF-8 JSON bytes (as a uint8 array) with the format tag and
  version, the architecture (layer types and constructor arguments), cost, dtype,
  input shape and free-form metadata (e.g. the training hyper-parameters);
* ``layer{i}.params.{name}`` and ``layer{i}.buffers.{name}``: the arrays.

Loading reads arrays with ``allow_pickle=False`` and rebuilds layers only from the
registry of known layer types, so a model file can never execute code. Saving
writes a temporary file beside the target and renames it over the target, so an
existing file is never left half-written.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy

from nnlearn import backend
from nnlearn.errors import ModelFileError

FORMAT = "nnlearn.model"
VERSION = 1
_META_KEY = "__nnlearn__"


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(fileobj)`` on a temp file in ``path``'s folder, then rename it to ``path``.

    If anything fails, the temp file is removed and an existing ``path`` is untouched.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def save(network, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> None:
    """Save ``network`` to ``path`` (conventionally ``*.npz``) atomically."""
    header = {"format": FORMAT, "version": VERSION, **network.config(),
              "metadata": metadata or {}}
    arrays = {_META_KEY: numpy.frombuffer(json.dumps(header).encode("utf-8"), dtype=numpy.uint8)}
    for i, layer in enumerate(network.layers):
        for kind in ("params", "buffers"):
            for key, value in getattr(layer, kind).items():
                arrays[f"layer{i}.{kind}.{key}"] = backend.to_numpy(value)
    atomic_write(path, lambda f: numpy.savez(f, **arrays))


def read_header(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, numpy.ndarray]]:
    """The JSON header and the arrays of a model file, validated for format only."""
    path = Path(path)
    try:
        with open(path, "rb") as handle, numpy.load(handle, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ModelFileError(f"{path} is not an nnlearn model file (unreadable archive: {exc})") from None
    except Exception as exc:  # zipfile and numpy raise a zoo of types on damaged input
        raise ModelFileError(f"{path} is not an nnlearn model file ({type(exc).__name__}: {exc})") from None
    if not isinstance(arrays, dict) or _META_KEY not in arrays:
        raise ModelFileError(f"{path} is not an nnlearn model file (no {_META_KEY} header); "
                             "model files are written by Network.save or `nnlearn train --save`")
    raw = arrays.pop(_META_KEY)
    try:
        header = json.loads(raw.astype(numpy.uint8).tobytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path}: the model header is not valid JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not an nnlearn model file (format tag missing)")
    if header.get("version") != VERSION:
        raise ModelFileError(f"{path} has model format version {header.get('version')!r}; "
                             f"this nnlearn reads version {VERSION}")
    return header, arrays


def load(path: str | os.PathLike):
    """Load a network saved by :func:`save`. Raises ``ModelFileError`` on anything wrong."""
    from nnlearn.layers.base import LAYER_TYPES
    from nnlearn.network import Network

    header, arrays = read_header(path)
    try:
        specs = header["layers"]
        if not isinstance(specs, list) or not specs:
            raise ModelFileError(f"{path}: 'layers' must be a non-empty list")
        layers = []
        for i, spec in enumerate(specs):
            if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
                raise ModelFileError(f"{path}: layer {i} is malformed")
            cls = LAYER_TYPES.get(spec.get("type")) if isinstance(spec.get("type"), str) else None
            if cls is None:
                raise ModelFileError(f"{path}: layer {i} has unknown type {spec.get('type')!r}; "
                                     f"known types: {', '.join(sorted(LAYER_TYPES))}")
            layers.append(cls(**spec["config"]))
        net = Network(layers, header["cost"], dtype=header["dtype"],
                      input_shape=header["input_shape"])
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{path}: invalid architecture in the model header ({exc})") from None
    expected = {f"layer{i}.{kind}.{key}" for i, layer in enumerate(net.layers)
                for kind in ("params", "buffers") for key in getattr(layer, kind)}
    if set(arrays) != expected:
        missing, extra = sorted(expected - set(arrays)), sorted(set(arrays) - expected)
        raise ModelFileError(f"{path}: arrays do not match the architecture "
                             f"(missing {missing}, unexpected {extra})")
    xp = backend.xp
    for i, layer in enumerate(net.layers):
        for kind in ("params", "buffers"):
            store = getattr(layer, kind)
            for key, current in store.items():
                value = arrays[f"layer{i}.{kind}.{key}"]
                if value.shape != current.shape or value.dtype.kind != "f":
                    raise ModelFileError(f"{path}: array layer{i}.{kind}.{key} has shape "
                                         f"{value.shape} and dtype {value.dtype}, expected "
                                         f"{current.shape} floating point")
                store[key] = xp.asarray(value, dtype=net.dtype)
    net.metadata = header.get("metadata", {})
    return net
