r"""Shared helpers of the fuzz harness: :data:`COUNTS`, the cases run per target (one dict,
the same for every module and for ``harness.COUNTS``); the scratch folder every case is written
into (removed at exit); :func:`read_or_own_error`, the oracles' common part: reading the file
either succeeds or raises one of nnlearn's own errors, naming the file, and any other
exception, or any warning (turned into an error outside pytest too), is a bug in the library;
and :func:`mutated`, the byte-level mutations (flip, truncate, insert, splice) of valid files
that the IDX, model-file and sweep-space strategies share.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import warnings
from pathlib import Path

from hypothesis import strategies as st

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
