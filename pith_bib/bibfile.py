"""A BibTeX reader that remembers where every byte came from, and an editor that splices.

Tools that parse a .bib file into a model and write the model back lose what
the model does not hold: comments, ``@string`` macros, field order, brace
style, line endings. This module never rebuilds a file. It records the exact
span of every block and field, and an edit inserts or replaces text at those
spans; every other character of the decoded text is written back untouched,
in the encoding it was read in.

Scanning follows BibTeX's own rules (``@comment`` skips only its own name,
text between entries is ignored, ``{...}``/``"..."`` values with balanced
braces, ``#`` concatenation, macros), so the entries found are the ones
BibTeX and pybtex find. A malformed entry becomes a problem with a line
number; its bytes are kept as they are and the scan resumes at the next line
that starts an entry.
"""

from __future__ import annotations

import bisect
import re
import sys
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from .collector import paused_collector
from .errors import BibDecodeError, BibEditError
from .terminal import shortened

# Possessive quantifiers (3.11+) keep failed matches linear; on 3.10 a
# single-character repeat gives the same guarantee, a little slower.
_P = "+" if sys.version_info >= (3, 11) else ""
_RUN = r"[^{}]" + ("++" if _P else "")
_QRUN = r'[^"{}]' + ("++" if _P else "")


def _nested_braces(depth: int) -> str:
    inner = r"\{[^{}]*" + _P + r"\}"
    for _ in range(depth - 1):
        inner = r"\{(?:" + _RUN + "|" + inner + r")*" + _P + r"\}"
    return inner


_BRACED = _nested_braces(5)
_QUOTED = r'"(?:' + _QRUN + "|" + _BRACED + r')*' + _P + '"'
_BARE = r'[^\s,#={}()"%]+' + _P
_PART = rf"(?:{_BRACED}|{_QUOTED}|{_BARE})"
_VALUE = rf"{_PART}(?:\s*{_P}#\s*{_P}{_PART})*{_P}"
_NAME = r'[^\s=,{}()"#%]+' + _P

_FIELD_RE = re.compile(rf"(\s*{_P})({_NAME})(\s*{_P}=\s*{_P})({_VALUE})\s*{_P}")
_WS_RE = re.compile(r"\s*" + _P)
_COMMENT_LINES_RE = re.compile(r"(?:\s*%[^\n\r]*)+\s*")
_AT_RE = re.compile(r"@")
_HEAD_RE = re.compile(r"@\s*([A-Za-z][\w\-:.+]*)\s*([{(])")
_COMMAND_RE = re.compile(r"@\s*([A-Za-z][\w\-:.+]*)")
_KEY_RE = re.compile(r'\s*([^\s,{}()"=#%]*)\s*')
# Where the scan resumes after a malformed entry: a line whose first non-blank
# characters start an entry. Found from each '@' (the literal lets the regex
# engine skip ahead) and then checked for being first on its line.
_RECOVERY_AT_RE = re.compile(r"@[ \t]*" + _P + r"[A-Za-z][\w\-:.+]*" + _P + r"[ \t]*" + _P
                             + r"[{(]")
_COMMENTED_LINE_RE = re.compile(r"[ \t]*" + _P + "%")
# The fast path's head: ``@type{key`` and the spaces after the key, in one match
# (the name and key runs are maximal in _HEAD_RE/_KEY_RE too, so the possessive
# forms match the same text).
_ENTRY_HEAD_RE = re.compile(r"@\s*" + _P + r"([A-Za-z][\w\-:.+]*" + _P + r")\s*" + _P
                            + r"([{(])\s*" + _P + r'([^\s,{}()"=#%]*' + _P + r")\s*" + _P)
# _FIELD_RE with the unused groups dropped and the separating comma taken along
# (group 3, which takes part in the match exactly when the field is followed by
# ','; an optional tail never changes the match before it).
_FIELD_COMMA_RE = re.compile(rf"\s*{_P}({_NAME})\s*{_P}=\s*{_P}({_VALUE})\s*{_P}(,)?")
_SPECIAL_COMMANDS = frozenset({"comment", "string", "preamble"})
_BRACE_RE = re.compile(r"[{}]")
_QUOTE_OR_BRACE_RE = re.compile(r'["{}]')
_NEWLINE_RE = re.compile(r"\r\n|\r|\n")

MONTH_MACROS = {
    "jan": "January", "feb": "February", "mar": "March", "apr": "April", "may": "May",
    "jun": "June", "jul": "July", "aug": "August", "sep": "September", "oct": "October",
    "nov": "November", "dec": "December",
}


@dataclass(frozen=True)
class Problem:
    """Something in the file that stops it from being edited safely."""

    line: int
    message: str
    key: str | None = None


@dataclass(frozen=True)
class Block:
    """A span of the decoded text: entry, string, preamble, comment, text or bad."""

    kind: str
    start: int
    end: int


class Field:
    """One ``name = value`` of an entry, with spans into the decoded text."""

    __slots__ = ("name", "name_start", "raw", "value_end", "value_start")

    def __init__(self, name: str, name_start: int, value_start: int, value_end: int,
                 raw: str) -> None:
        self.name = name
        self.name_start = name_start
        self.value_start = value_start
        self.value_end = value_end
        self.raw = raw

    def __repr__(self) -> str:
        return f"Field({self.name!r}, {self.raw!r})"


class Entry:
    """One ``@type{key, ...}`` entry. ``fields`` maps names as written to raw values."""

    def __init__(self, bib: BibFile, type_: str, key: str, line: int, start: int, end: int,
                 open_delim: str, key_end: int, key_comma: int | None,
                 fields: list[Field], trailing_comma: int | None) -> None:
        # the macros, not the file: an entry holding its file would make a reference
        # cycle, and every entry of a run would wait for the cyclic collector
        self._macros = bib.macros
        self.type = type_
        self.key = key
        self.line = line
        self.start = start
        self.end = end
        self.open_delim = open_delim
        self.key_end = key_end
        self.key_comma = key_comma
        self.field_list = fields
        self.trailing_comma = trailing_comma
        self._by_name: dict[str, Field] | None = None

    @property
    def fields(self) -> dict[str, str]:
        mapping: dict[str, str] = {}
        for f in self.field_list:
            mapping.setdefault(f.name, f.raw)
        return mapping

    def find(self, name: str) -> Field | None:
        """The first field of that name, any case (what BibTeX itself uses)."""
        by_name = self._by_name
        if by_name is None:  # built once: identifier extraction asks for ~30 names per entry
            by_name = self._index()
        return by_name.get(name.lower())

    def _index(self) -> dict[str, Field]:
        by_name: dict[str, Field] = {}
        for f in self.field_list:
            by_name.setdefault(f.name.lower(), f)
        self._by_name = by_name
        return by_name

    def repeated_names(self) -> tuple[str, ...]:
        """Lower-case names written more than once: BibTeX reads the first, biber the last.

        Told in constant time in the usual case: the index of first fields (built
        anyway for :meth:`find`) has one name per field exactly when none repeats.
        """
        by_name = self._by_name if self._by_name is not None else self._index()
        if len(by_name) == len(self.field_list):
            return ()
        seen: set[str] = set()
        twice = []
        for f in self.field_list:
            name = f.name.lower()
            if name in seen and name not in twice:
                twice.append(name)
            seen.add(name)
        return tuple(twice)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The field's value with delimiters removed and macros expanded."""
        found = self.find(name)
        if found is None:
            return default
        return value_text(found.raw, self._macros)

    def values_of(self, names: Collection[str]) -> dict[str, str]:
        """``get`` of every field whose lower-case name is in ``names``, in one pass.

        Keyed by the lower-case name; the first field of a name wins, as in
        :meth:`find`. Why: identifier extraction reads some twenty names.
        """
        values: dict[str, str] = {}
        macros = self._macros
        for f in self.field_list:
            name = f.name.lower()
            if name in names and name not in values:
                values[name] = value_text(f.raw, macros)
        return values

    def __repr__(self) -> str:
        return f"Entry(@{self.type}{{{self.key}}} line {self.line})"


def _split_parts(raw: str) -> Iterator[str]:
    """The ``#``-separated parts of a raw value (``#`` inside delimiters is text)."""
    depth, quoted, start = 0, False, 0
    for i, ch in enumerate(raw):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == '"' and depth == 0:
            quoted = not quoted
        elif ch == "#" and depth == 0 and not quoted:
            yield raw[start:i].strip()
            start = i + 1
    yield raw[start:].strip()


def value_text(raw: str, macros: dict[str, str] | None = None) -> str:
    """A raw value as BibTeX reads it: delimiters dropped, macros expanded, parts joined."""
    if "#" not in raw:  # one part, the common case: no scan needed
        first = raw[:1]
        if (first == "{" and raw[-1:] == "}") or (first == '"' and raw[-1:] == '"'
                                                  and len(raw) >= 2):
            return raw[1:-1]
    out = []
    for part in _split_parts(raw):
        if part[:1] in ('{', '"') and len(part) >= 2:
            out.append(part[1:-1])
        elif part.isdigit():
            out.append(part)
        else:
            name = part.lower()
            if macros is not None and name in macros:
                out.append(macros[name])
            else:
                out.append(MONTH_MACROS.get(name, part))
    return "".join(out)


@dataclass
class _Insert:
    """A field to insert into an entry, at the boundary ``position``; applied by ``to_bytes``."""

    entry: Entry
    name: str
    value: str
    position: int


def _detect_newline(text: str) -> tuple[str, bool]:
    if "\r" not in text:  # LF only, or no newline at all: the answer is the same
        return "\n", False
    crlf = text.count("\r\n")
    cr = text.count("\r") - crlf
    lf = text.count("\n") - crlf
    kinds = {"\r\n": crlf, "\r": cr, "\n": lf}
    present = [k for k, v in kinds.items() if v]
    if not present:
        return "\n", False
    return max(present, key=lambda k: kinds[k]), len(present) > 1


_JABREF_ENCODING_RE = re.compile(rb"%\s*Encoding:\s*([A-Za-z0-9_\-]+)")


# UTF-32's marks first: UTF-32-LE's begins with UTF-16-LE's.
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe\x00\x00", "utf-32-le"),
         (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe", "utf-16-le"),
         (b"\xfe\xff", "utf-16-be"))


def _zero_heavy(sample: bytes) -> bool:
    """A quarter or more zero bytes: no bibliography's own text, a stray NUL aside."""
    return len(sample) >= 8 and sample.count(0) * 4 >= len(sample)


def _wide_codec(sample: bytes) -> str | None:
    """UTF-16 or UTF-32 without a byte-order mark (JabRef reads and writes such files).

    Told by where the zero bytes are: mostly-ASCII wide text has one beside every
    letter, on the side its byte order puts the high byte, and few on the other
    (CJK text has some there: U+3000, U+4E00); zeros on both sides are NULs. None
    when the sample does not say which: :func:`decode_bib` then refuses it.
    """
    zeros = [sample[i::4].count(0) for i in range(4)]  # by position within 4 bytes
    quarter = len(sample) / 4
    if zeros[2] > 0.9 * quarter and zeros[3] > 0.9 * quarter and zeros[0] < zeros[2] / 2:
        return "utf-32-le"
    if zeros[0] > 0.9 * quarter and zeros[1] > 0.9 * quarter and zeros[3] < zeros[1] / 2:
        return "utf-32-be"
    even, odd = zeros[0] + zeros[2], zeros[1] + zeros[3]
    if odd > quarter and even < odd / 2:  # over half the high bytes zero, fewer low ones
        return "utf-16-le"
    if even > quarter and odd < even / 2:
        return "utf-16-be"
    return None


def decode_bib(data: bytes, path: str | None = None) -> tuple[str, str, bytes]:
    """(text, codec, bom): the one decoding under which the bytes round-trip exactly."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            body = data[len(bom):]
            try:
                text = body.decode(codec)
            except UnicodeDecodeError as exc:
                raise BibDecodeError(
                    f"starts with a {codec} byte-order mark but is not {codec} "
                    f"(byte {exc.start + len(bom)})", path) from None
            return text, codec, bom
    sample = data[:4096]
    if _zero_heavy(sample):  # never read on as text full of NULs: 0 entries would pass check
        wide = _wide_codec(sample)
        try:
            text = data.decode(wide) if wide is not None else None
        except UnicodeDecodeError:
            text = None
        if wide is None or text is None or "\x00" in text or text.encode(wide) != data:
            raise BibDecodeError("is full of zero bytes: not a text encoding that can be told "
                                 "apart (UTF-16 or UTF-32 without a byte-order mark, or "
                                 "binary); save it as UTF-8", path)
        return text, wide, b""
    try:
        return data.decode("utf-8"), "utf-8", b""
    except UnicodeDecodeError:
        pass
    candidates = []
    declared = _JABREF_ENCODING_RE.search(data[:4096])
    if declared:
        candidates.append(declared.group(1).decode("ascii"))
    candidates += ["cp1252", "latin-1"]
    for codec in candidates:
        try:
            text = data.decode(codec)
            if text.encode(codec) == data:
                return text, codec, b""
        except (UnicodeError, LookupError):
            continue
    raise BibDecodeError("cannot be decoded as UTF-8, UTF-16 or an 8-bit encoding", path)


def _recovery_points(text: str) -> list[int]:
    """Starts of the lines whose first non-blank characters are ``@name{``/``@name(``.

    The same positions as searching for the pattern at every line start, found
    from each '@' instead: one '@' starts at most one such line, and each run of
    blanks before an '@' is walked once.
    """
    points = []
    for match in _RECOVERY_AT_RE.finditer(text):
        start = match.start()
        if start and text[start - 1] in " \t":
            start = _blank_run_start(text, start)
        if not start or text[start - 1] in "\n\r":
            points.append(start)
    return points


def _blank_run_start(text: str, end: int) -> int:
    """Where the run of spaces and tabs ending at ``end`` starts (rstrip, chunk by chunk)."""
    size = 64
    while True:
        low = max(0, end - size)
        kept = len(text[low:end].rstrip(" \t"))
        if kept or not low:
            return low + kept
        size *= 2


class _Malformed(Exception):
    def __init__(self, position: int, message: str) -> None:
        super().__init__(message)
        self.position = position
        self.message = message


class BibFile:
    """A parsed .bib file: its blocks, entries, problems, and pending edits."""

    def __init__(self, text: str, encoding: str, bom: bytes, path: str | None) -> None:
        self.text = text
        self.encoding = encoding
        self.bom = bom
        self.path = path
        self.newline, self.mixed_newlines = _detect_newline(text)
        self.entries: list[Entry] = []
        self.blocks: list[Block] = []
        self.problems: list[Problem] = []
        self.macros: dict[str, str] = {}
        self._used: set[str] = set()  # macro names entries refer to (see _macros_used)
        self._used_scanned = 0
        self._replacements: dict[int, tuple[int, str]] = {}
        self._inserts: dict[tuple[int, str], _Insert] = {}
        self._line_starts: list[int] | None = None
        self._has_cr = "\r" in text
        self._recovery = _recovery_points(text)
        # Where _entry_line last counted to, and the line number there.
        self._counted_to = 0
        self._counted_line = 1

    # -- positions -----------------------------------------------------------------
    def line_of(self, position: int) -> int:
        if self._line_starts is None:
            self._line_starts = [0, *(m.end() for m in _NEWLINE_RE.finditer(self.text))]
        return bisect.bisect_right(self._line_starts, position)

    def _entry_line(self, at: int) -> int:
        """``line_of(at)`` for entries met in file order, without the line table.

        In text without carriage returns a line number is one plus the line feeds
        before it; counting only the stretch since the previous entry keeps the
        whole scan linear, and no table of line starts is built.
        """
        if self._has_cr or at < self._counted_to:
            return self.line_of(at)
        line = self._counted_line + self.text.count("\n", self._counted_to, at)
        self._counted_to, self._counted_line = at, line
        return line

    def _next_recovery(self, after: int) -> int:
        i = bisect.bisect_right(self._recovery, after)
        return self._recovery[i] if i < len(self._recovery) else len(self.text)

    # -- scanning ------------------------------------------------------------------
    def _scan(self) -> None:
        text, pos, size = self.text, 0, len(self.text)
        has_cr, blocks = self._has_cr, self.blocks
        # The start of the line holding '@', tracked forward (searching back from
        # each '@' to the line start is quadratic on a long line of '@'s), and
        # whether that line starts with '%' (checked once per line).
        searched, line_start, checked_line, commented = 0, 0, -1, False
        while pos < size:
            at = text.find("@", pos)
            if at < 0:
                blocks.append(Block("text", pos, size))
                break
            if at > pos:
                blocks.append(Block("text", pos, at))
            newline = text.rfind("\n", searched, at)
            if has_cr:
                newline = max(newline, text.rfind("\r", searched, at))
            if newline >= 0:
                line_start = newline + 1
            searched = at
            if at != line_start:
                if checked_line != line_start:
                    checked_line = line_start
                    commented = _COMMENTED_LINE_RE.match(text, line_start) is not None
                if commented:
                    # A commented-out line (biber, JabRef and bibtex-tidy read '%' lines
                    # outside entries as comments; users comment entries out this way).
                    eol = _NEWLINE_RE.search(text, at)
                    end = eol.start() if eol else size
                    blocks.append(Block("text", at, end))
                    pos = end
                    continue
            end = self._fast_entry(at)
            pos = end if end is not None else self._scan_command(at)

    def _fast_entry(self, at: int) -> int | None:
        """Scan a well-formed ``@type{key, fields}`` entry at ``at``; None otherwise.

        The common case in fewer steps. It records the entry only when every check
        of :meth:`_scan_command` would pass, and with the same values; anything else
        (``@string``/``@preamble``/``@comment``, comments between fields, values
        nested deeper than the pattern, any error) returns None, and the general
        scan takes the entry from its start.
        """
        text = self.text
        head = _ENTRY_HEAD_RE.match(text, at)
        if head is None:
            return None
        type_, delim, key = head.group(1, 2, 3)
        if not key or type_.lower() in _SPECIAL_COMMANDS:
            return None
        pos = head.end()
        closer = "}" if delim == "{" else ")"
        # The first recovery point after '@' is at most the one after the key
        # comma that _scan_fields uses, so a value within it is within that too.
        recovery = self._recovery
        index = bisect.bisect_right(recovery, at)
        limit = recovery[index] if index < len(recovery) else len(text)
        key_comma: int | None = None
        if text.startswith(",", pos):
            key_comma = pos
            scanned = self._fast_fields(pos + 1, closer, limit)
            if scanned is None:
                return None
            fields, trailing, end = scanned
        elif text.startswith(closer, pos):
            fields, trailing, end = [], None, pos + 1
        else:
            return None
        if limit < end:  # as _check_no_entry_swallowed(at, end) would object
            return None
        self.entries.append(Entry(self, type_, key, self._entry_line(at), at, end, delim,
                                  head.end(3), key_comma, fields, trailing))
        self.blocks.append(Block("entry", at, end))
        return end

    def _fast_fields(self, pos: int, closer: str, limit: int
                     ) -> tuple[list[Field], int | None, int] | None:
        """:meth:`_scan_fields` for fields the single pattern matches, or None."""
        text = self.text
        match = _FIELD_COMMA_RE.match
        fields: list[Field] = []
        append = fields.append
        trailing: int | None = None
        while True:
            found = match(text, pos)
            if found is None:
                break
            value_start, value_end = found.span(2)
            if value_end > limit:
                return None
            append(Field(found.group(1), found.start(1), value_start, value_end,
                         text[value_start:value_end]))
            pos = found.end()
            if found.lastindex != 3:  # no comma: the entry must close here
                if text.startswith(closer, pos):
                    return fields, None, pos + 1
                return None
            trailing = pos - 1
        pos = _WS_RE.match(text, pos).end()
        if text.startswith(closer, pos):
            return fields, trailing, pos + 1
        return None

    def scan_entry_at(self, at: int) -> Entry | None:
        """The entry starting at ``at`` (its ``@``), scanned as a whole-file parse would.

        For checking an edit in place: the caller knows where an edited entry now
        starts. None when there is no entry there; its problem, if any, is recorded.
        """
        count = len(self.entries)
        if self._fast_entry(at) is None:
            self._scan_command(at)
        return self.entries[-1] if len(self.entries) > count else None

    def scan_fields_from(self, pos: int, closer: str) -> tuple[list[Field], int] | None:
        """The fields from ``pos`` (just after a comma) to ``closer``, and where the entry
        ends; None when they do not scan. For checking an insertion in place."""
        try:
            fields, _, end = self._scan_fields(pos, closer)
        except _Malformed:
            return None
        return fields, end

    def next_recovery(self, after: int) -> int:
        """The next line that starts an entry after ``after`` (the text's end if none)."""
        return self._next_recovery(after)

    def _scan_command(self, at: int) -> int:
        text = self.text
        command = _COMMAND_RE.match(text, at)
        if command is None:  # a lone '@' in free text: BibTeX ignores it
            self.blocks.append(Block("text", at, at + 1))
            return at + 1
        kind = command.group(1).lower()
        if kind == "comment":
            self.blocks.append(Block("comment", at, command.end()))
            return command.end()
        head = _HEAD_RE.match(text, at)
        if head is None:
            self.blocks.append(Block("text", at, command.end()))
            return command.end()
        closer = "}" if head.group(2) == "{" else ")"
        try:
            if kind == "string":
                end = self._scan_string(head.end(), closer)
                self.blocks.append(Block("string", at, end))
            elif kind == "preamble":
                end = self._scan_preamble(head.end(), closer)
                self.blocks.append(Block("preamble", at, end))
            else:
                entry = self._scan_entry(at, head, closer)
                end = entry.end
                self.entries.append(entry)
                self.blocks.append(Block("entry", at, end))
        except _Malformed as bad:
            resume = self._next_recovery(at)
            if resume <= at:
                resume = len(text)
            key = None
            if kind not in ("string", "preamble"):
                key_match = _KEY_RE.match(text, head.end())
                key = key_match.group(1) if key_match and key_match.group(1) else None
            label = f"@{head.group(1)}" + (f"{{{key}" if key else "")
            self.problems.append(Problem(
                self.line_of(at), f"malformed {label}: {bad.message}; its text is kept as it is",
                key,
            ))
            self.blocks.append(Block("bad", at, resume))
            return resume
        return end

    def _check_no_entry_swallowed(self, start: int, end: int) -> None:
        nxt = self._next_recovery(start)
        if nxt < end:
            raise _Malformed(
                nxt, "unbalanced braces or a missing closing delimiter: it runs into "
                f"the entry on line {self.line_of(nxt)}"
            )

    def _value_end(self, pos: int, limit: int) -> int:
        """End of a value starting at ``pos``, for values too deep for the regex.

        A value is never read past ``limit`` (the next line that starts an entry):
        one that would run on is malformed wherever it ends, and looking for its
        end would make a file of unclosed values quadratic. Beyond the limit, the
        answer is ``limit + 1``.
        """
        text = self.text
        end = pos
        while True:
            ch = text[end:end + 1]
            if ch == "{":
                end = self._balanced(end, "{", limit)
            elif ch == '"':
                end = self._balanced(end, '"', limit)
            else:
                bare = re.compile(_BARE).match(text, end)
                if bare is None:
                    raise _Malformed(end, "expected a value")
                end = bare.end()
            if end > limit:
                return end
            more = re.compile(r"\s*#\s*").match(text, end)
            if more is None:
                return end
            end = more.end()

    def _balanced(self, pos: int, opener: str, limit: int) -> int:
        pattern = _BRACE_RE if opener == "{" else _QUOTE_OR_BRACE_RE
        depth = 0
        for match in pattern.finditer(self.text, pos + 1, limit):
            ch = match.group()
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth < 0:
                    if opener == "{":
                        return match.end()
                    raise _Malformed(match.start(), "unbalanced '}' in a quoted value")
            elif depth == 0:  # closing quote
                return match.end()
        if limit < len(self.text):
            return limit + 1
        raise _Malformed(pos, "unbalanced braces: the value is never closed")

    def _field_at(self, pos: int, limit: int
                  ) -> re.Match[str] | tuple[int, int, int, int] | None:
        match = _FIELD_RE.match(self.text, pos)
        if match is not None:
            return match
        name = re.compile(rf"\s*({_NAME})\s*=\s*").match(self.text, pos)
        if name is None:
            return None
        value_end = self._value_end(name.end(), limit)
        return name.start(1), name.end(1), name.end(), value_end

    def _slow_field(self, ws: int, closer: str, limit: int) -> tuple[int, int, int, int, int]:
        """(name start, name end, value start, value end, after) of a field the fast
        pattern missed at ``pos``, or the reason there is none."""
        found = self._field_at(ws, limit)
        if isinstance(found, re.Match):
            return found.start(2), found.end(2), found.start(4), found.end(4), found.end()
        if found is not None:
            return (*found, _WS_RE.match(self.text, found[3]).end())
        if ws >= len(self.text):
            raise _Malformed(ws, f"missing closing '{closer}'")
        snippet = self.text[ws:ws + 20].split("\n")[0]
        raise _Malformed(ws, f"expected a field or '{closer}' on line "
                             f"{self.line_of(ws)}, found {snippet!r}")

    def _scan_fields(self, pos: int, closer: str) -> tuple[list[Field], int | None, int]:
        """Fields from ``pos`` to the closer; returns (fields, trailing comma, end)."""
        text = self.text
        limit = self._next_recovery(pos)
        fields: list[Field] = []
        trailing_comma: int | None = None
        field_re = _FIELD_RE
        while True:
            match = field_re.match(text, pos)
            if match is not None:
                name_start, name_end = match.start(2), match.end(2)
                value_start, value_end = match.start(4), match.end(4)
                after = match.end()
            else:
                ws = _WS_RE.match(text, pos).end()
                if text.startswith("%", ws):
                    ws = _COMMENT_LINES_RE.match(text, pos).end()
                if text.startswith(closer, ws):
                    return fields, trailing_comma, ws + 1
                name_start, name_end, value_start, value_end, after = \
                    self._slow_field(ws, closer, limit)
            if value_end > limit:
                raise _Malformed(limit, (
                    f"unbalanced braces or quotes in field {text[name_start:name_end]!r} "
                    f"(line {self.line_of(name_start)}): its value runs into the entry on "
                    f"line {self.line_of(limit)}"))
            fields.append(Field(text[name_start:name_end], name_start, value_start, value_end,
                                text[value_start:value_end]))
            trailing_comma = None
            if text.startswith(",", after):
                trailing_comma = after
                pos = after + 1
            elif text.startswith(closer, after):
                return fields, None, after + 1
            elif after >= limit:
                raise _Malformed(limit, (
                    f"unbalanced braces or quotes in field {text[name_start:name_end]!r} "
                    f"(line {self.line_of(name_start)}): its value swallows the end of the "
                    "entry"))
            else:
                snippet = text[after:after + 20].split("\n")[0]
                raise _Malformed(after, f"expected ',' or '{closer}' after field "
                                        f"{text[name_start:name_end]!r} on line "
                                        f"{self.line_of(after)}, found {snippet!r}")

    def _scan_entry(self, at: int, head: re.Match[str], closer: str) -> Entry:
        text = self.text
        key_match = _KEY_RE.match(text, head.end())
        key = key_match.group(1)
        pos = key_match.end()
        if not key:
            raise _Malformed(pos, "the entry has no key")
        key_comma: int | None = None
        if text.startswith(",", pos):
            key_comma = pos
            fields, trailing, end = self._scan_fields(pos + 1, closer)
        elif text.startswith(closer, pos):
            fields, trailing, end = [], None, pos + 1
        else:
            raise _Malformed(pos, f"expected ',' after the key {key!r}")
        self._check_no_entry_swallowed(at, end)
        return Entry(self, head.group(1), key, self.line_of(at), at, end, head.group(2),
                     key_match.end(1), key_comma, fields, trailing)

    def _scan_string(self, pos: int, closer: str) -> int:
        fields, _, end = self._scan_fields(pos, closer)
        if len(fields) != 1:
            raise _Malformed(pos, "@string must define exactly one macro")
        self._check_no_entry_swallowed(pos, end)
        macro = fields[0]
        name, value = macro.name.lower(), value_text(macro.raw, self.macros)
        if self.macros.get(name) != value and name in self._macros_used():
            # BibTeX and biber expand the definition in force at each entry (none yet, or
            # a month's built-in name); entries here read the file's last one. Refused
            # only when an entry before this definition used the macro: an unused one
            # only warns in BibTeX, and then every reader agrees.
            again = "again with another value" if name in self.macros else "only"
            raise _Malformed(pos, f"the macro {shortened(macro.name, 80)!r} is defined "
                                  f"{again} after an entry used it; define it once, before "
                                  "its first use")
        self.macros[name] = value
        return end

    def _macros_used(self) -> set[str]:
        """Macro names the entries read so far refer to; each entry is looked at once."""
        for entry in self.entries[self._used_scanned:]:
            for f in entry.field_list:
                raw = f.raw
                if raw[:1] not in ("{", '"') or "#" in raw:
                    self._used.update(part.lower() for part in _split_parts(raw)
                                      if part[:1] not in ("{", '"') and not part.isdigit())
        self._used_scanned = len(self.entries)
        return self._used

    def _scan_preamble(self, pos: int, closer: str) -> int:
        start = _WS_RE.match(self.text, pos).end()
        end = self._value_end(start, self._next_recovery(pos))
        self._check_no_entry_swallowed(pos, end)
        end = _WS_RE.match(self.text, end).end()
        if not self.text.startswith(closer, end):
            raise _Malformed(end, f"expected '{closer}' to close @preamble")
        self._check_no_entry_swallowed(pos, end + 1)
        return end + 1

    # -- editing -------------------------------------------------------------------
    def entry_newline(self, entry: Entry) -> str:
        match = _NEWLINE_RE.search(self.text, entry.start, entry.end)
        return match.group() if match else self.newline

    def _style(self, entry: Entry) -> tuple[str, int | None, str, str, str]:
        """How the entry writes its fields: (separator, '=' column if aligned, space
        before '=', '=' and what follows it, delimiters) — copied from the entry itself."""
        text, fields = self.text, entry.field_list
        if not fields:
            return self.entry_newline(entry) + "  ", None, " ", "= ", "{}"
        last = fields[-1]
        if len(fields) > 1:
            gap_from = text.rfind(",", fields[-2].value_end, last.name_start) + 1
        else:
            gap_from = entry.key_comma + 1  # type: ignore[operator]
        separator = text[gap_from:last.name_start]
        if "%" in separator:  # comment lines between fields: keep only the indentation
            separator = self.entry_newline(entry) + _NEWLINE_RE.split(separator)[-1]
        before_eq, _, after_eq = text[last.name_start + len(last.name):last.value_start] \
            .partition("=")
        column = None
        # Aligned '=' signs (JabRef, bibtool): remember the column to pad names to.
        multiline = "\n" in separator or "\r" in separator
        if multiline and len(fields) > 1:
            widths = {text.find("=", f.name_start, f.value_start) - f.name_start for f in fields}
            if len(widths) == 1 and len({len(f.name) for f in fields}) > 1:
                column = widths.pop()
        opener = next((f.raw[0] for f in reversed(fields) if f.raw[:1] in '{"'), "{")
        return separator, column, before_eq, "=" + after_eq, "{}" if opener == "{" else '""'

    def set_field(self, entry: Entry, name: str, value: str) -> None:
        """Give ``entry`` a field ``name = value``: replace its value or insert it last."""
        if "{" in value or "}" in value or "\\" in value:
            raise BibEditError(f"refusing to write {value!r}: braces and backslashes are not "
                               "allowed in values pith-bib writes", self.path, entry.line)
        existing = entry.find(name)
        if existing is not None:
            opener = existing.raw[:1]
            new_raw = f'"{value}"' if opener == '"' else "{" + value + "}"
            self._replacements[existing.value_start] = (existing.value_end, new_raw)
            return
        pending = self._inserts.get((entry.start, name.lower()))
        if pending is not None:
            pending.value = value
            return
        if entry.key_comma is None:  # `@misc{key}`: the new field follows the key
            position = entry.key_end
        elif entry.field_list:
            last = entry.field_list[-1]
            position = (entry.trailing_comma + 1) if entry.trailing_comma is not None \
                else last.value_end
        else:
            position = entry.key_comma + 1
        self._inserts[(entry.start, name.lower())] = _Insert(entry, name, value, position)

    def _insert_text(self, pending: _Insert, style: tuple[str, int | None, str, str, str]
                     ) -> str:
        entry = pending.entry
        separator, column, before_eq, eq, delims = style
        name = pending.name
        if column is not None:
            name, before_eq = (name.ljust(column), "") if column > len(name) else (name, " ")
        assignment = f"{name}{before_eq}{eq}{delims[0]}{pending.value}{delims[1]}"
        if entry.key_comma is not None and (
                entry.trailing_comma is not None or not entry.field_list):
            return f"{separator}{assignment},"
        return f",{separator}{assignment}"

    def to_bytes(self) -> bytes:
        """The file with pending edits applied, in its own encoding."""
        pieces: list[tuple[int, int, str]] = [
            (start, end, new) for start, (end, new) in self._replacements.items()
        ]
        styles: dict[int, tuple[str, int | None, str, str, str]] = {}
        for pending in self._inserts.values():
            style = styles.get(pending.entry.start)
            if style is None:
                style = styles[pending.entry.start] = self._style(pending.entry)
            pieces.append((pending.position, pending.position,
                           self._insert_text(pending, style)))
        pieces.sort(key=lambda p: (p[0], p[1]))
        out: list[str] = []
        cursor = 0
        for start, end, new in pieces:
            out.append(self.text[cursor:start])
            out.append(new)
            cursor = max(cursor, end)
        out.append(self.text[cursor:])
        text = "".join(out)
        try:
            return self.bom + text.encode(self.encoding)
        except UnicodeEncodeError as exc:
            raise BibEditError(f"an edit cannot be written in the file's encoding "
                               f"({self.encoding}): {exc.reason}", self.path) from None

    @property
    def changed(self) -> bool:
        return bool(self._replacements or self._inserts)

    def insertion_points(self) -> dict[int, int]:
        """Entry start → the one place its pending edits are inserted.

        Only for entries whose every edit is an insertion there: an entry with a
        replaced value, or insertions in two places, is left out.
        """
        points: dict[int, set[int]] = {}
        ends: dict[int, int] = {}
        for pending in self._inserts.values():
            points.setdefault(pending.entry.start, set()).add(pending.position)
            ends[pending.entry.start] = pending.entry.end
        replaced = sorted(self._replacements)
        single = {}
        for start, positions in points.items():
            first = bisect.bisect_left(replaced, start)
            if len(positions) == 1 and (first == len(replaced) or replaced[first] >= ends[start]):
                single[start] = positions.pop()
        return single


def parse(data: bytes, path: str | None = None) -> BibFile:
    """Read a .bib file's bytes; malformed entries become ``problems``, never exceptions.

    Only bytes that cannot be decoded at all raise (:class:`BibDecodeError`).
    """
    text, codec, bom = decode_bib(data, path)
    bib = BibFile(text, codec, bom, path)
    with paused_collector():  # many small objects, no cycles
        bib._scan()
    return bib
