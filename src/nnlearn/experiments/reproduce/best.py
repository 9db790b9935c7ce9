"""Beyond the book: the best MLP and convnet recipes found with nnlearn's toolbox
(presets ``mlp-best`` and ``cnn-best``), and the CPU speedrun (preset ``speedrun``).

ReLU, He initialisation, dropout, Adam with an exponential learning-rate decay and
random shifts of the training images every epoch (one pixel for the MLP, up to two for
the convnet, which also has batch norm after each convolution). mlp-best trains on the
book's 50,000 images, cnn-best on all 60,000 (no hyper-parameter is chosen by a
validation set here, so nothing is lost by training on it). The final-epoch test
accuracy is the honest figure; the bar applies to it.

The speedrun trains one epoch over all 60,000 training images (a small convnet with
batch norm, Adam under a one-cycle schedule, mini-batch 256) and runs 10 seeds unless
``--seeds`` says otherwise; its bar is a mean final accuracy of 99.0% and a training
time (what ``nnlearn train`` reports as "training took", evaluation excluded) of 5 s.
``speedrun-995`` is the time to a 99.5% mean: a wider net of the same shape, 8 epochs
of mini-batch 128 with random shifts of up to 2 pixels; bar 99.5% within 120 s of training.
Two ensembles of five networks each (seeds 1–5, scored by majority vote and by the mean of
probabilities) aim at 99.7%: of cnn-best and of speedrun-995.
"""

from __future__ import annotations

from typing import Any

from nnlearn.experiments.reproduce.members import ensemble_spec

TITLE = "Best MLP and convnet recipes and the CPU speedrun (beyond the book)"


def specs(epochs: int | None = None) -> list[dict[str, Any]]:
    overrides = {} if epochs is None else {"training.epochs": epochs}
    out = [{"key": "mlp-best", "label": "mlp-best: 784-800-800-10 ReLU, dropout 0.2, Adam, random shifts",
             "book": 98.5, "preset": "mlp-best", "min_final_mean": 98.5, "time_to": 98.0,
             "overrides": dict(overrides)},
            {"key": "cnn-best", "label": "cnn-best: conv 32 + conv 48 (5×5, batch norm, ReLU, max-pool), FC 256, "
                                         "dropout 0.4, Adam, random shifts, 60,000 images",
             "book": 99.5, "preset": "cnn-best", "min_final_mean": 99.5,
             "resumable": True,  # minutes per run; the ensemble's members of seeds 1-3 are these runs
             "overrides": dict(overrides)},
            {"key": "speedrun", "label": "speedrun: conv 16 5×5 + conv 32 3×3 (max-pool, batch norm, ReLU), "
                                         "FC 128, label smoothing 0.1, Adam one-cycle, mini-batch 256, "
                                         "1 epoch of 60,000",
             "book": 99.0, "preset": "speedrun", "min_final_mean": 99.0, "max_train_seconds": 5.0,
             "seeds": 10, "overrides": dict(overrides)},
            {"key": "speedrun-995", "label": "speedrun-995: conv 24 5×5 + conv 48 3×3 (max-pool, batch norm, "
                                             "ReLU), FC 256, label smoothing 0.1, Adam one-cycle, mini-batch "
                                             "128, random shifts, 8 epochs of 60,000",
             "book": 99.5, "preset": "speedrun-995", "min_final_mean": 99.5, "max_train_seconds": 120.0,
             "time_to": 99.5, "resumable": True,  # its runs are the speedrun-995 ensemble's seeds 1-3
             "overrides": dict(overrides)}]
    by_key = {s["key"]: s for s in out}
    out.append(ensemble_spec(by_key["cnn-best"], "cnn-best-ensemble", "cnn-best ensemble: 5 "
                             "networks (seeds 1–5), mean of probabilities", 99.7, seeds=1,
                             min_final_mean=99.7))
    out.append(ensemble_spec(by_key["speedrun-995"], "speedrun-995-ensemble", "speedrun-995 "
                             "ensemble: 5 networks (seeds 1–5), mean of probabilities", 99.7,
                             seeds=1, min_final_mean=99.7))
    return out


NOTES = ["The 'book' column holds the issues' goals (98.5% for mlp-best, 99.5% for cnn-best, 99.0% "
         "for speedrun, 99.5% for speedrun-995, 99.7% for the ensembles), not figures from "
         "the book; the goals for the wall time of one run are 5 minutes (mlp-best) and 20 minutes "
         "(cnn-best) on this machine, for speedrun 5 s of training and for speedrun-995 120 s of "
         "training.",
         "cnn-best's runs and the cnn-best ensemble's members train into the same resumable run "
         "folders (<runs>/reproduce/cnn-best-seed<S>-<config hash>): the ensemble's members of "
         "seeds 1–3 are cnn-best's runs, a stopped reproduction picks up where it was, and runs "
         "trained earlier are reused; the same holds for speedrun-995 and its ensemble.",
         "The speedrun-995 ensemble is the cnn-best ensemble's vote with the networks of the "
         "speedrun-995 recipe as its members."]
