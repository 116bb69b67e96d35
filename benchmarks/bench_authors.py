"""The author cross-check, as a cold process runs it: every entry once, nothing cached.

Run: python benchmarks/bench_authors.py [--repeat 7]
Compares each author field of ../shared/corpora/hepml/HEPML.bib (2,422) with a
registry-style signed list built as tests/test_authors.py's ``registry_list``
does (given names first, sorted, the three spellings in turn), the policy's
BibTeX route (``compare_authors``) and its CSL-JSON/Zotero route
(``compare_author_names``); then each field against the next entry's list (the
wrong-paper case, where no quick route applies). Every cache in
``pith_bib.authors`` is cleared before each cold pass, as in a new process;
the warm figure keeps them. Best of N (benchmarks/timing.py).

Then hostile inputs, to show the work stays bounded: a field of MAX_NAMES
names sharing one family name against MAX_SIGNED_NAMES signed ones, and
100,000 characters of accents.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import best_of
from pith_bib import authors, ulatex
from pith_bib.authors import PersonName, compare_author_names, compare_authors
from pith_bib.bibfile import parse
from tests.test_authors import registry_list

HEPML = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "hepml" / "HEPML.bib"


def clear_caches() -> None:
    """Empty every lru cache of the module: what a fresh process starts with."""
    for value in vars(authors).values():
        clear = getattr(value, "cache_clear", None)
        if callable(clear):
            clear()


def report(label: str, repeat: int, work: Callable[[], object]) -> None:
    cold = best_of(repeat, work, before=clear_caches)
    work()
    warm = best_of(repeat, work)
    print(f"{label:44} cold {cold * 1000:7.1f} ms   warm {warm * 1000:7.1f} ms")


def hostile(repeat: int) -> None:
    many = " and ".join(f"Wang, {chr(65 + i % 26)}." for i in range(authors.MAX_NAMES))
    crowd = ", ".join(f"{chr(65 + i % 26)}{i} Wang" for i in range(authors.MAX_SIGNED_NAMES))
    accents = "\\'e" * 33_000
    cases = {
        "500 Wangs vs 10,000 signed Wangs": (many, crowd),
        "100,000 chars of \\'e, both sides": (accents, accents),
    }
    for label, (field, signed) in cases.items():
        seconds = best_of(repeat, lambda f=field, s=signed: compare_authors(f, s),
                          before=clear_caches)
        print(f"{label:44} cold {seconds * 1000:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    entries = parse(HEPML.read_bytes()).entries
    fields = [value for entry in entries if (value := entry.get("author"))]
    signed = [registry_list(" ".join(f.split()), number % 3) for number, f in enumerate(fields)]
    following = signed[1:] + signed[:1]
    people = [authors.parse_bibtex_authors(field)[0] for field in fields]
    structured: list[list[PersonName]] = [list(p) for p in people]
    print(f"{len(fields)} author fields of {HEPML.name}")

    authors.decode_latex("\\'e")  # latexcodec's import and tables: once per process
    ulatex.ULATEX_TABLES.clear()
    tables = best_of(1, ulatex.ulatex_tables)
    print(f"{'LaTeX tables (first use in a process)':44} once {tables * 1000:7.1f} ms")

    report("compare_authors, own registry list", args.repeat,
           lambda: [compare_authors(f, s) for f, s in zip(fields, signed, strict=True)])
    report("compare_author_names, own registry list", args.repeat,
           lambda: [compare_author_names(p, s) for p, s in zip(structured, signed, strict=True)])
    report("compare_authors, next entry's list", args.repeat,
           lambda: [compare_authors(f, s) for f, s in zip(fields, following, strict=True)])
    hostile(max(1, args.repeat // 3))


if __name__ == "__main__":
    main()
