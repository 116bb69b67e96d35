"""A tiny Sphinx project with sphinxcontrib-bibtex and ``bibtex_default_style = "pith-unsrt"``.

Built offline, in process, in a temporary directory: the HTML must link the
number of each verified entry and show nothing for the others.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="sphinx is not installed (pip install -e '.[test]')")
pytest.importorskip("sphinxcontrib.bibtex", reason="sphinxcontrib-bibtex is not installed")

from sphinx.cmd.build import build_main

SAMPLE = Path(__file__).parent / "data" / "render" / "sample.bib"
KEYS = ("verified2018", "recordverified2020", "invalid2019", "notfound2021", "plain1984")

CONF = '''
extensions = ["sphinxcontrib.bibtex"]
bibtex_bibfiles = ["refs.bib"]
bibtex_default_style = "pith-unsrt"
project = "pith-render-test"
html_theme = "basic"
'''

INDEX = """
Rendering test
==============

{cites}

.. bibliography::
"""


def test_sphinx_html_links_verified_numbers_only(tmp_path: Path) -> None:
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    shutil.copy(SAMPLE, src / "refs.bib")
    (src / "conf.py").write_text(CONF, encoding="utf-8")
    cites = " ".join(f":cite:p:`{key}`" for key in KEYS)
    (src / "index.rst").write_text(INDEX.format(cites=cites), encoding="utf-8")

    status = build_main(["-b", "html", "-q", "-E", "-d", str(tmp_path / "doctrees"),
                         str(src), str(out)])
    assert status == 0
    html = (out / "index.html").read_text(encoding="utf-8")

    links = re.findall(r'<a class="reference external" href="https://pith\.science/pith/'
                       r'([A-Z2-7]{26})">(pith:\d{4}:[A-Z2-7]{26})</a>', html)
    assert sorted(links) == [
        ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "pith:2020:ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        ("DM6GBYSNJHDMWLODXZBVEPYJHJ", "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"),
    ]
    # The invalid and not-found numbers are in the .bib but must not reach the page.
    assert "QQQQQQQQ" not in html
    assert "RRRRRRRR" not in html
    assert html.count("pith.science") == 2
    # Every entry was rendered (the check above is not vacuous).
    for title in ("Analytical engines revisited", "Compilers for everyone",
                  "On forged numbers", "Substitution principles"):
        assert title in html
