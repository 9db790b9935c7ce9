"""The package's folders are its architecture, and imports run one way: down.

Bottom to top: the foundation modules (backend, errors, checks, defaults, files);
``nn`` (the model) and ``data`` (data sets and image preparation), which do not
import each other; ``optim``; ``train``; ``io``; ``experiments``; and on top the
faces (``cli``, ``examples``, ``web``). The check reads every module's imports,
including those inside functions, so a lazy import cannot hide an upward one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nnlearn

PACKAGE = Path(nnlearn.__file__).resolve().parent

LEVELS = {
    "backend": 0, "errors": 0, "checks": 1, "defaults": 0, "files": 0,
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


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else "__init__"


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "nnlearn":
                found += [f"nnlearn.{alias.name}" for alias in node.names]
            elif node.module.startswith("nnlearn."):
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("nnlearn.")]
    return found


def test_every_top_level_part_has_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()))}
    assert parts <= set(LEVELS), f"give {sorted(parts - set(LEVELS))} a layer in LEVELS"
    assert len([p for p in parts if (PACKAGE / f"{p}.py").exists()]) <= 8  # a handful of modules


def test_imports_run_one_way():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        here = rel.split("/")[0].removesuffix(".py")
        for module in _imports(path):
            there = _part(module)
            if there not in LEVELS or (rel, module) in THIN_CONVENIENCES:
                continue
            if LEVELS[there] > LEVELS[here] or (there != here and {here, there} == {"nn", "data"}):
                upward.append(f"{rel} imports {module}")
    assert not upward, "imports against the layering:\n" + "\n".join(upward)


def test_the_layering_check_catches_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from nnlearn.experiments import config\n")
    assert _imports(bad) == ["nnlearn.experiments"]
    assert LEVELS[_part("nnlearn.experiments.config")] > LEVELS["nn"]
