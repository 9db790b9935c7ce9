r"""Model files (oracle :func:`check_model`: a network whose weights are finite and of its
dtype, or ``ModelFileError`` naming the file): random bytes; byte mutations of a valid model
file; and *structured* mutations: the JSON header edited as a tree (values replaced by random
JSON, keys deleted or added, unknown layer types, wrong types in configs, deep nesting,
invalid UTF-8), the arrays edited (wrong shapes and dtypes, object, string, complex and
structured arrays, 0-d arrays, NaN/inf, missing and extra entries), written back as a real
``.npz``.
"""

from __future__ import annotations

import io
import json

import numpy as np
from hypothesis import strategies as st

import nnlearn
from nnlearn.errors import ModelFileError

from .common import _WORKDIR, mutated, read_or_own_error


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
