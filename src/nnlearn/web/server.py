r"""How ``nnlearn serve`` runs the application under uvicorn: connection limits, timeouts
for slow clients, and a server log that cannot flood the disk.

uvicorn (0.55) drops an idle keep-alive connection after ``timeout_keep_alive`` seconds and
answers 503 above ``limit_concurrency``, but it still accepts every connection and waits
for ever for the headers of a first request. So connections get their own rules here
(:class:`BoundedH11Protocol`):

* at most ``max_connections`` open at once: one more gets ``503`` and is closed at once, so
  a flood of connections cannot take every file descriptor of the process;
* a request (headers and body) must have arrived ``request_timeout`` seconds after the
  connection opened or the previous answer was sent; else the connection is closed. A
  request being answered (a long prediction, a playground stream) has no time limit.

:class:`RepeatFilter` lets the first few copies of one log message through per minute and
counts the rest, so a repeated error (``accept()`` failing with ``EMFILE`` when descriptors
run out, a client retrying a failing request) costs a line a minute, not megabytes.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_CONNECTIONS = 100
"""Default limit on open connections (``nnlearn serve --max-connections``)."""
REQUEST_TIMEOUT = 10.0
"""Default seconds a client has to send a whole request (``--request-timeout``)."""
KEEP_ALIVE_SECONDS = 5
"""An idle keep-alive connection is closed after this many seconds."""
BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n"
        b"Content-Length: 49\r\n\r\ntoo many connections to nnlearn serve; try again\n")


class BoundedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a cap on connections and a deadline for requests."""

    max_connections = MAX_CONNECTIONS
    request_timeout = REQUEST_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        if len(self.connections) > self.max_connections:
            transport.write(BUSY)
            transport.close()
            return
        self._arm()

    def _arm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_later(self.request_timeout, self._too_slow)

    def _too_slow(self) -> None:
        """Close the connection if the client is still sending its request."""
        self._deadline = None
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection gets the same time

    def connection_lost(self, exc: Exception | None) -> None:
        if getattr(self, "_deadline", None) is not None:
            self._deadline.cancel()
            self._deadline = None
        super().connection_lost(exc)


def protocol(max_connections: int, request_timeout: float) -> type[BoundedH11Protocol]:
    """A :class:`BoundedH11Protocol` with these limits."""
    return type("BoundedH11Protocol", (BoundedH11Protocol,),
                {"max_connections": max_connections, "request_timeout": request_timeout})


class RepeatFilter(logging.Filter):
    """Let ``burst`` copies of a message through per ``window`` seconds; count the others.

    Copies are the same logger, message template and exception type. The first copy let
    through after some were held back says how many.
    """

    def __init__(self, burst: int = 3, window: float = 60.0):
        super().__init__()
        self.burst, self.window = burst, window
        self._seen: dict[tuple, list] = {}  # key -> [window start, let through, held back]
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        exc_type = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else None
        key = (record.name, str(record.msg), exc_type)
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 1000:
                self._seen.clear()
            start, passed, held = self._seen.setdefault(key, [now, 0, 0])
            if now - start >= self.window:
                start, passed = now, 0
            if passed >= self.burst:
                self._seen[key] = [start, passed, held + 1]
                return False
            self._seen[key] = [start, passed + 1, 0]
        if held:
            record.msg = f"{record.msg} (and {held} more like it, not shown)"
        return True


LISTEN_BACKLOG = 2048
"""Connections the kernel holds for the server before it accepts them (uvicorn's default);
``nnlearn serve`` listens with it before printing its address, so a client that reads the
address can connect at once."""

SERVER_LOGGERS = ("uvicorn", "uvicorn.error", "asyncio")
"""The loggers a repeated error reaches while serving."""


def serve(app, sock: socket.socket, *, max_connections: int = MAX_CONNECTIONS,
          request_timeout: float = REQUEST_TIMEOUT) -> None:
    """Serve ``app`` on the listening socket ``sock`` until Ctrl-C (which it re-raises)."""
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2,
                            http=protocol(max_connections, request_timeout),
                            limit_concurrency=max_connections + 10,
                            timeout_keep_alive=KEEP_ALIVE_SECONDS,
                            h11_max_incomplete_event_size=16 * 1024, backlog=LISTEN_BACKLOG)
    server = uvicorn.Server(config)
    repeats = RepeatFilter()
    config.load()  # uvicorn sets up its loggers here; the filter goes on after that
    for name in SERVER_LOGGERS:
        logging.getLogger(name).addFilter(repeats)
    server.run(sockets=[sock])
