"""pith-bib: verified pith numbers for every paper in a BibTeX/BibLaTeX bibliography."""

from __future__ import annotations

from .canonical import PithNumber, canonical_sha256, parse_pith_number, pith_number
from .errors import PithBibError
from .trust import TrustRoot
from .verify import VerificationReport, verify_document

__version__ = "0.1.0"

__all__ = [
    "PithBibError",
    "PithNumber",
    "TrustRoot",
    "VerificationReport",
    "__version__",
    "canonical_sha256",
    "parse_pith_number",
    "pith_number",
    "verify_document",
]
