"""No export is ever lost while annotate runs beside a program that keeps rewriting the file.

Better BibTeX replaces its auto-export every few tens of milliseconds while you
edit the library. An annotate that read export N must never rename its
annotation of N over export N+1: here a writer thread replaces the file in a
loop (atomically, as exporters do) while ``pith-bib annotate`` runs again and
again as a real process. After the writer's last export, whatever annotate did,
the file must hold that last export (annotated or not), never an older one.
"""

from __future__ import annotations

import os
import random
import re
import threading
from pathlib import Path

from tests.cli_support import SAMPLE_MIRROR, SAMPLES, run_cli

EXPORTS = 1500


def export(n: int) -> bytes:
    base = (SAMPLES / "zotero-biblatex.bib").read_bytes()
    return base.replace(b"auto-export.}", f"auto-export, number {n}.}}".encode(), 1)


def marker(data: bytes) -> int:
    found = re.search(rb"auto-export, number (-?\d+)\.", data)
    assert found is not None, data[:200]
    return int(found.group(1))


def writer(path: Path, done: threading.Event, last: list[int], lost: list[int]) -> None:
    """Export again and again; before each export, check the previous one was not lost."""
    rng = random.Random(7)
    temp = path.with_name(".export.tmp")
    for n in range(EXPORTS):
        if marker(path.read_bytes()) != last[0]:
            # Either annotate put an annotation of an older export over ours (a loss), or
            # we looked during its microseconds-long swap and swap back: look again.
            done.wait(0.05)
            if marker(path.read_bytes()) != last[0]:
                lost.append(last[0])
        temp.write_bytes(export(n))
        os.replace(temp, path)
        last[0] = n
        done.wait(rng.uniform(0.001, 0.004))
    done.set()


def test_annotate_never_overwrites_a_newer_export(tmp_path: Path) -> None:
    bib = tmp_path / "refs.bib"
    bib.write_bytes(export(-1))
    done, last, lost = threading.Event(), [-1], []
    thread = threading.Thread(target=writer, args=(bib, done, last, lost))
    thread.start()
    runs = outcomes = 0
    try:
        while not done.is_set():
            result = run_cli("annotate", "--offline", "--mirror", str(SAMPLE_MIRROR), str(bib),
                             cache=tmp_path / "cache")
            runs += 1
            outcomes += result.returncode in (0, 2)
    finally:
        done.set()
        thread.join()
    assert lost == []
    assert marker(bib.read_bytes()) == last[0]
    assert last[0] == EXPORTS - 1
    assert runs >= 2 and outcomes == runs
