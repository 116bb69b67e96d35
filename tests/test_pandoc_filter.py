"""The pith-bib-pandoc filter: unit tests on hand-built ASTs, then real pandoc runs."""

from __future__ import annotations

import copy
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pith_bib.pandoc_filter import (
    add_links_to_refs,
    collect_links,
    filter_document,
    links_from_csl_json,
    main,
    meta_text,
)
from pith_bib.pybtex_style import PithLink

RENDER = Path(__file__).parent / "data" / "render"
NUMBER = "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"
URL = "https://pith.science/pith/DM6GBYSNJHDMWLODXZBVEPYJHJ"


# -- hand-built ASTs --------------------------------------------------------------------


def s(text: str) -> dict[str, Any]:
    return {"t": "Str", "c": text}


def minline(text: str) -> dict[str, Any]:
    return {"t": "MetaInlines", "c": [s(text)]}


def mmap(**fields: Any) -> dict[str, Any]:
    return {"t": "MetaMap", "c": fields}


def entry(key: str, *blocks: Any) -> dict[str, Any]:
    return {"t": "Div", "c": [[f"ref-{key}", ["csl-entry"], []], list(blocks)]}


def para(*words: str) -> dict[str, Any]:
    inlines: list[Any] = []
    for word in words:
        if inlines:
            inlines.append({"t": "Space"})
        inlines.append(s(word))
    return {"t": "Para", "c": inlines}


def reference(key: str, pith: str | None, status: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {"id": minline(key), "type": minline("book")}
    custom = {}
    if pith is not None:
        custom["pith"] = minline(pith)
    if status is not None:
        custom["pith_status"] = minline(status)
    if custom:
        fields["custom"] = mmap(**custom)
    return mmap(**fields)


def document(references: list[Any], entries: list[Any]) -> dict[str, Any]:
    return {
        "pandoc-api-version": [1, 23, 1],
        "meta": {"references": {"t": "MetaList", "c": references}},
        "blocks": [
            para("Text."),
            {"t": "Div", "c": [["refs", ["references", "csl-bib-body"], []], entries]},
        ],
    }


def link_node(number: str = NUMBER, url: str = URL) -> dict[str, Any]:
    return {"t": "Link", "c": [["", ["pith"], []], [s(number)], [url, ""]]}


def test_filter_appends_link_to_verified_entries_only(tmp_path: Path) -> None:
    doc = document(
        [reference("good", NUMBER, "verified"),
         reference("rec", "pith:2020:ABCDEFGHIJKLMNOPQRSTUVWXYZ", "record-verified"),
         reference("bad", NUMBER, "invalid"),
         reference("none", None, None)],
        [entry("good", para("Good", "2018.")), entry("rec", para("Rec.")),
         entry("bad", para("Bad", "2019.")), entry("none", para("None."))],
    )
    before = copy.deepcopy(doc)
    filter_document(doc, tmp_path)
    entries = doc["blocks"][1]["c"][1]
    assert entries[0]["c"][1][0]["c"] == [*before["blocks"][1]["c"][1][0]["c"][1][0]["c"],
                                          {"t": "Space"}, link_node()]
    assert entries[1]["c"][1][0]["c"][-1] == link_node(
        "pith:2020:ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        "https://pith.science/pith/ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert entries[2:] == before["blocks"][1]["c"][1][2:]
    assert doc["blocks"][0] == before["blocks"][0]
    assert doc["meta"] == before["meta"]


def test_filter_leaves_document_without_numbers_untouched(tmp_path: Path) -> None:
    doc = document([reference("bad", NUMBER, "conflict")], [entry("bad", para("Bad."))])
    before = copy.deepcopy(doc)
    assert filter_document(doc, tmp_path) == before


def test_numeric_styles_get_the_number_in_the_right_inline_div() -> None:
    left = {"t": "Div", "c": [["", ["csl-left-margin"], []], [{"t": "Plain", "c": [s("[1]")]}]]}
    right = {"t": "Div", "c": [["", ["csl-right-inline"], []], [{"t": "Plain", "c": [s("X.")]}]]}
    doc = document([], [entry("k", left, right)])
    assert add_links_to_refs(doc, {"k": PithLink(NUMBER, URL)}) == 1
    assert right["c"][1][0]["c"] == [s("X."), {"t": "Space"}, link_node()]
    assert left["c"][1][0]["c"] == [s("[1]")]


def test_entry_without_paragraph_gets_a_plain_block() -> None:
    doc = document([], [entry("k", {"t": "HorizontalRule"})])
    add_links_to_refs(doc, {"k": PithLink(NUMBER, URL)})
    assert doc["blocks"][1]["c"][1][0]["c"][1][-1] == {"t": "Plain", "c": [link_node()]}


def test_only_entries_inside_refs_are_touched() -> None:
    stray = entry("k", para("Not", "in", "refs."))
    doc = {"meta": {}, "blocks": [stray]}
    before = copy.deepcopy(doc)
    assert add_links_to_refs(doc, {"k": PithLink(NUMBER, URL)}) == 0
    assert doc == before


def test_bibliography_files_are_read_relative_to_the_working_dir(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "refs.json").write_bytes((RENDER / "sample.json").read_bytes())
    (tmp_path / "refs.bib").write_bytes((RENDER / "sample.bib").read_bytes())
    meta = {"bibliography": {"t": "MetaList", "c": [minline("sub/refs.json"),
                                                    {"t": "MetaString", "c": "refs.bib"},
                                                    minline("missing.json")]}}
    links = collect_links(meta, tmp_path)
    assert set(links) == {"verified2018", "recordverified2020"}
    assert links["verified2018"] == PithLink(NUMBER, URL)


def test_malformed_csl_json_is_skipped_with_a_warning(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.json").write_text("[{", encoding="utf-8")
    (tmp_path / "refs.yaml").write_text("- id: x\n", encoding="utf-8")
    meta = {"bibliography": {"t": "MetaList", "c": [minline("bad.json"), minline("refs.yaml")]}}
    assert collect_links(meta, tmp_path) == {}
    err = capsys.readouterr().err
    assert "bad.json" in err and "refs.yaml" in err


def test_warnings_never_print_control_characters(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    meta = {"bibliography": minline("evil\x1b[2J\x07.json")}
    assert collect_links(meta, tmp_path) == {}
    err = capsys.readouterr().err
    assert "evil" in err
    assert not any(ord(c) < 32 and c != "\n" for c in err)


def test_csl_json_ignores_hostile_items() -> None:
    items = [
        {"id": "a", "custom": {"pith": NUMBER, "pith_status": "verified"}},
        {"id": "b", "custom": {"pith": NUMBER + "<script>", "pith_status": "verified"}},
        {"id": "c", "custom": "pith"},
        {"id": ["x"], "custom": {"pith": NUMBER, "pith_status": "verified"}},
        "junk",
    ]
    assert set(links_from_csl_json(items)) == {"a"}


def test_meta_text_flattens_inlines() -> None:
    value = {"t": "MetaInlines", "c": [s("record-verified"), {"t": "Space"}, s("x")]}
    assert meta_text(value) == "record-verified x"


def test_main_round_trips_json(monkeypatch: pytest.MonkeyPatch,
                               capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    doc = document([reference("good", NUMBER, "verified")], [entry("good", para("Good."))])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps(doc).encode())))
    assert main(["html"]) == 0
    out = json.loads(capsysbinary.readouterr().out)
    assert out["blocks"][1]["c"][1][0]["c"][1][0]["c"][-1] == link_node()


def test_main_rejects_non_ast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"not json")))
    assert main([]) == 1


# -- real pandoc ------------------------------------------------------------------------


def pandoc_path() -> str:
    pypandoc = pytest.importorskip("pypandoc", reason="pypandoc-binary is not installed")
    try:
        return pypandoc.get_pandoc_path()
    except OSError as exc:
        pytest.skip(f"pandoc is not available: {exc}")


PITH_LINK_HTML = re.compile(r' <a\s+href="https://pith\.science/pith/([A-Z2-7]{26})"\s+'
                            r'class="pith">(pith:\d{4}:[A-Z2-7]{26})</a>')


def run_pandoc(pandoc: str, args: list[str], cwd: Path, filtered: bool) -> str:
    """HTML from ``pandoc --citeproc``, with the filter run on the AST in between if asked."""
    base = [pandoc, "--citeproc", "--wrap=none", *args]
    if not filtered:
        return subprocess.run([*base, "-t", "html"], cwd=cwd, check=True, capture_output=True,
                              text=True, timeout=60).stdout
    ast = subprocess.run([*base, "-t", "json"], cwd=cwd, check=True, capture_output=True,
                         timeout=60).stdout
    filtered_ast = subprocess.run([sys.executable, "-m", "pith_bib.pandoc_filter", "html"],
                                  input=ast, cwd=cwd, check=True, capture_output=True,
                                  timeout=60).stdout
    return subprocess.run([pandoc, "-f", "json", "-t", "html", "--wrap=none"],
                          input=filtered_ast, cwd=cwd, check=True, capture_output=True,
                          timeout=60).stdout.decode("utf-8")


@pytest.mark.parametrize("bibliography", ["sample.json", "sample.bib"])
def test_pandoc_output_differs_from_plain_citeproc_only_by_the_number(
        tmp_path: Path, bibliography: str) -> None:
    pandoc = pandoc_path()
    for name in ("doc.md", bibliography):
        (tmp_path / name).write_bytes((RENDER / name).read_bytes())
    args = ["--bibliography", bibliography, "doc.md"]
    plain = run_pandoc(pandoc, args, tmp_path, filtered=False)
    ours = run_pandoc(pandoc, args, tmp_path, filtered=True)

    assert PITH_LINK_HTML.findall(ours) == [("DM6GBYSNJHDMWLODXZBVEPYJHJ", NUMBER)]
    assert PITH_LINK_HTML.sub("", ours) == plain
    # The link sits inside the verified entry's div, not elsewhere.
    verified_div = re.search(r'<div id="ref-verified2018".*?</div>', ours, re.S)
    assert verified_div is not None and NUMBER in verified_div.group(0)
    for key in ("invalid2019", "plain1984"):
        assert f'id="ref-{key}"' in ours


def test_pandoc_inline_references_and_record_verified(tmp_path: Path) -> None:
    pandoc = pandoc_path()
    (tmp_path / "doc.md").write_text(
        "---\nreferences:\n"
        "- id: rec\n  type: book\n  title: Records\n  issued: 2020\n"
        "  custom:\n    pith: pith:2020:ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
        "    pith_status: record-verified\n"
        "- id: short\n  type: book\n  title: Short\n  issued: 2018\n"
        "  custom:\n    pith: pith:DM6GBYSN\n    pith_status: verified\n"
        "---\n\nSee @rec and @short.\n", encoding="utf-8")
    ours = run_pandoc(pandoc, ["doc.md"], tmp_path, filtered=True)
    plain = run_pandoc(pandoc, ["doc.md"], tmp_path, filtered=False)
    assert PITH_LINK_HTML.findall(ours) == [
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "pith:2020:ABCDEFGHIJKLMNOPQRSTUVWXYZ")]
    assert PITH_LINK_HTML.sub("", ours) == plain


def test_console_script_works_as_pandoc_filter(tmp_path: Path) -> None:
    pandoc = pandoc_path()
    script = Path(sys.executable).with_name("pith-bib-pandoc")
    if not script.exists():
        pytest.skip("pith-bib-pandoc is not installed next to this python (pip install -e .)")
    for name in ("doc.md", "sample.json"):
        (tmp_path / name).write_bytes((RENDER / name).read_bytes())
    out = subprocess.run(
        [pandoc, "--citeproc", "--bibliography", "sample.json", "--filter", str(script),
         "-t", "latex", "doc.md"],
        cwd=tmp_path, check=True, capture_output=True, text=True, timeout=60).stdout
    assert f"\\href{{{URL}}}{{{NUMBER}}}" in out
    assert out.count("pith.science") == 1
