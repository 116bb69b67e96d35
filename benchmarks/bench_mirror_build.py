"""Throughput of `pith-bib mirror build` on one core, and where the time goes.

    .venv/bin/python benchmarks/bench_mirror_build.py [N]

Generates N snapshot lines shaped like arXiv's (about 1 KB abstracts), then
measures: derivation alone (JSON parse + canonical record + hash), the full build
into an empty directory (three alias files per paper), a rebuild (nothing
changes), and writing the same numbers to one sorted index file instead, the
format proposed for 2.7 M papers. Peak RSS is from getrusage.
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from pith_bib.mirror_build import build_mirror, derive_line, iter_lines, open_snapshot

ARXIV_PAPERS = 2_700_000
SENTENCE = ("we prove that the $\\mathcal{O}(n)$ bound holds for every graph with "
            "bounded treewidth and show it is tight")
WORDS = SENTENCE.split(" ")


def make_snapshot(path: Path, count: int) -> None:
    with path.open("w") as handle:
        for n in range(count):
            ident = f"math/07{n % 100000:05d}" if n % 20 == 0 else f"{1000 + n // 99999 % 9000}" \
                f".{n % 99999:05d}"
            abstract = " ".join(WORDS[(n + i) % len(WORDS)] for i in range(160))
            handle.write(json.dumps({
                "id": ident, "submitter": "A. Author", "authors": "A. Author and B. Author",
                "title": f"On the {n}th\n  bound", "comments": "12 pages",
                "abstract": "  " + abstract + "\n", "categories": "math.CO cs.DM",
                "license": "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
                "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
                             {"version": "v2", "created": "Tue, 3 Apr 2007 10:00:00 GMT"}],
                "update_date": "2008-11-13",
            }) + "\n")


def timed(label: str, count: int, func: object) -> float:
    start = time.perf_counter()
    func()  # type: ignore[operator]
    seconds = time.perf_counter() - start
    rate = count / seconds
    print(f"{label:<34} {seconds:7.2f} s  {rate:>9,.0f} records/s  "
          f"2.7 M papers: {ARXIV_PAPERS / rate / 60:6.1f} min")
    return rate


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        snapshot = root / "snapshot.jsonl"
        make_snapshot(snapshot, count)
        print(f"{count:,} records, {snapshot.stat().st_size / count:,.0f} bytes per line")
        numbers: list[tuple[str, str]] = []

        def derive_only() -> None:
            with open_snapshot(snapshot) as (stream, _, _):
                for line in iter_lines(stream):
                    if line:
                        meta, number = derive_line(line)
                        numbers.append((meta.id, number))

        def one_index_file() -> None:
            numbers.sort()
            with (root / "index.tsv").open("w") as handle:
                handle.writelines(f"{ident}\t{number}\n" for ident, number in numbers)

        timed("build, empty directory", count, lambda: build_mirror(snapshot, root / "m"))
        timed("rebuild, nothing changed", count, lambda: build_mirror(snapshot, root / "m"))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(f"peak RSS after the builds: {peak / 1024:,.0f} MB")
        timed("derive only", count, derive_only)
        timed("one sorted index file (write)", count, one_index_file)


if __name__ == "__main__":
    main()
