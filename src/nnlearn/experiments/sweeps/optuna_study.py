r"""Sweeps whose trials Optuna proposes: ``[sweep] sampler`` and ``pruner``.

With ``sampler`` set in a space file's ``[sweep]`` table, the ``[search]`` keys become an
Optuna search space (a grid list or ``{choices}``: categorical; ``{low, high, scale}``: a
float or integer range, log-uniform with ``scale = "log"``) and Optuna's ask-and-tell
loop picks each trial's values from the results so far::

    [sweep]
    sampler = "tpe"       # "grid" (every grid point, Optuna's GridSampler), "random", "tpe"
    pruner = "median"     # "none", "median" (MedianPruner), "asha" (SuccessiveHalvingPruner)
    trials = 12           # how many trials (random and tpe; grid: all points by default)
    seed = 0              # seeds the sampler and every trial without training.seed
    grace_period = 1      # pruners: epochs a trial runs before it may be stopped
    reduction_factor = 2  # asha: keep the best 1/reduction_factor at each rung

Each trial reports its validation accuracy after every epoch (``trial.report``); the
pruner compares it with the other trials at the same epoch and may stop the trial there
(status ``"pruned"``; its model of that epoch is kept). The objective is the trial's best
validation accuracy. On the local engine, trials run in a process pool as its grid
sweeps' do, each worker talking to the study through its storage; on ``--engine ray``,
Ray Tune's ``OptunaSearch`` proposes the trials from the same study, and the pruner is
Tune's scheduler of that name (ASHA, or the median stopping rule: Optuna then records
stopped trials as complete, with the accuracy they reached).

The study lives in the sweep folder as ``optuna.journal`` (Optuna's journal storage, safe
for several processes), so ``nnlearn search SPACE --resume`` continues it (trials cut
short by the interruption are proposed again) and ``optuna-dashboard
runs/<sweep>/optuna.journal`` shows it. Needs ``pip install "nnlearn[optuna]"``.
"""

from __future__ import annotations

import concurrent.futures  # its process pool loads on first use, which keeps nnlearn --help fast
import functools
import json
import multiprocessing
import os
from pathlib import Path
from typing import Any, Callable

from nnlearn.errors import ConfigError, install_hint
from nnlearn.experiments.config import files as cfgmod
from nnlearn.experiments.sweeps.engines import hold_blas_threads
from nnlearn.experiments.sweeps.results import write_results
from nnlearn.experiments.sweeps.trial import (FINISHED, TRIALS_DIR, StopTrial, make_spec, new_row,
                                              read_row, run_trial)

SAMPLERS = ("grid", "random", "tpe")
"""``[sweep] sampler``: how Optuna proposes trials."""
PRUNERS = ("none", "median", "asha")
"""``[sweep] pruner``: how Optuna stops unpromising trials early."""
STUDY_FILE = "optuna.journal"
"""The study's journal storage, in the sweep folder."""


def import_optuna():
    """The ``optuna`` module (its logging held to warnings), or an ``ImportError`` saying
    how to install it."""
    try:
        import optuna  # optional extra: imported only for sweeps that name a sampler
    except ImportError as exc:
        raise ImportError(f"[sweep] sampler needs Optuna ({exc}): "
                          f"{install_hint('optuna')}") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


# -- the search space ------------------------------------------------------------------
def _encoded(value: Any) -> Any:
    """A categorical choice Optuna can store (None, bool, int, float, str): lists as JSON."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else \
        json.dumps(value)


def choices(space) -> dict[str, list[Any]]:
    """The categorical keys of ``space`` (grid lists and ``{choices}``) and their values."""
    out = {key: list(values) for key, values in space.grid.items()}
    out.update({key: list(spec["choices"]) for key, spec in space.draws.items()
                if "choices" in spec})
    return out


def suggest(trial, space) -> dict[str, Any]:
    """The settings of one trial, asked of Optuna's ``trial`` key by key (file order)."""
    categorical = choices(space)
    settings = {}
    for key in space.keys:
        if key in categorical:
            values = categorical[key]
            picked = trial.suggest_categorical(key, [_encoded(v) for v in values])
            settings[key] = values[[_encoded(v) for v in values].index(picked)]
        else:
            spec = space.draws[key]
            low, high, log = spec["low"], spec["high"], spec["scale"] == "log"
            settings[key] = trial.suggest_int(key, low, high, log=log) \
                if isinstance(low, int) and isinstance(high, int) else \
                trial.suggest_float(key, float(low), float(high), log=log)
    return settings


def settings_of(params: dict[str, Any], space) -> dict[str, Any]:
    """A stored trial's settings from its Optuna ``params`` (lists decoded back)."""
    categorical = choices(space)
    out = {}
    for key in space.keys:
        value = params[key]
        if key in categorical:
            value = categorical[key][[_encoded(v) for v in categorical[key]].index(value)]
        out[key] = value
    return out


def planned_trials(space, trials: int | None) -> int:
    """How many trials the study runs: ``trials`` (``--trials`` or ``[sweep] trials``), or
    for the grid sampler every grid point by default."""
    sampler = space.options["sampler"]
    trials = space.options["trials"] if trials is None else trials
    if sampler == "grid":
        if space.draws:
            raise ConfigError(f"{space.path}: sampler 'grid' tries grid lists only, but "
                              f"[search] draws {', '.join(space.draws)} from ranges; make them "
                              "lists, or use sampler 'random' or 'tpe'")
        points = 1
        for values in space.grid.values():
            points *= len(values)
        return points if trials is None else min(trials, points)
    if trials is None:
        raise ConfigError(f"{space.path}: sampler {sampler!r} needs a number of trials: "
                          "--trials N or [sweep] trials = N")
    return trials


def check(space, trials: int | None, scheduler: str | None) -> int:
    """Refuse, before anything runs, what an Optuna sweep cannot do; the planned trials."""
    if space.options["pruner"] != "none" and space.options["sampler"] is None:
        raise ConfigError(f"{space.path}: [sweep] pruner needs a sampler (Optuna runs the "
                          "pruner): add sampler = \"tpe\", \"random\" or \"grid\"")
    if (scheduler or space.options["scheduler"]) != "fifo":
        raise ConfigError(f"{space.path}: with [sweep] sampler, Optuna's pruner stops trials "
                          "early: use pruner = \"asha\" (or \"median\") instead of the asha "
                          "scheduler")
    if cfgmod.resolve(*space.layers)["data"]["validation_size"] == 0:
        raise ConfigError(f"{space.path}: Optuna maximises the validation accuracy, but "
                          "data.validation_size is 0; hold out validation data")
    return planned_trials(space, trials)


def make_sampler(optuna, space, seed: int):
    """Optuna's sampler for ``[sweep] sampler``, seeded."""
    name = space.options["sampler"]
    if name == "grid":
        grid = {key: [_encoded(v) for v in values] for key, values in space.grid.items()}
        return optuna.samplers.GridSampler(grid, seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def make_pruner(optuna, name: str, grace_period: int, reduction_factor: float):
    """Optuna's pruner for ``[sweep] pruner``: a trial is never stopped before its
    ``grace_period``-th epoch."""
    if name == "median":
        return optuna.pruners.MedianPruner(n_warmup_steps=grace_period - 1)
    if name == "asha":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=grace_period,
                                                      reduction_factor=reduction_factor)
    return optuna.pruners.NopPruner()


def journal(folder: str | os.PathLike):
    """The journal storage of the study in a sweep folder."""
    from optuna.storages import JournalStorage  # optional extra (optuna)
    from optuna.storages.journal import JournalFileBackend  # optional extra (optuna)

    return JournalStorage(JournalFileBackend(os.path.join(folder, STUDY_FILE)))


def open_study(folder: Path, space, seed: int):
    """The study of the sweep in ``folder`` (created, or loaded to continue it)."""
    optuna = import_optuna()
    storage = journal(folder)
    options = space.options
    return optuna.create_study(
        study_name=folder.name, storage=storage, load_if_exists=True, direction="maximize",
        sampler=make_sampler(optuna, space, seed),
        pruner=make_pruner(optuna, options["pruner"], options["grace_period"],
                           options["reduction_factor"]))


class Reporter:
    """A trial's ``report`` callback in its worker process: each epoch's validation accuracy
    goes to the study (through the journal file), and the pruner's verdict comes back as
    :class:`~nnlearn.experiments.sweeps.trial.StopTrial`."""

    def __init__(self, folder: str, study_name: str, trial_id: int, pruner: str,
                 grace_period: int, reduction_factor: float):
        self.folder, self.study_name, self.trial_id = folder, study_name, trial_id
        self.pruner, self.grace_period, self.reduction_factor = pruner, grace_period, \
            reduction_factor
        self._trial = None

    def _open(self):
        optuna = import_optuna()
        study = optuna.load_study(study_name=self.study_name, storage=journal(self.folder),
                                  pruner=make_pruner(optuna, self.pruner, self.grace_period,
                                                     self.reduction_factor))
        return optuna.trial.Trial(study, self.trial_id)

    def __call__(self, row: dict[str, Any], accuracy: float | None) -> None:
        if accuracy is None or row["status"] != "running":
            return  # a failed trial, or the last epoch: nothing left to stop
        if self._trial is None:
            self._trial = self._open()
        self._trial.report(accuracy, row["epochs"])
        if self._trial.should_prune():
            raise StopTrial(self.pruner)


def tell(study, trial, row: dict[str, Any]) -> None:
    """Give the study a finished trial's outcome: its best validation accuracy, pruned, or
    failed (a diverged or failed trial)."""
    from optuna.trial import TrialState  # optional extra (optuna)

    if row["status"] == "pruned":
        outcome: dict[str, Any] = {"state": TrialState.PRUNED}
    elif row["status"] == "completed" and row.get("validation_accuracy") is not None:
        outcome = {"values": row["validation_accuracy"]}
    else:
        outcome = {"state": TrialState.FAIL}
    try:
        study.tell(trial, **outcome)
    except RuntimeError as exc:
        # GridSampler calls study.stop() once the grid is used up, which Optuna allows only
        # inside study.optimize; the outcome is stored before that, and this loop stops by
        # its count of trials
        if "Study.stop" not in str(exc):
            raise


def _resume(study, space, folder: Path, specs: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows of the trials that finished before (a trial that finished after the driver
    stopped listening is told to the study now); a trial an interruption cut short is
    marked failed in the study and proposed again with the same values."""
    from optuna.trial import TrialState  # optional extra (optuna)

    from nnlearn.experiments.sweeps.search import trial_config  # search imports this module

    rows = []
    for past in study.get_trials(deepcopy=False):
        settings = settings_of(past.params, space)
        spec = make_spec(past.number, trial_config(space, settings), settings)
        row = read_row(folder / TRIALS_DIR / spec["name"])
        finished_row = row is not None and row.get("status") in FINISHED
        if finished_row and not past.state.is_finished():
            tell(study, past.number, row)
        elif not past.state.is_finished():
            study.tell(past.number, state=TrialState.FAIL)
            study.enqueue_trial(past.params)
        if finished_row:
            specs[past.number] = spec
            rows.append(row)
    return rows


def run_study(space, engine, *, trials: int | None = None, scheduler: str | None = None,
              name: str | None = None, resume: bool = False,
              root: str | os.PathLike | None = None,
              on_start: Callable[..., None] | None = None,
              on_result: Callable[[dict[str, Any]], None] | None = None):
    """:func:`nnlearn.experiments.sweeps.search.run_search` when ``[sweep] sampler`` is set:
    Optuna's ask-and-tell loop over a process pool; returns the same ``Sweep``."""
    from nnlearn.experiments.sweeps.search import sweep_folder  # search imports this module

    total = check(space, trials, scheduler)
    import_optuna()  # the install hint before a folder exists
    engine.check()
    options = {key: space.options[key] for key in ("sampler", "pruner", "seed", "grace_period",
                                                   "reduction_factor")}
    options.update(engine=engine.name, trials=total)
    folder, lock = sweep_folder(space, [], name=name, resume=resume, root=root, options=options)
    with lock:  # held since sweep_folder; released when the sweep ends, however it ends
        return _study(space, engine, trials=total, options=options, folder=folder,
                      resume=resume, on_start=on_start, on_result=on_result)


def _study(space, engine, *, trials: int, options: dict[str, Any], folder: Path, resume: bool,
           on_start: Callable[..., None] | None,
           on_result: Callable[[dict[str, Any]], None] | None):
    """The body of :func:`run_study`, run while the sweep folder's lock is held."""
    from nnlearn.experiments.sweeps.search import Sweep, trial_config  # search imports this module

    total = trials
    saved = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))["options"]
    if saved != json.loads(json.dumps(options)):
        raise ConfigError(f"--resume: the sweep in {folder} ran with {saved}, now {options}; "
                          "resume with the same space and --trials, or start a new sweep")
    specs: dict[int, dict[str, Any]] = {}
    seed = space.options["seed"]
    study = open_study(folder, space, seed)
    rows = _resume(study, space, folder, specs) if resume else []
    if resume:  # a fresh draw sequence, not the first trials' again
        study.sampler = make_sampler(import_optuna(), space, seed + len(specs))
    if on_start is not None:
        on_start([None] * total, rows, folder)
    paths = write_results(folder, rows, space.keys, specs)
    if engine.name == "ray":
        return _on_ray(space, engine, study, folder, total, rows, specs, paths, on_result)
    pruning = space.options["pruner"] != "none"
    workers = engine.workers(total)
    running: dict[Any, tuple[Any, dict[str, Any]]] = {}
    pool = concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=hold_blas_threads,
        initargs=(engine.cpus_per_trial,))
    launched = len(rows)  # trials cut short are proposed again (enqueued) within total
    try:
        while launched < total or running:
            while launched < total and len(running) < workers:
                trial = study.ask()
                settings = suggest(trial, space)
                spec = make_spec(trial.number, trial_config(space, settings), settings)
                specs[trial.number] = spec
                # the worker rebuilds the trial from its storage id (Trial(study, trial_id))
                report = Reporter(str(folder), study.study_name, trial._trial_id,
                                  space.options["pruner"], space.options["grace_period"],
                                  space.options["reduction_factor"]) if pruning else None
                future = pool.submit(run_trial, spec, str(folder), engine.cpus_per_trial,
                                     report, pruning)
                running[future] = (trial, spec)
                launched += 1
            done, _ = concurrent.futures.wait(running,
                                              return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                trial, spec = running.pop(future)
                try:
                    row = future.result()
                except Exception as exc:  # the worker died (out of memory, a signal)
                    row = {**new_row(spec, folder), "status": "failed",
                           "error": f"the trial's process died: {exc}"}
                tell(study, trial, row)
                rows.append(row)
                paths.update(write_results(folder, rows, space.keys, specs))
                if on_result is not None:
                    on_result(row)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        paths.update(write_results(folder, rows, space.keys, specs))
    ordered = [specs[n] for n in sorted(specs)]
    return Sweep(folder, ordered, rows, space.keys, paths)


# -- on Ray: Ray Tune's OptunaSearch on the same study --------------------------------------
def define_by_run(trial, space) -> None:
    """OptunaSearch's search space: the settings :func:`suggest` asks for."""
    suggest(trial, space)


def ray_searcher(space, folder: Path, study):
    """Ray Tune's ``OptunaSearch`` on the sweep's study (its journal file): each suggestion
    is ``{"spec": ...}``, the whole trial, named after its Optuna trial number."""
    from ray.tune.search.optuna import OptunaSearch  # optional extra (ray, optuna)

    from nnlearn.experiments.sweeps.search import trial_config  # search imports this module

    class SpecSearch(OptunaSearch):
        def suggest(self, trial_id: str):
            params = super().suggest(trial_id)
            if not isinstance(params, dict):
                return params  # None (wait) or FINISHED
            number = self._ot_trials[trial_id].number  # OptunaSearch's Optuna trial for trial_id
            settings = settings_of(params, space)
            return {"spec": make_spec(number, trial_config(space, settings), settings)}

    return SpecSearch(space=functools.partial(define_by_run, space=space),
                      metric="best_validation_accuracy", mode="max", sampler=study.sampler,
                      study_name=study.study_name, storage=journal(folder))


def _on_ray(space, engine, study, folder: Path, total: int, rows: list[dict[str, Any]],
            specs: dict[int, dict[str, Any]], paths: dict[str, Path],
            on_result: Callable[[dict[str, Any]], None] | None):
    """The rest of the study as Ray Tune trials: OptunaSearch proposes, the pruner is Tune's
    scheduler of the same name (ASHA, or the median stopping rule)."""
    from nnlearn.experiments.sweeps.search import Sweep, trial_config  # search imports this module

    options = space.options
    scheduler = {"name": {"none": "fifo"}.get(options["pruner"], options["pruner"]),
                 "grace_period": options["grace_period"],
                 "reduction_factor": options["reduction_factor"],
                 "max_t": max(1, cfg_epochs(space))}

    def finished(row: dict[str, Any]) -> None:
        specs[row["index"]] = {"name": row["trial"], "index": row["index"],
                               "settings": row["settings"],
                               "config": trial_config(space, row["settings"])}
        rows.append(row)
        paths.update(write_results(folder, rows, space.keys, specs))
        if on_result is not None:
            on_result(row)

    try:
        engine.run([], folder, finished, scheduler=scheduler,
                   search_alg=ray_searcher(space, folder, study), num_samples=total - len(rows))
    finally:
        paths.update(write_results(folder, rows, space.keys, specs))
    return Sweep(folder, [specs[n] for n in sorted(specs)], rows, space.keys, paths)


def cfg_epochs(space) -> int:
    """``training.epochs`` of the space's config (the longest a trial runs: ASHA's max_t)."""
    return cfgmod.resolve(*space.layers)["training"]["epochs"]

