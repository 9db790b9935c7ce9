r"""Early stopping: end training when validation accuracy stops improving (book ch. 3).

The book's "no-improvement-in-n" rule: keep the best value of the watched metric
(validation accuracy by default); after ``patience`` consecutive epochs without a
new best, stop. The weights of the best epoch are kept as an exact copy and put
back into the network when training ends (``restore_best=True``), so the trained
network is the one that scored best on the validation data.

The training loop (:class:`nnlearn.train.trainer.Trainer`) calls
``early_stopping(record, network)`` after each epoch, reads ``stop``, and calls
``restore(network)`` once, when training ends. ``state_dict()`` includes the best
weights, so a resumed run restores the same ones.
"""

from __future__ import annotations

from typing import Any

from nnlearn import backend
from nnlearn.errors import ConfigError
from nnlearn.checks import positive_int


class EarlyStopping:
    r"""Stop after ``patience`` epochs without improvement of ``metric``; restore the best weights.

    Args:
        patience: n in the book's "no-improvement-in-n" (book suggests 10 to start).
        metric: the epoch-record key to watch (default ``"evaluation_accuracy"``).
        mode: ``"max"`` (accuracy, default) or ``"min"`` (a cost).
        min_delta: an improvement must exceed the best by more than this.
        restore_best: put the best epoch's weights back when training ends.

    Attributes:
        best, best_epoch: the best value so far and the epoch it was reached in.
        wait: epochs since the last improvement.
        stop: set once ``wait`` reaches ``patience``.
    """

    def __init__(self, patience: int = 10, *, metric: str = "evaluation_accuracy",
                 mode: str = "max", min_delta: float = 0.0, restore_best: bool = True):
        self.patience = positive_int("early_stopping patience", patience)
        if mode not in ("max", "min"):
            raise ConfigError(f"early stopping mode must be 'max' or 'min', got {mode!r}")
        if isinstance(min_delta, bool) or not isinstance(min_delta, (int, float)) or not min_delta >= 0:
            raise ConfigError(f"min_delta must be a number >= 0, got {min_delta!r}")
        self.metric, self.mode, self.min_delta = metric, mode, float(min_delta)
        self.restore_best = bool(restore_best)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.best_state: dict[str, Any] | None = None
        self.wait = 0
        self.stop = False

    def improved(self, value: float) -> bool:
        if self.best is None:
            return True
        if self.mode == "max":
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def __call__(self, record: dict[str, Any], network) -> None:
        """Update with one epoch's ``record``; snapshot ``network`` on a new best."""
        if self.metric not in record:
            raise ConfigError(f"early stopping watches {self.metric!r}, which epoch "
                              f"{record.get('epoch')} did not record; pass validation_data")
        value = float(record[self.metric])
        if self.improved(value):
            self.best, self.best_epoch, self.wait = value, int(record["epoch"]), 0
            if self.restore_best:
                self.best_state = network.state_dict()
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stop = True

    def restore(self, network) -> bool:
        """Copy the best epoch's weights into ``network``; ``True`` if it did."""
        if not self.restore_best or self.best_state is None:
            return False
        network.load_state_dict(self.best_state)
        return True

    def state_dict(self) -> dict[str, Any]:
        xp = backend.xp
        best_state = None if self.best_state is None else {
            k: xp.array(v, copy=True) for k, v in self.best_state.items()}
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait,
                "stop": self.stop, "best_state": best_state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        xp = backend.xp
        self.best = None if state["best"] is None else float(state["best"])
        self.best_epoch = None if state["best_epoch"] is None else int(state["best_epoch"])
        self.wait, self.stop = int(state["wait"]), bool(state["stop"])
        self.best_state = None if state["best_state"] is None else {
            k: xp.array(v, copy=True) for k, v in state["best_state"].items()}

    def __repr__(self) -> str:
        return (f"EarlyStopping(patience={self.patience}, metric={self.metric!r}, "
                f"mode={self.mode!r}, restore_best={self.restore_best})")


def get_early_stopping(spec: int | EarlyStopping | None) -> EarlyStopping | None:
    """``None``, an ``EarlyStopping``, or a patience (int) turned into one."""
    if spec is None or isinstance(spec, EarlyStopping):
        return spec
    return EarlyStopping(positive_int("early_stopping (patience in epochs)", spec))
