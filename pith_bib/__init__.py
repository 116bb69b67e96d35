"""pith-bib: verified pith numbers for every paper in a BibTeX/BibLaTeX bibliography.

The public API: verify documents against a trust root, judge a verified record
against what an entry claims (the policy), resolve identifiers, and the
settings every command is built from.
"""

from __future__ import annotations

from ._version import __version__
from .canonical import PithNumber, canonical_sha256, parse_pith_number, pith_number
from .errors import PithBibError
from .evidence import verify_evidence
from .policy import Claims, Code, Finding, Policy, Query, Status, entry_policy, parse_query
from .report import VerificationReport
from .settings import Settings, load_settings
from .trust import TrustRoot
from .verify import verify_document

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
