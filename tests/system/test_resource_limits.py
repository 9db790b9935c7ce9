"""Inputs small on disk and huge in memory (issue 13): each is refused from its sizes, before
anything is allocated, with a figure and a fix, or handled with memory for the work it states.

In-process tests cap the memory nnlearn plans with ``$NNLEARN_MEMORY_LIMIT`` (a real
setting of :mod:`nnlearn.system.memory`); the ``slow`` tests run the real command lines in a
subprocess under ``RLIMIT_AS`` and read their peak memory from ``wait4``
(``tests/fuzz/bombs.py``; ``scripts/reliability_report.py`` records the same bombs).
"""

from __future__ import annotations

import sys
import tracemalloc

import numpy as np
import pytest

from tests.paths import FUZZ

sys.path.insert(0, str(FUZZ))
import bombs  # noqa: E402

import nnlearn  # noqa: E402
from nnlearn.system import memory as system_memory  # noqa: E402
from nnlearn.cli import main  # noqa: E402
from nnlearn.data import digits, idx, mnist, png  # noqa: E402
from nnlearn.data.labels import count_classes  # noqa: E402
from nnlearn.errors import ConfigError, DataError, ModelFileError, ResourceError  # noqa: E402
from nnlearn.io import model_file  # noqa: E402
from nnlearn.nn import memory  # noqa: E402

GiB = 2**30
SMALL_RUN = ["--epochs", "1", "--train-size", "500", "--validation-size", "100", "--seed", "1",
             "--no-plots", "--quiet"]


@pytest.fixture
def digit(tmp_path):
    return bombs.digit_png(tmp_path / "digit.png")


# -- 1. model files: structural limits before anything is built ---------------------------
def test_the_conv_pool_bomb_model_is_refused_before_building(tmp_path, digit, capsys):
    path = bombs.conv_pool_bomb(tmp_path / "bomb.npz")
    assert path.stat().st_size < 2500  # kilobytes on disk; 16 GB of activations per 1000 images
    with pytest.raises(ModelFileError, match=r"layer 0 \(Conv2D\): padding \[1000, 1000\] "
                                             r"exceeds kernel_size − 1 = \(4, 4\)"):
        nnlearn.load(path)
    assert main(["evaluate", str(path)]) == 1
    assert main(["predict", str(path), str(digit)]) == 1
    err = capsys.readouterr().err
    assert err.count("refuses to build") == 2 and "Traceback" not in err


def test_a_pool_window_over_64x64_is_refused(tmp_path):
    path = bombs.model_file(tmp_path / "pool.npz", [
        {"type": "MaxPool2D", "config": {"pool_size": [65, 65], "stride": [65, 65]}},
        {"type": "Flatten", "config": {}}, {"type": "Dense", "config": {"n_in": 1, "n_out": 10}}],
        [1, 65, 65])
    with pytest.raises(ModelFileError, match="pool_size 65×65 has 4225 pixels; windows of more "
                                             "than 4096 pixels"):
        nnlearn.load(path)


def test_too_many_layers_and_too_long_headers_are_refused(tmp_path, monkeypatch):
    deep = bombs.deep_model(tmp_path / "deep.npz", memory.MAX_LAYERS)  # + the Dense: one too many
    with pytest.raises(ModelFileError, match="has 1,001 layers, more than the limit of 1000"):
        nnlearn.load(deep)
    assert len(nnlearn.load(bombs.deep_model(tmp_path / "ok.npz", 999)).layers) == 1000
    monkeypatch.setattr(model_file, "MAX_HEADER_BYTES", 20_000)  # the real limit is 16 MiB
    with pytest.raises(ModelFileError, match="header is 35,[0-9]{3} bytes of JSON, more than "
                                             "the limit of 20,000"):
        nnlearn.load(deep)


def test_values_per_example_are_bounded(tmp_path):
    path = bombs.model_file(tmp_path / "wide.npz", [
        {"type": "Conv2D", "config": {"in_channels": 1, "out_channels": 20, "kernel_size": [3, 3],
                                      "stride": [1, 1], "padding": [1, 1]}},
        {"type": "MaxPool2D", "config": {"pool_size": [64, 64], "stride": [64, 64]}},
        {"type": "Flatten", "config": {}},
        {"type": "Dense", "config": {"n_in": 20 * 15 * 15, "n_out": 10}}], [1, 960, 960])
    with pytest.raises(ModelFileError, match=r"layer 0 \(Conv2D\): its output \(20, 960, 960\) "
                                             r"has 18,432,000 values per example, more than "
                                             r"the limit of 16,777,216"):
        nnlearn.load(path)


def test_inference_batches_shrink_for_large_examples_and_give_the_same_outputs():
    net = nnlearn.Network([nnlearn.Conv2D(1, 4, 3, padding=1, input_shape=(1, 192, 192)),
                           nnlearn.Sigmoid(), nnlearn.AvgPool2D(64), nnlearn.Flatten(),
                           nnlearn.Dense(36, 3), nnlearn.Softmax()], "log_likelihood", seed=0)
    per_example = memory.inference_example_values(memory.network_plans(net)) * 4
    # input 36,864 + conv 147,456 + its columns 9·36,864 + sigmoid 147,456 + pool 36 + its
    # windows 64·64·4·9 = 147,456 + flatten 36 + dense 3 + softmax 3 values
    assert per_example == 4 * 811_086
    batch = memory.inference_batch_size(net, 1000)
    assert batch == memory.INFERENCE_BATCH_BYTES // per_example == 41
    X = np.random.default_rng(0).random((87, 1, 192, 192), dtype=np.float32)  # 2·41 + 5
    np.testing.assert_allclose(net.predict_proba(X), net.predict_proba(X, batch_size=17),
                               rtol=1e-6)
    book = nnlearn.Network.from_sizes([784, 100, 10])
    assert memory.inference_batch_size(book, 1000) == 1000  # unchanged for the book's networks


def test_plans_agree_with_built_layers():
    from nnlearn.experiments.config import files as config
    from nnlearn.experiments.runs import builder

    for preset in ("ch6-conv2-relu", "ch6-conv2-relu-expanded-fc2", "ch3-100-l2"):
        cfg = config.resolve(config.load_preset(preset))
        shape = (1, 28, 28) if builder.needs_images(cfg) else (784,)
        net = builder.build_network(cfg, shape, 10)
        from_specs = memory.plan_network(net.config()["layers"], shape)
        assert from_specs == memory.network_plans(net)


# -- 2. decompression bombs: IDX -------------------------------------------------------------
def test_idx_rows_are_read_without_holding_the_file(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (20_000, 28, 28), dtype=np.uint8)
    path = bombs.idx_file(tmp_path / "img.idx", images.shape, array=images)
    gz = tmp_path / "img.gz"
    gz.write_bytes(__import__("gzip").compress(path.read_bytes(), 1, mtime=0))
    for source in (path, gz):
        tracemalloc.start()
        first, last = idx.read_idx_rows(source, [(0, 100), (19_990, 20_000)])
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        np.testing.assert_array_equal(first, images[:100])
        np.testing.assert_array_equal(last, images[19_990:])
        assert peak < 4 * 2**20, peak  # the file holds 15.7 MB; 110 rows are 86 kB, a chunk 1 MiB


def test_idx_rows_still_detect_truncated_and_trailing_payloads(tmp_path):
    data = bombs.idx_header((10, 2)) + bytes(20)
    (tmp_path / "short").write_bytes(data[:-1])
    (tmp_path / "long").write_bytes(data + b"x")
    (tmp_path / "short.gz").write_bytes(bombs.gzip_zeros(bombs.idx_header((10, 2)), 19))
    (tmp_path / "long.gz").write_bytes(bombs.gzip_zeros(bombs.idx_header((10, 2)), 21))
    for name, phrase in (("short", "truncated"), ("long", "trailing"), ("short.gz", "truncated"),
                         ("long.gz", "trailing")):
        with pytest.raises(nnlearn.IDXFormatError, match=phrase):
            idx.read_idx_rows(tmp_path / name, [(0, 2)])


def _idx_bomb(folder, n=2_739_000, **kw):
    return bombs.mnist_folder(folder, train_images=bombs.gzip_zeros(bombs.idx_header((n, 28, 28)),
                                                                    n * 784),
                              train_labels=bombs.gzip_zeros(bombs.idx_header((n,)), n), **kw)


def test_idx_bomb_is_refused_from_its_headers_when_all_of_it_is_asked_for(tmp_path, monkeypatch,
                                                                           capsys):
    folder = _idx_bomb(tmp_path / "bomb")
    assert sum(p.stat().st_size for p in folder.iterdir()) < 3_000_000
    monkeypatch.setenv(system_memory.MEMORY_LIMIT_ENV, "4G")
    for dtype, figure in (("float32", "10 GiB"), ("float64", "18 GiB")):
        assert main(["train", "--data", str(folder), "--dtype", dtype, "--epochs", "1",
                     "--no-plots", "--quiet"]) == 1
        err = capsys.readouterr().err
        assert (f"whose headers declare 2,739,000 training and 100 test images of 784 pixels) "
                f"needs about {figure}") in err
        assert ("but only 4 GiB is available ($NNLEARN_MEMORY_LIMIT); use fewer examples "
                "(train_size, --train-size)") in err


def test_train_size_and_validation_are_applied_before_conversion(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (3000, 28, 28), dtype=np.uint8)
    folder = bombs.mnist_folder(tmp_path / "d", labels={"train_labels": np.arange(3000) % 10},
                                train_images=bombs.idx_file(tmp_path / "i", images.shape,
                                                            array=images))
    tracemalloc.start()
    data = mnist.load_idx_dataset(folder, validation_size=100, train_size=200, dtype="float64")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert data.train[0].shape == (200, 784) and data.validation[0].shape == (100, 784)
    np.testing.assert_array_equal(data.train[0], images[:200].reshape(200, -1) / 255)
    np.testing.assert_array_equal(data.validation[1], np.arange(2900, 3000) % 10)
    # converted: 400 images (train, validation, test) of 784 float64, 2.5 MB, not 3,100 (19 MB)
    assert peak < 8 * 2**20, peak
    with pytest.raises(ConfigError, match="train_size 2901 exceeds the 2900 training images"):
        mnist.load_idx_dataset(folder, validation_size=100, train_size=2901)


# -- 2. decompression bombs: PNG and Pillow ----------------------------------------------------
def test_png_bombs_are_refused_from_the_header(tmp_path, monkeypatch, digit, capsys):
    rgba16 = bombs.png_file(tmp_path / "rgba16.png", 16384, 16384, color=6, depth=16)
    grey8 = bombs.png_file(tmp_path / "grey8.png", 16384, 16384)
    assert rgba16.stat().st_size < 3_000_000 and grey8.stat().st_size < 700_000
    model = bombs.small_model(tmp_path / "m.npz")
    for path in (rgba16, grey8):
        assert main(["predict", str(model), str(path)]) == 1
        assert ("a PNG of 16384×16384 = 268,435,456 pixels is larger than the limit of "
                "16,777,216 pixels; scale it down first") in capsys.readouterr().err
    monkeypatch.setenv(system_memory.MEMORY_LIMIT_ENV, "1G")  # the reader's own limit is 2**28 pixels
    with pytest.raises(ResourceError, match=r"decoding .*rgba16.png \(16384×16384 pixels\) needs "
                                            r"about 12 GiB \(unfiltered rows 6 GiB"):
        png.read_png(rgba16)


def test_unfiltering_by_diagonals_matches_byte_by_byte(tmp_path, monkeypatch):
    from tests.cli.test_predict import encode

    rng = np.random.default_rng(2)
    for shape, color in (((60, 80, 4), 6), ((90, 50, 3), 2), ((64, 64), 0)):  # wide, tall, square
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        for filters in (tuple(rng.integers(0, 5, 11)), (4,), (3,)):
            (tmp_path / "f.png").write_bytes(encode(image, color, filters=filters))
            np.testing.assert_array_equal(png.read_png(tmp_path / "f.png"), image)
            monkeypatch.setattr(png, "WAVEFRONT_MIN_WIDTH", 10**9)  # force byte by byte
            np.testing.assert_array_equal(png.read_png(tmp_path / "f.png"), image)
            monkeypatch.undo()


def test_a_paeth_bomb_decodes_by_diagonals(tmp_path):
    path = bombs.png_file(tmp_path / "paeth.png", 2048, 2048, row_filter=4, fill=1)
    pixels = png.read_png(path)
    # row 0 is Sub in effect (b = c = 0): 1, 2, 3, ...; below it every Paeth prediction is the
    # byte above (|p − b| = |a − c| = 0 once the rows repeat), so every row equals row 0 + 1 ...
    np.testing.assert_array_equal(pixels[0, :5], [1, 2, 3, 4, 5])
    reference = png._unfilter_sequential(4, np.ones(2048, np.uint8), pixels[9], 1)
    np.testing.assert_array_equal(pixels[10], reference)


def test_thin_paeth_images_are_bounded(tmp_path):
    path = bombs.png_file(tmp_path / "thin.png", 2**20, 20, row_filter=4)
    with pytest.raises(DataError, match="too thin to decode quickly"):
        png.read_png(path)


def test_pillow_decompression_bombs_are_data_errors(tmp_path):
    pytest.importorskip("PIL")
    with pytest.raises(DataError, match=r"Image size \(900000000 pixels\) exceeds limit .* The "
                                        r"limit here is 16,777,216 pixels"):
        digits.load_image(bombs.bmp_header(tmp_path / "bomb.bmp", 30000, 30000))
    with pytest.raises(DataError, match="an image of 5000×5000 = 25,000,000 pixels is larger "
                                        "than the limit"):  # below Pillow's limit, above ours
        digits.load_image(bombs.bmp_header(tmp_path / "big.bmp", 5000, 5000))


# -- 4. sizes checked before allocation ----------------------------------------------------------
def test_a_hundred_million_hidden_units_are_refused_with_the_figure(capsys):
    assert main(["train", "--hidden", "100000000", *SMALL_RUN]) == 1
    err = capsys.readouterr().err
    assert "training this network needs about 1.47 TiB (checkpoint copies 592 GiB" in err
    assert "use a smaller network: fewer hidden units (e.g. --hidden 100)" in err


def test_a_million_hidden_units_are_refused_under_a_limit(monkeypatch, capsys):
    monkeypatch.setenv(system_memory.MEMORY_LIMIT_ENV, "12G")
    assert main(["train", "--hidden", "1000000", *SMALL_RUN]) == 1
    assert "needs about 15.2 GiB" in capsys.readouterr().err


def test_a_convnet_config_too_large_for_the_memory(tmp_path, monkeypatch, capsys):
    config = tmp_path / "wide.toml"
    config.write_text('[[model.layers]]\ntype = "Conv2D"\nout_channels = 20000\nkernel_size = 5\n'
                      'padding = 4\n[[model.layers]]\ntype = "MaxPool2D"\npool_size = 32\n'
                      '[[model.layers]]\ntype = "Flatten"\n[[model.layers]]\ntype = "Dense"\n'
                      '[[model.layers]]\ntype = "Softmax"\n[model]\ncost = "log_likelihood"\n')
    monkeypatch.setenv(system_memory.MEMORY_LIMIT_ENV, "4G")
    assert main(["train", "--config", str(config), *SMALL_RUN]) == 1
    err = capsys.readouterr().err
    assert "training this network needs about" in err and "(training activations" in err
    assert "use a smaller --mini-batch-size or smaller layers" in err
    config.write_text(config.read_text().replace("out_channels = 20000\nkernel_size = 5\n"
                                                 "padding = 4", "out_channels = 2\nkernel_size = 5"
                                                 "\npadding = 20000"))
    assert main(["train", "--config", str(config), *SMALL_RUN]) == 2
    assert ("model.layers[0] (Conv2D): padding 20000 exceeds kernel_size − 1 = (4, 4)"
            in capsys.readouterr().err)


def test_available_memory_is_the_least_of_the_limits(monkeypatch):
    monkeypatch.delenv(system_memory.MEMORY_LIMIT_ENV, raising=False)
    free, source = system_memory.available_memory()
    assert free is not None and free > 0
    monkeypatch.setenv(system_memory.MEMORY_LIMIT_ENV, "1.5GiB")
    assert system_memory.available_memory() == (3 * 2**29, "$NNLEARN_MEMORY_LIMIT")
    assert system_memory.parse_size("512M") == 2**29 and system_memory.parse_size("4096") == 4096
    monkeypatch.setenv(system_memory.MEMORY_LIMIT_ENV, "lots")
    with pytest.raises(ConfigError, match="must be a size such as 4G"):
        system_memory.available_memory()


# -- 5. stray labels -------------------------------------------------------------------------------
def test_count_classes_rule():
    y = np.arange(100) % 10
    assert count_classes({"train": y, "test": y}) == (10, None)
    with pytest.raises(DataError, match=r"only 11 of the 256 classes 0 to 255 occur in the labels: "
                                        r"the labels 255 \(1× in train\) lie far beyond the others "
                                        r"\(0 to 9\)"):
        count_classes({"train": np.append(y, 255), "test": y})
    assert count_classes({"train": np.append(y, 255)}, num_classes=256).classes == 256
    twelve = count_classes({"train": np.arange(120) % 12})
    assert twelve.classes == 12 and "the labels name 12 classes (0 to 11), not the 10" in twelve.note
    with pytest.raises(DataError, match="labels go up to 255, but num_classes"):
        count_classes({"train": np.append(y, 255)}, num_classes=100)


def test_a_stray_label_is_refused_unless_the_class_count_is_stated(tmp_path, capsys):
    labels = mnist.read_idx(next(mnist.mnist_path().glob("train-labels*")))[:600].astype(np.int64)
    labels[17] = 255
    folder = bombs.mnist_folder(tmp_path / "d", n_train=600, labels={"train_labels": labels})
    run = ["train", "--data", str(folder), "--epochs", "1", "--validation-size", "100",
           "--seed", "1", "--no-plots"]
    assert main(run + ["--quiet"]) == 1
    err = capsys.readouterr().err
    assert "the labels 255 (1× in training) lie far beyond the others (0 to 9)" in err
    assert "--num-classes 256" in err
    assert main(run + ["--num-classes", "256", "--run-dir", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert ("note: the labels name 256 classes (0 to 255), not the 10 an MNIST-style data set "
            "suggests; the network gets 256 outputs") in out
    assert nnlearn.load(tmp_path / "r" / "model.npz").output_shape == (256,)


def test_huge_labels_are_stray_then_too_big(tmp_path, monkeypatch, capsys):
    for label, stated in ((2**31 - 1, "2147483647"), (3_000_000, "3000000")):
        labels = np.arange(300) % 10
        labels[5] = label
        folder = bombs.mnist_folder(tmp_path / str(label), n_train=300,
                                    labels={"train_labels": labels})
        run = ["train", "--data", str(folder), *SMALL_RUN[:2], "--validation-size", "50",
               "--no-plots", "--quiet"]
        assert main(run) == 1
        assert f"the labels {label} (1× in training)" in capsys.readouterr().err
        monkeypatch.setenv(system_memory.MEMORY_LIMIT_ENV, "2G")
        assert main(run + ["--num-classes", str(int(stated) + 1)]) == 1
        err = capsys.readouterr().err
        assert "training this network needs about" in err and "one-hot targets" in err
        monkeypatch.delenv(system_memory.MEMORY_LIMIT_ENV)


# -- the real command lines, under RLIMIT_AS, with their peak memory ----------------------------
@pytest.mark.slow
def test_bombs_end_in_clean_errors_under_a_2_gib_address_space(tmp_path, digit):
    idx_bomb = _idx_bomb(tmp_path / "idx")
    cases = [
        ("evaluate", bombs.conv_pool_bomb(tmp_path / "conv.npz")),
        ("evaluate", bombs.deep_model(tmp_path / "deep.npz", 10**6)),
        ("predict", bombs.small_model(tmp_path / "m.npz"),
         bombs.png_file(tmp_path / "p.png", 16384, 16384, color=6, depth=16)),
        ("train", "--data", idx_bomb, "--epochs", "1", "--no-plots", "--quiet"),
        ("train", "--hidden", "1000000", *SMALL_RUN),
    ]
    for argv in cases:
        outcome = bombs.nnlearn(*argv, limit=2 * GiB, timeout=120)
        assert bombs.clean_failure(outcome) is None, (argv, bombs.clean_failure(outcome))
        assert outcome.returncode == 1, (argv, outcome.stderr)
        assert outcome.peak_rss < 600 * 2**20, (argv, outcome.peak_rss)


@pytest.mark.slow
def test_an_idx_bomb_with_train_size_trains_in_little_memory(tmp_path):
    # a million images (784 MB declared) keep the test short; the report runs the 2.1 GB one
    outcome = bombs.nnlearn("train", "--data", _idx_bomb(tmp_path / "idx", n=10**6), "--train-size",
                            "2000", "--epochs", "1", "--hidden", "30", "--seed", "1",
                            "--no-plots", "--quiet", "--run-dir", tmp_path / "run",
                            limit=2 * GiB, timeout=120)
    assert outcome.returncode == 0, outcome.stderr
    assert "Test accuracy" in outcome.stdout
    assert outcome.peak_rss < 300 * 2**20  # the files declare 785 MB


def test_a_png_bomb_posted_to_the_web_predictor_is_refused_from_its_header(tmp_path):
    pytest.importorskip("starlette")
    import base64

    from starlette.testclient import TestClient

    from nnlearn.web.app import create_app
    from nnlearn.web.routes.common import MAX_BODY_BYTES

    data = bombs.png_file(tmp_path / "bomb.png", 16384, 16384).read_bytes()
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    assert len(url) < MAX_BODY_BYTES  # fits the request limit; 268 megapixels declared
    with TestClient(create_app(tmp_path / "runs", max_sessions=1), base_url="http://localhost") as client:
        answer = client.post("/api/predict", json={"image": url})
    assert answer.status_code == 400
    assert answer.json()["field"] == "image"
    assert ("a PNG of 16384×16384 = 268,435,456 pixels is larger than the limit of 4,000,000 "
            "pixels") in answer.json()["error"]


def test_from_sizes_refuses_a_network_larger_than_the_memory_before_allocating_it():
    tracemalloc.start()
    try:
        with pytest.raises(ResourceError, match=r"training this network needs about .* GiB .*parameters"):
            nnlearn.Network.from_sizes([784, 10**7, 10])   # 7.8e9 weights: ~30 GiB of float32
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20  # refused from the estimate, not after trying to allocate
    assert nnlearn.Network.from_sizes([784, 30, 10]).output_shape == (10,)
