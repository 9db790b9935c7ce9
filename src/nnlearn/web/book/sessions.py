r"""The Book's longer trainings, run as sessions of the playground's :class:`SessionPool`.

A :class:`TrainingSession` lives in the same pool as the playground's sessions (so the same
``--max-sessions`` limit and idle sweep apply) and answers the calls the playground's routes
make, so the page drives it through the same endpoints: ``/api/playground/<id>/stream``
(server-sent snapshots at the server's capped rate, one epoch per update while playing),
``…/control`` (play, pause, step, reset) and ``…/close``. A diverged run pauses with its
message in ``error``, as a playground run does. Each chapter's subclass builds its network and
:class:`~nnlearn.train.trainer.Trainer` and says what one epoch records and what the page draws.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

from nnlearn.errors import DivergenceError
from nnlearn.web.playground import Session, Settings
from nnlearn.web.validation import FieldError


class TrainingSession:
    """One page's training, stepped an epoch at a time by the playground's stream.

    Subclasses set ``max_epochs`` and implement :meth:`build` (a fresh network and trainer,
    epoch 0), :meth:`record` (what one epoch adds to ``records``) and :meth:`view` (what the
    page draws now).
    """

    max_epochs = 100
    settings = Settings()
    """The playground's routes read a session's settings; a Book session has none of its own
    (its choices are fixed when it is created), so this is a constant that never changes."""
    data_version = 0

    def __init__(self) -> None:
        self.id = secrets.token_urlsafe(9)
        self.lock = threading.RLock()
        self.last_seen = time.monotonic()
        self.playing = False
        self.error: str | None = None
        self.version = 0
        self.generation = 0
        self.stream_token: object | None = None
        self.reset()

    # -- what the playground's routes call ---------------------------------------------------
    touch = Session.touch                  # the idle clock and play/pause: the playground's own
    set_playing = Session.set_playing

    def reset(self) -> None:
        """A fresh network (the same seed: the same weights), epoch 0, paused."""
        with self.lock:
            self.records: list[Any] = []
            self.error = None
            self.playing = False
            self.build()
            self.records.append(self.record())      # epoch 0: before any training
            self.generation += 1
            self.version += 1

    regenerate = reset

    def step(self, epochs: int = 1) -> None:
        """Train ``epochs`` epochs (up to ``max_epochs``); a diverged run pauses with its message."""
        with self.lock:
            if self.error or self.epoch >= self.max_epochs:
                self.playing = False
                return
            try:
                for _ in range(min(epochs, self.max_epochs - self.epoch)):
                    self.trainer.run(1)
                    self.records.append(self.record())
            except (DivergenceError, FloatingPointError) as exc:
                self.error = str(exc)
                self.playing = False
            if self.epoch >= self.max_epochs:
                self.playing = False
            self.version += 1

    @property
    def epoch(self) -> int:
        return len(self.records) - 1

    @property
    def history(self) -> list[Any]:
        """The records of the epochs trained (the playground's controls count them)."""
        return self.records[1:]

    def snapshot(self, history_from: tuple[int, int] | None = None,
                 with_points: bool = True) -> dict[str, Any]:
        """The page's view; ``history`` holds the records from ``history_start`` on
        (``history_from = (generation, count)`` already sent skips the older ones)."""
        with self.lock:
            start = 0
            if history_from is not None and history_from[0] == self.generation:
                start = min(history_from[1], len(self.records))
            return {"session": self.id, "version": self.version, "generation": self.generation,
                    "data_version": self.data_version, "epoch": self.epoch,
                    "max_epochs": self.max_epochs, "playing": self.playing, "error": self.error,
                    "history_start": start, "history": self.records[start:], **self.view()}

    def __getattr__(self, name: str) -> Any:
        """Called only for what this class lacks: a playground call (points, weights, backprop,
        code, model file, ...) on a Book session is answered 400, naming the session."""
        if name.startswith("_"):
            raise AttributeError(name)
        raise FieldError("session", f"this is a Book session: only the stream and play, pause, "
                                    f"step, reset and close apply to it (not {name})")

    # -- what each chapter supplies ----------------------------------------------------------
    def build(self) -> None:
        raise NotImplementedError

    def record(self) -> Any:
        raise NotImplementedError

    def view(self) -> dict[str, Any]:
        raise NotImplementedError
