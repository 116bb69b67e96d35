"""The sync engine end to end: client + fake Zotero + a fake judge."""

from __future__ import annotations

import json
import math
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pith_bib.canonical import pith_number, sha256_hex
from pith_bib.errors import ZoteroAuthError, ZoteroConnectionError
from pith_bib.zotero_api import ZoteroClient
from pith_bib.zotero_items import ZoteroItem
from pith_bib.zotero_sync import Judgement, sync
from tests.zotero_fake import API_KEY, LIBRARY, FakeZotero
from tests.zotero_fake import item_key as key

OTHER_PLUGIN = "ZSCC: 0000042\r\nCitation Key: smith2018deep\r\ntex.howpublished= online"


def number(n: int) -> str:
    return pith_number(sha256_hex(f"paper {n}".encode()), 2018)


def populate(fake: FakeZotero) -> dict[str, str]:
    """120 items of mixed kinds; returns identifier -> pith number for the judge."""
    table: dict[str, str] = {}
    for n in range(120):
        kind = n % 4
        if kind == 0:  # arXiv preprints
            arxiv = f"18{n % 12 + 1:02d}.{10000 + n}"
            data = {"itemType": "preprint", "archiveID": f"arXiv:{arxiv}"}
            table[arxiv] = number(n)
        elif kind == 1:  # journal articles with DOIs
            doi = f"10.1000/j.{n}"
            data = {"itemType": "journalArticle", "DOI": doi}
            table[doi] = number(n)
        elif kind == 2:  # books with nothing
            data = {"itemType": "book"}
        else:  # other plugins' lines in Extra, arXiv id in the URL
            arxiv = f"17{n % 12 + 1:02d}.{20000 + n}"
            data = {"itemType": "journalArticle", "extra": OTHER_PLUGIN,
                    "url": f"https://arxiv.org/abs/{arxiv}"}
            table[arxiv] = number(n)
        fake.add_item(key(n), {"title": f"Paper {n}", "creators": [], **data})
    return table


class Judge:
    """Answers from a dict, as a judge with everything cached would."""

    def __init__(self, table: dict[str, str]) -> None:
        self.table = table
        self.calls = 0

    def __call__(self, item: ZoteroItem) -> Judgement:
        self.calls += 1
        ids = item.identifiers
        for ident in (ids.arxiv_id, ids.doi):
            if ident in self.table:
                return Judgement("verified", self.table[ident], "cached")
        return Judgement("no-identifier", None, "nothing to look up")


@pytest.fixture
def fake() -> Iterator[FakeZotero]:
    with FakeZotero() as server:
        yield server


def client(fake: FakeZotero, api_key: str = API_KEY) -> ZoteroClient:
    return ZoteroClient(LIBRARY, api_key, base_url=fake.url, sleep=lambda s: None)


def writes(fake: FakeZotero) -> list[Any]:
    return [r for r in fake.requests() if r.method in ("POST", "PATCH", "PUT")]


def test_first_run_writes_the_right_extra_and_a_second_run_writes_nothing(
        fake: FakeZotero, tmp_path: Path) -> None:
    table = populate(fake)
    result = sync(client(fake), Judge(table), state_dir=tmp_path)
    changed = [r for r in result.reports if r.changed]
    assert len(changed) == 90 and result.written == 90
    assert len(writes(fake)) == math.ceil(90 / 50)
    for n in range(120):
        extra = fake.extra(key(n))
        if n % 4 == 2:
            assert extra == ""
        elif n % 4 == 3:
            assert extra == f"{OTHER_PLUGIN}\r\ntex.pith: {number(n)}\r\ntex.pith_status: verified"
        else:
            assert extra == f"tex.pith: {number(n)}\ntex.pith_status: verified"
    books = [r for r in result.reports if r.key == key(2)]
    assert books[0].status == "no-identifier" and books[0].action == "none"
    assert result.state_saved

    before = len(fake.requests())
    again = sync(client(fake), Judge(table), state_dir=tmp_path, full=True)
    assert writes(fake) == writes(fake)[:2]  # still only the first run's two POSTs
    assert again.written == 0 and not any(r.changed for r in again.reports)
    assert all(r.action in ("unchanged", "none") for r in again.reports)
    assert len(fake.requests()) - before == math.ceil(120 / 100)


def test_incremental_run_reads_only_changes_since_the_stored_version(
        fake: FakeZotero, tmp_path: Path) -> None:
    table = populate(fake)
    sync(client(fake), Judge(table), state_dir=tmp_path)
    state = json.loads(next(tmp_path.glob("zotero-*.json")).read_text())
    assert state["library_version"] == fake.version  # our own writes are not re-read
    before = len(fake.requests())
    judge = Judge(table)
    result = sync(client(fake), judge, state_dir=tmp_path)
    assert len(fake.requests()) - before == 1 and judge.calls == 0
    assert result.since == fake.version
    fake.user_edit(key(5), title="Retitled")
    result = sync(client(fake), judge, state_dir=tmp_path)
    assert [r.key for r in result.reports] == [key(5)] and result.written == 0


def test_a_concurrent_user_edit_is_kept_and_the_number_still_lands(
        fake: FakeZotero, tmp_path: Path) -> None:
    table = populate(fake)

    def user_types(server: FakeZotero, batch: list[dict[str, Any]]) -> None:
        server.user_edit(key(0), extra="Citation Key: mykey", title="My better title")

    fake.before_write = user_types
    result = sync(client(fake), Judge(table), state_dir=tmp_path)
    assert fake.extra(key(0)) == (f"Citation Key: mykey\ntex.pith: {number(0)}\n"
                                  "tex.pith_status: verified")
    assert fake.items[key(0)]["data"]["title"] == "My better title"
    report = next(r for r in result.reports if r.key == key(0))
    assert report.changed and report.title == "My better title"
    state = json.loads(next(tmp_path.glob("zotero-*.json")).read_text())
    assert state["library_version"] < fake.version  # someone else wrote: re-read next time


def test_failed_objects_are_reported_exactly_and_the_state_is_not_advanced(
        fake: FakeZotero, tmp_path: Path) -> None:
    table = populate(fake)
    fake.fail_objects[key(1)] = (400, "Invalid field")
    fake.fail_objects[key(7)] = (500, "Server error")
    result = sync(client(fake), Judge(table), state_dir=tmp_path)
    failed = {r.key for r in result.reports if r.action == "failed"}
    assert failed == {key(1), key(7)}
    assert fake.extra(key(1)) == "" and fake.extra(key(7)) == OTHER_PLUGIN
    assert result.written == 88 and not result.state_saved
    assert not list(tmp_path.glob("zotero-*.json"))
    retry = sync(client(fake), Judge(table), state_dir=tmp_path)
    assert {r.key for r in retry.reports if r.changed} == {key(1), key(7)}


def test_dry_run_sends_no_write_and_shows_a_diff(fake: FakeZotero, tmp_path: Path) -> None:
    table = populate(fake)
    result = sync(client(fake), Judge(table), state_dir=tmp_path, dry_run=True)
    assert writes(fake) == []
    assert all(r.method == "GET" for r in fake.requests())
    report = next(r for r in result.reports if r.key == key(3))
    assert report.action == "would-add"
    assert f"+tex.pith: {number(3)}" in report.diff
    assert " ZSCC: 0000042" in report.diff and "\r" not in report.diff
    assert not result.state_saved and fake.extra(key(0)) == ""


def test_an_existing_wrong_number_is_reported_and_kept(fake: FakeZotero) -> None:
    fake.add_item(key(0), {"itemType": "preprint", "archiveID": "arXiv:1802.04924",
                           "extra": f"tex.pith: {number(99)}"})
    result = sync(client(fake), Judge({"1802.04924": number(0)}))
    assert result.reports[0].action == "conflict" and not result.reports[0].changed
    assert number(99) in result.reports[0].message
    assert fake.extra(key(0)) == f"tex.pith: {number(99)}" and writes(fake) == []


def test_no_number_from_the_judge_never_removes_ours(fake: FakeZotero) -> None:
    ours = f"tex.pith: {number(0)}\ntex.pith_status: verified"
    fake.add_item(key(0), {"itemType": "preprint", "archiveID": "arXiv:1802.04924",
                           "extra": ours})
    result = sync(client(fake), lambda item: Judgement("unavailable", None, "offline",
                                                       transient=True))
    assert result.reports[0].action == "kept" and fake.extra(key(0)) == ours
    assert writes(fake) == []


def test_wrong_key_is_one_clear_error_and_nothing_is_written(fake: FakeZotero,
                                                             tmp_path: Path) -> None:
    table = populate(fake)
    with pytest.raises(ZoteroAuthError) as info:
        sync(client(fake, "WrongKey0123456789abcdef"), Judge(table), state_dir=tmp_path)
    assert len(str(info.value).splitlines()) == 1
    assert writes(fake) == [] and not list(tmp_path.iterdir())


def test_unreachable_server_is_a_typed_error_and_nothing_is_written(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    c = ZoteroClient(LIBRARY, API_KEY, base_url=f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(ZoteroConnectionError):
        sync(c, Judge({}), state_dir=tmp_path)
    assert not list(tmp_path.iterdir())
