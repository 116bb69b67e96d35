"""Is this verified record the paper the entry means? Every rule that decides it, once.

Verification (``verify.py``) says what a document proves: a pinned key signed
this record, for this arXiv id, with this title and these authors. Whether
that record is the paper a bibliography entry names is a separate question,
asked by the resolver (is the document the one I asked for?), by ``annotate``
(may I write its number into this entry?) and by ``check`` (does the number in
this entry belong here?). They must all answer it the same way, so the answer
lives here, as one :class:`Policy` object composed of small rules (the shape
of sigstore's ``VerificationPolicy``/``AllOf``): each rule takes what the
entry claims and the verified report and returns a :class:`Finding` with a
code, or nothing. Callers branch on codes, never on message text.

Pure: no I/O, no network, no file access.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from .authors import AuthorVerdict, compare_author_names, compare_authors
from .canonical import parse_pith_number
from .errors import PithNumberError, UsageError
from .ids import normalise_doi, parse_arxiv_id
from .terminal import quoted, shortened
from .titles import titles_match

if TYPE_CHECKING:
    from .authors import PersonName
    from .report import VerificationReport


class Status(str, Enum):
    """Every status an entry, a resolution or a document can have.

    The values are what pith-bib writes into files and JSON reports; they are
    part of its interface and never change spelling.
    """

    VERIFIED = "verified"
    RECORD_VERIFIED = "record-verified"
    NOT_FOUND = "not-found"
    NO_IDENTIFIER = "no-identifier"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"
    CONFLICT = "conflict"
    TITLE_MISMATCH = "title-mismatch"
    AUTHOR_MISMATCH = "author-mismatch"
    PITH_MISMATCH = "pith-mismatch"
    MALFORMED = "malformed"

    __str__ = str.__str__
    __format__ = str.__format__

    @property
    def is_ok(self) -> bool:
        """A status under which a number may be written."""
        return self in _OK

    @property
    def is_problem(self) -> bool:
        """A status that is a finding (exit 1) rather than information."""
        return self in _PROBLEMS

    @property
    def rank(self) -> int:
        """How much a status proves: a bundle (verified) beats a state (record-verified)."""
        return status_rank(self)


_OK = frozenset({Status.VERIFIED, Status.RECORD_VERIFIED})
_PROBLEMS = frozenset({Status.INVALID, Status.UNAVAILABLE, Status.CONFLICT,
                       Status.TITLE_MISMATCH, Status.AUTHOR_MISMATCH, Status.PITH_MISMATCH,
                       Status.MALFORMED})
_RANK = {Status.RECORD_VERIFIED.value: 1, Status.VERIFIED.value: 2}


def status_rank(status: str | None) -> int:
    """Rank of any status text (unknown or hand-written values rank lowest)."""
    return _RANK.get(str(status), 0) if status is not None else 0


def shown_status(status: object) -> bool:
    """Whether a ``pith_status`` text makes renderers print the number.

    The one rule every renderer (pybtex styles, the pandoc filter) applies, and
    what annotate must never leave standing on an entry it has refused.
    """
    return isinstance(status, str) and status.strip().lower() in _SHOWN


_SHOWN = frozenset(s.value for s in _OK)


def supported_status(status: str | None) -> Status | None:
    """The :class:`Status` for text written in a file, None for anything else."""
    try:
        return Status(status) if status is not None else None
    except ValueError:
        return None


# -- identifiers -------------------------------------------------------------------------
ARXIV_DOI_PREFIX = "10.48550/arxiv."


def arxiv_doi(arxiv_id: str) -> str:
    """The DOI arXiv registers for a paper, in the lower case the registry signs."""
    return f"{ARXIV_DOI_PREFIX}{arxiv_id}".lower()


def is_arxiv_doi(doi: str) -> bool:
    return doi.lower().startswith(ARXIV_DOI_PREFIX)


def signed_aliases(report: VerificationReport) -> list[tuple[str, str]]:
    """Aliases a verified document vouches for, derived from its signed record.

    A state's alias list is not signed, so only what the signed canonical record
    says (the arXiv id, version and arXiv DOI) counts, for bundles too; a bundle's
    signed list may add journal DOIs.
    """
    if report.arxiv_id is None:
        return []
    out = [("arxiv", report.arxiv_id), ("doi", arxiv_doi(report.arxiv_id))]
    if report.arxiv_version:
        out.append(("arxiv_version", f"{report.arxiv_id}v{report.arxiv_version}"))
    if report.kind == "bundle":
        out += [(k, v.lower()) for k, v in report.aliases
                if k == "doi" and (k, v.lower()) not in out]
    return out


def record_aliases(arxiv_id: str, version: int | None) -> list[tuple[str, str]]:
    """The alias keys a canonical record's source names (arXiv id, id+version, arXiv DOI)."""
    keys = [("arxiv", arxiv_id), ("doi", arxiv_doi(arxiv_id))]
    if version:
        keys.append(("arxiv_version", f"{arxiv_id}v{version}"))
    return keys


@dataclass(frozen=True)
class Query:
    """A normalised request: ``kind`` is ``pith``, ``arxiv`` or ``doi``."""

    kind: str
    value: str
    version: int | None = None
    text: str = ""

    @property
    def key(self) -> tuple[str, str, int | None]:
        return (self.kind, self.value.lower() if self.kind == "doi" else self.value,
                self.version)

    @property
    def not_found_key(self) -> str:
        """How the lock file names this query in its ``not_found``/``refused`` lists."""
        return f"{self.kind}:{self.value}"

    def alias_keys(self) -> list[tuple[str, str]]:
        """The alias index keys that name an arXiv/DOI query, most specific first."""
        keys = [(self.kind, self.value.lower() if self.kind == "doi" else self.value)]
        if self.kind == "arxiv" and self.version:
            keys.insert(0, ("arxiv_version", f"{self.value}v{self.version}"))
        return keys

    def __str__(self) -> str:
        if self.kind == "arxiv" and self.version:
            return f"{self.value}v{self.version}"
        return self.value if self.kind != "pith" else f"pith:{self.value}"


_BARE_PITH_RE = re.compile(r"[A-Z2-7]{26}")
_DOI_PREFIXES = ("10.", "doi:", "https://doi.org/", "http://doi.org/", "https://dx.doi.org/",
                 "http://dx.doi.org/")


def parse_query(text: str) -> Query:
    """Read an identifier as people type it: arXiv id (any form), DOI, or pith number."""
    raw = text.strip()
    if raw.lower().startswith("pith:") or _BARE_PITH_RE.fullmatch(raw):
        try:
            number = parse_pith_number(raw)
        except PithNumberError as exc:
            raise UsageError(str(exc)) from None
        return Query("pith", number.id, None, text)
    arxiv = parse_arxiv_id(raw)
    if arxiv is not None:
        return Query("arxiv", arxiv.id, arxiv.version, text)
    if raw.lower().startswith(_DOI_PREFIXES):
        doi = normalise_doi(raw)
        if doi:
            return Query("doi", doi, None, text)
    raise UsageError(f"{text!r} is not an arXiv id, a DOI or a pith number")


# -- claims and findings -----------------------------------------------------------------
@dataclass(frozen=True)
class Claims:
    """What an entry (or a query) says about which paper it is.

    ``authors`` is a BibTeX ``author`` field; formats with structured names
    (CSL-JSON, Zotero) pass ``author_names`` instead.
    """

    pith_id: str | None = None
    arxiv_id: str | None = None
    arxiv_version: int | None = None
    doi: str | None = None
    title: str | None = None
    authors: str | None = None
    author_names: tuple[PersonName, ...] | None = None

    @classmethod
    def of_query(cls, query: Query) -> Claims:
        if query.kind == "pith":
            return cls(pith_id=query.value)
        if query.kind == "arxiv":
            return cls(arxiv_id=query.value, arxiv_version=query.version)
        return cls(doi=query.value)


class Code(str, Enum):
    """Why a record is not (or may not be) the entry's paper."""

    PITH_NUMBER_DIFFERS = "pith-number-differs"
    ARXIV_ID_DIFFERS = "arxiv-id-differs"
    ARXIV_VERSION_DIFFERS = "arxiv-version-differs"
    DOI_NOT_SIGNED = "doi-not-signed"
    TITLE_DIFFERS = "title-differs"
    TITLE_UNSIGNED = "title-unsigned"
    AUTHORS_DIFFER = "authors-differ"
    AUTHORS_PARTLY_DIFFER = "authors-partly-differ"
    AUTHORS_UNSIGNED = "authors-unsigned"

    __str__ = str.__str__
    __format__ = str.__format__


@dataclass(frozen=True)
class Finding:
    """One rule's objection. ``blocking`` findings stop a number being written or passed.

    A non-blocking finding is a warning shown to the user, unless ``quiet``: a fact
    worth counting (a check that could not run) rather than repeating per entry.
    """

    code: Code
    message: str
    blocking: bool = True
    quiet: bool = False


Rule = Callable[[Claims, "VerificationReport"], "Finding | None"]


def pith_number_rule(claims: Claims, report: VerificationReport) -> Finding | None:
    """A pith number (or a short prefix of one) names exactly one record."""
    if claims.pith_id is None:
        return None
    number = report.pith_number or ""
    if not number.rsplit(":", 1)[-1].startswith(claims.pith_id):
        return Finding(Code.PITH_NUMBER_DIFFERS,
                       f"document is {number or 'unnumbered'}, not pith:{claims.pith_id}")
    return None


def arxiv_id_rule(claims: Claims, report: VerificationReport) -> Finding | None:
    """The signed record's arXiv id is the one the entry names (versions may differ)."""
    if claims.arxiv_id is None or report.arxiv_id == claims.arxiv_id:
        return None
    return Finding(Code.ARXIV_ID_DIFFERS,
                   f"{report.pith_number} is arXiv {report.arxiv_id}, but the entry says "
                   f"arXiv {claims.arxiv_id}")


def arxiv_version_rule(claims: Claims, report: VerificationReport) -> Finding | None:
    """Another version of the same paper is still the paper: say so, don't refuse."""
    if claims.arxiv_version is None or claims.arxiv_id != report.arxiv_id or \
            report.arxiv_version == claims.arxiv_version:
        return None
    return Finding(Code.ARXIV_VERSION_DIFFERS,
                   f"the entry cites {claims.arxiv_id}v{claims.arxiv_version}; the signed "
                   f"record is v{report.arxiv_version}", blocking=False)


def doi_rule(claims: Claims, report: VerificationReport) -> Finding | None:
    """A DOI names the record only if the record signs it.

    An arXiv DOI names its arXiv id. A journal DOI must be among a bundle's
    signed aliases (a state's alias list is unsigned). When the entry has an
    arXiv id, that id decides and the DOI is not judged: published versions
    carry journal DOIs the registry does not sign.
    """
    if claims.doi is None or claims.arxiv_id is not None:
        return None
    doi = claims.doi.lower()
    if ("doi", doi) in signed_aliases(report):
        return None
    if is_arxiv_doi(doi):
        return Finding(Code.ARXIV_ID_DIFFERS,
                       f"{report.pith_number} is arXiv {report.arxiv_id}, not DOI {doi}")
    return Finding(Code.DOI_NOT_SIGNED,
                   f"{report.pith_number} does not name DOI {doi} in its signed aliases")


def title_rule(claims: Claims, report: VerificationReport) -> Finding | None:
    """The classic wrong-identifier mistake: a valid id copied onto another paper.

    A record that carries no title cannot vouch for an entry that has one: with
    nothing to compare, any number could be moved onto any titled entry.
    """
    if not claims.title:
        return None
    if not report.title:
        return Finding(Code.TITLE_UNSIGNED,
                       f"{report.pith_number} carries no signed title to compare with the "
                       f"entry's title {quoted(claims.title)}")
    if titles_match(claims.title, report.title):
        return None
    return Finding(Code.TITLE_DIFFERS,
                   f"likely wrong identifier: the entry's title is {quoted(claims.title)} but "
                   f"{report.pith_number} ({report.arxiv_id}) is signed as "
                   f"{quoted(report.title)}")


def _author_rule(warn_only: bool) -> Rule:
    def author_rule(claims: Claims, report: VerificationReport) -> Finding | None:
        """Real title and id, invented authors: what fabricated references look like."""
        has_authors = bool(claims.author_names) or bool(claims.authors)
        if not report.authors:
            # Only a signed snapshot's list counts (a state's copy is unsigned): say the
            # authors went unchecked rather than let silence look like a pass.
            return Finding(Code.AUTHORS_UNSIGNED,
                           f"authors not checked: {report.pith_number} carries no signed "
                           "author list", blocking=False, quiet=True) if has_authors else None
        if claims.author_names is not None:
            result = compare_author_names(claims.author_names, report.authors)
        elif claims.authors:
            result = compare_authors(claims.authors, report.authors)
        else:
            return None
        missing = shortened("; ".join(result.missing))  # "Family, Given": ";" separates
        if result.verdict is AuthorVerdict.MISMATCH:
            return Finding(Code.AUTHORS_DIFFER,
                           f"author mismatch: {missing or 'the named authors'} not among the "
                           f"signed authors of {report.pith_number} ({_short(report.authors)})",
                           blocking=not warn_only)
        if result.verdict is AuthorVerdict.MINOR_DIFFERENCE:
            return Finding(Code.AUTHORS_PARTLY_DIFFER,
                           f"not among the signed authors of {report.pith_number}: {missing}",
                           blocking=False)
        return None

    return author_rule


AUTHOR_CHECK_MODES = ("fail", "warn", "off")


def _short(text: str, limit: int = 200) -> str:
    """Large collaborations sign thousands of names: quote only the start."""
    return text if len(text) <= limit else text[:limit].rsplit(",", 1)[0] + ", …"


@dataclass(frozen=True)
class Policy:
    """An ordered set of rules; every finding of every rule, in order."""

    rules: tuple[Rule, ...]

    def findings(self, claims: Claims, report: VerificationReport) -> list[Finding]:
        return [f for rule in self.rules if (f := rule(claims, report)) is not None]

    def blocking(self, claims: Claims, report: VerificationReport) -> Finding | None:
        """The first finding that refuses the record, if any."""
        return next((f for f in self.findings(claims, report) if f.blocking), None)


IDENTITY_RULES: tuple[Rule, ...] = (pith_number_rule, arxiv_id_rule, doi_rule)
IDENTITY = Policy(IDENTITY_RULES)
"""What the resolver asks of a candidate: is it the document the query names?"""
RESOLVER = Policy((*IDENTITY_RULES, arxiv_version_rule))
"""The identity rules, plus the version note a ``resolve`` user wants to see."""


def entry_policy(*, check_titles: bool = True, author_check: str = "fail") -> Policy:
    """What annotate and check ask: identity, version, title and authors."""
    if author_check not in AUTHOR_CHECK_MODES:
        raise UsageError(f"author_check must be one of {', '.join(AUTHOR_CHECK_MODES)}, "
                         f"not {author_check!r}")
    rules: list[Rule] = [*IDENTITY_RULES, arxiv_version_rule]
    if check_titles:
        rules.append(title_rule)
    if author_check != "off":
        rules.append(_author_rule(warn_only=author_check == "warn"))
    return Policy(tuple(rules))


# Which entry status a blocking finding gives. A different arXiv id or DOI on a
# number the entry (or its lock) already carries means the number was moved onto
# the wrong entry.
_STATUS_FOR_CODE = {
    Code.PITH_NUMBER_DIFFERS: Status.INVALID,
    Code.ARXIV_ID_DIFFERS: Status.PITH_MISMATCH,
    Code.DOI_NOT_SIGNED: Status.PITH_MISMATCH,
    Code.TITLE_DIFFERS: Status.TITLE_MISMATCH,
    Code.TITLE_UNSIGNED: Status.INVALID,
    Code.AUTHORS_DIFFER: Status.AUTHOR_MISMATCH,
}


def status_for(finding: Finding) -> Status:
    return _STATUS_FOR_CODE[finding.code]


def judge_all(policy: Policy, claims: Claims, report: VerificationReport
              ) -> tuple[Finding | None, list[Finding]]:
    """(the blocking finding or None, the warnings) in one pass over the rules."""
    findings = policy.findings(claims, report)
    blocking = next((f for f in findings if f.blocking), None)
    return blocking, [f for f in findings if not f.blocking]


__all__: Sequence[str] = (
    "ARXIV_DOI_PREFIX", "AUTHOR_CHECK_MODES", "IDENTITY", "Claims", "Code", "Finding", "Policy",
    "Query", "Status", "arxiv_doi", "entry_policy", "is_arxiv_doi", "judge_all", "parse_query",
    "record_aliases", "signed_aliases", "status_for", "status_rank", "supported_status",
)
