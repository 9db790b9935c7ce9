"""The playground's core (no HTTP): data sets, settings, sessions, backprop numbers, exported code."""

from __future__ import annotations

import base64
import json
import time

import numpy as np
import pytest

from nnlearn.checks import Integer, Number, OneOf
from nnlearn.data import toy
from nnlearn.experiments.config import files as cfgmod
from nnlearn.experiments.config.schema import SCHEMA
from nnlearn.web.code_export import parse_csv, python_code, toml_config
from nnlearn.web.playground import (BOUNDARY_RESOLUTION, RULES, PoolFull, Session, SessionPool,
                                    Settings, json_safe, parse_settings)
from nnlearn.web.validation import FieldError


@pytest.mark.parametrize("name", list(toy.DATASETS))
def test_datasets_have_their_shape_domain_and_seed(name):
    P, y = toy.make_points(name, 300, 0.2, seed=3)
    n = 0 if name == "custom" else 300
    assert P.shape == (n, 2) and y.shape == (n,)
    assert np.abs(P).max(initial=0) <= toy.EXTENT
    if toy.DATASETS[name] == "classification":
        k = toy.CLASSES.get(name, 2)
        assert set(np.unique(y)) <= set(map(float, range(k)))
        if n:  # every class present in fair numbers
            assert np.bincount(y.astype(int), minlength=k).min() > 0.6 * n / k
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
    ({"hidden": [9]}, "hidden[0]"), ({"hidden": [2] * 7}, "hidden"), ({"eta": 0}, "eta"),
    ({"learning_rate": "fast"}, "eta"), ({"dataset": "moons"}, "dataset"),
    ({"features": []}, "features"), ({"features": ["x3"]}, "features"), ({"noise": 60}, "noise"),
    ({"mini_batch_size": True}, "mini_batch_size"), ({"colour": "red"}, "colour"),
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
    s = parse_settings({"features": ["sin_x1", "x1"], "learning_rate": 0.03}, base)  # old name
    assert s.eta == 0.03 and parse_settings({"reg_rate": 0.1, "init": "he"}).lmbda == 0.1
    assert s.dataset == "xor" and s.hidden == (8, 8) and s.features == ("x1", "sin_x1")
    assert s.sizes == [2, 8, 8, 1] and s.problem == "classification"
    assert parse_settings({"dataset": "plane"}).cost == "quadratic"  # regression's only cost


def test_xor_session_learns_and_snapshot_shapes():
    session = Session(parse_settings({"dataset": "xor", "hidden": [8, 8], "seed": 2}))
    first = session.snapshot()
    session.step(150)
    snap = session.snapshot(history_from=(session.generation, 100), with_points=False)
    assert snap["epoch"] == 150 and snap["history_start"] == 100 and len(snap["history"]) == 50
    assert first["epoch"] == 0 and first["test_loss"] > 0.5 and snap["test_loss"] < 0.15
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
    session.update(parse_settings({"eta": 0.03, "mini_batch_size": 25}, session.settings))
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


def replay(session):
    """Run the session's exported script; its history and printed lines."""
    printed = []
    scope = {"print": printed.append}
    exec(python_code(session), scope)
    return scope["history"], printed


def test_exported_python_reproduces_the_session_number_for_number():
    settings = parse_settings({"dataset": "spiral", "hidden": [5, 3], "features": ["x1", "x2", "sin_x1"],
                               "optimizer": "adam", "eta": 0.01, "regularization": "l2",
                               "lmbda": 0.01, "noise": 10, "seed": 4})
    session = Session(settings)
    session.step(6)
    history, printed = replay(session)
    assert history["training_cost"] == session.history["training_cost"]
    assert history["evaluation_cost"] == session.history["evaluation_cost"]
    assert printed[0].startswith("epoch 6: training loss")


def test_exported_python_replays_clicks_csv_and_changes_made_while_training():
    session = Session(parse_settings({"dataset": "xor", "optimizer": "momentum"}))
    for i in range(20):
        session.add_point(-3 + 0.3 * i, 1.5, float(i % 2))
    session.step(5)
    session.update(parse_settings({"eta": 0.01, "mini_batch_size": 25}, session.settings))
    session.add_point(2.0, -2.0, 1.0)
    session.step(3)
    session.update(parse_settings({"regularization": "l1", "lmbda": 0.03}, session.settings))
    session.step(2)
    assert [(s.epochs, s.eta, s.mini_batch_size, s.regularization, s.n_added) for s in session.segments] == \
        [(5, 0.3, 10, "none", 20), (3, 0.01, 25, "none", 21), (2, 0.01, 25, "l1", 21)]
    history, _ = replay(session)
    assert history["training_cost"] == session.history["training_cost"]  # to the last bit
    custom = Session(parse_settings({"dataset": "custom"}))  # clicked points only
    for x, label in ((-3.0, 1.0), (3.0, 0.0), (0.5, 1.0)):
        custom.add_point(x, x / 2, label)
    custom.step(4)
    history, printed = replay(custom)
    assert history["training_cost"] == custom.history["training_cost"] and "test loss" not in printed[0]
    points, labels = parse_csv("\n".join(f"{x},{x * x / 6 - 3},{int(x > 0)}" for x in np.linspace(-5, 5, 40)),
                               "classification")
    session.set_points(points, labels)
    session.step(4)
    history, _ = replay(session)
    assert history["evaluation_cost"] == session.history["evaluation_cost"]
    assert "make_dataset(" not in python_code(session).split("import")[-1]


def test_an_uploaded_csv_stays_when_noise_or_size_change_until_a_data_set_is_chosen():
    session = Session(Settings())
    points, labels = parse_csv("".join(f"{x},{-x},{int(x > 0)}\n" for x in np.linspace(-5, 5, 200)),
                               "classification")
    session.set_points(points, labels)
    session.update(parse_settings({"noise": 25, "n_points": 300}, session.settings))
    assert len(session.data.train_labels) + len(session.data.test_labels) == 200
    session.update(parse_settings({"train_ratio": 70}, session.settings))
    assert len(session.data.train_labels) == 140 and session.snapshot()["uploaded"] == 200
    assert session.settings.dataset == "custom"
    session.update(session.settings, new_data=True)  # the page's custom button: an empty set
    assert session.uploaded is None and len(session.data.train_labels) == 0
    session.set_points(points, labels)
    session.update(parse_settings({"dataset": "circle"}, session.settings), new_data=True)
    assert session.uploaded is None and len(session.data.train_labels) == 210


def test_a_diverging_run_stops_at_its_last_finite_state_and_says_why():
    session = Session(parse_settings({"dataset": "plane", "activation": "linear", "eta": 0.001,
                                      "weight_init": "normal", "hidden": [8, 8, 8]}))
    session.step(2)
    W = session.network.layers[0].params["W"].copy()
    session.update(parse_settings({"eta": 10}, session.settings))
    session.set_playing(True)
    session.step()
    assert "became NaN or inf" in session.error and "smaller eta" in session.error
    assert "after epoch 2" in session.error and not session.playing
    assert np.array_equal(session.network.layers[0].params["W"], W) and len(session.history) == 2
    snap, bp = session.snapshot(), session.backprop("train", 0)
    json.dumps(snap, allow_nan=False), json.dumps(bp, allow_nan=False)  # strict JSON: no NaN
    assert snap["epoch"] == 2 and snap["error"] == session.error and snap["train_loss"] < 1e3
    session.update(parse_settings({"eta": 0.001}, session.settings))  # a smaller η: go on
    assert session.error is None
    session.step()
    assert len(session.history) == 3 and history_finite(session)
    history, _ = replay(session)
    assert history["training_cost"] == session.history["training_cost"]


def history_finite(session):
    return all(np.isfinite(r["training_cost"]) for r in session.history.records)


def test_json_safe_turns_non_finite_numbers_into_null():
    assert json_safe({"a": [1.0, float("nan"), (float("inf"), 2)], "b": "x"}) == \
        {"a": [1.0, None, [None, 2]], "b": "x"}


def test_exported_toml_is_a_valid_nnlearn_config():
    session = Session(parse_settings({"hidden": [6, 4], "activation": "relu", "regularization": "l1",
                                      "lmbda": 0.1}))
    session.step(12)
    text = toml_config(session)
    cfg = cfgmod.resolve(cfgmod.loads(text))
    assert cfg["model"]["hidden"] == [6, 4] and cfg["model"]["activation"] == "relu"
    assert cfg["regularization"]["l1"] == 0.1 and cfg["regularization"]["lmbda"] == 0.0
    assert cfg["training"]["epochs"] == 12 and cfg["training"]["eta"] == session.settings.eta
    assert cfg["model"]["init"] == session.settings.weight_init
    assert "[data]" not in text.splitlines() and "'circle' set" in text


def test_the_model_file_is_read_by_nnlearn_load(tmp_path):
    import nnlearn

    session = Session(parse_settings({"dataset": "xor", "features": ["x1", "x2", "x1_x2"]}))
    session.step(3)
    session.model_file(tmp_path / "m.npz")
    net = nnlearn.load(tmp_path / "m.npz")
    X = toy.input_features(session.data.test_points, ["x1", "x2", "x1_x2"])
    assert np.array_equal(net.forward(X), session.network.forward(X))


def test_csv_rows_and_their_errors():
    points, labels = parse_csv("x1,x2,label\n1,2,0\n-3.5,4,1\n", "classification")
    assert points.tolist() == [[1.0, 2.0], [-3.5, 4.0]] and labels.tolist() == [0.0, 1.0]
    for text, message in [("1,2\n", "expected 3"), ("1,2,0\n3,x,1\n", "line 2"), ("9,0,1\n", "[-6, 6]"),
                          ("1,1,0.5\n", "classes 0 to 4"), ("1,1,5\n", "classes 0 to 4"), ("", "CSV")]:
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


def test_three_classes_have_a_softmax_output_and_train():
    s = parse_settings({"dataset": "gauss3"})
    assert (s.classes, s.sizes, s.output_activation, s.cost) == (3, [2, 4, 2, 3], "softmax", "log_likelihood")
    assert parse_settings({"dataset": "xor"}, s).cost == "cross_entropy"  # back to one sigmoid output
    for raw, field in (({"dataset": "xor", "classes": 3}, "classes"),
                       ({"dataset": "gauss3", "cost": "cross_entropy"}, "cost"),
                       ({"dataset": "xor", "cost": "log_likelihood"}, "cost"),
                       ({"dataset": "custom", "classes": 6}, "classes")):
        with pytest.raises(FieldError) as info:
            parse_settings(raw)
        assert info.value.field == field
    session = Session(parse_settings({"dataset": "gauss3", "hidden": [4]}))
    session.step(20)
    snap = session.snapshot()
    assert snap["test_accuracy"] > 0.95 and len(snap["neurons"][-1]) == 3
    classes = np.frombuffer(base64.b64decode(snap["boundary_classes"]), np.uint8)
    assert set(classes.tolist()) == {0, 1, 2}  # each class has its region of the plot
    bp = session.backprop("test", 0)
    out, target = bp["layers"][-1], int(bp["target"])
    assert out["delta"] == pytest.approx([a - (j == target) for j, a in enumerate(out["a"])], abs=1e-12)
    history, _ = replay(session)
    assert history["training_cost"] == session.history["training_cost"]
    points, labels = parse_csv("".join(f"{i % 4 - 2},{i % 3},{i % 4}\n" for i in range(40)), "classification")
    session.set_points(points, labels)
    assert (session.settings.dataset, session.settings.classes, session.settings.sizes[-1]) == ("custom", 4, 4)
    session.add_point(1.0, 1.0, 3.0)
    session.step(2)
    assert len(session.history) == 2


def test_exported_python_replays_weights_set_by_hand_a_schedule_and_dropout():
    session = Session(parse_settings({"dataset": "xor", "schedule": "exponential", "dropout": 0.2}))
    session.step(3)
    assert session.optimizer.eta == pytest.approx(0.3 * 0.95 ** 3)  # η₀ γᵉ after epoch 3
    session.set_weight(0, 1, 1, -0.75)
    session.update(parse_settings({"mini_batch_size": 25}, session.settings))
    session.step(2)
    session.update(parse_settings({"eta": 0.1, "schedule": "step"}, session.settings))
    session.step(2)
    session.set_weight(1, 0, 1, 0.5)  # after the last epoch: in the script's last lines
    assert [s.edits for s in session.segments] == [(), ((0, 1, 1, -0.75),), ()]
    printed = []
    scope = {"print": printed.append}
    exec(python_code(session), scope)
    assert scope["history"]["training_cost"] == session.history["training_cost"]
    for mine, page in zip(scope["net"].state_dict().values(), session.network.state_dict().values()):
        assert np.array_equal(mine, page)
    with pytest.raises(FieldError) as info:
        session.set_weight(0, 9, 0, 1.0)
    assert info.value.field == "from"


def test_a_unit_constant_over_the_data_is_marked_dead():
    session = Session(parse_settings({"dataset": "circle", "activation": "relu", "hidden": [3]}))
    assert session.snapshot()["dead"] == [[False] * 3, [False]]
    session.network.layers[0].params["b"][1] = -50.0  # z < 0 for every point: ReLU outputs 0
    assert session.snapshot()["dead"] == [[False, True, False], [False]]
    session.step()  # its δ is 0, so its weights stay put
    assert session.backprop("train", 0)["layers"][0]["dW"][0][1] == 0.0


def test_each_hidden_layer_may_have_its_own_activation():
    s = parse_settings({"hidden": [3, 2], "activations": ["relu", "tanh"]})
    assert parse_settings({"hidden": [3, 2, 4]}, s).activations == ("relu", "tanh", "tanh")  # new: the last's
    assert parse_settings({"activation": "sigmoid"}, s).activations == ()  # one for all again
    assert parse_settings({"activations": ["tanh", "tanh"]}).activations == ()  # same as activation
    session = Session(s)
    assert [type(layer).__name__ for layer in session.network.layers] == ["Dense", "ReLU", "Dense", "Tanh",
                                                                          "Dense", "Sigmoid"]
    session.step(3)
    history, _ = replay(session)
    assert history["training_cost"] == session.history["training_cost"]
    with pytest.raises(FieldError) as info:
        parse_settings({"activations": ["relu", "swish"]})
    assert info.value.field == "activations[1]"


@pytest.mark.parametrize("setting, key", [
    ("eta", "training.eta"), ("mini_batch_size", "training.mini_batch_size"), ("seed", "training.seed"),
    ("lmbda", "regularization.lmbda"), ("dropout", "regularization.dropout"),
    ("classes", "data.num_classes"), ("activation", "model.activation"), ("cost", "model.cost"),
    ("weight_init", "model.init"), ("optimizer", "optimizer.name"), ("schedule", "schedule.name"),
])
def test_settings_that_are_config_keys_accept_only_what_the_config_accepts(setting, key):
    rule, config = RULES[setting], SCHEMA[key].check
    if isinstance(rule, OneOf):
        edges = rule.choices()
        assert set(edges) <= set(config.choices())
    else:
        assert isinstance(rule, (Integer, Number)) and rule.high is not None
        step = 1 if isinstance(rule, Integer) else 1e-9
        edges = [rule.low + (step if getattr(rule, "low_open", False) else 0), rule.high]
    for value in edges:  # the page's extremes pass the config key's own check
        assert config(key, value) == rule(setting, value)
    with pytest.raises(FieldError) as info:  # and a value the config takes but the page does not
        parse_settings({setting: "lbfgs" if isinstance(rule, OneOf) else rule.high * 2 + 1})
    assert info.value.field == setting and str(info.value).startswith(setting)
