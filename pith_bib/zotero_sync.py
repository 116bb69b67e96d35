"""Put verified pith numbers into a Zotero library's Extra fields, and nothing else.

The engine reads items (only those changed since the last run, unless told
``full``), asks a ``judge`` what each item's number and status are, computes the
Extra edit for each, and writes only the items whose Extra really changes —
so a second run writes nothing, and Zotero clients see no churn. A dry run
sends no write request at all and shows a unified diff of each Extra instead.

The judge is the caller's (the resolver and policy behind it); statuses are
passed through as plain strings. An item whose judge has no number is
reported, never edited: a failure does not remove or downgrade what is there.

The last library version seen is kept in a small JSON file in a directory the
caller gives (the user cache) and only advanced when the run left nothing to
retry, so an incremental run never skips an item that still needs work.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .atomic import write_atomic
from .errors import JsonFormatError, PithBibError
from .strict_json import load_json
from .zotero_api import ReadResult, WriteOutcome, ZoteroClient
from .zotero_extra import ExtraEdit, ExtraNames, set_pith, set_status, split_lines, visible
from .zotero_items import ZoteroItem, from_json

STATE_FORMAT = 1
_WOULD = {"added": "would-add", "updated": "would-update"}


@dataclass(frozen=True)
class Judgement:
    """The judge's answer for one item: the status to write and the number, if any."""

    status: str
    pith_number: str | None = None
    message: str = ""
    transient: bool = False  # could not decide now (offline...): look again next run
    restate: bool = False  # refused: the item's status lines are to say ``status`` (no number)


Judge = Callable[[ZoteroItem], Judgement]
Prepare = Callable[[list[ZoteroItem]], None]


@dataclass
class ItemReport:
    """One line of the run's report, per item."""

    key: str
    title: str
    status: str
    message: str
    changed: bool = False
    # added, updated, unchanged, conflict, kept, failed, none; would-add/would-update (dry run)
    action: str = "none"
    pith_number: str | None = None
    diff: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SyncResult:
    reports: list[ItemReport] = field(default_factory=list)
    since: int | None = None
    library_version: int | None = None
    written: int = 0
    requests: int = 0
    state_saved: bool = False
    dry_run: bool = False


@dataclass
class _Plan:
    item: ZoteroItem
    judgement: Judgement
    report: ItemReport
    new_extra: str | None = None


def extra_diff(key: str, old: str, new: str) -> str:
    """A unified diff of one item's Extra, control characters made visible."""
    before = [visible(line.text, 10_000) for line in split_lines(old)]
    after = [visible(line.text, 10_000) for line in split_lines(new)]
    return "\n".join(difflib.unified_diff(before, after, f"{key} Extra (Zotero)",
                                          f"{key} Extra (pith-bib)", lineterm=""))


def plan_item(item: ZoteroItem, judgement: Judgement, names: ExtraNames) -> _Plan:
    """Decide one item's edit from the judge's answer; nothing is sent here."""
    report = ItemReport(key=item.key, title=visible(item.title, 200), status=judgement.status,
                        message=visible(judgement.message, 500),
                        pith_number=judgement.pith_number or item.pith)
    plan = _Plan(item, judgement, report)
    if judgement.pith_number is None and not judgement.restate:
        report.action = "kept" if item.pith else "none"
        return plan
    try:
        edit = set_pith(item.extra, judgement.pith_number, judgement.status, names) \
            if judgement.pith_number is not None else \
            set_status(item.extra, judgement.status, names)
    except PithBibError as exc:
        edit = ExtraEdit(item.extra, changed=False, conflict=str(exc))
    if edit.conflict:
        report.action = "conflict"
        report.pith_number = item.pith
        report.message = visible(edit.conflict, 500)
        return plan
    if not edit.changed:
        report.action = "unchanged"
        return plan
    plan.new_extra = edit.extra
    report.changed = True
    report.action = "updated" if (item.extra_fields.pith or item.extra_fields.status) \
        else "added"
    report.diff = extra_diff(item.key, item.extra, edit.extra)
    return plan


class SyncState:
    """The last library version a complete run saw, per library, in the user cache."""

    def __init__(self, directory: Path, client: ZoteroClient) -> None:
        ident = f"{client.base_url}\n{client.library}\n{client.collection or ''}"
        digest = hashlib.sha256(ident.encode()).hexdigest()[:16]
        self.path = Path(directory) / f"zotero-{digest}.json"
        self.ident = {"base_url": client.base_url, "library": str(client.library),
                      "collection": client.collection}

    def load(self) -> int | None:
        """The stored version, or None when absent, foreign or damaged (a full read then)."""
        try:
            data = load_json(self.path.read_bytes()[:65536], max_bytes=65536,
                             what="Zotero sync state")
        except (OSError, JsonFormatError):
            return None
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT \
                or any(data.get(k) != v for k, v in self.ident.items()):
            return None
        version = data.get("library_version")
        return version if isinstance(version, int) and version >= 0 else None

    def save(self, version: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"format": STATE_FORMAT, **self.ident, "library_version": version}
        write_atomic(self.path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())


def _version_after(read: ReadResult, outcome: WriteOutcome | None) -> int | None:
    """The library version that holds everything we have seen, our own writes included.

    Each write request that lands raises the library version by one. When our
    writes account for every step since the read, nobody else changed the
    library meanwhile and their version can be stored; otherwise only the read's
    version is safe (the next run re-reads a little more, and skips nothing).
    """
    base = read.library_version
    if base is None or outcome is None or not outcome.library_versions:
        return base
    steps = sorted(outcome.library_versions)
    if steps == list(range(base + 1, base + 1 + len(steps))):
        return steps[-1]
    return base


def sync(client: ZoteroClient, judge: Judge, *, names: ExtraNames | None = None,
         state_dir: Path | None = None, full: bool = False, dry_run: bool = False,
         prepare: Prepare | None = None) -> SyncResult:
    """One run over the library: read, judge, write what changes, report every item.

    ``prepare(items)`` sees every item read before the first is judged, so a
    judge can resolve all their identifiers in one parallel batch.
    """
    names = names or ExtraNames()
    state = SyncState(state_dir, client) if state_dir is not None else None
    since = None if full or state is None else state.load()
    start_requests = client.requests_made
    read = client.read_items(since)
    result = SyncResult(since=since, library_version=read.library_version, dry_run=dry_run)
    items = [from_json(obj, names) for obj in read.items]
    if prepare is not None:
        prepare(items)
    plans = [plan_item(item, judge(item), names) for item in items]
    by_key = {plan.item.key: plan for plan in plans}
    result.reports = [plan.report for plan in plans]
    changing = [plan for plan in plans if plan.new_extra is not None]
    if dry_run:
        for plan in changing:
            plan.report.action = _WOULD[plan.report.action]
        result.requests = client.requests_made - start_requests
        return result
    outcome: WriteOutcome | None = None
    if changing:
        patches = [{"key": p.item.key, "version": p.item.version, "extra": p.new_extra}
                   for p in changing]
        outcome = client.write_items(patches, lambda fresh: _replan(fresh, by_key, judge, names))
        _record(outcome, by_key)
        result.written = len(outcome.written)
    result.requests = client.requests_made - start_requests
    retry_later = (not read.consistent or any(p.judgement.transient for p in plans)
                   or (outcome is not None and bool(outcome.failed)))
    version = _version_after(read, outcome)
    if state is not None and version is not None and not retry_later:
        with contextlib.suppress(PithBibError, OSError):  # the state only saves requests
            state.save(version)
            result.state_saved = True
    return result


def _replan(fresh: dict[str, Any], by_key: dict[str, _Plan], judge: Judge,
            names: ExtraNames) -> dict[str, Any] | None:
    """After a 412: judge the item as it is now and redo the edit on its new Extra."""
    item = from_json(fresh, names)
    plan = plan_item(item, judge(item), names)
    old = by_key[item.key]
    for name in (f.name for f in fields(ItemReport)):  # the report list holds this object
        setattr(old.report, name, getattr(plan.report, name))
    old.item, old.judgement, old.new_extra = plan.item, plan.judgement, plan.new_extra
    return None if plan.new_extra is None else {"extra": plan.new_extra}


def _record(outcome: WriteOutcome, by_key: dict[str, _Plan]) -> None:
    for key, plan in by_key.items():
        report = plan.report
        if key in outcome.failed:
            report.action = "failed"
            report.changed = False
            report.message = visible(outcome.failed[key], 500)
        elif key in outcome.unchanged:
            report.action = "unchanged"
            report.changed = False
