"""Long fuzz job (``pytest tests/fuzz -m fuzz``): the short profile's targets at volume.

Every case must load or raise nnlearn's own error; see ``harness.py`` for the
strategies and the oracle.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings

import harness

EXAMPLES = int(os.environ.get("NNLEARN_FUZZ_EXAMPLES", "2500"))
LONG = settings(max_examples=EXAMPLES, deadline=None,
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
