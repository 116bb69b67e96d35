"""A Zotero item (Web API JSON ``data``) seen the way the rest of pith-bib sees an entry.

Zotero keeps a paper's identifiers in item fields (``DOI``, ``url``,
``archiveID`` = ``arXiv:2101.01234``, a preprint's ``number``), in
``publicationTitle`` (``arXiv preprint arXiv:...``) and in Extra (``DOI:``,
``arXiv:``, ``tex.eprint:`` lines, free text). Rather than a second set of
rules, the item is presented to :func:`pith_bib.ids.extract` under the BibTeX
field names those rules already know, so a conflict between two places is
found and reported exactly as for a ``.bib`` entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .ids import Identifiers, extract
from .zotero_extra import ExtraFields, ExtraNames, read_extra

# Item types that are never papers of their own (children, or top-level notes/files).
NOT_PAPERS = frozenset({"note", "attachment", "annotation"})
# Extra's tex.NAME fields that ids knows under the same BibTeX name.
_TEX_NAMES = ("eprint", "archiveprefix", "eprinttype", "arxiv", "arxivid", "arxiv_id",
              "arxiv-id", "doi", "journal", "journaltitle", "eid", "howpublished")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


class ItemFields:
    """A :class:`pith_bib.ids.FieldSource` over a Zotero item and its Extra.

    Item fields come first and Extra only fills what they leave empty, as
    Zotero itself does when it reads Extra.
    """

    def __init__(self, data: Mapping[str, Any], extra: ExtraFields) -> None:
        self._fields: dict[str, str] = {}
        for name in _TEX_NAMES:  # Better BibTeX would export these as BibTeX fields
            if extra.tex.get(name):
                self._fields[name] = extra.tex[name]
        labels: dict[str, str] = {}  # Zotero turns "arXiv" into "ar-xiv"; compare compacted
        for label, value in extra.labels.items():
            labels.setdefault(label.replace("-", ""), value)
        for label, name in (("doi", "doi"), ("arxiv", "arxiv"), ("arxivid", "arxivid")):
            if label in labels:
                self._fields[name] = labels[label]
        self._put("doi", data.get("DOI"))
        self._put("url", data.get("url"))
        archive_id = _text(data.get("archiveID"))
        if archive_id and archive_id.strip().lower().startswith("arxiv:"):
            self._put("arxiv_id", archive_id)
        self._put("journal", data.get("publicationTitle"))
        if data.get("itemType") == "preprint":
            self._put("number", data.get("number"))
        if extra.free_text.strip():
            self._fields["note"] = extra.free_text

    def _put(self, name: str, value: Any) -> None:
        text = _text(value)
        if text is not None:
            self._fields[name] = text

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._fields.get(name.lower(), default)

    def as_dict(self) -> dict[str, str]:
        return dict(self._fields)


@dataclass
class ZoteroItem:
    """What the judge needs of one Zotero item, plus the JSON to write back."""

    key: str
    version: int
    item_type: str
    title: str
    authors: list[tuple[str, str]]
    extra: str
    extra_fields: ExtraFields
    identifiers: Identifiers
    data: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def pith(self) -> str | None:
        """The value of our pith line when Extra has exactly one distinct value."""
        values = set(self.extra_fields.pith)
        return values.pop() if len(values) == 1 else None

    @property
    def status(self) -> str | None:
        values = set(self.extra_fields.status)
        return values.pop() if len(values) == 1 else None


def authors(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(family, given)`` of each author; editors, translators and the rest left out.

    Two-field names carry ``lastName``/``firstName``; a single-field name
    (an institution, a mononym) is ``(name, "")``.
    """
    result: list[tuple[str, str]] = []
    creators = data.get("creators")
    if not isinstance(creators, list):
        return result
    for creator in creators:
        if not isinstance(creator, Mapping) or creator.get("creatorType") != "author":
            continue
        single = _text(creator.get("name"))
        if single is not None:
            result.append((single.strip(), ""))
            continue
        family = (_text(creator.get("lastName")) or "").strip()
        given = (_text(creator.get("firstName")) or "").strip()
        if family or given:
            result.append((family, given))
    return result


def from_json(obj: Mapping[str, Any], names: ExtraNames | None = None) -> ZoteroItem:
    """A :class:`ZoteroItem` from one object of a ``format=json`` response."""
    data = obj.get("data")
    if not isinstance(data, Mapping):
        data = obj
    extra = data.get("extra") if isinstance(data.get("extra"), str) else ""
    extra_fields = read_extra(extra, names)
    version = data.get("version", obj.get("version", 0))
    return ZoteroItem(
        key=str(data.get("key") or obj.get("key") or ""),
        version=version if isinstance(version, int) and not isinstance(version, bool) else 0,
        item_type=str(data.get("itemType") or ""),
        title=_text(data.get("title")) or "",
        authors=authors(data),
        extra=extra,
        extra_fields=extra_fields,
        identifiers=extract(ItemFields(data, extra_fields)),
        data=dict(data),
    )
