"""The one timing rule every benchmark here uses: best of N.

The fastest run is what the machine can do when nothing else interferes; the
median would report the other processes of a shared 2-core machine.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def best_of(repeat: int, work: Callable[[], object],
            before: Callable[[], object] = lambda: None) -> float:
    """Seconds of the fastest of ``repeat`` runs of ``work`` (``before`` runs untimed)."""
    times = []
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def paired_ratio(rounds: int, new: Callable[[], object], old: Callable[[], object]
                 ) -> tuple[float, list[float]]:
    """(median of new ÷ old over ``rounds`` alternating pairs, the ratios).

    Why pairs: on a VM whose speed drifts by tens of percent within minutes, two
    best-of-N figures taken minutes apart compare the machine's moods; a pair run
    back to back compares the code.
    """
    ratios = []
    for _ in range(rounds):
        start = time.perf_counter()
        old()
        middle = time.perf_counter()
        new()
        ratios.append((time.perf_counter() - middle) / (middle - start))
    return statistics.median(ratios), ratios


def byte_compile(package: Path) -> None:
    """Write the package's ``.pyc`` files, as ``pip install`` does.

    Why: whole-process timings must measure an installed tool. In a checkout
    run with ``PYTHONDONTWRITEBYTECODE`` set (as on this machine), every edited
    module would otherwise be compiled again in every timed process.
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True,
                   capture_output=True)
