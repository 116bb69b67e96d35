"""Findings of the third adversarial review (the speed commit 63c4f63), kept as tests.

An edit that moves a JabRef ``% Encoding:`` line across the 4096-byte window
changed how the next reader decodes the file; the in-place edit check now
decodes the result as a reader will and refuses a different encoding.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pith_bib import bibfile
from pith_bib.documents import BibDocument
from pith_bib.errors import BibEditError
from tests.cli_support import mirror_for_bib, run_cli, trust_args

NUMBER = "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"
DECLARATION = b"% Encoding: windows-1251\n"
CYRILLIC = "Привет"
UNTOUCHED = f"@misc{{b, title={{{CYRILLIC}}}}}\n".encode("cp1251")


def _declaration_pushed_out(head: bytes) -> bytes:
    """``head``, a comment line, then JabRef's encoding declaration ending 5 bytes
    before the 4096-byte window :func:`bibfile.decode_bib` searches it in."""
    pad = 4096 - len(head) - len(DECLARATION) - 5
    return head + b"%" + b"x" * pad + b"\n" + DECLARATION + UNTOUCHED


def _declaration_pulled_in() -> bytes:
    """An entry with a long ``pith`` value, then the declaration just past the window:
    read as cp1252 until the value is replaced by a shorter one."""
    head = b"@misc{a, title={A}, pith = {" + b"x" * 200 + b"}}\n"
    pad = 4096 - len(head) + 10
    return head + b"%" + b"x" * pad + b"\n" + DECLARATION + UNTOUCHED


@pytest.mark.parametrize("data", [_declaration_pushed_out(b"@misc{a, title={A}}\n"),
                                  _declaration_pulled_in()],
                         ids=["declaration pushed out of the window",
                              "declaration pulled into the window"])
def test_an_edit_that_moves_the_encoding_declaration_is_refused_or_reads_the_same(
        data: bytes) -> None:
    """documents.BibDocument._check: the in-place check decodes the edited bytes with
    the encoding the *original* was read in (``_decoded``), but the written file is
    read next time by :func:`bibfile.parse`, which detects the encoding again, from
    a JabRef ``% Encoding:`` line in the first 4096 bytes. An edit that moves that line
    across the 4096-byte boundary (an insertion before it, or a replacement that
    shortens a value before it) changes the encoding every later read uses, so an
    untouched entry's text changes (``Привет`` becomes ``Ïðèâåò`` or back). The
    old whole re-parse refused this write ("an edit changed an entry pith-bib did
    not edit"); the in-place check accepts it.

    Expected: either the write is refused (BibEditError), or the written bytes parse
    back, in whatever encoding a fresh parse picks, to the same untouched entries.
    One fix: in ``_check``, fall back to ``_check_whole`` unless
    ``bibfile.decode_bib(data)[1:] == (self.bib.encoding, self.bib.bom)``.
    """
    original = bibfile.parse(data)
    doc = BibDocument(data, "refs.bib")
    doc.set_fields(doc.entries[0], {"pith": NUMBER})
    try:
        out = doc.to_bytes()
    except BibEditError:
        return
    again = bibfile.parse(out)
    assert [e.get("title") for e in again.entries[1:]] == \
        [e.get("title") for e in original.entries[1:]]


def test_annotate_does_not_turn_an_untouched_entry_into_mojibake(tmp_path: Path) -> None:
    """The same defect through the whole pipeline: ``pith-bib annotate`` verifies the
    first entry, inserts its pith field (pushing the ``% Encoding: windows-1251`` line
    past 4096 bytes) and writes. Reading the written file back, the untouched second
    entry's title is ``Ïðèâåò`` instead of ``Привет``. Before 63c4f63 the write was
    refused with "an edit changed an entry pith-bib did not edit; nothing was written".

    Expected: the untouched entry reads the same after the write (or nothing is written).
    """
    head = (b"@article{a,\n  title = {Attention Is All You Need},\n"
            b"  eprint = {1706.03762},\n  archivePrefix = {arXiv},\n}\n")
    bib = tmp_path / "refs.bib"
    bib.write_bytes(_declaration_pushed_out(head))
    assert mirror_for_bib(bib, tmp_path / "mirror") == 1
    run_cli("annotate", "--offline", "--mirror", str(tmp_path / "mirror"), *trust_args(),
            str(bib), cache=tmp_path / "cache")
    again = bibfile.parse(bib.read_bytes())
    assert again.entries[1].get("title") == CYRILLIC
