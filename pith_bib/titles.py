"""Compare a .bib title with the signed arXiv title, LaTeX on either side.

The classic wrong-identifier mistake (an eprint copied from the neighbouring
entry) leaves a perfectly valid id on the wrong paper; the signed title is the
only thing that can catch it. Titles differ in harmless ways — protective
braces, case, accents written as ``{\\'e}``, math, punctuation — so both are
reduced to a comparison key first, and only a clear difference is reported.
"""

from __future__ import annotations

import codecs
import difflib
import importlib
import re
import unicodedata

_COMMAND_RE = re.compile(r"\\[A-Za-z]+\*?\s*")
_SYMBOL_RE = re.compile(r"\\[^A-Za-z\s]")
_NON_WORD_RE = re.compile(r"[\W_]+")
_ASCII_NON_WORD = {code: " " for code in range(128) if not chr(code).isalnum()}
MATCH_THRESHOLD = 0.8
MAX_COMPARED_CHARS = 1000


_LATEXCODEC: list[object] = []  # the module, once imported


def decode_ulatex(text: str) -> str:
    """``codecs.decode(text, "ulatex")``; the codec (a pybtex dependency) is loaded on first use.

    Why lazily: importing latexcodec costs about 8 ms of start-up, and only
    text with a backslash ever needs it.
    """
    if not _LATEXCODEC:
        _LATEXCODEC.append(importlib.import_module("latexcodec"))  # registers "ulatex"
    return codecs.decode(text, "ulatex")


def latex_to_text(text: str) -> str:
    """Plain Unicode for a LaTeX title: accents decoded, commands and braces dropped.

    The LaTeX codec is slow (about 0.5 ms a title) and only matters when the
    text has a control sequence; without a backslash, what it would change
    (``--``, ``~``, quotes) is punctuation, which the comparison key drops anyway.
    """
    if "\\" not in text:  # no control sequence: the codec and both patterns are no-ops
        return " ".join(text.replace("{", "").replace("}", "").replace("$", "").split())
    return _latex_to_text_reference(text)


def _latex_to_text_reference(text: str) -> str:
    """:func:`latex_to_text` by the general route, kept whole to test the quick one against."""
    decoded = text
    if "\\" in text:
        try:
            decoded = decode_ulatex(text)
        except (ValueError, TypeError, IndexError, KeyError):
            decoded = text
    decoded = _COMMAND_RE.sub(" ", decoded)
    decoded = _SYMBOL_RE.sub(" ", decoded)
    decoded = decoded.replace("{", "").replace("}", "").replace("$", "")
    return " ".join(decoded.split())


def title_key(text: str, decode: bool = True) -> str:
    """Case-, accent-, brace- and punctuation-free form used for comparison.

    ``decode=False`` skips the LaTeX codec and just drops control sequences:
    good enough to recognise most equal titles quickly (``Schr\\"odinger``
    and ``Schrödinger`` both become ``schrodinger``).
    """
    if "\\" not in text:  # the common case, see _ascii_key
        plain = text.replace("{", "").replace("}", "").replace("$", "") if decode else text
        if plain.isascii():
            return _ascii_key(plain)
    return _title_key_reference(text, decode)


def _ascii_key(plain: str) -> str:
    """:func:`_title_key_reference`'s folding for ASCII text with no control sequence.

    Why it is the same: on ASCII, ``casefold`` is ``lower`` and ``[\\W_]`` is every
    character but a letter or digit, which the table turns into a space; the
    patterns that drop control sequences need a backslash, and there is none.
    """
    return " ".join(plain.lower().translate(_ASCII_NON_WORD).split())


def _title_key_reference(text: str, decode: bool = True) -> str:
    """The comparison key by the general route: any text, any script."""
    if decode:
        plain = _latex_to_text_reference(text)
    else:
        plain = _SYMBOL_RE.sub("", _COMMAND_RE.sub(" ", text))
    if not plain.isascii():
        plain = unicodedata.normalize("NFKD", plain)
        plain = "".join(c for c in plain if not unicodedata.combining(c))
    return " ".join(_NON_WORD_RE.sub(" ", plain.casefold()).split())


def title_similarity(a: str, b: str) -> float:
    if title_key(a, decode=False) == title_key(b, decode=False):
        return 1.0
    key_a, key_b = title_key(a), title_key(b)
    if key_a == key_b:
        return 1.0
    if not key_a or not key_b:
        return 0.0
    # The comparison is quadratic: no real title is near this long, a hostile one may be.
    key_a, key_b = key_a[:MAX_COMPARED_CHARS], key_b[:MAX_COMPARED_CHARS]
    return difflib.SequenceMatcher(None, key_a, key_b, autojunk=False).ratio()


def titles_match(bib_title: str, signed_title: str) -> bool:
    """False only for a clear mismatch; small wording or markup changes still match."""
    return title_similarity(bib_title, signed_title) >= MATCH_THRESHOLD
