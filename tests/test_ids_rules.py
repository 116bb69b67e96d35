"""Each extraction rule on its own, and the conflicts that must not be guessed away."""

from __future__ import annotations

import pytest

from pith_bib.bibfile import parse
from pith_bib.ids import extract, normalise_doi, parse_arxiv_id


def ids_of(fields: str):
    bib = parse(f"@article{{k,\n{fields}\n}}\n".encode())
    assert bib.problems == []
    return extract(bib.entries[0])


@pytest.mark.parametrize(("fields", "arxiv", "version"), [
    ("eprint = {2101.01234}, archivePrefix = {arXiv}", "2101.01234", None),
    ("eprint = {2101.01234v3}, eprinttype = {arxiv}", "2101.01234", 3),
    ("eprint = {arXiv:2101.01234}", "2101.01234", None),
    ("eprint = {1501.00001}", "1501.00001", None),
    ("eprint = {hep-th/9901001}", "hep-th/9901001", None),
    ("eprint = {math.GT/0309136}, archiveprefix = {arXiv}", "math/0309136", None),
    ("eprint = {cond-mat/0101001v2}", "cond-mat/0101001", 2),
    ("arxiv = {2203.00001}", "2203.00001", None),
    ("arxivid = {arXiv:0901.0001v1}", "0901.0001", 1),
    ("journal = {arXiv preprint arXiv:1910.13461}", "1910.13461", None),
    ("journaltitle = {arXiv:2001.00001}", "2001.00001", None),
    ("note = {arXiv: 1806.03377}", "1806.03377", None),
    ("howpublished = {arXiv e-print 1708.02188}", "1708.02188", None),
    ("eid = {arXiv:1209.3785}", "1209.3785", None),
    ("pages = {arXiv:1702.00786}", "1702.00786", None),
    ("url = {https://arxiv.org/abs/1802.04924v2}", "1802.04924", 2),
    ("url = {http://arxiv.org/pdf/1811.06992v2.pdf}", "1811.06992", 2),
    ("pdf = {https://export.arxiv.org/pdf/hep-ph/0101001}", "hep-ph/0101001", None),
    ("doi = {10.48550/arXiv.1811.00143}", "1811.00143", None),
    ("doi = {https://doi.org/10.48550/ARXIV.math/0403018}", "math/0403018", None),
    ("journal = {CoRR}, volume = {abs/1802.04924}", "1802.04924", None),
    # biblatex prints eprinttype, BibTeX styles archivePrefix: either saying arXiv counts
    ("eprint = {2101.00002}, archivePrefix = {HAL}, eprinttype = {arxiv}", "2101.00002", None),
    ("eprint = {2101.00002}, archivePrefix = {arXiv}, eprinttype = {hal}", "2101.00002", None),
    ("eprint = {2101.00002}, archivePrefix = { }, eprinttype = {arXiv}", "2101.00002", None),
])
def test_rule(fields: str, arxiv: str, version: int | None) -> None:
    found = extract_checked(fields)
    assert (found.arxiv_id, found.arxiv_version) == (arxiv, version)


def extract_checked(fields: str):
    found = ids_of(fields)
    assert found.conflicts == []
    return found


@pytest.mark.parametrize("fields", [
    "eprint = {24038744}, eprinttype = {pubmed}",
    "eprint = {2101.00002}, archivePrefix = {HAL}, eprinttype = {hal}",
    "eprint = {12345}",
    "journal = {ArXiv e-prints}",
    "note = {see 2101.01234 for details}",  # a bare new-style number is not claimed in text
    "url = {https://example.org/abs/2101.01234}",
    "eprint = {1313.00001}",  # month 13 does not exist
    "title = {arXiv:2101.01234 in the title is not an identifier}",
])
def test_not_an_arxiv_id(fields: str) -> None:
    assert ids_of(fields).arxiv_id is None


@pytest.mark.parametrize(("raw", "doi"), [
    ("10.1103/PhysRevD.89.096007", "10.1103/physrevd.89.096007"),
    ("https://doi.org/10.1016/j.jcp.2018.10.045", "10.1016/j.jcp.2018.10.045"),
    ("http://dx.doi.org/10.1007/s00779-005-0347-6", "10.1007/s00779-005-0347-6"),
    ("doi:10.1000/XYZ.", "10.1000/xyz"),
    ("DOI: 10.1016/j.materresbull.2006.01.004;", "10.1016/j.materresbull.2006.01.004"),
    ("https://doi.org/10.1000%2Fabc%28x%29", "10.1000/abc(x)"),
    (r"10.1007/3-540-48515-5\_8", "10.1007/3-540-48515-5_8"),
    ("{10.1000/abc},", "10.1000/abc"),
    ("not a doi", None),
])
def test_doi_normalisation(raw: str, doi: str | None) -> None:
    assert normalise_doi(raw) == doi


def test_disagreeing_fields_are_a_conflict_not_a_guess() -> None:
    found = ids_of("eprint = {2101.01234}, archivePrefix = {arXiv},\n"
                   "url = {https://arxiv.org/abs/2101.04321}")
    assert found.arxiv_id is None
    assert found.conflicts == [
        "fields name different arXiv papers: eprint says 2101.01234, url says 2101.04321"
    ]


def test_arxiv_doi_disagreeing_with_eprint_is_a_conflict() -> None:
    found = ids_of("eprint = {1802.04924}, doi = {10.48550/arXiv.1811.06992}")
    assert found.arxiv_id is None
    assert "doi says 1811.06992" in found.conflicts[0]


def test_version_disagreement_keeps_the_paper_but_reports() -> None:
    found = ids_of("eprint = {1802.04924v1}, url = {https://arxiv.org/abs/1802.04924v2}")
    assert found.arxiv_id == "1802.04924"
    assert found.arxiv_version is None
    assert "different versions" in found.conflicts[0]


def test_versions_agreeing_with_unversioned_mentions() -> None:
    found = extract_checked("eprint = {1802.04924}, url = {https://arxiv.org/abs/1802.04924v2}")
    assert (found.arxiv_id, found.arxiv_version) == ("1802.04924", 2)


def test_entry_text_is_not_rewritten() -> None:
    src = b"@article{k, eprint = {arXiv:1802.04924v2}, doi = {https://doi.org/10.1/X}}\n"
    bib = parse(src)
    extract(bib.entries[0])
    assert bib.to_bytes() == src


def test_parse_arxiv_id_forms() -> None:
    assert str(parse_arxiv_id("arXiv:1802.04924v2")) == "1802.04924v2"
    assert str(parse_arxiv_id("https://arxiv.org/abs/hep-th/9901001")) == "hep-th/9901001"
    assert parse_arxiv_id("10.48550/arXiv.1811.00143").id == "1811.00143"
    assert parse_arxiv_id("nonsense") is None
