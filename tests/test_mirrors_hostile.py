"""Mirrors against hostile servers and hostile directories.

HTTP cases run against :mod:`tests.slow_server` on 127.0.0.1 with short
deadlines; they assert outcomes (the error, what the server was asked), never
elapsed time. Local cases build the directory a cloned repository could hold.
"""

from __future__ import annotations

import json
import os
import random
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pith_bib.errors import FetchError, FileReadError
from pith_bib.mirrors import (
    MAX_CANDIDATES_PER_ANSWER,
    HostLimits,
    HttpMirror,
    HttpSettings,
    LocalMirror,
    make_session,
)
from pith_bib.safe_read import read_regular_file
from tests.slow_server import Reply, SlowServer

PID = "DM6GBYSNJHDMWLODXZBVEPYJHJ"
OTHER = "AH5S4WE2T4KISLKPOBTLFWQMX3"
DOC_PATH = f"/pith/{PID}/bundle.json"
OTHER_PATH = f"/pith/{OTHER}/bundle.json"
ALIAS_PATH = "/aliases/arxiv/2102.00001"
BODY = b'{"pith_number": "pith:2021:' + PID.encode() + b'"}'
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def random_id(rng: random.Random) -> str:
    return "".join(rng.choice(_B32) for _ in range(26))


@pytest.fixture
def server() -> Iterator[SlowServer]:
    with SlowServer() as srv:
        srv.serve(OTHER_PATH, Reply(body=b"{}"))
        yield srv


def http_mirror(srv: SlowServer, *, retries: int = 3, **settings: float) -> HttpMirror:
    merged = {"deadline": 1.5, **settings}
    return HttpMirror(srv.url, make_session(retries=retries, backoff=0.05),
                      HostLimits(rate=0), HttpSettings(**merged))  # type: ignore[arg-type]


def assert_host_skipped_afterwards(mirror: HttpMirror, srv: SlowServer) -> None:
    before = srv.count()
    with pytest.raises(FetchError, match="skipped"):
        mirror.fetch(OTHER, "bundle")
    assert srv.count() == before  # no request went out


def finishes(function: Callable[..., object], *args: object) -> object:
    """Run ``function`` in a thread; a hang fails the test instead of stalling the suite."""
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(function(*args))
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=20)
    assert not thread.is_alive(), "blocked"
    return outcome[0]


# -- 1. the deadline covers the whole request ----------------------------------------


def test_headers_dripping_one_byte_at_a_time_end_at_the_deadline(server: SlowServer) -> None:
    # 60 KB of header at 20 bytes a second: without the deadline, an hour of waiting.
    server.serve(DOC_PATH, Reply(body=BODY, headers={"X-Pad": "a" * 60_000},
                                 drip_headers=0.05))
    mirror = http_mirror(server)
    error = finishes(mirror.fetch, PID, "bundle")
    assert isinstance(error, FetchError)
    assert "not complete within the deadline (1.5 s)" in str(error)
    assert server.count(DOC_PATH) == 1  # the read retry did not start over
    assert_host_skipped_afterwards(mirror, server)


def test_status_line_never_sent_ends_at_the_deadline(server: SlowServer) -> None:
    server.serve(DOC_PATH, Reply(body=BODY, delay=3600))
    mirror = http_mirror(server, read_timeout=3600)
    error = finishes(mirror.fetch, PID, "bundle")
    assert isinstance(error, FetchError) and "deadline" in str(error)
    assert server.count(DOC_PATH) == 1
    assert_host_skipped_afterwards(mirror, server)


def test_body_dripping_one_byte_at_a_time_ends_at_the_deadline(server: SlowServer) -> None:
    server.serve(DOC_PATH, Reply(body=b"{" + b" " * 200 + b"}", drip_body=0.1))
    mirror = http_mirror(server)
    with pytest.raises(FetchError, match="not complete within the deadline"):
        mirror.fetch(PID, "bundle")
    assert server.count(DOC_PATH) == 1
    assert_host_skipped_afterwards(mirror, server)


def test_body_without_length_dripping_is_not_taken_for_a_complete_body(
        server: SlowServer) -> None:
    server.serve(DOC_PATH, Reply(body=b"{" + b" " * 200 + b"}", drip_body=0.1, no_length=True))
    with pytest.raises(FetchError, match="deadline"):
        http_mirror(server).fetch(PID, "bundle")


def test_retry_after_beyond_the_deadline_is_not_slept(server: SlowServer) -> None:
    server.queue(DOC_PATH, Reply(status=429, headers={"Retry-After": "5"}))
    server.serve(DOC_PATH, Reply(body=BODY))
    mirror = http_mirror(server)
    with pytest.raises(FetchError, match="deadline"):
        mirror.fetch(PID, "bundle")
    assert server.count(DOC_PATH) == 1  # had it slept 5 s, the retry would have succeeded
    assert_host_skipped_afterwards(mirror, server)


def test_retry_after_within_the_deadline_is_honoured(server: SlowServer) -> None:
    server.queue(DOC_PATH, Reply(status=429, headers={"Retry-After": "1"}))
    server.serve(DOC_PATH, Reply(body=BODY))
    assert http_mirror(server, deadline=10).fetch(PID, "bundle") == BODY
    assert server.count(DOC_PATH) == 2


def test_500s_are_retried_and_do_not_mark_the_host(server: SlowServer) -> None:
    server.queue(DOC_PATH, Reply(status=500), Reply(status=500))
    server.serve(DOC_PATH, Reply(body=BODY))
    mirror = http_mirror(server, deadline=10)
    assert mirror.fetch(PID, "bundle") == BODY
    assert server.count(DOC_PATH) == 3
    server.serve(OTHER_PATH, Reply(status=500))
    with pytest.raises(FetchError, match="HTTP 500 after 3 retries"):
        mirror.fetch(OTHER, "bundle")
    assert mirror.unreachable is None  # an error answer is not a dead host


def test_read_timeout_marks_the_host(server: SlowServer) -> None:
    server.serve(DOC_PATH, Reply(body=BODY, delay=5))
    mirror = http_mirror(server, retries=0, read_timeout=0.3, deadline=10)
    with pytest.raises(FetchError, match="timed out"):
        mirror.fetch(PID, "bundle")
    assert_host_skipped_afterwards(mirror, server)


def test_refused_connection_is_not_a_timeout() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mirror = HttpMirror(f"http://127.0.0.1:{port}", make_session(retries=0), HostLimits(rate=0),
                        HttpSettings(deadline=5))
    with pytest.raises(FetchError, match="connection failed"):
        mirror.fetch(PID, "bundle")
    assert mirror.unreachable is not None and "could not be reached" in mirror.unreachable


def test_truncated_body(server: SlowServer) -> None:
    server.serve(DOC_PATH, Reply(body=BODY[:10], declared_length=len(BODY)))
    with pytest.raises(FetchError, match="truncated"):
        http_mirror(server, retries=0).fetch(PID, "bundle")


def test_oversized_body_without_length(server: SlowServer) -> None:
    server.serve(DOC_PATH, Reply(body=b"{" + b" " * (5 * 1024 * 1024), no_length=True))
    with pytest.raises(FetchError, match="over the 4194304-byte limit"):
        http_mirror(server, deadline=20).fetch(PID, "bundle")


# -- 2. one request per question per run ------------------------------------------------


def test_same_document_twice_is_one_request(server: SlowServer) -> None:
    server.serve(DOC_PATH, Reply(body=BODY))
    mirror = http_mirror(server)
    assert mirror.fetch(PID, "bundle") == BODY
    assert mirror.fetch(PID, "bundle") == BODY
    assert mirror.fetch(PID, "state") is None  # another kind is another question
    assert server.count(DOC_PATH) == 1


def test_missing_document_and_failures_are_remembered(server: SlowServer) -> None:
    server.serve(DOC_PATH, Reply(status=403))
    mirror = http_mirror(server)
    with pytest.raises(FetchError) as first:
        mirror.fetch(PID, "bundle")
    with pytest.raises(FetchError) as second:
        mirror.fetch(PID, "bundle")
    assert second.value is first.value
    assert mirror.fetch(PID, "state") is None
    assert mirror.fetch(PID, "state") is None
    assert server.count(DOC_PATH) == 1
    assert server.count(f"/pith/{PID}/state.json") == 1


def test_concurrent_askers_share_one_request(server: SlowServer) -> None:
    server.serve(DOC_PATH, Reply(body=BODY, delay=0.3))
    mirror = http_mirror(server, deadline=10)
    barrier = threading.Barrier(8)
    results: list[bytes | None] = []

    def ask() -> None:
        barrier.wait()
        results.append(mirror.fetch(PID, "bundle"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [BODY] * 8
    assert server.count(DOC_PATH) == 1


def test_alias_lookup_twice_is_one_request(server: SlowServer) -> None:
    server.serve(ALIAS_PATH, Reply(body=b"pith:2021:" + PID.encode(), content_type="text/plain"))
    mirror = http_mirror(server)
    assert mirror.lookup("arxiv", "2102.00001") == [f"pith:2021:{PID}"]
    assert mirror.lookup("arxiv", "2102.00001") == [f"pith:2021:{PID}"]
    assert server.count(ALIAS_PATH) == 1


# -- 3. candidate floods -------------------------------------------------------------------


def test_an_alias_answer_naming_thousands_yields_the_first_few(server: SlowServer) -> None:
    rng = random.Random(5)
    numbers = [f"pith:2021:{random_id(rng)}" for _ in range(1700)]  # ~63 KB, under the alias cap
    text = "\n".join([numbers[0], numbers[0], *numbers]).encode()
    server.serve(ALIAS_PATH, Reply(body=text, content_type="text/plain"))
    assert http_mirror(server).lookup("arxiv", "2102.00001") == \
        numbers[:MAX_CANDIDATES_PER_ANSWER]


def test_local_index_caps_candidates(tmp_path: Path) -> None:
    rng = random.Random(6)
    ids = sorted(random_id(rng) for _ in range(7))
    for pith_id in ids:
        write_doc(tmp_path, pith_id, "2102.00001")
    mirror = LocalMirror(tmp_path)
    assert mirror.lookup("arxiv", "2102.00001") == \
        [f"pith:{i}" for i in ids[:MAX_CANDIDATES_PER_ANSWER]]
    assert len(mirror.complete("")) == MAX_CANDIDATES_PER_ANSWER


# -- 5. captive portals and wrong content ---------------------------------------------------


@pytest.mark.parametrize("ctype", ["text/html", "text/html; charset=utf-8"])
def test_html_document_answer_is_an_error(server: SlowServer, ctype: str) -> None:
    server.serve(DOC_PATH, Reply(body=b"<html>Log in to the Wi-Fi</html>", content_type=ctype))
    with pytest.raises(FetchError, match="not a pith document"):
        http_mirror(server).fetch(PID, "bundle")


def test_html_body_labelled_json_is_an_error(server: SlowServer) -> None:
    server.serve(DOC_PATH, Reply(body=b"\n<!DOCTYPE html><html></html>"))
    with pytest.raises(FetchError, match="an HTML page, not a pith document"):
        http_mirror(server).fetch(PID, "bundle")


@pytest.mark.parametrize(("ctype", "body"), [
    ("text/html", b"<html>pith:2021:" + PID.encode() + b"</html>"),
    ("text/plain", b"<html>pith:2021:" + PID.encode() + b"</html>"),
    ("application/json", b'{"a": "pith:2021:' + PID.encode() + b'", "a": 1}'),
    ("text/plain", b"pith:2021:" + PID.encode() + b"\xff\xfe"),
    ("image/png", b"pith:2021:" + PID.encode()),
], ids=["html", "html-as-text", "bad-json", "not-utf8", "image"])
def test_alias_answer_that_is_not_one_is_an_error(server: SlowServer, ctype: str,
                                                  body: bytes) -> None:
    server.serve(ALIAS_PATH, Reply(body=body, content_type=ctype))
    with pytest.raises(FetchError, match="not a pith alias answer"):
        http_mirror(server).lookup("arxiv", "2102.00001")


@pytest.mark.parametrize("ctype", [None, "text/plain", "application/octet-stream",
                                   "application/json"])
def test_alias_answers_of_static_servers_are_accepted(server: SlowServer,
                                                      ctype: str | None) -> None:
    body = b"pith:2021:" + PID.encode() + b"\n"
    if ctype == "application/json":
        body = b'{"pith_number": "pith:2021:' + PID.encode() + b'", "score": 0.5}'
    server.serve(ALIAS_PATH, Reply(body=body, content_type=ctype))
    assert http_mirror(server).lookup("arxiv", "2102.00001") == [f"pith:2021:{PID}"]


# -- 4. local mirror directories -------------------------------------------------------------


def write_doc(root: Path, pith_id: str, arxiv_id: str, name: str = "bundle.json") -> Path:
    folder = root / "pith" / pith_id
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps({"source_aliases": [
        {"alias_kind": "arxiv", "alias_value": arxiv_id}]}))
    return path


@pytest.fixture
def hostile_mirror(tmp_path: Path) -> Path:
    """A mirror where one good document sits among every kind of bad file."""
    write_doc(tmp_path, PID, "2102.00001")
    rng = random.Random(7)
    bad = [random_id(rng) for _ in range(5)]
    for pith_id in bad:
        (tmp_path / "pith" / pith_id).mkdir(parents=True)
    (tmp_path / "pith" / bad[0] / "bundle.json").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "pith" / bad[1] / "bundle.json")
    with open(tmp_path / "pith" / bad[2] / "bundle.json", "wb") as handle:
        handle.truncate(3_500_000_000)  # sparse: no disk used
    (tmp_path / "pith" / bad[3] / "bundle.json").write_text("[" * 100_000 + "]" * 100_000)
    secret = tmp_path.parent / f"{tmp_path.name}-secret.json"
    secret.write_text('{"source_aliases": []}')
    (tmp_path / "pith" / bad[4] / "bundle.json").symlink_to(secret)
    alias_dir = tmp_path / "aliases" / "arxiv"
    alias_dir.mkdir(parents=True)
    (alias_dir / "2102.00002").symlink_to("/dev/zero")
    return tmp_path


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not os.path.exists("/dev/zero"),
                    reason="needs FIFOs and /dev/zero")
def test_bad_files_cost_only_themselves(hostile_mirror: Path) -> None:
    mirror = LocalMirror(hostile_mirror)
    assert finishes(mirror.lookup, "arxiv", "2102.00001") == [f"pith:{PID}"]
    # the bad files cost only themselves, but a mirror holding them cannot say "nothing"
    unknown = finishes(mirror.lookup, "arxiv", "2102.00002")
    assert isinstance(unknown, FetchError) and "could not be read" in str(unknown)
    assert mirror.bad_files == 6
    warnings = "\n".join(mirror.bad_file_warnings)
    assert len(mirror.bad_file_warnings) == 5
    assert "not a regular file (a character device)" in warnings
    assert "not a regular file (a FIFO)" in warnings
    assert "over the 4194304-byte limit" in warnings
    assert "nested deeper than" in warnings
    assert "leading outside" in warnings


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not os.path.exists("/dev/zero"),
                    reason="needs FIFOs and /dev/zero")
def test_fetching_a_bad_file_is_a_fetch_error(hostile_mirror: Path) -> None:
    mirror = LocalMirror(hostile_mirror)
    for pith_id in sorted(p.name for p in (hostile_mirror / "pith").iterdir()):
        result = finishes(mirror.fetch, pith_id, "bundle")
        if pith_id == PID:
            assert isinstance(result, bytes)
        elif isinstance(result, bytes):  # the deeply nested one is a regular, small file
            assert result.startswith(b"[[[")
        else:
            assert isinstance(result, FetchError), result


def test_symlink_inside_the_mirror_is_followed(tmp_path: Path) -> None:
    real = write_doc(tmp_path, PID, "2102.00001", name="shared.json")
    (real.parent / "bundle.json").symlink_to("shared.json")
    mirror = LocalMirror(tmp_path)
    assert mirror.fetch(PID, "bundle") == real.read_bytes()
    assert mirror.lookup("arxiv", "2102.00001") == [f"pith:{PID}"]
    assert mirror.bad_files == 0


def test_a_hundred_thousand_entries_without_reading_big_files(tmp_path: Path) -> None:
    folder = tmp_path / "pith"
    folder.mkdir()
    rng = random.Random(8)
    for _ in range(100_000):  # ID-shaped names that are files, not document folders
        os.close(os.open(folder / random_id(rng), os.O_CREAT | os.O_WRONLY, 0o644))
    write_doc(tmp_path, PID, "2102.00001")
    big = folder / OTHER
    big.mkdir()
    with open(big / "state.json", "wb") as handle:
        handle.truncate(3_500_000_000)
    mirror = LocalMirror(tmp_path)
    assert mirror.lookup("arxiv", "2102.00001") == [f"pith:{PID}"]
    assert mirror.bad_files == 1 and "over the" in mirror.bad_file_warnings[0]


# -- safe_read on its own --------------------------------------------------------------------


def test_read_regular_file_bounds_the_bytes_read_not_st_size(tmp_path: Path) -> None:
    maps = Path("/proc/self/maps")  # a regular file whose st_size is 0
    if not maps.exists() or maps.stat().st_size != 0:
        pytest.skip("needs Linux /proc")
    with pytest.raises(FileReadError, match="over the 16-byte limit"):
        read_regular_file(maps, 16)


def test_read_regular_file_missing_and_dangling(tmp_path: Path) -> None:
    assert read_regular_file(tmp_path / "missing", 10) is None
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    assert read_regular_file(tmp_path / "dangling", 10) is None
    (tmp_path / "file").write_bytes(b"0123456789")
    assert read_regular_file(tmp_path / "file", 10) == b"0123456789"
    with pytest.raises(FileReadError, match="over the 9-byte limit"):
        read_regular_file(tmp_path / "file", 9)


def test_read_regular_file_escapes_control_characters(tmp_path: Path) -> None:
    folder = tmp_path / "a\x1b[31mred"
    folder.mkdir()
    with pytest.raises(FileReadError) as caught:
        read_regular_file(folder, 10)
    assert "\x1b" not in str(caught.value) and "\\x1b" in str(caught.value)
