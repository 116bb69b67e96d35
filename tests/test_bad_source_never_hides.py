"""One bad source never hides a good one (the hardening review, section 2).

Each case puts a hostile or broken source in front of a good one: the paper must
still resolve, and when nothing good remains the status is ``invalid`` or
``unavailable`` (exit 1), never ``not-found``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pith_bib.publish import build_bundle, document_bytes
from pith_bib.resolver import parse_query
from pith_bib.settings import Settings
from tests.mirror_server import MirrorServer
from tests.support import cache_put, fixed_key

KEY = fixed_key(71)
KEY_HEX = bytes(KEY.verify_key).hex()
BUNDLE = build_bundle("2104.00001", 1, "A Paper", "2021-04-01T00:00:00Z", KEY, "k")
NUMBER = BUNDLE["pith_number"]
PATH = f"/pith/{NUMBER.rsplit(':', 1)[1]}/bundle.json"
MISSING = "pith:2021:AAAAAAAAAAAAAAAAAAAAAAAAAA"


@pytest.fixture
def good() -> Iterator[MirrorServer]:
    with MirrorServer() as server:
        server.add(PATH, document_bytes(BUNDLE))
        server.add_alias("arxiv", "2104.00001", NUMBER)
        yield server


@pytest.fixture
def hostile() -> Iterator[MirrorServer]:
    with MirrorServer() as server:
        yield server


def settings(tmp_path: Path, *mirrors: str) -> Settings:
    return Settings(mirrors=list(mirrors), cache_dir=tmp_path / "cache",
                    trust_keys=[KEY_HEX], derive=False, retries=0)


def test_alias_answer_naming_a_missing_number_does_not_hide_the_good_mirror(
        tmp_path: Path, good: MirrorServer, hostile: MirrorServer) -> None:
    hostile.add_alias("arxiv", "2104.00001", MISSING)
    result = settings(tmp_path, hostile.url, good.url).resolver().resolve(
        parse_query("2104.00001"))
    assert result.status == "verified" and result.pith_number == NUMBER


def test_a_lie_alone_is_invalid_not_not_found(tmp_path: Path, hostile: MirrorServer) -> None:
    hostile.add_alias("arxiv", "2104.00001", MISSING)
    result = settings(tmp_path, hostile.url).resolver().resolve(parse_query("2104.00001"))
    assert result.status == "invalid"
    assert any("no source has a document" in r for r in result.reasons)


def test_captive_portal_first_does_not_hide_the_good_mirror(
        tmp_path: Path, good: MirrorServer, hostile: MirrorServer) -> None:
    page = b"<html><body>Sign in to the Wi-Fi</body></html>"
    hostile.add("/aliases/arxiv/2104.00001", page, "text/html")
    hostile.add(PATH, page, "text/html")
    result = settings(tmp_path, hostile.url, good.url).resolver().resolve(
        parse_query("2104.00001"))
    assert result.status == "verified"


def test_captive_portal_alone_is_unavailable(tmp_path: Path, hostile: MirrorServer) -> None:
    hostile.add("/aliases/arxiv/2104.00001", b"<html>portal</html>", "text/html")
    result = settings(tmp_path, hostile.url).resolver().resolve(parse_query("2104.00001"))
    assert result.status == "unavailable"


def test_an_unverifiable_lock_line_does_not_hide_the_mirror(tmp_path: Path,
                                                            good: MirrorServer) -> None:
    resolver = settings(tmp_path, good.url).resolver()
    result = resolver.resolve(parse_query("2104.00001"), {("arxiv", "2104.00001"): MISSING})
    assert result.status == "verified" and result.pith_number == NUMBER


def test_a_cache_entry_from_a_key_no_longer_trusted_does_not_hide_the_mirror(
        tmp_path: Path, good: MirrorServer) -> None:
    other = fixed_key(72)
    stale = build_bundle("2104.00001", 1, "A Paper", "2021-04-01T00:00:00Z", other, "old")
    stale_bytes = document_bytes(stale)
    from pith_bib.trust import TrustRoot
    from pith_bib.verify import verify_document

    old_trust = TrustRoot.default().with_key(bytes(other.verify_key))
    cache = Settings(cache_dir=tmp_path / "cache").cache()
    assert cache_put(cache, stale_bytes, verify_document(stale_bytes, old_trust))
    result = settings(tmp_path, good.url).resolver().resolve(parse_query("2104.00001"))
    assert result.status == "verified" and result.pith_number == NUMBER
