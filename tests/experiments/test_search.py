"""`nnlearn search` on the local engine: space files, trials, results, resume, ensembles.

The Ray engine has its own tests (tests/experiments/test_search_ray.py, a real local Ray cluster).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import pytest

from nnlearn.cli import main
from nnlearn.errors import ConfigError
from nnlearn.experiments.sweeps import engines, search
from nnlearn.experiments.sweeps.engines import LocalEngine
from nnlearn.experiments.runs.folder import Run
from tests.paths import REPO

TINY = """
[data]
train_size = 300
validation_size = 1000

[model]
hidden = [10]

[training]
epochs = {epochs}
"""
"""A reduced problem: 300 training images, 1,000 validation images, [784, 10, 10]."""


def space_file(folder: Path, body: str, epochs: int = 3, name: str = "space") -> Path:
    path = folder / f"{name}.toml"
    path.write_text(TINY.format(epochs=epochs) + body, encoding="utf-8")
    return path


def metrics(run_dir) -> list[float]:
    return [r["evaluation_accuracy"] for r in Run(run_dir).metrics()]


# -- bad input: a clear error, exit status 2, nothing run -------------------------------
@pytest.mark.parametrize("body, phrase", [
    ('[search]\n"training.etta" = [0.1]\n',
     "[search] training.etta: unknown key 'training.etta'; [training] takes early_stopping, "
     "epochs, eta"),
    ('[search]\n"training.eta" = []\n', "[search] training.eta: the list of values is empty"),
    ('[search]\n"training.eta" = {choices = []}\n', "choices is empty"),
    ('[search]\n"training.eta" = {low = 1.0, high = 0.1}\n',
     "[search] training.eta: the range is empty: low = 1.0 > high = 0.1; swap them"),
    ('[search]\n"training.eta" = {low = 0.0, high = 1.0, scale = "log"}\n',
     "a log range needs low > 0"),
    ('[search]\n"training.eta" = {low = 0.1, high = 1.0, scale = "cubic"}\n',
     "scale must be \"linear\" or \"log\""),
    ('[search]\n"training.eta" = {low = 0.1, hi = 1.0}\n', "unknown range key(s) ['hi']"),
    ('[search]\n"training.eta" = [0.5, -1.0]\n',
     "[search] training.eta: -1.0 is not a valid value: training.eta must be a finite number > 0"),
    ('[search]\n"training.eta" = 0.5\n', "to fix a value, set it in the config tables instead"),
    ('[search]\n', "a space file needs a [search] table"),
    ('[search]\n"training.eta" = {low = 0.1, high = 1.0}\n',
     "draws training.eta at random; say how many trials with --trials N"),
    ('[search]\n"training.eta" = [0.5]\n[sweep]\ntrials = 3\n',
     "every [search] key is a grid list"),
    ('[search]\n"training.eta" = [0.5]\n[sweep]\nworkers = 3\n',
     "unknown [sweep] key(s) ['workers']; [sweep] takes trials, seed, scheduler"),
    ('[search]\n"training.eta" = [0.5]\n[sweep]\nscheduler = "hyperband"\n',
     "[sweep] scheduler: unknown value 'hyperband'; expected one of asha, fifo"),
    ('[search]\n"training.eta" = [0.5]\n[sweep]\nscheduler = "asha"\n',
     "scheduler 'asha' needs --engine ray"),
    ('[traning]\neta = 0.5\n[search]\n"training.eta" = [0.5]\n', "unknown key 'traning'"),
])
def test_bad_space_exits_2_naming_the_problem_before_anything_runs(tmp_path, capsys, body, phrase):
    from nnlearn.experiments.runs.folder import runs_root

    path = space_file(tmp_path, body)
    assert main(["search", str(path), "--name", "bad"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnlearn search: error: ") and phrase in err, err
    assert "Traceback" not in err
    assert not (runs_root() / "bad").exists()


@pytest.mark.parametrize("argv, phrase", [
    (["--address", "127.0.0.1:6379"], "--address joins a Ray cluster: it needs --engine ray"),
    (["--engine", "ray", "--address", "nohost"], "--address must be 'auto' or HOST:PORT"),
    (["--scheduler", "asha"], "scheduler 'asha' needs --engine ray"),
    (["--resume"], "is not a sweep folder (no sweep.json)"),
])
def test_bad_options_exit_2(tmp_path, capsys, argv, phrase):
    path = space_file(tmp_path, '[search]\n"training.eta" = [0.5]\n')
    assert main(["search", str(path), *argv]) == 2
    assert phrase in capsys.readouterr().err


def test_unknown_base_preset_lists_the_presets(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text('base = "preset:no-such"\n[search]\n"training.eta" = [0.5]\n')
    assert main(["search", str(path)]) == 2
    assert "base: unknown preset 'no-such'; expected one of ch1-100" in capsys.readouterr().err


def test_missing_space_file_is_a_clear_error(tmp_path, capsys):
    assert main(["search", str(tmp_path / "nope.toml")]) == 2
    assert "config file" in capsys.readouterr().err


# -- trials -----------------------------------------------------------------------------
def test_grid_times_draws_in_a_fixed_order_with_valid_configs(tmp_path):
    path = space_file(tmp_path, """
[search]
"training.eta" = [0.1, 1.0]
"regularization.lmbda" = {low = 0.01, high = 100.0, scale = "log"}
"training.mini_batch_size" = {choices = [5, 10, 20]}
"model.hidden" = [[10], [20, 5]]

[sweep]
trials = 5
seed = 3
""")
    space = search.load_space(path)
    specs = search.trial_specs(space)
    assert len(specs) == 2 * 2 * 5
    assert [s["name"] for s in specs[:3]] == ["trial-000", "trial-001", "trial-002"]
    assert list(specs[0]["settings"]) == ["training.eta", "regularization.lmbda",
                                          "training.mini_batch_size", "model.hidden"]
    lmbdas = [s["settings"]["regularization.lmbda"] for s in specs]
    assert all(0.01 <= v <= 100.0 for v in lmbdas)
    assert len(set(lmbdas)) == 5  # one draw per sample, shared by its 4 grid points
    for spec in specs:
        s, cfg = spec["settings"], spec["config"]
        assert cfg["training"]["eta"] == s["training.eta"]
        assert cfg["regularization"]["lmbda"] == s["regularization.lmbda"]
        assert cfg["model"]["hidden"] == s["model.hidden"]
        assert s["training.mini_batch_size"] in (5, 10, 20)
        assert cfg["training"]["seed"] == 3  # [sweep] seed, since the config sets none
        assert cfg["data"]["train_size"] == 300
    again = search.trial_specs(search.load_space(path))
    assert [s["settings"] for s in again] == [s["settings"] for s in specs]
    more = search.trial_specs(space, trials=7)
    assert len(more) == 28 and more[:20] == specs  # the first draws do not depend on how many


def test_log_ranges_draw_uniformly_in_the_log_and_int_ranges_give_ints():
    import numpy

    rng = numpy.random.default_rng(0)
    values = [search.draw({"low": 1e-4, "high": 1.0, "scale": "log"}, rng) for _ in range(4000)]
    decades = numpy.histogram(numpy.log10(values), bins=4, range=(-4, 0))[0]
    assert all(abs(n - 1000) < 120 for n in decades), decades  # ~1000 per decade
    ints = {search.draw({"low": 2, "high": 5, "scale": "linear"}, rng) for _ in range(200)}
    assert ints == {2, 3, 4, 5}


def test_base_preset_and_a_config_seed_are_kept(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('base = "preset:ch3-30-l2"\n[training]\nseed = 7\nepochs = 2\n'
                    '[search]\n"training.eta" = [0.1, 0.5]\n', encoding="utf-8")
    specs = search.trial_specs(search.load_space(path))
    assert [s["config"]["model"]["hidden"] for s in specs] == [[30], [30]]
    assert {s["config"]["training"]["seed"] for s in specs} == {7}
    assert [s["config"]["training"]["eta"] for s in specs] == [0.1, 0.5]


def test_the_shipped_spaces_are_valid():
    shipped = sorted(REPO.glob("configs/search/*.toml"))
    assert len(shipped) >= 2
    for path in shipped:
        specs = search.trial_specs(search.load_space(path))
        assert len(specs) >= 3, path


# -- the local engine, end to end ---------------------------------------------------------
@pytest.mark.slow
def test_local_sweep_writes_ranked_results_and_a_best_config_that_reruns(tmp_path, capsys):
    path = space_file(tmp_path, '[search]\n"training.eta" = [3.0, 0.5, 0.05, 0.001]\n')
    assert main(["search", str(path), "--name", "local"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("[")]
    assert len(lines) == 4 and all("completed" in line for line in lines)
    folder = Path(out.split("sweep folder: ")[1].splitlines()[0])
    with open(folder / "results.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert [r["rank"] for r in table] == ["1", "2", "3", "4"]
    accuracies = [float(r["validation_accuracy"]) for r in table]
    assert accuracies == sorted(accuracies, reverse=True)
    assert {float(r["training.eta"]) for r in table} == {3.0, 0.5, 0.05, 0.001}
    for r in table:  # each trial is an ordinary run folder; its row says what it holds
        run = Run.open(r["run_dir"])
        assert {p.name for p in run.path.iterdir()} >= {"config.toml", "metrics.jsonl",
                                                         "model.npz", "summary.json"}
        curve = metrics(run.path)
        assert len(curve) == 3 and max(curve) == float(r["validation_accuracy"])
        assert curve.index(max(curve)) + 1 == int(r["best_epoch"])
        assert run.config()["training"]["eta"] == float(r["training.eta"])
        assert run.summary()["test_total"] == 10000 and r["stopped_by_asha"] == "no"
    markdown = (folder / "results.md").read_text()
    assert markdown.count("\n| ") == 1 + 4 and "| 1 | " + table[0]["trial"] + " |" in markdown
    best = table[0]
    assert f"best: {best['trial']}" in out
    # The best config reruns with `nnlearn train --config` to the same validation accuracy.
    rerun = tmp_path / "rerun"
    assert main(["train", "--config", str(folder / "best.toml"), "--run-dir", str(rerun),
                 "--no-plots", "--quiet"]) == 0
    assert metrics(rerun) == metrics(best["run_dir"])
    assert max(metrics(rerun)) == float(best["validation_accuracy"])


@pytest.mark.slow
def test_diverged_and_failed_trials_are_recorded_and_the_sweep_goes_on(tmp_path, capsys):
    path = space_file(tmp_path, '[search]\n"training.eta" = [0.5, 1e30]\n'
                                '"data.source" = ["mnist", "no-such-folder"]\n', epochs=2)
    assert main(["search", str(path), "--name", "bad-trials"]) == 0
    out = capsys.readouterr().out
    rows = {(r["settings"]["training.eta"], Path(r["settings"]["data.source"]).name): r
            for r in search.finished_rows(Path(out.split("sweep folder: ")[1].splitlines()[0]),
                                          [{"name": f"trial-{i:03d}"} for i in range(4)])}
    assert rows[(0.5, "mnist")]["status"] == "completed"
    diverged = rows[(1e30, "mnist")]
    assert diverged["status"] == "diverged" and "diverged" in diverged["error"]
    for eta in (0.5, 1e30):
        failed = rows[(eta, "no-such-folder")]
        assert failed["status"] == "failed" and "no-such-folder" in failed["error"]
        assert failed["validation_accuracy"] is None
    table = out.split("| rank |")[1]
    assert table.index("| completed |") < min(table.index("| diverged: "), table.index("| failed: "))
    assert "best: trial-000" in out


@pytest.mark.slow
def test_resume_runs_only_the_unfinished_trials(tmp_path, capsys):
    path = space_file(tmp_path, '[search]\n"training.eta" = [0.5, 0.05, 3.0]\n', epochs=2)
    assert main(["search", str(path), "--name", "resume"]) == 0
    first = capsys.readouterr().out
    folder = Path(first.split("sweep folder: ")[1].splitlines()[0])
    before = {p.parent.name: p.stat().st_mtime_ns for p in folder.glob("trials/*/model.npz")}
    # An interrupted sweep: trial-001 never finished.
    (folder / "trials" / "trial-001" / "summary.json").unlink()
    assert main(["search", str(path), "--name", "resume"]) == 2
    assert "already exists; continue it with --resume" in capsys.readouterr().err
    assert main(["search", str(path), "--name", "resume", "--resume"]) == 0
    second = capsys.readouterr().out
    assert "resuming: 2 trials finished before, 1 to run" in second
    assert [line.split()[1] for line in second.splitlines() if line.startswith("[")] == ["trial-001"]
    after = {p.parent.name: p.stat().st_mtime_ns for p in folder.glob("trials/*/model.npz")}
    assert after["trial-000"] == before["trial-000"] and after["trial-002"] == before["trial-002"]
    assert after["trial-001"] != before["trial-001"]
    assert _table_without_times(first) == _table_without_times(second)
    # A changed space is not the same sweep.
    path.write_text(path.read_text().replace("3.0]", "2.0]"))
    assert main(["search", str(path), "--name", "resume", "--resume"]) == 2
    assert "differ from those of the sweep" in capsys.readouterr().err


def _table_without_times(out: str) -> list[list[str]]:
    rows = [line.split("|")[1:-1] for line in out.splitlines() if line.startswith("| ")]
    head = [c.strip() for c in rows[0]]
    drop = head.index("time, s")
    return [[c.strip() for i, c in enumerate(r) if i != drop] for r in rows]


# -- ensembles ---------------------------------------------------------------------------
MEMBER = {"key": "tiny", "label": "tiny member", "preset": "quick",
          "overrides": {"data.train_size": 300, "data.validation_size": 1000,
                        "model.hidden": [10], "training.epochs": 2}}
"""A tiny ensemble member (the ch6 (h) members are the same code path, at full size)."""


@pytest.mark.slow
def test_ensemble_members_as_parallel_trials_match_the_sequential_ensemble(tmp_path):
    from nnlearn.experiments.reproduce.members import ensemble_run

    logs = []
    sequential = ensemble_run(MEMBER, 4, 2, logs.append, runs_dir=tmp_path / "sequential")
    parallel = ensemble_run(MEMBER, 4, 2, logs.append, engine=LocalEngine(),
                            runs_dir=tmp_path / "parallel")  # no finished member to reuse
    assert parallel["best"] == sequential["best"]
    assert 40 < parallel["best"] < 100 and parallel["epochs"] == 2
    assert any("2 members side by side on local" in line for line in logs)


@pytest.mark.slow
def test_ensemble_train_api_trains_one_member_per_config(tmp_path):
    from nnlearn.experiments.config import files as config
    from nnlearn.experiments.reproduce.common import preset_config
    from nnlearn.nn.ensemble import Ensemble

    configs = [preset_config(MEMBER, seed) for seed in (1, 2)]
    ensemble = Ensemble.train(configs, LocalEngine())
    assert len(ensemble) == 2
    a, b = ensemble.networks
    assert not math.isclose(float(a.layers[0].params["W"].sum()),
                            float(b.layers[0].params["W"].sum()))
    bad = config.resolve(configs[0], overrides={"data.source": str(tmp_path / "none")})
    with pytest.raises(Exception, match="ensemble member member-1 failed"):
        LocalEngine().train_networks([configs[0], bad], folder=tmp_path / "members")
    with pytest.raises(ConfigError, match="train_networks"):
        Ensemble.train(configs, engine="ray")


def test_reproduce_engine_applies_to_ensembles_only(tmp_path, capsys):
    assert main(["reproduce", "ch6", "--only", "a", "--engine", "local",
                 "--out", str(tmp_path)]) == 2
    assert "none of the selected ch6 experiments is an ensemble" in capsys.readouterr().err
    assert main(["reproduce", "ch6", "--only", "h", "--address", "auto"]) == 2
    assert "--address joins a Ray cluster" in capsys.readouterr().err


def test_progress_lines_say_what_each_trial_did():
    from nnlearn.cli.search import trial_line

    row = {"trial": "trial-002", "settings": {"training.eta": 0.25, "model.hidden": [30]},
           "validation_accuracy": 0.9123, "best_epoch": 7, "epochs": 10, "seconds": 4.12,
           "status": "asha_stopped", "error": None}
    assert trial_line(row, 3, 8) == ("[3/8] trial-002 training.eta=0.25 model.hidden=[30]: "
                                     "validation 91.23% (best at epoch 7 of 10), 4.1 s, "
                                     "asha stopped")
    failed = {**row, "validation_accuracy": None, "status": "failed", "error": "DataError: x"}
    assert trial_line(failed, 1, 1).endswith("no epoch finished, 4.1 s, failed: DataError: x")
    assert json.dumps(row)  # rows are plain JSON values


# -- limits: counted before anything is listed, refused with the count and the fix ---------------
def test_a_sweep_above_the_trial_limit_is_refused_up_front_with_the_count_and_the_fix(tmp_path):
    path = space_file(tmp_path, '[search]\n"training.eta" = {low = 0.1, high = 1.0}\n'
                                '[sweep]\ntrials = 1000000000\n')
    space = search.load_space(path)
    start = time.process_time()
    with pytest.raises(ConfigError) as info:
        search.trial_specs(space)
    assert time.process_time() - start < 1.0  # refused, not drawn
    message = str(info.value)
    assert "1,000,000,000 trials" in message and "limit of 1,000" in message
    assert "--max-trials N or [sweep] max_trials = N" in message
    # the limit is the user's to raise: 3 draws refused under max_trials = 2, run under 3
    path = space_file(tmp_path, '[search]\n"training.eta" = {low = 0.1, high = 1.0}\n'
                                '[sweep]\ntrials = 3\nmax_trials = 2\n', name="small")
    with pytest.raises(ConfigError, match="3 trials"):
        search.trial_specs(search.load_space(path))
    assert len(search.trial_specs(search.load_space(path, max_trials=3))) == 3


def test_a_billion_point_grid_is_counted_not_materialised(tmp_path):
    axes = "".join(f'"optimizer.{k}" = [{", ".join(str(0.1 + i / 100) for i in range(10))}]\n'
                   for k in ("mu",))
    axes += "".join(f'"training.{k}" = [{", ".join(str(i) for i in range(1, 11))}]\n'
                    for k in ("epochs", "mini_batch_size", "early_stopping"))
    axes += "".join(f'"regularization.{k}" = [{", ".join(str(i / 10) for i in range(10))}]\n'
                    for k in ("lmbda", "l1", "max_norm", "dropout"))
    axes += '"training.eta" = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]\n'
    path = space_file(tmp_path, "[optimizer]\nname = \"momentum\"\n[search]\n" + axes)
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as info:
            search.load_space(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "1,000,000,000 trials (1,000,000,000 grid points)" in str(info.value)
    assert peak < 20 * 2**20  # the count is a product of ten lengths, not a list of points
    proc = subprocess.run([sys.executable, "-m", "nnlearn.cli", "search", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "more than the limit of 1,000" in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_deep_and_long_dotted_keys_are_refused_without_recursion(tmp_path):
    deep = ".".join(["a"] * 5000)
    path = space_file(tmp_path, f"[search]\n{deep} = [1, 2]\n")
    with pytest.raises(ConfigError) as info:
        search.load_space(path)
    message = str(info.value)
    assert "longer than any config key (at most 8 dotted parts" in message
    assert len(message) < 400  # the key is shown cut short, not 10,000 characters of it
    path = space_file(tmp_path, f'[search]\n"training.{"x" * 5000}" = [1]\n', name="long")
    with pytest.raises(ConfigError, match="200 characters"):
        search.load_space(path)


# -- Ray: the reachability probe fails fast, before any sweep folder exists ---------------------
@pytest.fixture
def not_ray():
    """A real listener on loopback that is not Ray: it answers like an HTTP/1.1 server."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.recv(1024)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    server.close()


def _ray_search(tmp_path, *args, env=None):
    if importlib.util.find_spec("ray") is None:
        pytest.skip("Ray is not installed (pip install 'nnlearn[ray]')")
    path = space_file(tmp_path, '[search]\n"training.eta" = [0.5]\n')
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "nnlearn.cli", "search", str(path), "--engine",
                           "ray", *args], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path, env=dict(os.environ, NNLEARN_RUNS_DIR=str(tmp_path / "runs"),
                                                 **(env or {})))
    return proc, time.monotonic() - start


def test_a_listener_that_is_not_ray_fails_fast_and_creates_no_sweep_folder(tmp_path, not_ray):
    start = time.monotonic()
    with pytest.raises(ConnectionError, match="is not a Ray head node"):
        engines.check_reachable(not_ray)
    assert time.monotonic() - start <= 5
    proc, _ = _ray_search(tmp_path, "--address", not_ray)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{not_ray} is not a Ray head node" in proc.stderr
    assert not (tmp_path / "runs").exists()


def test_address_auto_without_a_cluster_fails_fast_and_creates_no_sweep_folder(tmp_path):
    ray_tmp = tmp_path / "no-ray-here"  # ray start's record would be in <RAY_TMPDIR>/ray/
    ray_tmp.mkdir()
    env = {"RAY_TMPDIR": str(ray_tmp), "RAY_ADDRESS": ""}
    proc, _ = _ray_search(tmp_path, "--address", "auto", env=env)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "--address auto: no Ray cluster was started on this machine" in proc.stderr
    assert not (tmp_path / "runs").exists()
    # a stale record (the cluster is gone) is probed and refused just as fast
    (ray_tmp / "ray").mkdir()
    with socket.create_server(("127.0.0.1", 0)) as gone:
        port = gone.getsockname()[1]
    (ray_tmp / "ray" / "ray_current_cluster").write_text(f"127.0.0.1:{port}\n")
    start = time.monotonic()
    with pytest.raises(ConnectionError, match=f"cannot reach a Ray cluster at 127.0.0.1:{port}"):
        os.environ.update(env)
        try:
            engines.RayEngine(address="auto").check()
        finally:
            for key in env:
                os.environ.pop(key, None)
    assert time.monotonic() - start <= 5
