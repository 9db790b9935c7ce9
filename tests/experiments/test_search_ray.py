"""`nnlearn search --engine ray` on a real Ray cluster: a head node and one worker node on
this machine, started by the fixture (`ray start --block`, a random auth token, its own
temp folder) and stopped after the module by signalling those two processes. Every sweep
runs `nnlearn` as a subprocess, a Ray driver of its own.

Ray does not keep to loopback on its own: it replaces 127.0.0.1 by the host's address,
listens on all interfaces and probes a public resolver to find "its" address. So the
cluster and every process that talks to it run inside a private network namespace made
by the fixture (``unshare --net``), whose only interface is its own loopback: nothing
leaves it, and 127.0.0.1 is the only address Ray can find.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from nnlearn.cli import main
from nnlearn.experiments.runs.folder import Run
from tests.experiments.test_search import MEMBER, TINY

pytestmark = pytest.mark.slow

RAY = str(Path(sys.executable).with_name("ray"))
START_TIMEOUT = 120
"""Seconds the cluster may take to come up (about 10 on an idle 2-core machine)."""

SPACE = TINY.format(epochs=3) + '[search]\n"training.eta" = [3.0, 0.5, 0.05, 0.001]\n'
"""Four tiny trials. Tune starts them in this order on the cluster's two CPUs, so the last
(η = 0.001: chance accuracy after an epoch) reaches ASHA's first milestone after the
others and below their median: ASHA stops it."""


class Namespace:
    """A private network namespace held open by a ``sleep`` process; ``prefix`` runs a
    command inside it (root: ``unshare --net``; others: inside a user namespace too)."""

    def __init__(self):
        root = os.geteuid() == 0
        self.holder = subprocess.Popen(
            ["unshare", "--net", *([] if root else ["--user", "--map-root-user"]),
             "sleep", "3600"], start_new_session=True)
        self.prefix = ["nsenter", f"--target={self.holder.pid}", "--net",
                       *([] if root else ["--user", "--preserve-credentials"]), "--"]
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{self.holder.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
            assert time.monotonic() < deadline and self.holder.poll() is None, \
                "cannot make a network namespace (unshare --net)"
            time.sleep(0.05)
        subprocess.run([*self.prefix, "ip", "link", "set", "lo", "up"], check=True, timeout=30)

    def run(self, argv: list[str], **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix, *argv], capture_output=True, text=True, **kwargs)

    def close(self) -> None:
        self.holder.kill()
        self.holder.wait(timeout=10)


@pytest.fixture(scope="module")
def netns():
    space = Namespace()
    yield space
    space.close()


class Cluster:
    def __init__(self, address: str, env: dict[str, str], space: Namespace):
        self.address, self.env, self.space = address, env, space

    def nnlearn(self, *argv: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
        env = {**self.env, "NNLEARN_RUNS_DIR": str(cwd / "runs")}
        return self.space.run([sys.executable, "-m", "nnlearn.cli", *argv], cwd=cwd, env=env,
                              timeout=timeout)

    def python(self, code: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return self.space.run([sys.executable, "-c", code], env=self.env, timeout=timeout)


def _wait(condition, what: str, processes, logs) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while not condition():
        for p, log in zip(processes, logs):
            if p.poll() is not None:
                pytest.fail(f"{what}: `ray start` exited with {p.returncode}:\n"
                            f"{Path(log).read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {START_TIMEOUT} s")
        time.sleep(0.5)


@pytest.fixture(scope="module")
def cluster(netns):
    temp = tempfile.mkdtemp(prefix="nnray-")  # short: Ray's socket paths live below it
    head_port, head_agent, worker_agent = 6379, 52365, 52366  # the namespace's own ports
    env = {**os.environ, "RAY_TMPDIR": temp, "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN": secrets.token_hex(32), "RAY_USAGE_STATS_ENABLED": "0"}
    common = ["--block", "--num-cpus", "1", "--node-ip-address", "127.0.0.1",
              "--disable-usage-stats"]
    commands = [
        [RAY, "start", "--head", "--port", str(head_port), "--include-dashboard=false",
         "--dashboard-agent-listen-port", str(head_agent), *common],
        [RAY, "start", "--address", f"127.0.0.1:{head_port}",
         "--dashboard-agent-listen-port", str(worker_agent), *common],
    ]
    processes, logs = [], []
    try:
        for i, command in enumerate(commands):
            logs.append(os.path.join(temp, f"node{i}.log"))
            with open(logs[-1], "w") as log:
                processes.append(subprocess.Popen([*netns.prefix, *command], env=env,
                                                  stdout=log, stderr=subprocess.STDOUT,
                                                  start_new_session=True))
            if i == 0:
                _wait(lambda: _cpus(netns, head_port, env) == 1, "the Ray head node",
                      processes, logs)
        _wait(lambda: _cpus(netns, head_port, env) == 2, "two Ray nodes with a CPU each",
              processes, logs)
        yield Cluster(f"127.0.0.1:{head_port}", env, netns)
    finally:
        for p in reversed(processes):  # `ray start --block` stops its node on SIGTERM
            p.send_signal(signal.SIGTERM)
        for p in reversed(processes):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=10)
        shutil.rmtree(temp, ignore_errors=True)


def _cpus(netns: Namespace, port: int, env) -> float:
    out = netns.run([RAY, "status", "--address", f"127.0.0.1:{port}"], env=env, timeout=60).stdout
    for line in out.splitlines():
        if line.strip().endswith(" CPU") and "/" in line:
            return float(line.split("/")[1].split()[0])
    return 0.0


def results(folder: Path) -> list[dict[str, str]]:
    with open(folder / "results.csv", newline="") as f:
        return list(csv.DictReader(f))


def curve(run_dir) -> list[float]:
    return [r["evaluation_accuracy"] for r in Run(run_dir).metrics()]


def test_asha_sweep_on_the_cluster_stops_poor_trials_and_matches_local(cluster, tmp_path):
    (tmp_path / "space.toml").write_text(SPACE)
    done = cluster.nnlearn("search", "space.toml", "--engine", "ray", "--address", cluster.address,
                           "--scheduler", "asha", "--name", "ray", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "on ray (the Ray cluster at 127.0.0.1:" in done.stdout
    assert sum(line.startswith("[") for line in done.stdout.splitlines()) == 4
    table = results(tmp_path / "runs" / "ray")
    assert len(table) == 4
    stopped = [r for r in table if r["stopped_by_asha"] == "yes"]
    assert stopped and all(r["status"] == "asha_stopped" and int(r["epochs"]) < 3
                           for r in stopped)
    assert any(r["training.eta"] == "0.001" for r in stopped)
    accuracies = [float(r["validation_accuracy"]) for r in table]
    assert accuracies == sorted(accuracies, reverse=True)
    for r in table:  # every trial left an ordinary run folder, stopped ones included
        files = {p.name for p in Path(r["run_dir"]).iterdir()}
        assert {"config.toml", "metrics.jsonl", "model.npz", "summary.json"} <= files
        assert len(curve(r["run_dir"])) == int(r["epochs"])
        assert Run(r["run_dir"]).summary()["sweep"]["status"] == r["status"]

    # The best config reruns to the same validation accuracy with `nnlearn train`.
    best = table[0]
    assert best["status"] == "completed"
    rerun = tmp_path / "rerun"
    assert main(["train", "--config", str(tmp_path / "runs" / "ray" / "best.toml"),
                 "--run-dir", str(rerun), "--no-plots", "--quiet"]) == 0
    assert curve(rerun) == curve(best["run_dir"])
    assert max(curve(rerun)) == float(best["validation_accuracy"])

    # The same sweep on the local engine: the same numbers, epoch by epoch, for every trial
    # (ASHA's trials stop early, so theirs are a prefix of the local ones).
    assert main(["search", str(tmp_path / "space.toml"), "--name", "twin-of-ray"]) == 0
    local = {r["trial"]: r for r in results(Path(os.environ["NNLEARN_RUNS_DIR"]) / "twin-of-ray")}
    assert len(local) == 4
    for r in table:
        ours, theirs = curve(r["run_dir"]), curve(local[r["trial"]]["run_dir"])
        assert ours == theirs[:len(ours)], r["trial"]
        if r["status"] == "completed":
            assert r["validation_accuracy"] == local[r["trial"]]["validation_accuracy"]


def test_a_trial_that_raises_is_recorded_and_the_sweep_goes_on(cluster, tmp_path):
    (tmp_path / "space.toml").write_text(SPACE.replace(
        '"training.eta" = [3.0, 0.5, 0.05, 0.001]', '"data.source" = ["mnist", "no-such-data"]'))
    done = cluster.nnlearn("search", "space.toml", "--engine", "ray", "--address", cluster.address,
                           "--name", "raises", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    table = {Path(r["data.source"]).name: r for r in results(tmp_path / "runs" / "raises")}
    assert table["mnist"]["status"] == "completed" and table["mnist"]["rank"] == "1"
    failed = table["no-such-data"]
    assert failed["status"] == "failed" and "no-such-data" in failed["error"]
    assert failed["validation_accuracy"] == "" and "Traceback" not in done.stdout + done.stderr


def test_ensemble_members_train_as_parallel_trials_on_the_cluster(cluster, tmp_path):
    from nnlearn.experiments.reproduce.members import ensemble_run

    code = (f"import json; from nnlearn.experiments.sweeps.engines import RayEngine\n"
            f"from nnlearn.experiments.reproduce.members import ensemble_run\n"
            f"row = ensemble_run({MEMBER!r}, 4, 2, print, RayEngine(address={cluster.address!r}), "
            f"runs_dir={str(tmp_path / 'ray')!r})\n"
            f"print(json.dumps(row))")
    done = cluster.python(code)
    assert done.returncode == 0, done.stderr
    assert "2 members on ray (the Ray cluster at" in done.stdout
    on_ray = json.loads(done.stdout.splitlines()[-1])
    assert on_ray["best"] == ensemble_run(MEMBER, 4, 2, lambda line: None,
                                          runs_dir=tmp_path / "here")["best"]


def test_an_unreachable_address_is_a_clear_error_not_a_hang(netns, tmp_path):
    (tmp_path / "space.toml").write_text(SPACE)
    port = 6390  # nothing listens there in the namespace
    env = {**os.environ, "NNLEARN_RUNS_DIR": str(tmp_path / "runs")}
    done = netns.run([sys.executable, "-m", "nnlearn.cli", "search", "space.toml", "--engine",
                      "ray", "--address", f"127.0.0.1:{port}"], cwd=tmp_path, env=env, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith(f"nnlearn search: error: cannot reach a Ray cluster at "
                                  f"127.0.0.1:{port} (Connection refused)")
    assert "ray start --head" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "runs").exists()  # checked before the sweep folder is made


def test_optuna_sweep_on_the_cluster_through_tunes_optuna_search(cluster, tmp_path):
    """[sweep] sampler on --engine ray: Ray Tune's OptunaSearch proposes the trials from the
    study in the sweep folder, ASHA stops the poor ones; the study, the trial folders and the
    table agree. Ray Tune also writes its own TensorBoard files under ray/ (docs/interop.md)."""
    optuna = pytest.importorskip("optuna")
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    (tmp_path / "space.toml").write_text(SPACE + '[sweep]\nsampler = "tpe"\npruner = "asha"\n'
                                                 'trials = 4\nseed = 2\n')
    done = cluster.nnlearn("search", "space.toml", "--engine", "ray", "--address", cluster.address,
                           "--name", "tpe", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "runs" / "tpe"
    table = {r["trial"]: r for r in results(folder)}
    assert len(table) == 4
    study = optuna.load_study(study_name="tpe", storage=JournalStorage(
        JournalFileBackend(str(folder / "optuna.journal"))))
    assert len(study.trials) == 4 and all(t.state.is_finished() for t in study.trials)
    for trial in study.trials:  # each table row is the Optuna trial of the same number
        row = table[f"trial-{trial.number:03d}"]
        assert float(row["training.eta"]) == trial.params["training.eta"]
        assert Run(row["run_dir"]).config()["training"]["eta"] == trial.params["training.eta"]
        assert len(curve(row["run_dir"])) == int(row["epochs"])
        if row["status"] == "asha_stopped":
            assert int(row["epochs"]) < 3
        else:
            assert row["status"] == "completed" and int(row["epochs"]) == 3
    if importlib.util.find_spec("tensorboardX") is not None:
        assert list((folder / "ray").glob("*/events.out.tfevents.*"))
