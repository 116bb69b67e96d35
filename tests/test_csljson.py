"""The CSL-JSON reader/editor: layouts, existing custom objects, identifiers, hostile input."""

from __future__ import annotations

import copy
import difflib
import json
import random
from typing import Any

import pytest

from pith_bib import csljson
from pith_bib.csl_sniff import looks_like_csl_json
from pith_bib.errors import CslJsonEditError, CslJsonError
from pith_bib.ids import extract

PITH = "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"
OURS = {"pith": PITH, "pith_status": "verified"}

ITEMS: list[dict[str, Any]] = [
    {"id": "adams2001", "type": "article-journal", "title": "Pyroclastic flows",
     "author": [{"family": "Adams", "given": "Nancy K"}], "issued": {"date-parts": [[2001]]}},
    {"id": "bonissone", "type": "paper-conference", "title": "A case study", "page": "169–177"},
]


def inserted_only(old: str, new: str) -> list[str]:
    """The inserted pieces; fails unless ``new`` is ``old`` with text inserted only."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    inserted = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        assert tag in ("equal", "insert"), (tag, old[i1:i2], new[j1:j2])
        if tag == "insert":
            inserted.append(new[j1:j2])
    return inserted


def annotate_all(data: bytes, values: dict[str, str] | None = None) -> bytes:
    csl = csljson.parse(data, "t.json")
    for item in csl.items:
        csl.set_fields(item, values or OURS)
    return csl.apply()


def with_ours(items: list[dict[str, Any]], values: dict[str, str] | None = None
              ) -> list[dict[str, Any]]:
    expected = copy.deepcopy(items)
    for item in expected:
        item.setdefault("custom", {}).update(values or OURS)
    return expected


# -- layouts -------------------------------------------------------------------------

def test_zotero_layout_tabs_and_no_final_newline() -> None:
    # Zotero: JSON.stringify(data, null, "\t"), raw UTF-8, no trailing newline.
    data = json.dumps(ITEMS, indent="\t", ensure_ascii=False).encode()
    assert csljson.parse(data).layout.kind == "tabs"
    out = annotate_all(data)
    assert out.decode() == json.dumps(with_ours(ITEMS), indent="\t", ensure_ascii=False)


def test_better_bibtex_layout_two_spaces_escaped_and_final_newline() -> None:
    data = (json.dumps(ITEMS, indent=2) + "\n").encode()
    csl = csljson.parse(data)
    assert (csl.layout.kind, csl.layout.indent_unit, csl.layout.ensure_ascii) == \
        ("spaces", "  ", True)
    out = annotate_all(data, {"pith": PITH, "pith_status": "vérifié"})
    expected = json.dumps(with_ours(ITEMS, {"pith": PITH, "pith_status": "vérifié"}),
                          indent=2) + "\n"
    assert out.decode() == expected
    assert "v\\u00e9rifi\\u00e9" in out.decode()


def test_four_spaces_and_raw_non_ascii_stay_raw() -> None:
    data = json.dumps(ITEMS, indent=4, ensure_ascii=False).encode()
    out = annotate_all(data, {"pith": PITH, "pith_status": "vérifié"})
    assert out.decode() == json.dumps(with_ours(ITEMS, {"pith": PITH, "pith_status": "vérifié"}),
                                      indent=4, ensure_ascii=False)


def test_minified_gets_a_pure_insertion() -> None:
    data = json.dumps(ITEMS, separators=(",", ":"), ensure_ascii=False).encode()
    csl = csljson.parse(data)
    assert csl.layout.kind == "minified"
    out = annotate_all(data)
    assert out.decode() == json.dumps(with_ours(ITEMS), separators=(",", ":"),
                                      ensure_ascii=False)
    assert inserted_only(data.decode(), out.decode()) == [
        ',"custom":{"pith":"' + PITH + '","pith_status":"verified"}'] * 2


def test_python_default_separators_inline() -> None:
    data = json.dumps(ITEMS).encode()  # {"a": 1, "b": 2}: ", " and ": " on one line
    assert annotate_all(data).decode() == json.dumps(with_ours(ITEMS))


def test_better_csl_json_one_item_per_line() -> None:
    lines = [json.dumps(i, separators=(",", ":"), ensure_ascii=False) for i in ITEMS]
    data = ("[\n  " + ",\n  ".join(lines) + "\n]\n").encode()
    assert csljson.parse(data).layout.kind == "one-item-per-line"
    out = annotate_all(data).decode()
    lines = [json.dumps(i, separators=(",", ":"), ensure_ascii=False) for i in with_ours(ITEMS)]
    assert out == "[\n  " + ",\n  ".join(lines) + "\n]\n"


def test_crlf_is_kept_in_the_inserted_text() -> None:
    text = json.dumps(ITEMS, indent=2).replace("\n", "\r\n") + "\r\n"
    out = annotate_all(text.encode()).decode()
    assert out == json.dumps(with_ours(ITEMS), indent=2).replace("\n", "\r\n") + "\r\n"
    assert "\n" not in out.replace("\r\n", "")


def test_bom_is_kept_and_round_trip_is_identical() -> None:
    data = b"\xef\xbb\xbf" + json.dumps(ITEMS, indent="\t").encode()
    csl = csljson.parse(data)
    assert csl.apply() == data
    assert not csl.changed
    out = annotate_all(data)
    assert out.startswith(b"\xef\xbb\xbf")
    assert json.loads(out[3:]) == with_ours(ITEMS)


@pytest.mark.parametrize("seed", range(12))
def test_random_items_and_layouts_get_only_insertions(seed: int) -> None:
    rng = random.Random(seed)
    items = []
    for n in range(rng.randint(1, 6)):
        item: dict[str, Any] = {"id": f"k{n}" if rng.random() < 0.8 else n, "type": "book"}
        for key in rng.sample(["title", "note", "DOI", "URL", "page", "language"], 3):
            item[key] = rng.choice(["plain", "Gödel’s “quote”", "tab\there", "a\\b", "日本"])
        if rng.random() < 0.5:
            item["author"] = [{"family": "X", "given": "Y"}] * rng.randint(1, 3)
        if rng.random() < 0.3:
            item["custom"] = rng.choice([{}, {"other": "x"}, {"a": 1, "b": [1, 2]}])
        items.append(item)
    indent = rng.choice([None, 0, 1, 2, 4, "\t"])
    separators = rng.choice([None, (",", ":"), (", ", ": ")])
    ensure_ascii = rng.random() < 0.5
    text = json.dumps(items, indent=indent, separators=separators, ensure_ascii=ensure_ascii)
    if rng.random() < 0.3:
        text = text.replace("\n", "\r\n")
    chosen = [i for i in range(len(items)) if rng.random() < 0.7]
    csl = csljson.parse(text.encode(), "r.json")
    for index in chosen:
        csl.set_fields(csl.items[index], OURS)
    out = csl.apply().decode()
    expected = copy.deepcopy(items)
    for index in chosen:
        expected[index].setdefault("custom", {}).update(OURS)
    assert json.loads(out) == expected
    pieces = inserted_only(text, out)
    assert len(pieces) == len(chosen)
    again = csljson.parse(out.encode())
    assert [again.items[i].pith for i in chosen] == [PITH] * len(chosen)


# -- existing custom objects ------------------------------------------------------------

def _one(item: dict[str, Any], indent: str | int | None = 2) -> bytes:
    return json.dumps([item], indent=indent, ensure_ascii=False).encode()


@pytest.mark.parametrize("inside", ["", "\n    ", " "])
def test_empty_custom_object_gets_our_keys(inside: str) -> None:
    text = '[\n  {\n    "id": "a",\n    "custom": {' + inside + '}\n  }\n]'
    out = annotate_all(text.encode()).decode()
    assert json.loads(out) == [{"id": "a", "custom": OURS}]
    inserted_only(text, out)
    if inside != " ":
        assert out == ('[\n  {\n    "id": "a",\n    "custom": {\n      "pith": "' + PITH
                       + '",\n      "pith_status": "verified"\n    }\n  }\n]')


def test_custom_with_other_keys_gets_ours_at_its_end() -> None:
    item = {"id": "a", "type": "book", "custom": {"zotero": "ABC", "n": [1, 2]}, "title": "T"}
    data = _one(item)
    out = annotate_all(data).decode()
    expected = copy.deepcopy(item)
    expected["custom"].update(OURS)
    assert out == json.dumps([expected], indent=2, ensure_ascii=False)
    inserted_only(data.decode(), out)


def test_single_member_inline_custom_follows_the_separator_habit() -> None:
    text = '[{"id": "a", "custom": {"other": 1}}]'
    assert annotate_all(text.encode()).decode() == \
        '[{"id": "a", "custom": {"other": 1, "pith": "' + PITH + '", "pith_status": "verified"}}]'


def test_our_existing_keys_get_their_values_replaced_only() -> None:
    item = {"id": "a", "custom": {"pith": PITH, "pith_status": "record-verified", "x": 1}}
    data = _one(item)
    csl = csljson.parse(data)
    assert csl.items[0].pith_status == "record-verified"
    member = csl.items[0].custom_member("pith_status")
    assert member is not None
    assert data.decode()[member.value_start:member.value_end] == '"record-verified"'
    csl.set_fields(csl.items[0], OURS)
    assert csl.changed
    out = csl.apply().decode()
    assert out == data.decode().replace('"record-verified"', '"verified"')


def test_unchanged_values_give_identical_bytes() -> None:
    data = _one({"id": "a", "custom": dict(OURS)}, indent="\t")
    csl = csljson.parse(data)
    csl.set_fields(csl.items[0], OURS)
    assert not csl.changed
    assert csl.apply() == data


def test_one_key_present_the_other_inserted() -> None:
    data = _one({"id": "a", "custom": {"pith": "pith:2017:OLD"}})
    out = annotate_all(data).decode()
    assert json.loads(out) == [{"id": "a", "custom": OURS}]
    assert out == data.decode().replace('"pith:2017:OLD"', f'"{PITH}",\n      '
                                        '"pith_status": "verified"')


def test_a_disagreeing_pith_is_exposed_and_kept_when_the_caller_says_so() -> None:
    data = _one({"id": "a", "custom": {"pith": "pith:2017:SOMEONEELSE"}})
    csl = csljson.parse(data)
    item = csl.items[0]
    assert item.pith == "pith:2017:SOMEONEELSE"
    assert item.pith != PITH
    assert csl.apply() == data  # nothing queued: the caller reports and keeps it


def test_configurable_names() -> None:
    data = _one({"id": "a", "custom": {"pith_number": "pith:1", "pith_state": "verified"}})
    csl = csljson.parse(data, pith_field="pith_number", status_field="pith_state")
    assert (csl.items[0].pith, csl.items[0].pith_status) == ("pith:1", "verified")


def test_custom_that_is_not_an_object_is_refused() -> None:
    csl = csljson.parse(_one({"id": "a", "custom": "text"}), "t.json")
    with pytest.raises(CslJsonEditError, match=r"t\.json:2: item 'a'.*not an object"):
        csl.set_fields(csl.items[0], OURS)


def test_escaped_first_key_takes_the_exact_path() -> None:
    text = '[\n  {\n    "\\u0069d": "a",\n    "type": "book"\n  }\n]'
    csl = csljson.parse(text.encode())
    assert csl.items[0].id == "a"
    out = annotate_all(text.encode()).decode()
    assert json.loads(out) == [{"id": "a", "type": "book", "custom": OURS}]
    assert out.endswith('"type": "book",\n    "custom": {\n      "pith": "' + PITH
                        + '",\n      "pith_status": "verified"\n    }\n  }\n]')


def test_numeric_ids_and_items_without_id() -> None:
    data = json.dumps([{"id": 7, "type": "book"}, {"type": "book"}]).encode()
    csl = csljson.parse(data)
    assert [i.id for i in csl.items] == ["7", None]
    assert csl.items[1].label == "#2"


def test_the_result_is_checked_by_reparsing(monkeypatch: pytest.MonkeyPatch) -> None:
    csl = csljson.parse(_one({"id": "a"}))
    csl.set_fields(csl.items[0], OURS)
    monkeypatch.setattr(csl, "_insertion", lambda item, pairs: (item.end - 1, item.end - 1,
                                                               ', "custom": '))
    with pytest.raises(CslJsonEditError, match="not valid JSON"):
        csl.apply()


def test_items_of_another_file_are_refused() -> None:
    one, other = csljson.parse(_one({"id": "a"})), csljson.parse(_one({"id": "a"}))
    with pytest.raises(CslJsonEditError):
        one.set_fields(other.items[0], OURS)


# -- what the policy reads ----------------------------------------------------------------

def test_zotero_preprint_identifiers() -> None:
    item = {"id": "x", "type": "article", "number": "arXiv:1701.02838",
            "DOI": "10.48550/arXiv.1701.02838", "URL": "http://arxiv.org/abs/1701.02838",
            "publisher": "arXiv", "note": "Version: 2\narXiv: 1701.02838v2"}
    found = extract(csljson.IdFields(csljson.parse(_one(item)).items[0]))
    assert (found.arxiv_id, found.arxiv_version, found.doi, found.conflicts) == \
        ("1701.02838", 2, "10.48550/arxiv.1701.02838", [])


@pytest.mark.parametrize(("member", "value", "arxiv"), [
    ("container-title", "arXiv preprint arXiv:1512.03385", "1512.03385"),
    ("publisher", "arXiv preprint arXiv:hep-th/9901001", "hep-th/9901001"),
    ("note", "Some remark\narXiv: 1701.02838", "1701.02838"),
    ("URL", "https://arxiv.org/pdf/2101.01234v3.pdf", "2101.01234"),
    ("doi", "https://doi.org/10.48550/arXiv.2101.01234", "2101.01234"),
    ("number", "arXiv:0801.0644 [astro-ph]", "0801.0644"),
])
def test_identifier_places(member: str, value: str, arxiv: str) -> None:
    item = csljson.parse(_one({"id": "x", "type": "article", member: value})).items[0]
    assert extract(csljson.IdFields(item)).arxiv_id == arxiv


def test_archive_location_is_an_eprint_only_in_the_arxiv_archive() -> None:
    item = {"id": "x", "type": "article", "archive": "arXiv", "archive_location": "1701.02838"}
    assert extract(csljson.IdFields(csljson.parse(_one(item)).items[0])).arxiv_id == "1701.02838"
    item["archive"] = "National Archives"
    assert extract(csljson.IdFields(csljson.parse(_one(item)).items[0])).arxiv_id is None


def test_disagreeing_places_are_a_conflict() -> None:
    item = {"id": "x", "type": "article", "number": "arXiv:1701.02838",
            "URL": "https://arxiv.org/abs/1512.03385"}
    found = extract(csljson.IdFields(csljson.parse(_one(item)).items[0]))
    assert found.arxiv_id is None
    assert found.conflicts


def test_title_and_authors() -> None:
    item = {"id": "x", "type": "book", "title": "Gödel, Escher, Bach", "author": [
        {"family": "Beethoven", "given": "Ludwig", "non-dropping-particle": "van"},
        {"family": "Humboldt", "given": "Alexander", "dropping-particle": "von"},
        {"family": "King", "given": "Martin Luther", "suffix": "Jr."},
        {"literal": "CMS Collaboration"}, {"given": "Plato"}, "not a name", {}]}
    parsed = csljson.parse(_one(item)).items[0]
    assert parsed.title == "Gödel, Escher, Bach"
    assert parsed.authors == [("van Beethoven", "Ludwig"), ("von Humboldt", "Alexander"),
                              ("King", "Martin Luther"), ("CMS Collaboration", ""),
                              ("", "Plato")]


def test_item_lines() -> None:
    text = json.dumps(ITEMS, indent=2)
    starts = [n for n, line in enumerate(text.split("\n"), 1) if line == "  {"]
    assert [i.line for i in csljson.parse(text.encode()).items] == starts == [2, 20]


# -- detection ----------------------------------------------------------------------------

def test_detection() -> None:
    data = json.dumps(ITEMS).encode()
    assert looks_like_csl_json(data, "refs.txt")
    assert looks_like_csl_json(b"\xef\xbb\xbf" + data, None)
    assert looks_like_csl_json(b"@article{x, title={T}}", "refs.json")
    assert not looks_like_csl_json(b"@article{x, title={T}}", "refs.bib")
    assert not looks_like_csl_json(b'[{"name": "x"}]', "refs.bib")
    assert not looks_like_csl_json(b'{"id": "x", "type": "book"}', "refs")


# -- hostile input --------------------------------------------------------------------------

def _fails(data: bytes, match: str) -> CslJsonError:
    with pytest.raises(CslJsonError, match=match) as info:
        csljson.parse(data, "bad.json")
    return info.value


def test_deep_nesting_inside_an_item() -> None:
    depth = 100_000
    data = b'[{"id": "deep", "type": "book", "x": ' + b"[" * depth + b"]" * depth + b"}]"
    error = _fails(data, "nested too deeply")
    assert error.item_id == "deep"
    assert str(error).startswith("bad.json:1: item 'deep'")


def test_deep_nesting_at_the_top() -> None:
    _fails(b"[" * 100_000 + b"]" * 100_000, "element 1 of the array is not an object")
    _fails(b"[" + b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"]", "nested too deeply")


def test_every_truncation_is_a_typed_error() -> None:
    text = json.dumps(ITEMS, indent=2)
    for cut in range(len(text.rstrip())):
        with pytest.raises(CslJsonError):
            csljson.parse(text[:cut].encode(), "cut.json")


def test_truncation_names_line_and_item() -> None:
    text = json.dumps(ITEMS, indent=2)
    cut = text.index('"A case')
    error = _fails(text[:cut + 5].encode(), "truncated")
    assert error.item_id == "bonissone"
    assert error.line == text[:cut].count("\n") + 1


@pytest.mark.parametrize("text", [
    '[{"id": "a", "type": "book", "id": "b"}]',
    '[{"id": "a", "type": "book", "author": [{"family": "X", "family": "Y"}]}]',
    '[{"id": "a", "custom": {"pith": "1", "pith": "2"}}]',
])
def test_duplicate_keys(text: str) -> None:
    error = _fails(text.encode(), "twice")
    assert error.item_id == "a"


def test_huge_string_value() -> None:
    data = b'[{"id": "big", "type": "book", "abstract": "' + b"x" * 50_000_000 + b'"}]'
    error = _fails(data, "characters long")
    assert error.item_id == "big"


def test_huge_file(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csljson, "MAX_BYTES", 1000)
    _fails(json.dumps(ITEMS * 20).encode(), "are refused")


@pytest.mark.parametrize(("data", "match"), [
    ("[]".encode("utf-16"), "UTF-16"),
    (b'[{"id": "caf\xe9", "type": "book"}]', r"not UTF-8 \(byte 13\)"),
    (b'[{"id": "a", "type": "book", "n": NaN}]', "NaN is not JSON"),
    (b'{"id": "a", "type": "book"}', "expected an array"),
    (b"", "expected an array"),
    (b'["a"]', "element 1 of the array is not an object"),
    (b'[{"id": "a"}] x', "text after"),
    (b'[{"id": "a"}{"id": "b"}]', "expected ',' or ']'"),
    (b'[{"id": "a\x1b"}]', "Invalid control character"),
])
def test_malformed(data: bytes, match: str) -> None:
    error = _fails(data, match)
    assert "\x1b" not in str(error)


def test_empty_array_is_fine() -> None:
    csl = csljson.parse(b"[ ]\n")
    assert csl.items == []
    assert csl.apply() == b"[ ]\n"


def test_too_many_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csljson, "MAX_VALUES", 100)
    _fails(json.dumps(ITEMS * 10).encode(), "values; more than 100 are refused")


def test_line_numbers_without_a_line_table() -> None:
    error = _fails(b"[" + b"\n" * 5_000_000 + b"x]", "expected an array|not an object")
    assert error.line == 5_000_001
    text = '[\r  {"id": "a"},\r\n  {"id": "b"},\n  {"id": "c"}\r]'
    csl = csljson.parse(text.encode())
    assert [i.line for i in reversed(csl.items)] == [4, 3, 2]
    assert [i.line for i in csl.items] == [2, 3, 4]
