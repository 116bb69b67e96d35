"""Review round 4: adversarial checks of the tail edit check, deferred lock evidence,
the verdict key's linked creation and the shipped LaTeX table.

Both findings (a failing claim in the lock hiding a verified one from ``check``;
no verdict key where hard links are refused) are fixed and kept as tests; the
other tests pin what held under attack, so a regression there fails loudly.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from pith_bib import check as check_module
from pith_bib import ulatex, verdict_key
from pith_bib.documents import BibDocument
from pith_bib.errors import BibEditError
from tests.cli_support import annotated_papers, deferred_check_findings

NUMBER = "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"
OURS = {"pith": NUMBER, "pith_status": "verified"}
# A well-formed number that sorts after every number the test mirror signs.
BOGUS = "pith:2999:" + "Z" * 26


# -- lock: a failing paper shadows a verified one in the claims mapping --------------

@pytest.fixture
def annotated(tmp_path: Path) -> tuple[Path, Path]:
    return annotated_papers(tmp_path)


def _shadowed(bib: Path, lock_path: Path) -> str:
    """A second, unnumbered entry for paper 4; the lock says 2101.00004 is not found and
    appends a copy of paper 4's evidence under another number with a broken signature.
    Returns paper 4's real number."""
    text = bib.read_text()
    bib.write_text(text + "@article{dup4,\n  title = {Paper number 4},\n"
                   "  eprint = {2101.00004},\n  archivePrefix = {arXiv}\n}\n")
    lock = json.loads(lock_path.read_text())
    real = next(n for n, ev in lock["papers"].items()
                if ev["record"]["source"]["id"] == "2101.00004")
    forged = json.loads(json.dumps(lock["papers"][real]))
    signature = forged["receipt"]["signature_b64"]
    forged["receipt"]["signature_b64"] = ("B" if signature[0] == "A" else "A") + signature[1:]
    lock["papers"][BOGUS] = forged  # appended last: it wins the claims mapping
    lock["not_found"]["arxiv:2101.00004"] = "not-found"
    lock_path.write_text(json.dumps(lock))
    return real


def test_verified_mapping_sees_through_a_forged_claim(
        annotated: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """Control: when workers verify the whole lock, the mapping is built from the records
    that verified, so the forged copy cannot hide paper 4 from ``dup4``."""
    bib, lock_path = annotated
    monkeypatch.setattr(check_module, "_workers", lambda count: 3)
    real = _shadowed(bib, lock_path)
    assert any(f"dup4: no pith field, but the lock's evidence maps 2101.00004 to {real}" in f
               for f in deferred_check_findings(bib, lock_path))


def test_claims_mapping_is_not_shadowed_by_a_paper_that_fails(
        annotated: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """check.py ``_mapped_number`` / lock.py ``LockFile.mapping``.

    A small lock (under PARALLEL_THRESHOLD unvouched papers, or not on Linux) maps
    through the lock's unverified claims, one number per alias, last one wins, and
    only then verifies that number. A hostile lock appends a paper that claims
    paper 4's arXiv id but does not verify: the alias now points at it, the verified
    paper 4 is never considered, and the unsigned ``not_found`` claim passes ``dup4``,
    while the same lock checked by workers (test above) fails it. The lock cannot
    just drop paper 4 instead: ``paper4`` needs it. Fix: keep every number per alias
    in ``mapping()`` (or skip numbers whose report is not ok), as ``verified_aliases``
    effectively does.
    """
    bib, lock_path = annotated
    monkeypatch.setattr(check_module, "_workers", lambda count: 1)
    real = _shadowed(bib, lock_path)
    findings = deferred_check_findings(bib, lock_path)
    assert any(f"dup4: no pith field, but the lock's evidence maps 2101.00004 to {real}" in f
               for f in findings), findings


# -- verdict key ------------------------------------------------------------------

@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv(verdict_key.DATA_ENV, str(folder))
    verdict_key.verdict_key.cache_clear()
    yield folder
    verdict_key.verdict_key.cache_clear()


def test_a_key_is_made_where_hard_links_are_refused(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """verdict_key.py ``_create``: ``os.link`` raising EPERM/ENOTSUP (filesystems without
    hard links) is an OSError that ``verdict_key`` turns into "no key", on every run:
    no verdict is ever reused, each warm run is a cold one, silently. The version before
    b680046 (O_EXCL create and write) made a key there. A fallback such as
    ``os.open(path, O_CREAT | O_EXCL)`` plus write when linking is unsupported keeps
    the key; the temp file must still be removed."""
    def no_links(src: object, dst: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    key = verdict_key.verdict_key()
    assert not list(data_dir.glob(".verdict-key.*"))  # the private file is cleaned up
    assert key is not None and len(key) == verdict_key.KEY_BYTES


def test_key_creation_fails_closed_on_planted_paths(data_dir: Path) -> None:
    """Held: a dangling symlink at the key path, or a directory there, gives "no key"
    (nothing reused), never a traceback, and leaves no private file behind."""
    data_dir.mkdir()
    (data_dir / verdict_key.KEY_NAME).symlink_to(data_dir / "elsewhere")
    assert verdict_key.verdict_key() is None
    assert not (data_dir / "elsewhere").exists()
    assert not list(data_dir.glob(".verdict-key.*"))
    verdict_key.verdict_key.cache_clear()
    (data_dir / verdict_key.KEY_NAME).unlink()
    (data_dir / verdict_key.KEY_NAME).mkdir()
    assert verdict_key.verdict_key() is None


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True,
                    reason="root ignores directory permissions")
def test_a_read_only_data_dir_gives_no_key_and_no_traceback(data_dir: Path) -> None:
    """Held: the private file cannot be created; the answer is "no key"."""
    data_dir.mkdir()
    data_dir.chmod(0o500)
    try:
        assert verdict_key.verdict_key() is None
    finally:
        data_dir.chmod(0o700)


def test_concurrent_threads_share_one_whole_key(data_dir: Path) -> None:
    """Held: threads racing on first use all read the same 32 bytes."""
    from concurrent.futures import ThreadPoolExecutor

    def fresh() -> bytes | None:
        return verdict_key.verdict_key.__wrapped__()

    with ThreadPoolExecutor(8) as pool:
        keys = list(pool.map(lambda _: fresh(), range(32)))
    assert len(set(keys)) == 1 and keys[0] is not None and len(keys[0]) == 32
    assert (data_dir / verdict_key.KEY_NAME).read_bytes() == keys[0]


# -- LaTeX table fallback -------------------------------------------------------------

def test_missing_or_broken_shipped_table_falls_back_to_latexcodec(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Held: without the shipped table (or with one that does not compile) the decoder
    builds latexcodec's own and decodes the same."""
    samples = [r"Schr\"odinger \'{e}t\'e \ss{} --- {\AA}ngstr\"om", r"\v{S}koda \o{} \L{}"]
    expected = [ulatex.decode(s) for s in samples]
    broken = tmp_path / "table.json"
    broken.write_text(json.dumps({"pattern": "(", "flags": 0, "max_length": 1, "entries": []}))
    for path in (tmp_path / "missing.json", broken):
        monkeypatch.setattr(ulatex, "TABLE_PATH", path)
        monkeypatch.setattr(ulatex, "ULATEX_TABLES", [])
        assert [ulatex.decode(s) for s in samples] == expected
        assert ulatex.ULATEX_TABLES[0] is not None


# -- the tail edit check ----------------------------------------------------------------

TAIL_FILE = ("@article{a,\n  title = {T},\n  year = 2020\n}\n\n"
             "@misc(b,\n  Pith_Note = {n},\n)\n\n"
             "@misc{c}\n")

TAIL_CORRUPTIONS = {
    "a comment swallowing the closer": lambda out: out.replace("verified}\n}", "verified}\n%}"),
    "a recovery line in our text": lambda out: out.replace(
        "  pith_status", "@misc{z,\n  pith_status", 1),
    "a concatenation onto our value": lambda out: out.replace(
        "{verified}\n}", "{verified} # {x}\n}", 1),
    "a same-name field before ours": lambda out: out.replace(
        "  pith = ", "  PITH = {other},\n  pith = ", 1),
    "a closer changed in a parenthesised entry": lambda out: out.replace(
        "{verified},\n)", "{verified},\n}", 1),
    "an entry end moved into the next entry": lambda out: out.replace(
        "{verified}\n}\n", "{verified}\n\n", 1),
    "an extra field after ours": lambda out: out.replace(
        "{verified}\n}", "{verified},\n  note = {x}\n}", 1),
}


def _tail_edited(newline: str) -> tuple[BibDocument, str]:
    doc = BibDocument(TAIL_FILE.replace("\n", newline).encode(), "refs.bib")
    for entry in doc.entries:
        doc.set_fields(entry, OURS)
    assert set(doc.bib.insertion_points()) == {e.start for e in doc.bib.entries}
    return doc, doc.bib.to_bytes().decode()


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize("corrupt", TAIL_CORRUPTIONS.values(), ids=TAIL_CORRUPTIONS.keys())
def test_the_tail_check_refuses_what_a_whole_reparse_refuses(corrupt: object,
                                                             newline: str) -> None:
    """Held: every entry here is checked from its insertion point only (asserted), and
    each corruption after that point is refused by both the tail check and a whole
    re-parse (a randomized comparison of the two over ~250,000 corruptions found no
    input the tail check accepted and the whole re-parse refused)."""
    doc, out = _tail_edited(newline)
    doc._check(out.encode())
    bad = corrupt(out.replace(newline, "\n")).replace("\n", newline)  # type: ignore[operator]
    assert bad != out
    with pytest.raises(BibEditError, match="internal error"):
        doc._check_whole(bad)
    with pytest.raises(BibEditError, match="internal error"):
        doc._check(bad.encode())
