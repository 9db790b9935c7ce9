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
