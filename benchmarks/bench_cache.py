"""The user cache, cold and warm: the former ``v1`` file layout against the SQLite store.

Cold: ``put`` N signed documents into an empty cache. Warm: ``get_verdict`` for
all N in a fresh process (what a second annotate run does). Each phase runs in
its own process, once for time and once under ``strace -c -f`` (when strace is
installed) to count fsync/fdatasync calls and file opens. The former
implementation is taken from ``git show <rev>:pith_bib/cache.py``.

Run from the project root: PYTHONPATH=. python benchmarks/bench_cache.py [--count 300]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests' fixtures

from pith_bib import verify_document
from pith_bib.evidence import evidence_of
from pith_bib.lock import encode_evidence
from pith_bib.policy import signed_aliases
from pith_bib.publish import build_bundle, document_bytes
from pith_bib.trust import TrustRoot
from tests.support import fixed_key

ROOT = Path(__file__).resolve().parents[1]

KEY = fixed_key(77)
TRUST = TrustRoot.default().with_key(bytes(KEY.verify_key))


def load_cache_module(impl: str, old_source: Path | None) -> ModuleType:
    if impl == "new":
        from pith_bib import cache
        return cache
    assert old_source is not None
    spec = importlib.util.spec_from_file_location("pith_bib._bench_old_cache", old_source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def fixtures(count: int) -> list[tuple[bytes, Any, Any, list[tuple[str, str]]]]:
    items = []
    for n in range(count):
        data = document_bytes(build_bundle(f"2201.{n:05d}", 1, f"Benchmark paper {n}",
                                           "2022-01-01T00:00:00Z", KEY, "bench"))
        report = verify_document(data, TRUST)
        assert report.ok
        items.append((data, report, encode_evidence(evidence_of(data, report)),
                      signed_aliases(report)))
    return items


def child(args: argparse.Namespace) -> None:
    """One phase in this process; prints {"seconds": ...} as JSON on the last line."""
    items = fixtures(args.count)
    module = load_cache_module(args.impl, Path(args.old_source) if args.old_source else None)
    ids = [str(report.pith_number).rsplit(":", 1)[1] for _, report, _, _ in items]
    cache = module.Cache(args.dir)
    start = time.perf_counter()
    if args.phase == "cold":
        for data, report, evidence, aliases in items:
            cache.put(data, report, evidence, aliases)
    elif args.phase == "warm":
        found = [cache.get_verdict(i, TRUST) for i in ids]
        assert all(v is not None for v in found)
    else:  # bulk
        assert len(cache.verdicts(ids, TRUST)) == len(ids)
    print(json.dumps({"seconds": time.perf_counter() - start}))


def strace_counts(command: list[str]) -> dict[str, int] | None:
    """System calls of interest over the whole child (fixture building opens no files)."""
    if shutil.which("strace") is None:
        return None
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        subprocess.run(["strace", "-c", "-f", "-o", out.name, "-e",
                        "trace=fsync,fdatasync,openat,open", *command],
                       check=True, capture_output=True)
        counts: dict[str, int] = {}
        for line in Path(out.name).read_text().splitlines():
            parts = line.split()
            if parts and parts[-1] in ("fsync", "fdatasync", "openat", "open"):
                counts[parts[-1]] = int(parts[3])  # % time, seconds, usecs/call, calls
        return counts


def run_phase(impl: str, phase: str, folder: Path, count: int, old_source: Path,
              baseline: dict[str, int] | None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", "--impl", impl, "--phase", phase,
               "--dir", str(folder), "--count", str(count), "--old-source", str(old_source)]
    if phase == "cold":
        shutil.rmtree(folder, ignore_errors=True)
    timed = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(timed.stdout.strip().splitlines()[-1])
    if phase == "cold":
        shutil.rmtree(folder, ignore_errors=True)  # count on an empty cache again
    counts = strace_counts(command)
    if counts is not None and baseline is not None:
        result["fsyncs"] = counts.get("fsync", 0) + counts.get("fdatasync", 0) - \
            baseline.get("fsync", 0) - baseline.get("fdatasync", 0)
        result["opens"] = counts.get("openat", 0) + counts.get("open", 0) - \
            baseline.get("openat", 0) - baseline.get("open", 0)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--old-rev", default="6d749fb~1",
                        help="a commit whose cache.py is the file-per-object v1 layout")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--impl", choices=["old", "new"])
    parser.add_argument("--phase", choices=["cold", "warm", "bulk", "none"])
    parser.add_argument("--dir")
    parser.add_argument("--old-source")
    args = parser.parse_args()
    if args.child:
        if args.phase == "none":  # the baseline: imports and fixtures, no cache work
            fixtures(args.count)
            load_cache_module(args.impl, Path(args.old_source) if args.old_source else None)
            print(json.dumps({"seconds": 0.0}))
            return
        child(args)
        return
    with tempfile.TemporaryDirectory() as temp:
        old_source = Path(temp) / "old_cache.py"
        old_source.write_bytes(subprocess.run(
            ["git", "show", f"{args.old_rev}:pith_bib/cache.py"], cwd=ROOT, check=True,
            capture_output=True).stdout)
        print(f"{args.count} documents; fsyncs and file opens counted with strace "
              f"(minus a baseline run that only imports and builds fixtures)")
        for impl, label in (("old", f"v1 files ({args.old_rev})"), ("new", "SQLite v2")):
            folder = Path(temp) / impl
            base_cmd = [sys.executable, __file__, "--child", "--impl", impl, "--phase", "none",
                        "--count", str(args.count), "--old-source", str(old_source)]
            baseline = strace_counts(base_cmd)
            phases = ("cold", "warm", "bulk") if impl == "new" else ("cold", "warm")
            for phase in phases:
                r = run_phase(impl, phase, folder, args.count, old_source, baseline)
                extra = f", {r['fsyncs']} fsyncs, {r['opens']} file opens" if "fsyncs" in r \
                    else " (strace not available: no syscall counts)"
                print(f"{label:>18} {phase:>5}: {r['seconds'] * 1000:8.1f} ms "
                      f"({r['seconds'] / args.count * 1e6:6.0f} µs each){extra}")
        size = sum(p.stat().st_size for p in (Path(temp) / "new").rglob("*") if p.is_file())
        old_size = sum(p.stat().st_size for p in (Path(temp) / "old").rglob("*")
                       if p.is_file())
        files = sum(1 for p in (Path(temp) / "old").rglob("*") if p.is_file())
        print(f"on disk: v1 {old_size / 1024:.0f} KiB in {files} files; "
              f"v2 {size / 1024:.0f} KiB in one database (+ WAL)")


if __name__ == "__main__":
    main()
