"""Edits keep each file's own style: line endings, indentation, delimiters, encodings."""

from __future__ import annotations

import pytest

from pith_bib.bibfile import parse
from pith_bib.errors import BibDecodeError, BibEditError

PITH = "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"


def annotate(data: bytes) -> bytes:
    bib = parse(data, "t.bib")
    assert bib.problems == []
    for entry in bib.entries:
        bib.set_field(entry, "pith", PITH)
        bib.set_field(entry, "pith_status", "verified")
    return bib.to_bytes()


def test_crlf_file_gets_crlf_lines() -> None:
    src = b"@article{a,\r\n  title = {T},\r\n  year = 2020\r\n}\r\n"
    assert annotate(src) == (
        b"@article{a,\r\n  title = {T},\r\n  year = 2020,\r\n"
        b"  pith = {" + PITH.encode() + b"},\r\n  pith_status = {verified}\r\n}\r\n")


def test_cr_only_file() -> None:
    src = b"@article{a,\r  title = {T},\r}\r"
    out = annotate(src)
    assert out == b"@article{a,\r  title = {T},\r  pith = {" + PITH.encode() + \
        b"},\r  pith_status = {verified},\r}\r"
    assert b"\n" not in out


def test_mixed_file_uses_each_entry_own_line_ending() -> None:
    src = b"@article{a,\r\n  title = {T},\r\n}\r\n@article{b,\n  title = {U},\n}\n"
    bib = parse(src)
    assert bib.mixed_newlines
    out = annotate(src)
    first, second = out.split(b"@article{b")
    assert b"pith = {" in first and b"\n  pith" not in first.replace(b"\r\n", b"")
    assert b"\r" not in second


def test_tabs_and_aligned_equals() -> None:
    src = b"@book{b,\n\tauthor    = {A},\n\ttitle     = {T},\n\tpublisher = {P}\n}\n"
    assert annotate(src) == (
        b"@book{b,\n\tauthor    = {A},\n\ttitle     = {T},\n\tpublisher = {P},\n"
        b"\tpith      = {" + PITH.encode() + b"},\n\tpith_status = {verified}\n}\n")


def test_parenthesised_entry_and_quoted_values() -> None:
    src = b'@misc(m, title = "T", note = "N")\n'
    assert annotate(src) == (
        b'@misc(m, title = "T", note = "N", pith = "' + PITH.encode()
        + b'", pith_status = "verified")\n')


def test_compact_style_without_spaces() -> None:
    src = b"@misc{m,title={T},year={2001},}\n"
    assert annotate(src) == (
        b"@misc{m,title={T},year={2001},pith={" + PITH.encode()
        + b"},pith_status={verified},}\n")


def test_closing_brace_on_last_field_line() -> None:
    src = b"@misc{m,\n  title = {T}}\n"
    assert annotate(src) == (
        b"@misc{m,\n  title = {T},\n  pith = {" + PITH.encode()
        + b"},\n  pith_status = {verified}}\n")


def test_replacing_an_existing_field_keeps_its_delimiters_and_place() -> None:
    src = b'@misc{m,\n  Pith = "pith:OLD",\n  title = {T}\n}\n'
    bib = parse(src)
    bib.set_field(bib.entries[0], "pith", PITH)
    assert bib.to_bytes() == b'@misc{m,\n  Pith = "' + PITH.encode() + b'",\n  title = {T}\n}\n'


def test_comments_strings_preamble_and_junk_are_untouched() -> None:
    src = (b"% leading comment @ not an entry\n@preamble{\"\\newcommand{\\x}{y}\"}\n"
           b"@string{ apj = {Astrophys. J.} }\njunk between entries\n"
           b"@comment{jabref-meta: databaseType:bibtex;}\n"
           b"@article{a, journal = apj # { Lett.}, title={T}}\n")
    out = annotate(src)
    assert out.startswith(src[: src.index(b"@article")])
    bib = parse(out)
    assert bib.entries[0].get("journal") == "Astrophys. J. Lett."
    assert bib.entries[0].get("pith") == PITH


def test_commented_out_entry_is_not_an_entry() -> None:
    bib = parse(b"%@article{old, title={x}}\n@article{new, title={y}}\n")
    assert [e.key for e in bib.entries] == ["new"]


@pytest.mark.parametrize(("encoding", "bom"), [
    ("utf-8", b""), ("utf-8", b"\xef\xbb\xbf"), ("utf-16-le", b"\xff\xfe"),
    ("utf-16-be", b"\xfe\xff"), ("cp1252", b""), ("latin-1", b""),
])
def test_encodings_round_trip_and_edit(encoding: str, bom: bytes) -> None:
    text = "@article{a,\n  author = {Gödel, Kurt and Cañón, José},\n  title = {Über “Zitate”},\n}\n"
    if encoding == "latin-1":
        text = text.replace("“", '"').replace("”", '"')
    data = bom + text.encode(encoding)
    bib = parse(data)
    assert bib.to_bytes() == data
    out = annotate(data)
    assert out.startswith(bom)
    decoded = out[len(bom):].decode(encoding)
    added = "},\n  pith = {" + PITH + "},\n  pith_status = {verified},\n}"
    assert decoded == text.replace("},\n}", added)


def test_cp1252_bytes_undefined_in_cp1252_fall_back_to_latin1() -> None:
    data = "@misc{a, title = {caf\u00e9 \x81}}\n".encode("latin-1")
    bib = parse(data)
    assert bib.encoding == "latin-1"
    assert bib.to_bytes() == data


def test_jabref_encoding_header_is_honoured() -> None:
    text = "% Encoding: ISO-8859-2\n@misc{a, title = {Łódź}}\n"
    data = text.encode("iso-8859-2")
    bib = parse(data)
    assert bib.encoding == "ISO-8859-2"
    assert bib.entries[0].get("title") == "Łódź"


def test_undecodable_file_is_refused_clearly() -> None:
    with pytest.raises(BibDecodeError, match=r"bad\.bib: starts with a utf-8 byte-order mark"):
        parse(b"\xef\xbb\xbf@misc{a, title={\xff\xfe}}", "bad.bib")
    with pytest.raises(BibDecodeError, match="utf-16-le"):
        parse(b"\xff\xfe@\x00m\x00\x00\xd8", "bad16.bib")


def test_malformed_entry_is_reported_with_line_and_kept() -> None:
    src = (b"@article{good1, title={A}}\n\n@article{broken, title={B}, year\n"
           b"@article{good2, title={C}}\n@misc{nokey title={x}}\n@book{good3, title={D}}\n")
    bib = parse(src, "lib.bib")
    assert [e.key for e in bib.entries] == ["good1", "good2", "good3"]
    assert [(p.line, p.key) for p in bib.problems] == [(3, "broken"), (5, "nokey")]
    assert "expected" in bib.problems[0].message
    for entry in bib.entries:
        bib.set_field(entry, "pith", PITH)
    out = bib.to_bytes()
    assert b"@article{broken, title={B}, year\n" in out
    assert b"@misc{nokey title={x}}\n" in out
    assert out.count(b"pith = {") == 0 and out.count(b"pith={") == 3


def test_refuses_values_that_could_break_the_entry() -> None:
    bib = parse(b"@misc{a, title={T}}\n")
    with pytest.raises(BibEditError):
        bib.set_field(bib.entries[0], "pith", "x} , evil = {y")


def test_get_expands_macros_months_and_concatenation() -> None:
    bib = parse(b'@string{me = "Me"}\n@misc{a, author = me # " and You", month = jan, year = 1999}')
    entry = bib.entries[0]
    assert entry.get("AUTHOR") == "Me and You"
    assert entry.get("month") == "January"
    assert entry.get("year") == "1999"
    assert entry.fields == {"author": 'me # " and You"', "month": "jan", "year": "1999"}
    assert entry.line == 2


def test_deeply_nested_braces_use_the_fallback_scanner() -> None:
    deep = "{" * 9 + "x" + "}" * 9
    bib = parse(f"@misc{{a, title = {deep}, year = 2000}}\n".encode())
    assert bib.problems == []
    assert bib.entries[0].fields["title"] == deep
    assert bib.entries[0].get("year") == "2000"
