"""The Trainer: resume bit for bit from state_dict, optimiser/schedule/early-stopping wiring."""

import json

import numpy as np
import pytest

import nnlearn
from nnlearn import Dense, Dropout, Network
from nnlearn.train.callbacks import EarlyStopping
from nnlearn.errors import ConfigError
from nnlearn.optim.schedules import BookSchedule
from nnlearn.io.state import join_arrays, split_arrays
from nnlearn.train.trainer import Trainer, fit


@pytest.fixture(scope="module")
def small(mnist):
    (X, y), (Xv, yv) = mnist.train, mnist.validation
    return X[:1500], y[:1500], Xv[:300], yv[:300]


def mlp(seed=1, dropout=0.0):
    layers = [Dense(784, 30), nnlearn.Sigmoid()]
    if dropout:
        layers.append(Dropout(dropout))
    layers += [Dense(30, 10), nnlearn.Sigmoid()]
    return Network(layers, "cross_entropy", seed=seed)


def params(net):
    return [p for layer in net.layers for p in layer.params.values()]


def without_times(records):
    return [{k: v for k, v in r.items() if k != "train_seconds"} for r in records]


def ONE_EXAMPLE(Xv, yv):
    """A one-example validation set: its accuracy is 0 or 1, so it cannot improve three epochs
    in a row and the book schedule (patience 1) is sure to halve η within 4 epochs."""
    return Xv[:1], yv[:1]


CASES = {
    "momentum+book": dict(optimizer="momentum", eta=0.5, optimizer_options={"mu": 0.9},
                          schedule=BookSchedule(patience=1), lmbda=5.0),
    "adam+dropout+early": dict(optimizer="adam", eta=0.002, dropout=0.2, lmbda=1.0, max_norm=3.0,
                               schedule="book", early_stopping=2),
    "nesterov+step": dict(optimizer="nesterov", eta=0.3, schedule="step"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_two_plus_two_epochs_equals_four_bit_for_bit(small, case):
    X, y, Xv, yv = small
    options = dict(CASES[case])
    dropout = options.pop("dropout", 0.0)

    def trainer(seed):
        opts = dict(options)  # fresh schedule/early-stopping objects for every Trainer
        validation = (Xv, yv)
        if isinstance(opts.get("schedule"), BookSchedule):
            opts["schedule"] = BookSchedule(patience=1)
            validation = ONE_EXAMPLE(Xv, yv)
        return Trainer(mlp(seed, dropout), X, y, epochs=4, mini_batch_size=10,
                       validation_data=validation,
                       monitor=["evaluation_accuracy", "training_cost"], **opts)

    straight = trainer(1)
    straight.run()

    first = trainer(1)
    first.run(2)
    assert first.epoch == 2 and not first.finished
    tree, arrays = split_arrays(first.state_dict())      # as a checkpoint file would hold it
    state = join_arrays(json.loads(json.dumps(tree)), {k: v.copy() for k, v in arrays.items()})
    del first

    resumed = trainer(12345)  # a different seed: everything must come from the state
    resumed.load_state_dict(state)
    resumed.run()
    assert resumed.epoch == straight.epoch == 4
    for a, b in zip(params(straight.network), params(resumed.network)):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert without_times(resumed.history.records) == without_times(straight.history.records)
    assert straight.network.rng.bit_generator.state == resumed.network.rng.bit_generator.state
    sa, sb = straight.optimizer.state_dict(), resumed.optimizer.state_dict()
    assert sa["t"] == sb["t"] == 4 * 150 and sa["eta"] == sb["eta"]
    for slot in sa["state"] or {}:
        assert all(np.array_equal(u, v) for u, v in zip(sa["state"][slot], sb["state"][slot]))


def test_book_schedule_changed_eta_in_the_resume_case(small):
    X, y, Xv, yv = small
    h = fit(mlp(), X, y, epochs=4, mini_batch_size=10, eta=0.5, optimizer="momentum",
            validation_data=ONE_EXAMPLE(Xv, yv), schedule=BookSchedule(patience=1), lmbda=5.0)
    assert len(set(h["eta"])) > 1  # so the resume test above really exercises the schedule


def test_on_epoch_end_hook_sees_consistent_state(small):
    X, y, Xv, yv = small
    t = Trainer(mlp(), X[:200], y[:200], epochs=3, eta=0.5, validation_data=(Xv, yv))
    seen = []
    t.on_epoch_end.append(lambda trainer, record: seen.append(
        (record["epoch"], trainer.state_dict()["epoch"], len(trainer.history))))
    t.run()
    assert seen == [(1, 1, 1), (2, 2, 2), (3, 3, 3)]


def test_state_dict_refuses_an_interrupted_epoch(small):
    X, y, Xv, yv = small
    t = Trainer(mlp(), X[:200], y[:200], epochs=3, eta=0.5)
    t.run(1)
    good = t.state_dict()

    def interrupt(done, total):
        if done > 5:
            raise KeyboardInterrupt

    t.on_batch = interrupt
    with pytest.raises(KeyboardInterrupt):
        t.run()
    with pytest.raises(RuntimeError, match="epoch 2 was interrupted"):
        t.state_dict()
    t.load_state_dict(good)  # back to the last epoch end: consistent again
    t.on_batch = None
    t.run()
    straight = Trainer(mlp(), X[:200], y[:200], epochs=3, eta=0.5)
    straight.run()
    assert all(np.array_equal(a, b) for a, b in zip(params(t.network), params(straight.network)))


def test_fit_keeps_the_core_signature(small):
    X, y, Xv, yv = small
    batches, records = [], []
    net = mlp()
    h = net.fit(X, y, epochs=2, mini_batch_size=10, eta=0.5,
                validation_data=(Xv, yv), monitor=["evaluation_accuracy"],
                callbacks=[records.append], on_batch=lambda done, total: batches.append((done, total)))
    assert len(h) == 2 and records == h.records
    assert batches[-1] == (150, 150) and len(batches) == 300
    assert h["evaluation_accuracy"][-1] > 0.5


@pytest.mark.parametrize("name,eta", [("sgd", 0.5), ("momentum", 0.05), ("nesterov", 0.05),
                                      ("adagrad", 0.05), ("rmsprop", 0.005), ("adam", 0.005)])
def test_every_optimizer_learns(small, name, eta):
    X, y, Xv, yv = small
    h = fit(mlp(), X, y, epochs=3, mini_batch_size=20, eta=eta, optimizer=name,
            validation_data=(Xv, yv))
    assert h["evaluation_accuracy"][-1] > 0.75


def test_book_schedule_stops_training(small):
    X, y, Xv, yv = small
    # η so small that validation accuracy never changes: halve every epoch after the first,
    # stop once η < η₀/128, i.e. after epoch 9
    h = fit(mlp(), X[:100], y[:100], epochs=30, eta=1e-12, validation_data=(Xv, yv),
            schedule=BookSchedule(patience=1))
    assert len(h) == 9 and h.records[-1]["stopped_by"] == "schedule"
    assert h["eta"][-1] == pytest.approx(1e-12 / 256)


def test_early_stopping_restores_the_best_weights(small):
    X, y, Xv, yv = small
    net = mlp(seed=4)
    es = EarlyStopping(patience=2)
    snapshots = {}
    t = Trainer(net, X[:300], y[:300], epochs=12, eta=6.0, validation_data=(Xv, yv),
                early_stopping=es)
    t.on_epoch_end.append(lambda trainer, record: snapshots.setdefault(
        record["epoch"], [p.copy() for p in params(net)]))
    h = t.run()
    best = max(h["evaluation_accuracy"])
    assert h.records[-1]["stopped_by"] == "early_stopping"
    assert es.best == best and h.records[-1]["restored_epoch"] == es.best_epoch
    assert len(h) - es.best_epoch == 2 and es.best_epoch < len(h)
    assert all(np.array_equal(a, b) for a, b in zip(params(net), snapshots[es.best_epoch]))
    assert not all(np.array_equal(a, b) for a, b in zip(params(net), snapshots[len(h) - 1]))
    assert net.evaluate(Xv, yv)["accuracy"] == best


def test_partial_runs_do_not_restore_until_finished(small):
    X, y, Xv, yv = small
    t = Trainer(mlp(), X[:200], y[:200], epochs=3, eta=0.5, validation_data=(Xv, yv),
                early_stopping=5)
    t.run(1)
    snapshot = [p.copy() for p in params(t.network)]
    t.run(1)
    assert "restored_epoch" not in t.history.records[-1]
    assert any(not np.array_equal(a, b) for a, b in zip(snapshot, params(t.network)))
    t.run()
    assert t.finished and t.history.records[-1]["restored_epoch"] == t.early_stopping.best_epoch
    assert t.run() is t.history and len(t.history) == 3  # nothing left to do


def test_history_argument_continues_numbering(small):
    X, y, Xv, yv = small
    net = mlp()
    h = fit(net, X[:100], y[:100], epochs=2, eta=0.5)
    fit(net, X[:100], y[:100], epochs=1, eta=0.5, history=h)
    assert [r["epoch"] for r in h] == [1, 2, 3]


def test_state_mismatches_are_config_errors(small):
    X, y, Xv, yv = small
    t = Trainer(mlp(), X[:100], y[:100], epochs=2, eta=0.5)
    t.run(1)
    state = t.state_dict()
    with pytest.raises(ConfigError, match="mini_batch_size=10"):
        Trainer(mlp(), X[:100], y[:100], mini_batch_size=5).load_state_dict(state)
    with pytest.raises(ConfigError, match="early stopping"):
        Trainer(mlp(), X[:100], y[:100], validation_data=(Xv, yv),
                early_stopping=3).load_state_dict(state)
    with pytest.raises(ConfigError, match="not a Trainer state"):
        t.load_state_dict({"epoch": 1})


@pytest.mark.parametrize("options,phrase", [
    (dict(optimizer="adamax"), "unknown optimiser 'adamax'"),
    (dict(optimizer="momentum", optimizer_options={"mu": 1.5}), "mu"),
    (dict(schedule="warmup"), "unknown learning-rate schedule 'warmup'"),
    (dict(schedule="book"), "needs validation_data"),
    (dict(early_stopping=3), "needs validation_data"),
    (dict(lmbda=-1.0), "lmbda"),
    (dict(max_norm=0.0), "max_norm"),
    (dict(regularizers=["l5"]), "unknown regulariser"),
    (dict(epochs=0), "epochs"),
    (dict(eta=-0.5), "eta"),
])
def test_bad_training_options(small, options, phrase):
    X, y, _, _ = small
    with pytest.raises(ConfigError, match=phrase):
        fit(mlp(), X[:50], y[:50], **options)


def test_release_data_lets_the_training_data_go_and_ends_the_run(small):
    import gc
    import weakref
    X, y, Xv, yv = (a.copy() for a in small)
    trainer = Trainer(mlp(), X, y, epochs=3, mini_batch_size=10, eta=0.5, validation_data=(Xv, yv))
    trainer.run(1)
    watched = [weakref.ref(a) for a in (trainer.X, trainer.Y, trainer.evaluation[0])]
    del X, Xv
    trainer.release_data()
    trainer.network.predict(small[2][:5])    # the layers' caches let go of the last monitor batch
    gc.collect()
    assert [ref() is None for ref in watched] == [True, True, True]   # nothing else held them
    assert trainer.finished and len(trainer.run()) == 1       # and no epoch can follow
