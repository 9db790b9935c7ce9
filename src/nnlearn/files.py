r"""Writing files safely: a file is replaced whole or not at all.

:func:`atomic_write` writes to a temporary file beside the target and renames it
over the target, so a crash or ``kill -9`` at any instant leaves either the old
file or the new one, never a torn one. Model files, checkpoints and the saved
state of preprocessing transforms are all written this way.
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call ``write(fileobj)`` on a temp file in ``path``'s folder, then rename it to ``path``.

    If anything fails, the temp file is removed and an existing ``path`` is untouched.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, f"cannot write {path}: the folder {path.parent} "
                                "does not exist", str(path)) from None
    try:
        with os.fdopen(fd, "wb") as f:
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
