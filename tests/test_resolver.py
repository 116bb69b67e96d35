"""Query parsing, deduplication, progress, version and DOI rules of the resolver."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pith_bib.errors import UsageError
from pith_bib.publish import build_bundle, document_bytes
from pith_bib.resolver import Query, Resolver, parse_query
from pith_bib.settings import Settings
from pith_bib.trust import TrustRoot
from tests.mirror_server import MirrorServer
from tests.support import SEEDS, fixed_key, seed_bytes
from tests.test_cache import write_mirror

KEY = fixed_key(44)
KEY_HEX = bytes(KEY.verify_key).hex()


@pytest.mark.parametrize(("text", "query"), [
    ("2101.01234", Query("arxiv", "2101.01234", None)),
    ("arXiv:2101.01234v3", Query("arxiv", "2101.01234", 3)),
    ("https://arxiv.org/abs/hep-th/9901001v2", Query("arxiv", "hep-th/9901001", 2)),
    ("10.48550/arXiv.1811.00143", Query("arxiv", "1811.00143", None)),
    ("https://doi.org/10.1103/PhysRevD.89.096007", Query("doi", "10.1103/physrevd.89.096007")),
    ("doi:10.1000/XYZ", Query("doi", "10.1000/xyz")),
    ("pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ", Query("pith", "DM6GBYSNJHDMWLODXZBVEPYJHJ")),
    ("DM6GBYSNJHDMWLODXZBVEPYJHJ", Query("pith", "DM6GBYSNJHDMWLODXZBVEPYJHJ")),
    ("pith:dm6gbysn", Query("pith", "DM6GBYSN")),
])
def test_parse_query(text: str, query: Query) -> None:
    parsed = parse_query(text)
    assert (parsed.kind, parsed.value, parsed.version) == (query.kind, query.value, query.version)


@pytest.mark.parametrize("text", ["hello", "1234", "pith:XY", "pith:2018:SHORT"])
def test_bad_queries_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_query(text)


def test_identical_requests_resolve_once_and_progress_counts_unique(tmp_path: Path) -> None:
    with MirrorServer() as server:
        bundle = build_bundle("2106.00001", 1, "Dedup", "2021-06-01T00:00:00Z", KEY, "k")
        pid = bundle["pith_number"].rsplit(":", 1)[1]
        server.add_document(pid, "bundle", document_bytes(bundle))
        server.add_alias("arxiv", "2106.00001", bundle["pith_number"])
        settings = Settings(mirrors=[server.url], cache_dir=tmp_path, trust_keys=[KEY_HEX])
        seen: list[tuple[int, int]] = []
        lock = threading.Lock()

        def progress(done: int, total: int) -> None:
            with lock:
                seen.append((done, total))

        queries = [parse_query(t) for t in ["2106.00001", "arXiv:2106.00001", "2106.00001"]]
        results = settings.resolver().resolve_many(queries, progress=progress)
        assert server.counts[f"/pith/{pid}/bundle.json"] == 1
    assert [r.status for r in results] == ["verified"] * 3
    assert [r.query.text for r in results] == ["2106.00001", "arXiv:2106.00001", "2106.00001"]
    assert seen == [(1, 1)]


def test_version_mismatch_is_reported_not_hidden(tmp_path: Path) -> None:
    mirror = tmp_path / "m"
    write_mirror(mirror, [seed_bytes("001_702a4949302f7c0a.txt")])
    resolver = Settings(mirrors=[str(mirror)], cache_dir=tmp_path / "c").resolver()
    result = resolver.resolve(parse_query("1802.04924v1"))
    assert result.status == "verified"
    assert result.notes == ["the entry cites 1802.04924v1; the signed record is v2"]
    exact = resolver.resolve(parse_query("1802.04924v2"))
    assert exact.notes == []


def test_journal_doi_is_not_found_honestly(tmp_path: Path) -> None:
    mirror = tmp_path / "m"
    write_mirror(mirror, [seed_bytes("001_702a4949302f7c0a.txt")])
    (mirror / "aliases" / "doi" / "10.1000").mkdir(parents=True)
    # a mirror claims a journal DOI for a record that does not sign it
    (mirror / "aliases" / "doi" / "10.1000" / "journal").write_text(
        "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ")
    resolver = Settings(mirrors=[str(mirror)], cache_dir=tmp_path / "c").resolver()
    result = resolver.resolve(parse_query("10.1000/journal"))
    assert result.status == "invalid"
    assert "does not name DOI 10.1000/journal in its signed aliases" in result.reasons[0]
    unknown = resolver.resolve(parse_query("10.1000/unknown"))
    assert unknown.status == "not-found"


def test_lock_mapping_is_used_before_mirrors(tmp_path: Path) -> None:
    mirror = tmp_path / "m"
    write_mirror(mirror, [seed_bytes("002_4713260b799be0b3.txt")])
    resolver = Resolver(Settings(mirrors=[str(mirror)]).build_mirrors(), None,
                        trust=TrustRoot.default())
    known = {("arxiv", "1811.06992"): "pith:2018:AH5S4WE2T4KISLKPOBTLFWQMX3"}
    result = resolver.resolve(parse_query("1811.06992"), known)
    assert result.status == "verified" and result.mapped_by == "lock"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pith_bib", *args], capture_output=True,
                          text=True, check=False, timeout=120)


def test_resolve_cli_text_and_json(tmp_path: Path) -> None:
    mirror = tmp_path / "m"
    write_mirror(mirror, [p.read_bytes() for p in SEEDS.iterdir()])
    common = ["--mirror", str(mirror), "--cache-dir", str(tmp_path / "c")]
    result = run_cli("resolve", *common, "1802.04924", "pith:545VV5TW")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"1802.04924 → pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ  verified  {mirror}",
        f"pith:545VV5TW → pith:2018:545VV5TWOWRWQ3PEMEMSEYRLMS  record-verified  {mirror}",
    ]
    result = run_cli("resolve", "--json", *common, "1802.04924", "2201.00001")
    assert result.returncode == 1
    first, second = json.loads(result.stdout)
    assert first["source"] == "cache" and first["arxiv_id"] == "1802.04924", result.stderr
    assert set(first) >= {"identifier", "pith_number", "status", "arxiv_id", "source", "reasons"}
    assert second["status"] == "not-found" and second["reasons"]


def test_resolve_cli_usage_errors_exit_2(tmp_path: Path) -> None:
    result = run_cli("resolve", "--cache-dir", str(tmp_path), "not-an-id")
    assert result.returncode == 2
    assert "is not an arXiv id, a DOI or a pith number" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_cli("resolve", "--mirror", str(tmp_path / "nope"), "2101.00001")
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_cache_cli_info_and_clear(tmp_path: Path) -> None:
    mirror = tmp_path / "m"
    write_mirror(mirror, [seed_bytes("001_702a4949302f7c0a.txt")])
    run_cli("resolve", "--mirror", str(mirror), "--cache-dir", str(tmp_path / "c"), "1802.04924")
    info = run_cli("cache", "info", "--json", "--cache-dir", str(tmp_path / "c"))
    assert json.loads(info.stdout)["documents"] == 1
    cleared = run_cli("cache", "clear", "--cache-dir", str(tmp_path / "c"))
    assert "removed 1 documents" in cleared.stdout
