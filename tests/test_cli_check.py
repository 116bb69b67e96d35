"""``pith-bib check`` end to end: passes on what annotate wrote, fails on every tampering."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_support import ROOT, SAMPLE_MIRROR, copy_sample, run_cli

OFFLINE = ["--offline", "--mirror", str(SAMPLE_MIRROR)]
JIA = "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"
YING = "pith:2018:AH5S4WE2T4KISLKPOBTLFWQMX3"


@pytest.fixture
def annotated(tmp_path: Path) -> tuple[Path, Path]:
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    result = run_cli("annotate", *OFFLINE, str(bib), cache=tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr
    return bib, tmp_path / "zotero-biblatex.pith-lock.json"


def check(bib: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("check", *extra, str(bib), cache=bib.parent / "check-cache")


def test_check_passes_on_an_annotated_file_and_writes_nothing(annotated: tuple[Path, Path]
                                                              ) -> None:
    bib, lock = annotated
    stamps = [(p.read_bytes(), p.stat().st_mtime_ns) for p in (bib, lock)]
    result = check(bib)
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines() == [
        "pith-bib check: 1 file(s), 4 entries with identifiers, 0 passed only as not-found in "
        "the lock, 3 with authors unchecked (record-verified), 0 problems"]
    assert [(p.read_bytes(), p.stat().st_mtime_ns) for p in (bib, lock)] == stamps
    assert not (bib.parent / "check-cache").exists()


def _line_of(bib: Path, key: str) -> int:
    for number, line in enumerate(bib.read_text().splitlines(), start=1):
        if "{" + key + "," in line:
            return number
    raise AssertionError(key)


def test_edited_pith_value_naming_another_paper(annotated: tuple[Path, Path]) -> None:
    bib, _ = annotated
    bib.write_text(bib.read_text().replace(f"pith = {{{JIA}}}", f"pith = {{{YING}}}"))
    # YING is not in this lock: the evidence is missing
    result = check(bib)
    assert result.returncode == 1
    line = _line_of(bib, "jia2018exploring")
    assert (f"{bib}:{line}: jia2018exploring: {YING} has no evidence in the lock file "
            "zotero-biblatex.pith-lock.json") in result.stdout.splitlines()
    assert result.stdout.rstrip().endswith("1 problem")


def test_edited_pith_value_to_another_locked_paper(annotated: tuple[Path, Path]) -> None:
    bib, _ = annotated
    other = "pith:2018:CTRGCVKP3IF5BR5WQP2SFIZL4G"  # ma2018democratizing, also in the lock
    bib.write_text(bib.read_text().replace(f"pith = {{{JIA}}}", f"pith = {{{other}}}"))
    result = check(bib)
    assert result.returncode == 1
    line = _line_of(bib, "jia2018exploring")
    assert (f"{bib}:{line}: jia2018exploring: {other} is arXiv 1811.00143, but the entry says "
            "arXiv 1802.04924") in result.stdout.splitlines()


def test_deleted_lock_entry(annotated: tuple[Path, Path]) -> None:
    bib, lock = annotated
    lines = [line for line in lock.read_text().splitlines() if not line.startswith(f'"{JIA}"')]
    lines = [line.rstrip(",") if lines[i + 1:i + 2] == ["}"] else line
             for i, line in enumerate(lines)]
    lock.write_text("\n".join(lines) + "\n")
    result = check(bib)
    assert result.returncode == 1, result.stdout
    line = _line_of(bib, "jia2018exploring")
    assert (f"{bib}:{line}: jia2018exploring: {JIA} has no evidence in the lock file "
            "zotero-biblatex.pith-lock.json") in result.stdout.splitlines()


def test_changed_eprint(annotated: tuple[Path, Path]) -> None:
    bib, _ = annotated
    text = bib.read_text()
    start = text.index("@article{jia2018exploring")
    end = text.index("@online{ma2018democratizing")
    entry = text[start:end]
    bib.write_text(text[:start] + entry.replace("eprint = {1802.04924}", "eprint = {1802.04925}")
                   + text[end:])
    result = check(bib)
    assert result.returncode == 1
    line = _line_of(bib, "jia2018exploring")
    # the entry's other fields still say 1802.04924: reported as a conflict, not guessed
    assert (f"{bib}:{line}: jia2018exploring: fields name different arXiv papers: eprint says "
            "1802.04925") in result.stdout
    bib.write_text(text[:start] + entry.replace("1802.04924", "1802.04925") + text[end:])
    result = check(bib)
    assert result.returncode == 1
    assert (f"{bib}:{line}: jia2018exploring: {JIA} is arXiv 1802.04924, but the entry says "
            "arXiv 1802.04925") in result.stdout.splitlines()


@pytest.mark.parametrize("target, replacement", [
    ('"title_canon_sha256":"', '"title_canon_sha256":"0'),     # record changed
    ('"signature_b64":"', '"signature_b64":"A'),               # a signature changed
    ('"source":{"id":"1802.04924"', '"source":{"id":"1802.04925"'),  # the paper changed
])
def test_tampered_lock_file(annotated: tuple[Path, Path], target: str, replacement: str) -> None:
    bib, lock = annotated
    lines = lock.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if line.startswith(f'"{JIA}"'))
    assert target in lines[index]
    lines[index] = lines[index].replace(target, replacement, 1)
    lock.write_text("\n".join(lines) + "\n")
    result = check(bib)
    assert result.returncode == 1
    line = _line_of(bib, "jia2018exploring")
    prefix = (f"{bib}:{line}: jia2018exploring: evidence for {JIA} in the lock file "
              "does not verify: ")
    assert any(out.startswith(prefix) for out in result.stdout.splitlines()), result.stdout


def test_wrong_status_and_short_number(annotated: tuple[Path, Path]) -> None:
    bib, _ = annotated
    text = bib.read_text()
    start = text.index("@article{jia2018exploring")
    body = text[start:].replace("pith_status = {verified}", "pith_status = {record-verified}", 1)
    body = body.replace(JIA, "pith:DM6GBYSN", 1)
    bib.write_text(text[:start] + body)
    result = check(bib, "--json")
    assert result.returncode == 1
    messages = {f["message"] for f in json.loads(result.stdout)}
    assert messages == {
        "pith_status is 'record-verified' but the evidence supports 'verified'",
        f"pith is 'pith:DM6GBYSN'; write the full number {JIA}",
    }


def test_missing_lock_and_unannotated_entries(tmp_path: Path) -> None:
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    result = check(bib)
    assert result.returncode == 1
    assert (f"{bib}: no lock file at {tmp_path / 'zotero-biblatex.pith-lock.json'}; "
            "run pith-bib annotate") in result.stdout
    (tmp_path / "zotero-biblatex.pith-lock.json").write_text(
        '{"lock_version":1,"papers":{},"not_found":{},"refused":{}}')
    result = check(bib)
    assert result.stdout.count("no pith field for") == 4


def test_unusable_lock_file_is_a_usage_error(annotated: tuple[Path, Path]) -> None:
    bib, lock = annotated
    lock.write_text("{not json")
    result = check(bib)
    assert result.returncode == 2
    assert "not a pith-bib lock file" in result.stderr and "Traceback" not in result.stderr


def test_check_does_not_load_the_network_stack(annotated: tuple[Path, Path]) -> None:
    bib, _ = annotated
    probe = ("import sys; from pith_bib.cli import main; code = main(['check', sys.argv[1]]); "
             "print(code, sorted(m for m in ('requests', 'urllib3', 'http.client', 'pybtex') "
             "if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PITH_BIB_CACHE_DIR=str(bib.parent / "c"))
    out = subprocess.run([sys.executable, "-c", probe, str(bib)], capture_output=True, text=True,
                         check=True, env=env).stdout.splitlines()[-1]
    assert out == "0 []"


def test_sample_with_deliberate_failures_reports_the_refusal(tmp_path: Path) -> None:
    bib = copy_sample("distributed-training.bib", tmp_path)
    run_cli("annotate", *OFFLINE, str(bib), cache=tmp_path / "cache")
    result = check(bib)
    assert result.returncode == 1
    findings = result.stdout.splitlines()[:-1]
    assert len(findings) == 2
    fabricated = _line_of(bib, "ying2018fabricated")
    assert findings[1].startswith(f"{bib}:{fabricated}: ying2018fabricated: annotate refused "
                                  "to number it: author-mismatch: author mismatch: Smith, John")
    line = _line_of(bib, "harlap2018pipedream")
    assert findings[0].startswith(f"{bib}:{line}: harlap2018pipedream: annotate refused to number "
                                  "it: title-mismatch: likely wrong identifier")
