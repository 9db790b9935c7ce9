"""Learning-rate schedules and early stopping on scripted metric sequences."""

import numpy as np
import pytest

from nnlearn import Network
from nnlearn.train.callbacks import EarlyStopping, get_early_stopping
from nnlearn.errors import ConfigError
from nnlearn.optim.schedules import (BookSchedule, Constant, ExponentialDecay, StepDecay, SCHEDULES,
                               get_schedule)


class Opt:  # all a schedule touches is .eta
    def __init__(self, eta):
        self.eta = eta


def drive(schedule, accuracies, eta0=1.0):
    """Call ``schedule`` once per epoch; return the η for each next epoch and the stop epoch."""
    opt, etas, stopped_at = Opt(eta0), [], None
    for epoch, acc in enumerate(accuracies, start=1):
        schedule({"epoch": epoch, "evaluation_accuracy": acc}, opt)
        etas.append(opt.eta)
        if schedule.stop and stopped_at is None:
            stopped_at = epoch
    return etas, stopped_at


def test_constant():
    etas, stop = drive(get_schedule("constant"), [0.1] * 5, eta0=0.3)
    assert etas == [0.3] * 5 and stop is None


def test_step_decay():
    etas, _ = drive(StepDecay(step_size=3, gamma=0.5), [0.0] * 7, eta0=2.0)
    assert etas == [2.0, 2.0, 1.0, 1.0, 1.0, 0.5, 0.5]


def test_exponential_decay():
    etas, _ = drive(ExponentialDecay(gamma=0.9), [0.0] * 4, eta0=1.0)
    np.testing.assert_allclose(etas, [0.9, 0.81, 0.729, 0.6561], rtol=1e-15)


def test_book_rule_halves_after_n_epochs_without_improvement():
    acc = [0.50, 0.60, 0.60, 0.55,   # 2 epochs without improvement → halve after epoch 4
           0.58, 0.59,               # still below 0.60 → halve again after epoch 6
           0.61, 0.61, 0.62,         # improvements reset the count
           0.62, 0.60]               # 2 more → halve after epoch 11
    etas, stop = drive(BookSchedule(patience=2), acc, eta0=0.8)
    assert etas == [0.8, 0.8, 0.8, 0.4, 0.4, 0.2, 0.2, 0.2, 0.2, 0.2, 0.1]
    assert stop is None


def test_book_rule_stops_when_eta_below_eta0_over_128():
    # patience 1 and no improvement after epoch 1: η halves every epoch from epoch 2;
    # after epoch k it is η₀ / 2^(k−1), first below η₀/128 at k = 9
    etas, stop = drive(BookSchedule(patience=1), [0.9] * 12, eta0=1.0)
    assert etas[:9] == [1.0, 0.5, 0.25, 0.125, 1 / 16, 1 / 32, 1 / 64, 1 / 128, 1 / 256]
    assert stop == 9
    # the book's "dropped to 1/128" wording is min_ratio=1/64: stop one halving earlier
    assert drive(BookSchedule(patience=1, min_ratio=1 / 64), [0.9] * 12)[1] == 8


def test_book_rule_needs_its_metric():
    with pytest.raises(ConfigError, match="evaluation_accuracy"):
        BookSchedule()({"epoch": 1, "training_cost": 0.3}, Opt(1.0))


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_state_round_trip(name):
    acc = [0.5, 0.6, 0.6, 0.6, 0.55, 0.7, 0.7, 0.7, 0.7, 0.7]
    options = {"book": {"patience": 2}, "step": {"step_size": 2}}.get(name, {})
    whole, _ = drive(get_schedule(name, **options), acc)
    first = get_schedule(name, **options)
    opt = Opt(1.0)
    for epoch, a in enumerate(acc[:4], start=1):
        first({"epoch": epoch, "evaluation_accuracy": a}, opt)
    second = get_schedule(name, **options)
    second.load_state_dict(first.state_dict())
    rest = []
    for epoch, a in enumerate(acc[4:], start=5):
        second({"epoch": epoch, "evaluation_accuracy": a}, opt)
        rest.append(opt.eta)
    assert rest == whole[4:]


def small_net():
    return Network.from_sizes([3, 4, 2], cost="cross_entropy", seed=0, dtype="float64")


def test_early_stopping_scripted_and_restores_best():
    net = small_net()
    es = EarlyStopping(patience=3)
    W = net.layers[0].params["W"]
    accs = [0.5, 0.7, 0.65, 0.7, 0.8, 0.8, 0.79, 0.8, 0.9]  # equal is not better
    best_W = None
    stopped_at = None
    for epoch, acc in enumerate(accs, start=1):
        W += 0.1  # "training" changes the weights every epoch
        es({"epoch": epoch, "evaluation_accuracy": acc}, net)
        if epoch == 5:
            best_W = W.copy()
        if es.stop:
            stopped_at = epoch
            break
    assert stopped_at == 8 and es.best == 0.8 and es.best_epoch == 5
    assert es.restore(net)
    assert np.array_equal(net.layers[0].params["W"], best_W)
    assert net.layers[0].params["W"] is W  # restored in place


def test_early_stopping_min_mode_and_min_delta():
    es = EarlyStopping(patience=2, metric="evaluation_cost", mode="min", min_delta=0.01,
                       restore_best=False)
    net = small_net()
    for epoch, cost in enumerate([1.0, 0.995, 0.992], start=1):  # improvements below min_delta
        es({"epoch": epoch, "evaluation_cost": cost}, net)
    assert es.stop and es.best == 1.0 and not es.restore(net)


def test_early_stopping_state_round_trip():
    net = small_net()
    a = EarlyStopping(patience=2)
    for epoch, acc in enumerate([0.5, 0.6, 0.55], start=1):
        a({"epoch": epoch, "evaluation_accuracy": acc}, net)
    b = EarlyStopping(patience=2)
    b.load_state_dict(a.state_dict())
    assert (b.best, b.best_epoch, b.wait, b.stop) == (0.6, 2, 1, False)
    b({"epoch": 4, "evaluation_accuracy": 0.58}, net)
    assert b.stop
    for key, value in a.best_state.items():
        assert np.array_equal(b.best_state[key], value) and b.best_state[key] is not value


@pytest.mark.parametrize("make,phrase", [
    (lambda: get_schedule("cosine"), "unknown learning-rate schedule 'cosine'"),
    (lambda: get_schedule("step", step_size=0), "step_size"),
    (lambda: get_schedule("step", gamma=0.5, foo=1), "bad options for the 'step' schedule"),
    (lambda: ExponentialDecay(gamma=0.0), "gamma"),
    (lambda: StepDecay(gamma=1.5), "gamma"),
    (lambda: BookSchedule(patience=0), "patience"),
    (lambda: BookSchedule(factor=1.0), "factor"),
    (lambda: Constant(eta0=-1.0), "eta0"),
    (lambda: EarlyStopping(mode="median"), "mode"),
    (lambda: EarlyStopping(min_delta=-0.1), "min_delta"),
    (lambda: get_early_stopping(-3), "early_stopping"),
    (lambda: get_early_stopping(2.5), "early_stopping"),
])
def test_bad_schedule_and_early_stopping_arguments(make, phrase):
    with pytest.raises(ConfigError, match=phrase):
        make()


def test_one_cycle_warms_up_then_anneals_linearly():
    s = get_schedule("one_cycle", warmup=0.25, start_ratio=0.1, end_ratio=0.0)
    opt = Opt(2.0)
    etas = []
    for t in range(9):  # T = 9 steps: p = t/8; the peak at p = 0.25 is step 2
        s.set_step(t, 9, opt)
        etas.append(opt.eta)
    # warm-up: 2·(0.1 + 0.9·p/0.25) at p = 0, 1/8; annealing: 2·(1 − (p − 0.25)/0.75)
    expected = [0.2, 2 * (0.1 + 0.9 * 0.5), 2.0] + [2 * (1 - (t / 8 - 0.25) / 0.75) for t in range(3, 9)]
    np.testing.assert_allclose(etas, expected, rtol=1e-12, atol=1e-15)
    assert etas[-1] == 0.0 and s.eta0 == 2.0


def test_linear_decay_ends_at_end_ratio():
    s = get_schedule("linear", end_ratio=0.1)
    opt = Opt(1.0)
    etas = []
    for t in range(5):
        s.set_step(t, 5, opt)
        etas.append(opt.eta)
    np.testing.assert_allclose(etas, [1.0, 0.775, 0.55, 0.325, 0.1], rtol=1e-12)


@pytest.mark.parametrize("options, word", [({"warmup": 1.0}, "warmup"), ({"warmup": -0.1}, "warmup"),
                                           ({"end_ratio": 2}, "end_ratio"),
                                           ({"start_ratio": "x"}, "start_ratio")])
def test_one_cycle_refuses_bad_options(options, word):
    with pytest.raises(ConfigError, match=word):
        get_schedule("one_cycle", **options)


def test_training_sets_a_per_step_schedule_before_every_minibatch_of_the_whole_run():
    # 2 epochs of 4 minibatches: the 8 steps see η at p = t/7; the epoch-end call keeps η
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 2, 40)
    net = _tiny_net(0)
    seen = []
    from nnlearn.train.trainer import Trainer

    trainer = Trainer(net, X, y, epochs=2, mini_batch_size=10, eta=0.8, schedule="linear",
                      on_batch=lambda done, total: seen.append(trainer.optimizer.eta))
    history = trainer.run()
    np.testing.assert_allclose(seen, [0.8 * (1 - t / 7) for t in range(8)], rtol=1e-12, atol=1e-15)
    assert trainer.optimizer.eta == 0.0
    np.testing.assert_allclose(history["eta"], [0.8, 0.8 * (1 - 4 / 7)], rtol=1e-12)  # each epoch's first


def test_a_resumed_per_step_schedule_continues_where_it_stopped():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((40, 3)), rng.integers(0, 2, 40)
    from nnlearn.train.trainer import Trainer

    whole = _tiny_net(0)
    Trainer(whole, X, y, epochs=3, mini_batch_size=10, eta=0.5, schedule="one_cycle").run()
    first = _tiny_net(0)
    t1 = Trainer(first, X, y, epochs=3, mini_batch_size=10, eta=0.5, schedule="one_cycle")
    t1.run(epochs=1)
    state = t1.state_dict()
    second = _tiny_net(5)
    t2 = Trainer(second, X, y, epochs=3, mini_batch_size=10, eta=0.5, schedule="one_cycle")
    t2.load_state_dict(state)
    t2.run()
    for (w, _), (v, _) in zip(whole.parameters(), second.parameters()):
        np.testing.assert_array_equal(w, v)


def _tiny_net(seed):
    from nnlearn import Dense, Softmax, Sigmoid

    return Network([Dense(3, 4), Sigmoid(), Dense(4, 2), Softmax()], "log_likelihood", seed=seed,
                   dtype="float64")
