"""Text for the terminal: nothing that came from a file or a server is printed raw.

A title, an entry key, a lock file's reason or a server's error message can
carry ANSI escape sequences or other control characters that rewrite what the
user sees (hide a line, fake a "verified"). Every such character is shown as
a visible escape instead.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

# What a terminal acts on beyond C0 controls: DEL and C1 controls, line and paragraph
# separators, bidi marks, overrides and isolates, and lone surrogates (valid JSON
# escapes that no terminal encoding can print). JSON escapes C0 itself.
_ACTED_ON = r"\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_CONTROL_RE = re.compile(  # a line break too: a file name must not fake a line of output
    rf"[\x00-\x08\x0a-\x1f{_ACTED_ON}]")
_CONTROL_WITH_NEWLINES_RE = re.compile(rf"[\x00-\x08\x0b\x0c\x0e-\x1f{_ACTED_ON}]")
_JSON_UNSAFE_RE = re.compile(rf"[{_ACTED_ON}]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with control and bidi-override characters escaped (``\\x1b``, ``\\u202e``)."""
    pattern = _CONTROL_WITH_NEWLINES_RE if keep_newlines else _CONTROL_RE
    return pattern.sub(_escape, text)


def json_text(value: Any) -> str:
    """``--json`` output: readable Unicode, with every character a terminal would act on
    written as a JSON escape (the same string to any JSON reader)."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    return _JSON_UNSAFE_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def shortened(text: str, limit: int = 300) -> str:
    """A value from a file, bounded for a message.

    Why: a hostile .bib's megabyte title or pith field would otherwise be echoed
    whole to the terminal and into every report; its start says which it is.
    """
    return text if len(text) <= limit else text[:limit] + "…"


def quoted(text: str, limit: int = 300) -> str:
    """:func:`shortened`, as a Python literal (quotes, escapes)."""
    return repr(shortened(text, limit))


def make_output_safe() -> None:
    """Never let an unencodable character (a lone surrogate from a JSON escape) kill a run.

    Whatever ``clean`` missed, and ``--json`` output, is written with
    backslash escapes instead of raising ``UnicodeEncodeError`` mid-report.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
