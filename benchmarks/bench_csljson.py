"""The CSL-JSON editor against a plain ``json.loads`` + ``json.dumps`` of the same file.

Run: python benchmarks/bench_csljson.py [--items 2000] [--repeat 5]
Builds CSL-JSON of N items from ../shared/corpora/hepml/HEPML.bib (cycled if
short), in Zotero's tab layout, Better BibTeX's 2-space layout and minified,
then times parse + set both fields on every item + apply (which re-parses the
result as a check) against loads + dumps. The eventual bar: annotate ≤ 3×
load+dump, so the editor alone should be well under that.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pith_bib import csljson
from pith_bib.bibfile import parse as parse_bib

HEPML = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "hepml" / "HEPML.bib"
PITH = "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"


def best_of(repeat: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def _names(text: str) -> list[dict[str, str]]:
    names = []
    for person in text.replace("\n", " ").split(" and "):
        family, _, given = person.partition(",")
        names.append({"family": family.strip(" {}"), "given": given.strip(" {}")})
    return names


def csl_items(count: int) -> list[dict[str, Any]]:
    """CSL items carrying what Zotero exports for HEPML's papers."""
    bib = parse_bib(HEPML.read_bytes(), str(HEPML))
    items: list[dict[str, Any]] = []
    while len(items) < count:
        for entry in bib.entries:
            if len(items) == count:
                break
            item: dict[str, Any] = {"id": f"{entry.key}-{len(items)}",
                                    "type": "article-journal" if entry.type.lower() == "article"
                                    else "article"}
            for bib_name, csl_name in (("title", "title"), ("journal", "container-title"),
                                       ("doi", "DOI"), ("url", "URL"), ("volume", "volume"),
                                       ("pages", "page"), ("abstract", "abstract")):
                value = entry.get(bib_name)
                if value:
                    item[csl_name] = value
            if entry.get("eprint"):
                item["number"] = "arXiv:" + (entry.get("eprint") or "")
            if entry.get("author"):
                item["author"] = _names(entry.get("author") or "")
            if entry.get("year"):
                item["issued"] = {"date-parts": [[entry.get("year")]]}
            items.append(item)
    return items


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    items = csl_items(args.items)
    layouts = {
        "zotero (tabs)": json.dumps(items, indent="\t", ensure_ascii=False),
        "better-bibtex (2 spaces)": json.dumps(items, indent=2) + "\n",
        "minified": json.dumps(items, separators=(",", ":"), ensure_ascii=False),
    }
    for name, text in layouts.items():
        data = text.encode("utf-8")
        indent: str | int | None = "\t" if "tabs" in name else (2 if "2" in name else None)

        def load_dump(data: bytes = data, indent: str | int | None = indent) -> None:
            json.dumps(json.loads(data), indent=indent)

        def parse_only(data: bytes = data) -> None:
            csljson.parse(data)

        def edit(data: bytes = data) -> None:
            csl = csljson.parse(data)
            for item in csl.items:
                csl.set_fields(item, {"pith": PITH, "pith_status": "verified"})
            csl.apply()

        reference = best_of(args.repeat, load_dump)
        parse_time = best_of(args.repeat, parse_only)
        edit_time = best_of(args.repeat, edit)
        print(f"{name}: {len(data) / 1e6:.2f} MB, {len(items)} items")
        print(f"  json.loads + json.dumps:        {reference * 1000:7.1f} ms")
        print(f"  csljson.parse:                  {parse_time * 1000:7.1f} ms "
              f"({parse_time / reference:.2f}x)")
        print(f"  parse + set 2 fields + apply:   {edit_time * 1000:7.1f} ms "
              f"({edit_time / reference:.2f}x load+dump; annotate bar 3x)")


if __name__ == "__main__":
    main()
