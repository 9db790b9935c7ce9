"""Render docs/benchmarks.md from the JSON files in benchmarks/results/.

Usage: python benchmarks/report.py
"""

from __future__ import annotations

import json
from pathlib import Path

from common import RESULTS

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"

GOALS = {"mlp": {"[784, 30, 10]": 0.25, "[784, 100, 10]": 0.5}, "conv": 0.8}


def _env_line(env: dict) -> str:
    blas = env.get("blas")
    if isinstance(blas, list):
        blas = ", ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')}, "
                         f"{b.get('num_threads')} threads)" for b in blas)
    return (f"{env['date']}; {env['cpu_model']}, {env['cpus']} cores; Python {env['python']}, "
            f"NumPy {env['numpy']}, PyTorch {env.get('torch')} ({env.get('torch_threads')} threads); "
            f"BLAS: {blas}; OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}"
            + (f" (the machine's {env['unset_for_benchmark']} unset for this benchmark)"
               if env.get("unset_for_benchmark") else ""))


def _speed_table(result: dict, key: str, goals) -> list[str]:
    rows = ["| network | nnlearn median, s | PyTorch median, s | ratio nnlearn / PyTorch | goal | met |",
            "|---|---:|---:|---:|---:|---|"]
    for name, s in result[key].items():
        goal = goals.get(name) if isinstance(goals, dict) else goals
        met = "" if goal is None else ("yes" if s["ratio"] <= goal else "no")
        rows.append(f"| {name} | {s['median']['nnlearn']:.3f} | {s['median']['pytorch']:.3f} | "
                    f"{s['ratio']:.3f} | {'' if goal is None else f'≤ {goal}'} | {met} |")
    return rows


def _threads_line(result: dict) -> list[str]:
    used = {name: s["nnlearn_threads"] for name, s in result["batches"].items() if "nnlearn_threads" in s}
    if not used:
        return []
    return ["nnlearn threads per minibatch (`threads=\"auto\"`, see `nnlearn.train.parallel`): "
            + ", ".join(f"{name}: {n}" for name, n in used.items()) + ".", ""]


def _search_section(name: str, r: dict) -> list[str]:
    """`nnlearn search` on Ray and on local processes with 1 and 2 CPUs; Ray's start-up."""
    rows = ["| engine | sweep wall time, s: median | fastest round | one trial's training, s "
            "(median) |", "|---|---:|---:|---:|"]
    for engine, s in r["sweeps"].items():
        rows.append(f"| {engine} | {s['wall_median']:.1f} | {s['wall_min']:.1f} | "
                    f"{s['trial_median']:.2f} |")
    up = r["ray_startup"]
    starts = len(up["init"]["all"])
    load, before, env = r.get("load_average"), r.get("load_average_before"), r["env"]
    return [f"## A sweep of 8 trials, Ray and local (`{name}`)", "",
            f"{r['description']}; {r['repeats']} rounds. Command: `{r['command']}`. Each wall "
            "time runs `run_search` (what `nnlearn search` runs) from the call to its return; "
            "for Ray it includes starting a local Ray with that many CPUs and shutting it down.",
            "", *rows, "",
            f"Ray's own start-up (median of {starts} starts): `ray.init` of a local Ray "
            f"{up['init']['median']:.2f} s, the first remote task (a worker process starts) "
            f"{up['first_task']['median']:.2f} s, `ray.shutdown` {up['shutdown']['median']:.2f} s.",
            "", f"Environment: {env['date']}; {env['cpu_model']}, {env['cpus']} cores; Python "
            f"{env['python']}, NumPy {env['numpy']}, Ray {env.get('ray')}"
            + (f"; load average (1 / 5 / 15 min) {before[0]:.1f} / {before[1]:.1f} / "
               f"{before[2]:.1f} before the runs and {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
               "after (this machine is shared: a load above 2 means other work competed for "
               "its 2 cores)" if load and before else ""), ""]


def _web_section(r: dict, name: str) -> list[str]:
    """``nnlearn serve``: playground stream rate and the prediction load test (bench_web.py)."""
    capped, free, load = r["playground_default_cap"], r["playground_uncapped"], r["load"]
    env = r["env"]
    return [f"## nnlearn serve: playground updates and a prediction load test (`{name}`)", "",
            f"A real `nnlearn serve` process on 127.0.0.1. Command: `{r['command']}`", "",
            "| measurement | result | goal | met |", "|---|---:|---:|---|",
            f"| playground updates/s, {capped['network']} on {capped['points']} points "
            f"(server-sent events, default `--max-rate 30`) | {capped['updates_per_second']:.1f} | ≥ 20 | "
            f"{'yes' if capped['updates_per_second'] >= 20 else 'no'} |",
            f"| the same without a rate cap | {free['updates_per_second']:.1f} | | |",
            f"| epochs/s without a cap (one update = one epoch of {free['training_points']} points, "
            f"mini-batch {free['mini_batch_size']}, plus a snapshot of ≈ {free['mean_event_bytes'] / 1000:.0f} kB) "
            f"| {free['epochs_per_second']:.1f} | | |",
            f"| predictions: {load['requests']:,} from {load['clients']} concurrent clients, errors "
            f"| {load['errors']} | 0 | {'yes' if load['errors'] == 0 else 'no'} |",
            f"| prediction latency p50 / p99, ms | {load['p50_ms']:.0f} / {load['p99_ms']:.0f} | | |",
            f"| predictions per second | {load['requests_per_second']:.1f} | | |", "",
            "Each prediction is `POST /api/predict` with an MNIST test digit as a PNG data URL, in turn "
            "28×28 and 280×280 (dark on white, as the Draw page sends its canvas); both go through the "
            "MNIST preparation of `nnlearn predict` and the shipped [784, 100, 10] network.", "",
            f"Environment: {env['date']}; {env['cpu_model']}, {env['cpus']} cores, shared: load average "
            f"{r['load_average_before'][0]:.1f} before and {r['load_average_after'][0]:.1f} after the run "
            f"(the load test's 50 clients run on the same cores); Python {env['python']}, "
            f"NumPy {env['numpy']}", ""]


def main() -> None:
    lines = ["# Benchmarks", "",
             "Written by `python benchmarks/report.py` from the JSON files that the benchmark scripts "
             "write to `benchmarks/results/`; do not edit by hand. Each speed figure is the median of "
             "alternating rounds (nnlearn, PyTorch, nnlearn, ...) in one process on the same data and "
             "hyper-parameters, evaluation excluded.", ""]
    for path in sorted(RESULTS.glob("*.json")):
        r = json.loads(path.read_text())
        kind = r["benchmark"]
        if kind == "mlp":
            lines += [f"## One MNIST epoch, chapter-1 networks (`{path.name}`)", "",
                      "50,000 images, sigmoid, quadratic cost, mini-batch 10, η = 3.0, "
                      f"{r['repeats']} rounds. Command: `{r.get('command', 'python benchmarks/bench_mlp.py')}`", "",
                      *_speed_table(r, "networks", GOALS["mlp"]), "", f"Environment: {_env_line(r['env'])}", ""]
        elif kind == "conv":
            lines += [f"## One MNIST epoch, chapter-6 convnet (d) (`{path.name}`)", "",
                      f"{r['description']}, {r['repeats']} rounds. Command: `{r.get('command')}`", "",
                      *_speed_table(r, "batches", GOALS["conv"]), "", *_threads_line(r),
                      f"Environment: {_env_line(r['env'])}", ""]
        elif kind == "search":
            lines += _search_section(path.name, r)
        elif kind == "web":
            lines += _web_section(r, path.name)
        elif kind == "memory":
            lines += [f"## Peak memory (`{path.name}`)", "",
                      f"`{r['command']}`: peak resident memory **{r['peak_rss_mb']:.0f} MB** "
                      f"(wall {r['wall_seconds']:.1f} s; last line: `{r['output']}`).", ""]
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text("\n".join(lines))
    print("wrote", DOC)


if __name__ == "__main__":
    main()
