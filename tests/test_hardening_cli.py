"""Regression tests for the hardening review, as a user (or an attacker) meets the command.

Each test is one case the review named; the class it stands for is fixed in
the module named in its docstring.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from pith_bib.publish import build_bundle, document_bytes
from tests.cli_support import SAMPLE_MIRROR, copy_sample, run_cli, trust_args
from tests.support import fixed_key

OFFLINE = ["--offline", "--mirror", str(SAMPLE_MIRROR)]
JIA = "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"


@pytest.fixture
def annotated(tmp_path: Path) -> tuple[Path, Path]:
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    result = run_cli("annotate", *OFFLINE, str(bib), cache=tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr
    return bib, tmp_path / "zotero-biblatex.pith-lock.json"


def check(bib: Path, *extra: str) -> tuple[int, str, str]:
    done = run_cli("check", *extra, str(bib), cache=bib.parent / "check-cache")
    return done.returncode, done.stdout, done.stderr


def test_journal_doi_entry_cannot_borrow_another_papers_number(
        annotated: tuple[Path, Path]) -> None:
    """check.py + policy.doi_rule: a pull request moves a verified number onto a DOI entry."""
    bib, _ = annotated
    bib.write_text(bib.read_text() + (
        "\n@article{smith2021journal,\n  title = {A Different Journal Paper},\n"
        "  author = {Smith, Jane},\n  doi = {10.1145/3458817.3476209},\n"
        f"  pith = {{{JIA}}},\n  pith_status = {{verified}}\n}}\n"))
    code, out, _ = check(bib)
    assert code == 1
    assert "smith2021journal: " in out
    assert "does not name DOI 10.1145/3458817.3476209 in its signed aliases" in out


def test_entry_without_identifiers_cannot_borrow_a_number(annotated: tuple[Path, Path]) -> None:
    """check.py + policy.title_rule: no identifier at all, a number from another paper."""
    bib, _ = annotated
    bib.write_text(bib.read_text() + (
        "\n@misc{nobody2020,\n  title = {Completely Unrelated Work on Gardening},\n"
        f"  pith = {{{JIA}}},\n  pith_status = {{verified}}\n}}\n"))
    code, out, _ = check(bib)
    assert code == 1
    assert "nobody2020: likely wrong identifier" in out


def test_lock_with_a_duplicate_key_is_refused(annotated: tuple[Path, Path]) -> None:
    """lock.py via strict_json: "last one wins" would let an edit hide an entry."""
    bib, lock = annotated
    text = lock.read_text()
    assert '"not_found":{}' in text
    lock.write_text(text.replace('"not_found":{}', '"not_found":{"arxiv:1":"x","arxiv:1":"y"}'))
    code, _, err = check(bib)
    assert code == 2
    assert "duplicate key 'arxiv:1'" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_not_found_claim_cannot_silence_an_entry_the_lock_maps(
        annotated: tuple[Path, Path]) -> None:
    """check.py: the lock's not_found list is unsigned; its own evidence outranks it."""
    bib, lock = annotated
    text = bib.read_text()
    bib.write_text(text.replace(f"  pith = {{{JIA}}},\n  pith_status = {{verified}}\n", "")
                   .replace(f",\n  pith = {{{JIA}}},\n  pith_status = {{verified}}", ""))
    assert JIA not in bib.read_text()
    data = json.loads(lock.read_text())
    data["not_found"]["arxiv:1802.04924"] = "not-found"
    lock.write_text(json.dumps(data))
    code, out, _ = check(bib)
    assert code == 1
    assert f"the lock's evidence maps 1802.04924 to {JIA}" in out


def test_summary_counts_entries_passing_only_as_not_found(tmp_path: Path) -> None:
    """check.py: a reviewer must see how many entries pass on an unsigned claim."""
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{a,\n  title = {Unknown},\n  eprint = {2101.99999},\n"
                   "  archivePrefix = {arXiv}\n}\n")
    run_cli("annotate", *OFFLINE, "--no-derive", str(bib), cache=tmp_path / "cache")
    code, out, _ = check(bib)
    assert code == 0
    assert "1 passed only as not-found in the lock" in out


def test_every_extra_trusted_key_is_named(tmp_path: Path) -> None:
    """settings.trust_lines: trust beyond the registry key is always visible."""
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    done = run_cli("annotate", *OFFLINE, *trust_args(), str(bib), cache=tmp_path / "cache")
    key = fixed_key(11)
    from pith_bib.trust import fingerprint_hex

    assert (f"trusting extra key {fingerprint_hex(bytes(key.verify_key))}"
            in done.stderr)
    assert "from --trust-key" in done.stderr


def test_terminal_escapes_are_never_printed_raw(tmp_path: Path) -> None:
    """terminal.clean: keys, titles and reasons from files reach the terminal escaped."""
    bib = tmp_path / "refs.bib"
    bib.write_bytes(b"@article{evil\x1b[2Jkey,\n  title = {T\x1b]0;pwned\x07},\n"
                    b"  eprint = {1802.04924},\n  archivePrefix = {arXiv}\n}\n")
    done = run_cli("annotate", *OFFLINE, "-v", str(bib), cache=tmp_path / "cache")
    assert "\x1b" not in done.stdout and "\x1b" not in done.stderr
    assert "\\x1b" in done.stdout


def test_output_and_lock_on_the_same_path_is_a_usage_error(tmp_path: Path) -> None:
    """cli._lock_paths: -o out.bib --lock out.bib would overwrite one with the other."""
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    out = tmp_path / "out.bib"
    done = run_cli("annotate", *OFFLINE, "-o", str(out), "--lock", str(out), str(bib),
                   cache=tmp_path / "cache")
    assert done.returncode == 2 and "would overwrite" in done.stderr
    assert not out.exists()


def test_two_inputs_sharing_one_lock_is_a_usage_error(tmp_path: Path) -> None:
    """cli._lock_paths: refs.bib and refs.biblatex would share refs.pith-lock.json."""
    first = copy_sample("zotero-biblatex.bib", tmp_path)
    second = tmp_path / "zotero-biblatex.biblatex"
    second.write_bytes(first.read_bytes())
    done = run_cli("annotate", *OFFLINE, str(first), str(second), cache=tmp_path / "cache")
    assert done.returncode == 2 and "would share the lock file" in done.stderr
    assert not (tmp_path / "zotero-biblatex.pith-lock.json").exists()


def test_a_symlinked_bib_is_updated_through_the_link(tmp_path: Path) -> None:
    """atomic.write_atomic: the link stays a link; its target gets the new bytes."""
    (tmp_path / "store").mkdir()
    real = copy_sample("zotero-biblatex.bib", tmp_path / "store")
    link = tmp_path / "refs.bib"
    link.symlink_to(real)
    done = run_cli("annotate", *OFFLINE, str(link), cache=tmp_path / "cache")
    assert done.returncode == 0, done.stdout + done.stderr
    assert link.is_symlink()
    assert JIA in real.read_text()


def test_a_read_only_bib_is_refused(tmp_path: Path) -> None:
    """atomic.write_atomic: a 0444 file in a writable folder is not silently replaced."""
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    before = bib.read_bytes()
    bib.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    try:
        done = run_cli("annotate", *OFFLINE, str(bib), cache=tmp_path / "cache")
    finally:
        bib.chmod(0o644)
    assert done.returncode == 2
    assert "read-only" in done.stderr
    assert bib.read_bytes() == before


def test_cited_version_difference_is_shown_by_default(tmp_path: Path) -> None:
    """policy.arxiv_version_rule: v1 cited, v2 signed: said without -v."""
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{jia,\n  title = {Exploring Hidden Dimensions in Parallelizing "
                   "Convolutional Neural Networks},\n  eprint = {1802.04924v1},\n"
                   "  archivePrefix = {arXiv}\n}\n")
    done = run_cli("annotate", *OFFLINE, str(bib), cache=tmp_path / "cache")
    assert done.returncode == 0
    assert "jia: warning: the entry cites 1802.04924v1; the signed record is v2" in done.stdout


def test_hand_written_verified_is_corrected_to_what_evidence_supports(tmp_path: Path) -> None:
    """annotate._supported: a state supports record-verified, never a typed 'verified'."""
    key = fixed_key(12)
    mirror = tmp_path / "mirror"
    doc = build_bundle("2103.00001", 1, "A Paper", "2021-03-01T00:00:00Z", key, "k")
    folder = mirror / "pith" / doc["pith_number"].rsplit(":", 1)[1]
    folder.mkdir(parents=True)
    (folder / "state.json").write_bytes(document_bytes(doc["state"]))
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{a,\n  title = {A Paper},\n  eprint = {2103.00001},\n"
                   f"  archivePrefix = {{arXiv}},\n  pith = {{{doc['pith_number']}}},\n"
                   "  pith_status = {verified}\n}\n")
    done = run_cli("annotate", "--offline", "--mirror", str(mirror), *trust_args(key),
                   str(bib), cache=tmp_path / "cache")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pith_status = {record-verified}" in bib.read_text()


def test_environment_is_not_needed_for_the_suite() -> None:
    # conftest.py points derivation at a closed loopback port for every subprocess
    assert os.environ["PITH_BIB_ARXIV_API"].startswith("http://127.0.0.1:")
