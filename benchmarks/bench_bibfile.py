"""Parsing, and parsing plus editing, of the largest corpus file against pybtex.

Run: python benchmarks/bench_bibfile.py [FILE] [--repeat 3]
Default FILE: ../shared/corpora/zbb-import/Unabbreviate_on_import_1436-3.bib (7,166 entries).
The bar: pith-bib's parse + edit takes at most a quarter of pybtex's parse time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pybtex.errors
from pybtex.database.input import bibtex

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.timing import best_of
from pith_bib.bibfile import decode_bib, parse

DEFAULT = (Path(__file__).resolve().parents[2] / "shared" / "corpora" / "zbb-import"
           / "Unabbreviate_on_import_1436-3.bib")
PITH = "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = args.file.read_bytes()

    def ours_parse() -> None:
        parse(data)

    def ours_parse_edit() -> None:
        bib = parse(data)
        for entry in bib.entries:
            bib.set_field(entry, "pith", PITH)
            bib.set_field(entry, "pith_status", "verified")
        bib.to_bytes()

    def pybtex_parse() -> None:
        text, _, _ = decode_bib(data)
        pybtex.errors.set_strict_mode(False)
        with pybtex.errors.capture():  # collect duplicate-key warnings instead of printing
            bibtex.Parser().parse_string(text)

    entries = len(parse(data).entries)
    reference = best_of(args.repeat, pybtex_parse)
    parse_time = best_of(args.repeat, ours_parse)
    edit_time = best_of(args.repeat, ours_parse_edit)
    print(f"{args.file.name}: {len(data) / 1e6:.1f} MB, {entries} entries")
    print(f"pybtex parse:            {reference:.3f} s")
    print(f"pith-bib parse:          {parse_time:.3f} s  ({parse_time / reference:.2f}x pybtex)")
    print(f"pith-bib parse + 2 edits/entry: {edit_time:.3f} s  "
          f"({edit_time / reference:.2f}x pybtex; bar 0.25x)")


if __name__ == "__main__":
    main()
