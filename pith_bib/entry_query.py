"""What an entry asks for: the fields we own, the query to resolve, the claims to judge.

``annotate`` and ``check`` must read an entry the same way, and ``check`` runs
in a pre-commit hook that must not load the resolver or the network stack, so
this small module is all the two share. It works on anything that gives field
values by name (a ``.bib`` entry, a CSL-JSON item, a Zotero item adapter).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .canonical import parse_pith_number
from .errors import ConfigError, PithNumberError
from .ids import FIELDS_READ, FieldSource, Identifiers
from .policy import Claims, Query

_FIELD_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_.:+-]{0,63}")

# The data fields of BibTeX and biblatex (and their aliases), and every field pith-bib
# reads to identify or judge an entry. Why refused as our field names: annotate
# writes its two fields into every entry it numbers, so ``status_field = "title"``
# in a repository's config would overwrite every title; these belong to the user.
BIBLIOGRAPHY_FIELDS = frozenset((
    "abstract", "addendum", "address", "afterword", "annotation", "annotator", "annote",
    "author", "authortype", "bookauthor", "bookpagination", "booksubtitle", "booktitle",
    "booktitleaddon", "chapter", "commentator", "crossref", "date", "doi", "edition",
    "editor", "editora", "editorb", "editorc", "editortype", "eid", "entryset",
    "entrysubtype", "eprint", "eprintclass", "eprinttype", "eventdate", "eventtitle",
    "execute", "file", "foreword", "gender", "holder", "howpublished", "ids", "indextitle",
    "institution", "introduction", "isan", "isbn", "ismn", "isrc", "issn", "issue",
    "issuesubtitle", "issuetitle", "iswc", "journal", "journalsubtitle", "journaltitle",
    "key", "keywords", "label", "langid", "language", "library", "location", "mainsubtitle",
    "maintitle", "month", "nameaddon", "note", "number", "options", "organization",
    "origdate", "origlanguage", "origlocation", "origpublisher", "origtitle", "pages",
    "pagetotal", "pagination", "part", "pdf", "presort", "primaryclass", "publisher",
    "pubstate", "related", "reprinttitle", "school", "series", "shortauthor",
    "shorteditor", "shorthand", "shortjournal", "shortseries", "shorttitle", "sortkey",
    "sortname", "sorttitle", "sortyear", "subtitle", "title", "titleaddon", "translator",
    "type", "url", "urldate", "venue", "version", "volume", "volumes", "xdata", "xref",
    "year", *FIELDS_READ))


def check_field_name(name: object, key: str) -> str:
    """A field name we may write: BibTeX name characters only, so a value can't inject
    fields, and none of the user's own fields (:data:`BIBLIOGRAPHY_FIELDS`)."""
    if not isinstance(name, str) or not _FIELD_NAME_RE.fullmatch(name):
        raise ConfigError(f"{key} {name!r} is not a valid field name (letters, digits, "
                          "and _ . : + - only, starting with a letter)")
    if name.lower() in BIBLIOGRAPHY_FIELDS:
        raise ConfigError(f"{key} {name!r} is a bibliography field of its own; pith-bib would "
                          "overwrite it in every entry it numbers: choose a name for "
                          "pith-bib's field (the default is pith / pith_status)")
    return name


@dataclass(frozen=True)
class FieldNames:
    """The two fields pith-bib owns in an entry (names configurable)."""

    pith: str = "pith"
    status: str = "pith_status"

    def __post_init__(self) -> None:
        check_field_name(self.pith, "field")
        check_field_name(self.status, "status_field")
        if self.pith.lower() == self.status.lower():
            raise ConfigError("field and status_field must differ")


def query_for(entry: FieldSource, ids: Identifiers, fields: FieldNames
              ) -> tuple[Query | None, str | None]:
    """What to resolve for an entry, or (None, reason) when it cannot be resolved.

    An existing pith field wins (it is what the entry claims now); otherwise
    the arXiv id, then the DOI.
    """
    existing = entry.get(fields.pith)
    if ids.arxiv_id is None and ids.conflicts:  # two papers: a guess could mislabel one
        return None, ids.conflicts[0]
    if existing:
        try:
            number = parse_pith_number(existing)
        except PithNumberError as exc:
            return None, f"the {fields.pith} field is not a pith number: {exc}"
        return Query("pith", number.id, None, str(number)), None
    if ids.arxiv_id:
        return Query("arxiv", ids.arxiv_id, ids.arxiv_version, ids.arxiv or ids.arxiv_id), None
    if ids.doi:
        return Query("doi", ids.doi, None, ids.doi), None
    return None, None


def claims_for(entry: FieldSource, ids: Identifiers, query: Query | None) -> Claims:
    """Everything the entry says about its paper, for the policy to judge a record against."""
    pith_id = query.value if query is not None and query.kind == "pith" else None
    return Claims(pith_id=pith_id, arxiv_id=ids.arxiv_id, arxiv_version=ids.arxiv_version,
                  doi=ids.doi, title=entry.get("title"), authors=entry.get("author"))
