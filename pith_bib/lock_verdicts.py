"""The verdicts of a whole lock file, remembered by the hash of its bytes.

Why: a warm run vouched for a lock line by line, one cached verdict per paper
(read from the cache, the line hashed, the binding checked, the report
parsed): for a lock of 2,400 papers that was a fifth of a warm ``check``. A
lock rarely changes between runs, and then in a few lines, so once annotate
has written one, the verdicts of its lines are stored once more as a single
row keyed by the sha256 of the lock's bytes. The next run that reads exactly
those bytes reads that one row; a line it does not cover (a lock edited by
hand or by a pull request) is vouched for on its own, as before, or verified.

The trust is exactly that of the per-paper verdicts the row is copied from:
it is made only from them, it is bound with the same key under its own label
(so no per-paper binding can stand in for it, nor it for one), every report
must still carry today's fields and only pinned keys, and the lock's bytes are
hashed again on every read, so the row can only speak for those bytes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from .cache import Cache, Verdict, held_by_id, parse_stored_json, reusable_report
from .canonical import canonical_text
from .lock import EncodedEvidence, LockFile, number_json
from .trust import TrustRoot
from .verdict_key import bind, bound

_HEX = re.compile(r"[0-9a-f]{64}")
LABEL = "lock-verdicts:"  # prefixed to the digest in the binding: never a hex evidence hash
MAX_TEXT_CHARS = 64 * 1024 * 1024  # ~600 characters a paper; the lock's own bound is 64 MiB


def vouch_lock(cache: Cache, lines: Mapping[str, str], digest: str, trust: TrustRoot, *,
               read_only: bool) -> tuple[dict[str, Verdict], bool]:
    """(pith number → verdict for each line a verdict vouches for, whether the row is up to date).

    ``lines``: the lock's paper lines (number → evidence text), cut from the
    bytes whose sha256 is ``digest``. The row is up to date when it vouched
    and no line-by-line verdict adds to it. ``read_only`` (``check``) never
    creates, heals or repairs the cache. Raises
    :class:`~pith_bib.errors.CacheError` only when not read-only, as every
    other cache read does.

    For annotate (not read-only), a remembered verdict counts only while its
    document is still the cache's current one for that paper: a newer document
    must answer instead, as it does for a lock the cache has no row for. For
    ``check`` the old evidence, verified, is as good as ever.
    """
    found = _remembered(cache, lines, digest, trust, read_only)
    if found and not read_only:
        current = cache.record_shas(number.rsplit(":", 1)[-1] for number in found)
        found = {number: verdict for number, verdict in found.items()
                 if current.get(number.rsplit(":", 1)[-1]) == verdict.sha256}
    added = _line_by_line(cache, {number: text for number, text in lines.items()
                                  if number not in found}, trust, read_only)
    up_to_date = bool(found) and not added
    found.update(added)
    return found, up_to_date


def remember_lock(cache: Cache, lock: LockFile, vouched: Mapping[str, Verdict],
                  trust: TrustRoot) -> None:
    """After ``lock.save``: store the verdicts of the lock as written, as one row.

    ``vouched`` (number → verdict) is what the run already holds, the old
    lock's verdicts; a verdict counts for a line only if its evidence is that
    line, byte for byte. The other lines are vouched for by the cache's
    per-paper verdicts, or left out (a line kept from the old lock that
    nothing vouches for is verified by whoever reads it).
    """
    digest = lock.saved_digest
    if digest is None:
        return
    lines = {number: evidence if isinstance(evidence, EncodedEvidence)
             else canonical_text(evidence) for number, evidence in lock.papers.items()}
    verdicts = _vouching({n.rsplit(":", 1)[-1]: v for n, v in vouched.items()}, lines)
    verdicts.update(_line_by_line(cache, {number: text for number, text in lines.items()
                                          if number not in verdicts}, trust, read_only=False))
    _store(cache, digest, verdicts)


def _line_by_line(cache: Cache, lines: Mapping[str, str], trust: TrustRoot, read_only: bool
                  ) -> dict[str, Verdict]:
    """The cache's per-paper verdicts for ``lines``, those bound to the very line text."""
    if not lines:
        return {}
    held = held_by_id(lines)
    rows = cache.read_only_verdicts(held, trust, held=held) if read_only \
        else cache.verdicts(held, trust, held=held)
    return _vouching(rows, lines)


def _store(cache: Cache, digest: str, verdicts: Mapping[str, Verdict]) -> None:
    """One row: a JSON list of [number, document sha256, report] items, bound."""
    if not verdicts:
        return
    text = "[" + ",".join(_item_text(number, verdicts[number]) for number in sorted(verdicts)) \
        + "]"
    binding = bind(LABEL + digest, text)
    if binding and len(text) <= MAX_TEXT_CHARS:
        cache.put_lock_verdicts(digest, text, binding)


def _item_text(number: str, verdict: Verdict) -> str:
    """An item as JSON; the report as its row stored it when at hand (already JSON).

    A hex hash needs no escaping, nor does a well-formed number: written as they are.
    """
    report, sha = verdict.report_text, verdict.sha256
    if report is None or not _HEX.fullmatch(sha):
        return canonical_text([number, sha, verdict.report.to_dict()])
    return f'[{number_json(number)},"{sha}",{report}]'


def _remembered(cache: Cache, lines: Mapping[str, str], digest: str, trust: TrustRoot,
                read_only: bool) -> dict[str, Verdict]:
    row = cache.lock_verdict_row(digest, MAX_TEXT_CHARS, read_only=read_only)
    if row is None:
        return {}
    text, binding = row
    if not bound(binding, LABEL + digest, text):
        return {}
    items = parse_stored_json(text)
    if not isinstance(items, list):
        return {}
    found: dict[str, Verdict] = {}
    for item in items:
        verdict = _item_verdict(item, lines, trust)
        if verdict is not None:
            found[item[0]] = verdict  # the line's number, which the report names
    return found


def _item_verdict(item: object, lines: Mapping[str, str], trust: TrustRoot) -> Verdict | None:
    """One remembered line's verdict, if well formed, for a line of this lock, still trusted."""
    if not isinstance(item, list) or len(item) != 3:
        return None
    number, sha, saved = item
    line = lines.get(number) if isinstance(number, str) else None
    if line is None or not isinstance(sha, str):
        return None
    report = reusable_report(saved, trust)
    if report is None or report.pith_number != number:
        return None
    return Verdict(sha, report, line if isinstance(line, EncodedEvidence)
                   else EncodedEvidence(line))


def _vouching(verdicts: Mapping[str, Verdict], lines: Mapping[str, str]
              ) -> dict[str, Verdict]:
    """pith number → verdict, for the lines these per-paper verdicts answer byte for byte."""
    out: dict[str, Verdict] = {}
    for number, text in lines.items():
        verdict = verdicts.get(number.rsplit(":", 1)[-1])
        if verdict is not None and verdict.evidence == text and \
                verdict.report.pith_number == number:
            out[number] = verdict
    return out
