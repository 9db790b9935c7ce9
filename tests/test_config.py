"""Experiment configs: defaults, presets, files vs flags, validation messages, layer tables."""

import re
from pathlib import Path

import pytest

from nnlearn.experiments.config import files as cfgmod
from nnlearn.experiments.runs import builder as experiment
from nnlearn.cli import main
from nnlearn.checks import Integer, Maybe, Number, OneOf, positive_number, unit_interval
from nnlearn.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def printed_config(capsys, *argv):
    assert main(["train", *argv, "--print-config"]) == 0
    return cfgmod.loads(capsys.readouterr().out)


def test_default_recipe_is_the_books_98_percent_network(capsys):
    cfg = printed_config(capsys)
    assert cfg["model"]["hidden"] == [100]
    assert (cfg["model"]["activation"], cfg["model"]["cost"], cfg["model"]["init"]) == \
        ("sigmoid", "cross_entropy", "normal_fan_in")
    assert (cfg["training"]["eta"], cfg["training"]["epochs"], cfg["training"]["mini_batch_size"]) \
        == (0.5, 30, 10)
    assert cfg["regularization"]["lmbda"] == 5.0
    assert cfg == cfgmod.resolve()


def test_every_preset_resolves_builds_and_round_trips():
    names = cfgmod.list_presets()
    assert {"ch1-30", "ch1-100", "ch3-100-l2", "ch6-conv1", "ch6-conv2-dropout", "quick"} <= set(names)
    for name in names:
        raw = cfgmod.load_preset(name)
        assert raw["name"] == name and raw["description"]
        cfg = cfgmod.resolve(raw)
        assert cfgmod.resolve(cfgmod.loads(cfgmod.dumps(cfg))) == cfg
        shape = (1, 28, 28) if experiment.needs_images(cfg) else (784,)
        net = experiment.build_network(cfg, shape, 10)
        assert net.output_shape == (10,) and net.input_shape == shape


def test_configs_folder_holds_the_same_files_as_the_packaged_presets():
    packaged = REPO / "src" / "nnlearn" / "experiments" / "config" / "presets"
    shipped = sorted(p.name for p in (REPO / "configs").glob("*.toml"))
    assert shipped == sorted(p.name for p in packaged.glob("*.toml")) == \
        sorted(f"{n}.toml" for n in cfgmod.list_presets())
    for name in shipped:
        assert (REPO / "configs" / name).read_bytes() == (packaged / name).read_bytes(), name


def test_book_presets_carry_the_books_hyper_parameters():
    ch1 = cfgmod.resolve(cfgmod.load_preset("ch1-30"))
    assert ch1["model"]["hidden"] == [30] and ch1["model"]["cost"] == "quadratic"
    assert ch1["training"]["eta"] == 3.0 and ch1["regularization"]["lmbda"] == 0.0
    assert ch1["model"]["init"] == "normal"
    l2 = cfgmod.resolve(cfgmod.load_preset("ch3-100-l2-60"))
    assert (l2["training"]["eta"], l2["training"]["epochs"], l2["regularization"]["lmbda"]) == (0.1, 60, 5.0)
    conv = cfgmod.resolve(cfgmod.load_preset("ch6-conv2-relu-expanded"))
    assert conv["data"]["expand"] == "shifts" and conv["model"]["cost"] == "log_likelihood"
    assert [s["type"] for s in conv["model"]["layers"]].count("Conv2D") == 2


def test_flags_override_the_file_and_set_overrides_anything(tmp_path, capsys):
    path = tmp_path / "exp.toml"
    path.write_text('name = "mine"\n[training]\neta = 0.1\nepochs = 7\n'
                    '[optimizer]\nname = "momentum"\nmu = 0.5\n[model]\nhidden = [40, 20]\n')
    cfg = printed_config(capsys, "--config", str(path), "--eta", "0.2", "--hidden", "64",
                         "--set", "optimizer.mu=0.95", "--set", "regularization.lmbda=1")
    assert cfg["name"] == "mine"
    assert cfg["training"]["eta"] == 0.2 and cfg["training"]["epochs"] == 7
    assert cfg["model"]["hidden"] == [64]
    assert cfg["optimizer"] == {"name": "momentum", "mu": 0.95}
    assert cfg["regularization"]["lmbda"] == 1.0
    preset = printed_config(capsys, "--preset", "ch1-30", "--epochs", "3")
    assert preset["training"]["epochs"] == 3 and preset["training"]["eta"] == 3.0


def test_every_flag_maps_to_a_schema_key():
    from nnlearn.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices["train"]
    flag_dests = {a.dest for a in sub._actions if a.option_strings and a.dest in cfgmod.SCHEMA}
    assert flag_dests == {k for k, f in cfgmod.SCHEMA.items() if f.flag}
    assert len(flag_dests) >= 20


@pytest.mark.parametrize("text, phrases", [
    ("epochs = 3\n", ["unknown key 'epochs'", "[training]"]),
    ("[training]\netaa = 0.1\n", ["unknown key 'training.etaa'", "eta, mini_batch_size"]),
    ("[trainig]\neta = 0.1\n", ["unknown key 'trainig'", "[training]"]),
    ("[model]\nactivation = 'sigmud'\n", ["model.activation", "'sigmud'", "relu", "tanh"]),
    ("[model]\ncost = 3\n", ["model.cost", "cross_entropy"]),
    ("[training]\neta = -1\n", ["training.eta", "> 0", "-1"]),
    ("[training]\neta = '0.5'\n", ["training.eta", "'0.5'"]),
    ("[training]\nepochs = 2.5\n", ["training.epochs", "positive integer", "2.5"]),
    ("[training]\nepochs = true\n", ["training.epochs", "True"]),
    ("[model]\nhidden = [30, 0]\n", ["model.hidden", "positive integers"]),
    ("[regularization]\ndropout = 1.0\n", ["regularization.dropout", "[0, 1)"]),
    ("[data]\nexpand = 'rotate'\n", ["data.expand", "none, shifts"]),
    ("[optimizer]\nname = 'adam'\nmu = 0.9\n", ["optimizer.mu", "beta1, beta2, eps"]),
    ("[optimizer]\nname = 'momentum'\nmu = 1.5\n", ["[optimizer] momentum", "mu"]),
    ("[optimizer]\nname = 'adamw'\n", ["optimizer.name", "adagrad, adam, momentum"]),
    ("[schedule]\nname = 'step'\ngama = 0.5\n", ["schedule.gama", "step_size, gamma"]),
    ("[schedule]\nname = 'book'\n[data]\nvalidation_size = 0\n", ["book", "validation_size is 0"]),
    ("[training]\nearly_stopping = 3\n[data]\nvalidation_size = 0\n", ["training.early_stopping"]),
    ("[model]\nhidden = [30]\n[[model.layers]]\ntype = 'Dense'\n", ["model.hidden and model.layers"]),
    ("[regularization]\ndropout = 0.5\n[[model.layers]]\ntype = 'Dense'\n", ["Dropout"]),
    ("[[model.layers]]\ntype = 'Conv3D'\n", ["model.layers[0].type", "Conv2D", "MaxPool2D"]),
    ("[[model.layers]]\ntype = 'Conv2D'\nout_channels = 4\nkernal_size = 5\n",
     ["model.layers[0].kernal_size", "kernel_size"]),
    ("[model]\nlayers = 3\n", ["model.layers must be a non-empty list"]),
    ("[training\neta = 1\n", ["not valid TOML"]),
])
def test_bad_configs_exit_2_naming_the_key_and_the_choices(tmp_path, capsys, text, phrases):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["train", "--config", str(path), "--print-config"]) == 2
    err = capsys.readouterr().err
    for phrase in phrases:
        assert phrase in err, (phrase, err)


@pytest.mark.parametrize("argv, phrase", [
    (["--preset", "ch9"], "unknown preset 'ch9'; expected one of ch1-100, ch1-30"),
    (["--config", "/no/such/file.toml"], "does not exist"),
    (["--set", "training.eta"], "--set expects KEY=VALUE"),
    (["--set", "training.speed=3"], "unknown key 'training.speed'"),
    (["--set", "training.eta=fast"], "training.eta must be a finite number > 0, got 'fast'"),
    (["--hidden", "30", "--set", "model.layers=[{type='Flatten'}]"], "exclusive"),
])
def test_bad_cli_configs_exit_2(argv, phrase, capsys):
    assert main(["train", *argv, "--print-config"]) == 2
    assert phrase in capsys.readouterr().err


@pytest.mark.parametrize("argv, phrase", [
    (["--preset", "quick", "--config", "x.toml"], "not allowed with argument"),
    (["--lmbda", "-1"], "regularization.lmbda must be a finite number >= 0, got -1.0"),
    (["--dropout", "1"], "regularization.dropout must be a number in [0, 1), got 1.0"),
    (["--optimizer", "adamw"], "invalid choice: 'adamw'"),
    (["--schedule", "cosine"], "invalid choice: 'cosine'"),
    (["--expand", "rotate"], "invalid choice: 'rotate'"),
    (["--early-stopping", "x"], "training.early_stopping must be an integer >= 0, got 'x'"),
    (["--hidden", "0"], "--hidden: model.hidden must be a list of positive integers "
                        "(layer widths), got [0]"),
])
def test_bad_flags_are_usage_errors(argv, phrase, capsys):
    try:  # argparse's own errors exit while parsing; values are checked by the config's rules
        code = main(["train", *argv])
    except SystemExit as info:
        code = info.code
    assert code == 2
    assert phrase in capsys.readouterr().err


def test_layer_tables_infer_widths_and_name_the_bad_layer():
    def layers(*specs):
        return cfgmod.resolve({"model": {"layers": list(specs), "cost": "log_likelihood"}})

    cfg = layers({"type": "Conv2D", "out_channels": 3, "kernel_size": 5},
                 {"type": "ReLU"}, {"type": "MaxPool2D", "pool_size": 2}, {"type": "Flatten"},
                 {"type": "Dense", "n_out": 16}, {"type": "Tanh"}, {"type": "Dense"},
                 {"type": "Softmax"})
    net = experiment.build_network(cfg, (1, 28, 28), 10)
    conv, dense1, dense2 = net.layers[0], net.layers[4], net.layers[6]
    assert conv.params["W"].shape == (3, 1, 5, 5)
    assert dense1.params["W"].shape == (3 * 12 * 12, 16) and dense2.params["W"].shape == (16, 10)
    with pytest.raises(ConfigError, match=r"model.layers\[2\]: Dense needs flat inputs.*Flatten"):
        experiment.build_network(layers({"type": "Conv2D", "out_channels": 2, "kernel_size": 3},
                                        {"type": "ReLU"}, {"type": "Dense", "n_out": 10}),
                                 (1, 28, 28), 10)
    with pytest.raises(ConfigError, match=r"model.layers\[0\] \(Conv2D\).*larger|model.layers\[0\] \(Conv2D\)"):
        experiment.build_network(layers({"type": "Conv2D", "out_channels": 2, "kernel_size": 29},
                                        {"type": "Flatten"}, {"type": "Dense"}), (1, 28, 28), 10)
    with pytest.raises(ConfigError, match=r"model.layers\[0\] \(Dense\).*n_out"):
        experiment.build_network(layers({"type": "Dense", "n_out": 0}, {"type": "Sigmoid"},
                                        {"type": "Dense"}), (784,), 10)
    with pytest.raises(ConfigError, match="output shape is \\(7,\\).*10 classes"):
        experiment.build_network(layers({"type": "Dense", "n_out": 7}, {"type": "Sigmoid"},
                                        {"type": "Dense", "n_out": 7}), (784,), 10)


def test_mlp_dropout_goes_after_each_hidden_activation():
    cfg = cfgmod.resolve({"model": {"hidden": [20, 10]}, "regularization": {"dropout": 0.3}})
    net = experiment.build_network(cfg, (784,), 10)
    assert [type(l).__name__ for l in net.layers] == [
        "Dense", "Sigmoid", "Dropout", "Dense", "Sigmoid", "Dropout", "Dense", "Sigmoid"]
    assert net.layers[2].p == 0.3


def test_an_mlp_may_give_each_hidden_layer_its_own_activation():
    import nnlearn

    net = nnlearn.Network.from_sizes([4, 5, 3, 2], activation=["relu", "tanh"], cost="log_likelihood")
    assert [type(l).__name__ for l in net.layers] == ["Dense", "ReLU", "Dense", "Tanh", "Dense", "Softmax"]
    with pytest.raises(ConfigError, match="2 names for 1 hidden layers"):
        nnlearn.Network.from_sizes([4, 5, 2], activation=["relu", "tanh"])
    with pytest.raises(ConfigError, match="unknown activation 'swish'"):
        nnlearn.Network.from_sizes([4, 5, 3, 2], activation=["relu", "swish"])


def test_trainer_options_from_a_config():
    from nnlearn.nn.regularizers import L1, L2
    from nnlearn.optim.schedules import BookSchedule

    cfg = cfgmod.resolve({"optimizer": {"name": "adam", "beta1": 0.8},
                          "schedule": {"name": "book", "patience": 3},
                          "regularization": {"lmbda": 2.0, "l1": 0.5, "max_norm": 3.0},
                          "training": {"early_stopping": 4}})
    opts = experiment.trainer_options(cfg)
    assert opts["optimizer"] == "adam" and opts["optimizer_options"] == {"beta1": 0.8}
    assert isinstance(opts["schedule"], BookSchedule) and opts["schedule"].patience == 3
    assert [(type(r), r.lmbda) for r in opts["regularizers"]] == [(L2, 2.0), (L1, 0.5)]
    assert opts["max_norm"] == 3.0 and opts["early_stopping"] == 4


def test_dumps_writes_strings_lists_and_layer_tables_that_toml_reads_back():
    cfg = cfgmod.resolve({"name": 'quote " and \\ backslash', "description": "ünïcode",
                          "model": {"layers": [{"type": "Conv2D", "out_channels": 2,
                                                "kernel_size": [3, 3], "padding": "same"},
                                               {"type": "Flatten"}, {"type": "Dense"}]}})
    text = cfgmod.dumps(cfg)
    assert "[[model.layers]]" in text
    assert cfgmod.loads(text) == cfg
    assert cfgmod.config_hash(cfg) == cfgmod.config_hash(cfgmod.loads(text))
    assert len(cfgmod.config_hash(cfg)) == 8


def test_parse_assignment_reads_toml_values():
    assert cfgmod.parse_assignment("a.b=0.5") == ("a.b", 0.5)
    assert cfgmod.parse_assignment("a.b = [1, 2]") == ("a.b", [1, 2])
    assert cfgmod.parse_assignment("a.b=true") == ("a.b", True)
    assert cfgmod.parse_assignment("data.source=/tmp/x") == ("data.source", "/tmp/x")


def test_docs_config_reference_is_written_from_the_schema():
    """docs/config.md is current: rerun `python scripts/config_reference.py` after a schema change."""
    from nnlearn.experiments.config.schema import markdown_reference

    assert (REPO / "docs" / "config.md").read_text(encoding="utf-8") == markdown_reference() + "\n"


def test_every_flag_and_default_comes_from_the_schema(capsys):
    from nnlearn.experiments.config.schema import SCHEMA

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    help_text = capsys.readouterr().out
    flags = [f.flag for f in SCHEMA.values() if f.flag]
    assert len(flags) >= 25 and all(flag in help_text for flag in flags)
    printed = cfgmod.loads(_printed_config(capsys))
    for key, field in SCHEMA.items():
        if field.default is not None and key != "model.layers":
            assert cfgmod.get_key(printed, key) == field.default, key


def _printed_config(capsys) -> str:
    assert main(["train", "--print-config"]) == 0
    return capsys.readouterr().out


def test_a_narrowed_rule_accepts_less_in_the_same_words_and_never_more():
    eta = positive_number.narrow(high=2.0)  # training.eta's rule, as the Book's descent page takes it
    assert eta("eta", 2) == 2.0 and eta("eta", 1e-9) == 1e-9
    for bad, says in [(0, "eta must be a number in (0, 2], got 0"), (2.5, "got 2.5"), (True, "got True")]:
        with pytest.raises(ConfigError, match=re.escape(says)):
            eta("eta", bad)
    assert unit_interval.narrow(high=0.5) == Number(0, 0.5)  # [0, 1) → [0, 0.5]: closed at 0.5
    assert Maybe(Integer(0)).narrow(high=9) == Integer(0, 9)  # narrowed: a value is now required
    with pytest.raises(ConfigError, match="from 2 to 5"):
        Maybe(Integer(1)).narrow(low=2, high=5)("classes", None)
    assert OneOf(("sgd", "adam", "momentum")).narrow(("adam",))("optimizer", "adam") == "adam"
    for wider in [lambda: positive_number.narrow(low=-1.0), lambda: unit_interval.narrow(high=1.0),
                  lambda: Integer(1, 10).narrow(high=11), lambda: Integer(1).narrow(low=0),
                  lambda: OneOf(("sgd",)).narrow(("sgd", "lbfgs"))]:
        with pytest.raises(ValueError, match="wider than|not among"):
            wider()
