r"""Train the small digit model that ``nnlearn serve`` ships for Draw-a-digit.

Usage::

    python scripts/train_web_model.py            # writes src/nnlearn/web/models/digits-mlp.npz

A [784, 100, 10] network (sigmoid hidden layer, softmax output, log-likelihood cost,
N(0, 1/n_in) weights), trained with Adam on the 50,000 MNIST training images of the
shipped data set for a few epochs. Every epoch sees freshly shifted (±2 pixels) and
rotated (±12°) copies of the images (``nnlearn.data.augment``), because digits drawn
with a mouse are less carefully centred and upright than MNIST's. The file is about
320 KB (float32, uncompressed ``.npz``; no pickle) and records its validation and
test accuracy in its metadata.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import nnlearn
from nnlearn.data import augment, load_mnist

OUT = Path(__file__).resolve().parent.parent / "src" / "nnlearn" / "web" / "models" / "digits-mlp.npz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    data = load_mnist()
    net = nnlearn.Network.from_sizes([784, 100, 10], activation="sigmoid", cost="log_likelihood",
                                     weight_init="normal_fan_in", seed=args.seed)
    shifts_and_turns = augment.Augmenter(augment.RandomShift(2, image_shape=(28, 28)),
                                         augment.RandomRotation(12, image_shape=(28, 28)))
    start = time.perf_counter()
    history = nnlearn.Trainer(net, *data.train, epochs=args.epochs, mini_batch_size=20, eta=0.001,
                              optimizer="adam", validation_data=data.validation,
                              augment=shifts_and_turns, threads=1,
                              callbacks=[lambda r: print(f"epoch {r['epoch']}: validation "
                                                         f"accuracy {r['evaluation_accuracy']:.4f}",
                                                         flush=True)]).run()
    test = net.evaluate(*data.test)
    metadata = {"trained_by": "python scripts/train_web_model.py"
                + (f" --epochs {args.epochs}" if args.epochs != 8 else ""),
                "epochs": args.epochs, "seed": args.seed,
                "validation_accuracy": history["evaluation_accuracy"][-1],
                "test_accuracy": test["accuracy"], "augment": repr(shifts_and_turns)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    net.save(args.out, metadata=metadata)
    print(f"test accuracy {test['accuracy']:.4f}; {time.perf_counter() - start:.0f} s; "
          f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
