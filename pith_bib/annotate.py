"""Decide, entry by entry, what pith-bib may write, and write it safely.

The rules, in the order users care about them:

- a file whose parsing found any problem is never written;
- only a document that verified, for the paper the entry names, whose signed
  title does not clearly contradict the entry's title, produces a number;
- an existing ``pith`` field that no longer verifies, names another paper, or
  cannot be checked right now (network down) is reported and kept as it is;
- nothing is written when nothing changes, so a re-run gives identical bytes,
  and the file is re-read just before writing so a concurrent rewrite (Zotero
  exporting) is never overwritten.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import write_atomic
from .bibfile import BibFile, Entry, parse
from .canonical import parse_pith_number
from .errors import PithBibError, PithNumberError
from .ids import Identifiers, extract
from .lock import LockFile
from .resolver import Query, Resolution, Resolver, version_note
from .titles import titles_match
from .trust import TrustRoot
from .verify import verify_evidence

# Entry statuses that are findings (exit 1); the rest are information.
PROBLEMS = frozenset({"invalid", "unavailable", "conflict", "title-mismatch", "pith-mismatch",
                      "malformed"})
_RANK = {"record-verified": 1, "verified": 2}


@dataclass(frozen=True)
class FieldNames:
    pith: str = "pith"
    status: str = "pith_status"


@dataclass
class EntryOutcome:
    path: str
    key: str
    line: int
    identifier: str | None = None
    status: str = "no-identifier"
    action: str = "none"
    pith_number: str | None = None
    source: str | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def is_problem(self) -> bool:
        return self.status in PROBLEMS

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.path, "key": self.key, "line": self.line,
                "identifier": self.identifier, "pith_number": self.pith_number,
                "status": self.status, "action": self.action, "source": self.source,
                "reasons": self.reasons}


@dataclass
class FileResult:
    path: Path
    original: bytes
    outcomes: list[EntryOutcome] = field(default_factory=list)
    new_bytes: bytes | None = None
    lock: LockFile | None = None
    lock_path: Path | None = None
    wrote: bool = False
    wrote_lock: bool = False
    error: str | None = None

    @property
    def changed(self) -> bool:
        return self.new_bytes is not None and self.new_bytes != self.original


def query_for(entry: Entry, ids: Identifiers, fields: FieldNames
              ) -> tuple[Query | None, str | None]:
    """What to resolve for an entry, or (None, reason) when it cannot be resolved."""
    existing = entry.get(fields.pith)
    if ids.arxiv_id is None and ids.conflicts:
        return None, ids.conflicts[0]
    if existing:
        try:
            number = parse_pith_number(existing)
        except PithNumberError as exc:
            return None, f"the {fields.pith} field is not a pith number: {exc}"
        return Query("pith", number.id, None, str(number)), None
    if ids.arxiv_id:
        return Query("arxiv", ids.arxiv_id, ids.arxiv_version, ids.arxiv or ids.arxiv_id), None
    if ids.doi:
        return Query("doi", ids.doi, None, ids.doi), None
    return None, None


def not_found_key(query: Query) -> str:
    return f"{query.kind}:{query.value}"


class Planner:
    """Turns resolutions into edits and lock entries for one parsed file."""

    def __init__(self, bib: BibFile, path: str, fields: FieldNames, old_lock: LockFile | None,
                 check_titles: bool = True, trust: TrustRoot | None = None,
                 lock_aliases: dict[tuple[str, str], str] | None = None) -> None:
        self.bib = bib
        self.path = path
        self.fields = fields
        self.old_lock = old_lock
        self.check_titles = check_titles
        self.trust = trust or TrustRoot.default()
        self.lock = LockFile()
        if lock_aliases is None:
            lock_aliases = old_lock.mapping() if old_lock is not None else {}
        self._lock_aliases = lock_aliases

    def from_lock(self, query: Query, failed: Resolution) -> Resolution | None:
        """A failed lookup answered by the committed lock file's evidence, re-verified.

        Why: a fresh clone, a new machine or a Zotero rewrite on a plane has no
        cache and no network, yet the lock holds signed evidence for every
        number the bibliography used. That evidence verifies offline exactly as
        ``check`` verifies it, so losing the network must not lose the number.
        """
        if self.old_lock is None or failed.status not in ("not-found", "unavailable"):
            return None
        if query.kind == "pith":
            number = self.old_lock.full_numbers([query.value])[query.value]
        else:
            number = self._lock_aliases.get((query.kind, query.value.lower()))
        evidence = self.old_lock.evidence(number) if number else None
        if number is None or evidence is None:
            return None
        report = verify_evidence(number, evidence, self.trust)
        if not report.ok:
            return None
        note = version_note(query, report)
        return Resolution(query, status=report.status, pith_number=report.pith_number,
                          report=report, source="lock", mapped_by="lock",
                          notes=[*failed.reasons, *([note] if note else [])],
                          evidence=evidence)

    def keep_old_evidence(self, number: str | None) -> None:
        if number and self.old_lock is not None:
            evidence = self.old_lock.evidence(number)
            if evidence is not None:
                self.lock.papers[number] = evidence

    def decide(self, entry: Entry, ids: Identifiers, query: Query | None,
               problem: str | None, resolution: Resolution | None) -> EntryOutcome:
        outcome = EntryOutcome(self.path, entry.key, entry.line,
                               identifier=str(query) if query else (ids.arxiv or ids.doi))
        existing = entry.get(self.fields.pith)
        existing_status = entry.get(self.fields.status)
        if query is None:
            if problem:
                outcome.status = "conflict" if ids.conflicts else "invalid"
                outcome.reasons.append(problem)
                outcome.action = "kept" if existing else "none"
            return outcome
        assert resolution is not None
        if not resolution.ok:
            resolution = self.from_lock(query, resolution) or resolution
        outcome.source = resolution.source
        if not resolution.ok:
            return self._failed(outcome, resolution, existing, query)
        report = resolution.report
        assert report is not None and resolution.pith_number is not None
        number = resolution.pith_number
        outcome.pith_number = number
        if ids.arxiv_id and report.arxiv_id != ids.arxiv_id:
            outcome.status = "pith-mismatch"
            outcome.action = "kept"
            outcome.reasons.append(
                f"the {self.fields.pith} field names {number}, which is arXiv "
                f"{report.arxiv_id}, but the entry says arXiv {ids.arxiv_id}")
            return outcome
        title = entry.get("title")
        if self.check_titles and title and report.title and not titles_match(title,
                                                                             report.title):
            outcome.status = "title-mismatch"
            outcome.action = "kept" if existing else "none"
            outcome.reasons.append(
                f"likely wrong identifier: the entry's title is {title!r} but {number} "
                f"({report.arxiv_id}) is signed as {report.title!r}")
            self.lock.refused[not_found_key(query)] = f"title-mismatch: {outcome.reasons[-1]}"
            return outcome
        outcome.status = resolution.status
        outcome.reasons.extend(resolution.notes)
        if existing_status and _RANK.get(existing_status, 0) > _RANK[resolution.status] \
                and existing and parse_pith_number(existing).matches(number):
            outcome.status = existing_status
            outcome.action = "kept"
            outcome.reasons.append(f"only {resolution.status} evidence is available now; "
                                   f"keeping {existing_status}")
            self.keep_old_evidence(number)
            if number not in self.lock.papers:
                self.lock.papers[number] = resolution.lock_evidence()
            return outcome
        self.lock.papers[number] = resolution.lock_evidence()
        changed = False
        if existing != number:
            self.bib.set_field(entry, self.fields.pith, number)
            changed = True
        if existing_status != resolution.status:
            self.bib.set_field(entry, self.fields.status, resolution.status)
            changed = True
        outcome.action = ("updated" if existing else "added") if changed else "unchanged"
        return outcome

    def _failed(self, outcome: EntryOutcome, resolution: Resolution, existing: str | None,
                query: Query) -> EntryOutcome:
        outcome.status = resolution.status
        outcome.reasons.extend(resolution.reasons or [resolution.status])
        outcome.action = "kept" if existing else "none"
        if existing:
            # never remove or downgrade on failure; keep its evidence if we had it
            outcome.pith_number = existing
            with contextlib.suppress(PithNumberError):
                self.keep_old_evidence(str(parse_pith_number(existing)))
            if resolution.status == "not-found":
                outcome.status = "invalid"
                outcome.reasons.insert(0, f"the {self.fields.pith} field names a pith number "
                                          "that no source has")
        elif resolution.status == "not-found":
            self.lock.not_found[not_found_key(query)] = "not-found"
        elif resolution.status == "unavailable" and self.old_lock is not None:
            key = not_found_key(query)
            if key in self.old_lock.not_found:
                self.lock.not_found[key] = self.old_lock.not_found[key]
        return outcome


def plan(path: Path, data: bytes, resolver: Resolver, fields: FieldNames,
         old_lock: LockFile | None,
         progress: Callable[[int, int], None] | None = None) -> FileResult:
    """Parse, resolve and decide; nothing is written here."""
    result = FileResult(path, data)
    bib = parse(data, str(path))
    if bib.problems:
        result.outcomes = [
            EntryOutcome(str(path), problem.key or "-", problem.line, status="malformed",
                         reasons=[problem.message])
            for problem in bib.problems
        ]
        result.error = "the file has malformed entries; it was not changed"
        return result
    # the lock names the papers this file used: resolver and planner both map through it
    lock_aliases = old_lock.mapping() if old_lock is not None else {}
    resolver.known = lock_aliases
    planner = Planner(bib, str(path), fields, old_lock, trust=resolver.trust,
                      lock_aliases=lock_aliases)
    prepared = []
    for entry in bib.entries:
        ids = extract(entry)
        query, problem = query_for(entry, ids, fields)
        prepared.append((entry, ids, query, problem))
    resolutions = iter(resolver.resolve_many([q for _, _, q, _ in prepared if q is not None],
                                             progress))
    for entry, ids, query, problem in prepared:
        resolution = next(resolutions) if query is not None else None
        result.outcomes.append(planner.decide(entry, ids, query, problem, resolution))
    result.new_bytes = bib.to_bytes() if bib.changed else data
    result.lock = planner.lock
    return result


def write_result(result: FileResult, output: Path | None = None,
                 lock_path: Path | None = None) -> None:
    """Write the new .bib (atomically, only if changed) and its lock file."""
    if result.error is not None or result.new_bytes is None:
        return
    target = output or result.path
    if result.changed or output is not None:
        try:
            current = result.path.read_bytes()
        except OSError as exc:
            raise PithBibError(f"{result.path}: cannot re-read before writing: "
                               f"{exc.strerror or exc}") from None
        if current != result.original:
            result.error = "the file changed while it was being annotated; it was not written"
            return
        write_atomic(target, result.new_bytes)
        result.wrote = True
    if result.lock is not None and lock_path is not None:
        result.lock_path = lock_path
        result.wrote_lock = result.lock.save(lock_path)
