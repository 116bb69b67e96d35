"""The user cache: verified documents and their verdicts in one SQLite file.

Why one file: the former layout wrote five or six files per document (each
with its own fsync and rename) and opened two per identifier on a warm run.
Here a ``put`` is one transaction, and in WAL mode with ``synchronous=NORMAL``
a commit does not wait for the disk; losing the last commits on power loss is
harmless because every document is addressed by the sha256 of its bytes and
re-hashed on read, so a torn write is detected and the document fetched again.
A warm run opens the file once per thread and asks one small query per
identifier.

Layout::

    <root>/pith-bib-cache-v2/CACHEDIR.TAG     marks the folder as this cache's own
    <root>/pith-bib-cache-v2/cache.sqlite3    (+ -wal, -shm) tables:
        documents (sha256 → bytes)            evidence (sha256 → lock evidence)
        records   (pith ID → current sha256, kind, status, event_count, built_at,
                   verdict JSON, evidence sha256, verdict binding)
        aliases   (kind, normalised value → pith number)
        lock_verdicts (sha256 of a lock file's bytes → the verdicts of its lines,
                   bound; see :mod:`pith_bib.lock_verdicts`), the newest few kept

The former ``<root>/v1/`` layout is ignored: never read, never deleted (not even
by ``clear``); it can be removed by hand.

Guarantees:

* Only documents that verified are written; a document whose bytes no longer
  hash to their name is deleted and never used.
* A record only moves to a document that is not older (status rank, then
  event count, then ``built_at``), so a mirror serving a stale copy cannot
  roll it back.
* Several processes may share the file: read-modify-write runs in ``BEGIN
  IMMEDIATE`` transactions, waiting on each other through ``busy_timeout``.
  Each thread has its own connection (never shared, never used after fork).
* A damaged file (garbage, truncated, another program's schema) is deleted and
  recreated; an unusable one (read-only, full disk, a symlink) raises
  ``CacheError`` on first use, which the resolver turns into one warning.
* Folders the cache creates are 0700 and its files 0600; a folder it did not
  create (``--cache-dir`` on an existing folder) keeps its mode. Symbolic links
  inside the cache's own folder are refused, and ``clear`` removes only that
  folder, only when it carries the marker.
* A stored verdict is reused only when it is bound to the evidence it was
  computed from (an HMAC over the evidence hash and the report, under a key kept
  outside the cache: :mod:`pith_bib.verdict_key`), carries every field of
  today's report, and every key that produced it is still pinned. Anything
  else: the caller verifies again. The binding is the whole trust: the report
  is not re-derived from the evidence on each read, because whoever holds the
  key could forge a consistent pair anyway and whoever does not can forge none.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import stat
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from platformdirs import user_cache_dir

from .canonical import canonical_text
from .errors import CacheError
from .lock import EncodedEvidence
from .policy import status_rank
from .report import VerificationReport
from .trust import TrustRoot
from .verdict_key import bind, bound

CACHE_ENV = "PITH_BIB_CACHE_DIR"
LAYOUT = "v2"
FOLDER_NAME = "pith-bib-cache-v2"
DB_NAME = "cache.sqlite3"
MARKER_NAME = "CACHEDIR.TAG"
MARKER_SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"
MARKER = (MARKER_SIGNATURE + b"\n# This file is a cache directory tag created by pith-bib.\n"
          b"# For information about cache directory tags, see https://bford.info/cachedir/\n")
MARKER_LINE = b"created by pith-bib"

APPLICATION_ID = 0x70697468  # "pith": tells our file from another program's SQLite file
SCHEMA_VERSION = 2
MAX_LOCK_VERDICT_ROWS = 16  # one per lock file state; older ones are dropped on each store
BUSY_TIMEOUT_SECONDS = 60.0  # eight processes writing at once wait, they do not fail
MAX_EVIDENCE_BYTES = 1 << 20  # lock evidence is ~4 KB; a bound on what a read parses
MAX_ALIAS_KEY = 512
MAX_COMPLETIONS = 1000
_SCAN_JSON = json.JSONDecoder().scan_once
_IN_CHUNK = 500  # bound parameters per bulk query (SQLite's limit is 999 on old builds)
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_CORRUPT, _SQLITE_NOTADB = 5, 6, 11, 26

# SQLite keeps each CREATE statement's text: comparing it is the schema check.
_TABLES = {
    "documents": "CREATE TABLE documents (sha256 TEXT PRIMARY KEY, data BLOB NOT NULL)",
    "evidence": "CREATE TABLE evidence (sha256 TEXT PRIMARY KEY, data BLOB NOT NULL)",
    "records": ("CREATE TABLE records (pith_id TEXT PRIMARY KEY, sha256 TEXT NOT NULL, "
                "kind TEXT NOT NULL, status TEXT NOT NULL, event_count INTEGER NOT NULL, "
                "built_at TEXT NOT NULL, report TEXT NOT NULL, "
                "evidence_sha256 TEXT NOT NULL, verdict_sha256 TEXT NOT NULL)"),
    "aliases": ("CREATE TABLE aliases (kind TEXT NOT NULL, key TEXT NOT NULL, "
                "pith_number TEXT NOT NULL, PRIMARY KEY (kind, key))"),
}
# Added since version 2 without changing it, so that an older pith-bib sharing the file
# still reads it (its check ignores tables it does not know) instead of rebuilding it:
# created when missing (unless the file is read-only), read as empty when absent. A
# table of that name with other columns (a later version's) is left alone and unused;
# a change to this one must take a new name.
_LOCK_VERDICTS_SQL = ("CREATE TABLE lock_verdicts (lock_sha256 TEXT PRIMARY KEY, "
                      "verdicts TEXT NOT NULL, binding TEXT NOT NULL, stored_at REAL NOT NULL)")
_RECORD_SHAS = "SELECT pith_id, sha256 FROM records WHERE pith_id IN "
_VERDICT_COLUMNS = ("SELECT r.pith_id, r.sha256, r.kind, r.status, r.event_count, r.built_at, "
                    "r.report, r.evidence_sha256, r.verdict_sha256")
_VERDICT_SELECT = (_VERDICT_COLUMNS + ", e.data FROM records r "
                   "LEFT JOIN evidence e ON e.sha256 = r.evidence_sha256 ")
_HELD_VERDICT_SELECT = _VERDICT_COLUMNS + " FROM records r "  # the caller holds the evidence
_ALIAS_SELECT = "SELECT key, pith_number FROM aliases WHERE kind = ? AND key IN "
_RECORD_SELECT = ("SELECT r.sha256, r.kind, r.status, r.event_count, r.built_at, d.data, "
                  "r.verdict_sha256 FROM records r "
                  "LEFT JOIN documents d ON d.sha256 = r.sha256 WHERE r.pith_id = ?")

T = TypeVar("T")


def default_cache_dir() -> Path:
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    return Path(user_cache_dir("pith-bib", appauthor=False))


@dataclass(frozen=True)
class CachedRecord:
    """The current document for one pith ID, as its record row describes it."""

    pith_id: str
    sha256: str
    kind: str
    status: str
    event_count: int
    built_at: str

    def freshness(self) -> tuple[int, int, str]:
        # A state's events are unsigned, so a state never displaces a verified bundle.
        return (status_rank(self.status), self.event_count, self.built_at)


@dataclass(frozen=True)
class Verdict:
    """A stored verification result: the document's hash, its report, its lock evidence."""

    sha256: str
    report: VerificationReport
    evidence: EncodedEvidence | None
    # the report as the row stores it (canonical JSON), when read from a row: copied as
    # is into a lock's remembered verdicts (pith_bib.lock_verdicts), not encoded again
    report_text: str | None = None


@dataclass(frozen=True)
class _Entry:
    """Everything one ``put`` writes, hashed before the transaction starts."""

    record: CachedRecord
    data: bytes
    report_text: str
    evidence: bytes
    evidence_sha256: str
    verdict_sha256: str
    aliases: list[tuple[str, str, str]]  # (kind, key, pith number) rows that name it


def held_by_id(lines: Mapping[str, str]) -> dict[str, str]:
    """A lock's pith number → evidence text, keyed by pith ID as the cache is."""
    return {number.rsplit(":", 1)[-1]: text for number, text in lines.items()}


class _WrongSchema(sqlite3.DatabaseError):
    """A valid SQLite file that is not (this version of) the cache: healed like damage."""


class _Local(threading.local):
    conn: sqlite3.Connection | None = None
    generation = -1
    pid = 0
    ident: tuple[int, int] | None = None


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _text(raw: bytes) -> str:
    """SQLite TEXT as str; invalid UTF-8 becomes U+FFFD, so no hash over it matches."""
    return raw.decode("utf-8", "replace")


def _alias_key(value: str) -> str:
    return value.strip().lower()


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    if isinstance(exc, _WrongSchema):
        return True
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
    text = str(exc)
    return "not a database" in text or "malformed" in text


def _cache_error(where: object, exc: BaseException) -> CacheError:
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return CacheError(f"cache {where}: {detail}")


@contextlib.contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE``: take the write lock before reading what the write depends on."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# -- folders -------------------------------------------------------------------------
def _make_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents as 0700; folders that exist keep their mode."""
    missing: list[Path] = []
    current = path
    while not os.path.lexists(current) and current.parent != current:
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            continue  # another process made it: not ours to chmod
        os.chmod(folder, 0o700)  # mkdir's mode went through the umask


def _has_marker(folder: Path) -> bool:
    try:
        fd = os.open(folder / MARKER_NAME, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    try:
        head = os.read(fd, 4096)
    finally:
        os.close(fd)
    return head.startswith(MARKER_SIGNATURE) and MARKER_LINE in head


def _refuse_link(path: Path | str) -> None:
    if os.path.islink(path):
        raise CacheError(f"cache {path} is a symbolic link; refusing to use it")


def _unlink_quietly(path: Path | str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


# -- verdict checks ------------------------------------------------------------------
def parse_stored_json(text: str) -> Any:
    """``text`` parsed as exactly one JSON value, with no surrounding space; None if not.

    The C scanner that ``json.loads`` ends in, called directly: a warm run reads
    one stored report per paper, and the wrappers around it were half the cost.
    Stricter than ``json.loads`` (no leading or trailing space), which only
    means a report not written by :func:`canonical_text` is verified again.
    """
    try:
        value, end = _SCAN_JSON(text, 0)
    except (StopIteration, ValueError, RecursionError):
        return None
    return value if end == len(text) else None


def _stored_report(text: str, trust: TrustRoot) -> VerificationReport | None:
    """The stored report when it is complete, valid, and all its keys are still pinned."""
    return reusable_report(parse_stored_json(text), trust)


def reusable_report(saved: Any, trust: TrustRoot) -> VerificationReport | None:
    """A report saved with ``to_dict``, when complete, ok, and all its keys still pinned."""
    if not isinstance(saved, dict) or not VerificationReport.stored_fields() <= saved.keys():
        return None  # an older format: verified again rather than trusted half-read
    fingerprints = saved["key_fingerprints"]
    if not isinstance(fingerprints, list) or not fingerprints or \
            not all(isinstance(fp, str) and trust.pins(fp) for fp in fingerprints):
        return None
    try:
        report = VerificationReport.from_dict(saved)
    except (TypeError, ValueError):
        return None
    return report if report.ok and isinstance(report.pith_number, str) else None


def _bound_report(row: Sequence[Any], trust: TrustRoot) -> VerificationReport | None:
    """The report of a verdict row (without its evidence bytes) when it may be reused.

    The HMAC binding (see :mod:`pith_bib.verdict_key`) is what makes a row
    trustworthy: only this user's pith-bib, holding the key, wrote it, and it
    wrote it after verifying exactly the evidence whose hash the row names. So
    the report is not re-derived from the evidence here; whoever holds the key
    can forge a consistent pair anyway, and whoever does not cannot forge any.
    """
    pith_id, _, kind, status, count, built_at, text, evidence_sha, binding = row[:9]
    if not isinstance(text, str) or not isinstance(evidence_sha, str) or \
            not bound(binding, evidence_sha, text):
        return None
    report = _stored_report(text, trust)
    if report is None or str(report.pith_number).rsplit(":", 1)[-1] != pith_id:
        return None
    if (kind, status, count, built_at) != (report.kind or "bundle", report.status,
                                           report.event_count or 0, report.built_at or ""):
        return None  # the row that rollback refusal reads must say what the report says
    return report


def _check_verdict(row: Sequence[Any], trust: TrustRoot) -> tuple[Verdict | None, bool]:
    """(the verdict if it may be reused, whether the evidence bytes were damaged)."""
    report = _bound_report(row, trust)
    if report is None:
        return None, False
    raw = row[9]
    if not isinstance(raw, bytes) or len(raw) > MAX_EVIDENCE_BYTES:
        return None, raw is not None
    if _sha(raw) != row[7]:
        return None, True
    try:
        evidence_text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, False
    return Verdict(str(row[1]), report, EncodedEvidence(evidence_text), row[6]), False


def _held_verdict(row: Sequence[Any], trust: TrustRoot, held: Mapping[str, str]
                  ) -> Verdict | None:
    """The verdict for evidence the caller holds (a lock's line), if bound to those bytes.

    Why: the lock already carries the evidence, byte for byte; hashing the
    line is cheaper than reading the same ten megabytes back from the cache.
    """
    text = held.get(row[0])
    if text is None or _sha(text.encode("utf-8")) != row[7]:
        return None
    report = _bound_report(row, trust)
    return Verdict(str(row[1]), report, EncodedEvidence(text), row[6]) \
        if report is not None else None


def _in_chunks(values: Iterable[str]) -> list[tuple[str, list[str]]]:
    """("(?,?,…)", values) per chunk of the sorted distinct values: bulk ``IN`` queries."""
    wanted = sorted(set(values))
    chunks = []
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start:start + _IN_CHUNK]
        chunks.append((f"({','.join('?' * len(chunk))})", chunk))
    return chunks


def _verdict_queries(pith_ids: Iterable[str], held: Mapping[str, str] | None
                     ) -> list[tuple[str, list[str]]]:
    """(SQL, parameters) per chunk of IDs: without the evidence column when it is held."""
    select = _HELD_VERDICT_SELECT if held is not None else _VERDICT_SELECT
    return [(select + "WHERE r.pith_id IN " + marks, chunk)
            for marks, chunk in _in_chunks(pith_ids)]


def _entry(data: bytes, report: VerificationReport, evidence: EncodedEvidence,
           aliases: Iterable[tuple[str, str]]) -> _Entry:
    number = report.pith_number
    if not report.ok or number is None:
        raise CacheError("refusing to cache a document that did not verify")
    record = CachedRecord(number.rsplit(":", 1)[1], _sha(data), report.kind or "bundle",
                          report.status, int(report.event_count or 0), report.built_at or "")
    evidence_bytes = evidence.encode("utf-8")
    evidence_sha = _sha(evidence_bytes)
    text = canonical_text(report.to_dict())
    rows = [(kind, key, number) for kind, key in ((k, _alias_key(v)) for k, v in aliases)
            if len(key) <= MAX_ALIAS_KEY]
    return _Entry(record, data, text, evidence_bytes, evidence_sha, bind(evidence_sha, text),
                  rows)


def _record_of(pith_id: str, row: Sequence[Any]) -> CachedRecord | None:
    sha, kind, status, count, built_at = row[:5]
    if not all(isinstance(v, str) for v in (sha, kind, status, built_at)) or \
            not isinstance(count, int):
        return None
    return CachedRecord(pith_id, sha, kind, status, count, built_at)


class Cache:
    """A process-safe store of verified documents; nothing touches the disk until first use."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.base = self.root / FOLDER_NAME
        self.path = self.base / DB_NAME
        self._local = _Local()
        self._generation = 0  # bumped when the file is healed or cleared: threads reconnect
        self._heal_lock = threading.Lock()

    # -- the folder ----------------------------------------------------------------
    def _folder_ready(self, create: bool) -> bool:
        """True when the cache's own folder exists and is safe; False when absent (reads)."""
        try:
            info = os.lstat(self.base)
        except FileNotFoundError:
            if not create:
                return False
            self._create_folder()
            info = os.lstat(self.base)
        if stat.S_ISLNK(info.st_mode):
            raise CacheError(f"cache {self.base} is a symbolic link; refusing to use it")
        if not stat.S_ISDIR(info.st_mode):
            raise CacheError(f"cache {self.base} is not a folder")
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            raise CacheError(f"cache {self.base} belongs to another user; refusing to use it")
        if not _has_marker(self.base):
            raise CacheError(f"cache {self.base} has no {MARKER_NAME} from pith-bib; "
                             "refusing to use a folder that is not the cache's own")
        return True

    def _create_folder(self) -> None:
        """Build the folder with its marker beside it, then rename: never seen half-made."""
        _make_dirs(self.root)
        temp = self.root / f".{FOLDER_NAME}.{os.getpid()}.{os.urandom(6).hex()}.tmp"
        os.mkdir(temp, 0o700)
        try:
            os.chmod(temp, 0o700)
            fd = os.open(temp / MARKER_NAME,
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                         0o600)
            try:
                os.write(fd, MARKER)
            finally:
                os.close(fd)
            os.rename(temp, self.base)  # fails if another process got there first
        except OSError:
            if not os.path.lexists(self.base):
                raise
        finally:
            if os.path.lexists(temp):
                shutil.rmtree(temp, ignore_errors=True)

    # -- connections ---------------------------------------------------------------
    def _conn(self, create: bool) -> sqlite3.Connection | None:
        """This thread's connection; None when reading a cache that does not exist yet."""
        local = self._local
        if local.conn is not None and local.generation == self._generation and \
                local.pid == os.getpid():
            return local.conn
        self._drop_connection()
        try:
            if not self._folder_ready(create):
                return None
            for attempt in (0, 1):
                opened = self._open(create)
                if opened is None:
                    return None
                conn, ident = opened
                try:
                    _prepare(conn)
                except sqlite3.DatabaseError as exc:
                    conn.close()
                    if attempt == 0 and _is_damage(exc):
                        self._heal(ident)
                        continue
                    raise _cache_error(self.path, exc) from None
                local.conn, local.generation, local.pid, local.ident = \
                    conn, self._generation, os.getpid(), ident
                return conn
        except OSError as exc:
            raise _cache_error(self.root, exc) from None
        return None

    def _open(self, create: bool) -> tuple[sqlite3.Connection, tuple[int, int]] | None:
        for suffix in ("", "-wal", "-shm"):
            _refuse_link(f"{self.path}{suffix}")
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | \
            (os.O_CREAT if create else 0)
        try:
            fd = os.open(self.path, flags, 0o600)  # we create the file: 0600, not SQLite's 0644
        except FileNotFoundError:
            if create:
                raise
            return None
        except IsADirectoryError:
            raise CacheError(f"cache {self.path} is not a file; refusing to use it") from None
        try:
            info = os.fstat(fd)
        finally:
            os.close(fd)
        if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or mislead SQLite
            raise CacheError(f"cache {self.path} is not a regular file; refusing to use it")
        try:
            conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_SECONDS,
                                   isolation_level=None)
        except sqlite3.Error as exc:
            raise _cache_error(self.path, exc) from None
        conn.text_factory = _text  # a tampered row must not turn a read into an error
        return conn, (info.st_dev, info.st_ino)

    def _drop_connection(self) -> None:
        local = self._local
        if local.conn is not None and local.pid == os.getpid():
            with contextlib.suppress(sqlite3.Error):
                local.conn.close()
        local.conn, local.ident = None, None  # after fork the parent's connection is never used

    def _heal(self, ident: tuple[int, int] | None) -> None:
        """Delete a damaged file, but only if it is still the one found damaged."""
        with self._heal_lock:
            try:
                now = os.lstat(self.path)
            except FileNotFoundError:
                now = None
            if now is not None and ident == (now.st_dev, now.st_ino):
                for suffix in ("-wal", "-shm", ""):
                    _unlink_quietly(f"{self.path}{suffix}")
            self._generation += 1

    def close(self) -> None:
        """Close this thread's connection (others close when their thread ends)."""
        self._drop_connection()

    def _run(self, create: bool, work: Callable[[sqlite3.Connection], T], default: T) -> T:
        """``work`` on this thread's connection: damage is healed once, the rest is CacheError."""
        for attempt in (0, 1):
            conn = self._conn(create)
            if conn is None:
                return default
            try:
                return work(conn)
            except sqlite3.DatabaseError as exc:
                ident = self._local.ident
                self._drop_connection()
                if attempt == 0 and _is_damage(exc):
                    self._heal(ident)
                    continue
                raise _cache_error(self.path, exc) from None
        return default

    def _quietly(self, work: Callable[[sqlite3.Connection], Any]) -> None:
        """A repair on the read path (dropping bad bytes); a read-only cache just skips it."""
        with contextlib.suppress(CacheError):
            self._run(False, work, None)

    # -- reading -------------------------------------------------------------------
    def record(self, pith_id: str) -> CachedRecord | None:
        found = self.get(pith_id)
        return found[1] if found is not None else None

    def get(self, pith_id: str) -> tuple[bytes, CachedRecord] | None:
        """The current document and its record; a document that no longer hashes is dropped."""
        row = self._run(False, lambda c: c.execute(_RECORD_SELECT, (pith_id,)).fetchone(), None)
        if row is None:
            return None
        record, data = _record_of(pith_id, row), row[5]
        if record is not None and isinstance(data, bytes) and _sha(data) == record.sha256:
            return data, record
        self._drop_record(pith_id, row[0])
        return None

    def get_verdict(self, pith_id: str, trust: TrustRoot) -> Verdict | None:
        """The verdict stored with the current document, without reading the document.

        Reused only when bound to its evidence, complete, and every key that
        produced it is still pinned in ``trust`` (see the module docstring);
        otherwise None and the caller verifies again.
        """
        row = self._run(False, lambda c: c.execute(_VERDICT_SELECT + "WHERE r.pith_id = ?",
                                                   (pith_id,)).fetchone(), None)
        return self._judge_row(row, trust) if row is not None else None

    def verdicts(self, pith_ids: Iterable[str], trust: TrustRoot,
                 held: Mapping[str, str] | None = None) -> dict[str, Verdict]:
        """``get_verdict`` for many IDs in a few queries; IDs without a usable one are left out.

        ``held`` (pith ID → evidence text) is evidence the caller already has,
        a lock's lines: then the stored evidence is not read, and a verdict
        counts only for the held text whose bytes it is bound to.
        """
        found: dict[str, Verdict] = {}
        for query, chunk in _verdict_queries(pith_ids, held):
            rows = self._run(False, lambda c, q=query, a=chunk: c.execute(q, a).fetchall(), [])
            for row in rows:
                verdict = _held_verdict(row, trust, held) if held is not None \
                    else self._judge_row(row, trust)
                if verdict is not None:
                    found[row[0]] = verdict
        return found

    def read_only_verdicts(self, pith_ids: Iterable[str], trust: TrustRoot,
                           held: Mapping[str, str] | None = None) -> dict[str, Verdict]:
        """``verdicts`` for a command that must change nothing (``check``).

        Opens the file read-only (never creating, healing or repairing it) and
        answers ``{}`` whenever it cannot read: the caller then verifies every
        signature itself, as it does with no cache at all.
        """
        queries = _verdict_queries(pith_ids, held)
        if not queries:
            return {}

        def read(conn: sqlite3.Connection) -> dict[str, Verdict]:
            found: dict[str, Verdict] = {}
            for query, chunk in queries:
                for row in conn.execute(query, chunk).fetchall():
                    verdict = _held_verdict(row, trust, held) if held is not None \
                        else _check_verdict(row, trust)[0]
                    if verdict is not None:
                        found[row[0]] = verdict
            return found

        return self._read_only_run(read, {})

    def lock_verdict_row(self, lock_sha256: str, max_chars: int, *, read_only: bool
                         ) -> tuple[str, str] | None:
        """(verdicts text, binding) stored for a lock file's bytes; None if none or unreadable.

        A row longer than ``max_chars`` is never read into memory. ``read_only``
        (``check``) opens the file read-only and never heals it.
        """
        def read(conn: sqlite3.Connection) -> Any:
            if _lock_verdicts_table(conn) != "ours":  # absent from an older pith-bib's file
                return None
            return conn.execute("SELECT verdicts, binding FROM lock_verdicts WHERE "
                                "lock_sha256 = ? AND length(verdicts) <= ?",
                                (lock_sha256, max_chars)).fetchone()

        row = self._read_only_run(read, None) if read_only else self._run(False, read, None)
        if row is None or not all(isinstance(v, str) for v in row):
            return None
        return row[0], row[1]

    def put_lock_verdicts(self, lock_sha256: str, text: str, binding: str) -> None:
        """Store one lock's verdicts, keeping only the newest :data:`MAX_LOCK_VERDICT_ROWS`."""
        def work(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                if _lock_verdicts_table(conn) != "ours":
                    return  # a read-only file, or another version's table: not ours to fill
                conn.execute("INSERT OR REPLACE INTO lock_verdicts VALUES (?, ?, ?, ?)",
                             (lock_sha256, text, binding, time.time()))
                conn.execute("DELETE FROM lock_verdicts WHERE lock_sha256 NOT IN (SELECT "
                             "lock_sha256 FROM lock_verdicts ORDER BY stored_at DESC LIMIT ?)",
                             (MAX_LOCK_VERDICT_ROWS,))

        self._run(True, work, None)

    def record_shas(self, pith_ids: Iterable[str]) -> dict[str, str]:
        """pith ID → the sha256 of its current document, for those the cache holds."""
        found: dict[str, str] = {}
        for marks, chunk in _in_chunks(pith_ids):
            rows = self._run(False, lambda c, q=_RECORD_SHAS + marks, a=chunk:
                             c.execute(q, a).fetchall(), [])
            found.update((i, sha) for i, sha in rows if isinstance(i, str) and
                         isinstance(sha, str))
        return found

    def _read_only_run(self, work: Callable[[sqlite3.Connection], T], default: T) -> T:
        """``work`` on the file opened read-only (never created, healed or repaired);
        ``default`` when there is no file, it is not ours, or it cannot be read."""
        conn = self._read_only_connection()
        if conn is None:
            return default
        try:
            return work(conn) if _schema_state(conn) == "ours" else default
        except sqlite3.Error:
            return default
        finally:
            conn.close()

    def _read_only_connection(self) -> sqlite3.Connection | None:
        """The file opened read-only, or None when there is none or it cannot be read."""
        try:
            if not self._folder_ready(create=False):
                return None
            for suffix in ("", "-wal", "-shm"):
                _refuse_link(f"{self.path}{suffix}")
            if not os.path.isfile(self.path):
                return None
            uri = "file:" + urllib.parse.quote(str(self.path)) + "?mode=ro"
            conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS,
                                   isolation_level=None)
        except (CacheError, OSError, sqlite3.Error):
            return None
        conn.text_factory = _text
        return conn

    def lookup_many(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """``lookup`` for many (kind, value) pairs in a few queries; misses are left out."""
        by_kind: dict[str, dict[str, list[tuple[str, str]]]] = {}
        for kind, value in keys:
            key = _alias_key(value)
            if len(key) <= MAX_ALIAS_KEY and key.isprintable():
                by_kind.setdefault(kind, {}).setdefault(key, []).append((kind, value))
        found: dict[tuple[str, str], str] = {}
        for kind, wanted in by_kind.items():
            for marks, chunk in _in_chunks(wanted):
                rows = self._run(False, lambda c, q=_ALIAS_SELECT + marks, a=(kind, *chunk):
                                 c.execute(q, a).fetchall(), [])
                for key, number in rows:
                    if isinstance(number, str) and number and key in wanted:
                        found.update(dict.fromkeys(wanted[key], number))
        return found

    def _judge_row(self, row: Sequence[Any], trust: TrustRoot) -> Verdict | None:
        verdict, damaged = _check_verdict(row, trust)
        if damaged:
            self._quietly(lambda c: c.execute("DELETE FROM evidence WHERE sha256 = ?", (row[7],)))
        return verdict

    def get_verified(self, pith_id: str, trust: TrustRoot
                     ) -> tuple[bytes, VerificationReport] | None:
        """The current document and the verdict it was stored with (see ``get_verdict``)."""
        verdict = self.get_verdict(pith_id, trust)
        if verdict is None:
            return None
        row = self._run(False, lambda c: c.execute("SELECT data FROM documents WHERE sha256 = ?",
                                                   (verdict.sha256,)).fetchone(), None)
        if row is None:
            return None
        if not isinstance(row[0], bytes) or _sha(row[0]) != verdict.sha256:
            self._drop_record(pith_id, verdict.sha256)
            return None
        return row[0], verdict.report

    def lookup(self, kind: str, value: str) -> str | None:
        key = _alias_key(value)
        if len(key) > MAX_ALIAS_KEY or not key.isprintable():
            return None
        row = self._run(False, lambda c: c.execute(
            "SELECT pith_number FROM aliases WHERE kind = ? AND key = ?", (kind, key)).fetchone(),
            None)
        return row[0] if row is not None and isinstance(row[0], str) and row[0] else None

    def complete(self, prefix: str) -> list[str]:
        """Pith IDs starting with ``prefix`` (at most ``MAX_COMPLETIONS``)."""
        if not prefix.isascii() or not prefix.isprintable():
            return []
        rows = self._run(False, lambda c: c.execute(
            "SELECT pith_id FROM records WHERE pith_id >= ? AND pith_id < ? ORDER BY pith_id "
            "LIMIT ?", (prefix, prefix + "\U0010ffff", MAX_COMPLETIONS)).fetchall(), [])
        return [r[0] for r in rows if isinstance(r[0], str)]

    def _drop_record(self, pith_id: str, sha: object) -> None:
        """Forget a record whose document is gone or damaged (unless it moved meanwhile)."""
        def work(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.execute("DELETE FROM records WHERE pith_id = ? AND sha256 IS ?",
                             (pith_id, sha))
                conn.execute("DELETE FROM documents WHERE sha256 IS ?", (sha,))
        self._quietly(work)

    # -- writing -------------------------------------------------------------------
    def put(self, data: bytes, report: VerificationReport, evidence: EncodedEvidence,
            aliases: Iterable[tuple[str, str]]) -> bool:
        """Store a verified document with what the caller derived from it, in one transaction.

        The cache keeps what it is given (the document, its verdict, its lock
        evidence, the aliases it vouches for) and derives nothing itself.
        False when an equal or newer document is already current.
        """
        entry = _entry(data, report, evidence, aliases)
        return self._run(True, lambda conn: _store_one(conn, entry), False)

    def put_many(self, documents: Iterable[tuple[bytes, VerificationReport, EncodedEvidence,
                                                 Iterable[tuple[str, str]]]]) -> None:
        """:meth:`put` of each ``(data, report, evidence, aliases)``, all in one transaction.

        Why: a cold run stores hundreds of documents, and one commit each kept
        its fetching threads queued on the write lock, one document at a time.
        """
        batch = [_entry(*document) for document in documents]
        if batch:
            self._run(True, lambda conn: _store_all(conn, batch), None)

    def remember(self, kind: str, value: str, pith_number: str) -> None:
        """Point an alias at a pith number (``put`` does this for the aliases it is given)."""
        def work(conn: sqlite3.Connection) -> None:
            with _transaction(conn):
                conn.execute("INSERT OR REPLACE INTO aliases VALUES (?, ?, ?)",
                             (kind, _alias_key(value), pith_number))
        self._run(True, work, None)

    # -- maintenance ---------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        def count(conn: sqlite3.Connection) -> tuple[int, int, int]:
            documents, size = conn.execute(
                "SELECT count(*), coalesce(sum(length(data)), 0) FROM documents").fetchone()
            (records,) = conn.execute("SELECT count(*) FROM records").fetchone()
            return documents, records, size

        documents, records, size = self._run(False, count, (0, 0, 0))
        return {"path": str(self.root), "layout": LAYOUT, "file": str(self.path),
                "documents": documents, "records": records, "bytes": size}

    def clear(self) -> int:
        """Remove the cache's own folder, only if it carries the marker; returns documents removed.

        Nothing else under the root is touched (the former ``v1`` layout
        included), and a symbolic link is never followed.
        """
        try:
            info = os.lstat(self.base)
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise _cache_error(self.base, exc) from None
        if not stat.S_ISDIR(info.st_mode) or not _has_marker(self.base):
            raise CacheError(f"not removing {self.base}: it is not a folder with the "
                             f"{MARKER_NAME} that marks the pith-bib cache")
        try:
            count = self.info()["documents"]
        except CacheError:
            count = 0  # a damaged file is removed all the same
        self._drop_connection()
        with self._heal_lock:
            self._generation += 1
        try:
            shutil.rmtree(self.base)
        except OSError as exc:
            raise _cache_error(self.base, exc) from None
        return count


def _prepare(conn: sqlite3.Connection) -> None:
    """WAL, relaxed syncing, and the schema: created once, checked on every open."""
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
    _use_wal(conn)
    conn.execute("PRAGMA synchronous = NORMAL")
    if _schema_state(conn) != "ours":
        _create_schema(conn)
    _add_lock_verdicts(conn)


def _create_schema(conn: sqlite3.Connection) -> None:
    """The tables of a new (empty) file; anything else that is not ours is damage."""
    with _transaction(conn):
        if _schema_state(conn) == "empty":
            for sql in (*_TABLES.values(), _LOCK_VERDICTS_SQL):
                conn.execute(sql)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    if _schema_state(conn) != "ours":
        raise _WrongSchema("not a pith-bib cache file (unknown schema)")


def _add_lock_verdicts(conn: sqlite3.Connection) -> None:
    """Add the lock_verdicts table to a file an older pith-bib made, when it can be written."""
    if _lock_verdicts_table(conn) != "absent":
        return
    # a read-only file is used without it
    with contextlib.suppress(sqlite3.OperationalError), _transaction(conn):
        if _lock_verdicts_table(conn) == "absent":
            conn.execute(_LOCK_VERDICTS_SQL)


def _lock_verdicts_table(conn: sqlite3.Connection) -> str:
    """"ours", "absent", or "other" (another version's table: left alone, never used)."""
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND "
                       "name = 'lock_verdicts'").fetchone()
    if row is None:
        return "absent"
    return "ours" if row[0] == _LOCK_VERDICTS_SQL else "other"


def _use_wal(conn: sqlite3.Connection) -> None:
    """Switch the file to WAL, waiting out a connection that is opening it at the same time.

    The switch does not always wait on ``busy_timeout``: when two connections
    open a new file at once it can fail with "database is locked" at once, and
    the whole run then went on without its cache (nothing stored, a cold next
    run). It is retried, with growing pauses, for as long as a write would wait.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    pause = 0.005
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)  # Python 3.11+
    if isinstance(code, int):
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)


def _schema_state(conn: sqlite3.Connection) -> str:
    """"ours", "empty" (a new file) or "foreign"; tables beyond version 2's are not looked at."""
    app = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
    if (app, version) == (APPLICATION_ID, SCHEMA_VERSION) and \
            all(tables.get(name) == sql for name, sql in _TABLES.items()):
        return "ours"
    if (app, version) == (0, 0) and not tables:
        return "empty"
    return "foreign"


def _store_one(conn: sqlite3.Connection, entry: _Entry) -> bool:
    with _transaction(conn):
        return _store(conn, entry)


def _store_all(conn: sqlite3.Connection, batch: Sequence[_Entry]) -> None:
    with _transaction(conn):
        for entry in batch:
            _store(conn, entry)


def _store(conn: sqlite3.Connection, entry: _Entry) -> bool:
    """The read-modify-write of ``put``, inside the caller's transaction: rollback refusal,
    then every row of the document."""
    new = entry.record
    row = conn.execute(_RECORD_SELECT, (new.pith_id,)).fetchone()
    current = _record_of(new.pith_id, row) if row is not None else None
    intact = current is not None and isinstance(row[5], bytes) and \
        _sha(row[5]) == current.sha256
    if current is not None and intact and current.freshness() >= new.freshness():
        moved = False
        if current.sha256 == new.sha256 and row[6] != entry.verdict_sha256:
            _write_entry(conn, entry)  # same bytes verified again: refresh a stale verdict
    else:
        _write_entry(conn, entry)
        moved = True
        if current is not None and current.sha256 != new.sha256:
            _drop_orphans(conn, current.sha256)
    conn.executemany("INSERT OR REPLACE INTO aliases VALUES (?, ?, ?)", entry.aliases)
    return moved


def _write_entry(conn: sqlite3.Connection, entry: _Entry) -> None:
    new = entry.record
    old = conn.execute("SELECT evidence_sha256 FROM records WHERE pith_id = ?",
                       (new.pith_id,)).fetchone()
    conn.execute("INSERT OR REPLACE INTO documents VALUES (?, ?)", (new.sha256, entry.data))
    conn.execute("INSERT OR REPLACE INTO evidence VALUES (?, ?)",
                 (entry.evidence_sha256, entry.evidence))
    conn.execute("INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (new.pith_id, new.sha256, new.kind, new.status, new.event_count,
                  new.built_at, entry.report_text, entry.evidence_sha256,
                  entry.verdict_sha256))
    if old is not None and old[0] != entry.evidence_sha256:
        conn.execute("DELETE FROM evidence WHERE sha256 = ? AND NOT EXISTS "
                     "(SELECT 1 FROM records WHERE evidence_sha256 = ?)", (old[0], old[0]))


def _drop_orphans(conn: sqlite3.Connection, sha: str) -> None:
    """The replaced document, once no record points at it: the file does not only grow."""
    conn.execute("DELETE FROM documents WHERE sha256 = ? AND NOT EXISTS "
                 "(SELECT 1 FROM records WHERE sha256 = ?)", (sha, sha))
