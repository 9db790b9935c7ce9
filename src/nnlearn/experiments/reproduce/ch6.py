"""Book chapter 6: from a fully connected network to convnets, expansion, dropout, ensembles.

Each rung is a shipped preset (``nnlearn train --preset NAME`` runs it alone), trained
on the 50,000 training images (250,000 with the one-pixel shifts) with the test set
monitored per epoch, one seed each. λ: network3.py divides its L2 term by the number
of minibatches, so its λ = 0.1 at m = 10 is our λ = 1.0 (we scale by 1/n).
"""

from __future__ import annotations

from typing import Any, Callable

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
    "(h) reuses the (g) network of the same seed when (g) ran earlier in the same "
    "reproduction, so its wall time covers training the other four members and scoring "
    "the ensemble.",
]


def specs(epochs: int | None = None) -> list[dict[str, Any]]:
    out = []
    for key, label, book, preset in LADDER:
        spec = {"key": key, "label": label, "book": book, "preset": preset,
                "overrides": {} if epochs is None else {"training.epochs": epochs}}
        if key in REQUIRED:
            spec["within"] = 0.3
        out.append(spec)
    g = out[-1]
    out.append({"key": "h", "label": "(h) ensemble of 5 networks (g), mean of probabilities",
                "book": 99.67, "engine": True,
                "run": lambda seed, log, engine=None, trained=None:
                    ensemble_run(g, seed, 5, log, engine, trained)})
    return out


def ensemble_run(member: dict[str, Any], seed: int, size: int, log: Callable[[str], None],
                 engine: Any = None, trained: dict[tuple[str, int], Any] | None = None
                 ) -> dict[str, Any]:
    """Train ``size`` networks of spec ``member`` (seeds seed, seed+1, ...) and score their ensemble.

    Members already in ``trained`` (``(member key, seed) → network``: the same spec run
    earlier in this reproduction, e.g. (g) before (h)) are reused, not retrained. Without
    an ``engine`` the others train one after another in this process; with one
    (:mod:`nnlearn.experiments.sweeps.engines`: local processes or Ray) they train as parallel
    trials, each into its own run folder.
    """
    import time

    from nnlearn.nn.ensemble import Ensemble
    from nnlearn.experiments.reproduce.common import build_preset, preset_config, run_spec

    start = time.perf_counter()
    trained = trained or {}
    reused = {s: trained[(member["key"], s)] for s in range(seed, seed + size)
              if (member["key"], s) in trained}
    if reused:
        log(f"  reusing the trained {member['key']} network(s) of seed(s) "
            f"{', '.join(map(str, reused))}")
    todo = [s for s in range(seed, seed + size) if s not in reused]
    if engine is None or not todo:
        fresh = [run_spec(member, s, None, log)["network"] for s in todo]
    else:
        log(f"  {len(todo)} members on {engine.describe()}")
        fresh = Ensemble.train([preset_config(member, s) for s in todo], engine).networks
    members = list(reused.values()) + fresh
    _, _, (X_test, y_test), _ = build_preset(member, seed)
    accuracy = 100 * Ensemble(members).evaluate(X_test, y_test)["accuracy"]
    epochs = preset_config(member, seed)["training"]["epochs"]
    log(f"  ensemble of {size}: {accuracy:.2f}%")
    return {"seed": seed, "best": accuracy, "best_epoch": epochs, "final": accuracy,
            "epochs": epochs, "seconds": time.perf_counter() - start}
