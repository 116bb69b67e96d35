"""The shipped copy of latexcodec's table: the same as latexcodec's, used without importing it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pith_bib import ulatex
from tests.cli_support import ROOT

SAMPLES = ["Schr\\\"odinger", "{\\'E}cole \\c{c}a", "$\\alpha$--decay", "\\ss\\o{} \\L",
           "a % comment\nb", "M\\\"{u}ller and \\v{S}tefan", "\\textbf{x}~y", "x \\"]


def test_the_shipped_latex_table_is_latexcodecs() -> None:
    shipped = json.loads(ulatex.TABLE_PATH.read_text(encoding="utf-8"))
    assert shipped == ulatex.table_from_latexcodec(), (
        "latexcodec's table changed: run `.venv/bin/python scripts/make_ulatex_table.py`")
    assert ulatex.TABLE_PATH.read_text(encoding="utf-8") == \
        ulatex.table_json(ulatex.table_from_latexcodec())


def test_decoding_needs_no_latexcodec_import() -> None:
    code = ("import sys\nfrom pith_bib import ulatex\n"
            "print(ulatex.decode('Schr\\\\\"odinger'), 'latexcodec' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    assert done.stdout.split() == ["Schrödinger", "False"]


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"pattern": "(", "flags": 0, '
                                     b'"max_length": 1, "entries": []}', b"[]"])
def test_a_damaged_shipped_table_falls_back_to_latexcodec(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes) -> None:
    damaged = tmp_path / "ulatex_table.json"
    damaged.write_bytes(content)
    monkeypatch.setattr(ulatex, "TABLE_PATH", damaged)
    monkeypatch.setattr(ulatex, "ULATEX_TABLES", [])
    assert ulatex.ulatex_tables() is not None
    for text in SAMPLES:
        assert ulatex.decode(text) == ulatex.decode_by_codec(text), text


def test_the_shipped_table_decodes_as_the_codec() -> None:
    for text in SAMPLES:
        assert ulatex.decode(text) == ulatex.decode_by_codec(text), text
