r"""Reading and writing files safely.

Writing: :func:`atomic_write` writes to a temporary file beside the target and renames
it over the target, so a crash or ``kill -9`` at any instant leaves either the old
file or the new one, never a torn one (model files, checkpoints and the saved state of
preprocessing transforms are all written this way); the new file gets the mode of the
file it replaces, or ``0666`` less the umask like any other new file.
:func:`check_writable` tells before a long job whether its output can be written, and
:func:`remove_stale_temporaries` removes the temporary files of writes a kill cut short.
An error while writing names the file (:func:`naming_the_file`): a full disk says
``[Errno 28] No space left on device: 'runs/…/summary.json'``, not only ``[Errno 28] …``.

Reading: :func:`open_regular` opens only regular files, so a FIFO, a device or a
folder given where a file is expected is refused at once instead of blocking forever
(a FIFO waits for a writer) or reading without end (``/dev/zero``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path
from typing import IO, Any, Iterator

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


class NotARegularFileError(OSError):
    """A path expected to name a regular file names a FIFO, a device, a socket or a folder."""


def _not_regular(path: str | os.PathLike, mode: int) -> NotARegularFileError:
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    return NotARegularFileError(f"{os.fspath(path)} is {kind}, not a regular file; give the "
                                "path of a file")


def open_regular(path: str | os.PathLike, mode: str = "rb", **kwargs: Any) -> IO:
    """``open(path, mode, **kwargs)`` for reading, refusing anything but a regular file.

    The file is opened without blocking (a FIFO would otherwise wait for a writer) and
    checked with ``fstat`` on the open descriptor, so there is no window between the
    check and the open. Raises :class:`NotARegularFileError` (an ``OSError``).
    """
    if any(c in mode for c in "wax+"):
        raise ValueError(f"open_regular opens files for reading only, got mode {mode!r}")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st_mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(st_mode):
            raise _not_regular(path, st_mode)
        os.set_blocking(fd, True)
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def read_regular_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of a regular file (:func:`open_regular`)."""
    with open_regular(path, "rb") as f:
        return f.read()


def read_regular_text(path: str | os.PathLike, encoding: str = "utf-8") -> str:
    """The text of a regular file (:func:`open_regular`)."""
    with open_regular(path, "r", encoding=encoding) as f:
        return f.read()


def check_writable(path: str | os.PathLike, what: str = "file") -> None:
    """Raise ``OSError`` now, naming the cause, if ``path`` could not be written later.

    Checks that ``path`` is not a folder or other non-regular file, that its folder
    exists, and that a file can really be created there (a temporary one, removed at
    once: permission bits alone do not tell, e.g. for root in ``/proc``).
    """
    path = Path(path)
    folder = path.parent
    if path.exists() and not path.is_file():
        raise _not_regular(path, os.stat(path).st_mode)
    if not folder.is_dir():
        why = "does not exist" if not folder.exists() else "is not a folder"
        raise FileNotFoundError(errno.ENOENT, f"cannot write the {what} {path}: the folder "
                                f"{folder} {why}")
    if path.exists() and not os.access(path, os.W_OK):
        raise PermissionError(errno.EACCES, f"cannot write the {what} {path}: the file is "
                              "read-only")
    fd, tmp = _temporary_beside(path, what)
    os.close(fd)
    os.unlink(tmp)


def _temporary_beside(path: Path, what: str = "file") -> tuple[int, str]:
    """``mkstemp`` in ``path``'s folder, named ``.<name>.*.tmp``; an ``OSError`` naming the cause."""
    try:
        return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    except OSError as exc:
        why = "does not exist" if not path.parent.exists() else \
            f"does not accept new files ({exc.strerror})"
        raise type(exc)(exc.errno, f"cannot write the {what} {path}: the folder {path.parent} "
                        f"{why}", str(path)) from None


def remove_stale_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that :func:`atomic_write` leaves beside ``path`` when it
    is killed mid-write (``.<name>.*.tmp``); returns the paths removed."""
    path = Path(path)
    removed = []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        if tmp.is_file() and not tmp.is_symlink():
            tmp.unlink()
            removed.append(tmp)
    return removed


def _new_file_mode(path: Path) -> int:
    """The mode of the file ``path`` if it exists, else ``0666`` less the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
        os.umask(mask)
        return 0o666 & ~mask


@contextlib.contextmanager
def naming_the_file(path: str | os.PathLike) -> Iterator[None]:
    """Re-raise an ``OSError`` that names no file (a full disk, a file size limit: the
    error comes from ``write``, which knows only a descriptor) with ``path`` as its file."""
    try:
        yield
    except OSError as exc:
        if exc.filename is not None or exc.errno is None:
            raise
        raise type(exc)(exc.errno, exc.strerror, os.fspath(path)) from None


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(fileobj)`` on a temp file in ``path``'s folder, then rename it to ``path``.

    If anything fails, the temp file is removed and an existing ``path`` is untouched;
    an ``OSError`` names ``path`` (:func:`naming_the_file`).
    """
    path = Path(path)
    fd, tmp = _temporary_beside(path)
    try:
        with naming_the_file(path), os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), _new_file_mode(path))
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
