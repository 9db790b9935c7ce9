"""Where things are, for every test at any depth under tests/ (one home for these paths)."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent
"""The tests/ folder."""
REPO = TESTS.parent
"""The repository's root (pyproject.toml, README.md, docs/, configs/, benchmarks/)."""
FUZZ = TESTS / "fuzz"
"""The fuzz builders (the harness/ package, bombs.py), imported as top-level modules."""
