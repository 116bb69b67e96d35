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

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .annotate import LockContext, decide
from .authors import PersonName
from .entry_query import FieldNames, query_for
from .ids import Identifiers
from .lock import LockFile
from .policy import Claims, Policy, Query, Status
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
    restate: bool = False  # refused while its status said verified: the status is rewritten

    @property
    def is_problem(self) -> bool:
        return self.status.is_problem

    def judgement(self) -> Judgement:
        """What the sync engine writes: a number only when one may be written."""
        if self.status.is_ok and self.pith_number is not None:
            return Judgement(self.status.value, self.pith_number, "; ".join(self.reasons))
        return Judgement(self.status.value, None, "; ".join(self.reasons),
                         transient=self.status is Status.UNAVAILABLE, restate=self.restate)


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


@dataclass(frozen=True)
class ItemEntry:
    """A Zotero item seen as a document entry, so annotate's ``decide`` judges it."""

    item: ZoteroItem
    fields: FieldNames

    @property
    def key(self) -> str:
        return self.item.key

    @property
    def line(self) -> int:
        return 0

    @property
    def source(self) -> ItemSource:
        return ItemSource(self.item, self.fields)

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.source.get(name, default)

    @property
    def title(self) -> str | None:
        return self.item.title or None

    @property
    def authors(self) -> tuple[PersonName, ...]:
        return tuple(PersonName(family, given) for family, given in self.item.authors)

    def claims(self, ids: Identifiers, query: Query | None) -> Claims:
        return claims_of(self.item, query)


def decide_item(item: ZoteroItem, query: Query | None, problem: str | None,
                resolution: Resolution | None, *, fields: FieldNames, locks: LockContext,
                policy: Policy) -> ItemOutcome:
    """Pure: one item's status, number and lock entries, by annotate's own ``decide``."""
    decision = decide(ItemEntry(item, fields), item.identifiers, query, problem, resolution,
                      path="zotero", fields=fields, locks=locks, policy=policy)
    found = decision.outcome
    outcome = ItemOutcome(item.key, item.title, identifier=found.identifier,
                          status=found.status, pith_number=found.pith_number,
                          source=found.source, reasons=found.reasons, warnings=found.warnings,
                          evidence=decision.evidence, refused=decision.refused,
                          not_found=decision.not_found)
    if query is None and problem and len({v for v in item.extra_fields.pith if v}) > 1:
        outcome.status = Status.CONFLICT  # two different tex.pith lines in one item
    if not found.status.is_ok:
        outcome.pith_number = item.pith  # a refused or failed item keeps what it has
        outcome.restate = fields.status in decision.writes  # annotate's rule, not a copy
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
