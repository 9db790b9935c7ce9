r"""Resumable reproduction runs: a preset spec trained into a stable run folder.

Long rungs (ch6 (g), the members of the (h) ensemble, the ``cnn-best`` ensemble) take
hours each on two cores, so a reproduction must survive being stopped. Each such run
trains into a run folder (:class:`~nnlearn.experiments.runs.folder.Run`) whose name
depends only on what is trained::

    <runs root>/reproduce/<key>-seed<seed>-<config hash>/
        config.toml       the resolved preset config with its overrides and seed
        metrics.jsonl     one record per epoch (test accuracy monitored, as in the tables)
        checkpoint.npz    the whole training state after every epoch (nnlearn.io.checkpoint)
        model.npz         the trained network, once the run has finished
        summary.json      test accuracy, wall time, and "reproduce": {"finished": true, ...}

The runs root is ``--runs-dir``, else ``$NNLEARN_RUNS_DIR``, else ``./runs``
(:func:`~nnlearn.experiments.runs.folder.runs_root`). On start, :func:`train_member`

* **reuses** a finished run (loads ``model.npz``; its accuracies come from
  ``metrics.jsonl``, its wall time from ``summary.json``): nothing is trained;
* **resumes** a half-finished one from its last checkpoint, exactly as ``nnlearn train
  --resume`` does; the result is bit-identical to a run that was never stopped;
* **trains** a missing one from the start.

The config hash (:func:`~nnlearn.experiments.config.files.config_hash` of the resolved
config) is in the name, so a changed recipe (other epochs, η, λ, data...) gets a new
folder and an old run is never taken for it; runs of the same key and seed under
another hash are named in the log. The wall time of a resumed run adds up its sittings
(the epochs redone after a kill are counted once).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from nnlearn.errors import ConfigError, DataError, ModelFileError
from nnlearn.experiments.config import files as config
from nnlearn.experiments.reproduce.common import preset_config, run_line, run_result
from nnlearn.experiments.runs.builder import load_data, prepare
from nnlearn.experiments.runs.folder import Run, runs_root
from nnlearn.experiments.sweeps.trial import save_outcome, summarize
from nnlearn.files import remove_stale_temporaries
from nnlearn.io.checkpoint import Checkpointer, load_checkpoint, restore
from nnlearn.io.model_file import load
from nnlearn.nn.ensemble import Ensemble
from nnlearn.train.parallel import plan_threads
from nnlearn.train.trainer import Trainer

MEMBERS_DIR = "reproduce"
"""The sub-folder of the runs root that holds the reproductions' resumable runs."""


def member_folder(spec: dict[str, Any], seed: int, root: str | Path | None = None
                  ) -> tuple[Path, dict[str, Any]]:
    """``(folder, resolved config)`` of the run of preset ``spec`` with ``seed``:
    ``<root>/reproduce/<key>-seed<seed>-<config hash>``."""
    cfg = preset_config(spec, seed)
    root = Path(root) if root is not None else runs_root()
    return root / MEMBERS_DIR / f"{spec['key']}-seed{seed}-{config.config_hash(cfg)}", cfg


def is_finished(folder: Path) -> bool:
    """Whether the run in ``folder`` ended and saved its network."""
    run = Run(folder)
    try:
        done = run.summary().get("reproduce", {}).get("finished") is True
    except (DataError, AttributeError):  # a summary cut short by a kill, or not ours
        return False
    return done and run.model_path.is_file()


def scoring_split(spec: dict[str, Any], seed: int):
    """The ``(X, y)`` test split of preset ``spec`` (what its runs are scored on); the
    training set is not expanded for it (250,000 images for (g), not needed here)."""
    cfg = preset_config(spec, seed)
    return load_data({**cfg, "data": {**cfg["data"], "expand": "none"}})[2]


def train_member(spec: dict[str, Any], seed: int, log: Callable[[str], None] = print,
                 root: str | Path | None = None,
                 on_epoch: Callable[[dict[str, Any]], None] | None = None,
                 cpus: int | None = None) -> dict[str, Any]:
    """Train (or reuse, or resume) the run of preset ``spec`` with ``seed`` in its folder
    (:func:`member_folder`); returns the result of
    :func:`nnlearn.experiments.reproduce.common.run_spec` plus ``"status"`` (``"reused"``,
    ``"resumed"`` or ``"trained"``) and ``"run_dir"``.

    ``on_epoch(record)`` is called after each epoch's checkpoint is on disk. ``cpus`` caps
    the threads that ``training.threads = "auto"`` may pick (members trained side by side);
    a run resumes bit for bit when it runs on as many threads as before.
    """
    path, cfg = member_folder(spec, seed, root)
    _mention_other_configs(path, spec, seed, log)
    if is_finished(path):
        result = _reused(path, spec, seed)
        log(f"  {spec['label']} seed {seed}: reusing the finished run in {path} "
            f"(final {result['final']:.2f}%, {result['epochs']} epochs, {result['seconds']:.1f} s)")
        return result
    resuming = (path / Run.CHECKPOINT).is_file()
    if resuming:
        folder = Run.open(path).take_lock()
    else:
        folder = Run.create(cfg, run_dir=path, exist_ok=True)
    try:
        return _train(folder, cfg, spec, seed, resuming, log, on_epoch, cpus)
    finally:
        folder.lock.release()


def _train(folder: Run, cfg: dict[str, Any], spec: dict[str, Any], seed: int, resuming: bool,
           log: Callable[[str], None], on_epoch, cpus: int | None) -> dict[str, Any]:
    """Train the run of ``folder`` (its lock held) to the end, from its checkpoint if ``resuming``."""
    run = prepare(cfg)
    options = {k: v for k, v in run.options.items() if k != "monitor"}
    net = run.network
    if cpus is not None and options["threads"] == "auto":
        options["threads"] = min(cpus, plan_threads(net, options["mini_batch_size"], "auto"))
    saver = Checkpointer(folder.checkpoint_path, 1, {"config": cfg, "wall_seconds": 0.0})
    earlier = start = 0.0  # wall seconds of the earlier sittings; this sitting's start

    def record_epoch(record: dict[str, Any]) -> None:  # before the saver: its wall time goes in
        folder.append_metrics(record)
        saver.extra["wall_seconds"] = earlier + time.perf_counter() - start

    trainer = Trainer(net, *run.train, validation_data=run.test, monitor=("evaluation_accuracy",),
                      callbacks=[record_epoch], **options)
    if resuming:
        checkpoint = _checked_checkpoint(folder, cfg)
        restore(trainer, checkpoint, folder.checkpoint_path)
        saver.saved_epoch = checkpoint.epoch
        earlier = float(checkpoint.extra.get("wall_seconds", 0.0))
        folder.write_metrics(trainer.history)  # cut back to the checkpoint's epochs
        log(f"  {spec['label']} seed {seed}: resuming {folder.path} from the checkpoint of epoch "
            f"{checkpoint.epoch} ({trainer.end_epoch - trainer.epoch} epochs to go)")
    else:
        log(f"  {spec['label']} seed {seed}: training into {folder.path}")
    saver.remember(trainer)
    trainer.on_epoch_end.append(saver)
    first = trainer.epoch  # the epochs this sitting trains follow it

    def progress(_trainer, record: dict[str, Any]) -> None:  # once the checkpoint is on disk
        done, total = record["epoch"], trainer.end_epoch
        log(epoch_line(spec["key"], seed, done, total, record["evaluation_accuracy"],
                       saver.extra["wall_seconds"],
                       (time.perf_counter() - start) / (done - first) * (total - done)))

    trainer.on_epoch_end.append(progress)
    if on_epoch is not None:
        trainer.on_epoch_end.append(lambda _trainer, record: on_epoch(record))
    start = time.perf_counter()
    trainer.run()
    wall = earlier + time.perf_counter() - start
    summary = summarize(net, trainer, run.test, wall)
    save_outcome(folder, cfg, net, {**summary, "reproduce": {
        "key": spec["key"], "seed": seed, "finished": True, "resumed": resuming}})
    result = _result(trainer.history.records, wall, seed)
    log(run_line(spec, result))
    return {**result, "network": net, "status": "resumed" if resuming else "trained",
            "run_dir": str(folder.path)}


def epoch_line(key: str, seed: int, done: int, total: int, accuracy: float, wall: float,
               left: float) -> str:
    """The log line after each epoch of a resumable run: its test accuracy (a fraction), its
    wall time over all sittings, and the time to its end at this sitting's pace (seconds)."""
    return (f"    {key} seed {seed}: epoch {done}/{total}, test accuracy {100 * accuracy:.2f}%, "
            f"{_duration(wall)} so far, about {_duration(left)} to go (checkpoint saved)")


def _duration(seconds: float) -> str:
    """``"42 s"``, ``"17 min"`` or ``"2 h 05 min"``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def train_member_elsewhere(spec: dict[str, Any], seed: int, root: str | Path | None,
                           cpus: int) -> dict[str, Any]:
    """:func:`train_member` in an engine's worker process (:meth:`LocalEngine.map
    <nnlearn.experiments.sweeps.engines.LocalEngine.map>`): it prints its lines and returns
    the result without the network, which the caller loads from the run's ``model.npz``."""
    result = train_member(spec, seed, lambda line: print(line, flush=True), root, cpus=cpus)
    return {k: v for k, v in result.items() if k != "network"}


def _checked_checkpoint(folder: Run, cfg: dict[str, Any]):
    """The checkpoint of ``folder``, refused unless it and ``config.toml`` hold ``cfg``."""
    for stale in (folder.checkpoint_path, folder.model_path):  # writes cut short by a kill
        remove_stale_temporaries(stale)
    checkpoint = load_checkpoint(folder.checkpoint_path)
    saved = checkpoint.extra.get("config")
    if not isinstance(saved, dict) or config.resolve(saved) != cfg or folder.config() != cfg:
        raise ConfigError(f"the run folder {folder.path} holds a run of another config than "
                          f"its name says (edited by hand?); remove the folder to train the "
                          f"run again")
    return checkpoint


def _reused(path: Path, spec: dict[str, Any], seed: int) -> dict[str, Any]:
    """The result of the finished run in ``path``, its network loaded from ``model.npz``."""
    run = Run(path)
    try:
        net = load(run.model_path)
    except ModelFileError as exc:
        raise ModelFileError(f"{exc}; remove the run folder {path} to train it again") from None
    result = _result(run.metrics(), float(run.summary()["wall_seconds"]), seed)
    return {**result, "network": net, "status": "reused", "run_dir": str(path)}


def _result(records: list[dict[str, Any]], wall: float, seed: int) -> dict[str, Any]:
    """What :func:`~nnlearn.experiments.reproduce.common.run_spec` reports, from the epochs' records."""
    return run_result(seed, [r["evaluation_accuracy"] for r in records],
                      [r["train_seconds"] for r in records], wall)


def _mention_other_configs(path: Path, spec: dict[str, Any], seed: int,
                           log: Callable[[str], None]) -> None:
    """Log the runs of the same key and seed made with another config (never reused)."""
    others = sorted(p.name for p in path.parent.glob(f"{spec['key']}-seed{seed}-*")
                    if p != path and p.is_dir())
    if others:
        log(f"  {spec['key']} seed {seed}: not reusing {', '.join(others)} in {path.parent} "
            f"(another config: other epochs or hyper-parameters)")


def ensemble_spec(member: dict[str, Any], key: str, label: str, book: float, size: int = 5,
                  **extra: Any) -> dict[str, Any]:
    """A table row: the ensemble of ``size`` runs of preset spec ``member`` (seeds s, ...,
    s + size − 1 for the row's seed s), by :func:`ensemble_run`. ``member`` is read when
    the row runs, so per-experiment epochs given for it (``--epochs g=5``) apply to the
    members too; ``extra`` adds keys (``seeds``, ``min_final_mean``, ...)."""
    def run(seed: int, log: Callable[[str], None], engine: Any = None,
            trained: dict[tuple[str, int], Any] | None = None,
            runs_dir: str | Path | None = None) -> dict[str, Any]:
        return ensemble_run(member, seed, size, log, engine, trained, runs_dir)

    return {"key": key, "label": label, "book": book, "engine": True, "run": run, **extra}


def ensemble_run(member: dict[str, Any], seed: int, size: int, log: Callable[[str], None],
                 engine: Any = None, trained: dict[tuple[str, int], Any] | None = None,
                 runs_dir: str | Path | None = None) -> dict[str, Any]:
    r"""Train ``size`` runs of preset spec ``member`` (seeds seed, seed+1, ...) and score their ensemble.

    Each member is a resumable run (:func:`train_member`: reused when finished, resumed
    when half-trained, under ``runs_dir``); one already in ``trained`` (``(member key,
    seed) → result``: the same spec run earlier in this reproduction, e.g. (g) before
    (h)) is taken as it is. With the local engine the members train side by side in its
    processes (:func:`train_member_elsewhere`: each one still resumable); with the Ray
    engine the members that are not finished on disk train as Ray Tune trials instead, which
    start from scratch if stopped.

    The result is a table row's run (:func:`~nnlearn.experiments.reproduce.common.run_spec`)
    whose accuracy is the mean of the probabilities', plus ``"vote"`` (majority vote, %),
    ``"mean"`` (%) and ``"members"``: each member's seed, final test accuracy, epochs,
    wall time (all sittings; for engine-trained members, the engine's wall time) and
    status. ``"seconds"`` is the sum of the members' wall times plus the scoring.
    """
    trained = trained or {}
    seeds = list(range(seed, seed + size))
    results: dict[int, dict[str, Any]] = {}
    for s in seeds:
        if (member["key"], s) in trained:
            results[s] = {**trained[(member["key"], s)], "status": "reused"}
            log(f"  reusing the {member['key']} network of seed {s} trained earlier in this "
                f"reproduction")
        elif engine is not None and is_finished(member_folder(member, s, runs_dir)[0]):
            results[s] = train_member(member, s, log, runs_dir)  # reused from disk
    todo = [s for s in seeds if s not in results]
    if callable(getattr(engine, "map", None)) and todo:  # processes on this machine, sharing its files
        log(f"  {len(todo)} members side by side on {engine.describe()}, each in its resumable "
            f"run folder")
        done = engine.map(train_member_elsewhere,
                          [(member, s, runs_dir, engine.cpus_per_trial) for s in todo])
        results.update({s: {**r, "network": load(Run(r["run_dir"]).model_path)}
                        for s, r in zip(todo, done)})
    elif engine is not None and todo:
        log(f"  {len(todo)} members on {engine.describe()} (parallel trials: not resumable; "
            f"without --engine, or with --engine local, each member trains into a resumable "
            f"run folder)")
        start = time.perf_counter()
        networks = Ensemble.train([preset_config(member, s) for s in todo], engine).networks
        wall = time.perf_counter() - start
        epochs = preset_config(member, seed)["training"]["epochs"]
        results.update({s: {"seed": s, "network": net, "epochs": epochs, "seconds": wall,
                            "status": "trained by the engine"} for s, net in zip(todo, networks)})
    else:
        results.update({s: train_member(member, s, log, runs_dir) for s in todo})
    start = time.perf_counter()
    X_test, y_test = scoring_split(member, seed)
    scores = Ensemble([results[s]["network"] for s in seeds]).compare(X_test, y_test)
    vote, mean = 100 * scores["vote"], 100 * scores["mean"]
    members = [{"seed": s, "final": 100 * accuracy, "epochs": results[s]["epochs"],
                "seconds": results[s]["seconds"], "status": results[s]["status"]}
               for s, accuracy in zip(seeds, scores["members"])]
    shown = ", ".join(f"{m['final']:.2f}" for m in members)
    log(f"  ensemble of {size}: members {shown}%; majority vote {vote:.2f}%, mean of "
        f"probabilities {mean:.2f}%")
    epochs = max(m["epochs"] for m in members)
    on_engine = [m for m in members if m["status"] == "trained by the engine"]
    seconds = sum(m["seconds"] for m in members if m not in on_engine) \
        + (on_engine[0]["seconds"] if on_engine else 0.0)  # the engine's members ran at once
    return {"seed": seed, "best": mean, "best_epoch": epochs, "final": mean, "epochs": epochs,
            "seconds": seconds + time.perf_counter() - start, "vote": vote, "mean": mean,
            "members": members}
