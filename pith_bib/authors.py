"""Cross-check an entry's authors against the signed author list of its paper.

Why this exists: a reference can carry a real title and a real, resolving
identifier and still be wrong about who wrote it. Language models produce
exactly that — a genuine paper with invented or reshuffled co-authors — and a
second, older failure looks the same from here: a wrong identifier copied onto a
near-identical title (a follow-up paper, an erratum, a conference version by
other people). The title check cannot see either; the signed author list can.

The signed side (``authors_text`` of a pith snapshot) is arXiv's raw form:
comma-separated full names, sorted by given name rather than in byline order,
given name first, LaTeX accents kept (``Alberto Abell\\'o``), suffixes inline
(``Neal J. Evans II``), compound surnames indistinguishable from middle names
(``Santiago Akle Serrano``). So only family names are compared, order-free,
after LaTeX decoding and accent/case/transliteration folding, and an entry's
family name is matched against the *trailing* words of a signed full name.

The rule is deliberately lenient where real bibliographies differ harmlessly
(spelling of accents, particles, compound surnames, ``and others``, a signed
list longer than the entry's) and strict only where fabrication shows: when the
entry shares no author with the paper, or most of its named authors are absent.
There is no year rule. Nothing here raises: every input may be hostile, and the
work is bounded by :data:`MAX_FIELD_CHARS`, :data:`MAX_NAMES` and friends.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from . import ulatex

MAX_FIELD_CHARS = 100_000
"""Longest BibTeX author field read; the rest is ignored like ``and others``."""
MAX_NAMES = 500
"""Most entry names compared; a longer list is compared on its first 500."""
MAX_NAME_CHARS = 300
"""Longest single name kept (entry or signed side); longer ones are cut."""
MAX_SIGNED_CHARS = 1_000_000
"""Longest signed author list read (large collaborations list thousands)."""
MAX_SIGNED_NAMES = 10_000
MAX_CANDIDATES = 20
"""Signed names considered per entry name: bounds the matching on hostile lists."""


class AuthorVerdict(enum.Enum):
    MATCH = "match"
    MINOR_DIFFERENCE = "minor-difference"
    MISMATCH = "mismatch"
    NOT_JUDGED = "not-judged"


@dataclass(frozen=True)
class PersonName:
    """One author as a structured format gives it; a collaboration goes in ``family``."""

    family: str
    given: str = ""


@dataclass(frozen=True)
class AuthorComparison:
    """Outcome of one comparison.

    ``missing`` lists the entry's names (as written, LaTeX-decoded) that are not
    among the signed authors; ``compared`` counts the entry names judged and
    ``matched`` those found. ``note`` says why a comparison was not judged.
    """

    verdict: AuthorVerdict
    missing: tuple[str, ...] = ()
    compared: int = 0
    matched: int = 0
    note: str = ""


# --------------------------------------------------------------------------- LaTeX and folding

_NAMED_LETTERS = {"ss": "ss", "o": "o", "O": "O", "l": "l", "L": "L", "i": "i", "j": "j",
                  "ae": "ae", "AE": "AE", "oe": "oe", "OE": "OE", "aa": "a", "AA": "A",
                  "dh": "d", "DH": "D", "th": "th", "TH": "TH", "ng": "ng", "NG": "NG"}
_LEFTOVER_COMMAND_RE = re.compile(r"\\([A-Za-z]+)\*? ?")
_LEFTOVER_SYMBOL_RE = re.compile(r"\\([^A-Za-z])")
_FOLD_TABLE = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "ı": "i", "ħ": "h",
                             "þ": "th", "æ": "ae", "œ": "oe", "ŀ": "l", "ŧ": "t",
                             "'": None, "’": None, "ʼ": None, "`": None, "´": None})
_NON_WORD_RE = re.compile(r"[\W_]+")
_GERMAN_RE = re.compile(r"([aou])e")  # Mueller ~ Müller (ü folds to u); both sides alike


def _drop_command(match: re.Match[str]) -> str:
    return _NAMED_LETTERS.get(match.group(1), "")


def _drop_symbol(match: re.Match[str]) -> str:
    return " " if match.group(1).isspace() else ""


@lru_cache(maxsize=16384)
def decode_latex(raw: str) -> str:
    """Unicode for one LaTeX name, braces kept (they still group words).

    The ``ulatex`` codec costs about 50 µs a name, so it only runs when there is
    a backslash, and then by :func:`pith_bib.ulatex.decode` (the same decoding, faster). It
    leaves some forms alone (``\\'{\\i}``, unknown macros); those are reduced by
    hand: an accent command is dropped (accents are folded away anyway), a
    letter macro (``\\ss``, ``\\o``) becomes its letters.
    """
    if "\\" not in raw:
        return raw
    return _drop_leftovers(ulatex.decode(raw))


def _decode_latex_reference(raw: str) -> str:
    """:func:`decode_latex` through the codec itself, kept to test the quick route against."""
    if "\\" not in raw:
        return raw
    return _drop_leftovers(ulatex.decode_by_codec(raw))


def _drop_leftovers(text: str) -> str:
    if "\\" in text:
        text = _LEFTOVER_COMMAND_RE.sub(_drop_command, text)
        text = _LEFTOVER_SYMBOL_RE.sub(_drop_symbol, text)
    return text


@lru_cache(maxsize=16384)
def plain_name(raw: str) -> str:
    """A name fit to show: LaTeX decoded, braces dropped, ties and runs of space collapsed."""
    text = decode_latex(raw).replace("{", "").replace("}", "").replace("~", " ")
    return "".join(c if c.isprintable() else " " for c in " ".join(text.split()))


@lru_cache(maxsize=32768)
def fold_tokens(text: str) -> tuple[str, ...]:
    """Comparison words of decoded text: accent-, case- and transliteration-free.

    ``Müller``, ``Mueller`` and ``M\\"uller`` all give ``muller``; ``Haußmann``
    gives ``haussmann``; hyphens and dots separate words (``Alonso-Monsalve``
    is ``alonso monsalve`` either way); apostrophes join (``d'Enterria``).
    """
    if text.isascii() and "\\" not in text:
        return _fold_ascii(text)
    return _fold_tokens_general(text)


_ASCII_FOLD = {code: " " for code in range(128) if not chr(code).isalnum()} | dict.fromkeys(
    map(ord, "{}'`"))


def _fold_ascii(text: str) -> tuple[str, ...]:
    """:func:`_fold_tokens_general` for ASCII text with no control sequence.

    Why it is the same: braces and the two apostrophes are deleted by both; on
    ASCII ``casefold`` is ``lower`` and ``[\\W_]`` is every character but a letter
    or digit, which the table turns into a space; the German rule needs two
    adjacent letters, so it never spans the space between words.
    """
    folded = text.lower().translate(_ASCII_FOLD)
    if "ae" in folded or "oe" in folded or "ue" in folded:
        folded = _GERMAN_RE.sub(r"\1", folded)
    return tuple(folded.split())


def _fold_tokens_general(text: str) -> tuple[str, ...]:
    """:func:`fold_tokens` for any text: leftover LaTeX, Unicode folding, transliteration."""
    text = text.replace("{", "").replace("}", "")
    if "\\" in text:
        text = _LEFTOVER_SYMBOL_RE.sub(_drop_symbol, _LEFTOVER_COMMAND_RE.sub(_drop_command, text))
    text = text.casefold()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
        text = text.translate(_FOLD_TABLE)
    else:
        text = text.replace("'", "").replace("`", "")
    return tuple(_GERMAN_RE.sub(r"\1", word) for word in _NON_WORD_RE.split(text) if word)


# --------------------------------------------------------------------------- name structure

_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "2nd", "3rd", "junior", "senior"})
_SUFFIX_WORDS = frozenset((suffix,) for suffix in _SUFFIXES)
_PARTICLES = frozenset({"van", "von", "de", "der", "den", "del", "della", "delle", "dei",
                        "degli", "di", "da", "das", "dos", "do", "du", "la", "le", "les", "lo",
                        "ter", "ten", "te", "zu", "zur", "vom", "y", "e", "al", "el", "bin",
                        "ibn", "the", "st"})
_COLLAB_WORDS = frozenset({"collaboration", "collaborations", "collab", "consortium",
                           "collaboratory", "group", "team", "experiment", "experiments"})
_COLLAB_GENERIC = _COLLAB_WORDS | {"the", "and", "for", "on", "behalf", "of"}
_OTHERS = frozenset({"others", "et al", "et al.", "etal", "et. al."})
_ET_AL_TAIL_RE = re.compile(r"[\s~,]+et[\s~.]+al\.?\s*$", re.IGNORECASE)
_TIE_TRANS = str.maketrans({"~": " ", "\u00a0": " "})


def _top_level_split(text: str, separator: str) -> list[str]:
    """Split on ``separator`` characters outside braces (``{De Vita}`` stays one word)."""
    if len(separator) == 1 and "{" not in text and "}" not in text:
        return text.split(separator)  # every separator is outside braces
    parts: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(0, depth - 1)
        elif depth == 0 and char in separator:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


_WORD_SEPARATORS = " \t\r\n\f\v"
_WORD_SEPARATOR_RE = re.compile(r"[ \t\r\n\f\v]")


def _words(text: str) -> list[str]:
    text = text.translate(_TIE_TRANS)
    if "{" not in text and "}" not in text:  # every separator is outside braces
        return [w for w in _WORD_SEPARATOR_RE.split(text) if w]
    return [w for w in _top_level_split(text, _WORD_SEPARATORS) if w]


def _is_suffix_word(word: str) -> bool:
    return fold_tokens(word) in _SUFFIX_WORDS


def _starts_lowercase(word: str) -> bool:
    """BibTeX's "von" test: a word whose first letter is lower case (``van``, ``de``).

    A braced group (``{De Vita}``) has no case, as in BibTeX.
    """
    if word.startswith("{") and not re.match(r"\{\\|\{.\}", word):
        return False
    for char in word:
        if char.isalpha():
            return char.islower()
    return False


@lru_cache(maxsize=16384)
def parse_person(raw: str) -> PersonName:
    """``Last, First`` / ``Last, Jr., First`` / ``First von Last`` → family and given.

    Mirrors BibTeX's three forms on LaTeX-decoded text. A lone suffix after the
    comma (``E.G. McCluskey, Jr.``, a common slip) is read as ``First Last, Jr.``.
    """
    text = decode_latex(raw[:MAX_NAME_CHARS]).strip()
    parts = [p.strip() for p in _top_level_split(text, ",")]
    if len(parts) == 2 and _is_suffix_word(parts[1]):
        parts, text = parts[:1], parts[0]
    if len(parts) >= 2:
        given = parts[2] if len(parts) >= 3 else parts[1]
        return PersonName(_clean(parts[0]), _clean(given))
    words = _words(text)
    while len(words) > 1 and _is_suffix_word(words[-1]):
        words.pop()
    if len(words) <= 1:
        return PersonName(_clean(text))
    start = len(words) - 1
    for index, word in enumerate(words[:-1]):
        if _starts_lowercase(word):
            start = index
            break
    return PersonName(_clean(" ".join(words[start:])), _clean(" ".join(words[:start])))


def _clean(text: str) -> str:
    if _BARE_CHANGES.isdisjoint(text):  # nothing to drop or untie
        return " ".join(text.split())
    return " ".join(text.replace("{", "").replace("}", "").translate(_TIE_TRANS).split())


_AND_RE = re.compile(r"[{}]|\s[Aa][Nn][Dd](?=\s)")


def split_bibtex_names(field: str) -> tuple[list[str], bool]:
    """The names of a BibTeX ``author`` field, split on ``and`` outside braces.

    Returns the raw names and whether the list is known to be incomplete
    (``and others``, ``et al.``, or cut at :data:`MAX_NAMES` / :data:`MAX_FIELD_CHARS`).
    """
    truncated = len(field) > MAX_FIELD_CHARS
    if truncated:
        field = field[:MAX_FIELD_CHARS]
    if "{" not in field and "}" not in field:
        return _split_braceless(field, truncated)
    names: list[str] = []
    depth = 0
    start = 0
    for match in _AND_RE.finditer(field):
        piece = match.group()
        if piece == "{":
            depth += 1
        elif piece == "}":
            depth = max(0, depth - 1)
        elif depth == 0:
            names.append(field[start:match.start()])
            start = match.end()
            if len(names) > MAX_NAMES:
                return _drop_others(names[:MAX_NAMES], truncated=True)
    if not truncated:  # a cut field ends in a partial name: leave it out
        names.append(field[start:])
    return _drop_others(names, truncated)


def _split_braceless(field: str, truncated: bool) -> tuple[list[str], bool]:
    """:func:`split_bibtex_names` for a field without braces: every ``and`` is at top level.

    Why it is the same: with no brace, the loop's pattern finds exactly the
    separators this one does, and ``maxsplit`` stops one separator after the
    :data:`MAX_NAMES` th, where the loop gives up.
    """
    names = _AND_SPLIT_RE.split(field, maxsplit=MAX_NAMES + 1)
    if len(names) > MAX_NAMES + 1:
        return _drop_others(names[:MAX_NAMES], truncated=True)
    if truncated:  # a cut field ends in a partial name: leave it out
        names.pop()
    return _drop_others(names, truncated)


_AND_SPLIT_RE = re.compile(r"\s[Aa][Nn][Dd](?=\s)")
_ET_AL_ENDINGS = tuple(a + el + dot for a in "aA" for el in "lL" for dot in ("", "."))
_BARE_CHANGES = frozenset("{}~\u00a0")


def _drop_others(names: list[str], truncated: bool) -> tuple[list[str], bool]:
    kept: list[str] = []
    for name in names:
        stripped = " ".join(name.split())  # ties stay: "\\~n" is an accent, not a space
        if _BARE_CHANGES.isdisjoint(stripped):  # then the line below changes nothing but case
            bare = stripped.casefold()
        else:
            bare = " ".join(stripped.translate(_TIE_TRANS).strip("{}").split()).casefold()
        if not bare:
            continue
        if bare in _OTHERS:
            truncated = True
            continue
        # The tail pattern ends in "al" or "al." (only ASCII letters match those under
        # IGNORECASE) and then \s*, which is empty here: split() took every \s away.
        if stripped.endswith(_ET_AL_ENDINGS):
            shortened = _ET_AL_TAIL_RE.sub("", stripped)
            if shortened != stripped:
                truncated = True
            stripped = shortened
        kept.append(stripped[:MAX_NAME_CHARS])
    return kept, truncated


def parse_bibtex_authors(field: str) -> tuple[list[PersonName], bool]:
    """Structured names of a BibTeX ``author`` field, and whether it was truncated."""
    raw_names, truncated = split_bibtex_names(field)
    return [parse_person(raw) for raw in raw_names], truncated


# --------------------------------------------------------------------------- the signed side

_SIGNED_SPLIT_RE = re.compile(r"[,;()]|\s+and\s+|\s+&\s+", re.IGNORECASE)


@dataclass(frozen=True)
class _Signed:
    """A signed author list ready for matching: folded names and an index by word."""

    tokens: tuple[tuple[str, ...], ...]
    index: dict[str, tuple[int, ...]]
    collaborations: frozenset[int]


def _strip_suffix_tokens(tokens: tuple[str, ...]) -> tuple[str, ...]:
    while len(tokens) > 1 and tokens[-1] in _SUFFIXES:
        tokens = tokens[:-1]
    return tokens


@lru_cache(maxsize=16384)
def _signed_name(piece: str) -> tuple[str, ...]:
    """One signed name's folded words, suffixes dropped; empty when nothing is left.

    Cached because the same people sign many papers of one bibliography. A
    plain ASCII name is folded directly: with no backslash :func:`decode_latex`
    returns it unchanged and :func:`fold_tokens` takes :func:`_fold_ascii`, so
    the two calls (and their caches) would only repeat what this cache holds.
    """
    if piece.isascii() and "\\" not in piece:
        tokens = _strip_suffix_tokens(_fold_ascii(piece))
    else:
        tokens = _strip_suffix_tokens(fold_tokens(decode_latex(piece)))
    return tokens if tokens and tokens[-1] not in _SUFFIXES else ()


@lru_cache(maxsize=16384)
def _index_keys(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Words, and trailing runs written together ("Fei-Fei" ~ "Feifei", "De Vita" ~ "DeVita").

    Their order does not matter: each key's positions are appended in name order.
    """
    keys = set(tokens) | {"".join(tokens[i:]) for i in range(1, len(tokens) - 1)}
    return tuple(keys)


def _parse_signed(text: str) -> _Signed:
    """Full names of a signed list as folded words, indexed by word for quick lookup."""
    return _index_signed(_signed_names(text))


def _signed_names(text: str) -> tuple[tuple[str, ...], ...]:
    """The folded words of each signed name, in list order, at most :data:`MAX_SIGNED_NAMES`."""
    names: list[tuple[str, ...]] = []
    text = text[:MAX_SIGNED_CHARS]
    for piece in _signed_pieces(text):
        tokens = _signed_name(piece.strip()[:MAX_NAME_CHARS])
        if tokens:
            names.append(tokens)
            if len(names) >= MAX_SIGNED_NAMES:
                break
    return tuple(names)


def _signed_pieces(text: str) -> list[str]:
    """:data:`_SIGNED_SPLIT_RE`'s split, by the quicker punctuation-only pattern when it can.

    Why it is the same: the ``and`` and ``&`` alternatives need the letters
    ``and`` (under IGNORECASE only ``a``/``A``, ``n``/``N``, ``d``/``D`` match them,
    which ``lower`` maps to ``and``) or an ``&``; without either, only
    ``[,;()]`` can match, at the same places.
    """
    if "&" in text or "and" in text.lower():
        return _SIGNED_SPLIT_RE.split(text)
    return _PUNCTUATION_SPLIT_RE.split(text)


_PUNCTUATION_SPLIT_RE = re.compile(r"[,;()]")


def _index_signed(names: tuple[tuple[str, ...], ...]) -> _Signed:
    index: dict[str, list[int]] = {}
    for position, tokens in enumerate(names):
        for key in _index_keys(tokens):
            index.setdefault(key, []).append(position)
    collaborations = frozenset(i for i, t in enumerate(names) if _COLLAB_WORDS.intersection(t))
    return _Signed(tuple(names), {k: tuple(v) for k, v in index.items()}, collaborations)


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class _EntryName:
    """One entry name as matched, with the text a ``missing`` list shows for it."""

    display: str
    family: tuple[str, ...]  # folded, particles and suffixes kept
    core: tuple[str, ...]  # without leading particles
    given: tuple[str, ...]
    collaboration: bool


class _EntryWords(NamedTuple):
    """An entry name's comparison words: :class:`_EntryName` without the display text.

    A named tuple rather than a frozen dataclass: one is built for every
    distinct name of a bibliography, and a tuple is over twice as quick to make.
    """

    family: tuple[str, ...]
    core: tuple[str, ...]
    given: tuple[str, ...]
    collaboration: bool


def _entry_words(person: PersonName) -> _EntryWords | None:
    """The comparison words of one structured name (see :func:`_words_of`)."""
    return _words_of(person.family, person.given)


@lru_cache(maxsize=16384)
def _words_of(family_text: str, given_text: str) -> _EntryWords | None:
    """:func:`_entry_words` cached by the two strings.

    Keyed by text, not by :class:`PersonName`: every entry brings new name
    objects, and a dataclass key is hashed and compared in Python on each lookup.
    """
    family = _strip_suffix_tokens(fold_tokens(family_text[:MAX_NAME_CHARS]))
    if not family or not _has_latin_letter(family):
        return None  # nothing Latin to compare with arXiv's Latin-script list
    core = family
    while len(core) > 1 and core[0] in _PARTICLES:
        core = core[1:]
    given = fold_tokens(given_text[:MAX_NAME_CHARS])
    collaboration = len(family) > 1 and bool(_COLLAB_WORDS.intersection(family))
    return _EntryWords(family, core, given, collaboration)


def _has_latin_letter(tokens: tuple[str, ...]) -> bool:
    joined = "".join(tokens)
    if joined.isascii():  # folded ASCII words are letters and digits only
        return not joined.isdigit()
    return any(c.isascii() and c.isalpha() for c in joined)


@lru_cache(maxsize=16384)
def _entry_name(person: PersonName, display: str) -> _EntryName | None:
    words = _entry_words(person)
    if words is None:
        return None
    return _EntryName(display, words.family, words.core, words.given, words.collaboration)


def _contains_run(haystack: tuple[str, ...], needle: tuple[str, ...], start: int) -> bool:
    size = len(needle)
    return any(haystack[i:i + size] == needle for i in range(start, len(haystack) - size + 1))


def _person_matches(entry: _EntryName, signed: tuple[str, ...]) -> bool:
    """Does the entry's family name fit this signed full name?

    Given names are not compared (initials, middle names and transliterations
    vary too much), except to confirm a name written family-first.
    """
    core = entry.core
    size = len(core)
    if signed[-size:] == core:  # the ordinary case, and compound surnames given-first
        return True
    if signed[-1] in core and len(signed) > 1:  # entry has the longer compound surname
        return True
    if _contains_run(signed, core, 1):  # signed has the longer compound surname
        return True
    joined = {"".join(core), "".join(entry.family)}
    if any("".join(signed[i:]) in joined for i in range(1, len(signed))):  # "Fei-Fei", "Feifei"
        return True
    # written family-first on the signed side ("Wang Tao"): the given initial must agree
    return (len(signed) > size and signed[:size] == core and bool(entry.given)
            and entry.given[0][:1] == signed[-1][:1])


def _collaboration_matches(entry: _EntryName, signed: tuple[str, ...]) -> bool:
    keys = set(entry.family) - _COLLAB_GENERIC
    return bool(keys.intersection(signed)) and bool(_COLLAB_WORDS.intersection(signed))


def _given_agrees(entry: _EntryName, signed: tuple[str, ...]) -> bool:
    return not entry.given or len(signed) < 2 or entry.given[0][:1] == signed[0][:1]


def _candidates(entry: _EntryName, signed: _Signed) -> tuple[list[int], list[int]]:
    """Signed names this entry name could be: (preferred, all), each strongest first.

    Preferred ones also agree on the given initial; they are assigned first, so
    that with ``Fox, Judy`` and ``Fox, Geoffrey`` it is Judy who is missing when
    only Geoffrey Fox signed.
    """
    seen: set[int] = set()
    groups: tuple[list[int], list[int], list[int]] = ([], [], [])  # agreeing, strong, weak
    if entry.collaboration:
        lookup = set(entry.family) - _COLLAB_GENERIC
    else:
        lookup = {*entry.core, "".join(entry.core), "".join(entry.family)}
    for token in sorted(lookup):
        for position in signed.index.get(token, ()):
            if position in seen:
                continue
            seen.add(position)
            tokens = signed.tokens[position]
            if tokens[-len(entry.core):] == entry.core:
                group = groups[0] if _given_agrees(entry, tokens) else groups[1]
            elif _person_matches(entry, tokens) or (
                    entry.collaboration and _collaboration_matches(entry, tokens)):
                group = groups[2]
            else:
                continue
            if len(group) < MAX_CANDIDATES:
                group.append(position)
            if len(groups[0]) >= MAX_CANDIDATES:
                break
    every = [*groups[0], *groups[1], *groups[2]][:MAX_CANDIDATES]
    return [s for s in every if _given_agrees(entry, signed.tokens[s])], every


def _assign(preferred: list[list[int]], every: list[list[int]]) -> dict[int, int]:
    """One signed author per entry name (maximum bipartite matching, iterative).

    One-to-one matters when two authors share a family name (``Fox, Judy`` and
    ``Fox, Geoffrey``): a fabricated second Fox must not hide behind the first.
    Names are first placed on candidates that agree on the given initial, then
    the rest may take any candidate, moving earlier names along augmenting paths.
    """
    owner: dict[int, int] = {}  # signed position -> entry index
    placed: dict[int, int] = {}  # entry index -> signed position
    for candidates in (preferred, every):
        for entry_index, options in enumerate(candidates):
            if entry_index in placed:
                continue
            free = next((s for s in options if s not in owner), None)
            if free is not None:
                owner[free], placed[entry_index] = entry_index, free
            else:
                _augment(entry_index, candidates, owner, placed)
    return placed


def _augment(root: int, candidates: list[list[int]], owner: dict[int, int],
             placed: dict[int, int]) -> None:
    parent: dict[int, int] = {}
    stack = [(root, iter(candidates[root]))]
    found: int | None = None
    while stack and found is None:
        current, options = stack[-1]
        for signed_position in options:
            if signed_position in parent:
                continue
            parent[signed_position] = current
            if signed_position not in owner:
                found = signed_position
            else:
                holder = owner[signed_position]
                stack.append((holder, iter(candidates[holder])))
            break
        else:
            stack.pop()
    while found is not None:
        entry_index = parent[found]
        previous = placed.get(entry_index)
        owner[found], placed[entry_index] = entry_index, found
        found = None if entry_index == root else previous


def _each_name_signed(entries: Iterable[_EntryWords | None],
                      names: tuple[tuple[str, ...], ...]) -> bool:
    """True when every comparable entry name has a signed name of its own ending in its family name.

    Then :func:`_judge`'s full matching finds every name (the usual case, decided
    without it). Why: such a signed name passes the first test of
    :func:`_candidates`, and with at most :data:`MAX_CANDIDATES` signed names
    sharing its last word no cut-off there can drop it; so every entry name
    has a distinct candidate, and :func:`_assign` (augmenting paths: a maximum
    matching) places them all. No collaboration (it may be left out unjudged),
    and at least one name (none is not judged).
    """
    by_last: dict[str, list[int]] = {}
    for position, tokens in enumerate(names):
        by_last.setdefault(tokens[-1], []).append(position)
    taken: set[int] = set()
    for entry in entries:
        if entry is None:
            continue
        if entry.collaboration:
            return False
        core = entry.core
        positions = by_last.get(core[-1], ())
        if len(positions) > MAX_CANDIDATES:
            return False
        size = len(core)
        for position in positions:
            if position not in taken and names[position][-size:] == core:
                taken.add(position)
                break
        else:
            return False
    return bool(taken)


def _judge(words: Sequence[_EntryWords | None],
           named: Callable[[], Iterable[tuple[PersonName, str]]],
           signed_text: str | None) -> AuthorComparison:
    """The comparison of the entry names' ``words`` with the signed list.

    ``named`` (each name and how it is shown) is only asked when the quick
    route of :func:`_each_name_signed` does not decide; it must give the names
    ``words`` was made from, in the same order.
    """
    if not signed_text or not signed_text.strip():
        return AuthorComparison(AuthorVerdict.NOT_JUDGED, note="no signed author list")
    names = _signed_names(signed_text)
    if not names:
        return AuthorComparison(AuthorVerdict.NOT_JUDGED, note="no signed author list")
    if _each_name_signed(words, names):
        found = sum(w is not None for w in words)
        return AuthorComparison(AuthorVerdict.MATCH, (), found, found)
    signed = _index_signed(names)
    entries = [e for e in (_entry_name(p, d) for p, d in named()) if e is not None]
    candidates = [_candidates(e, signed) for e in entries]
    # A collaboration the signed list does not name is left out: arXiv often lists
    # the people (or only some of them) where a .bib says "{ATLAS Collaboration}".
    judged = [i for i, e in enumerate(entries) if not e.collaboration or candidates[i][1]]
    if not judged:
        note = ("only collaborations, which the signed list does not name" if entries
                else "no comparable author names")
        return AuthorComparison(AuthorVerdict.NOT_JUDGED, note=note)
    placed = _assign([candidates[i][0] for i in judged], [candidates[i][1] for i in judged])
    missing = tuple(entries[i].display for n, i in enumerate(judged) if n not in placed)
    compared, matched = len(judged), len(judged) - len(missing)
    if matched == 0 or 2 * len(missing) > compared:
        verdict = AuthorVerdict.MISMATCH
    elif missing:
        verdict = AuthorVerdict.MINOR_DIFFERENCE
    else:
        verdict = AuthorVerdict.MATCH
    return AuthorComparison(verdict, missing, compared, matched)


def compare_authors(entry_author_field: str | None,
                    signed_authors_text: str | None) -> AuthorComparison:
    """Compare a BibTeX ``author`` field with a signed ``authors_text``.

    MISMATCH when the entry shares no author with the paper or more than half of
    its named authors are absent (fabricated co-authors, or the identifier of a
    different paper); MINOR_DIFFERENCE when a minority is absent (a typo, an
    added name: worth a warning naming them); MATCH otherwise. ``and others``
    limits the comparison to the names given, and a signed list longer than the
    entry's is fine. NOT_JUDGED when either side is empty, when the entry names
    only collaborations the signed list does not mention (arXiv may list the
    members instead; a guess either way would be noise), or when no name is in
    Latin script.
    """
    if not entry_author_field or not entry_author_field.strip():
        return AuthorComparison(AuthorVerdict.NOT_JUDGED, note="no author field")
    raw_names, _truncated = split_bibtex_names(entry_author_field)
    persons = [parse_person(raw) for raw in raw_names]
    return _judge([_words_of(p.family, p.given) for p in persons],
                  lambda: zip(persons, [plain_name(raw) for raw in raw_names], strict=True),
                  signed_authors_text)


def compare_author_names(entry_names: Sequence[PersonName],
                         signed_authors_text: str) -> AuthorComparison:
    """As :func:`compare_authors`, for formats with structured names (CSL-JSON, Zotero).

    Names may still hold LaTeX (Better BibTeX exports do); a literal or
    collaboration name goes in ``family`` with an empty ``given``.
    """
    names = [(_decoded(person.family), _decoded(person.given))
             for person in list(entry_names)[:MAX_NAMES]]
    if not names:
        return AuthorComparison(AuthorVerdict.NOT_JUDGED, note="no author names")
    return _judge([_words_of(family, given) for family, given in names],
                  lambda: [(PersonName(f, g), _shown(f, g)) for f, g in names],
                  signed_authors_text)


def _decoded(text: str) -> str:
    """``decode_latex(text[:MAX_NAME_CHARS])``, without the calls for short plain text.

    Why it is the same: the cut keeps a text no longer than :data:`MAX_NAME_CHARS`
    whole, and :func:`decode_latex` returns a text with no backslash unchanged.
    """
    if "\\" in text or len(text) > MAX_NAME_CHARS:
        return decode_latex(text[:MAX_NAME_CHARS])
    return text


def _shown(family: str, given: str) -> str:
    """A structured name as :class:`AuthorComparison` shows it when missing."""
    return plain_name(f"{family}, {given}" if given.strip() else family)
