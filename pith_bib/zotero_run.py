"""The work behind ``pith-bib zotero``: client, judge, sync, lock, report.

Kept apart from :mod:`pith_bib.zotero_command` (the parser) so that building
the main parser never imports ``requests``. The API key is read here from the
environment, handed to :class:`~pith_bib.zotero_api.ZoteroClient` (which keeps
it in a private attribute and never puts it in a message) and nowhere else:
not in the report, the incremental state, the lock or an error line.

Exit codes are ``annotate``'s: 0 ok, 1 findings (or a server that could not be
reached: nothing was written), 2 usage or input errors (a wrong API key).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .annotate import LockContext
from .cli import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Progress
from .errors import (
    PithBibError,
    UsageError,
    ZoteroAuthError,
    ZoteroConnectionError,
    ZoteroRateLimitError,
)
from .lock import load_lock
from .policy import Status
from .settings import Settings, load_settings
from .terminal import clean, json_text
from .zotero_api import Library, ZoteroClient
from .zotero_extra import ExtraNames
from .zotero_judge import ItemJudge, ItemOutcome, build_lock
from .zotero_sync import ItemReport, SyncResult, sync

# Write actions after which Zotero does not hold the number the judge found.
_NOT_IN_ZOTERO = frozenset({"failed", "conflict"})
# A server that is down or asks us to wait too long: nothing was written, try later.
_TRANSIENT_ERRORS = (ZoteroConnectionError, ZoteroRateLimitError)


@dataclass(frozen=True)
class Options:
    """What the run does besides Settings: write or not, what to show, the lock."""

    dry_run: bool = False
    diff: bool = False
    json: bool = False
    verbose: bool = False
    full: bool = False
    lock: Path | None = None

    @classmethod
    def of(cls, args: argparse.Namespace) -> Options:
        lock = Path(args.lock) if getattr(args, "lock", None) else None
        return cls(dry_run=bool(args.dry_run or args.diff or args.local_api), diff=args.diff,
                   json=args.json, verbose=getattr(args, "verbose", False),
                   full=bool(args.full or lock is not None), lock=lock)


@dataclass
class Record:
    """One item of the report: the judge's verdict and what became of the write."""

    outcome: ItemOutcome
    report: ItemReport

    @property
    def is_problem(self) -> bool:
        return self.outcome.is_problem or self.report.action == "failed"

    def to_dict(self, library: str) -> dict[str, Any]:
        o = self.outcome
        return {"library": library, "key": o.key, "title": self.report.title,
                "identifier": o.identifier, "pith_number": o.pith_number,
                "status": o.status.value, "action": self.report.action, "source": o.source,
                "reasons": o.reasons, "warnings": o.warnings}


@dataclass
class RunResult:
    library: str
    sync: SyncResult
    records: list[Record] = field(default_factory=list)
    lock_path: Path | None = None
    wrote_lock: bool = False
    warnings: list[str] = field(default_factory=list)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args, start=Path.cwd())
    for line in settings.trust_lines():
        print(f"pith-bib: {clean(line)}", file=sys.stderr)
    options = Options.of(args)
    if args.local_api and not (args.dry_run or args.diff):
        print("pith-bib: the local Zotero API is read-only: nothing will be written",
              file=sys.stderr)
    try:
        client = make_client(args, settings)
        result = execute(client, settings, options)
    except PithBibError as exc:
        print(f"pith-bib: error: {clean(str(exc))}", file=sys.stderr)
        if isinstance(exc, _TRANSIENT_ERRORS):
            return EXIT_FINDINGS
        return exc.exit_code if isinstance(exc, UsageError) else EXIT_USAGE
    print_result(result, options)
    return EXIT_FINDINGS if any(r.is_problem for r in result.records) else EXIT_OK


def make_client(args: argparse.Namespace, settings: Settings) -> ZoteroClient:
    """The client for the library named by the flags or the config; the key from the env."""
    local = bool(args.local_api)
    text = args.library or settings.zotero_library or ("users/0" if local else None)
    if not text:
        raise UsageError("name the Zotero library: --library users/<your user ID> (shown on "
                         "zotero.org/settings/keys) or groups/<ID>, or zotero_library in "
                         "the config")
    library = Library.parse(text, local=local)
    api_key = None
    if not local:
        env = settings.zotero_api_key_env
        api_key = (os.environ.get(env) or "").strip() or None
        if api_key is None:
            raise ZoteroAuthError(f"set the environment variable {env} to a Zotero API key "
                                  "with write access (create one at zotero.org/settings/keys)")
    return ZoteroClient(library, api_key, base_url=args.zotero_url or settings.zotero_base_url,
                        collection=args.collection, local=local)


def execute(client: ZoteroClient, settings: Settings, options: Options) -> RunResult:
    """Read, resolve in one batch, judge, write what changes; then the lock."""
    resolver = settings.resolver()
    old_lock = load_lock(options.lock) if options.lock is not None else None
    locks = LockContext.of(old_lock, resolver.trust)
    progress = Progress("resolving")
    judge = ItemJudge(resolver, settings.policy(), settings.fields, locks, progress)
    try:
        result = sync(client, judge, names=ExtraNames(settings.fields.pith,
                                                      settings.fields.status),
                      state_dir=settings.cache().root / "zotero", full=options.full,
                      dry_run=options.dry_run, prepare=judge.prepare)
    finally:
        progress.close()
    run = RunResult(str(client.library) + (f"/collections/{client.collection}"
                                           if client.collection else ""), result,
                    records=reconcile(result, judge), warnings=list(resolver.warnings))
    if options.lock is not None and not options.dry_run:
        run.lock_path = options.lock
        lock = build_lock(r.outcome for r in run.records if r.report.action not in _NOT_IN_ZOTERO)
        run.wrote_lock = lock.save(options.lock)
    return run


def reconcile(result: SyncResult, judge: ItemJudge) -> list[Record]:
    """Each item's verdict with its write outcome; an Extra that names another number wins."""
    records = []
    for report in result.reports:
        outcome = judge.outcomes[report.key]
        if report.action == "conflict":
            outcome.status = Status.CONFLICT
            outcome.reasons = [report.message]
            outcome.pith_number = report.pith_number
            outcome.evidence.clear()
        records.append(Record(outcome, report))
    return records


# -- report -------------------------------------------------------------------------------
def summary_line(run: RunResult) -> str:
    outcomes = [r.outcome for r in run.records]
    counted = Counter(o.status.value for o in outcomes if o.status is not Status.NO_IDENTIFIER)
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counted.items())) or "none"
    changed = sum(1 for r in run.records if r.report.changed
                  or r.report.action.startswith("would-"))
    since = f" changed since library version {run.sync.since}" \
        if run.sync.since is not None else ""
    verb = "would change" if run.sync.dry_run else "changed"
    return (f"{run.library}: {len(outcomes)} items{since}, {sum(counted.values())} with "
            f"identifiers ({parts}); {changed} items {verb}")


def item_lines(record: Record, verbose: bool) -> list[str]:
    """``KEY "Title": status: reason`` for problems (every item when verbose)."""
    outcome, report = record.outcome, record.report
    where = f'{outcome.key} "{report.title}"'
    lines = []
    if report.action == "failed":
        lines.append(f"{where}: not written: {report.message}")
    if outcome.is_problem:
        lines.append(f"{where}: {outcome.status.value}: " + "; ".join(outcome.reasons[:3]))
    elif verbose:
        detail = outcome.pith_number or "; ".join(outcome.reasons[:1]) or "-"
        lines.append(f"{where}: {outcome.status.value} {detail} ({report.action})")
    lines += [f"{where}: warning: {w}" for w in outcome.warnings]
    return [clean(line) for line in lines]


def written_line(run: RunResult) -> str:
    if run.sync.dry_run:
        return f"{run.library}: dry run, nothing written"
    done = []
    if run.sync.written:
        done.append(f"{run.sync.written} items in {run.library}")
    if run.wrote_lock and run.lock_path is not None:
        done.append(str(run.lock_path))
    return "wrote " + " and ".join(done) if done else f"{run.library}: already up to date"


def print_result(run: RunResult, options: Options) -> None:
    if options.json:
        print(json_text([r.to_dict(run.library) for r in run.records]))
    else:
        if options.diff:
            for record in run.records:
                if record.report.diff:
                    print(clean(record.report.diff, keep_newlines=True))
        print(clean(summary_line(run)))
        for record in run.records:
            for line in item_lines(record, options.verbose):
                print(line)
        print(clean(written_line(run)))
    for warning in run.warnings:
        print(f"pith-bib: warning: {clean(warning)}", file=sys.stderr)
