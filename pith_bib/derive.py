"""Compute a paper's pith number from arXiv's own metadata, without asking the registry.

The registry builds each canonical record from arXiv's metadata (PITH_PROTOCOL.md,
"Deriving a pith number from arXiv metadata"), so anyone holding the same metadata
can recompute the record, its hash and therefore the number. Everything here is
pure: no I/O, no clock. A derived number is only a *hint* for where to look; the
signed bundle it names is still verified and must name the entry's arXiv id.

Two inputs are often uncertain, which is why :func:`derive_candidates` exists:

- the **license**: the arXiv Atom API does not report it, so every license arXiv
  uses is tried, most common first;
- the **version**: the registry built its record from the latest version *at the
  time it built it*; if arXiv has gained a revision since, the record is for an
  earlier version. For an earlier version ``N`` the record's ``source.version`` is
  ``N`` and ``submitted_at`` is still the v1 time, but the title and abstract are
  the ones the caller holds: the Atom API and OAI ``arXivRaw`` give only the
  latest version's text (arXivRaw lists every version's date, but one title and
  abstract). A candidate for an earlier version is therefore right only when the
  revision left the title and abstract unchanged, which is common.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from .canonical import canon_text_sha256, canonical_sha256, pith_number
from .errors import ArxivMetadataError
from .protocol import ARXIV_ID_RE, SCHEMA_VERSION

# An arXiv category (``cs.LG``, ``hep-th``, ``cond-mat.stat-mech``). MSC and ACM
# classes (``68T05``, ``I.2.6``) never match: they start with a digit or capital.
CATEGORY_RE = re.compile(r"[a-z][a-z-]{0,15}(?:\.[A-Za-z][A-Za-z-]{0,19})?")
MAX_VERSION = 1000
MAX_TEXT_CHARS = 100_000

# License URLs exactly as arXiv's metadata spells them (http, trailing slash; the
# shared real records use these spellings and "" for none), most common first for a
# paper from 2004 on (an estimate, not a count: the arXiv default license for about
# 70 %, CC BY 4.0 about 15 %, none about 8 %, the other CC licenses the rest).
ARXIV_LICENSES: tuple[str, ...] = (
    "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
    "http://creativecommons.org/licenses/by/4.0/",
    "",
    "http://creativecommons.org/licenses/by-nc-sa/4.0/",
    "http://creativecommons.org/licenses/by-nc-nd/4.0/",
    "http://creativecommons.org/licenses/by-sa/4.0/",
    "http://creativecommons.org/licenses/by/3.0/",
    "http://creativecommons.org/publicdomain/zero/1.0/",
    "http://creativecommons.org/licenses/by-nc-sa/3.0/",
    "http://creativecommons.org/licenses/publicdomain/",
)
# arXiv began recording licenses around 2004 (an estimate); earlier papers mostly have none,
# so for them "" is tried first. This only reorders the candidates, never drops one.
_LICENSES_INTRODUCED = datetime(2004, 1, 1, tzinfo=timezone.utc)


def check_arxiv_id(arxiv_id: str) -> str:
    """The id itself when it is a versionless arXiv id; raises otherwise.

    Strict on purpose: ids become file names in a mirror, so anything that is not
    exactly an id (``..``, a version suffix, upper case, spaces) is refused.
    """
    if not isinstance(arxiv_id, str) or not ARXIV_ID_RE.fullmatch(arxiv_id):
        raise ArxivMetadataError(f"not a versionless arXiv id: {_clip(arxiv_id)}")
    return arxiv_id


def _clip(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def format_utc(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``, the form ``submitted_at`` uses."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ArxivMetadata:
    """What arXiv says about one paper; enough to rebuild the registry's record.

    ``versions`` holds the versions whose dates are known, as ``(number, created)``
    with ``created`` timezone-aware; it must include version 1 (its time is
    ``submitted_at``). The highest number is the latest version; versions between
    may be missing (the Atom API only tells v1 and the latest). ``license`` is None
    when the source does not say (Atom API) and ``""`` when arXiv says "none".
    """

    id: str
    versions: tuple[tuple[int, datetime], ...]
    title: str
    abstract: str
    primary_cat: str
    cross_cats: tuple[str, ...] = ()
    license: str | None = None

    def __post_init__(self) -> None:
        check_arxiv_id(self.id)
        numbers = [number for number, _ in self.versions]
        if 1 not in numbers:
            raise ArxivMetadataError(f"{self.id}: the v1 submission time is missing")
        if len(set(numbers)) != len(numbers):
            raise ArxivMetadataError(f"{self.id}: a version is listed twice")
        for number, created in self.versions:
            if not (isinstance(number, int) and 1 <= number <= MAX_VERSION):
                raise ArxivMetadataError(f"{self.id}: bad version number {_clip(number)}")
            if not isinstance(created, datetime) or created.tzinfo is None:
                raise ArxivMetadataError(f"{self.id}: v{number} time has no timezone")
        for category in (self.primary_cat, *self.cross_cats):
            if not isinstance(category, str) or not CATEGORY_RE.fullmatch(category):
                raise ArxivMetadataError(f"{self.id}: bad category {_clip(category)}")
        for name in ("title", "abstract"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ArxivMetadataError(f"{self.id}: empty {name}")
            if len(value) > MAX_TEXT_CHARS:
                raise ArxivMetadataError(f"{self.id}: {name} is implausibly long")
        if self.license is not None and not isinstance(self.license, str):
            raise ArxivMetadataError(f"{self.id}: bad license {_clip(self.license)}")

    @property
    def latest_version(self) -> int:
        return max(number for number, _ in self.versions)

    @property
    def submitted_at(self) -> str:
        """The v1 submission time, UTC, in the record's format."""
        return format_utc(dict(self.versions)[1])

    @property
    def year(self) -> int:
        return int(self.submitted_at[:4])

    @classmethod
    def from_raw(cls, arxiv_id: str, versions: Iterable[tuple[str, str]], title: str,
                 abstract: str, categories: str, license: str | None) -> ArxivMetadata:
        """From arXiv's raw field formats (OAI ``arXivRaw`` and the bulk snapshot).

        ``versions`` are ``("v2", "Mon, 2 Apr 2007 19:18:42 GMT")`` pairs and
        ``categories`` is space-separated with the primary first. ``license`` None
        means arXiv recorded none, which the registry writes as ``""``.
        """
        parsed: list[tuple[int, datetime]] = []
        for label, created in versions:
            parsed.append((_version_number(arxiv_id, label), parse_rfc2822(arxiv_id, created)))
        if not isinstance(categories, str) or not categories.split():
            raise ArxivMetadataError(f"{arxiv_id}: no categories")
        primary, *cross = categories.split()
        return cls(id=arxiv_id, versions=tuple(parsed), title=title, abstract=abstract,
                   primary_cat=primary, cross_cats=tuple(cross),
                   license="" if license is None else license)

    def to_json(self) -> dict[str, Any]:
        """A plain-JSON form for caches (:meth:`from_json` reads it back exactly)."""
        return {
            "id": self.id,
            "versions": [[number, format_utc(created)] for number, created in self.versions],
            "title": self.title, "abstract": self.abstract,
            "primary_cat": self.primary_cat, "cross_cats": list(self.cross_cats),
            "license": self.license,
        }

    @classmethod
    def from_json(cls, data: Any) -> ArxivMetadata:
        try:
            versions = tuple(
                (int(number), datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
                 .replace(tzinfo=timezone.utc))
                for number, text in data["versions"]
            )
            return cls(id=data["id"], versions=versions, title=data["title"],
                       abstract=data["abstract"], primary_cat=data["primary_cat"],
                       cross_cats=tuple(data["cross_cats"]), license=data["license"])
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ArxivMetadataError):
                raise
            raise ArxivMetadataError(f"stored metadata is malformed ({exc})") from None


def _version_number(arxiv_id: str, label: object) -> int:
    if isinstance(label, str) and re.fullmatch(r"v[1-9][0-9]{0,3}", label):
        return int(label[1:])
    raise ArxivMetadataError(f"{arxiv_id}: bad version label {_clip(label)}")


def parse_rfc2822(arxiv_id: str, text: object) -> datetime:
    """``Mon, 2 Apr 2007 19:18:42 GMT`` → aware UTC datetime, or a clear error."""
    try:
        if not isinstance(text, str) or len(text) > 64:
            raise ValueError
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise ArxivMetadataError(f"{arxiv_id}: bad date {_clip(text)}") from None
    if moment.tzinfo is None:  # "-0000": RFC 5322 says UTC with no zone information
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def canonical_record(meta: ArxivMetadata, *, version: int | None = None,
                     license: str | None = None) -> dict[str, Any]:
    """The registry's canonical record for ``meta`` at ``version`` with ``license``.

    ``version`` defaults to the latest; ``license`` to the metadata's own, and must
    be given when the metadata does not know it.
    """
    chosen = meta.license if license is None else license
    if chosen is None:
        raise ArxivMetadataError(f"{meta.id}: the license is unknown; give one to try")
    return {
        "schema_version": SCHEMA_VERSION,
        "source": {"id": meta.id, "kind": "arxiv",
                   "version": meta.latest_version if version is None else version},
        "metadata": {
            "submitted_at": meta.submitted_at,
            "primary_cat": meta.primary_cat,
            "cross_cats_sorted": sorted(meta.cross_cats),
            "license": chosen,
            "title_canon_sha256": canon_text_sha256(meta.title),
            "abstract_canon_sha256": canon_text_sha256(meta.abstract),
        },
    }


def record_pith_number(record: dict[str, Any]) -> tuple[str, str]:
    """``(canonical_sha256, pith number)`` of a canonical record."""
    digest = canonical_sha256(record)
    return digest, pith_number(digest, int(record["metadata"]["submitted_at"][:4]))


def derive_pith_number(meta: ArxivMetadata, *, version: int | None = None,
                       license: str | None = None) -> str:
    """The pith number of :func:`canonical_record` (latest version by default)."""
    return record_pith_number(canonical_record(meta, version=version, license=license))[1]


@dataclass(frozen=True)
class DerivedCandidate:
    """One guess at the paper's pith number, with the inputs that were guessed."""

    pith_number: str
    canonical_sha256: str
    version: int
    license: str


def license_order(meta: ArxivMetadata,
                  licenses: Sequence[str] | None = None) -> list[str]:
    """The licenses to try: the known one alone, else ``licenses`` or arXiv's list."""
    if meta.license is not None:
        return [meta.license]
    order = list(dict.fromkeys(ARXIV_LICENSES if licenses is None else licenses))
    if licenses is None and dict(meta.versions)[1] < _LICENSES_INTRODUCED:
        order.remove("")
        order.insert(0, "")
    return order


def derive_candidates(meta: ArxivMetadata, *, licenses: Sequence[str] | None = None,
                      max_versions: int = 2,
                      max_candidates: int | None = None) -> list[DerivedCandidate]:
    """Pith numbers to try, most likely first, at most ``max_candidates``.

    Order: the latest version with each license (see :func:`license_order`), then
    the previous version with each license, down ``max_versions`` versions in all.
    Each candidate costs the resolver one registry fetch, so callers keep the bound
    small; a known license (OAI, snapshot) makes it one candidate per version.
    """
    if max_versions < 1:
        raise ArxivMetadataError("max_versions must be at least 1")
    latest = meta.latest_version
    found: list[DerivedCandidate] = []
    for version in range(latest, max(0, latest - max_versions), -1):
        for license in license_order(meta, licenses):
            digest, number = record_pith_number(
                canonical_record(meta, version=version, license=license))
            found.append(DerivedCandidate(number, digest, version, license))
            if max_candidates is not None and len(found) >= max_candidates:
                return found
    return found
