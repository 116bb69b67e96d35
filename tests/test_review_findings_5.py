"""Review of the remembered lock verdicts and the quick exit: what they changed that they must not.

1. A lock's remembered row speaks for the verdicts its lines had when it was
   written. Before the row existed, annotate read the cache's *current* verdict
   for each line: once the cache held a newer document of a paper (newer
   events, so other evidence bytes), the old line was vouched for by nothing,
   the stored-verdict step answered with the newest verdict, and the lock moved
   on to it. The row must not freeze a lock at the version it was written with.
2. The console script ends with ``os._exit`` after flushing: a flush that fails
   (a full disk behind ``> file``) was the interpreter's exit status 120; it must
   not become a success with the output lost.
3. A process started with stdout or stderr closed has ``sys.stdout``/``sys.stderr``
   set to None: the quick exit must not crash on them where a normal exit did not.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pith_bib import TrustRoot, verify_document
from pith_bib.cache import Cache
from pith_bib.cli import EXIT_OK
from pith_bib.publish import build_bundle, document_bytes, resign_bundle
from tests.cli_support import ROOT, annotated_papers, run_cli, trust_args
from tests.support import cache_put, fixed_key

NEWER_SNAPSHOT_AT = "2030-06-01T00:00:00Z"


def _newer_document_of_paper_1() -> bytes:
    """Paper 1 of ``annotated_papers`` as a newer bundle: same record, a later snapshot event.

    The snapshot event is what lock evidence carries as ``title_event``, so the
    evidence bytes differ from the lock's line while the number, title and key
    stay those of the annotated entry.
    """
    key = fixed_key(11)
    doc = build_bundle("2101.00001", 1, "Paper number 1", "2020-01-02T03:04:05Z", key,
                       "test-key")
    doc["built_at"] = "2031-01-01T00:00:00Z"
    snapshot = next(e for e in doc["events"] if e["event_type"] == "graph_snapshot")
    snapshot["created_at"] = NEWER_SNAPSHOT_AT
    return document_bytes(resign_bundle(doc, key, "test-key"))


def test_annotate_moves_a_remembered_lock_to_the_newer_document_in_the_cache(
        tmp_path: Path) -> None:
    bib, lock_path = annotated_papers(tmp_path, count=2)  # the lock's row is remembered
    assert NEWER_SNAPSHOT_AT not in lock_path.read_text()
    data = _newer_document_of_paper_1()
    report = verify_document(data, TrustRoot.default().with_key(bytes(fixed_key(11).verify_key)))
    assert report.ok and report.pith_number in json.loads(lock_path.read_text())["papers"]
    assert cache_put(Cache(tmp_path / "cache"), data, report) is True  # the newer is current

    done = run_cli("annotate", "--offline", *trust_args(), str(bib), cache=tmp_path / "cache")
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
    # What 027f22b did (and this code does once the row is deleted): the lock follows
    # the cache's current document. With the row, the old line stayed vouched for.
    assert NEWER_SNAPSHOT_AT in lock_path.read_text()


def _books(path: Path) -> Path:
    path.write_text("@book{key,\n  title = {A book},\n  year = {2001}\n}\n")
    return path


def _script_env(cache: Path) -> dict[str, str]:
    env = dict(os.environ, PITH_BIB_CACHE_DIR=str(cache), PYTHONPATH=str(ROOT))
    env.pop("PYTHONUNBUFFERED", None)  # block-buffered, as users have it: the flush is at exit
    return env


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_lost_to_a_full_disk_is_not_a_success(tmp_path: Path) -> None:
    bib = _books(tmp_path / "books.bib")
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "pith_bib", "check", str(bib)],
                              stdout=full, stderr=subprocess.PIPE, text=True, check=False,
                              timeout=120, env=_script_env(tmp_path / "cache"))
    assert done.returncode != EXIT_OK, done.stderr  # the report never reached the file


@pytest.mark.parametrize("closed", ["1", "2"])
def test_a_closed_standard_stream_does_not_crash_the_exit(tmp_path: Path, closed: str) -> None:
    bib = _books(tmp_path / "books.bib")
    command = f"{shlex.quote(sys.executable)} -m pith_bib check {shlex.quote(str(bib))} {closed}>&-"
    done = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True,
                          check=False, timeout=120, env=_script_env(tmp_path / "cache"))
    assert "Traceback" not in done.stderr
    assert done.returncode == EXIT_OK, done.stdout + done.stderr
