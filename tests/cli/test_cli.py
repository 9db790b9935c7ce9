"""The nnlearn command line, run in-process and as a real subprocess."""

import json
import subprocess
import sys

import numpy as np
import pytest

import nnlearn
from nnlearn.cli import main


@pytest.mark.slow
def test_train_then_evaluate(tmp_path, capsys):
    model, metrics = tmp_path / "m.npz", tmp_path / "m.jsonl"
    code = main(["train", "--hidden", "20", "--epochs", "2", "--train-size", "5000", "--seed", "1",
                 "--save", str(model), "--metrics", str(metrics)])
    out = capsys.readouterr().out
    assert code == 0
    lines = [l for l in out.splitlines() if l.startswith("Epoch ")]
    assert [l.split(":")[0] for l in lines] == ["Epoch 1", "Epoch 2"]
    assert all(l.endswith(" / 10000") for l in lines)
    assert "Test accuracy:" in out and "training took" in out
    records = [json.loads(l) for l in metrics.read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    # "training took" is the epochs' training (the records' train_seconds), the monitors'
    # evaluation of each epoch apart (before: the wall time of both, ~4 s more on the speedrun)
    took = out.split("training took ")[1]
    trained, wall = float(took.split(" s (")[0]), float(took.split(" s (")[1].split(" s with")[0])
    assert trained == round(sum(r["train_seconds"] for r in records), 1) and wall >= trained
    assert records[1]["evaluation_accuracy"] > 0.85
    assert main(["evaluate", str(model)]) == 0
    evaluated = capsys.readouterr().out
    test_acc = float(out.split("Test accuracy: ")[1].split("%")[0])
    assert f"{test_acc:.2f}%" in evaluated


@pytest.mark.slow
def test_seeded_cli_runs_are_identical(tmp_path, capsys):
    paths = [tmp_path / f"{i}.npz" for i in range(2)]
    for p in paths:
        assert main(["train", "--hidden", "10", "--epochs", "1", "--train-size", "2000", "--seed", "5",
                     "--quiet", "--save", str(p)]) == 0
    a, b = (nnlearn.load(p) for p in paths)
    for (pa, _), (pb, _) in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(pa, pb)


@pytest.mark.parametrize("argv, phrase", [
    (["train", "--activation", "sigmud"], "invalid choice: 'sigmud' (choose from"),
    (["train", "--cost", "mse2"], "invalid choice"),
    (["train", "--eta", "0"], "training.eta must be a finite number > 0, got 0.0"),
    (["train", "--eta", "abc"], "training.eta must be a finite number > 0, got 'abc'"),
    (["train", "--mini-batch-size", "0"], "mini_batch_size must be a positive integer"),
    (["train", "--epochs", "-3"], "training.epochs must be a positive integer, got -3"),
    (["train", "--dtype", "float16"], "invalid choice"),
    (["train", "--no-such-flag"], "unrecognized arguments"),
    (["frobnicate"], "invalid choice"),
    (["reproduce", "ch99"], "invalid choice"),
    (["train", "--threads", "two"], "must be 'auto' or a positive integer, got 'two'"),
    (["train", "--threads", "0"], "must be 'auto' or a positive integer, got 0"),
])
def test_usage_errors_exit_2_with_the_valid_choices(argv, phrase, capsys):
    """argparse's own errors (choices, unknown flags) exit at parsing; a bad value of a
    config flag is checked once, by the config's rule, and names the flag too."""
    try:
        code = main(argv)
    except SystemExit as info:
        code = info.code
    assert code == 2
    err = capsys.readouterr().err
    assert phrase in err
    flag = argv[1] if len(argv) > 1 and argv[1].startswith("--") else None
    if flag and "choice" not in phrase and "unrecognized" not in phrase:
        assert f"{flag}: " in err  # the message names the flag the user typed


def test_train_size_too_large_is_a_usage_error(capsys):
    assert main(["train", "--train-size", "999999", "--epochs", "1"]) == 2
    assert "exceeds the 50000 training images" in capsys.readouterr().err


def test_threads_that_cannot_split_fail_before_a_run_folder_is_made(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["train", "--hidden", "10", "--dropout", "0.5", "--threads", "2", "--epochs", "1",
                 "--train-size", "500", "--run-dir", str(runs / "r")]) == 2
    assert "layer 2 (Dropout) does not" in capsys.readouterr().err
    assert not runs.exists()


@pytest.mark.slow
def test_train_with_two_threads_matches_one_thread(tmp_path, capsys):
    models = {}
    for threads in ("1", "2"):
        models[threads] = tmp_path / f"{threads}.npz"
        assert main(["train", "--preset", "ch6-conv2-relu", "--epochs", "1", "--train-size", "600",
                     "--validation-size", "500",
                     "--mini-batch-size", "20", "--eta", "0.1", "--dtype", "float64",
                     "--threads", threads, "--seed", "2", "--quiet", "--no-plots",
                     "--run-dir", str(tmp_path / threads), "--save", str(models[threads])]) == 0
    assert "threads = 2" in (tmp_path / "2" / "config.toml").read_text()
    one, two = (nnlearn.load(models[t]) for t in ("1", "2"))
    for (p1, _), (p2, _) in zip(one.parameters(), two.parameters()):
        np.testing.assert_allclose(p2, p1, rtol=1e-9, atol=1e-12)


def test_evaluate_rejects_a_file_that_is_not_a_model(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    assert main(["evaluate", str(bad)]) == 1
    assert "not an nnlearn model file" in capsys.readouterr().err


def test_evaluate_missing_model(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing.npz")]) == 1
    assert "No such file" in capsys.readouterr().err


def test_help_everywhere():
    for argv in (["--help"], ["train", "--help"], ["evaluate", "--help"], ["reproduce", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0


@pytest.mark.slow
def test_console_script_runs_as_a_subprocess(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "nnlearn.cli", "train", "--hidden", "10", "--epochs", "1",
                           "--train-size", "1000", "--seed", "0"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Epoch 1: " in proc.stdout and "\r" not in proc.stdout  # no progress bar when piped


@pytest.mark.parametrize("argv, phrase", [
    (["--port", "70000"], "--port must be an integer from 0 to 65535, got 70000"),
    (["--port", "-1"], "--port must be an integer from 0 to 65535, got -1"),
    (["--max-sessions", "0"], "--max-sessions must be a positive integer, got 0"),
    (["--idle-timeout", "nan"], "--idle-timeout must be a finite number > 0, got nan"),
    (["--max-rate", "0"], "--max-rate must be a finite number > 0, got 0.0"),
    (["--max-rate", "fast"], "--max-rate must be a finite number > 0, got 'fast'"),
])
def test_serve_flags_are_checked_by_the_shared_rules(argv, phrase, capsys):
    """``nnlearn serve``'s flags use nnlearn.checks' rules (no hand checks): usage errors,
    exit status 2, before any server starts."""
    with pytest.raises(SystemExit) as info:
        main(["serve", *argv])
    assert info.value.code == 2
    assert phrase in capsys.readouterr().err
