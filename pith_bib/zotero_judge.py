"""Judge Zotero items exactly as ``annotate`` judges .bib entries.

The sync engine (:mod:`pith_bib.zotero_sync`) only asks "which number and
status for this item?". The answer must be annotate's answer, or a Zotero
library and its Better BibTeX export would disagree with ``check``: the same
query (an existing ``tex.pith`` wins, then the arXiv id, then the DOI), the
same resolver, the same :class:`~pith_bib.policy.Policy`, the same statuses,
and the same refusal to remove or downgrade what an item already carries when
the evidence at hand cannot decide. Every identifier of a run is resolved in
one parallel batch (:meth:`ItemJudge.prepare`) before any item is judged.

Each judged item also yields what a lock file records for it (evidence,
``not_found``, ``refused``), so ``pith-bib zotero --lock`` can write the lock
that ``check`` needs for the exported .bib.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .annotate import LockContext
from .authors import PersonName
from .canonical import parse_pith_number
from .entry_query import FieldNames, query_for
from .errors import PithNumberError
from .lock import LockFile
from .policy import Claims, Policy, Query, Status, judge_all, status_for, status_rank
from .resolver import Resolution, Resolver
from .zotero_items import ZoteroItem
from .zotero_sync import Judgement

Progress = Callable[[int, int], None]


@dataclass
class ItemOutcome:
    """One item's verdict, with the lock entries it contributes."""

    key: str
    title: str
    identifier: str | None = None
    status: Status = Status.NO_IDENTIFIER
    pith_number: str | None = None
    source: str | None = None
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)  # pith number → lock evidence
    refused: dict[str, str] = field(default_factory=dict)  # query key → reason
    not_found: dict[str, str] = field(default_factory=dict)  # query key → "not-found"

    @property
    def is_problem(self) -> bool:
        return self.status.is_problem

    def judgement(self) -> Judgement:
        """What the sync engine writes: a number only when one may be written."""
        if self.status.is_ok and self.pith_number is not None:
            return Judgement(self.status.value, self.pith_number, "; ".join(self.reasons))
        return Judgement(self.status.value, None, "; ".join(self.reasons),
                         transient=self.status is Status.UNAVAILABLE)


class ItemSource:
    """A :class:`~pith_bib.ids.FieldSource` for ``query_for``: our Extra lines, the title."""

    def __init__(self, item: ZoteroItem, fields: FieldNames) -> None:
        self._values = {fields.pith.lower(): item.pith, fields.status.lower(): item.status,
                        "title": item.title}

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._values.get(name.lower()) or default


def claims_of(item: ZoteroItem, query: Query | None) -> Claims:
    """What the item says about its paper, with Zotero's structured author names."""
    ids = item.identifiers
    return Claims(pith_id=query.value if query is not None and query.kind == "pith" else None,
                  arxiv_id=ids.arxiv_id, arxiv_version=ids.arxiv_version, doi=ids.doi,
                  title=item.title or None,
                  author_names=tuple(PersonName(family, given) for family, given in item.authors))


def item_query(item: ZoteroItem, fields: FieldNames) -> tuple[Query | None, str | None]:
    """annotate's ``query_for`` on an item; two different pith lines are a conflict."""
    numbers = {value for value in item.extra_fields.pith if value}
    if len(numbers) > 1:
        return None, (f"Extra has {len(numbers)} different tex.{fields.pith} lines; "
                      "keep the right one")
    return query_for(ItemSource(item, fields), item.identifiers, fields)


def _no_query(outcome: ItemOutcome, item: ZoteroItem, problem: str | None) -> ItemOutcome:
    if problem:
        conflict = item.identifiers.conflicts or len({v for v in item.extra_fields.pith if v}) > 1
        outcome.status = Status.CONFLICT if conflict else Status.INVALID
        outcome.reasons.append(problem)
        outcome.pith_number = item.pith
    return outcome


def _failed(outcome: ItemOutcome, resolution: Resolution, existing: str | None,
            query: Query, locks: LockContext, fields: FieldNames) -> ItemOutcome:
    """No verified document: report it; what the item has stays (and stays in the lock)."""
    outcome.status = resolution.status
    outcome.reasons.extend(resolution.reasons or [resolution.status.value])
    key = query.not_found_key
    if existing:
        outcome.pith_number = existing
        with contextlib.suppress(PithNumberError):
            number = str(parse_pith_number(existing))
            if (evidence := locks.evidence(number)) is not None:
                outcome.evidence[number] = evidence
        if resolution.status is Status.NOT_FOUND:
            outcome.status = Status.INVALID
            outcome.reasons.insert(0, f"tex.{fields.pith} names a pith number that no "
                                      "source has")
    elif resolution.status is Status.NOT_FOUND:
        outcome.not_found[key] = Status.NOT_FOUND.value
    elif resolution.status is Status.UNAVAILABLE and locks.old is not None and \
            key in locks.old.not_found:
        outcome.not_found[key] = locks.old.not_found[key]
    return outcome


def _supported(resolution: Resolution, existing: str | None, existing_status: str | None,
               query: Query, locks: LockContext) -> Resolution:
    """Never downgrade a status the committed lock's evidence still proves (as annotate)."""
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


def decide_item(item: ZoteroItem, query: Query | None, problem: str | None,
                resolution: Resolution | None, *, fields: FieldNames, locks: LockContext,
                policy: Policy) -> ItemOutcome:
    """Pure: one item's status, number and lock entries (annotate's ``decide``)."""
    ids = item.identifiers
    outcome = ItemOutcome(item.key, item.title,
                          identifier=str(query) if query else (ids.arxiv or ids.doi))
    existing = item.pith
    if query is None:
        return _no_query(outcome, item, problem)
    assert resolution is not None
    if not resolution.ok:
        resolution = locks.resolve(query, resolution) or resolution
    outcome.source = resolution.source
    if not resolution.ok:
        return _failed(outcome, resolution, existing, query, locks, fields)
    report = resolution.report
    assert report is not None and resolution.pith_number is not None
    outcome.pith_number = resolution.pith_number
    blocking, warnings = judge_all(policy, claims_of(item, query), report)
    outcome.warnings.extend(w.message for w in warnings)
    if blocking is not None:
        outcome.status = status_for(blocking)
        outcome.reasons.append(blocking.message)
        outcome.pith_number = existing
        if outcome.status is not Status.PITH_MISMATCH:
            outcome.refused[query.not_found_key] = f"{outcome.status.value}: {blocking.message}"
        return outcome
    resolution = _supported(resolution, existing, item.status, query, locks)
    assert resolution.pith_number is not None
    outcome.status = resolution.status
    outcome.source = resolution.source
    outcome.pith_number = resolution.pith_number
    outcome.reasons.extend(n for n in resolution.notes if n not in outcome.warnings)
    outcome.evidence[resolution.pith_number] = resolution.lock_evidence()
    return outcome


class ItemJudge:
    """The sync engine's judge: resolve everything once, then decide item by item."""

    def __init__(self, resolver: Resolver, policy: Policy, fields: FieldNames,
                 locks: LockContext, progress: Progress | None = None) -> None:
        self.resolver = resolver
        self.policy = policy
        self.fields = fields
        self.locks = locks
        self.progress = progress
        self.outcomes: dict[str, ItemOutcome] = {}
        self._resolutions: dict[tuple[str, str, int | None], Resolution] = {}

    def prepare(self, items: list[ZoteroItem]) -> None:
        """Resolve every item's query in one batch (cache hits first, then the network)."""
        queries = [q for q, _ in (item_query(item, self.fields) for item in items)
                   if q is not None]
        results = self.resolver.resolve_many(queries, self.locks.aliases, self.progress)
        for query, resolution in zip(queries, results, strict=True):
            self._resolutions[query.key] = resolution

    def __call__(self, item: ZoteroItem) -> Judgement:
        query, problem = item_query(item, self.fields)
        resolution = None
        if query is not None:
            resolution = self._resolutions.get(query.key)
            if resolution is None:  # re-read after a 412 with new identifiers
                resolution = self.resolver.resolve(query, self.locks.aliases)
                self._resolutions[query.key] = resolution
        outcome = decide_item(item, query, problem, resolution, fields=self.fields,
                              locks=self.locks, policy=self.policy)
        self.outcomes[item.key] = outcome
        return outcome.judgement()


def build_lock(outcomes: Iterable[ItemOutcome]) -> LockFile:
    """The lock for what Zotero now holds: every item's evidence and lookups."""
    lock = LockFile()
    for outcome in outcomes:
        lock.papers.update(outcome.evidence)
        lock.refused.update(outcome.refused)
        lock.not_found.update(outcome.not_found)
    return lock
