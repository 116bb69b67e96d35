"""``pith-bib zotero`` end to end against the loopback fake, with network-like latency.

Run: python benchmarks/bench_zotero.py [--items 1000] [--latency 0.02]

A fake Zotero Web API (tests/zotero_fake.py) answers every request after
``--latency`` seconds. The library holds ``--items`` items: three quarters
name an arXiv id or DOI, one quarter are books with nothing to look up. The
arXiv papers are signed bundles in a local mirror (test key); the cache is
warmed from it first, and every run is ``--offline``, so what is measured is
the real command path (``zotero_command.run``: settings, client, one batch
resolve from the cache, policy, sync, report) with everything cached:

- first run: reads every page, writes every item that needs a number;
- second run, incremental (the stored library version, ``since=``);
- second run, ``--full``: reads every page again, writes nothing;
- second run, ``--full --lock``: the same, and writes the lock for check.

Goals (issue 12): second run <= ceil(items/100) + 1 requests and < 2 s;
first run <= ceil(changed/50) write requests.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pith_bib import zotero_command
from pith_bib.policy import Query
from pith_bib.publish import build_bundle, document_bytes
from pith_bib.settings import Settings
from tests.support import fixed_key
from tests.zotero_fake import API_KEY, LIBRARY, FakeZotero
from tests.zotero_fake import item_key as key

SIGNER = fixed_key(29)
TRUST = bytes(SIGNER.verify_key).hex()


def arxiv_of(n: int) -> str:
    return f"{18 + n // 99999 % 5}{n % 12 + 1:02d}.{n % 99999:05d}"


def populate(fake: FakeZotero, count: int, mirror: Path) -> int:
    """The library, and a signed bundle per arXiv id; returns how many items get a number."""
    numbered = 0
    for n in range(count):
        kind = n % 4
        title = f"Paper {n}"
        data: dict[str, object] = {"title": title, "creators": [
            {"creatorType": "author", "firstName": "A.", "lastName": f"Author{n}"}]}
        if kind in (0, 3):
            data |= {"itemType": "preprint", "archiveID": f"arXiv:{arxiv_of(n)}"}
            if kind == 3:
                data["extra"] = "ZSCC: 0000042\nCitation Key: key" + str(n)
            doc = build_bundle(arxiv_of(n), 1, title, "2019-01-01T00:00:00Z", SIGNER,
                               "bench-key", authors=f"A. Author{n}")
            folder = mirror / "pith" / doc["pith_number"].rsplit(":", 1)[1]
            folder.mkdir(parents=True)
            (folder / "bundle.json").write_bytes(document_bytes(doc))
            numbered += 1
        elif kind == 1:
            data |= {"itemType": "journalArticle", "DOI": f"10.1000/bench.{n}"}
        else:
            data["itemType"] = "book"
        fake.add_item(key(n), data)
    return numbered


def warm_cache(mirror: Path, cache: Path, count: int) -> None:
    """Resolve every identifier once from the mirror, so the runs need only the cache."""
    settings = Settings(mirrors=[str(mirror)], cache_dir=cache, trust_keys=[TRUST])
    queries = [Query("arxiv", arxiv_of(n)) if n % 4 in (0, 3) else
               Query("doi", f"10.1000/bench.{n}") for n in range(count) if n % 4 != 2]
    settings.resolver().resolve_many(queries)


def timed(fake: FakeZotero, argv: list[str]) -> tuple[float, int, int, int]:
    """Wall time, requests, write requests and exit code of one command run."""
    before, posts = len(fake.requests()), len(fake.requests("POST"))
    parser = argparse.ArgumentParser(prog="pith-bib")
    zotero_command.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["zotero", *argv])
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = args.handler(args)
    elapsed = time.perf_counter() - start
    return (elapsed, len(fake.requests()) - before, len(fake.requests("POST")) - posts, code)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.02)
    options = parser.parse_args()
    ok = True
    os.environ["ZOTERO_API_KEY"] = API_KEY
    with FakeZotero(latency=options.latency) as fake, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "mirror").mkdir()
        changed = populate(fake, options.items, root / "mirror")
        warm_cache(root / "mirror", root / "cache", options.items)
        os.chdir(root)
        common = ["--library", LIBRARY, "--zotero-url", fake.url, "--offline",
                  "--cache-dir", str(root / "cache"), "--trust-key", TRUST]
        pages = math.ceil(options.items / 100)
        t1, r1, w1, c1 = timed(fake, common)
        print(f"first run:                 {t1:6.2f} s  {r1:4d} requests  {w1:3d} writes "
              f"({changed} items changed; goal <= {math.ceil(changed / 50)} writes) exit {c1}")
        ok &= w1 <= math.ceil(changed / 50) and c1 == 0
        for label, extra in (("second run, since=:", []), ("second run, --full:", ["--full"]),
                             ("second run, --full --lock:",
                              ["--lock", str(root / "library.pith-lock.json")])):
            t2, r2, w2, c2 = timed(fake, [*common, *extra])
            print(f"{label:26s} {t2:6.2f} s  {r2:4d} requests  {w2:3d} writes "
                  f"(goal <= {pages + 1} requests, < 2 s, 0 writes) exit {c2}")
            ok &= r2 <= pages + 1 and t2 < 2.0 and w2 == 0 and c2 == 0
        print("goals met" if ok else "GOALS MISSED")
        assert fake.extra(key(0)).startswith("tex.pith: pith:2019:")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
