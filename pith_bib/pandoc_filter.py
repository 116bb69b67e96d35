"""``pith-bib-pandoc``: a pandoc JSON filter that shows verified pith numbers.

Run it after citeproc (``pandoc --citeproc --filter pith-bib-pandoc``). Citeproc
has by then rendered each bibliography entry into a ``Div`` with id
``ref-<citekey>`` inside the ``#refs`` div; CSL styles cannot print custom
variables, so the number is appended here instead, as a link to its resolver
page. Entries whose item is not verified are left exactly as citeproc made
them, and so is everything else in the document.

Where the numbers come from: the document's ``references`` metadata and the
``bibliography`` files it names (CSL-JSON items with ``custom.pith`` and
``custom.pith_status``; ``.bib`` files with ``pith``/``pith_status`` fields, the
ones ``pith-bib annotate`` writes). CSL-YAML files are skipped with a warning:
the standard library has no YAML reader.

Only the standard library's ``json`` is used on the AST, so the filter works
with any pandoc whose AST is 1.22 or later and costs one import.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .bibfile import parse as parse_bib
from .errors import PithBibError
from .pybtex_style import PithLink, pith_link

MAX_BIBLIOGRAPHY_BYTES = 64 * 1024 * 1024
"""Pandoc has read these files already; a file larger than this is skipped, not parsed."""

LINK_CLASS = "pith"
"""Class on the inserted link, so a stylesheet can style or hide the numbers."""

_CSL_JSON_SUFFIXES = (".json",)
_BIB_SUFFIXES = (".bib", ".bibtex")


def _warn(message: str) -> None:
    # The message may contain file names from hostile metadata: escape control
    # characters (and non-ASCII) so they cannot drive the terminal.
    print("pith-bib-pandoc: " + message.encode("unicode_escape").decode("ascii"),
          file=sys.stderr)


# -- metadata -----------------------------------------------------------------------


def meta_text(value: Any) -> str:
    """The plain text of a metadata value (MetaString, MetaInlines, …) as pandoc shows it."""
    if isinstance(value, str):
        return value
    parts: list[str] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(reversed(node))
        elif isinstance(node, dict):
            kind, content = node.get("t"), node.get("c")
            if kind in ("Str", "MetaString") and isinstance(content, str):
                parts.append(content)
            elif kind in ("Space", "SoftBreak", "LineBreak"):
                parts.append(" ")
            elif kind in ("Code", "Math", "RawInline") and isinstance(content, list):
                if content:  # [attributes or format, text]; a hostile one may be empty
                    parts.append(str(content[-1]))
            elif kind == "MetaBool":
                parts.append("true" if content else "false")
            elif kind not in ("MetaMap", "Note"):
                stack.append(content)
    return "".join(parts)


def _meta_list(value: Any) -> list[Any]:
    """A metadata value as a list: a MetaList's items, or the value alone."""
    if isinstance(value, dict) and value.get("t") == "MetaList":
        content = value.get("c")
        return content if isinstance(content, list) else []
    return [] if value is None else [value]


def _meta_map(value: Any) -> dict[str, Any]:
    if isinstance(value, dict) and value.get("t") == "MetaMap":
        content = value.get("c")
        if isinstance(content, dict):
            return content
    return {}


def links_from_meta_references(references: Any) -> dict[str, PithLink]:
    """Verified links from inline ``references:`` items (as pandoc's Meta values)."""
    links: dict[str, PithLink] = {}
    for item in _meta_list(references):
        fields = _meta_map(item)
        custom = _meta_map(fields.get("custom"))
        link = pith_link(meta_text(custom.get("pith")), meta_text(custom.get("pith_status")))
        key = meta_text(fields.get("id"))
        if link is not None and key:
            links.setdefault(key, link)
    return links


def links_from_csl_json(items: Any) -> dict[str, PithLink]:
    """Verified links from CSL-JSON items (a list of objects with ``custom``)."""
    links: dict[str, PithLink] = {}
    if isinstance(items, dict):  # a single item is accepted by pandoc too
        items = [items]
    if not isinstance(items, list):
        return links
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("custom"), dict):
            continue
        custom = item["custom"]
        link = pith_link(custom.get("pith"), custom.get("pith_status"))
        key = item.get("id")
        if link is not None and isinstance(key, (str, int)) and str(key):
            links.setdefault(str(key), link)
    return links


def links_from_bib(data: bytes, name: str) -> dict[str, PithLink]:
    """Verified links from a .bib file's ``pith``/``pith_status`` fields."""
    links: dict[str, PithLink] = {}
    for entry in parse_bib(data, name).entries:
        link = pith_link(entry.get("pith"), entry.get("pith_status"))
        if link is not None:
            links.setdefault(entry.key, link)
    return links


def links_from_file(path: Path) -> dict[str, PithLink]:
    """Verified links from one bibliography file; problems are warnings, never fatal.

    Pandoc has already read the file (or failed on it), so a file we cannot use
    only means its entries get no number: the document must still render.
    """
    suffix = path.suffix.lower()
    if suffix not in _CSL_JSON_SUFFIXES + _BIB_SUFFIXES:
        _warn(f"{path}: only CSL-JSON (.json) and BibTeX (.bib) bibliographies are read; "
              "its entries get no pith number")
        return {}
    try:
        size = path.stat().st_size
        if size > MAX_BIBLIOGRAPHY_BYTES:
            _warn(f"{path}: larger than {MAX_BIBLIOGRAPHY_BYTES} bytes, skipped")
            return {}
        data = path.read_bytes()
    except OSError as exc:
        _warn(f"{path}: cannot read: {exc.strerror or exc}")
        return {}
    try:
        if suffix in _BIB_SUFFIXES:
            return links_from_bib(data, str(path))
        return links_from_csl_json(json.loads(data.decode("utf-8-sig")))
    except (ValueError, RecursionError, PithBibError) as exc:  # JSON, UTF-8, BibDecodeError
        _warn(f"{path}: unreadable ({type(exc).__name__}), skipped")
        return {}


def collect_links(meta: dict[str, Any], base_dir: Path) -> dict[str, PithLink]:
    """Citekey → link for every verified item the document's metadata names.

    Inline ``references`` win over files, as in pandoc, where they are listed first.
    """
    links = links_from_meta_references(meta.get("references"))
    for value in _meta_list(meta.get("bibliography")):
        name = meta_text(value).strip()
        if not name:
            continue
        path = Path(name).expanduser()
        for key, link in links_from_file(path if path.is_absolute() else base_dir / path).items():
            links.setdefault(key, link)
    return links


# -- the AST --------------------------------------------------------------------------


def _div_parts(node: Any) -> tuple[str, list[Any]] | None:
    """``(id, blocks)`` of a ``Div`` node, or None for anything else."""
    if not (isinstance(node, dict) and node.get("t") == "Div"):
        return None
    content = node.get("c")
    if not (isinstance(content, list) and len(content) == 2):
        return None
    attr, blocks = content
    if not (isinstance(attr, list) and attr and isinstance(attr[0], str)):
        return None
    if not isinstance(blocks, list):
        return None
    return attr[0], blocks


def _find_divs(root: Any, wanted: str) -> Iterator[list[Any]]:
    """The block lists of every Div with this id, found without recursion (deep ASTs)."""
    stack = [root]
    while stack:
        node = stack.pop()
        parts = _div_parts(node)
        if parts is not None and parts[0] == wanted:
            yield parts[1]
            continue
        if isinstance(node, dict):
            stack.extend(v for v in node.values() if isinstance(v, (list, dict)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (list, dict)))


def link_inline(link: PithLink) -> dict[str, Any]:
    """The pandoc ``Link`` inline for a number."""
    return {"t": "Link", "c": [["", [LINK_CLASS], []],
                               [{"t": "Str", "c": link.number}], [link.url, ""]]}


def _append_to_entry(blocks: list[Any], link: PithLink) -> None:
    """Append `` <link>`` to the entry's last paragraph (looking into nested Divs).

    Numeric styles nest the text in ``csl-left-margin``/``csl-right-inline``
    divs; the number belongs after the text, in the last one.
    """
    while blocks:
        last = blocks[-1]
        parts = _div_parts(last)
        if parts is not None and parts[1]:
            blocks = parts[1]
            continue
        if (isinstance(last, dict) and last.get("t") in ("Para", "Plain")
                and isinstance(last.get("c"), list)):
            last["c"].extend([{"t": "Space"}, link_inline(link)])
            return
        break
    blocks.append({"t": "Plain", "c": [link_inline(link)]})


def add_links_to_refs(doc: dict[str, Any], links: dict[str, PithLink]) -> int:
    """Append each verified number to its entry in ``#refs``; returns how many were added."""
    added = 0
    if not links:
        return added
    for refs in _find_divs(doc.get("blocks"), "refs"):
        for block in refs:
            parts = _div_parts(block)
            if parts is None or not parts[0].startswith("ref-"):
                continue
            link = links.get(parts[0][len("ref-"):])
            if link is not None:
                _append_to_entry(parts[1], link)
                added += 1
    return added


def filter_document(doc: dict[str, Any], base_dir: Path) -> dict[str, Any]:
    """The whole filter on a parsed AST: read metadata, annotate ``#refs``, return the doc."""
    meta = doc.get("meta")
    links = collect_links(meta if isinstance(meta, dict) else {}, base_dir)
    add_links_to_refs(doc, links)
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: pandoc's AST on stdin, the same AST (annotated) on stdout.

    pandoc passes the output format as the first argument; it is not needed.
    """
    del argv
    data = sys.stdin.buffer.read()
    try:
        doc = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        _warn(f"input is not a pandoc JSON AST ({type(exc).__name__})")
        return 1
    if not isinstance(doc, dict) or "blocks" not in doc:
        _warn("input is not a pandoc JSON AST (no blocks)")
        return 1
    try:
        filter_document(doc, Path.cwd())
        out = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except (RecursionError, LookupError, TypeError, ValueError, AttributeError) as exc:
        # A shape this filter did not expect (hostile or from a newer pandoc): the
        # document is still rendered, as citeproc made it, without our numbers.
        _warn(f"left the document as it was: its AST has an unexpected shape "
              f"({type(exc).__name__})")
        out = data
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
