"""Read a file someone else may have planted: regular files only, bounded, never blocking.

Mirror directories, lock files, config files and cache records can come from a
repository or a shared folder, and git happily stores a symlink to
``/dev/zero`` or a FIFO. ``Path.read_bytes`` on those reads until memory runs
out or blocks forever, and a size check on ``st_size`` alone is no bound
either (``/proc`` files report 0 and hold more). So:

- the path is ``stat``-ed first (following symlinks) and anything but a
  regular file is refused *before* it is opened, because opening some devices
  has side effects;
- it is opened with ``O_NONBLOCK`` (a FIFO swapped in after the check cannot
  block the open) and re-checked with ``fstat`` on the descriptor we read from;
- at most ``max_bytes + 1`` bytes are read, so the cap holds whatever
  ``st_size`` says;
- with ``within``, a symlink is followed only when its final target stays
  inside that directory (a link to ``~/.ssh/id_ed25519`` from a cloned mirror
  is refused). The check uses ``realpath`` before opening; a tree rewritten
  concurrently by an attacker with write access to it is out of scope.

Symlinks to regular files are followed on purpose: a mirror checked into git
may legitimately link ``state.json`` to a shared copy.
"""

from __future__ import annotations

import os
import re
import stat

from .errors import FileReadError

# The most a bibliography (.bib or CSL-JSON) may hold: far beyond any real one, and a
# bound on a hostile one (or /dev/zero behind a symlink).
MAX_INPUT_BYTES = 256 * 1024 * 1024

_CHUNK = 1 << 20
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
               | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))


def visible_path(path: str | os.PathLike[str]) -> str:
    """A path fit for a one-line message: control characters escaped."""
    return _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", os.fspath(path))


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _require_regular(name: str, mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise FileReadError(f"{visible_path(name)}: not a regular file ({_kind(mode)})")


def _require_within(name: str, within: str | os.PathLike[str]) -> None:
    real = os.path.realpath(name)
    root = os.path.realpath(within)
    try:
        inside = os.path.commonpath([real, root]) == root
    except ValueError:  # different drives on Windows
        inside = False
    if not inside:
        raise FileReadError(f"{visible_path(name)}: a symbolic link leading outside "
                            f"{visible_path(within)}")


def _too_big(name: str, max_bytes: int) -> FileReadError:
    return FileReadError(f"{visible_path(name)}: over the {max_bytes}-byte limit")


def _read_bounded(fd: int, name: str, max_bytes: int) -> bytes:
    """At most ``max_bytes`` (more is an error), counted on the bytes read.

    The file's size is only a hint for the first read: a file of ten megabytes
    (a large lock) is then read with one call into one buffer, not in chunks
    joined by copying. A file that grows meanwhile is read on, up to the bound.
    """
    first = os.read(fd, min(max(os.fstat(fd).st_size, 0) + 1, max_bytes + 1))
    if len(first) > max_bytes:
        raise _too_big(name, max_bytes)
    chunk = os.read(fd, min(_CHUNK, max_bytes + 1 - len(first))) if first else b""
    if not chunk:
        return first
    data = bytearray(first)
    while chunk:
        data += chunk
        if len(data) > max_bytes:
            raise _too_big(name, max_bytes)
        chunk = os.read(fd, min(_CHUNK, max_bytes + 1 - len(data)))
    return bytes(data)


def open_regular(path: str | os.PathLike[str], *, within: str | os.PathLike[str] | None = None,
                 max_bytes: int | None = None) -> int | None:
    """A read-only descriptor for the regular file at ``path``; None when nothing is there.

    Stat before open (never opens a FIFO or device, which could block), opens
    with ``O_NONBLOCK``, and re-checks with ``fstat`` (the file may have been
    swapped in between). Raises :class:`FileReadError` for anything but a
    regular file (a link leading outside ``within`` included) or an OS error.
    A dangling symlink counts as "nothing there". The caller closes the fd.
    """
    name = os.fspath(path)
    try:
        before = os.stat(name)
        _require_regular(name, before.st_mode)
        if within is not None:
            _require_within(name, within)
        if max_bytes is not None and before.st_size > max_bytes:
            raise _too_big(name, max_bytes)  # early refusal; the bound is on bytes read
        fd = os.open(name, _OPEN_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise FileReadError(f"{visible_path(name)}: {exc.strerror or exc}") from None
    try:
        _require_regular(name, os.fstat(fd).st_mode)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_regular_file(path: str | os.PathLike[str], max_bytes: int, *,
                      within: str | os.PathLike[str] | None = None) -> bytes | None:
    """The bytes of the regular file at ``path``, or None when nothing is there.

    Raises :class:`FileReadError` (one line, control characters escaped) for
    anything else: a directory, FIFO, device or socket, a symlink loop, a link
    leading outside ``within``, more than ``max_bytes`` bytes, or an OS error.
    A dangling symlink counts as "nothing there".
    """
    name = os.fspath(path)
    fd = open_regular(name, within=within, max_bytes=max_bytes)
    if fd is None:
        return None
    try:
        return _read_bounded(fd, name, max_bytes)
    except OSError as exc:
        raise FileReadError(f"{visible_path(name)}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
