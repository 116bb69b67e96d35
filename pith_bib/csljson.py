"""A CSL-JSON reader that remembers where every member came from, and an editor that splices.

Zotero's "CSL JSON" export and Better BibTeX's "Better CSL JSON" are what
pandoc, Quarto and citeproc-js cite from. Loading such a file with
``json.loads`` and writing it back with ``json.dumps`` changes indentation,
key order, escaping and the final newline of every item, so the user's diff
would show the whole file. Like :mod:`pith_bib.bibfile`, this module never
rebuilds a file: it records the span of each item and of each member of an
item, and an edit inserts our ``custom`` member (or our keys inside an existing
``custom`` object) in the item's own indentation, newline, ``":"`` spacing and
escaping, or replaces the value span of a key we own. Every other character is
written back as it was read.

The walk over the array is our own; each item is parsed whole by the C
scanner behind :mod:`json` (``scan_once`` returns the value with its end
offset), with a hook that refuses duplicate keys at any depth. Member spans
are walked only for items that need them (an existing ``custom`` object, an
escaped first key); for the rest, an insertion needs only the first member's
style and the end of the last value. That keeps a parse within about 1-2x of
``json.loads``. Hostile input — wrong encoding, over-size files or items,
duplicate keys, deep nesting (the scanner's recursion guard, converted),
truncation, ``NaN`` — becomes a :class:`~pith_bib.errors.CslJsonError` naming
the file, line and item, never a traceback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from json.decoder import scanstring
from typing import Any

from .collector import paused_collector
from .errors import CslJsonEditError, CslJsonError
from .ids import ARXIV_ARCHIVES
from .strict_json import json_error_reason

MAX_BYTES = 64 * 1024 * 1024
"""Larger files are refused: a bibliography of 100,000 items is under 64 MB."""
MAX_ITEM_CHARS = 4 * 1024 * 1024
"""One item may not exceed this many characters (real ones are a few thousand)."""
MAX_VALUES = 8_000_000
"""Commas plus brackets: bounds the objects a parse may create (real files: ~30,000 a MB)."""

_WS_RE = re.compile(r"[ \t\n\r]*")
_SIMPLE_KEY_RE = re.compile(r'"([^"\\\x00-\x1f]*)"([ \t\n\r]*:[ \t\n\r]*)')
_AFTER_VALUE_RE = re.compile(r"[ \t\n\r]*([,}])[ \t\n\r]*")
_AFTER_ITEM_RE = re.compile(r"[ \t\n\r]*([,\]])[ \t\n\r]*")
_NEWLINE_RE = re.compile(r"\r\n|\r|\n")
_INDENT_RE = re.compile(r"(?:\r\n|\r|\n)([ \t]+)\S")
# A \u escape of a non-ASCII character (its backslash is not itself escaped).
_ESCAPED_NON_ASCII_RE = re.compile(r"(?<!\\)(?:\\\\)*\\u(?!00[0-7])[0-9a-fA-F]{4}")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]")
_ID_RE = re.compile(r'"id"[ \t\n\r]*:[ \t\n\r]*"([^"\\\x00-\x1f]{1,200})"')


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json`` keeps the last of two equal keys; a reader that kept the first would
    see a different item, so a file with duplicates is refused instead."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)
    return result


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON (JavaScript's JSON.parse rejects it)")


_DECODER = json.JSONDecoder(object_pairs_hook=_unique_pairs, parse_constant=_reject_constant)
_scan_value = _DECODER.scan_once


class Member:
    """One ``"key": value`` of an object, with offsets into the decoded text.

    ``key_start`` is the opening quote of the key, ``value_start``/``value_end``
    the value's span; ``comma`` the comma after the value, if any.
    """

    __slots__ = ("comma", "key", "key_end", "key_start", "value", "value_end", "value_start")

    def __init__(self, key: str, key_start: int, key_end: int, value_start: int,
                 value_end: int, value: Any) -> None:
        self.key = key
        self.key_start = key_start
        self.key_end = key_end
        self.value_start = value_start
        self.value_end = value_end
        self.value = value
        self.comma: int | None = None

    def __repr__(self) -> str:
        return f"Member({self.key!r}, {self.value_start}:{self.value_end})"


class JsonObject:
    """An object's span (``start`` is its ``{``, ``end`` just past its ``}``) and members."""

    __slots__ = ("by_key", "end", "members", "start")

    def __init__(self, start: int, end: int, members: list[Member]) -> None:
        self.start = start
        self.end = end
        self.members = members
        self.by_key = {m.key: m for m in members}


class Item:
    """One CSL item: an object in the top-level array, its span and parsed value.

    Member spans are worked out on first use: annotating needs them only for
    items that already have a ``custom`` object, and skipping them keeps a
    parse close to ``json.loads`` in speed.
    """

    __slots__ = ("_csl", "_custom", "_line", "_spans", "data", "end", "index", "start")

    def __init__(self, csl: CslJsonFile, index: int, start: int, end: int,
                 data: dict[str, Any]) -> None:
        self._csl = csl
        self.index = index
        self.start = start
        self.end = end
        self.data = data
        self._line: int | None = None
        self._spans: JsonObject | None = None
        self._custom: JsonObject | None = None

    def _object(self) -> JsonObject:
        if self._spans is None:
            self._spans = self._csl._scan_object(self.start, self.label)
        return self._spans

    @property
    def members(self) -> list[Member]:
        """Every member with its spans, in file order."""
        return self._object().members

    @property
    def by_key(self) -> dict[str, Member]:
        return self._object().by_key

    @property
    def custom(self) -> JsonObject | None:
        """The ``custom`` object's span and members, if the item has one that is an object."""
        if self._custom is None and isinstance(self.data.get("custom"), dict):
            member = self.by_key["custom"]
            self._custom = self._csl._scan_object(member.value_start, self.label)
        return self._custom

    @property
    def id(self) -> str | None:
        """The item's ``id`` as text (CSL allows strings and numbers), or None."""
        value = self.data.get("id")
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return str(value)
        return None

    @property
    def label(self) -> str:
        """How messages name the item: its id, else its position."""
        ident = self.id
        return ident if ident is not None else f"#{self.index + 1}"

    @property
    def line(self) -> int:
        if self._line is None:
            self._line = self._csl.line_of(self.start)
        return self._line

    def get(self, name: str, default: Any = None) -> Any:
        """The parsed value of the member ``name`` (CSL names are case-sensitive)."""
        return self.data.get(name, default)

    @property
    def title(self) -> str | None:
        value = self.get("title")
        return value if isinstance(value, str) else None

    @property
    def authors(self) -> list[tuple[str, str]]:
        """``(family, given)`` for each author; particles join the family name.

        CSL splits "Ludwig van Beethoven" into given, particle and family; the
        signed arXiv record writes plain names, so the particles are kept with
        the family name they belong to. A ``literal`` (an institution) is a
        family name with no given name; a suffix ("Jr.") is left out.
        """
        value = self.get("author")
        if not isinstance(value, list):
            return []
        names: list[tuple[str, str]] = []
        for person in value:
            if not isinstance(person, dict):
                continue
            literal = person.get("literal")
            if isinstance(literal, str) and literal.strip():
                names.append((literal.strip(), ""))
                continue
            if "dropping-particle" in person or "non-dropping-particle" in person:
                family = _joined_family(person)
            else:  # the join of one part: the part stripped, or nothing
                family = person.get("family")
                family = family.strip() if isinstance(family, str) else ""
            given = person.get("given")
            given = given.strip() if isinstance(given, str) else ""
            if family or given:
                names.append((family, given))
        return names

    def custom_member(self, name: str) -> Member | None:
        """The member ``name`` of the item's ``custom`` object, with its spans."""
        custom = self.custom
        return None if custom is None else custom.by_key.get(name)

    def custom_value(self, name: str) -> Any:
        """What ``custom.<name>`` holds now (None when absent)."""
        custom = self.data.get("custom")
        return custom.get(name) if isinstance(custom, dict) else None

    @property
    def pith(self) -> Any:
        """What the item already says in ``custom.<pith field>`` (may disagree with us)."""
        return self.custom_value(self._csl.pith_field)

    @property
    def pith_status(self) -> Any:
        return self.custom_value(self._csl.status_field)

    def __repr__(self) -> str:
        return f"Item({self.id!r} line {self.line})"


def _joined_family(person: dict[str, Any]) -> str:
    """The particles and family name of a CSL name, each stripped, joined by spaces."""
    parts = [person.get(k) for k in ("dropping-particle", "non-dropping-particle", "family")]
    return " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())


# Which CSL variable answers each field name pith_bib.ids reads. Zotero puts an
# arXiv preprint's "arXiv:<id>" in `number`, Extra lines in `note`, Google
# Scholar's "arXiv preprint arXiv:<id>" in `container-title` or `publisher`.
_ID_FIELDS = {
    "doi": "doi",
    "url": "url",
    "number": "number",
    "note": "note",
    "journal": "container-title",
    "howpublished": "publisher",
    "volume": "volume",
    "eid": "archive_location",
    "series": "collection-title",
}


class IdFields:
    """An item seen through the BibTeX field names :func:`pith_bib.ids.extract` reads.

    Satisfies :class:`pith_bib.ids.FieldSource`, so the identifier rules are
    stated once for both formats. CSL names are matched without case, because
    hand-written files use ``doi``/``url`` where the specification says
    ``DOI``/``URL``. An item whose ``archive`` is arXiv exposes its
    ``archive_location`` as an arXiv ``eprint``.
    """

    def __init__(self, item: Item) -> None:
        answers: dict[str, str] = {}  # BibTeX name -> value, for the names an item holds
        taken: set[str] = set()  # the first spelling of a CSL name counts, as in a setdefault
        archive = ""
        for key, value in item.data.items():
            lower = key.lower()
            names = _ANSWERS.get(lower)
            if names is None or lower in taken:
                continue
            if isinstance(value, str):
                text = value
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                text = str(value)
            else:  # not a value ids can read: a later spelling may still be
                continue
            taken.add(lower)
            if lower == "archive":
                archive = text
            for name in names:
                answers[name] = text
        location = answers.get("eid")  # archive_location's only name
        if location and archive.strip().lower() in ARXIV_ARCHIVES:
            answers["eprint"], answers["archiveprefix"] = location, "arXiv"
        self._answers = answers

    def get(self, name: str, default: str | None = None) -> str | None:
        """What the field ``name`` (any case) reads as, else ``default``.

        Answered from a table made once per item, because extraction asks for
        about 25 names: a lower-case name (all that ids asks) is one lookup.
        """
        value = self._answers.get(name)
        if value is None and not name.islower():  # (islower: lower() would change nothing)
            value = self._answers.get(name.lower())
        return default if value is None else value


def _answers_by_csl_name() -> dict[str, tuple[str, ...]]:
    """Each lower-cased CSL name :class:`IdFields` reads, and the BibTeX names it answers."""
    table: dict[str, tuple[str, ...]] = {"archive": ()}
    for bib, csl in _ID_FIELDS.items():
        table[csl] = (*table.get(csl, ()), bib)
    return table


_ANSWERS = _answers_by_csl_name()


class Layout:
    """How the file is written, as far as one file-wide answer exists.

    ``kind`` is ``"tabs"`` (Zotero: ``JSON.stringify(data, null, "\\t")``),
    ``"spaces"`` (Better BibTeX, hand-written), ``"one-item-per-line"`` (Better
    CSL JSON's compact form) or ``"minified"``. Edits copy the style of the item
    they touch; these values are the fallbacks.
    """

    def __init__(self, text: str, items: list[Item]) -> None:
        crlf = text.count("\r\n")
        lf = text.count("\n") - crlf
        self.newline = "\r\n" if crlf > lf else "\n"
        self.trailing_newline = text.endswith(("\n", "\r"))
        self.ensure_ascii = (_NON_ASCII_RE.search(text) is None
                             and _ESCAPED_NON_ASCII_RE.search(text) is not None)
        indents = [m.group(1) for m in _INDENT_RE.finditer(text, 0, min(len(text), 65536))]
        self.indent_unit: str | None = min(indents, key=len) if indents else None
        self.key_separator = ": "
        for item in items[:20]:
            if item.data:
                first = item.members[0]
                self.key_separator = text[first.key_end:first.value_start]
                break
        multiline_items = any("\n" in text[i.start:i.end] or "\r" in text[i.start:i.end]
                              for i in items[:20])
        if "\n" not in text.strip() and "\r" not in text.strip():
            self.kind = "minified"
        elif items and not multiline_items:
            self.kind = "one-item-per-line"
        elif self.indent_unit is not None and self.indent_unit.startswith("\t"):
            self.kind = "tabs"
        else:
            self.kind = "spaces"


def _decode(data: bytes, path: str | None) -> tuple[str, bytes]:
    if len(data) > MAX_BYTES:
        raise CslJsonError(f"is {len(data) / 1e6:.0f} MB; CSL-JSON files over "
                           f"{MAX_BYTES // (1024 * 1024)} MB are refused", path)
    for bom, name in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                      (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if data.startswith(bom):
            raise CslJsonError(f"is {name}; CSL-JSON must be UTF-8 (re-export it as UTF-8)",
                               path)
    bom = b"\xef\xbb\xbf" if data.startswith(b"\xef\xbb\xbf") else b""
    try:
        text = data[len(bom):].decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise CslJsonError(f"is not UTF-8 (byte {exc.start + 1}); CSL-JSON must be UTF-8",
                           path, line) from None
    return text, bom


class CslJsonFile:
    """A parsed CSL-JSON file: its items with spans, its layout, and pending edits."""

    def __init__(self, text: str, bom: bytes, data: bytes, path: str | None,
                 pith_field: str, status_field: str) -> None:
        self.text = text
        self.bom = bom
        self.path = path
        self.pith_field = pith_field
        self.status_field = status_field
        self.items: list[Item] = []
        self._data = data
        self._last_line = (0, 1)
        self._edits: dict[int, dict[str, str]] = {}
        self._layout: Layout | None = None
        self._dumped: dict[str, str] = {}
        self.custom_field = "custom"

    # -- positions -----------------------------------------------------------------
    def line_of(self, position: int) -> int:
        """1-based line of a text offset. Counted from the previous answer when asked in
        file order (items are), so there is no table of line starts to hold in memory."""
        text = self.text
        start, line = self._last_line
        if position < start:
            start, line = 0, 1
        line += (text.count("\n", start, position) + text.count("\r", start, position)
                 - text.count("\r\n", start, position))
        self._last_line = (position, line)
        return line

    @property
    def layout(self) -> Layout:
        if self._layout is None:
            self._layout = Layout(self.text, self.items)
        return self._layout

    def _error(self, message: str, position: int, item_id: str | None = None,
               cls: type[CslJsonError] = CslJsonError) -> CslJsonError:
        return cls(message, self.path, self.line_of(position), item_id)

    # -- scanning ------------------------------------------------------------------
    def _scan(self) -> None:
        text = self.text
        pos = _WS_RE.match(text).end()
        if not text.startswith("[", pos):
            found = "nothing" if pos >= len(text) else repr(text[pos:pos + 1])
            raise self._error(f"is not CSL-JSON: expected an array '[', found {found}", pos)
        pos = _WS_RE.match(text, pos + 1).end()
        if text.startswith("]", pos):
            self._expect_end(pos + 1)
            return
        while True:
            if not text.startswith("{", pos):
                raise self._error(f"element {len(self.items) + 1} of the array is not an "
                                  "object; CSL-JSON is an array of items", pos)
            self.items.append(self._scan_item(pos))
            after = _AFTER_ITEM_RE.match(text, self.items[-1].end)
            if after is None:
                raise self._truncated_or_unexpected(self.items[-1].end, "',' or ']'")
            if after.group(1) == "]":
                self._expect_end(after.end(1))
                return
            pos = after.end()

    def _expect_end(self, pos: int) -> None:
        end = _WS_RE.match(self.text, pos).end()
        if end != len(self.text):
            raise self._error("text after the closing ']' of the array", end)

    def _truncated_or_unexpected(self, pos: int, wanted: str, item_id: str | None = None
                                 ) -> CslJsonError:
        pos = _WS_RE.match(self.text, pos).end()
        if pos >= len(self.text):
            return self._error(f"the file ends where {wanted} was expected (truncated?)",
                               pos, item_id)
        found = self.text[pos:pos + 12]
        return self._error(f"expected {wanted}, found {found!r}", pos, item_id)

    def _scan_item(self, start: int) -> Item:
        """One item, parsed whole by json's C scanner (which also finds duplicate keys)."""
        index = len(self.items)
        try:
            data, end = _scan_value(self.text, start)
        except _Duplicate as dup:
            raise self._error(f"has the key {dup.key!r} twice (in the item or an object "
                              "inside it); readers disagree on which one counts", start,
                              self._early_label(start, len(self.text))) from None
        except StopIteration as stop:  # a value was expected at stop.value
            where = stop.value if isinstance(stop.value, int) else start
            raise self._truncated_or_unexpected(where, "a value",
                                                self._early_label(start, where)) from None
        except RecursionError:
            raise self._error("is nested too deeply", start,
                              self._early_label(start, len(self.text))) from None
        except ValueError as exc:  # json.JSONDecodeError or a rejected constant
            where = getattr(exc, "pos", start)
            reason = (getattr(exc, "msg", None) or json_error_reason(exc)).removesuffix(" at")
            if _WS_RE.match(self.text, where).end() >= len(self.text) or \
                    reason.startswith("Unterminated string"):
                reason += " (the file looks truncated)"
            raise self._error(f"is not valid JSON: {reason}", where,
                              self._early_label(start, where)) from None
        if end - start > MAX_ITEM_CHARS:
            raise self._error(f"is {end - start:,} characters long; items over "
                              f"{MAX_ITEM_CHARS:,} are refused", start,
                              self._early_label(start, end))
        return Item(self, index, start, end, data)

    def _early_label(self, start: int, stop: int) -> str:
        """The id of an item that could not be parsed, if it shows before the damage."""
        found = _ID_RE.search(self.text, start, min(stop, start + 65536))
        return found.group(1) if found else f"#{len(self.items) + 1}"

    def _scan_object(self, start: int, label: str) -> JsonObject:
        """Members of the object whose '{' is at ``start``, with their spans.

        Only used on items the C scanner has already accepted, so the errors
        here are defence in depth.
        """
        text = self.text
        pos = _WS_RE.match(text, start + 1).end()
        members: list[Member] = []
        if text.startswith("}", pos):
            return JsonObject(start, pos + 1, members)
        seen: set[str] = set()
        while True:
            key_match = _SIMPLE_KEY_RE.match(text, pos)
            if key_match is not None:
                key, key_end, value_start = key_match.group(1), key_match.end(1) + 1, \
                    key_match.end()
            else:
                key, key_end, value_start = self._slow_key(pos, label)
            try:
                value, value_end = _scan_value(text, value_start)
            except (StopIteration, ValueError, RecursionError, _Duplicate):
                raise self._error(f"member {key!r} cannot be read", pos, label) from None
            if key in seen:
                raise self._error(f"the key {key!r} appears twice", pos, label)
            seen.add(key)
            member = Member(key, pos, key_end, value_start, value_end, value)
            members.append(member)
            after = _AFTER_VALUE_RE.match(text, value_end)
            if after is None:
                raise self._truncated_or_unexpected(value_end, "',' or '}'", label)
            if after.group(1) == "}":
                return JsonObject(start, after.end(1), members)
            member.comma = after.start(1)
            pos = after.end()

    def _slow_key(self, pos: int, label: str) -> tuple[str, int, int]:
        """A key with escapes (or a syntax error) — the rare path."""
        text = self.text
        if not text.startswith('"', pos):
            raise self._truncated_or_unexpected(pos, "a quoted member name", label)
        try:
            key, key_end = scanstring(text, pos + 1, True)
        except ValueError as exc:
            raise self._error(f"bad member name: {getattr(exc, 'msg', exc)}", pos,
                              label) from None
        colon = _WS_RE.match(text, key_end).end()
        if not text.startswith(":", colon):
            raise self._truncated_or_unexpected(colon, f"':' after {key!r}", label)
        return key, key_end, _WS_RE.match(text, colon + 1).end()

    # -- editing -------------------------------------------------------------------
    def set_fields(self, item: Item, values: Mapping[str, str]) -> None:
        """Queue ``custom.<name> = value`` for each pair; :meth:`apply` writes them.

        An existing key of ours gets its value replaced; a missing one is
        inserted. The caller decides what to do with a disagreeing existing
        value (see :attr:`Item.pith`); this method writes what it is given.
        """
        if item.index >= len(self.items) or self.items[item.index] is not item:
            raise CslJsonEditError("belongs to another file", self.path, None, item.label)
        if "custom" in item.data and not isinstance(item.data["custom"], dict):
            raise self._error("its 'custom' member is not an object, so pith-bib cannot add "
                              "keys to it", item.start, item.label, CslJsonEditError)
        if not item.data:
            raise self._error("an empty item cannot be annotated", item.start, item.label,
                              CslJsonEditError)
        for name, value in values.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise CslJsonEditError(f"refusing to write {name!r}: {value!r}; names and "
                                       "values must be strings", self.path, item.line,
                                       item.label)
        self._edits.setdefault(item.index, {}).update(values)

    @property
    def changed(self) -> bool:
        """Whether :meth:`apply` would return different bytes."""
        return any(self._pieces_for(self.items[i], e) for i, e in self._edits.items())

    def _dumps(self, value: str) -> str:
        """A JSON string escaped the way the file escapes (memoised: keys and statuses repeat)."""
        cached = self._dumped.get(value)
        if cached is None:
            cached = self._dumped[value] = json.dumps(value,
                                                      ensure_ascii=self.layout.ensure_ascii)
        return cached

    def _pieces_for(self, item: Item, edits: dict[str, str]) -> list[tuple[int, int, str]]:
        """(start, end, text) splices for one item: value replacements, then one insertion."""
        pieces: list[tuple[int, int, str]] = []
        missing: list[tuple[str, str]] = []
        custom = item.data.get("custom")
        for name, value in edits.items():
            if not isinstance(custom, dict) or name not in custom:
                missing.append((name, value))
            elif custom[name] != value:
                existing = item.custom_member(name)
                assert existing is not None  # the C scanner and our walk saw the same keys
                pieces.append((existing.value_start, existing.value_end, self._dumps(value)))
        if missing:
            pieces.append(self._insertion(item, missing))
        return pieces

    def _style(self, obj: JsonObject) -> tuple[str, str]:
        """(gap after a comma, text between key and value) as the object writes them."""
        text, members = self.text, obj.members
        last = members[-1]
        # members[-2] is followed by a comma: the scanner saw it before members[-1]
        gap_from = members[-2].comma + 1 if len(members) > 1 else obj.start + 1  # type: ignore[operator]
        return text[gap_from:last.key_start], text[last.key_end:last.value_start]

    def _item_style(self, item: Item) -> tuple[str, str, str, int]:
        """(gap, colon, opening pad, end of the last value) for inserting into an item.

        Read from the item's first member, so an item that is not otherwise
        touched is never walked member by member; the last value ends at the
        last non-blank character before the closing brace (JSON has no comments).
        """
        text = self.text
        first_key = _WS_RE.match(text, item.start + 1).end()
        key = _SIMPLE_KEY_RE.match(text, first_key)
        if key is None:  # an escaped first key: take the slow, exact path
            gap, colon = self._style(item._object())
            first_key = item.members[0].key_start
        else:
            colon = key.group(2)
            _, first_end = _scan_value(text, key.end())
            after = _AFTER_VALUE_RE.match(text, first_end)
            if after is not None and after.group(1) == ",":
                gap = text[after.start(1) + 1:after.end()]
            else:
                gap = text[item.start + 1:first_key]
        last_end = item.start + len(text[item.start:item.end - 1].rstrip(" \t\r\n"))
        return gap, colon, text[item.start + 1:first_key], last_end

    def _indent_unit(self, item: Item, member_indent: str) -> str:
        """One indentation step: member indent minus the item's own, else the file's."""
        text = self.text
        window = max(0, item.start - 4096)  # rfind stops at the nearest newline, or here
        line_start = max(text.rfind("\n", window, item.start),
                         text.rfind("\r", window, item.start)) + 1
        item_indent = text[line_start:item.start] if line_start else ""
        if (not item_indent.strip(" \t") and member_indent.startswith(item_indent)
                and len(member_indent) > len(item_indent)):
            return member_indent[len(item_indent):]
        return self.layout.indent_unit or "  "

    def _pairs(self, pairs: list[tuple[str, str]], colon: str, separator: str) -> str:
        return separator.join(f"{self._dumps(k)}{colon}{self._dumps(v)}" for k, v in pairs)

    def _insertion(self, item: Item, pairs: list[tuple[str, str]]) -> tuple[int, int, str]:
        """Our missing keys as one pure insertion: a new ``custom`` member, or inside it."""
        gap, colon, open_pad, last_end = self._item_style(item)
        custom = item.custom
        if custom is not None and custom.members:
            # Append after the existing object's last member, in that object's style.
            custom_gap, custom_colon = self._style(custom)
            if len(custom.members) == 1 and not _NEWLINE_RE.search(custom_gap):
                # {"k": v} shows no comma to copy: follow the item, or json's habit
                # of ", " with ": " and "," with ":".
                custom_gap = gap if not _NEWLINE_RE.search(gap) else \
                    (" " if custom_colon.endswith(" ") else "")
            at = custom.members[-1].value_end
            return at, at, "".join(f",{custom_gap}{self._pairs([p], custom_colon, '')}"
                                   for p in pairs)
        newline = _NEWLINE_RE.search(gap)
        if newline is not None:  # a multi-line item: one member a line, one level deeper
            nl = newline.group()
            indent = gap[newline.end():]
            inner = indent + self._indent_unit(item, indent)
            body = self._pairs(pairs, colon, "," + nl + inner)
            if custom is None:
                value = "{" + nl + inner + body + nl + indent + "}"
                return last_end, last_end, f",{gap}{self._dumps(self.custom_field)}{colon}{value}"
            inside = self.text[custom.start + 1:custom.end - 1]
            if _NEWLINE_RE.search(inside):  # "{\n  }": the file's own text closes it
                return custom.start + 1, custom.start + 1, nl + inner + body
            if not inside:
                return custom.start + 1, custom.start + 1, nl + inner + body + nl + indent
            return custom.start + 1, custom.start + 1, body
        body = self._pairs(pairs, colon, "," + gap)
        if _NEWLINE_RE.search(open_pad):  # braces on their own lines, members on one
            open_pad = ""
        if custom is None:  # a one-line item: a one-line object, padded like the item
            close_pad = self.text[last_end:item.end - 1]
            if _NEWLINE_RE.search(close_pad):
                close_pad = ""
            value = "{" + open_pad + body + close_pad + "}"
            return last_end, last_end, f",{gap}{self._dumps(self.custom_field)}{colon}{value}"
        empty = custom.end - custom.start == 2
        return custom.start + 1, custom.start + 1, (open_pad + body if empty else body)

    def apply(self) -> bytes:
        """The file's bytes with the queued edits spliced in, checked by re-parsing."""
        pieces: list[tuple[int, int, str]] = []
        for index, edits in self._edits.items():
            pieces.extend(self._pieces_for(self.items[index], edits))
        if not pieces:
            return self._data
        pieces.sort(key=lambda p: (p[0], p[1]))
        out: list[str] = []
        cursor = 0
        text = self.text
        for start, end, new in pieces:
            out.append(text[cursor:start])
            out.append(new)
            cursor = end
        out.append(text[cursor:])
        new_text = "".join(out)
        with paused_collector():
            self._check(new_text)
        return self.bom + new_text.encode("utf-8")

    def _check(self, new_text: str) -> None:
        """Defence in depth: the result must be JSON with the same items, carrying our keys."""
        try:
            parsed = json.loads(new_text)
        except (ValueError, RecursionError) as exc:
            raise CslJsonEditError(f"internal error: the edited file is not valid JSON ({exc}); "
                                   "nothing was written", self.path) from None
        ok = isinstance(parsed, list) and len(parsed) == len(self.items)
        if ok:
            for index, edits in self._edits.items():
                got = parsed[index]
                custom = got.get(self.custom_field) if isinstance(got, dict) else None
                if (not isinstance(custom, dict) or got.get("id") != self.items[index].get("id")
                        or any(custom.get(k) != v for k, v in edits.items())):
                    ok = False
                    break
        if ok:
            ok = [i.get("id") if isinstance(i, dict) else None for i in parsed] == \
                [i.data.get("id") for i in self.items]
        if not ok:
            raise CslJsonEditError("internal error: the edited file does not hold the same "
                                   "items with our keys; nothing was written", self.path)


def parse(data: bytes, path: str | None = None, *, pith_field: str = "pith",
          status_field: str = "pith_status") -> CslJsonFile:
    """Read a CSL-JSON file's bytes. Anything not safely editable raises CslJsonError."""
    text, bom = _decode(data, path)
    # Three counts of distinct characters add up to at most the length: a text no
    # longer than MAX_VALUES cannot exceed it, and is not counted (three passes).
    if len(text) > MAX_VALUES:
        values = text.count(",") + text.count("{") + text.count("[")
        if values > MAX_VALUES:
            raise CslJsonError(f"holds about {values:,} values; more than {MAX_VALUES:,} are "
                               "refused", path)
    csl = CslJsonFile(text, bom, data, path, pith_field, status_field)
    with paused_collector():
        csl._scan()
    return csl
