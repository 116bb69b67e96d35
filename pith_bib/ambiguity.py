"""Entries whose judged fields depend on which program reads the file.

``check`` and ``annotate`` judge what they read; a bibliography shows what its
renderer reads. Where the two can differ, a pull request can show pith-bib one
paper and the reader another, and ``check`` would pass it:

- a field written twice: BibTeX keeps the first, biber the last;
- a field an entry inherits through ``crossref`` or ``xdata``: BibTeX and biber
  copy it in, pith-bib reads only the entry's own fields. The pith fields are
  never to be inherited; an entry that has a number (of its own or inherited)
  must not inherit its title, authors or identifiers either. An entry without a
  number may inherit anything (a paper's proceedings, as DBLP exports them).

- a ``pith`` or ``pith_status`` field while pith-bib is configured to own fields
  of other names: the renderers (the pybtex styles, the pandoc filter, the
  biblatex snippet) print ``pith``/``pith_status``, which would go unjudged.

Such an entry is refused (``conflict``) with the reason, never guessed at.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .ids import FIELDS_READ
from .terminal import shortened

if TYPE_CHECKING:
    from .documents import DocumentEntry
    from .entry_query import FieldNames

INHERITING_FIELDS = ("crossref", "xdata")
MAX_PARENTS = 16  # xdata lists several entries; a hostile one lists thousands


def ambiguities(entries: Sequence[DocumentEntry], fields: FieldNames) -> dict[int, str]:
    """``id(entry)`` → why its fields cannot be judged as a renderer will read them."""
    ours = frozenset({fields.pith.lower(), fields.status.lower(), "pith", "pith_status"})
    judged = ours | {"title", "author"} | FIELDS_READ
    names = {id(entry): entry.field_names() for entry in entries}
    by_key: dict[str, DocumentEntry] = {}
    for entry in entries:
        if names[id(entry)]:
            by_key.setdefault(entry.key.lower(), entry)
    found: dict[int, str] = {}
    for entry in entries:
        own = names[id(entry)]
        if not own:
            continue
        reason = _repeated(own, judged) or _shadowed(own, fields) or \
            _inherited(entry, own, by_key, names, ours, judged)
        if reason is not None:
            found[id(entry)] = reason
    return found


def _repeated(own: tuple[str, ...], judged: frozenset[str]) -> str | None:
    twice = sorted(name for name, count in Counter(own).items() if count > 1 and name in judged)
    if not twice:
        return None
    return (f"the field {twice[0]!r} is written more than once (BibTeX reads the first, "
            "biber the last): keep one")


RENDERED_FIELDS = ("pith", "pith_status")  # what every renderer prints


def _shadowed(own: tuple[str, ...], fields: FieldNames) -> str | None:
    configured = (fields.pith.lower(), fields.status.lower())
    for rendered, ours in zip(RENDERED_FIELDS, configured, strict=True):
        if rendered != ours and rendered in own and rendered not in configured:
            return (f"it has a {rendered!r} field, which renderers print, but pith-bib is "
                    f"configured to judge {ours!r}: remove it or use the default names")
    return None


def _inherited(entry: DocumentEntry, own: tuple[str, ...], by_key: dict[str, DocumentEntry],
               names: dict[int, tuple[str, ...]], ours: frozenset[str],
               judged: frozenset[str]) -> str | None:
    parents = [(field, key.strip()) for field in INHERITING_FIELDS
               for key in (entry.get(field) or "").split(",")[:MAX_PARENTS] if key.strip()]
    if not parents:
        return None
    present = set(own)
    numbered = bool(present & ours)
    gained: dict[str, str] = {}  # field → the entry it would come from
    for field, key in parents:
        parent = by_key.get(key.lower())
        if parent is None or parent is entry:
            continue
        for name in names[id(parent)]:
            if name in judged and name not in present:
                gained.setdefault(name, f"{field} {key}")
    numbered = numbered or bool(gained.keys() & ours)
    shown = sorted(gained) if numbered else sorted(gained.keys() & ours)
    if not shown:
        return None
    source = gained[shown[0]]
    return (f"it would inherit {', '.join(shown[:4])} through {shortened(source, 80)}, "
            "which pith-bib does not judge: write them into this entry")
