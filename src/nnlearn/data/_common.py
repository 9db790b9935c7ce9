r"""Helpers shared by the dataset loaders."""

from __future__ import annotations

from pathlib import Path

DATA_DIR: Path = Path(__file__).resolve().parent / "files"
"""The folder of the data files shipped inside the package."""
