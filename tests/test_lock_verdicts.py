"""A lock's verdicts remembered as one row: used only for those very bytes, never trusted more.

annotate stores, after writing a lock, the verdicts of its lines keyed by the
sha256 of the lock's bytes; the next run reading the same bytes takes that one
row instead of one verdict per paper. These tests delete the per-paper
verdicts to see that the row alone vouches, then forge, move, relabel and
outdate it to see that it never vouches for anything else.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from pith_bib import TrustRoot, lock_verdicts
from pith_bib.cache import _TABLES, MAX_LOCK_VERDICT_ROWS, SCHEMA_VERSION, Cache
from pith_bib.lock import _canonical_lines, load_lock, lock_digest
from pith_bib.lock_verdicts import LABEL, _item_text, remember_lock, vouch_lock
from pith_bib.verdict_key import bind
from tests.cli_support import annotated_papers, run_cli, trust_args
from tests.support import fixed_key

PAPERS = 6
VERSION_2_TABLES = dict(_TABLES)  # what pith-bib 0.1's schema check compares, unchanged


@pytest.fixture
def annotated(tmp_path: Path) -> tuple[Path, Path, Cache]:
    bib, lock = annotated_papers(tmp_path, count=PAPERS)
    return bib, lock, Cache(tmp_path / "cache")


def _trust() -> TrustRoot:
    return TrustRoot.default().with_key(bytes(fixed_key(11).verify_key))


def _sql(cache: Cache, statement: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(cache.path) as conn:
        return conn.execute(statement, args).fetchall()


def _vouched(cache: Cache, lock_path: Path, trust: TrustRoot | None = None,
             *, read_only: bool = True) -> dict[str, object]:
    """What ``check`` would take on the cache's word for this lock: number → report."""
    trust = trust or _trust()

    def known(lines: dict[str, str], digest: str) -> dict[str, object]:
        found, _ = vouch_lock(cache, lines, digest, trust, read_only=read_only)
        return {number: verdict.report for number, verdict in found.items()}

    lock = load_lock(lock_path, known=known, defer=True)
    assert lock is not None
    return dict(lock.known)


def _forget_per_paper_verdicts(cache: Cache) -> None:
    _sql(cache, "DELETE FROM records")


def test_annotate_remembers_the_lock_it_wrote(annotated: tuple[Path, Path, Cache]) -> None:
    _, lock_path, cache = annotated
    rows = _sql(cache, "SELECT lock_sha256 FROM lock_verdicts")
    assert rows == [(lock_digest(lock_path.read_bytes()),)]
    _forget_per_paper_verdicts(cache)
    vouched = _vouched(cache, lock_path)
    assert len(vouched) == PAPERS  # from the one row alone
    assert all(report.ok for report in vouched.values())  # type: ignore[attr-defined]


def test_check_passes_on_the_row_alone(annotated: tuple[Path, Path, Cache]) -> None:
    bib, _, cache = annotated
    _forget_per_paper_verdicts(cache)
    checked = run_cli("check", *trust_args(), str(bib), cache=cache.root)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_changed_lock_is_not_covered_by_the_row(annotated: tuple[Path, Path, Cache]) -> None:
    bib, lock_path, cache = annotated
    lines = lock_path.read_text().split("\n")
    tampered = next(i for i, line in enumerate(lines) if "Paper number 2" in line)
    lines[tampered] = lines[tampered].replace("Paper number 2", "Paper number 9")
    lock_path.write_text("\n".join(lines))
    vouched = _vouched(cache, lock_path)
    assert len(vouched) == PAPERS - 1  # the others still vouched for, line by line
    _forget_per_paper_verdicts(cache)
    assert _vouched(cache, lock_path) == {}  # the row speaks only for the bytes it was made of
    checked = run_cli("check", *trust_args(), str(bib), cache=cache.root)
    assert checked.returncode == 1
    assert "does not verify" in checked.stdout


def test_a_row_bound_with_another_key_is_ignored(annotated: tuple[Path, Path, Cache]) -> None:
    _, lock_path, cache = annotated
    _forget_per_paper_verdicts(cache)
    _sql(cache, "UPDATE lock_verdicts SET binding = ?", "0" * 64)
    assert _vouched(cache, lock_path) == {}


def _same_lines_other_bytes(lock_path: Path) -> None:
    """Change the lock's header only: every paper line stays, the digest changes."""
    lines = lock_path.read_text().split("\n")
    assert lines[3].startswith('"not_found":')
    lines[3] = '"not_found":{"arxiv:0000.00000":"not-found"},'
    lock_path.write_text("\n".join(lines))


def test_a_row_moved_to_another_lock_is_ignored(annotated: tuple[Path, Path, Cache]) -> None:
    """A row filed under another lock's digest fails its binding, even for identical lines."""
    _, lock_path, cache = annotated
    _forget_per_paper_verdicts(cache)
    _same_lines_other_bytes(lock_path)
    assert _vouched(cache, lock_path) == {}
    _sql(cache, "UPDATE lock_verdicts SET lock_sha256 = ?", lock_digest(lock_path.read_bytes()))
    assert _vouched(cache, lock_path) == {}


def test_a_per_paper_binding_cannot_stand_in(tmp_path: Path) -> None:
    """The row's binding is labelled: a verdict's (evidence hash, report) pair never passes."""
    _, lock_path = annotated_papers(tmp_path, count=1)
    cache = Cache(tmp_path / "cache")
    text, evidence_sha, binding = _sql(
        cache, "SELECT report, evidence_sha256, verdict_sha256 FROM records")[0]
    assert binding == bind(str(evidence_sha), str(text))
    assert bind(LABEL + str(evidence_sha), str(text)) != binding
    _sql(cache, "UPDATE lock_verdicts SET verdicts = ?, binding = ?", f"[{text}]", binding)
    _forget_per_paper_verdicts(cache)
    assert _vouched(cache, lock_path) == {}


def test_a_key_no_longer_pinned_vouches_for_nothing(annotated: tuple[Path, Path, Cache]) -> None:
    _, lock_path, cache = annotated
    _forget_per_paper_verdicts(cache)
    assert _vouched(cache, lock_path, TrustRoot.default()) == {}


def test_an_item_for_another_number_is_ignored(annotated: tuple[Path, Path, Cache]) -> None:
    """Items are checked one by one: a report must name the line's own number."""
    _, lock_path, cache = annotated
    _forget_per_paper_verdicts(cache)
    ((text,),) = _sql(cache, "SELECT verdicts FROM lock_verdicts")
    items = json.loads(str(text))
    first, second = items[0][0], items[1][0]
    items[0][0], items[1][0] = second, first  # swap the numbers the reports are filed under
    forged = json.dumps(items)
    digest = lock_digest(lock_path.read_bytes())
    _sql(cache, "UPDATE lock_verdicts SET verdicts = ?, binding = ?", forged,
         bind(LABEL + digest, forged))  # even with a valid binding (a key holder's forgery)
    vouched = _vouched(cache, lock_path)
    assert first not in vouched and second not in vouched
    assert len(vouched) == PAPERS - 2


def _unverifiable_line_for_paper_3(lock_path: Path, cache: Cache) -> str:
    """Paper 3's lock line altered and its cached document gone: nothing can vouch for it."""
    lines = lock_path.read_text().split("\n")
    tampered = next(i for i, line in enumerate(lines) if "Paper number 3" in line)
    number = lines[tampered][1:37]
    lines[tampered] = lines[tampered].replace("Paper number 3", "Paper number 7")
    lock_path.write_text("\n".join(lines))
    _sql(cache, "DELETE FROM records WHERE pith_id = ?", number.rsplit(":", 1)[1])
    return number


def test_a_line_nothing_vouches_for_is_left_out(annotated: tuple[Path, Path, Cache]) -> None:
    """annotate keeps a line of the old lock it cannot check; the row must not vouch for it."""
    bib, lock_path, cache = annotated
    number = _unverifiable_line_for_paper_3(lock_path, cache)
    _sql(cache, "DELETE FROM lock_verdicts")
    done = run_cli("annotate", "--offline", *trust_args(), str(bib), cache=cache.root)
    assert "paper3: invalid" in done.stdout  # no source has it any more
    assert "Paper number 7" in lock_path.read_text()  # kept: annotate could not check it
    ((stored,),) = _sql(cache, "SELECT verdicts FROM lock_verdicts WHERE lock_sha256 = ?",
                        lock_digest(lock_path.read_bytes()))
    assert number not in str(stored) and len(json.loads(str(stored))) == PAPERS - 1
    _forget_per_paper_verdicts(cache)
    assert len(_vouched(cache, lock_path)) == PAPERS - 1


def test_only_the_newest_rows_are_kept(annotated: tuple[Path, Path, Cache]) -> None:
    _, _, cache = annotated
    for index in range(MAX_LOCK_VERDICT_ROWS + 4):
        cache.put_lock_verdicts(f"{index:064x}", "[]", "x")
    digests = {row[0] for row in _sql(cache, "SELECT lock_sha256 FROM lock_verdicts")}
    assert len(digests) == MAX_LOCK_VERDICT_ROWS
    assert f"{MAX_LOCK_VERDICT_ROWS + 3:064x}" in digests and f"{0:064x}" not in digests


def test_a_cache_without_the_table_gains_it_and_keeps_the_rest(
        annotated: tuple[Path, Path, Cache]) -> None:
    """A file an older pith-bib made (or shares): the table is added, nothing else changes."""
    bib, lock_path, cache = annotated
    _sql(cache, "DROP TABLE lock_verdicts")
    records = _sql(cache, "SELECT count(*) FROM records")[0][0]
    assert len(_vouched(cache, lock_path)) == PAPERS  # check reads such a file as it is
    assert "lock_verdicts" not in {r[0] for r in _sql(cache, "SELECT name FROM sqlite_master")}
    assert len(_vouched(cache, lock_path, read_only=False)) == PAPERS
    assert _sql(cache, "SELECT count(*) FROM records")[0][0] == records  # nothing lost
    assert _sql(cache, "PRAGMA user_version") == [(SCHEMA_VERSION,)] == [(2,)]
    run_cli("annotate", "--offline", *trust_args(), str(bib), cache=cache.root)
    assert _sql(cache, "SELECT lock_sha256 FROM lock_verdicts") == [
        (lock_digest(lock_path.read_bytes()),)]  # an unchanged lock is remembered once read


def test_an_older_pith_bib_still_takes_the_file_for_its_own(
        annotated: tuple[Path, Path, Cache]) -> None:
    """Version 2's own check: its version, and its tables exactly; other tables may exist."""
    _, _, cache = annotated
    tables = dict(_sql(cache, "SELECT name, sql FROM sqlite_master WHERE type = 'table'"))
    assert _sql(cache, "PRAGMA user_version") == [(2,)]
    assert all(tables[name] == sql for name, sql in VERSION_2_TABLES.items())
    assert set(tables) == {*VERSION_2_TABLES, "lock_verdicts"}


def test_another_versions_table_is_left_alone_and_unused(
        annotated: tuple[Path, Path, Cache]) -> None:
    """A lock_verdicts table with other columns (a later version's): not read, not written,
    and not taken for damage (the rest of the cache is kept)."""
    bib, lock_path, cache = annotated
    _sql(cache, "DROP TABLE lock_verdicts")
    _sql(cache, "CREATE TABLE lock_verdicts (x)")
    records = _sql(cache, "SELECT count(*) FROM records")[0][0]
    assert len(_vouched(cache, lock_path)) == PAPERS  # line by line, as without the table
    assert len(_vouched(cache, lock_path, read_only=False)) == PAPERS
    done = run_cli("annotate", "--offline", *trust_args(), str(bib), cache=cache.root)
    assert done.returncode == 0 and "warning" not in done.stderr, done.stderr
    assert _sql(cache, "SELECT count(*) FROM records")[0][0] == records
    assert _sql(cache, "SELECT * FROM lock_verdicts") == []


def test_a_verdict_for_other_evidence_of_the_same_paper_is_not_copied(
        annotated: tuple[Path, Path, Cache]) -> None:
    """A verdict held for a paper's old line does not vouch for a new line of the same paper."""
    _, lock_path, cache = annotated
    old = load_lock(lock_path)
    assert old is not None
    data = lock_path.read_bytes()
    lines = {number: text for number, text in _paper_lines(data)}
    held, _ = vouch_lock(cache, lines, lock_digest(data), _trust(), read_only=False)
    number = sorted(held)[0]
    old.papers[number]["record"]["title"] = "Another evidence of the same paper"
    old.save(lock_path)
    remember_lock(cache, old, held, _trust())
    ((stored,),) = _sql(cache, "SELECT verdicts FROM lock_verdicts WHERE lock_sha256 = ?",
                        old.saved_digest)
    assert [item[0] for item in json.loads(str(stored))] == sorted(held)[1:]


def _paper_lines(data: bytes) -> list[tuple[str, str]]:
    parsed = _canonical_lines(data)
    assert parsed is not None
    return parsed[1]


def test_an_item_copied_from_its_row_reads_as_one_encoded_again(
        annotated: tuple[Path, Path, Cache]) -> None:
    """The report text a verdict row holds goes in as is: the same JSON as its encoding."""
    _, lock_path, cache = annotated
    data = lock_path.read_bytes()
    lines = dict(_paper_lines(data))
    _sql(cache, "DELETE FROM lock_verdicts")
    held, _ = vouch_lock(cache, lines, lock_digest(data), _trust(), read_only=False)
    assert all(v.report_text for v in held.values())  # read from their rows
    for number, verdict in held.items():
        copied = json.loads(_item_text(number, verdict))
        encoded = json.loads(_item_text(number, replace(verdict, report_text=None)))
        assert copied == encoded == [number, verdict.sha256, verdict.report.to_dict()]


def test_a_row_longer_than_the_bound_is_never_read(annotated: tuple[Path, Path, Cache],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _, lock_path, cache = annotated
    _forget_per_paper_verdicts(cache)
    ((length,),) = _sql(cache, "SELECT length(verdicts) FROM lock_verdicts")
    monkeypatch.setattr(lock_verdicts, "MAX_TEXT_CHARS", int(str(length)) - 1)
    assert cache.lock_verdict_row(lock_digest(lock_path.read_bytes()),
                                  lock_verdicts.MAX_TEXT_CHARS, read_only=True) is None
    assert _vouched(cache, lock_path) == {}


def test_a_row_as_complete_as_it_can_be_is_not_written_again(
        annotated: tuple[Path, Path, Cache]) -> None:
    """A line nothing vouches for keeps the row partial: each later run must not rewrite it."""
    bib, lock_path, cache = annotated
    _unverifiable_line_for_paper_3(lock_path, cache)
    run_cli("annotate", "--offline", *trust_args(), str(bib), cache=cache.root)
    digest = lock_digest(lock_path.read_bytes())
    first = _sql(cache, "SELECT stored_at FROM lock_verdicts WHERE lock_sha256 = ?", digest)
    run_cli("annotate", "--offline", *trust_args(), str(bib), cache=cache.root)
    assert lock_digest(lock_path.read_bytes()) == digest
    assert _sql(cache, "SELECT stored_at FROM lock_verdicts WHERE lock_sha256 = ?",
                digest) == first != []
