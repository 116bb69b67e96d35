"""``pith-bib latex``: the shipped biblatex snippet, and a real compile when TeX is present."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pith_bib import latex

SAMPLE = Path(__file__).parent / "data" / "render" / "sample.bib"


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pith-bib")
    latex.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_latex_command_prints_the_snippet(capsys: pytest.CaptureFixture[str]) -> None:
    args = parse(["latex"])
    assert args.handler(args) == 0
    out = capsys.readouterr().out
    assert out == latex.biblatex_snippet()
    # The source map keeps both fields ...
    sourcemap = re.search(r"\\DeclareSourcemap\{.*?\n\}\n", out, re.S)
    assert sourcemap is not None
    assert "\\step[fieldsource=pith, final]" in sourcemap.group(0)
    assert "\\step[fieldsource=pith_status, final]" in sourcemap.group(0)
    assert "\\step[fieldset=usera, origfieldval]" in sourcemap.group(0)
    assert "\\step[fieldset=userb, origfieldval]" in sourcemap.group(0)
    # ... and only they reach usera/userb: the entry's own are removed, copies overwrite
    assert "\\step[fieldset=usera, null]" in sourcemap.group(0)
    assert sourcemap.group(0).count("\\map[overwrite]{") == 5
    assert "\\step[fieldset=execute, null]" in sourcemap.group(0)
    assert "\\DeclareDataInheritance{*}{*}{\\noinherit{usera}\\noinherit{userb}}" in out
    # ... the number prints only for the two verified statuses ...
    assert "\\iffieldequalstr{userb}{verified}" in out
    assert "\\iffieldequalstr{userb}{record-verified}" in out
    assert "\\A pith:\\d{4}:[A-Z2-7]{26} \\Z" in out
    # ... as a link to the resolver page, after doi/eprint/url.
    assert "https://pith.science/pith/" in out
    assert "\\href {#1} { \\nolinkurl {#2} }" in out
    assert "\\letbibmacro{pith:doi+eprint+url}{doi+eprint+url}" in out
    assert "\\renewbibmacro*{doi+eprint+url}" in out


def test_snippet_is_balanced_and_printable() -> None:
    text = latex.biblatex_snippet()
    code = "\n".join(line.split("%", 1)[0] for line in text.splitlines())
    depth = 0
    for char in code:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0
    assert code.count("\\ExplSyntaxOn") == code.count("\\ExplSyntaxOff") == 1
    assert all(c == "\n" or 32 <= ord(c) < 127 for c in text)


def test_latex_command_writes_a_file(tmp_path: Path) -> None:
    target = tmp_path / "pith-biblatex.tex"
    args = parse(["latex", "-o", str(target)])
    assert args.handler(args) == 0
    assert target.read_text(encoding="utf-8") == latex.biblatex_snippet()


# Entries that carry usera/userb of their own (by hand, or from a Zotero Extra line
# through Better BibTeX): only pith and pith_status may decide what prints.
FORGED = """
@misc{forgedonly, title = {Only usera and userb}, year = {2019},
  usera = {pith:2019:CCCCCCCCCCCCCCCCCCCCCCCCCC}, userb = {verified}}
@misc{forgedstatus, title = {A refused number, userb says verified}, year = {2019},
  pith = {pith:2019:HHHHHHHHHHHHHHHHHHHHHHHHHH}, pith_status = {title-mismatch},
  userb = {verified}}
@misc{forgednumber, title = {Another number in usera}, year = {2019},
  pith = {pith:2019:DDDDDDDDDDDDDDDDDDDDDDDDDD}, pith_status = {verified},
  usera = {pith:2019:EEEEEEEEEEEEEEEEEEEEEEEEEE}}
@misc{statusonly, title = {A status without a number}, year = {2019},
  pith_status = {verified}, usera = {pith:2019:KKKKKKKKKKKKKKKKKKKKKKKKKK}}
@proceedings{parent, title = {Parent Proceedings}, year = {2019},
  pith = {pith:2019:MMMMMMMMMMMMMMMMMMMMMMMMMM}, pith_status = {verified}}
@inproceedings{child, title = {A child of the verified parent}, crossref = {parent},
  pith = {pith:2019:NNNNNNNNNNNNNNNNNNNNNNNNNN}}
@xdata{shared, pith = {pith:2019:OOOOOOOOOOOOOOOOOOOOOOOOOO}, pith_status = {verified}}
@misc{sharing, title = {Takes its number from xdata}, year = {2019}, xdata = {shared}}
@misc{executing, title = {Runs TeX}, year = {2019},
  pith = {pith:2019:PPPPPPPPPPPPPPPPPPPPPPPPPP}, pith_status = {verified},
  execute = {\\csdef{abx@field@usera}{pith:2019:QQQQQQQQQQQQQQQQQQQQQQQQQQ}}}
"""

DOCUMENT = r"""\documentclass{article}
\usepackage[backend=biber,style=numeric]{biblatex}
\usepackage{hyperref}
\input{pith-biblatex}
\addbibresource{sample.bib}
\begin{document}
\nocite{*}
\printbibliography
\end{document}
"""


def test_compiled_pdf_shows_verified_numbers_only(tmp_path: Path) -> None:
    engine = shutil.which("pdflatex") or shutil.which("lualatex")
    missing = [name for name, found in (("a LaTeX engine (pdflatex/lualatex)", engine),
                                        ("biber", shutil.which("biber")),
                                        ("pdftotext", shutil.which("pdftotext"))) if not found]
    if missing:
        pytest.skip("cannot compile the biblatex snippet: not installed: " + ", ".join(missing))
    assert engine is not None
    (tmp_path / "sample.bib").write_text(SAMPLE.read_text(encoding="utf-8") + FORGED,
                                         encoding="utf-8")
    (tmp_path / "pith-biblatex.tex").write_text(latex.biblatex_snippet(), encoding="utf-8")
    (tmp_path / "doc.tex").write_text(DOCUMENT, encoding="utf-8")
    for command in ([engine, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                    ["biber", "doc"],
                    [engine, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                    ["pdftotext", "doc.pdf", "doc.txt"]):
        subprocess.run(command, cwd=tmp_path, check=True, capture_output=True, timeout=120)
    text = re.sub(r"\s+", "", (tmp_path / "doc.txt").read_text(encoding="utf-8"))
    assert "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ" in text
    assert "pith:2020:ABCDEFGHIJKLMNOPQRSTUVWXYZ" in text
    assert "QQQQQQQQ" not in text and "RRRRRRRR" not in text
    # the entry's own usera/userb never print (seventh review)
    assert "pith:2019:DDDDDDDDDDDDDDDDDDDDDDDDDD" in text
    assert not any(f"{c * 8}" in text for c in "CEHKNOQ")  # nor inherited, nor executed
    assert "pith:2019:PPPPPPPPPPPPPPPPPPPPPPPPPP" in text  # its own; its execute never ran
    assert "pith:2019:MMMMMMMMMMMMMMMMMMMMMMMMMM" in text  # the parent's own prints
