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
import zipfile
from pathlib import Path
from typing import Any

import numpy

from nnlearn import backend, checks
from nnlearn.errors import ConfigError, DataError, ModelFileError
from nnlearn.files import NotARegularFileError, atomic_write, open_regular
from nnlearn.nn import memory
from nnlearn.nn.layers.base import LAYER_TYPES
from nnlearn.nn.network import Network

FORMAT = "nnlearn.model"
VERSION = 1
_META_KEY = "__nnlearn__"


def save(network, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> None:
    """Save ``network`` to ``path`` (conventionally ``*.npz``) atomically."""
    header = {"format": FORMAT, "version": VERSION, **network.config(),
              "metadata": metadata or {}}
    arrays = {}
    for i, layer in enumerate(network.layers):
        for kind in ("params", "buffers"):
            for key, value in getattr(layer, kind).items():
                arrays[f"layer{i}.{kind}.{key}"] = backend.to_numpy(value)
    write_archive(path, header, arrays)


def write_archive(path: str | os.PathLike, header: dict[str, Any],
                  arrays: dict[str, numpy.ndarray]) -> None:
    """Atomically write ``header`` (as UTF-8 JSON) and ``arrays`` to an uncompressed ``.npz``."""
    blob = numpy.frombuffer(json.dumps(header).encode("utf-8"), dtype=numpy.uint8)
    atomic_write(path, lambda f: numpy.savez(f, **{_META_KEY: blob}, **arrays))


MAX_HEADER_BYTES = 16 * 2**20
"""Largest JSON header a model file or checkpoint may have; parsing is refused above it
(a million-layer header of 35 MB would build millions of Python objects first)."""

MAX_EXPANSION = 64
"""A model file may unpack to at most this many times its size (plus 16 MiB): our own
files are stored uncompressed, so only a zip bomb comes near the limit."""


def _check_unpacked_size(path: Path, handle) -> None:
    """Refuse a zip whose members declare more bytes than :data:`MAX_EXPANSION` allows
    (checked from the zip directory, before anything is decompressed)."""
    size = os.fstat(handle.fileno()).st_size
    with zipfile.ZipFile(handle) as archive:
        unpacked = sum(info.file_size for info in archive.infolist())
    handle.seek(0)
    if unpacked > MAX_EXPANSION * size + 2**24:
        raise ModelFileError(f"{path}: the archive declares {unpacked} bytes of content in a "
                             f"{size}-byte file; refusing more than {MAX_EXPANSION}x expansion "
                             "(zip bomb?)")


def read_header(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, numpy.ndarray]]:
    """The JSON header and the arrays of a model file, validated for format only."""
    return read_archive(path, FORMAT, VERSION, "model")


def read_archive(path: str | os.PathLike, fmt: str, version: int, what: str,
                 hint: str = "model files are written by Network.save or `nnlearn train --save`",
                 ) -> tuple[dict[str, Any], dict[str, numpy.ndarray]]:
    """Read an archive written by :func:`write_archive` whose header has format tag ``fmt``
    and ``version``; any damage raises ``ModelFileError`` ("not an nnlearn {what} file")."""
    path = Path(path)
    try:
        with open_regular(path, "rb") as handle:
            _check_unpacked_size(path, handle)
            with numpy.load(handle, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
    except (FileNotFoundError, ModelFileError, NotARegularFileError):
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ModelFileError(f"{path} is not an nnlearn {what} file "
                             f"(unreadable archive: {exc})") from None
    except Exception as exc:  # zipfile and numpy raise a zoo of types on damaged input
        raise ModelFileError(f"{path} is not an nnlearn {what} file "
                             f"({type(exc).__name__}: {exc})") from None
    raw_members = sorted(name for name, value in arrays.items() if not isinstance(value, numpy.ndarray))
    if raw_members:  # numpy.load returns the bytes of a zip member not stored as .npy
        raise ModelFileError(f"{path} is not an nnlearn {what} file: member "
                             f"{raw_members[0]!r} is not a .npy array; {hint}")
    if not isinstance(arrays, dict) or _META_KEY not in arrays:
        raise ModelFileError(f"{path} is not an nnlearn {what} file (no {_META_KEY} header); "
                             f"{hint}")
    raw = arrays.pop(_META_KEY)
    if raw.dtype != numpy.uint8 or raw.ndim != 1:
        raise ModelFileError(f"{path}: the {what} header is an array of dtype {raw.dtype} and "
                             f"shape {raw.shape}, expected 1-D uint8 (UTF-8 JSON bytes)")
    if raw.size > MAX_HEADER_BYTES:
        raise ModelFileError(f"{path}: the {what} header is {raw.size:,} bytes of JSON, more than "
                             f"the limit of {MAX_HEADER_BYTES:,} (a network of "
                             "nnlearn.nn.memory.MAX_LAYERS layers needs well under 1 MB)")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # deep nesting: RecursionError
        raise ModelFileError(f"{path}: the {what} header is not valid JSON "
                             f"({type(exc).__name__}: {exc})") from None
    if not isinstance(header, dict) or header.get("format") != fmt:
        found = header.get("format") if isinstance(header, dict) else None
        raise ModelFileError(f"{path} is not an nnlearn {what} file (format tag {found!r}, "
                             f"expected {fmt!r}); {hint}")
    if header.get("version") != version:
        raise ModelFileError(f"{path} has {what} format version {header.get('version')!r}; "
                             f"this nnlearn reads version {version}")
    return header, arrays


_GEOMETRY_KEYS = frozenset({"input_shape", "stride", "padding", "pool_size"})


def _check_declared_sizes(path, specs: list, arrays: dict[str, numpy.ndarray]) -> None:
    r"""Refuse layer configs whose sizes would allocate far more than the file stores.

    Layers allocate their parameters when constructed, so a hostile header such as
    ``Dense(n_in=10**6, n_out=10**6)`` must be caught *before* construction. For a
    genuine file every size argument's product (``n_in·n_out``, ``F·C·kh·kw``,
    ``num_features``) is at most the number of stored values; geometry arguments
    (stride, padding, input shape) allocate nothing and are skipped.
    """
    stored = sum(int(a.size) for a in arrays.values())
    budget = 4 * stored + 2**20
    for i, spec in enumerate(specs):
        config = spec.get("config") if isinstance(spec, dict) else None
        if not isinstance(config, dict):
            continue
        product, stack = 1, [v for k, v in config.items() if k not in _GEOMETRY_KEYS]
        while stack:  # iterative: a deeply nested config must not recurse
            value = stack.pop()
            if isinstance(value, (list, dict)):
                stack.extend(value.values() if isinstance(value, dict) else value)
            elif isinstance(value, int) and not isinstance(value, bool) and value > 1:
                product *= value
                if product > budget:
                    raise ModelFileError(
                        f"{path}: layer {i} ({spec.get('type')!r}) declares sizes whose product "
                        f"exceeds {budget} values, but the file stores only {stored}: damaged "
                        "or hostile header")


def check_float_array(path, name: str, value, dtype, shape: tuple[int, ...] | None = None) -> None:
    """``ModelFileError`` unless ``value`` is a real floating-point array (of ``shape``, when
    given) whose values are finite and within the range of ``dtype``: the rule for every
    array a model file or a checkpoint stores (integer, bool and complex arrays cannot hold
    weights; NaN, inf and float64 values beyond float32 would load as garbage)."""
    if (shape is not None and value.shape != shape) or value.dtype.kind != "f":
        expected = f"{shape} floating point" if shape is not None else "floating point"
        raise ModelFileError(f"{path}: array {name} has shape {value.shape} and dtype "
                             f"{value.dtype}, expected {expected}")
    limit = numpy.finfo(dtype).max  # NaN fails the comparison too
    if not bool(numpy.all(numpy.abs(value) <= limit)):
        raise ModelFileError(f"{path}: array {name} holds NaN, inf or values beyond the "
                             f"{numpy.dtype(dtype).name} range")


def _plan(path, header: dict[str, Any]) -> None:
    """Refuse, before any layer is built, an architecture beyond nnlearn's structural limits
    (layer count, Conv2D padding, window sizes, values per example: :mod:`nnlearn.nn.memory`)."""
    shape = header.get("input_shape")
    if not isinstance(shape, list) or not all(checks.is_int(d) for d in shape):
        raise ModelFileError(f"{path}: invalid architecture in the model header (input_shape "
                             f"must be a list of integers, got {shape!r})")
    try:
        memory.check_limits(memory.plan_network(header["layers"], shape))
    except (ConfigError, DataError) as exc:
        raise ModelFileError(f"{path}: the model header describes a network nnlearn refuses to "
                             f"build: {exc}") from None


def load(path: str | os.PathLike):
    """Load a network saved by :func:`save` (``.npz``) or by
    :func:`nnlearn.io.safetensors.save_safetensors` (told apart by their first bytes).
    Raises ``ModelFileError`` on anything wrong.

    Before any layer is built, the header's sizes are checked against what the file
    stores and against the structural limits of :mod:`nnlearn.nn.memory`, so that a few
    bytes of header cannot ask for gigabytes.
    """
    from nnlearn.io import safetensors  # safetensors.py builds on this module: import when used

    if safetensors.is_safetensors(path):
        return safetensors.load_safetensors(path)
    header, arrays = read_header(path)
    return network_from_arrays(path, header, arrays)


def network_from_arrays(path: str | os.PathLike, header: dict[str, Any],
                        arrays: dict[str, numpy.ndarray]):
    """The network a model header describes, holding ``arrays`` (named
    ``layer{i}.params.{key}`` / ``layer{i}.buffers.{key}``); each check refuses with a
    ``ModelFileError`` naming ``path``."""
    try:
        specs = header["layers"]
        if not isinstance(specs, list) or not specs:
            raise ModelFileError(f"{path}: 'layers' must be a non-empty list")
        _check_declared_sizes(path, specs, arrays)
        _plan(path, header)
        layers = [LAYER_TYPES[spec["type"]](**spec["config"]) for spec in specs]
        net = Network(layers, header["cost"], dtype=header["dtype"],
                      input_shape=header["input_shape"])
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        raise ModelFileError(f"{path}: invalid architecture in the model header "
                             f"({type(exc).__name__}: {exc})") from None
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
                name = f"layer{i}.{kind}.{key}"
                check_float_array(path, name, arrays[name], net.dtype, current.shape)
                store[key] = xp.asarray(arrays[name], dtype=net.dtype)
    net.metadata = header.get("metadata", {})
    return net
