"""Build a local mirror's alias index from arXiv's bulk metadata snapshot.

arXiv publishes its whole metadata as JSON lines (``id``, ``title``, ``abstract``,
``categories``, ``license``, ``versions``), plain or gzip. Every paper's pith number
can be derived from that line alone (:mod:`pith_bib.derive`), so a mirror can answer
"which pith number is arXiv:X?" for every paper without asking the registry.

Each paper has three aliases: ``arxiv`` (``<id>``), ``arxiv_version``
(``<id>v<N>``, its latest version) and ``doi`` (``10.48550/arxiv.<id>``). They
are hints, verified later like any other. Two outputs:

- **the index** (always): ``aliases/index.tsv``, one sorted line per alias
  (:mod:`pith_bib.alias_index`), which :class:`pith_bib.mirrors.LocalMirror`
  searches in place. It is built in constant memory by an external sort: lines
  are collected in chunks of at most ``chunk_lines``, each chunk is sorted and
  spilled to a temporary run file, and the runs are merged with
  :func:`heapq.merge` (in several passes when there are more than ``fan_in``).
  The result replaces the old index by rename, fsynced, and only when its
  SHA-256 differs: a rebuild from the same snapshot leaves the file (inode,
  mtime) alone.
- **per-file aliases** (``per_file=True``): ``aliases/<kind>/<value>``, one
  one-line file per alias, which any static web server can host. 2.7 M papers
  make 8.1 M files: slow to create, heavy to sync. They are replaced by rename
  but not fsynced one by one (a disk flush per alias); after a crash, run the
  build again and it repairs whatever was lost.

The snapshot is untrusted input: it is streamed (constant memory, lines capped),
every id is checked strictly before it becomes a key or a path, and a bad line is
counted and skipped, never fatal. When the snapshot turns unreadable part way (a
cut gzip), an existing index is kept rather than replaced by a partial one.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import heapq
import io
import itertools
import os
import shutil
import stat
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .alias_index import INDEX_PATH, MAX_INDEX_LINE, index_line
from .derive import ArxivMetadata, derive_pith_number
from .errors import ArxivMetadataError, JsonFormatError, UsageError, WriteError
from .mirrors import alias_path
from .strict_json import load_json

MAX_LINE_BYTES = 1024 * 1024
MAX_BAD_SAMPLES = 5
PROGRESS_EVERY = 20_000
_MAX_KNOWN_DIRS = 10_000
CHUNK_LINES = 100_000  # index lines held in memory at once (about 10 MB)
FAN_IN = 128  # run files merged at once (a 64 KB buffer each): 2.7 M papers need 82
_WRITE_BATCH = 2048
_READ_BUFFER = 1 << 16
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)

ProgressFn = Callable[[int, int, int], None]  # (lines, bytes read, total bytes)


@dataclass
class BuildStats:
    """What a build did; ``bad_samples`` are the first few bad lines' reasons."""

    lines: int = 0
    papers: int = 0
    written: int = 0
    unchanged: int = 0
    bad: int = 0
    bad_samples: list[str] = field(default_factory=list)
    stopped: str | None = None  # why reading stopped before the end, if it did
    aliases: int = 0  # distinct lines in the index
    index: str = ""  # "written", "unchanged" or "kept" (the snapshot was unreadable)

    def add_bad(self, line_no: int, reason: str) -> None:
        self.bad += 1
        if len(self.bad_samples) < MAX_BAD_SAMPLES:
            self.bad_samples.append(f"line {line_no}: {printable(reason)}")


def printable(text: str, limit: int = 160) -> str:
    """One line with no control characters, cut to ``limit``."""
    clean = "".join(c if c.isprintable() else "?" for c in text)
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


def snapshot_metadata(obj: Any) -> ArxivMetadata:
    """One snapshot record → metadata; ArxivMetadataError when it is unusable."""
    if not isinstance(obj, dict):
        raise ArxivMetadataError("not a JSON object")
    for name in ("id", "title", "abstract", "categories"):
        if not isinstance(obj.get(name), str):
            raise ArxivMetadataError(f"{name!r} missing or not a string")
    license = obj.get("license")
    if license is not None and not isinstance(license, str):
        raise ArxivMetadataError("'license' is neither a string nor null")
    versions = obj.get("versions")
    if not isinstance(versions, list) or not versions or len(versions) > 1000:
        raise ArxivMetadataError("'versions' missing or not a list")
    pairs: list[tuple[str, str]] = []
    for item in versions:
        if not isinstance(item, dict):
            raise ArxivMetadataError("a version is not an object")
        pairs.append((item.get("version"), item.get("created")))  # type: ignore[arg-type]
    return ArxivMetadata.from_raw(obj["id"], pairs, obj["title"], obj["abstract"],
                                  obj["categories"], license)


def alias_entries(meta: ArxivMetadata) -> list[tuple[str, str]]:
    """The aliases a mirror publishes for a paper's record (its latest version)."""
    return [("arxiv", meta.id), ("arxiv_version", f"{meta.id}v{meta.latest_version}"),
            ("doi", f"10.48550/arxiv.{meta.id}")]


class AliasWriter:
    """Writes alias files under ``root``, leaving files that already say the same."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._known_dirs: set[Path] = set()

    def write(self, kind: str, value: str, body: bytes) -> bool:
        """True when the file was (re)written, False when it already held ``body``."""
        path = self.root / alias_path(kind, value)
        try:
            with open(path, "rb") as handle:
                if handle.read(len(body) + 1) == body:
                    return False
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise WriteError(f"{path}: {exc.strerror or exc}") from None
        folder = path.parent
        try:
            if folder not in self._known_dirs:
                folder.mkdir(parents=True, exist_ok=True)
                if len(self._known_dirs) > _MAX_KNOWN_DIRS:
                    self._known_dirs.clear()
                self._known_dirs.add(folder)
            temp = folder / f".{path.name}.{os.getpid()}.tmp"
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, body)
            finally:
                os.close(fd)
            os.replace(temp, path)
        except OSError as exc:
            raise WriteError(f"{path}: {exc.strerror or exc}") from None
        return True


@contextlib.contextmanager
def open_snapshot(path: Path) -> Iterator[tuple[BinaryIO, BinaryIO, int]]:
    """``(lines stream, raw file, raw size)``; gzip is recognised by its magic bytes."""
    with contextlib.ExitStack() as stack:
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):  # /dev/zero never ends; a FIFO blocks
                raise UsageError(f"{path}: the snapshot must be a regular file")
            raw = stack.enter_context(open(path, "rb"))
            size = os.fstat(raw.fileno()).st_size
            magic = raw.read(2)
            raw.seek(0)
        except OSError as exc:
            raise UsageError(f"{path}: cannot read the snapshot: "
                             f"{exc.strerror or exc}") from None
        stream: BinaryIO = raw
        if magic == b"\x1f\x8b":
            stream = stack.enter_context(io.BufferedReader(
                gzip.GzipFile(fileobj=raw, mode="rb"), buffer_size=1 << 20))
        yield stream, raw, size


def iter_lines(stream: BinaryIO) -> Iterator[bytes | None]:
    """Each line (without its newline); None for a line over :data:`MAX_LINE_BYTES`."""
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):  # skip the rest, in bounded pieces
                line = stream.readline(MAX_LINE_BYTES)
            yield None
            continue
        yield line


def derive_line(line: bytes) -> tuple[ArxivMetadata, str]:
    """Metadata and pith number of one snapshot line; ArxivMetadataError if bad.

    Every way a hostile line can fail (deep nesting, a lone surrogate that cannot
    be hashed, a date out of range) becomes that line's one-line reason: a bad
    line is counted, never the end of the build.
    """
    try:
        obj = load_json(line, max_bytes=MAX_LINE_BYTES, allow_floats=True,
                        what="snapshot line")
        meta = snapshot_metadata(obj)
        return meta, derive_pith_number(meta)
    except JsonFormatError as exc:
        raise ArxivMetadataError(str(exc).removeprefix("snapshot line: ")) from None
    except (UnicodeError, OverflowError, RecursionError) as exc:
        raise ArxivMetadataError(f"cannot be derived ({type(exc).__name__})") from None


def build_mirror(snapshot: Path | str, outdir: Path | str,
                 progress: ProgressFn | None = None, *, per_file: bool = False,
                 chunk_lines: int = CHUNK_LINES, fan_in: int = FAN_IN) -> BuildStats:
    """Derive every paper in ``snapshot``; write ``aliases/index.tsv`` (and per-file aliases)."""
    root = Path(outdir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{root}: cannot create the mirror: {exc.strerror or exc}") from None
    files = AliasWriter(root) if per_file else None
    stats = BuildStats()
    with open_snapshot(Path(snapshot)) as (stream, raw, size), \
            IndexWriter(root / INDEX_PATH, chunk_lines, fan_in) as index:
        try:
            for line in iter_lines(stream):
                stats.lines += 1
                if progress is not None and stats.lines % PROGRESS_EVERY == 0:
                    progress(stats.lines, raw.tell(), size)
                _build_line(line, stats, index, files)
        except (OSError, EOFError, zlib.error) as exc:
            # A corrupt or cut gzip stream: keep what was built, say where it stopped.
            stats.stopped = printable(f"line {stats.lines + 1}: the snapshot is unreadable "
                                      f"from here on ({exc})")
        if stats.stopped and index.target_exists():
            stats.index = "kept"
        else:
            stats.aliases, replaced = index.finish()
            stats.index = "written" if replaced else "unchanged"
        if progress is not None:
            progress(stats.lines, size, size)
    return stats


def _build_line(line: bytes | None, stats: BuildStats, index: IndexWriter,
                files: AliasWriter | None) -> None:
    if line is None:
        stats.add_bad(stats.lines, f"longer than {MAX_LINE_BYTES} bytes")
        return
    if not line.strip():
        return
    try:
        meta, number = derive_line(line)
    except ArxivMetadataError as exc:
        stats.add_bad(stats.lines, str(exc))
        return
    stats.papers += 1
    entries = alias_entries(meta)
    for kind, value in entries:
        index.add(index_line(kind, value, number))
    if files is None:
        return
    body = f"{number}\n".encode("ascii")
    for kind, value in entries:
        if files.write(kind, value, body):
            stats.written += 1
        else:
            stats.unchanged += 1


# -- the index: an external sort in constant memory ------------------------------------


class IndexWriter:
    """Sorted, duplicate-free lines into ``target``, holding at most ``chunk_lines`` at once.

    Use as a context manager: the temporary run files live in a private folder
    beside the target (same file system, so the final rename is atomic) and are
    removed on the way out, whatever happened.
    """

    def __init__(self, target: Path, chunk_lines: int = CHUNK_LINES,
                 fan_in: int = FAN_IN) -> None:
        self.target = target
        self.chunk_lines = max(1, chunk_lines)
        self.fan_in = max(2, fan_in)
        self.runs: list[Path] = []
        self._buffer: list[bytes] = []
        self._serial = 0
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            self.workdir = Path(tempfile.mkdtemp(prefix=".index-build-", dir=target.parent))
        except OSError as exc:
            raise WriteError(f"{target.parent}: {exc.strerror or exc}") from None

    def __enter__(self) -> IndexWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.workdir, ignore_errors=True)

    def add(self, line: bytes) -> None:
        """One line, newline included; a line over the reader's bound is dropped."""
        if len(line) <= MAX_INDEX_LINE:
            self._buffer.append(line)
            if len(self._buffer) >= self.chunk_lines:
                self._spill()

    def target_exists(self) -> bool:
        return self.target.exists()

    def _new_run(self) -> Path:
        self._serial += 1
        return self.workdir / f"run{self._serial:06d}"

    def _spill(self) -> None:
        self._buffer.sort()
        path = self._new_run()
        self._write_run(path, _unique(self._buffer))
        self._buffer = []
        self.runs.append(path)

    def _write_run(self, path: Path, lines: Iterable[bytes]) -> None:
        try:
            with open(path, "wb", buffering=_READ_BUFFER) as handle:
                handle.writelines(lines)
        except OSError as exc:
            raise WriteError(f"{path}: {exc.strerror or exc}") from None

    def _merge_passes(self) -> None:
        """Merge runs ``fan_in`` at a time until one final merge can take them all."""
        while len(self.runs) + 1 > self.fan_in:
            group, self.runs = self.runs[:self.fan_in], self.runs[self.fan_in:]
            path = self._new_run()
            with contextlib.ExitStack() as stack:
                sources = [stack.enter_context(_open_run(run)) for run in group]
                self._write_run(path, _unique(heapq.merge(*sources)))
            for run in group:
                run.unlink()
            self.runs.append(path)

    def finish(self) -> tuple[int, bool]:
        """Write the index: ``(distinct lines, True when the file was replaced)``."""
        self._buffer.sort()
        self._merge_passes()
        fd, temp_name = self._temp_file()
        temp = Path(temp_name)
        digest = hashlib.sha256()
        try:
            with contextlib.ExitStack() as stack:
                handle = stack.enter_context(os.fdopen(fd, "wb", buffering=_READ_BUFFER))
                sources = [stack.enter_context(_open_run(run)) for run in self.runs]
                count = _write_hashed(handle, _unique(heapq.merge(*sources, self._buffer)),
                                      digest)
                handle.flush()
                os.fsync(handle.fileno())
            self._buffer = []
            if _same_content(self.target, temp.stat().st_size, digest.hexdigest()):
                temp.unlink()
                return count, False
            os.chmod(temp, 0o644)
            os.replace(temp, self.target)
            _fsync_dir(self.target.parent)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise WriteError(f"{self.target}: {exc.strerror or exc}") from None
        except BaseException:
            with contextlib.suppress(OSError):
                temp.unlink()
            raise
        return count, True

    def _temp_file(self) -> tuple[int, str]:
        try:
            return tempfile.mkstemp(prefix=f".{self.target.name}.", suffix=".tmp",
                                    dir=self.target.parent)
        except OSError as exc:
            raise WriteError(f"{self.target.parent}: {exc.strerror or exc}") from None


def _unique(lines: Iterable[bytes]) -> Iterator[bytes]:
    """Sorted lines with repeats dropped (groupby runs in C, unlike a Python loop)."""
    return (line for line, _ in itertools.groupby(lines))


def _open_run(path: Path) -> BinaryIO:
    try:
        return open(path, "rb", buffering=_READ_BUFFER)
    except OSError as exc:
        raise WriteError(f"{path}: {exc.strerror or exc}") from None


def _write_hashed(handle: BinaryIO, lines: Iterator[bytes], digest: Any) -> int:
    count = 0
    while batch := list(itertools.islice(lines, _WRITE_BATCH)):
        data = b"".join(batch)
        handle.write(data)
        digest.update(data)
        count += len(batch)
    return count


def _same_content(path: Path, size: int, hexdigest: str) -> bool:
    """True when ``path`` is a regular file of ``size`` bytes with that SHA-256.

    Checked with ``stat`` before opening, and opened non-blocking: a FIFO planted
    as the index must not hang the build.
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        fd = os.open(path, _READ_FLAGS)
    except OSError:
        return False
    digest = hashlib.sha256()
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size != size:
            return False
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
    except OSError:
        return False
    finally:
        os.close(fd)
    return digest.hexdigest() == hexdigest


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
