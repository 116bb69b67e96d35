"""Differential test: on files pybtex parses strictly, we see the same entries and values."""

from __future__ import annotations

from pathlib import Path

import pybtex.errors
import pytest
from pybtex.database.input import bibtex

from pith_bib.bibfile import decode_bib, parse
from tests.support import CORPORA, corpus_files

# Files where pybtex's reading is itself wrong, with the reason.
PYBTEX_DIFFERS = {
    # `@boo{fd{},fds}`: pybtex takes "fd{" as a key; BibTeX stops at the brace and
    # errors. We report the entry as malformed instead of inventing a key.
    "bibtex-tidy/others_example1.bib",
}


def _strict_pybtex(path: Path):
    text, _, _ = decode_bib(path.read_bytes())
    pybtex.errors.set_strict_mode(True)
    try:
        return bibtex.Parser().parse_string(text)
    except Exception:
        return None
    finally:
        pybtex.errors.set_strict_mode(False)


def _norm(value: str) -> str:
    return " ".join(value.split())


FILES = corpus_files()


@pytest.mark.skipif(not FILES, reason="../shared/corpora is not present")
def test_same_entries_and_values_as_pybtex() -> None:
    compared = 0
    mismatches: list[str] = []
    for path in FILES:
        relative = str(path.relative_to(CORPORA))
        reference = _strict_pybtex(path)
        if reference is None or relative in PYBTEX_DIFFERS:
            continue
        compared += 1
        ours = {}
        for entry in parse(path.read_bytes(), relative).entries:
            ours.setdefault(entry.key.lower(), entry)
        theirs = {key.lower(): entry for key, entry in reference.entries.items()}
        if set(ours) != set(theirs):
            mismatches.append(f"{relative}: keys differ: {sorted(set(ours) ^ set(theirs))[:5]}")
            continue
        for key, their_entry in theirs.items():
            mine = ours[key]
            assert mine.type.lower() == their_entry.type.lower()
            for name, value in their_entry.fields.items():
                got = mine.get(name)
                if got is None or _norm(got) != _norm(value):
                    mismatches.append(f"{relative}: {key}.{name}: {value!r} != {got!r}")
    assert compared >= 250  # nearly every corpus file parses strictly in pybtex
    assert mismatches == []
