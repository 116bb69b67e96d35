"""The CSL-JSON editor on every .json file in ../shared/corpora (skipped when absent).

Each CSL-JSON file must read and write back byte for byte, and annotating every
item must only insert text: the JSON afterwards is the JSON before plus exactly
our ``custom`` members. Files that are not CSL-JSON are skipped with the reason.
"""

from __future__ import annotations

import copy
import difflib
import json
from pathlib import Path

import pytest

from pith_bib import csljson
from pith_bib.csl_sniff import looks_like_csl_json
from pith_bib.errors import CslJsonError
from pith_bib.ids import extract

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
FILES = sorted(CORPORA.rglob("*.json")) if CORPORA.is_dir() else []
OURS = {"pith": "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ", "pith_status": "verified"}


def _id(path: Path) -> str:
    return str(path.relative_to(CORPORA))


def _read(path: Path) -> tuple[bytes, csljson.CslJsonFile]:
    data = path.read_bytes()
    if not looks_like_csl_json(data, path):
        pytest.skip("not CSL-JSON by name or content")
    try:
        return data, csljson.parse(data, str(path))
    except CslJsonError as exc:
        try:
            parsed = json.loads(data)
        except ValueError:
            pytest.skip(f"not JSON: {exc}")
        if not isinstance(parsed, list):
            pytest.skip(f"JSON but not a CSL-JSON array: {exc}")
        raise


def test_the_corpus_has_csl_json_files() -> None:
    if not FILES:
        pytest.skip("../shared/corpora is not present")
    readable = 0
    for path in FILES:
        data = path.read_bytes()
        try:
            csljson.parse(data, str(path))
            readable += 1
        except CslJsonError:
            continue
    assert readable >= 10  # zbb-csljson: Better BibTeX's CSL-JSON test fixtures


@pytest.mark.skipif(not FILES, reason="../shared/corpora is not present")
@pytest.mark.parametrize("path", FILES, ids=_id)
def test_round_trip_is_byte_identical(path: Path) -> None:
    data, csl = _read(path)
    assert csl.apply() == data
    assert not csl.changed


@pytest.mark.skipif(not FILES, reason="../shared/corpora is not present")
@pytest.mark.parametrize("path", FILES, ids=_id)
def test_annotating_every_item_only_inserts(path: Path) -> None:
    data, csl = _read(path)
    targets = [item.index for item in csl.items if item.id is not None]
    if not targets:
        pytest.skip("no item has an id")
    for index in targets:
        csl.set_fields(csl.items[index], OURS)
    out = csl.apply()
    expected = copy.deepcopy(json.loads(data))
    for index in targets:
        expected[index].setdefault("custom", {}).update(OURS)
    assert json.loads(out) == expected
    old, new = data[len(csl.bom):].decode("utf-8"), out[len(csl.bom):].decode("utf-8")
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    recovered = []
    inserts = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        assert tag in ("equal", "insert"), (tag, old[i1:i2], new[j1:j2])
        if tag == "equal":
            recovered.append(new[j1:j2])
        else:
            inserts += 1
            assert '"pith_status"' in new[j1:j2]
    assert "".join(recovered) == old
    assert inserts == len(targets)
    again = csljson.parse(out, str(path))
    assert [i.id for i in again.items] == [i.id for i in csl.items]
    assert all(again.items[i].pith == OURS["pith"] for i in targets)
    # Every member outside our custom keys is still there, byte for byte.
    for before, after in zip(csl.items, again.items, strict=True):
        for member in before.members:
            moved = after.by_key[member.key]
            assert new[moved.value_start:moved.value_end] == \
                old[member.value_start:member.value_end] or member.key == "custom"


@pytest.mark.skipif(not FILES, reason="../shared/corpora is not present")
@pytest.mark.parametrize("path", FILES, ids=_id)
def test_reading_items_never_fails(path: Path) -> None:
    _, csl = _read(path)
    for item in csl.items:
        extract(csljson.IdFields(item))
        assert isinstance(item.authors, list)
        assert item.title is None or isinstance(item.title, str)
