"""check's worker processes: the same findings as the in-process path, tampering included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pith_bib import check as check_module
from pith_bib.check import check_bib
from pith_bib.entry_query import FieldNames
from pith_bib.lock import load_lock
from pith_bib.policy import entry_policy
from pith_bib.trust import TrustRoot
from tests.cli_support import annotated_papers, deferred_check_findings
from tests.support import fixed_key


@pytest.fixture
def annotated(tmp_path: Path) -> tuple[Path, Path]:
    return annotated_papers(tmp_path)


def _findings(bib: Path, lock_path: Path) -> list[str]:
    trust = TrustRoot.default().with_key(bytes(fixed_key(11).verify_key))
    result = check_bib(bib, bib.read_bytes(), load_lock(lock_path), lock_path, FieldNames(),
                       trust, policy=entry_policy())
    return [str(f) for f in result.findings]


@pytest.mark.parametrize("workers", [1, 3])
def test_workers_find_exactly_the_tampered_paper(annotated: tuple[Path, Path], workers: int,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    bib, lock_path = annotated
    monkeypatch.setattr(check_module, "_workers", lambda count: workers)
    assert _findings(bib, lock_path) == []
    lock = json.loads(lock_path.read_text())
    number = sorted(lock["papers"])[5]
    lock["papers"][number]["receipt"]["signature_b64"] = \
        lock["papers"][sorted(lock["papers"])[6]]["receipt"]["signature_b64"]
    lock_path.write_text(json.dumps(lock))
    (finding,) = _findings(bib, lock_path)
    assert f"evidence for {number} in the lock file does not verify" in finding


@pytest.mark.parametrize("workers", [1, 3])
def test_a_deferred_line_that_is_not_strict_json_fails_only_its_paper(
        annotated: tuple[Path, Path], workers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    bib, lock_path = annotated
    monkeypatch.setattr(check_module, "_workers", lambda count: workers)
    assert deferred_check_findings(bib, lock_path) == []
    lines = lock_path.read_text().split("\n")
    paper = next(i for i, line in enumerate(lines) if line.startswith('"pith:'))
    number = lines[paper][1:37]
    lines[paper] = lines[paper].replace(':{"', ':{"record":{},"', 1)  # a duplicate key
    lock_path.write_text("\n".join(lines))
    (finding,) = deferred_check_findings(bib, lock_path)
    assert f"evidence for {number} in the lock file does not verify" in finding
    assert "duplicate key 'record'" in finding


@pytest.mark.parametrize("workers", [1, 3])
def test_an_unnumbered_entry_is_still_mapped_through_the_lock(
        annotated: tuple[Path, Path], workers: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mapping comes from the verified records when workers verify them all, and from
    the lock's claims otherwise: the same finding either way."""
    bib, lock_path = annotated
    monkeypatch.setattr(check_module, "_workers", lambda count: workers)
    entries = bib.read_text().split("\n\n")
    number = entries[3].split("pith = {")[1].split("}")[0]
    entries[3] = "\n".join(line for line in entries[3].split("\n") if "pith" not in line)
    bib.write_text("\n\n".join(entries).replace("{arXiv},\n}", "{arXiv}\n}"))
    lock = json.loads(lock_path.read_text())
    lock["not_found"]["arxiv:2101.00004"] = "not-found"
    lock_path.write_text(json.dumps(lock))
    (mapped,) = [f for f in deferred_check_findings(bib, lock_path) if "maps" in f]
    assert mapped.endswith(f"paper4: no pith field, but the lock's evidence maps 2101.00004 "
                           f"to {number} (run pith-bib annotate)")
