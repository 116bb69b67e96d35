"""A minimal Better BibTeX export of the fake Zotero server's items (a test helper).

Only what ``pith-bib check`` reads, written the way Better BibTeX writes it:
the citation key (a pinned ``Citation Key:`` line in Extra, else one made from
the item key), the title, ``author`` from the creators, ``eprint`` /
``archiveprefix`` for an arXiv preprint, ``doi``, ``url``, and every
``tex.NAME: value`` Extra line as ``NAME = {value}`` (names lower-cased, a
later line overriding an earlier one: Better BibTeX's ``extra.ts`` rules,
which :func:`pith_bib.zotero_extra.read_extra` follows).
"""

from __future__ import annotations

from typing import Any

from pith_bib.zotero_extra import read_extra
from pith_bib.zotero_items import authors
from tests.zotero_fake import FakeZotero

_TYPES = {"preprint": "misc", "journalArticle": "article", "book": "book",
          "conferencePaper": "inproceedings", "thesis": "phdthesis", "report": "techreport"}


def _braced(value: str) -> str:
    """A field value in braces; stray braces would unbalance the entry, so drop them."""
    return "{" + value.replace("{", "").replace("}", "") + "}"


def entry(data: dict[str, Any]) -> str:
    """One item's BibTeX entry."""
    extra = read_extra(data.get("extra") or "")
    key = extra.labels.get("citation-key") or str(data["key"]).lower()
    fields: dict[str, str] = {}
    if data.get("title"):
        fields["title"] = data["title"]
    names = [f"{family}, {given}" if given else family for family, given in authors(data)]
    if names:
        fields["author"] = " and ".join(names)
    archive = str(data.get("archiveID") or "")
    if archive.lower().startswith("arxiv:"):
        fields["eprint"] = archive.split(":", 1)[1]
        fields["archiveprefix"] = "arXiv"
    if data.get("DOI"):
        fields["doi"] = data["DOI"]
    if data.get("url"):
        fields["url"] = data["url"]
    fields.update(extra.tex)  # tex.NAME: value → NAME = {value}, the last line winning
    body = ",\n".join(f"  {name} = {_braced(value)}" for name, value in fields.items())
    kind = _TYPES.get(str(data.get("itemType")), "misc")
    return f"@{kind}{{{key},\n{body}\n}}\n"


def export(fake: FakeZotero) -> str:
    """Every top-level item of the fake library, in the order they were added."""
    with fake.lock:
        items = [obj["data"] for obj in fake.items.values()
                 if not obj["data"].get("parentItem")]
    return "\n".join(entry(data) for data in items)
