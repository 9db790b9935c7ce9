r"""Where the trials of a sweep run: a process pool on this machine, or Ray Tune on a cluster.

Both engines run the same function, :func:`nnlearn.experiments.sweeps.trial.run_trial`, on
the same trial specs, so a trial gives the same numbers on either (for the same
seed and thread count). They differ in where and how many at once:

* :class:`LocalEngine` (default, no extra dependency): a ``concurrent.futures``
  process pool on this machine, one trial per core (``cpus_per_trial`` cores each,
  with BLAS held to as many threads through threadpoolctl when it is installed). The
  workers die with the driver (:func:`nnlearn.system.processes.die_with_parent`).
* :class:`RayEngine` (``pip install "nnlearn[ray]"``; Ray is imported only here, when
  used): Ray Tune runs the trials, on a Ray started for the sweep or on an existing
  cluster (``address``). Its ``"asha"`` scheduler (ASHA, Li et al. 2018) stops the
  trials whose validation accuracy at an epoch milestone (1, 2, 4, ... epochs with
  ``grace_period = 1``, ``reduction_factor = 2``) is in the bottom half of the
  trials seen there: the book's "no improvement in n epochs" judgement, made across
  trials. Nothing here schedules trials itself; Ray does.

An engine's ``run(specs, sweep_dir, on_result)`` returns the trials' rows (see
:mod:`nnlearn.experiments.sweeps.trial`) and calls ``on_result(row)`` as each one finishes;
``train_networks(configs)`` trains one network per config as parallel trials, which is
how :meth:`nnlearn.nn.ensemble.Ensemble.train` gets its members.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from nnlearn.checks import positive_int
from nnlearn.errors import ConfigError, NNLearnError, install_hint
from nnlearn.experiments.config import files as config
from nnlearn.experiments.runs.folder import runs_root
from nnlearn.experiments.sweeps.trial import make_spec, mark_stopped, new_row, run_trial
from nnlearn.io.model_file import load
from nnlearn.system.processes import die_with_parent
from nnlearn.train.parallel import available_cores

ENGINES = ("local", "ray")
SCHEDULERS = ("fifo", "asha")
"""Trial schedulers: ``fifo`` runs every trial to its end (any engine); ``asha`` (Ray Tune's
ASHA) stops the poor ones early."""
CONNECT_TIMEOUT = 2.0
"""Seconds to wait for a Ray head node to accept a connection, and again for it to answer
as a gRPC server, before reporting it unreachable (at most twice this in all)."""
HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
"""What an HTTP/2 client sends first: the connection preface and an empty SETTINGS frame.
A Ray head node's GCS is a gRPC (HTTP/2) server and answers with a SETTINGS frame."""

OnResult = Callable[[dict[str, Any]], None]


class Engine:
    """What both engines share: ``cpus_per_trial`` and :meth:`train_networks`."""

    name = "engine"
    schedulers: tuple[str, ...] = SCHEDULERS[:1]  # fifo

    def __init__(self, cpus_per_trial: int = 1):
        self.cpus_per_trial = positive_int("cpus_per_trial (--cpus-per-trial)", cpus_per_trial)

    def check_scheduler(self, scheduler: dict[str, Any]) -> None:
        """``ConfigError`` unless this engine can run ``scheduler`` (``{"name": ...}``)."""
        if scheduler["name"] not in self.schedulers:
            raise ConfigError(f"scheduler {scheduler['name']!r} needs --engine ray (Ray Tune's "
                              f"ASHA); the {self.name} engine runs every trial to its end: "
                              "use --scheduler fifo, or --engine ray")

    def check(self) -> None:
        """Fail now, before a sweep folder exists, if this engine cannot run (no-op here)."""

    def run(self, specs: Sequence[dict[str, Any]], sweep_dir: str | os.PathLike,
            on_result: OnResult = lambda row: None,
            scheduler: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        raise NotImplementedError

    def describe(self) -> str:
        return self.name

    def train_networks(self, configs: Sequence[dict[str, Any]],
                       folder: str | os.PathLike | None = None) -> list:
        """Train one network per experiment config as parallel trials; return the trained
        networks, loaded from the trials' ``model.npz`` (in config order).

        ``folder`` (default ``runs/<time>-ensemble-<pid>``) keeps one run folder per member.
        Raises :class:`~nnlearn.errors.NNLearnError` naming a member that diverged or failed.
        """
        if not configs:
            raise ConfigError("train_networks needs at least one config")
        folder = Path(folder) if folder is not None else \
            runs_root() / f"{time.strftime('%Y%m%d-%H%M%S')}-ensemble-{os.getpid()}"
        specs = [make_spec(k, config.resolve(cfg), name=f"member-{k}")
                 for k, cfg in enumerate(configs)]
        rows = {row["index"]: row for row in self.run(specs, folder.resolve())}
        for spec in specs:
            row = rows.get(spec["index"])
            if row is None or row["status"] != "completed":
                what = "did not finish" if row is None else f"{row['status']}: {row['error']}"
                raise NNLearnError(f"ensemble member {spec['name']} {what} (run folder "
                                   f"{folder / 'trials' / spec['name']})")
        return [load(Path(rows[s["index"]]["run_dir"]) / "model.npz") for s in specs]


# -- local ---------------------------------------------------------------------------
class LocalEngine(Engine):
    r"""Trials in a pool of processes on this machine: ``cpus // cpus_per_trial`` at once.

    Args:
        cpus: cores to use (default: all this process may run on).
        cpus_per_trial: cores per trial (BLAS threads and ``training.threads = "auto"``).
    """

    name = "local"

    def __init__(self, cpus: int | None = None, cpus_per_trial: int = 1):
        super().__init__(cpus_per_trial)
        self.cpus = available_cores() if cpus is None else positive_int("cpus", cpus)

    def workers(self, n_trials: int) -> int:
        return max(1, min(n_trials, self.cpus // self.cpus_per_trial))

    def describe(self) -> str:
        return f"local ({self.workers(10 ** 6)} processes, {self.cpus_per_trial} core(s) each)"

    def _pool(self, n_tasks: int):
        """A pool of ``workers(n_tasks)`` spawned processes that die with this one and hold
        BLAS to ``cpus_per_trial`` threads."""
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        return ProcessPoolExecutor(self.workers(n_tasks), mp_context=get_context("spawn"),
                                   initializer=start_worker,
                                   initargs=(os.getpid(), self.cpus_per_trial))

    def map(self, fn: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> list[Any]:
        """``[fn(*task) for task in tasks]``, run side by side in this engine's processes
        (on this machine, so ``fn`` sees its files); ``fn`` and the tasks must be picklable
        (a module-level function, plain values). An exception in a task is raised here once
        every task has ended; a worker that dies (out of memory, a signal) raises
        :class:`~nnlearn.errors.NNLearnError`."""
        from concurrent.futures.process import BrokenProcessPool

        if not tasks:
            return []
        pool = self._pool(len(tasks))
        try:
            futures = [pool.submit(fn, *task) for task in tasks]
            pool.shutdown(wait=True)
            try:
                return [future.result() for future in futures]
            except BrokenProcessPool as exc:
                raise NNLearnError(f"a worker process died: {str(exc).rstrip('.')}"
                                   f"{unguarded_script_hint()}") from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def run(self, specs, sweep_dir, on_result=lambda row: None, scheduler=None):
        from concurrent.futures import as_completed
        from concurrent.futures.process import BrokenProcessPool

        self.check_scheduler(scheduler or {"name": "fifo"})
        if not specs:
            return []
        rows = []
        pool = self._pool(len(specs))
        try:
            futures = {pool.submit(run_trial, spec, str(sweep_dir), self.cpus_per_trial): spec
                       for spec in specs}
            for future in as_completed(futures):
                try:
                    row = future.result()
                except BrokenProcessPool as exc:  # a worker was killed (out of memory, signal)
                    row = {**new_row(futures[future], sweep_dir), "status": "failed",
                           "error": f"the trial's process died: {str(exc).rstrip('.')}"
                                    f"{unguarded_script_hint()}"}
                rows.append(row)
                on_result(row)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return rows


def unguarded_script_hint() -> str:
    """What to do when workers die at start because the script that started them runs its
    code at import: spawn imports the main script again in every worker, so a script that
    trains at top level starts trials from inside each worker, which Python refuses."""
    main = sys.modules.get("__main__")
    if getattr(main, "__file__", None) is None or getattr(main, "__spec__", None) is not None:
        return ""  # the interpreter, a notebook, or `python -m`: nothing is imported again
    return (f". If {main.__file__} starts the trials at its top level (Ensemble.train, a "
            "sweep or an engine's run), put those lines under `if __name__ == "
            "\"__main__\":`; the local engine's workers start with spawn, which imports the "
            "script again in each of them")


_blas_limit = None


def start_worker(driver_pid: int, threads: int) -> None:
    """Process-pool initializer: die with the driver (``kill -9`` of ``nnlearn search``
    leaves no trial training on), and hold BLAS to ``threads`` threads."""
    die_with_parent(driver_pid)
    hold_blas_threads(threads)


def hold_blas_threads(threads: int) -> None:
    """Hold BLAS to ``threads`` threads in this process (threadpoolctl, if installed)."""
    global _blas_limit
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    _blas_limit = threadpool_limits(limits=threads, user_api="blas")


# -- ray -----------------------------------------------------------------------------
class RayEngine(Engine):
    r"""Trials as Ray Tune trials, on a Ray started here or on an existing cluster.

    Args:
        address: ``None`` starts a Ray on this machine for the sweep; ``"auto"`` joins
            the one ``ray start`` started on this machine (:func:`auto_address`);
            ``"HOST:PORT"`` joins the cluster whose head node listens there (checked
            first: an unreachable address, or one where something other than Ray
            listens, fails within 2 × :data:`CONNECT_TIMEOUT` seconds).
        cpus_per_trial: Ray CPU resources per trial (``tune.with_resources``).
        num_cpus: CPUs of a Ray started here (default: all); ignored with ``address``.
    """

    name = "ray"
    schedulers = SCHEDULERS + ("median",)  # median: an Optuna sweep's pruner, as Tune's rule

    def __init__(self, address: str | None = None, cpus_per_trial: int = 1,
                 num_cpus: int | None = None):
        super().__init__(cpus_per_trial)
        self.address = check_address_syntax(address)
        self.num_cpus = None if num_cpus is None else positive_int("num_cpus", num_cpus)

    def describe(self) -> str:
        where = f"the Ray cluster at {self.address}" if self.address else "a Ray started here"
        return f"ray ({where}, {self.cpus_per_trial} CPU(s) per trial)"

    def check(self) -> None:
        """Ray must be installed, and the cluster to join answer as a Ray head node: an
        explicit ``HOST:PORT``, or for ``"auto"`` the one ``ray start`` recorded on this
        machine (:func:`auto_address`); nothing is created before this passes."""
        if self.address == "auto":
            self.address = auto_address()
        if self.address is not None:
            check_reachable(self.address)  # seconds at most, before Ray's own slow import
        import_ray()

    def run(self, specs, sweep_dir, on_result=lambda row: None, scheduler=None,
            search_alg=None, num_samples: int = 1):
        """Run ``specs`` as a grid; or, given a Tune ``search_alg`` (an Optuna sweep), the
        ``num_samples`` trials it proposes (each suggestion holds its trial's ``spec``)."""
        scheduler = scheduler or {"name": "fifo"}
        self.check_scheduler(scheduler)
        if not specs and (search_alg is None or num_samples < 1):
            return []
        ray = import_ray()
        with connected(ray, self.address, self.num_cpus):
            return _tune(specs, Path(sweep_dir), self.cpus_per_trial, scheduler, on_result,
                         search_alg, num_samples)


def import_ray():
    """The ``ray`` module, or an ``ImportError`` that says how to install it."""
    try:
        import ray
        import ray.tune  # noqa: F401 - the tune extra
    except ImportError as exc:
        raise ImportError(f"--engine ray needs Ray Tune ({exc}): {install_hint('ray')}, "
                          "and the same on every node of the cluster") from None
    return ray


def check_address_syntax(address: str | None) -> str | None:
    """``None``, ``"auto"`` or ``"HOST:PORT"``; anything else is a ``ConfigError``."""
    if address is None or address == "auto":
        return address
    host, sep, port = str(address).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--address must be 'auto' or HOST:PORT of a Ray head node "
                          f"(e.g. 10.0.0.5:6379, as `ray start --head` prints it), got {address!r}")
    return address


def auto_address() -> str:
    """The address ``--address auto`` means: ``$RAY_ADDRESS``, else the head node that
    ``ray start`` on this machine recorded in ``<$RAY_TMPDIR or $TMPDIR or /tmp>/ray/
    ray_current_cluster`` (Ray's own rule, without Ray's search of the process list for any
    other cluster's GCS); ``ConnectionError`` when there is none."""
    env = os.environ.get("RAY_ADDRESS", "")
    if env and env != "auto":
        return check_address_syntax(env)
    temp = os.environ.get("RAY_TMPDIR") or os.environ.get("TMPDIR") or "/tmp"
    record = Path(temp) / "ray" / "ray_current_cluster"
    try:
        address = record.read_text(encoding="utf-8").strip()
    except OSError:
        address = ""
    if not address:
        raise ConnectionError(f"--address auto: no Ray cluster was started on this machine "
                              f"(no {record}). Start one with `ray start --head`, give its "
                              "HOST:PORT, or leave out --address to start a Ray for the sweep")
    return check_address_syntax(address)


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """``ConnectionError`` within ``2 × timeout`` seconds unless a gRPC server (a Ray head
    node's GCS) answers at ``HOST:PORT``.

    ``ray.init`` itself retries an unreachable address for minutes, and connects to any
    listener before finding out it is not Ray; this answers at once: it sends the HTTP/2
    preface (:data:`HTTP2_PREFACE`) and expects a SETTINGS frame back.
    """
    host, _, port = address.rpartition(":")
    fix = (f"Start one there with `ray start --head --port {port}`, check the address that "
           "it printed, or leave out --address to start a Ray on this machine")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(HTTP2_PREFACE)
            reply = sock.recv(9)
    except OSError as exc:
        reason = "timed out" if isinstance(exc, socket.timeout) else (exc.strerror or str(exc))
        raise ConnectionError(f"cannot reach a Ray cluster at {address} ({reason}). {fix}") \
            from None
    if len(reply) < 4 or reply[3] != 4:  # byte 3 of an HTTP/2 frame header: its type
        raise ConnectionError(f"{address} is not a Ray head node: something listens there, but "
                              f"it did not answer as Ray's GCS (a gRPC server) does. {fix}")


@contextlib.contextmanager
def connected(ray, address: str | None, num_cpus: int | None) -> Iterator[None]:
    """Ray initialised for the block: joined to ``address`` or started here; shut down
    after unless this process had already initialised it."""
    if ray.is_initialized():
        yield
        return
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address is None:
        options.update(num_cpus=num_cpus, include_dashboard=False)
    else:
        address = auto_address() if address == "auto" else address
        check_reachable(address)  # also when run without check(): a direct engine.run
        options["address"] = address
    try:
        ray.init(**options)
    except ConnectionError as exc:
        raise ConnectionError(f"cannot join the Ray cluster at {address}: {exc}. Start one with "
                              "`ray start --head`, or leave out --address to start a Ray on "
                              "this machine") from None
    try:
        yield
    finally:
        ray.shutdown()


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def ray_trainable(config: dict[str, Any]) -> None:
    """The Tune function trainable: one trial, reporting every epoch's validation accuracy."""
    from ray import tune

    def report(row: dict[str, Any], accuracy: float | None) -> None:
        tune.report({"epoch": row["epochs"], "validation_accuracy": accuracy or 0.0,
                     "best_validation_accuracy": row["validation_accuracy"] or 0.0,
                     "row": json.dumps(row)})

    run_trial(config["spec"], config["sweep_dir"], config["cpus"], report=report,
              save_every_epoch=config["save_every_epoch"])


def _tune(specs, sweep_dir: Path, cpus: int, scheduler: dict[str, Any],
          on_result: OnResult, search_alg=None, num_samples: int = 1) -> list[dict[str, Any]]:
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, MedianStoppingRule

    rows: dict[str, dict[str, Any]] = {}

    class Collector(tune.Callback):
        """Turns Tune's trial endings into rows, on the driver, as they happen."""

        def on_trial_complete(self, iteration, trials, trial, **info):
            self.finish(trial, None)

        def on_trial_error(self, iteration, trials, trial, **info):
            try:
                error = str(trial.get_error() or "")
            except Exception:  # the error file may be unreadable; the failure is what matters
                error = ""
            lines = [line for line in error.splitlines() if line.strip()]
            self.finish(trial, "the trial's Ray worker failed" + (f": {lines[-1]}" if lines else
                                                                   " (see Ray's logs)"))

        def finish(self, trial, error: str | None) -> None:
            spec = trial.config["spec"]
            last = (trial.last_result or {}).get("row")
            row = json.loads(last) if last else new_row(spec, sweep_dir)
            if error is not None and row["status"] not in ("diverged", "failed"):
                row.update(status="failed", error=error)
            elif row["status"] == "running":
                row = mark_stopped(row, scheduler["name"])
            rows[spec["name"]] = row
            on_result(row)

    stopping = scheduler["name"] in ("asha", "median")
    if scheduler["name"] == "asha":
        chosen = ASHAScheduler(time_attr="epoch", max_t=scheduler.get("max_t") or max(
                                   s["config"]["training"]["epochs"] for s in specs),
                               grace_period=scheduler.get("grace_period", 1),
                               reduction_factor=scheduler.get("reduction_factor", 2))
    elif scheduler["name"] == "median":
        chosen = MedianStoppingRule(time_attr="epoch",
                                    grace_period=scheduler.get("grace_period", 1))
    else:
        chosen = FIFOScheduler()
    param_space = {"sweep_dir": str(sweep_dir), "cpus": cpus, "save_every_epoch": stopping}
    if search_alg is None:
        param_space["spec"] = tune.grid_search(list(specs))
    tuner = tune.Tuner(
        tune.with_resources(ray_trainable, {"cpu": cpus}),
        param_space=param_space,
        tune_config=tune.TuneConfig(metric="validation_accuracy", mode="max", scheduler=chosen,
                                    search_alg=search_alg, num_samples=num_samples,
                                    reuse_actors=True,  # a worker process per slot, not per trial
                                    trial_name_creator=_trial_name,
                                    trial_dirname_creator=_trial_name),
        run_config=tune.RunConfig(name="ray", storage_path=str(sweep_dir), verbose=0,
                                  callbacks=[Collector()],
                                  failure_config=tune.FailureConfig(max_failures=0)))
    with _environment(RAY_AIR_NEW_OUTPUT="0"):  # Tune's console tables off: nnlearn reports
        tuner.fit()
    return [rows[s["name"]] for s in specs if s["name"] in rows] if search_alg is None else \
        list(rows.values())


def _trial_name(trial) -> str:
    return trial.config["spec"]["name"]


def get_engine(name: str = "local", *, address: str | None = None,
               cpus_per_trial: int = 1) -> Engine:
    """The engine ``name`` (``"local"`` or ``"ray"``); ``address`` is for Ray only."""
    if name == "local":
        if address is not None:
            raise ConfigError("--address joins a Ray cluster: it needs --engine ray")
        return LocalEngine(cpus_per_trial=cpus_per_trial)
    if name == "ray":
        return RayEngine(address=address, cpus_per_trial=cpus_per_trial)
    raise ConfigError(f"unknown engine {name!r}; expected one of {', '.join(ENGINES)}")
