"""The BibTeX editor on every real file in ../shared/corpora (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pith_bib.bibfile import parse
from pith_bib.ids import extract
from tests.bibdiff import only_our_fields_added
from tests.support import CORPORA, corpus_files

FILES = corpus_files()
needs_corpora = pytest.mark.skipif(not FILES, reason="../shared/corpora is not present")


def _id(path: Path) -> str:
    return str(path.relative_to(CORPORA))


@needs_corpora
@pytest.mark.parametrize("path", FILES, ids=_id)
def test_round_trip_is_byte_identical(path: Path) -> None:
    data = path.read_bytes()
    assert parse(data, str(path)).to_bytes() == data


@needs_corpora
@pytest.mark.parametrize("path", FILES, ids=_id)
def test_adding_fields_changes_nothing_else(path: Path) -> None:
    data = path.read_bytes()
    bib = parse(data, str(path))
    targets = []
    for index, entry in enumerate(bib.entries):
        found = extract(entry)
        if found.arxiv_id or found.doi:
            value = f"pith:2018:{'A' * 26}" if found.arxiv_id else "pith:2019:" + "B" * 26
            bib.set_field(entry, "pith", value)
            bib.set_field(entry, "pith_status", "verified")
            targets.append((index, value))
    if not targets:
        return
    out = bib.to_bytes()
    old_text = data[len(bib.bom):].decode(bib.encoding)
    new_text = out[len(bib.bom):].decode(bib.encoding)
    assert only_our_fields_added(old_text, new_text) == []
    again = parse(out, str(path))
    assert [e.key for e in again.entries] == [e.key for e in bib.entries]
    assert len(again.problems) == len(bib.problems)
    wanted = dict(targets)
    for index, (before, after) in enumerate(zip(bib.entries, again.entries, strict=True)):
        ours = {"pith", "pith_status"}
        assert [(f.name, f.raw) for f in after.field_list if f.name not in ours] == [
            (f.name, f.raw) for f in before.field_list]
        if index in wanted:
            assert after.get("pith") == wanted[index]
            assert after.get("pith_status") == "verified"


@needs_corpora
def test_quietly_discarded_file_reports_the_bad_entry_and_keeps_the_rest() -> None:
    path = next(p for p in FILES if p.name.startswith("Some_bibtex_entries_quietly_discarded"))
    data = path.read_bytes()
    bib = parse(data, str(path))
    assert len(bib.problems) == 1
    problem = bib.problems[0]
    assert problem.line == 6523
    assert problem.key == "Thiebaux:93"
    assert "unbalanced braces" in problem.message
    # pybtex keeps 680 of 988 entries; every entry but the broken one is seen here
    assert len(bib.entries) == 987
    keys = [e.key for e in bib.entries]
    after = [e for e in bib.entries if e.line > problem.line]
    assert len(after) > 300
    assert "Thiebaux:93" not in keys
    assert bib.to_bytes() == data
