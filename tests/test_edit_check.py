"""The check every .bib write passes: the edited text parses back to the same entries.

Only the edited entries are parsed again, in place; the text between them must
be unchanged. Each test hands the check a corrupted result of a real edit (as
a bug in the writer would produce) and expects it refused, and the real result
accepted; entries sharing a line are checked by a whole re-parse instead.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pith_bib import bibfile
from pith_bib.documents import BibDocument, _gaps_start_new_lines
from pith_bib.errors import BibEditError

NUMBER = "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"
OURS = {"pith": NUMBER, "pith_status": "verified"}

FILE = """% a comment
@string{jn = "Journal"}

@article{first,
  title = {First},
  journal = jn,
}

@article{untouched,
  title = {Untouched},
}
@misc{second, title = "Second", year = 2020}

trailing text
"""


def _edited(text: str, keys: tuple[str, ...] = ("first", "second")) -> tuple[BibDocument, str]:
    doc = BibDocument(text.encode(), "refs.bib")
    for entry in doc.entries:
        if entry.key in keys:
            doc.set_fields(entry, OURS)
    return doc, doc.bib.to_bytes().decode()


def test_a_real_edit_passes_and_changes_only_our_fields() -> None:
    doc, out = _edited(FILE)
    assert doc.to_bytes().decode() == out
    again = bibfile.parse(out.encode())
    assert [e.get("pith") for e in again.entries] == [NUMBER, None, NUMBER]
    assert again.entries[1].get("title") == "Untouched"


CORRUPTIONS: dict[str, Callable[[str], str]] = {
    "an unedited entry": lambda out: out.replace("Untouched", "Untouchex"),
    "text between entries": lambda out: out.replace("% a comment", "% a comment!"),
    "the text after the last entry": lambda out: out.replace("trailing", "trailinq"),
    "another field of an edited entry": lambda out: out.replace("{First}", "{Firsts}"),
    "a macro reference of an edited entry": lambda out: out.replace("= jn", "= jm"),
    "our value": lambda out: out.replace("{verified}", "{verifiedd}", 1),
    "the key of an edited entry": lambda out: out.replace("{first,", "{firstt,"),
    "an unbalanced brace": lambda out: out.replace("{First}", "{First"),
    "a lost entry end": lambda out: out.replace("2020", "2020, note = {x}").rstrip("\n"),
    "text cut short": lambda out: out[:-5],
    "text added at the end": lambda out: out + "@misc{extra, title={X}}\n",
    "a new entry between edited ones": lambda out: out.replace(
        "@misc{second", "@misc{new, title={N}}\n@misc{second"),
}


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_a_corrupted_edit_is_refused(corrupt: Callable[[str], str]) -> None:
    doc, out = _edited(FILE)
    bad = corrupt(out)
    assert bad != out
    with pytest.raises(BibEditError, match="internal error"):
        doc._check(bad.encode())


@pytest.mark.parametrize("corrupt", CORRUPTIONS.values(), ids=CORRUPTIONS.keys())
def test_the_whole_parse_refuses_the_same(corrupt: Callable[[str], str]) -> None:
    doc, out = _edited(FILE)
    with pytest.raises(BibEditError, match="internal error"):
        doc._check_whole(corrupt(out))


ONE_LINE = '@misc{a, title={A}}@misc{b, title={B}} % @misc{c, title={C}}\n@misc{d, title={D}}\n'


def test_entries_sharing_a_line_are_checked_by_a_whole_parse(
        monkeypatch: pytest.MonkeyPatch) -> None:
    doc, out = _edited(ONE_LINE, keys=("a", "b"))
    assert not _gaps_start_new_lines(doc.bib.text, [e.entry for e in doc.entries[:2]])
    calls = []
    whole = BibDocument._check_whole
    monkeypatch.setattr(BibDocument, "_check_whole",
                        lambda self, text: calls.append(text) or whole(self, text))
    assert doc.to_bytes().decode() == out
    assert calls == [out]
    with pytest.raises(BibEditError):
        doc._check(out.replace("{B}", "{X}").encode())


def test_entries_on_their_own_lines_are_checked_in_place(
        monkeypatch: pytest.MonkeyPatch) -> None:
    doc, out = _edited(FILE)
    monkeypatch.setattr(BibDocument, "_check_whole",
                        lambda self, text: pytest.fail("parsed the whole file"))
    assert doc.to_bytes().decode() == out


def test_the_encoding_and_byte_order_mark_are_part_of_the_check() -> None:
    text = "@misc{a, title={Caf\u00e9}}\n"
    doc = BibDocument(b"\xef\xbb\xbf" + text.encode(), "refs.bib")
    doc.set_fields(doc.entries[0], OURS)
    out = doc.to_bytes()
    assert out.startswith(b"\xef\xbb\xbf")
    with pytest.raises(BibEditError):
        doc._check(out[3:])  # the mark lost
    with pytest.raises(BibEditError):
        doc._check(out.replace("é".encode(), b"\xe9"))  # not the file's encoding


# -- entries whose fields were only added: checked from the insertion point ----------

def _one(text: str) -> tuple[BibDocument, str]:
    doc = BibDocument(text.encode(), "refs.bib")
    doc.set_fields(doc.entries[0], OURS)
    return doc, doc.bib.to_bytes().decode()


@pytest.mark.parametrize("text", [
    "@misc{a,\n  title = {T},\n}\n",          # after the trailing comma
    "@misc{a,\n  title = {T}\n}\n",           # after the last value
    "@misc(a, title = {T})\n",                # parentheses
    "@misc{a,}\n",                            # no fields yet
    "@misc{a}\n",                             # not even the key's comma
    "@misc{a,\n  title = {T} # \" and \" # jn\n}\n",  # a concatenated value
])
def test_insertions_are_checked_from_where_they_go(text: str,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    doc, out = _one(text)
    monkeypatch.setattr(bibfile.BibFile, "scan_entry_at",
                        lambda self, at: pytest.fail("scanned the whole entry"))
    assert doc.to_bytes().decode() == out
    assert bibfile.parse(out.encode()).entries[0].get("pith") == NUMBER


TAIL_CORRUPTIONS: dict[str, Callable[[str], str]] = {
    "a doubled comma": lambda out: out.replace("},\n  pith", "},,\n  pith"),
    "our field inside the title": lambda out: out.replace(
        "{T},\n  pith = {" + NUMBER + "},", "{T pith = {" + NUMBER + "}},"),
    "the closing brace lost": lambda out: out.replace("verified},\n}", "verified},\n"),
    "a field added after ours": lambda out: out.replace("verified},\n}",
                                                        "verified},\n  note = {x},\n}"),
    "text before the insertion point": lambda out: out.replace("{T}", "{U}"),
}


@pytest.mark.parametrize("corrupt", TAIL_CORRUPTIONS.values(), ids=TAIL_CORRUPTIONS.keys())
def test_a_corrupted_insertion_is_refused(corrupt: Callable[[str], str]) -> None:
    doc, out = _one("@misc{a,\n  title = {T},\n}\n\n@misc{b, title = {B}}\n")
    bad = corrupt(out)
    assert bad != out
    with pytest.raises(BibEditError, match="internal error"):
        doc._check(bad.encode())


def test_a_replaced_value_is_checked_by_scanning_the_whole_entry(
        monkeypatch: pytest.MonkeyPatch) -> None:
    text = "@misc{a,\n  pith = {pith:2018:AAAAAAAAAAAAAAAAAAAAAAAAAA},\n  title = {T},\n}\n"
    doc, out = _one(text)
    scanned: list[int] = []
    real = bibfile.BibFile.scan_entry_at
    monkeypatch.setattr(bibfile.BibFile, "scan_entry_at",
                        lambda self, at: scanned.append(at) or real(self, at))
    assert doc.to_bytes().decode() == out and scanned == [0]
    with pytest.raises(BibEditError):
        doc._check(out.replace("{T}", "{U}").encode())
