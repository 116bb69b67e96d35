"""The secret that authenticates the verdicts the user cache stores.

A stored verdict lets a warm run skip signature checks, so whoever can write
the cache could otherwise forge one: a hash over the verdict and its evidence
can be recomputed by anyone. Verdicts are therefore bound with an HMAC under a
key kept *outside* the cache, in the user's data directory (0600): a cache
restored from somewhere else (a CI cache shared with other branches, a copied
folder) holds no verdict this machine will reuse, only documents, which are
verified again. Without a usable key nothing is reused, nothing breaks.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import secrets
import threading
from functools import lru_cache
from pathlib import Path

from platformdirs import user_data_dir

from .errors import FileReadError
from .safe_read import read_regular_file

DATA_ENV = "PITH_BIB_DATA_DIR"
KEY_NAME = "verdict-key"
KEY_BYTES = 32


def key_path() -> Path:
    override = os.environ.get(DATA_ENV)
    base = Path(override) if override else Path(user_data_dir("pith-bib", appauthor=False))
    return base / KEY_NAME


_CREATING = threading.Lock()


def _create(path: Path) -> None:
    """Write a new key so that it appears whole or not at all; a concurrent creator wins.

    Why whole: a reader that found the file created but not yet written would
    take "no usable key" for the rest of its run, and store verdicts no run
    could reuse. The key is written to a private file first, then linked into
    place, which fails if another process's key is already there.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_bytes(KEY_BYTES)
    temp = path.with_name(f".{KEY_NAME}.{os.getpid()}.{secrets.token_hex(6)}.tmp")
    _write_new(temp, key)
    try:
        os.link(temp, path)
    except FileExistsError:
        pass
    except OSError:  # no hard links here (exFAT, some network mounts): create in place
        with contextlib.suppress(FileExistsError):
            _write_new(path, key)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temp)


def _write_new(path: Path, key: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)


@lru_cache(maxsize=1)
def verdict_key() -> bytes | None:
    """This user's key, created on first use; None when it cannot be had."""
    path = key_path()
    with _CREATING:  # threads of one run: one creates, the others read its key
        try:
            data = read_regular_file(path, KEY_BYTES)
            if data is None:
                _create(path)
                data = read_regular_file(path, KEY_BYTES)
        except (OSError, FileReadError):
            return None
    return data if data is not None and len(data) == KEY_BYTES else None


# Part of every binding, and changed when what a stored report means changes, so
# that verdicts stored before are verified again rather than read in the new sense.
# 2: key_fingerprints lists every pinned key a document names, not only its signers.
BINDING_VERSION = "2"


def bind(evidence_sha: str, report_text: str) -> str:
    """The binding stored with a verdict; "" (which never matches) without a key."""
    key = verdict_key()
    if key is None:
        return ""
    message = (BINDING_VERSION + "\n" + evidence_sha + "\n" + report_text).encode("utf-8")
    return hmac.digest(key, message, "sha256").hex()


def bound(binding: object, evidence_sha: str, report_text: str) -> bool:
    expected = bind(evidence_sha, report_text)
    return bool(expected) and isinstance(binding, str) and hmac.compare_digest(binding, expected)
