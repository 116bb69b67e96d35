"""Throughput of `pith-bib mirror build` on one core, and where the time goes.

    .venv/bin/python benchmarks/bench_mirror_build.py [N] [--per-file]

Generates N snapshot lines shaped like arXiv's (about 1 KB abstracts, ids in
shuffled order as in arXiv's snapshot), then measures: the default build (the
sorted ``aliases/index.tsv``, external sort) into an empty directory, a rebuild
(nothing changes: the file is left alone), derivation alone (JSON parse +
canonical record + hash) for comparison, and LocalMirror lookups against the
index. ``--per-file`` adds the old one-file-per-alias build. The index builds
run ``pith-bib mirror build`` as a child process, as a user runs it
(interpreter start-up included); peak RSS is that child's, from getrusage.
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pith_bib.alias_index import INDEX_PATH
from pith_bib.mirror_build import build_mirror, derive_line, iter_lines, open_snapshot
from pith_bib.mirrors import LocalMirror

ARXIV_PAPERS = 2_700_000
SENTENCE = ("we prove that the $\\mathcal{O}(n)$ bound holds for every graph with "
            "bounded treewidth and show it is tight")
WORDS = SENTENCE.split(" ")


def make_snapshot(path: Path, count: int) -> list[str]:
    """Write the snapshot; return a sample of its ids (not all: this process's RSS)."""
    order = list(range(count))
    random.Random(1).shuffle(order)
    ids = []
    with path.open("w") as handle:
        for n in order:
            ident = f"math/07{n % 100000:05d}" if n % 20 == 0 else f"{1000 + n // 99999 % 9000}" \
                f".{n % 99999:05d}"
            if n % 16 == 0:
                ids.append(ident)
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
    return ids


def timed(label: str, count: int, func: object) -> float:
    start = time.perf_counter()
    func()  # type: ignore[operator]
    seconds = time.perf_counter() - start
    rate = count / seconds
    print(f"{label:<34} {seconds:7.2f} s  {rate:>9,.0f} records/s  "
          f"2.7 M papers: {ARXIV_PAPERS / rate / 60:6.1f} min")
    return rate


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        snapshot = root / "snapshot.jsonl"
        ids = make_snapshot(snapshot, count)
        print(f"{count:,} records, {snapshot.stat().st_size / count:,.0f} bytes per line")

        def derive_only() -> None:
            with open_snapshot(snapshot) as (stream, _, _):
                for line in iter_lines(stream):
                    if line:
                        derive_line(line)

        command = [sys.executable, "-m", "pith_bib", "mirror", "build", "--arxiv-snapshot",
                   str(snapshot), str(root / "m")]

        def cli_build() -> None:
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)

        timed("index build, empty directory (CLI)", count, cli_build)
        index = root / "m" / INDEX_PATH
        before = index.stat()
        timed("index rebuild, unchanged (CLI)", count, cli_build)
        after = index.stat()
        untouched = (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        print(f"peak RSS of the build process: {peak / 1024:,.0f} MB; index "
              f"{index.stat().st_size / 1e6:,.1f} MB, {3 * count:,} lines; "
              f"untouched by the rebuild: {untouched}")
        timed("derive only", count, derive_only)
        mirror = LocalMirror(root / "m")
        sample = random.Random(2).sample(ids, min(10_000, len(ids)))
        start = time.perf_counter()
        hits = sum(bool(mirror.lookup("arxiv", ident)) for ident in sample)
        seconds = time.perf_counter() - start
        print(f"LocalMirror.lookup on the index: {len(sample) / seconds:,.0f} lookups/s "
              f"({hits}/{len(sample)} found)")
        if "--per-file" in sys.argv:
            timed("per-file build, empty directory", count,
                  lambda: build_mirror(snapshot, root / "p", per_file=True))
            timed("per-file rebuild, nothing changed", count,
                  lambda: build_mirror(snapshot, root / "p", per_file=True))


if __name__ == "__main__":
    main()
