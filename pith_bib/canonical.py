"""Canonical JSON, digests and pith numbers, exactly as the registry computes them.

Every hash the registry signs is over these bytes, so any deviation here (key
order, separators, escaping) turns every genuine document into a forgery. The
rules are in PITH_PROTOCOL.md and were checked on the real seed documents.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from .errors import PithNumberError
from .terminal import quoted

PITH_ID_LENGTH = 26
SHORT_LENGTHS = (8, 12, 16)
_B32_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_ID_RE = re.compile(r"[A-Z2-7]{8,26}")
_HEX64_RE = re.compile(r"[0-9a-f]{64}")


def canonical_text(obj: Any) -> str:
    """Sorted keys, no spaces, raw Unicode: the one compact JSON form this tool writes.

    Also what the lock file and the cache store, so equal values give equal bytes.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(obj: Any) -> bytes:
    """The registry's canonical serialisation: sorted keys, no spaces, raw UTF-8."""
    return canonical_text(obj).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_sha256(obj: Any) -> str:
    """``H(x)`` of the protocol: hex sha256 of the canonical bytes."""
    return hashlib.sha256(canonical_bytes(obj)).hexdigest()


def canon_text(text: str) -> str:
    """Whitespace runs to one space, ends trimmed, lower-cased; LaTeX kept verbatim.

    arXiv's metadata is ASCII (accents are TeX), so this is exact for it. For
    non-ASCII text from elsewhere the registry's rule is unknown: ``str.lower()`` is
    applied to the text as given, without Unicode normalisation.
    """
    return " ".join(text.split()).lower()


def canon_text_sha256(text: str) -> str:
    """``title_canon_sha256``/``abstract_canon_sha256``: sha256 of :func:`canon_text`."""
    return hashlib.sha256(canon_text(text).encode("utf-8")).hexdigest()


def is_sha256_hex(text: object) -> bool:
    """True only for the canonical form: 64 lower-case hex digits, nothing else."""
    return isinstance(text, str) and _HEX64_RE.fullmatch(text) is not None


def pith_id(canonical_sha256_hex: str) -> str:
    """The 26-character ID: base32 of the digest, cut to 130 bits."""
    if not is_sha256_hex(canonical_sha256_hex):
        raise PithNumberError(f"not a sha256 hex digest: {canonical_sha256_hex!r}")
    return base64.b32encode(bytes.fromhex(canonical_sha256_hex)).decode("ascii")[:PITH_ID_LENGTH]


def pith_number(canonical_sha256_hex: str, year: int) -> str:
    """``pith:YYYY:ID`` for a canonical record digest and its submission year."""
    return f"pith:{int(year):04d}:{pith_id(canonical_sha256_hex)}"


def short_pith_number(full_id: str) -> str:
    """``pith:XXXXXXXX``: the 8-character short form the registry prints."""
    return f"pith:{full_id[:8]}"


@dataclass(frozen=True)
class PithNumber:
    """A parsed pith number; ``id`` may be a prefix when a short form was written."""

    id: str
    year: int | None = None

    @property
    def is_full(self) -> bool:
        return len(self.id) == PITH_ID_LENGTH

    def __str__(self) -> str:
        if self.year is not None and self.is_full:
            return f"pith:{self.year:04d}:{self.id}"
        return f"pith:{self.id}"

    def matches(self, full_number: str) -> bool:
        """Whether a full ``pith:YYYY:ID`` is the number this (possibly short) one names."""
        try:
            other = parse_pith_number(full_number)
        except PithNumberError:
            return False
        if self.year is not None and other.year is not None and self.year != other.year:
            return False
        return other.id.startswith(self.id)


def parse_pith_number(text: str) -> PithNumber:
    """Accept every way people write a pith number, reject everything else clearly.

    Forms: ``pith:2018:ID``, ``pith:ID``, bare ``ID`` and short prefixes of at
    least 8 characters (``pith:DM6GBYSN``). Case is forgiven because people copy
    numbers by hand; the stored form is always upper case.
    """
    raw = text  # quoted (and bounded) only for a message: a field may be megabytes
    text = text.strip()
    year: int | None = None
    body = text
    if text[:5].lower() == "pith:":
        body = text[5:]
        head, sep, rest = body.partition(":")
        if sep:
            if len(head) != 4 or not (head.isascii() and head.isdigit()):
                raise PithNumberError(f"{quoted(raw, 80)}: the year in pith:YEAR:ID must be "
                                      "four digits")
            year = int(head)  # four ASCII digits
            body = rest
    # ASCII first: upper() maps some letters to ASCII ones ("ß" to "SS")
    ident = body.upper() if body.isascii() else body
    if not _ID_RE.fullmatch(ident):
        if any(c not in _B32_CHARS for c in ident):
            raise PithNumberError(
                f"{quoted(raw, 80)} is not a pith number: the ID may only use A-Z and 2-7 (base32)"
            )
        raise PithNumberError(
            f"{quoted(raw, 80)} is not a pith number: the ID must be 8 to {PITH_ID_LENGTH} "
            "characters"
        )
    if year is not None and len(ident) != PITH_ID_LENGTH:
        raise PithNumberError(f"{quoted(raw, 80)}: pith:YEAR:ID needs the full "
                              f"{PITH_ID_LENGTH}-character ID")
    return PithNumber(id=ident, year=year)
