"""The version has one home (pyproject.toml), read by nnlearn.system.version and re-exported."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import nnlearn
from nnlearn.cli import main
from nnlearn.system import version
from tests.paths import REPO



def test_a_source_checkout_reports_the_pyproject_version(capsys):
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    written = version.tomllib.loads(pyproject)["project"]["version"]
    if Path(nnlearn.__file__).resolve().is_relative_to(REPO / "src"):  # a source checkout
        assert version.PYPROJECT == REPO / "pyproject.toml"
    # else an installed copy (CI's `pip install .`), which reads the metadata of this pyproject
    assert nnlearn.__version__ == version.__version__ == version.read_version() == written
    try:
        main(["--version"])
    except SystemExit as done:
        assert done.code == 0
    assert capsys.readouterr().out.strip() == f"nnlearn {written}"


def test_an_installed_copy_reads_its_distribution_metadata(tmp_path, monkeypatch):
    other = tmp_path / "pyproject.toml"  # a pyproject above the package that is not nnlearn's
    other.write_text('[project]\nname = "something-else"\nversion = "9.9.9"\n', encoding="utf-8")
    monkeypatch.setattr(version, "PYPROJECT", other)
    assert version.read_version() == metadata.version("nnlearn")
    monkeypatch.setattr(version, "PYPROJECT", tmp_path / "missing.toml")  # site-packages
    assert version.read_version() == metadata.version("nnlearn")
