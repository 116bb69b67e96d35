"""pith-bib: verified pith numbers for every paper in a BibTeX/BibLaTeX bibliography.

The public API: verify documents against a trust root, judge a verified record
against what an entry claims (the policy), resolve identifiers, and the
settings every command is built from. Names load on first use (PEP 562), so
``import pith_bib`` (and every ``pith-bib`` command, which imports this
package first) pays only for what it touches: ``check`` never loads the
resolver or the network stack.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ._version import __version__

_EXPORTS = {
    "Claims": "policy", "Code": "policy", "Finding": "policy", "Policy": "policy",
    "Query": "policy", "Status": "policy", "entry_policy": "policy",
    "parse_query": "policy",
    "PithBibError": "errors",
    "PithNumber": "canonical", "canonical_sha256": "canonical",
    "parse_pith_number": "canonical", "pith_number": "canonical",
    "Settings": "settings", "load_settings": "settings",
    "TrustRoot": "trust",
    "VerificationReport": "report",
    "verify_document": "verify",
    "verify_evidence": "evidence",
}

__all__ = [
    "Claims",
    "Code",
    "Finding",
    "PithBibError",
    "PithNumber",
    "Policy",
    "Query",
    "Settings",
    "Status",
    "TrustRoot",
    "VerificationReport",
    "__version__",
    "canonical_sha256",
    "entry_policy",
    "load_settings",
    "parse_pith_number",
    "parse_query",
    "pith_number",
    "verify_document",
    "verify_evidence",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pith_bib' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, eagerly
    from .canonical import PithNumber, canonical_sha256, parse_pith_number, pith_number
    from .errors import PithBibError
    from .evidence import verify_evidence
    from .policy import Claims, Code, Finding, Policy, Query, Status, entry_policy, parse_query
    from .report import VerificationReport
    from .settings import Settings, load_settings
    from .trust import TrustRoot
    from .verify import verify_document
