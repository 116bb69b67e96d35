"""``pith-bib check``: is every pith number in this file backed by evidence that verifies?

The file may be BibTeX or CSL-JSON (read through :mod:`pith_bib.documents`).

Runs offline from the lock file, so it works on pre-commit.ci and on a plane.
It imports nothing from the network stack, writes nothing, and reports each
problem as ``file:line: key: reason``. Evidence is verified once per pith
number; for a large lock the work is spread over the machine's cores in
forked worker processes (threads do not help: the hashing and bookkeeping
around each signature hold the GIL), because this runs on every commit.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .ambiguity import ambiguities
from .documents import DocumentEntry, load_document
from .entry_query import FieldNames, query_for
from .errors import PithBibError
from .evidence import report_from_verdict, verify_evidence
from .ids import Identifiers, extract
from .lock import EncodedEvidence, LockFile
from .policy import Policy, Query, judge_all, record_aliases
from .report import Reason, VerificationReport
from .terminal import quoted, shortened
from .trust import TrustRoot

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor

PARALLEL_THRESHOLD = 256  # below this, starting workers costs more than it saves
# Larger than any real bibliography's lock: beyond it, only what the file uses is verified.
EARLY_VERIFY_LIMIT = 20_000


@dataclass(frozen=True)
class Finding:
    """One reason ``check`` fails (or warns) about an entry, where the user can find it."""

    path: str
    line: int | None
    key: str | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {shortened(self.key or '-', 200)}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"file": self.path, "line": self.line, "key": self.key, "message": self.message}


@dataclass
class CheckResult:
    """One file's check: its findings and the counts its summary line shows."""

    path: str
    entries: int
    checked: int
    findings: list[Finding]
    passed_as_not_found: int = 0  # entries that pass only because the lock says "not found"
    authors_unchecked: int = 0  # record-verified entries: no signed author list to compare
    warnings: list[Finding] = field(default_factory=list)
    malformed: bool = False  # the file has entries that could not be parsed


# What forked workers inherit: (papers, trust), set just before the pool starts.
_SHARED: dict[str, Any] = {}


def _verify_chunk(numbers: list[str]) -> list[tuple[str, VerificationReport]]:
    papers, trust = _SHARED["papers"], _SHARED["trust"]
    return [(n, verify_lock_evidence(n, papers[n], trust)) for n in numbers]


def verify_lock_evidence(number: str, evidence: Any, trust: TrustRoot) -> VerificationReport:
    """:func:`verify_evidence` on a lock's evidence, parsing it first if it was kept as text.

    A line that is not strict JSON, or not an object, is evidence that fails,
    with the parser's reason: the paper fails closed, never the whole check.
    """
    if isinstance(evidence, EncodedEvidence):
        try:
            evidence = evidence.decode()
        except PithBibError as exc:
            return VerificationReport(pith_number=number, reasons=[
                Reason(f"the lock's evidence is not valid: {exc}", "malformed")])
    return verify_evidence(number, evidence, trust)


def _workers(count: int) -> int:
    # fork only where it is safe and cheap (Linux); macOS system libraries are
    # not fork-safe and spawning would re-import everything, costing more than it saves.
    if count < PARALLEL_THRESHOLD or not sys.platform.startswith("linux"):
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on every platform
        cores = os.cpu_count() or 1
    return min(cores, 8)


class EvidenceVerifier:
    """Verifies the lock's evidence, in worker processes when there is much of it.

    For a lock of plausible size, workers start on all of it before the file is
    even parsed, so parsing and signature checking overlap. A lock far larger
    than any bibliography (padded by a pull request) waits for the parse and
    has only the papers the file uses verified: its padding costs parsing,
    never signature checks.
    """

    def __init__(self, lock: LockFile, trust: TrustRoot) -> None:
        self.lock = lock
        self.trust = trust
        self.reports: dict[str, VerificationReport] = {}
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Any] = []
        self._started = False
        self._all_in_workers = False  # every unvouched paper of the lock sent to workers
        if len(lock.papers) <= EARLY_VERIFY_LIMIT:
            self.start(lock.papers)

    def start(self, needed: Iterable[str]) -> None:
        """Begin verifying ``needed`` (full numbers in the lock) in forked workers, once."""
        if self._started:
            return
        self._started = True
        numbers = sorted(n for n in set(needed) if n in self.lock.papers
                         and self.lock.known_report(n) is None)
        workers = _workers(len(numbers))
        if workers <= 1:
            return
        self._all_in_workers = needed is self.lock.papers
        # imported here: with the user's verdicts (or a small lock) no worker is needed
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        _SHARED.update(papers=self.lock.papers, trust=self.trust)
        try:
            self._pool = ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("fork"))
            self._futures = [self._pool.submit(_verify_chunk, numbers[i::workers])
                             for i in range(workers)]
        finally:
            _SHARED.clear()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def report(self, number: str) -> VerificationReport:
        if self._pool is not None:
            try:
                for future in self._futures:
                    self.reports.update(future.result())
            finally:
                self.close()
        if number not in self.reports:
            self.reports[number] = self._verify(number)
        return self.reports[number]

    def verified_aliases(self) -> dict[tuple[str, str], list[str]] | None:
        """Alias → number from the records that verified, when workers verify them all anyway.

        Why: mapping through the lock's claims would parse every paper in this
        process a second time. None when papers are verified only on demand (a
        small or padded lock): the caller then maps through the claims and
        verifies only what matches.
        """
        if not self._all_in_workers:
            return None
        aliases: dict[tuple[str, str], list[str]] = {}
        for number in self.lock.papers:
            report = self.report(number)
            if report.ok and isinstance(report.arxiv_id, str):
                for key in record_aliases(report.arxiv_id, report.arxiv_version):
                    aliases.setdefault(key, []).append(number)
        return aliases

    def _verify(self, number: str) -> VerificationReport:
        known = self.lock.known_report(number)
        if known is not None:  # the user cache verified exactly these evidence bytes
            reused = report_from_verdict(known, self.lock.papers[number])
            if reused is not None:
                return reused
        return verify_lock_evidence(number, self.lock.papers[number], self.trust)


def check_bib(path: Path, data: bytes, lock: LockFile | None, lock_path: Path,
              fields: FieldNames, trust: TrustRoot, *, policy: Policy,
              fetch_missing: Callable[[str], dict | None] | None = None) -> CheckResult:
    """Findings for one file; ``fetch_missing`` (``--online``) supplies absent evidence."""
    verifier = EvidenceVerifier(lock or LockFile(), trust)
    try:
        return _Check(path, lock_path, fields, verifier, policy).run(data, lock is not None,
                                                                     fetch_missing)
    finally:
        verifier.close()


class _Check:
    """One file's check: every entry with an identifier must be backed by the lock."""

    def __init__(self, path: Path, lock_path: Path, fields: FieldNames,
                 verifier: EvidenceVerifier, policy: Policy) -> None:
        self.label = str(path)
        self.lock_path = lock_path
        self.fields = fields
        self.verifier = verifier
        self.lock = verifier.lock
        self.policy = policy
        self.findings: list[Finding] = []
        self.warnings: list[Finding] = []
        self.passed_as_not_found = 0
        self.authors_unchecked = 0
        self._lock_aliases: dict[tuple[str, str], list[str]] | None = None

    def run(self, data: bytes, have_lock: bool,
            fetch_missing: Callable[[str], dict | None] | None) -> CheckResult:
        doc = load_document(data, self.label, self.fields)
        self.findings = [Finding(self.label, p.line, p.key, p.message) for p in doc.problems]
        ambiguous = ambiguities(doc, self.fields)
        rows = []
        for entry in doc.entries:
            if (reason := ambiguous.get(id(entry))) is not None:
                self._add(entry, reason)  # judged as no renderer reads it: a finding
                continue
            ids = extract(entry.source)
            query, problem = query_for(entry, ids, self.fields)
            if query is not None or problem is not None:
                rows.append((entry, ids, query, problem))
        result = CheckResult(self.label, len(doc.entries), len(rows), self.findings,
                             malformed=bool(doc.problems))
        if rows and not have_lock and fetch_missing is None:
            self.findings.append(Finding(self.label, None, None, f"no lock file at "
                                         f"{self.lock_path}; run pith-bib annotate"))
            return result
        numbers = {q.value for _, _, q, _ in rows if q is not None and q.kind == "pith"}
        full = self.lock.full_numbers(numbers)
        if fetch_missing is not None:
            self._fetch_missing(full, fetch_missing)
        self.verifier.start(n for n in full.values() if n is not None)
        for entry, ids, query, problem in rows:
            self._entry(entry, ids, query, problem, full)
        result.passed_as_not_found = self.passed_as_not_found
        result.authors_unchecked = self.authors_unchecked
        result.warnings = self.warnings
        return result

    def _fetch_missing(self, full: dict[str, str | None],
                       fetch_missing: Callable[[str], dict | None]) -> None:
        for short, number in list(full.items()):
            if number is None and (fetched := fetch_missing(short)) is not None:
                self.lock.papers[fetched["number"]] = fetched["evidence"]
                full[short] = fetched["number"]

    def _add(self, entry: DocumentEntry, message: str, *, warning: bool = False) -> None:
        """A finding; its message bounded (values in it are quoted short where they are
        made, and this is the backstop for one that is not)."""
        (self.warnings if warning else self.findings).append(
            Finding(self.label, entry.line, entry.key, shortened(message, 2000)))

    def _entry(self, entry: DocumentEntry, ids: Identifiers, query: Query | None,
               problem: str | None, full: dict[str, str | None]) -> None:
        if query is None:
            self._add(entry, problem or "cannot be checked")
        elif query.kind != "pith":
            self._unnumbered(entry, query)
        else:
            self._numbered(entry, ids, query, full.get(query.value))

    def _unnumbered(self, entry: DocumentEntry, query: Query) -> None:
        """No pith field: fine only if annotate found nothing, and the lock cannot say otherwise.

        The lock's ``not_found`` list is an unsigned claim; it never silences an
        entry whose identifier the lock's own evidence maps to a number.
        """
        key = query.not_found_key
        if key in self.lock.refused:  # a failure either way: say why annotate refused
            self._add(entry, f"annotate refused to number it: {self.lock.refused[key]}")
        elif (mapped := self._mapped_number(query)) is not None:
            self._add(entry, f"no {self.fields.pith} field, but the lock's evidence maps "
                             f"{query} to {mapped} (run pith-bib annotate)")
        elif key in self.lock.not_found:
            self.passed_as_not_found += 1
        else:
            self._add(entry, f"no {self.fields.pith} field for {query} (run pith-bib annotate)")

    def _mapped_number(self, query: Query) -> str | None:
        """A number the lock's own verified evidence maps the query to, if any.

        Every claimant counts, each verified once: a failing claim (a forged
        line) must not hide a good one and let the entry pass as not found.
        """
        if self._lock_aliases is None:
            verified = self.verifier.verified_aliases()
            self._lock_aliases = self.lock.claims() if verified is None else verified
        for key in query.alias_keys():
            for number in self._lock_aliases.get(key, ()):
                if self.verifier.report(number).ok:
                    return number
        return None

    def _numbered(self, entry: DocumentEntry, ids: Identifiers, query: Query,
                  number: str | None) -> None:
        existing = entry.get(self.fields.pith)
        if number is None:
            self._add(entry, f"{shortened((existing or '').strip(), 80)} has no evidence in "
                             f"the lock file {self.lock_path.name}")
            return
        report = self.verifier.report(number)
        if not report.ok:
            self._add(entry, f"evidence for {number} in the lock file does not verify: "
                      + "; ".join(report.reasons[:2]))
            return
        blocking, warnings = judge_all(self.policy, entry.claims(ids, query), report)
        if blocking is not None:
            self._add(entry, blocking.message)
        else:
            for message in (*(w.message for w in warnings if not w.quiet), *ids.conflicts):
                self._add(entry, message, warning=True)
            self.authors_unchecked += any(w.quiet for w in warnings)
        status = entry.get(self.fields.status)
        if status != report.status:
            shown = quoted(status, 80) if status is not None else "missing"
            self._add(entry, f"{self.fields.status} is {shown} but the evidence supports "
                             f"{report.status!r}")
        if existing != number:
            self._add(entry, f"{self.fields.pith} is {quoted(existing, 80)}; write the full number "
                             f"{number}")
