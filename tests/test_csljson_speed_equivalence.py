"""The quick routes of :mod:`pith_bib.csljson`'s readers give exactly what the old code gave.

``IdFields`` now answers from a table made once per item (the old one lowered
the asked name and looked it up through two tables on each of ~25 calls), and
``Item.authors`` joins particles only when a name has them. The code they
replaced is kept below as the *reference*; these tests require identical
answers on every item of every CSL-JSON file under ``../shared/corpora``, on
items made from every entry of its .bib files (skipped when absent), and on
generated items with hostile members: names in every case, repeated in
several cases, values of every JSON type, particles and literals of every type.
"""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path
from typing import Any

import pytest

from pith_bib import csljson
from pith_bib.bibfile import parse as parse_bib
from pith_bib.errors import BibError, CslJsonError
from pith_bib.ids import extract

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"

# --------------------------------------------------------------------------- the reference

_ID_FIELDS = {"doi": "doi", "url": "url", "number": "number", "note": "note",
              "journal": "container-title", "howpublished": "publisher", "volume": "volume",
              "eid": "archive_location", "series": "collection-title"}


class _IdFieldsReference:
    """``csljson.IdFields`` as it was."""

    def __init__(self, item: csljson.Item) -> None:
        self._values: dict[str, str] = {}
        for key, value in item.data.items():
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                continue
            self._values.setdefault(key.lower(), str(value))
        archive = self._values.get("archive", "").strip().lower()
        location = self._values.get("archive_location")
        if archive in ("arxiv", "arxiv.org") and location:
            self._eprint: str | None = location
        else:
            self._eprint = None

    def get(self, name: str, default: str | None = None) -> str | None:
        lower = name.lower()
        if lower == "eprint":
            return self._eprint if self._eprint is not None else default
        if lower == "archiveprefix":
            return "arXiv" if self._eprint is not None else default
        csl = _ID_FIELDS.get(lower)
        if csl is None:
            return default
        return self._values.get(csl, default)


def _authors_reference(item: csljson.Item) -> list[tuple[str, str]]:
    """``csljson.Item.authors`` as it was."""
    value = item.get("author")
    if not isinstance(value, list):
        return []
    names: list[tuple[str, str]] = []
    for person in value:
        if not isinstance(person, dict):
            continue
        literal = person.get("literal")
        if isinstance(literal, str) and literal.strip():
            names.append((literal.strip(), ""))
            continue
        parts = [person.get(k) for k in ("dropping-particle", "non-dropping-particle", "family")]
        family = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
        given = person.get("given")
        given = given.strip() if isinstance(given, str) else ""
        if family or given:
            names.append((family, given))
    return names


# --------------------------------------------------------------------------- the comparison

_ASKED = ["doi", "eprint", "archiveprefix", "eprinttype", "arxiv", "arxivid", "arxiv_id",
          "arxiv-id", "journal", "journaltitle", "note", "howpublished", "eid", "pages",
          "booktitle", "number", "volume", "url", "pdf", "eprinturl", "series", "archive",
          "archive_location", "container-title", "title", "id", "type", ""]
_NAMES = [*_ASKED, *(n.upper() for n in _ASKED), *(n.title() for n in _ASKED),
          "dOi", "Eprint", "ArchivePrefix", "\u212aey", "vol\u0130me", "ｄｏｉ", "d\u00f6i"]
_UNSET = "<default>"


def _assert_same_readers(items: list[csljson.Item]) -> None:
    for item in items:
        quick, reference = csljson.IdFields(item), _IdFieldsReference(item)
        for name in _NAMES:
            assert quick.get(name) == reference.get(name), (item.label, name)
            assert quick.get(name, _UNSET) == reference.get(name, _UNSET), (item.label, name)
        assert extract(quick) == extract(reference), item.label
        assert item.authors == _authors_reference(item), item.label


def _items(values: list[Any]) -> list[csljson.Item]:
    return csljson.parse(json.dumps(values, indent="\t").encode()).items


def test_readers_equal_the_reference_on_every_corpus_csl_json_item() -> None:
    files = sorted(CORPORA.rglob("*.json")) if CORPORA.is_dir() else []
    if not files:
        pytest.skip(f"{CORPORA} not present")
    items: list[csljson.Item] = []
    for path in files:
        try:
            items.extend(csljson.parse(path.read_bytes(), str(path)).items)
        except CslJsonError:  # a file the reader refuses has no items to read
            continue
    assert len(items) > 10
    assert any(item.authors for item in items)
    _assert_same_readers(items)


@functools.cache
def _bib_items() -> list[dict[str, Any]]:
    if not CORPORA.is_dir():
        pytest.skip(f"{CORPORA} not present")
    rng = random.Random(13)
    made: list[dict[str, Any]] = []
    for path in sorted(CORPORA.rglob("*.bib")):
        try:
            entries = parse_bib(path.read_bytes(), str(path)).entries
        except BibError:
            continue
        for entry in entries:
            made.append(_item_from_entry(entry, rng, len(made)))
    assert len(made) > 5000
    return made


def _item_from_entry(entry: Any, rng: random.Random, number: int) -> dict[str, Any]:
    """A CSL item carrying an entry's identifier fields and names, in varied spellings."""
    item: dict[str, Any] = {"id": f"{entry.key}-{number}", "type": "article"}
    for bib, csl in (*_ID_FIELDS.items(), ("eprint", "archive_location"),
                     ("archiveprefix", "archive"), ("title", "title")):
        value = entry.get(bib)
        if value is not None:
            item[rng.choice((csl, csl.upper(), csl.title()))] = value
    people: list[Any] = []
    for person in (entry.get("author") or "").split(" and ")[:50]:
        family, _, given = person.partition(",")
        name: dict[str, Any] = {"family": family, "given": given}
        roll = rng.random()
        if roll < 0.1:
            name = {"literal": person}
        elif roll < 0.2:
            word, _, rest = family.strip().partition(" ")
            name = {"non-dropping-particle": word, "family": rest, "given": given}
        elif roll < 0.25:
            name["dropping-particle"] = " de "
        people.append(name)
    if people:
        item["author"] = people
    return item


def test_readers_equal_the_reference_on_items_made_from_every_corpus_bib_entry() -> None:
    made = _bib_items()
    for start in range(0, len(made), 2000):
        _assert_same_readers(_items(made[start:start + 2000]))


_VALUES: list[Any] = ["", " ", "arXiv", " ArXiv.org ", "arxiv.org", "10.1000/x", "1701.02838",
                      "arXiv:1701.02838", "https://arxiv.org/abs/1701.02838v2", 0, 1, 2.5,
                      -0.0, 1e300, True, False, None, [], {}, ["10.1000/x"], {"a": "b"},
                      "Müller", "\u212a"]
_KEYS = [*_ID_FIELDS.values(), "archive", "archive_location", "archive-location", "eprint",
         "title", "id", "\u212aey"]


def _hostile_item(rng: random.Random, number: int) -> dict[str, Any]:
    item: dict[str, Any] = {"id": number}
    for _ in range(rng.randint(0, 14)):
        key = rng.choice(_KEYS)
        key = rng.choice((key, key.upper(), key.title(), key.swapcase()))
        item.setdefault(key, rng.choice(_VALUES))
    if rng.random() < 0.5:
        item["archive"] = rng.choice(("arXiv", "arxiv.org", " ARXIV ", "zenodo", 3, None))
        item[rng.choice(("archive_location", "ARCHIVE_LOCATION"))] = rng.choice(_VALUES)
    people: list[Any] = []
    parts = ("family", "given", "literal", "dropping-particle", "non-dropping-particle",
             "suffix")
    for _ in range(rng.randint(0, 6)):
        if rng.random() < 0.1:
            people.append(rng.choice(_VALUES))
            continue
        people.append({part: rng.choice(("", "  ", " van ", "Berg", " Jan ", "de la", 7, None,
                                         [], "Ørsted", "M{\\\"u}ller"))
                       for part in parts if rng.random() < 0.5})
    item["author"] = people if rng.random() < 0.9 else rng.choice(_VALUES)
    return item


@pytest.mark.parametrize("seed", range(5))
def test_readers_equal_the_reference_on_hostile_items(seed: int) -> None:
    rng = random.Random(seed)
    _assert_same_readers(_items([_hostile_item(rng, n) for n in range(1000)]))


def test_the_first_spelling_of_a_name_counts_and_others_are_read_through_it() -> None:
    item = _items([{"id": "a", "doi": ["not text"], "DOI": "10.1/first", "Doi": "10.1/second",
                    "archive": "arXiv", "Archive_Location": "1701.02838"}])[0]
    fields = csljson.IdFields(item)
    assert fields.get("doi") == fields.get("DOI") == "10.1/first"
    assert (fields.get("eprint"), fields.get("ArchivePrefix")) == ("1701.02838", "arXiv")
    assert fields.get("archive", "none") == "none"  # read, but not a name ids asks for
    assert extract(fields).arxiv_id == "1701.02838"


def test_a_lower_case_name_is_its_own_lower_case() -> None:
    """Why ``IdFields.get`` may skip ``lower()`` for a name that ``islower()``."""
    for code in range(0x110000):
        char = chr(code)
        if char.lower() != char:
            assert not ("a" + char).islower(), hex(code)
