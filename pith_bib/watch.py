"""Re-annotate a .bib whenever another program rewrites it (Zotero's Better BibTeX).

Better BibTeX auto-export rewrites the whole file each time the Zotero library
changes and has no post-export hook, dropping fields it does not know. This
loop polls the file (portable, no extra dependency), waits until it has
stopped changing, annotates it, and remembers the hash of what it wrote so its
own write does not trigger another round. It remembers what it wrote, not what
the file holds afterwards: an export landing just after our write is a change
to annotate, never mistaken for our own.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from .errors import FileReadError
from .safe_read import MAX_INPUT_BYTES, read_regular_file

# One round: annotate, and answer the bytes it left in the file (what it wrote, or
# what it read and found up to date); None when it cannot say.
AnnotateOnce = Callable[[], "bytes | None"]

Snapshot = tuple[int, int] | None


def _snapshot(path: Path) -> Snapshot:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size)


def _digest(path: Path) -> str | None:
    """What the file holds, hashed; None when that is not a regular file's bytes.

    The bounded read annotate uses: what appears at the path between two
    exports may be a FIFO (an open would block the watch for good) or a link
    to a device that never ends.
    """
    try:
        data = read_regular_file(path, MAX_INPUT_BYTES)
    except FileReadError:
        return None
    return hashlib.sha256(data).hexdigest() if data is not None else None


def _ours(path: Path, left: bytes | None) -> str | None:
    return hashlib.sha256(left).hexdigest() if left is not None else _digest(path)


def watch(path: Path, annotate_once: AnnotateOnce, *, interval: float = 0.5,
          settle: float = 1.0, log: Callable[[str], None] = print,
          should_stop: Callable[[], bool] = lambda: False) -> None:
    """Annotate now, then after every settled change that we did not make ourselves."""
    log(f"watching {path} (Ctrl-C to stop)")
    ours = _ours(path, annotate_once())
    seen: Snapshot = None  # look at the file once more: it may have changed meanwhile
    while not should_stop():
        time.sleep(interval)
        current = _snapshot(path)
        if current == seen or current is None:
            continue
        while True:  # wait until the writer has finished
            time.sleep(settle)
            later = _snapshot(path)
            if later == current:
                break
            current = later
        seen = current
        digest = _digest(path)
        if digest is None or digest == ours:
            continue
        log(f"{path} changed; annotating")
        ours = _ours(path, annotate_once())
        seen = None
