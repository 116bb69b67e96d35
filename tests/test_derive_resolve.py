"""End to end: pith numbers derived from arXiv's metadata, with no alias file anywhere.

A loopback fake of the arXiv API serves the five shared records' metadata the
way arXiv does (titles folded, abstracts wrapped); a loopback HTTP mirror holds
bundles whose canonical records are built from the same metadata (signed by a
test key) and no alias index at all. ``pith-bib resolve`` must find every real
number, ask arXiv once (one Atom batch), ask it nothing on a second run or
offline, fall back to an earlier version when arXiv has a newer one, and say
which version it tried when the registry has none.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pith_bib.derive import ArxivMetadata, canonical_record
from pith_bib.publish import build_bundle, document_bytes, resign_bundle
from tests.arxiv_fake import ArxivFake, FakePaper
from tests.mirror_server import MirrorServer
from tests.support import fixed_key
from tests.test_arxiv import paper_of, shared_records

KEY = fixed_key(61)
KEY_HEX = bytes(KEY.verify_key).hex()
ROOT = Path(__file__).resolve().parents[1]


def metadata_of(paper: FakePaper, latest: int | None = None) -> ArxivMetadata:
    versions = [(n, t) for n, t in paper.versions if latest is None or n <= latest]
    return ArxivMetadata(paper.id, tuple(versions), paper.title, paper.abstract,
                         paper.categories[0], tuple(paper.categories[1:]), paper.license or "")


def bundle_for(meta: ArxivMetadata) -> dict[str, Any]:
    """A registry-style bundle whose canonical record is derived from ``meta``."""
    record = canonical_record(meta)
    doc = build_bundle(meta.id, meta.latest_version, meta.title,
                       record["metadata"]["submitted_at"], KEY, "test-key")
    doc["canonical_record"] = record
    return resign_bundle(doc, KEY, "test-key")


@pytest.fixture
def world() -> Iterator[tuple[ArxivFake, MirrorServer, list[dict[str, Any]]]]:
    rows = shared_records()
    papers = [paper_of(row) for row in rows]
    with ArxivFake(papers) as arxiv:
        mirror = MirrorServer().start()
        try:
            for paper in papers:
                doc = bundle_for(metadata_of(paper))
                mirror.add_document(doc["pith_number"].rsplit(":", 1)[1], "bundle",
                                    document_bytes(doc))
            yield arxiv, mirror, rows
        finally:
            mirror.stop()


def resolve(ids: list[str], *, arxiv: ArxivFake, mirror: MirrorServer, cache: Path,
            extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    env = dict(os.environ, PITH_BIB_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "pith_bib", "resolve", "--json", "--mirror", mirror.url,
               "--arxiv-api", arxiv.url, "--trust-key", KEY_HEX, *extra, *ids]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)


def test_numbers_derived_from_arxiv_metadata_with_no_alias_files(world: Any,
                                                                 tmp_path: Path) -> None:
    arxiv, mirror, rows = world
    assert not any(path.startswith("/aliases") for path in mirror.files)
    ids = [row["arxiv_id"] for row in rows]
    results = resolve(ids, arxiv=arxiv, mirror=mirror, cache=tmp_path / "cache")
    assert [r["pith_number"] for r in results] == [row["expected_pith"] for row in rows]
    assert all(r["status"] == "verified" for r in results)
    assert all(r["mapped_by"].startswith("derived from arXiv v") for r in results)
    assert len(arxiv.requests) == 1  # one Atom batch for every id
    assert arxiv.requests[0][1].startswith("/api/query")

    again = resolve(ids, arxiv=arxiv, mirror=mirror, cache=tmp_path / "cache")
    assert [r["pith_number"] for r in again] == [r["pith_number"] for r in results]
    assert len(arxiv.requests) == 1  # the second run asks arXiv nothing


def test_offline_never_contacts_arxiv(world: Any, tmp_path: Path) -> None:
    arxiv, mirror, rows = world
    results = resolve([rows[0]["arxiv_id"]], arxiv=arxiv, mirror=mirror,
                      cache=tmp_path / "cache", extra=("--offline",))
    assert results[0]["status"] == "not-found"
    assert arxiv.requests == []
    assert any("offline" in r for r in results[0]["reasons"])


def test_no_derive_switch_turns_the_source_off(world: Any, tmp_path: Path) -> None:
    arxiv, mirror, rows = world
    results = resolve([rows[0]["arxiv_id"]], arxiv=arxiv, mirror=mirror,
                      cache=tmp_path / "cache", extra=("--no-derive",))
    assert results[0]["status"] == "not-found"
    assert arxiv.requests == []


def test_a_revision_after_the_registry_built_its_record_falls_back(world: Any,
                                                                   tmp_path: Path) -> None:
    arxiv, mirror, rows = world
    row = rows[0]
    paper = arxiv.papers[row["arxiv_id"]]
    latest, moment = paper.versions[-1]
    arxiv.papers[paper.id] = replace(paper, versions=[*paper.versions,
                                                      (latest + 1, moment + timedelta(days=9))])
    (result,) = resolve([paper.id], arxiv=arxiv, mirror=mirror, cache=tmp_path / "cache")
    assert result["status"] == "verified"
    assert result["pith_number"] == row["expected_pith"]
    assert result["mapped_by"] == f"derived from arXiv v{latest}"


def test_a_paper_the_registry_lacks_names_the_version_tried(world: Any,
                                                            tmp_path: Path) -> None:
    arxiv, mirror, _ = world
    paper = FakePaper("2001.00001", [(1, arxiv_time()), (3, arxiv_time())], "Unregistered",
                      "An abstract.", ["cs.LG"], None)
    arxiv.papers[paper.id] = paper
    (result,) = resolve([paper.id], arxiv=arxiv, mirror=mirror, cache=tmp_path / "cache")
    assert result["status"] == "not-found"
    assert any("v3 and earlier" in r and "predates v3" in r for r in result["reasons"])


def test_hostile_arxiv_answer_fails_that_paper_closed(world: Any, tmp_path: Path) -> None:
    arxiv, mirror, rows = world
    arxiv.fault(rows[0]["arxiv_id"], "entity_bomb")
    (result,) = resolve([rows[0]["arxiv_id"]], arxiv=arxiv, mirror=mirror,
                        cache=tmp_path / "cache")
    assert result["status"] == "not-found"
    assert any("could not derive" in r for r in result["reasons"])


def arxiv_time() -> Any:
    from datetime import datetime, timezone

    return datetime(2020, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
