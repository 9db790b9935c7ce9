"""``nnlearn predict MODEL IMAGE...``: the digit and class probabilities for each image file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser(
        "predict", help="classify your own digit images with a trained model",
        description="Read each image (PNG built in; JPEG and others with Pillow), prepare it as "
                    "MNIST digits were made (greyscale, invert dark-on-light, crop to the ink, "
                    "scale into 20x20 keeping the aspect ratio, centre by centre of mass in "
                    "28x28) and print the predicted digit and the class probabilities.")
    p.add_argument("model", metavar="MODEL", help="model file (.npz) or a run folder")
    p.add_argument("images", metavar="IMAGE", nargs="+", help="image files")
    p.add_argument("--invert", choices=("auto", "yes", "no"), default="auto",
                   help="dark ink on light paper? auto: decide from the border (default)")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.add_argument("--save-preprocessed", metavar="DIR", default=None,
                   help="also write each 28x28 input the network saw as a PNG here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from nnlearn import backend
    from nnlearn.data import digits
    from nnlearn.experiments.runs.folder import Run
    from nnlearn.io.model_file import load

    model = Path(args.model)
    net = load(Run(model).model_path if model.is_dir() else model)
    invert = {"auto": None, "yes": True, "no": False}[args.invert]
    prepared = backend.xp.stack([digits.to_mnist(digits.load_image(p), invert=invert)
                                 for p in args.images])
    probs = backend.to_numpy(digits.class_probabilities(net, digits.network_inputs(net, prepared)))
    if args.save_preprocessed:
        from nnlearn.data.png import write_png
        out = Path(args.save_preprocessed)
        out.mkdir(parents=True, exist_ok=True)
        for path, image in zip(args.images, backend.to_numpy(prepared)):
            write_png(out / f"{Path(path).stem}-28x28.png", (255 * image + 0.5).astype("uint8"))
    for path, p in zip(args.images, probs):
        digit = int(p.argmax())
        if args.json:
            print(json.dumps({"image": path, "digit": digit,
                              "probabilities": [round(float(v), 6) for v in p]}))
        else:
            ranked = " ".join(f"{k}:{p[k]:.3f}" for k in range(len(p)))
            print(f"{path}: {digit} (p = {p[digit]:.3f})   {ranked}")
    sys.stdout.flush()
    return 0
