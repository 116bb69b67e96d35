"""The user cache: verified documents, addressed by the sha256 of their exact bytes.

Only documents that verified are written, and every read re-hashes the bytes,
so a truncated or altered file is deleted and fetched again, never used. A
record pointer per pith ID says which document is current; it only moves to a
document that is not older (event count, then ``built_at``), so a mirror
serving a stale copy cannot roll a record back. Several pith-bib processes may
share the cache: objects are immutable and written atomically, and pointer
updates happen under a file lock.

The pointer also keeps the verifier's verdict (with its own checksum), so a
warm run does not repeat every signature check: the verdict is reused only
while the document's bytes still hash to their name and every key that
produced it is still pinned; anything else is verified again.

Layout (``v1`` so a future format can live beside it)::

    <root>/v1/objects/<sha[:2]>/<sha>.json   document bytes
    <root>/v1/records/<ID>.json             {"sha256", "kind", "status", ...}
    <root>/v1/aliases/<kind>/<key>          pith number for an alias
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock
from platformdirs import user_cache_dir

from .atomic import write_atomic
from .canonical import canonical_sha256
from .errors import CacheError
from .lock import EncodedEvidence
from .policy import status_rank
from .report import VerificationReport
from .trust import TrustRoot

CACHE_ENV = "PITH_BIB_CACHE_DIR"
LAYOUT = "v1"


def default_cache_dir() -> Path:
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    return Path(user_cache_dir("pith-bib", appauthor=False))


@dataclass(frozen=True)
class CachedRecord:
    """The current document for one pith ID, as the pointer file describes it."""

    pith_id: str
    sha256: str
    kind: str
    status: str
    event_count: int
    built_at: str

    def freshness(self) -> tuple[int, int, str]:
        # A state's events are unsigned, so a state never displaces a verified bundle.
        return (status_rank(self.status), self.event_count, self.built_at)


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def _alias_key(value: str) -> str:
    return hashlib.sha256(value.strip().lower().encode("utf-8")).hexdigest()[:40]


@dataclass(frozen=True)
class Verdict:
    """A stored verification result: the document's hash, its report, its lock evidence."""

    sha256: str
    report: VerificationReport
    evidence: EncodedEvidence | None


class Cache:
    """A process-safe on-disk store of verified documents."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.base = self.root / LAYOUT
        self._base = str(self.base)
        self._ready = False

    # -- paths ---------------------------------------------------------------------
    # Plain strings, not Path objects: a warm run builds thousands of these and
    # pathlib's parsing showed up as a tenth of it.
    def _object_path(self, sha: str, folder: str = "objects") -> str:
        return f"{self._base}{os.sep}{folder}{os.sep}{sha[:2]}{os.sep}{sha}.json"

    def _record_path(self, pith_id: str) -> str:
        return f"{self._base}{os.sep}records{os.sep}{pith_id}.json"

    def _alias_path(self, kind: str, value: str) -> str:
        return f"{self._base}{os.sep}aliases{os.sep}{kind}{os.sep}{_alias_key(value)}"

    def _ensure(self) -> None:
        if self._ready:
            return
        try:
            for sub in ("objects", "evidence", "records", "aliases"):
                (self.base / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
            for folder in (self.root, self.base):
                os.chmod(folder, 0o700)
        except OSError as exc:
            raise CacheError(f"cache directory {self.root}: {exc.strerror or exc}") from None
        self._ready = True

    def _lock(self) -> Any:
        self._ensure()
        return FileLock(str(self.base / "records.lock"), timeout=60)

    # -- reading -------------------------------------------------------------------
    def record(self, pith_id: str) -> CachedRecord | None:
        try:
            data = json.loads(_read(self._record_path(pith_id)))
            return CachedRecord(pith_id, data["sha256"], data["kind"], data["status"],
                                int(data["event_count"]), str(data["built_at"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            self._discard(self._record_path(pith_id))
            return None

    def read_object(self, sha: str, folder: str = "objects") -> bytes | None:
        """The stored bytes, or None; bytes that no longer hash to their name are deleted."""
        path = self._object_path(sha, folder)
        try:
            data = _read(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CacheError(f"{path}: {exc.strerror or exc}") from None
        if hashlib.sha256(data).hexdigest() != sha:
            self._discard(path)
            return None
        return data

    def get(self, pith_id: str) -> tuple[bytes, CachedRecord] | None:
        record = self.record(pith_id)
        if record is None:
            return None
        data = self.read_object(record.sha256)
        if data is None:
            self._discard(self._record_path(pith_id))
            return None
        return data, record

    def get_verdict(self, pith_id: str, trust: TrustRoot) -> Verdict | None:
        """The verdict stored with the current document, without reading the document.

        Reused only when it is intact (its canonical hash matches) and every
        key that produced it is still pinned in ``trust``; otherwise None and
        the caller verifies again. The evidence for the lock file comes from
        its own content-addressed object, re-hashed like every object.
        """
        try:
            pointer = json.loads(_read(self._record_path(pith_id)))
            saved = pointer["report"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(saved, dict) or pointer.get("report_sha256") != canonical_sha256(saved):
            return None  # a damaged verdict is never reused; the caller verifies again
        fingerprints = saved.get("key_fingerprints") or []
        if not fingerprints or not all(trust.pins(fp) for fp in fingerprints):
            return None
        try:
            report = VerificationReport.from_dict(saved)
        except (TypeError, ValueError):
            return None
        if not report.ok or report.pith_number is None or \
                not report.pith_number.endswith(pith_id):
            return None
        evidence = None
        evidence_sha = pointer.get("evidence_sha256")
        if isinstance(evidence_sha, str):
            raw = self.read_object(evidence_sha, "evidence")
            evidence = EncodedEvidence(raw.decode("utf-8")) if raw is not None else None
        return Verdict(str(pointer.get("sha256")), report, evidence)

    def get_verified(self, pith_id: str, trust: TrustRoot
                     ) -> tuple[bytes, VerificationReport] | None:
        """The current document and the verdict it was stored with (see ``get_verdict``)."""
        verdict = self.get_verdict(pith_id, trust)
        if verdict is None:
            return None
        data = self.read_object(verdict.sha256)
        if data is None:
            return None
        return data, verdict.report

    def lookup(self, kind: str, value: str) -> str | None:
        try:
            text = _read(self._alias_path(kind, value)).decode("utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return text or None

    def complete(self, prefix: str) -> list[str]:
        folder = self.base / "records"
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob(f"{prefix}*.json"))

    # -- writing -------------------------------------------------------------------
    def put(self, data: bytes, report: VerificationReport, evidence: EncodedEvidence,
            aliases: Iterable[tuple[str, str]]) -> bool:
        """Store a verified document with what the caller derived from it.

        The cache keeps what it is given (the document, its verdict, its lock
        evidence, the aliases it vouches for) and derives nothing itself.
        False when an equal or newer document is already current.
        """
        if not report.ok or report.pith_number is None:
            raise CacheError("refusing to cache a document that did not verify")
        self._ensure()
        sha = hashlib.sha256(data).hexdigest()
        pith_id = report.pith_number.rsplit(":", 1)[1]
        candidate = CachedRecord(pith_id, sha, report.kind or "bundle", report.status,
                                 int(report.event_count or 0), report.built_at or "")
        evidence_bytes = evidence.encode("utf-8")
        evidence_sha = hashlib.sha256(evidence_bytes).hexdigest()
        try:
            for digest, content, folder in ((sha, data, "objects"),
                                            (evidence_sha, evidence_bytes, "evidence")):
                object_path = Path(self._object_path(digest, folder))
                if not object_path.exists():
                    object_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                    write_atomic(object_path, content, mode=0o600)
            with self._lock():
                current = self.get(pith_id)
                if current is not None and current[1].freshness() >= candidate.freshness():
                    stored = False
                else:
                    pointer = {"sha256": sha, "kind": candidate.kind, "status": candidate.status,
                               "event_count": candidate.event_count,
                               "built_at": candidate.built_at, "report": report.to_dict(),
                               "evidence_sha256": evidence_sha}
                    pointer["report_sha256"] = canonical_sha256(pointer["report"])
                    write_atomic(self._record_path(pith_id),
                                 json.dumps(pointer, sort_keys=True).encode(), mode=0o600)
                    stored = True
            for kind, value in aliases:
                self.remember(kind, value, report.pith_number)
        except OSError as exc:
            raise CacheError(f"cache {self.root}: {exc.strerror or exc}") from None
        return stored

    def remember(self, kind: str, value: str, pith_number: str) -> None:
        path = Path(self._alias_path(kind, value))
        try:
            if path.read_text("utf-8").strip() == pith_number:
                return
        except (OSError, UnicodeDecodeError):
            pass
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_atomic(path, pith_number.encode("utf-8"), mode=0o600)

    def _discard(self, path: Path | str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(path)

    # -- maintenance ---------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        objects = list((self.base / "objects").glob("*/*.json")) if self.base.is_dir() else []
        records = list((self.base / "records").glob("*.json")) if self.base.is_dir() else []
        size = sum(p.stat().st_size for p in objects)
        return {"path": str(self.root), "layout": LAYOUT, "documents": len(objects),
                "records": len(records), "bytes": size}

    def clear(self) -> int:
        """Remove this layout's files; returns how many documents were removed."""
        count = self.info()["documents"]
        if self.base.is_dir():
            shutil.rmtree(self.base)
        self._ready = False
        return count
