"""``nnlearn serve`` under measurement: playground update rate and a digit-prediction load test.

Usage::

    pip install -e ".[web]" httpx
    python benchmarks/bench_web.py          # writes benchmarks/results/web.json and docs/benchmarks.md

Everything runs on loopback (127.0.0.1) against a real ``nnlearn serve`` process:

1. **Playground rate.** A session with a 2-8-8-1 tanh network on the XOR set of 500 points
   (250 for training) plays while the page's stream (server-sent events) is read for
   ``--seconds`` seconds; updates per second = events received / time. Each update is one
   epoch of training plus a snapshot (the output's 64×64 heat map, every neuron's 32×32 map,
   the weights, the losses). Measured at the server's default cap (``--max-rate 30``) and
   without a cap (``--max-rate 100000``), the headroom.
2. **Load test.** ``--requests`` digit predictions (``POST /api/predict`` with an MNIST test
   digit as a PNG data URL: 28×28 as in the data set, or 10× larger, dark on white, 280×280 as
   the Draw page sends its canvas, in turn) from ``--clients`` concurrent clients; every answer must be 200 with ten
   probabilities; p50 and p99 latency and the throughput are recorded. Bounded: each request
   times out after 60 s and the run stops after ``--requests`` requests.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy

from common import environment, write_result

COMMAND = "python benchmarks/bench_web.py"


def start_server(max_rate: float, runs_dir: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "nnlearn.cli", "serve", "--port", "0",
                             "--runs-dir", runs_dir, "--max-rate", str(max_rate)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "http://" not in line:
        proc.kill()
        raise SystemExit(f"nnlearn serve did not start: {line!r} {proc.stderr.read()}")
    return proc, line.split()[2].rstrip("/")


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)


def playground_rate(url: str, seconds: float) -> dict:
    import httpx

    settings = {"dataset": "xor", "n_points": 500, "hidden": [8, 8], "features": ["x1", "x2"],
                "activation": "tanh", "batch_size": 10}
    with httpx.Client(base_url=url, timeout=30) as client:
        snap = client.post("/api/playground", json={"settings": settings}).json()
        sid = snap["session"]
        client.post(f"/api/playground/{sid}/control", json={"action": "play"})
        events, first, last, sizes = 0, None, None, []
        with client.stream("GET", f"/api/playground/{sid}/stream") as stream:
            for line in stream.iter_lines():
                if not line.startswith("data: "):
                    continue
                now = time.perf_counter()
                if first is None:  # the clock starts at the first event
                    first, first_epoch = now, json.loads(line[6:])["epoch"]
                    continue
                events, last = events + 1, now
                sizes.append(len(line))
                if now - first >= seconds:
                    last_epoch = json.loads(line[6:])["epoch"]
                    break
        client.request("DELETE", f"/api/playground/{sid}", json={})  # JSON, as every write
    elapsed = last - first
    return {"updates": events, "seconds": elapsed, "updates_per_second": events / elapsed,
            "epochs_per_second": (last_epoch - first_epoch) / elapsed,
            "mean_event_bytes": statistics.mean(sizes), "network": "2-8-8-1 tanh",
            "points": 500, "training_points": 250, "mini_batch_size": 10}


def payloads() -> list[dict]:
    from nnlearn.data import load_mnist
    from nnlearn.data.png import write_png

    images = load_mnist().test[0][:50].reshape(-1, 28, 28)
    bodies = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, image in enumerate(images):
            pixels = (image * 255).round().astype(numpy.uint8)
            if i % 2:  # as the Draw page sends its canvas: 280×280, dark ink on white paper
                pixels = numpy.kron(255 - pixels, numpy.ones((10, 10), dtype=numpy.uint8))
            path = Path(tmp) / f"{i}.png"
            write_png(path, pixels)
            bodies.append({"image": "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()})
    return bodies


async def load_test(url: str, requests: int, clients: int) -> dict:
    import httpx

    bodies = [json.dumps(b).encode() for b in payloads()]
    latencies: list[float] = []
    errors: list[str] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(requests):
        queue.put_nowait(i)

    async def client_loop(client: httpx.AsyncClient) -> None:
        while True:
            try:
                i = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            start = time.perf_counter()
            try:
                r = await client.post("/api/predict", content=bodies[i % len(bodies)],
                                      headers={"Content-Type": "application/json"})
                ok = r.status_code == 200 and len(r.json()["probabilities"]) == 10
                if not ok:
                    errors.append(f"{r.status_code}: {r.text[:200]}")
            except httpx.HTTPError as exc:
                errors.append(repr(exc))
            latencies.append(time.perf_counter() - start)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    start = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
    wall = time.perf_counter() - start
    q = numpy.percentile(latencies, [50, 99])
    return {"requests": requests, "clients": clients, "errors": len(errors), "error_samples": errors[:5],
            "p50_ms": 1000 * q[0], "p99_ms": 1000 * q[1], "max_ms": 1000 * max(latencies),
            "wall_seconds": wall, "requests_per_second": requests / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--no-report", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args()
    result = {"benchmark": "web", "command": COMMAND, "env": environment(),
              "load_average_before": os.getloadavg()}
    with tempfile.TemporaryDirectory() as runs_dir:
        for key, rate in (("playground_default_cap", 30.0), ("playground_uncapped", 100000.0)):
            proc, url = start_server(rate, runs_dir)
            try:
                result[key] = {"max_rate": rate, **playground_rate(url, args.seconds)}
            finally:
                stop_server(proc)
            print(key, json.dumps(result[key]), flush=True)
        proc, url = start_server(30.0, runs_dir)
        try:
            result["load"] = asyncio.run(load_test(url, args.requests, args.clients))
        finally:
            stop_server(proc)
        print("load", json.dumps(result["load"]), flush=True)
    result["load_average_after"] = os.getloadavg()
    path = write_result("web", result)
    print("wrote", path)
    if not args.no_report:
        import report
        report.main([])
    if result["load"]["errors"]:
        raise SystemExit(f"{result['load']['errors']} of the predictions failed")


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parent)
    main()
