"""CSL-JSON: the editor, and a whole ``pith-bib annotate``, against ``json.loads`` + ``dumps``.

Run: python benchmarks/bench_csljson.py [--items 2000] [--repeat 5] [--skip-annotate]
Builds CSL-JSON of N items from ../shared/corpora/hepml/HEPML.bib (cycled if
short), in Zotero's tab layout, Better BibTeX's 2-space layout and minified,
then times parse + set both fields on every item + apply (which re-parses the
result as a check) against loads + dumps.

Then the bar of issue 13: a warm ``pith-bib annotate`` of the Zotero-layout
file at most 3x ``json.loads`` + ``json.dumps`` of the same file in one
process. Two figures: the annotate run inside a process whose modules are
already imported (the like-for-like comparison with an in-process load+dump),
and the whole process (interpreter start-up and imports included). Every arXiv
id gets a bundle signed by a benchmark key in a local mirror; a first annotate
fills the cache; each timed run annotates a fresh (un-annotated) copy with no
lock, ``--offline`` with the default mirror list, so every item is resolved
from the cache, judged, edited, re-parsed and written with its lock.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import best_of, byte_compile
from pith_bib import csljson
from pith_bib.bibfile import parse as parse_bib
from pith_bib.ids import extract
from pith_bib.publish import build_bundle, document_bytes
from tests.cli_support import ROOT, trust_args
from tests.support import fixed_key

HEPML = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "hepml" / "HEPML.bib"
PITH = "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"


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


def mirror_for_items(items: list[dict[str, Any]], root: Path, key: Any) -> int:
    """A signed bundle for every arXiv id the items cite, titled and authored as they are."""
    written: set[str] = set()
    for item in csljson.parse(json.dumps(items).encode()).items:
        ids = extract(csljson.IdFields(item))
        if ids.arxiv_id is None or ids.arxiv_id in written:
            continue
        authors = ", ".join(f"{given} {family}".strip() for family, given in item.authors)
        doc = build_bundle(ids.arxiv_id, ids.arxiv_version or 1, item.title or "Untitled",
                           "2020-01-02T03:04:05Z", key, "bench-key", authors=authors)
        folder = root / "pith" / doc["pith_number"].rsplit(":", 1)[1]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "bundle.json").write_bytes(document_bytes(doc))
        written.add(ids.arxiv_id)
    return len(written)


def _process(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "pith_bib", *argv], capture_output=True,
                          check=False, cwd=ROOT)


# Every module a warm CSL-JSON annotate loads, imported before the clock starts; main
# runs as the console script runs it (last=True: the collector stays paused to the end).
_TIME_MAIN = """
import contextlib, io, sys, time
import pith_bib.annotate, pith_bib.authors, pith_bib.cache, pith_bib.cli, pith_bib.csljson
import pith_bib.documents, pith_bib.lock, pith_bib.lock_verdicts, pith_bib.policy
import pith_bib.resolver, pith_bib.settings, pith_bib.titles, pith_bib.ulatex
argv = sys.argv[1:]
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    start = time.perf_counter()
    pith_bib.cli.main(argv, last=True)
    took = time.perf_counter() - start
print(took)
"""


def _timed_in_fresh_process(argv: list[str], before: Any) -> float:
    """Seconds of ``main(argv)`` in a new process whose modules are already imported.

    Why not in this process: a second run here would find caches warm (compiled
    patterns, memoised names) that a user's run never has; start-up and imports
    are what the whole-process figure adds.
    """
    before()
    done = subprocess.run([sys.executable, "-c", _TIME_MAIN, *argv], capture_output=True,
                          check=True, cwd=ROOT, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def bench_annotate(items: list[dict[str, Any]], repeat: int) -> None:
    """Warm whole-process annotate vs one in-process json.loads + json.dumps."""
    text = json.dumps(items, indent="\t", ensure_ascii=False)
    data = text.encode("utf-8")
    # measured first, before the runs below leave a large heap for the collector to walk
    reference = best_of(repeat, lambda: json.dumps(json.loads(data), indent="\t",
                                                   ensure_ascii=False))
    work = Path(tempfile.mkdtemp(prefix="pith-bench-csljson-"))
    try:
        refs = work / "refs.json"
        lock = work / "refs.pith-lock.json"
        key = fixed_key(43)
        started = time.perf_counter()
        documents = mirror_for_items(items, work / "mirror", key)
        built = time.perf_counter() - started
        common = ["--cache-dir", str(work / "cache"), *trust_args(key)]
        refs.write_bytes(data)
        first = _process(["annotate", "--offline", "--mirror", str(work / "mirror"), *common,
                          str(refs)])
        annotated = refs.read_bytes()
        summary = first.stdout.decode(errors="replace").splitlines()[:1]

        def fresh() -> None:
            refs.write_bytes(data)
            lock.unlink(missing_ok=True)

        warm_argv = ["annotate", "--offline", *common, str(refs)]
        warm = best_of(repeat, lambda: _process(warm_argv), fresh)
        if refs.read_bytes() != annotated:
            raise SystemExit("warm annotate wrote something different from the first run")
        in_process = min(_timed_in_fresh_process(warm_argv, fresh) for _ in range(repeat))
        start_up = best_of(repeat, lambda: subprocess.run(
            [sys.executable, "-c", "pass"], check=False))
        print(f"annotate, Zotero layout: {len(data) / 1e6:.2f} MB, {len(items)} items, "
              f"{documents} arXiv ids; bundles signed in {built:.1f} s; first run exit "
              f"{first.returncode}: {' '.join(summary)}")
        print(f"  json.loads + json.dumps (in process): {reference * 1000:7.1f} ms")
        print(f"  pith-bib annotate, warm (process):    {warm * 1000:7.1f} ms "
              f"({warm / reference:.1f}x; bar 3x)")
        print(f"  pith-bib annotate, warm (in process, imports done): "
              f"{in_process * 1000:7.1f} ms ({in_process / reference:.1f}x)")
        print(f"  python -c pass (start-up alone):      {start_up * 1000:7.1f} ms")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-annotate", action="store_true")
    args = parser.parse_args()
    byte_compile(ROOT / "pith_bib")
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

    if not args.skip_annotate:
        bench_annotate(items, args.repeat)


if __name__ == "__main__":
    main()
