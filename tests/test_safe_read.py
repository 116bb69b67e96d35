"""Bounded reads: the bound is on the bytes read, whatever size the file claims."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from pith_bib import safe_read
from pith_bib.errors import FileReadError
from pith_bib.safe_read import read_regular_file


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 3 * (1 << 20) + 7])
def test_whole_files_up_to_the_bound(tmp_path: Path, size: int) -> None:
    path = tmp_path / "f"
    data = os.urandom(size)
    path.write_bytes(data)
    assert read_regular_file(path, size) == data
    if size:
        with pytest.raises(FileReadError, match="limit"):
            read_regular_file(path, size - 1)


@pytest.mark.parametrize("claimed", [0, 10, 1 << 30])
def test_a_wrong_size_hint_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           claimed: int) -> None:
    """A file that grew (or shrank) since it was measured is read to its end, still bounded."""
    path = tmp_path / "f"
    data = os.urandom(3 * (1 << 20) + 11)
    path.write_bytes(data)
    real_fstat = os.fstat

    def fstat(fd: int) -> object:
        info = real_fstat(fd)
        return SimpleNamespace(st_size=claimed, st_mode=info.st_mode, st_dev=info.st_dev,
                               st_ino=info.st_ino)

    monkeypatch.setattr(safe_read.os, "fstat", fstat)
    assert read_regular_file(path, len(data)) == data
    with pytest.raises(FileReadError, match="limit"):
        read_regular_file(path, len(data) - 1)
