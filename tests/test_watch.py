"""``pith-bib watch``: a Better BibTeX-style rewrite is re-annotated; its own write is not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from pith_bib.bibfile import parse
from pith_bib.watch import watch
from tests.cli_support import ROOT, SAMPLE_MIRROR, copy_sample

JIA = "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"


def _wait_for(condition, what: str, limit: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    """Poll until ``condition()``; the limit only stops a broken run from hanging the suite."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _jia_pith(bib: Path) -> str | None:
    for entry in parse(bib.read_bytes()).entries:
        if entry.key == "jia2018exploring":
            return entry.get("pith")
    return None


def test_watch_reannotates_a_rewrite_and_exits_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    exported = bib.read_bytes()  # what Better BibTeX writes: no pith fields
    log = tmp_path / "watch.log"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PITH_BIB_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONUNBUFFERED="1")
    with log.open("w") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "pith_bib", "watch", "--offline", "--mirror",
             str(SAMPLE_MIRROR), "--interval", "0.05", "--settle", "0.2", str(bib)],
            stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            _wait_for(lambda: _jia_pith(bib) == JIA, "the first annotation")
            annotated = bib.read_bytes()
            bib.write_bytes(exported)  # Zotero re-exports, dropping our fields
            _wait_for(lambda: bib.read_bytes() == annotated, "the re-annotation")
            _wait_for(lambda: "changed; annotating" in log.read_text(), "the log line")
            child.send_signal(signal.SIGINT)
            code = child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    text = log.read_text()
    assert code == 0, text
    assert text.count("changed; annotating") == 1  # its own writes did not trigger a round
    assert "stopped watching" in text and "Traceback" not in text


def test_watch_loop_ignores_its_own_write_and_waits_for_the_writer_to_settle(tmp_path: Path
                                                                              ) -> None:
    target = tmp_path / "refs.bib"
    target.write_text("first")
    rounds: list[str] = []
    stop = threading.Event()

    def annotate_once() -> None:
        rounds.append(target.read_text())
        target.write_text(target.read_text() + " +annotated")  # our own write

    worker = threading.Thread(target=watch, args=(target, annotate_once), kwargs={
        "interval": 0.01, "settle": 0.5, "log": lambda _msg: None,
        "should_stop": stop.is_set})
    worker.start()
    try:
        _wait_for(lambda: len(rounds) == 1, "the first round")
        for part in ("second", "second, longer", "second, longer, done"):  # a slow writer
            target.write_text(part)
            time.sleep(0.02)
        _wait_for(lambda: len(rounds) == 2, "the second round")
    finally:
        stop.set()
        worker.join(timeout=30)
    assert rounds == ["first", "second, longer, done"]
    assert target.read_text() == "second, longer, done +annotated"


def test_a_deep_lock_is_reported_and_watch_keeps_running(tmp_path: Path) -> None:
    """A hostile lock (deep JSON) is one error line per round, never the end of watch."""
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    lock = tmp_path / "zotero-biblatex.pith-lock.json"
    lock.write_bytes(b'{"a":' + b"[" * 50_000 + b"]" * 50_000 + b"}")
    log = tmp_path / "watch.log"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PITH_BIB_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONUNBUFFERED="1")
    with log.open("w") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "pith_bib", "watch", "--offline", "--mirror",
             str(SAMPLE_MIRROR), "--interval", "0.05", "--settle", "0.2", str(bib)],
            stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            _wait_for(lambda: "nested deeper than" in log.read_text(), "the first error")
            lock.unlink()  # the user fixes the lock; the next export is annotated
            bib.write_bytes(bib.read_bytes() + b"\n")
            _wait_for(lambda: _jia_pith(bib) == JIA, "the annotation after the fix")
            child.send_signal(signal.SIGINT)
            code = child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    text = log.read_text()
    assert code == 0 and "Traceback" not in text, text


def test_an_export_landing_right_after_our_write_is_annotated(tmp_path: Path) -> None:
    """The watch remembers the bytes it wrote, not what the file holds afterwards: an
    export that lands between our write and the next look is a change, not ours."""
    target = tmp_path / "refs.bib"
    target.write_text("first")
    rounds: list[str] = []
    stop = threading.Event()

    def annotate_once() -> bytes:
        rounds.append(target.read_text())
        ours = (target.read_text() + " +annotated").encode()
        target.write_bytes(ours)
        if len(rounds) == 1:
            target.write_text("exported meanwhile")  # another program, a moment later
        return ours

    worker = threading.Thread(target=watch, args=(target, annotate_once), kwargs={
        "interval": 0.01, "settle": 0.05, "log": lambda _msg: None,
        "should_stop": stop.is_set})
    worker.start()
    try:
        _wait_for(lambda: len(rounds) == 2, "the round for the export")
        time.sleep(0.3)  # and no third round for our own second write
    finally:
        stop.set()
        worker.join(timeout=30)
    assert rounds == ["first", "exported meanwhile"]
    assert target.read_text() == "exported meanwhile +annotated"
