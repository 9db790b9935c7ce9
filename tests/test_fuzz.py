"""Fuzzing, short profile: hostile IDX, model and sweep space files raise only nnlearn's own
errors.

A few hundred generated cases per target (the long job, ``pytest tests/fuzz -m fuzz``
or ``python scripts/fuzz.py``, runs over 10,000), plus the named attacks that random
generation reaches only rarely: decompression bombs, headers declaring giant sizes,
deep JSON, object arrays, shapes NumPy cannot hold. The valid-but-huge inputs (model
architectures, IDX and PNG headers) run the command line in a subprocess under a 2 GiB
address space, a few cases each (``slow``).
"""

from __future__ import annotations

import io
import json
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
import harness  # noqa: E402

import nnlearn  # noqa: E402
from nnlearn.data import read_idx, write_idx  # noqa: E402
from nnlearn.data.idx import MAX_PAYLOAD_BYTES  # noqa: E402
from nnlearn.errors import IDXFormatError, ModelFileError  # noqa: E402

SHORT = settings(max_examples=150, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@SHORT
@given(harness.idx_files)
def test_read_idx_on_generated_files(data):
    harness.check_idx(data)


@SHORT
@given(harness.idx_valid())
def test_valid_idx_files_read_back_exactly(data):
    arr = harness.check_idx(data)
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    assert arr is not None and arr.shape == shape
    assert np.array_equal(arr.reshape(-1), np.arange(arr.size).astype(arr.dtype))


@SHORT
@given(harness.model_files)
def test_load_on_generated_model_files(data):
    harness.check_model(data)


@settings(SHORT, max_examples=50)  # a space may list up to 1,000 trials, each resolved
@given(harness.space_files)
def test_search_spaces_list_their_trials_or_name_the_problem(data):
    harness.check_space(data)


def test_the_valid_space_seed_lists_its_trials():
    assert len(harness.check_space(harness._VALID_SPACE)) == 6


@pytest.mark.parametrize("base", range(3))
def test_unmutated_base_files_load(base):
    header, arrays = harness._bases()[base]
    net = harness.check_model(harness.pack_model(json.dumps(header).encode(), arrays))
    assert net is not None and len(net.layers) == len(header["layers"])


def _read_error(data: bytes) -> str:
    path = harness._write(data, ".idx")
    with pytest.raises(IDXFormatError) as info:
        read_idx(path)
    return str(info.value)


def _traced(call, data: bytes) -> tuple[str, int]:
    """``call(data)`` and the peak of the memory Python allocated meanwhile (tracemalloc
    sees bytes and NumPy buffers, so a member inflated to 64 MiB would show)."""
    tracemalloc.start()
    try:
        return call(data), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_idx_gzip_bomb_is_cut_off_after_the_declared_size():
    head = bytes([0, 0, 8, 1]) + (10).to_bytes(4, "big")
    bomb = __import__("gzip").compress(head + bytes(64 << 20), 9, mtime=0)  # 64 MiB of zeros
    assert len(bomb) < 100_000
    message, peak = _traced(_read_error, bomb)
    assert "trailing bytes" in message
    assert peak < 8 << 20  # stopped after 11 payload bytes, not 64 MiB


@pytest.mark.parametrize("shape, phrase", [
    ((2**32 - 1, 2**32 - 1), "refusing more than"),            # product overflows 64 bits
    ((MAX_PAYLOAD_BYTES + 1,), "refusing more than"),
    ((0, 2**32 - 1, 2**32 - 1, 2**32 - 1), "cannot be an array"),  # empty but "too big"
    ((0,) * 70, "cannot be an array"),                        # more dims than NumPy allows
])
def test_idx_headers_declaring_impossible_shapes(shape, phrase):
    data = bytes([0, 0, 8, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)
    assert phrase in _read_error(data)


def test_idx_round_trip_through_gzip(tmp_path):
    arr = np.arange(24, dtype=np.float64).reshape(2, 3, 4) - 7.5
    write_idx(tmp_path / "a.idx.gz", arr)
    np.testing.assert_array_equal(read_idx(tmp_path / "a.idx.gz"), arr)


def _base_file(edit_header=None, edit_arrays=None, head_bytes=None) -> bytes:
    header, arrays = harness._bases()[0]
    header, arrays = json.loads(json.dumps(header)), dict(arrays)
    if edit_header:
        edit_header(header)
    if edit_arrays:
        edit_arrays(arrays)
    return harness.pack_model(head_bytes or json.dumps(header).encode(), arrays)


def _load_error(data: bytes) -> str:
    path = harness._write(data, ".npz")
    with pytest.raises(ModelFileError) as info:
        nnlearn.load(path)
    assert str(path) in str(info.value)
    return str(info.value)


def _set(key, value):
    def edit(tree):
        tree[key] = value
    return edit


@pytest.mark.parametrize("data, phrase", [
    (_base_file(lambda h: h["layers"][0]["config"].update(n_in=10**6, n_out=10**6)),
     "declares sizes whose product"),
    (_base_file(lambda h: h["layers"][0].update(type="Conv9D")), "unknown type 'Conv9D'"),
    (_base_file(lambda h: h["layers"][0].update(type="__class__")), "unknown type"),
    (_base_file(lambda h: h["layers"][0]["config"].update(n_in="4")), "n_in must be a positive"),
    (_base_file(lambda h: h["layers"][0]["config"].update(evil=1)), "unexpected keyword"),
    (_base_file(_set("input_shape", [float("inf")])), "invalid architecture"),
    (_base_file(_set("input_shape", 4)), "invalid architecture"),
    (_base_file(_set("cost", {"name": "quadratic"})), "invalid architecture"),
    (_base_file(_set("dtype", "object")), "dtype must be 'float32' or 'float64'"),
    (_base_file(_set("layers", [])), "non-empty list"),
    (_base_file(_set("version", 2)), "format version 2"),
    (_base_file(head_bytes=b"[" * 100_000 + b"]" * 100_000), "not valid JSON"),
    (_base_file(head_bytes=b'{"format": "nnlearn.model", \xff}'), "not valid JSON"),
    (_base_file(edit_arrays=lambda a: a.update({"layer0.params.W": np.array([1, "x"], dtype=object)})),
     "Object arrays cannot be loaded"),
    (_base_file(edit_arrays=lambda a: a.update({"layer0.params.W": a["layer0.params.W"].T.copy()})),
     "expected (4, 3) floating point"),
    (_base_file(edit_arrays=lambda a: a.update({"layer0.params.b": np.ones(3, np.complex64)})),
     "floating point"),
    (_base_file(edit_arrays=lambda a: a.update({"layer2.params.W": np.full((3, 2), np.nan)})),
     "NaN, inf or values beyond the float32 range"),
    (_base_file(edit_arrays=lambda a: a.update({"layer2.params.W": np.full((3, 2), 1e300)})),
     "beyond the float32 range"),
    (_base_file(edit_arrays=lambda a: a.pop("layer2.params.b")), "missing ['layer2.params.b']"),
    (_base_file(edit_arrays=lambda a: a.update({"extra": np.ones(1)})), "unexpected ['extra']"),
])
def test_structured_attacks_on_model_files(data, phrase):
    assert phrase in _load_error(data)


def test_object_array_in_the_header_slot_is_refused():
    header, arrays = harness._bases()[0]
    data = harness.pack_model(np.array([json.dumps(header)], dtype=object), arrays)
    assert "Object arrays cannot be loaded" in _load_error(data)


def test_zip_bomb_is_refused_before_decompressing():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__nnlearn__.npy", bytes(64 << 20))  # 64 MiB of zeros, ~64 kB zipped
    message, peak = _traced(_load_error, out.getvalue())
    assert "zip bomb" in message
    assert peak < 8 << 20  # the 64 MiB member was never inflated (its declared size was enough)


def test_npy_member_declaring_a_giant_shape_is_refused():
    header, arrays = harness._bases()[0]
    member = io.BytesIO()
    np.lib.format.write_array_header_1_0(member, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (10**12,)})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(harness.pack_model(json.dumps(header).encode(), arrays))) as src, \
            zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, member.getvalue() + b"\0" * 64 if name == "layer0.params.W.npy"
                         else src.read(name))
    assert "not an nnlearn model file" in _load_error(out.getvalue())


# -- valid-but-huge inputs: the real command line under a 2 GiB address space --------------
BOMBS = settings(max_examples=4, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.mark.slow
@BOMBS
@given(harness.huge_models())
def test_huge_model_architectures_end_cleanly(case):
    harness.check_huge_model(case)


@pytest.mark.slow
@BOMBS
@given(harness.huge_idx())
def test_huge_idx_headers_end_cleanly(case):
    harness.check_huge_idx(case)


@pytest.mark.slow
@BOMBS
@given(harness.huge_png())
def test_huge_png_headers_end_cleanly(case):
    harness.check_huge_png(case)


@SHORT
@given(harness.web_requests())
def test_web_api_on_generated_requests(case):
    pytest.importorskip("starlette")
    harness.check_web(case)
