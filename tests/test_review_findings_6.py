"""Sixth attacker's review: the batched cold store, ``_uncached`` and the lean parser.

Its findings, fixed: a process-wide writer mutex (since removed) made threads wait
out SQLite's busy timeout one after another; a document another process stored
during the run was skipped; an interrupted flush lost its batch; ``--he`` before a
command showed a one-command help. The rest pins down behaviour found to hold.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from pith_bib import cache as cache_module
from pith_bib.cache import Cache
from pith_bib.cli import main
from pith_bib.errors import CacheError
from pith_bib.evidence import evidence_of
from pith_bib.lock import encode_evidence
from pith_bib.policy import signed_aliases
from pith_bib.publish import build_bundle, document_bytes, resign_bundle
from pith_bib.resolver import parse_query
from pith_bib.settings import Settings
from pith_bib.trust import TrustRoot
from pith_bib.verify import verify_document
from tests.mirror_server import MirrorServer
from tests.support import fixed_key

KEY = fixed_key(66)
KEY_HEX = bytes(KEY.verify_key).hex()
TRUST = TrustRoot.default().with_hex_key(KEY_HEX, origin="test")


def _bundle(n: int, title: str = "Review", built_at: str | None = None) -> tuple[str, bytes]:
    doc = build_bundle(f"2305.{n:05d}", 1, f"{title} {n}", "2023-05-01T00:00:00Z", KEY, "k")
    if built_at is not None:
        doc = json.loads(json.dumps(doc))
        doc["built_at"] = built_at
        doc = resign_bundle(doc, KEY, "k")
    return doc["pith_number"], document_bytes(doc)


def _stored(data: bytes) -> tuple[bytes, object, object, object]:
    report = verify_document(data, TRUST)
    assert report.ok
    return data, report, encode_evidence(evidence_of(data, report)), signed_aliases(report)


def _pid(number: str) -> str:
    return number.rsplit(":", 1)[1]


# -- a writer mutex once turned one busy timeout into one per thread, in turn --------
def test_every_writer_gives_up_on_a_cache_another_process_holds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process holds the write lock (a hung run, a ``sqlite3`` shell): each
    thread's write waits its busy timeout and fails as a CacheError, none hangs."""
    monkeypatch.setattr(cache_module, "BUSY_TIMEOUT_SECONDS", 0.5)
    cache = Cache(tmp_path)
    cache.put(*_stored(_bundle(0)[1]))  # type: ignore[arg-type]  # the file exists, in WAL
    docs = [_bundle(n)[1] for n in range(1, 5)]
    errors: list[BaseException] = []
    ready = threading.Barrier(len(docs) + 1)

    def writer(data: bytes) -> None:
        cache.get(_pid(_bundle(0)[0]))  # this thread's connection, opened before the lock
        ready.wait()
        try:
            cache.put_many([_stored(data)])  # type: ignore[list-item]
        except CacheError as exc:
            errors.append(exc)

    other = sqlite3.connect(cache.path, isolation_level=None)
    try:
        threads = [threading.Thread(target=writer, args=(d,)) for d in docs]
        for thread in threads:
            thread.start()
        other.execute("BEGIN IMMEDIATE")  # "another process" takes the write lock
        ready.wait()
        for thread in threads:
            thread.join(30)
        hung = [thread for thread in threads if thread.is_alive()]
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert not hung and len(errors) == len(docs)
    assert all("locked" in str(error) for error in errors)


# -- finding: a prefix of --help before a core command showed a one-command help ---------
# (held: -h first, and a mistyped command, name every command too)
EVERY_COMMAND = ("verify", "resolve", "annotate", "check", "watch", "cache", "latex",
                 "mirror", "zotero")


@pytest.mark.parametrize(("argv", "code"), [
    (["--he", "check"], 0), (["--hel", "check"], 0), (["-h", "check"], 0),
    (["chek", "x.bib"], 2),
])
def test_help_before_a_command_and_a_mistyped_command_name_every_command(
        argv: list[str], code: int, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == code
    shown = capsys.readouterr()
    text = shown.out if code == 0 else shown.err
    if code == 2:
        assert "invalid choice: 'chek'" in text
    for command in EVERY_COMMAND:
        assert (f"    {command} " if code == 0 else f"'{command}'") in text, \
            f"{command} missing from `pith-bib {' '.join(argv)}`"


# -- finding: a number another process stores during the run is never read -------------
def test_a_document_stored_by_another_process_during_the_run_is_used(
        tmp_path: Path) -> None:
    """When the batch's verdicts were read the cache did not hold X; another process
    stores it before this run's search reaches X, and the mirror does not have it. The
    old search read the cache first and answered from it; ``_uncached`` skips it."""
    first, second = _bundle(10, "First"), _bundle(11, "Second")
    with MirrorServer() as server:
        server.add_document(_pid(first[0]), "bundle", first[1])  # the mirror lacks `second`
        resolver = Settings(mirrors=[server.url], cache_dir=tmp_path,
                            trust_keys=[KEY_HEX]).resolver()
        resolver.jobs = 1

        def other_process(done: int, total: int) -> None:
            if done == 1:
                Cache(tmp_path).put(*_stored(second[1]))  # type: ignore[arg-type]

        results = resolver.resolve_many([parse_query(first[0]), parse_query(second[0])],
                                        progress=other_process)
    assert results[0].status == "verified"
    assert results[1].status == "verified", results[1].reasons
    assert results[1].source == "cache"


# -- held: the batch's rollback refusal is the per-document transaction's ---------------
def _state(cache: Cache, pid: str) -> tuple[bytes, object] | None:
    found = cache.get(pid)
    return None if found is None else (found[0], found[1])


@pytest.mark.parametrize("order", ["old-new", "new-old", "new-old-new", "same-twice"])
def test_one_pith_id_twice_in_a_batch_ends_as_sequential_puts(tmp_path: Path,
                                                               order: str) -> None:
    number, older = _bundle(20, "Twice", "2023-05-02T00:00:00Z")
    _, newer = _bundle(20, "Twice", "2031-01-01T00:00:00Z")
    docs = {"old-new": [older, newer], "new-old": [newer, older],
            "new-old-new": [newer, older, newer], "same-twice": [older, older]}[order]
    one, many = Cache(tmp_path / "one"), Cache(tmp_path / "many")
    for data in docs:
        one.put(*_stored(data))  # type: ignore[arg-type]
    many.put_many([_stored(d) for d in docs])  # type: ignore[misc]
    assert _state(one, _pid(number)) == _state(many, _pid(number))
    assert one.info()["documents"] == many.info()["documents"] == 1
    expected = newer if order != "same-twice" else older
    assert many.get(_pid(number))[0] == expected  # type: ignore[index]


def test_a_batch_never_rolls_back_a_newer_document_already_stored(tmp_path: Path) -> None:
    number, older = _bundle(21, "Rollback", "2023-05-02T00:00:00Z")
    _, newer = _bundle(21, "Rollback", "2031-01-01T00:00:00Z")
    cache = Cache(tmp_path)
    cache.put(*_stored(newer))  # type: ignore[arg-type]
    cache.put_many([_stored(_bundle(22)[1]), _stored(older)])  # type: ignore[list-item]
    assert cache.get(_pid(number))[0] == newer  # type: ignore[index]


def test_a_batch_with_one_unverified_document_stores_none_of_it(tmp_path: Path) -> None:
    good, bad = _bundle(23)[1], _bundle(24)[1]
    unverified = verify_document(bad, TrustRoot.default())
    cache = Cache(tmp_path)
    with pytest.raises(CacheError):
        cache.put_many([_stored(good),  # type: ignore[list-item]
                        (bad, unverified, encode_evidence({}), [])])
    assert cache.info()["documents"] == 0


# -- held: one resolver over several files; the cache answers what the last file stored --
def test_the_next_file_of_a_run_reads_what_the_previous_file_stored(tmp_path: Path) -> None:
    number, data = _bundle(30, "Shared")
    with MirrorServer() as server:
        server.add_document(_pid(number), "bundle", data)
        resolver = Settings(mirrors=[server.url], cache_dir=tmp_path,
                            trust_keys=[KEY_HEX]).resolver()
        assert resolver.resolve_many([parse_query(number)])[0].source == server.url
        server.files.clear()  # the mirror forgets it: only the cache can answer now
        again = resolver.resolve_many([parse_query(number)])
    assert again[0].status == "verified" and again[0].source == "cache"


def test_a_cold_run_goes_on_without_a_cache_another_process_holds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same through the resolver: every paper is still verified, and the run says
    once that the cache is not usable."""
    from pith_bib import resolver as resolver_module

    monkeypatch.setattr(cache_module, "BUSY_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(resolver_module, "STORE_BATCH", 1)
    bundles = [_bundle(n, "Locked") for n in range(40, 48)]
    Cache(tmp_path).put(*_stored(_bundle(49)[1]))  # type: ignore[arg-type]
    with MirrorServer(latency=0.05) as server:
        for number, data in bundles:
            server.add_document(_pid(number), "bundle", data)
        resolver = Settings(mirrors=[server.url], cache_dir=tmp_path,
                            trust_keys=[KEY_HEX]).resolver()
        resolver.jobs = len(bundles)
        other = sqlite3.connect(Cache(tmp_path).path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            results = resolver.resolve_many([parse_query(n) for n, _ in bundles])
        finally:
            other.execute("ROLLBACK")
            other.close()
    assert [r.status for r in results] == ["verified"] * len(bundles)
    assert sum("not usable" in w for w in resolver.warnings) == 1


def test_an_interrupted_flush_keeps_its_batch_for_the_final_flush(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while a flush waits for the write lock: the batch it took from the queue
    is dropped, and the ``finally`` flush finds the queue empty. Per document, all but
    the interrupted one were already committed."""
    from pith_bib import resolver as resolver_module

    monkeypatch.setattr(resolver_module, "STORE_BATCH", 3)
    bundles = [_bundle(n, "Interrupted") for n in range(50, 56)]
    original = Cache.put_many
    calls: list[int] = []

    def interrupted_once(self: Cache, documents: object) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt  # arrives while waiting on the write lock
        original(self, documents)  # type: ignore[arg-type]

    monkeypatch.setattr(Cache, "put_many", interrupted_once)
    with MirrorServer() as server:
        for number, data in bundles:
            server.add_document(_pid(number), "bundle", data)
        resolver = Settings(mirrors=[server.url], cache_dir=tmp_path,
                            trust_keys=[KEY_HEX]).resolver()
        resolver.jobs = 1
        with pytest.raises(KeyboardInterrupt):
            resolver.resolve_many([parse_query(n) for n, _ in bundles])
    stored = Cache(tmp_path).verdicts([_pid(n) for n, _ in bundles], TRUST)
    assert len(stored) >= 2, "the verified documents of the interrupted batch were lost"
