"""Long fuzz job (``pytest tests/fuzz -m fuzz``): the short profile's targets at volume.

Every case must load or raise nnlearn's own error; see the ``harness`` package for the
strategies and the oracle. The valid-but-huge targets run ``NNLEARN_FUZZ_BOMB_EXAMPLES``
cases each (default 60), every one a subprocess under a 2 GiB address space.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

import harness

EXAMPLES = int(os.environ.get("NNLEARN_FUZZ_EXAMPLES", "2500"))
LONG = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BOMB_EXAMPLES = int(os.environ.get("NNLEARN_FUZZ_BOMB_EXAMPLES", "60"))
"""Cases per valid-but-huge target: each runs the command line in a subprocess (~1 s)."""
BOMBS = settings(max_examples=BOMB_EXAMPLES, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

pytestmark = pytest.mark.fuzz


@LONG
@given(harness.idx_raw)
def test_read_idx_raw(data):
    harness.check_idx(data, "read_idx (raw)")


@LONG
@given(harness.gzipped(harness.idx_raw))
def test_read_idx_gzip(data):
    harness.check_idx(data, "read_idx (gzip)")


@LONG
@given(harness.model_structured())
def test_load_structured_mutations(data):
    harness.check_model(data, "load (structured mutations)")


@LONG
@given(harness.mutated(harness.model_valid_bytes()))
def test_load_byte_mutations(data):
    harness.check_model(data, "load (byte mutations)")


@LONG
@given(harness.model_files)
def test_load_mixed(data):
    harness.check_model(data, "load (random bytes and mixed)")


@LONG
@given(harness.space_files)
def test_search_spaces(data):
    harness.check_space(data, "search spaces (nnlearn search)")


@BOMBS
@given(harness.huge_models())
def test_huge_model_architectures(case):
    harness.check_huge_model(case)


@BOMBS
@given(harness.huge_idx())
def test_huge_idx_headers(case):
    harness.check_huge_idx(case)


@BOMBS
@given(harness.huge_png())
def test_huge_png_headers(case):
    harness.check_huge_png(case)


@LONG
@given(harness.web_requests())
def test_web_api_json_endpoints(case):
    pytest.importorskip("starlette")
    harness.check_web(case)
