"""Every command and snippet of README.md and docs/ is run here, at small sizes, and must learn.

Each line of a ```bash block and each ```python block is a key of :data:`COVERED`: either a
test below runs it (with sizes cut down, named in the test) and checks that the network
learned (accuracy far above the 10% of chance), or it names the test elsewhere that runs it,
or it says why it cannot run here (an install from an index, a remote cluster). A new
command in the docs fails ``test_every_documented_command_is_covered`` until it is added.
The inline commands of the results tables are the records of what a script ran
(each table's file names its command); they are not repeated here.
"""

from __future__ import annotations

import ast
import csv
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

import nnlearn
from nnlearn.cli import main
from nnlearn.errors import EXTRAS, install_hint

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
RAY_TESTS = "tests/experiments/test_search_ray.py (a two-node Ray cluster on loopback)"
COVERED = {
    # README: set up
    "python3 -m venv .venv && . .venv/bin/activate && pip install . && nnlearn train":
        "test_set_up_main_job_learns (the install itself needs a package index)",
    'python3 -m venv .venv && . .venv/bin/activate && pip install ".[test]" && python -m pytest':
        "this suite is the command; the install needs a package index",
    "nnlearn train --preset quick": "test_set_up_main_job_learns",
    "python:README.md#quickstart": "test_quickstart_snippet_learns",
    # README: tour
    "nnlearn train --preset ch1-30": "test_tour_train_commands_learn",
    "nnlearn train --preset ch3-100-l2 --seed 1 --name l2": "test_tour_train_commands_learn",
    "nnlearn train --config configs/ch6-conv1.toml --epochs 5 --optimizer momentum "
    "--set optimizer.mu=0.9 --eta 0.01": "test_tour_convnet_with_momentum_learns",
    "nnlearn predict runs/l2 my-digit.png": "test_tour_train_commands_learn",
    "nnlearn search configs/search/ch3-eta.toml": "test_ch3_eta_search_learns",
    "nnlearn search configs/search/mlp-best-random.toml --engine ray --scheduler asha --trials 16":
        f"{RAY_TESTS}: test_asha_sweep_on_the_cluster_stops_poor_trials_and_matches_local; the "
        "space itself: tests/experiments/test_search.py::test_the_shipped_spaces_are_valid",
    # docs/distributed.md
    'pip install "nnlearn[ray]"': "an install from a package index",
    'python3 -m venv ~/nnlearn && . ~/nnlearn/bin/activate && pip install "nnlearn[ray]"':
        "an install from a package index",
    "nnlearn search configs/search/ch3-eta.toml --engine ray":
        f"{RAY_TESTS}: the same sweep code on a Ray started for it",
    "nnlearn search configs/search/mlp-best-random.toml --engine ray --address 10.0.0.5:6379 "
    "--scheduler asha --trials 64 --cpus-per-trial 1": f"{RAY_TESTS} (a cluster at 10.0.0.5 is an example)",
    "nnlearn reproduce ch6 --only h --engine ray --address 10.0.0.5:6379":
        f"{RAY_TESTS}: test_ensemble_members_train_as_parallel_trials_on_the_cluster",
    "ray start --head --port 6379 --num-cpus 16": f"{RAY_TESTS}: its cluster fixture",
    "ray start --address 10.0.0.5:6379 --num-cpus 16": f"{RAY_TESTS}: its cluster fixture",
    "ray status --address 10.0.0.5:6379": f"{RAY_TESTS}: its cluster fixture",
    "kubectl exec -it nnlearn-head-xxxxx -- nnlearn search /runs/spaces/mlp-best-random.toml "
    "--engine ray --address auto --scheduler asha --trials 64":
        "a sketch for Kubernetes, which the tests do not run (the text says so)",
    "python:docs/distributed.md#ensembles": "test_ensemble_snippet_runs_as_a_script_and_learns",
    # docs/notebooks.md
    'pip install -e ".[notebook]"': "an install (the tests run with every extra installed)",
    "NNLEARN_NOTEBOOK_SIZE=small jupyter execute notebooks/ch2_backpropagation.ipynb":
        "tests/test_notebooks.py: test_ch2_notebook runs it in a real kernel at the small size "
        "and checks its numbers against the library",
    "jupytext --update --to ipynb notebooks/ch2_backpropagation.py":
        "tests/test_notebooks.py: test_ipynb_is_its_py checks every committed .ipynb is what "
        "this command makes of its .py",
    # docs/interop.md and docs/book.md (each with its own test of its commands)
    "nnlearn train --preset quick --log tensorboard --run-dir runs/quick-tb":
        "tests/experiments/test_tensorboard.py: test_the_docs_commands_run (300 images, 2 epochs)",
    "nnlearn train --preset quick --run-dir runs/quick":
        "tests/experiments/test_tensorboard.py: test_the_docs_commands_run (300 images, 2 epochs)",
    "nnlearn plot runs/quick --tensorboard": "tests/experiments/test_tensorboard.py: test_the_docs_commands_run",
    "tensorboard --logdir runs": "tests/experiments/test_tensorboard.py: test_the_docs_commands_run reads the "
                                 "logs as TensorBoard's event multiplexer does",
    "optuna-dashboard runs/search-ch3-eta-lambda/optuna.journal":
        "tests/experiments/test_search_optuna.py: test_optuna_dashboard_reads_the_study",
    "nnlearn export mnist.npz mnist.safetensors": "tests/io/test_safetensors.py: test_the_docs_recipe_runs",
    "python:docs/interop.md#safetensors-and-pytorch": "tests/io/test_safetensors.py: test_the_docs_recipe_runs",
    "python:docs/book.md#how-it-works":
        "tests/web/test_book.py: test_the_docs_python_snippet_prints_what_it_says",
    "python scripts/book_screenshots.py": "tests/web/test_book_browser.py runs it (one page)",
    # docs/web.md
    'pip install ".[web]"': "an install (the tests run with every extra installed)",
    "nnlearn serve": "tests/web/test_browser.py: its server fixture runs `nnlearn serve --port 0`",
    "curl -X POST -H 'Content-Type: application/json' -d '{}' http://127.0.0.1:8000/api/playground":
        "tests/web/test_server.py: test_the_curl_line_of_docs_web_md_creates_a_session",
    "python scripts/train_web_model.py": "test_web_model_script_learns",
}


def fenced(lang: str) -> list[tuple[Path, str, str]]:
    """``(file, heading, text)`` of every ```lang block, headings as GitHub anchors."""
    out = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(rf"```{lang}\n(.*?)```", text, re.S):
            headings = re.findall(r"^#+ (.+)$", text[:match.start()], re.M)
            anchor = re.sub(r"[^a-z0-9 -]", "", headings[-1].lower()).replace(" ", "-") if headings else ""
            out.append((path, anchor, match.group(1)))
    return out


def commands() -> list[str]:
    """Every command of the ```bash blocks: continuation lines joined, comments dropped."""
    found = []
    for _, _, text in fenced("bash"):
        for line in text.replace("\\\n", " ").splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                found.append(re.sub(r"\s+", " ", line))
    return found


def python_snippet(name: str) -> str:
    for path, anchor, text in fenced("python"):
        if f"python:{path.relative_to(ROOT)}#{anchor}" == name:
            return text
    raise AssertionError(f"no python block {name}")


def test_every_documented_command_is_covered():
    documented = set(commands()) | {f"python:{p.relative_to(ROOT)}#{a}" for p, a, _ in fenced("python")}
    assert documented - set(COVERED) == set(), "add these to tests/test_docs.py's COVERED"
    assert set(COVERED) - documented == set(), "no longer in the docs: remove from COVERED"


def test_tests_named_in_covered_exist():
    here = {name for name in globals() if name.startswith("test_")}
    for text in COVERED.values():
        for name in re.findall(r"(?<![/\w])test_\w+\b(?!\.py)", text):
            where = [f for f in (ROOT / "tests").rglob("test_*.py") if f"def {name}(" in f.read_text()]
            assert name in here or where, name


def test_test_files_named_in_the_docs_and_in_covered_exist():
    """The tests moved into folders that mirror the package; a stale tests/... path fails here."""
    texts = [path.read_text(encoding="utf-8") for path in DOCS] + list(COVERED.values())
    named = {name for text in texts for name in re.findall(r"\btests/[\w/]+\.py", text)}
    assert named, "the docs name their tests by path"
    assert sorted(name for name in named if not (ROOT / name).is_file()) == []


# -- extras: one table, both install forms -------------------------------------------------
def test_extras_table_matches_pyproject_and_hints_name_both_forms():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    for name, packages in extras.items():
        if name in ("test", "bench"):
            continue
        listed = [re.split(r"[<>=!~ ]", p)[0] for p in packages]
        assert EXTRAS[name] == ", ".join(listed), name
    assert set(EXTRAS) == set(extras) - {"test", "bench"}
    assert install_hint("web") == ('pip install "nnlearn[web]" (or pip install ".[web]" in a checkout '
                                   "of nnlearn; it brings starlette, uvicorn, threadpoolctl)")


def test_install_messages_come_from_the_table():
    """Before: messages said only pip install 'nnlearn[x]', which fails in a checkout."""
    offenders = []
    for path in (ROOT / "src" / "nnlearn").rglob("*.py"):
        if path.name == "errors.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                    and "nnlearn[" in node.value):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


# -- the commands, at small sizes ----------------------------------------------------------
def accuracy(text: str) -> float:
    return float(re.search(r"Test accuracy: ([\d.]+)%", text).group(1))


@pytest.fixture
def runs(tmp_path, monkeypatch):
    monkeypatch.setenv("NNLEARN_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.chdir(ROOT)
    return tmp_path / "runs"


SMALL = ["--train-size", "3000", "--validation-size", "1000", "--no-plots", "--seed", "1"]


def test_set_up_main_job_learns(runs, capsys):
    assert main(["train", *SMALL, "--epochs", "2"]) == 0
    assert accuracy(capsys.readouterr().out) > 85
    assert main(["train", "--preset", "quick", *SMALL, "--epochs", "2"]) == 0
    assert accuracy(capsys.readouterr().out) > 85


def test_tour_train_commands_learn(runs, capsys, mnist):
    from nnlearn.data.png import write_png

    assert main(["train", "--preset", "ch1-30", "--train-size", "10000", "--validation-size", "1000",
                 "--epochs", "3", "--seed", "1", "--no-plots"]) == 0  # seeded: some seeds get stuck
    assert accuracy(capsys.readouterr().out) > 80                       # the book's ch. 1 network
    assert main(["train", "--preset", "ch3-100-l2", "--name", "l2", *SMALL,
                 "--epochs", "2"]) == 0
    assert accuracy(capsys.readouterr().out) > 85
    digit = np.round(255 * (1 - np.kron(mnist.test[0][0].reshape(28, 28), np.ones((6, 6)))))
    page = np.full((260, 220), 255.0)
    page[40:208, 30:198] = digit
    write_png(runs.parent / "my-digit.png", page.astype(np.uint8))
    assert main(["predict", str(runs / "l2"), str(runs.parent / "my-digit.png")]) == 0
    assert f"my-digit.png: {mnist.test[1][0]} (p = " in capsys.readouterr().out


@pytest.mark.slow
def test_tour_convnet_with_momentum_learns(runs, capsys):
    """Before: the README's example (momentum 0.9 at the preset's η = 0.1) stayed at 10.32%."""
    assert main(["train", "--config", "configs/ch6-conv1.toml", "--epochs", "2", "--optimizer",
                 "momentum", "--set", "optimizer.mu=0.9", "--eta", "0.01", *SMALL]) == 0
    assert accuracy(capsys.readouterr().out) > 30   # 2 epochs of 3,000 images; chance is 10%


def test_quickstart_snippet_learns(tmp_path, monkeypatch, capsys):
    code = python_snippet("python:README.md#quickstart")
    small = code.replace("data.train            #", "data.train[0][:5000], data.train[1][:5000]  #")
    small = small.replace("epochs=30", "epochs=3")
    assert small.count("[:5000]") == 2 and "epochs=3," in small
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(small, "README.md#quickstart", "exec"), namespace)
    assert namespace["history"]["evaluation_accuracy"][-1] > 0.8
    assert namespace["net"].evaluate(*namespace["data"].test)["accuracy"] > 0.8
    assert (tmp_path / "mnist-30.npz").is_file()
    assert namespace["same"].evaluate(*namespace["data"].test) == namespace["net"].evaluate(*namespace["data"].test)


@pytest.mark.slow
def test_ch3_eta_search_learns(runs, capsys):
    assert main(["search", "configs/search/ch3-eta.toml", "--quiet"]) == 0
    folder = next(runs.glob("search-ch3-eta*"))
    with open(folder / "results.csv", newline="") as f:
        top = next(csv.DictReader(f))                  # ranked: the best first
    assert float(top["validation_accuracy"]) > 0.8   # the best η learns on 1,000 images


def run_script(path: Path, cwd: Path, runs: Path, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "NNLEARN_RUNS_DIR": str(runs), "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run([sys.executable, str(path)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.slow
def test_ensemble_snippet_runs_as_a_script_and_learns(tmp_path):
    """Before: the snippet had no `if __name__ == "__main__":`, so as a script every spawned
    worker ran it again and the trials died "terminated abruptly", with no word on why."""
    code = python_snippet("python:docs/distributed.md#ensembles")
    small = code.replace('overrides={"training.seed": seed}',
                         'overrides={"training.seed": seed, "data.train_size": 1000, '
                         '"data.validation_size": 500, "training.epochs": 1}').replace("range(1, 6)", "range(1, 3)")
    assert small.count("data.train_size") == 1 and "range(1, 3)" in small
    script = tmp_path / "ensemble.py"
    script.write_text(small)
    done = run_script(script, tmp_path, tmp_path / "runs")
    assert done.returncode == 0, done.stderr[-2000:]
    result = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert result["accuracy"] > 0.3 and result["total"] == 10000   # 2 members, 1,000 images
    unguarded = tmp_path / "unguarded.py"
    lines = [line[4:] if line.startswith("    ") else line for line in small.splitlines()
             if not line.startswith("if __name__")]
    unguarded.write_text("\n".join(lines) + "\n")
    failed = run_script(unguarded, tmp_path, tmp_path / "runs2")
    assert failed.returncode != 0
    assert 'put those lines under `if __name__ == "__main__":`' in failed.stderr
    assert str(unguarded) in failed.stderr


@pytest.mark.slow
def test_web_model_script_learns(tmp_path):
    out = tmp_path / "digits.npz"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "train_web_model.py"), "--epochs", "1",
                           "--out", str(out)], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert done.returncode == 0, done.stderr[-2000:]
    assert nnlearn.load(out).metadata["test_accuracy"] > 0.9
