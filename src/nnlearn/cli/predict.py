"""``nnlearn predict MODEL IMAGE...``: the digit and class probabilities for each image file.

Every image is reported on its own line, in the order given; an image that cannot be read
or holds no single digit gets an error line naming it (on stderr, or an ``"error"`` object
with ``--json``) and the others are still classified. The exit status is 1 when any image
failed, after all of them were tried.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nnlearn import backend
from nnlearn.cli import models
from nnlearn.errors import NNLearnError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "predict", help="classify your own digit images (drawn, scanned or photographed)",
        description="Read each image (PNG built in; JPEG and others with Pillow, turned upright "
                    "by their EXIF orientation), find the digit's ink (the paper's brightness "
                    "removed, a threshold from the image, specks ignored), prepare it as MNIST "
                    "digits were made (crop, scale into 20x20 keeping the aspect ratio, centre "
                    "by centre of mass in 28x28) and print the predicted digit and the class "
                    "probabilities. An image that fails is named and the others still run; "
                    "the exit status is then 1.")
    p.add_argument("model", metavar="MODEL|RUN", help=models.HELP)
    p.add_argument("images", metavar="IMAGE", nargs="+", help="image files")
    p.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                   help="dark ink on light paper? auto: decide from the image (default)")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.add_argument("--save-preprocessed", metavar="DIR", default=None,
                   help="also write each 28x28 input the network saw as a PNG here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # the image decoders load when a prediction runs, since --help imports every command module
    from nnlearn.data import digits  # (keeps nnlearn --help fast)
    from nnlearn.data.png import write_png  # (keeps nnlearn --help fast)

    net = models.load_model(args.model)
    digits.network_inputs(net, backend.xp.zeros((0, digits.FIELD, digits.FIELD)))  # 28×28?
    invert = {"auto": None, "yes": True, "no": False}[args.invert]
    out = Path(args.save_preprocessed) if args.save_preprocessed else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in args.images:
        try:
            prepared = digits.to_mnist(digits.load_pixels(path), invert=invert)
        except (NNLearnError, OSError) as exc:
            failed += 1
            text = str(exc) if path in str(exc) else f"{path}: {exc}"  # named once
            if args.json:
                print(json.dumps({"image": path, "error": text}), flush=True)
            else:
                print(f"nnlearn predict: error: {text}", file=sys.stderr, flush=True)
            continue
        p = backend.to_numpy(digits.class_probabilities(
            net, digits.network_inputs(net, prepared[None])))[0]
        if out is not None:
            write_png(out / f"{Path(path).stem}-28x28.png",
                      (255 * backend.to_numpy(prepared) + 0.5).astype("uint8"))
        digit = int(p.argmax())
        if args.json:
            print(json.dumps({"image": path, "digit": digit,
                              "probabilities": [round(float(v), 6) for v in p]}), flush=True)
        else:
            ranked = " ".join(f"{k}:{p[k]:.3f}" for k in range(len(p)))
            print(f"{path}: {digit} (p = {p[digit]:.3f})   {ranked}", flush=True)
    if failed:
        print(f"nnlearn predict: error: {failed} of {len(args.images)} image(s) failed (named "
              "above)", file=sys.stderr)
    return 1 if failed else 0
