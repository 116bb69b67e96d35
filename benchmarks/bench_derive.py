"""Cold `pith-bib annotate` of a .bib with 200 arXiv ids, resolved by derivation alone.

    .venv/bin/python benchmarks/bench_derive.py [N]        (N papers, default 200)

The whole process is timed, as a user runs it (interpreter start-up, imports,
cache creation included), against two loopback fakes:

- ``tests/arxiv_fake.py``: the arXiv API. It is not sped up: the client's own
  rate gate keeps arXiv's one request per 3 s, so 200 ids (at most 100 per Atom
  request) cost two requests and one 3-second wait;
- ``tests/mirror_server.py`` with 50 ms per request: a registry-shaped mirror
  holding signed bundles whose canonical records are derived from the fake's
  metadata (as ``tests/test_derive_resolve.py`` builds them), and no alias
  files at all, so every number must be derived.

Papers: 90 % with arXiv's default license, 5 % CC BY 4.0, 5 % none (the Atom
API reports no license, so those cost extra candidates); 10 were revised after
the registry built its record (arXiv has one version more than the bundle).
``PITH_BIB_CACHE_DIR`` starts empty. Runs:

1. cold: empty cache, no lock file;
2. warm cache: the original .bib again, no lock file, same cache (arXiv's
   metadata is cached, so no arXiv request);
3. re-run: the annotated .bib with its lock file.

For each: wall time, requests to arXiv (count, ids per request, smallest gap
between starts, which must be >= 3 s) and to the mirror (count, 404s
included), and how many entries came out verified.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pith_bib.arxiv import ARXIV_INTERVAL
from pith_bib.publish import document_bytes
from tests.arxiv_fake import ArxivFake, FakePaper
from tests.mirror_server import MirrorServer
from tests.test_derive_resolve import KEY_HEX, bundle_for, metadata_of

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LICENSE = "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
CC_BY = "http://creativecommons.org/licenses/by/4.0/"
LATENCY = 0.05
REVISED = 10
SENTENCE = ("we study the spectral gap of random regular graphs and prove a sharp bound "
            "that holds uniformly in the degree using a new trace method")


def make_paper(n: int) -> FakePaper:
    """Paper ``n``: licenses 90/5/5 %, one to three versions, arXiv-like text."""
    license = CC_BY if n % 20 == 0 else None if n % 20 == 1 else DEFAULT_LICENSE
    v1 = datetime(2021, 3, 1, 9, tzinfo=timezone.utc) + timedelta(hours=7 * n)
    versions = [(v, v1 + timedelta(days=30 * (v - 1))) for v in range(1, 2 + n % 3)]
    words = SENTENCE.split()
    abstract = " ".join(words[(n + i) % len(words)] for i in range(150)) + "."
    cats = ["math.CO", "cs.DM"] if n % 2 else ["math.PR"]
    return FakePaper(f"2103.{10000 + 37 * n:05d}", versions,
                     f"A sharp spectral bound number {n} for random regular graphs", abstract,
                     cats, license)


def revised(paper: FakePaper) -> FakePaper:
    """The paper as arXiv shows it after a revision the registry has not seen."""
    latest, moment = paper.versions[-1]
    return replace(paper, versions=[*paper.versions, (latest + 1, moment + timedelta(days=9))])


def bib_text(papers: list[FakePaper]) -> str:
    return "".join(
        f"@article{{paper{n},\n  title = {{{p.title}}},\n  author = {{A. Author}},\n"
        f"  year = {{2021}},\n  eprint = {{{p.id}}},\n  archivePrefix = {{arXiv}},\n}}\n\n"
        for n, p in enumerate(papers))


def clean_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PITH_BIB")}
    env.update(PITH_BIB_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT))
    return env


def annotate(bib: Path, arxiv: ArxivFake, mirror: MirrorServer, cache: Path
             ) -> tuple[float, list[dict[str, Any]], list[str]]:
    command = [sys.executable, "-m", "pith_bib", "annotate", "--json", "--mirror", mirror.url,
               "--arxiv-api", arxiv.url, "--trust-key", KEY_HEX, str(bib)]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=clean_env(cache),
                          timeout=600, check=False)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"annotate failed ({done.returncode}):\n{done.stderr}")
    return seconds, json.loads(done.stdout), done.stderr.splitlines()


def arxiv_figures(requests: list[tuple[float, str]]) -> tuple[str, str, str]:
    ids = [len(parse_qs(urlsplit(path).query).get("id_list", [""])[0].split(","))
           for _, path in requests]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(requests)]
    gap = f"{min(gaps):.2f} s" if gaps else "-"
    return str(len(requests)), "+".join(map(str, ids)) or "-", gap


def quiet(server: Any) -> None:
    """No traceback when the client leaves a kept-alive connection (it exits, it's done)."""
    server._server.handle_error = lambda *args: None


def serve_registry(mirror: MirrorServer, papers: list[FakePaper]) -> None:
    for paper in papers:
        doc = bundle_for(metadata_of(paper))
        mirror.add_document(doc["pith_number"].rsplit(":", 1)[1], "bundle", document_bytes(doc))


def one_run(label: str, bib: Path, arxiv: ArxivFake, mirror: MirrorServer, cache: Path
            ) -> tuple[tuple[str, ...], list[float]]:
    """A table row for one annotate run, and the gaps between its arXiv requests."""
    arxiv_before, mirror_before = len(arxiv.requests), sum(mirror.counts.values())
    seconds, outcomes, _ = annotate(bib, arxiv, mirror, cache)
    requests = arxiv.requests[arxiv_before:]
    n_req, per_req, gap = arxiv_figures(requests)
    verified = sum(o.get("status") == "verified" for o in outcomes)
    row = (label, f"{seconds:.2f} s", n_req, per_req, gap,
           str(sum(mirror.counts.values()) - mirror_before), f"{verified}/{len(outcomes)}")
    return row, [b[0] - a[0] for a, b in itertools.pairwise(requests)]


def mirror_breakdown(mirror: MirrorServer) -> str:
    found = missing = aliases = 0
    for path, count in mirror.counts.items():
        if path.startswith("/aliases/"):
            aliases += count
        elif path in mirror.files:
            found += count
        else:
            missing += count
    return (f"mirror requests over all runs: {found} documents served, {missing} 404s for "
            f"derived candidates the registry lacks, {aliases} alias lookups (all 404)")


def print_table(rows: list[tuple[str, ...]]) -> None:
    header = ("run", "wall", "arXiv req", "ids/req", "min gap", "mirror req", "verified")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    registry = [make_paper(n) for n in range(count)]
    stale = {p.id for p in registry[2::20][:REVISED]}
    shown = [revised(p) if p.id in stale else p for p in registry]
    rows: list[tuple[str, ...]] = []
    gaps: list[float] = []
    with ArxivFake(shown) as arxiv, MirrorServer(latency=LATENCY) as mirror, \
            tempfile.TemporaryDirectory() as tmp:
        quiet(arxiv)
        quiet(mirror)
        serve_registry(mirror, registry)  # the registry's records predate the revisions
        assert not any(path.startswith("/aliases") for path in mirror.files)
        work = Path(tmp)
        original = work / "original.bib"
        original.write_text(bib_text(shown), "utf-8")
        for label, name, keep in (("1 cold (empty cache)", "cold.bib", False),
                                  ("2 warm cache, no lock", "warm.bib", False),
                                  ("3 re-run with lock", "warm.bib", True)):
            if not keep:
                shutil.copyfile(original, work / name)
            row, run_gaps = one_run(label, work / name, arxiv, mirror, work / "cache")
            rows.append(row)
            gaps += run_gaps
        breakdown = mirror_breakdown(mirror)
    print(f"{count} arXiv ids ({REVISED} revised since the registry's record; licenses "
          f"90/5/5 %), mirror latency {LATENCY * 1000:.0f} ms, arXiv gate {ARXIV_INTERVAL:g} s")
    print_table(rows)
    print(breakdown)
    spaced = all(gap >= ARXIV_INTERVAL for gap in gaps)
    print(f"arXiv requests >= {ARXIV_INTERVAL:g} s apart: {'yes' if spaced else 'NO'}")


if __name__ == "__main__":
    main()
