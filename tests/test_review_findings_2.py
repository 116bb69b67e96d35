"""Regression tests for the second attacker's review (the cache, stores, mirror files)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from pith_bib import verdict_key
from pith_bib.arxiv import FileMetadataStore
from pith_bib.cache import DB_NAME, FOLDER_NAME, Cache
from pith_bib.trust import TrustRoot
from tests.cli_support import SAMPLE_MIRROR, copy_sample, run_cli

JIA_BUNDLE = Path("pith/DM6GBYSNJHDMWLODXZBVEPYJHJ/bundle.json")
JIA = ("@article{jia,\n  title = {Exploring Hidden Dimensions in Parallelizing Convolutional "
       "Neural Networks},\n  eprint = {1802.04924},\n  archivePrefix = {arXiv}\n}\n")


@pytest.mark.parametrize("damage", ["garbage", "fifo", "zero"])
def test_a_mirror_with_unreadable_files_is_never_not_found(tmp_path: Path, damage: str) -> None:
    mirror = tmp_path / "mirror"
    shutil.copytree(SAMPLE_MIRROR, mirror)
    target = mirror / JIA_BUNDLE
    target.unlink()
    if damage == "garbage":
        target.write_bytes(os.urandom(3000))
    elif damage == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/zero")
    bib = tmp_path / "refs.bib"
    bib.write_text(JIA)
    done = run_cli("annotate", "--offline", "--mirror", str(mirror), str(bib),
                   cache=tmp_path / "cache", timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "jia: unavailable" in done.stdout and "could not be read" in done.stdout
    assert "unreadable file(s)" in done.stderr
    lock = tmp_path / "refs.pith-lock.json"
    assert not lock.exists() or "not_found\":{}" in lock.read_text()


def test_the_arxiv_store_never_reads_a_device_or_blocks(tmp_path: Path) -> None:
    store = FileMetadataStore(tmp_path)
    (tmp_path / "2101.99999.json").symlink_to("/dev/zero")
    assert store.get("2101.99999") is None
    os.mkfifo(tmp_path / "2101.99998.json")
    assert store.get("2101.99998") is None


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_cache_database_that_is_not_a_file_is_one_warning(tmp_path: Path, kind: str) -> None:
    cache = tmp_path / "cache"
    folder = cache / FOLDER_NAME
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    done = run_cli("annotate", "--offline", "--mirror", str(SAMPLE_MIRROR), str(bib),
                   cache=cache)
    assert done.returncode == 0
    (folder / DB_NAME).unlink()
    if kind == "directory":
        (folder / DB_NAME).mkdir()
    else:
        os.mkfifo(folder / DB_NAME)
    (tmp_path / "again").mkdir()
    again = copy_sample("zotero-biblatex.bib", tmp_path / "again")
    done = run_cli("annotate", "--offline", "--mirror", str(SAMPLE_MIRROR), str(again),
                   cache=cache, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and "going on without it" in done.stderr


def test_a_restored_cache_from_elsewhere_holds_no_reusable_verdict(tmp_path: Path) -> None:
    """Verdicts are bound with a key outside the cache: a copied cache is re-verified."""
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    done = run_cli("annotate", "--offline", "--mirror", str(SAMPLE_MIRROR), str(bib),
                   cache=tmp_path / "cache")
    assert done.returncode == 0
    db = tmp_path / "cache" / FOLDER_NAME / DB_NAME
    with sqlite3.connect(db) as conn:
        bindings = [row[0] for row in conn.execute("SELECT verdict_sha256 FROM records")]
    assert bindings and all(len(b) == 64 for b in bindings)
    other = tmp_path / "other-data"
    env_before = os.environ.get("PITH_BIB_DATA_DIR")
    os.environ["PITH_BIB_DATA_DIR"] = str(other)
    verdict_key.verdict_key.cache_clear()
    try:
        ids = [b for b in Cache(tmp_path / "cache").complete("")]
        assert ids
        assert Cache(tmp_path / "cache").verdicts(ids, TrustRoot.default()) == {}
    finally:
        if env_before is not None:
            os.environ["PITH_BIB_DATA_DIR"] = env_before
        verdict_key.verdict_key.cache_clear()


def test_mirror_build_refuses_a_snapshot_that_is_not_a_regular_file(tmp_path: Path) -> None:
    done = run_cli("mirror", "build", "--arxiv-snapshot", "/dev/zero", str(tmp_path / "out"),
                   cache=tmp_path / "cache", timeout=60)
    assert done.returncode == 2 and "must be a regular file" in done.stderr


@pytest.mark.parametrize("which", ["bib-zero", "bib-fifo", "lock-zero", "lock-fifo"])
def test_inputs_that_are_not_regular_files_are_one_error_line(tmp_path: Path,
                                                              which: str) -> None:
    """A .bib or lock committed as a /dev/zero symlink, or a FIFO: never blocks or eats memory."""
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    target = bib if which.startswith("bib") else tmp_path / "zotero-biblatex.pith-lock.json"
    target.unlink(missing_ok=True)
    if which.endswith("zero"):
        target.symlink_to("/dev/zero")
    else:
        os.mkfifo(target)
    for command in ("check", "annotate"):
        done = run_cli(command, "--offline", "--mirror", str(SAMPLE_MIRROR), str(bib),
                       cache=tmp_path / "cache", timeout=60)
        assert done.returncode == 2, done.stderr
        (line,) = done.stderr.strip().splitlines()
        assert "not a regular file" in line
