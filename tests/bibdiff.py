"""Prove that an edit only added pith-bib's own fields, byte for byte.

Every insertion the editor makes has the shape ``,<whitespace>name = {value}``
(the comma either ends the previous field or the new one), so deleting exactly
those pieces from the new text must give back the old text. Anything else the
edit touched shows up as a differing line.
"""

from __future__ import annotations

import re

_INSERTED = re.compile(r",[ \t\r\n]*(?:pith|pith_status)[ \t]*=[ \t]*(?:\{[^{}\"]*\}|\"[^{}\"]*\")")


def only_our_fields_added(old: str, new: str) -> list[str]:
    """Differences other than inserted pith/pith_status fields (empty when clean)."""
    restored = _INSERTED.sub("", new)
    if restored == old:
        return []
    old_lines, new_lines = old.splitlines(True), restored.splitlines(True)
    for number, (a, b) in enumerate(zip(old_lines, new_lines, strict=False), start=1):
        if a != b:
            return [f"line {number}: {a!r} became {b!r}"]
    return [f"line count differs: {len(old_lines)} vs {len(new_lines)}"]
