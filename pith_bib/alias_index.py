"""A local mirror's aliases in one sorted file: ``aliases/index.tsv``.

2.7 M arXiv papers make 8.1 M alias files in the per-file layout; creating them
is what made ``mirror build`` slow, and they are as heavy to copy, sync or check
into anything. The index holds the same answers in one file, one line per alias::

    <kind>:<value>\\t<pith number>\\n

``kind`` is ``arxiv``, ``arxiv_version`` or ``doi`` and ``value`` is stripped and
lower-cased as :func:`pith_bib.mirrors.alias_path` does (but not URL-quoted:
the key is never a path). Lines are sorted
by their bytes and unique; because a tab sorts before every character a key may
hold, sorting whole lines sorts them by key, so a lookup is a binary search.

The file may come from anywhere (a cloned or synced mirror), so the reader
trusts nothing in it:

- it is opened with the project's safe-read rules (regular file only, never
  blocking, symlinks only within the mirror);
- it is read with ``pread`` of at most :data:`MAX_INDEX_LINE` bytes at a time,
  never as a whole. (``mmap`` would be as fast, but a file truncated while
  mapped kills the process with SIGBUS; ``pread`` merely reads less.);
- the search takes at most :data:`MAX_STEPS` probes and reads at most
  :data:`MAX_MATCH_LINES` matching lines, whatever the content; a line longer
  than the bound, or a probe past the end, stops the search with
  :class:`~pith_bib.errors.FileReadError`;
- only lines whose key equals the question's key exactly, and whose number is
  well formed, are answers. An unsorted or garbled file can therefore *miss*
  an answer, never invent one (and any answer is still a hint that the
  signed document must confirm).
"""

from __future__ import annotations

import os
import re

from .errors import FileReadError
from .safe_read import open_regular, visible_path

INDEX_PATH = "aliases/index.tsv"
MAX_INDEX_LINE = 512  # the longest real line (an old-style DOI alias) is under 100 bytes
MAX_STEPS = 70  # 2 ** 63 bytes take 64 halvings
MAX_MATCH_LINES = 16
_KIND_RE = re.compile(r"[a-z_]{1,32}")
_NUMBER_RE = re.compile(rb"pith:\d{4}:[A-Z2-7]{26}")
_FORBIDDEN = frozenset(range(0x21))  # control characters, space, and the separators


def index_key(kind: str, value: str) -> bytes | None:
    """The key an alias is filed under; None when no index line could hold it."""
    if not _KIND_RE.fullmatch(kind):
        return None
    key = f"{kind}:{value.strip().lower()}".encode("utf-8", "surrogatepass")
    if len(key) > MAX_INDEX_LINE // 2 or not _FORBIDDEN.isdisjoint(key):
        return None
    return key


def index_line(kind: str, value: str, number: str) -> bytes:
    """One index line; the caller guarantees ``value`` is a checked id (no spaces or tabs)."""
    return f"{kind}:{value.lower()}\t{number}\n".encode("ascii")


def open_index(path: str | os.PathLike[str], within: str | os.PathLike[str]) -> int | None:
    """A read-only descriptor for the index, None when there is none.

    The same checks as :func:`pith_bib.safe_read.read_regular_file` (stat before
    open, regular files only, O_NONBLOCK, re-check with fstat, symlinks within
    the mirror), but the file is left open for bounded ``pread`` calls.
    """
    return open_regular(path, within=within)


class _Probe:
    """Bounded reads of one open index: every read is one ``pread`` of a short span."""

    def __init__(self, fd: int, name: str) -> None:
        self.fd = fd
        self.name = name
        self.size = os.fstat(fd).st_size

    def _bad(self, what: str) -> FileReadError:
        return FileReadError(f"{visible_path(self.name)}: not a usable alias index ({what})")

    def line_start(self, pos: int) -> int:
        """The first line start at or after ``pos`` (``size`` when none)."""
        if pos <= 0:
            return 0
        chunk = os.pread(self.fd, MAX_INDEX_LINE, pos - 1)
        newline = chunk.find(b"\n")
        if newline >= 0:
            return pos + newline
        if pos - 1 + len(chunk) >= self.size:
            return self.size
        raise self._bad(f"a line over {MAX_INDEX_LINE} bytes")

    def line(self, start: int) -> tuple[bytes, bytes, int]:
        """``(key, rest, next line start)`` of the line starting at ``start``."""
        chunk = os.pread(self.fd, MAX_INDEX_LINE, start)
        newline = chunk.find(b"\n")
        if newline < 0:
            if not chunk or start + len(chunk) < self.size:
                raise self._bad(f"a line over {MAX_INDEX_LINE} bytes")
            newline = len(chunk)  # the last line, without its newline
        key, _, rest = chunk[:newline].partition(b"\t")
        return key, rest, start + newline + 1

    def first_not_below(self, key: bytes) -> int:
        """Start of the first line whose key is >= ``key``, if the file is sorted.

        Invariant: every line starting before ``lo`` has a smaller key and every
        line starting at or after ``hi`` does not; each probe halves the range,
        sorted or not, so the loop ends within :data:`MAX_STEPS`.
        """
        lo, hi = 0, self.size
        for _ in range(MAX_STEPS):
            if lo >= hi:
                return lo
            mid = (lo + hi) // 2
            start = self.line_start(mid)
            if start >= hi:
                hi = mid
                continue
            line_key, _, after = self.line(start)
            if line_key < key:
                lo = after
            else:
                hi = mid
        raise self._bad("the search did not end")

    def numbers(self, key: bytes, limit: int) -> list[str]:
        """Well-formed numbers on the lines filed under ``key``, at most ``limit``."""
        found: list[str] = []
        pos = self.first_not_below(key)
        for _ in range(MAX_MATCH_LINES):
            if pos >= self.size or len(found) >= limit:
                break
            line_key, rest, pos = self.line(pos)
            if line_key != key:
                break
            number = rest.rstrip(b"\r")
            if _NUMBER_RE.fullmatch(number) and number.decode("ascii") not in found:
                found.append(number.decode("ascii"))
        return found


def lookup_index(path: str | os.PathLike[str], kind: str, value: str, *,
                 within: str | os.PathLike[str], limit: int = 4) -> list[str]:
    """Pith numbers the index at ``path`` files under ``kind``/``value`` (unverified).

    ``[]`` when there is no index or no such alias; :class:`FileReadError` when
    the file is not a regular file, leaves ``within``, cannot be read, or is
    garbled where the search looked.
    """
    key = index_key(kind, value)
    if key is None:
        return []
    fd = open_index(path, within)
    if fd is None:
        return []
    try:
        return _Probe(fd, os.fspath(path)).numbers(key, limit)
    except OSError as exc:
        raise FileReadError(f"{visible_path(path)}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
