"""The CSL-JSON stages of an ``annotate``, each alone, in process.

Run: python benchmarks/bench_csljson_stages.py [--items 2000] [--repeat 9]
On bench_csljson.py's Zotero-layout file (items from ../shared/corpora/hepml),
times what an annotate does per item outside the resolver: the parse,
identifiers (``IdFields`` + ``ids.extract``), the names (``Item.authors``), the
author comparison against the signed list bench_csljson.py signs (given name
first, in entry order) with every cache of ``pith_bib.authors`` cleared first,
as in a new process, and the splice (set both fields on every item + apply,
which re-parses the result). Best of N (benchmarks/timing.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_authors import clear_caches
from benchmarks.bench_csljson import PITH, csl_items
from benchmarks.timing import best_of
from pith_bib import csljson
from pith_bib.authors import PersonName, compare_author_names
from pith_bib.ids import extract


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    data = json.dumps(csl_items(args.items), indent="\t", ensure_ascii=False).encode()
    items = csljson.parse(data).items
    names = [tuple(PersonName(f, g) for f, g in item.authors) for item in items]
    signed = [", ".join(f"{p.given} {p.family}".strip() for p in people) for people in names]
    ours = {"pith": PITH, "pith_status": "verified"}

    def splice() -> None:
        csl = csljson.parse(data)
        for item in csl.items:
            csl.set_fields(item, ours)
        csl.apply()

    stages = {
        "csljson.parse": lambda: csljson.parse(data),
        "IdFields + ids.extract": lambda: [extract(csljson.IdFields(i)) for i in items],
        "Item.authors as PersonName": lambda: [
            tuple(PersonName(f, g) for f, g in item.authors) for item in items],
        "parse + set fields + apply": splice,
    }
    print(f"{len(items)} items, {len(data) / 1e6:.2f} MB")
    for label, work in stages.items():
        print(f"{label:40} {best_of(args.repeat, work) * 1000:7.1f} ms")
    compare = best_of(args.repeat, lambda: [compare_author_names(p, s)
                                            for p, s in zip(names, signed, strict=True)],
                      before=clear_caches)
    print(f"{'compare_author_names (caches cleared)':40} {compare * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
