"""safetensors export: PyTorch loads the file into the matching nn.Sequential and computes
nnlearn's outputs; the safetensors package reads what NumPy wrote; nnlearn.load reads it back."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnlearn import Dense, Network, load
from nnlearn.cli import main
from nnlearn.errors import ConfigError, ModelFileError
from nnlearn.io.safetensors import (read_safetensors, save_safetensors, torch_state_dict,
                                    write_safetensors)
from nnlearn.nn.layers import (AvgPool2D, BatchNorm, Dropout, L2Pool2D, LeakyReLU, MaxPool2D,
                               ReLU, Sigmoid, Softmax, Tanh)
from nnlearn.nn.layers.base import Layer
from nnlearn.nn.layers.conv import Conv2D
from nnlearn.nn.layers.reshape import Flatten
from tests.paths import REPO

from tests.batchnorm_state import randomise_batchnorm  # noqa: E402

torch = pytest.importorskip("torch")
nn = torch.nn


def mlp(rng):
    return randomise_batchnorm(Network([Dense(6, 8), BatchNorm(8), Tanh(), Dropout(0.3), Dense(8, 5),
                              LeakyReLU(0.1), Dense(5, 4), Softmax()],
                             cost="log_likelihood", dtype="float64", seed=3), rng)


def convnet(rng):
    return randomise_batchnorm(Network([Conv2D(2, 4, 3, padding="same", input_shape=(2, 9, 9)),
                              BatchNorm(4), ReLU(), MaxPool2D(2), Conv2D(4, 3, (2, 3), stride=2,
                                                                         padding=(1, 1)),
                              Sigmoid(), AvgPool2D(2, stride=1), L2Pool2D(1), Flatten(),
                              Dense(6, 3), Softmax()],
                             cost="log_likelihood", dtype="float64", seed=4), rng)


def torch_outputs(path, module: "nn.Module", X) -> np.ndarray:
    from safetensors.torch import load_file

    module.double().load_state_dict(load_file(str(path)))  # strict: every name and shape
    module.eval()
    with torch.no_grad():
        return module(torch.from_numpy(X)).numpy()


def test_mlp_in_a_handwritten_torch_sequential(tmp_path):
    rng = np.random.default_rng(0)
    net = mlp(rng)
    path = tmp_path / "mlp.safetensors"
    save_safetensors(net, path)
    module = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Dropout(0.3),
                           nn.Linear(8, 5), nn.LeakyReLU(0.1), nn.Linear(5, 4), nn.Softmax(dim=1))
    X = rng.normal(size=(11, 6))
    np.testing.assert_allclose(torch_outputs(path, module, X), net.predict_proba(X),
                               rtol=0, atol=1e-12)
    assert torch_state_dict(net)["0.weight"].shape == (8, 6)  # (out, in), as nn.Linear


@pytest.mark.parametrize("build", [mlp, convnet])
def test_the_metadata_builds_the_matching_sequential(tmp_path, build):
    rng = np.random.default_rng(1)
    net = build(rng)
    path = tmp_path / "net.safetensors"
    save_safetensors(net, path)
    metadata, _ = read_safetensors(path)
    module = eval(metadata["pytorch"], {"nn": nn})  # the source the file carries
    X = rng.normal(size=(5, *net.input_shape))
    np.testing.assert_allclose(torch_outputs(path, module, X), net.predict_proba(X),
                               rtol=0, atol=1e-12)


def test_float32_weights_and_the_safetensors_package_agree(tmp_path):
    from safetensors.numpy import load_file, save_file

    net = Network.from_sizes([5, 7, 3], seed=2)
    path = tmp_path / "m.safetensors"
    save_safetensors(net, path, metadata={"eta": 3.0})
    theirs = load_file(str(path))
    assert sorted(theirs) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    assert theirs["0.weight"].dtype == np.float32
    np.testing.assert_array_equal(theirs["0.weight"], net.layers[0].params["W"].T)
    np.testing.assert_array_equal(theirs["2.bias"], net.layers[2].params["b"])
    # and our reader reads what the package writes
    other = tmp_path / "other.safetensors"
    save_file({"a": np.arange(6, dtype=np.int64).reshape(2, 3), "b": np.ones(3, np.float16)},
              str(other), metadata={"k": "v"})
    metadata, tensors = read_safetensors(other)
    assert metadata == {"k": "v"}
    np.testing.assert_array_equal(tensors["a"], np.arange(6).reshape(2, 3))
    assert tensors["b"].dtype == np.float16


@pytest.mark.parametrize("build", [mlp, convnet])
def test_nnlearn_load_reads_it_back(tmp_path, build):
    rng = np.random.default_rng(5)
    net = build(rng)
    path = tmp_path / "net.safetensors"
    save_safetensors(net, path, metadata={"eta": 0.5})
    again = load(path)
    X = rng.normal(size=(4, *net.input_shape))
    np.testing.assert_array_equal(again.predict_proba(X), net.predict_proba(X))
    assert again.config() == net.config() and again.metadata == {"eta": 0.5}


def test_cli_format_follows_the_suffix(tmp_path, capsys):
    net = Network.from_sizes([4, 3, 2], seed=0)
    model = tmp_path / "m.npz"
    net.save(model, metadata={"epochs": 1})
    out = tmp_path / "out.safetensors"
    assert main(["export", str(model), str(out)]) == 0
    assert "safetensors" in capsys.readouterr().out
    assert out.read_bytes()[8:9] == b"{"  # a safetensors header, not ONNX
    assert main(["export", str(out), str(tmp_path / "back.npz")]) == 0  # and back again
    back = load(tmp_path / "back.npz")
    X = np.random.default_rng(0).normal(size=(3, 4))
    np.testing.assert_array_equal(back.predict_proba(X), net.predict_proba(X))
    assert back.metadata == {"epochs": 1}
    # `nnlearn evaluate`/`predict` use nnlearn.load, so a .safetensors model works there too
    for bad in ("out.pt", "out"):
        assert main(["export", str(model), str(tmp_path / bad)]) == 2
        err = capsys.readouterr().err
        assert ".onnx, .safetensors, .npz" in err and "suffix" in err
        assert not (tmp_path / bad).exists()


def test_a_layer_with_arrays_pytorch_has_no_name_for_is_refused(tmp_path):
    class Scale(Layer):
        def __init__(self):
            super().__init__()
            self.params = {"s": np.ones(3)}

        def forward(self, X, training=False):
            return X * self.params["s"]

        def output_shape(self, input_shape):
            return tuple(input_shape)

    net = Network([Dense(2, 3), Scale()], cost="quadratic", seed=0)
    with pytest.raises(ConfigError, match=r"layer 1 \(Scale\).*\['params.s'\]"):
        save_safetensors(net, tmp_path / "x.safetensors")
    assert not (tmp_path / "x.safetensors").exists()


def test_damaged_and_foreign_files_are_refused(tmp_path):
    net = Network.from_sizes([3, 2], seed=0)
    good = tmp_path / "good.safetensors"
    save_safetensors(net, good)
    data = good.read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])

    def variant(name, blob):
        path = tmp_path / name
        path.write_bytes(blob)
        return path

    cases = {
        "huge header length": (2**40).to_bytes(8, "little") + data[8:],
        "cut short": data[:-4],
    }
    bad_offsets = dict(header)
    bad_offsets["0.weight"] = {**header["0.weight"], "data_offsets": [0, 10**6]}
    body = json.dumps(bad_offsets).encode()
    cases["offsets past the end"] = len(body).to_bytes(8, "little") + body + data[8 + n:]
    for i, (problem, blob) in enumerate(cases.items()):
        with pytest.raises(ModelFileError, match="not a valid safetensors file"):
            load(variant(f"bad{i}.safetensors", blob))
    # a bare state dict (from PyTorch, say) says nothing of the architecture
    bare = tmp_path / "bare.safetensors"
    write_safetensors(bare, {"0.weight": np.ones((2, 3), np.float32)}, {})
    with pytest.raises(ModelFileError, match="without nnlearn's architecture"):
        load(bare)
    # a weight of the wrong shape is caught like in an .npz model file
    meta, tensors = read_safetensors(good)
    tensors["0.weight"] = np.ones((3, 2), np.float32)
    write_safetensors(tmp_path / "shape.safetensors", tensors, meta)
    with pytest.raises(ModelFileError, match=r"layer0.params.W has shape \(2, 3\)"):
        load(tmp_path / "shape.safetensors")


def test_the_docs_recipe_runs(tmp_path, monkeypatch):
    """docs/interop.md's command and PyTorch snippet, run as written."""
    import re
    import shlex

    text = (REPO / "docs" / "interop.md").read_text()
    section = text[text.index("## safetensors"):]
    command = re.search(r"```bash\n(nnlearn export .*)\n```", section).group(1)
    snippet = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    net = Network.from_sizes([784, 30, 10], seed=0)
    net.save("mnist.npz")
    assert main(shlex.split(command)[1:]) == 0
    scope: dict = {}
    exec(snippet, scope)
    X = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    with torch.no_grad():
        out = scope["model"](torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(out, net.predict_proba(X), rtol=0, atol=1e-6)
