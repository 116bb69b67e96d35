"""Write a file so that readers (and a crash) see the old bytes or the new, never a mix.

The new bytes go to a temporary file in the same directory, are flushed and
fsynced, then renamed over the target (atomic on POSIX and on Windows via
``os.replace``); the directory is fsynced so the rename itself survives a
power cut. The original file's permission bits are kept.

Three things an editor gets right and a naive rename does not:

- a target that is a symlink (a dotfiles repository, a synced folder) is
  written *through*: the temporary file goes beside the link's final target
  and replaces that, so the link stays and the real file is updated;
- a read-only target (no write bit, or not writable by us) is refused with a
  :class:`WriteError`, although the folder would let us replace it;
- with ``expect``, the write happens only if the file still holds exactly the
  bytes we read. Programs such as Better BibTeX re-export a ``.bib`` every few
  tens of milliseconds, so "re-read, then rename" can throw away an export
  made between the two. On Linux the window is closed with
  ``renameat2(RENAME_EXCHANGE)``: the new file is swapped in atomically, the
  file swapped out is compared with ``expect``, and if it differs it is
  swapped back (see :func:`_restore`), so the other program's save is never
  lost (a reader in the microseconds between the two swaps can see ours; the
  final state is always right). Elsewhere, or on a file system without the
  exchange flag, the file is re-read right before ``os.replace``; a save
  landing in the microseconds between that re-read and the rename is still
  lost.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
import sys
from collections.abc import Callable
from pathlib import Path

from .errors import ConcurrentModificationError, WriteError

RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", -1)}
_MAX_SWAPS = 64
_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def write_atomic(path: Path | str, data: bytes, mode: int | None = None, *,
                 expect: bytes | None = None) -> None:
    """Replace ``path`` with ``data`` atomically (see the module docstring).

    ``mode`` sets the permission bits (default: the existing file's, or 0666
    less the umask). With ``expect``, raise :class:`ConcurrentModificationError`
    and leave the file as the other program left it unless it held exactly
    ``expect`` at the moment ours replaced it.
    """
    target = _final_target(Path(path))
    folder = target.parent
    existing_mode = _writable_mode(target)
    if expect is not None and existing_mode is None:
        raise ConcurrentModificationError(f"{target}: removed since it was read; not written")
    import tempfile  # here: a run that writes nothing (check) need not load it

    try:
        fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise WriteError(f"{target}: cannot create a temporary file in {folder}: "
                         f"{exc.strerror or exc}") from None
    ours = None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            ours = _file_id(os.fstat(handle.fileno()))
        final_mode = mode if mode is not None else existing_mode
        if final_mode is None:
            umask = os.umask(0)
            os.umask(umask)
            final_mode = 0o666 & ~umask
        os.chmod(temp_name, final_mode)
        if expect is None:
            os.replace(temp_name, target)
        else:
            _replace_if_unchanged(temp_name, str(target), expect, ours)
    except BaseException as exc:
        _discard_if_ours(temp_name, ours)
        if isinstance(exc, OSError):
            raise WriteError(f"{target}: {exc.strerror or exc}") from None
        raise
    _fsync_directory(folder)


def check_writable(path: Path | str) -> None:
    """Raise now the :class:`WriteError` :func:`write_atomic` would raise before writing.

    Not a regular file, read-only, or in no folder. Why: annotate writes the
    lock first, and a refusal known in advance must not leave a lock behind for
    a file that was never written.
    """
    target = _final_target(Path(path))
    _writable_mode(target)
    if not target.parent.is_dir():
        raise WriteError(f"{target}: no folder {target.parent} to write it in; not written")


def _final_target(path: Path) -> Path:
    """The file a symlink finally names (the link itself is left alone)."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _writable_mode(target: Path) -> int | None:
    """The target's permission bits, None when it does not exist; refuse what editors refuse."""
    try:
        info = target.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise WriteError(f"{target}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise WriteError(f"{target}: not a regular file; not written")
    # Mode bits first: root passes os.access() on any file, an editor still refuses.
    if not info.st_mode & _WRITE_BITS or not os.access(target, os.W_OK):
        raise WriteError(f"{target}: read-only file; not written (make it writable first)")
    return stat.S_IMODE(info.st_mode)


def _file_id(info: os.stat_result) -> tuple[int, int]:
    return info.st_dev, info.st_ino


def _discard_if_ours(temp_name: str, ours: tuple[int, int] | None) -> None:
    """Remove the temporary name, unless an exchange left someone else's file there."""
    with contextlib.suppress(OSError):
        if ours is None or _file_id(os.stat(temp_name)) == ours:
            os.unlink(temp_name)


def _read_prefix(name: str, limit: int) -> bytes:
    with open(name, "rb") as handle:
        return handle.read(limit)


@functools.cache
def _load_renameat2() -> Callable[..., int] | None:
    """libc's ``renameat2``, looked up on the first exchange (ctypes is slow to import)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # no libc symbol (glibc < 2.28, some musl builds)
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


def _exchange(first: str, second: str) -> bool:
    """Swap two names atomically; False when the platform or file system cannot."""
    renameat2 = _load_renameat2()
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                 RENAME_EXCHANGE) == 0:
        return True
    import ctypes

    code = ctypes.get_errno()
    if code in _UNSUPPORTED:
        return False
    raise OSError(code, os.strerror(code), second)


def _replace_if_unchanged(temp_name: str, target: str, expect: bytes,
                          ours: tuple[int, int] | None) -> None:
    if not _exchange(temp_name, target):
        _replace_after_recheck(temp_name, target, expect)
        return
    # The target now holds our bytes; temp_name holds what was there an instant ago.
    try:
        unchanged = _read_prefix(temp_name, len(expect) + 1) == expect
    except OSError:
        unchanged = False  # cannot tell: put the other file back rather than guess
    if unchanged:
        os.unlink(temp_name)
        return
    _restore(temp_name, target, ours)
    raise ConcurrentModificationError(f"{target}: changed on disk since it was read "
                                      "(another program saved it); not written")


def _restore(temp_name: str, target: str, ours: tuple[int, int] | None) -> None:
    """Swap the other program's file back in, and never an older one over a newer one.

    Before each exchange ``temp_name`` holds file H and we believe the target
    holds file E (first ours, later a stale export). After the exchange the
    target holds H and ``temp_name`` holds whatever the target held. If that is
    E, nobody wrote in between and H is the newest file: done. Otherwise the
    other program saved a newer file meanwhile, now under ``temp_name``, and
    the target holds the stale H: exchange again.
    """
    held = _file_id(os.stat(temp_name))
    expected_out = ours
    for _ in range(_MAX_SWAPS):
        try:
            swapped = _exchange(temp_name, target)
        except FileNotFoundError:  # the other program deleted the target meanwhile
            os.replace(temp_name, target)
            return
        if not swapped:
            raise WriteError(f"{target}: could not swap the other program's file back; "
                             f"it is kept as {temp_name}")
        got = _file_id(os.stat(temp_name))
        if got == expected_out:
            os.unlink(temp_name)
            return
        expected_out, held = held, got
    raise WriteError(f"{target}: kept changing while the other program's file was restored; "
                     f"one of its versions is kept as {temp_name}")


def _replace_after_recheck(temp_name: str, target: str, expect: bytes) -> None:
    """The portable fallback: re-read, then rename (a save in between is lost)."""
    try:
        current = _read_prefix(target, len(expect) + 1)
    except FileNotFoundError:
        current = None
    if current != expect:
        raise ConcurrentModificationError(f"{target}: changed on disk since it was read "
                                          "(another program saved it); not written")
    os.replace(temp_name, target)


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
