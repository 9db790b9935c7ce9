"""``nnlearn serve`` as a real server process on 127.0.0.1 against hostile clients: foreign
``Host`` names, simultaneous session creates, slow and idle connections, a flood of connections
that exhausts the process's file descriptors. Every client here is on loopback, bounded in count
(at most a few hundred sockets) and in time (seconds)."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.paths import REPO

pytestmark = pytest.mark.slow


class Server:
    """``nnlearn serve --port 0 ARGS`` in a subprocess, its stderr in a file."""

    def __init__(self, runs_dir: Path, *args: str, max_files: int | None = None):
        self.log = runs_dir.parent / f"serve-{time.monotonic_ns()}.log"

        def limit_files():  # in the child only: a small ulimit -n
            if max_files:
                resource.setrlimit(resource.RLIMIT_NOFILE, (max_files, max_files))

        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "nnlearn.cli", "serve", "--port", "0", "--runs-dir",
                 str(runs_dir), *args], stdout=subprocess.PIPE, stderr=log, text=True,
                preexec_fn=limit_files)
        line = self.proc.stdout.readline()
        assert line.startswith("nnlearn serve: http://127.0.0.1:"), (line, self.log.read_text())
        self.port = int(line.split()[2].rsplit(":", 1)[1].strip("/"))
        deadline = time.monotonic() + 30
        while self.request("GET", "/api/health")[0] != 200:
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.1)

    def request(self, method: str, path: str, body: bytes = b"", headers: dict | None = None,
                timeout: float = 10) -> tuple[int, bytes]:
        """One HTTP/1.1 request on a fresh connection: (status, body); (0, b"") if refused."""
        headers = {"Host": f"127.0.0.1:{self.port}", "Connection": "close",
                   "Content-Length": str(len(body)), **(headers or {})}
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
                s.sendall(head.encode() + b"\r\n" + body)
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
        except OSError:
            return 0, b""
        if not data:
            return 0, b""
        status = int(data.split(b" ", 2)[1])
        return status, data.split(b"\r\n\r\n", 1)[1]

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        self.proc.communicate(timeout=30)
        return self.log.read_text(errors="replace")


@pytest.fixture
def runs_dir(tmp_path):
    (tmp_path / "runs").mkdir()
    return tmp_path / "runs"


JSON = {"Content-Type": "application/json"}


def test_twenty_simultaneous_creates_with_a_limit_of_three_leave_three(runs_dir):
    server = Server(runs_dir, "--max-sessions", "3")
    try:
        start, statuses = threading.Barrier(20), []

        def create():
            start.wait()
            statuses.append(server.request("POST", "/api/playground", b"{}", JSON)[0])
        threads = [threading.Thread(target=create) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(statuses) == [201] * 3 + [503] * 17
        assert json.loads(server.request("GET", "/api/health")[1])["sessions"] == 3
    finally:
        assert "Traceback" not in server.stop()


def test_foreign_hosts_and_cross_site_writes_are_refused(runs_dir):
    server = Server(runs_dir, "--allowed-host", "nn.example")
    try:
        for host in ("attacker.example", f"attacker.example:{server.port}", "127.0.0.2", ""):
            status, body = server.request("GET", "/api/health", headers={"Host": host})
            assert status == 400 and json.loads(body)["field"] == "Host", host
        for host in (f"localhost:{server.port}", "nn.example", f"[::1]:{server.port}"):
            assert server.request("GET", "/api/health", headers={"Host": host})[0] == 200, host
        status, body = server.request("POST", "/api/playground", b"{}",
                                      {"Content-Type": "text/plain;charset=UTF-8"})
        assert status == 415 and json.loads(body)["field"] == "Content-Type"
        status, body = server.request("POST", "/api/playground", b"{}",
                                      {**JSON, "Origin": "http://attacker.example"})
        assert status == 403 and json.loads(body)["field"] == "Origin"
        origin = {"Origin": f"http://127.0.0.1:{server.port}"}
        assert server.request("POST", "/api/playground", b"{}", {**JSON, **origin})[0] == 201
        assert json.loads(server.request("GET", "/api/health")[1])["sessions"] == 1
    finally:
        server.stop()


def open_slow(port: int, count: int, partial: bytes = b"GET /api/health HTTP/1.1\r\n") -> list:
    """``count`` connections that send the start of a request and then nothing."""
    socks = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(partial)
        socks.append(s)
    return socks


def closed_by_server(s: socket.socket, within: float) -> bool:
    """Whether the server closes ``s`` within ``within`` seconds (answering at most a 503)."""
    s.settimeout(within)
    try:
        data = s.recv(4096)
        while data and data.startswith(b"HTTP/1.1 503"):
            data = s.recv(4096)
        return data == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True


def test_slow_connections_are_capped_in_count_and_dropped_after_the_timeout(runs_dir):
    server = Server(runs_dir, "--max-connections", "20", "--request-timeout", "1.5")
    try:
        started = time.monotonic()
        slow = open_slow(server.port, 20) + open_slow(server.port, 10, b"POST /api/predict")
        over = slow[20:]
        for s in over:  # beyond --max-connections: answered 503 and closed at once
            s.settimeout(5)
            assert s.recv(4096).startswith(b"HTTP/1.1 503")
        assert all(closed_by_server(s, 10) for s in slow[:20])
        assert time.monotonic() - started < 10
        body = json.dumps({"image": [[0, 1]] * 3}).encode()
        half = (f"POST /api/predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                f"\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body[:5]
        trickle = open_slow(server.port, 1, half)[0]  # headers, then a body that never ends
        assert closed_by_server(trickle, 10)
        assert server.request("GET", "/api/health")[0] == 200
        for s in slow + [trickle]:
            s.close()
    finally:
        log = server.stop()
    assert "Traceback" not in log


def test_running_out_of_file_descriptors_logs_a_few_lines_and_recovers(runs_dir):
    """With ``ulimit -n 120`` and no connection cap, 200 idle connections exhaust the
    descriptors: accept() fails with EMFILE in a loop (which used to write megabytes of the
    same traceback a second). The log stays small, and once the slow clients are dropped
    the server answers again."""
    server = Server(runs_dir, "--max-connections", "1000", "--request-timeout", "2",
                    max_files=120)
    started = time.monotonic()
    try:
        socks = []
        for _ in range(200):
            try:
                socks.append(socket.create_connection(("127.0.0.1", server.port), timeout=2))
            except OSError:
                break
        time.sleep(4)
        for s in socks:
            s.close()
        deadline = time.monotonic() + 15
        while server.request("GET", "/api/health", timeout=2)[0] != 200:
            assert time.monotonic() < deadline, "the server did not recover"
            time.sleep(0.2)
    finally:
        log = server.stop()
    seconds = time.monotonic() - started
    assert "Too many open files" in log
    assert len(log) < 20_000, f"{len(log)} bytes of log in a few seconds"
    report = os.environ.get("NNLEARN_SERVER_REPORT")  # read by scripts/reliability_report.py
    if report:
        Path(report).write_text(json.dumps({
            "ulimit_n": 120, "connections_tried": 200, "connections_opened": len(socks),
            "seconds": round(seconds, 1), "log_bytes": len(log.encode()),
            "log_lines": log.count("\n")}))


def test_a_csv_upload_is_parsed_while_the_server_keeps_answering(runs_dir):
    """A CSV of about 1 MiB takes a while to parse; a health check sent after it is
    answered first (the parse used to run on the event loop, stalling every request)."""
    server = Server(runs_dir)
    try:
        status, body = server.request("POST", "/api/playground",
                                      b'{"settings": {"dataset": "custom"}}', JSON)
        session = json.loads(body)["session"]
        rows = "".join(f"{i % 11 - 5}.125,{i % 7 - 3}.5,{i % 2}\n" for i in range(70_000))
        upload = json.dumps({"csv": "x1,x2,label\n" + rows}).encode()
        assert 900_000 < len(upload) < 1 << 20
        head = (f"POST /api/playground/{session}/csv HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(upload)}\r\n"
                "Connection: close\r\n\r\n").encode()
        answered_meanwhile = 0
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
            s.sendall(head + upload)
            s.setblocking(False)
            answer = b""
            while True:  # health checks, one after the other, until the upload is answered
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    assert server.request("GET", "/api/health")[0] == 200
                    answered_meanwhile += 1
                    continue
                if not chunk:
                    break
                answer += chunk
        assert b" 400 " in answer.split(b"\r\n")[0] and b"at most 5000" in answer
        print("health checks answered during the upload:", answered_meanwhile)
        assert answered_meanwhile >= 3  # 67-69 here on a quiet machine; 1 when parsing blocked the loop
    finally:
        server.stop()


# -- the same, from a real browser (Debian's Chromium through Playwright) -------------------
CHROMIUM = "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                    reason="needs Debian's Chromium: apt-get install chromium")

ATTACK_PAGE = """<!doctype html><title>another site</title><script>
async function attack(target) {
  const tries = [  // what any page may send without a CORS preflight, then one that needs it
    fetch(target + "/api/playground", {method: "POST", mode: "no-cors", body: "{}"}),
    fetch(target + "/api/playground", {method: "POST", mode: "no-cors", body: "{}",
          headers: {"Content-Type": "text/plain"}}),
    fetch(target + "/api/playground", {method: "POST", body: "{}",
          headers: {"Content-Type": "application/json"}}),
  ];
  return (await Promise.allSettled(tries)).map(r => r.status);
}
</script>"""


@pytest.fixture
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:  # rebind.test resolves to 127.0.0.1, as a rebinding DNS would
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--host-resolver-rules=MAP rebind.test 127.0.0.1"])
        yield browser
        browser.close()


@pytest.fixture
def attack_site(tmp_path):
    """Another web site on this machine (another port, so another origin)."""
    import http.server

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "index.html").write_text(ATTACK_PAGE)
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path / "site"), **kwargs)

        def log_message(self, *args):
            pass
    handler = Quiet
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def sessions(server: Server) -> int:
    return json.loads(server.request("GET", "/api/health")[1])["sessions"]


@needs_chromium
def test_a_page_on_another_site_cannot_fill_the_sessions(runs_dir, chromium, attack_site):
    server = Server(runs_dir)
    try:
        page = chromium.new_page()
        page.goto(attack_site + "/index.html")
        page.evaluate("target => attack(target)", f"http://127.0.0.1:{server.port}")
        with page.expect_navigation():  # a plain HTML form, the oldest way
            page.evaluate("""target => { const form = document.createElement("form");
                form.method = "POST"; form.action = target + "/api/playground";
                form.enctype = "text/plain"; document.body.appendChild(form); form.submit(); }""",
                          f"http://127.0.0.1:{server.port}")
        assert "Content-Type" in page.inner_text("body")  # the 415 the form got
        assert sessions(server) == 0
        # DNS rebinding: a hostile name that resolves to 127.0.0.1 gets no page and no API
        answer = page.goto(f"http://rebind.test:{server.port}/")
        assert answer.status == 400 and "--allowed-host" in page.inner_text("body")
        assert page.goto(f"http://rebind.test:{server.port}/api/health").status == 400
    finally:
        server.stop()


@needs_chromium
def test_the_playground_page_still_works_and_frees_its_session_on_leaving(runs_dir, chromium):
    server = Server(runs_dir)
    try:
        page = chromium.new_page()
        page.goto(f"http://127.0.0.1:{server.port}/playground")
        page.wait_for_function("state.snap !== null")
        assert sessions(server) == 1
        page.goto("about:blank")  # pagehide: a keepalive JSON POST to .../close
        deadline = time.monotonic() + 10
        while sessions(server) != 0:
            assert time.monotonic() < deadline, "the session was not closed on leaving the page"
            time.sleep(0.1)
        page.goto(f"http://localhost:{server.port}/playground")  # by name works too
        page.wait_for_function("state.snap !== null")
        assert sessions(server) == 1
    finally:
        server.stop()


@pytest.mark.skipif(not shutil.which("curl"), reason="needs curl")
def test_the_curl_line_of_docs_web_md_creates_a_session(runs_dir):
    """docs/web.md shows how a script writes (JSON, no Origin); run that very line."""
    import shlex

    docs = (REPO / "docs" / "web.md").read_text(encoding="utf-8")
    line = next(l for l in docs.splitlines() if l.startswith("curl "))
    server = Server(runs_dir)
    try:
        argv = shlex.split(line.replace(":8000/", f":{server.port}/"))
        done = subprocess.run(argv + ["-s", "-w", "\\n%{http_code}"], capture_output=True,
                              text=True, timeout=30)
        body, status = done.stdout.rsplit("\n", 1)
        assert status == "201" and json.loads(body)["epoch"] == 0
        assert sessions(server) == 1
    finally:
        server.stop()
