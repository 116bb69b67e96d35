"""Read a Zotero item's Extra field and set our two lines in it, touching nothing else.

Extra is shared by every plugin and by the user, so an edit here is a surgical
one: only the value of a ``tex.pith`` / ``tex.pith_status`` line ever changes,
or those two lines are appended at the end in the field's own line ending.
Every other byte — other plugins' lines, ``Citation Key:``, free text, blank
lines, CR/LF — is kept, so a Zotero sync never sees a change we did not mean.

Two parsers read Extra and both are followed exactly:

- Zotero (``Zotero.Utilities.Internal.extractExtraFields``) splits on ``\\n``
  only, takes ``Label: value`` where the label starts with a letter and goes on
  with letters or the ASCII range space.."_" (so the *last* colon on the line
  ends it), trims the value, ignores empty values, and lets the *first* valid
  occurrence of a label win.
- Better BibTeX (``content/extra.ts``) copies ``tex.NAME: value`` and
  ``tex.NAME= value`` (raw LaTeX) into the export; ``bibtex.``/``biblatex.``
  limit it to one flavour; the prefix is case-insensitive, the name is
  lower-cased, ends at the first ``:`` or ``=``, may not contain a space (unless
  quoted: ``tex."a b": v``), and a *later* line overwrites an earlier one.

This module is pure: strings in, strings out, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .canonical import parse_pith_number
from .errors import PithNumberError, UsageError
from .terminal import clean, shortened

# Zotero's label line; `[a-z -_]` is deliberately the same odd range as Zotero's.
_LABEL_RE = re.compile(r"^([a-z][a-z -_]+):(.+)", re.IGNORECASE)
# Better BibTeX's three forms, tried in its order: {:tex.x: v}, tex."x y": v, tex.x: v.
_TEX_OLD_RE = re.compile(r"^\{:((?:bib(?:la)?)?tex\.)([^:]+)(:)\s*([^}]+)\}$", re.IGNORECASE)
_TEX_QUOTED_RE = re.compile(r'^((?:bib(?:la)?)?tex\.)"([^"]+)"\s*([:=])\s*(.*)$',
                            re.IGNORECASE | re.DOTALL)
_TEX_NEW_RE = re.compile(r"^((?:bib(?:la)?)?tex\.)([^:=]+)([:=])\s*(.*)$",
                         re.IGNORECASE | re.DOTALL)
_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class ExtraNames:
    """The Better BibTeX field names we own (``tex.<pith>``, ``tex.<status>``)."""

    pith: str = "pith"
    status: str = "pith_status"

    def __post_init__(self) -> None:
        for name in (self.pith, self.status):
            if not _NAME_RE.fullmatch(name):
                raise UsageError(f"{name!r} cannot be a Better BibTeX field name "
                                 "(letters, digits, '_' and '-', starting with a letter)")
        if self.pith.lower() == self.status.lower():
            raise UsageError("the pith field and the status field need different names")


@dataclass(frozen=True)
class Line:
    """One line of Extra: its text without the line ending, and that ending."""

    text: str
    ending: str  # "\n", "\r\n" or "" (the last line)


@dataclass(frozen=True)
class TexLine:
    """A Better BibTeX ``tex.`` line, with where its value sits in the line's text."""

    prefix: str  # "tex.", "bibtex." or "biblatex." as written
    name: str  # lower-cased, as Better BibTeX keys it
    raw: bool  # "=" (raw LaTeX) rather than ":"
    value: str  # trimmed
    value_start: int
    value_end: int


@dataclass
class ExtraFields:
    """What Extra says, as Zotero and Better BibTeX would read it."""

    labels: dict[str, str] = field(default_factory=dict)  # normalised label -> first value
    tex: dict[str, str] = field(default_factory=dict)  # tex name -> last value
    pith: list[str] = field(default_factory=list)  # every value of our pith lines, in order
    status: list[str] = field(default_factory=list)
    free_text: str = ""  # the lines that are not tex. lines, joined by "\n"


@dataclass(frozen=True)
class ExtraEdit:
    """The outcome of :func:`set_pith`: the new Extra, or why it was left alone."""

    extra: str
    changed: bool
    conflict: str | None = None  # set when an existing pith line names another number


def split_lines(extra: str) -> list[Line]:
    """Extra as Zotero sees it (split on LF), keeping each line's own ending."""
    lines: list[Line] = []
    parts = extra.split("\n")
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if last:
            if part:  # an empty field, or one ending in LF, has no last partial line
                lines.append(Line(part, ""))
        elif part.endswith("\r"):
            lines.append(Line(part[:-1], "\r\n"))
        else:
            lines.append(Line(part, "\n"))
    return lines


def join_lines(lines: list[Line]) -> str:
    return "".join(line.text + line.ending for line in lines)


def normalise_label(label: str) -> str:
    """Zotero's ``_normalizeExtraKey``: ``publicationTitle``/``Publication Title`` alike."""
    label = re.sub(r"([a-z])([A-Z])", r"\1-\2", label.strip()).lower()
    return re.sub(r"[\s_-]", "-", label)


def parse_label(text: str) -> tuple[str, str] | None:
    """A Zotero ``Label: value`` line as (normalised label, value), or None."""
    match = _LABEL_RE.match(text)
    if match is None:
        return None
    value = match.group(2).strip()
    return (normalise_label(match.group(1)), value) if value else None


def parse_tex(text: str) -> TexLine | None:
    """A Better BibTeX ``tex.`` line, or None when Better BibTeX would not export it."""
    for pattern in (_TEX_OLD_RE, _TEX_QUOTED_RE, _TEX_NEW_RE):
        match = pattern.match(text)
        if match is None:
            continue
        name = match.group(2).strip().lower()
        if not name or " " in name:  # Better BibTeX keeps such a line as text
            return None
        value = match.group(4)
        start = match.start(4) + (len(value) - len(value.lstrip()))
        stripped = value.strip()
        return TexLine(prefix=match.group(1), name=name, raw=match.group(3) == "=",
                       value=stripped, value_start=start, value_end=start + len(stripped))
    return None


def read_extra(extra: str, names: ExtraNames | None = None) -> ExtraFields:
    """Every label, every ``tex.`` field and our own two fields, by the parsers' rules."""
    names = names or ExtraNames()
    fields = ExtraFields()
    free: list[str] = []
    for line in split_lines(extra or ""):
        tex = parse_tex(line.text)
        if tex is not None:
            fields.tex[tex.name] = tex.value
            if tex.name == names.pith.lower():
                fields.pith.append(tex.value)
            elif tex.name == names.status.lower():
                fields.status.append(tex.value)
            continue
        free.append(line.text)
        label = parse_label(line.text)
        if label is not None and label[0] not in fields.labels:
            fields.labels[label[0]] = label[1]
    fields.free_text = "\n".join(free)
    return fields


def _check_status(status: str) -> None:
    if not status.strip() or status != status.strip() or _CONTROL_RE.search(status):
        raise UsageError(f"{status!r} cannot be written as a status: it must be one line "
                         "of visible text")


def _with_value(line: Line, tex: TexLine, value: str) -> Line:
    text = line.text
    if tex.value_start == tex.value_end:  # "tex.pith:" with nothing after it
        return Line(text[:tex.value_start].rstrip() + " " + value, line.ending)
    return Line(text[:tex.value_start] + value + text[tex.value_end:], line.ending)


def set_pith(extra: str, number: str, status: str, names: ExtraNames | None = None) -> ExtraEdit:
    """Extra with ``tex.<pith>: number`` and ``tex.<status>: status``, all else untouched.

    Existing lines of ours are edited in place (their prefix, spelling, ``:``/``=``
    and spacing kept); missing ones are appended. A pith line that names another
    number is someone's deliberate choice or a mistake a human must look at, so
    it is reported as a conflict and Extra is returned unchanged.
    """
    names = names or ExtraNames()
    parsed = parse_pith_number(number)
    if not parsed.is_full or parsed.year is None:
        raise PithNumberError(f"{number!r}: only a full pith:YEAR:ID number is written")
    number = str(parsed)
    _check_status(status)
    extra = extra or ""
    lines = split_lines(extra)
    ours = [(i, parse_tex(line.text)) for i, line in enumerate(lines)]
    pith_lines = [(i, t) for i, t in ours if t is not None and t.name == names.pith.lower()]
    status_lines = [(i, t) for i, t in ours if t is not None and t.name == names.status.lower()]
    for _, tex in pith_lines:
        if tex.value and not _names_same(tex.value, number):
            return ExtraEdit(extra, changed=False,
                             conflict=f"Extra already has {tex.prefix}{tex.name}: "
                                      f"{visible(tex.value)}, not {number}; left as it is")
    for index, tex in pith_lines:
        if tex.value != number:
            lines[index] = _with_value(lines[index], tex, number)
    for index, tex in status_lines:
        if tex.value != status:
            lines[index] = _with_value(lines[index], tex, status)
    added = []
    if not pith_lines:
        added.append(f"tex.{names.pith}: {number}")
    if not status_lines:
        added.append(f"tex.{names.status}: {status}")
    new = join_lines(lines)
    if added:
        ending = _ending_of(lines)
        if new and not new.endswith("\n"):
            new += ending
        new += ending.join(added)
    return ExtraEdit(new, changed=new != extra)


def set_status(extra: str, status: str, names: ExtraNames | None = None) -> ExtraEdit:
    """Extra with its ``tex.<status>`` lines saying ``status``; nothing added, all else kept.

    For an item the policy refused: its number stays, but a status that renderers
    print (``verified``) must not (see :func:`pith_bib.policy.shown_status`).
    """
    names = names or ExtraNames()
    _check_status(status)
    extra = extra or ""
    lines = split_lines(extra)
    for index, line in enumerate(lines):
        tex = parse_tex(line.text)
        if tex is not None and tex.name == names.status.lower() and tex.value != status:
            lines[index] = _with_value(line, tex, status)
    new = join_lines(lines)
    return ExtraEdit(new, changed=new != extra)


def _names_same(value: str, number: str) -> bool:
    try:
        return parse_pith_number(value).matches(number)
    except PithNumberError:
        return False


def _ending_of(lines: list[Line]) -> str:
    """The field's own line ending: its first line's, LF when it has none yet."""
    for line in lines:
        if line.ending:
            return line.ending
    return "\n"


def visible(text: str, limit: int = 80) -> str:
    """Text fit for a one-line message: what a terminal acts on escaped, length bounded."""
    return shortened(clean(text), limit)
