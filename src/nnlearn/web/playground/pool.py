"""The live playground sessions: at most so many, the idle ones freed."""

from __future__ import annotations

import threading
import time
from typing import Any

from nnlearn.errors import NNLearnError
from nnlearn.web.playground.session import Session
from nnlearn.web.playground.settings import Settings


class PoolFull(NNLearnError):
    """No room for another playground session."""


class SessionPool:
    """At most ``max_sessions`` live sessions; a session unused for ``idle_seconds`` is freed."""

    def __init__(self, max_sessions: int = 8, idle_seconds: float = 600.0):
        self.max_sessions = max_sessions
        self.idle_seconds = idle_seconds
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()
        self._starting = 0
        """Sessions being built: counted against the limit before they join ``sessions``."""

    def sweep(self) -> list[str]:
        """Free the idle sessions; returns their ids."""
        now = time.monotonic()
        with self.lock:
            idle = [k for k, s in self.sessions.items() if now - s.last_seen > self.idle_seconds]
            for key in idle:
                del self.sessions[key]
        return idle

    def create(self, settings: Settings | None, make: Any = None) -> Session:
        """A new session, or :class:`PoolFull` when ``max_sessions`` are live. ``make()``, when
        given, builds another kind of session instead (the Book's trainings; see
        :mod:`nnlearn.web.book.sessions`), which then shares these limits and the stream."""
        self.sweep()
        with self.lock:  # count and reserve in one step: concurrent creates cannot overshoot
            if len(self.sessions) + self._starting >= self.max_sessions:
                raise PoolFull(f"all {self.max_sessions} playground sessions are in use; close "
                               "another playground tab, wait for idle ones to be freed, or start "
                               "the server with a larger --max-sessions")
            self._starting += 1
        session = None
        try:
            session = Session(settings) if make is None else make()
        finally:
            with self.lock:
                self._starting -= 1
                if session is not None:
                    self.sessions[session.id] = session
        return session

    def get(self, session_id: str) -> Session | None:
        """The live session with this id (its idle clock restarts), or ``None``."""
        with self.lock:
            session = self.sessions.get(session_id)
        if session is not None:
            session.touch()
        return session

    def close(self, session_id: str) -> bool:
        with self.lock:
            return self.sessions.pop(session_id, None) is not None
