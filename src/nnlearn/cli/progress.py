"""Progress feedback for the CLI: a bar on a terminal, nothing when piped."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    """A one-line ``\\r``-redrawn bar for the batches of one epoch.

    Call it as ``bar(done, total)``; ``close()`` erases the line. Writes nothing
    unless ``stream`` is a terminal (so logs and pipes get plain lines only).
    """

    def __init__(self, label: str = "", stream: TextIO | None = None, width: int = 30,
                 units: str = "batches"):
        self.stream = stream if stream is not None else sys.stdout
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.label, self.width, self.units = label, width, units
        self.start = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        filled = int(self.width * done / max(total, 1))
        elapsed = time.perf_counter() - self.start
        eta = elapsed / max(done, 1) * (total - done)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (self.width - filled)}] "
                          f"{done}/{total} {self.units}, {elapsed:5.1f}s elapsed, ~{eta:4.1f}s left")
        self.stream.flush()

    def reset(self, label: str) -> None:
        self.label, self.start = label, time.perf_counter()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r" + " " * (len(self.label) + self.width + 60) + "\r")
            self.stream.flush()


class TqdmBar:
    """The same interface as :class:`ProgressBar`, drawn by ``tqdm`` (one bar per epoch)."""

    def __init__(self, tqdm, stream: TextIO, unit: str = "batch"):
        self._tqdm, self.stream, self._bar, self.label = tqdm, stream, None, ""
        self.unit = unit

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = self._tqdm(total=total, desc=self.label, unit=self.unit, file=self.stream,
                                   leave=False, dynamic_ncols=True)
        self._bar.update(done - self._bar.n)

    def reset(self, label: str) -> None:
        self.close()
        self.label = label

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def make_progress(stream: TextIO | None = None, quiet: bool = False, kind: str = "auto",
                  unit: tuple[str, str] = ("batch", "batches")):
    """A progress bar counting ``unit`` (singular, plural; default a per-epoch batch bar), or ``None``.

    ``None`` when ``quiet`` or when ``stream`` is not a terminal (logs and pipes get
    plain lines only). On a terminal: ``tqdm`` if it is installed (``kind="auto"``),
    else the built-in :class:`ProgressBar`; ``kind="builtin"`` or ``"tqdm"`` forces one.
    """
    stream = stream if stream is not None else sys.stdout
    if quiet or not bool(getattr(stream, "isatty", lambda: False)()):
        return None
    if kind in ("auto", "tqdm"):
        try:
            from tqdm import tqdm  # optional extra
        except ImportError:
            if kind == "tqdm":
                raise
        else:
            return TqdmBar(tqdm, stream, unit[0])
    return ProgressBar(stream=stream, units=unit[1])
