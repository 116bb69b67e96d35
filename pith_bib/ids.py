"""Find the paper's arXiv id and DOI wherever real .bib files keep them.

Exporters disagree on where an arXiv id goes: ``eprint`` with
``archivePrefix``/``eprinttype``, dedicated ``arxiv``/``arxivid`` fields,
``journal = {arXiv preprint arXiv:...}``, ``eid``, DBLP's ``volume = {abs/...}``,
``url``/``pdf`` links, or the arXiv DOI ``10.48550/arXiv.<id>``. Every place is
read; when two places name different papers that is reported as a conflict
and no id is chosen, because a wrong guess would attach a verified number to
the wrong paper. The entry's text is never changed here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import unquote

# Archives of old-style (pre-2007) identifiers.
OLD_ARCHIVES = (
    "acc-phys", "adap-org", "alg-geom", "ao-sci", "astro-ph", "atom-ph", "bayes-an",
    "chao-dyn", "chem-ph", "cmp-lg", "comp-gas", "cond-mat", "cs", "dg-ga", "funct-an",
    "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math", "math-ph", "mtrl-th", "nlin",
    "nucl-ex", "nucl-th", "patt-sol", "physics", "plasm-ph", "q-alg", "q-bio", "q-fin",
    "quant-ph", "solv-int", "stat", "supr-con",
)
_ARCHIVE = "|".join(sorted(map(re.escape, OLD_ARCHIVES), key=len, reverse=True))
_NEW = r"(?P<new>(?:0[7-9]|[1-9][0-9])(?:0[1-9]|1[0-2])\.[0-9]{4,5})"
_OLD = rf"(?P<old>(?P<archive>{_ARCHIVE})(?:\.[A-Za-z]{{2}})?/[0-9]{{7}})"
_VERSION = r"(?:v(?P<version>[0-9]{1,3}))?"
_ID = rf"(?:{_NEW}|{_OLD}){_VERSION}"

# A whole field that is just an id, with an optional "arXiv:" prefix.
# INSPIRE appends the primary category: "arXiv:0801.0644 [astro-ph]".
_BARE_RE = re.compile(rf"^\s*(?:arxiv\s*:\s*)?{_ID}\s*(?:\[[\w.-]+\])?\s*$", re.IGNORECASE)
# An id introduced by "arXiv" inside free text (journal, note, eid, ...).
_IN_TEXT_RE = re.compile(rf"arxiv(?:\s*(?:e-?print|preprint))?\s*(?:[:\s]|\\\s)\s*"
                         rf"(?:arxiv\s*:\s*)?{_ID}(?![\d.])", re.IGNORECASE)
# Old-style ids name their archive, so they are unambiguous even without "arXiv".
_OLD_IN_TEXT_RE = re.compile(rf"(?<![\w/.-]){_OLD}{_VERSION}(?![0-9])")
_URL_RE = re.compile(rf"arxiv\.org/(?:abs|pdf|html|format)/{_ID}(?:\.pdf)?", re.IGNORECASE)
_CORR_RE = re.compile(rf"^\s*abs/{_ID}\s*$", re.IGNORECASE)
_ARXIV_DOI_RE = re.compile(rf"^10\.48550/arxiv\.{_ID}$", re.IGNORECASE)
_DOI_RE = re.compile(r"10\.[0-9]{4,9}/\S+")
_DOI_ESCAPES_RE = re.compile(r"\\([_%&#$])")

ARXIV_FIELDS = ("arxiv", "arxivid", "arxiv_id", "arxiv-id")
TEXT_FIELDS = ("journal", "journaltitle", "note", "howpublished", "eid", "pages", "booktitle",
               "reportnumber", "number", "addendum", "series")
URL_FIELDS = ("url", "pdf", "eprinturl")
# Every field extraction reads: its eprint and prefix, the DBLP journal and volume,
# the DOI, and the lists above.
FIELDS_READ = frozenset(("eprint", "archiveprefix", "eprinttype", "journal", "journaltitle",
                         "volume", "doi", *ARXIV_FIELDS, *TEXT_FIELDS, *URL_FIELDS))


class FieldSource(Protocol):
    """What ids needs of an entry: a value by case-insensitive field name."""

    def get(self, name: str, default: str | None = None) -> str | None: ...


@dataclass(frozen=True)
class ArxivId:
    """An arXiv identifier without its version, and the version if one was given."""

    id: str
    version: int | None = None

    def __str__(self) -> str:
        return f"{self.id}v{self.version}" if self.version else self.id


@dataclass
class Identifiers:
    """What an entry says about which paper it is."""

    arxiv_id: str | None = None
    arxiv_version: int | None = None
    doi: str | None = None
    conflicts: list[str] = field(default_factory=list)
    arxiv_source: str | None = None

    @property
    def arxiv(self) -> str | None:
        """The id with its version, as people write it (``2101.01234v2``)."""
        if self.arxiv_id is None:
            return None
        return f"{self.arxiv_id}v{self.arxiv_version}" if self.arxiv_version else self.arxiv_id


def _from_match(match: re.Match[str]) -> ArxivId:
    new = match.groupdict().get("new")
    if new:
        ident = new
    else:
        archive = match.group("archive").lower()
        number = match.group("old").rsplit("/", 1)[1]
        ident = f"{archive}/{number}"  # the subject class (math.GT) is not part of the id
    version = match.group("version")
    return ArxivId(ident, int(version) if version else None)


def parse_arxiv_id(text: str) -> ArxivId | None:
    """An arXiv id written alone (``2101.01234v2``, ``arXiv:hep-th/9901001``, a URL, a DOI)."""
    for pattern in (_BARE_RE, _ARXIV_DOI_RE):
        match = pattern.match(text.strip())
        if match:
            return _from_match(match)
    match = _URL_RE.search(text)
    return _from_match(match) if match else None


def _clean(value: str) -> str:
    """Field text without the braces and escapes BibTeX puts around plain strings."""
    if "\\" in value:  # the escapes all start with one; most values have none
        value = _DOI_ESCAPES_RE.sub(r"\1", value)
    return value.replace("{", "").replace("}", "").strip()


def normalise_doi(value: str) -> str | None:
    """``https://doi.org/10.1000/X.``, ``doi:10.1000/x``, ``10.1000%2Fx`` → ``10.1000/x``."""
    text = unquote(_clean(value))
    match = _DOI_RE.search(text)
    if match is None:
        return None
    return match.group().rstrip(".,;").lower()


def _field_reader(entry: FieldSource) -> Callable[[str], str | None]:
    """``entry.get``, or a quicker equivalent when the source lists its own fields.

    Why: extraction asks for about 25 names and a typical entry has a handful, so
    a parsed .bib entry (which offers ``values_of``) is read once into a dict of
    the :data:`FIELDS_READ` it has, and every question is then a dict lookup: a
    name it lacks is ``None``, as its ``get`` answers too. A source with only
    ``get`` is read through ``get``.
    """
    values_of = getattr(entry, "values_of", None)
    if values_of is None:
        return entry.get
    return values_of(FIELDS_READ).get


def _id_in_text(value: str) -> ArxivId | None:
    """An id inside free text: after "arXiv", in an arXiv link, or old-style with its archive."""
    has_arxiv, has_slash = "arxiv" in value.lower(), "/" in value
    if not (has_arxiv or has_slash):  # neither pattern can match: skip the cleaning
        return None
    text = _clean(value)
    match = None
    if has_arxiv:
        match = _IN_TEXT_RE.search(text) or _URL_RE.search(text)
    if match is None and has_slash:
        match = _OLD_IN_TEXT_RE.search(text)
    return _from_match(match) if match else None


# How an eprint field's archive (archivePrefix, eprinttype, CSL's archive) names arXiv.
ARXIV_ARCHIVES = frozenset(("arxiv", "arxiv.org"))


def _eprint_prefixes(read: Callable[[str], str | None]) -> set[str]:
    """The eprint's archive as both of its fields name it, lower-cased; blanks left out.

    Both are read: biblatex takes ``eprinttype`` and BibTeX styles
    ``archivePrefix``, so when either says arXiv the eprint is judged as the
    arXiv id some rendering of the entry will print.
    """
    values = (read("archiveprefix"), read("eprinttype"))
    return {value.strip().lower() for value in values if value and value.strip()}


def _candidates_from(read: Callable[[str], str | None]) -> list[tuple[str, ArxivId]]:
    found: list[tuple[str, ArxivId]] = []

    def add(source: str, arxiv: ArxivId | None) -> None:
        if arxiv is not None:
            found.append((source, arxiv))

    eprint = read("eprint")
    if eprint:
        prefixes = _eprint_prefixes(read)
        text = _clean(eprint)
        if prefixes & ARXIV_ARCHIVES:
            match = _BARE_RE.match(text) or _URL_RE.search(text)
            add("eprint", _from_match(match) if match else None)
        elif not prefixes:
            add("eprint", parse_arxiv_id(text))
    for name in ARXIV_FIELDS:
        value = read(name)
        if value:
            add(name, parse_arxiv_id(_clean(value)))
    for name in TEXT_FIELDS:
        value = read(name)
        if value:
            add(name, _id_in_text(value))
    journal = (read("journal") or read("journaltitle") or "").strip().lower()
    volume = read("volume")
    if volume and journal in ("corr", "arxiv"):  # DBLP: journal = CoRR, volume = abs/<id>
        match = _CORR_RE.match(_clean(volume))
        add("volume", _from_match(match) if match else None)
    for name in URL_FIELDS:
        value = read(name)
        if value:
            match = _URL_RE.search(unquote(_clean(value)))
            add(name, _from_match(match) if match else None)
    return found


def extract(entry: FieldSource) -> Identifiers:
    """The arXiv id (with version) and DOI an entry names, and any disagreement."""
    result = Identifiers()
    read = _field_reader(entry)
    raw_doi = read("doi")
    if raw_doi:
        result.doi = normalise_doi(raw_doi)
    candidates = _candidates_from(read)
    if result.doi:
        match = _ARXIV_DOI_RE.match(result.doi)
        if match:
            candidates.append(("doi", _from_match(match)))
    if not candidates:
        return result
    ids = {c.id for _, c in candidates}
    if len(ids) > 1:
        listed = ", ".join(f"{source} says {arxiv}" for source, arxiv in candidates)
        result.conflicts.append(f"fields name different arXiv papers: {listed}")
        return result
    source, first = candidates[0]
    result.arxiv_id, result.arxiv_source = first.id, source
    versions = {c.version for _, c in candidates if c.version is not None}
    if len(versions) == 1:
        result.arxiv_version = versions.pop()
    elif len(versions) > 1:
        listed = ", ".join(f"{s} says {a}" for s, a in candidates if a.version is not None)
        result.conflicts.append(f"fields name different versions: {listed}")
    return result
