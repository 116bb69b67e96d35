"""Ninth review: what a pull request can show pith-bib that a renderer does not read.

Its findings, fixed: a field written twice (BibTeX reads the first, biber the
last), an ``@string`` redefined after the entries that use it, fields inherited
through ``crossref``/``xdata``, and renamed pith fields beside the ``pith`` /
``pith_status`` that every renderer prints: ``check`` passed each of them while
the rendered bibliography showed another paper. Each is now a finding in
``check`` and a ``conflict`` in annotate, which writes nothing into the entry.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pith_bib.bibfile import parse
from tests.cli_support import SAMPLE_MIRROR, run_cli

JIA = ("@article{jia2018exploring,\n  title = {Exploring Hidden Dimensions in Parallelizing "
       "Convolutional Neural Networks},\n  author = {Jia, Zhihao and Lin, Sina and Qi, "
       "Charles R. and Aiken, Alex},\n  eprint = {1802.04924},\n  archivePrefix = {arXiv}\n}\n")
YING_NUMBER = "pith:2018:AH5S4WE2T4KISLKPOBTLFWQMX3"  # another paper of the sample mirror


def _annotated(tmp_path: Path, extra: str = "", config: str | None = None) -> Path:
    """The sample entry annotated (check passes), then ``extra`` appended, as a PR would."""
    bib = tmp_path / "refs.bib"
    bib.write_text(JIA)
    done = run_cli("annotate", "--offline", "--mirror", str(SAMPLE_MIRROR), str(bib),
                   cache=tmp_path / "cache")
    assert done.returncode == 0, done.stdout + done.stderr
    assert run_cli("check", str(bib), cache=tmp_path / "cache").returncode == 0
    bib.write_text(bib.read_text() + extra)
    if config is not None:
        (tmp_path / ".pith-bib.toml").write_text(config)
    return bib


def _check(bib: Path, tmp_path: Path) -> tuple[int, str]:
    """check as the maintainer's hook runs it, and as pre-commit.ci does (no cache)."""
    warm = run_cli("check", str(bib), cache=tmp_path / "cache")
    cold = run_cli("check", str(bib), cache=tmp_path / "no-cache")
    assert (warm.returncode, warm.stdout) == (cold.returncode, cold.stdout)
    return warm.returncode, warm.stdout


def test_a_field_written_twice_is_a_finding(tmp_path: Path) -> None:
    bib = _annotated(tmp_path)
    text = bib.read_text()
    bib.write_text(text.replace("archivePrefix = {arXiv}",
                                f"archivePrefix = {{arXiv}},\n  PITH = {{{YING_NUMBER}}}", 1))
    code, out = _check(bib, tmp_path)
    assert code == 1 and "'pith' is written more than once" in out


def test_a_field_outside_the_judged_ones_may_repeat(tmp_path: Path) -> None:
    bib = _annotated(tmp_path)
    bib.write_text(bib.read_text().replace("archivePrefix = {arXiv}",
                                           "archivePrefix = {arXiv},\n  keywords = {a},\n"
                                           "  keywords = {b}", 1))
    assert _check(bib, tmp_path)[0] == 0


def test_a_macro_redefined_with_another_value_is_malformed() -> None:
    data = ('@string{ttl = "First Paper"}\n@article{a, title = ttl, eprint = {1802.04924}}\n'
            '@string{ttl = "Second Paper"}\n@string{same = "x"}\n@string{same = "x"}\n')
    bib = parse(data.encode(), "refs.bib")
    assert [p.line for p in bib.problems] == [3]
    assert "'ttl' is defined again with another value" in bib.problems[0].message
    assert bib.entries[0].get("title") == "First Paper"  # the definition in force there


@pytest.mark.parametrize(("extra", "inherited"), [
    # a numbered entry that takes its title and authors from another paper's entry
    (f"@article{{child, pith = {{{YING_NUMBER}}}, pith_status = {{verified}},\n"
     "  eprint = {1811.06992}, crossref = {jia2018exploring}}\n",
     "archiveprefix, author, title"),
    # an entry without a number of its own that takes the parent's number
    ("@book{book, title = {Deep Learning}, crossref = {jia2018exploring}}\n",
     "archiveprefix, author, eprint, pith"),
    ("@xdata{pithdata, pith = {" + YING_NUMBER + "}, pith_status = {verified}}\n"
     "@misc{viaxdata, title = {Unknown}, eprint = {2101.99999}, xdata = {pithdata}}\n",
     "pith, pith_status"),
])
def test_fields_inherited_through_crossref_or_xdata_are_findings(
        tmp_path: Path, extra: str, inherited: str) -> None:
    bib = _annotated(tmp_path, "\n" + extra)
    code, out = _check(bib, tmp_path)
    assert code == 1 and f"it would inherit {inherited} through" in out


def test_an_unnumbered_entry_may_inherit_its_proceedings(tmp_path: Path) -> None:
    """As DBLP exports conference papers: the parent's URL and title are the
    proceedings', and nothing claims a number."""
    bib = _annotated(tmp_path, "\n@proceedings{conf, title = {Proceedings}, "
                               "publisher = {ACM}, url = {https://example.org/p}}\n"
                               "@inproceedings{paper, title = {A Paper}, author = {Doe, Jane},"
                               " crossref = {conf}}\n")
    assert _check(bib, tmp_path)[0] == 0


def test_renamed_fields_cannot_hide_the_ones_renderers_print(tmp_path: Path) -> None:
    bib = _annotated(tmp_path, config='field = "pithid"\nstatus_field = "pithstate"\n')
    code, out = _check(bib, tmp_path)
    assert code == 1
    assert "it has a 'pith' field, which renderers print, but pith-bib is configured to " \
           "judge 'pithid'" in out


def test_annotate_writes_nothing_into_an_ambiguous_entry(tmp_path: Path) -> None:
    bib = tmp_path / "refs.bib"
    text = JIA.replace("archivePrefix = {arXiv}",
                       "archivePrefix = {arXiv},\n  title = {A Completely Different Paper}")
    bib.write_text(text)
    done = run_cli("annotate", "--offline", "--mirror", str(SAMPLE_MIRROR), str(bib),
                   cache=tmp_path / "cache")
    assert done.returncode == 1
    assert "conflict: the field 'title' is written more than once" in done.stdout
    assert bib.read_text() == text


def test_the_check_hook_shows_its_output_even_when_it_passes() -> None:
    """pre-commit hides a passing hook's output: a check turned down by a pull request
    would pass unseen."""
    hooks = (Path(__file__).parents[1] / ".pre-commit-hooks.yaml").read_text()
    check_hook = hooks.split("- id: pith-bib-check", 1)[1].split("- id:", 1)[0]
    assert "\n  verbose: true\n" in check_hook


def test_zotero_restates_a_refused_items_verified_status_once(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """As annotate does for a .bib: the number stays, the status says the finding, and
    a second run sends nothing (the Better BibTeX export would otherwise print it)."""
    from pith_bib.cli import main
    from tests.zotero_fake import API_KEY, LIBRARY, FakeZotero

    extra = f"arXiv: 1811.06992\ntex.pith: {YING_NUMBER}\ntex.pith_status: verified"
    monkeypatch.setenv("ZOTERO_API_KEY", API_KEY)
    with FakeZotero() as fake:
        fake.add_item("ABCD2345", {"itemType": "journalArticle",
                                   "title": "A Totally Different Paper About Cats",
                                   "url": "https://arxiv.org/abs/1811.06992", "extra": extra})
        argv = ["zotero", "--library", LIBRARY, "--zotero-url", fake.url, "--full",
                "--offline", "--mirror", str(SAMPLE_MIRROR), "--cache-dir",
                str(tmp_path / "cache")]
        assert main(argv) == 1 and main(argv) == 1
        assert fake.extra("ABCD2345") == extra.replace("verified", "title-mismatch")
        assert len(fake.requests("POST")) == 1


def test_a_line_break_in_a_file_name_cannot_fake_a_line_of_output(tmp_path: Path) -> None:
    bib = tmp_path / "a\nrefs.bib: 1 entries, 1 with identifiers (1 verified).bib"
    bib.write_text(JIA)
    done = run_cli("annotate", "--offline", "--mirror", str(SAMPLE_MIRROR), str(bib),
                   cache=tmp_path / "cache")
    assert done.returncode == 0
    assert all(line.startswith((str(tmp_path), "wrote ")) for line in done.stdout.splitlines())
    assert "a\\x0arefs.bib" in done.stdout


# -- tenth review: crossref as DBLP uses it, and the ways around the first rule ------------
def test_a_numbered_dblp_child_may_inherit_its_proceedings(tmp_path: Path) -> None:
    """Container fields (booktitle, series, volume, url) inherit freely; annotate numbers
    the child, check passes, and a second annotate changes nothing."""
    bib = tmp_path / "refs.bib"
    bib.write_text(JIA.replace("archivePrefix = {arXiv}",
                               "archivePrefix = {arXiv},\n  crossref = {DBLP:conf/x/2018}")
                   + "@proceedings{DBLP:conf/x/2018, title = {Proceedings}, series = {PMLR},"
                     " volume = {80}, booktitle = {ICML}, url = {https://example.org/p}}\n")
    mirror = ["--offline", "--mirror", str(SAMPLE_MIRROR)]
    assert run_cli("annotate", *mirror, str(bib), cache=tmp_path / "c").returncode == 0
    annotated = bib.read_text()
    assert "pith_status = {verified}" in annotated
    assert _check(bib, tmp_path)[0] == 0
    assert run_cli("annotate", *mirror, str(bib), cache=tmp_path / "c").returncode == 0
    assert bib.read_text() == annotated


@pytest.mark.parametrize(("extra", "reason"), [
    # a second crossref field in another case: biber follows the last
    ("@article{child, pith = {" + YING_NUMBER + "}, pith_status = {verified},\n"
     "  eprint = {1811.06992}, crossref = {jia2018exploring}, CROSSREF = {other}}\n",
     "the field 'crossref' is written more than once"),
    # a parent in another .bib file: what it gives cannot be judged
    ("@article{child, pith = {" + YING_NUMBER + "}, pith_status = {verified},\n"
     "  eprint = {1811.06992}, crossref = {elsewhere}}\n",
     "it names crossref elsewhere, which is not in this file"),
    # a chain: child -> mid -> jia2018exploring (title and authors)
    ("@misc{mid, crossref = {jia2018exploring}}\n"
     "@article{child, pith = {" + YING_NUMBER + "}, pith_status = {verified},\n"
     "  eprint = {1811.06992}, crossref = {mid}}\n",
     "it would inherit archiveprefix, author, title through crossref"),
])
def test_the_ways_around_inheritance_are_findings_too(tmp_path: Path, extra: str,
                                                      reason: str) -> None:
    bib = _annotated(tmp_path, "\n" + extra)
    code, out = _check(bib, tmp_path)
    assert code == 1 and reason in out


def test_a_macro_redefined_before_any_entry_uses_it_is_fine() -> None:
    data = ('@string{IEEE = "IEEE"}\n@string{IEEE = "{IEEE}"}\n'
            '@article{a, title = {T}, journal = IEEE}\n')
    bib = parse(data.encode(), "refs.bib")
    assert bib.problems == [] and bib.entries[0].get("journal") == "{IEEE}"


# -- twelfth review: keys in another case, granular xdata, macros defined after use -------
@pytest.mark.parametrize(("extra", "edit", "reason"), [
    # biber matches keys case-sensitively, BibTeX does not: both parents count
    ("@book{par, booktitle = {Proc}}\n@book{Par, title = {Image Classification at "
     "Supercomputer Scale}, author = {Ying, Chris}}\n", "crossref = {Par}",
     "it would inherit author, title through crossref Par"),
    # biblatex's granular xdata takes one field of another entry
    ("@xdata{yx, eprint = {1811.06992}}\n", "doi = {xdata=yx-eprint}",
     "its 'doi' is taken from another entry (xdata="),
])
def test_inheritance_by_key_case_or_granular_xdata_is_a_finding(
        tmp_path: Path, extra: str, edit: str, reason: str) -> None:
    bib = _annotated(tmp_path, "\n" + extra)
    text = bib.read_text()
    if edit.startswith("crossref"):  # the entry's own title and authors removed
        text = re.sub(r"  title = \{[^}]*\},\n  author = \{[^}]*\},\n", "", text, count=1)
    bib.write_text(text.replace("archivePrefix = {arXiv}", f"archivePrefix = {{arXiv}},\n  {edit}",
                                1))
    code, out = _check(bib, tmp_path)
    assert code == 1 and reason in out


@pytest.mark.parametrize("name", ["ttl", "jan"])
def test_a_macro_defined_only_after_an_entry_used_it_is_malformed(name: str) -> None:
    """BibTeX and biber expand it as undefined (or a month's built-in name) there."""
    data = f'@article{{a, title = {name}, eprint = {{1802.04924}}}}\n@string{{{name} = "T"}}\n'
    bib = parse(data.encode(), "refs.bib")
    assert len(bib.problems) == 1
    assert f"'{name}' is defined only after an entry used it" in bib.problems[0].message


def test_an_execute_field_on_a_numbered_entry_is_a_finding(tmp_path: Path) -> None:
    """biblatex runs it as TeX for the entry: it can print another title or number."""
    bib = _annotated(tmp_path)
    bib.write_text(bib.read_text().replace(
        "archivePrefix = {arXiv}",
        "archivePrefix = {arXiv},\n  execute = {\\csdef{abx@field@title}{Another Paper}}", 1))
    code, out = _check(bib, tmp_path)
    assert code == 1 and "it has an 'execute' field" in out
