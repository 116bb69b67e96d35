"""Is this file CSL-JSON or BibTeX? Told from its name or its first bytes.

Its own module so that reading a ``.bib`` never imports the CSL-JSON reader
and editor (:mod:`pith_bib.csljson`), whose patterns cost a start-up for nothing.
"""

from __future__ import annotations

import re
from os import PathLike

SNIFF_CHARS = 65536

_SNIFF_RE = re.compile(r'\A\ufeff?[ \t\n\r]*\[[ \t\n\r]*\{')
_SNIFF_ID_RE = re.compile(r'"id"[ \t\n\r]*:')
_SNIFF_TYPE_RE = re.compile(r'"type"[ \t\n\r]*:')


def looks_like_csl_json(data: bytes, path: str | PathLike[str] | None = None) -> bool:
    """Whether to read a file as CSL-JSON rather than BibTeX.

    A ``.json`` name decides; otherwise the start of the content must be an
    array whose first object has ``id`` and ``type`` members. Only the first
    64 KB is looked at, so sniffing a large .bib costs nothing.
    """
    if path is not None and str(path).lower().endswith(".json"):
        return True
    head = data[:SNIFF_CHARS].decode("utf-8", errors="replace")
    if _SNIFF_RE.match(head) is None:
        return False
    first_item = head[:head.find("}") + 1] if "}" in head else head
    return bool(_SNIFF_ID_RE.search(first_item) and _SNIFF_TYPE_RE.search(first_item))
