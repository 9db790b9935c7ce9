"""The reproduction scripts train for real and write their tables (tiny epoch budgets here)."""

import sys

import numpy as np
import pytest

from nnlearn import ConfigError
from nnlearn.cli import main
from nnlearn.experiments.reproduce import reproduce
from nnlearn.experiments.reproduce.common import mean_std
from tests.paths import FUZZ


@pytest.mark.slow
def test_ch6_rung_a_one_epoch_writes_its_table(tmp_path):
    logs = []
    rows = reproduce("ch6", only=["a"], epochs={"a": 1}, out_dir=tmp_path, log=logs.append)
    assert len(rows) == 1 and rows[0]["epochs"] == 1 and rows[0]["seeds"] == [1]
    assert 85.0 < rows[0]["best_mean"] < 99.0  # one real epoch of [784,100,10] on 50k images
    text = (tmp_path / "ch6.md").read_text()
    assert "| (a) [784,100,10] sigmoid + softmax, η=0.1 | 97.80 |" in text
    assert "`nnlearn reproduce ch6 --seeds 1 --epochs a=1 --only a`" in text
    assert "Bar for (a)" in text and any("seed 1: best" in line for line in logs)


@pytest.mark.slow
def test_cli_reproduce_trains_and_writes_the_table(tmp_path):
    assert main(["reproduce", "ch6", "--only", "a", "--epochs", "1", "--out", str(tmp_path)]) == 0
    assert "| (a) [784,100,10]" in (tmp_path / "ch6.md").read_text()


def test_cli_reproduce_options(tmp_path, capsys):
    assert main(["reproduce", "ch6", "--only", "zz", "--out", str(tmp_path)]) == 2
    assert "unknown experiment(s) zz" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["reproduce", "ch1", "--seeds", "0"])


def test_only_lists_the_valid_keys_and_selects_ch1_and_ch3_rows(tmp_path, capsys):
    """Before: `nnlearn reproduce ch1 --only zz` said "expected some of " with an empty list,
    and no ch1 or ch3 row could be chosen."""
    for chapter, keys in (("ch1", ["30", "100"]), ("ch3", ["30", "100", "30-l2", "100-l2", "100-l2-60"])):
        assert main(["reproduce", chapter, "--only", "zz", "--out", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert "unknown experiment(s) zz" in err
        assert [k for k in keys if f" {k} ([784," in err or f": {k} ([784," in err] == keys, err
    rows = reproduce("ch1", only=["30"], seeds=1, epochs=1, out_dir=tmp_path, log=lambda _: None)
    assert len(rows) == 1 and rows[0]["best_mean"] > 70.0  # one real epoch of the book's network
    assert "--only 30" in (tmp_path / "ch1.md").read_text()


def test_bad_arguments():
    with pytest.raises(ConfigError, match="unknown chapter"):
        reproduce("ch9")
    with pytest.raises(ConfigError, match="seeds must be a positive integer"):
        reproduce("ch1", seeds=0)


def test_mean_std_formatting():
    assert mean_std([95.0, 96.0, 97.0]) == "96.00 ± 1.00"
    assert mean_std([95.5]) == "95.50 ± 0.00"


def test_time_to_target_is_the_first_epoch_that_crossed_it():
    from nnlearn.experiments.reproduce.common import time_to, time_to_note
    run = {"seed": 1, "epochs": 4, "accuracy": [97.1, 97.99, 98.0, 97.5],
           "train_seconds": [1.5, 2.0, 2.5, 3.0]}
    assert time_to(run, 98.0) == (3, 6.0)
    assert time_to(run, 99.0) is None
    note = time_to_note("x", [run, {**run, "seed": 2, "accuracy": [90.0] * 4}], 98.0)
    assert "seed 1: epoch 3, 6.0 s" in note and "seed 2: not within 4 epochs" in note
    assert "mean 6.0 s over the 1 run(s)" in note


def test_ensemble_reuses_members_trained_earlier_in_the_reproduction(tmp_path):
    from nnlearn.experiments.reproduce.members import ensemble_run
    from nnlearn.experiments.reproduce.common import build_preset, run_spec
    from nnlearn.nn.ensemble import Ensemble
    member = {"key": "q", "label": "quick", "preset": "quick",
              "overrides": {"training.epochs": 1, "data.train_size": 2000}}
    logs = []
    first = run_spec(member, 1, None, logs.append)
    result = ensemble_run(member, 1, 2, logs.append, trained={("q", 1): first}, runs_dir=tmp_path)
    assert any("reusing the q network of seed 1 trained earlier" in line for line in logs)
    assert sum("quick seed 1: best" in line for line in logs) == 1   # seed 1 trained once, not twice
    assert sum("quick seed 2: best" in line for line in logs) == 1
    second = run_spec(member, 2, None, lambda _: None)["network"]  # same seed → same network
    _, _, (X_test, y_test), _ = build_preset(member, 1)
    expected = 100 * Ensemble([first["network"], second]).evaluate(X_test, y_test)["accuracy"]
    assert result["final"] == pytest.approx(expected) and 50.0 < expected < 99.0


# -- presets are assembled like every run (experiments.runs.builder.prepare) -------------------
def _preset_on(folder, **overrides):
    from nnlearn.experiments.reproduce.common import build_preset

    return build_preset({"preset": "ch1-30", "overrides": {
        "data.source": str(folder), "data.validation_size": 50, **overrides}}, seed=1)


def test_preset_runs_get_the_stray_label_rule(tmp_path):
    """A stray label (200 among 0-9) is refused for a preset run as for ``nnlearn train``;
    build_preset used to count 201 classes from the largest label and train on."""
    sys.path.insert(0, str(FUZZ))
    import bombs
    from nnlearn.data import read_idx
    from nnlearn.data.mnist import mnist_path
    from nnlearn.errors import DataError

    labels = read_idx(mnist_path() / "train-labels-idx1-ubyte.gz")[:200].astype(np.int32)
    labels[7] = 200
    folder = bombs.mnist_folder(tmp_path / "stray", labels={"train_labels": labels})
    with pytest.raises(DataError, match="stray"):
        _preset_on(folder)
    net, *_ = _preset_on(folder, **{"data.num_classes": 201})  # stated: taken as meant
    assert net.layers[-2].n_out == 201


def test_preset_runs_get_the_memory_check_on_the_data_set_sizes(tmp_path, monkeypatch):
    """20,000 classes: the one-hot targets of the three splits (36 MB) are counted against
    the memory a preset run may take, as for ``nnlearn train``; build_preset used to count
    the network alone (examples = ()) and ignore data.num_classes."""
    sys.path.insert(0, str(FUZZ))
    import bombs
    from nnlearn.errors import ResourceError
    from nnlearn.experiments.reproduce.common import preset_config
    from nnlearn.experiments.runs import builder
    from nnlearn.nn import memory

    folder = bombs.mnist_folder(tmp_path / "d")  # 200 training and 100 test images
    overrides = {"data.source": str(folder), "data.validation_size": 50,
                 "data.num_classes": 20000}
    cfg = preset_config({"preset": "ch1-30", "overrides": overrides}, 1)
    plans = memory.plan_network(memory.mlp_specs([784, 30, 20000]), (784,))
    options = dict(mini_batch_size=cfg["training"]["mini_batch_size"], classes=20000)
    network_only = sum(memory.training_bytes(plans, "float32", **options).values())
    with_data = sum(memory.training_bytes(plans, "float32", examples=[150, 50, 100],
                                          **options).values())
    assert with_data > network_only + 30 * 2**20  # the targets: 20,000 × 450 × 4 bytes
    monkeypatch.setenv("NNLEARN_MEMORY_LIMIT", str((network_only + with_data) // 2))
    with pytest.raises(ResourceError, match="one-hot targets"):
        _preset_on(folder, **{"data.num_classes": 20000})
    with pytest.raises(ResourceError, match="one-hot targets"):  # the same for nnlearn train
        builder.prepare(cfg)


def test_a_subset_updates_its_rows_and_keeps_the_others(tmp_path):
    """`nnlearn reproduce best --only speedrun` must not drop the mlp-best and cnn-best rows
    (451 s a run) from docs/results/best.md: a subset replaces its own rows, keeps every other
    experiment's rows, per-run lines and notes verbatim, and names the command of each."""
    quiet = {"seeds": 1, "epochs": 1, "out_dir": tmp_path, "log": lambda _: None}
    table = tmp_path / "ch1.md"
    reproduce("ch1", only=["30"], **quiet)
    first = table.read_text()
    row_30 = [line for line in first.splitlines() if line.startswith("| [784,30,10]")]
    note_30 = [line for line in first.splitlines() if line.startswith("Bar for [784,30,10]")]
    assert len(row_30) == 2 and len(note_30) == 1  # summary + one seed; its bar
    assert "Generated by `nnlearn reproduce ch1 --seeds 1 --epochs 1 --only 30` on " in first

    reproduce("ch1", only=["100"], **quiet)
    second = table.read_text()
    lines = second.splitlines()
    assert all(line in lines for line in row_30 + note_30)  # kept verbatim
    row_100 = [line for line in lines if line.startswith("| [784,100,10]")]
    assert len(row_100) == 2 and any(line.startswith("Bar for [784,100,10]") for line in lines)
    summary = [line for line in lines if line.startswith("| [784,")]
    assert summary.index(row_30[0]) < summary.index(row_100[0])  # the chapter's order
    sources = [line for line in lines if line.startswith("- `nnlearn reproduce ch1")]
    assert [s.rsplit(": ", 1)[1] for s in sources] == ["30", "100"]
    assert "--only 30` on " in sources[0] and "--only 100` on " in sources[1]
    assert sum("Stuck runs:" in line for line in lines) == 1  # the chapter's note, once

    reproduce("ch1", only=["30"], seeds=2, epochs=1, out_dir=tmp_path, log=lambda _: None)
    third = table.read_text().splitlines()
    assert all(line in third for line in row_100)  # 100 kept; 30 retrained with two seeds
    assert sum(line.startswith("| [784,30,10]") for line in third) == 3
    assert sum(line.startswith("Bar for [784,30,10]") for line in third) == 1
    sources = [line for line in third if line.startswith("- `nnlearn reproduce ch1")]
    assert [s.rsplit(": ", 1)[1] for s in sources] == ["100", "30"]  # the first run's rows are gone
    assert "--seeds 2 --epochs 1 --only 30` on " in sources[1]

    reproduce("ch1", seeds=1, epochs=1, out_dir=tmp_path, log=lambda _: None)  # all: a fresh table
    fresh = table.read_text()
    assert "Generated by `nnlearn reproduce ch1 --seeds 1 --epochs 1` on " in fresh
    assert not any(line.startswith("- `") for line in fresh.splitlines())
