"""The author rule end to end: ``pith-bib annotate`` and ``check`` as users run them.

Why: the failure this rule exists for is a reference with a real title and a
real identifier but invented co-authors (what language models produce). Here
a mirror serves a bundle, signed by a test key pinned with ``--trust-key``,
whose signed snapshot lists the real authors; the .bib files lie about them
in the ways that matter: at annotate time, after annotation (a hand edit that
only ``check`` can catch, offline, from the lock's evidence), a little (a
warning), and not at all (no ``author`` field: nothing to judge).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pith_bib.bibfile import parse
from pith_bib.lock import load_lock
from pith_bib.publish import build_bundle, document_bytes
from tests.cli_support import run_cli, trust_args
from tests.support import fixed_key

KEY = fixed_key(41)
PAPER_ID = "2105.01234"
PAPER_TITLE = "Sparse Attention for Very Long Documents"
SIGNED_AUTHORS = "Ada Lovelace, Alan Turing, Grace Hopper, Katherine Johnson"
OTHER_ID = "2106.04321"
OTHER_TITLE = "Graph Networks at Scale"

REAL = "Lovelace, Ada and Turing, Alan and Hopper, Grace and Johnson, Katherine"
INVENTED = "Smith, John and Doe, Jane and Roe, Richard"
FABRICATED_COAUTHORS = "Lovelace, Ada and Smith, John and Doe, Jane"  # 2 of 3 invented
ONE_TYPO = "Lovelace, Ada and Turing, Alan and Hopper, Grace and Knuth, Donald"  # 1 of 4


def bib_text(author: str | None) -> str:
    """``paper`` (authors as given) and ``plain`` (no author field) citing signed papers."""
    author_line = f"  author = {{{author}}},\n" if author is not None else ""
    return (f"@article{{paper,\n  title = {{{PAPER_TITLE}}},\n{author_line}"
            f"  eprint = {{{PAPER_ID}}},\n  archivePrefix = {{arXiv}},\n}}\n\n"
            f"@article{{plain,\n  title = {{{OTHER_TITLE}}},\n"
            f"  eprint = {{{OTHER_ID}}},\n  archivePrefix = {{arXiv}},\n}}\n")


@pytest.fixture
def mirror(tmp_path: Path) -> dict[str, str]:
    """A local mirror of two signed bundles; returns arXiv id → pith number."""
    numbers = {}
    for arxiv_id, title, authors in ((PAPER_ID, PAPER_TITLE, SIGNED_AUTHORS),
                                     (OTHER_ID, OTHER_TITLE, "Barbara Liskov, Claude Shannon")):
        doc = build_bundle(arxiv_id, 1, title, "2021-05-06T07:08:09Z", KEY, "test-key",
                           authors=authors)
        folder = tmp_path / "mirror" / "pith" / doc["pith_number"].rsplit(":", 1)[1]
        folder.mkdir(parents=True)
        (folder / "bundle.json").write_bytes(document_bytes(doc))
        numbers[arxiv_id] = doc["pith_number"]
    return numbers


def write_bib(folder: Path, author: str | None) -> Path:
    bib = folder / "refs.bib"
    bib.write_text(bib_text(author), encoding="utf-8")
    return bib


def annotate(bib: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("annotate", "--offline", "--mirror", str(bib.parent / "mirror"),
                   *trust_args(KEY), str(bib), cache=bib.parent / "cache")


def check(bib: Path) -> subprocess.CompletedProcess[str]:
    """Offline from the lock alone: no mirror, and a cache that has never been filled."""
    return run_cli("check", *trust_args(KEY), str(bib), cache=bib.parent / "check-cache")


def pith_fields(bib: Path) -> dict[str, str | None]:
    return {e.key: e.get("pith") for e in parse(bib.read_bytes(), str(bib)).entries}


def line_of(bib: Path, key: str) -> int:
    return next(n for n, line in enumerate(bib.read_text().splitlines(), start=1)
                if line.startswith(f"@article{{{key},"))


def set_author(bib: Path, old: str, new: str) -> None:
    text = bib.read_text(encoding="utf-8")
    assert text.count(f"author = {{{old}}}") == 1
    bib.write_text(text.replace(f"author = {{{old}}}", f"author = {{{new}}}"), encoding="utf-8")


def test_fabricated_coauthors_get_no_number(tmp_path: Path, mirror: dict[str, str]) -> None:
    bib = write_bib(tmp_path, FABRICATED_COAUTHORS)
    result = annotate(bib)
    assert result.returncode == 1, result.stdout + result.stderr
    number = mirror[PAPER_ID]
    where = f"{bib}:{line_of(bib, 'paper')}: paper: author-mismatch: "
    [line] = [ln for ln in result.stdout.splitlines() if ln.startswith(where)]
    assert f"author mismatch: Smith, John; Doe, Jane not among the signed authors of {number}" \
        in line
    assert "Lovelace" not in line.split("(", 1)[0]  # the author who is real is not named
    assert SIGNED_AUTHORS in line  # the signed list is quoted, so the user sees who wrote it
    # no number for the liar; the entry without an author field is not judged
    assert pith_fields(bib) == {"paper": None, "plain": mirror[OTHER_ID]}
    lock = load_lock(tmp_path / "refs.pith-lock.json")
    assert lock is not None and sorted(lock.papers) == [mirror[OTHER_ID]]
    assert lock.refused[f"arxiv:{PAPER_ID}"].startswith("author-mismatch: ")
    # check repeats annotate's refusal for the unnumbered entry, from the lock alone
    checked = check(bib)
    assert checked.returncode == 1
    assert (f"{bib}:{line_of(bib, 'paper')}: paper: annotate refused to number it: "
            "author-mismatch: author mismatch: Smith, John; Doe, Jane") in checked.stdout


def test_warn_mode_writes_the_number_and_warns(tmp_path: Path, mirror: dict[str, str]) -> None:
    (tmp_path / ".pith-bib.toml").write_text('author_check = "warn"\n', encoding="utf-8")
    bib = write_bib(tmp_path, FABRICATED_COAUTHORS)
    result = annotate(bib)
    assert result.returncode == 0, result.stdout + result.stderr
    assert pith_fields(bib) == {"paper": mirror[PAPER_ID], "plain": mirror[OTHER_ID]}
    warning = (f"{bib}:{line_of(bib, 'paper')}: paper: warning: author mismatch: Smith, John; "
               f"Doe, Jane not among the signed authors of {mirror[PAPER_ID]}")
    assert any(ln.startswith(warning) for ln in result.stdout.splitlines()), result.stdout
    assert "author-mismatch" not in result.stdout
    # check under the same configuration passes, and still says it
    checked = check(bib)
    assert checked.returncode == 0, checked.stdout
    assert any(ln.startswith(f"{bib}:{line_of(bib, 'paper')}: paper: author mismatch: Smith, "
                             "John; Doe, Jane") and ln.endswith("(warning)")
               for ln in checked.stdout.splitlines()), checked.stdout


@pytest.fixture
def annotated(tmp_path: Path, mirror: dict[str, str]) -> Path:
    """A bibliography annotated with the real authors, then left with only its lock."""
    bib = write_bib(tmp_path, REAL)
    result = annotate(bib)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in result.stdout
    assert pith_fields(bib) == {"paper": mirror[PAPER_ID], "plain": mirror[OTHER_ID]}
    before = check(bib)
    assert before.returncode == 0 and "(warning)" not in before.stdout, before.stdout
    return bib


def test_check_catches_authors_edited_after_annotation(annotated: Path,
                                                       mirror: dict[str, str]) -> None:
    bib = annotated
    set_author(bib, REAL, INVENTED)
    result = check(bib)
    assert result.returncode == 1, result.stdout
    prefix = f"{bib}:{line_of(bib, 'paper')}: paper: "
    [line] = [ln for ln in result.stdout.splitlines() if ln.startswith(prefix)]
    assert line.startswith(prefix + "author mismatch: Smith, John; Doe, Jane; Roe, Richard "
                                    f"not among the signed authors of {mirror[PAPER_ID]}")
    assert result.stdout.splitlines()[-1].endswith("1 problem")


def test_check_warns_on_a_minority_difference(annotated: Path, mirror: dict[str, str]) -> None:
    bib = annotated
    set_author(bib, REAL, ONE_TYPO)
    result = check(bib)
    assert result.returncode == 0, result.stdout
    expected = (f"{bib}:{line_of(bib, 'paper')}: paper: not among the signed authors of "
                f"{mirror[PAPER_ID]}: Knuth, Donald (warning)")
    assert expected in result.stdout.splitlines(), result.stdout
    assert result.stdout.splitlines()[-1].endswith("0 problems")


def test_check_does_not_judge_an_entry_without_authors(annotated: Path) -> None:
    bib = annotated
    text = bib.read_text(encoding="utf-8")
    bib.write_text(text.replace(f"  author = {{{REAL}}},\n", ""), encoding="utf-8")
    assert "author" not in bib.read_text(encoding="utf-8")
    result = check(bib)
    assert result.returncode == 0, result.stdout
    assert "author" not in result.stdout and "(warning)" not in result.stdout
