r"""Splitting a nested training state into JSON and arrays, and joining it back.

``Trainer.state_dict()`` (and the optimiser, schedule and early-stopping states in
it) are nested dicts and lists whose leaves are JSON values or arrays. To store one
in a file without pickle, :func:`split_arrays` replaces every array by a reference
``{"__array__": "<path>"}`` and returns the arrays by path (for ``numpy.savez``);
:func:`join_arrays` puts them back. The round trip is exact (dtypes and bits).

Example::

    tree, arrays = split_arrays(trainer.state_dict())
    # write json.dumps(tree) and numpy.savez(f, **arrays); later:
    trainer.load_state_dict(join_arrays(tree, arrays))
"""

from __future__ import annotations

from typing import Any

import numpy

from nnlearn import backend
from nnlearn.errors import ConfigError

_REF = "__array__"


def split_arrays(tree: Any, prefix: str = "state") -> tuple[Any, dict[str, numpy.ndarray]]:
    """``(json_tree, arrays)``: ``tree`` with arrays replaced by references, and the arrays."""
    arrays: dict[str, numpy.ndarray] = {}

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            for key in node:
                if not isinstance(key, str):
                    raise ConfigError(f"state key {key!r} at {path} is not a string")
            return {k: walk(v, f"{path}.{k}") for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            return [walk(v, f"{path}.{i}") for i, v in enumerate(node)]
        if hasattr(node, "shape") and hasattr(node, "dtype"):
            arrays[path] = backend.to_numpy(node)
            return {_REF: path}
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        raise ConfigError(f"state value at {path} has type {type(node).__name__}, "
                          "which is neither JSON nor an array")

    return walk(tree, prefix), arrays


def join_arrays(tree: Any, arrays: dict[str, Any]) -> Any:
    """Inverse of :func:`split_arrays` (arrays become arrays of the active backend)."""
    xp = backend.xp

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {_REF}:
                try:
                    return xp.asarray(arrays[node[_REF]])
                except (KeyError, TypeError):
                    raise ConfigError(f"state refers to a missing array {node[_REF]!r}") from None
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(tree)
