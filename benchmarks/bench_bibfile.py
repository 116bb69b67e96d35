"""Parsing, and parsing plus editing, of the largest corpus file against pybtex.

Run: python benchmarks/bench_bibfile.py [FILE] [--repeat 3] [--hostile]
Default FILE: ../shared/corpora/zbb-import/Unabbreviate_on_import_1436-3.bib (7,166 entries).
The bar: pith-bib's parse + edit takes at most a quarter of pybtex's parse time.

``--hostile`` instead times inputs built to make a scanner slow (long runs of
braces, quotes, blanks and '@'s, one-line files) at 0.2 and 1 MB: a linear
scan takes about five times as long for the larger one, a quadratic one 25.
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


HOSTILE = {  # name: (repeated unit, prefix, suffix)
    "'{' run": (b"{", b"", b""),
    "'@a{k,' on one line": (b"@a{k,", b"", b""),
    "'@a{k,' lines": (b"@a{k,\n", b"", b""),
    "'@' run": (b"@", b"", b""),
    "'x@' run": (b"x@", b"", b""),
    "quotes in a value": (b'"', b'@a{k, t = "', b""),
    "blanks in a field": (b" ", b"@a{k, t", b"="),
    "'{' in a value": (b"{", b"@a{k, t = ", b""),
    "'#' parts": (b" # a", b"@a{k, t = a", b"}"),
    "blanks before an entry": (b"\t", b"", b"@a{k,}"),
    "entries on one line": (b"@a{k, t = {x}}", b"", b""),
    "CR-only entries": (b"@a{k,\r t = {x}}\r", b"", b""),
    "unclosed '{' values": (b"@a{k, t={x\n", b"", b""),
    "unclosed quoted values": (b'@a{k, t="x\n', b"", b""),
    "unclosed @preamble values": (b"@preamble{ {x\n", b"", b""),
}


def hostile(repeat: int) -> None:
    """Seconds per parse of each hostile input at 0.2 MB and 1 MB, and their ratio."""
    for name, (unit, prefix, suffix) in HOSTILE.items():
        times = []
        for size in (200_000, 1_000_000):
            data = prefix + unit * (size // len(unit)) + suffix
            times.append(best_of(repeat, lambda data=data: parse(data)))
        print(f"{name:26} {times[0]:7.3f} s  {times[1]:7.3f} s  x{times[1] / times[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--hostile", action="store_true",
                        help="time inputs built to make a scanner slow, not FILE")
    args = parser.parse_args()
    if args.hostile:
        hostile(args.repeat)
        return
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
