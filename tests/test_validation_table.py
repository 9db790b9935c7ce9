"""Every public entry point validates its input: one table of bad inputs, API and CLI.

Each API row is ``(id, call, error type, key phrase)``: calling ``call()`` must raise
exactly that nnlearn error (or ``FileNotFoundError``) with the phrase in its message.
Each CLI row is ``(id, argv, exit code, phrase in stderr)``: 2 for usage errors, 1 for
runtime failures (unreadable files, corrupt models).
"""

from __future__ import annotations

import numpy as np
import pytest

import nnlearn
from nnlearn import (L1, L2, Adam, BatchNorm, ConfigError, DataError, Dense, Dropout,
                     EarlyStopping, IDXFormatError, LeakyReLU, MaxNorm, ModelFileError, Momentum,
                     Network, SGD, StepDecay, Trainer, augment, preprocessing)
from nnlearn.nn.costs import get_cost
from nnlearn.data import read_idx, write_idx
from nnlearn.nn.layers.activations import get_activation

rng = np.random.default_rng(0)
X = rng.random((12, 4))
y = np.arange(12) % 3


def net():
    return Network.from_sizes([4, 5, 3], seed=0)


def fit(**kw):
    options = {"epochs": 1, "mini_batch_size": 4, "eta": 0.1, **kw}
    Xf, yf = options.pop("X", X), options.pop("y", y)
    return net().fit(Xf, yf, **options)


def _bad_file(tmp, name, content):
    path = tmp / name
    path.write_bytes(content)
    return path


API = [
    # layer constructors
    ("dense n_in 0", lambda t: Dense(0, 3), ConfigError, "n_in must be a positive integer"),
    ("dense n_out float", lambda t: Dense(3, 2.5), ConfigError, "n_out must be a positive integer"),
    ("dense n_in bool", lambda t: Dense(True, 2), ConfigError, "n_in must be a positive integer"),
    ("dense unknown init", lambda t: Dense(3, 2, weight_init="bogus"), ConfigError, "unknown initialiser 'bogus'"),
    ("dropout p = 1", lambda t: Dropout(1.0), ConfigError, "must be a number in [0, 1), got 1.0"),
    ("dropout p < 0", lambda t: Dropout(-0.1), ConfigError, "Dropout p (the drop probability)"),
    ("batchnorm 0 features", lambda t: BatchNorm(0), ConfigError, "num_features"),
    ("batchnorm momentum 2", lambda t: BatchNorm(4, momentum=2.0), ConfigError,
     "momentum must be a number in [0, 1), got 2.0"),
    ("leaky relu alpha nan", lambda t: LeakyReLU(alpha=float("nan")), ConfigError, "LeakyReLU alpha must be a number"),
    ("unknown activation", lambda t: get_activation("swish"), ConfigError,
     "unknown activation 'swish'"),
    # Network construction
    ("network no layers", lambda t: Network([]), ConfigError, "at least one layer"),
    ("network non-layer", lambda t: Network([Dense(3, 2), "relu"]), ConfigError,
     "not an nnlearn Layer"),
    ("from_sizes one width", lambda t: Network.from_sizes([5]), ConfigError,
     "at least an input and an output width"),
    ("dtype float16", lambda t: Network.from_sizes([3, 2], dtype="float16"), ConfigError,
     "dtype must be 'float32' or 'float64'"),
    ("unknown cost", lambda t: Network.from_sizes([3, 2], cost="hinge2"), ConfigError,
     "unknown cost 'hinge2'"),
    ("layer widths disagree", lambda t: Network([Dense(3, 4), Dense(5, 2)]), ConfigError,
     "layer 1 (Dense)"),
    # fit / predict / evaluate
    ("fit X wrong width", lambda t: fit(X=X[:, :3]), DataError, "takes examples of shape (4,)"),
    ("fit X with NaN", lambda t: fit(X=np.where(X > 0.9, np.nan, X)), DataError, "NaN or inf"),
    ("fit X strings", lambda t: fit(X=X.astype(str)), DataError, "must be a numeric array"),
    ("fit labels out of range", lambda t: fit(y=y + 1), DataError, "labels must be in [0, 2]"),
    ("fit float labels", lambda t: fit(y=y.astype(float)), DataError, "integer class labels"),
    ("fit rows disagree", lambda t: fit(y=y[:5]), DataError, "has 5 rows but X has 12"),
    ("fit epochs 0", lambda t: fit(epochs=0), ConfigError, "epochs must be a positive integer"),
    ("fit batch size -1", lambda t: fit(mini_batch_size=-1), ConfigError, "mini_batch_size"),
    ("fit eta 0", lambda t: fit(eta=0.0), ConfigError, "eta (learning rate η) must be a finite number > 0"),
    ("fit eta nan", lambda t: fit(eta=float("nan")), ConfigError, "got nan"),
    ("fit unknown monitor", lambda t: fit(monitor=["bogus"]), ConfigError,
     "unknown monitor 'bogus'"),
    ("fit evaluation monitor without data", lambda t: fit(monitor=["evaluation_cost"]),
     ConfigError, "needs validation_data"),
    ("fit validation not a pair", lambda t: fit(validation_data=(X,)), ConfigError,
     "validation_data must be a pair"),
    ("fit unknown optimizer", lambda t: fit(optimizer="adamw"), ConfigError, "unknown optimiser 'adamw'"),
    ("fit unknown schedule", lambda t: fit(schedule="cosine"), ConfigError, "unknown learning-rate schedule 'cosine'"),
    ("predict empty", lambda t: net().predict(np.zeros((0, 4))), DataError, "is empty"),
    ("evaluate wrong width", lambda t: net().evaluate(X[:, :2], y), DataError, "has shape (12, 2)"),
    ("trainer state from elsewhere", lambda t: Trainer(net(), X, y).load_state_dict({}),
     ConfigError, "not a Trainer state"),
    # costs, optimisers, regularisers, callbacks, schedules
    ("cross-entropy targets > 1", lambda t: Network.from_sizes([4, 3], cost="cross_entropy").fit(
        X, np.full((12, 3), 2.0), epochs=1), DataError, "needs targets in [0, 1]"),
    ("get_cost unknown", lambda t: get_cost("l3"), ConfigError, "unknown cost 'l3'"),
    ("sgd eta negative", lambda t: SGD(-1.0), ConfigError, "got -1.0"),
    ("momentum mu 1.5", lambda t: Momentum(0.1, mu=1.5), ConfigError,
     "mu (momentum coefficient μ) must be a number in [0, 1)"),
    ("adam beta1 1", lambda t: Adam(0.1, beta1=1.0), ConfigError, "beta1 (β₁) must be a number in [0, 1), got 1.0"),
    ("l2 negative", lambda t: L2(-1.0), ConfigError, "lmbda (regularisation strength λ)"),
    ("l1 nan", lambda t: L1(float("nan")), ConfigError, ">= 0, got nan"),
    ("max-norm 0", lambda t: MaxNorm(0.0), ConfigError, "max-norm bound c"),
    ("early stopping patience 0", lambda t: EarlyStopping(0), ConfigError, "patience must be a positive integer"),
    ("step decay gamma 0", lambda t: StepDecay(gamma=0.0), ConfigError,
     "gamma (decay factor γ) must be a number in (0, 1]"),
    # data loaders, IDX, model files
    ("read_idx missing", lambda t: read_idx(t / "none.idx"), FileNotFoundError, "none.idx"),
    ("read_idx not IDX", lambda t: read_idx(_bad_file(t, "a.idx", b"\x01\x02\x08\x01")),
     IDXFormatError, "not an IDX file"),
    ("read_idx truncated", lambda t: read_idx(_bad_file(t, "b.idx", b"\0\0\x08\x01\0\0\0\x09ab")),
     IDXFormatError, "truncated"),
    ("write_idx bool", lambda t: write_idx(t / "c.idx", np.ones(3, bool)), DataError,
     "cannot write dtype bool"),
    ("load_idx_dataset missing folder",
     lambda t: nnlearn.data.load_idx_dataset(t / "nowhere"), DataError,
     "nowhere: not a directory"),
    ("load not a model", lambda t: nnlearn.load(_bad_file(t, "m.npz", b"hello")),
     ModelFileError, "not an nnlearn model file"),
    ("load missing", lambda t: nnlearn.load(t / "gone.npz"), FileNotFoundError, "gone.npz"),
    ("save into a missing folder", lambda t: net().save(t / "no" / "m.npz"), FileNotFoundError,
     "the folder"),
    # preprocessing, augmentation
    ("standardize before fit", lambda t: preprocessing.Standardize().transform(X), ConfigError,
     "not fitted yet"),
    ("pca k 0", lambda t: preprocessing.PCA(0), ConfigError, "k (number of components)"),
    ("shift non-square", lambda t: augment.shift(np.zeros((2, 10)), 1, 0), DataError, "are not square images"),
]


@pytest.mark.parametrize("name, call, error, phrase", API, ids=[row[0] for row in API])
def test_api_rejects_bad_input(tmp_path, name, call, error, phrase):
    with pytest.raises(error) as info:
        call(tmp_path)
    assert type(info.value) is error or issubclass(type(info.value), error)
    assert phrase in str(info.value), str(info.value)


def _corrupt_model(tmp):
    return str(_bad_file(tmp, "corrupt.npz", b"PK\x03\x04 not really a zip"))


CLI = [
    ("eta negative", ["train", "--eta", "-1"], 2, "--eta"),
    ("epochs 0", ["train", "--epochs", "0"], 2, "--epochs"),
    ("hidden not a number", ["train", "--hidden", "x"], 2, "--hidden"),
    ("activation not a choice", ["train", "--activation", "swish"], 2, "invalid choice: 'swish'"),
    ("unknown option", ["train", "--bogus"], 2, "unrecognized arguments: --bogus"),
    ("unknown command", ["fly"], 2, "invalid choice: 'fly'"),
    ("checkpoint-every 0", ["train", "--checkpoint-every", "0"], 2, "--checkpoint-every"),
    ("run-dir and name", ["train", "--run-dir", "a", "--name", "b"], 2, "not allowed with"),
    ("resume and run-dir", ["train", "--resume", "a", "--run-dir", "b"], 2, "not allowed with"),
    ("unknown --set key", ["train", "--set", "training.etaa=1"], 2, "training.etaa"),
    ("train size too large", ["train", "--train-size", "999999", "--epochs", "1"], 2,
     "exceeds the 50000 training images"),
    ("config file missing", ["train", "--config", "{tmp}/none.toml"], 2, "none.toml' does not exist"),
    ("resume missing folder", ["train", "--resume", "{tmp}/nowhere"], 1, "is not a run folder"),
    ("evaluate corrupt model", ["evaluate", "{corrupt}"], 1, "not an nnlearn model file"),
    ("evaluate missing model", ["evaluate", "{tmp}/gone.npz"], 1, "gone.npz"),
]


@pytest.mark.parametrize("name, argv, code, phrase", CLI, ids=[row[0] for row in CLI])
def test_cli_rejects_bad_input(tmp_path, capsys, name, argv, code, phrase):
    from nnlearn.cli import main

    argv = [a.format(tmp=tmp_path, corrupt=_corrupt_model(tmp_path)) if "{" in a else a
            for a in argv]
    try:
        got = main(argv)
    except SystemExit as exc:  # argparse usage errors
        got = exc.code
    err = capsys.readouterr().err
    assert got == code, err
    assert phrase in err, err
    assert "Traceback" not in err
