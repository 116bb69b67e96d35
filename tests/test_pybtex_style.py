"""The pith-* pybtex styles: the number appears exactly for verified entries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pybtex.database import BibliographyData, Entry, parse_file
from pybtex.plugin import find_plugin

from pith_bib.pybtex_style import (
    PithAlphaStyle,
    PithPlainStyle,
    PithUnsrtStyle,
    pith_link,
)

SAMPLE = Path(__file__).parent / "data" / "render" / "sample.bib"
SHOWN = {
    "verified2018": ("pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ", "DM6GBYSNJHDMWLODXZBVEPYJHJ"),
    "recordverified2020": ("pith:2020:ABCDEFGHIJKLMNOPQRSTUVWXYZ", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
}
HIDDEN = ("invalid2019", "notfound2021", "plain1984")
STYLES = {"pith-unsrt": PithUnsrtStyle, "pith-plain": PithPlainStyle, "pith-alpha": PithAlphaStyle}
STOCK = {"pith-unsrt": "unsrt", "pith-plain": "plain", "pith-alpha": "alpha"}


def render(style_name: str, backend_name: str, bib: BibliographyData | None = None) -> dict:
    style = find_plugin("pybtex.style.formatting", style_name)()
    backend = find_plugin("pybtex.backends", backend_name)()
    formatted = style.format_bibliography(bib or parse_file(str(SAMPLE)))
    return {entry.key: entry.text.render(backend) for entry in formatted.entries}


@pytest.mark.parametrize("name", sorted(STYLES))
def test_entry_points_register_the_three_styles(name: str) -> None:
    assert find_plugin("pybtex.style.formatting", name) is STYLES[name]


@pytest.mark.parametrize("name", sorted(STYLES))
def test_plaintext_shows_number_for_verified_entries_only(name: str) -> None:
    out = render(name, "text")
    assert set(out) == {*SHOWN, *HIDDEN}
    for key, (number, _) in SHOWN.items():
        assert out[key].count(number) == 1, out[key]
    for key in HIDDEN:
        assert "pith:" not in out[key], out[key]


def test_plaintext_places_number_after_doi_and_eprint() -> None:
    out = render("pith-unsrt", "text")
    assert out["verified2018"].endswith(
        "doi:10.1000/example.1, pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ.")
    assert out["recordverified2020"].endswith(
        "arXiv:2001.00001, pith:2020:ABCDEFGHIJKLMNOPQRSTUVWXYZ.")


def test_html_links_number_to_resolver_page() -> None:
    out = render("pith-unsrt", "html")
    for key, (number, ident) in SHOWN.items():
        link = f'<a href="https://pith.science/pith/{ident}">{number}</a>'
        assert out[key].count(link) == 1, out[key]
    for key in HIDDEN:
        assert "pith.science" not in out[key] and "pith:" not in out[key]


def test_latex_uses_href() -> None:
    out = render("pith-alpha", "latex")
    for key, (number, ident) in SHOWN.items():
        assert f"\\href{{https://pith.science/pith/{ident}}}{{{number}}}" in out[key]
    for key in HIDDEN:
        assert "pith" not in out[key]


@pytest.mark.parametrize("name", sorted(STYLES))
@pytest.mark.parametrize("backend", ["text", "html", "latex"])
def test_everything_else_matches_the_stock_style(name: str, backend: str) -> None:
    ours = render(name, backend)
    stock = render(STOCK[name], backend)
    for key in HIDDEN:
        assert ours[key] == stock[key]
    for key in SHOWN:
        without = re.sub(r", (\\href\{[^}]*\}\{pith:[^}]*\}|<a href=\"[^\"]*\">pith:[^<]*</a>"
                         r"|pith:\d{4}:[A-Z2-7]{26})", "", ours[key])
        assert without == stock[key]


def test_number_is_printed_even_without_doi_or_eprint() -> None:
    bib = BibliographyData(entries={"bare": Entry("misc", fields={
        "title": "Bare", "year": "2018",
        "pith": "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ", "PITH_STATUS": "Verified"})})
    out = render("pith-unsrt", "text", bib)
    assert out["bare"].endswith("2018. pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ.")


@pytest.mark.parametrize(("pith", "status", "expected"), [
    ("pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ", "verified", "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"),
    ("  pith:2018:dm6gbysnjhdmwlodxzbvepyjhj ", " record-verified ",
     "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"),
    ("{pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ}", "verified", "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"),
])
def test_pith_link_accepts_verified_full_numbers(pith: str, status: str, expected: str) -> None:
    link = pith_link(pith, status)
    assert link is not None
    assert link.number == expected
    assert link.url == "https://pith.science/pith/" + expected.rsplit(":", 1)[1]


@pytest.mark.parametrize(("pith", "status"), [
    ("pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ", status)
    for status in ("invalid", "not-found", "unavailable", "conflict", "title-mismatch",
                   "author-mismatch", "pith-mismatch", "", "verified!", "unverified")
] + [
    ("pith:DM6GBYSN", "verified"),                       # short form: no resolver page
    ("DM6GBYSNJHDMWLODXZBVEPYJHJ", "verified"),          # no year
    ("pith:2018:DM6GBYSNJHDMWLODXZBVEPYJH1", "verified"),  # not base32
    ("pith:2018:DM6GBYSN\x1b[31mX", "verified"),          # control characters
    ("pith:2018:" + "A" * 5000, "verified"),
    (None, "verified"),
    ("pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ", None),
])
def test_pith_link_refuses_everything_else(pith: object, status: object) -> None:
    assert pith_link(pith, status) is None
