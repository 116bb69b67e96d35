"""Saving a lock that would write back the file it was read from skips building it.

``LockFile.save`` with ``replaces`` (the lock read from the same file) does not
build the ten megabytes of a large lock when they would be exactly the bytes
already there. Whatever happens, the file must end up holding ``to_bytes()``:
these tests save after every kind of difference the shortcut must notice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pith_bib.lock import EncodedEvidence, LockFile, load_lock


def _numbers(count: int) -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return [f"pith:2020:{letters[i] * 26}" for i in range(count)]


def _written(tmp_path: Path) -> Path:
    lock = LockFile(papers={n: EncodedEvidence(json.dumps({"record": {"n": i}},
                                                          separators=(",", ":")))
                            for i, n in enumerate(_numbers(4))},
                    not_found={"arxiv:2101.00001": "not-found"}, refused={"doi:10.1/x": "no"})
    path = tmp_path / "refs.pith-lock.json"
    path.write_bytes(lock.to_bytes())
    return path


def _read(path: Path) -> LockFile:
    lock = load_lock(path, known=lambda lines, digest: {}, defer=True)
    assert lock is not None
    return lock


def _copy(old: LockFile) -> LockFile:
    return LockFile(papers=dict(old.papers), not_found=dict(old.not_found),
                    refused=dict(old.refused), replaces=old)


def _saved(new: LockFile, path: Path) -> bool:
    wrote = new.save(path)
    assert path.read_bytes() == new.to_bytes()  # the one thing that must always hold
    return wrote


def test_an_unchanged_lock_is_not_built_nor_written(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = _written(tmp_path)
    old = _read(path)
    new = _copy(old)
    before = os.stat(path)
    monkeypatch.setattr(LockFile, "to_bytes", lambda self: pytest.fail("built"))
    assert new.save(path) is False
    monkeypatch.undo()
    assert new.saved_digest == old.digest
    assert path.read_bytes() == new.to_bytes()
    assert os.stat(path).st_ino == before.st_ino


@pytest.mark.parametrize("change", ["paper", "evidence", "not_found", "refused", "dict"])
def test_any_difference_is_written(tmp_path: Path, change: str) -> None:
    path = _written(tmp_path)
    old = _read(path)
    new = _copy(old)
    first = next(iter(new.papers))
    if change == "paper":
        del new.papers[first]
    elif change == "evidence":
        new.papers[first] = EncodedEvidence('{"record":{"n":99}}')
    elif change == "not_found":
        new.not_found["arxiv:2101.00002"] = "not-found"
    elif change == "refused":
        new.refused.clear()
    else:  # the same evidence, parsed: written from the parsed form
        new.papers[first] = json.loads(new.papers[first])
    assert _saved(new, path) is (change != "dict")


@pytest.mark.parametrize("edit", ["unsorted", "spaced header", "changed meanwhile"])
def test_a_file_that_is_not_what_to_bytes_writes_is_rewritten(tmp_path: Path, edit: str) -> None:
    path = _written(tmp_path)
    lines = path.read_text().split("\n")
    if edit == "unsorted":  # hand-edited: papers out of order (still our line layout)
        lines[6], lines[7] = lines[7], lines[6]
    elif edit == "spaced header":
        lines[3] = lines[3].replace('":"', '": "')
    path.write_text("\n".join(lines))
    old = _read(path)
    assert old.digest is not None  # read line by line: the shortcut was considered
    if edit == "changed meanwhile":
        path.write_bytes(path.read_bytes().replace(b'"n":0', b'"n":7'))
    new = _copy(old)
    assert _saved(new, path) is True
