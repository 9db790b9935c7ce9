r"""Sweep space files (``nnlearn search``, oracle :func:`check_space`): random bytes; byte
mutations of a valid space; and *structured* spaces: known, misspelt and deeply nested
``[search]`` keys, grids of edge values or of 10⁵ values, ranges and choices with edge
bounds, ``[sweep]`` options up to 10¹⁸ trials. The oracle: the trials are listed (never more
than the limit) or a ``ConfigError`` names the file.
"""

from __future__ import annotations

import json
import math

from hypothesis import strategies as st

from .common import mutated, read_or_own_error


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
