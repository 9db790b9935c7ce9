"""The playground's core (no HTTP): data sets, settings, sessions, backprop numbers, exported code."""

from __future__ import annotations

import base64
import time

import numpy as np
import pytest

from nnlearn.experiments.config import files as cfgmod
from nnlearn.data import toy
from nnlearn.web.code_export import parse_csv, python_code, toml_config
from nnlearn.web.playground import (BOUNDARY_RESOLUTION, PoolFull, Session, SessionPool, Settings,
                                    parse_settings)
from nnlearn.web.validation import FieldError


@pytest.mark.parametrize("name", list(toy.DATASETS))
def test_datasets_have_their_shape_domain_and_seed(name):
    P, y = toy.make_points(name, 300, 0.2, seed=3)
    n = 0 if name == "custom" else 300
    assert P.shape == (n, 2) and y.shape == (n,)
    assert np.abs(P).max(initial=0) <= toy.EXTENT
    if toy.DATASETS[name] == "classification":
        assert set(np.unique(y)) <= {0.0, 1.0}
        if n:
            assert 0.2 < y.mean() < 0.8  # both classes present in fair numbers
    else:
        assert np.abs(y).max() <= 1.0 and y.std() > 0.05
    P2, y2 = toy.make_points(name, 300, 0.2, seed=3)
    assert np.array_equal(P, P2) and np.array_equal(y, y2)


def test_noise_free_circle_and_xor_follow_their_rules():
    P, y = toy.make_points("circle", 400, 0.0, 1)
    assert np.array_equal(y == 1, np.hypot(P[:, 0], P[:, 1]) < 3.0)
    P, y = toy.make_points("xor", 400, 0.0, 1)
    assert np.array_equal(y == 1, P[:, 0] * P[:, 1] > 0)


def test_split_and_features():
    data = toy.make_dataset("gauss", n_points=200, train_ratio=0.3, seed=2)
    assert len(data.train_labels) == 60 and len(data.test_labels) == 140
    X = toy.input_features(np.array([[6.0, -3.0]]), list(toy.FEATURES))
    assert X[0].tolist() == pytest.approx([1.0, -0.5, 1.0, 0.25, -0.5, np.sin(6.0), np.sin(-3.0)])
    g = toy.grid(4)
    assert g.shape == (16, 2) and g[0].tolist() == [-4.5, 4.5] and g[-1].tolist() == [4.5, -4.5]


@pytest.mark.parametrize("raw, field", [
    ({"hidden": [9]}, "hidden[0]"), ({"hidden": [2] * 7}, "hidden"), ({"learning_rate": 0}, "learning_rate"),
    ({"learning_rate": "fast"}, "learning_rate"), ({"dataset": "moons"}, "dataset"),
    ({"features": []}, "features"), ({"features": ["x3"]}, "features"), ({"noise": 60}, "noise"),
    ({"batch_size": True}, "batch_size"), ({"colour": "red"}, "colour"),
    ({"dataset": "plane", "cost": "cross_entropy"}, "cost"),
    ({"dataset": "xor", "problem": "regression"}, "dataset"), ({"activation": "swish"}, "activation"),
])
def test_bad_settings_name_their_field(raw, field):
    with pytest.raises(FieldError) as info:
        parse_settings(raw)
    assert info.value.field == field
    assert str(info.value).startswith(field)


def test_settings_merge_onto_a_base_and_normalise_features():
    base = parse_settings({"dataset": "xor", "hidden": [8, 8]})
    s = parse_settings({"features": ["sin_x1", "x1"], "learning_rate": 0.03}, base)
    assert s.dataset == "xor" and s.hidden == (8, 8) and s.features == ("x1", "sin_x1")
    assert s.sizes == [2, 8, 8, 1] and s.problem == "classification"
    assert parse_settings({"dataset": "plane"}).cost == "quadratic"  # regression's only cost


def test_xor_session_learns_and_snapshot_shapes():
    session = Session(parse_settings({"dataset": "xor", "hidden": [8, 8], "seed": 2}))
    first = session.snapshot()
    session.step(150)
    snap = session.snapshot(history_from=(session.generation, 100), with_points=False)
    assert snap["epoch"] == 150 and snap["history_start"] == 100 and len(snap["history"]) == 50
    assert first["test_loss"] is None and snap["test_loss"] < 0.15
    assert snap["test_accuracy"] > 0.95
    assert [len(layer) for layer in snap["neurons"]] == [8, 8, 1]
    assert len(base64.b64decode(snap["boundary"])) == BOUNDARY_RESOLUTION ** 2
    assert len(base64.b64decode(snap["neurons"][0][0])) == (BOUNDARY_RESOLUTION // 2) ** 2
    assert first["boundary"] != snap["boundary"]
    assert "points" not in snap and len(first["points"]["train"]) == 250


def test_live_settings_keep_the_network_others_reset_it():
    session = Session(Settings(dataset="xor"))
    W = session.network.layers[0].params["W"].copy()
    session.step(5)
    session.update(parse_settings({"learning_rate": 0.03, "batch_size": 25}, session.settings))
    assert len(session.history) == 5 and session.optimizer.eta == 0.03
    assert session.trainer.mini_batch_size == 25
    session.step()
    assert len(session.history) == 6 and session.history.records[-1]["epoch"] == 6
    session.update(parse_settings({"activation": "relu"}, session.settings))
    assert len(session.history) == 0
    session.reset()
    session.update(parse_settings({"activation": "tanh"}, session.settings))
    assert np.array_equal(session.network.layers[0].params["W"], W)  # same seed, same start


def test_added_points_join_the_training_set():
    session = Session(Settings(dataset="custom"))
    assert session.trainer is None
    session.step()  # nothing to train on: no epoch
    assert len(session.history) == 0
    session.add_point(-3.0, 2.0, 1.0)
    session.add_point(3.0, -2.0, 0.0)
    assert session.points()["train"] == [[-3.0, 2.0, 1.0], [3.0, -2.0, 0.0]]
    session.step(3)
    assert len(session.history) == 3 and "evaluation_cost" not in session.history.records[-1]


def test_backprop_numbers_satisfy_bp1_to_bp4_and_match_finite_differences():
    session = Session(parse_settings({"dataset": "circle", "hidden": [3, 2], "cost": "quadratic",
                                      "activation": "sigmoid"}))
    session.step(3)
    bp = session.backprop("train", 7)
    layers = bp["layers"]
    out = layers[-1]
    assert out["delta"][0] == pytest.approx(out["cost_gradient"][0] * out["fprime"][0], rel=1e-12)  # BP1
    for lower in layers[:-1]:
        for j, delta in enumerate(lower["delta"]):
            assert delta == pytest.approx(lower["backprop_sum"][j] * lower["fprime"][j], rel=1e-12)  # BP2
    for l, layer in enumerate(layers):
        inputs = bp["input"] if l == 0 else layers[l - 1]["a"]
        assert layer["db"] == layer["delta"]  # BP3
        assert np.allclose(layer["dW"], np.outer(inputs, layer["delta"]), rtol=1e-12)  # BP4
    # ∂C/∂w by central differences on the same point, for every first-layer weight
    net, eps = session.network, 1e-6
    x = np.array([bp["input"]])
    Y = np.array([[bp["target"]]])
    W = net.layers[0].params["W"]
    for k, j in np.ndindex(W.shape):
        W[k, j] += eps
        up = net.cost.value(net.forward(x), Y)
        W[k, j] -= 2 * eps
        down = net.cost.value(net.forward(x), Y)
        W[k, j] += eps
        assert layers[0]["dW"][k][j] == pytest.approx((up - down) / (2 * eps), abs=1e-8)
    with pytest.raises(FieldError, match="index"):
        session.backprop("test", 10_000)


def test_exported_python_reproduces_the_session_number_for_number():
    settings = parse_settings({"dataset": "spiral", "hidden": [5, 3], "features": ["x1", "x2", "sin_x1"],
                               "optimizer": "adam", "learning_rate": 0.01, "regularization": "l2",
                               "reg_rate": 0.01, "noise": 10, "seed": 4})
    session = Session(settings)
    session.step(6)
    printed = []
    scope = {"print": printed.append}
    exec(python_code(settings, 6), scope)
    assert scope["history"]["training_cost"] == session.history["training_cost"]
    assert scope["history"]["evaluation_cost"] == session.history["evaluation_cost"]
    assert printed[0].startswith("epoch 6: training loss")


def test_exported_toml_is_a_valid_nnlearn_config():
    settings = parse_settings({"hidden": [6, 4], "activation": "relu", "regularization": "l1", "reg_rate": 0.1})
    text = toml_config(settings, 12)
    cfg = cfgmod.resolve(cfgmod.loads(text))
    assert cfg["model"]["hidden"] == [6, 4] and cfg["model"]["activation"] == "relu"
    assert cfg["regularization"]["l1"] == 0.1 and cfg["regularization"]["lmbda"] == 0.0
    assert cfg["training"]["epochs"] == 12 and cfg["training"]["eta"] == settings.learning_rate
    assert "[data]" not in text.splitlines() and "'circle' set" in text


def test_csv_rows_and_their_errors():
    points, labels = parse_csv("x1,x2,label\n1,2,0\n-3.5,4,1\n", "classification")
    assert points.tolist() == [[1.0, 2.0], [-3.5, 4.0]] and labels.tolist() == [0.0, 1.0]
    for text, message in [("1,2\n", "expected 3"), ("1,2,0\n3,x,1\n", "line 2"), ("9,0,1\n", "[-6, 6]"),
                          ("1,1,0.5\n", "0 or 1"), ("", "CSV")]:
        with pytest.raises(FieldError, match=message.replace("[", r"\[")):
            parse_csv(text, "classification")
    with pytest.raises(FieldError, match=r"\[-1, 1\]"):
        parse_csv("1,1,3\n", "regression")


def test_pool_bounds_sessions_and_frees_idle_ones():
    pool = SessionPool(max_sessions=2, idle_seconds=0.5)
    a = pool.create(Settings())
    b = pool.create(Settings())
    with pytest.raises(PoolFull, match="--max-sessions"):
        pool.create(Settings())
    time.sleep(0.3)
    assert pool.get(a.id) is a  # used: its idle clock restarts
    time.sleep(0.3)
    assert pool.sweep() == [b.id]
    assert pool.get(b.id) is None and pool.get(a.id) is a
    pool.create(Settings())  # room again
    assert len(pool.sessions) == 2 and pool.close(a.id) and not pool.close(a.id)
