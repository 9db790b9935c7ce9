"""The version of nnlearn: one home, re-exported as ``nnlearn.__version__``.

An installed nnlearn reads it from its distribution's metadata (written from
``pyproject.toml`` at install time). A source checkout run without installing
(``PYTHONPATH=src``), or whose editable install was made before the version changed,
reads ``pyproject.toml`` itself: the file beside ``src/`` is the single place the
version is written.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[3] / "pyproject.toml"
"""Where a source checkout keeps the version (``src/nnlearn/system/version.py`` → the root)."""


def _checkout_version() -> str | None:
    """The ``[project] version`` of the ``pyproject.toml`` above ``src/``, if this is nnlearn's."""
    try:
        project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8")).get("project", {})
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    return project.get("version") if project.get("name") == "nnlearn" else None


def read_version() -> str:
    """The source checkout's version if this module runs from one, else the installed one."""
    checkout = _checkout_version()
    if checkout is not None:
        return checkout
    try:
        return metadata.version("nnlearn")
    except metadata.PackageNotFoundError:  # neither installed nor a checkout: a copied tree
        return "0+unknown"


__version__ = read_version()
