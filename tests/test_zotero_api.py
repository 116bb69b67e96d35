"""The Web API client against a real loopback fake of Zotero."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from pith_bib.errors import (
    UsageError,
    ZoteroAuthError,
    ZoteroConnectionError,
    ZoteroError,
    ZoteroRateLimitError,
)
from pith_bib.zotero_api import Library, ZoteroClient
from tests.zotero_fake import API_KEY, LIBRARY, Canned, FakeZotero
from tests.zotero_fake import item_key as key


@pytest.fixture
def fake() -> Iterator[FakeZotero]:
    with FakeZotero() as server:
        yield server


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(fake: FakeZotero, api_key: str = API_KEY, **kwargs: Any) -> ZoteroClient:
    kwargs.setdefault("sleep", Sleeps())
    return ZoteroClient(LIBRARY, api_key, base_url=fake.url, **kwargs)


def fill(fake: FakeZotero, count: int, **extra: Any) -> None:
    for n in range(count):
        fake.add_item(key(n), {"itemType": "journalArticle", "title": f"Paper {n}", **extra})


def test_reads_every_page_and_the_library_version(fake: FakeZotero) -> None:
    fill(fake, 250)
    fake.add_item(key(900), {"itemType": "note", "note": "a standalone note"})
    fake.add_item(key(901), {"itemType": "attachment", "title": "a.pdf"})
    result = client(fake).read_items()
    assert [o["key"] for o in result.items] == [key(n) for n in range(250)]
    assert result.skipped == 2 and result.total == 252
    assert result.library_version == fake.version
    gets = fake.requests("GET")
    assert len(gets) == 3  # ceil(252 / 100)
    assert all(r.query["limit"] == ["100"] and r.query["format"] == ["json"] for r in gets)


def test_a_library_beyond_the_bound_is_refused_not_read_forever(fake: FakeZotero) -> None:
    fill(fake, 120)
    with pytest.raises(ZoteroError):
        client(fake, max_items=50).read_items()
    assert len(fake.requests("GET")) == 1


def test_since_reads_only_what_changed(fake: FakeZotero) -> None:
    fill(fake, 30)
    seen = client(fake).read_items().library_version
    fake.user_edit(key(3), title="new title")
    result = client(fake).read_items(since=seen)
    assert [o["key"] for o in result.items] == [key(3)]
    assert fake.requests("GET")[-1].query["since"] == [str(seen)]


def test_collection_reads_only_that_collection(fake: FakeZotero) -> None:
    fill(fake, 5)
    fake.user_edit(key(1), collections=["CXLL2345"])
    result = client(fake, collection="CXLL2345").read_items()
    assert [o["key"] for o in result.items] == [key(1)]
    assert fake.requests("GET")[-1].path == f"/{LIBRARY}/collections/CXLL2345/items/top"


def test_wrong_or_missing_key_is_one_clear_error_without_the_key(fake: FakeZotero) -> None:
    fill(fake, 3)
    with pytest.raises(ZoteroAuthError) as info:
        client(fake, api_key="WrongKey0123456789abcdef").read_items()
    message = str(info.value)
    assert "403" in message and "\n" not in message
    assert "WrongKey" not in message and API_KEY not in message
    with pytest.raises(ZoteroAuthError):
        ZoteroClient(LIBRARY, None, base_url=fake.url)


def test_the_key_never_shows_in_repr_or_errors(fake: FakeZotero) -> None:
    c = client(fake)
    assert API_KEY not in repr(c) and API_KEY not in str(c)
    with pytest.raises(ZoteroAuthError) as info:
        ZoteroClient(LIBRARY, "bad key with spaces", base_url=fake.url)
    assert "bad key" not in str(info.value)


def test_unreachable_server_is_a_typed_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    c = ZoteroClient(LIBRARY, API_KEY, base_url=f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(ZoteroConnectionError) as info:
        c.read_items()
    assert API_KEY not in str(info.value)


def test_retry_after_on_429_is_honoured(fake: FakeZotero) -> None:
    fill(fake, 2)
    fake.canned.append(Canned(429, {"Retry-After": "7"}))
    sleeps = Sleeps()
    result = client(fake, sleep=sleeps).read_items()
    assert len(result.items) == 2
    assert sleeps == [7.0]
    assert [r.status for r in fake.requests()] == [429, 200]


def test_retry_after_beyond_the_cap_stops_with_an_error(fake: FakeZotero) -> None:
    fake.canned.append(Canned(503, {"Retry-After": "3600"}))
    sleeps = Sleeps()
    with pytest.raises(ZoteroRateLimitError):
        client(fake, sleep=sleeps, max_wait=60).read_items()
    assert sleeps == []
    assert len(fake.requests()) == 1


def test_backoff_on_a_200_delays_the_next_request(fake: FakeZotero) -> None:
    fill(fake, 150)
    fake.canned.append(Canned(200, {"Backoff": "5"}))
    sleeps = Sleeps()
    client(fake, sleep=sleeps).read_items()
    assert len(sleeps) == 1 and 4.0 < sleeps[0] <= 5.0


def test_writes_go_in_batches_of_50_with_key_and_version(fake: FakeZotero) -> None:
    fill(fake, 120)
    c = client(fake)
    items = c.read_items().items
    patches = [{"key": o["key"], "version": o["version"], "extra": f"x{n}"}
               for n, o in enumerate(items)]
    outcome = c.write_items(patches, refresh=lambda fresh: pytest.fail("no 412 expected"))
    posts = fake.requests("POST")
    assert [p.count for p in posts] == [50, 50, 20]
    assert len(outcome.written) == 120 and not outcome.failed
    assert fake.extra(key(119)) == "x119"
    assert outcome.library_versions == sorted(outcome.library_versions)


def test_unchanged_and_failed_objects_are_reported_per_item(fake: FakeZotero) -> None:
    fill(fake, 6)
    c = client(fake)
    items = c.read_items().items
    fake.fail_objects[key(2)] = (400, "Invalid value for field 'extra'")
    fake.fail_objects[key(4)] = (500, "An error occurred\x1b[2J")
    patches = [{"key": o["key"], "version": o["version"],
                "extra": "" if o["key"] == key(0) else "new"} for o in items]
    outcome = c.write_items(patches, refresh=lambda fresh: None)
    assert set(outcome.failed) == {key(2), key(4)}
    assert outcome.unchanged == {key(0)}
    assert set(outcome.written) == {key(1), key(3), key(5)}
    assert "\x1b" not in outcome.failed[key(4)]
    assert fake.extra(key(2)) == "" and fake.extra(key(3)) == "new"


def test_412_rereads_and_reapplies_without_overwriting_the_user(fake: FakeZotero) -> None:
    fill(fake, 3)
    c = client(fake)
    items = c.read_items().items

    def user_edits(server: FakeZotero, batch: list[dict[str, Any]]) -> None:
        server.user_edit(key(1), extra="Citation Key: mine", title="User's title")

    fake.before_write = user_edits
    calls: list[str] = []

    def refresh(fresh: dict[str, Any]) -> dict[str, Any] | None:
        calls.append(fresh["data"]["extra"])
        return {"extra": fresh["data"]["extra"] + "\nours"}

    patches = [{"key": o["key"], "version": o["version"], "extra": "ours"} for o in items]
    outcome = c.write_items(patches, refresh)
    assert calls == ["Citation Key: mine"]
    assert fake.extra(key(1)) == "Citation Key: mine\nours"
    assert fake.items[key(1)]["data"]["title"] == "User's title"
    assert set(outcome.written) == {key(0), key(1), key(2)} and not outcome.failed


def test_412_gives_up_after_bounded_retries(fake: FakeZotero) -> None:
    fill(fake, 1)
    c = client(fake, max_conflict_rounds=2)
    item = c.read_items().items[0]
    rounds = 0

    def refresh(fresh: dict[str, Any]) -> dict[str, Any]:
        nonlocal rounds
        rounds += 1
        fake.user_edit(key(0), title=f"edit {rounds}")  # the user keeps typing
        return {"extra": "ours"}

    fake.user_edit(key(0), title="first")
    outcome = c.write_items([{"key": item["key"], "version": item["version"],
                              "extra": "ours"}], refresh)
    assert key(0) in outcome.failed and rounds == 2
    assert fake.extra(key(0)) == ""


def test_a_whole_batch_412_is_retried_item_by_item(fake: FakeZotero) -> None:
    fill(fake, 2)
    c = client(fake)
    items = c.read_items().items
    fake.canned.append(Canned(412, {}, method="POST"))
    outcome = c.write_items([{"key": o["key"], "version": o["version"], "extra": "e"}
                             for o in items], refresh=lambda fresh: {"extra": "e"})
    assert set(outcome.written) == {key(0), key(1)}
    assert fake.extra(key(0)) == "e"


def test_library_names_are_validated_strictly() -> None:
    assert str(Library.parse("users/12345")) == "users/12345"
    assert str(Library.parse("groups/7/")) == "groups/7"
    for bad in ["user/1", "users/", "users/abc", "users/1/items", "groups/-1", "users/01",
                "users/0", "../users/1", "users/1?x=1"]:
        with pytest.raises(UsageError):
            Library.parse(bad)
    assert str(Library.parse("users/0", local=True)) == "users/0"


def test_bad_base_url_and_collection_are_refused() -> None:
    with pytest.raises(UsageError):
        ZoteroClient(LIBRARY, API_KEY, base_url="http://api.zotero.org")  # key over plain http
    with pytest.raises(UsageError):
        ZoteroClient(LIBRARY, API_KEY, base_url="ftp://x")
    with pytest.raises(UsageError):
        ZoteroClient(LIBRARY, API_KEY, collection="../../x")


def test_local_api_reads_without_a_key_and_never_writes(fake: FakeZotero) -> None:
    local = ZoteroClient.local_api(base_url=fake.url)
    assert local.library == Library("users", 0) and local.local
    with pytest.raises(UsageError):
        local.write_items([{"key": key(0), "version": 1, "extra": ""}], lambda f: None)
    assert fake.requests() == []
    default = ZoteroClient.local_api()
    assert default.base_url == "http://localhost:23119/api"


@pytest.mark.parametrize("declared", ["5", "100000"])
def test_a_wrong_total_results_neither_hides_items_nor_pages_forever(
        fake: FakeZotero, declared: str) -> None:
    """Full pages are followed whatever the header says, short ones end the read; a
    header the pages contradict marks the read inconsistent (no incremental state)."""
    fill(fake, 250)
    real_get = fake.handle_get

    def lying(parts: list[str], query: dict[str, list[str]]) -> Any:
        status, headers, payload = real_get(parts, query)
        if "Total-Results" in headers:
            headers["Total-Results"] = declared
        return status, headers, payload

    fake.handle_get = lying  # type: ignore[method-assign]
    result = client(fake).read_items()
    assert [o["key"] for o in result.items] == [key(n) for n in range(250)]
    assert len(fake.requests("GET")) == 3
    assert not result.consistent


def test_a_server_that_ignores_start_is_stopped_at_its_second_page(fake: FakeZotero) -> None:
    """Full pages are followed whatever Total-Results says: the same full page again
    would otherwise be read until max_items, 5,000 requests later."""
    fill(fake, 150)
    real_get = fake.handle_get

    def no_paging(parts: list[str], query: dict[str, list[str]]) -> Any:
        return real_get(parts, {**query, "start": ["0"]})

    fake.handle_get = no_paging  # type: ignore[method-assign]
    with pytest.raises(ZoteroError, match="already sent on an earlier page"):
        client(fake).read_items()
    assert len(fake.requests("GET")) == 2
