"""Identifier → pith number → verified document, for many identifiers at once.

Orchestration only: candidates come from sources tried in order (a pith number
given directly, the lock file's mapping, the cache's alias index, each
mirror's alias index), each candidate is fetched and verified (cache first,
then every mirror, bundle before state), the policy decides whether the
verified record is the requested paper, and the status says how the search
ended. None of the sources is trusted: a candidate that is missing, fails to
verify or names another paper only moves the search on to the next source, so
one bad source never hides a good one. ``not-found`` is the answer only when
every source answered cleanly that it has nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .cache import Cache, Verdict
from .canonical import parse_pith_number
from .derived_hints import ArxivHints, Hints
from .errors import CacheError, FetchError, PithNumberError, UsageError
from .evidence import evidence_of
from .lock import EncodedEvidence, LockFile, encode_evidence
from .lock_verdicts import remember_lock, vouch_lock
from .mirrors import Mirror
from .policy import (
    ARXIV_DOI_PREFIX,
    IDENTITY,
    RESOLVER,
    Claims,
    Query,
    Status,
    is_arxiv_doi,
    parse_query,
    signed_aliases,
)
from .report import VerificationReport
from .trust import TrustRoot
from .verify import verify_document

DEFAULT_JOBS = 32
STORE_BATCH = 64  # verified documents written to the cache in one commit,
STORE_BATCH_BYTES = 8 * 1024 * 1024  # or fewer: a mirror's large documents are not hoarded
# However many numbers sources name for one identifier, only this many are
# fetched: a hostile alias answer must not turn one entry into thousands of requests.
MAX_CANDIDATES_PER_QUERY = 8

ProgressCallback = Callable[[int, int], None]
AliasMap = Mapping[tuple[str, str], str]

__all__ = ["DEFAULT_JOBS", "Query", "Resolution", "Resolver", "parse_query"]


@dataclass
class Resolution:
    """The outcome for one query: a verified document, or why there is none."""

    query: Query
    status: Status = Status.NOT_FOUND
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
        return self.status.is_ok

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
            "status": self.status.value,
            "arxiv_id": report.arxiv_id if report else None,
            "arxiv_version": report.arxiv_version if report else None,
            "title": report.title if report else None,
            "source": self.source,
            "mapped_by": self.mapped_by,
            "reasons": self.reasons,
            "notes": self.notes,
        }


@dataclass
class _Search:
    """What happened while looking for one query's document: the facts the status rests on."""

    result: Resolution
    transient: bool = False  # a source could not answer (timeout, 5xx, unreachable)
    bad_document: bool = False  # a document was found but did not verify or was another paper
    named_missing: list[str] = field(default_factory=list)  # numbers a mirror named, no one has
    tried: set[str] = field(default_factory=set)

    def note(self, text: str) -> None:
        self.result.reasons.append(text)

    def final_status(self) -> Status:
        if self.bad_document or self.named_missing:
            return Status.INVALID
        if self.transient:
            return Status.UNAVAILABLE
        return Status.NOT_FOUND


Candidate = tuple[str, str]  # (26-character pith ID, who named it)
_ACCEPTED, _REJECTED, _MISSING, _FAILED = "accepted", "rejected", "missing", "failed"


class Resolver:
    """Resolves queries in parallel against a lock mapping, a cache and mirrors."""

    def __init__(self, mirrors: Sequence[Mirror], cache: Cache | None, *, trust: TrustRoot,
                 offline: bool = False, jobs: int = DEFAULT_JOBS,
                 hints: ArxivHints | None = None) -> None:
        self.trust = trust
        self.hints = hints
        self.offline = offline
        self.mirrors = [m for m in mirrors if m.is_local or not offline]
        self.cache = cache
        self.jobs = max(1, jobs)
        self.warnings: list[str] = []  # said once per run (a cache that stopped working)
        self._warn_lock = threading.Lock()
        self._prefetched: dict[str, Verdict] = {}  # read for the lock, reused by the next run
        self._vouched: dict[str, Verdict] = {}  # pith number → verdict of a lock line read
        self._remembered: set[str] = set()  # digests of locks whose row needs no update
        self._unstored: list[Any] = []  # verified documents not yet written to the cache
        self._unstored_bytes = 0
        # Numbers the cache held no record of when this batch's verdicts were read: a cold
        # run's search skips two cache reads per document for them.
        self._uncached: set[str] = set()
        self._unstored_lock = threading.Lock()

    def vouched_evidence(self, lines: Mapping[str, str], digest: str
                         ) -> dict[str, VerificationReport]:
        """``known`` for :func:`~pith_bib.lock.load_lock`: the cache's verdicts for a lock.

        Read in one or two queries (:func:`~pith_bib.lock_verdicts.vouch_lock`)
        and kept for the next :meth:`resolve_many`, which needs the same
        verdicts for the same numbers, and for :meth:`remember_lock`.
        """
        vouched = self._cache_call(
            lambda: vouch_lock(self.cache, lines, digest, self.trust, read_only=False))
        if vouched is None:
            return {}
        found, up_to_date = vouched
        if up_to_date:
            self._remembered.add(digest)
        self._vouched.update(found)
        self._prefetched.update({n.rsplit(":", 1)[-1]: v for n, v in found.items()})
        return {number: verdict.report for number, verdict in found.items()}

    def remember_lock(self, lock: LockFile | None) -> None:
        """After a lock is saved: remember its lines' verdicts as one row, unless already so."""
        if lock is None or lock.saved_digest is None or lock.saved_digest in self._remembered:
            return
        self._cache_call(lambda: remember_lock(self.cache, lock, self._vouched, self.trust))
        self._remembered.add(lock.saved_digest)

    # -- public --------------------------------------------------------------------
    def resolve(self, query: Query, known: AliasMap | None = None) -> Resolution:
        return self.resolve_many([query], known)[0]

    def _resolve_one(self, query: Query, known: AliasMap) -> Resolution:
        search = _Search(Resolution(query))
        self._search(search, known)
        return search.result

    def resolve_many(self, queries: Iterable[Query], known: AliasMap | None = None,
                     progress: ProgressCallback | None = None) -> list[Resolution]:
        """Results in input order; identical queries are resolved once.

        ``known`` is the lock file's alias mapping for the file being resolved,
        passed per call because one resolver serves several files.
        """
        items = list(queries)
        mapping = known or {}
        unique: dict[tuple[str, str, int | None], Query] = {}
        for query in items:
            unique.setdefault(query.key, query)
        counter = _Counter(len(unique), progress)
        results: dict[tuple[str, str, int | None], Resolution] = {}
        # Cache hits are pure CPU work: done here, in this thread, because
        # threads would only fight over the GIL. The pool is for the network.
        pending = []
        hits = self._stored_verdict_hits(list(unique.values()), mapping)
        for query in unique.values():
            hit = hits.get(query.key)
            if hit is None:
                pending.append(query)
            else:
                results[query.key] = hit
                counter.step()

        def work(query: Query) -> None:
            results[query.key] = self._resolve_one(query, mapping)
            counter.step()

        try:
            self._each(work, pending)
            self._store_queued()  # derived candidates may be among them
            self._derive_missing(pending, results)
        finally:
            self._store_queued()
        self._note_bad_mirror_files()
        return [_for_query(results[q.key], q) for q in items]

    def _note_bad_mirror_files(self) -> None:
        """Name the unreadable files of local mirrors once per run (they are never silent)."""
        for mirror in self.mirrors:
            bad = getattr(mirror, "bad_file_warnings", None)
            if bad and not getattr(mirror, "_warned", False):
                mirror._warned = True  # type: ignore[attr-defined]
                count = getattr(mirror, "bad_files", len(bad))
                self.warnings.append(f"{mirror.label}: {count} unreadable file(s), e.g. "
                                     + "; ".join(bad[:3]))

    def _each(self, work: Callable[[Query], None], queries: list[Query]) -> None:
        """``work`` on each query: in threads only when a mirror may make them wait.

        With no mirror (an offline run) a search reads the lock and the cache
        alone: threads would each open their own cache connection to fight
        over the GIL.
        """
        if self.jobs == 1 or len(queries) <= 1 or not self.mirrors:
            for query in queries:
                work(query)
        else:
            # imported here: a warm run answers everything from the cache, without threads
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(self.jobs, len(queries))) as pool:
                list(pool.map(work, queries))

    # -- the last hint: numbers derived from arXiv's metadata --------------------------
    def _derive_missing(self, queries: list[Query],
                        results: dict[tuple[str, str, int | None], Resolution]) -> None:
        """Try derived numbers for arXiv queries every other source cleanly did not know.

        Done after the other sources, for all such queries at once, so arXiv is
        asked in batches (one request per 100 ids) rather than once per entry.
        """
        if self.hints is None:
            return
        misses = [q for q in queries if results[q.key].status is Status.NOT_FOUND
                  and arxiv_id_of(q) is not None]
        if not misses:
            return
        hints = self.hints.for_ids([arxiv_id_of(q) or "" for q in misses])

        def work(query: Query) -> None:
            self._try_derived(results[query.key], hints[arxiv_id_of(query) or ""])

        self._each(work, misses)

    def _try_derived(self, result: Resolution, hints: Hints) -> None:
        search = _Search(result)
        for pith_id, label in hints.candidates:
            if self._try_candidate(search, pith_id, label, kinds=("bundle",)) == _ACCEPTED:
                return
        result.status = search.final_status()
        result.reasons.append(hints.describe_miss(arxiv_id_of(result.query) or ""))

    # -- step 0: stored verdicts answer without any document ---------------------------
    def _stored_verdict_hits(self, queries: list[Query], known: AliasMap
                             ) -> dict[tuple[str, str, int | None], Resolution]:
        """Queries a stored verdict answers, found with a few bulk reads of the cache.

        The same candidates in the same order as a search (given number, lock
        mapping, cache alias index); the first verified verdict that names the
        queried paper answers. Anything else goes on to a full search.
        """
        cache, prefetched = self.cache, self._prefetched
        self._prefetched, self._uncached = {}, set()
        eligible = [q for q in queries if not (q.kind == "pith" and len(q.value) != 26)]
        if cache is None or not eligible:
            return {}
        hits = {}
        rest = []
        for query in eligible:
            hit = self._lock_first_hit(query, known, prefetched)
            if hit is None:
                rest.append(query)
            else:
                hits[query.key] = hit
        eligible = rest
        if not eligible:
            return hits
        try:
            aliases = cache.lookup_many(key for q in eligible if q.kind != "pith"
                                        for key in q.alias_keys())
            candidates = [(q, self._local_candidates(q, known, None, aliases))
                          for q in eligible]
            wanted = {pith_id for _, found in candidates for pith_id, _ in found}
            verdicts = {**cache.verdicts(wanted - prefetched.keys(), self.trust),
                        **{i: prefetched[i] for i in wanted & prefetched.keys()}}
            unanswered = wanted - verdicts.keys()
            self._uncached = unanswered - cache.record_shas(unanswered).keys() \
                if unanswered else set()
            # kept for remember_lock: the evidence these verdicts vouch for goes in the lock
            self._vouched.update({v.report.pith_number: v for v in verdicts.values()
                                  if v.report.pith_number})
        except CacheError:
            return hits  # the search meets the same error, says it once and goes on without
        for query, found in candidates:
            for pith_id, mapped_by in found:
                hit = _verdict_hit(query, verdicts.get(pith_id), mapped_by)
                if hit is not None:
                    hits[query.key] = hit
                    break
        return hits

    @staticmethod
    def _lock_first_hit(query: Query, known: AliasMap, prefetched: Mapping[str, Verdict]
                        ) -> Resolution | None:
        """The answer when the search's first candidate is the lock's, with a verdict at hand.

        Why: the first candidate of a search is the given number or the lock's
        mapping of the query's first alias; when its verdict was already read
        with the lock and names the paper, nothing later in the order can
        answer instead, so the cache's alias index need not be read for it.
        """
        found: list[Candidate] = []
        if query.kind == "pith":
            found.append((query.value, "given"))
        else:
            _add(found, known.get(query.alias_keys()[0]), "lock", None)
        if not found:
            return None
        pith_id, mapped_by = found[0]
        return _verdict_hit(query, prefetched.get(pith_id), mapped_by)

    # -- step 1: candidates, source by source --------------------------------------
    def _local_candidates(self, query: Query, known: AliasMap, search: _Search | None,
                          cached: Mapping[tuple[str, str], str] | None = None
                          ) -> list[Candidate]:
        """The pith number given, then the lock's mapping, then the cache's alias index.

        ``cached``: the cache's alias answers, already read in bulk.
        """
        if query.kind == "pith":
            if len(query.value) == 26:
                return [(query.value, "given")]
            return self._completions(query, search)
        found: list[Candidate] = []
        for key in query.alias_keys():
            _add(found, known.get(key), "lock", search)
            if cached is not None:
                _add(found, cached.get(key), "cache", search)
            elif self.cache is not None:
                _add(found, self._cache_call(lambda k=key: self.cache.lookup(*k)), "cache",
                     search)
        return found

    def _completions(self, query: Query, search: _Search | None) -> list[Candidate]:
        found: list[Candidate] = []
        for source in (self.cache, *self.mirrors):
            if source is None:
                continue
            label = "cache" if source is self.cache else source.label
            for ident in source.complete(query.value)[:MAX_CANDIDATES_PER_QUERY]:
                _add(found, ident, label, search)
        if not found and search is not None:
            search.note(f"pith:{query.value} is a short form; no cache or local mirror knows a "
                        "full number starting with it (give the full 26-character ID)")
        return found

    def _mirror_candidates(self, mirror: Mirror, query: Query, search: _Search
                           ) -> list[Candidate]:
        found: list[Candidate] = []
        for kind, value in query.alias_keys():
            try:
                for number in mirror.lookup(kind, value):
                    _add(found, number, mirror.label, search)
            except (FetchError, UsageError) as exc:
                search.transient = True
                search.note(f"alias lookup: {exc}")
        return found

    def _candidate_stages(self, query: Query, known: AliasMap, search: _Search
                          ) -> Iterator[tuple[list[Candidate], bool]]:
        """(candidates, named by a mirror's alias answer) for each source, in order."""
        yield self._local_candidates(query, known, search), False
        if query.kind == "pith":
            return
        for mirror in self.mirrors:
            yield self._mirror_candidates(mirror, query, search), True

    # -- step 2: fetch and verify one candidate ------------------------------------
    def _search(self, search: _Search, known: AliasMap) -> None:
        query = search.result.query
        named_any = False
        for candidates, from_alias_answer in self._candidate_stages(query, known, search):
            for pith_id, mapped_by in candidates:
                if pith_id in search.tried:
                    continue
                if len(search.tried) >= MAX_CANDIDATES_PER_QUERY:
                    search.note(f"stopped after {MAX_CANDIDATES_PER_QUERY} candidate numbers")
                    break
                named_any = True
                search.tried.add(pith_id)
                outcome = self._try_candidate(search, pith_id, mapped_by)
                if outcome == _ACCEPTED:
                    return
                if outcome == _MISSING and from_alias_answer:
                    search.named_missing.append(f"pith:{pith_id} ({mapped_by})")
        self._conclude(search, named_any)

    def _try_candidate(self, search: _Search, pith_id: str, mapped_by: str,
                       kinds: tuple[str, ...] = ("bundle", "state")) -> str:
        """Accepted, or why not: a document was seen and rejected, none exists, or errors.

        A number the cache did not hold when the batch began (``_uncached``) is
        asked of the mirrors first and of the cache only if they do not answer:
        another process may have stored it since.
        """
        uncached = pith_id in self._uncached
        if not uncached and self._try_cache(search, pith_id, mapped_by):
            return _ACCEPTED
        outcome = _MISSING
        for kind in kinds:
            for mirror in self.mirrors:
                data, failed = self._fetch(search, mirror, pith_id, kind)
                if failed and outcome == _MISSING:
                    outcome = _FAILED
                if data is None:
                    continue
                report, problem = self._judge(data, search.result.query)
                if problem is None:
                    _accept(search.result, data, report, mirror.label, mapped_by)
                    self._store(data, report)
                    return _ACCEPTED
                search.bad_document = True
                outcome = _REJECTED
                search.note(f"{mirror.label} {kind} for pith:{pith_id}: {problem}")
        if uncached and self._try_cache(search, pith_id, mapped_by):
            return _ACCEPTED
        return outcome

    def _try_cache(self, search: _Search, pith_id: str, mapped_by: str) -> bool:
        if self.cache is None:
            return False
        query = search.result.query
        verified = self._cache_call(lambda: self.cache.get_verified(pith_id, self.trust))
        if verified is not None and IDENTITY.blocking(Claims.of_query(query),
                                                      verified[1]) is None:
            _accept(search.result, verified[0], verified[1], "cache", mapped_by)
            return True
        cached = self._cache_call(lambda: self.cache.get(pith_id)) if verified is None else None
        if cached is None:
            return False
        report, problem = self._judge(cached[0], query)
        if problem is None:
            _accept(search.result, cached[0], report, "cache", mapped_by)
            # its stored verdict was unusable (made by an older pith-bib, or under another
            # binding): store the one just made, so the next run need not verify again
            self._store(cached[0], report)
            return True
        search.note(f"cache: {problem}")
        return False

    def _fetch(self, search: _Search, mirror: Mirror, pith_id: str, kind: str
               ) -> tuple[bytes | None, bool]:
        """(the bytes or None, whether the mirror failed to answer)."""
        try:
            return mirror.fetch(pith_id, kind), False
        except FetchError as exc:
            search.transient = True
            search.note(str(exc))
            return None, True

    def _judge(self, data: bytes, query: Query) -> tuple[VerificationReport, str | None]:
        """Verify, then ask the policy whether the record is the one the query names."""
        report = verify_document(data, self.trust)
        if not report.ok:
            return report, "; ".join(report.reasons[:3]) or "did not verify"
        finding = IDENTITY.blocking(Claims.of_query(query), report)
        return report, finding.message if finding is not None else None

    # -- step 3: the status -------------------------------------------------------
    def _conclude(self, search: _Search, named_any: bool) -> None:
        result, query = search.result, search.result.query
        result.status = search.final_status()
        if search.named_missing:
            result.reasons.append("named by an alias answer, but no source has a document "
                                  "for " + ", ".join(search.named_missing))
        if not named_any and not result.reasons:
            where = "cache, lock file or local mirrors" if self.offline else \
                "cache, lock file or any mirror"
            result.reasons.append(f"no {query.kind} mapping for {query} in the {where}")
        elif result.status is Status.NOT_FOUND and named_any and not result.reasons:
            result.reasons.append(f"no mirror has a document for {query}")

    # -- the cache is an optimisation: a broken one is said once and then skipped --------
    def _cache_call(self, call: Callable[[], Any]) -> Any:
        if self.cache is None:
            return None
        try:
            return call()
        except CacheError as exc:
            self._drop_cache(exc)
            return None

    def _store(self, data: bytes, report: VerificationReport) -> None:
        """Queue a verified document for the cache; a batch of them goes in one commit.

        A batch is :data:`STORE_BATCH` documents, or fewer holding
        :data:`STORE_BATCH_BYTES` (documents and their evidence).

        Why: one commit per document kept the fetching threads waiting on the
        cache's write lock in turn. Nothing in the run depends on the cache
        holding a document it fetched (each mirror fetches a document once per
        run), and what is still queued is written when ``resolve_many`` ends,
        however it ends.
        """
        if self.cache is None:
            return
        document = (data, report, encode_evidence(evidence_of(data, report, verified=True)),
                    signed_aliases(report))
        with self._unstored_lock:
            self._queue([document])
            if len(self._unstored) < STORE_BATCH and self._unstored_bytes < STORE_BATCH_BYTES:
                return
            batch = self._take_queued()
        self._put_many(batch)

    def _store_queued(self) -> None:
        with self._unstored_lock:
            batch = self._take_queued()
        self._put_many(batch)

    def _queue(self, documents: list[Any], *, first: bool = False) -> None:
        """Queue ``documents`` in order, before the rest when ``first`` (a batch put back).

        The caller holds ``_unstored_lock``.
        """
        if first:
            self._unstored[:0] = documents
        else:
            self._unstored.extend(documents)
        self._unstored_bytes += sum(len(data) + len(evidence)
                                    for data, _, evidence, _ in documents)

    def _take_queued(self) -> list[Any]:
        batch, self._unstored, self._unstored_bytes = self._unstored, [], 0
        return batch

    def _put_many(self, batch: list[Any]) -> None:
        """Write a batch; interrupted, it goes back in the queue for the final write."""
        cache = self.cache
        if cache is None or not batch:
            return
        try:
            cache.put_many(batch)
        except CacheError as exc:
            self._drop_cache(exc)
        except BaseException:
            with self._unstored_lock:
                self._queue(batch, first=True)
            raise

    def _drop_cache(self, exc: CacheError) -> None:
        with self._warn_lock:
            if self.cache is not None:
                self.warnings.append(f"the cache is not usable ({exc}); going on without it")
                self.cache = None


class _Counter:
    """Thread-safe progress: ``step`` after each finished query."""

    def __init__(self, total: int, progress: ProgressCallback | None) -> None:
        self.total, self.done = total, 0
        self.progress = progress
        self._lock = threading.Lock()

    def step(self) -> None:
        with self._lock:
            self.done += 1
            if self.progress is not None:
                self.progress(self.done, self.total)


def arxiv_id_of(query: Query) -> str | None:
    """The arXiv id a query names (an arXiv query, or an arXiv DOI), else None."""
    if query.kind == "arxiv":
        return query.value
    if query.kind == "doi" and is_arxiv_doi(query.value):
        return query.value[len(ARXIV_DOI_PREFIX):]
    return None


def _verdict_hit(query: Query, verdict: Verdict | None, mapped_by: str) -> Resolution | None:
    """A stored verdict's answer to ``query``, if it has evidence and names the queried paper."""
    if verdict is None or verdict.evidence is None or \
            IDENTITY.blocking(Claims.of_query(query), verdict.report) is not None:
        return None
    result = Resolution(query)
    _accept(result, None, verdict.report, "cache", mapped_by)
    result.evidence = verdict.evidence
    return result


def _add(found: list[Candidate], number: str | None, source: str,
         search: _Search | None) -> None:
    """Append a candidate named by ``source`` unless it is malformed or already listed."""
    if not number:
        return
    try:
        ident = parse_pith_number(number).id
    except PithNumberError:
        if search is not None:
            search.result.notes.append(f"{source} named {number!r}, which is not a pith number")
        return
    if len(ident) == 26 and all(ident != c for c, _ in found):
        found.append((ident, source))


def _accept(result: Resolution, data: bytes | None, report: VerificationReport,
            source: str, mapped_by: str) -> None:
    """Record the verified answer; what failed on the way stays visible as notes."""
    result.status = Status(report.status)
    result.pith_number = report.pith_number
    result.report = report
    result.source = source
    result.mapped_by = mapped_by
    result.document = data
    result.notes.extend(result.reasons)
    result.reasons = []
    result.notes.extend(f.message for f in RESOLVER.findings(Claims.of_query(result.query),
                                                            report) if not f.blocking)


def _for_query(shared: Resolution, query: Query) -> Resolution:
    if shared.query is query:
        return shared
    return Resolution(query, shared.status, shared.pith_number, shared.report, shared.source,
                      shared.mapped_by, list(shared.reasons), list(shared.notes),
                      shared.document, shared.evidence)
