"""Write a file so that readers (and a crash) see the old bytes or the new, never a mix.

The new bytes go to a temporary file in the same directory, are flushed and
fsynced, then renamed over the target (atomic on POSIX and on Windows via
``os.replace``); the directory is fsynced so the rename itself survives a
power cut. The original file's permission bits are kept.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from .errors import WriteError


def write_atomic(path: Path | str, data: bytes, mode: int | None = None) -> None:
    target = Path(path)
    folder = target.parent
    try:
        existing_mode = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        existing_mode = None
    except OSError as exc:
        raise WriteError(f"{target}: {exc.strerror or exc}") from None
    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise WriteError(f"{target}: cannot create a temporary file in {folder}: "
                         f"{exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        final_mode = mode if mode is not None else existing_mode
        if final_mode is None:
            umask = os.umask(0)
            os.umask(umask)
            final_mode = 0o666 & ~umask
        os.chmod(temp_name, final_mode)
        os.replace(temp_name, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp_name)
        if isinstance(exc, OSError):
            raise WriteError(f"{target}: {exc.strerror or exc}") from None
        raise
    _fsync_directory(folder)


def _fsync_directory(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not possible on every platform (Windows); the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
