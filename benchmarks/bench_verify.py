"""Verification throughput: seed bundles verified in a loop, on one core.

Also: the time a 16,000-event bundle and a 4 MB worst-case document take to fail.

Run: python benchmarks/bench_verify.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests' fixtures

from pith_bib import verify_document
from tests.support import REGISTRY
from tests.test_verify_bounds import many_events_bundle, worst_case_document

SEEDS = Path(__file__).resolve().parents[1] / "tests" / "data" / "seeds"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    docs = [p.read_bytes() for p in sorted(SEEDS.iterdir())]
    bundles = [d for d in docs if b'"bundle_type"' in d]
    states = [d for d in docs if b'"state_type"' in d]
    for label, group in (("bundles", bundles), ("states", states)):
        assert all(verify_document(d, REGISTRY).reasons == [] for d in group)
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < args.seconds:
            for data in group:
                verify_document(data, REGISTRY)
            count += len(group)
        elapsed = time.perf_counter() - start
        print(f"{label}: {count / elapsed:,.0f} documents/s on one core "
              f"({elapsed / count * 1e6:.0f} µs each)")
    for label, data in (("16,000 empty events", many_events_bundle()),
                        ("worst case under the 4 MB cap", worst_case_document())):
        best = min(_time_to_fail(data) for _ in range(3))
        print(f"{label} ({len(data) / 1e6:.2f} MB): fails in {best:.3f} s (goal < 0.5 s)")


def _time_to_fail(data: bytes) -> float:
    start = time.perf_counter()
    report = verify_document(data, REGISTRY)
    elapsed = time.perf_counter() - start
    assert report.status == "invalid"
    return elapsed


if __name__ == "__main__":
    main()
