"""Zotero sync against the loopback fake with network-like latency.

Run: python benchmarks/bench_zotero.py [--items 1000] [--latency 0.02]

A fake Zotero Web API (tests/zotero_fake.py) answers every request after
``--latency`` seconds. The library holds ``--items`` items: three quarters
name an arXiv id or DOI that the judge knows (a dict: everything "cached"),
one quarter are books with nothing to look up. Measured, wall time and HTTP
requests of:

- first run: reads every page, writes every item that needs a number;
- second run, full (``--full``): reads every page again, writes nothing;
- second run, incremental (the stored library version, ``since=``).

Goals (issue 12): second run <= ceil(items/100) + 1 requests and < 2 s;
first run <= ceil(changed/50) write requests.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pith_bib.zotero_api import ZoteroClient
from pith_bib.zotero_sync import SyncResult, sync
from tests.test_zotero_sync import Judge, number
from tests.zotero_fake import API_KEY, LIBRARY, FakeZotero
from tests.zotero_fake import item_key as key


def populate(fake: FakeZotero, count: int) -> dict[str, str]:
    table: dict[str, str] = {}
    for n in range(count):
        kind = n % 4
        data: dict[str, object] = {"title": f"Paper {n}", "creators": [
            {"creatorType": "author", "firstName": "A.", "lastName": f"Author{n}"}]}
        if kind in (0, 3):
            arxiv = f"{18 + n // 99999 % 5}{n % 12 + 1:02d}.{n % 99999:05d}"
            data |= {"itemType": "preprint", "archiveID": f"arXiv:{arxiv}"}
            if kind == 3:
                data["extra"] = "ZSCC: 0000042\nCitation Key: key" + str(n)
            table[arxiv] = number(n)
        elif kind == 1:
            doi = f"10.1000/bench.{n}"
            data |= {"itemType": "journalArticle", "DOI": doi}
            table[doi] = number(n)
        else:
            data["itemType"] = "book"
        fake.add_item(key(n), data)
    return table


def timed(fake: FakeZotero, table: dict[str, str], state: Path, full: bool
          ) -> tuple[float, int, int, SyncResult]:
    before = len(fake.requests())
    posts_before = len(fake.requests("POST"))
    client = ZoteroClient(LIBRARY, API_KEY, base_url=fake.url)
    start = time.perf_counter()
    result = sync(client, Judge(table), state_dir=state, full=full)
    elapsed = time.perf_counter() - start
    return (elapsed, len(fake.requests()) - before,
            len(fake.requests("POST")) - posts_before, result)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.02)
    args = parser.parse_args()
    ok = True
    with FakeZotero(latency=args.latency) as fake, tempfile.TemporaryDirectory() as tmp:
        table = populate(fake, args.items)
        state = Path(tmp)
        pages = math.ceil(args.items / 100)
        t1, r1, w1, first = timed(fake, table, state, full=True)
        changed = sum(1 for r in first.reports if r.changed)
        print(f"first run:             {t1:6.2f} s  {r1:4d} requests  {w1:3d} writes "
              f"({changed} items changed; goal <= {math.ceil(changed / 50)} writes)")
        ok &= w1 <= math.ceil(changed / 50)
        t2, r2, w2, _ = timed(fake, table, state, full=True)
        print(f"second run, --full:    {t2:6.2f} s  {r2:4d} requests  {w2:3d} writes "
              f"(goal <= {pages + 1} requests, < 2 s, 0 writes)")
        ok &= r2 <= pages + 1 and t2 < 2.0 and w2 == 0
        t3, r3, w3, _ = timed(fake, table, state, full=False)
        print(f"second run, since=:    {t3:6.2f} s  {r3:4d} requests  {w3:3d} writes")
        ok &= w3 == 0 and r3 <= pages + 1
        print("goals met" if ok else "GOALS MISSED")
        for n in (0, 3):
            assert f"tex.pith: {number(n)}" in fake.extra(key(n))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
