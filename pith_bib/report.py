"""What a verified (or rejected) document proves, as plain data.

Kept apart from the checker so that the cache, the lock and the policy can
read a report without importing the verification machinery, and so that a
report can be stored and rebuilt (the cache keeps verdicts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .policy import Status

VERIFIED = Status.VERIFIED.value
RECORD_VERIFIED = Status.RECORD_VERIFIED.value
INVALID = Status.INVALID.value
MAX_REASONS = 50


class Reason(str):
    """A failed check's message, carrying a stable ``code`` callers may branch on.

    A ``str`` so reports print and compare as text; ``code`` names the
    protocol rule that failed (``signature``, ``record-hash``, ``unknown-field``…).
    """

    code: str

    def __new__(cls, message: str, code: str = "malformed") -> Reason:
        obj = super().__new__(cls, message)
        obj.code = code
        return obj

    def __reduce__(self) -> tuple[Any, ...]:  # keep the code across pickling (forked workers)
        return (Reason, (str(self), self.code))


@dataclass
class VerificationReport:
    """What a document proves. ``reasons`` is empty exactly when status is not invalid.

    ``authors`` is the signed snapshot's ``authors_text`` (given names first,
    sorted by given name, LaTeX as arXiv has it), and only from a signed snapshot:
    a state's copy is unsigned, so for a state it is None.
    """

    status: str = INVALID
    kind: str | None = None
    pith_number: str | None = None
    arxiv_id: str | None = None
    arxiv_version: int | None = None
    title: str | None = None
    key_id: str | None = None
    reasons: list[str] = field(default_factory=list)
    canonical_sha256: str | None = None
    submitted_at: str | None = None
    built_at: str | None = None
    event_count: int | None = None
    aliases: list[tuple[str, str]] = field(default_factory=list)
    # the keys that signed, then any other pinned key the document names (a
    # state's unsigned cut events): a stored verdict counts while all stay pinned
    key_fingerprints: list[str] = field(default_factory=list)
    authors: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in (VERIFIED, RECORD_VERIFIED)

    @property
    def reason_codes(self) -> list[str]:
        return [getattr(r, "code", "malformed") for r in self.reasons]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data; every field is a scalar or a flat list, so no deep copy is needed."""
        data = {name: getattr(self, name) for name in _FIELD_ORDER}
        data["aliases"] = [list(a) for a in self.aliases]
        data["reasons"] = [str(r) for r in self.reasons]
        data["key_fingerprints"] = list(self.key_fingerprints)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VerificationReport:
        """Rebuild a report saved with ``to_dict`` (the cache keeps verdicts this way).

        A dict with exactly the report's fields (every stored verdict) fills the
        instance directly, as the generated ``__init__`` would assign them: a
        warm run rebuilds one report per paper, and the keyword call was most
        of that cost.
        """
        aliases = [tuple(a) for a in data.get("aliases", [])]
        if data.keys() == _REPORT_FIELDS:
            report = cls.__new__(cls)
            report.__dict__.update(data)
            report.aliases = aliases
            return report
        names = _REPORT_FIELDS
        values = {k: v for k, v in data.items() if k in names}
        return cls(**{**values, "aliases": aliases})

    @classmethod
    def stored_fields(cls) -> frozenset[str]:
        """Every field a stored report must carry to be reused (older formats lack some)."""
        return _REPORT_FIELDS


_FIELD_ORDER = tuple(VerificationReport.__dataclass_fields__)
_REPORT_FIELDS = frozenset(_FIELD_ORDER)
