r"""One writer per folder, and workers that die with their driver.

:class:`FolderLock` is an exclusive lock on a run folder or a sweep folder, held for as
long as one process writes into it (``nnlearn train``, ``nnlearn train --resume``, a
sweep's driver, one trial's worker). It is ``fcntl.flock`` on ``<folder>/.lock``, a file
that records the holder's pid and command line:

* a second writer is refused at once with :class:`~nnlearn.errors.LockedError` naming the
  holder's pid and command (two writers would interleave the folder's ``metrics.jsonl``);
* the kernel drops a ``flock`` when its process dies, however it dies (``kill -9``
  included), so a lock left by a dead process is never in the way: it is taken over, and
  :attr:`FolderLock.stale_pid` says whose it was. No pid is ever guessed dead from a
  clock or a ``kill(pid, 0)`` (pids are reused);
* the lock file stays in the folder after release (deleting it would race with a
  process that has just opened it).

:func:`die_with_parent` makes a worker process end when the process that started it
ends: ``prctl(PR_SET_PDEATHSIG, SIGKILL)`` on Linux, else a watchdog thread that polls
the parent's pid. A sweep's process-pool workers call it first, so ``kill -9`` of
``nnlearn search`` leaves no worker training on behind it.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from pathlib import Path

from nnlearn.errors import LockedError

try:
    import fcntl
except ImportError:  # Windows: no flock, so folders are not locked there
    fcntl = None

LOCK_NAME = ".lock"
"""The lock file of a locked folder."""

PR_SET_PDEATHSIG = 1
"""``prctl`` option: the signal a process gets when its parent (thread) exits (Linux)."""


class FolderLock:
    r"""An exclusive lock on ``folder`` for this process (see the module docstring).

    ``FolderLock(folder, "run folder").acquire(wait=0)`` takes it or raises
    :class:`~nnlearn.errors.LockedError`; ``wait`` seconds are spent retrying first (a
    holder that is being killed needs a moment to go). Use it as a context manager, or
    call :meth:`release`; the lock also ends with the process.
    """

    def __init__(self, folder: str | os.PathLike, what: str = "folder"):
        self.folder = Path(folder)
        self.what = what
        self.path = self.folder / LOCK_NAME
        self.stale_pid: int | None = None
        """The pid recorded by an earlier holder that no longer held the lock (it died or
        ended without removing its record), when this lock was taken over."""
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, wait: float = 0.0) -> "FolderLock":
        """Take the lock (retrying for ``wait`` seconds); ``LockedError`` names the holder."""
        if self._fd is not None:
            return self
        deadline = time.monotonic() + wait
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)  # the umask decides
            try:
                if _try_lock(fd):
                    break
                holder = _read(fd)
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
            if time.monotonic() >= deadline:
                raise LockedError(
                    f"the {self.what} {self.folder} is in use by another nnlearn process "
                    f"({holder}); two writers would interleave its files. Wait for it to "
                    "finish, or stop it (kill PID) and run this again")
            time.sleep(0.05)
        previous = _read(fd)
        pid = previous.split(" ", 2)[1] if previous.startswith("pid ") else ""
        self.stale_pid = int(pid) if pid.isdigit() and int(pid) != os.getpid() else None
        record = f"pid {os.getpid()} {' '.join(sys.argv)[:500]}\n".encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, record, 0)
        self._fd = fd
        return self

    def release(self) -> None:
        """Give the lock up (the record stays; the next holder overwrites it)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor drops the flock

    def __enter__(self) -> "FolderLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"FolderLock({str(self.folder)!r}, held={self.held})"


def _try_lock(fd: int) -> bool:
    if fcntl is None:  # pragma: no cover - no flock on this platform
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read(fd: int) -> str:
    """The holder's record, ``"pid N command"`` (or a placeholder when it is still empty)."""
    text = os.pread(fd, 600, 0).decode("utf-8", "replace").strip()
    return text or "pid unknown: the holder is starting"


def die_with_parent(parent_pid: int | None = None, poll_seconds: float = 0.5) -> None:
    """End this process when its parent ends (call it first thing in a worker).

    Linux: the kernel sends SIGKILL when the parent exits (``PR_SET_PDEATHSIG``); the
    parent's pid is checked once after, for a parent that died before the call.
    Elsewhere: a daemon thread polls ``os.getppid()`` and ends the process when it changes.
    """
    parent_pid = os.getppid() if parent_pid is None else parent_pid
    if sys.platform.startswith("linux") and _set_pdeathsig(signal.SIGKILL):
        if os.getppid() != parent_pid:  # the parent was gone before the kernel was told
            os._exit(1)
        return

    def watch() -> None:  # pragma: no cover - non-Linux fallback
        while os.getppid() == parent_pid:
            time.sleep(poll_seconds)
        os._exit(1)

    threading.Thread(target=watch, name="nnlearn-parent-watch", daemon=True).start()


def _set_pdeathsig(sig: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
