"""One bounded, strict JSON reader for every JSON this tool reads.

Documents, lock files, cache records and mirror alias files can all come from
someone else (a mirror, a pull request, a shared cache), so none of them may
cost more than its size: the byte cap is checked on what was read, a document
nested deeper than the limit is a one-line error (the C parser's own recursion
guard stops a pathological one early, and the limit is measured on the parsed
tree, which is linear in its size), and duplicate keys are refused because
"last one wins" lets an edit hide a value from a reviewer.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import JsonFormatError

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 48

_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")


def _pairs_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):  # a key repeated: name the first one seen twice
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JsonFormatError(f"duplicate key {key!r} in a JSON object")
            seen.add(key)
    return obj


def _reject_constant(name: str) -> Any:
    raise JsonFormatError(f"{name} is not allowed")


def ascii_int(text: str | None, max_digits: int = 15) -> int | None:
    """A whole number written in ASCII digits (an HTTP header, a year); None otherwise.

    Why not ``text.isdigit()``: it is also true for superscripts and other
    scripts' digits, which ``int`` then refuses (a crash) or reads as another
    number (``٢٠١٩`` is 2019). Surrounding blanks are allowed, as in headers.
    """
    value = text.strip() if text is not None else ""
    if not value or len(value) > max_digits or not (value.isascii() and value.isdigit()):
        return None
    return int(value)


def json_error_reason(exc: ValueError) -> str:
    """Why ``json`` refused a text, said of the file.

    Past about 4,300 digits Python's ``int`` refuses a number with advice to
    the programmer (``sys.set_int_max_str_digits``); a user reading why a file
    was refused needs to hear what is wrong with the file. (Translated here, not
    prevented by a ``parse_int`` hook, which would slow every number read.)
    """
    reason = str(exc)
    if "integer string conversion" in reason:
        return "a number with more digits than any reader converts"
    return reason


def _reject_float(text: str) -> Any:
    # The format has no fractional numbers, and their canonical form differs
    # between JSON implementations, so one can only be a forgery or a mistake.
    raise JsonFormatError(f"fractional number {text} is not allowed")


def deeper_than(value: Any, limit: int) -> bool:
    """Whether parsed JSON nests objects and arrays more than ``limit`` deep.

    Walked with an explicit stack over containers only: linear in the size of
    the document, and no recursion however deep it is.
    """
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


def _may_nest_deeper(text: str, limit: int) -> bool:
    """False when ``text`` cannot nest more than ``limit`` deep, told without the walk.

    Every object or array opens with a bracket character, so their count (those
    inside strings too, which only loosens the bound) caps the depth: a small
    document, such as a lock file's evidence for one paper, is never walked.
    """
    return text.count("{") + text.count("[") > limit


def decode_utf8(data: bytes | bytearray | memoryview, *, max_bytes: int, what: str) -> str:
    """The text of ``data`` (a leading BOM dropped), refusing oversized or non-UTF-8 input."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise JsonFormatError(f"{what} must be bytes")
    if len(data) > max_bytes:
        raise JsonFormatError(f"{what} is {len(data)} bytes, over the {max_bytes}-byte limit")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise JsonFormatError(f"{what} is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    return text.removeprefix("\ufeff")


def load_json(data: bytes | bytearray | memoryview, *, max_bytes: int = MAX_DOCUMENT_BYTES,
              max_depth: int = MAX_DEPTH, allow_floats: bool = False,
              what: str = "document") -> Any:
    """Strict JSON: UTF-8, at most ``max_bytes``, ``max_depth`` deep, no duplicate keys, no NaN.

    Raises :class:`JsonFormatError` with a one-line reason; never anything else.
    """
    text = decode_utf8(data, max_bytes=max_bytes, what=what)
    try:
        obj = json.loads(
            text,
            object_pairs_hook=_pairs_without_duplicates,
            parse_constant=_reject_constant,
            parse_float=None if allow_floats else _reject_float,
        )
    except JsonFormatError as exc:
        raise JsonFormatError(f"{what}: {exc}") from None
    except RecursionError:
        raise JsonFormatError(f"{what}: JSON nested deeper than {max_depth} levels") from None
    except ValueError as exc:
        raise JsonFormatError(f"{what}: not well-formed JSON: {json_error_reason(exc)}") \
            from None
    if _may_nest_deeper(text, max_depth) and deeper_than(obj, max_depth):
        raise JsonFormatError(f"{what}: JSON nested deeper than {max_depth} levels")
    if _SURROGATE_ESCAPE_RE.search(text):  # only escapes can smuggle in a lone surrogate
        try:
            json.dumps(obj, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise JsonFormatError(f"{what}: JSON string holds an unpaired surrogate escape") \
                from None
    return obj
