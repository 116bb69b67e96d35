"""Build a local mirror's alias index from arXiv's bulk metadata snapshot.

arXiv publishes its whole metadata as JSON lines (``id``, ``title``, ``abstract``,
``categories``, ``license``, ``versions``), plain or gzip. Every paper's pith number
can be derived from that line alone (:mod:`pith_bib.derive`), so a mirror can answer
"which pith number is arXiv:X?" for every paper without asking the registry.

The output is the alias layout every mirror already serves and
:class:`pith_bib.mirrors.LocalMirror` reads: ``aliases/arxiv/<id>``,
``aliases/arxiv_version/<id>v<N>`` and ``aliases/doi/10.48550/arxiv.<id>``, each a
one-line text file naming the number (old-style ids keep their slash, so they live
one directory deeper). These are hints, verified later like any other.

The snapshot is untrusted input: it is streamed (constant memory, lines capped),
every id is checked strictly before it becomes a path, and a bad line is counted
and skipped, never fatal. A rebuild rewrites only files whose content changed.
Files are replaced by rename (readers never see half a file) but not fsynced one
by one, which would cost a disk flush per alias: after a crash, run the build
again; it repairs whatever was lost.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from .derive import ArxivMetadata, derive_pith_number
from .errors import ArxivMetadataError, UsageError, WriteError
from .mirrors import alias_path

MAX_LINE_BYTES = 1024 * 1024
MAX_BAD_SAMPLES = 5
PROGRESS_EVERY = 20_000
_MAX_KNOWN_DIRS = 10_000

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
    """Metadata and pith number of one snapshot line; ArxivMetadataError if bad."""
    try:
        obj = json.loads(line)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ArxivMetadataError(f"not JSON ({exc})") from None
    meta = snapshot_metadata(obj)
    return meta, derive_pith_number(meta)


def build_mirror(snapshot: Path | str, outdir: Path | str,
                 progress: ProgressFn | None = None) -> BuildStats:
    """Derive every paper in ``snapshot`` and write its aliases under ``outdir``."""
    root = Path(outdir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{root}: cannot create the mirror: {exc.strerror or exc}") from None
    writer = AliasWriter(root)
    stats = BuildStats()
    with open_snapshot(Path(snapshot)) as (stream, raw, size):
        try:
            for line in iter_lines(stream):
                stats.lines += 1
                if progress is not None and stats.lines % PROGRESS_EVERY == 0:
                    progress(stats.lines, raw.tell(), size)
                _build_line(line, stats, writer)
        except (OSError, EOFError, zlib.error) as exc:
            # A corrupt or cut gzip stream: keep what was built, say where it stopped.
            stats.stopped = printable(f"line {stats.lines + 1}: the snapshot is unreadable "
                                      f"from here on ({exc})")
        if progress is not None:
            progress(stats.lines, size, size)
    return stats


def _build_line(line: bytes | None, stats: BuildStats, writer: AliasWriter) -> None:
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
    body = f"{number}\n".encode("ascii")
    stats.papers += 1
    for kind, value in alias_entries(meta):
        if writer.write(kind, value, body):
            stats.written += 1
        else:
            stats.unchanged += 1
