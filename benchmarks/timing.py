"""The one timing rule every benchmark here uses: best of N.

The fastest run is what the machine can do when nothing else interferes; the
median would report the other processes of a shared 2-core machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable


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
