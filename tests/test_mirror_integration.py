"""The resolver against real HTTP servers on 127.0.0.1, with injected faults.

Every test ends by checking that the cache holds only bytes that verify.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from pith_bib import verify_document
from pith_bib.cache import DB_NAME, FOLDER_NAME
from pith_bib.publish import build_bundle, document_bytes
from pith_bib.resolver import parse_query
from pith_bib.settings import Settings
from tests.mirror_server import Fault, MirrorServer
from tests.support import fixed_key

KEY = fixed_key(21)
KEY_HEX = bytes(KEY.verify_key).hex()


def _doc(arxiv_id: str, title: str = "A Paper") -> tuple[str, bytes]:
    bundle = build_bundle(arxiv_id, 1, title, "2021-02-03T04:05:06Z", KEY, "test-key")
    return bundle["pith_number"], document_bytes(bundle)


GOOD_NUMBER, GOOD = _doc("2102.00001")
PATH = f"/pith/{GOOD_NUMBER.rsplit(':', 1)[1]}/bundle.json"


@pytest.fixture
def server() -> Iterator[MirrorServer]:
    with MirrorServer() as srv:
        srv.add(PATH, GOOD)
        srv.add_alias("arxiv", "2102.00001", GOOD_NUMBER)
        yield srv


def settings_for(tmp_path: Path, *mirrors: str, **extra: object) -> Settings:
    settings = Settings(mirrors=list(mirrors), cache_dir=tmp_path / "cache",
                        trust_keys=[KEY_HEX], retries=3)
    for name, value in extra.items():
        setattr(settings, name, value)
    return settings


def cached_objects(settings: Settings) -> list[bytes]:
    db = settings.cache_dir / FOLDER_NAME / DB_NAME  # type: ignore[operator]
    if not db.exists():
        return []
    with closing(sqlite3.connect(db)) as conn:
        return [row[0] for row in conn.execute("SELECT data FROM documents ORDER BY sha256")]


def assert_cache_only_verified(settings: Settings) -> None:
    for data in cached_objects(settings):
        assert verify_document(data, settings.trust_root()).ok


def resolve(settings: Settings, text: str = "2102.00001"):
    return settings.resolver().resolve(parse_query(text))


def test_alias_then_bundle_over_http(server: MirrorServer, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, server.url)
    result = resolve(settings)
    assert result.status == "verified"
    assert result.pith_number == GOOD_NUMBER
    assert result.source == server.url
    assert result.mapped_by == server.url
    assert cached_objects(settings) == [GOOD]
    again = resolve(settings)
    assert again.source == "cache" and again.mapped_by == "cache"
    assert server.counts[PATH] == 1  # the second run did not fetch


def test_500_then_success_is_retried(server: MirrorServer, tmp_path: Path) -> None:
    server.fault(PATH, Fault(status=500), Fault(status=502))
    settings = settings_for(tmp_path, server.url, retries=3)
    result = resolve(settings)
    assert result.status == "verified", result.reasons
    assert server.counts[PATH] == 3
    assert_cache_only_verified(settings)


def test_429_with_retry_after_is_honoured(server: MirrorServer, tmp_path: Path) -> None:
    server.fault(PATH, Fault(status=429, headers={"Retry-After": "1"}))
    settings = settings_for(tmp_path, server.url)
    result = resolve(settings)
    assert result.status == "verified"
    assert server.counts[PATH] == 2
    assert_cache_only_verified(settings)


def test_429_storm_gives_up_and_says_so(server: MirrorServer, tmp_path: Path) -> None:
    server.fault(PATH, *[Fault(status=429, headers={"Retry-After": "0"})] * 5)
    settings = settings_for(tmp_path, server.url, retries=2)
    result = resolve(settings)
    assert result.status == "unavailable"
    assert any("HTTP 429 after 2 retries" in r for r in result.reasons), result.reasons
    assert cached_objects(settings) == []


def test_slow_trickle_past_the_deadline(server: MirrorServer, tmp_path: Path) -> None:
    server.fault(PATH, Fault(trickle=(200, 0.1)))
    settings = settings_for(tmp_path, server.url, deadline=1.0)
    result = resolve(settings)
    assert result.status == "unavailable"
    assert any("not complete within the deadline" in r for r in result.reasons), result.reasons
    assert cached_objects(settings) == []


@pytest.mark.parametrize("fault", [
    Fault(body=b"{" + b" " * (5 * 1024 * 1024) + b"}"),
    Fault(chunked_size=5 * 1024 * 1024),
], ids=["declared-length", "chunked"])
def test_body_over_the_size_cap(server: MirrorServer, tmp_path: Path, fault: Fault) -> None:
    server.fault(PATH, fault)
    settings = settings_for(tmp_path, server.url)
    result = resolve(settings)
    assert result.status == "unavailable"
    assert any("over the 4194304-byte limit" in r for r in result.reasons), result.reasons
    assert cached_objects(settings) == []


def test_wrong_content_type(server: MirrorServer, tmp_path: Path) -> None:
    server.fault(PATH, Fault(content_type="text/html"))
    settings = settings_for(tmp_path, server.url)
    result = resolve(settings)
    assert result.status == "unavailable"
    assert any("unexpected Content-Type 'text/html'" in r for r in result.reasons)
    assert cached_objects(settings) == []


def test_truncated_body(server: MirrorServer, tmp_path: Path) -> None:
    server.fault(PATH, Fault(truncate_to=len(GOOD) // 2))
    settings = settings_for(tmp_path, server.url, retries=0)
    result = resolve(settings)
    assert result.status == "unavailable"
    assert any("truncated" in r for r in result.reasons), result.reasons
    assert cached_objects(settings) == []


def test_tampered_first_mirror_good_second(server: MirrorServer, tmp_path: Path) -> None:
    doc = json.loads(GOOD)
    doc["events"][1]["payload"]["graph_snapshot"]["paper"]["title"] = "Another Title"
    with MirrorServer() as bad:
        bad.add(PATH, json.dumps(doc).encode())
        bad.add_alias("arxiv", "2102.00001", GOOD_NUMBER)
        bad_url = bad.url
        settings = settings_for(tmp_path, bad_url, server.url)
        result = resolve(settings)
    assert result.status == "verified"
    assert result.source == server.url
    assert any(n.startswith(f"{bad_url} bundle for") and "content_sha256 does not match" in n
               for n in result.notes), result.notes
    assert cached_objects(settings) == [GOOD]
    assert_cache_only_verified(settings)


def test_tampered_everywhere_fails_closed_with_reasons(server: MirrorServer,
                                                       tmp_path: Path) -> None:
    server.fault(PATH, Fault(body=GOOD.replace(b"A Paper", b"B Paper")))
    settings = settings_for(tmp_path, server.url)
    result = resolve(settings)
    assert result.status == "invalid"
    assert any("title hash" in r or "content_sha256" in r for r in result.reasons)
    assert cached_objects(settings) == []


def test_alias_pointing_at_another_paper_is_rejected(server: MirrorServer,
                                                     tmp_path: Path) -> None:
    server.add_alias("arxiv", "2102.00009", GOOD_NUMBER)  # a lying alias index
    settings = settings_for(tmp_path, server.url)
    result = resolve(settings, "2102.00009")
    assert result.status == "invalid"
    expected = "is arXiv 2102.00001, but the entry says arXiv 2102.00009"
    assert any(expected in r for r in result.reasons)


def test_redirect_to_another_host_is_refused(server: MirrorServer, tmp_path: Path) -> None:
    other = server.url.replace("127.0.0.1", "localhost")
    server.fault(PATH, Fault(status=302, headers={"Location": other + PATH}))
    settings = settings_for(tmp_path, server.url)
    result = resolve(settings)
    assert result.status == "unavailable"
    assert any("refused redirect to another host" in r for r in result.reasons)
    assert cached_objects(settings) == []


def test_redirect_on_the_same_host_is_followed(server: MirrorServer, tmp_path: Path) -> None:
    server.add("/moved.json", GOOD)
    server.fault(PATH, Fault(status=301, headers={"Location": "/moved.json"}))
    settings = settings_for(tmp_path, server.url)
    assert resolve(settings).status == "verified"


def test_redirect_loop_stops(server: MirrorServer, tmp_path: Path) -> None:
    server.fault(PATH, *[Fault(status=302, headers={"Location": PATH})] * 6)
    settings = settings_for(tmp_path, server.url)
    result = resolve(settings)
    assert any("more than 3 redirects" in r for r in result.reasons)


def test_one_mirror_down_the_next_answers(server: MirrorServer, tmp_path: Path) -> None:
    settings = settings_for(tmp_path, "http://127.0.0.1:9", server.url, retries=0)
    result = resolve(settings)
    assert result.status == "verified"
    assert result.source == server.url


def test_state_is_the_fallback_when_no_bundle(tmp_path: Path) -> None:
    bundle = json.loads(GOOD)
    with MirrorServer() as srv:
        srv.add(PATH.replace("bundle", "state"), json.dumps(bundle["state"]).encode())
        settings = settings_for(tmp_path, srv.url)
        result = settings.resolver().resolve(parse_query(GOOD_NUMBER))
    assert result.status == "record-verified"
    assert cached_objects(settings) and hashlib.sha256(cached_objects(settings)[0]).hexdigest()


def test_every_failure_is_listed_per_mirror(tmp_path: Path) -> None:
    with MirrorServer() as one, MirrorServer() as two:
        for srv in (one, two):
            srv.add_alias("arxiv", "2102.00001", GOOD_NUMBER)
        one.fault(PATH, Fault(status=503), Fault(status=503))
        two.fault(PATH, Fault(content_type="text/html", body=b"<html>"))
        urls = one.url, two.url
        settings = settings_for(tmp_path, *urls, retries=1)
        result = resolve(settings)
    assert result.status == "unavailable"
    assert any(urls[0] in r and "HTTP 503 after 1 retries" in r for r in result.reasons)
    assert any(urls[1] in r and "Content-Type" in r for r in result.reasons)
