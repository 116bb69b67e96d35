"""Warm ``annotate`` and ``check`` as whole processes, against a bare pybtex parse process.

Run: python benchmarks/bench_annotate.py [FILE] [--repeat 3]
Default FILE: ../shared/corpora/hepml/HEPML.bib (2,423 entries, nearly all with arXiv
ids); skipped with a message when it is absent.

Every arXiv id in the file gets a bundle signed by a benchmark key that the run
trusts, served from a local mirror directory. A first annotate fills a fresh
cache and writes the lock; then, in one run, best of N, each a whole process as
a user runs it (``python -m pith_bib ...``, interpreter start-up included):

- pybtex parse: ``python -c "import pybtex.database as d; d.parse_file(F)"`` (the yardstick);
- annotate, warm: ``pith-bib annotate --offline`` on the original (un-annotated) file,
  every document cached, the lock present: every entry resolved from the cache,
  judged, edited, the file written;
- annotate, re-run: the same on the annotated file (a no-op);
- check, warm cache: ``pith-bib check`` of the annotated file with its lock and the
  cache annotate filled (verdicts reused where bound to the same evidence bytes);
- check, no cache: the same with a cache folder that does not exist (CI), so every
  signature in the lock is verified.

Bars (issue 14): annotate (warm) <= 0.5x; check <= 0.5x warm, <= 1.0x with no cache.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.timing import best_of, byte_compile
from tests.cli_support import ROOT, mirror_for_bib, trust_args
from tests.support import fixed_key

DEFAULT = ROOT.parent / "shared" / "corpora" / "hepml" / "HEPML.bib"


def process(argv: list[str], cwd: Path, *, expect: int | None = 0) -> Callable[[], None]:
    """A whole ``python -m pith_bib`` process, started the way a user's shell would."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("PITH_BIB_CACHE_DIR", None)

    def run() -> None:
        done = subprocess.run([sys.executable, "-m", "pith_bib", *argv], cwd=cwd, env=env,
                              capture_output=True, check=False)
        if expect is not None and done.returncode != expect:
            raise SystemExit(f"pith-bib {argv[0]} exited {done.returncode}:\n"
                             f"{done.stdout.decode(errors='replace')[-2000:]}"
                             f"{done.stderr.decode(errors='replace')[-2000:]}")
    return run


def pybtex_parse(path: Path) -> Callable[[], None]:
    code = "import pybtex.database as d, sys; d.parse_file(sys.argv[1])"

    def run() -> None:
        subprocess.run([sys.executable, "-c", code, str(path)], check=True,
                       capture_output=True)
    return run


def ratio_line(label: str, seconds: float, reference: float, bar: str = "") -> str:
    bar_text = f"; bar {bar}" if bar else ""
    return f"{label:<28}{seconds:7.3f} s  ({seconds / reference:.2f}x pybtex{bar_text})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.file.is_file():
        print(f"skipped: {args.file} is absent (the shared corpora are not beside the project)")
        return
    byte_compile(ROOT / "pith_bib")
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
        name = bib.name
        cold = ["annotate", "--offline", "--mirror", str(work / "mirror"), *cache, name]
        # warm: what a user runs once everything is cached: --offline, default mirror list
        annotate = ["annotate", "--offline", *cache, name]
        check = ["check", *cache, name]
        check_no_cache = ["check", "--cache-dir", str(work / "no-cache"), *trust_args(key),
                          name]
        started = time.perf_counter()
        process(cold, work, expect=None)()
        cold_time = time.perf_counter() - started
        annotated, lock_bytes = bib.read_bytes(), lock.read_bytes()
        process(check, work)()

        def unannotated() -> None:
            bib.write_bytes(original)
            lock.write_bytes(lock_bytes)

        reference = best_of(args.repeat, pybtex_parse(bib))
        warm = best_of(args.repeat, process(annotate, work, expect=None), unannotated)
        if bib.read_bytes() != annotated or lock.read_bytes() != lock_bytes:
            raise SystemExit("warm annotate wrote something different from the first run")
        rerun = best_of(args.repeat, process(annotate, work, expect=None))
        checked = best_of(args.repeat, process(check, work))
        bare = best_of(args.repeat, process(check_no_cache, work))
        if (work / "no-cache").exists():
            raise SystemExit("check created a cache folder: it must be read-only")
        reference = min(reference, best_of(args.repeat, pybtex_parse(bib)))

        print(f"{args.file.name}: {len(original) / 1e6:.2f} MB, ~{original.count(b'@')} "
              f"entries, {documents} arXiv ids; bundles signed in {built:.1f} s; first "
              f"annotate (cold cache, local mirror) {cold_time:.2f} s")
        print(f"{'pybtex parse (process)':<28}{reference:7.3f} s")
        print(ratio_line("annotate, warm cache", warm, reference, "0.5x"))
        print(ratio_line("annotate, re-run (no-op)", rerun, reference))
        print(ratio_line("check, warm cache", checked, reference, "0.5x"))
        print(ratio_line("check, no cache", bare, reference, "1.0x"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
