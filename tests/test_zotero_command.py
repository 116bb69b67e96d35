"""``pith-bib zotero`` end to end: the loopback fake Zotero, a local mirror of signed
documents (a test key, trusted with ``--trust-key``), the real resolver and policy,
and ``pith-bib check`` on a Better BibTeX-style export of the result."""

from __future__ import annotations

import argparse
import json
import math
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pith_bib import cli, zotero_command
from pith_bib.publish import build_bundle, document_bytes
from tests.bbt_export import export
from tests.support import fixed_key
from tests.zotero_fake import API_KEY, LIBRARY, FakeZotero
from tests.zotero_fake import item_key as key

SIGNER = fixed_key(23)
TRUST = ["--trust-key", bytes(SIGNER.verify_key).hex()]
SIGNED_AUTHORS = "Ada Lovelace, Alan Turing"
CREATORS = [{"creatorType": "author", "firstName": "Ada", "lastName": "Lovelace"},
            {"creatorType": "author", "firstName": "Alan", "lastName": "Turing"}]
OTHER_PLUGIN = "ZSCC: 0000042\r\nCitation Key: smith{n}\r\ntex.howpublished= online"
ITEMS = 120


def arxiv_of(n: int) -> str | None:
    """Kind 0: a preprint (archiveID); kind 3: a journal article with an arXiv URL."""
    if n % 4 == 0:
        return f"18{n % 12 + 1:02d}.{10000 + n}"
    if n % 4 == 3:
        return f"17{n % 12 + 1:02d}.{20000 + n}"
    return None


def title_of(n: int) -> str:
    return f"Paper {n} on engines of analysis"


@dataclass
class Mirror:
    root: Path
    numbers: dict[str, str]  # arXiv id -> pith number


@pytest.fixture(scope="module")
def mirror(tmp_path_factory: pytest.TempPathFactory) -> Mirror:
    """One signed bundle per arXiv id of the library (and one extra paper)."""
    root = tmp_path_factory.mktemp("mirror")
    numbers: dict[str, str] = {}
    papers = [(arxiv_of(n), title_of(n)) for n in range(ITEMS) if arxiv_of(n)]
    for arxiv, title in [*papers, ("1905.00001", "A real paper with real authors")]:
        assert arxiv is not None
        doc = build_bundle(arxiv, 1, title, "2019-05-01T00:00:00Z", SIGNER, "test-key",
                           authors=SIGNED_AUTHORS)
        folder = root / "pith" / doc["pith_number"].rsplit(":", 1)[1]
        folder.mkdir(parents=True)
        (folder / "bundle.json").write_bytes(document_bytes(doc))
        numbers[arxiv] = doc["pith_number"]
    return Mirror(root, numbers)


def populate(fake: FakeZotero, count: int = ITEMS) -> None:
    """Preprints, journal articles with unsigned DOIs, books, and other plugins' lines."""
    for n in range(count):
        data: dict[str, Any] = {"title": title_of(n), "creators": CREATORS}
        kind = n % 4
        if kind == 0:
            data |= {"itemType": "preprint", "archiveID": f"arXiv:{arxiv_of(n)}"}
        elif kind == 1:
            data |= {"itemType": "journalArticle", "DOI": f"10.1000/j.{n}"}
        elif kind == 2:
            data |= {"itemType": "book"}
        else:
            data |= {"itemType": "journalArticle", "extra": OTHER_PLUGIN.format(n=n),
                     "url": f"https://arxiv.org/abs/{arxiv_of(n)}"}
        fake.add_item(key(n), data)


@pytest.fixture
def fake() -> Iterator[FakeZotero]:
    with FakeZotero() as server:
        yield server


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no config file from the checkout
    monkeypatch.setenv("ZOTERO_API_KEY", API_KEY)
    monkeypatch.delenv("PITH_BIB_TRUST_KEYS", raising=False)
    monkeypatch.setenv("PITH_BIB_CACHE_DIR", str(tmp_path / "default-cache"))


def run(*argv: str) -> int:
    """The command as ``pith-bib`` runs it: the module's own parser, then ``run(args)``."""
    parser = argparse.ArgumentParser(prog="pith-bib")
    zotero_command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["zotero", *argv])
    assert args.handler is zotero_command.run
    return args.handler(args)


def base_args(fake: FakeZotero, mirror: Mirror, cache: Path) -> list[str]:
    return ["--library", LIBRARY, "--zotero-url", fake.url, "--mirror", str(mirror.root),
            "--cache-dir", str(cache), *TRUST]


def writes(fake: FakeZotero) -> list[Any]:
    return [r for r in fake.requests() if r.method in ("POST", "PATCH", "PUT")]


def ours(number: str, ending: str = "\n") -> str:
    return f"tex.pith: {number}{ending}tex.pith_status: verified"


def test_a_mixed_library_is_annotated_and_a_second_run_writes_nothing(
        fake: FakeZotero, mirror: Mirror, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    populate(fake)
    args = base_args(fake, mirror, tmp_path / "cache")
    assert run(*args) == 0
    out = capsys.readouterr().out
    assert (f"{LIBRARY}: 120 items, 90 with identifiers (30 not-found, 60 verified); "
            "60 items changed") in out
    assert f"wrote 60 items in {LIBRARY}" in out
    assert len(writes(fake)) == math.ceil(60 / 50)
    for n in range(ITEMS):
        extra = fake.extra(key(n))
        if n % 4 == 0:
            assert extra == ours(mirror.numbers[arxiv_of(n)])  # type: ignore[index]
        elif n % 4 == 3:  # other plugins' lines byte for byte, CRLF kept
            assert extra == (OTHER_PLUGIN.format(n=n) + "\r\n"
                             + ours(mirror.numbers[arxiv_of(n)], "\r\n"))  # type: ignore[index]
        else:
            assert extra == ""

    before = len(fake.requests())
    assert run(*args) == 0  # incremental: one read, nothing to judge
    assert len(fake.requests()) - before == 1 and len(writes(fake)) == 2
    assert "already up to date" in capsys.readouterr().out

    before = len(fake.requests())
    assert run(*args, "--full", "--json") == 0
    assert len(writes(fake)) == 2 and len(fake.requests()) - before == math.ceil(120 / 100)
    records = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    assert records[key(0)]["status"] == "verified"
    assert records[key(0)]["action"] == "unchanged"
    assert records[key(0)]["pith_number"] == mirror.numbers[arxiv_of(0)]  # type: ignore[index]
    assert records[key(1)]["status"] == "not-found" and records[key(1)]["action"] == "none"
    assert records[key(2)]["status"] == "no-identifier"
    assert records[key(2)]["title"] == title_of(2) and records[key(2)]["library"] == LIBRARY


def test_the_api_key_is_never_printed_nor_stored(
        fake: FakeZotero, mirror: Mirror, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    populate(fake, 8)
    lock = tmp_path / "zotero.pith-lock.json"
    assert run(*base_args(fake, mirror, tmp_path / "cache"), "--lock", str(lock), "-v") == 0
    captured = capsys.readouterr()
    assert API_KEY not in captured.out + captured.err
    stored = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert lock in stored and any(p.parent.name == "zotero" for p in stored)
    assert not [p for p in stored if API_KEY.encode() in p.read_bytes()]


def test_a_concurrent_user_edit_is_kept_and_the_number_still_lands(
        fake: FakeZotero, mirror: Mirror, tmp_path: Path) -> None:
    populate(fake, 8)

    def user_types(server: FakeZotero, batch: list[dict[str, Any]]) -> None:
        server.user_edit(key(0), extra="Citation Key: mykey", abstractNote="Mine.")

    fake.before_write = user_types
    assert run(*base_args(fake, mirror, tmp_path / "cache")) == 0
    number = mirror.numbers[arxiv_of(0)]  # type: ignore[index]
    assert fake.extra(key(0)) == "Citation Key: mykey\n" + ours(number)
    assert fake.items[key(0)]["data"]["abstractNote"] == "Mine."


def test_failed_objects_are_reported_exactly(fake: FakeZotero, mirror: Mirror, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    populate(fake, 40)
    fake.fail_objects[key(4)] = (400, "Invalid field")
    fake.fail_objects[key(7)] = (500, "Server error")
    assert run(*base_args(fake, mirror, tmp_path / "cache")) == 1
    out = capsys.readouterr().out
    failed = re.findall(r"^(\w{8}) \"[^\"]*\": not written: (.*)$", out, re.MULTILINE)
    assert sorted(failed) == [(key(4), "Zotero refused the write (400): Invalid field"),
                              (key(7), "Zotero refused the write (500): Server error")]
    assert fake.extra(key(4)) == "" and fake.extra(key(7)) == OTHER_PLUGIN.format(n=7)
    assert fake.extra(key(0)).startswith("tex.pith: ")
    assert run(*base_args(fake, mirror, tmp_path / "cache")) == 0  # the retry lands them
    assert fake.extra(key(4)).startswith("tex.pith: ")


@pytest.mark.parametrize("flag", ["--dry-run", "--diff"])
def test_dry_run_and_diff_send_no_write(fake: FakeZotero, mirror: Mirror, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str], flag: str) -> None:
    populate(fake, 8)
    assert run(*base_args(fake, mirror, tmp_path / "cache"), flag) == 0
    assert writes(fake) == [] and {r.method for r in fake.requests()} == {"GET"}
    out = capsys.readouterr().out
    assert "4 items would change" in out and "dry run, nothing written" in out
    number = mirror.numbers[arxiv_of(3)]  # type: ignore[index]
    assert (f"+tex.pith: {number}" in out) == (flag == "--diff")
    assert all(fake.extra(key(n)) in ("", OTHER_PLUGIN.format(n=n)) for n in range(8))
    assert not (tmp_path / "cache" / "zotero").exists()  # no state: the next run reads all


def test_a_wrong_key_is_one_clear_error_line(fake: FakeZotero, mirror: Mirror, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    populate(fake, 8)
    wrong = "WrongKey0123456789abcdef"
    monkeypatch.setenv("ZOTERO_API_KEY", wrong)
    assert run(*base_args(fake, mirror, tmp_path / "cache")) == 2
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if "trusting extra key" not in line]
    assert len(lines) == 1 and lines[0].startswith("pith-bib: error: Zotero refused the API key")
    assert wrong not in captured.err + captured.out and captured.out == ""
    assert writes(fake) == []

    monkeypatch.delenv("ZOTERO_API_KEY")
    assert run(*base_args(fake, mirror, tmp_path / "cache")) == 2
    err = capsys.readouterr().err
    assert "pith-bib: error: set the environment variable ZOTERO_API_KEY" in err


def test_an_unreachable_server_exits_1_with_nothing_written(
        mirror: Mirror, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    lock = tmp_path / "z.pith-lock.json"
    args = ["--library", LIBRARY, "--zotero-url", f"http://127.0.0.1:{port}", "--mirror",
            str(mirror.root), "--cache-dir", str(tmp_path / "cache"), *TRUST, "--lock", str(lock)]
    assert run(*args) == 1
    assert "cannot reach the Zotero API" in capsys.readouterr().err
    assert not lock.exists() and not (tmp_path / "cache" / "zotero").exists()


def test_fabricated_co_authors_are_an_author_mismatch_and_get_no_number(
        fake: FakeZotero, mirror: Mirror, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    invented = [{"creatorType": "author", "firstName": given, "lastName": family}
                for given, family in (("Ivan", "Madeup"), ("Mary", "Invented"))]
    fake.add_item(key(1), {"itemType": "preprint", "title": "A real paper with real authors",
                           "archiveID": "arXiv:1905.00001", "creators": [CREATORS[0], *invented]})
    assert run(*base_args(fake, mirror, tmp_path / "cache")) == 1
    out = capsys.readouterr().out
    assert f'{key(1)} "A real paper with real authors": author-mismatch: ' in out
    assert "Madeup" in out and fake.extra(key(1)) == "" and writes(fake) == []


def test_offline_works_from_the_cache_and_never_removes_our_lines(
        fake: FakeZotero, mirror: Mirror, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    populate(fake, 8)
    cache = tmp_path / "cache"
    assert run(*base_args(fake, mirror, cache)) == 0
    before = {n: fake.extra(key(n)) for n in range(8)}
    offline = ["--library", LIBRARY, "--zotero-url", fake.url, "--offline", "--full",
               "--mirror", "https://registry.invalid", *TRUST]
    assert run(*offline, "--cache-dir", str(cache)) == 0  # everything is in the cache
    assert len(writes(fake)) == 1
    capsys.readouterr()
    assert run(*offline, "--cache-dir", str(tmp_path / "empty"), "--json") == 1
    records = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    assert records[key(0)]["action"] == "kept"
    assert records[key(0)]["status"] in ("unavailable", "invalid")
    assert {n: fake.extra(key(n)) for n in range(8)} == before and len(writes(fake)) == 1


def check(bib: Path, lock: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(["check", str(bib), "--lock", str(lock), *TRUST])
    return code, capsys.readouterr().out


def test_check_passes_on_the_better_bibtex_export_with_the_lock(
        fake: FakeZotero, mirror: Mirror, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    populate(fake)
    lock = tmp_path / "library.pith-lock.json"
    assert run(*base_args(fake, mirror, tmp_path / "cache"), "--lock", str(lock)) == 0
    assert str(lock) in capsys.readouterr().out
    bib = tmp_path / "library.bib"
    bib.write_text(export(fake), encoding="utf-8")
    text = bib.read_text()
    assert "@misc{" in text and "howpublished = {online}" in text and "@book{" in text
    assert "@article{smith3," in text and "pith_status = {verified}" in text
    code, out = check(bib, lock, capsys)
    assert code == 0, out
    assert ("90 entries with identifiers, 30 passed only as not-found in the lock, "
            "0 problems") in out

    # A second run with the lock rewrites neither Zotero nor the lock.
    stamp = lock.stat().st_mtime_ns
    assert run(*base_args(fake, mirror, tmp_path / "cache"), "--lock", str(lock)) == 0
    assert len(writes(fake)) == 2 and lock.stat().st_mtime_ns == stamp

    # Someone moves paper 4's number onto paper 0 in Zotero: check on the export fails.
    wrong = mirror.numbers[arxiv_of(4)]  # type: ignore[index]
    fake.user_edit(key(0), extra=ours(wrong))
    bib.write_text(export(fake), encoding="utf-8")
    code, out = check(bib, lock, capsys)
    assert code == 1 and "1 problem" in out
    assert re.search(rf"^{re.escape(str(bib))}:\d+: {key(0).lower()}: ", out, re.MULTILINE)


def test_the_local_api_reads_without_a_key_and_never_writes(
        mirror: Mirror, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("ZOTERO_API_KEY")
    with FakeZotero(library="users/0", api_key=None) as local:  # type: ignore[arg-type]
        populate(local, 8)
        code = run("--local-api", "--zotero-url", local.url, "--mirror", str(mirror.root),
                   "--cache-dir", str(tmp_path / "cache"), *TRUST, "--json")
        assert code == 0 and writes(local) == []
        assert all(r.path.startswith("/users/0/") for r in local.requests())
    records = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    assert records[key(0)]["action"] == "would-add"
    assert records[key(0)]["pith_number"] == mirror.numbers[arxiv_of(0)]  # type: ignore[index]


def test_an_unreachable_registry_is_transient_writes_nothing_and_keeps_no_state(
        fake: FakeZotero, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    populate(fake, 8)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = ["--library", LIBRARY, "--zotero-url", fake.url, "--mirror",
            f"http://127.0.0.1:{port}", "--cache-dir", str(tmp_path / "cache"), *TRUST]
    assert run(*args, "--json") == 1
    records = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    assert records[key(0)]["status"] == "unavailable" and records[key(0)]["action"] == "none"
    assert writes(fake) == [] and not list((tmp_path / "cache").glob("zotero/*.json"))


def test_a_number_of_another_paper_or_two_numbers_are_reported_and_kept(
        fake: FakeZotero, mirror: Mirror, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    populate(fake, 8)
    first, other = (mirror.numbers[arxiv_of(n)] for n in (0, 4))  # type: ignore[index]
    moved = f"Citation Key: k0\ntex.pith: {other}"
    twice = f"tex.pith: {first}\ntex.pith: {other}"
    fake.user_edit(key(0), extra=moved)
    fake.user_edit(key(4), extra=twice)
    assert run(*base_args(fake, mirror, tmp_path / "cache"), "--json") == 1
    records = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    assert records[key(0)]["status"] == "pith-mismatch"
    assert records[key(0)]["action"] == "kept" and records[key(0)]["pith_number"] == other
    assert records[key(4)]["status"] == "conflict" and records[key(4)]["action"] == "none"
    assert fake.extra(key(0)) == moved and fake.extra(key(4)) == twice
    assert fake.extra(key(3)).endswith("tex.pith_status: verified")  # the rest still lands
