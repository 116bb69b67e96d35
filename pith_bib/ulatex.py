"""LaTeX to Unicode exactly as latexcodec's ``ulatex`` codec decodes it, about ten times faster.

Titles and author names are compared after decoding, and the codec costs about
50 µs a name (its generators and named tuples, not its rules). :func:`decode`
runs the codec's own lexer pattern and translation table with the same rules;
anything it cannot reproduce exactly goes to the codec itself, and the tests
compare the two on every title and name in the shared corpora.
"""

from __future__ import annotations

import codecs
import importlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_LATEXCODEC: list[object] = []  # the module, once imported


def decode_ulatex(text: str) -> str:
    """``codecs.decode(text, "ulatex")``; the codec (a pybtex dependency) is loaded on first use.

    Why lazily: importing latexcodec costs about 8 ms of start-up, and only
    text with a backslash ever needs it.
    """
    if not _LATEXCODEC:
        _LATEXCODEC.append(importlib.import_module("latexcodec"))  # registers "ulatex"
    return codecs.decode(text, "ulatex")


def decode_by_codec(raw: str) -> str:
    """The codec's decoding; ``raw`` unchanged when the codec refuses it."""
    try:
        return decode_ulatex(raw)
    except Exception:  # the codec's failure modes on hostile input are not documented
        return raw


_CodecToken = tuple[str, str]  # (latexcodec token name, text)


class _Node:
    """A reverse trie of latexcodec's keys: children by token, from a key's last token back."""

    __slots__ = ("children", "text")

    def __init__(self) -> None:
        self.children: dict[_CodecToken, _Node] = {}
        self.text: str | None = None  # the translation of the key ending here


@dataclass(frozen=True)
class UlatexTables:
    """The decoder's tables, built once per process from the codec's own mapping."""

    lexer: re.Pattern[str]
    trie: _Node
    max_length: int


ULATEX_TABLES: list[UlatexTables | None] = []  # built on first use


# latexcodec's lexer pattern and translation table as plain data, shipped with the
# package (scripts/make_ulatex_table.py writes it; a test compares it with the
# installed latexcodec): importing latexcodec builds the table by lexing every key,
# about 25 ms of a run that meets one backslash.
TABLE_PATH = Path(__file__).resolve().parent / "data" / "ulatex_table.json"


def table_from_latexcodec() -> dict[str, Any]:
    """The installed latexcodec's lexer and table, as :data:`TABLE_PATH` holds them."""
    lexer = importlib.import_module("latexcodec.lexer").LatexLexer.regexp
    table = importlib.import_module("latexcodec.codec")._LATEX_UNICODE_TABLE
    return {"pattern": lexer.pattern, "flags": int(lexer.flags),
            "max_length": int(table.max_length),
            "entries": [[[[token.name, token.text] for token in key], text]
                        for key, text in table.unicode_map.items()]}


def table_json(table: dict[str, Any]) -> str:
    """The table as the shipped file writes it: one entry a line, for readable diffs."""
    head = {k: v for k, v in table.items() if k != "entries"}
    lines = [json.dumps(entry, ensure_ascii=False) for entry in table["entries"]]
    return (json.dumps(head, ensure_ascii=False)[:-1] + ', "entries": [\n'
            + ",\n".join(lines) + "\n]}\n")


def _shipped_table() -> dict[str, Any] | None:
    try:
        table = json.loads(TABLE_PATH.read_bytes())
    except (OSError, ValueError):
        return None
    return table if isinstance(table, dict) else None


def _build_tables(table: dict[str, Any]) -> UlatexTables:
    trie = _Node()
    for key, text in table["entries"]:
        node = trie
        for name, token_text in reversed(key):
            node = node.children.setdefault((str(name), str(token_text)), _Node())
        node.text = str(text)
    return UlatexTables(re.compile(table["pattern"], table["flags"]), trie,
                        int(table["max_length"]))


def ulatex_tables() -> UlatexTables | None:
    """The lexer and the translation table as a reverse trie, built on first use.

    From the shipped copy, else from latexcodec itself; None when neither can
    be had (the codec then decodes everything).
    """
    if not ULATEX_TABLES:
        tables = None
        for source in (_shipped_table, table_from_latexcodec):
            try:
                table = source()
                if table is not None:
                    tables = _build_tables(table)
                    break
            except (ImportError, AttributeError, KeyError, TypeError, ValueError, re.error):
                continue
        ULATEX_TABLES.append(tables)
    return ULATEX_TABLES[0]


def decode(raw: str) -> str:
    """``codecs.decode(raw, "ulatex")`` as the codec computes it, about ten times faster.

    Why it is the same: it runs latexcodec's own lexer pattern, the same
    space/newline/comment state machine (``LatexIncrementalLexer.get_tokens``),
    and the same rule for translation (``LatexIncrementalDecoder.get_unicode_tokens``:
    after each token, the longest table key that ends the buffer of untranslated
    tokens wins; the buffer is flushed at the table's longest key); control words
    are written back with a space, as ``decode_token`` does. The codec is slow
    for its generators and named tuples, not its rules. A lone trailing
    backslash (the codec's strict error) goes to the codec itself.
    """
    tables = ulatex_tables()
    if tables is None:
        return decode_by_codec(raw)
    tokens = _tokens(raw, tables.lexer)
    if tokens is None:
        return decode_by_codec(raw)
    return _translate_tokens(tokens, tables)


def _tokens(raw: str, lexer: re.Pattern[str]) -> list[_CodecToken] | None:
    """latexcodec's token stream (spaces after control sequences skipped, newlines folded)."""
    tokens: list[_CodecToken] = []
    state = "N"  # start of line, skipping spaces, middle of line
    for match in lexer.finditer(raw):
        kind = match.lastgroup or "unknown"
        if kind == "space":
            if state != "M":
                continue
            state = "S"
        elif kind in ("control_word", "control_symbol"):
            state = "S"
        elif kind == "newline":
            if state == "M":
                tokens.append(("space", " "))
            elif state == "N":
                tokens.append(("control_word", "\\par"))
            state = "N"
            continue
        elif kind == "comment":
            state = "S"
            continue
        elif kind == "unknown":
            return None
        else:  # chars, math shift, parameter, control symbols that keep spaces
            state = "M"
        tokens.append((kind, match.group()))
    return tokens


def _translate_tokens(tokens: list[_CodecToken], tables: UlatexTables) -> str:
    out: list[str] = []
    buffer: list[_CodecToken] = []
    ends = tables.trie.children
    for token in tokens:
        buffer.append(token)
        if token not in ends:  # no key ends with it: nothing can match
            size = 0
        else:
            size, text = _longest_key(buffer, tables.trie)
        if size:
            out.extend(_token_text(t) for t in buffer[:-size])
            out.append(text)
            buffer.clear()
        while len(buffer) >= tables.max_length:
            out.append(_token_text(buffer.pop(0)))
    out.extend(_token_text(t) for t in buffer)
    return "".join(out)


def _longest_key(buffer: list[_CodecToken], trie: _Node) -> tuple[int, str]:
    """The length and translation of the longest key ending the buffer (0 for none)."""
    node: _Node | None = trie
    size, text = 0, ""
    for depth in range(len(buffer) - 1, -1, -1):
        node = node.children.get(buffer[depth])
        if node is None:
            break
        if node.text is not None:
            size, text = len(buffer) - depth, node.text
    return size, text


def _token_text(token: _CodecToken) -> str:
    return token[1] + " " if token[0] == "control_word" else token[1]
