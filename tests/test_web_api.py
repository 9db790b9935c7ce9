"""The HTTP API of ``nnlearn serve`` through Starlette's TestClient (the real app, in process),
and the ``nnlearn serve`` command as a real server process on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from starlette.testclient import TestClient

import nnlearn
from nnlearn.data import digits
from nnlearn.data.png import write_png
from nnlearn.experiments.config import files as cfgmod
from nnlearn.experiments.runs.folder import Run
from nnlearn.web.app import create_app
from nnlearn.web.routes.common import MAX_BODY_BYTES
from nnlearn.web.predictor import shipped_model_path


def local_client(app) -> TestClient:
    """The app through Starlette's TestClient, as a browser on this machine reaches it
    (``Host: localhost``; TestClient's own ``testserver`` is not an allowed host)."""
    return TestClient(app, base_url="http://localhost")


@pytest.fixture
def runs_dir(tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    return root


@pytest.fixture
def client(runs_dir):
    with local_client(create_app(runs_dir, max_sessions=3)) as c:
        yield c


def make_run(root: Path, name: str, *, hidden=(10,), inputs: int = 784, metrics=(), finished=True,
             seed: int = 0, eta: float = 0.5) -> Run:
    """A run folder as `nnlearn train` leaves it, with a small untrained or given model."""
    cfg = cfgmod.resolve(None, overrides={"model.hidden": list(hidden), "training.epochs": 3,
                                          "training.seed": seed, "training.eta": eta})
    run = Run.create(cfg, run_dir=root / name)
    for record in metrics:
        run.append_metrics(record)
    nnlearn.Network.from_sizes([inputs, *hidden, 10], cost="cross_entropy", seed=seed).save(run.model_path)
    if finished:
        run.write_summary({"test_accuracy": 0.5, "epochs": len(metrics)})
    return run


def png_data_url(image: np.ndarray) -> str:
    buffer = Path(os.environ.get("TMPDIR", "/tmp")) / f"nnlearn-web-test-{os.getpid()}.png"
    write_png(buffer, image)
    data = buffer.read_bytes()
    buffer.unlink()
    return "data:image/png;base64," + base64.b64encode(data).decode()


# -- pages and general ---------------------------------------------------------------------
def test_pages_static_files_and_unknown_routes(client):
    for path, title in (("/", "Playground"), ("/draw", "Draw a digit"), ("/runs", "Runs")):
        r = client.get(path)
        assert r.status_code == 200 and f"<title>{title} · nnlearn</title>" in r.text
    assert "NN.lineChart" in client.get("/static/common.js").text
    r = client.get("/api/nope")
    assert r.status_code == 404 and "docs/web.md" in r.json()["error"]
    assert client.get("/api/health").json()["max_sessions"] == 3


# -- predict -------------------------------------------------------------------------------
def test_predict_matches_the_predict_command_path(client, mnist):
    images, labels = mnist.test[0][:8].reshape(-1, 28, 28), mnist.test[1][:8]
    net = nnlearn.load(shipped_model_path())
    right = 0
    for image, label in zip(images, labels):
        pixels = (image * 255).round().astype(np.uint8)
        answer = client.post("/api/predict", json={"image": png_data_url(pixels)}).json()
        expected = digits.class_probabilities(net, digits.network_inputs(
            net, digits.to_mnist(digits.to_grey(pixels))[None]))[0]
        assert answer["probabilities"] == pytest.approx(expected.tolist(), abs=1e-7)
        assert sum(answer["probabilities"]) == pytest.approx(1.0, abs=1e-6)
        assert np.array(answer["input"]).shape == (28, 28) and answer["model"] == "shipped"
        same = client.post("/api/predict", json={"image": pixels.tolist()}).json()  # 0–255 rows
        assert same["probabilities"] == pytest.approx(answer["probabilities"], abs=1e-7)
        right += answer["digit"] == label
    assert right >= 7  # the shipped model gets about 97 % of the test set right


def test_predict_steps_show_the_crop_and_the_20x20_digit(client):
    image = np.ones((200, 120))
    image[40:160, 50:70] = 0.0  # a dark bar on white paper
    answer = client.post("/api/predict", json={"image": image.tolist(), "steps": True}).json()
    assert answer["steps"]["box"] == [40, 50, 160, 70] and answer["steps"]["image_shape"] == [200, 120]
    scaled = np.array(answer["steps"]["scaled"])
    assert scaled.shape == (20, 3) and scaled.max() == pytest.approx(1.0)
    centred = np.array(answer["input"])
    assert centred[:, 12:16].sum() == pytest.approx(centred.sum())  # centred on column 14


def test_predict_steps_show_the_paper_the_ink_and_the_specks_set_aside(client):
    image = np.full((280, 280), 0.85)
    image += np.linspace(-0.15, 0.1, 280)[None, :]          # lit unevenly
    image[50:230, 130:150] = 0.1                            # a 1
    image[240:246, 20:26] = 0.1                             # a speck far from it
    image = (255 * image).round()                           # 0–255: a body within the limit
    answer = client.post("/api/predict", json={"image": image.tolist(), "steps": True}).json()
    steps = answer["steps"]
    assert steps["box"] == [50, 130, 230, 150] and steps["dark_ink"] is True
    ink, paper = np.array(steps["ink"]), np.array(steps["paper"])
    assert ink.shape == paper.shape == (70, 70)
    assert ink.max() == pytest.approx(1.0, abs=0.05) and ink.min() < -0.3   # kept, and set aside
    assert 0 < steps["threshold"] < 1
    two = np.full((200, 400), 0.9)
    two[40:160, 60:80] = two[40:160, 320:340] = 0.1
    r = client.post("/api/predict", json={"image": two.tolist()})
    assert r.status_code == 400 and "2 separate marks" in r.json()["error"]


@pytest.mark.parametrize("body, field, text", [
    ({"image": "data:image/jpeg;base64,AAAA"}, "image", "PNG data URL"),
    ({"image": "data:image/png;base64,@@@"}, "image", "base64"),
    ({"image": "data:image/png;base64," + base64.b64encode(b"not a png").decode()}, "image", "PNG"),
    ({"image": [[0, 1], [1]]}, "image", "rectangular"),
    ({"image": [[0, 300]]}, "image", "0–255"),
    ({"image": [["a"]]}, "image", "number"),
    ({"image": np.zeros((30, 30)).tolist()}, "image", "no visible ink"),
    ({}, "image", "PNG data URL or a 2-D array"),
    ({"image": [[0, 1]], "invert": "maybe"}, "invert", "auto, no, yes"),
    ({"image": [[0, 1]], "model": 3}, "model", "run folder name"),
    ({"image": [[0, 1]], "model": "../../etc"}, "model", "not a plain run folder name"),
    ({"image": [[0, 1]], "model": "/etc"}, "model", "not a plain run folder name"),
    ({"image": [[0, 1]], "model": "no-such-run"}, "model", "no model.npz"),
])
def test_predict_rejects_bad_input_naming_the_field(client, body, field, text):
    r = client.post("/api/predict", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field and text in r.json()["error"]


def test_bodies_over_one_megabyte_get_413_and_bad_json_400(client):
    big = b'{"image": "' + b"A" * MAX_BODY_BYTES + b'"}'
    r = client.post("/api/predict", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "1 MiB" in r.json()["error"]

    def chunks():  # no Content-Length: the limit is enforced while reading
        for _ in range(20):
            yield b" " * 65536
    r = client.post("/api/predict", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    r = client.post("/api/predict", content=b'{"image": [[0, 1]', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["field"] == "body" and "not valid JSON" in r.json()["error"]
    r = client.post("/api/predict", json=[1, 2])
    assert r.status_code == 400 and r.json()["field"] == "body"


def test_models_default_to_the_shipped_one_and_runs_answer_when_chosen(client, runs_dir):
    info = client.get("/api/models").json()
    assert info["default"] == "shipped" and info["models"][0]["test_accuracy"] > 0.95
    assert info["models"][0]["trained_by"] == "python scripts/train_web_model.py"
    make_run(runs_dir, "older", seed=1)
    time.sleep(0.01)
    make_run(runs_dir, "newer", seed=2)
    time.sleep(0.01)
    make_run(runs_dir, "not-digits", inputs=4)  # newest, but not a digit model
    info = client.get("/api/models").json()
    assert info["default"] == "shipped"  # not the newest run, which may be a 4-epoch toy
    assert [m["name"] for m in info["models"]][:2] == ["shipped", "not-digits"] and len(info["models"]) == 4
    image = np.zeros((28, 28))
    image[5:23, 13:15] = 1.0
    assert client.post("/api/predict", json={"image": image.tolist()}).json()["model"] == "shipped"
    assert client.post("/api/predict", json={"image": image.tolist(), "model": "newer"}).json()["model"] == "newer"
    assert client.post("/api/predict", json={"image": image.tolist(), "model": "older"}).json()["model"] == "older"
    r = client.post("/api/predict", json={"image": image.tolist(), "model": "not-digits"})
    assert r.status_code == 400 and "not 28×28" in r.json()["error"]


def test_the_model_option_names_the_default(runs_dir):
    make_run(runs_dir, "chosen", seed=3)
    make_run(runs_dir, "later", seed=4)
    for given in ("chosen", str(runs_dir / "chosen"), str(runs_dir / "chosen" / "model.npz")):
        with local_client(create_app(runs_dir, model=given)) as c:
            assert c.get("/api/models").json()["default"] in ("chosen", "model.npz")


# -- runs ----------------------------------------------------------------------------------
def test_runs_table_detail_and_live_metrics(client, runs_dir):
    records = [{"epoch": e, "evaluation_accuracy": a, "training_cost": 1 / e} for e, a in
               ((1, 0.9), (2, 0.93), (3, 0.92))]
    make_run(runs_dir, "done", metrics=records)
    live = make_run(runs_dir, "live", metrics=records[:1], finished=False)
    (runs_dir / "not-a-run").mkdir()
    table = {r["name"]: r for r in client.get("/api/runs").json()["runs"]}
    assert set(table) == {"done", "live"}
    assert table["done"]["status"] == "finished" and table["live"]["status"] == "running"
    assert table["done"]["best_validation_accuracy"] == 0.93 and table["done"]["epochs_done"] == 3
    assert table["done"]["epochs_total"] == 3 and "hidden [10]" in table["done"]["summary"]
    detail = client.get("/api/runs/done").json()
    assert detail["config"]["model"]["hidden"] == [10] and detail["metrics"] == records
    assert client.get("/api/runs/live/metrics").json()["count"] == 1
    live.append_metrics(records[1])
    with open(live.metrics_path, "a") as f:
        f.write('{"epoch": 3, "evaluation_acc')  # a line still being written
    answer = client.get("/api/runs/live/metrics?since=1").json()
    assert answer["count"] == 2 and answer["records"] == [records[1]]
    assert client.get("/api/runs/live/metrics?since=x").json()["field"] == "since"


def test_run_names_cannot_leave_the_runs_folder(client, runs_dir, tmp_path):
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "config.toml").write_text('name = "secret"\n')
    (runs_dir / "link").symlink_to(tmp_path / "secret")
    for path in ("/api/runs/..%2Fsecret", "/api/runs/%2E%2E", "/api/runs/%2Fetc%2Fpasswd",
                 "/api/runs/a%2F..%2F..%2Fsecret", "/api/runs/..%2Fsecret/metrics",
                 "/api/runs/link", "/api/runs/link/metrics", "/api/runs/link/evaluation",
                 "/api/compare?a=..%2Fsecret&b=link", "/api/runs/%5C..%5Csecret"):
        r = client.get(path)
        assert r.status_code == 400, (path, r.text)
        assert r.json()["field"] in ("name", "a") and "secret\"" not in r.text
        assert "--runs-dir" in r.json()["error"] or "plain run folder" in r.json()["error"]
    assert client.get("/api/runs/nothing-here").status_code == 400


def test_config_diff_and_evaluation(client, runs_dir):
    make_run(runs_dir, "a", eta=0.5, seed=1)
    make_run(runs_dir, "b", eta=0.1, seed=1, hidden=(20,))
    diff = client.get("/api/compare?a=a&b=b").json()
    assert {d["key"]: (d["a"], d["b"]) for d in diff["differences"]} == {
        "training.eta": (0.5, 0.1), "model.hidden": ([10], [20])}
    e = client.get("/api/runs/a/evaluation").json()
    confusion = np.array(e["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == e["total"] == 10000
    assert np.trace(confusion) == e["correct"] and e["misclassified_total"] == 10000 - e["correct"]
    first = e["misclassified"][0]
    assert first["label"] != first["predicted"] and np.array(first["image"]).shape == (28, 28)


# -- playground ----------------------------------------------------------------------------
def create(client, **settings):
    r = client.post("/api/playground", json={"settings": settings})
    assert r.status_code == 201, r.text
    return r.json()


def test_playground_session_trains_streams_and_changes(client):
    snap = create(client, dataset="xor", hidden=[8, 8])
    sid = snap["session"]
    assert snap["epoch"] == 0 and snap["settings"]["hidden"] == [8, 8] and snap["playing"] is False
    assert client.post(f"/api/playground/{sid}/control", json={"action": "step"}).json()["epoch"] == 1
    client.post(f"/api/playground/{sid}/control", json={"action": "play"})
    events = []
    with client.stream("GET", f"/api/playground/{sid}/stream?max_updates=4") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    epochs = [e["epoch"] for e in events]
    assert len(events) == 4 and epochs == sorted(epochs) and epochs[-1] > epochs[0] >= 1
    assert "points" in events[0] and "points" not in events[1]
    assert events[1]["history_start"] == events[0]["history_start"] + len(events[0]["history"])
    client.post(f"/api/playground/{sid}/control", json={"action": "pause"})
    r = client.post(f"/api/playground/{sid}/settings", json={"eta": 0.03})
    assert r.json()["settings"]["eta"] == 0.03
    assert client.get(f"/api/playground/{sid}").json()["epoch"] >= epochs[-1]  # kept training state
    client.post(f"/api/playground/{sid}/settings", json={"hidden": [3]})
    assert client.get(f"/api/playground/{sid}").json()["epoch"] == 0  # a new network
    code = client.get(f"/api/playground/{sid}/code").json()
    assert "Network.from_sizes(\n    [2, 3, 1]," in code["python"] and "hidden = [3]" in code["toml"]
    r = client.get(f"/api/playground/{sid}/model.npz")
    assert r.status_code == 200 and "playground.npz" in r.headers["content-disposition"]
    assert r.content[:2] == b"PK"  # an .npz (zip) archive; test_web_playground loads one
    assert client.request("DELETE", f"/api/playground/{sid}", json={}).json() == {"closed": True}
    assert client.get(f"/api/playground/{sid}").status_code == 404


def test_playground_points_csv_and_backprop(client):
    sid = create(client, dataset="custom")["session"]
    for x, y, label in ((-3, 3, 1), (3, -3, 0), (2.5, 2, 1)):
        r = client.post(f"/api/playground/{sid}/points", json={"x": x, "y": y, "label": label})
        assert r.status_code == 200
    assert r.json()["points"] == 3
    assert client.post(f"/api/playground/{sid}/points", json={"x": 7, "y": 0, "label": 1}).json()["field"] == "x"
    assert client.post(f"/api/playground/{sid}/points", json={"x": 0, "y": 0, "label": 2}).json()["field"] == "label"
    assert client.post(f"/api/playground/{sid}/points", json={"x": 0, "y": 0}).json()["field"] == "label"
    bp = client.post(f"/api/playground/{sid}/backprop", json={"index": 1}).json()
    assert bp["point"] == [3.0, -3.0] and bp["target"] == 0.0 and len(bp["layers"]) == 3
    csv = "x1,x2,label\n" + "\n".join(f"{x},{-x},{int(x > 0)}" for x in np.linspace(-5, 5, 40))
    assert client.post(f"/api/playground/{sid}/csv", json={"csv": csv}).json()["points"] == 40
    snap = client.get(f"/api/playground/{sid}").json()
    assert len(snap["points"]["train"]) + len(snap["points"]["test"]) == 40
    r = client.post(f"/api/playground/{sid}/csv", json={"csv": "1,2\n"})
    assert r.status_code == 400 and r.json()["field"] == "csv"


def strict_json(text):
    """JSON as a browser reads it: bare NaN or Infinity fail."""
    return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))


def test_a_diverged_session_answers_strict_json_with_its_message(client):
    settings = {"dataset": "plane", "cost": "quadratic", "activation": "linear", "learning_rate": 10,
                "init": "normal", "hidden": [8, 8, 8]}  # the link of issue 27, old names included
    sid = create(client, **settings)["session"]
    client.post(f"/api/playground/{sid}/control", json={"action": "step"})
    r = client.get(f"/api/playground/{sid}")
    assert r.status_code == 200
    snap = strict_json(r.text)
    assert "Try a smaller eta" in snap["error"] and snap["epoch"] == 0 and snap["train_loss"] is not None
    assert client.post(f"/api/playground/{sid}/backprop", json={"index": 0}).status_code == 200
    with client.stream("GET", f"/api/playground/{sid}/stream?max_updates=1") as stream:
        line = next(line for line in stream.iter_lines() if line.startswith("data: "))
    assert strict_json(line[6:])["error"]
    client.post(f"/api/playground/{sid}/control", json={"action": "reset"})
    assert client.get(f"/api/playground/{sid}").json()["error"] is None


@pytest.mark.parametrize("path, body, field", [
    ("", {"settings": {"hidden": [1, 2, 3, 4, 5, 6, 7]}}, "hidden"),
    ("", {"settings": {"learning_rate": -1}}, "eta"),
    ("", {"settings": {"dataset": "plane", "cost": "cross_entropy"}}, "cost"),
    ("", {"settings": "xor"}, "settings"),
    ("/{sid}/settings", {"noise": 51}, "noise"),
    ("/{sid}/settings", {"optimizer": "lbfgs"}, "optimizer"),
    ("/{sid}/control", {"action": "rewind"}, "action"),
    ("/{sid}/control", {}, "action"),
    ("/{sid}/backprop", {"index": -1}, "index"),
    ("/{sid}/backprop", {"index": 0, "split": "validation"}, "split"),
])
def test_playground_settings_are_checked(client, path, body, field):
    sid = create(client)["session"]
    r = client.post("/api/playground" + path.format(sid=sid), json=body)
    assert r.status_code == 400 and r.json()["field"] == field, r.text


def test_session_limit_gives_503_and_idle_sessions_are_freed(runs_dir):
    with local_client(create_app(runs_dir, max_sessions=2, idle_seconds=0.4)) as c:
        first, second = create(c)["session"], create(c)["session"]
        r = c.post("/api/playground", json={})
        assert r.status_code == 503 and "--max-sessions" in r.json()["error"]
        time.sleep(0.3)
        c.get(f"/api/playground/{first}")  # in use: stays
        time.sleep(0.3)
        assert create(c)["session"]  # the idle second one was freed
        assert c.get(f"/api/playground/{second}").status_code == 404
        assert c.get(f"/api/playground/{first}").status_code == 200
        r = c.get(f"/api/playground/{second}/stream")
        assert r.status_code == 404 and r.json()["field"] == "session"


# -- the command ---------------------------------------------------------------------------
def _serve(*args, env=None):
    return subprocess.Popen([sys.executable, "-m", "nnlearn.cli", "serve", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.slow
def test_serve_prints_its_url_answers_and_stops_on_ctrl_c(runs_dir):
    import httpx

    server = _serve("--port", "0", "--runs-dir", str(runs_dir))
    try:
        line = server.stdout.readline()
        assert line.startswith("nnlearn serve: http://127.0.0.1:") and "Ctrl-C" in line
        url = line.split()[2]
        host, port = url.split("/")[2].rsplit(":", 1)
        socket.create_connection((host, int(port)), timeout=5).close()   # listening once it says so
        health = httpx.get(url + "api/health", timeout=10).json()
        assert health["ok"] and health["runs_dir"] == str(runs_dir)
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=20)
    assert server.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err


@pytest.mark.slow
def test_serve_warns_about_0000_and_reports_a_busy_port():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:  # 0.0.0.0:port conflicts with 127.0.0.1:port, so nothing is ever exposed
        server = _serve("--host", "0.0.0.0", "--port", str(port))
        out, err = server.communicate(timeout=30)
    finally:
        holder.close()
    assert server.returncode == 1
    assert "warning: listening on 0.0.0.0" in err and "no authentication" in err
    assert f"cannot listen on 0.0.0.0:{port}" in err and "Traceback" not in err


def test_runs_table_rereads_a_run_only_when_its_files_change(tmp_path, monkeypatch):
    from nnlearn.web import runs_view
    root = tmp_path / "runs"
    run = make_run(root, "live", metrics=[{"epoch": 1, "evaluation_accuracy": 0.5}], finished=False)
    make_run(root, "done", metrics=[{"epoch": 1, "evaluation_accuracy": 0.9}])
    reads = []
    real = runs_view._read_row
    monkeypatch.setattr(runs_view, "_read_row", lambda r: reads.append(r.path.name) or real(r))
    first = {row["name"]: row for row in runs_view.list_runs(root)}
    assert sorted(reads) == ["done", "live"] and first["live"]["epochs_done"] == 1
    assert first["live"]["status"] == "running" and first["done"]["status"] == "finished"
    assert {r["name"]: r for r in runs_view.list_runs(root)} == first
    assert sorted(reads) == ["done", "live"]          # the second poll read no run again
    run.append_metrics({"epoch": 2, "evaluation_accuracy": 0.75})
    rows = {row["name"]: row for row in runs_view.list_runs(root)}
    assert reads[2:] == ["live"]                      # only the run whose metrics grew
    assert rows["live"]["epochs_done"] == 2 and rows["live"]["best_validation_accuracy"] == 0.75
    monkeypatch.setattr(runs_view, "RUNNING_WINDOW", 0.0)   # time alone turns running into stopped
    assert {r["name"]: r["status"] for r in runs_view.list_runs(root)}["live"] == "stopped"
    assert reads[3:] == []


# -- what every request must show (nnlearn.web.guard) -------------------------------------
def test_other_sites_cannot_change_state_and_foreign_hosts_are_refused(runs_dir):
    from nnlearn.web.guard import allowed_host_names

    with local_client(create_app(runs_dir, max_sessions=3)) as c:
        # a form or no-cors fetch from another site: text/plain, no preflight
        r = c.post("/api/playground", content=b"{}", headers={"Content-Type": "text/plain"})
        assert r.status_code == 415 and r.json()["field"] == "Content-Type"
        assert "application/json" in r.json()["error"]
        for origin in ("http://attacker.example", "null", "http://localhost:9999",
                       "file://"):
            r = c.post("/api/playground", json={}, headers={"Origin": origin})
            assert r.status_code == 403 and r.json()["field"] == "Origin", origin
        r = c.request("DELETE", "/api/playground/x")
        assert r.status_code == 415
        assert c.get("/api/health").json()["sessions"] == 0
        assert c.post("/api/playground", json={}, headers={"Origin": "http://localhost"}).status_code == 201
        assert c.post("/api/playground", json={}).status_code == 201  # no Origin: curl, scripts
        for host in ("attacker.example", "attacker.example:8000", "localhost.attacker.example",
                     "127.0.0.1.nip.io", "testserver"):
            r = c.get("/api/health", headers={"Host": host})
            assert r.status_code == 400 and r.json()["field"] == "Host", host
            assert "--allowed-host" in r.json()["error"]
        r = c.get("/", headers={"Host": "attacker.example"})
        assert r.status_code == 400 and r.headers["content-type"].startswith("text/plain")
        for host in ("localhost:8000", "127.0.0.1", "[::1]:8000", "app.localhost:1", "LOCALHOST"):
            assert c.get("/api/health", headers={"Host": host}).status_code == 200, host
    hosts = allowed_host_names("192.168.1.5", ["nn.lan"])
    with local_client(create_app(runs_dir, allowed_hosts=hosts)) as c:
        for host in ("192.168.1.5:8000", "nn.lan", "NN.LAN:80", "localhost"):
            assert c.get("/api/health", headers={"Host": host}).status_code == 200, host
        assert c.get("/api/health", headers={"Host": "192.168.1.6"}).status_code == 400
    assert "0.0.0.0" not in allowed_host_names("0.0.0.0") and "::" not in allowed_host_names("::")
    with local_client(create_app(runs_dir, allowed_hosts=allowed_host_names(extra=["*"]))) as c:
        assert c.get("/api/health", headers={"Host": "anything.example"}).status_code == 200


def test_simultaneous_creates_never_exceed_the_session_limit():
    import threading

    from nnlearn.web.playground import PoolFull, SessionPool, Settings

    pool, start, made, full = SessionPool(max_sessions=3), threading.Barrier(20), [], []

    def create():
        start.wait()
        try:
            made.append(pool.create(Settings()))
        except PoolFull:
            full.append(1)
    threads = [threading.Thread(target=create) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(made) == 3 and len(full) == 17 and len(pool.sessions) == 3


# -- one bad file or field is one bad answer, not a 500 for everyone ------------------------
DEEP = "[" * 100_000
HUGE_INT = "1" + "0" * 5000


@pytest.mark.parametrize("file, text, says", [
    ("summary.json", "", "summary.json: not JSON"),
    ("summary.json", '{"test_accuracy": 0.', "summary.json: not JSON"),   # cut short by a full disk
    ("summary.json", "[0.97, 0.5]", "expected a JSON object, found list"),
    ("summary.json", DEEP, "RecursionError"),
    ("summary.json", '{"test_accuracy": ' + HUGE_INT + "}", "summary.json: not JSON"),
    ("metrics.jsonl", '{"epoch": 1}\n5\n', "metrics.jsonl:2: expected a JSON object, found int"),
    ("metrics.jsonl", DEEP + "\n", "metrics.jsonl:1: not JSON"),
])
def test_a_damaged_run_is_marked_unreadable_and_the_others_still_show(client, runs_dir, file, text, says):
    make_run(runs_dir, "good", metrics=[{"epoch": 1, "evaluation_accuracy": 0.9}])
    bad = make_run(runs_dir, "bad", metrics=[{"epoch": 1, "evaluation_accuracy": 0.8}])
    (bad.path / file).write_text(text)
    r = client.get("/api/runs")
    assert r.status_code == 200, r.text
    table = {row["name"]: row for row in r.json()["runs"]}
    assert table["good"]["status"] == "finished" and table["good"]["problem"] is None
    assert table["good"]["best_validation_accuracy"] == 0.9
    assert table["bad"]["status"] == "unreadable" and says in table["bad"]["problem"]
    detail = client.get("/api/runs/bad")
    assert detail.status_code == 200 and detail.json()["config"]["model"]["hidden"] == [10]
    assert detail.json()["summary_json" if file == "summary.json" else "metrics"] is None
    metrics = client.get("/api/runs/bad/metrics")
    if file == "metrics.jsonl":
        assert metrics.status_code == 400 and metrics.json()["field"] == "name"
        assert says in metrics.json()["error"]
    else:
        assert metrics.json()["count"] == 1
    assert client.get("/api/models").status_code == 200


def test_nan_and_infinity_in_a_runs_files_are_sent_as_null(client, runs_dir):
    run = make_run(runs_dir, "diverged", finished=False)
    run.metrics_path.write_text('{"epoch": 1, "training_cost": NaN, "evaluation_accuracy": 0.1}\n'
                                '{"epoch": 2, "training_cost": Infinity, "evaluation_accuracy": NaN}\n')
    run.summary_path.write_text('{"test_accuracy": NaN, "test_cost": -Infinity}')
    row = client.get("/api/runs").json()["runs"][0]
    assert row["status"] == "finished" and row["problem"] is None
    assert row["test_accuracy"] is None and row["best_validation_accuracy"] == 0.1
    detail = client.get("/api/runs/diverged").json()
    assert detail["summary_json"] == {"test_accuracy": None, "test_cost": None}
    assert [m["training_cost"] for m in detail["metrics"]] == [None, None]
    assert client.get("/api/runs/diverged/metrics?since=1").json()["records"] == [
        {"epoch": 2, "training_cost": None, "evaluation_accuracy": None}]


@pytest.mark.parametrize("method, path, body, field", [
    ("POST", "/api/predict", DEEP, "body"),
    ("POST", "/api/predict", '{"image": ' + HUGE_INT + "}", "body"),
    ("POST", "/api/playground", '{"settings": {"seed": ' + HUGE_INT + "}}", "body"),
    ("POST", "/api/predict", json.dumps({"image": [[0, 1]], "model": "r" * 5000}), "model"),
    ("GET", "/api/runs/" + "r" * 5000, None, "name"),
    ("GET", "/api/runs/" + "r" * 5000 + "/metrics", None, "name"),
    ("GET", "/api/compare?a=" + "r" * 5000 + "&b=x", None, "a"),
    ("GET", "/api/runs/good/metrics?since=²", None, "since"),
    ("GET", "/api/runs/good/metrics?since=" + "9" * 5000, None, "since"),
    ("GET", "/api/runs/good/metrics?since=-" + "9" * 5000, None, "since"),
])
def test_hostile_fields_get_a_400_naming_them(client, runs_dir, method, path, body, field):
    make_run(runs_dir, "good")
    r = client.request(method, path, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text[:300]
    assert r.json()["field"] == field and len(r.text) < 2000
    assert client.get("/api/runs").status_code == 200


def _raw_member_model(path: Path) -> None:
    """A model file whose header member is raw JSON bytes, not a .npy array."""
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("__nnlearn__", json.dumps({"format": "nnlearn-model", "version": 1}))
        archive.writestr("layer0.params.W.npy", b"")


def test_a_model_file_with_a_raw_member_does_not_break_draw(client, runs_dir):
    make_run(runs_dir, "good", seed=1)
    time.sleep(0.01)
    broken = make_run(runs_dir, "broken", seed=2)  # the newest run: the default candidate
    _raw_member_model(broken.model_path)
    info = client.get("/api/models")  # the default is never the broken file
    assert info.status_code == 200 and info.json()["default"] in ("good", "shipped")
    image = np.zeros((28, 28))
    image[5:23, 13:15] = 1.0
    assert client.post("/api/predict", json={"image": image.tolist()}).json()["model"] in ("good", "shipped")
    r = client.post("/api/predict", json={"image": image.tolist(), "model": "broken"})
    assert r.status_code == 400 and r.json()["field"] == "model"
    assert "member '__nnlearn__' is not a .npy array" in r.json()["error"]
    r = client.get("/api/runs/broken/evaluation")
    assert r.status_code == 400 and "__nnlearn__" in r.json()["error"]


def test_a_symlink_leading_outside_the_runs_folder_is_skipped_everywhere(client, runs_dir, tmp_path):
    make_run(runs_dir, "inside", seed=1)
    time.sleep(0.01)
    make_run(tmp_path / "elsewhere", "secret", seed=2)  # newer, with a digit model
    (runs_dir / "link").symlink_to(tmp_path / "elsewhere" / "secret")
    (runs_dir / "loop").symlink_to(runs_dir / "loop")
    assert [r["name"] for r in client.get("/api/runs").json()["runs"]] == ["inside"]
    info = client.get("/api/models").json()  # the newest model is behind the link: not chosen
    assert info["default"] in ("inside", "shipped")
    assert [m["name"] for m in info["models"]] == ["shipped", "inside"]
    image = np.zeros((28, 28))
    image[5:23, 13:15] = 1.0
    assert client.post("/api/predict", json={"image": image.tolist()}).json()["model"] in ("inside", "shipped")
    r = client.post("/api/predict", json={"image": image.tolist(), "model": "link"})
    assert r.status_code == 400 and "leads outside --runs-dir" in r.json()["error"]
    (runs_dir / "alias").symlink_to(runs_dir / "inside")  # a link that stays inside is a run
    assert sorted(r["name"] for r in client.get("/api/runs").json()["runs"]) == ["alias", "inside"]
