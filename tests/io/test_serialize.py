"""Model files: round trips, safety (no pickle), and clear errors on foreign files."""

import json
import os
import zipfile

import numpy as np
import pytest

import nnlearn
from nnlearn import ModelFileError, Network


def _net(dtype="float32"):
    return Network.from_sizes([6, 5, 3], cost="log_likelihood", seed=7, dtype=dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_gives_identical_predictions(tmp_path, dtype):
    net = _net(dtype)
    X = np.random.default_rng(0).random((20, 6))
    net.fit(X, np.arange(20) % 3, epochs=2, mini_batch_size=4, eta=0.3)
    path = tmp_path / "m.npz"
    net.save(path, metadata={"note": "hello"})
    back = nnlearn.load(path)
    assert back.dtype == dtype and back.cost.name == "log_likelihood"
    assert [type(l).__name__ for l in back.layers] == ["Dense", "Sigmoid", "Dense", "Softmax"]
    np.testing.assert_array_equal(back.predict_proba(X), net.predict_proba(X))
    assert back.metadata == {"note": "hello"}


def test_model_file_holds_no_pickles(tmp_path):
    path = tmp_path / "m.npz"
    _net().save(path)
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            with z.open(name) as f:
                version = np.lib.format.read_magic(f)
                read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                        else np.lib.format.read_array_header_2_0)
                dtype = read(f)[2]
                assert not dtype.hasobject, name


def test_saving_over_a_model_replaces_it_atomically(tmp_path):
    path = tmp_path / "m.npz"
    _net().save(path)
    other = Network.from_sizes([6, 5, 3], seed=99)
    other.save(path)
    np.testing.assert_array_equal(nnlearn.load(path).layers[0].params["W"],
                                  other.layers[0].params["W"])
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temp files left behind


def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    net = _net()
    net.save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        Network.from_sizes([6, 5, 3], seed=1).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def _rewrite(path, out, mutate_header=None, drop=None, replace=None):
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    header = json.loads(arrays["__nnlearn__"].tobytes())
    if mutate_header:
        mutate_header(header)
    arrays["__nnlearn__"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    if drop:
        del arrays[drop]
    if replace:
        arrays.update(replace)
    np.savez(out, **arrays)
    return out


@pytest.mark.parametrize("damage, phrase", [
    (lambda h: h.update(format="other"), "not an nnlearn model"),
    (lambda h: h.update(version=99), "version 99"),
    (lambda h: h["layers"][0].update(type="os.system"), "unknown type 'os.system'"),
    (lambda h: h["layers"][0]["config"].update(n_in=7), "arrays do not match|shape"),
    (lambda h: h.update(layers=[]), "non-empty"),
    (lambda h: h.update(cost="nope"), "invalid architecture|unknown cost"),
    (lambda h: h["layers"][0]["config"].update(bogus=1), "invalid architecture"),
])
def test_damaged_headers_are_rejected(tmp_path, damage, phrase):
    good = tmp_path / "good.npz"
    _net().save(good)
    bad = _rewrite(good, tmp_path / "bad.npz", mutate_header=damage)
    with pytest.raises(ModelFileError, match=phrase):
        nnlearn.load(bad)


def test_wrong_weight_shapes_and_missing_arrays(tmp_path):
    good = tmp_path / "good.npz"
    _net().save(good)
    with pytest.raises(ModelFileError, match="layer0.params.W has shape"):
        nnlearn.load(_rewrite(good, tmp_path / "a.npz", replace={"layer0.params.W": np.zeros((2, 2))}))
    with pytest.raises(ModelFileError, match="missing"):
        nnlearn.load(_rewrite(good, tmp_path / "b.npz", drop="layer2.params.b"))


@pytest.mark.parametrize("content", [b"", b"hello world", b"PK\x03\x04garbage", b"\x93NUMPY" + b"\0" * 20])
def test_files_that_are_not_models(tmp_path, content):
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    with pytest.raises(ModelFileError, match="not an nnlearn model"):
        nnlearn.load(path)


def test_plain_npz_without_header(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, W=np.zeros(3))
    with pytest.raises(ModelFileError, match="no __nnlearn__ header"):
        nnlearn.load(path)


def test_pickled_object_arrays_are_refused(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, __nnlearn__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFileError):
        nnlearn.load(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        nnlearn.load(tmp_path / "nope.npz")
    assert not os.path.exists(tmp_path / "nope.npz")


@pytest.mark.parametrize("member", ["__nnlearn__", "layer0.params.W"])
def test_a_raw_zip_member_is_named_not_a_traceback(tmp_path, capsys, member):
    """Issue 22, item 5: `nnlearn predict bad.npz digit.png` ended in AttributeError:
    'bytes' object has no attribute 'dtype' (numpy hands back a member that is not .npy as
    bytes)."""
    from nnlearn.cli import main

    good, bad = tmp_path / "good.npz", tmp_path / "bad.npz"
    Network.from_sizes([784, 10, 10], seed=0).save(good)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as out:
        for name in src.namelist():
            if name == f"{member}.npy":
                out.writestr(member, b'{"format": "nnlearn.model"}')
            else:
                out.writestr(name, src.read(name))
    with pytest.raises(ModelFileError, match=f"member '{member}' is not a .npy array"):
        nnlearn.load(bad)
    assert main(["predict", str(bad), str(tmp_path / "digit.png")]) == 1
    err = capsys.readouterr().err
    assert f"member '{member}' is not a .npy array" in err and "Traceback" not in err
