r"""Shared fuzzing harness: hypothesis strategies for hostile IDX and model files, and the oracles.

The oracle of every fuzz case is the same: reading the file either succeeds or
raises one of nnlearn's own errors (``IDXFormatError``/``DataError`` for IDX files,
``ModelFileError`` for model files). Any other exception, or any warning (pytest
runs with warnings as errors and :func:`check_quietly` turns them into errors
outside pytest too), is a bug in the library.

Strategies:

* IDX: random bytes; *structured* headers (magic, dtype code, ndim and dimensions
  drawn from edge values such as 0, 2**31 - 1 and 2**32 - 1, so their product
  overflows 32 and 64 bits) followed by payloads of the exact, a shorter, a longer or
  a random length; byte-level mutations (flip, truncate, insert, splice) of valid
  files; each written raw or gzip-compressed (whole, truncated or bit-flipped).
* Model files: random bytes; byte mutations of a valid model file; and *structured*
  mutations: the JSON header edited as a tree (values replaced by random JSON,
  keys deleted or added, unknown layer types, wrong types in configs, deep
  nesting, invalid UTF-8), the arrays edited (wrong shapes and dtypes, object,
  string, complex and structured arrays, 0-d arrays, NaN/inf, missing and extra
  entries), written back as a real ``.npz``.
* The web API's JSON endpoints (:func:`web_requests`, oracle :func:`check_web`): requests
  to the real application of ``nnlearn serve`` (in process, through Starlette's
  TestClient) over a runs folder that holds a good run, a damaged one and a symbolic link
  leading outside: valid bodies with one field replaced by random JSON, random JSON,
  random bytes, deep nesting, 5000-digit integers, NaN; run names and query values of any
  text. Every answer must be a success or a 4xx (or 503 for a full session pool) with a
  JSON ``{"error", "field"}`` body; a server error or an exception is a bug.
* Sweep space files (``nnlearn search``, :func:`check_space`): random bytes; byte
  mutations of a valid space; and *structured* spaces: known, misspelt and deeply nested
  ``[search]`` keys, grids of edge values or of 10⁵ values, ranges and choices with edge
  bounds, ``[sweep]`` options up to 10¹⁸ trials. The oracle: the trials are listed
  (never more than the limit) or a ``ConfigError`` names the file.
* Valid-but-huge inputs (:func:`huge_models`, :func:`huge_idx`, :func:`huge_png`): files
  that pass every format check but declare huge activations, data sets or images. These
  run the real command line (``nnlearn predict`` / ``train``) in a subprocess under
  ``RLIMIT_AS`` = :data:`BOMB_LIMIT`; the oracle (:func:`check_bomb`) is a success or a
  clean error (exit 1 or 2 with a message), never a traceback or a ``MemoryError``.
"""

from __future__ import annotations

import atexit
import gzip
import io
import json
import math
import shutil
import struct
import tempfile
import warnings
import zlib
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

import nnlearn
from nnlearn.data import read_idx
from nnlearn.errors import DataError, IDXFormatError, ModelFileError

COUNTS: dict[str, int] = {}
"""Fuzz cases run in this process, by target (written into docs/reliability.md)."""

_WORKDIR = Path(tempfile.mkdtemp(prefix="nnlearn-fuzz-"))
atexit.register(shutil.rmtree, _WORKDIR, True)


def _count(name: str) -> None:
    COUNTS[name] = COUNTS.get(name, 0) + 1


def _write(data: bytes, suffix: str) -> Path:
    path = _WORKDIR / f"case{suffix}"
    path.write_bytes(data)
    return path


# -- oracles ------------------------------------------------------------------
def check_idx(data: bytes, target: str = "read_idx") -> np.ndarray | None:
    """Read ``data`` as an IDX file: the result or ``None`` for our own error; anything else raises."""
    _count(target)
    path = _write(data, ".idx")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            arr = read_idx(path)
        except (IDXFormatError, DataError) as exc:
            assert str(path) in str(exc), f"error message does not name the file: {exc}"
            return None
    assert isinstance(arr, np.ndarray) and arr.flags.writeable
    return arr


def read_or_own_error(data: bytes, suffix: str, target: str, read, errors) -> object | None:
    """The oracle's common part: write ``data`` to a file, ``read(path)`` it with warnings
    as errors, and return the result, or ``None`` for one of nnlearn's own ``errors`` whose
    message names the file (and does not repeat a huge input). Anything else propagates."""
    _count(target)
    path = _write(data, suffix)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return read(path)
        except errors as exc:
            assert str(path) in str(exc), f"error message does not name the file: {exc}"
            assert len(str(exc)) < 5000, "the message repeats a huge input"
            return None


def check_model(data: bytes, target: str = "load") -> object | None:
    """Load ``data`` as a model file: the network or ``None`` for ``ModelFileError``."""
    net = read_or_own_error(data, ".npz", target, nnlearn.load, ModelFileError)
    if net is None:
        return None
    assert isinstance(net, nnlearn.Network)
    for layer in net.layers:  # a loaded model has finite weights of the model's dtype
        for value in (*layer.params.values(), *layer.buffers.values()):
            assert value.dtype == net.dtype and np.isfinite(value).all()
    return net


# -- IDX strategies -------------------------------------------------------------
_CODES = (0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E)
_ITEMSIZE = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}
_EDGE_DIMS = (0, 1, 2, 3, 7, 28, 255, 256, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1)

dims = st.one_of(st.sampled_from(_EDGE_DIMS), st.integers(0, 12), st.integers(0, 2**32 - 1))


@st.composite
def idx_structured(draw) -> bytes:
    """A header assembled from (mostly) plausible parts and a payload of a chosen length."""
    magic = draw(st.one_of(st.just(b"\x00\x00"), st.binary(min_size=2, max_size=2)))
    code = draw(st.one_of(st.sampled_from(_CODES), st.integers(0, 255)))
    ndim = draw(st.one_of(st.integers(0, 4), st.sampled_from((32, 33, 64, 65, 255)),
                          st.integers(0, 255)))
    small = draw(st.booleans())
    shape = [draw(st.integers(0, 5) if small else dims) for _ in range(min(ndim, 70))]
    header = magic + bytes([code, ndim]) + b"".join(d.to_bytes(4, "big") for d in shape)
    if draw(st.booleans()):  # truncate inside the header sometimes
        header = header[:draw(st.integers(0, len(header)))]
    expected = int(np.prod([float(d) for d in shape])) * _ITEMSIZE.get(code, 1) \
        if all(d < 1000 for d in shape) else 10**9
    mode = draw(st.sampled_from(("exact", "short", "long", "random")))
    if mode == "exact" and expected <= 4096:
        n = expected
    elif mode == "short" and 0 < expected <= 4096:
        n = draw(st.integers(0, expected - 1))
    elif mode == "long" and expected <= 4096:
        n = expected + draw(st.integers(1, 16))
    else:
        n = draw(st.integers(0, 64))
    return header + draw(st.binary(min_size=n, max_size=n))


@st.composite
def idx_valid(draw) -> bytes:
    """Bytes of a valid IDX file (the layout ``write_idx`` writes) of a small array 0, 1, 2, ..."""
    dtype = draw(st.sampled_from(("uint8", "int8", "int16", "int32", "float32", "float64")))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=1, max_size=4)))
    arr = np.arange(int(np.prod(shape)), dtype=dtype).reshape(shape)
    buf = io.BytesIO()
    header = bytes([0, 0, {"uint8": 8, "int8": 9, "int16": 11, "int32": 12, "float32": 13,
                           "float64": 14}[dtype], len(shape)])
    buf.write(header + np.asarray(shape, dtype=">u4").tobytes())
    buf.write(arr.astype(arr.dtype.newbyteorder(">")).tobytes())
    return buf.getvalue()


@st.composite
def mutated(draw, base: st.SearchStrategy[bytes]) -> bytes:
    """``base`` bytes with one to four byte-level mutations."""
    data = bytearray(draw(base))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(("flip", "set", "truncate", "insert", "delete", "dup")))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and data:
            data[pos] = draw(st.sampled_from((0x00, 0xFF, 0x7F, 0x80, 0x01)))
        elif op == "truncate":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and data:
            del data[pos:pos + draw(st.integers(1, 8))]
        elif op == "dup" and data:
            data[pos:pos] = data[pos:pos + draw(st.integers(1, 16))]
    return bytes(data)


@st.composite
def gzipped(draw, base: st.SearchStrategy[bytes]) -> bytes:
    """``base`` gzip-compressed, and then possibly truncated or corrupted."""
    data = gzip.compress(draw(base), mtime=0)
    how = draw(st.sampled_from(("whole", "whole", "truncate", "flip")))
    if how == "truncate":
        data = data[:draw(st.integers(0, len(data) - 1))]
    elif how == "flip":
        data = bytearray(data)
        data[draw(st.integers(2, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
        data = bytes(data)
    return data


idx_raw = st.one_of(st.binary(max_size=96), idx_structured(), mutated(idx_valid()))
idx_files = st.one_of(idx_raw, gzipped(idx_raw))
"""Every kind of IDX case, raw and gzip."""


# -- model-file strategies ------------------------------------------------------
def _valid_networks() -> list[nnlearn.Network]:
    from nnlearn import BatchNorm, Dense, Dropout, Network, ReLU, Softmax

    return [
        Network.from_sizes([4, 3, 2], seed=0),
        Network.from_sizes([3, 2], cost="log_likelihood", seed=1, dtype="float64"),
        Network([Dense(3, 4), BatchNorm(4), ReLU(), Dropout(0.25), Dense(4, 2), Softmax()],
                "log_likelihood", seed=2),
    ]


def model_parts(net) -> tuple[dict, dict[str, np.ndarray]]:
    """``(header, arrays)`` of the model file ``net.save`` would write."""
    path = _WORKDIR / "base.npz"
    net.save(path, metadata={"note": "fuzz base"})
    with np.load(path, allow_pickle=False) as archive:
        arrays = {k: archive[k] for k in archive.files}
    header = json.loads(arrays.pop("__nnlearn__").tobytes().decode("utf-8"))
    return header, arrays


def pack_model(header_bytes: bytes | np.ndarray, arrays: dict[str, object]) -> bytes:
    """An ``.npz`` (like ``numpy.savez``) with ``header_bytes`` as the header entry."""
    buf = io.BytesIO()
    head = header_bytes if isinstance(header_bytes, np.ndarray) \
        else np.frombuffer(header_bytes, dtype=np.uint8)
    np.savez(buf, __nnlearn__=head, **arrays)  # object arrays get pickled: the loader must refuse them
    return buf.getvalue()


BASES = None


def _bases():
    global BASES
    if BASES is None:
        BASES = [model_parts(net) for net in _valid_networks()]
    return BASES


json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                      st.sampled_from((0, -1, 1, 2**31, 2**63, 10**6, 10**12)),
                      st.floats(allow_nan=False), st.sampled_from((float("nan"), float("inf"))),
                      st.text(max_size=12),
                      st.sampled_from(("Dense", "Sigmoid", "Softmax", "Conv2D", "__init__",
                                       "float16", "float32", "object", "quadratic", "O")))
def _json_containers(kids: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(st.lists(kids, max_size=4),
                     st.dictionaries(st.text(max_size=8), kids, max_size=4))


json_values = st.recursive(json_leaf, _json_containers, max_leaves=10)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _get(node, path):
    for p in path:
        node = node[p]
    return node


@st.composite
def mutated_header(draw, header: dict) -> dict:
    """The JSON tree with one to three edits at random places."""
    header = json.loads(json.dumps(header))
    for _ in range(draw(st.integers(1, 3))):
        if not isinstance(header, dict):
            break
        paths = list(_paths(header))
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(("replace", "replace", "delete", "add", "layer_type", "wrap")))
        if op == "layer_type" and isinstance(header.get("layers"), list) and header["layers"]:
            i = draw(st.integers(0, len(header["layers"]) - 1))
            if isinstance(header["layers"][i], dict):
                header["layers"][i]["type"] = draw(st.sampled_from(
                    ("Nope", "Layer", "object", "Conv2D", "Dense", "BatchNorm", "Sigmoid", "")))
            continue
        if not path:
            if op == "replace":
                header = draw(json_values)
            continue
        parent, key = _get(header, path[:-1]), path[-1]
        if op == "replace":
            parent[key] = draw(json_values)
        elif op == "delete":
            del parent[key]
        elif op == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=6))] = draw(json_values)
        elif op == "add" and isinstance(parent, list):
            parent.insert(key, draw(json_values))
        elif op == "wrap":
            parent[key] = [parent[key]] if draw(st.booleans()) else {"x": parent[key]}
    return header


_ODD_ARRAYS = st.sampled_from((
    "empty", "scalar", "int", "bool", "complex", "float16", "longdouble", "object", "str",
    "bytes", "structured", "nan", "inf", "huge", "transposed", "extra_dim", "big"))


def _odd_array(kind: str, like: np.ndarray) -> np.ndarray:
    if like.dtype.kind != "f":  # already replaced by an odd array: start from a float one
        like = np.ones(3)
    if kind == "empty":
        return np.zeros((0,), like.dtype)
    if kind == "scalar":
        return np.array(1.5, like.dtype)
    if kind == "int":
        return np.arange(like.size, dtype=np.int64).reshape(like.shape)
    if kind == "bool":
        return like > 0
    if kind == "complex":
        return like.astype(np.complex64)
    if kind == "float16":
        return like.astype(np.float16)
    if kind == "longdouble":
        return like.astype(np.longdouble)
    if kind == "object":
        return np.array([1, "a", None], dtype=object)
    if kind == "str":
        return np.array(["a", "bc"])
    if kind == "bytes":
        return np.array([b"a", b"bc"])
    if kind == "structured":
        return np.zeros(like.shape, dtype=[("a", "f4"), ("b", "i4")])
    if kind == "nan":
        out = like.astype(np.float64, copy=True)
        out.reshape(-1)[:1] = np.nan
        return out
    if kind == "inf":
        out = like.astype(np.float64, copy=True)
        out.reshape(-1)[:1] = -np.inf
        return out
    if kind == "huge":  # finite in float64, not representable in float32
        return np.full(like.shape, 1e300)
    if kind == "transposed":
        return like.T.copy()
    if kind == "extra_dim":
        return like[None]
    return np.zeros(tuple(d + 1 for d in like.shape) or (2,), like.dtype)


@st.composite
def model_structured(draw) -> bytes:
    """A valid model file with its header and/or arrays edited (structured mutations)."""
    header, arrays = draw(st.sampled_from(_bases()))
    arrays = dict(arrays)
    if draw(st.booleans()):
        header = draw(mutated_header(header))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.sampled_from(("odd", "drop", "extra", "rename")))
        key = draw(st.sampled_from(sorted(arrays))) if arrays else None
        if op == "odd" and key:
            arrays[key] = _odd_array(draw(_ODD_ARRAYS), arrays[key])
        elif op == "drop" and key:
            del arrays[key]
        elif op == "extra":
            arrays[draw(st.sampled_from(("layer9.params.W", "layer0.params.Z", "junk",
                                         "layer0.buffers.W")))] = np.ones(3)
        elif op == "rename" and key:
            arrays[key + "x"] = arrays.pop(key)
    head_kind = draw(st.sampled_from(("json",) * 6 + ("utf8", "deep", "float", "2d", "nonjson")))
    text = json.dumps(header, allow_nan=True).encode("utf-8")
    if head_kind == "utf8":
        head: bytes | np.ndarray = text[:5] + b"\xff\xfe\xc3" + text[5:]
    elif head_kind == "deep":
        depth = draw(st.sampled_from((100, 1000, 100000)))
        head = b"[" * depth + b"]" * depth
    elif head_kind == "float":
        head = np.frombuffer(text, dtype=np.uint8).astype(np.float64)
    elif head_kind == "2d":
        head = np.frombuffer(text, dtype=np.uint8)[: len(text) // 2 * 2].reshape(-1, 2)
    elif head_kind == "nonjson":
        head = text[: draw(st.integers(0, len(text)))]
    else:
        head = text
    return pack_model(head, arrays)


@st.composite
def model_valid_bytes(draw) -> bytes:
    header, arrays = draw(st.sampled_from(_bases()))
    return pack_model(json.dumps(header).encode(), arrays)


model_files = st.one_of(st.binary(max_size=200), model_structured(),
                        mutated(model_valid_bytes()), model_structured())
"""Every kind of model-file case."""


# -- valid-but-huge inputs, each run by the real command line under a memory limit ----------
BOMB_LIMIT = 2 * 2**30
"""``RLIMIT_AS`` of every bomb case: the whole ``nnlearn`` process gets 2 GiB of address space."""


def _bombs():
    import bombs  # beside this file: builders and the limited runner

    return bombs


def check_bomb(target: str, argv: list, limit: int = BOMB_LIMIT) -> object:
    """Run ``python -m nnlearn ARGV`` under ``limit``; it must succeed or fail cleanly (exit 1
    or 2 with one ``error:`` line), never with a traceback or a ``MemoryError``."""
    _count(target)
    bombs = _bombs()
    outcome = bombs.nnlearn(*argv, limit=limit, timeout=300)
    problem = bombs.clean_failure(outcome)
    assert problem is None, f"{' '.join(map(str, argv))}: {problem}"
    return outcome


def _fixtures() -> dict[str, Path]:
    """A digit PNG and a working model, made once per process."""
    bombs = _bombs()
    digit, model = _WORKDIR / "digit.png", _WORKDIR / "small.npz"
    if not digit.exists():
        bombs.digit_png(digit)
        bombs.small_model(model)
    return {"digit": digit, "model": model}


_GEOMETRY = (0, 1, 2, 4, 5, 63, 64, 65, 1000, 10**6, 2**31 - 1)


@st.composite
def huge_models(draw) -> tuple[list[dict], list[int]]:
    """``(layers, input_shape)`` of a model file whose arrays are small but whose geometry may
    ask for huge activations or work: Conv2D padding/stride/kernel, pooling windows, many
    layers, large declared input shapes. The final Dense matches the shapes nnlearn's own
    formulas give, so the file is consistent as far as sizes go."""
    kind = draw(st.sampled_from(("conv", "conv", "pool", "deep")))
    if kind == "deep":
        n = draw(st.sampled_from((999, 1000, 1001, 5000, 100_000)))
        return ([{"type": "Dense", "config": {"n_in": 784, "n_out": 10}}]
                + [{"type": draw(st.sampled_from(("Sigmoid", "ReLU", "Dropout")))
                    if i == 0 else "Sigmoid", "config": {}} for i in range(n)]), [784]
    side = draw(st.sampled_from((28, 28, 1000, 5000, 65535)))
    layers, (C, H) = [], (1, side)
    if kind == "conv":
        k = draw(st.sampled_from((1, 3, 5, 64, 65)))
        pad, stride = draw(st.sampled_from(_GEOMETRY)), draw(st.sampled_from((1, 2, 7, 1000)))
        F = draw(st.sampled_from((1, 4, 32)))
        layers.append({"type": "Conv2D", "config": {
            "in_channels": C, "out_channels": F, "kernel_size": [k, k], "stride": [stride, stride],
            "padding": [pad, pad]}})
        C, H = F, max(1, (H + 2 * pad - k) // stride + 1)
    pool = draw(st.sampled_from((2, 64, 65, H, 1000, 10**5)))
    pool_stride = draw(st.sampled_from((pool, 1)))
    layers.append({"type": draw(st.sampled_from(("MaxPool2D", "AvgPool2D", "L2Pool2D"))),
                   "config": {"pool_size": [pool, pool], "stride": [pool_stride, pool_stride]}})
    out = (H - pool) // pool_stride + 1 if pool <= H else 1
    n_in = C * out * out
    if n_in > 2**16:  # keep the stored Dense small: say what a global pool would leave
        n_in = C
    layers += [{"type": "Flatten", "config": {}},
               {"type": "Dense", "config": {"n_in": n_in, "n_out": 10}},
               {"type": "Softmax", "config": {}}]
    return layers, [1, side, side]


def check_huge_model(case: tuple[list[dict], list[int]], target: str = "bombs: model files"):
    """Write the model and run ``nnlearn predict MODEL digit.png`` under the memory limit."""
    layers, shape = case
    path = _bombs().model_file(_WORKDIR / "bomb.npz", layers, shape, cost="log_likelihood")
    return check_bomb(target, ["predict", path, _fixtures()["digit"]])


@st.composite
def huge_idx(draw) -> dict:
    """An MNIST-style folder whose training (or test) files declare many or large images,
    with a payload of gzip zeros stored in full (up to 256 MiB) or cut short, or int32
    labels as large as 2³¹ − 1."""
    split = draw(st.sampled_from(("train", "test")))
    n = draw(st.sampled_from((300, 10**5, 10**6, 2_739_000, 2**31 - 1)))
    rows = draw(st.sampled_from((28, 28, 1000, 65535)))
    payload = n * rows * rows
    full = payload <= 2**28 and draw(st.booleans())
    stored = payload if full else min(payload, draw(st.sampled_from((0, 1000, 2**20))))
    case = {"split": split, "n": n, "rows": rows, "stored": stored,
            "label": draw(st.sampled_from((None, 10, 255, 3_000_000, 2**31 - 1)))}
    case["num_classes"] = draw(st.sampled_from((None, None, 10, 2**31)))
    return case


def check_huge_idx(case: dict, target: str = "bombs: IDX folders"):
    """Build the folder and run ``nnlearn train --data DIR --train-size 50 ...`` under the limit."""
    import shutil

    bombs = _bombs()
    folder = _WORKDIR / "idx"
    shutil.rmtree(folder, ignore_errors=True)
    n, rows, split = case["n"], case["rows"], case["split"]
    files = {f"{split}_images": bombs.gzip_zeros(bombs.idx_header((n, rows, rows)),
                                                 case["stored"]),
             f"{split}_labels": bombs.gzip_zeros(bombs.idx_header((n,)), min(n, case["stored"]))}
    labels = None
    if case["label"] is not None:
        y = np.arange(300) % 10
        y[7] = case["label"]
        labels = {"train_labels": y}
        files.pop("train_labels", None)
    bombs.mnist_folder(folder, n_train=300, labels=labels, **files)
    argv = ["train", "--data", folder, "--train-size", "50", "--validation-size", "20",
            "--epochs", "1", "--hidden", "5", "--no-plots", "--quiet",
            "--run-dir", _WORKDIR / "run"]
    if case["num_classes"]:
        argv += ["--num-classes", str(case["num_classes"])]
    shutil.rmtree(_WORKDIR / "run", ignore_errors=True)
    return check_bomb(target, argv)


@st.composite
def huge_png(draw) -> dict:
    """A PNG header declaring up to 2³¹ − 1 pixels a side, any colour type and bit depth,
    with image data of every row (when it fits 256 MiB) or a few kilobytes, any filter."""
    color = draw(st.sampled_from((0, 2, 3, 4, 6)))
    depth = draw(st.sampled_from({0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 8), 4: (8, 16),
                                  6: (8, 16)}[color]))
    side = st.sampled_from((1, 28, 2048, 4097, 16384, 2**20, 2**31 - 1))
    width, height = draw(side), draw(side)
    row_bytes = (width * {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color] * depth + 7) // 8
    full = height * (row_bytes + 1) <= 2**28 and draw(st.booleans())
    return {"width": width, "height": height, "color": color, "depth": depth, "full": full,
            "filter": draw(st.sampled_from((0, 1, 2, 3, 4)))}


def check_huge_png(case: dict, target: str = "bombs: PNG files"):
    """Write the PNG and run ``nnlearn predict MODEL image.png`` under the limit."""
    bombs = _bombs()
    path = _WORKDIR / "bomb.png"
    if case["full"]:
        bombs.png_file(path, case["width"], case["height"], color=case["color"],
                       depth=case["depth"], row_filter=case["filter"])
    else:  # the header, and image data for a few rows at most
        header = struct.pack(">IIBBBBB", case["width"], case["height"], case["depth"],
                             case["color"], 0, 0, 0)
        data = bombs.png_chunk(b"IHDR", header)
        if case["color"] == 3:
            data += bombs.png_chunk(b"PLTE", bytes(768))
        data += bombs.png_chunk(b"IDAT", zlib.compress(bytes([case["filter"]]) + bytes(4096)))
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + data + bombs.png_chunk(b"IEND", b""))
    return check_bomb(target, ["predict", _fixtures()["model"], path])


# -- the web API's JSON endpoints (nnlearn serve's application, in process) -------------------
_WEB: dict = {}


def _web_app() -> dict:
    """A TestClient on the real application, made once per process, over a runs folder with a
    good run, a damaged one and a symbolic link leading outside; one live playground session."""
    if not _WEB:
        # the web extra (Starlette) is optional: imported only when the web API is fuzzed
        from starlette.testclient import TestClient

        from nnlearn.experiments.config import files as cfgmod
        from nnlearn.experiments.runs.folder import Run
        from nnlearn.web.app import create_app

        runs, outside = _WORKDIR / "runs", _WORKDIR / "outside"
        cfg = cfgmod.resolve(None, overrides={"model.hidden": [10], "training.epochs": 2})
        for folder in (runs / "good", runs / "damaged", outside):
            run = Run.create(cfg, run_dir=folder)
            run.append_metrics({"epoch": 1, "evaluation_accuracy": 0.5, "training_cost": float("nan")})
            nnlearn.Network.from_sizes([784, 10, 10], seed=0).save(run.model_path)
            run.write_summary({"test_accuracy": 0.5})
        (runs / "damaged" / "summary.json").write_text("[1, 2")
        (runs / "damaged" / "metrics.jsonl").write_text("5\n")
        (runs / "link").symlink_to(outside)
        client = TestClient(create_app(runs, max_sessions=6, max_updates_per_second=None),
                            base_url="http://localhost")
        client.__enter__()  # runs the lifespan (the idle-session sweeper)
        atexit.register(client.__exit__, None, None, None)
        session = client.post("/api/playground", json={"settings": {"dataset": "custom"}})
        _WEB.update(client=client, session=session.json()["session"])
    return _WEB


_WEB_BODIES = {  # a valid body of each JSON endpoint ({S}: the live session's path)
    "/api/predict": {"image": [[0, 1, 0], [0, 1, 0], [0, 1, 0]], "invert": "auto", "steps": True},
    "/api/playground": {"settings": {"dataset": "xor", "hidden": [4, 2], "learning_rate": 0.03,
                                     "num_points": 200, "seed": 1}},
    "{S}/settings": {"learning_rate": 0.1, "batch_size": 10, "noise": 10, "activation": "tanh"},
    "{S}/control": {"action": "step"},
    "{S}/points": {"x": 1.5, "y": -2.0, "label": 1},
    "{S}/csv": {"csv": "x1,x2,label\n1,2,1\n-1,-2,0\n"},
    "{S}/backprop": {"index": 0, "split": "train"},
}
_WEB_GETS = ("/api/runs/{name}", "/api/runs/{name}/metrics?since={text}",
             "/api/compare?a={name}&b={name2}", "/api/runs/{name}/evaluation",
             "/api/playground/{text}", "/api/runs?x={text}")
_ODD_TEXT = st.one_of(st.text(max_size=40), st.sampled_from((
    "good", "damaged", "link", "..", ".", "/etc", "a/../good", "%2e%2e", "\\..\\", "\x00",
    "²", "٣", "9" * 5000, "-1", "1e3", "r" * 5000, "good/../../outside")))
_ODD_JSON = st.sampled_from((
    b"[" * 100_000, b'{"a": ' * 50_000, b"1" + b"0" * 5000, b"NaN", b"-Infinity", b"1e999",
    b'"\\ud800"', b"\xff\xfe", b"", b"null", b"[]", b"{}" * 2))


def _json_values() -> st.SearchStrategy:
    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                       st.integers(min_value=-(10**60), max_value=10**60), st.text(max_size=30))
    return st.recursive(leaves, _json_containers, max_leaves=12)


@st.composite
def web_requests(draw) -> tuple[str, str, bytes | None]:
    """``(method, path, body)``: a JSON request to one endpoint, valid but for one part."""
    if draw(st.integers(0, 3)) == 0:
        from urllib.parse import quote

        path = draw(st.sampled_from(_WEB_GETS)).format(
            name=quote(draw(_ODD_TEXT), safe=""), name2=quote(draw(_ODD_TEXT), safe=""),
            text=quote(draw(_ODD_TEXT), safe=""))
        return "GET", path, None
    path = draw(st.sampled_from(sorted(_WEB_BODIES)))
    body = json.loads(json.dumps(_WEB_BODIES[path]))
    kind = draw(st.integers(0, 5))
    if kind <= 2:  # one field (maybe nested, maybe new) replaced by anything JSON can say
        node, key = body, draw(st.sampled_from(sorted(body) + ["unknown"]))
        if isinstance(body.get(key), dict) and draw(st.booleans()):
            node, key = body[key], draw(st.sampled_from(sorted(body[key]) + ["other"]))
        node[key] = draw(_json_values())
        data = json.dumps(body, allow_nan=True).encode()
    elif kind == 3:
        data = json.dumps(draw(_json_values()), allow_nan=True).encode()
    elif kind == 4:
        data = draw(_ODD_JSON)
    else:
        data = draw(st.binary(max_size=64))
    return "POST", path, data


def check_web(case: tuple[str, str, bytes | None], target: str = "web API (JSON endpoints)"):
    """Send the request; the answer must be a success or a clean JSON refusal, never a 500."""
    _count(target)
    web = _web_app()
    client, method, path, body = web["client"], *case
    path = path.replace("{S}", f"/api/playground/{web['session']}")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        answer = client.request(method, path, content=body,
                                headers={"Content-Type": "application/json"})
    status = answer.status_code
    assert status < 500 or (status == 503 and "sessions" in answer.text), (method, path, status,
                                                                         answer.text[:300])
    if not (answer.request.url.path + "/").startswith("/api/"):  # '..' led out of the API
        return answer
    payload = answer.json()
    if status >= 400:
        assert isinstance(payload.get("error"), str) and "field" in payload, payload
        assert len(answer.content) < 10_000, "an error message should be short"
    elif path == "/api/playground":  # keep the pool from filling: close what was opened
        client.request("DELETE", f"/api/playground/{payload['session']}", json={})
    return answer


# -- sweep space files (nnlearn search) --------------------------------------------------------
def check_space(data: bytes, target: str = "search spaces") -> list | None:
    """Read ``data`` as a sweep space file and list its trials: the trial specs, or ``None``
    for a ``ConfigError`` that names the file. Anything else (a ``RecursionError``, a
    ``MemoryError``, a hang on a huge count) is a bug; so is a sweep longer than its limit."""
    from nnlearn.errors import ConfigError
    from nnlearn.experiments.sweeps import search

    def read(path):
        space = search.load_space(path)
        return space, search.trial_specs(space)

    found = read_or_own_error(data, ".toml", target, read, ConfigError)
    if found is None:
        return None
    space, specs = found
    assert 1 <= len(specs) <= space.max_trials
    return specs


_SPACE_KEYS = ("training.eta", "training.epochs", "training.mini_batch_size", "training.seed",
               "regularization.lmbda", "regularization.dropout", "model.hidden",
               "model.activation", "model.cost", "optimizer.name", "optimizer.mu",
               "data.train_size", "schedule.name", "training.etaa", "nosuch", "a.b.c.d")
_EDGE_VALUES = st.one_of(st.sampled_from((0, 1, -1, 2**31, 10**9, 2**64, 0.5, 1e-300, 1e300,
                                          float("nan"), float("inf"), True, "", "sgd", "log",
                                          "relu", "none")),
                         st.integers(-5, 50), st.floats(allow_nan=True), st.text(max_size=8))


def _toml_value(value) -> str:
    """``value`` as a TOML value (numbers, strings, booleans, arrays, inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return "nan"
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"


@st.composite
def space_structured(draw) -> bytes:
    """A space file assembled from plausible and hostile parts: a base (a preset, a missing
    one, a file), config tables, ``[search]`` keys (known, misspelt, nested up to thousands
    of parts) holding grids (up to 10⁵ values, or axes whose product is astronomical),
    ranges and choices with edge values, and a ``[sweep]`` table with edge options."""
    lines = []
    if draw(st.booleans()):
        base = draw(st.sampled_from(('preset:quick', 'preset:nope', 'none.toml', '', 3)))
        lines.append(f"base = {_toml_value(base)}")
    lines += ["[data]", "train_size = 100", "validation_size = 50"]
    if draw(st.booleans()):
        lines += ["[training]", f"epochs = {_toml_value(draw(_EDGE_VALUES))}"]
    lines.append("[search]")
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(("grid", "grid", "range", "choices", "deep", "wide")))
        key = json.dumps(draw(st.sampled_from(_SPACE_KEYS)))
        if kind == "grid":
            values = draw(st.lists(_EDGE_VALUES, max_size=6))
            value = _toml_value(values)
        elif kind == "wide":  # many values on one axis: counted before they are checked
            n = draw(st.sampled_from((1001, 10**4)))
            value = "[" + ", ".join(["0.1"] * n) + "]"
        elif kind == "range":
            spec = {k: draw(_EDGE_VALUES) for k in draw(st.sets(st.sampled_from(
                ("low", "high", "scale", "extra")), max_size=4))}
            value = _toml_value(spec)
        elif kind == "choices":
            value = _toml_value({"choices": draw(st.lists(_EDGE_VALUES, max_size=4))})
        else:  # a dotted key nested deep (TOML's dotted keys make nested tables)
            key = ".".join(["k"] * draw(st.sampled_from((3, 9, 100, 5000))))
            value = "[1, 2]"
        lines.append(f"{key} = {value}")
    if draw(st.booleans()):
        lines.append("[sweep]")
        for option in draw(st.sets(st.sampled_from(("trials", "seed", "scheduler",
                                                    "grace_period", "reduction_factor",
                                                    "max_trials", "workers")), max_size=4)):
            value = draw(st.one_of(_EDGE_VALUES, st.sampled_from((10**9, 10**18, "asha"))))
            lines.append(f"{option} = {_toml_value(value)}")
    return ("\n".join(lines) + "\n").encode()


_VALID_SPACE = (b'[data]\ntrain_size = 100\nvalidation_size = 50\n[search]\n'
                b'"training.eta" = [0.1, 0.5]\n"regularization.lmbda" = {low = 0.1, high = 10.0, '
                b'scale = "log"}\n"training.mini_batch_size" = {choices = [10, 20]}\n'
                b'[sweep]\ntrials = 3\nseed = 1\n')
"""A valid space file (6 trials), the seed of the byte mutations."""

space_files = st.one_of(st.binary(max_size=200), space_structured(), space_structured(),
                        mutated(st.just(_VALID_SPACE)))
"""Every kind of space-file case."""
