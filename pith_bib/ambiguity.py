"""Entries whose judged fields depend on which program reads the file.

``check`` and ``annotate`` judge what they read; a bibliography shows what its
renderer reads. Where the two can differ, a pull request can show pith-bib one
paper and the reader another, and ``check`` would pass it:

- a field written twice: BibTeX keeps the first, biber the last;
- a field an entry inherits through ``crossref`` or ``xdata``: BibTeX and biber
  copy it in, pith-bib reads only the entry's own fields. The pith fields are
  never to be inherited; an entry that has a number (of its own or inherited)
  must not inherit its title, authors or identifiers either. An entry without a
  number may inherit anything (a paper's proceedings, as DBLP exports them);
- a ``pith`` or ``pith_status`` field while pith-bib is configured to own fields
  of other names: the renderers (the pybtex styles, the pandoc filter, the
  biblatex snippet) print ``pith``/``pith_status``, which would go unjudged;
- an ``execute`` field on an entry that has, or would get, a number: biblatex runs
  it as TeX for the entry, and it can redefine any field it prints, the number too.

Such an entry is refused (``conflict``) with the reason, never guessed at.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from .ids import ARXIV_FIELDS, FIELDS_READ, extract
from .terminal import shortened

if TYPE_CHECKING:
    from .documents import Document, DocumentEntry
    from .entry_query import FieldNames

CROSSREF, XDATA = "crossref", "xdata"  # the fields through which an entry inherits
INHERITING_FIELDS = (CROSSREF, XDATA)
# What an entry's identity rests on: inherited by a numbered entry, the renderer would
# show another paper. Container fields (booktitle, volume, series, url) inherit freely.
IDENTITY_FIELDS = frozenset({"title", "author", "eprint", "archiveprefix", "eprinttype",
                             *ARXIV_FIELDS})
RENDERED_FIELDS = ("pith", "pith_status")  # what every renderer prints
EXECUTE = "execute"  # biblatex's field of TeX code, run for its entry
MAX_PARENTS = 16  # per link, and in all: a hostile file lists or chains thousands


class _Judged:
    """The names that matter for one run's field names."""

    def __init__(self, fields: FieldNames) -> None:
        self.configured = (fields.pith.lower(), fields.status.lower())
        self.ours = frozenset({*self.configured, *RENDERED_FIELDS})
        # written twice, any of these reads differently in BibTeX and biber
        self.all = self.ours | {"title", "author", *INHERITING_FIELDS} | FIELDS_READ
        self.renamed = self.configured != RENDERED_FIELDS


def ambiguities(doc: Document, fields: FieldNames) -> dict[int, str]:
    """``id(entry)`` → why its fields cannot be judged as a renderer will read them.

    Linear, and cheap for the usual entry: one length comparison for repeated
    fields; inheritance is looked at only in a file that mentions it.
    """
    judged = _Judged(fields)
    entries = doc.entries
    by_key: dict[str, list[DocumentEntry]] | None = None
    found: dict[int, str] = {}
    for entry in entries:
        repeated = entry.repeated_fields()
        reason = _repeated(repeated, judged) if repeated else None
        if reason is None and judged.renamed:
            reason = _shadowed(entry, judged)
        if reason is None and entry.get(EXECUTE) is not None and _numbered(entry, judged):
            reason = (f"it has an {EXECUTE!r} field, TeX that biblatex runs for the entry and "
                      "that can change what it prints: pith-bib cannot judge it; remove it")
        if reason is None and doc.may_inherit:
            reason = _granular(entry, judged)
            if reason is None and (entry.get(CROSSREF) is not None or
                                   entry.get(XDATA) is not None):
                if by_key is None:  # every entry of a key, any case: BibTeX ignores case,
                    by_key = {}  # biber does not, and either may be the renderer
                    for other in entries:
                        by_key.setdefault(other.key.lower(), []).append(other)
                reason = _inherited(entry, by_key, judged)
        if reason is not None:
            found[id(entry)] = reason
    return found


def _granular(entry: DocumentEntry, judged: _Judged) -> str | None:
    """biblatex's ``field = {xdata=key-field}`` takes one field from another entry."""
    taken = sorted(name for name in entry.granular_fields() if name in judged.all)
    if not taken:
        return None
    if not set(taken) & judged.ours and not _numbered(entry, judged):
        return None  # an entry without a number may take anything, as with crossref
    return (f"its {taken[0]!r} is taken from another entry (xdata=…), which pith-bib "
            "does not judge: write the value into this entry")


def _repeated(repeated: tuple[str, ...], judged: _Judged) -> str | None:
    twice = sorted(name for name in repeated if name in judged.all)
    if not twice:
        return None
    return (f"the field {twice[0]!r} is written more than once (BibTeX reads the first, "
            "biber the last): keep one")


def _shadowed(entry: DocumentEntry, judged: _Judged) -> str | None:
    for rendered, ours in zip(RENDERED_FIELDS, judged.configured, strict=True):
        if rendered != ours and rendered not in judged.configured and \
                entry.get(rendered) is not None:
            return (f"it has a {rendered!r} field, which renderers print, but pith-bib is "
                    f"configured to judge {ours!r}: remove it or use the default names")
    return None


def _inherited(entry: DocumentEntry, by_key: dict[str, list[DocumentEntry]],
               judged: _Judged) -> str | None:
    present = set(entry.field_names())
    ancestors, missing = _ancestors(entry, by_key)
    gained: dict[str, str] = {}  # field → the link it would come through
    for via, ancestor in ancestors:
        for name in ancestor.field_names():
            if name not in present and (name in judged.ours or name in IDENTITY_FIELDS):
                gained.setdefault(name, via)
    # an entry that has a number, or that annotate would number (its own fields name
    # an arXiv id or a DOI): its title and authors must be its own to be judged
    candidate = bool((present | gained.keys()) & judged.ours) or _names_a_paper(entry)
    shown = sorted(gained) if candidate else sorted(gained.keys() & judged.ours)
    if shown:
        return (f"it would inherit {', '.join(shown[:4])} through "
                f"{shortened(gained[shown[0]], 80)}, which pith-bib does not judge: write "
                "them into this entry")
    if candidate and missing and not {"title", "author"} <= present:
        return (f"it names {shortened(missing[0], 80)}, which is not in this file: what it "
                "would inherit (a title, authors) cannot be judged; write them into this entry")
    return None


def _numbered(entry: DocumentEntry, judged: _Judged) -> bool:
    """It has a number, or annotate would give it one (its own fields name an arXiv id
    or a DOI)."""
    return any(entry.get(name) for name in judged.ours) or _names_a_paper(entry)


def _names_a_paper(entry: DocumentEntry) -> bool:
    ids = extract(entry.source)
    return bool(ids.arxiv_id or ids.doi or ids.conflicts)


def _ancestors(entry: DocumentEntry, by_key: dict[str, list[DocumentEntry]]
               ) -> tuple[list[tuple[str, DocumentEntry]], list[str]]:
    """Every entry ``entry`` inherits from, through chains (biber follows them), bounded
    and safe from cycles; and the links whose target is not in the file."""
    found: list[tuple[str, DocumentEntry]] = []
    missing: list[str] = []
    seen = {id(entry)}
    queue = deque([entry])
    while queue and len(found) < MAX_PARENTS:
        current = queue.popleft()
        for field in INHERITING_FIELDS:
            keys = (part.strip() for part in (current.get(field) or "").split(",")[:MAX_PARENTS])
            for key in filter(None, keys):
                parents = by_key.get(key.lower(), [])
                if not parents:
                    missing.append(f"{field} {key}")
                for parent in parents:
                    if id(parent) not in seen:
                        seen.add(id(parent))
                        found.append((f"{field} {key}", parent))
                        queue.append(parent)
    return found, missing
