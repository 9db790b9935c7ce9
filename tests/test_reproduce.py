"""The reproduction scripts train for real and write their tables (tiny epoch budgets here)."""

import pytest

from nnlearn import ConfigError
from nnlearn.cli import main
from nnlearn.experiments.reproduce import reproduce
from nnlearn.experiments.reproduce.common import mean_std


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


def test_bad_arguments():
    with pytest.raises(ConfigError, match="unknown chapter"):
        reproduce("ch9")
    with pytest.raises(ConfigError, match="seeds must be a positive integer"):
        reproduce("ch1", seeds=0)


def test_mean_std_formatting():
    assert mean_std([95.0, 96.0, 97.0]) == "96.00 ± 1.00"
    assert mean_std([95.5]) == "95.50 ± 0.00"
