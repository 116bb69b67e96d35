"""The Extra codec and the item adapter: our two lines change, nothing else does."""

from __future__ import annotations

import pytest

from pith_bib.errors import PithNumberError, UsageError
from pith_bib.zotero_extra import (
    ExtraNames,
    parse_label,
    parse_tex,
    read_extra,
    set_pith,
    split_lines,
)
from pith_bib.zotero_items import authors, from_json

N = "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"
OTHER = "pith:2019:AH5S4WE2T4KISLKPOBTLFWQMX3"
V = "verified"
OURS = f"tex.pith: {N}\ntex.pith_status: {V}"
OURS_CRLF = f"tex.pith: {N}\r\ntex.pith_status: {V}"
CONFLICT = object()

# (what it is, Extra before, Extra after — or CONFLICT: reported and left unchanged)
CASES = [
    ("empty", "", OURS),
    ("BBT citation key", "Citation Key: smith2020deep", f"Citation Key: smith2020deep\n{OURS}"),
    ("citation key, trailing LF", "Citation Key: smith2020deep\n",
     f"Citation Key: smith2020deep\n{OURS}"),
    ("CRLF lines", "PMID: 29463944\r\nPMCID: PMC5820230",
     f"PMID: 29463944\r\nPMCID: PMC5820230\r\n{OURS_CRLF}"),
    ("CRLF, trailing CRLF", "ZSCC: 0000042\r\n", f"ZSCC: 0000042\r\n{OURS_CRLF}"),
    ("correct lines already", f"Citation Key: a\n{OURS}", f"Citation Key: a\n{OURS}"),
    ("correct lines, CRLF", f"ZSCC: 0000003\r\n{OURS_CRLF}\r\n",
     f"ZSCC: 0000003\r\n{OURS_CRLF}\r\n"),
    ("correct, reversed order, text between",
     f"tex.pith_status: {V}\nnotes here\ntex.pith: {N}",
     f"tex.pith_status: {V}\nnotes here\ntex.pith: {N}"),
    ("wrong number", f"tex.pith: {OTHER}\ntex.pith_status: verified", CONFLICT),
    ("wrong number, bibtex. prefix", f"bibtex.pith: {OTHER}", CONFLICT),
    ("not a pith number at all", "tex.pith: TODO", CONFLICT),
    ("one right, one wrong", f"tex.pith: {N}\ntex.pith: {OTHER}", CONFLICT),
    ("quoted name, wrong number", f'tex."pith": {OTHER}', CONFLICT),
    ("status replaced in place", f"tex.pith: {N}\ntex.pith_status: record-verified\nx: y",
     f"tex.pith: {N}\ntex.pith_status: {V}\nx: y"),
    ("status spacing kept", f"tex.pith: {N}\ntex.pith_status:   old  ",
     f"tex.pith: {N}\ntex.pith_status:   {V}  "),
    ("raw '=' and case kept", f"tex.pith: {N}\ntex.Pith_Status= record-verified",
     f"tex.pith: {N}\ntex.Pith_Status= {V}"),
    ("raw pith line counts", f"tex.pith= {N}", f"tex.pith= {N}\ntex.pith_status: {V}"),
    ("upper-case prefix and name", f"TEX.PITH: {N}", f"TEX.PITH: {N}\ntex.pith_status: {V}"),
    ("short form completed", "tex.pith: pith:DM6GBYSN",
     f"tex.pith: {N}\ntex.pith_status: {V}"),
    ("empty pith line filled", "Citation Key: k\ntex.pith:",
     f"Citation Key: k\ntex.pith: {N}\ntex.pith_status: {V}"),
    ("status only", "tex.pith_status: unverified", f"tex.pith_status: {V}\ntex.pith: {N}"),
    ("bibtex-only status kept as bibtex", "bibtex.pith_status: old",
     f"bibtex.pith_status: {V}\ntex.pith: {N}"),
    ("old {:tex.x: v} syntax", f"{{:tex.pith: {N}}}", f"{{:tex.pith: {N}}}\ntex.pith_status: {V}"),
    ("duplicate, short and full", f"tex.pith: {N}\ntex.pith: pith:DM6GBYSN",
     f"tex.pith: {N}\ntex.pith: {N}\ntex.pith_status: {V}"),
    ("other plugins' lines", "ZSCC: 0000123\nzotero-ocr: done\n_eprint: 10.1000/x",
     f"ZSCC: 0000123\nzotero-ocr: done\n_eprint: 10.1000/x\n{OURS}"),
    ("other tex lines, ':' and '='", "tex.howpublished: online\ntex.eprint= 1802.04924",
     f"tex.howpublished: online\ntex.eprint= 1802.04924\n{OURS}"),
    ("similar names are not ours", "tex.pith_number: 5\ntex.pithy: x\ntex.pith status: y",
     f"tex.pith_number: 5\ntex.pithy: x\ntex.pith status: y\n{OURS}"),
    ("a Zotero label named pith is not ours", f"pith: {OTHER}", f"pith: {OTHER}\n{OURS}"),
    ("indented tex line is not exported by BBT", f"  tex.pith: {OTHER}",
     f"  tex.pith: {OTHER}\n{OURS}"),
    ("CSL label lines", "type: article-journal\nissued: 2018-02-14\ncontainer-title: Nature",
     f"type: article-journal\nissued: 2018-02-14\ncontainer-title: Nature\n{OURS}"),
    ("free text with colons", "Read again: important!\nSee also arXiv:1234.56789",
     f"Read again: important!\nSee also arXiv:1234.56789\n{OURS}"),
    ("blank lines kept", "\n\nfoo\n\n", f"\n\nfoo\n\n{OURS}"),
    ("just a newline", "\n", f"\n{OURS}"),
    ("mixed endings: the first one is used", "a\nb\r\nc", f"a\nb\r\nc\n{OURS}"),
    ("unicode", "Übersetzung: Müller\nabstract: 数据",
     f"Übersetzung: Müller\nabstract: 数据\n{OURS}"),
    ("lone CR at the end stays", "foo\r", f"foo\r\n{OURS}"),
    ("arXiv and DOI labels", "arXiv: 1802.04924\nDOI: 10.1000/xyz",
     f"arXiv: 1802.04924\nDOI: 10.1000/xyz\n{OURS}"),
]


@pytest.mark.parametrize(("what", "before", "after"), CASES, ids=[c[0] for c in CASES])
def test_codec_table(what: str, before: str, after: object) -> None:
    edit = set_pith(before, N, V)
    if after is CONFLICT:
        assert edit.conflict and not edit.changed and edit.extra == before
        return
    assert edit.conflict is None
    assert edit.extra == after
    assert edit.changed == (after != before)
    again = set_pith(edit.extra, N, V)  # a second run changes nothing
    assert again.extra == edit.extra and not again.changed
    fields = read_extra(edit.extra)
    assert set(fields.status) == {V}
    assert all(p == N for p in fields.pith)


def test_conflict_message_names_both_numbers_without_control_characters() -> None:
    edit = set_pith(f"tex.pith: {OTHER}\x1b[31m", N, V)
    assert OTHER in edit.conflict and N in edit.conflict
    assert "\x1b" not in edit.conflict


def test_configured_field_names() -> None:
    names = ExtraNames(pith="pithnumber", status="pithstate")
    edit = set_pith(f"tex.pith: {OTHER}", N, V, names)
    assert edit.extra == f"tex.pith: {OTHER}\ntex.pithnumber: {N}\ntex.pithstate: {V}"
    with pytest.raises(UsageError):
        ExtraNames(pith="pith number")
    with pytest.raises(UsageError):
        ExtraNames(pith="p", status="P")


def test_refuses_to_write_anything_but_a_full_number_and_a_plain_status() -> None:
    with pytest.raises(PithNumberError):
        set_pith("", "pith:DM6GBYSN", V)
    with pytest.raises(UsageError):
        set_pith("", N, "verified\ntex.pith: pith:2019:AAAAAAAA")
    assert set_pith("", N.lower(), V).extra == OURS  # the number is written upper case


def test_zotero_label_rules() -> None:
    # the label runs to the last colon followed by text, as Zotero's regex does
    assert parse_label("DOI: 10.1000/abc") == ("doi", "10.1000/abc")
    assert parse_label("Publication Title: X") == ("publication-title", "X")
    assert parse_label("publicationTitle: X") == ("publication-title", "X")
    assert parse_label("arXiv: 1802.04924") == ("ar-xiv", "1802.04924")
    assert parse_label("DOI:   ") is None  # empty values are ignored
    assert parse_label("1st: x") is None  # must start with a letter
    fields = read_extra("DOI: 10.1/first\nDOI: 10.1/second")
    assert fields.labels["doi"] == "10.1/first"  # the first valid occurrence wins


def test_better_bibtex_tex_rules() -> None:
    line = parse_tex("BibLaTeX.EPrint= 1802.04924 ")
    assert line is not None and line.name == "eprint" and line.raw and line.value == "1802.04924"
    assert parse_tex("tex.two words: x") is None
    assert parse_tex("text.pith: x") is None
    fields = read_extra("tex.eprint: 1111.11111\ntex.eprint: 1802.04924")
    assert fields.tex["eprint"] == "1802.04924"  # a later tex line overwrites an earlier one


def test_split_lines_round_trips_every_ending() -> None:
    for text in ["", "\n", "a", "a\r\n", "a\r\nb\nc\r", "\r\n\r\n"]:
        assert "".join(x.text + x.ending for x in split_lines(text)) == text


def _ours(text: str) -> bool:
    tex = parse_tex(text)
    return tex is not None and tex.name in ("pith", "pith_status")


try:
    from hypothesis import given, settings
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is a test extra
    given = None

if given is not None:
    _SAMPLES = [f"tex.pith: {N}", f"tex.pith: {OTHER}", "tex.pith_status: old", "tex.pith:",
                f"TEX.Pith= {N}", "tex.pith: pith:DM6GBYSN", "Citation Key: k", "tex.eprint: 1",
                "DOI: 10.1/x", "", " ", "tex.x= y", "{:tex.pith_status: z}", "arXiv: 1802.04924"]
    _line = st.one_of(st.sampled_from(_SAMPLES),
                      st.text(st.characters(blacklist_characters="\n"), max_size=30))
    _ending = st.sampled_from(["\n", "\r\n"])

    @settings(max_examples=400, deadline=None, database=None)
    @given(st.lists(st.tuples(_line, _ending), max_size=12), st.booleans())
    def test_every_line_that_is_not_ours_survives_byte_for_byte(
            lines: list[tuple[str, str]], trailing: bool) -> None:
        extra = "".join(text + ending for text, ending in lines)
        if lines and not trailing:
            extra = extra[: -len(lines[-1][1])]
        edit = set_pith(extra, N, V)
        if edit.conflict:
            assert edit.extra == extra
            return
        # every line that is not ours is there, in order, with its ending, byte for
        # byte; only the last line, if it had no ending, may have gained one
        before = [x.text + x.ending for x in split_lines(extra) if not _ours(x.text)]
        after = [x.text + x.ending for x in split_lines(edit.extra) if not _ours(x.text)]
        assert len(after) == len(before)
        for old, new in zip(before, after, strict=True):
            assert new == old or (new.startswith(old) and not old.endswith("\n"))
        if not any(_ours(x.text) for x in split_lines(extra)):
            assert edit.extra.startswith(extra)  # only appended to
        fields = read_extra(edit.extra)
        assert fields.pith and set(fields.pith) == {N} and set(fields.status) == {V}
        assert set_pith(edit.extra, N, V).changed is False


# -- the item adapter ------------------------------------------------------------------

def _item(item_type: str = "journalArticle", **data: object) -> dict[str, object]:
    return {"key": "ABCD2345", "version": 7,
            "data": {"key": "ABCD2345", "version": 7, "itemType": item_type, "title": "T",
                     "creators": [], "extra": "", **data}}


ITEM_IDS = [
    ("preprint archiveID", _item("preprint", archiveID="arXiv:1802.04924"), "1802.04924", None),
    ("arXiv pdf url", _item(url="https://arxiv.org/pdf/1811.06992v2.pdf"), "1811.06992v2", None),
    ("arXiv abs url", _item(url="http://arxiv.org/abs/hep-th/9901001"), "hep-th/9901001", None),
    ("publicationTitle", _item(publicationTitle="arXiv preprint arXiv:1708.02188"),
     "1708.02188", None),
    ("publicationTitle with class", _item(publicationTitle="arXiv:1802.04924 [cs]"),
     "1802.04924", None),
    ("arXiv DOI", _item(DOI="10.48550/arXiv.1806.03377"), "1806.03377",
     "10.48550/arxiv.1806.03377"),
    ("journal DOI", _item(DOI="https://doi.org/10.1103/PhysRevD.1.1"), None,
     "10.1103/physrevd.1.1"),
    ("Extra arXiv label", _item(extra="arXiv: 1811.00143"), "1811.00143", None),
    ("Extra tex.eprint", _item(extra="tex.eprint: hep-th/9901001\ntex.archiveprefix: arXiv"),
     "hep-th/9901001", None),
    ("Extra tex.arxiv", _item(extra="tex.arxiv: 1802.04924v2"), "1802.04924v2", None),
    ("Extra DOI for a book", _item("book", extra="DOI: 10.1007/978-3-030"), None,
     "10.1007/978-3-030"),
    ("item DOI beats Extra DOI", _item(DOI="10.1000/field", extra="DOI: 10.1000/extra"), None,
     "10.1000/field"),
    ("preprint number", _item("preprint", number="arXiv:2101.01234"), "2101.01234", None),
    ("Extra free text", _item(extra="Comment: arXiv preprint arXiv:1708.02188"), "1708.02188",
     None),
    ("book with nothing", _item("book"), None, None),
    ("non-arXiv archiveID", _item("preprint", archiveID="SSRN:3212345"), None, None),
    ("report number ignored", _item("report", number="1802.04924"), None, None),
]


@pytest.mark.parametrize(("what", "obj", "arxiv", "doi"), ITEM_IDS, ids=[c[0] for c in ITEM_IDS])
def test_item_identifiers(what: str, obj: dict[str, object], arxiv: str | None,
                          doi: str | None) -> None:
    ids = from_json(obj).identifiers
    assert ids.arxiv == arxiv
    assert ids.doi == doi
    assert not ids.conflicts


def test_item_whose_places_disagree_is_a_conflict() -> None:
    ids = from_json(_item(url="https://arxiv.org/abs/1802.04924",
                          extra="arXiv: 1811.06992")).identifiers
    assert ids.arxiv is None and ids.conflicts


def test_our_own_lines_are_read_back() -> None:
    item = from_json(_item(extra=f"Citation Key: x\n{OURS}"))
    assert item.pith == N and item.status == V
    assert item.identifiers.arxiv is None  # a pith number is not an identifier of the paper


def test_authors_only_authors_in_both_name_forms() -> None:
    data = {"creators": [
        {"creatorType": "author", "firstName": "Ada", "lastName": "Lovelace"},
        {"creatorType": "editor", "firstName": "Ed", "lastName": "Itor"},
        {"creatorType": "author", "name": "CMS Collaboration"},
        {"creatorType": "contributor", "name": "Someone"},
        {"creatorType": "author", "lastName": "Plato"},
        {"creatorType": "author"},
        "junk",
    ]}
    assert authors(data) == [("Lovelace", "Ada"), ("CMS Collaboration", ""), ("Plato", "")]
    assert authors({"creators": "nonsense"}) == []
