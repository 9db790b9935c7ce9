"""Render the benchmark part of docs/benchmarks.md from the JSON files in benchmarks/results/.

The script owns the text between the two marker lines (:data:`BEGIN`, :data:`END`);
everything outside them (sections other scripts or people add, e.g. web or search
benchmarks) is kept as it is. A document without markers (the older layout, all
written by this script) keeps its sections that this script does not write.

Usage: python benchmarks/report.py [--results DIR] [--doc FILE]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from common import RESULTS

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
BEGIN = "<!-- benchmarks/report.py: begin (generated, do not edit by hand) -->"
END = "<!-- benchmarks/report.py: end -->"
OWN_HEADINGS = ("# Benchmarks", "## One MNIST epoch", "## Peak memory", "## A sweep of 8 trials",
                "## nnlearn serve:", "## Where nnlearn's epoch goes", "## What is left, from the profile",
                "## Optuna's TPE")
"""Headings of the sections this script writes (used when the document has no markers)."""

GOALS = {"mlp": {"[784, 30, 10]": 0.5, "[784, 100, 10]": 0.5},
         "conv": {"mini-batch 10": 0.5, "mini-batch 64": 0.5}}
"""Goals for nnlearn / the fastest peer (issue 20's)."""
EFFICIENCY_GOALS = {"conv": {"mini-batch 64": 0.5}}
"""Issue 14's goal for nnlearn's efficiency (fraction of the GEMM peak)."""
NAMES = {"nnlearn": "nnlearn", "pytorch": "PyTorch", "jax": "JAX", "jax_scan": "JAX scan"}
"""Contenders as the tables name them; "JAX" is a jitted step called per minibatch, "JAX scan"
the whole epoch compiled as one ``lax.scan`` (``common.jax_scan_sgd_epoch``)."""


def _env_line(env: dict) -> str:
    blas = env.get("blas")
    if isinstance(blas, list):
        blas = ", ".join(f"{b.get('internal_api')} {b.get('version')} ({b.get('architecture')}, "
                         f"{b.get('num_threads')} threads)" for b in blas)
    load = env.get("load_average_at_start")
    return (f"{env['date']}; {env['cpu_model']}, {env['cpus']} cores; Python {env['python']}, "
            f"NumPy {env['numpy']}, PyTorch {env.get('torch')} ({env.get('torch_threads')} threads), "
            f"JAX {env.get('jax', '(not run)')}; "
            f"BLAS: {blas}; OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}"
            + (f" (the machine's {env['unset_for_benchmark']} unset for this benchmark)"
               if env.get("unset_for_benchmark") else "")
            + (f"; load average at the start {load[0]:.2f} (1 min), {load[1]:.2f} (5 min)"
               if load else ""))


def _contenders(result: dict, key: str) -> list[str]:
    seen = {name for s in result[key].values() for name in s["median"]}
    return [name for name in NAMES if name in seen]


def _speed_table(result: dict, key: str, kind: str) -> list[str]:
    """One row per workload: medians, ratio against the fastest peer, efficiency, goals."""
    names = _contenders(result, key)
    peers = [name for name in names if name != "nnlearn"]
    head = (["workload"] + [f"{NAMES[n]} median, s" for n in names]
            + ["nnlearn / fastest peer", "goal", "met"]
            + ([f"efficiency {' / '.join(NAMES[n] for n in names)}"] if _has_flops(result, key) else []))
    rows = ["| " + " | ".join(head) + " |",
            "|---|" + "---:|" * (len(names) + 1) + "---:|---|" + ("---:|" if _has_flops(result, key) else "")]
    for workload, s in result[key].items():
        goal = GOALS.get(kind, {}).get(workload)
        best = s.get("best_peer", peers[0] if peers else "")
        cells = [workload] + [f"{s['median'][n]:.3f}" if n in s["median"] else "—" for n in names]
        cells += [f"{s['ratio']:.3f} (vs {NAMES.get(best, best)})",
                  "" if goal is None else f"≤ {goal}",
                  "" if goal is None else ("yes" if s["ratio"] <= goal else "no")]
        if "efficiency" in s:
            cells.append(" / ".join(f"{100 * s['efficiency'][n]:.1f}%" if n in s["efficiency"] else "—"
                                    for n in names))
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _has_flops(result: dict, key: str) -> bool:
    return all("efficiency" in s for s in result[key].values())


def _efficiency_lines(result: dict, key: str, kind: str) -> list[str]:
    """The FLOP count, the GEMM peak, JAX's compile time and the efficiency goal, in words."""
    if not _has_flops(result, key):
        return []
    peak = result["gemm_peak"]
    lines = [f"Efficiency: counted FLOPs of the epoch (weight products, forward and backward: "
             f"`python benchmarks/flops.py` lists them per layer) ÷ median time ÷ this machine's "
             f"float32 GEMM peak, measured in the same run: **{peak['gflops']:.1f} GFLOP/s** "
             f"(median of {peak['repeats']} NumPy products of two {peak['n']}² matrices"
             + "".join(f"; {float(rate):.1f} with {threads} BLAS thread{'s' if str(threads) != '1' else ''}"
                       for threads, rate in peak.get("gflops_by_threads", {}).items()) + ")."]
    for workload, s in result[key].items():
        goal = EFFICIENCY_GOALS.get(kind, {}).get(workload)
        extra = []
        if goal is not None:
            met = "met" if s["efficiency"]["nnlearn"] >= goal else "not met"
            extra.append(f"goal ≥ {100 * goal:.0f}% of the peak: {met}")
        if "products_seconds" in s:
            extra.append(f"the epoch's matrix products alone (nnlearn's BLAS calls on arrays of the same "
                         f"shapes, nothing else: `products_alone` in the script) take "
                         f"{s['products_seconds']:.3f} s, {s['products_seconds'] / s['median']['nnlearn']:.0%} "
                         f"of nnlearn's epoch")
        compiled = s.get("compile_seconds") or (
            {"jax": s["jax_compile_seconds"]} if "jax_compile_seconds" in s else {})
        if "nnlearn_compile_seconds" in s and "nnlearn_epoch" in s:
            extra.append(f"nnlearn's epoch {s['nnlearn_epoch']}, ready in "
                         f"{s['nnlearn_compile_seconds']:.2f} s")
        if compiled:
            extra.append("compile time " + ", ".join(f"{NAMES.get(n, n)} {t:.2f} s" for n, t in compiled.items())
                         + " (paid once, not in the epoch)")
        if "load_average_after" in s:
            extra.append(f"load average after the rounds {s['load_average_after'][0]:.2f}")
        lines.append(f"- {workload}: {s['flops_per_epoch'] / 1e9:.1f} GFLOP per epoch; " + "; ".join(extra))
    return ["", *lines]


def render(results_dir: Path = RESULTS) -> list[str]:
    """The lines this script owns, from every ``*.json`` in ``results_dir``."""
    lines = ["# Benchmarks", "",
             "Written by `python benchmarks/report.py` from the JSON files that the benchmark scripts "
             "write to `benchmarks/results/`; do not edit by hand. Each speed figure is the median of "
             "alternating rounds (nnlearn, PyTorch, JAX, nnlearn, ...) in one process on the same data "
             "and hyper-parameters, evaluation excluded, with a pause before each contender's epoch where "
             "the result file records one (`pause_seconds`: other libraries' worker threads keep spinning "
             "after a call); the ratio is nnlearn's median over the fastest peer's. JAX is a jitted step "
             "called per minibatch; JAX scan, where present, the whole epoch compiled as one `lax.scan`.", ""]
    for path in sorted(Path(results_dir).glob("*.json")):
        r = json.loads(path.read_text())
        kind = r["benchmark"]
        if kind == "mlp":
            lines += [f"## One MNIST epoch, chapter-1 networks (`{path.name}`)", "",
                      f"{r.get('images', 50000):,} images, sigmoid, quadratic cost, mini-batch 10, η = 3.0, "
                      f"{r['repeats']} rounds. Command: `{r.get('command', 'python benchmarks/bench_mlp.py')}`", "",
                      *_speed_table(r, "networks", kind), *_efficiency_lines(r, "networks", kind), ""]
            if any("nnlearn_threads" in s for s in r["networks"].values()):
                lines += _threads_line(r, "networks", "`bench_mlp.NNLEARN_THREADS`; two share the first "
                                       "layer's weights in the compiled epoch; fit's default `\"auto\"` uses 1")
            elif _blas_note(r["networks"]):
                lines += [_blas_note(r["networks"]), ""]
            if "under_load" in r:
                lines += ["With another process spinning one of the cores throughout (`--load`):", "",
                          *_speed_table(r, "under_load", "load"), ""]
            lines += [f"Environment: {_env_line(r['env'])}", ""]
        elif kind == "conv":
            lines += [f"## One MNIST epoch, chapter-6 convnet (d) (`{path.name}`)", "",
                      f"{r['description']}, {r['repeats']} rounds. Command: `{r.get('command')}`", "",
                      *_speed_table(r, "batches", kind), *_efficiency_lines(r, "batches", kind), "",
                      *_threads_line(r), *_kernels_line(r), f"Environment: {_env_line(r['env'])}", ""]
        elif kind == "speedrun":
            lines += _speedrun_section(path.name, r)
        elif kind == "search":
            lines += _search_section(path.name, r)
        elif kind == "optuna":
            lines += _optuna_section(path.name, r)
        elif kind == "web":
            lines += _web_section(r, path.name)
        elif kind == "profile":
            lines += _profile_section(path.name, r)
        elif kind == "memory":
            lines += [f"## Peak memory (`{path.name}`)", "",
                      f"`{r['command']}`: peak resident memory **{r['peak_rss_mb']:.0f} MB** "
                      f"(wall {r['wall_seconds']:.1f} s; last line: `{r['output']}`).", ""]
    return lines + _left_section(Path(results_dir))


SPEEDRUN_GOALS = {"ratio": 0.5, "seconds": 5.0, "accuracy": 0.99}
"""Issue 20: nnlearn ≤ 0.5 × the faster peer, training ≤ 5 s, mean final accuracy ≥ 99.0%."""


def _speedrun_section(name: str, r: dict) -> list[str]:
    """The speedrun race: per contender its median training time and mean final accuracy."""
    names = [n for n in NAMES if n in r["median"]]
    rows = ["| contender | training, s (median) | rounds, s | final test accuracy, % (mean) |",
            "|---|---:|---|---:|"]
    for n in names:
        rows.append(f"| {NAMES[n]} | {r['median'][n]:.2f} | "
                    + ", ".join(f"{run['seconds']:.2f}" for run in r["runs"][n])
                    + f" | {100 * r['accuracy_mean'][n]:.2f} |")
    goals = SPEEDRUN_GOALS
    verdict = [f"nnlearn's training {r['median']['nnlearn']:.2f} s (goal ≤ {goals['seconds']:g} s: "
               f"{'met' if r['median']['nnlearn'] <= goals['seconds'] else 'not met'})",
               f"mean final accuracy {100 * r['accuracy_mean']['nnlearn']:.2f}% over {r['repeats']} seeds "
               f"(goal ≥ {100 * goals['accuracy']:.1f}% over 10 seeds: `nnlearn reproduce best --only speedrun`)"]
    if r.get("ratio") is not None:
        verdict.insert(1, f"nnlearn / {NAMES.get(r['best_peer'], r['best_peer'])} {r['ratio']:.3f} "
                          f"(goal ≤ {goals['ratio']}: {'met' if r['ratio'] <= goals['ratio'] else 'not met'})")
    return [f"## The CPU speedrun (`{name}`)", "",
            f"{r['description']}; the same recipe in each library, {r['repeats']} rounds (seeds 1, 2, ...), "
            f"a fresh network each, training time alone. Command: `{r['command']}`", "", *rows, "",
            "; ".join(verdict) + ".", "", f"Environment: {_env_line(r['env'])}", ""]


def _left_section(results_dir: Path) -> list[str]:
    """What the profile says is left between each row and its goals: the BLAS share of the
    CPU samples × nnlearn's median gives the products' time; the rest is what a goal
    would have to come out of (profile.json joined with the speed results)."""
    path = results_dir / "profile.json"
    if not path.exists():
        return []
    speed = {}
    for result_path in sorted(results_dir.glob("*.json")):
        r = json.loads(result_path.read_text())
        key = {"mlp": "networks", "conv": "batches"}.get(r.get("benchmark"))
        if key:
            for workload, s in r[key].items():
                speed[(r["benchmark"], workload)] = s
    lines = []
    for w in json.loads(path.read_text())["workloads"].values():
        kind, workload = w.get("row", (None, None))
        s = speed.get((kind, workload))
        if s is None:
            continue
        t, blas = s["median"]["nnlearn"], w["kinds"].get("BLAS", 0.0)
        products, rest = blas * t, (1 - blas) * t
        cells = [w["label"], f"{t:.3f}", f"{blas:.0%}", f"{products:.3f}", f"{rest:.3f}"]
        goal = GOALS.get(kind, {}).get(workload)
        if goal is None:
            continue
        target = goal * s["median"][s["best_peer"]]
        floor = max(products, s.get("products_seconds", 0.0))
        cells.append(f"{target:.3f}")
        cells.append("met" if t <= target else
                     f"no: below the products alone ({floor:.3f} s)" if target <= floor else
                     f"the rest −{(t - target) / (t - floor):.0%} (to {target - floor:.3f} s)")
        efficiency_goal = EFFICIENCY_GOALS.get(kind, {}).get(workload)
        if efficiency_goal is not None and blas:
            efficiency = s["efficiency"]["nnlearn"]
            t_goal = efficiency * t / efficiency_goal        # the epoch time at the goal
            cells.append(f"≥ {efficiency_goal:.0%}: with nothing but the products "
                         f"{efficiency / blas:.0%}" + (
                             f", so the rest −{1 - (t_goal - products) / rest:.0%}"
                             if t_goal > products else ""))
        else:
            cells.append("")
        lines.append("| " + " | ".join(cells) + " |")
    if not lines:
        return []
    return ["## What is left, from the profile", "",
            "nnlearn's median split by the profile's BLAS share (of CPU samples; with two threads "
            "both count): the products' time and the rest (compiled kernels, NumPy passes, Python). The goal's "
            "time is the ratio goal × the fastest peer's median; reaching it needs the rest to shrink "
            "by the share shown, with the products as they are, or is impossible when the goal is "
            "below the products alone (for the MLP also below the measured `products_alone`).", "",
            "| workload | nnlearn, s | BLAS share | products, s | rest, s | goal, s | to reach the goal | "
            "efficiency goal |", "|---|---:|---:|---:|---:|---:|---|---|", *lines, ""]


def _profile_section(name: str, r: dict) -> list[str]:
    """Where an nnlearn epoch's CPU time goes, per workload (benchmarks/profile_epoch.py)."""
    lines = [f"## Where nnlearn's epoch goes (`{name}`)", "",
             f"CPU samples of one training epoch under py-spy at {r['rate']} Hz (native frames), each "
             "given to the innermost nnlearn function on its stack and to what the CPU ran under it: "
             "BLAS (the matrix products), compiled (nnlearn's Numba kernels), NumPy/C (element-wise "
             "passes, copies, reductions: memory traffic) or Python (the interpreter: per-call "
             f"overhead). Command: `{r['command']}`", "",
             "| workload | samples | BLAS | compiled | NumPy/C | Python | largest shares (function, kind) |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for w in r["workloads"].values():
        kinds = w["kinds"]
        top = "; ".join(f"{f} {k} {share:.0%}" for f, k, share in w["rows"][:5])
        lines.append(f"| {w['label']} | {w['samples']} | {kinds.get('BLAS', 0):.0%} | "
                     f"{kinds.get('compiled', 0):.0%} | {kinds.get('NumPy/C', 0):.0%} | "
                     f"{kinds.get('Python', 0):.0%} | {top} |")
    return [*lines, "", f"Environment: {_env_line(r['env'])}", ""]


def _kernels_line(result: dict) -> list[str]:
    """Which kernels nnlearn ran (nnlearn.nn.kernels) and their compile time."""
    if "nnlearn_kernels" not in result:
        return []
    if result["nnlearn_kernels"] != "compiled":
        return ["nnlearn kernels: the NumPy references (Numba not installed or not chosen).", ""]
    return ["nnlearn kernels: compiled by Numba (2×2 max-pooling, col2im, ReLU's backward pass); "
            "compiling them, or loading "
            f"them from Numba's disk cache, took {result['nnlearn_compile_seconds']:.2f} s before the "
            "rounds, paid once per process and in no epoch.", ""]


def _threads_line(result: dict, key: str = "batches", how: str = "`threads=\"auto\"`") -> list[str]:
    used = {name: s["nnlearn_threads"] for name, s in result[key].items() if "nnlearn_threads" in s}
    if not used:
        return []
    return [f"nnlearn threads ({how}, see `nnlearn.train.parallel`): "
            + ", ".join(f"{name}: {n}" for name, n in used.items()) + "."
            + (" " + _blas_note(result[key]) if _blas_note(result[key]) else ""), ""]


def _blas_note(rows: dict) -> str:
    """The BLAS threads nnlearn chose for the rows it trained on one thread."""
    blas = {name: s["nnlearn_blas_threads"] for name, s in rows.items()
            if "nnlearn_blas_threads" in s and s.get("nnlearn_threads", 1) == 1}
    return ("nnlearn BLAS threads when training on one thread (`plan_blas_threads`, by the size of "
            "the products): " + ", ".join(f"{name}: {n}" for name, n in blas.items()) + ".") if blas else ""


def merge(old: str, generated: list[str]) -> str:
    """``old`` with this script's part replaced by ``generated`` (see the module docstring)."""
    part = "\n".join([BEGIN, *generated, END])
    if BEGIN in old and END in old:
        before, rest = old.split(BEGIN, 1)
        return before + part + rest.split(END, 1)[1]
    kept = [section for section in re.split(r"(?m)^(?=#{1,2} )", old)
            if section.strip() and not section.startswith(OWN_HEADINGS)]
    return part + "\n" + ("\n" + "".join(kept).rstrip("\n") + "\n" if kept else "")


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


def _optuna_section(name: str, r: dict) -> list[str]:
    """Optuna's TPE with pruning against the full grid (bench_optuna.py), one row per seed."""
    rows = ["| seed | grid: best validation, % (at) | grid trial-epochs | TPE trials (pruned) | "
            f"TPE trial-epochs to within {r['tolerance_points']} points | share of the grid's | "
            "TPE best, % | met (≤ 1/3) |", "|---:|---|---:|---:|---:|---:|---:|---|"]
    for s in r["seeds"]:
        at = ", ".join(f"{k.split('.')[-1]} {v}" for k, v in s["grid_best_settings"].items())
        reach = s["tpe_trial_epochs_to_reach"]
        rows.append(f"| {s['seed']} | {100 * s['grid_best']:.2f} ({at}) | {s['grid_trial_epochs']} | "
                    f"{s['tpe_trials']} ({s['tpe_pruned']}) | {'never' if reach is None else reach} | "
                    + ("" if reach is None else f"{s['fraction_of_grid']:.2f}") + " | "
                    f"{100 * s['tpe_best']:.2f} | {'yes' if s['met'] else 'no'} |")
    reduced = [f"{k.replace('_', ' ')} {r[k]}" for k in ("epochs", "train_size") if r.get(k)]
    env = r["env"]
    return [f"## Optuna's TPE with {r['pruner']} pruning against the full grid (`{name}`)", "",
            f"`{r['space']}` (eta × lambda, {r['seeds'][0]['grid_points']} points)"
            + (f", reduced: {', '.join(reduced)}" if reduced else "")
            + f"; TPE tries as many trials as the grid has points, on {r['cpus']} process(es). "
            f"Command: `{r['command']}`. Work is counted in trial-epochs, in the order the trials "
            "finished.", "", *rows, "",
            f"Met for every seed: {'yes' if r['met_all'] else 'no'}.", "",
            f"Environment: {env['date']}; {env['cpu_model']}, {env['cpus']} cores; Python "
            f"{env['python']}, NumPy {env['numpy']}", ""]


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


def main(argv: list[str] | None = None) -> None:
    """Render the report; ``argv`` defaults to the command line (the benchmark scripts pass [])."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=RESULTS, help="folder of the JSON results")
    parser.add_argument("--doc", type=Path, default=DOC, help="the Markdown file to (re)write")
    args = parser.parse_args(argv)
    old = args.doc.read_text() if args.doc.exists() else ""
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.write_text(merge(old, render(args.results)))
    print("wrote", args.doc)


if __name__ == "__main__":
    main()
