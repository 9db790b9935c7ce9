"""``nnlearn search SPACE.toml``: a hyper-parameter sweep, on this machine or on a Ray cluster.

Prints one line per finished trial (and a bar on a terminal), then the results
table; writes the sweep folder (see :mod:`nnlearn.experiments.sweeps.search`). Exit status 0
when at least one trial trained, 1 when every trial failed, 2 for a bad space file
or option (nothing has run then).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from nnlearn.cli.flags import positive_int
from nnlearn.cli.progress import make_progress
from nnlearn.errors import NNLearnError, install_hint
from nnlearn.experiments.config.files import resolve
from nnlearn.experiments.runs import tensorboard
from nnlearn.experiments.sweeps import results as sweep_results
from nnlearn.experiments.sweeps.engines import ENGINES, SCHEDULERS, get_engine
from nnlearn.experiments.sweeps.results import format_value


def add_parser(sub) -> None:
    p = sub.add_parser(
        "search", help="run a hyper-parameter sweep (local processes or Ray Tune)",
        description="Train every trial of a space file (an experiment config plus a [search] "
                    "table of keys to vary; see configs/search/) and rank them by validation "
                    "accuracy. Writes runs/<name>/ with one run folder per trial, results.md, "
                    "results.csv and best.toml (rerun it with nnlearn train --config).")
    p.add_argument("space", metavar="SPACE.toml", help="the space file")
    p.add_argument("--engine", choices=ENGINES, default="local",
                   help="local: a process per core on this machine; ray: Ray Tune ("
                        + install_hint("ray").replace("%", "%%") + ") (default: %(default)s)")
    p.add_argument("--address", metavar="auto|HOST:PORT",
                   help="join this Ray cluster (default: start a Ray on this machine)")
    p.add_argument("--trials", type=positive_int("--trials"), metavar="N",
                   help="random draws of the space's ranges and choices (default: [sweep] trials)")
    p.add_argument("--max-trials", type=positive_int("--max-trials"), metavar="N",
                   help="refuse a sweep of more than N trials (default: [sweep] max_trials, "
                        "else 1000)")
    p.add_argument("--scheduler", choices=SCHEDULERS,
                   help="fifo runs every trial to its end; asha (Ray) stops the poor ones early "
                        "(default: [sweep] scheduler, else fifo)")
    p.add_argument("--cpus-per-trial", type=positive_int("--cpus-per-trial"), default=1,
                   metavar="K",
                   help="CPU cores per trial (default: %(default)s)")
    p.add_argument("--name", metavar="NAME",
                   help="sweep folder name under $NNLEARN_RUNS_DIR or ./runs "
                        "(default: search-<space file name>)")
    p.add_argument("--resume", action="store_true",
                   help="continue the sweep in that folder: finished trials are not rerun")
    p.add_argument("--quiet", action="store_true", help="print only the results table")
    p.set_defaults(func=run)


def trial_line(row: dict[str, Any], done: int, total: int) -> str:
    """``[3/8] trial-002 training.eta=0.25: validation 91.23% (best at epoch 7 of 10), 4.1 s,
    completed``."""
    settings = " ".join(f"{k}={format_value(v)}" for k, v in row["settings"].items())
    acc = row.get("validation_accuracy")
    result = "no epoch finished" if acc is None else \
        f"validation {100 * acc:.2f}% (best at epoch {row['best_epoch']} of {row['epochs']})"
    status = row["status"].replace("_", " ")
    if row.get("error"):
        status += f": {row['error']}"
    return (f"[{done}/{total}] {row['trial']} {settings}: {result}, {row['seconds']:.1f} s, "
            f"{status}")


def run(args: argparse.Namespace) -> int:
    # the sweep machinery (Optuna driver, process pools) loads when a sweep runs, since --help
    # imports every command module
    from nnlearn.experiments.sweeps import search

    out = sys.stdout
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=out, flush=True))
    space = search.load_space(args.space, max_trials=args.max_trials)
    tensorboard.check_available(resolve(*space.layers))  # [log] writer: the install hint now
    engine = get_engine(args.engine, address=args.address, cpus_per_trial=args.cpus_per_trial)
    # the built-in bar keeps its clock while it is erased for each trial's line
    bar = make_progress(out, args.quiet, kind="builtin", unit=("trial", "trials"))
    count = {"done": 0, "total": 0}

    def on_start(specs, finished, folder) -> None:
        count.update(done=len(finished), total=len(specs))
        varied = ", ".join(space.keys)
        say(f"nnlearn search: {len(specs)} trials of {args.space} (varying {varied}) on "
            f"{engine.describe()}")
        say(f"sweep folder: {folder}")
        if finished:
            say(f"resuming: {len(finished)} trials finished before, {len(specs) - len(finished)} "
                "to run")
        if bar is not None:
            bar.reset("sweep")
            bar(count["done"], count["total"])

    def on_result(row: dict[str, Any]) -> None:
        count["done"] += 1
        if bar is not None:
            bar.close()
        say(trial_line(row, count["done"], count["total"]))
        if bar is not None:
            bar(count["done"], count["total"])

    try:
        sweep = search.run_search(space, engine, trials=args.trials, scheduler=args.scheduler,
                                  name=args.name, resume=args.resume, on_start=on_start,
                                  on_result=on_result)
    finally:
        if bar is not None:
            bar.close()
    print(sweep_results.results_markdown(sweep.rows, sweep.keys), end="", file=out)
    top = sweep.best
    written = ", ".join(str(p) for p in sweep.paths.values())
    say(f"wrote {written}")
    say(f"browse the trials: nnlearn serve --runs-dir {sweep.folder / 'trials'}")
    if sweep.unfinished:
        say(f"{len(sweep.unfinished)} trials did not finish (interrupted); continue with "
            f"`nnlearn search {args.space} --name {sweep.folder.name} --resume`")
    if top is None:
        if sweep.rows:
            first = sweep_results.rank(sweep.rows)[0]
            raise NNLearnError(f"no trial trained: {first['trial']} {first['status']}: "
                               f"{first['error']}")
        return 0
    print(f"best: {top['trial']}, validation accuracy {100 * top['validation_accuracy']:.2f}% "
          f"at epoch {top['best_epoch']}; rerun it with `nnlearn train --config "
          f"{sweep.paths['best']}`", file=out)
    return 0
