"""The long fuzz job: collected with the suite but run only under ``-m fuzz``.

``NNLEARN_FUZZ_EXAMPLES`` sets the examples per test (default 2,500; the job has
five tests, so 12,500 cases). When ``NNLEARN_FUZZ_COUNTS`` names a file, the cases
actually run per target are written there as JSON at the end of the session
(``scripts/fuzz.py`` uses this for docs/reliability.md).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


def pytest_configure(config):
    config.addinivalue_line("markers", "fuzz: the long fuzz job (run with -m fuzz)")


def pytest_collection_modifyitems(config, items):
    if "fuzz" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="long fuzz job: run `pytest tests/fuzz -m fuzz`")
    for item in items:
        if "fuzz" in item.keywords:
            item.add_marker(skip)


def pytest_sessionfinish(session, exitstatus):
    target = os.environ.get("NNLEARN_FUZZ_COUNTS")
    if target:
        import harness

        Path(target).write_text(json.dumps({"counts": harness.COUNTS,
                                            "exitstatus": int(exitstatus)}, indent=1) + "\n")
