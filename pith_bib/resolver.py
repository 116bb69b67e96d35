"""Identifier → pith number → verified document, for many identifiers at once.

No published route maps an arXiv id or DOI to a pith number, so candidates
come from several places, in order: a pith number given directly, the lock
file, the cache's alias index, and the mirrors' alias indexes (and a
configurable lookup URL). None of them is trusted: a candidate is accepted
only when its document verifies under a pinned key *and* the signed record is
the requested paper. Documents come from the cache first, then from each
mirror (bundle first, state as a fallback); one mirror failing moves on to
the next, and only verified bytes ever reach the cache.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .cache import Cache
from .canonical import parse_pith_number
from .errors import CacheError, FetchError, PithNumberError, UsageError
from .ids import normalise_doi, parse_arxiv_id
from .mirrors import Mirror
from .trust import TrustRoot
from .verify import EncodedEvidence, VerificationReport, evidence_of, verify_document

NOT_FOUND = "not-found"
UNAVAILABLE = "unavailable"
INVALID = "invalid"
OK_STATUSES = frozenset({"verified", "record-verified"})
DEFAULT_JOBS = 16

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class Query:
    """A normalised request: ``kind`` is ``pith``, ``arxiv`` or ``doi``."""

    kind: str
    value: str
    version: int | None = None
    text: str = ""

    @property
    def key(self) -> tuple[str, str, int | None]:
        return (self.kind, self.value.lower() if self.kind == "doi" else self.value,
                self.version)

    def __str__(self) -> str:
        if self.kind == "arxiv" and self.version:
            return f"{self.value}v{self.version}"
        return self.value if self.kind != "pith" else f"pith:{self.value}"


_BARE_PITH_RE = re.compile(r"[A-Z2-7]{26}")


def parse_query(text: str) -> Query:
    """Read an identifier as people type it: arXiv id (any form), DOI, or pith number."""
    raw = text.strip()
    if raw.lower().startswith("pith:") or _BARE_PITH_RE.fullmatch(raw):
        try:
            number = parse_pith_number(raw)
        except PithNumberError as exc:
            raise UsageError(str(exc)) from None
        return Query("pith", number.id, None, text)
    arxiv = parse_arxiv_id(raw)
    if arxiv is not None:
        return Query("arxiv", arxiv.id, arxiv.version, text)
    if raw.lower().startswith(("10.", "doi:", "https://doi.org/", "http://doi.org/",
                               "https://dx.doi.org/", "http://dx.doi.org/")):
        doi = normalise_doi(raw)
        if doi:
            return Query("doi", doi, None, text)
    raise UsageError(f"{text!r} is not an arXiv id, a DOI or a pith number")


@dataclass
class Resolution:
    """The outcome for one query: a verified document, or why there is none."""

    query: Query
    status: str = NOT_FOUND
    pith_number: str | None = None
    report: VerificationReport | None = None
    source: str | None = None
    mapped_by: str | None = None
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    document: bytes | None = None
    evidence: dict[str, Any] | EncodedEvidence | None = None  # when known without a document

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    def lock_evidence(self) -> dict[str, Any] | EncodedEvidence:
        """What the lock file keeps for this document (from the cache when it has it)."""
        if self.evidence is not None:
            return self.evidence
        assert self.report is not None and self.document is not None
        return evidence_of(self.document, self.report)

    def to_dict(self) -> dict[str, Any]:
        report = self.report
        return {
            "identifier": self.query.text or str(self.query),
            "pith_number": self.pith_number,
            "status": self.status,
            "arxiv_id": report.arxiv_id if report else None,
            "arxiv_version": report.arxiv_version if report else None,
            "title": report.title if report else None,
            "source": self.source,
            "mapped_by": self.mapped_by,
            "reasons": self.reasons,
            "notes": self.notes,
        }


def alias_keys(query: Query) -> list[tuple[str, str]]:
    """The alias index keys that name an arXiv/DOI query, most specific first."""
    keys = [(query.kind, query.value)]
    if query.kind == "arxiv" and query.version:
        keys.insert(0, ("arxiv_version", f"{query.value}v{query.version}"))
    return keys


def version_note(query: Query, report: VerificationReport) -> str | None:
    """Say so when the record is another version than the one asked for."""
    if query.kind == "arxiv" and query.version and report.arxiv_version != query.version:
        return f"asked for {query.value}v{query.version}; the record is v{report.arxiv_version}"
    return None


def _matches_request(query: Query, report: VerificationReport) -> str | None:
    """None when the signed record is the requested paper, else why it is not."""
    if query.kind == "pith":
        number = report.pith_number or ""
        if not number.rsplit(":", 1)[-1].startswith(query.value):
            return f"document is {number}, not pith:{query.value}"
        return None
    if query.kind == "arxiv":
        if report.arxiv_id != query.value:
            return (f"document {report.pith_number} is arXiv {report.arxiv_id}, "
                    f"not {query.value}")
        return None
    # DOI: an arXiv DOI names its arXiv id; a journal DOI must be among the signed aliases
    doi = query.value.lower()
    if doi.startswith("10.48550/arxiv."):
        if report.arxiv_id and doi == f"10.48550/arxiv.{report.arxiv_id}".lower():
            return None
        return f"document {report.pith_number} is arXiv {report.arxiv_id}, not DOI {doi}"
    signed = {v.lower() for k, v in report.aliases if k == "doi"} if report.kind == "bundle" \
        else set()
    if doi in signed:
        return None
    return f"document {report.pith_number} does not name DOI {doi} in its signed aliases"


class Resolver:
    """Resolves queries in parallel against a lock mapping, a cache and mirrors."""

    def __init__(self, mirrors: Sequence[Mirror], cache: Cache | None,
                 trust: TrustRoot | None = None, *, offline: bool = False,
                 known: Mapping[tuple[str, str], str] | None = None,
                 jobs: int = DEFAULT_JOBS) -> None:
        self.trust = trust or TrustRoot.default()
        self.offline = offline
        self.mirrors = [m for m in mirrors if m.is_local or not offline]
        self.cache = cache
        self.known = dict(known or {})
        self.jobs = max(1, jobs)

    # -- public --------------------------------------------------------------------
    def resolve(self, query: Query) -> Resolution:
        result = Resolution(query)
        try:
            self._resolve_into(result)
        except CacheError as exc:
            result.status = UNAVAILABLE
            result.reasons.append(str(exc))
        return result

    def resolve_many(self, queries: Iterable[Query],
                     progress: ProgressCallback | None = None) -> list[Resolution]:
        """Results in input order; identical queries are resolved once."""
        items = list(queries)
        unique: dict[tuple[str, str, int | None], Query] = {}
        for query in items:
            unique.setdefault(query.key, query)
        total, done = len(unique), 0
        results: dict[tuple[str, str, int | None], Resolution] = {}
        lock = threading.Lock()
        # Cache hits are pure CPU work: done here, in this thread, because
        # threads would only fight over the GIL. The pool is for the network.
        pending = []
        for query in unique.values():
            hit = self._from_cache(query)
            if hit is None:
                pending.append(query)
                continue
            results[query.key] = hit
            done += 1
            if progress is not None:
                progress(done, total)

        def work(query: Query) -> None:
            nonlocal done
            resolution = self.resolve(query)
            with lock:
                results[query.key] = resolution
                done += 1
                if progress is not None:
                    progress(done, total)

        if self.jobs == 1 or len(pending) <= 1:
            for query in pending:
                work(query)
        else:
            with ThreadPoolExecutor(max_workers=min(self.jobs, len(pending))) as pool:
                list(pool.map(work, pending))
        out = []
        for query in items:
            shared = results[query.key]
            out.append(shared if shared.query is query else _copy_for(shared, query))
        return out

    # -- steps ---------------------------------------------------------------------
    def _from_cache(self, query: Query) -> Resolution | None:
        """The answer from the lock mapping and the cache's stored verdicts alone, if any."""
        if self.cache is None or (query.kind == "pith" and len(query.value) != 26):
            return None
        if query.kind == "pith":
            candidates = [(query.value, "given")]
        else:
            candidates = []
            for key in alias_keys(query):
                for number, source in ((self.known.get(key), "lock"),
                                       (self.cache.lookup(*key), "cache")):
                    if number:
                        candidates.append((number.rsplit(":", 1)[-1], source))
        for pith_id, mapped_by in candidates:
            try:
                verdict = self.cache.get_verdict(pith_id, self.trust)
            except CacheError:
                return None
            if verdict is None or verdict.evidence is None or \
                    _matches_request(query, verdict.report) is not None:
                continue
            result = Resolution(query)
            self._accept(result, None, verdict.report, "cache", mapped_by)
            result.evidence = verdict.evidence
            return result
        return None

    def _candidates(self, query: Query, result: Resolution) -> list[tuple[str, str]]:
        """(pith ID, who named it) in order of preference, without duplicates."""
        found: list[tuple[str, str]] = []

        def add(number: str | None, source: str) -> None:
            if not number:
                return
            try:
                ident = parse_pith_number(number).id
            except PithNumberError:
                result.notes.append(f"{source} named {number!r}, which is not a pith number")
                return
            if len(ident) == 26 and all(ident != c for c, _ in found):
                found.append((ident, source))

        if query.kind == "pith":
            if len(query.value) == 26:
                add(query.value, "given")
            else:
                for source in (self.cache, *self.mirrors):
                    if source is not None:
                        for ident in source.complete(query.value):
                            add(ident, "cache" if source is self.cache else source.label)
                if not found:
                    result.reasons.append(
                        f"pith:{query.value} is a short form; no cache or local mirror knows a "
                        "full number starting with it (give the full 26-character ID)")
            return found
        alias_kinds = alias_keys(query)
        for kind, value in alias_kinds:
            add(self.known.get((kind, value)), "lock")
            if self.cache is not None:
                add(self.cache.lookup(kind, value), "cache")
        if found:
            return found
        for mirror in self.mirrors:
            for kind, value in alias_kinds:
                try:
                    for number in mirror.lookup(kind, value):
                        add(number, mirror.label)
                except FetchError as exc:
                    result.reasons.append(f"alias lookup: {exc}")
                except UsageError as exc:
                    result.reasons.append(f"alias lookup: {exc}")
            if found:
                break
        return found

    def _accept(self, result: Resolution, data: bytes | None, report: VerificationReport,
                source: str, mapped_by: str) -> None:
        result.status = report.status
        result.pith_number = report.pith_number
        result.report = report
        result.source = source
        result.mapped_by = mapped_by
        result.document = data
        # What failed on the way (a tampered mirror, a timeout) stays visible as notes.
        result.notes.extend(result.reasons)
        result.reasons = []
        note = version_note(result.query, report)
        if note is not None:
            result.notes.append(note)

    def _check(self, data: bytes, query: Query) -> tuple[VerificationReport, str | None]:
        report = verify_document(data, self.trust)
        if not report.ok:
            return report, "; ".join(report.reasons[:3]) or "did not verify"
        return report, _matches_request(query, report)

    def _resolve_into(self, result: Resolution) -> None:
        query = result.query
        candidates = self._candidates(query, result)
        if not candidates:
            if not result.reasons:
                where = "cache, lock file or local mirrors" if self.offline else \
                    "cache, lock file or any mirror"
                result.reasons.append(f"no {query.kind} mapping for {query} in the {where}")
            result.status = UNAVAILABLE if any("alias lookup" in r for r in result.reasons) \
                and not self.offline else NOT_FOUND
            return
        saw_document = False
        transient = False
        for pith_id, mapped_by in candidates:
            if self.cache is not None:
                verdict = self.cache.get_verified(pith_id, self.trust)
                if verdict is not None and _matches_request(query, verdict[1]) is None:
                    self._accept(result, verdict[0], verdict[1], "cache", mapped_by)
                    return
                cached = self.cache.get(pith_id) if verdict is None else None
                if cached is not None:
                    data = cached[0]
                    report, problem = self._check(data, query)
                    if problem is None:
                        self._accept(result, data, report, "cache", mapped_by)
                        return
                    result.reasons.append(f"cache: {problem}")
            for kind in ("bundle", "state"):
                for mirror in self.mirrors:
                    try:
                        data = mirror.fetch(pith_id, kind)
                    except FetchError as exc:
                        transient = True
                        result.reasons.append(str(exc))
                        continue
                    if data is None:
                        continue
                    saw_document = True
                    report, problem = self._check(data, query)
                    if problem is not None:
                        result.reasons.append(f"{mirror.label} {kind} for pith:{pith_id}: "
                                              f"{problem}")
                        continue
                    self._accept(result, data, report, mirror.label, mapped_by)
                    if self.cache is not None:
                        self.cache.put(data, report)
                    return
        if saw_document:
            result.status = INVALID
        elif transient:
            result.status = UNAVAILABLE
        else:
            result.status = NOT_FOUND
            ids = ", ".join(f"pith:{c}" for c, _ in candidates)
            result.reasons.append(f"no mirror has a document for {ids}")


def _copy_for(shared: Resolution, query: Query) -> Resolution:
    return Resolution(query, shared.status, shared.pith_number, shared.report, shared.source,
                      shared.mapped_by, list(shared.reasons), list(shared.notes), shared.document,
                      shared.evidence)
