"""write_atomic against symlinks, read-only files, odd targets and a concurrent re-exporter."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pith_bib import atomic
from pith_bib.atomic import write_atomic
from pith_bib.errors import ConcurrentModificationError, WriteError

needs_exchange = pytest.mark.skipif(atomic._load_renameat2() is None,
                                    reason="renameat2(RENAME_EXCHANGE) not available")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture(params=["exchange", "recheck"])
def path_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test on both code paths: renameat2 exchange and the portable re-check."""
    if request.param == "exchange" and atomic._load_renameat2() is None:
        pytest.skip("renameat2 not available here")
    if request.param == "recheck":
        monkeypatch.setattr(atomic, "_load_renameat2", lambda: None)
    return request.param


def test_symlink_target_is_written_through_and_the_link_kept(tmp_path: Path) -> None:
    real_dir, link_dir = tmp_path / "real", tmp_path / "links"
    real_dir.mkdir()
    link_dir.mkdir()
    real = real_dir / "refs.bib"
    real.write_bytes(b"old")
    real.chmod(0o640)
    (link_dir / "middle.bib").symlink_to(real)
    link = link_dir / "refs.bib"
    link.symlink_to("middle.bib")  # a chain, the last hop relative
    write_atomic(link, b"new")
    assert link.is_symlink() and os.readlink(link) == "middle.bib"
    assert (link_dir / "middle.bib").is_symlink()
    assert real.read_bytes() == b"new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert leftovers(real_dir) == [] and leftovers(link_dir) == []


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "refs.bib"
    link.symlink_to("elsewhere.bib")
    write_atomic(link, b"new")
    assert link.is_symlink() and (tmp_path / "elsewhere.bib").read_bytes() == b"new"


def test_read_only_target_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "refs.bib"
    target.write_bytes(b"old")
    target.chmod(0o444)
    with pytest.raises(WriteError, match="read-only file"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_read_only_target_behind_a_symlink_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "real.bib"
    target.write_bytes(b"old")
    target.chmod(0o444)
    (tmp_path / "refs.bib").symlink_to(target)
    with pytest.raises(WriteError, match="read-only file"):
        write_atomic(tmp_path / "refs.bib", b"new")
    assert target.read_bytes() == b"old"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_target_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "refs.bib"
    os.mkfifo(fifo)
    with pytest.raises(WriteError, match="not a regular file"):
        write_atomic(fifo, b"new")
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_expect_matching_writes(tmp_path: Path, path_kind: str) -> None:
    target = tmp_path / "refs.bib"
    target.write_bytes(b"export 1")
    target.chmod(0o600)
    write_atomic(target, b"export 1 annotated", expect=b"export 1")
    assert target.read_bytes() == b"export 1 annotated"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert leftovers(tmp_path) == []


def test_expect_mismatch_leaves_the_newer_file(tmp_path: Path, path_kind: str) -> None:
    target = tmp_path / "refs.bib"
    target.write_bytes(b"export 2")
    with pytest.raises(ConcurrentModificationError, match="changed on disk since it was read"):
        write_atomic(target, b"export 1 annotated", expect=b"export 1")
    assert target.read_bytes() == b"export 2"
    assert leftovers(tmp_path) == []


def test_expect_on_a_removed_file(tmp_path: Path) -> None:
    with pytest.raises(ConcurrentModificationError, match="removed since it was read"):
        write_atomic(tmp_path / "refs.bib", b"x", expect=b"old")
    assert not (tmp_path / "refs.bib").exists()


def _writer_save(target: Path, data: bytes) -> None:
    temp = target.with_name("writer.tmp")
    temp.write_bytes(data)
    os.replace(temp, target)


@needs_exchange
def test_save_between_our_exchange_and_the_check_wins(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The other program saves right after our swap; its save must be what remains."""
    target = tmp_path / "refs.bib"
    target.write_bytes(b"export 0")
    real_exchange = atomic._exchange
    calls: list[int] = []

    def exchange(first: str, second: str) -> bool:
        done = real_exchange(first, second)
        calls.append(1)
        if len(calls) == 1:
            _writer_save(target, b"export 1")
        return done

    monkeypatch.setattr(atomic, "_exchange", exchange)
    write_atomic(target, b"export 0 annotated", expect=b"export 0")
    assert target.read_bytes() == b"export 1"  # ours was replaced by the newer save
    assert leftovers(tmp_path) == []


@needs_exchange
def test_saves_during_the_swap_back_are_not_undone(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Export 1 lands before our swap, export 2 during the swap back: export 2 must stay."""
    target = tmp_path / "refs.bib"
    target.write_bytes(b"export 1")  # we read export 0; export 1 came before our write
    real_exchange = atomic._exchange
    calls: list[int] = []

    def exchange(first: str, second: str) -> bool:
        calls.append(1)
        if len(calls) == 2:  # just before we swap export 1 back, export 2 is saved
            _writer_save(target, b"export 2")
        return real_exchange(first, second)

    monkeypatch.setattr(atomic, "_exchange", exchange)
    with pytest.raises(ConcurrentModificationError):
        write_atomic(target, b"export 0 annotated", expect=b"export 0")
    assert target.read_bytes() == b"export 2"
    assert len(calls) == 3  # in, back (pulled out export 2), again (export 2 back in)
    assert leftovers(tmp_path) == []


WRITER = textwrap.dedent(r"""
    import os, random, sys, time
    target, stop, annot = sys.argv[1], sys.argv[2], sys.argv[3].encode()
    temp = target + ".writer"
    lost = checks = k = transient = 0
    while not os.path.exists(stop) and k < 400:
        k += 1
        mine = b"@misc{k, note = {export %d}}\n" % k
        with open(temp, "wb") as handle:
            handle.write(mine)
        os.replace(temp, target)
        time.sleep(random.uniform(0.0005, 0.004))
        with open(target, "rb") as handle:
            now = handle.read()
        checks += 1
        if now not in (mine, mine + annot):
            # An exchange shows our annotation of an older export for a few
            # microseconds before swapping this export back: look again once
            # things have settled. A real loss stays (annotated files are skipped).
            transient += 1
            time.sleep(0.05)
            with open(target, "rb") as handle:
                now = handle.read()
            if now not in (mine, mine + annot):
                lost += 1
                print("LOST", k, repr(now[:60]), flush=True)
    print("DONE", k, checks, lost, transient, flush=True)
""")


@needs_exchange
def test_concurrent_exporter_never_loses_an_export(tmp_path: Path) -> None:
    """A Better-BibTeX-like writer re-exports every few ms; annotate-style writes run against it.

    After each export the writer looks again: once settled, it must find its
    export or our annotation of exactly that export, never our annotation of
    an older one (that is what a lost update leaves, for good: the annotator
    skips files it has annotated).
    """
    target, stop = tmp_path / "refs.bib", tmp_path / "stop"
    annot = b"% annotated\n"
    target.write_bytes(b"start\n")
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(stop),
                               annot.decode()], stdout=subprocess.PIPE, text=True)
    written = refused = 0
    try:
        while target.read_bytes() == b"start\n":
            time.sleep(0.001)
        while writer.poll() is None:
            data = target.read_bytes()
            if data.endswith(annot):
                time.sleep(0.0005)
                continue
            try:
                write_atomic(target, data + annot, expect=data)
                written += 1
            except ConcurrentModificationError:
                refused += 1
    finally:
        stop.touch()
        out, _ = writer.communicate(timeout=60)
    done = out.splitlines()[-1].split()
    assert done[0] == "DONE" and int(done[2]) == 400, out[-500:]
    assert int(done[3]) == 0, out[-2000:]
    assert written > 0
    final = target.read_bytes()
    assert final.startswith(b"@misc{k, note = {export ") and final.count(annot) <= 1
    assert leftovers(tmp_path) == []
