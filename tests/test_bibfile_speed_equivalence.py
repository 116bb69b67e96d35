"""The fast path of the .bib scanner gives exactly what the general scan gives.

``bibfile.parse`` takes a well-formed ``@type{key, fields}`` entry through
``BibFile._fast_entry`` (one pattern per field, comma included) and hands
everything else to the general scan, which starts the entry over. These tests
pin the structure the scanner produced before the fast path existed on inputs
chosen to hit each branch (expected values below), check that the fast path and
the general scan agree on every entry of those inputs and of every .bib in the
shared corpora, and check the shared helpers (recovery points, entry lines,
newline detection) against their plain definitions.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pith_bib import bibfile
from pith_bib.bibfile import BibFile

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"

CASES = {
    "jabref_aligned_crlf": (
        "% Encoding: UTF-8\r\n\r\n"
        "@Article{smith2020,\r\n"
        "  author    = {Smith, John and Doe, Jane},\r\n"
        "  title     = {A {Study} of Things},\r\n"
        "  year      = {2020},\r\n"
        "}\r\n"),
    "concatenation_and_macros": (
        '@string{jn = "Journal of " # "Tests"}\n'
        "@STRING(pub = {Pub})\n"
        "@article{k1,\n"
        '  journal = jn # " Series " # {B},\n'
        "  month = jan,\n"
        "  year = 1999,\n"
        "  publisher = pub\n"
        "}\n"),
    "quoted_with_braces": (
        '@book{q,\n  title = "The {"}Quoted{"} {B}ook",\n  note = "a, b"\n}\n'),
    "parentheses": (
        "@misc(p1,\n  title = {Paren (entry)},\n  year = 2001,\n)\n"
        "@misc(p2, title = {x})\n"),
    "comments_between_fields": (
        "@article{c,\n  title = {T},\n  % author = {hidden},\n  year = {2000},\n"
        "  % closing note\n}\n"),
    "cr_only": "@article{r1,\r  title = {R},\r  year = 1\r}\r@article{r2,\r  title = {S}\r}\r",
    "trailing_and_missing_comma": (
        "@article{t1, title = {A}, year = {1},}\n"
        "@article{t2, title = {A}, year = {1}}\n"
        "@article{t3,}\n"
        "@misc{t4}\n"),
    "preamble_comment": (
        '@preamble{"\\newcommand{\\x}{y}"}\n'
        "@comment{jabref-meta: databaseType:bibtex;}\n"
        "@Comment this is ignored\n"
        "@article{after, title = {After}}\n"),
    "malformed_recovery": (
        "@article{bad1,\n  title = {Unclosed,\n  year = 2000\n}\n\n"
        "@article{good1,\n  title = {Fine}\n}\n"
        "@article{bad2,\n  title = {x} year = 2\n}\n"
        "@article{,\n  title = {no key}\n}\n"
        "  @book{good2, title = {Indented}}\n"),
    "deep_nesting": "@article{deep, title = {a{b{c{d{e{f{g}}}}}}}, year = 2}\n",
    "not_at_line_start": (
        "text before @article{inline, title = {I}} and after\n"
        "% @article{commented, title = {C}}\n"
        "   % also @article{commented2, title = {C}}\n"
        "@article{x1, title = {A}}@article{x2, title = {B}}\n"
        "mail me@example.org\n"),
    "mixed_newlines_and_blanks": (
        "@article{m1,\n  title = {A}\r\n}\r\n \t@book{m2,\r  title = {B}\n}\n@@ lone\n"),
    "swallowed_entry": (
        "@article{s1,\n  title = {Open {brace},\n  year = 2000\n}\n"
        "@article{s2,\n  title = {Next}\n}\n"),
    "empty_and_odd": "@\n@{x}\n@article\n@article{k2 title}\n@article{k3, = {v}}\n",
    "value_runs_into_next": (
        "@article{s1,\n  title = {{Open {brace}\n}\n@article{s2, title = {Next}}\n}\n"
        "@article{s3, title = {Last}}\n"),
    "preamble_and_string_swallow": (
        "@preamble{{a\n@article{p, title = {x}}\n}}\n"
        "@string{s = {a\n@article{q, title = {y}}\n}}\n"
        "@string{one = {1}, two = {2}}\n"),
    "many_at_signs_one_line": "x@y@@a{k, t={v}}@@misc{m}@\n@",
    "blank_runs_before_entries": (
        "@a{bad, t = {\n"
        " \t % @a{k1, t = {c}}\n"
        + " " * 70 + "@a{k2, t = {b}}\n"
        + "\t" * 130 + "@a{k3, t = {v}}\n"
        + " x @a{k4, t = {w}}\n"),
    "hash_parts_spacing": "@article{h, title = {A}  #  \"B\" #c, note={}}\n",
}


def render(bib: BibFile) -> str:
    """Every span the scanner records: entries, fields, blocks, problems, macros.

    A problem's message is cut after each ':' and ';' (the cut keeps every character).
    """
    out = []
    for e in bib.entries:
        out.append(f"@{e.type}{e.open_delim}{e.key} line {e.line} {e.start}-{e.end} "
                   f"key_end {e.key_end} key_comma {e.key_comma} trailing {e.trailing_comma}")
        out.extend(f"  {f.name} {f.name_start} {f.value_start}-{f.value_end} {f.raw}"
                   for f in e.field_list)
    blocks = [f"{k.kind}:{k.start}-{k.end}" for k in bib.blocks]
    out.extend("blocks " + " ".join(blocks[i:i + 6]) for i in range(0, len(blocks), 6))
    for p in bib.problems:
        out.append(f"problem line {p.line} key {p.key}:")
        out.extend("  " + part for part in re.split(r"(?<=[:;])(?= )", p.message))
    out.extend(f"macro {k} = {v}" for k, v in bib.macros.items())
    return "\n".join(out) + "\n"


# What the scanner produced for CASES before the fast path was added.
EXPECTED = {
    "jabref_aligned_crlf": """\
@Article{smith2020 line 3 21-148 key_end 39 key_comma 39 trailing 144
  author 44 56-83 {Smith, John and Doe, Jane}
  title 88 100-121 {A {Study} of Things}
  year 126 138-144 {2020}
blocks text:0-21 entry:21-148 text:148-150
""",
    "concatenation_and_macros": """\
@article{k1 line 3 59-156 key_end 70 key_comma 70 trailing None
  journal 74 84-105 jn # " Series " # {B}
  month 109 117-120 jan
  year 124 131-135 1999
  publisher 139 151-154 pub
blocks string:0-37 text:37-38 string:38-58 text:58-59 entry:59-156 text:156-157
macro jn = Journal of Tests
macro pub = Pub
""",
    "quoted_with_braces": """\
@book{q line 1 0-63 key_end 7 key_comma 7 trailing None
  title 11 19-44 "The {"}Quoted{"} {B}ook"
  note 48 55-61 "a, b"
blocks entry:0-63 text:63-64
""",
    "parentheses": """\
@misc(p1 line 1 0-53 key_end 8 key_comma 8 trailing 50
  title 12 20-35 {Paren (entry)}
  year 39 46-50 2001
@misc(p2 line 5 54-76 key_end 62 key_comma 62 trailing None
  title 64 72-75 {x}
blocks entry:0-53 text:53-54 entry:54-76 text:76-77
""",
    "comments_between_fields": """\
@article{c line 1 0-85 key_end 10 key_comma 10 trailing 65
  title 14 22-25 {T}
  year 52 59-65 {2000}
blocks entry:0-85 text:85-86
""",
    "cr_only": """\
@article{r1 line 1 0-40 key_end 11 key_comma 11 trailing None
  title 15 23-26 {R}
  year 30 37-38 1
@article{r2 line 5 41-69 key_end 52 key_comma 52 trailing None
  title 56 64-67 {S}
blocks entry:0-40 text:40-41 entry:41-69 text:69-70
""",
    "trailing_and_missing_comma": """\
@article{t1 line 1 0-38 key_end 11 key_comma 11 trailing 36
  title 13 21-24 {A}
  year 26 33-36 {1}
@article{t2 line 2 39-76 key_end 50 key_comma 50 trailing None
  title 52 60-63 {A}
  year 65 72-75 {1}
@article{t3 line 3 77-90 key_end 88 key_comma 88 trailing None
@misc{t4 line 4 91-100 key_end 99 key_comma None trailing None
blocks entry:0-38 text:38-39 entry:39-76 text:76-77 entry:77-90 text:90-91
blocks entry:91-100 text:100-101
""",
    "preamble_comment": """\
@article{after line 4 101-133 key_end 115 key_comma 115 trailing None
  title 117 125-132 {After}
blocks preamble:0-31 text:31-32 comment:32-40 text:40-76 comment:76-84 text:84-101
blocks entry:101-133 text:133-134
""",
    "malformed_recovery": """\
@article{good1 line 6 53-87 key_end 67 key_comma 67 trailing None
  title 71 79-85 {Fine}
@book{good2 line 15 162-194 key_end 173 key_comma 173 trailing None
  title 175 183-193 {Indented}
blocks bad:0-53 entry:53-87 text:87-88 bad:88-128 bad:128-160 text:160-162
blocks entry:162-194 text:194-195
problem line 1 key bad1:
  malformed @article{bad1:
   unbalanced braces or quotes in field 'title' (line 2):
   its value swallows the end of the entry;
   its text is kept as it is
problem line 9 key bad2:
  malformed @article{bad2:
   expected ',' or '}' after field 'title' on line 10, found 'year = 2';
   its text is kept as it is
problem line 12 key None:
  malformed @article:
   the entry has no key;
   its text is kept as it is
""",
    "deep_nesting": """\
@article{deep line 1 0-55 key_end 13 key_comma 13 trailing None
  title 15 23-44 {a{b{c{d{e{f{g}}}}}}}
  year 46 53-54 2
blocks entry:0-55 text:55-56
""",
    "not_at_line_start": """\
@article{inline line 1 12-41 key_end 27 key_comma 27 trailing None
  title 29 37-40 {I}
@article{x1 line 4 131-156 key_end 142 key_comma 142 trailing None
  title 144 152-155 {A}
@article{x2 line 4 156-181 key_end 167 key_comma 167 trailing None
  title 169 177-180 {B}
blocks text:0-12 entry:12-41 text:41-54 text:54-86 text:86-97 text:97-130
blocks text:130-131 entry:131-156 entry:156-181 text:181-189 text:189-201 text:201-202
""",
    "mixed_newlines_and_blanks": """\
@article{m1 line 1 0-29 key_end 11 key_comma 11 trailing None
  title 15 23-26 {A}
@book{m2 line 4 33-58 key_end 41 key_comma 41 trailing None
  title 45 53-56 {B}
blocks entry:0-29 text:29-33 entry:33-58 text:58-59 text:59-60 text:60-66
blocks text:66-67
""",
    "swallowed_entry": """\
@article{s2 line 5 54-85 key_end 65 key_comma 65 trailing None
  title 69 77-83 {Next}
blocks bad:0-54 entry:54-85 text:85-86
problem line 1 key s1:
  malformed @article{s1:
   unbalanced braces or quotes in field 'title' (line 2):
   its value swallows the end of the entry;
   its text is kept as it is
""",
    "empty_and_odd": """\
blocks text:0-1 text:1-2 text:2-3 text:3-7 text:7-15 text:15-16
blocks bad:16-35 bad:35-55
problem line 4 key k2:
  malformed @article{k2:
   expected ',' after the key 'k2';
   its text is kept as it is
problem line 5 key k3:
  malformed @article{k3:
   expected a field or '}' on line 5, found '= {v}}';
   its text is kept as it is
""",
    "value_runs_into_next": """\
@article{s2 line 4 40-68 key_end 51 key_comma 51 trailing None
  title 53 61-67 {Next}
@article{s3 line 6 71-99 key_end 82 key_comma 82 trailing None
  title 84 92-98 {Last}
blocks bad:0-40 entry:40-68 text:68-71 entry:71-99 text:99-100
problem line 1 key s1:
  malformed @article{s1:
   unbalanced braces or quotes in field 'title' (line 2):
   its value runs into the entry on line 4;
   its text is kept as it is
""",
    "preamble_and_string_swallow": """\
@article{p line 2 13-37 key_end 23 key_comma 23 trailing None
  title 25 33-36 {x}
@article{q line 5 56-80 key_end 66 key_comma 66 trailing None
  title 68 76-79 {y}
blocks bad:0-13 entry:13-37 text:37-41 bad:41-56 entry:56-80 text:80-84
blocks bad:84-114
problem line 1 key None:
  malformed @preamble:
   unbalanced braces or a missing closing delimiter:
   it runs into the entry on line 2;
   its text is kept as it is
problem line 4 key None:
  malformed @string:
   unbalanced braces or quotes in field 's' (line 4):
   its value runs into the entry on line 5;
   its text is kept as it is
problem line 7 key None:
  malformed @string:
   @string must define exactly one macro;
   its text is kept as it is
""",
    "many_at_signs_one_line": """\
@a{k line 1 4-16 key_end 8 key_comma 8 trailing None
  t 10 12-15 {v}
@misc{m line 1 17-25 key_end 24 key_comma None trailing None
blocks text:0-1 text:1-3 text:3-4 entry:4-16 text:16-17 entry:17-25
blocks text:25-26 text:26-27 text:27-28
""",
    # A value that is never closed is read only up to the next line that starts an
    # entry (bounded work); the problem names that entry.
    "blank_runs_before_entries": """\
@a{k2 line 3 105-120 key_end 110 key_comma 110 trailing None
  t 112 116-119 {b}
@a{k3 line 4 251-266 key_end 256 key_comma 256 trailing None
  t 258 262-265 {v}
@a{k4 line 5 270-285 key_end 275 key_comma 275 trailing None
  t 277 281-284 {w}
blocks bad:0-35 text:35-105 entry:105-120 text:120-251 entry:251-266 text:266-270
blocks entry:270-285 text:285-286
problem line 1 key bad:
  malformed @a{bad:
   unbalanced braces or quotes in field 't' (line 1):
   its value runs into the entry on line 3;
   its text is kept as it is
""",
    "hash_parts_spacing": """\
@article{h line 1 0-44 key_end 10 key_comma 10 trailing None
  title 12 20-34 {A}  #  "B" #c
  note 36 41-43 {}
blocks entry:0-44 text:44-45
""",
}

# What the scanner wrote for these CASES after giving every entry a pith field
# and a new title, before the fast path was added.
EDITED = {
    "jabref_aligned_crlf": (
        b"% Encoding: UTF-8\r\n\r\n@Article{smith2020,\r\n"
        b"  author    = {Smith, John and Doe, Jane},\r\n  title     = {New},\r\n"
        b"  year      = {2020},\r\n  pith      = {pith:1},\r\n}\r\n"),
    "cr_only": (
        b"@article{r1,\r  title = {New},\r  year = 1,\r  pith = {pith:1}\r}\r"
        b"@article{r2,\r  title = {New},\r  pith = {pith:1}\r}\r"),
    "comments_between_fields": (
        b"@article{c,\n  title = {New},\n  % author = {hidden},\n  year = {2000},\n"
        b"  pith = {pith:1},\n  % closing note\n}\n"),
    "parentheses": (
        b"@misc(p1,\n  title = {New},\n  year = 2001,\n  pith = {pith:1},\n)\n"
        b"@misc(p2, title = {New}, pith = {pith:1})\n"),
}

# The recovery points as first defined: a line start, blanks, then '@name{'.
RECOVERY_REFERENCE = re.compile(r"(?<![^\n\r])[ \t]*@[ \t]*[A-Za-z][\w\-:.+]*[ \t]*[{(]")


def edited(bib: BibFile) -> bytes:
    for entry in bib.entries:
        bib.set_field(entry, "pith", "pith:1")
        bib.set_field(entry, "title", "New")
    return bib.to_bytes()


def snapshot(data: bytes) -> tuple[object, ...]:
    """Everything a caller can read from a parse, and the bytes after edits."""
    bib = bibfile.parse(data)
    fields = [[(f.name, f.name_start, f.value_start, f.value_end, f.raw, repr(f))
               for f in e.field_list] for e in bib.entries]
    values = [[e.get(f.name) for f in e.field_list] for e in bib.entries]
    entries = [(repr(e), e.fields) for e in bib.entries]
    return (render(bib), fields, values, entries, list(bib.blocks), list(bib.problems),
            dict(bib.macros), bib.newline, bib.mixed_newlines, edited(bib))


def general_scan_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(BibFile, "_fast_entry", lambda self, at: None)


def reference_line(text: str, position: int) -> int:
    return 1 + len(re.findall(r"\r\n|\r|\n", text[:position]))


@pytest.mark.parametrize("name", sorted(CASES))
def test_structure_is_what_the_scanner_always_produced(name: str) -> None:
    bib = bibfile.parse(CASES[name].encode())
    assert render(bib) == EXPECTED[name]
    for entry in bib.entries:
        assert all(f.raw == bib.text[f.value_start:f.value_end] for f in entry.field_list)


@pytest.mark.parametrize("name", sorted(EDITED))
def test_edits_write_what_they_always_wrote(name: str) -> None:
    assert edited(bibfile.parse(CASES[name].encode())) == EDITED[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_fast_path_agrees_with_general_scan(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    data = CASES[name].encode()
    fast = snapshot(data)
    general_scan_only(monkeypatch)
    assert snapshot(data) == fast


def test_fast_path_takes_well_formed_entries_and_leaves_the_rest(
        monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[int | None] = []
    fast_entry = BibFile._fast_entry

    def spy(self: BibFile, at: int) -> int | None:
        taken.append(fast_entry(self, at))
        return taken[-1]

    monkeypatch.setattr(BibFile, "_fast_entry", spy)
    for name in ("jabref_aligned_crlf", "parentheses", "cr_only", "trailing_and_missing_comma"):
        taken.clear()
        bib = bibfile.parse(CASES[name].encode())
        assert [e.end for e in bib.entries] == [end for end in taken if end is not None], name
    for name in ("comments_between_fields", "deep_nesting"):
        taken.clear()
        bib = bibfile.parse(CASES[name].encode())
        assert bib.entries and not [e for e in bib.entries if e.end in taken], name


@pytest.mark.parametrize("name", sorted(CASES))
def test_recovery_points_and_entry_lines_match_their_definitions(name: str) -> None:
    text = CASES[name]
    bib = bibfile.parse(text.encode())
    assert bib._recovery == [m.start() for m in RECOVERY_REFERENCE.finditer(text)]
    assert [e.line for e in bib.entries] == [reference_line(text, e.start) for e in bib.entries]


@pytest.mark.parametrize("text", [
    "", "@a{", "  @a{", "\t@a(", "x @a{", "\r @b(", "\r\n\t @ c {", "@a{@b{\n@c{",
    " " * 63 + "@a{", " " * 64 + "@a{", "\n" + " \t" * 100 + "@a{", "x" + " " * 300 + "@a{",
    "\n@a\n{", "@1{\n@_{\n@a-b:c.d+e{",
])
def test_recovery_points_on_blank_runs(text: str) -> None:
    assert bibfile._recovery_points(text) == [
        m.start() for m in RECOVERY_REFERENCE.finditer(text)]


@pytest.mark.parametrize(("text", "expected"), [
    ("", ("\n", False)), ("no newline", ("\n", False)), ("a\nb\n", ("\n", False)),
    ("a\r\nb\r\n", ("\r\n", False)), ("a\rb", ("\r", False)),
    ("a\r\nb\nc\r\n", ("\r\n", True)), ("a\rb\nc\n", ("\n", True)),
])
def test_newline_detection(text: str, expected: tuple[str, bool]) -> None:
    assert bibfile._detect_newline(text) == expected


def test_long_runs_of_at_signs_and_entries_on_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # The shapes where the scan now tracks the line start forward instead of
    # searching back from each '@'.
    inputs = [b"@" * 3000, b"x@" * 2000, b"@a{k, t = {v}}" * 500, b"% @a{k,}" * 500,
              b"@a{k,\n" * 500, b"@a{k,}\n  % c @a{k,}\n" * 300]
    fast = [snapshot(data) for data in inputs]
    # (blocks, entries, problems) as the scanner always counted them
    assert [(len(s[4]), len(s[3]), len(s[5])) for s in fast] == [
        (3000, 0, 0), (2001, 0, 0), (500, 500, 0), (2, 0, 0), (500, 0, 500), (1200, 300, 0)]
    general_scan_only(monkeypatch)
    assert [snapshot(data) for data in inputs] == fast


def test_every_corpus_file_parses_the_same_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    if not CORPORA.is_dir():
        pytest.skip("shared corpora not present")
    files = sorted(CORPORA.rglob("*.bib"))
    fast = {}
    for path in files:
        data = path.read_bytes()
        try:
            fast[path] = snapshot(data)
        except bibfile.BibDecodeError:
            continue
        text = bibfile.decode_bib(data)[0]
        assert bibfile._recovery_points(text) == [
            m.start() for m in RECOVERY_REFERENCE.finditer(text)], path
    assert len(fast) > 100
    general_scan_only(monkeypatch)
    differing = [path for path in fast if snapshot(path.read_bytes()) != fast[path]]
    assert differing == []
