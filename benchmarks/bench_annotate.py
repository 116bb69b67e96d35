"""annotate (warm cache, offline) and check, against pybtex merely parsing the same file.

Run: python benchmarks/bench_annotate.py [FILE] [--repeat 5]
Default FILE: ../shared/corpora/hepml/HEPML.bib (2,423 entries, nearly all with arXiv ids).

Every arXiv id in the file gets a bundle signed by a benchmark key that the
run trusts, served from a local mirror directory. A first annotate fills the
cache; then, in one run, best of N:

- pybtex parse: pybtex's BibTeX parser on the decoded text (the reference);
- annotate, warm: ``pith-bib annotate --offline`` in-process on the original
  (un-annotated) file with every document cached and no lock file yet, so
  every entry is resolved, verified from the cache's verdicts, edited and the
  file and lock written;
- annotate, re-run: the same on the annotated file with its lock (a no-op);
- check: ``pith-bib check`` in-process on the annotated file and its lock,
  re-verifying every signature in the lock.

Bars (issue 5): annotate (warm) and check each at most 0.5x pybtex's parse.
Whole-process times (interpreter start-up included) are printed for information.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pybtex.errors
from pybtex.database.input import bibtex

from pith_bib.bibfile import decode_bib
from pith_bib.cli import main as pith_bib_main
from tests.cli_support import mirror_for_bib, trust_args
from tests.support import fixed_key

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "hepml" / "HEPML.bib"


def best_of(repeat: int, work: Callable[[], object], before: Callable[[], object] = lambda: None
            ) -> float:
    times = []
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def quietly(argv: list[str]) -> int:
    with contextlib.redirect_stdout(io.StringIO()):
        return pith_bib_main(argv)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    original = args.file.read_bytes()
    work = Path(tempfile.mkdtemp(prefix="pith-bench-annotate-"))
    try:
        bib = work / args.file.name
        lock = bib.with_name(bib.stem + ".pith-lock.json")
        bib.write_bytes(original)
        key = fixed_key(42)
        started = time.perf_counter()
        documents = mirror_for_bib(bib, work / "mirror", key)
        built = time.perf_counter() - started
        cache = ["--cache-dir", str(work / "cache"), *trust_args(key)]
        cold = ["annotate", "--offline", "--mirror", str(work / "mirror"), *cache, str(bib)]
        # warm: what a user runs once everything is cached: --offline, default mirror list
        annotate = ["annotate", "--offline", *cache, str(bib)]
        check = ["check", *trust_args(key), str(bib)]
        started = time.perf_counter()
        first = quietly(cold)
        cold_time = time.perf_counter() - started
        annotated = bib.read_bytes()
        if quietly(check) != 0:
            raise SystemExit("check found problems on the freshly annotated file")

        def reset() -> None:
            bib.write_bytes(original)
            lock.unlink(missing_ok=True)

        def pybtex_parse() -> None:
            text, _, _ = decode_bib(original)
            pybtex.errors.set_strict_mode(False)
            with pybtex.errors.capture():
                bibtex.Parser().parse_string(text)

        reference = best_of(args.repeat, pybtex_parse)
        warm = best_of(args.repeat, lambda: quietly(annotate), reset)
        if bib.read_bytes() != annotated:
            raise SystemExit("warm annotate wrote something different from the first run")
        rerun = best_of(args.repeat, lambda: quietly(annotate))
        checked = best_of(args.repeat, lambda: quietly(check))
        process = best_of(3, lambda: subprocess.run(
            [sys.executable, "-m", "pith_bib", *check], capture_output=True, check=False))

        entries = original.count(b"\n@")
        print(f"{args.file.name}: {len(original) / 1e6:.2f} MB, ~{entries} entries, "
              f"{documents} arXiv ids; bundles signed in {built:.1f} s; first annotate "
              f"(cold cache, exit {first}) {cold_time:.2f} s")
        print(f"pybtex parse:               {reference:.3f} s")
        print(f"annotate, warm cache:       {warm:.3f} s  ({warm / reference:.2f}x pybtex; "
              "bar 0.5x)")
        print(f"annotate, re-run (no-op):   {rerun:.3f} s  ({rerun / reference:.2f}x pybtex)")
        print(f"check (offline, lock file): {checked:.3f} s  ({checked / reference:.2f}x pybtex;"
              " bar 0.5x)")
        print(f"check as a process:         {process:.3f} s  (includes interpreter start-up)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
