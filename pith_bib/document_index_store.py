"""Keep a local mirror's document alias index between runs, keyed by the documents' state.

A local mirror directory names no aliases of its own unless it publishes alias
files; pith-bib then indexes the ``source_aliases`` of every document in it,
which means reading every ``bundle.json`` and ``state.json`` (about 4 KB each,
2,400 for a large bibliography's vendored mirror). That index only changes when
a document does, so it is stored in the user cache under the mirror's real path,
with a signature of every document file's (name, size, mtime, inode): any
added, removed or rewritten document gives another signature and a rebuild.

The stored index is a hint like every alias (each candidate is verified), and it
is authenticated with the user's verdict key (kept outside the cache,
:mod:`pith_bib.verdict_key`), so an edited or planted store is simply rebuilt:
it could otherwise steer lookups to other documents and turn good entries
``invalid``. It is read with the bounded strict reader; anything unexpected is
ignored.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .atomic import write_atomic
from .canonical import canonical_text
from .errors import JsonFormatError, PithBibError
from .safe_read import read_regular_file
from .strict_json import load_json
from .verdict_key import bind, bound

FORMAT = "pith-bib-local-mirror-index-1"
MAX_STORE_BYTES = 16 * 1024 * 1024  # room for about 250,000 documents
DOCUMENT_NAMES = ("bundle.json", "state.json")
MAX_IDS_PER_ALIAS = 4  # as many candidates as one alias answer may name
Index = dict[tuple[str, str], list[str]]


def signature(root: Path, pith_ids: list[str]) -> str:
    """A digest of every document file's identity; changes whenever a document does."""
    digest = hashlib.sha256(os.path.realpath(root).encode("utf-8", "surrogateescape"))
    for pith_id in pith_ids:
        for name in DOCUMENT_NAMES:
            try:
                st = os.stat(root / "pith" / pith_id / name)
            except OSError:
                continue
            digest.update(f"{pith_id}/{name}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}\n"
                          .encode())
    return digest.hexdigest()


class DocumentIndexStore:
    """One small JSON file per mirror directory under ``folder`` (the user cache)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _path(self, root: Path) -> Path:
        key = hashlib.sha256(os.path.realpath(root).encode("utf-8", "surrogateescape"))
        return self.folder / f"{key.hexdigest()[:24]}.json"

    def load(self, root: Path, sig: str) -> Index | None:
        """The stored index when it was built from exactly these documents, else None."""
        try:
            data = read_regular_file(self._path(root), MAX_STORE_BYTES)
            stored = load_json(data, max_bytes=MAX_STORE_BYTES, what="mirror index") \
                if data is not None else None
        except (PithBibError, JsonFormatError):
            return None
        if not isinstance(stored, dict) or stored.get("format") != FORMAT or \
                stored.get("signature") != sig or not isinstance(stored.get("aliases"), list) \
                or not bound(stored.get("mac"), sig, canonical_text(stored["aliases"])):
            return None
        index: Index = {}
        for row in stored["aliases"]:
            if isinstance(row, list) and len(row) == 3 and all(isinstance(x, str) for x in
                                                                row[:2]) \
                    and isinstance(row[2], list) and all(isinstance(x, str) for x in row[2]):
                index[(row[0], row[1])] = row[2][:MAX_IDS_PER_ALIAS]
        return index

    def save(self, root: Path, sig: str, index: Index) -> None:
        """Best effort: the cache is an optimisation, so a failure to store is ignored."""
        rows = [[kind, value, ids] for (kind, value), ids in sorted(index.items())]
        mac = bind(sig, canonical_text(rows))
        if not mac:
            return  # without the key a stored index could not be trusted: do not keep one
        data = canonical_text({"format": FORMAT, "signature": sig, "aliases": rows, "mac": mac})
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            write_atomic(self._path(root), data.encode("utf-8"), mode=0o600)
        except (OSError, PithBibError):
            return
