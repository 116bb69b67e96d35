"""A cold run stores its documents in batches, and still stores every one of them.

- documents verified by the workers are written a batch per commit, and all of
  them are in the cache once ``resolve_many`` returns, however it returns;
- ``Cache.put_many`` stores exactly what ``put`` stores, with its rollback refusal;
- a number the cache held no record of when the batch started is not looked up
  in the cache again during the search, but one it holds is.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pith_bib import resolver as resolver_module
from pith_bib.cache import Cache
from pith_bib.errors import CacheError
from pith_bib.evidence import evidence_of
from pith_bib.lock import encode_evidence
from pith_bib.policy import signed_aliases
from pith_bib.publish import build_bundle, document_bytes
from pith_bib.resolver import parse_query
from pith_bib.settings import Settings
from pith_bib.trust import TrustRoot
from pith_bib.verify import verify_document
from tests.mirror_server import MirrorServer
from tests.support import fixed_key

KEY = fixed_key(61)
KEY_HEX = bytes(KEY.verify_key).hex()


def _bundles(count: int, title: str = "Batch") -> list[tuple[str, bytes]]:
    out = []
    for n in range(count):
        bundle = build_bundle(f"2302.{n:05d}", 1, f"{title} {n}", "2023-02-01T00:00:00Z",
                              KEY, "k")
        out.append((bundle["pith_number"], document_bytes(bundle)))
    return out


def _serve(server: MirrorServer, bundles: list[tuple[str, bytes]]) -> None:
    for number, data in bundles:
        server.add_document(number.rsplit(":", 1)[1], "bundle", data)


def _settings(server: MirrorServer, cache_dir: Path) -> Settings:
    return Settings(mirrors=[server.url], cache_dir=cache_dir, trust_keys=[KEY_HEX])


def _count_commits(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the batches given to ``put_many``."""
    sizes: list[int] = []
    original = Cache.put_many

    def put_many(self: Cache, documents: object) -> None:
        batch = list(documents)  # type: ignore[call-overload]
        sizes.append(len(batch))
        original(self, batch)

    monkeypatch.setattr(Cache, "put_many", put_many)
    return sizes


def test_a_cold_run_stores_every_document_in_few_commits(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resolver_module, "STORE_BATCH", 8)
    sizes = _count_commits(monkeypatch)
    bundles = _bundles(30)
    with MirrorServer() as server:
        _serve(server, bundles)
        results = _settings(server, tmp_path).resolver().resolve_many(
            [parse_query(number) for number, _ in bundles])
    assert [r.status for r in results] == ["verified"] * 30
    assert sum(sizes) == 30 and max(sizes) <= 8 and len(sizes) <= 30 // 8 + 1
    stored = Cache(tmp_path).verdicts([n.rsplit(":", 1)[1] for n, _ in bundles], TRUST)
    assert len(stored) == 30
    # and the next run answers all of them from the cache, with no mirror at all
    again = Settings(cache_dir=tmp_path, trust_keys=[KEY_HEX], offline=True).resolver()
    assert [r.source for r in again.resolve_many(
        [parse_query(n) for n, _ in bundles])] == ["cache"] * 30


def test_documents_verified_before_a_failure_are_still_stored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resolver_module, "STORE_BATCH", 1000)
    bundles = _bundles(6, "Interrupted")
    with MirrorServer() as server:
        _serve(server, bundles)
        resolver = _settings(server, tmp_path).resolver()
        resolver.jobs = 1
        calls = []
        original = resolver._resolve_one

        def failing(query: object, known: object) -> object:
            calls.append(query)
            if len(calls) == 4:
                raise KeyboardInterrupt
            return original(query, known)  # type: ignore[arg-type]

        monkeypatch.setattr(resolver, "_resolve_one", failing)
        with pytest.raises(KeyboardInterrupt):
            resolver.resolve_many([parse_query(number) for number, _ in bundles])
    stored = Cache(tmp_path).verdicts([n.rsplit(":", 1)[1] for n, _ in bundles], TRUST)
    assert sorted(stored) == sorted(n.rsplit(":", 1)[1] for n, _ in bundles[:3])


TRUST = TrustRoot.default().with_hex_key(KEY_HEX, origin="test")


def _stored(data: bytes) -> tuple[bytes, object, object, object]:
    report = verify_document(data, TRUST)
    return data, report, encode_evidence(evidence_of(data, report)), signed_aliases(report)


def test_put_many_stores_what_put_stores(tmp_path: Path) -> None:
    bundles = _bundles(3, "Same rows")
    one, many = Cache(tmp_path / "one"), Cache(tmp_path / "many")
    for _, data in bundles:
        one.put(*_stored(data))  # type: ignore[arg-type]
    many.put_many([_stored(data) for _, data in bundles])  # type: ignore[misc]
    for number, data in bundles:
        pid = number.rsplit(":", 1)[1]
        assert one.get(pid) == many.get(pid)
        assert one.get(pid)[0] == data  # type: ignore[index]
    assert one.lookup_many([("arxiv", "2302.00001")]) == many.lookup_many(
        [("arxiv", "2302.00001")])
    assert one.info()["documents"] == many.info()["documents"] == 3


def test_put_many_refuses_a_document_that_did_not_verify(tmp_path: Path) -> None:
    _, data = _bundles(1, "Unpinned")[0]
    report = verify_document(data, TrustRoot.default())  # not this key: fails
    assert not report.ok
    with pytest.raises(CacheError):
        Cache(tmp_path).put_many([(data, report, encode_evidence({}), [])])  # type: ignore[arg-type]


def test_a_cold_search_skips_the_cache_only_for_numbers_it_does_not_hold(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundles = _bundles(4, "Skip")
    held_number, held_data = bundles[0]
    Cache(tmp_path).put(*_stored(held_data))  # type: ignore[arg-type]
    # the bulk read of verdicts answers nothing (as when a stored verdict's key is no
    # longer pinned): the held number must still be read from the cache, the others not
    looked_up: list[str] = []
    original = Cache.get_verified

    def get_verified(self: Cache, pith_id: str, trust: object) -> object:
        looked_up.append(pith_id)
        return original(self, pith_id, trust)  # type: ignore[arg-type]

    monkeypatch.setattr(Cache, "get_verified", get_verified)
    monkeypatch.setattr(Cache, "verdicts", lambda self, ids, trust, held=None: {})
    with MirrorServer() as server:
        _serve(server, bundles)
        results = _settings(server, tmp_path).resolver().resolve_many(
            [parse_query(number) for number, _ in bundles])
        fetched = {path for path, n in server.counts.items() if n}
    assert [r.status for r in results] == ["verified"] * 4
    assert looked_up == [held_number.rsplit(":", 1)[1]]
    assert results[0].source == "cache"
    assert f"/pith/{held_number.rsplit(':', 1)[1]}/bundle.json" not in fetched


def test_a_batch_never_holds_more_than_its_byte_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A mirror's large documents are written as they come, not hoarded in memory."""
    bundles = _bundles(5, "Large")
    size = max(len(data) for _, data in bundles)
    monkeypatch.setattr(resolver_module, "STORE_BATCH_BYTES", 2 * size)
    sizes = _count_commits(monkeypatch)
    with MirrorServer() as server:
        _serve(server, bundles)
        resolver = _settings(server, tmp_path).resolver()
        resolver.jobs = 1
        resolver.resolve_many([parse_query(number) for number, _ in bundles])
    # each document and its evidence is over half the bound: two make a batch
    assert sum(sizes) == 5 and max(sizes) <= 2 and len(sizes) >= 3
