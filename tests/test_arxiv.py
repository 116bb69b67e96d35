"""The arXiv metadata client against a loopback fake of arXiv's two endpoints."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from pith_bib.arxiv import (
    ArxivFailure,
    ArxivTransport,
    AtomSource,
    CachedSource,
    FileMetadataStore,
    OaiSource,
    RateGate,
    make_arxiv_source,
    parse_xml,
)
from pith_bib.derive import ArxivMetadata, derive_candidates, derive_pith_number
from pith_bib.errors import ArxivMetadataError
from tests.arxiv_fake import ENTITY_BOMB, ArxivFake, FakePaper

SHARED = Path(__file__).resolve().parents[2] / "shared" / "derivation" / "records.jsonl"
UTC = timezone.utc


class FakeClock:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def shared_records() -> list[dict[str, Any]]:
    if not SHARED.is_file():
        pytest.skip(f"{SHARED} is not available")
    return [json.loads(line) for line in SHARED.read_text("utf-8").splitlines() if line]


def paper_of(row: dict[str, Any]) -> FakePaper:
    v1 = datetime.strptime(row["submitted_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return FakePaper(
        id=row["arxiv_id"],
        versions=[(n, v1 + timedelta(days=40 * (n - 1))) for n in range(1, row["version"] + 1)],
        title=row["title"], abstract=row["abstract"],
        categories=[row["primary_cat"], *row["cross"]], license=row["license"] or None)


def plain_paper(ident: str) -> FakePaper:
    return FakePaper(id=ident, versions=[(1, datetime(2020, 3, 1, 12, tzinfo=UTC))],
                     title=f"A rather long title about {ident} that arXiv folds over lines",
                     abstract="We study things. " * 20, categories=["math.NT", "math.CO"],
                     license="http://creativecommons.org/licenses/by/4.0/")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[ArxivFake]:
    papers = [plain_paper(i) for i in ("2003.00001", "2003.00002", "hep-th/9901001")]
    with ArxivFake(papers, clock=clock) as server:
        yield server


def transport(server: ArxivFake, clock: FakeClock, **kwargs: Any) -> ArxivTransport:
    return ArxivTransport(server.url, gate=RateGate(clock=clock, sleep=clock.sleep), **kwargs)


def assert_spaced(server: ArxivFake, gap: float = 3.0) -> None:
    times = [t for t, _ in server.requests]
    assert all(b - a >= gap for a, b in itertools.pairwise(times)), times


def assert_one_line_failure(result: object, ident: str) -> str:
    assert isinstance(result, ArxivFailure), result
    assert result.id == ident
    assert "\n" not in result.reason and 0 < len(result.reason) < 300
    return result.reason


def test_shared_records_from_oai(clock: FakeClock) -> None:
    rows = shared_records()
    with ArxivFake([paper_of(r) for r in rows], clock=clock) as server:
        results = OaiSource(transport(server, clock)).fetch([r["arxiv_id"] for r in rows])
        assert len(server.requests) == len(rows)
        assert_spaced(server)
    for row in rows:
        meta = results[row["arxiv_id"]]
        assert isinstance(meta, ArxivMetadata), meta
        assert meta.license == row["license"]
        assert derive_pith_number(meta) == row["expected_pith"]


def test_shared_records_from_atom_in_one_request(clock: FakeClock) -> None:
    rows = shared_records()
    with ArxivFake([paper_of(r) for r in rows], clock=clock) as server:
        results = AtomSource(transport(server, clock)).fetch([r["arxiv_id"] for r in rows])
        assert len(server.requests) == 1
        assert "max_results=5" in server.requests[0][1]
    for row in rows:
        meta = results[row["arxiv_id"]]
        assert isinstance(meta, ArxivMetadata), meta
        assert meta.license is None
        assert "68Q45" not in meta.cross_cats  # MSC classes are not arXiv categories
        numbers = [c.pith_number for c in derive_candidates(meta, max_versions=1)]
        assert row["expected_pith"] in numbers


def test_atom_batches_of_at_most_the_batch_size(fake: ArxivFake, clock: FakeClock) -> None:
    ids = ["2003.00001", "2003.00002", "hep-th/9901001"]
    results = AtomSource(transport(fake, clock), batch_size=2).fetch(ids)
    assert all(isinstance(results[i], ArxivMetadata) for i in ids)
    assert len(fake.requests) == 2
    assert_spaced(fake)


def test_requests_from_threads_share_the_gate(fake: ArxivFake, clock: FakeClock) -> None:
    gate = RateGate(clock=clock, sleep=clock.sleep)
    sources = [OaiSource(ArxivTransport(fake.url, gate=gate)) for _ in range(3)]
    threads = [threading.Thread(target=s.fetch, args=(["2003.00001", "2003.00002"],))
               for s in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake.requests) == 6
    assert_spaced(fake)


def test_user_agent_names_the_tool(fake: ArxivFake, clock: FakeClock) -> None:
    OaiSource(transport(fake, clock)).fetch(["2003.00001"])
    assert fake.user_agents[0].startswith("pith-bib/")
    assert "https://github.com/pith-science/pith-bib" in fake.user_agents[0]


def test_second_run_uses_the_store(fake: ArxivFake, clock: FakeClock, tmp_path: Path) -> None:
    ids = ["2003.00001", "hep-th/9901001"]
    first = make_arxiv_source(base=fake.url, store_dir=tmp_path,
                              gate=RateGate(clock=clock, sleep=clock.sleep)).fetch(ids)
    assert len(fake.requests) == 2
    second = make_arxiv_source(base=fake.url, store_dir=tmp_path,
                               gate=RateGate(clock=clock, sleep=clock.sleep)).fetch(ids)
    assert len(fake.requests) == 2
    assert first == second
    assert all(isinstance(m, ArxivMetadata) for m in second.values())
    assert (tmp_path / "hep-th_9901001.json").is_file()


def test_offline_never_contacts_arxiv(fake: ArxivFake, tmp_path: Path) -> None:
    results = make_arxiv_source(base=fake.url, store_dir=tmp_path, offline=True).fetch(
        ["2003.00001"])
    assert "offline" in assert_one_line_failure(results["2003.00001"], "2003.00001")
    assert fake.requests == []


def test_store_ignores_hostile_files_and_ids(tmp_path: Path) -> None:
    store = FileMetadataStore(tmp_path)
    (tmp_path / "2003.00001.json").write_text('{"id": "2003.00002"}')
    assert store.get("2003.00001") is None
    with pytest.raises(ArxivMetadataError):
        store.put("../evil", None)  # type: ignore[arg-type]
    results = CachedSource(None, store).fetch(["../../etc/passwd"])
    assert isinstance(results["../../etc/passwd"], ArxivFailure)


HOSTILE = [("entity_bomb", "DOCTYPE"), ("huge", "byte limit"), ("truncated", "malformed XML")]


@pytest.mark.parametrize(("mode", "why"), [*HOSTILE, ("wrong_id", "another paper")])
def test_hostile_oai_answer_fails_only_that_paper(fake: ArxivFake, clock: FakeClock,
                                                  mode: str, why: str) -> None:
    fake.fault("2003.00001", mode)
    results = OaiSource(transport(fake, clock)).fetch(["2003.00001", "2003.00002"])
    assert why in assert_one_line_failure(results["2003.00001"], "2003.00001")
    assert isinstance(results["2003.00002"], ArxivMetadata)


@pytest.mark.parametrize(("mode", "why"), [*HOSTILE, ("wrong_id", "not in arXiv's answer")])
def test_hostile_atom_answer_fails_only_its_batch(fake: ArxivFake, clock: FakeClock,
                                                  mode: str, why: str) -> None:
    fake.fault("2003.00001", mode)
    results = AtomSource(transport(fake, clock), batch_size=1).fetch(
        ["2003.00001", "2003.00002"])
    assert why in assert_one_line_failure(results["2003.00001"], "2003.00001")
    assert isinstance(results["2003.00002"], ArxivMetadata)


def test_retry_after_is_honoured_on_the_gate(fake: ArxivFake, clock: FakeClock) -> None:
    fake.fault("2003.00001", "retry_after")
    results = OaiSource(transport(fake, clock)).fetch(["2003.00001"])
    assert isinstance(results["2003.00001"], ArxivMetadata)
    (first, _), (second, _) = fake.requests
    assert second - first >= 7.0


def test_retry_after_gives_up_after_the_retries(fake: ArxivFake, clock: FakeClock) -> None:
    fake.fault("2003.00001", "retry_after", "retry_after")
    results = OaiSource(transport(fake, clock, retries=1)).fetch(["2003.00001"])
    assert "HTTP 503" in assert_one_line_failure(results["2003.00001"], "2003.00001")
    assert len(fake.requests) == 2


def test_whole_request_deadline_stops_a_trickle(fake: ArxivFake, clock: FakeClock) -> None:
    fake.fault("2003.00001", "trickle")
    results = OaiSource(transport(fake, clock, deadline=0.5)).fetch(
        ["2003.00001", "2003.00002"])
    reason = assert_one_line_failure(results["2003.00001"], "2003.00001")
    assert "not complete within" in reason
    assert isinstance(results["2003.00002"], ArxivMetadata)


def test_unknown_paper_fails_with_arxivs_reason(fake: ArxivFake, clock: FakeClock) -> None:
    oai = OaiSource(transport(fake, clock)).fetch(["2003.09999"])
    assert "idDoesNotExist" in assert_one_line_failure(oai["2003.09999"], "2003.09999")
    atom = AtomSource(transport(fake, clock)).fetch(["2003.09999"])
    assert "not in arXiv's answer" in atom["2003.09999"].reason  # type: ignore[union-attr]


def test_real_clock_spacing(fake: ArxivFake) -> None:
    fake.clock = time.monotonic
    OaiSource(ArxivTransport(fake.url, gate=RateGate())).fetch(["2003.00001", "2003.00002"])
    assert_spaced(fake)


@pytest.mark.parametrize("data", [
    ENTITY_BOMB,
    b'<!DOCTYPE feed><feed xmlns="http://www.w3.org/2005/Atom"/>',
    b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    b"<x>&undefined;</x>",
    b"<a>" * 100 + b"</a>" * 100,
    b"",
])
def test_parse_xml_refuses_hostile_documents(data: bytes) -> None:
    with pytest.raises(ArxivMetadataError):
        parse_xml(data)


def test_parse_xml_keeps_namespaces() -> None:
    root = parse_xml(b'<feed xmlns="http://www.w3.org/2005/Atom"><title>x &amp; y</title></feed>')
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    assert root.findtext("{http://www.w3.org/2005/Atom}title") == "x & y"
