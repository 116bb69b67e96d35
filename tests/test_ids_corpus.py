"""Identifier extraction on real entries from the corpora (each with file and key).

Every expected value was checked by hand against the entry's raw fields.
Skipped when ../shared/corpora is absent.
"""

from __future__ import annotations

from functools import cache

import pytest

from pith_bib.bibfile import BibFile, parse
from pith_bib.ids import extract
from tests.support import CORPORA

UI = "zbb-import/Unabbreviate_on_import_1436-3.bib"
CASES = [
    # eprint + archivePrefix (INSPIRE, ADS, arXiv exports)
    ("bibtex-tidy/others_orcid-inspiredHEP.bib", "Chen:2014oha", "1403.3399", None,
     "10.1103/physrevd.89.096007"),
    ("hepml/HEPML.bib", "Araz:2026img", "2606.13780", None, None),
    ("hepml/HEPML.bib", "Esmail:2024gdc", "2405.16499", None, "10.1007/jhep12(2025)050"),
    ("hepml/HEPML.bib", "Heredge:2021vww", "2103.12257", None, "10.1007/s41781-021-00075-x"),
    ("zbb-export/arXiv_categories_missing_in_the_BibTeX_output_when_stored_only_in_the_Extra_"
     "field_2483.bibtex", "Ramaswamy2022ELUDEGeneratingInterpretable", "2206.07690", None,
     "10.48550/arxiv.2206.07690"),
    # ... with the 10.48550 arXiv DOI as well
    ("blackhole-refs/refs.bib", "Amaro-Seoane2017", "1702.00786", None,
     "10.48550/arxiv.1702.00786"),
    ("ml-paper-refs/references.bib", "wanCYBERSECEVAL3Advancing2024", "2408.01605", None,
     "10.48550/arxiv.2408.01605"),
    ("zotero-ml-library/My_Library.bib", "brownExtrapolatingSuboptimalDemonstrations2019",
     "1904.06387", None, "10.48550/arxiv.1904.06387"),
    ("zotero-ml-library/My_Library.bib", "liangHolisticEvaluationLanguage2022", "2211.09110",
     None, "10.48550/arxiv.2211.09110"),
    # old-style ids under archivePrefix
    ("blackhole-refs/refs.bib", "Armitage2002", "astro-ph/0201318", None, "10.1086/339770"),
    ("blackhole-refs/refs.bib", "Ogilvie1999", "astro-ph/9905089", None,
     "10.1046/j.1365-8711.1999.02637.x"),
    ("cosmobib/cosmo.bib", "Enqvist:2004ey", "astro-ph/0411394", None,
     "10.1103/physrevlett.94.161301"),
    ("lhcb-thesis/lmumu.bib", "Hrivnac:1994jx", "hep-ph/9405231", None,
     "10.1088/0954-3899/21/5/007"),
    # versions (eprint and arxivid agree)
    (UI, "blochl_1994", "1408.4701", 2, "10.1103/physrevb.50.17953"),
    (UI, "grange_2014", "1301.1258", 3, "10.1063/1.4897543"),
    (UI, "manna_2018", "1708.00490", 3, "10.1103/physrevapplied.9.034026"),
    (UI, "sacksteder_2016", "1605.02203", 1, "10.1103/physrevb.94.205424"),
    # bare eprint that is clearly an arXiv id (no prefix field)
    ("blackhole-refs/refs.bib", "Zabalza2015", "1509.03319", None, None),
    ("cosmobib/cosmo.bib", "2008arXiv0802.2105P", "0802.2105", None, None),
    ("cosmobib/cosmo_preprints.bib", "2008arXiv0806.1950C", "0806.1950", None, None),
    ("blackhole-refs/refs.bib", "Abel2002", "astro-ph/0112088", None,
     "10.1126/science.295.5552.93"),
    ("blackhole-refs/refs.bib", "Israel1996", "astro-ph/9603038", None, "10.1086/177697"),
    ("cosmobib/cosmo.bib", "2006astro.ph..4069T", "astro-ph/0604069", None, None),
    # "arXiv:" prefixes in eprint, and INSPIRE's "[category]" suffix
    ("blackhole-refs/refs.bib", "Achterberg2001", "astro-ph/0107530", None,
     "10.1046/j.1365-8711.2001.04851.x"),
    ("cosmobib/cosmo.bib", "2001AJ....122.2267E", "astro-ph/0108153", None, "10.1086/323717"),
    ("cosmobib/cosmo.bib", "2008PhRvD..77j3506C", "0801.3463", None,
     "10.1103/physrevd.77.103506"),
    ("cosmobib/cosmo.bib", "Dalal:2007cu", "0710.4560", None, "10.1103/physrevd.77.123514"),
    ("cosmobib/cosmo.bib", "Hirata:2008cb", "0801.0644", None, None),
    # BibLaTeX eprinttype
    ("jabref/SearchExamples.bib", "Kirillov2023", "2304.02643", None, None),
    ("jabref/testjabref.bib", "Alvarez2020", "2003.10017", None, None),
    ("jabref/testjabref.bib", "Starostin2008", "0810.0976", None, "10.1063/1.2991413"),
    ("zbb-export/Citation_key_add_preprint_if_URL_contains_arxiv.org_2163.biblatex.bib",
     "_preprinthe_delving_deep_into_rectifiers_2015", "1502.01852", None, None),
    ("zbb-export/inspireHep_fetching_broken_2201.biblatex.bib", "East:2022rsi", "2206.12432",
     None, "10.48550/arxiv.2206.12432"),
    ("biber/examples.bib", "itzhaki", "hep-th/9603067", None, None),
    ("jabref/testjabref.bib", "Pan2005", "cond-mat/0501739", None, None),
    ("jabref/testjabref.bib", "Mao2005a", "math/0510480", None, None),
    ("biber/examples.bib", "baez/article", "math/0307200", 3, None),
    ("bibtex-tidy/biblatex_biblatex-examples.bib", "wassenberg", "1008.2849", 1, None),
    # arxiv / arxivid fields (a pubmed eprint beside them is ignored)
    ("blackhole-refs/refs.bib", "Schimoia2015", "1411.4682", None, "10.1088/0004-637x/800/1/63"),
    (UI, "dzhioev_2002", "cond-mat/0208083", None, "10.1103/physrevb.66.245204"),
    (UI, "hytch_1998", "cond-mat/0604596", None, "10.1016/s0304-3991(98)00035-7"),
    (UI, "oulton_2009", "quant-ph/0509168", 1, "10.1038/nature08364"),
    ("zbb-export/Error_exporting_duplicate_eprinttype_1128.biblatex.bib", "Kundu2013",
     "1408.1149", None, "10.1073/pnas.1301725110"),
    # ADS puts preprints in booktitle; notes with old-style ids
    ("cosmobib/cosmo_preprints.bib", "2001astro.ph..9001B", "astro-ph/0109001", None, None),
    ("cosmobib/cosmo_preprints.bib", "2002astro.ph..1207D", "astro-ph/0201207", None, None),
    ("cosmobib/cosmo_preprints.bib", "2002astro.ph..5007A", "astro-ph/0205007", None, None),
    ("cosmobib/cosmo_preprints.bib", "2002astro.ph..5384M", "astro-ph/0205384", None, None),
    # only the 10.48550 DOI
    ("jabref/SearchExamples.bib", "Vaswani2017", "1706.03762", None, "10.48550/arxiv.1706.03762"),
    ("ml-paper-refs/references.bib", "liuGEMGymAgentic2025a", "2510.01051", None,
     "10.48550/arxiv.2510.01051"),
    ("ml-paper-refs/references.bib", "chenFastModelDebias2023", "2310.12560", None,
     "10.48550/arxiv.2310.12560"),
    # journal DOIs only, in every spelling
    ("biber/examples.bib", "kastenholz", None, None, "10.1063/1.2172593"),
    (UI, "gacevic_2015a", None, None, "10.1021/nl504099s"),
    ("blackhole-refs/AI.bib", "Raissi2019", None, None, "10.1016/j.jcp.2018.10.045"),
    ("jabref/bibWithUserComments.bib", "1102917", None, None, "10.1007/s00779-005-0347-6"),
    ("jabref/complex.bib", "1358810", None, None, "10.1145/1358628.1358810"),
    ("zbb-export/DOI_with_underscores_in_extra_field_108.biblatex.bib", "koopman_efficient_99",
     None, None, "10.1007/3-540-48515-5_8"),
    ("zbb-export/Export_of_creator-type_fields_from_embedded_CSL_variables_365_uppercase_DOI_"
     "825.biblatex.bib", "Blair2004", None, None, "10.1093/ref:odnb/10183"),
    # arXiv URLs in howpublished / url (abs, html, with versions)
    ("ml-paper-refs/references.bib", "230513300AdaptiveChameleon", "2305.13300", None, None),
    ("ml-paper-refs/references.bib", "cuiProcessReinforcementImplicit2025", "2502.01456", 2,
     None),
    ("ml-paper-refs/references.bib", "ProceduralKnowledgePretraining", "2411.12580", 1, None),
    (UI, "panda_2011", "1112.5726", None, None),
    ("blackhole-refs/AI.bib", "Li2020", "2010.08895", None, "10.48550/arxiv.2010.08895"),
    ("zotero-ml-library/My_Library.bib", "abramsonImprovingMultimodalInteractive2022a",
     "2211.11602", 1, "10.48550/arxiv.2211.11602"),
    # journal = {arXiv preprint arXiv:...}
    ("bibtex-tidy/autocomplete-bibtex_PaglioneBibTeX.bib", "paglione2012properties", "1206.3530",
     None, None),
    ("cosmobib/cosmo_preprints.bib", "2003astro.ph.12036S", "astro-ph/0312036", None, None),
    ("rebiber/example_input.bib", "clark2018think", "1803.05457", None, None),
    # report numbers (CERN CDS) and DBLP's volume = {abs/...}
    ("lhcb-thesis/main.bib", "Aaij:1569212", "1308.1707", None, None),
    ("rebiber/example_input.bib", "lv2019graph", "1909.05311", None, None),
    ("rebiber/example_input.bib", "Zhu2019TextI", "1901.00158", None, None),
    # no identifier at all
    ("biber/annotations.bib", "ann1", None, None, None),
    ("pybtex/tugboat.bib", "Lewenberg:TB22-1-42", None, None, None),
    ("ml-paper-refs/references.bib", "DownloadBrazilCountry", None, None, None),
]


@cache
def _parsed(relative: str) -> BibFile:
    return parse((CORPORA / relative).read_bytes(), relative)


@pytest.mark.skipif(not CORPORA.is_dir(), reason="../shared/corpora is not present")
@pytest.mark.parametrize(("relative", "key", "arxiv_id", "version", "doi"), CASES,
                         ids=[c[1] for c in CASES])
def test_real_entry(relative: str, key: str, arxiv_id: str | None, version: int | None,
                    doi: str | None) -> None:
    entry = next(e for e in _parsed(relative).entries if e.key == key)
    found = extract(entry)
    assert (found.arxiv_id, found.arxiv_version, found.doi) == (arxiv_id, version, doi)
    assert found.conflicts == []


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 60
