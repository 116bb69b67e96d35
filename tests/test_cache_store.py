"""The single-file cache store: concurrency, self-healing, folder safety, bound verdicts."""

from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import os
import random
import sqlite3
import stat
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest

from pith_bib import TrustRoot, verdict_key, verify_document
from pith_bib import cache as cache_module
from pith_bib.cache import DB_NAME, FOLDER_NAME, MARKER_NAME, Cache
from pith_bib.canonical import canonical_text
from pith_bib.errors import CacheError
from pith_bib.publish import build_bundle, document_bytes, resign_bundle
from tests.cli_support import SAMPLE_MIRROR, copy_sample, run_cli
from tests.support import REGISTRY, cache_put, fixed_key, seed_bytes

KEY = fixed_key(41)
TRUST = TrustRoot.default().with_key(bytes(KEY.verify_key))
SEED = "001_702a4949302f7c0a.txt"
SEED_ID = "DM6GBYSNJHDMWLODXZBVEPYJHJ"


@contextmanager
def database(root: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(root / FOLDER_NAME / DB_NAME)) as conn:
        yield conn
        conn.commit()


def seeded(root: Path) -> Cache:
    cache = Cache(root)
    data = seed_bytes(SEED)
    assert cache_put(cache, data, verify_document(data, REGISTRY)) is True
    return cache


def pair(arxiv_id: str) -> tuple[bytes, bytes]:
    """An older and a newer signed bundle of the same record."""
    old = build_bundle(arxiv_id, 1, f"Paper {arxiv_id}", "2021-06-01T00:00:00Z", KEY, "k")
    new = json.loads(json.dumps(old))
    new["built_at"] = "2031-01-01T00:00:00Z"
    return document_bytes(old), document_bytes(resign_bundle(new, KEY, "k"))


# -- several processes, several threads ------------------------------------------------
def _writer(root: str, docs: list[bytes], seed: int) -> int:
    """One process: puts every document in its own order, then reads each verdict back."""
    trust = TrustRoot.default().with_key(bytes(fixed_key(41).verify_key))
    cache = Cache(root)
    order = list(docs)
    random.Random(seed).shuffle(order)
    reports = {}
    for data in order:
        report = verify_document(data, trust)
        cache_put(cache, data, report)
        reports[report.pith_number] = report
    seen = 0
    for number in reports:
        found = cache.get(number.rsplit(":", 1)[1])
        seen += found is not None and cache.get_verdict(found[1].pith_id, trust) is not None
    return seen


def test_eight_processes_write_and_read_one_store(tmp_path: Path) -> None:
    pairs = [pair(f"2106.{n:05d}") for n in range(30)]
    docs = [d for p in pairs for d in p]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=8, mp_context=context) as pool:
        seen = list(pool.map(_writer, [str(tmp_path)] * 8, [docs] * 8, range(8)))
    assert seen == [30] * 8  # every process read a usable verdict for every record
    cache = Cache(tmp_path)
    info = cache.info()
    assert (info["records"], info["documents"]) == (30, 30)  # replaced documents are dropped
    for _old, new in pairs:
        report = verify_document(new, TRUST)
        data, record = cache.get(report.pith_number.rsplit(":", 1)[1])  # type: ignore[misc, union-attr]
        assert data == new and record.built_at == "2031-01-01T00:00:00Z"  # never rolled back
    with database(tmp_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_threads_of_one_process_each_get_their_own_connection(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    docs = [pair(f"2108.{n:05d}")[0] for n in range(16)]
    connections: set[int] = set()
    guard = threading.Lock()

    def work(data: bytes) -> bool:
        report = verify_document(data, TRUST)
        cache_put(cache, data, report)
        with guard:
            connections.add(id(cache._local.conn))
        return cache.get_verified(report.pith_number.rsplit(":", 1)[1], TRUST) is not None  # type: ignore[union-attr]

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(work, docs))
    assert len(connections) == 4
    assert cache.info()["records"] == 16


# -- a damaged store heals -------------------------------------------------------------
def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not an SQLite file " * 200)


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:60])


def _foreign(path: Path) -> None:
    path.unlink()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.commit()


def _old_version(path: Path) -> None:
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA user_version = 1")
        conn.commit()


@pytest.mark.parametrize("damage", [_garbage, _truncated, _foreign, _old_version])
def test_a_damaged_store_is_recreated_not_fatal(tmp_path: Path, damage: Any) -> None:
    seeded(tmp_path).close()
    db = tmp_path / FOLDER_NAME / DB_NAME
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    damage(db)
    cache = Cache(tmp_path)
    assert cache.get(SEED_ID) is None  # healed on first use: no error, nothing stale
    assert cache.info()["documents"] == 0
    data = seed_bytes(SEED)
    assert cache_put(cache, data, verify_document(data, REGISTRY)) is True
    assert cache.get(SEED_ID)[0] == data  # type: ignore[index]


def test_a_store_damaged_while_open_is_healed(tmp_path: Path) -> None:
    cache = seeded(tmp_path)
    db = tmp_path / FOLDER_NAME / DB_NAME
    cache.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    _garbage(db)
    data = seed_bytes(SEED)
    assert cache_put(cache, data, verify_document(data, REGISTRY)) is True
    assert Cache(tmp_path).get(SEED_ID)[0] == data  # type: ignore[index]


# -- the folder: symlinks, marker, modes ---------------------------------------------------
def test_a_symlinked_cache_folder_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    seeded(elsewhere / "real").close()  # a genuine, marked cache folder: the tempting target
    target = elsewhere / "real" / FOLDER_NAME
    before = sorted(p.name for p in target.iterdir())
    root = tmp_path / "root"
    root.mkdir()
    (root / FOLDER_NAME).symlink_to(target, target_is_directory=True)
    cache = Cache(root)
    data = seed_bytes(SEED)
    with pytest.raises(CacheError, match="symbolic link"):
        cache_put(cache, data, verify_document(data, REGISTRY))
    with pytest.raises(CacheError, match="symbolic link"):
        cache.get(SEED_ID)
    with pytest.raises(CacheError):
        cache.clear()
    assert sorted(p.name for p in target.iterdir()) == before
    assert (root / FOLDER_NAME).is_symlink()


def test_a_symlinked_database_file_is_refused(tmp_path: Path) -> None:
    seeded(tmp_path).close()
    db = tmp_path / FOLDER_NAME / DB_NAME
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    db.unlink()
    db.symlink_to(victim)
    with pytest.raises(CacheError, match="symbolic link"):
        Cache(tmp_path).get(SEED_ID)
    data = seed_bytes(SEED)
    with pytest.raises(CacheError, match="symbolic link"):
        cache_put(Cache(tmp_path), data, verify_document(data, REGISTRY))
    assert victim.read_bytes() == b"precious"


def test_clear_removes_only_the_marked_folder(tmp_path: Path) -> None:
    (tmp_path / "v1").mkdir()
    (tmp_path / "v1" / "spec.md").write_text("a foreign v1 folder")
    (tmp_path / "notes.txt").write_text("the user's notes")
    cache = seeded(tmp_path)
    assert (tmp_path / FOLDER_NAME / MARKER_NAME).read_bytes().startswith(
        b"Signature: 8a477f597d28d172789f06886806bc55")
    assert cache.clear() == 1
    assert not (tmp_path / FOLDER_NAME).exists()
    assert (tmp_path / "v1" / "spec.md").read_text() == "a foreign v1 folder"
    assert (tmp_path / "notes.txt").read_text() == "the user's notes"
    assert cache.info()["documents"] == 0
    assert cache.clear() == 0
    seeded(tmp_path)  # usable again after a clear


def test_an_unmarked_folder_of_the_same_name_is_never_used_or_removed(tmp_path: Path) -> None:
    folder = tmp_path / FOLDER_NAME
    folder.mkdir()
    (folder / "thesis.tex").write_text("not a cache")
    cache = Cache(tmp_path)
    with pytest.raises(CacheError, match=MARKER_NAME):
        cache.clear()
    data = seed_bytes(SEED)
    with pytest.raises(CacheError, match=MARKER_NAME):
        cache_put(cache, data, verify_document(data, REGISTRY))
    assert sorted(p.name for p in folder.iterdir()) == ["thesis.tex"]


def test_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    root = tmp_path / "shared-folder"
    root.mkdir()
    os.chmod(root, 0o755)
    cache = seeded(root)
    cache.info()
    cache.clear()
    seeded(root)
    assert stat.S_IMODE(root.stat().st_mode) == 0o755
    assert stat.S_IMODE((root / FOLDER_NAME).stat().st_mode) == 0o700
    created = tmp_path / "a" / "b"
    seeded(created)
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE(created.stat().st_mode) == 0o700


# -- verdicts are bound to their evidence ---------------------------------------------
ATTACKER_KEY = bytes(range(32))  # not this user's verdict key


def _rebind(conn: sqlite3.Connection, report: dict[str, Any] | None = None,
            evidence: bytes | None = None, key: bytes | None = None) -> None:
    """Rewrite a stored verdict and/or evidence and recompute every hash and the binding,
    as a tamperer with write access to the cache would, under ``key`` (default: this
    user's own key, for the control case)."""
    (text, evidence_sha) = conn.execute("SELECT report, evidence_sha256 FROM records").fetchone()
    if evidence is not None:
        evidence_sha = hashlib.sha256(evidence).hexdigest()
        conn.execute("DELETE FROM evidence")
        conn.execute("INSERT INTO evidence VALUES (?, ?)", (evidence_sha, evidence))
    if report is not None:
        text = canonical_text(report)
    if key is None:
        binding = verdict_key.bind(evidence_sha, text)
    else:
        message = (evidence_sha + "\n" + text).encode("utf-8")
        binding = hmac.digest(key, message, "sha256").hex()
    conn.execute("UPDATE records SET report = ?, evidence_sha256 = ?, verdict_sha256 = ?",
                 (text, evidence_sha, binding))


def _stored_report(root: Path) -> dict[str, Any]:
    with database(root) as conn:
        return json.loads(conn.execute("SELECT report FROM records").fetchone()[0])


def test_a_consistent_forgery_without_the_key_is_not_reused(tmp_path: Path) -> None:
    """Evidence and report forged to agree (other authors), bound by a plain hash as
    anyone who can write the cache could compute it: never reused."""
    cache = seeded(tmp_path)
    report = _stored_report(tmp_path)
    with database(tmp_path) as conn:
        (raw,) = conn.execute("SELECT data FROM evidence").fetchone()
        evidence = json.loads(raw)
        paper = evidence["title_event"]["payload"]["graph_snapshot"]["paper"]
        paper["authors_text"] = report["authors"] = "John Smith, Jane Doe"
        forged = canonical_text(evidence).encode()
        evidence_sha = hashlib.sha256(forged).hexdigest()
        text = canonical_text(report)
        conn.execute("DELETE FROM evidence")
        conn.execute("INSERT INTO evidence VALUES (?, ?)", (evidence_sha, forged))
        conn.execute("UPDATE records SET report = ?, evidence_sha256 = ?, verdict_sha256 = ?",
                     (text, evidence_sha,
                      hashlib.sha256((evidence_sha + text).encode()).hexdigest()))
    assert cache.get_verdict(SEED_ID, REGISTRY) is None
    assert cache.verdicts([SEED_ID], REGISTRY) == {}


def test_rebinding_an_unchanged_verdict_keeps_it_usable(tmp_path: Path) -> None:
    """The control for the tests below: the tamper helper itself breaks nothing."""
    cache = seeded(tmp_path)
    with database(tmp_path) as conn:
        _rebind(conn, report=_stored_report(tmp_path))
    assert cache.get_verdict(SEED_ID, REGISTRY) is not None


@pytest.mark.parametrize(("field", "value"), [("arxiv_id", "1802.04934"),
                                              ("title", "A Different Title"),
                                              ("arxiv_version", 1),
                                              ("authors", "Someone Else")])
def test_an_edited_verdict_is_not_reused(tmp_path: Path, field: str, value: Any) -> None:
    cache = seeded(tmp_path)
    report = _stored_report(tmp_path)
    report[field] = value
    with database(tmp_path) as conn:
        _rebind(conn, report=report, key=ATTACKER_KEY)
    assert cache.get_verdict(SEED_ID, REGISTRY) is None
    assert cache.verdicts([SEED_ID], REGISTRY) == {}
    assert cache.get_verified(SEED_ID, REGISTRY) is None
    assert cache.get(SEED_ID) is not None  # the document is still there to verify again


def test_a_verdict_from_an_older_format_is_not_reused(tmp_path: Path) -> None:
    cache = seeded(tmp_path)
    report = _stored_report(tmp_path)
    del report["authors"]
    with database(tmp_path) as conn:
        _rebind(conn, report=report)
    assert cache.get_verdict(SEED_ID, REGISTRY) is None


def test_an_edited_evidence_blob_is_not_reused(tmp_path: Path) -> None:
    cache = seeded(tmp_path)
    with database(tmp_path) as conn:
        (evidence,) = conn.execute("SELECT data FROM evidence").fetchone()
    forged = evidence.replace(b"Exploring Hidden", b"Exploring Hiding")
    assert forged != evidence
    with database(tmp_path) as conn:
        _rebind(conn, evidence=forged, key=ATTACKER_KEY)
    assert cache.get_verdict(SEED_ID, REGISTRY) is None


def test_evidence_bytes_that_no_longer_hash_are_dropped(tmp_path: Path) -> None:
    cache = seeded(tmp_path)
    with database(tmp_path) as conn:
        conn.execute("UPDATE evidence SET data = replace(data, ?, ?)",
                     (b"1802.04924", b"1802.04925"))
    assert cache.get_verdict(SEED_ID, REGISTRY) is None
    with database(tmp_path) as conn:
        assert conn.execute("SELECT count(*) FROM evidence").fetchone() == (0,)


def test_a_row_that_is_not_utf8_is_refused_not_fatal(tmp_path: Path) -> None:
    cache = seeded(tmp_path)
    with database(tmp_path) as conn:
        conn.execute("UPDATE records SET report = CAST(x'ff7b7d' AS TEXT)")
    assert cache.get_verdict(SEED_ID, REGISTRY) is None
    assert cache.get(SEED_ID) is not None


def test_bulk_verdicts_match_single_lookups(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    ids = []
    for n in range(12):
        data = pair(f"2109.{n:05d}")[0]
        report = verify_document(data, TRUST)
        cache_put(cache, data, report)
        ids.append(report.pith_number.rsplit(":", 1)[1])  # type: ignore[union-attr]
    found = cache.verdicts([*ids, "AAAAAAAAAAAAAAAAAAAAAAAAAA"], TRUST)
    assert sorted(found) == sorted(ids)
    assert all(found[i] == cache.get_verdict(i, TRUST) for i in ids)
    assert cache.verdicts(ids, TrustRoot.default()) == {}  # the key is no longer pinned


# -- an unusable cache never stops a run ---------------------------------------------
def test_a_read_only_store_raises_cache_error_on_put(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    seeded(tmp_path).close()
    real_connect = sqlite3.connect

    def read_only(path: str, **kwargs: Any) -> sqlite3.Connection:
        return real_connect(f"file:{path}?mode=ro", uri=True, **kwargs)

    monkeypatch.setattr(cache_module.sqlite3, "connect", read_only)
    cache = Cache(tmp_path)
    assert cache.get(SEED_ID) is not None  # reading still works
    data = pair("2110.00001")[0]
    with pytest.raises(CacheError, match="readonly"):
        cache_put(cache, data, verify_document(data, TRUST))


def test_a_folder_that_cannot_be_created_fails_lazily(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("a file, not a folder")
    fresh = Cache(tmp_path / "fresh")
    assert fresh.info()["documents"] == 0 and fresh.get(SEED_ID) is None
    assert fresh.lookup("arxiv", "1802.04924") is None
    assert not (tmp_path / "fresh").exists()  # reading an absent cache creates nothing
    cache = Cache(tmp_path / "file" / "cache")  # constructing touches nothing
    data = seed_bytes(SEED)
    with pytest.raises(CacheError):
        cache_put(cache, data, verify_document(data, REGISTRY))


def test_a_read_only_folder_raises_cache_error_on_put(tmp_path: Path) -> None:
    root = tmp_path / "ro"
    root.mkdir()
    os.chmod(root, 0o555)
    try:
        if os.access(root, os.W_OK):
            pytest.skip("running as a user that can write to read-only folders (root)")
        data = seed_bytes(SEED)
        with pytest.raises(CacheError):
            cache_put(Cache(root), data, verify_document(data, REGISTRY))
    finally:
        os.chmod(root, 0o755)


def _unusable_cache(tmp_path: Path, kind: str) -> Path:
    if kind == "not-creatable":
        (tmp_path / "file").write_text("a file, not a folder")
        return tmp_path / "file" / "cache"
    root = tmp_path / "ro-cache"
    root.mkdir()
    os.chmod(root, 0o555)
    if os.access(root, os.W_OK):
        pytest.skip("running as a user that can write to read-only folders (root)")
    return root


@pytest.mark.parametrize("kind", ["not-creatable", "read-only"])
def test_annotate_works_with_an_unusable_cache(tmp_path: Path, kind: str) -> None:
    cache = _unusable_cache(tmp_path, kind)
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    result = run_cli("annotate", "--offline", "--mirror", str(SAMPLE_MIRROR), str(bib),
                     cache=cache)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 entries changed" in result.stdout
    assert f"wrote {bib}" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(warnings) == 1 and "cache is not usable" in warnings[0], result.stderr
    assert bib.read_text().count("pith = {pith:") == 4


def test_held_evidence_is_vouched_only_for_the_bound_bytes(tmp_path: Path) -> None:
    """A lock's line stands in for the stored evidence only when it is those very bytes."""
    cache = seeded(tmp_path)
    stored = cache.verdicts([SEED_ID], REGISTRY)[SEED_ID]
    text = str(stored.evidence)
    held = cache.verdicts([SEED_ID], REGISTRY, held={SEED_ID: text})
    assert held[SEED_ID].report == stored.report and held[SEED_ID].evidence == text
    assert cache.read_only_verdicts([SEED_ID], REGISTRY, held={SEED_ID: text}) == held
    for other in (text.replace("Exploring Hidden", "Exploring Hiding"), text + " ", ""):
        assert cache.verdicts([SEED_ID], REGISTRY, held={SEED_ID: other}) == {}
        assert cache.read_only_verdicts([SEED_ID], REGISTRY, held={SEED_ID: other}) == {}
    assert cache.verdicts([SEED_ID], REGISTRY, held={}) == {}  # nothing held, nothing vouched


def _key_in_child(data_dir: str, barrier: Any, out: Any) -> None:
    os.environ[verdict_key.DATA_ENV] = data_dir
    verdict_key.verdict_key.cache_clear()
    barrier.wait()
    out.put(verdict_key.verdict_key())


def test_processes_creating_the_key_at_once_all_get_the_same_whole_key(tmp_path: Path) -> None:
    """A reader never sees a key file created but not yet written (it would store verdicts
    no later run can reuse): the key appears whole, and one creator wins."""
    context = multiprocessing.get_context("fork")
    barrier, out = context.Barrier(12), context.Queue()
    children = [context.Process(target=_key_in_child, args=(str(tmp_path / "data"), barrier, out))
                for _ in range(12)]
    for child in children:
        child.start()
    keys = [out.get(timeout=60) for _ in children]
    for child in children:
        child.join(timeout=60)
    assert all(isinstance(k, bytes) and len(k) == verdict_key.KEY_BYTES for k in keys)
    assert len(set(keys)) == 1
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [verdict_key.KEY_NAME]


def test_threads_of_one_run_share_one_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                          ) -> None:
    monkeypatch.setenv(verdict_key.DATA_ENV, str(tmp_path / "data"))
    verdict_key.verdict_key.cache_clear()
    try:
        with ThreadPoolExecutor(8) as pool:
            keys = list(pool.map(lambda _: verdict_key.verdict_key(), range(8)))
    finally:
        verdict_key.verdict_key.cache_clear()
    assert keys[0] is not None and all(k == keys[0] for k in keys)


class _LockedAtFirst:
    """A connection whose switch to WAL meets "database is locked" twice, as when
    another connection is opening the same new file at that moment."""

    def __init__(self) -> None:
        self.refusals = 2
        self.mode = "delete"

    def execute(self, sql: str) -> Any:
        if sql == "PRAGMA journal_mode = WAL":
            if self.refusals:
                self.refusals -= 1
                raise sqlite3.OperationalError("database is locked")
            self.mode = "wal"
        return self

    def fetchone(self) -> tuple[str]:
        return (self.mode,)


def test_the_switch_to_wal_waits_out_a_concurrent_opener() -> None:
    conn = _LockedAtFirst()
    cache_module._use_wal(conn)  # type: ignore[arg-type]
    assert conn.mode == "wal" and conn.refusals == 0


def test_other_errors_of_the_switch_are_not_retried() -> None:
    class Broken(_LockedAtFirst):
        def execute(self, sql: str) -> Any:
            raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        cache_module._use_wal(Broken())  # type: ignore[arg-type]


def test_threads_opening_a_new_cache_at_once_all_get_it(tmp_path: Path) -> None:
    """Before, one of them now and then met "database is locked" and the run went on
    without its cache (nothing stored): a flaky cold next run."""
    errors: list[str] = []
    for trial in range(60):
        cache = Cache(tmp_path / str(trial))
        barrier = threading.Barrier(4)

        def open_it(cache: Cache = cache, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                cache.put(*_seed_entry())
            except CacheError as exc:
                errors.append(str(exc))

        workers = [threading.Thread(target=open_it) for _ in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert errors == []


def _seed_entry() -> tuple[Any, ...]:
    from pith_bib.evidence import evidence_of
    from pith_bib.lock import encode_evidence
    from pith_bib.policy import signed_aliases

    data = seed_bytes(SEED)
    report = verify_document(data, REGISTRY)
    return data, report, encode_evidence(evidence_of(data, report, verified=True)), \
        signed_aliases(report)
