"""Packaging that tells the truth: ruff is clean, the built wheel carries py.typed and the
declared metadata, the declared minimums are the ones CI tests, and docs/config.schema.json
is current and agrees with nnlearn's own config checks (also in Taplo, the editors' checker)."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import numpy
import pytest

from nnlearn.errors import ConfigError
from nnlearn.experiments.config import files as cfgmod
from nnlearn.experiments.config.schema import json_schema

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _minimum(requirement: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.search(r">=\s*([\d.]+)", requirement).group(1).split("."))


# -- lint -------------------------------------------------------------------------------
def test_ruff_finds_nothing():
    """The rule set in pyproject.toml's [tool.ruff], over every Python file of the project."""
    if importlib.util.find_spec("ruff") is None:
        pytest.skip("ruff is not installed (it is in the test extra)")
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "src", "tests",
                           "scripts", "benchmarks"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- declared minimums ------------------------------------------------------------------
def test_the_lowest_numpy_declared_is_the_one_ci_tests():
    (numpy_req,) = [r for r in PROJECT["dependencies"] if r.startswith("numpy")]
    low = ".".join(map(str, _minimum(numpy_req)))
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert f'pip install "numpy=={low}.*"' in ci, f"CI must test the declared minimum numpy {low}"
    installed = tuple(int(p) for p in numpy.__version__.split(".")[:2])
    assert installed >= _minimum(numpy_req)[:2]
    assert PROJECT["dependencies"] == [numpy_req]  # the core depends on NumPy alone


def test_requires_python_and_the_classifiers_agree():
    low = _minimum(PROJECT["requires-python"])
    assert sys.version_info[:2] >= low
    versions = [c.rsplit(" :: ", 1)[1] for c in PROJECT["classifiers"]
                if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]
    assert versions and f"{low[0]}.{low[1]}" == versions[0]
    assert all(tuple(map(int, v.split("."))) >= low for v in versions)
    assert "Typing :: Typed" in PROJECT["classifiers"]


@pytest.mark.slow
def test_the_wheel_ships_py_typed_and_the_declared_metadata(tmp_path):
    """Build the wheel as pip would (setuptools, no network) and read what it declares."""
    if importlib.util.find_spec("setuptools.command.bdist_wheel") is None \
            and importlib.util.find_spec("wheel") is None:  # setuptools < 70.1 needs `wheel`
        pytest.skip("building the wheel offline needs setuptools >= 70.1 (in the test extra)")
    source = tmp_path / "source"  # a copy: building writes build/ and *.egg-info beside it
    shutil.copytree(REPO / "src", source / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "--no-index", "-w", str(tmp_path), str(source)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = tmp_path.glob("nnlearn-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        metadata = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "nnlearn/py.typed" in names
    assert "nnlearn/io/safetensors.py" in names and "nnlearn/experiments/runs/tensorboard.py" in names
    assert f"Requires-Python: {PROJECT['requires-python']}" in metadata
    assert all(f"Classifier: {c}" in metadata for c in PROJECT["classifiers"])
    core = [line for line in metadata.splitlines()
            if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert core == ["Requires-Dist: numpy>=2.1"]
    for extra in ("tensorboard", "onnx"):
        assert f"Provides-Extra: {extra}" in metadata


# -- the JSON Schema of config files ----------------------------------------------------
def _schema_text() -> str:
    spec = importlib.util.spec_from_file_location("config_reference",
                                                  REPO / "scripts" / "config_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.schema_text()


def test_docs_config_schema_is_written_from_the_schema():
    """docs/config.schema.json is current: rerun `python scripts/config_reference.py`."""
    assert (REPO / "docs" / "config.schema.json").read_text(encoding="utf-8") == _schema_text()


SHIPPED = sorted((REPO / "configs").glob("*.toml")) + sorted(
    (REPO / "src" / "nnlearn" / "experiments" / "config" / "presets").glob("*.toml"))

REFUSED = {  # each refused by nnlearn's own checks, and by the schema
    "eta 0": '[training]\neta = 0\n',
    "unknown key": '[training]\nepocs = 3\n',
    "unknown table": '[trainer]\neta = 1.0\n',
    "bad activation": '[model]\nactivation = "sigmud"\n',
    "dropout 1": '[regularization]\ndropout = 1.0\n',
    "option of another optimiser": '[optimizer]\nname = "momentum"\nbeta1 = 0.9\n',
    "option of the default optimiser": '[optimizer]\nmu = 0.9\n',
    "threads 0": '[training]\nthreads = 0\n',
    "unknown layer": '[[model.layers]]\ntype = "Dens"\n',
    "unknown layer option": '[[model.layers]]\ntype = "Dense"\nn_in = 4\nn_out = 2\nsize = 3\n',
    "log writer": '[log]\nwriter = "wandb"\n',
}


def test_the_schema_agrees_with_nnlearns_checks():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft7Validator(json_schema())
    jsonschema.Draft7Validator.check_schema(json_schema())
    for path in SHIPPED:
        errors = [e.message for e in validator.iter_errors(cfgmod.load(path))]
        assert not errors, f"{path.name}: {errors}"
    resolved = cfgmod.resolve(None)  # every default, as --print-config writes it
    assert not list(validator.iter_errors(tomllib.loads(cfgmod.dumps(resolved))))
    for problem, text in REFUSED.items():
        with pytest.raises(ConfigError):
            cfgmod.resolve(tomllib.loads(text))
        assert list(validator.iter_errors(tomllib.loads(text))), problem
    accepted = '[optimizer]\nname = "adam"\nbeta1 = 0.8\n[schedule]\nname = "step"\n'
    cfgmod.resolve(tomllib.loads(accepted))
    assert not list(validator.iter_errors(tomllib.loads(accepted)))


def test_taplo_checks_configs_as_docs_config_md_says(tmp_path):
    """The editor set-up of docs/config.md, with Taplo's own checker."""
    taplo = shutil.which("taplo")
    if taplo is None:
        pytest.skip("taplo is not installed (pip install taplo)")
    doc = (REPO / "docs" / "config.md").read_text(encoding="utf-8")
    command = re.search(r"`(taplo check --schema [^`]+)`", doc).group(1)
    argv = command.replace("$PWD", str(REPO)).split()
    assert subprocess.run([taplo, *argv[1:]], cwd=REPO, capture_output=True).returncode == 0
    # the project-wide rule from the doc, in a copy of the layout
    (tmp_path / "docs").mkdir()
    (tmp_path / "configs").mkdir()
    shutil.copy(REPO / "docs" / "config.schema.json", tmp_path / "docs")
    (tmp_path / ".taplo.toml").write_text(re.search(r"```toml\n(.*?)```", doc, re.S).group(1))
    shutil.copy(REPO / "configs" / "quick.toml", tmp_path / "configs")
    (tmp_path / "configs" / "bad.toml").write_text(REFUSED["unknown key"])
    good = subprocess.run([taplo, "check", "configs/quick.toml"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    bad = subprocess.run([taplo, "check", "configs/bad.toml"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "'epocs' was unexpected" in bad.stderr
    # and the first-line directive
    (tmp_path / ".taplo.toml").unlink()
    directive = re.search(r"`(#:schema [^`]+)`", doc).group(1)
    (tmp_path / "configs" / "bad.toml").write_text(directive + "\n" + REFUSED["eta 0"])
    bad = subprocess.run([taplo, "check", "configs/bad.toml"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "minimum of 0" in bad.stderr


def test_every_file_the_package_reads_is_in_its_package_data():
    """A non-Python file under src/nnlearn that no package-data pattern names is missing from
    an installed copy (a fresh `pip install .`), though an editable install still finds it.
    The patterns are globs of one folder level each, as setuptools reads them."""
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    package = REPO / "src" / "nnlearn"
    shipped = {path for pattern in setuptools["package-data"]["nnlearn"] for path in package.glob(pattern)}
    left_out = [path.relative_to(package).as_posix() for path in sorted(package.rglob("*"))
                if path.is_file() and path.suffix not in (".py", ".pyc")
                and "__pycache__" not in path.parts and path not in shipped]
    assert not left_out, f"add these to [tool.setuptools.package-data] in pyproject.toml: {left_out}"
