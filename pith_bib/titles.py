"""Compare a .bib title with the signed arXiv title, LaTeX on either side.

The classic wrong-identifier mistake (an eprint copied from the neighbouring
entry) leaves a perfectly valid id on the wrong paper; the signed title is the
only thing that can catch it. Titles differ in harmless ways — protective
braces, case, accents written as ``{\\'e}``, math, punctuation — so both are
reduced to a comparison key first, and only a clear difference is reported.
"""

from __future__ import annotations

import re
import unicodedata

from . import ulatex

_COMMAND_RE = re.compile(r"\\[A-Za-z]+\*?\s*")
_SYMBOL_RE = re.compile(r"\\[^A-Za-z\s]")
_NON_WORD_RE = re.compile(r"[\W_]+")
_ASCII_NON_WORD = {code: " " for code in range(128) if not chr(code).isalnum()}
MATCH_THRESHOLD = 0.8
MAX_COMPARED_CHARS = 1000


def latex_to_text(text: str) -> str:
    """Plain Unicode for a LaTeX title: accents decoded, commands and braces dropped.

    Without a backslash there is no control sequence, and what the codec would
    change (``--``, ``~``, quotes) is punctuation, which the comparison key drops
    anyway; with one, :func:`pith_bib.ulatex.decode` decodes as the codec does.
    """
    if "\\" not in text:  # no control sequence: the codec and both patterns are no-ops
        return " ".join(text.replace("{", "").replace("}", "").replace("$", "").split())
    return _plain(ulatex.decode(text))


def _latex_to_text_reference(text: str) -> str:
    """:func:`latex_to_text` by the codec itself, kept to test the quick routes against."""
    return _plain(ulatex.decode_by_codec(text) if "\\" in text else text)


def _plain(decoded: str) -> str:
    decoded = _COMMAND_RE.sub(" ", decoded)
    decoded = _SYMBOL_RE.sub(" ", decoded)
    decoded = decoded.replace("{", "").replace("}", "").replace("$", "")
    return " ".join(decoded.split())


def title_key(text: str, decode: bool = True) -> str:
    """Case-, accent-, brace- and punctuation-free form used for comparison.

    ``decode=False`` skips the LaTeX decoding and just drops control sequences:
    good enough to recognise most equal titles quickly (``Schr\\"odinger``
    and ``Schrödinger`` both become ``schrodinger``).
    """
    if "\\" not in text:  # the common case, see _ascii_key
        plain = text.replace("{", "").replace("}", "").replace("$", "") if decode else text
        if plain.isascii():
            return _ascii_key(plain)
    return _fold(latex_to_text(text) if decode else _drop_commands(text))


def _ascii_key(plain: str) -> str:
    """:func:`_title_key_reference`'s folding for ASCII text with no control sequence.

    Why it is the same: on ASCII, ``casefold`` is ``lower`` and ``[\\W_]`` is every
    character but a letter or digit, which the table turns into a space; the
    patterns that drop control sequences need a backslash, and there is none.
    """
    return " ".join(plain.lower().translate(_ASCII_NON_WORD).split())


def _title_key_reference(text: str, decode: bool = True) -> str:
    """The comparison key by the general route and the codec: any text, any script."""
    return _fold(_latex_to_text_reference(text) if decode else _drop_commands(text))


def _drop_commands(text: str) -> str:
    return _SYMBOL_RE.sub("", _COMMAND_RE.sub(" ", text))


def _fold(plain: str) -> str:
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
    import difflib  # here: most titles are equal once folded, and difflib is slow to import

    return difflib.SequenceMatcher(None, key_a, key_b, autojunk=False).ratio()


def titles_match(bib_title: str, signed_title: str) -> bool:
    """False only for a clear mismatch; small wording or markup changes still match."""
    return title_similarity(bib_title, signed_title) >= MATCH_THRESHOLD
