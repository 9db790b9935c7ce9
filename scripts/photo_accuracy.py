r"""How well ``nnlearn predict`` reads photographed digits: writes docs/photos.md.

Usage::

    python scripts/photo_accuracy.py                 # 300 photos, the shipped Draw model
    python scripts/photo_accuracy.py --count 1000 --model runs/l2

The first ``--count`` digits of MNIST's test set are drawn as photo-like JPEGs by
:mod:`nnlearn.data.photo_digits` (dark or coloured ink on lit, tinted, noisy paper,
turned up to ±12°, small on a large page for about a third, JPEG-compressed, a third
stored sideways with an EXIF orientation tag), read back by the same code as
``nnlearn predict`` (``load_pixels`` then ``to_mnist``), and classified. The table
compares that accuracy with the accuracy on the same digits fed to the network
directly, overall and per condition.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy

import nnlearn
from nnlearn.data import digits, load_mnist, photo_digits
from nnlearn.errors import DataError
from nnlearn.web.predictor import shipped_model_path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300, help="photos (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="the photos' seed (default: %(default)s)")
    parser.add_argument("--model", default=None,
                        help="model file or run folder (default: the shipped Draw model)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "photos.md")
    args = parser.parse_args()

    model = Path(args.model) if args.model else shipped_model_path()
    net = nnlearn.load(model / "model.npz" if model.is_dir() else model)
    X, y = load_mnist().test
    X, y = X[:args.count], y[:args.count]
    direct = net.predict(X) == y
    groups: dict[str, list[int]] = defaultdict(list)
    read = numpy.zeros(len(y), dtype=bool)
    refused = []
    seconds = []
    with tempfile.TemporaryDirectory() as folder:
        photos = photo_digits.photo_set(X.reshape(-1, 28, 28), folder, seed=args.seed)
        for i, photo in enumerate(photos):
            c = photo["conditions"]
            start = time.process_time()
            try:
                prepared = digits.to_mnist(digits.load_pixels(photo["path"]))
            except DataError as exc:
                refused.append((i, str(exc)))
                prepared = None
            seconds.append(time.process_time() - start)
            if prepared is not None:
                p = digits.class_probabilities(net, digits.network_inputs(net, prepared[None]))
                read[i] = int(p[0].argmax()) == y[i]
            groups["all"].append(i)
            groups["small digit on a large page" if c["small"] else "digit 110–260 px tall"].append(i)
            groups["EXIF orientation 3, 6 or 8" if c["orientation"] != 1 else "no EXIF turn"].append(i)
            groups[f"{c['ink']} ink"].append(i)
            groups[f"{c['paper']} paper"].append(i)
            groups["noise σ ≥ 5 (of 255)" if c["noise_sigma"] >= 5 else "noise σ < 5"].append(i)
            groups["tilted ≥ 6°" if abs(c["tilt_degrees"]) >= 6 else "tilted < 6°"].append(i)

    def row(name: str, members: list[int]) -> str:
        m = numpy.array(members)
        return (f"| {name} | {len(m)} | {100 * direct[m].mean():.1f}% | {100 * read[m].mean():.1f}% | "
                f"{100 * (direct[m].mean() - read[m].mean()):+.1f} |")

    order = ["all", "digit 110–260 px tall", "small digit on a large page", "no EXIF turn",
             "EXIF orientation 3, 6 or 8", "tilted < 6°", "tilted ≥ 6°", "noise σ < 5",
             "noise σ ≥ 5 (of 255)"]
    order += sorted(k for k in groups if k.endswith(" ink")) + sorted(k for k in groups if k.endswith(" paper"))
    command = "python scripts/photo_accuracy.py" + (f" --count {args.count}" if args.count != 300 else "") \
        + (f" --seed {args.seed}" if args.seed else "") + (f" --model {args.model}" if args.model else "")
    lines = [
        "# Photographed digits",
        "",
        f"Written by `{command}` (do not edit by hand). The first {args.count} digits of MNIST's "
        "test set drawn as photo-like JPEGs by `nnlearn.data.photo_digits` (dark or coloured ink on "
        "lit, tinted, noisy paper; turned up to ±12°; small on a large page for about a third; "
        "JPEG quality 55–92; a third stored sideways or upside down with the EXIF orientation "
        "tag that turns them upright), read by the code path of `nnlearn predict` "
        "(`nnlearn.data.digits.load_pixels`, then `to_mnist`: the steps are listed in that "
        "module's docstring) and classified by "
        + (f"`{args.model}`" if args.model else "the shipped Draw model (`nnlearn/web/models/digits-mlp.npz`, "
           "[784, 100, 10], trained with shifts and turns by `scripts/train_web_model.py`)")
        + ". *Direct* feeds the same digits to the network as MNIST stores them.",
        "",
        "| photos | count | direct | photos | direct − photos (points) |",
        "|---|---|---|---|---|",
        *[row(name, groups[name]) for name in order if groups.get(name)],
        "",
        f"Refused (no single digit found): {len(refused)} of {args.count}"
        + (": " + "; ".join(f"photo {i}: {text}" for i, text in refused[:5]) if refused else "") + ".",
        f"Preparation time per photo (reading the JPEG included), process CPU time: median "
        f"{1000 * numpy.median(seconds):.0f} ms, largest {1000 * max(seconds):.0f} ms.",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
