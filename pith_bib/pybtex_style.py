"""pybtex formatting styles that print an entry's verified pith number.

Registered as ``pith-unsrt``, ``pith-plain`` and ``pith-alpha`` in the
``pybtex.style.formatting`` entry-point group, so sphinxcontrib-bibtex users
only set ``bibtex_default_style = "pith-unsrt"``. Each is pybtex's own style
with a single override, :meth:`PithStyleMixin.format_web_refs`, so every other
part of the reference renders exactly as the stock style does.

Only an entry whose ``pith_status`` says the number was verified gets it
printed: a number pith-bib could not check (``not-found``, ``conflict``, …)
must not look endorsed in a published bibliography. The number printed is the
canonical form re-derived by :func:`parse_pith_number`, never the raw field
text, so a hostile ``.bib`` cannot smuggle markup or control characters through
this style.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pybtex.style.formatting.alpha import Style as AlphaStyle
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.template import href

from .canonical import parse_pith_number
from .errors import PithNumberError
from .policy import shown_status

RESOLVER_URL = "https://pith.science/pith/"
"""The registry's human page for a number is this prefix plus the 26-character ID."""

_MAX_FIELD = 200  # a pith number is 36 characters; anything far longer is not one


class PithLink(NamedTuple):
    """What a renderer prints: the canonical number and the page it links to."""

    number: str
    url: str


def pith_link(pith: object, status: object) -> PithLink | None:
    """The number to print for these two field values, or None to print nothing.

    Shared by every renderer (pybtex, the pandoc filter) so they agree on one
    rule: the status must be verified or record-verified, and the number must
    parse as a full ``pith:YYYY:ID`` (a short prefix has no resolver page).
    """
    if not isinstance(pith, str) or not isinstance(status, str):
        return None
    if not shown_status(status) or len(pith) > _MAX_FIELD:
        return None
    try:
        number = parse_pith_number(pith.strip().strip("{}"))
    except PithNumberError:
        return None
    if not number.is_full or number.year is None:
        return None
    return PithLink(number=str(number), url=RESOLVER_URL + number.id)


class PithStyleMixin:
    """Append the verified number after URL/eprint/PubMed/DOI, inside the same sentence."""

    def format_web_refs(self, e: Any) -> Any:
        template = super().format_web_refs(e)  # type: ignore[misc]
        link = pith_link(e.fields.get("pith"), e.fields.get("pith_status"))
        if link is None:
            return template
        return template[href(link.url)[link.number]]


class PithUnsrtStyle(PithStyleMixin, UnsrtStyle):
    """pybtex ``unsrt`` (citation order) plus verified pith numbers."""


class PithPlainStyle(PithStyleMixin, PlainStyle):
    """pybtex ``plain`` (sorted by author, year, title) plus verified pith numbers."""


class PithAlphaStyle(PithStyleMixin, AlphaStyle):
    """pybtex ``alpha`` (labels such as ``[Knu84]``) plus verified pith numbers."""
