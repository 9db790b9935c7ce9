"""``nnlearn train``: train a network from a config, a preset or flags, into a run folder.

Priority, lowest first: the default recipe, ``--preset NAME`` or ``--config FILE``,
then the hyper-parameter flags and ``--set KEY=VALUE``. Each hyper-parameter flag
sets one config key (see ``nnlearn.experiments.config.schema.SCHEMA``); output options (``--run-dir``,
``--name``, ``--save``, ``--metrics``, ``--quiet``, ``--no-plots``, ``--progress``)
are not part of the experiment and have no config key.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from nnlearn.cli import checkpointing
from nnlearn.cli.flags import positive_int
from nnlearn.cli.progress import make_progress
from nnlearn.data.mnist import release_decoded
from nnlearn.errors import DivergenceError, install_hint
from nnlearn.experiments.config import files as cfgmod
from nnlearn.experiments.runs import builder as experiment
from nnlearn.experiments.runs import plots, tensorboard
from nnlearn.experiments.runs.builder import prepare
from nnlearn.experiments.runs.folder import Run
from nnlearn.experiments.sweeps.trial import save_outcome, summarize
from nnlearn.files import check_writable, naming_the_file
from nnlearn.train.parallel import plan_threads
from nnlearn.train.trainer import Trainer


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train", help="train a network (config file, preset or flags) into a run folder",
        description="Train a network on the shipped MNIST (book split: 50k train / 10k validation "
                    "/ 10k test) or any IDX folder. Prints the book's 'Epoch j: k / 10000' line "
                    "(validation accuracy) after every epoch and the test accuracy at the end, and "
                    "writes runs/<name>/ (config.toml, metrics.jsonl, model.npz, summary.json, "
                    "plots/). With no options: [784,100,10] sigmoid, cross-entropy, eta 0.5, "
                    "L2 lambda 5.0, 30 epochs.")
    src = p.add_argument_group("experiment")
    which = src.add_mutually_exclusive_group()
    which.add_argument("--config", metavar="FILE", help="experiment file (TOML; see configs/)")
    which.add_argument("--preset", metavar="NAME",
                       help="a named experiment shipped with nnlearn (see --list-presets)")
    src.add_argument("--list-presets", action="store_true", help="list the presets and exit")
    src.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                     help="set any config key, e.g. --set optimizer.mu=0.95 (repeatable)")
    src.add_argument("--print-config", action="store_true",
                     help="print the resolved config as TOML and exit without training")
    hyper = p.add_argument_group("hyper-parameters (each flag overrides one config key)")
    for key, field in cfgmod.SCHEMA.items():
        if field.flag is None:
            continue
        help_text = f"{field.help} [{key}; default: {field.default}]"
        if key == "model.hidden":
            hyper.add_argument(field.flag, dest=key, nargs="*", metavar="N",
                               type=field.check.parse, default=argparse.SUPPRESS,
                               help=help_text)
        elif field.check.choices() is not None:
            hyper.add_argument(field.flag, dest=key, choices=field.check.choices(),
                               default=argparse.SUPPRESS, help=help_text)
        else:  # parsed here, checked once with the rest of the config (cfgmod.resolve)
            hyper.add_argument(field.flag, dest=key, type=field.check.parse,
                               default=argparse.SUPPRESS, help=help_text)
    out = p.add_argument_group("output")
    where = out.add_mutually_exclusive_group()
    where.add_argument("--run-dir", metavar="DIR", help="write the run folder here")
    where.add_argument("--resume", metavar="DIR",
                       help="continue the run in folder DIR from its checkpoint.npz (same config; "
                            "bit-identical to an uninterrupted run)")
    where.add_argument("--name", metavar="NAME", dest="run_name",
                       help="run folder name under $NNLEARN_RUNS_DIR or ./runs "
                            "(default: <timestamp>-<config name or hash>)")
    out.add_argument("--save", metavar="PATH", help="also write the trained model here (.npz)")
    out.add_argument("--metrics", metavar="PATH",
                     help="also write one JSON object per epoch to this file (JSON lines)")
    out.add_argument("--checkpoint-every", metavar="N", type=positive_int("--checkpoint-every"),
                     default=1,
                     help="write checkpoint.npz (atomically) every N epochs and at the end; "
                          "Ctrl-C saves the last finished epoch (default: %(default)s)")
    out.add_argument("--no-plots", action="store_true", help="do not draw the run's plots")
    out.add_argument("--progress", choices=("auto", "tqdm", "builtin"), default="auto",
                     help="progress bar on a terminal: tqdm if installed, else built in "
                          "(default: %(default)s)")
    out.add_argument("--quiet", action="store_true", help="print only the final summary")
    p.set_defaults(func=run)


def resolve_config(args: argparse.Namespace) -> dict[str, Any]:
    """The validated config: defaults < preset or file < flags < ``--set``."""
    base = cfgmod.load_preset(args.preset) if args.preset else \
        cfgmod.load(args.config) if args.config else None
    overrides = {k: v for k, v in vars(args).items() if k in cfgmod.SCHEMA}
    flags = {k: cfgmod.SCHEMA[k].flag for k in overrides}
    for item in args.set:
        key, value = cfgmod.parse_assignment(item)
        overrides[key] = value
        flags.pop(key, None)
    return cfgmod.resolve(base, overrides=overrides, given_by=flags)


def run(args: argparse.Namespace) -> int:
    out = sys.stdout
    if args.list_presets:
        for name in cfgmod.list_presets():
            raw = cfgmod.load_preset(name)
            print(f"{name:24s} {raw.get('description', '')}", file=out)
        return 0
    folder, cfg = checkpointing.resume_config(args) if args.resume else (None, resolve_config(args))
    try:
        return train(args, cfg, folder, out)
    finally:
        if folder is not None:
            folder.lock.release()


def train(args: argparse.Namespace, cfg: dict[str, Any], folder: Run | None, out) -> int:
    """Train ``cfg`` into a new run folder, or into ``folder`` (resumed, its lock held)."""
    if args.print_config:
        print(cfgmod.dumps(cfg), end="", file=out)
        return 0
    for path, what in ((args.save, "model file (--save)"), (args.metrics, "metrics file (--metrics)")):
        if path:
            check_writable(path, what)  # now, not after the training
    tensorboard.check_available(cfg)  # the install hint before any work
    run = prepare(cfg)
    release_decoded()  # loaded once: keeping the decoded files would only add to the peak memory
    net, train, validation, test, options = run.network, run.train, run.validation, run.test, \
        run.options
    plan_threads(net, options["mini_batch_size"], options["threads"])  # fail before making a folder
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=out, flush=True))
    bar = make_progress(out, args.quiet, args.progress)
    metrics_file = None

    def on_epoch(record: dict[str, Any]) -> None:
        if bar is not None:
            bar.close()  # erase the bar before the epoch's line
            bar.reset(f"Epoch {record['epoch'] + 1}")
        folder.append_metrics(record)
        if events is not None:
            events.epoch(record, net)
        if metrics_file is not None:
            with naming_the_file(args.metrics):  # a full disk names --metrics' file
                metrics_file.write(json.dumps(record) + "\n")
                metrics_file.flush()
        if "evaluation_correct" in record:
            say(f"Epoch {record['epoch']}: {record['evaluation_correct']} / "
                f"{record['evaluation_total']}")
        else:
            say(f"Epoch {record['epoch']} complete")

    trainer = Trainer(net, *train, validation_data=validation, callbacks=[on_epoch],
                      on_batch=bar, **options)  # checks the data first
    events = None
    try:
        if folder is None:  # a new run: its folder is made (and locked) now
            folder = Run.create(cfg, run_dir=args.run_dir, name=args.run_name)
        metrics_file = open(args.metrics, "w", encoding="utf-8") if args.metrics else None
        say(f"nnlearn train: {len(train[1])} training images, "
            f"{len(validation[1]) if validation else 0} validation, {len(test[1])} test")
        say(experiment.describe(cfg))
        if run.class_note:
            say(run.class_note)
        say(f"run folder: {folder.path}")
        if validation is not None:
            say("per epoch: accuracy on the validation set")
        saver = checkpointing.attach(trainer, folder, cfg, args, say)
        events = tensorboard.open_log(cfg, folder.path, purge_step=trainer.epoch + 1)
        if events is not None:
            say(f"TensorBoard: tensorboard --logdir {folder.path}")
        if metrics_file is not None and args.resume:
            checkpointing.write_history(metrics_file, trainer.history)
        if bar is not None:
            bar.reset(f"Epoch {trainer.epoch + 1}")
        start = time.perf_counter()
        try:
            trainer.run()
        except KeyboardInterrupt:
            checkpointing.interrupted(saver, folder, out)
            raise
        except DivergenceError as exc:
            raise checkpointing.diverged(exc, saver, folder) from None
        finally:
            if bar is not None:
                bar.close()
            if metrics_file is not None:
                metrics_file.close()
            if events is not None:
                events.close()
        wall = time.perf_counter() - start
        # the training data is not needed to test and plot: free it before those add their share
        del train, validation
        run.train = run.validation = None
        trainer.release_data()
        finish(folder, cfg, net, trainer, test, wall, args, out)
    finally:
        if folder is not None:
            folder.lock.release()
    return 0


def finish(folder, cfg: dict[str, Any], net, trainer, test, wall: float,
           args: argparse.Namespace, out) -> None:
    """Test the trained network; write model, summary and plots; print the summary line."""
    summary = summarize(net, trainer, test, wall)
    metadata = save_outcome(folder, cfg, net, summary)
    print(f"Test accuracy: {100 * summary['test_accuracy']:.2f}% ({summary['test_correct']} / "
          f"{summary['test_total']}), test cost {summary['test_cost']:.4f}; training took "
          f"{wall:.1f} s", file=out)
    if args.save:
        net.save(args.save, metadata=metadata)
        print(f"saved model to {args.save}", file=out)
    if not args.no_plots:
        try:
            paths = plots.plot_run(folder, network=net, test=test)
        except ImportError:
            if not args.quiet:
                print(f"plots skipped: matplotlib is not installed ({install_hint('plot')})",
                      file=out)
        else:
            if not args.quiet:
                print(f"wrote {len(paths)} plots to {folder.plots_dir}", file=out)
    if not args.quiet:
        print(f"run folder: {folder.path}", file=out)
