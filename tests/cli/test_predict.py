"""`nnlearn predict`: the PNG reader, MNIST-style preprocessing, and re-rendered test digits."""

import json
import struct
import sys
import zlib

import numpy as np
import pytest

import nnlearn
from nnlearn.data import digits
from nnlearn.cli import main
from nnlearn.data.png import SIGNATURE, read_png, write_png


# -- a reference encoder that applies a chosen filter to each row (PNG spec §9) ------------
def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def encode(image, color, depth=8, filters=(0, 1, 2, 3, 4), palette=None, interlace=0):
    rows = image.reshape(image.shape[0], -1) if depth >= 8 else image
    if depth == 16:
        rows = rows.astype(">u2").view(np.uint8).reshape(image.shape[0], -1)
    bpp = max(1, {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color] * depth // 8)
    out, prior = bytearray(), [0] * rows.shape[1]
    for y, row in enumerate(rows.astype(int).tolist()):
        f = filters[y % len(filters)]
        line = []
        for x, v in enumerate(row):
            a = row[x - bpp] if x >= bpp else 0
            b, c = prior[x], prior[x - bpp] if x >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][f]
            line.append((v - pred) & 255)
        out += bytes([f] + line)
        prior = row
    height = image.shape[0]
    width = image.shape[1] if depth >= 8 else image.shape[1] * 8 // depth

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    data = SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color, 0, 0,
                                                  interlace))
    if palette is not None:
        data += chunk(b"PLTE", palette.astype(np.uint8).tobytes())
    return data + chunk(b"IDAT", zlib.compress(bytes(out))) + chunk(b"IEND", b"")


RNG = np.random.default_rng(0)


@pytest.mark.parametrize("color, channels", [(0, None), (2, 3), (4, 2), (6, 4)])
def test_reader_undoes_all_five_filters(tmp_path, color, channels):
    shape = (9, 7) if channels is None else (9, 7, channels)
    image = RNG.integers(0, 256, shape, dtype=np.uint8)
    path = tmp_path / "f.png"
    path.write_bytes(encode(image, color))
    np.testing.assert_array_equal(read_png(path), image)


def test_reader_16_bit_palette_and_low_bit_depths(tmp_path):
    deep = RNG.integers(0, 65536, (5, 6), dtype=np.uint16)
    (tmp_path / "16.png").write_bytes(encode(deep, 0, depth=16))
    np.testing.assert_array_equal(read_png(tmp_path / "16.png"), deep)
    palette = RNG.integers(0, 256, (4, 3))
    index = RNG.integers(0, 4, (6, 5)).astype(np.uint8)
    (tmp_path / "p.png").write_bytes(encode(index, 3, palette=palette))
    np.testing.assert_array_equal(read_png(tmp_path / "p.png"), palette[index])
    bits = RNG.integers(0, 2, (4, 16))
    packed = np.packbits(bits.astype(np.uint8), axis=1)
    (tmp_path / "1.png").write_bytes(encode(packed, 0, depth=1, filters=(0, 1, 2)))
    np.testing.assert_array_equal(read_png(tmp_path / "1.png"), bits * 255)


def test_writer_round_trip_and_pillow_agrees(tmp_path):
    for shape in ((5, 8), (5, 8, 3), (5, 8, 4)):
        image = RNG.integers(0, 256, shape, dtype=np.uint8)
        write_png(tmp_path / "w.png", image)
        np.testing.assert_array_equal(read_png(tmp_path / "w.png"), image)
    PIL = pytest.importorskip("PIL.Image")
    image = RNG.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    PIL.fromarray(image).save(tmp_path / "pil.png", optimize=True)
    np.testing.assert_array_equal(read_png(tmp_path / "pil.png"), image)
    with PIL.open(tmp_path / "w.png") as im:
        np.testing.assert_array_equal(np.asarray(im), read_png(tmp_path / "w.png"))


def test_reader_rejects_damaged_and_unsupported_files(tmp_path):
    good = encode(RNG.integers(0, 256, (4, 4), dtype=np.uint8), 0)
    cases = {"sig.png": (b"GIF89a" + good[6:], "not a PNG"),
             "crc.png": (good[:30] + bytes([good[30] ^ 1]) + good[31:], "CRC mismatch"),
             "cut.png": (good[:-20], "truncated"),
             "inter.png": (encode(np.zeros((4, 4), np.uint8), 0, interlace=1), "interlaced")}
    for name, (data, phrase) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(nnlearn.DataError, match=phrase):
            read_png(tmp_path / name)
    with pytest.raises(nnlearn.DataError, match="uint8"):
        write_png(tmp_path / "x.png", np.zeros((3, 3)))


def test_non_png_needs_pillow(tmp_path, monkeypatch):
    path = tmp_path / "digit.bmp"
    PIL = pytest.importorskip("PIL.Image")
    PIL.fromarray(np.full((10, 10), 200, np.uint8)).save(path)
    assert digits.load_image(path).shape == (10, 10)
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r'needs Pillow: pip install "nnlearn\[images\]" \(or pip '
                                          r'install "\.\[images\]" in a checkout of nnlearn; it brings '
                                          r'Pillow\)'):
        digits.load_image(path)


def test_alpha_is_composited_over_white():
    rgba = np.zeros((2, 2, 4), np.uint8)  # transparent black = paper
    rgba[0, 0] = (0, 0, 0, 255)           # opaque black ink
    np.testing.assert_allclose(digits.to_grey(rgba), [[0, 1], [1, 1]])


def test_area_resampling():
    R = digits.area_weights(10, 4)
    np.testing.assert_allclose(R.sum(axis=1), 1.0)
    np.testing.assert_allclose(R[0], [0.4, 0.4, 0.2] + [0] * 7)
    small = RNG.random((5, 3))
    np.testing.assert_allclose(digits.resize_area(np.kron(small, np.ones((4, 4))), (5, 3)), small)


def test_to_mnist_crops_scales_into_20_and_centres_by_mass():
    canvas = np.ones((300, 200))                  # white paper
    canvas[40:160, 120:180] = 0.0                 # a dark bar 120 tall, 60 wide, off-centre
    canvas[40:60, 120:190] = 0.0                  # and a flag: mass is not symmetric
    out = digits.to_mnist(canvas)
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0 + 1e-6
    rows, cols = np.flatnonzero(out.any(axis=1) > 0), np.flatnonzero(out.any(axis=0) > 0)
    assert rows[-1] - rows[0] + 1 == 20 and cols[-1] - cols[0] + 1 == round(70 * 20 / 120)
    mass = out.sum()
    cy = (out.sum(axis=1) * np.arange(28)).sum() / mass
    cx = (out.sum(axis=0) * np.arange(28)).sum() / mass
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    np.testing.assert_allclose(digits.to_mnist(1.0 - canvas), out, atol=1e-6)  # light on dark
    np.testing.assert_allclose(digits.to_mnist(1.0 - canvas, invert=False), out, atol=1e-6)
    with pytest.raises(nnlearn.DataError, match="no visible ink"):
        digits.to_mnist(np.full((50, 50), 0.8))


def test_probabilities_sum_to_one():
    net = nnlearn.Network.from_sizes([784, 10, 10], seed=0)           # sigmoid outputs
    soft = nnlearn.Network.from_sizes([784, 10, 10], cost="log_likelihood", seed=0)
    X = RNG.random((3, 784))
    for n in (net, soft):
        np.testing.assert_allclose(digits.class_probabilities(n, X).sum(axis=1), 1.0, rtol=1e-5)
    lin = nnlearn.Network.from_sizes([784, 10, 10], output_activation="linear", cost="quadratic",
                                     seed=0)
    p = digits.class_probabilities(lin, X)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    assert (p.argmax(axis=1) == lin.predict(X)).all()
    with pytest.raises(nnlearn.DataError, match="28×28"):
        digits.network_inputs(nnlearn.Network.from_sizes([4, 3], seed=0), np.zeros((1, 28, 28)))


def test_re_rendering_an_mnist_digit_gives_it_back(mnist):
    """Upscaled 4× with dark ink on paper, preprocessing recovers MNIST's own pixels
    (up to ink fainter than the 0.1 cropping threshold at the digit's very edge)."""
    for image in mnist.test[0][:50].reshape(-1, 28, 28):
        paper = np.ones((200, 190))
        paper[30:142, 60:172] = 1.0 - np.kron(image, np.ones((4, 4)))
        diff = np.abs(digits.to_mnist(paper) - image / image.max())
        assert diff.max() <= digits.INK_THRESHOLD and diff.mean() < 0.002


def render(image28, scale, canvas_hw, at, rgb):
    """A test digit drawn large with dark ink on white paper, off-centre."""
    big = np.kron(image28, np.ones((scale, scale)))
    paper = np.ones(canvas_hw)
    y, x = at
    paper[y:y + big.shape[0], x:x + big.shape[1]] = 1.0 - big
    pixels = np.round(255 * paper).astype(np.uint8)
    return np.dstack([pixels] * 3) if rgb else pixels


def test_predict_classifies_re_rendered_test_digits_as_well_as_the_originals(tmp_path, mnist, capsys):
    X, y = mnist.train
    net = nnlearn.Network.from_sizes([784, 60, 10], cost="cross_entropy", seed=4)
    net.fit(X[:10000], y[:10000], epochs=3, mini_batch_size=10, eta=0.5)
    model = tmp_path / "model.npz"
    net.save(model)
    Xt, yt = mnist.test[0][:200], mnist.test[1][:200]
    original = float((net.predict(Xt) == yt).mean())
    paths = []
    rng = np.random.default_rng(1)
    for i, image in enumerate(Xt.reshape(-1, 28, 28)):
        scale = int(rng.integers(3, 6))
        size = 28 * scale
        at = (int(rng.integers(0, 220 - size)), int(rng.integers(0, 300 - size)))
        path = tmp_path / f"d{i:03d}.png"
        write_png(path, render(image, scale, (220, 300), at, rgb=i % 2 == 0))
        paths.append(str(path))
    assert main(["predict", str(model), *paths, "--json"]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["image"] for r in results] == paths
    predicted = np.array([r["digit"] for r in results])
    rerendered = float((predicted == yt).mean())
    assert original > 0.85
    print(f"accuracy on 200 originals {original:.3f}, re-rendered {rerendered:.3f}")
    assert rerendered >= original - 0.02, (rerendered, original)
    assert all(abs(sum(r["probabilities"]) - 1) < 1e-4 for r in results)


def test_predict_text_output_run_folder_and_preprocessed_images(tmp_path, capsys):
    from nnlearn.experiments.runs.folder import Run
    from nnlearn.experiments.config import files as cfgmod

    run = Run.create(cfgmod.resolve(), run_dir=tmp_path / "run")
    net = nnlearn.Network.from_sizes([784, 10, 10], seed=0)
    net.save(run.model_path)
    canvas = np.full((60, 40), 255, np.uint8)
    canvas[10:50, 18:24] = 0  # a "1"
    write_png(tmp_path / "one.png", canvas)
    out = tmp_path / "seen"
    assert main(["predict", str(run.path), str(tmp_path / "one.png"),
                 "--save-preprocessed", str(out)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{tmp_path / 'one.png'}: ") and "(p = " in line and "9:" in line
    seen = read_png(out / "one-28x28.png")
    assert seen.shape == (28, 28) and seen.max() == 255 and seen[0].max() == 0
    assert main(["predict", str(run.model_path), str(tmp_path / "missing.png")]) == 1
    (tmp_path / "blank.png").write_bytes(encode(np.full((9, 9), 255, np.uint8), 0))
    assert main(["predict", str(run.model_path), str(tmp_path / "blank.png")]) == 1
    assert "no visible ink" in capsys.readouterr().err
