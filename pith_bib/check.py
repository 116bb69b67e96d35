"""``pith-bib check``: is every pith number in this .bib backed by evidence that verifies?

Runs offline from the lock file, so it works on pre-commit.ci and on a plane.
It imports nothing from the network stack, writes nothing, and reports each
problem as ``file:line: key: reason``. Evidence is verified once per pith
number; for a large lock the work is spread over the machine's cores in
forked worker processes (threads do not help: the hashing and bookkeeping
around each signature hold the GIL), because this runs on every commit.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .annotate import FieldNames, not_found_key, query_for
from .bibfile import parse
from .ids import extract
from .lock import LockFile
from .trust import TrustRoot
from .verify import VerificationReport, verify_evidence

PARALLEL_THRESHOLD = 256  # below this, starting workers costs more than it saves


@dataclass(frozen=True)
class Finding:
    path: str
    line: int | None
    key: str | None
    message: str

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.key or '-'}: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {"file": self.path, "line": self.line, "key": self.key, "message": self.message}


@dataclass
class CheckResult:
    path: str
    entries: int
    checked: int
    findings: list[Finding]


# What forked workers inherit: (papers, trust), set just before the pool starts.
_SHARED: dict[str, Any] = {}


def _verify_chunk(numbers: list[str]) -> list[tuple[str, VerificationReport]]:
    papers, trust = _SHARED["papers"], _SHARED["trust"]
    return [(n, verify_evidence(n, papers[n], trust)) for n in numbers]


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
    """Verifies a lock's evidence, in worker processes for a large lock.

    Workers start on every paper in the lock before the .bib is even parsed,
    so parsing and signature checking overlap; a small lock is verified in
    this process, only for the numbers asked about.
    """

    def __init__(self, lock: LockFile, trust: TrustRoot) -> None:
        self.lock = lock
        self.trust = trust
        self.reports: dict[str, VerificationReport] = {}
        self._pool: ProcessPoolExecutor | None = None
        self._futures: list[Any] = []
        numbers = sorted(lock.papers)
        workers = _workers(len(numbers))
        if workers > 1:
            _SHARED.update(papers=lock.papers, trust=trust)
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
            self.reports[number] = verify_evidence(number, self.lock.papers[number], self.trust)
        return self.reports[number]


def check_bib(path: Path, data: bytes, lock: LockFile | None, lock_path: Path,
              fields: FieldNames, trust: TrustRoot,
              fetch_missing: Callable[[str], dict | None] | None = None) -> CheckResult:
    """Findings for one file; ``fetch_missing`` (``--online``) supplies absent evidence."""
    verifier = EvidenceVerifier(lock or LockFile(), trust)
    try:
        return _check(path, data, lock, lock_path, fields, verifier, fetch_missing)
    finally:
        verifier.close()


def _check(path: Path, data: bytes, lock: LockFile | None, lock_path: Path,
           fields: FieldNames, verifier: EvidenceVerifier,
           fetch_missing: Callable[[str], dict | None] | None) -> CheckResult:
    label = str(path)
    bib = parse(data, label)
    findings = [Finding(label, p.line, p.key, p.message) for p in bib.problems]
    rows = []
    numbers: set[str] = set()
    for entry in bib.entries:
        ids = extract(entry)
        query, problem = query_for(entry, ids, fields)
        existing = entry.get(fields.pith)
        if query is None and problem is None:
            continue  # no identifier: nothing to check
        rows.append((entry, ids, query, problem, existing))
        if existing and query is not None and query.kind == "pith":
            numbers.add(query.value)
    if rows and lock is None and fetch_missing is None:
        findings.append(Finding(label, None, None,
                                f"no lock file at {lock_path}; run pith-bib annotate"))
        return CheckResult(label, len(bib.entries), len(rows), findings)
    lock = verifier.lock
    full = lock.full_numbers(numbers)
    if fetch_missing is not None:
        for short, number in list(full.items()):
            if number is None:
                fetched = fetch_missing(short)
                if fetched is not None:
                    found_number, evidence = fetched["number"], fetched["evidence"]
                    lock.papers[found_number] = evidence
                    full[short] = found_number
    for entry, ids, query, problem, existing in rows:
        def add(message: str, entry=entry) -> None:
            findings.append(Finding(label, entry.line, entry.key, message))

        if query is None:
            add(problem or "cannot be checked")
            continue
        if not existing:
            key = not_found_key(query)
            if key in lock.not_found:
                continue  # looked up at annotate time: no pith number exists for it
            if key in lock.refused:
                add(f"annotate refused to number it: {lock.refused[key]}")
            else:
                add(f"no {fields.pith} field for {query} (run pith-bib annotate)")
            continue
        number = full.get(query.value)
        if number is None:
            add(f"{existing} has no evidence in the lock file {lock_path.name}")
            continue
        report = verifier.report(number)
        if not report.ok:
            add(f"evidence for {number} in the lock file does not verify: "
                + "; ".join(report.reasons[:2]))
            continue
        if ids.arxiv_id is not None and report.arxiv_id != ids.arxiv_id:
            add(f"{number} is arXiv {report.arxiv_id}, but the entry says arXiv {ids.arxiv_id}")
        status = entry.get(fields.status)
        if status != report.status:
            add(f"{fields.status} is {status!r} but the evidence supports {report.status!r}")
        if existing != number:
            add(f"{fields.pith} is {existing!r}; write the full number {number}")
    return CheckResult(label, len(bib.entries), len(rows), findings)

