"""A local mirror's document alias index is kept between runs; a changed document rebuilds it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pith_bib import mirrors
from pith_bib.document_index_store import DocumentIndexStore
from pith_bib.mirrors import LocalMirror
from pith_bib.publish import build_bundle, document_bytes
from tests.support import fixed_key

KEY = fixed_key(81)


def ids(numbers: list[str]) -> list[str]:
    return [n.rsplit(":", 1)[-1] for n in numbers]


def write(root: Path, arxiv_id: str, title: str = "T") -> str:
    doc = build_bundle(arxiv_id, 1, title, "2022-01-01T00:00:00Z", KEY, "k")
    folder = root / "pith" / doc["pith_number"].rsplit(":", 1)[1]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bundle.json").write_bytes(document_bytes(doc))
    return doc["pith_number"]


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    real = mirrors.read_regular_file

    def counting(path: object, *args: object, **kwargs: object) -> object:
        if str(path).endswith(("bundle.json", "state.json")):
            seen.append(str(path))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(mirrors, "read_regular_file", counting)
    return seen


def test_second_run_reads_no_document(tmp_path: Path, reads: list[str]) -> None:
    root, store = tmp_path / "m", DocumentIndexStore(tmp_path / "cache")
    numbers = [write(root, f"2201.0000{i}") for i in range(5)]
    assert ids(LocalMirror(root, store).lookup("arxiv", "2201.00003")) == ids([numbers[3]])
    assert len(reads) >= 5
    reads.clear()
    assert ids(LocalMirror(root, store).lookup("arxiv", "2201.00003")) == ids([numbers[3]])
    assert reads == []


def test_a_changed_or_added_document_rebuilds(tmp_path: Path, reads: list[str]) -> None:
    root, store = tmp_path / "m", DocumentIndexStore(tmp_path / "cache")
    write(root, "2201.00001")
    LocalMirror(root, store).lookup("arxiv", "2201.00001")
    added = write(root, "2201.00002")
    reads.clear()
    assert ids(LocalMirror(root, store).lookup("arxiv", "2201.00002")) == ids([added])
    assert reads  # the new document was read


def test_a_damaged_store_is_a_rebuild_not_an_error(tmp_path: Path) -> None:
    root, store = tmp_path / "m", DocumentIndexStore(tmp_path / "cache")
    number = write(root, "2201.00001")
    LocalMirror(root, store).lookup("arxiv", "2201.00001")
    (stored,) = (tmp_path / "cache").iterdir()
    for junk in (b"[" * 100_000, b"not json", json.dumps({"format": "x"}).encode()):
        stored.write_bytes(junk)
        assert ids(LocalMirror(root, store).lookup("arxiv", "2201.00001")) == ids([number])


def test_an_unwritable_store_is_ignored(tmp_path: Path) -> None:
    root = tmp_path / "m"
    number = write(root, "2201.00001")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    store = DocumentIndexStore(blocker / "sub")
    assert ids(LocalMirror(root, store).lookup("arxiv", "2201.00001")) == ids([number])
    assert not os.path.isdir(blocker)
