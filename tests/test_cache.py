"""Cache integrity, rollback refusal, concurrency across processes, and offline mode."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from pith_bib import TrustRoot, verify_document
from pith_bib.cache import DB_NAME, FOLDER_NAME, MARKER_NAME, Cache
from pith_bib.errors import CacheError
from pith_bib.publish import build_bundle, document_bytes, resign_bundle
from pith_bib.resolver import parse_query
from pith_bib.settings import Settings
from tests.support import REGISTRY, SEEDS, cache_put, fixed_key, seed_bytes

KEY = fixed_key(33)
KEY_HEX = bytes(KEY.verify_key).hex()
TRUST = TrustRoot.default().with_key(bytes(KEY.verify_key))


@contextmanager
def database(root: Path) -> Iterator[sqlite3.Connection]:
    """The cache's SQLite file, opened the way a tamperer (or a crash) would reach it."""
    with closing(sqlite3.connect(root / FOLDER_NAME / DB_NAME)) as conn:
        yield conn
        conn.commit()


def write_mirror(root: Path, docs: list[bytes]) -> None:
    for data in docs:
        doc = json.loads(data)
        pid = doc["pith_number"].rsplit(":", 1)[1]
        kind = "bundle" if "bundle_type" in doc else "state"
        folder = root / "pith" / pid
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{kind}.json").write_bytes(data)


def test_put_get_and_permissions(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c")
    data = seed_bytes("001_702a4949302f7c0a.txt")
    report = verify_document(data, REGISTRY)
    assert cache_put(cache, data, report) is True
    stored, record = cache.get("DM6GBYSNJHDMWLODXZBVEPYJHJ")  # type: ignore[misc]
    assert stored == data and record.status == "verified"
    assert cache.lookup("arxiv", "1802.04924") == report.pith_number
    assert cache.lookup("doi", "10.48550/ARXIV.1802.04924") == report.pith_number
    assert stat.S_IMODE((tmp_path / "c").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "c" / FOLDER_NAME).stat().st_mode) == 0o700
    files = [p for p in (tmp_path / "c" / FOLDER_NAME).iterdir() if p.name != MARKER_NAME]
    assert files and {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o600}


def test_unverified_documents_are_refused(tmp_path: Path) -> None:
    data = seed_bytes("001_702a4949302f7c0a.txt").replace(b"Exploring", b"Explaining")
    with pytest.raises(CacheError):
        cache_put(Cache(tmp_path), data, verify_document(data, REGISTRY))


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_corruption_is_detected_and_healed(tmp_path: Path, damage: str) -> None:
    mirror = tmp_path / "mirror"
    write_mirror(mirror, [seed_bytes("001_702a4949302f7c0a.txt")])
    settings = Settings(mirrors=[str(mirror)], cache_dir=tmp_path / "cache")
    assert settings.resolver().resolve(parse_query("1802.04924")).source == str(mirror)
    with database(tmp_path / "cache") as conn:
        ((sha, data),) = conn.execute("SELECT sha256, data FROM documents").fetchall()
        if damage == "truncate":
            damaged = data[: len(data) // 2]
        else:
            flipped = bytearray(data)
            flipped[100] ^= 0x01
            damaged = bytes(flipped)
        conn.execute("UPDATE documents SET data = ?", (damaged,))
    # Reading the document re-hashes it: the damaged bytes are never returned, and
    # dropped with their record, so the verdict bound to them goes too.
    assert Cache(tmp_path / "cache").get("DM6GBYSNJHDMWLODXZBVEPYJHJ") is None
    again = settings.resolver().resolve(parse_query("1802.04924"))
    assert again.status == "verified"
    assert again.source == str(mirror)  # refetched, not served from the damaged bytes
    with database(tmp_path / "cache") as conn:  # and healed
        assert conn.execute("SELECT sha256, data FROM documents").fetchall() == [(sha, data)]


def test_rollback_to_an_older_document_is_refused(tmp_path: Path) -> None:
    old = build_bundle("2104.00001", 1, "Rollback", "2021-04-01T00:00:00Z", KEY, "k")
    new = json.loads(json.dumps(old))
    new["built_at"] = "2030-01-01T00:00:00Z"
    new = resign_bundle(new, KEY, "k")
    cache = Cache(tmp_path)
    old_bytes, new_bytes = document_bytes(old), document_bytes(new)
    assert cache_put(cache, new_bytes, verify_document(new_bytes, TRUST)) is True
    assert cache_put(cache, old_bytes, verify_document(old_bytes, TRUST)) is False
    data, record = cache.get(old["pith_number"].rsplit(":", 1)[1])  # type: ignore[misc]
    assert data == new_bytes and record.built_at == "2030-01-01T00:00:00Z"


def test_state_never_replaces_a_verified_bundle(tmp_path: Path) -> None:
    bundle = build_bundle("2104.00002", 1, "Downgrade", "2021-04-01T00:00:00Z", KEY, "k")
    cache = Cache(tmp_path)
    data = document_bytes(bundle)
    cache_put(cache, data, verify_document(data, TRUST))
    state = json.dumps(bundle["state"]).encode()
    assert cache_put(cache, state, verify_document(state, TRUST)) is False
    assert cache.get(bundle["pith_number"].rsplit(":", 1)[1])[0] == data  # type: ignore[index]


def test_info_and_clear(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    for name in sorted(p.name for p in SEEDS.iterdir()):
        data = seed_bytes(name)
        cache_put(cache, data, verify_document(data, REGISTRY))
    assert cache.info()["documents"] == 5
    assert cache.clear() == 5
    assert cache.info()["documents"] == 0


def test_eight_processes_share_one_empty_cache(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    ids = [f"2105.{n:05d}" for n in range(200)]
    write_mirror(mirror, [
        document_bytes(build_bundle(i, 1, f"Paper {i}", "2021-05-01T00:00:00Z", KEY, "k"))
        for i in ids
    ])
    cache_dir = tmp_path / "cache"
    command = [sys.executable, "-m", "pith_bib", "resolve", "--json", "--mirror", str(mirror),
               "--cache-dir", str(cache_dir), "--trust-key", KEY_HEX, *ids]
    procs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(8)]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()[-2000:]
        assert all(item["status"] == "verified" for item in json.loads(out))
    cache = Cache(cache_dir)
    assert cache.info()["records"] == 200
    assert cache.info()["documents"] == 200
    for arxiv_id in ids:
        number = cache.lookup("arxiv", arxiv_id)
        assert number is not None
        data, _ = cache.get(number.rsplit(":", 1)[1])  # type: ignore[misc]
        report = verify_document(data, TRUST)
        assert report.ok and report.arxiv_id == arxiv_id
    leftovers = [p for p in cache_dir.rglob("*.tmp")]
    assert leftovers == []


def test_offline_makes_no_network_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = tmp_path / "mirror"
    write_mirror(mirror, [seed_bytes("002_4713260b799be0b3.txt")])
    attempts: list[object] = []

    def no_network(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise AssertionError(f"network call to {address}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    settings = Settings(mirrors=["https://pith.science", str(mirror)], offline=True,
                        cache_dir=tmp_path / "cache")
    resolver = settings.resolver()
    assert [m.is_local for m in resolver.mirrors] == [True]
    results = resolver.resolve_many([parse_query("1811.06992"), parse_query("2101.00001")])
    assert [r.status for r in results] == ["verified", "not-found"]
    assert "local mirrors" in results[1].reasons[0]
    assert attempts == []


def test_cache_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PITH_BIB_CACHE_DIR", str(tmp_path / "env-cache"))
    assert Cache().root == tmp_path / "env-cache"
    monkeypatch.delenv("PITH_BIB_CACHE_DIR")
    assert "pith-bib" in str(Cache().root)
    assert os.fspath(Cache(tmp_path).root) == str(tmp_path)


def test_cached_verdict_needs_its_key_still_pinned(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    bundle = build_bundle("2107.00001", 1, "Key Removed", "2021-07-01T00:00:00Z", KEY, "k")
    write_mirror(mirror, [document_bytes(bundle)])
    trusted = Settings(mirrors=[str(mirror)], cache_dir=tmp_path / "c", trust_keys=[KEY_HEX])
    assert trusted.resolver().resolve(parse_query("2107.00001")).status == "verified"
    assert trusted.resolver().resolve(parse_query("2107.00001")).source == "cache"
    untrusted = Settings(mirrors=[str(mirror)], cache_dir=tmp_path / "c", offline=True)
    result = untrusted.resolver().resolve(parse_query("2107.00001"))
    assert result.status == "invalid"
    assert any("not a pinned key" in r for r in result.reasons)


def test_a_damaged_verdict_is_not_reused(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    data = seed_bytes("001_702a4949302f7c0a.txt")
    cache_put(cache, data, verify_document(data, REGISTRY))
    pid = "DM6GBYSNJHDMWLODXZBVEPYJHJ"
    assert cache.get_verified(pid, TrustRoot.default()) is not None
    with database(tmp_path) as conn:
        (text,) = conn.execute("SELECT report FROM records WHERE pith_id = ?", (pid,)).fetchone()
        report = json.loads(text)
        report["arxiv_id"] = "1802.04934"
        conn.execute("UPDATE records SET report = ?", (json.dumps(report),))
    assert cache.get_verified(pid, TrustRoot.default()) is None
    resolver = Settings(mirrors=[], cache_dir=tmp_path, offline=True).resolver()
    result = resolver.resolve(parse_query("pith:2018:" + pid))
    assert result.status == "verified" and result.report.arxiv_id == "1802.04924"


def test_verdict_carries_lock_evidence_without_reading_the_document(tmp_path: Path) -> None:
    from pith_bib.evidence import evidence_of
    from pith_bib.lock import LockFile

    cache = Cache(tmp_path / "c")
    data = seed_bytes("001_702a4949302f7c0a.txt")
    report = verify_document(data, REGISTRY)
    cache_put(cache, data, report)
    pid = "DM6GBYSNJHDMWLODXZBVEPYJHJ"
    with database(tmp_path / "c") as conn:
        conn.execute("DELETE FROM documents")  # the verdict path must not need it
    verdict = cache.get_verdict(pid, TrustRoot.default())
    assert verdict is not None and verdict.evidence is not None
    assert verdict.evidence.decode() == evidence_of(data, report)
    from_cache, from_document = LockFile(), LockFile()
    from_cache.papers[report.pith_number] = verdict.evidence  # type: ignore[index]
    from_document.papers[report.pith_number] = evidence_of(data, report)  # type: ignore[index]
    assert from_cache.to_bytes() == from_document.to_bytes()
    assert cache.get_verified(pid, TrustRoot.default()) is None  # the document is gone
    with database(tmp_path / "c") as conn:
        conn.execute("UPDATE evidence SET data = replace(data, ?, ?)",
                     (b"1802.04924", b"1802.04925"))
    # Re-hashed: refused, and the verdict it was bound to is not reused either.
    assert cache.get_verdict(pid, TrustRoot.default()) is None
    with database(tmp_path / "c") as conn:
        assert conn.execute("SELECT count(*) FROM evidence").fetchone() == (0,)
