"""Book chapter 6: from a fully connected network to convnets, expansion, dropout, ensembles.

Each rung is a shipped preset (``nnlearn train --preset NAME`` runs it alone), trained
on the 50,000 training images (250,000 with the one-pixel shifts) with the test set
monitored per epoch, one seed each. λ: network3.py divides its L2 term by the number
of minibatches, so its λ = 0.1 at m = 10 is our λ = 1.0 (we scale by 1/n).
"""

from __future__ import annotations

from typing import Any

from nnlearn.experiments.reproduce.members import ensemble_spec

TITLE = "Chapter 6 reproduction: convolutional networks"

LADDER = [  # (key, label, book %, preset)
    ("a", "(a) [784,100,10] sigmoid + softmax, η=0.1", 97.80, "ch6-fc"),
    ("b", "(b) conv 20×5×5 + max-pool 2, FC 100 sigmoid, softmax", 98.78, "ch6-conv1"),
    ("c", "(c) two conv-pool layers (20, 40 maps), sigmoid", 99.06, "ch6-conv2"),
    ("d", "(d) (c) with ReLU, L2, η=0.03", 99.23, "ch6-conv2-relu"),
    ("e", "(e) (d) on the expanded data (one-pixel shifts)", 99.37, "ch6-conv2-relu-expanded"),
    ("f", "(f) (e) with an extra FC layer", 99.43, "ch6-conv2-relu-expanded-fc2"),
    ("g", "(g) dropout 0.5 on two FC layers of 1000, expanded data", 99.60, "ch6-conv2-dropout"),
]
REQUIRED = ("a", "b", "c", "d")

NOTES = [
    "(g) and (h) use classic dropout (scale_at = \"test\": the bare mask while training, (1 − p) "
    "at inference), as network3.py does. Inverted dropout at the same η moves the layers after "
    "each dropout layer 1/(1 − p)² = 4 times as far per step; in an earlier run with it, two of "
    "the five (h) members (seeds 3 and 4) died in their first epoch (dead ReLUs, constant "
    "predictions).",
    "(g) and the members of (h) train into resumable run folders "
    "(<runs>/reproduce/g-seed<S>-<config hash>, checkpointed every epoch): (h)'s member of "
    "seed 1 is (g)'s run, and a reproduction that was stopped picks up where it was. (h)'s "
    "wall time is the sum of its members' (each over all its sittings) and the scoring.",
]


def specs(epochs: int | None = None) -> list[dict[str, Any]]:
    out = []
    for key, label, book, preset in LADDER:
        spec = {"key": key, "label": label, "book": book, "preset": preset,
                "overrides": {} if epochs is None else {"training.epochs": epochs}}
        if key in REQUIRED:
            spec["within"] = 0.3
        if key == "g":
            spec["resumable"] = True  # hours per run at the book's 40 epochs
        out.append(spec)
    g = out[-1]
    out.append(ensemble_spec(g, "h", "(h) ensemble of 5 networks (g), mean of probabilities",
                             99.67))
    return out
