r"""Hyper-parameter sweeps over experiment configs: ``nnlearn search SPACE.toml``.

A *space file* is an experiment config (the same tables as ``nnlearn train --config``,
on top of an optional ``base`` preset or file) plus a ``[search]`` table that maps
dotted config keys to what to try::

    base = "preset:ch3-30-l2"          # or a config file, relative to this file

    [data]
    train_size = 1000                  # the book's advice: a reduced problem first

    [search]
    "training.eta" = [0.025, 0.25, 2.5]                     # grid: every value
    "regularization.lmbda" = {low = 0.1, high = 100.0, scale = "log"}  # random draw
    "training.mini_batch_size" = {choices = [10, 20, 50]}  # random choice

    [sweep]                            # optional defaults of the command's flags
    trials = 8                         # random draws (each tried at every grid point)
    max_trials = 1000                  # refuse more trials than this (the default)
    seed = 0                           # seeds the draws and every trial without training.seed
    scheduler = "asha"                 # "fifo" (default) or "asha" (Ray Tune's ASHA)
    grace_period = 1                   # ASHA: epochs before a trial may be stopped
    reduction_factor = 2               # ASHA: keep the best 1/2 at each milestone
    sampler = "tpe"                    # Optuna proposes the trials: "grid", "random", "tpe"
    pruner = "median"                  # Optuna stops poor trials: "none", "median", "asha"

A list is a grid axis; ``{choices = [...]}`` and ``{low, high, scale}`` ranges
(``scale = "linear"`` or ``"log"``; integers when both ends are integers) are drawn
at random, ``trials`` times, with ``numpy.random.default_rng(seed)``. With grid
axes and random keys together, each draw is tried at every grid point (Ray Tune's
convention). Every key and every value is checked by the config's own validation
(:func:`nnlearn.experiments.config.files.resolve`) before anything runs, and a sweep of
more than :data:`MAX_TRIALS` trials is refused, counted before any trial is listed
(``--max-trials`` or ``[sweep] max_trials`` raises the limit). With ``[sweep] sampler``
set, Optuna chooses each trial's values instead, from the results so far
(:mod:`nnlearn.experiments.sweeps.optuna_study`).

Each trial is a resolved config that :mod:`nnlearn.experiments.sweeps.trial` trains into an
ordinary run folder; :mod:`nnlearn.experiments.sweeps.engines` runs the trials on this
machine or on a Ray cluster. The sweep folder (``runs/<name>/``) holds::

    .lock            held by the sweep's driver (one sweep writes a folder at a time)
    space.toml       the space file as it was run
    sweep.json       the trials (name, settings, config hash) and the command's options
    trials/<name>/   one run folder per trial (config.toml, metrics.jsonl, model.npz, summary.json)
    results.md       the results table, best validation accuracy first
    results.csv      the same, one row per trial
    best.toml        the best trial's config: ``nnlearn train --config best.toml`` reruns it
"""

from __future__ import annotations

import itertools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy

from nnlearn.checks import Integer, Maybe, Number, OneOf, Param, check_table, is_int, is_number
from nnlearn.errors import ConfigError
from nnlearn.experiments.config import files as cfgmod
from nnlearn.experiments.runs.folder import runs_root
from nnlearn.experiments.sweeps.engines import SCHEDULERS, LocalEngine
from nnlearn.experiments.sweeps.optuna_study import PRUNERS, SAMPLERS
from nnlearn.experiments.sweeps.results import best, settings_text, write_results
from nnlearn.experiments.sweeps.trial import FINISHED, TRIALS_DIR, make_spec, read_row
from nnlearn.system.processes import LOCK_NAME, FolderLock

RANGE_KEYS = ("low", "high", "scale")
SCALES = ("linear", "log")
SPACE_KEYS = ("base", "search", "sweep")
"""Top-level keys of a space file that are not part of the experiment config."""

MAX_TRIALS = 1000
"""Most trials a sweep may have unless ``--max-trials`` or ``[sweep] max_trials`` says more:
the count (grid points × random draws) is checked before any trial is listed, so that
``trials = 1000000000`` or a grid of 10⁹ points is refused at once, not allocated."""

MAX_KEY_DEPTH = 8
"""Most dotted parts in a ``[search]`` key (config keys have two: ``table.key``)."""

SWEEP_OPTIONS: dict[str, Param] = {
    "trials": Param(Maybe(Integer(1)), None, "random draws (each tried at every grid point)"),
    "seed": Param(Integer(0), 0, "seeds the draws and every trial without training.seed"),
    "scheduler": Param(OneOf(SCHEDULERS), "fifo", "fifo runs every trial to its end; asha "
                       "(Ray Tune) stops the poor ones early"),
    "grace_period": Param(Integer(1), 1, "ASHA: epochs before a trial may be stopped"),
    "reduction_factor": Param(Number(1, low_open=True), 2, "ASHA: keep the best 1/factor at "
                              "each milestone"),
    "max_trials": Param(Integer(1), MAX_TRIALS, "refuse a sweep of more trials than this"),
    "sampler": Param(Maybe(OneOf(SAMPLERS)), None, "Optuna chooses each trial's values: grid, "
                     "random or tpe"),
    "pruner": Param(OneOf(PRUNERS), "none", "Optuna: stop poor trials early (none, median, asha)"),
}
"""The ``[sweep]`` table: each option's rule, default and meaning (:mod:`nnlearn.checks`)."""


@dataclass
class Space:
    """A parsed, checked space file."""

    path: Path
    layers: list[dict[str, Any]]
    """Raw configs merged in order: the base (if any), then the space file's own tables."""
    grid: dict[str, list[Any]]
    draws: dict[str, dict[str, Any]]
    options: dict[str, Any]
    keys: list[str] = field(default_factory=list)
    """Every searched key, in the file's order."""
    max_trials: int = MAX_TRIALS
    """The most trials this sweep may have (``--max-trials``, ``[sweep] max_trials``)."""

    @property
    def name(self) -> str:
        return self.path.stem


# -- reading a space ------------------------------------------------------------------
def load_space(path: str | os.PathLike, max_trials: int | None = None) -> Space:
    """Read and check a space file; ``ConfigError`` names the file, the key and the fix.

    ``max_trials`` (the ``--max-trials`` flag) overrides ``[sweep] max_trials``; a grid
    with more points than the limit is refused before its values are checked.
    """
    path = Path(path)
    raw = cfgmod.load(path)
    where = str(path)
    search = raw.get("search")
    if not isinstance(search, dict) or not search:
        raise ConfigError(f"{where}: a space file needs a [search] table mapping config keys "
                          "to values to try, e.g. \"training.eta\" = [0.025, 0.25, 2.5]")
    options = _sweep_options(where, raw.get("sweep", {}))
    if max_trials is not None:
        options["max_trials"] = max_trials
    flat = list(_flatten(where, search))
    grid_size = math.prod(len(v) for _, v in flat if isinstance(v, list))
    _check_count(where, grid_size, 1, options["max_trials"])
    layers = []
    base = raw.get("base")
    if base is not None:
        layers.append(_load_base(base, path))
    layers.append({k: v for k, v in raw.items() if k not in SPACE_KEYS})
    try:
        cfgmod.resolve(*layers)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    grid: dict[str, list[Any]] = {}
    draws: dict[str, dict[str, Any]] = {}
    keys = []
    for key, value in flat:
        kind, parsed = _parse_range(where, key, value)
        for candidate in _candidates(kind, parsed):
            try:
                cfgmod.resolve(*layers, overrides={key: candidate})
            except ConfigError as exc:
                what = "" if str(exc).startswith("unknown key") else \
                    f"{candidate!r} is not a valid value: "
                raise ConfigError(f"{where}: [search] {key}: {what}{exc}") from None
        (grid if kind == "grid" else draws)[key] = parsed
        keys.append(key)
    return Space(path, layers, grid, draws, options, keys, options["max_trials"])


def _load_base(base: Any, space_path: Path) -> dict[str, Any]:
    if not isinstance(base, str) or not base:
        raise ConfigError(f"{space_path}: base must be \"preset:NAME\" or a config file path, "
                          f"got {base!r}")
    if base.startswith("preset:"):
        try:
            return cfgmod.load_preset(base[len("preset:"):])
        except ConfigError as exc:
            raise ConfigError(f"{space_path}: base: {exc}") from None
    try:
        return cfgmod.load(space_path.parent / base)
    except ConfigError as exc:  # name the space file whose base this is, not only the base
        raise ConfigError(f"{space_path}: base: {exc}") from None


def _is_range(value: Any) -> bool:
    return isinstance(value, dict) and any(k in value for k in (*RANGE_KEYS, "choices"))


def _flatten(where: str, table: dict[str, Any]):
    """``(dotted key, value)`` pairs of the [search] table (TOML's dotted keys nest), at
    most :data:`MAX_KEY_DEPTH` parts deep (walked with a stack, not recursion)."""
    stack = [(list(table.items())[::-1], ())]
    while stack:
        items, parts = stack[-1]
        if not items:
            stack.pop()
            continue
        key, value = items.pop()
        here = (*parts, str(key))
        if len(here) > MAX_KEY_DEPTH or len(".".join(here)) > 200:
            shown = ".".join(here[:4])[:60]
            raise ConfigError(f"{where}: [search] key {shown}... is longer than any config "
                              f"key (at most {MAX_KEY_DEPTH} dotted parts and 200 characters); "
                              "config keys are table.key, e.g. \"training.eta\"")
        if isinstance(value, dict) and not _is_range(value):
            stack.append((list(value.items())[::-1], here))
        else:
            yield ".".join(here), value


_HOW = ("a list of values (a grid axis), {choices = [...]} or {low = ..., high = ..., "
        "scale = \"log\"}")


def _parse_range(where: str, key: str, value: Any) -> tuple[str, Any]:
    """``("grid", values)`` or ``("draw", spec)``; ``ConfigError`` for anything else."""
    at = f"{where}: [search] {key}"
    if isinstance(value, list):
        if not value:
            raise ConfigError(f"{at}: the list of values is empty; give at least one value")
        return "grid", value
    if not isinstance(value, dict):
        raise ConfigError(f"{at}: expected {_HOW}, got {value!r}; to fix a value, set it in "
                          "the config tables instead")
    if "choices" in value:
        extra = sorted(set(value) - {"choices"})
        if extra:
            raise ConfigError(f"{at}: {{choices = [...]}} takes no other keys, got {extra}")
        if not isinstance(value["choices"], list) or not value["choices"]:
            raise ConfigError(f"{at}: choices is empty; give at least one value to choose from")
        return "draw", {"choices": value["choices"]}
    extra = sorted(set(value) - set(RANGE_KEYS))
    if extra:
        raise ConfigError(f"{at}: unknown range key(s) {extra}; a range takes low, high and "
                          "scale (\"linear\" or \"log\")")
    low, high, scale = value.get("low"), value.get("high"), value.get("scale", "linear")
    if not (is_number(low) and is_number(high) and math.isfinite(low) and math.isfinite(high)):
        raise ConfigError(f"{at}: a range needs finite numbers low and high, got "
                          f"low = {low!r}, high = {high!r}")
    if low > high:
        raise ConfigError(f"{at}: the range is empty: low = {low!r} > high = {high!r}; "
                          "swap them")
    if scale not in SCALES:
        raise ConfigError(f"{at}: scale must be \"linear\" or \"log\", got {scale!r}")
    if scale == "log" and low <= 0:
        raise ConfigError(f"{at}: a log range needs low > 0, got low = {low!r}")
    return "draw", {"low": low, "high": high, "scale": scale}


def _candidates(kind: str, parsed: Any) -> list[Any]:
    """The values that stand for a range when it is checked: all listed ones, or both ends."""
    if kind == "grid":
        return parsed
    return parsed["choices"] if "choices" in parsed else [parsed["low"], parsed["high"]]


def _sweep_options(where: str, table: Any) -> dict[str, Any]:
    """The ``[sweep]`` table checked against :data:`SWEEP_OPTIONS`, defaults filled in."""
    try:
        return check_table(SWEEP_OPTIONS, table, "[sweep]")
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _check_count(where: str, grid_points: int, draws: int, limit: int) -> int:
    """``grid_points × draws``, refused above ``limit`` with the count and how to raise it."""
    total = grid_points * draws
    if total > limit:
        parts = f"{grid_points:,} grid points" + (f" × {draws:,} random draws" if draws > 1
                                                  else "")
        raise ConfigError(f"{where}: the sweep has {total:,} trials ({parts}), more than the "
                          f"limit of {limit:,}; search a smaller space, or raise the limit "
                          f"with --max-trials N or [sweep] max_trials = N")
    return total


# -- trials -------------------------------------------------------------------------
def draw(spec: dict[str, Any], rng) -> Any:
    """One random value of a ``{choices}`` or ``{low, high, scale}`` spec."""
    if "choices" in spec:
        return spec["choices"][int(rng.integers(len(spec["choices"])))]
    low, high = spec["low"], spec["high"]
    if spec["scale"] == "log":
        value = math.exp(rng.uniform(math.log(low), math.log(high)))
    else:
        value = rng.uniform(low, high)
    if is_int(low) and is_int(high):
        return int(min(high, max(low, round(value))))
    return float(value)


def trial_specs(space: Space, trials: int | None = None) -> list[dict[str, Any]]:
    """Every trial of ``space``, in a fixed order: grid points × ``trials`` random draws.

    ``trials`` overrides ``[sweep] trials``. Each trial's config is resolved (so it is
    valid), gets ``training.seed = [sweep] seed`` unless the config sets one, and an
    absolute ``data.source`` (trials may run in another working directory).
    """
    where = str(space.path)
    trials = space.options["trials"] if trials is None else trials
    if space.draws and trials is None:
        raise ConfigError(f"{where}: [search] draws {', '.join(space.draws)} at random; say how "
                          "many trials with --trials N or [sweep] trials = N")
    if not space.draws and trials is not None:
        raise ConfigError(f"{where}: --trials / [sweep] trials sets the number of random draws, "
                          "but every [search] key is a grid list (all combinations run); add "
                          "{low, high} ranges or {choices} to draw at random, or drop it")
    _check_count(where, math.prod(len(v) for v in space.grid.values()),
                 trials if space.draws else 1, space.max_trials)  # before listing any
    rng = numpy.random.default_rng(space.options["seed"])
    points = [dict(zip(space.grid, combo)) for combo in itertools.product(*space.grid.values())]
    specs = []
    for _ in range(trials if space.draws else 1):
        drawn = {key: draw(spec, rng) for key, spec in space.draws.items()}
        for point in points:
            values = {**point, **drawn}
            settings = {key: values[key] for key in space.keys}
            specs.append(make_spec(len(specs), trial_config(space, settings), settings))
    return specs


def trial_config(space: Space, settings: dict[str, Any]) -> dict[str, Any]:
    """The resolved config of the trial with ``settings``: ``training.seed = [sweep] seed``
    unless the config sets one, and an absolute ``data.source`` (trials may run in another
    working directory)."""
    fixed = {} if cfgmod.resolve(*space.layers)["training"].get("seed") is not None \
        else {"training.seed": space.options["seed"]}
    try:
        cfg = cfgmod.resolve(*space.layers, overrides={**fixed, **settings})
    except ConfigError as exc:
        raise ConfigError(f"{space.path}: the trial with {settings_text(settings)} is not "
                          f"a valid config: {exc}") from None
    source = cfg["data"]["source"]
    if source != "mnist" and not os.path.isabs(source):
        cfg["data"]["source"] = os.path.abspath(source)
    return cfg


# -- the sweep folder ----------------------------------------------------------------
def sweep_folder(space: Space, specs: Sequence[dict[str, Any]], *, name: str | None = None,
                 resume: bool = False, root: str | os.PathLike | None = None,
                 options: dict[str, Any] | None = None) -> tuple[Path, FolderLock]:
    """Create the sweep folder (``root/name``, default ``runs/search-<space name>``), or
    check that the one to ``resume`` holds the same trials; either way take its lock
    first (another driver of the same folder is refused, naming its pid). Returns the
    folder's absolute path and the held lock."""
    name = name or f"search-{space.name}"
    if not name or "/" in name or name in (".", ".."):
        raise ConfigError(f"--name must be a plain folder name, got {name!r}")
    folder = (Path(root) if root is not None else runs_root()).resolve() / name
    record = {"space": str(space.path), "options": options or {},
              "trials": [[s["name"], s["settings"], cfgmod.config_hash(s["config"])]
                         for s in specs]}
    manifest = folder / "sweep.json"
    if resume and not manifest.is_file():
        raise ConfigError(f"--resume: {folder} is not a sweep folder (no sweep.json); "
                          "start the sweep without --resume")
    if not resume and folder.is_dir() and any(p.name != LOCK_NAME for p in folder.iterdir()):
        raise ConfigError(f"the sweep folder {folder} already exists; continue it with --resume, "
                          "or choose another --name")
    folder.mkdir(parents=True, exist_ok=True)
    lock = FolderLock(folder, "sweep folder").acquire()
    try:
        if resume:
            saved = json.loads(manifest.read_text(encoding="utf-8"))
            if saved.get("trials") != json.loads(json.dumps(record["trials"])):
                raise ConfigError(f"--resume: the trials of {space.path} differ from those of "
                                  f"the sweep in {folder} (the space file, its base or --trials "
                                  "changed); resume with the same space, or start a new sweep "
                                  "with another --name")
        elif manifest.exists():  # another driver made it between our look and our lock
            raise ConfigError(f"the sweep folder {folder} already exists; continue it with "
                              "--resume, or choose another --name")
        else:
            (folder / "space.toml").write_text(space.path.read_text(encoding="utf-8"),
                                               encoding="utf-8")
            manifest.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    except BaseException:
        lock.release()
        raise
    return folder, lock


def finished_rows(folder: Path, specs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the trials of ``specs`` that already finished in ``folder`` (for ``--resume``)."""
    rows = []
    for spec in specs:
        row = read_row(folder / TRIALS_DIR / spec["name"])
        if row is not None and row.get("status") in FINISHED:
            rows.append(row)
    return rows


# -- the whole sweep ------------------------------------------------------------------
@dataclass
class Sweep:
    """A finished (or interrupted) sweep: its folder, the trials and their rows."""

    folder: Path
    specs: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    keys: list[str]
    paths: dict[str, Path]

    @property
    def best(self) -> dict[str, Any] | None:
        return best(self.rows)

    @property
    def unfinished(self) -> list[str]:
        done = {row["trial"] for row in self.rows}
        return [s["name"] for s in self.specs if s["name"] not in done]


def scheduler_settings(space: Space, scheduler: str | None = None) -> dict[str, Any]:
    """``{"name", "grace_period", "reduction_factor"}`` from ``[sweep]`` and the ``--scheduler`` flag."""
    name = SWEEP_OPTIONS["scheduler"].check("scheduler", scheduler or space.options["scheduler"])
    return {"name": name, "grace_period": space.options["grace_period"],
            "reduction_factor": space.options["reduction_factor"]}


def run_search(space: Space | str | os.PathLike, engine=None, *, trials: int | None = None,
               scheduler: str | None = None, name: str | None = None, resume: bool = False,
               root: str | os.PathLike | None = None,
               on_start: Callable[[list[dict[str, Any]], list[dict[str, Any]], Path], None] | None = None,
               on_result: Callable[[dict[str, Any]], None] | None = None) -> Sweep:
    r"""Run (or resume) the sweep of a space file on ``engine``; write its results.

    Everything is checked before a trial starts (space, trials, scheduler). The results
    files are rewritten after every finished trial, so an interrupted sweep leaves a
    table of what finished; ``resume=True`` then runs only the rest.

    Args:
        space: a :class:`Space` or the path of a space file.
        engine: an engine of :mod:`nnlearn.experiments.sweeps.engines` (default: local).
        trials, scheduler: override ``[sweep] trials`` and ``[sweep] scheduler``.
        name, root: the sweep folder is ``root/name`` (default ``runs/search-<space>``).
        on_start: ``on_start(specs, finished_rows, folder)`` once, before trials run.
        on_result: ``on_result(row)`` as each trial finishes (in finishing order).
    """
    space = space if isinstance(space, Space) else load_space(space)
    engine = engine or LocalEngine()
    if space.options["sampler"] is not None or space.options["pruner"] != "none":  # Optuna's
        from nnlearn.experiments.sweeps import optuna_study  # proposes the trials one by one

        return optuna_study.run_study(space, engine, trials=trials, scheduler=scheduler,
                                      name=name, resume=resume, root=root, on_start=on_start,
                                      on_result=on_result)
    specs = trial_specs(space, trials)
    settings = scheduler_settings(space, scheduler)
    engine.check_scheduler(settings)
    engine.check()
    folder, lock = sweep_folder(space, specs, name=name, resume=resume, root=root,
                                options={"engine": engine.name, "scheduler": settings})
    with lock:  # held since sweep_folder; released when the sweep ends, however it ends
        return _run(space, engine, specs, settings, folder, resume, on_start, on_result)


def _run(space: Space, engine, specs, settings, folder: Path, resume: bool,
         on_start, on_result) -> Sweep:
    """The body of :func:`run_search`, run while the sweep folder's lock is held."""
    rows = finished_rows(folder, specs) if resume else []
    done = {row["trial"] for row in rows}
    pending = [s for s in specs if s["name"] not in done]
    if on_start is not None:
        on_start(specs, rows, folder)
    paths = write_results(folder, rows, space.keys, specs)

    def finished(row: dict[str, Any]) -> None:
        rows.append(row)
        paths.update(write_results(folder, rows, space.keys, specs))
        if on_result is not None:
            on_result(row)

    try:
        engine.run(pending, folder, finished, scheduler=settings)
    finally:
        paths.update(write_results(folder, rows, space.keys, specs))
    return Sweep(folder, specs, rows, space.keys, paths)
