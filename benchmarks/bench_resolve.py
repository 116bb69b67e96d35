"""Cold ``pith-bib resolve`` of many pith numbers over a loopback mirror with 50 ms per request.

Run: python benchmarks/bench_resolve.py [--counts 200,1000] [--repeat 3] [--serial-repeat N]
     [--vs CHECKOUT [--pairs N]]

Each figure is a whole process as a user runs it (``python -m pith_bib resolve
--mirror URL ...``, interpreter start-up included), with an empty cache every
time, best of N: default settings against ``--jobs 1``. The mirror is
``tests/mirror_server.MirrorServer`` on 127.0.0.1, in this process, adding 50 ms
to every request; every bundle is signed by a benchmark key the run trusts.
Then a warm run (everything cached) of the largest count, for information.

Bars (issue 14): 200 ids at least 10x faster than ``--jobs 1``; 1,000 ids at least 20x.

``--vs CHECKOUT`` (another checkout of pith-bib, e.g. a ``git worktree`` of an older
commit) adds, for the largest count, the median of ``--pairs`` back-to-back default
runs of this checkout divided by that one's (below 1: this one is faster).
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import best_of, byte_compile, paired_ratio
from pith_bib.publish import build_bundle, document_bytes
from tests.cli_support import ROOT, trust_args
from tests.mirror_server import MirrorServer
from tests.support import fixed_key

BARS = {200: 10.0, 1000: 20.0}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", default="200,1000",
                        help="comma-separated numbers of pith numbers to resolve")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serial-repeat", type=int, default=None,
                        help="runs of the slow --jobs 1 figure (default: --repeat)")
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--vs", metavar="CHECKOUT", help="another checkout to compare with")
    parser.add_argument("--pairs", type=int, default=7)
    args = parser.parse_args()
    counts = sorted(int(c) for c in args.counts.split(","))
    byte_compile(Path(__file__).resolve().parents[1] / "pith_bib")
    if args.vs:
        byte_compile(Path(args.vs) / "pith_bib")
    key = fixed_key(99)
    server = MirrorServer(latency=args.latency)
    numbers = []
    for n in range(max(counts)):
        arxiv_id = f"2301.{n:05d}"
        bundle = build_bundle(arxiv_id, 1, f"Benchmark {arxiv_id}", "2023-01-01T00:00:00Z",
                              key, "bench")
        pid = bundle["pith_number"].rsplit(":", 1)[1]
        server.add_document(pid, "bundle", document_bytes(bundle))
        numbers.append(bundle["pith_number"])
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PITH_BIB_CACHE_DIR", None)
    fresh = itertools.count()
    with server, tempfile.TemporaryDirectory() as tmp:
        def resolve(count: int, *extra: str, cache: str | None = None,
                    checkout: str | None = None) -> Callable[[], None]:
            def run() -> None:
                folder = Path(tmp) / (cache or f"cold-{next(fresh)}")
                done = subprocess.run(
                    [sys.executable, "-m", "pith_bib", "resolve", "--mirror", server.url,
                     "--cache-dir", str(folder), *trust_args(key), *extra,
                     *numbers[:count]], cwd=tmp, capture_output=True, check=False,
                    env=dict(env, PYTHONPATH=checkout) if checkout else env)
                if done.returncode != 0 or done.stdout.count(b"  verified  ") != count:
                    raise SystemExit(f"resolve failed ({done.returncode}): "
                                     f"{done.stderr.decode(errors='replace')[-2000:]}")
            return run

        print(f"{args.latency * 1000:.0f} ms per request, whole processes, empty cache "
              f"each run; best of {args.repeat}")
        for count in counts:
            serial = best_of(args.serial_repeat or args.repeat, resolve(count, "--jobs", "1"))
            cold = best_of(args.repeat, resolve(count))
            bar = BARS.get(count)
            bar_text = f" (bar {bar:.0f}x)" if bar else ""
            print(f"{count:>5} ids: --jobs 1 {serial:7.2f} s; default {cold:6.2f} s  -> "
                  f"{serial / cold:5.1f}x faster{bar_text}")
        largest = counts[-1]
        if args.vs:
            median, ratios = paired_ratio(args.pairs, resolve(largest),
                                          resolve(largest, checkout=str(Path(args.vs).resolve())))
            print(f"{largest:>5} ids, default, this checkout / {args.vs}: {median:.2f} "
                  f"(median of {args.pairs} pairs: "
                  f"{' '.join(f'{r:.2f}' for r in ratios)})")
        resolve(largest, cache="warm")()
        warm = best_of(args.repeat, resolve(largest, cache="warm"))
        print(f"{largest:>5} ids, warm (all cached): {warm:.3f} s "
              f"({warm / largest * 1000:.3f} ms per identifier, start-up included)")
        print(f"requests served: {server.counts.total()}")


if __name__ == "__main__":
    main()
