r"""Valid-but-huge inputs (:func:`huge_models`, :func:`huge_idx`, :func:`huge_png`): files
that pass every format check but declare huge activations, data sets or images. These run
the real command line (``nnlearn predict`` / ``train``) in a subprocess under ``RLIMIT_AS`` =
:data:`BOMB_LIMIT`; the oracle (:func:`check_bomb`) is a success or a clean error (exit 1 or
2 with a message), never a traceback or a ``MemoryError``. The files are built by
``bombs.py`` beside this package.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from .common import _WORKDIR, _count


BOMB_LIMIT = 2 * 2**30
"""``RLIMIT_AS`` of every bomb case: the whole ``nnlearn`` process gets 2 GiB of address space."""


def _bombs():
    import bombs  # beside this package: builders and the limited runner

    return bombs


def check_bomb(target: str, argv: list, limit: int = BOMB_LIMIT) -> object:
    """Run ``python -m nnlearn ARGV`` under ``limit``; it must succeed or fail cleanly (exit 1
    or 2 with one ``error:`` line), never with a traceback or a ``MemoryError``."""
    _count(target)
    bombs = _bombs()
    outcome = bombs.nnlearn(*argv, limit=limit, timeout=300)
    problem = bombs.clean_failure(outcome)
    assert problem is None, f"{' '.join(map(str, argv))}: {problem}"
    return outcome


def _fixtures() -> dict[str, Path]:
    """A digit PNG and a working model, made once per process."""
    bombs = _bombs()
    digit, model = _WORKDIR / "digit.png", _WORKDIR / "small.npz"
    if not digit.exists():
        bombs.digit_png(digit)
        bombs.small_model(model)
    return {"digit": digit, "model": model}


_GEOMETRY = (0, 1, 2, 4, 5, 63, 64, 65, 1000, 10**6, 2**31 - 1)


@st.composite
def huge_models(draw) -> tuple[list[dict], list[int]]:
    """``(layers, input_shape)`` of a model file whose arrays are small but whose geometry may
    ask for huge activations or work: Conv2D padding/stride/kernel, pooling windows, many
    layers, large declared input shapes. The final Dense matches the shapes nnlearn's own
    formulas give, so the file is consistent as far as sizes go."""
    kind = draw(st.sampled_from(("conv", "conv", "pool", "deep")))
    if kind == "deep":
        n = draw(st.sampled_from((999, 1000, 1001, 5000, 100_000)))
        return ([{"type": "Dense", "config": {"n_in": 784, "n_out": 10}}]
                + [{"type": draw(st.sampled_from(("Sigmoid", "ReLU", "Dropout")))
                    if i == 0 else "Sigmoid", "config": {}} for i in range(n)]), [784]
    side = draw(st.sampled_from((28, 28, 1000, 5000, 65535)))
    layers, (C, H) = [], (1, side)
    if kind == "conv":
        k = draw(st.sampled_from((1, 3, 5, 64, 65)))
        pad, stride = draw(st.sampled_from(_GEOMETRY)), draw(st.sampled_from((1, 2, 7, 1000)))
        F = draw(st.sampled_from((1, 4, 32)))
        layers.append({"type": "Conv2D", "config": {
            "in_channels": C, "out_channels": F, "kernel_size": [k, k], "stride": [stride, stride],
            "padding": [pad, pad]}})
        C, H = F, max(1, (H + 2 * pad - k) // stride + 1)
    pool = draw(st.sampled_from((2, 64, 65, H, 1000, 10**5)))
    pool_stride = draw(st.sampled_from((pool, 1)))
    layers.append({"type": draw(st.sampled_from(("MaxPool2D", "AvgPool2D", "L2Pool2D"))),
                   "config": {"pool_size": [pool, pool], "stride": [pool_stride, pool_stride]}})
    out = (H - pool) // pool_stride + 1 if pool <= H else 1
    n_in = C * out * out
    if n_in > 2**16:  # keep the stored Dense small: say what a global pool would leave
        n_in = C
    layers += [{"type": "Flatten", "config": {}},
               {"type": "Dense", "config": {"n_in": n_in, "n_out": 10}},
               {"type": "Softmax", "config": {}}]
    return layers, [1, side, side]


def check_huge_model(case: tuple[list[dict], list[int]], target: str = "bombs: model files"):
    """Write the model and run ``nnlearn predict MODEL digit.png`` under the memory limit."""
    layers, shape = case
    path = _bombs().model_file(_WORKDIR / "bomb.npz", layers, shape, cost="log_likelihood")
    return check_bomb(target, ["predict", path, _fixtures()["digit"]])


@st.composite
def huge_idx(draw) -> dict:
    """An MNIST-style folder whose training (or test) files declare many or large images,
    with a payload of gzip zeros stored in full (up to 256 MiB) or cut short, or int32
    labels as large as 2³¹ − 1."""
    split = draw(st.sampled_from(("train", "test")))
    n = draw(st.sampled_from((300, 10**5, 10**6, 2_739_000, 2**31 - 1)))
    rows = draw(st.sampled_from((28, 28, 1000, 65535)))
    payload = n * rows * rows
    full = payload <= 2**28 and draw(st.booleans())
    stored = payload if full else min(payload, draw(st.sampled_from((0, 1000, 2**20))))
    case = {"split": split, "n": n, "rows": rows, "stored": stored,
            "label": draw(st.sampled_from((None, 10, 255, 3_000_000, 2**31 - 1)))}
    case["num_classes"] = draw(st.sampled_from((None, None, 10, 2**31)))
    return case


def check_huge_idx(case: dict, target: str = "bombs: IDX folders"):
    """Build the folder and run ``nnlearn train --data DIR --train-size 50 ...`` under the limit."""
    import shutil

    bombs = _bombs()
    folder = _WORKDIR / "idx"
    shutil.rmtree(folder, ignore_errors=True)
    n, rows, split = case["n"], case["rows"], case["split"]
    files = {f"{split}_images": bombs.gzip_zeros(bombs.idx_header((n, rows, rows)),
                                                 case["stored"]),
             f"{split}_labels": bombs.gzip_zeros(bombs.idx_header((n,)), min(n, case["stored"]))}
    labels = None
    if case["label"] is not None:
        y = np.arange(300) % 10
        y[7] = case["label"]
        labels = {"train_labels": y}
        files.pop("train_labels", None)
    bombs.mnist_folder(folder, n_train=300, labels=labels, **files)
    argv = ["train", "--data", folder, "--train-size", "50", "--validation-size", "20",
            "--epochs", "1", "--hidden", "5", "--no-plots", "--quiet",
            "--run-dir", _WORKDIR / "run"]
    if case["num_classes"]:
        argv += ["--num-classes", str(case["num_classes"])]
    shutil.rmtree(_WORKDIR / "run", ignore_errors=True)
    return check_bomb(target, argv)


@st.composite
def huge_png(draw) -> dict:
    """A PNG header declaring up to 2³¹ − 1 pixels a side, any colour type and bit depth,
    with image data of every row (when it fits 256 MiB) or a few kilobytes, any filter."""
    color = draw(st.sampled_from((0, 2, 3, 4, 6)))
    depth = draw(st.sampled_from({0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 8), 4: (8, 16),
                                  6: (8, 16)}[color]))
    side = st.sampled_from((1, 28, 2048, 4097, 16384, 2**20, 2**31 - 1))
    width, height = draw(side), draw(side)
    row_bytes = (width * {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color] * depth + 7) // 8
    full = height * (row_bytes + 1) <= 2**28 and draw(st.booleans())
    return {"width": width, "height": height, "color": color, "depth": depth, "full": full,
            "filter": draw(st.sampled_from((0, 1, 2, 3, 4)))}


def check_huge_png(case: dict, target: str = "bombs: PNG files"):
    """Write the PNG and run ``nnlearn predict MODEL image.png`` under the limit."""
    bombs = _bombs()
    path = _WORKDIR / "bomb.png"
    if case["full"]:
        bombs.png_file(path, case["width"], case["height"], color=case["color"],
                       depth=case["depth"], row_filter=case["filter"])
    else:  # the header, and image data for a few rows at most
        header = struct.pack(">IIBBBBB", case["width"], case["height"], case["depth"],
                             case["color"], 0, 0, 0)
        data = bombs.png_chunk(b"IHDR", header)
        if case["color"] == 3:
            data += bombs.png_chunk(b"PLTE", bytes(768))
        data += bombs.png_chunk(b"IDAT", zlib.compress(bytes([case["filter"]]) + bytes(4096)))
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + data + bombs.png_chunk(b"IEND", b""))
    return check_bomb(target, ["predict", _fixtures()["model"], path])
