"""Decide, entry by entry, what pith-bib may write, and write it safely.

A pipeline of small stages (bibtexparser v2's shape): parse → identify →
resolve → **decide** → apply → write. Deciding is pure: :func:`decide` turns an
entry, its resolution and the committed lock into a :class:`Decision` (a
status, the fields to write, what the new lock records) and edits nothing;
:func:`plan` applies the decisions. The rules, in the order users care:

- a file whose parsing found any problem is never written;
- only a document that verified, for the paper the entry names (the policy:
  arXiv id, DOI, title, authors), produces a number;
- an existing ``pith`` field that no longer verifies, names another paper, or
  cannot be checked right now (network down) is reported and kept as it is;
- a status is never kept when the evidence at hand does not support it;
- nothing is written when nothing changes, and the file is re-read just before
  writing so a concurrent rewrite (Zotero exporting) is never overwritten.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .ambiguity import ambiguities
from .atomic import check_writable, write_atomic
from .canonical import parse_pith_number
from .documents import BIBTEX, Document, DocumentEntry, load_document
from .entry_query import FieldNames, query_for
from .errors import BibError, ConcurrentModificationError, PithBibError, PithNumberError
from .evidence import verify_evidence
from .ids import Identifiers, extract
from .lock import LockFile
from .policy import Policy, Query, Status, judge_all, shown_status, status_for, status_rank
from .resolver import Resolution, Resolver
from .trust import TrustRoot

__all__ = ["Decision", "EntryOutcome", "FieldNames", "FileResult", "LockContext", "decide",
           "plan", "write_result"]


@dataclass
class EntryOutcome:
    """What annotate did with one entry and why: one line of its report."""

    path: str
    key: str
    line: int
    identifier: str | None = None
    status: Status = Status.NO_IDENTIFIER
    action: str = "none"
    pith_number: str | None = None
    source: str | None = None
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def is_problem(self) -> bool:
        return self.status.is_problem

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.path, "key": self.key, "line": self.line,
                "identifier": self.identifier, "pith_number": self.pith_number,
                "status": self.status.value, "action": self.action, "source": self.source,
                "reasons": self.reasons, "warnings": self.warnings}


@dataclass
class Decision:
    """What one entry gets: nothing here has been applied yet."""

    outcome: EntryOutcome
    writes: dict[str, str] = field(default_factory=dict)  # field name → new value
    evidence: dict[str, Any] = field(default_factory=dict)  # pith number → lock evidence
    refused: dict[str, str] = field(default_factory=dict)  # query key → reason
    not_found: dict[str, str] = field(default_factory=dict)  # query key → "not-found"


@dataclass
class FileResult:
    """One file's plan and, once written, what was written."""

    path: Path
    original: bytes
    outcomes: list[EntryOutcome] = field(default_factory=list)
    new_bytes: bytes | None = None
    lock: LockFile | None = None
    lock_path: Path | None = None
    wrote: bool = False
    wrote_lock: bool = False
    error: str | None = None
    format: str = BIBTEX  # documents.BIBTEX or documents.CSL_JSON

    @property
    def changed(self) -> bool:
        return self.new_bytes is not None and self.new_bytes != self.original


@dataclass(frozen=True)
class LockContext:
    """The committed lock, and what its evidence can still prove offline."""

    old: LockFile | None
    aliases: dict[tuple[str, str], str]
    trust: TrustRoot

    @classmethod
    def of(cls, old: LockFile | None, trust: TrustRoot) -> LockContext:
        return cls(old, old.mapping() if old is not None else {}, trust)

    def evidence(self, number: str | None) -> dict[str, Any] | None:
        return self.old.evidence(number) if number and self.old is not None else None

    def number_for(self, query: Query) -> str | None:
        if self.old is None:
            return None
        if query.kind == "pith":
            return self.old.full_numbers([query.value])[query.value]
        return next((self.aliases[k] for k in query.alias_keys() if k in self.aliases), None)

    def resolve(self, query: Query, failed: Resolution | None = None,
                number: str | None = None) -> Resolution | None:
        """The committed lock's evidence for ``query``, re-verified offline, if it verifies.

        Why: a fresh clone, a new machine or a Zotero rewrite on a plane has no
        cache and no network, yet the lock holds signed evidence for every
        number the bibliography used; losing the network must not lose it.
        """
        number = number or self.number_for(query)
        evidence = self.evidence(number)
        if number is None or evidence is None:
            return None
        report = verify_evidence(number, evidence, self.trust)
        if not report.ok:
            return None
        return Resolution(query, status=Status(report.status), pith_number=report.pith_number,
                          report=report, source="lock", mapped_by="lock",
                          notes=list(failed.reasons) if failed else [], evidence=evidence)


def _no_query(outcome: EntryOutcome, ids: Identifiers, problem: str | None,
              existing: str | None) -> Decision:
    if problem:
        outcome.status = Status.CONFLICT if ids.conflicts else Status.INVALID
        outcome.reasons.append(problem)
        outcome.action = "kept" if existing else "none"
    return Decision(outcome)


def _failed(outcome: EntryOutcome, resolution: Resolution, existing: str | None,
            query: Query, locks: LockContext, fields: FieldNames) -> Decision:
    """No verified document: report it, never remove or downgrade what the entry has."""
    decision = Decision(outcome)
    outcome.status = resolution.status
    outcome.reasons.extend(resolution.reasons or [resolution.status.value])
    outcome.action = "kept" if existing else "none"
    key = query.not_found_key
    if existing:
        outcome.pith_number = existing
        with contextlib.suppress(PithNumberError):
            number = str(parse_pith_number(existing))
            if (evidence := locks.evidence(number)) is not None:
                decision.evidence[number] = evidence
        if resolution.status is Status.NOT_FOUND:
            outcome.status = Status.INVALID
            outcome.reasons.insert(0, f"the {fields.pith} field names a pith number that no "
                                      "source has")
    elif resolution.status is Status.NOT_FOUND:
        decision.not_found[key] = Status.NOT_FOUND.value
    elif resolution.status is Status.UNAVAILABLE and locks.old is not None and \
            key in locks.old.not_found:
        decision.not_found[key] = locks.old.not_found[key]
    return decision


def _refused(outcome: EntryOutcome, status: Status, message: str, existing: str | None,
             existing_status: str | None, query: Query, fields: FieldNames) -> Decision:
    """A definite finding against the entry: its number is kept, its status says so.

    Why the status is written: a ``verified`` left in the file would go on being
    printed by every renderer (they print the number only for a verified
    status) for an entry the policy has just refused.
    """
    outcome.status = status
    outcome.action = "kept" if existing else "none"
    outcome.reasons.append(message)
    decision = Decision(outcome)
    if existing and shown_status(existing_status):
        decision.writes[fields.status] = status.value
        outcome.action = "updated"
    # A number moved onto the wrong entry is the entry's own problem, reported by check
    # from the entry itself; every other refusal is recorded so check can repeat it.
    if not (status is Status.PITH_MISMATCH and query.kind == "pith"):
        decision.refused[query.not_found_key] = f"{status.value}: {message}"
    return decision


def _supported(resolution: Resolution, existing: str | None, existing_status: str | None,
               query: Query, locks: LockContext) -> Resolution:
    """The resolution whose evidence supports the most; never a status nothing supports.

    A hand-written (or older) status that ranks above what was found now is
    kept only if the committed lock's evidence for the same number proves it.
    """
    number = resolution.pith_number
    if status_rank(existing_status) <= resolution.status.rank or not existing or \
            number is None or not parse_pith_number(existing).matches(number):
        return resolution
    stronger = locks.resolve(query, number=number)
    if stronger is not None and stronger.status.rank > resolution.status.rank:
        stronger.notes.append(f"only {resolution.status.value} evidence is available now; "
                              f"the lock's evidence still proves {stronger.status.value}")
        return stronger
    return resolution


def decide(entry: DocumentEntry, ids: Identifiers, query: Query | None, problem: str | None,
           resolution: Resolution | None, *, path: str, fields: FieldNames,
           locks: LockContext, policy: Policy) -> Decision:
    """Pure: the status, the fields to write and the lock entries for one entry."""
    outcome = EntryOutcome(path, entry.key, entry.line,
                           identifier=str(query) if query else (ids.arxiv or ids.doi))
    existing = entry.get(fields.pith)
    if query is None:
        return _no_query(outcome, ids, problem, existing)
    assert resolution is not None
    if not resolution.ok:
        resolution = locks.resolve(query, resolution) or resolution
    outcome.source = resolution.source
    if not resolution.ok:
        return _failed(outcome, resolution, existing, query, locks, fields)
    existing_status = entry.get(fields.status)
    # The policy judges the report whose status is written: the lock's stronger
    # evidence carries signed authors (and a signed title) that a state lacks.
    resolution = _supported(resolution, existing, existing_status, query, locks)
    report, number = resolution.report, resolution.pith_number
    assert report is not None and number is not None
    outcome.pith_number = number
    blocking, warnings = judge_all(policy, entry.claims(ids, query), report)
    if blocking is not None:  # refused: the warnings would only distract from why
        return _refused(outcome, status_for(blocking), blocking.message, existing,
                        existing_status, query, fields)
    outcome.warnings.extend(w.message for w in warnings if not w.quiet)
    outcome.warnings.extend(ids.conflicts)  # two versions of one paper: its number is the same
    outcome.reasons.extend(w.message for w in warnings if w.quiet)
    outcome.status = resolution.status
    outcome.source = resolution.source
    outcome.reasons.extend(n for n in resolution.notes if n not in outcome.warnings)
    decision = Decision(outcome, evidence={number: resolution.lock_evidence()})
    if existing != number:
        decision.writes[fields.pith] = number
    if existing_status != resolution.status.value:
        decision.writes[fields.status] = resolution.status.value
    outcome.action = ("updated" if existing else "added") if decision.writes else "unchanged"
    return decision


def _edit_refused(exc: BibError) -> str:
    """The reason without the ``file:line:`` prefix the outcome line already shows."""
    where = exc.path or "<input>"
    if exc.line is not None:
        where = f"{where}:{exc.line}"
    return str(exc).removeprefix(f"{where}: ")


def _apply(doc: Document, entry: DocumentEntry, decision: Decision, lock: LockFile) -> None:
    """Queue the entry's writes and record its lock entries.

    An entry the format cannot edit (a CSL ``custom`` member that is not an
    object, a value BibTeX cannot hold) is reported as malformed and nothing
    of it is recorded; the rest of the file is still annotated.
    """
    if decision.writes:
        try:
            doc.set_fields(entry, decision.writes)
        except BibError as exc:
            outcome = decision.outcome
            outcome.status = Status.MALFORMED
            outcome.action = "kept" if outcome.action == "updated" else "none"
            outcome.reasons.insert(0, f"cannot be annotated: {_edit_refused(exc)}")
            return
    lock.papers.update(decision.evidence)
    lock.refused.update(decision.refused)
    lock.not_found.update(decision.not_found)


def _malformed(result: FileResult, doc: Document) -> FileResult:
    result.outcomes = [
        EntryOutcome(str(result.path), problem.key or "-", problem.line,
                     status=Status.MALFORMED, reasons=[problem.message])
        for problem in doc.problems
    ]
    result.error = "the file has malformed entries; it was not changed"
    return result


def plan(path: Path, data: bytes, resolver: Resolver, fields: FieldNames,
         old_lock: LockFile | None, *, policy: Policy,
         progress: Callable[[int, int], None] | None = None) -> FileResult:
    """Parse (BibTeX or CSL-JSON), resolve and decide; nothing is written here."""
    result = FileResult(path, data)
    doc = load_document(data, path, fields)
    result.format = doc.format
    if doc.problems:
        return _malformed(result, doc)
    locks = LockContext.of(old_lock, resolver.trust)
    ambiguous = ambiguities(doc, fields)
    prepared = []
    for entry in doc.entries:
        ids = extract(entry.source)
        query, problem = query_for(entry, ids, fields)
        if (reason := ambiguous.get(id(entry))) is not None:  # refused: a conflict
            ids.conflicts.insert(0, reason)
            query, problem = None, reason
        prepared.append((entry, ids, query, problem))
    resolutions = iter(resolver.resolve_many(
        [q for _, _, q, _ in prepared if q is not None], locks.aliases, progress))
    lock = LockFile(replaces=old_lock)
    for entry, ids, query, problem in prepared:
        resolution = next(resolutions) if query is not None else None
        decision = decide(entry, ids, query, problem, resolution, path=str(path),
                          fields=fields, locks=locks, policy=policy)
        _apply(doc, entry, decision, lock)
        result.outcomes.append(decision.outcome)
    result.new_bytes = doc.to_bytes() if doc.changed else data
    result.lock = lock
    return result


def _reread_unchanged(result: FileResult) -> bool:
    try:
        current = result.path.read_bytes()
    except OSError as exc:
        raise PithBibError(f"{result.path}: cannot re-read before writing: "
                           f"{exc.strerror or exc}") from None
    return current == result.original


CHANGED_MEANWHILE = "the file changed while it was being annotated; it was not written"


def write_result(result: FileResult, output: Path | None = None,
                 lock_path: Path | None = None) -> None:
    """Write the lock, then the new file (atomically, only if changed).

    The lock goes first: if the file write then fails (a full disk, or another
    program saving it at that moment), the old file with the new lock is a
    state ``check`` and the next annotate accept. A refusal known in advance (a
    read-only file, a folder or device as the output) comes before the lock, so
    it leaves nothing written. Written in place, the file is replaced only if it
    still holds exactly the bytes that were annotated.
    """
    if result.error is not None or result.new_bytes is None:
        return
    target = output or result.path
    writing = result.changed or output is not None
    if writing and not _reread_unchanged(result):
        result.error = CHANGED_MEANWHILE
        return
    if writing:
        check_writable(target)
    if result.lock is not None and lock_path is not None:
        result.lock_path = lock_path
        result.wrote_lock = result.lock.save(lock_path)
    if not writing:
        return
    try:
        write_atomic(target, result.new_bytes,
                     expect=result.original if output is None else None)
    except ConcurrentModificationError:
        result.error = CHANGED_MEANWHILE
        return
    result.wrote = True
