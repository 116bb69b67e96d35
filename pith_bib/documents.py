"""One view of a bibliography file, whatever its format: BibTeX or CSL-JSON.

``annotate`` and ``check`` must apply the same rules to a ``.bib`` entry and
to a CSL-JSON item (Zotero's export, what pandoc and Quarto cite from), so
they read both through the small interface here instead of knowing either
format: entries with a key, a line, a :class:`~pith_bib.ids.FieldSource` for
the identifier rules, the two fields pith-bib owns and the claims the policy
judges; parse problems; and an editor that writes only our fields and
re-parses its own output before handing it back. Each format keeps its own
span-preserving reader and writer (:mod:`pith_bib.bibfile`,
:mod:`pith_bib.csljson`); this module only adapts them.

In CSL-JSON, pith-bib's fields live in the item's ``custom`` object
(``custom.pith``, ``custom.pith_status``), where pandoc and citeproc-js keep
variables CSL does not define.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from os import PathLike
from typing import TYPE_CHECKING, Any, Protocol

from . import bibfile
from .authors import PersonName
from .csl_sniff import looks_like_csl_json
from .entry_query import FieldNames, claims_for
from .errors import BibEditError, BibError, CslJsonError
from .ids import FieldSource, Identifiers
from .policy import Claims, Query

if TYPE_CHECKING:  # imported when a CSL-JSON file is read: a .bib run never needs it
    from . import csljson

__all__ = ["BIBTEX", "CSL_JSON", "BibDocument", "CslDocument", "Document", "DocumentEntry",
           "Problem", "is_csl_json", "load_document"]

Problem = bibfile.Problem
BIBTEX, CSL_JSON = "bibtex", "csl-json"


class DocumentEntry(Protocol):
    """One entry or item, as annotate and check read it."""

    @property
    def key(self) -> str: ...

    @property
    def line(self) -> int: ...

    @property
    def source(self) -> FieldSource:
        """What :func:`pith_bib.ids.extract` reads."""

    def get(self, name: str, default: str | None = None) -> str | None:
        """A field by name; our own two fields included (CSL: from ``custom``)."""

    @property
    def title(self) -> str | None: ...

    @property
    def authors(self) -> str | tuple[PersonName, ...] | None:
        """BibTeX: the ``author`` field as written; CSL: structured names."""

    def claims(self, ids: Identifiers, query: Query | None) -> Claims:
        """What the entry says about its paper, for the policy."""

    def field_names(self) -> tuple[str, ...]:
        """Its fields' names, lower case, in order (see :mod:`pith_bib.ambiguity`); empty
        for formats that cannot repeat or inherit fields."""

    def repeated_fields(self) -> tuple[str, ...]:
        """Lower-case names of fields written more than once."""

    def granular_fields(self) -> tuple[str, ...]:
        """Lower-case names of fields whose value is biblatex's ``xdata=key-field``."""


class Document(Protocol):
    """A parsed file: entries, parse problems, and an editor for our fields only."""

    format: str
    path: str | None

    @property
    def entries(self) -> Sequence[DocumentEntry]: ...

    @property
    def problems(self) -> Sequence[Problem]: ...

    @property
    def may_inherit(self) -> bool:
        """Whether any entry may take fields from another (crossref, xdata): a .bib that
        mentions them. Why asked: the inheritance rules then need not look at all."""

    def set_fields(self, entry: Any, values: Mapping[str, str]) -> None:
        """Queue our fields for ``entry``; raises a BibError subclass if it cannot be edited."""

    @property
    def changed(self) -> bool: ...

    def to_bytes(self) -> bytes:
        """The edited bytes, re-parsed and compared entry by entry before they are returned."""


# -- BibTeX ------------------------------------------------------------------------

# A file that may inherit: crossref, xdata, or a granular xdata= value.
_INHERITANCE_RE = re.compile(r"crossref|xdata", re.IGNORECASE)
# biblatex 3's granular inheritance: a whole value ``xdata=<key>-<field>[-<n>]``.
_GRANULAR_XDATA_RE = re.compile(r"""[{"]?\s*xdata\s*=""", re.IGNORECASE)


class BibEntry:
    """A ``.bib`` entry: the entry itself is the field source; authors are the raw field."""

    __slots__ = ("entry",)

    def __init__(self, entry: bibfile.Entry) -> None:
        self.entry = entry

    @property
    def key(self) -> str:
        return self.entry.key

    @property
    def line(self) -> int:
        return self.entry.line

    @property
    def source(self) -> FieldSource:
        return self.entry

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.entry.get(name, default)

    @property
    def title(self) -> str | None:
        return self.entry.get("title")

    @property
    def authors(self) -> str | None:
        return self.entry.get("author")

    def claims(self, ids: Identifiers, query: Query | None) -> Claims:
        return claims_for(self.entry, ids, query)

    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name.lower() for f in self.entry.field_list)

    def repeated_fields(self) -> tuple[str, ...]:
        return self.entry.repeated_names()

    def granular_fields(self) -> tuple[str, ...]:
        return tuple(f.name.lower() for f in self.entry.field_list
                     if _GRANULAR_XDATA_RE.match(f.raw))


class BibDocument:
    """A ``.bib`` file through :class:`Document`."""

    format = BIBTEX

    def __init__(self, data: bytes, path: str | None) -> None:
        self.path = path
        self.bib = bibfile.parse(data, path)
        self.entries = [BibEntry(e) for e in self.bib.entries]
        self.problems = self.bib.problems
        self.may_inherit = _INHERITANCE_RE.search(self.bib.text) is not None
        self._writes: dict[int, dict[str, str]] = {}  # entry index → our fields

    def set_fields(self, entry: BibEntry, values: Mapping[str, str]) -> None:
        for name, value in values.items():
            self.bib.set_field(entry.entry, name, value)
        self._writes.setdefault(id(entry.entry), {}).update(values)

    @property
    def changed(self) -> bool:
        return self.bib.changed

    def to_bytes(self) -> bytes:
        data = self.bib.to_bytes()
        if self.bib.changed:
            self._check(data)
        return data

    def _check(self, data: bytes) -> None:
        """Issue 10: never write what does not parse back to the same entries with ours.

        Only the edited entries are parsed again, in place in the new text;
        everything between them must be the very same text. That is what a
        whole re-parse would conclude, because the scanner carries no state
        across blocks except where an entry ends on the line the next block
        starts: then (one-line entries) the whole file is parsed again. Within
        an entry whose fields were only added, at a boundary between fields,
        the text before that boundary must be the same and only the rest is
        scanned: the scanner resumes at a field boundary with nothing but its
        position.
        """
        text = _decoded(data, self.bib)  # as the next reader will decode it
        edited = [e for e in self.bib.entries if id(e) in self._writes]
        if not _gaps_start_new_lines(self.bib.text, edited):
            self._check_whole(text)
            return
        again = bibfile.BibFile(text, self.bib.encoding, self.bib.bom, self.path)
        again.macros = self.bib.macros
        points = self.bib.insertion_points()
        old_text, old_end, new_end = self.bib.text, 0, 0
        for old in edited:
            new_end = _same_text(old_text, old_end, old.start, text, new_end, self.path)
            end = self._tail_checked(old, points.get(old.start), again, new_end)
            if end is None:
                new = again.scan_entry_at(new_end)
                if new is None or again.problems:
                    raise _not_parsed_back(self.path, old.line)
                self._same_entry(old, new)
                end = new.end
            old_end, new_end = old.end, end
        if _same_text(old_text, old_end, len(old_text), text, new_end, self.path) != len(text):
            raise _changed_untouched(self.path)

    def _tail_checked(self, old: bibfile.Entry, point: int | None, again: bibfile.BibFile,
                      at: int) -> int | None:
        """Where the edited ``old`` (now at ``at``) ends, checked from its insertion point.

        None when its edit is not insertions at one boundary between fields (the
        caller scans the whole entry); an error when what follows the boundary
        is not the old fields with ours added.
        """
        if point is None:
            return None
        boundary = _boundaries(old).get(point)
        if boundary is None:
            return None
        fields_before, after_comma = boundary
        text = again.text
        where = _same_text(self.bib.text, old.start, point, text, at, self.path)
        if not after_comma:  # what is inserted after a value must start with its comma
            if not text.startswith(",", where):
                raise _changed_more(self.path, old.line)
            where += 1
        scanned = again.scan_fields_from(where, "}" if old.open_delim == "{" else ")")
        if scanned is None or again.next_recovery(at) < scanned[1]:
            raise _not_parsed_back(self.path, old.line)
        self._same_fields(old, old.field_list[:fields_before] + scanned[0], fields_before)
        return scanned[1]

    def _same_entry(self, old: bibfile.Entry, new: bibfile.Entry) -> None:
        """``new`` is the edited ``old``: the same type and key, and its fields with ours set."""
        if new.key != old.key or new.type != old.type:
            raise _changed_more(self.path, old.line)
        self._same_fields(old, new.field_list)

    def _same_fields(self, old: bibfile.Entry, new: list[bibfile.Field], same: int = 0
                     ) -> None:
        """The new fields are the old ones with ours set, and nothing else changed.

        ``same``: how many leading fields of ``new`` are the old entry's own
        objects (the text before an insertion point, compared byte for byte):
        only the rest is compared again.
        """
        ours = self._writes[id(old)]
        owned = {name.lower() for name in ours}
        if _others(old.field_list[same:], owned) != _others(new[same:], owned):
            raise _changed_more(self.path, old.line)
        names = [f.name.lower() for f in new]
        for name, value in ours.items():
            lowered = name.lower()
            first = new[names.index(lowered)] if lowered in names else None
            if first is None or bibfile.value_text(first.raw, self.bib.macros) != value:
                raise _changed_more(self.path, old.line)

    def _check_whole(self, text: str) -> None:
        """The same check by a re-parse of the whole file (entries sharing lines)."""
        again = bibfile.parse(self.bib.bom + text.encode(self.bib.encoding), self.path)
        if again.problems or len(again.entries) != len(self.bib.entries):
            raise _not_parsed_back(self.path)
        old_text, new_text = self.bib.text, again.text
        old_blocks, new_blocks = self.bib.blocks, again.blocks
        if len(old_blocks) != len(new_blocks) or any(
                a.kind != b.kind or (a.kind != "entry" and
                                     old_text[a.start:a.end] != new_text[b.start:b.end])
                for a, b in zip(old_blocks, new_blocks, strict=True)):
            raise _changed_text(self.path)
        for old, new in zip(self.bib.entries, again.entries, strict=True):
            if id(old) in self._writes:
                self._same_entry(old, new)
            elif old_text[old.start:old.end] != new_text[new.start:new.end]:
                raise _changed_untouched(self.path, old.line)


def _decoded(data: bytes, bib: bibfile.BibFile) -> str:
    """The edited bytes as the next reader will decode them, which must be as before.

    Encoding detection reads the file again (a JabRef ``% Encoding:`` line counts
    only near the top, and an edit can move it), so the result must be decoded
    the same way the original was, or every untouched entry could read differently.
    """
    try:
        text, encoding, bom = bibfile.decode_bib(data, bib.path)
    except BibError:
        text, encoding, bom = "", "", b""
    if (encoding, bom) != (bib.encoding, bib.bom):
        raise BibEditError("internal error: the edited file would be read in another encoding "
                           "than the original; nothing was written", bib.path)
    return text


def _gaps_start_new_lines(text: str, edited: Sequence[bibfile.Entry]) -> bool:
    """Whether, after each edited entry, a new line starts before the next ``@``.

    The scanner reads the line an ``@`` is on (a ``%`` before it comments it
    out); when that line holds the end of an edited entry, checking the gap
    alone would not be what a full parse sees.
    """
    ends = [e.end for e in edited]
    starts = [e.start for e in edited[1:]] + [len(text)]
    for end, next_start in zip(ends, starts, strict=True):
        at = text.find("@", end, next_start)
        if at < 0:
            if next_start == len(text):
                continue
            at = next_start
        gap = text[end:at]
        if "\n" not in gap and "\r" not in gap:
            return False
    return True


def _same_text(old: str, old_start: int, old_end: int, new: str, new_start: int,
               path: str | None) -> int:
    """Where ``old[old_start:old_end]`` ends in ``new`` when it is there unchanged at
    ``new_start``; an error otherwise."""
    piece = old[old_start:old_end]
    if not new.startswith(piece, new_start):
        raise _changed_text(path)
    return new_start + len(piece)


def _others(fields: list[bibfile.Field], owned: set[str]) -> list[tuple[str, str]]:
    return [(name, f.raw) for f in fields if (name := f.name.lower()) not in owned]


def _not_parsed_back(path: str | None, line: int | None = None) -> BibEditError:
    return BibEditError("internal error: the edited file does not parse back to the same "
                        "entries; nothing was written", path, line)


def _changed_text(path: str | None) -> BibEditError:
    return BibEditError("internal error: an edit changed text pith-bib did not edit; nothing "
                        "was written", path)


def _changed_untouched(path: str | None, line: int | None = None) -> BibEditError:
    return BibEditError("internal error: an edit changed an entry pith-bib did not edit; "
                        "nothing was written", path, line)


def _changed_more(path: str | None, line: int) -> BibEditError:
    return BibEditError("internal error: an edit changed more than pith-bib's fields; nothing "
                        "was written", path, line)


def _boundaries(entry: bibfile.Entry) -> dict[int, tuple[int, bool]]:
    """Field boundaries of a parsed entry: position → (fields before it, right after a comma).

    The places an insertion may go: after the key's comma (or the key, when it has
    none), after each value, and after the last field's comma.
    """
    found: dict[int, tuple[int, bool]] = {}
    if entry.key_comma is not None:
        found[entry.key_comma + 1] = (0, True)
    else:
        found[entry.key_end] = (0, False)
    for index, field in enumerate(entry.field_list):
        found[field.value_end] = (index + 1, False)
    if entry.trailing_comma is not None:
        found[entry.trailing_comma + 1] = (len(entry.field_list), True)
    return found


# -- CSL-JSON ----------------------------------------------------------------------

def _text(value: Any) -> str | None:
    """Our field as text: a number or object someone wrote there is shown, never trusted."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)[:200]


class CslEntry:
    """A CSL-JSON item: ids through :class:`csljson.IdFields`, our fields from ``custom``."""

    __slots__ = ("_fields", "item", "source")

    def __init__(self, item: csljson.Item, fields: FieldNames, source: FieldSource) -> None:
        self.item = item
        self._fields = fields
        self.source = source  # the item's csljson.IdFields

    @property
    def key(self) -> str:
        return self.item.label

    @property
    def line(self) -> int:
        return self.item.line

    def get(self, name: str, default: str | None = None) -> str | None:
        if name == self._fields.pith:
            value = _text(self.item.pith)
        elif name == self._fields.status:
            value = _text(self.item.pith_status)
        elif name == "title":
            value = self.item.title
        else:
            value = self.source.get(name)
        return default if value is None else value

    @property
    def title(self) -> str | None:
        return self.item.title

    @property
    def authors(self) -> tuple[PersonName, ...]:
        return tuple(PersonName(family, given) for family, given in self.item.authors)

    def claims(self, ids: Identifiers, query: Query | None) -> Claims:
        pith_id = query.value if query is not None and query.kind == "pith" else None
        return Claims(pith_id=pith_id, arxiv_id=ids.arxiv_id, arxiv_version=ids.arxiv_version,
                      doi=ids.doi, title=self.title, author_names=self.authors or None)

    def field_names(self) -> tuple[str, ...]:
        return ()  # nothing inherits in CSL-JSON

    def repeated_fields(self) -> tuple[str, ...]:
        return ()  # a JSON object with a key twice is refused when read

    def granular_fields(self) -> tuple[str, ...]:
        return ()


class CslDocument:
    """A CSL-JSON file through :class:`Document`; a file that cannot be read is one problem."""

    format = CSL_JSON
    may_inherit = False  # CSL-JSON has no crossref

    def __init__(self, data: bytes, path: str | None, fields: FieldNames) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.entries: list[CslEntry] = []
        from . import csljson

        self.csl: csljson.CslJsonFile | None = None
        try:
            self.csl = csljson.parse(data, path, pith_field=fields.pith,
                                     status_field=fields.status)
        except CslJsonError as exc:
            self.problems.append(_problem(exc))
            return
        self.entries = [CslEntry(item, fields, csljson.IdFields(item))
                        for item in self.csl.items]

    def set_fields(self, entry: CslEntry, values: Mapping[str, str]) -> None:
        assert self.csl is not None
        self.csl.set_fields(entry.item, values)

    @property
    def changed(self) -> bool:
        return self.csl is not None and self.csl.changed

    def to_bytes(self) -> bytes:
        """csljson's apply re-parses the result and compares items and our keys."""
        if self.csl is None:
            raise CslJsonError("cannot be written: it did not parse", self.path)
        return self.csl.apply()


def _problem(exc: CslJsonError) -> Problem:
    """The error as a problem: the line and item go in their own columns, not the message."""
    where = exc.path or "<input>"
    if exc.line is not None:
        where = f"{where}:{exc.line}"
    message = str(exc).removeprefix(f"{where}: ")
    if exc.item_id is not None:
        shown = exc.item_id if len(exc.item_id) <= 80 else exc.item_id[:77] + "..."
        message = message.removeprefix(f"item {shown!r}: ")
    return Problem(exc.line or 1, message, exc.item_id)


# -- choosing ----------------------------------------------------------------------

def is_csl_json(data: bytes, path: str | PathLike[str] | None) -> bool:
    """CSL-JSON by name (``.json``) or by content (an array of objects with id and type)."""
    return looks_like_csl_json(data, path)


def load_document(data: bytes, path: str | PathLike[str] | None,
                  fields: FieldNames) -> Document:
    """Parse ``data`` in whichever format it is in.

    Raises :class:`~pith_bib.errors.BibDecodeError` only for a ``.bib`` whose
    bytes are no text at all; every other defect is in ``problems``.
    """
    label = None if path is None else str(path)
    if is_csl_json(data, path):
        return CslDocument(data, label, fields)
    return BibDocument(data, label)

