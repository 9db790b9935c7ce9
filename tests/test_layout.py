"""The package's folders are its architecture, and imports run one way: down.

Bottom to top: the foundation (backend, system, errors, checks, defaults, files);
``nn`` (the model) and ``data`` (data sets and image preparation), which do not
import each other; ``optim``; ``train``; ``io``; ``experiments``; and on top the
faces (``cli``, ``examples``, ``web``), then the package root that re-exports them.
The check reads every module's imports, including those inside functions, so a lazy
import cannot hide an upward one; relative imports are resolved (and refused: every
import is absolute), and a name taken from the package root (``from nnlearn import
__version__``, ``import nnlearn``) counts as an import of the root, the top layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nnlearn

PACKAGE = Path(nnlearn.__file__).resolve().parent

LEVELS = {
    "backend": 0, "system": 0, "errors": 0, "checks": 1, "defaults": 0, "files": 0,
    "nn": 2, "data": 2, "optim": 3, "train": 4, "io": 5, "experiments": 6,
    "cli": 7, "examples": 7, "web": 7,
    "__init__": 8, "__main__": 8, "datasets": 8,  # the public faces re-export from below
    "sklearn": 8,
}
"""The layer of each top-level module or folder of ``nnlearn``."""

THIN_CONVENIENCES = {
    ("nn/network.py", "nnlearn.train.trainer"),   # Network.fit = Trainer(...).run()
    ("nn/network.py", "nnlearn.io.model_file"),   # Network.save = model_file.save(...)
}
"""Upward imports allowed on purpose (inside a method, for the book's ``net.fit``-style API)."""

PUBLIC_API_USERS = {"examples"}
"""Parts that may import names from the package root: the book's examples are written as a
reader writes them, ``from nnlearn import Network``."""

PARTS = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
         if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))}
"""The top-level modules and folders of ``nnlearn`` (``from nnlearn import PART`` imports one)."""


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else "__init__"


def _module_name(path: Path) -> str:
    parts = ("nnlearn", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _target(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module an ``from ... import`` reads from (relative ones resolved)."""
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path: Path, module: str | None = None) -> list[str]:
    """The ``nnlearn`` modules ``path`` imports; ``"nnlearn"`` for a name of the root itself.

    ``module`` is the file's dotted name (default: from its place under the package)."""
    module = module or _module_name(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _target(node, module, path.name == "__init__.py")
            if target == "nnlearn":
                found += [f"nnlearn.{alias.name}" if alias.name in PARTS else "nnlearn"
                          for alias in node.names]
            elif target.startswith("nnlearn."):
                found.append(target)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split(".")[0] == "nnlearn"]
    return found


def _relative_imports(path: Path) -> list[int]:
    """Line numbers of the relative imports (``from . import x``, ``from ..y import z``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.lineno for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level]


def _against_layering(rel: str, module: str) -> bool:
    """Whether the file at ``rel`` (under the package) importing ``module`` goes upward."""
    here, there = rel.split("/")[0].removesuffix(".py"), _part(module)
    if there not in LEVELS or (rel, module) in THIN_CONVENIENCES:
        return False
    if module == "nnlearn" and here in PUBLIC_API_USERS:
        return False
    return LEVELS[there] > LEVELS[here] or (there != here and {here, there} == {"nn", "data"})


def test_every_top_level_part_has_a_layer():
    assert PARTS <= set(LEVELS), f"give {sorted(PARTS - set(LEVELS))} a layer in LEVELS"
    assert len([p for p in PARTS if (PACKAGE / f"{p}.py").exists()]) <= 8  # a handful of modules


def test_imports_run_one_way():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        upward += [f"{rel} imports {module}" for module in _imports(path)
                   if _against_layering(rel, module)]
    assert not upward, "imports against the layering:\n" + "\n".join(upward)


def test_every_import_is_absolute():
    relative = [f"{path.relative_to(PACKAGE).as_posix()}:{line}"
                for path in sorted(PACKAGE.rglob("*.py")) for line in _relative_imports(path)]
    assert not relative, "write these imports as `from nnlearn.x import y`:\n" + "\n".join(relative)


def test_the_layering_check_catches_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from nnlearn.experiments.config import files\n")
    assert _imports(bad, "nnlearn.nn.bad") == ["nnlearn.experiments.config"]
    assert _against_layering("nn/bad.py", "nnlearn.experiments.config")
    assert not _against_layering("experiments/bad.py", "nnlearn.nn.network")


def test_the_layering_check_catches_names_taken_from_the_package_root(tmp_path):
    bad = tmp_path / "onnx.py"
    bad.write_text("import nnlearn\nfrom nnlearn import __version__, backend\n")
    found = _imports(bad, "nnlearn.io.onnx")
    assert found == ["nnlearn", "nnlearn", "nnlearn.backend"]
    assert [_against_layering("io/onnx.py", m) for m in found] == [True, True, False]
    assert not _against_layering("examples/xor.py", "nnlearn")  # written as a reader writes it


def test_the_layering_check_resolves_and_refuses_relative_imports(tmp_path):
    bad = tmp_path / "onnx.py"
    bad.write_text("from .. import __version__\nfrom . import model_file\nfrom ..web import app\n")
    assert _relative_imports(bad) == [1, 2, 3]
    found = _imports(bad, "nnlearn.io.onnx")
    assert found == ["nnlearn", "nnlearn.io", "nnlearn.web"]
    assert [_against_layering("io/onnx.py", m) for m in found] == [True, False, True]
    package = tmp_path / "__init__.py"  # in a package's __init__, "." is the package itself
    package.write_text("from . import costs\nfrom ..data import idx\n")
    assert _imports(package, "nnlearn.nn") == ["nnlearn.nn", "nnlearn.data"]
    assert _against_layering("nn/__init__.py", "nnlearn.data")


def _unexplained_lazy_imports(path: Path) -> list[int]:
    """Lines of the ``nnlearn`` imports inside functions that carry no comment saying why.

    An import belongs at the top of its module; one inside a function must say on its line (or on
    the comment line just above) what keeps it there: the import cycle it breaks (``# search imports
    this module``), the optional extra it needs, or that it is a thin convenience upward."""
    lines = path.read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    found = set()
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom):
                own = node.level > 0 or (node.module or "").split(".")[0] == "nnlearn"
            elif isinstance(node, ast.Import):
                own = any(a.name.split(".")[0] == "nnlearn" for a in node.names)
            else:
                continue
            said = any("#" in lines[i - 1] for i in range(node.lineno, node.end_lineno + 1))
            said = said or lines[node.lineno - 2].strip().startswith("#")
            if own and not said:
                found.add(node.lineno)
    return sorted(found)


def test_imports_inside_functions_say_why():
    over = []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = _unexplained_lazy_imports(path)
        if lines:
            over.append(f"{path.relative_to(PACKAGE).as_posix()}: lines {lines}")
    assert not over, ("move these imports to the top of the module, or say in a comment which import "
                      "cycle or optional extra keeps them inside:\n" + "\n".join(over))


def test_the_lazy_import_check_wants_a_reason(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os\n\n\ndef f():\n    from nnlearn.nn import memory\n"
                      "    from nnlearn.experiments.sweeps.search import Sweep  # search imports this module\n"
                      "    # optional extra\n    from nnlearn.train import epoch_loops\n"
                      "    import json\n    from . import sibling\n")
    assert _unexplained_lazy_imports(module) == [5, 10]
