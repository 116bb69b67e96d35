"""SIGKILL an annotate run while it writes: the .bib is the old file or the new one, never a mix.

The kill is placed deterministically: the child process runs the real
``pith-bib annotate`` with the file-system calls of ``pith_bib.atomic``
wrapped so that, at the chosen moment of the .bib write, it announces itself
and waits to be killed. A second test kills real, unhooked runs at spread-out
moments.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_support import ROOT, SAMPLE_MIRROR, SAMPLES, run_cli

CHILD = r"""
import os, sys, time, types
import pith_bib.annotate as annotate
import pith_bib.atomic as atomic
from pith_bib.cli import main

stage, bib = sys.argv[1], sys.argv[2]
real_write_atomic = annotate.write_atomic
proxy = types.ModuleType("os")
proxy.__dict__.update(os.__dict__)

def park():
    print("READY", flush=True)
    time.sleep(600)

class HalfWriter:
    def __init__(self, handle):
        self.handle = handle
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return self.handle.__exit__(*exc)
    def write(self, data):
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        park()
    def __getattr__(self, name):
        return getattr(self.handle, name)

def fdopen(fd, *args, **kwargs):
    handle = os.fdopen(fd, *args, **kwargs)
    return HalfWriter(handle) if stage == "mid-write" else handle

def replace(src, dst):
    if stage == "before-rename":
        park()
    os.replace(src, dst)
    if stage == "after-rename":
        park()

proxy.fdopen, proxy.replace = fdopen, replace

def write_atomic(path, data, mode=None, **kwargs):
    atomic.os = proxy if os.path.samefile(path, bib) else os
    try:
        return real_write_atomic(path, data, mode, **kwargs)
    finally:
        atomic.os = os

# The hooks above see os.replace: use the portable re-check-and-rename path, not
# Linux's RENAME_EXCHANGE (the kill points are the same moments of the write).
atomic._load_renameat2 = lambda: None

annotate.write_atomic = write_atomic
sys.exit(main(["annotate", "--offline", "--mirror", sys.argv[3], bib]))
"""


def _env(cache: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), PITH_BIB_CACHE_DIR=str(cache))


def _expected_new(tmp_path: Path, original: bytes) -> bytes:
    reference = tmp_path / "reference" / "zotero-biblatex.bib"
    reference.parent.mkdir()
    reference.write_bytes(original)
    run_cli("annotate", "--offline", "--mirror", str(SAMPLE_MIRROR), str(reference),
            cache=tmp_path / "cache")
    new = reference.read_bytes()
    assert new != original
    return new


@pytest.mark.parametrize("stage", ["mid-write", "before-rename", "after-rename"])
def test_sigkill_at_each_moment_of_the_write(tmp_path: Path, stage: str) -> None:
    original = (SAMPLES / "zotero-biblatex.bib").read_bytes()
    new = _expected_new(tmp_path, original)
    work = tmp_path / "work"
    work.mkdir()
    bib = work / "zotero-biblatex.bib"
    bib.write_bytes(original)
    child = subprocess.Popen([sys.executable, "-c", CHILD, stage, str(bib), str(SAMPLE_MIRROR)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=_env(tmp_path / "cache"))
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "READY", child.stderr.read() if \
            child.stderr else ""
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    temps = list(work.glob(".zotero-biblatex.bib.*.tmp"))
    if stage == "after-rename":
        assert bib.read_bytes() == new
        assert temps == []
    else:
        assert bib.read_bytes() == original
        (temp,) = temps
        written = temp.read_bytes()
        assert written == (new[: len(new) // 2] if stage == "mid-write" else new)
    # the lock is written before the .bib, so a kill during the .bib write leaves it in place
    assert (work / "zotero-biblatex.pith-lock.json").exists()
    # the next run finishes the job from whatever state the kill left
    rerun = run_cli("annotate", "--offline", "--mirror", str(SAMPLE_MIRROR), str(bib),
                    cache=tmp_path / "cache")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert bib.read_bytes() == new
    assert run_cli("check", str(bib), cache=tmp_path / "cache").returncode == 0


def _big_library(original: bytes, copies: int) -> bytes:
    text = original.decode()
    parts = [text.replace("{cho2017powerai", "{cho2017powerai" + f"x{i}")
             .replace("{harlap2018pipedream", "{harlap2018pipedream" + f"x{i}")
             .replace("{jia2018exploring", "{jia2018exploring" + f"x{i}")
             .replace("{ma2018democratizing", "{ma2018democratizing" + f"x{i}")
             for i in range(copies)]
    return "\n".join(parts).encode()


def test_sigkill_at_spread_out_moments_of_real_runs(tmp_path: Path) -> None:
    original = _big_library((SAMPLES / "zotero-biblatex.bib").read_bytes(), 600)
    reference = tmp_path / "reference.bib"
    reference.write_bytes(original)
    command = [sys.executable, "-m", "pith_bib", "annotate", "--offline", "--mirror",
               str(SAMPLE_MIRROR)]
    env = _env(tmp_path / "cache")
    started = time.monotonic()
    subprocess.run([*command, str(reference)], env=env, check=False, capture_output=True)
    duration = time.monotonic() - started
    new = reference.read_bytes()
    assert new != original
    for fraction in (0.5, 0.7, 0.8, 0.9, 0.95, 1.0):
        bib = tmp_path / f"run{fraction}" / "library.bib"
        bib.parent.mkdir()
        bib.write_bytes(original)
        child = subprocess.Popen([*command, str(bib)], env=env, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        time.sleep(duration * fraction)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        current = bib.read_bytes()
        assert current in (original, new), f"mixed file after a kill at {fraction:.2f}"
