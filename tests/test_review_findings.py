"""Regression tests for the attacker's review of this change (one per finding)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pith_bib import check as check_module
from pith_bib.evidence import evidence_of, verify_evidence
from pith_bib.lock import load_lock
from pith_bib.mirror_build import build_mirror
from pith_bib.policy import entry_policy
from pith_bib.state_rebuild import rebuilt_event_id
from pith_bib.verify import verify_document
from pith_bib.zotero_api import ZoteroClient
from tests.cli_support import SAMPLE_MIRROR, run_cli
from tests.support import REGISTRY, STATE_SEEDS, seed_bytes

OFFLINE = ["--offline", "--mirror", str(SAMPLE_MIRROR)]
JIA = "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"
JIA_ENTRY = ("@article{jia2018exploring,\n  title = {Exploring Hidden Dimensions in "
             "Parallelizing Convolutional Neural Networks},\n  author = {Jia, Zhihao and Lin, "
             "Sina and Qi, Charles R. and Aiken, Alex},\n  eprint = {1802.04924},\n"
             "  archivePrefix = {arXiv}\n}\n")


def annotated(tmp_path: Path, text: str = JIA_ENTRY) -> tuple[Path, Path]:
    bib = tmp_path / "refs.bib"
    bib.write_text(text)
    done = run_cli("annotate", *OFFLINE, str(bib), cache=tmp_path / "cache")
    assert done.returncode == 0, done.stdout + done.stderr
    return bib, tmp_path / "refs.pith-lock.json"


def test_evidence_without_its_title_event_verifies_nothing(tmp_path: Path) -> None:
    """A lock line with title_event null would skip the title and author rules."""
    bib, lock_path = annotated(tmp_path)
    lock = load_lock(lock_path)
    assert lock is not None
    evidence = lock.evidence(JIA)
    assert evidence is not None
    evidence["title_event"] = None
    lock.papers[JIA] = evidence
    lock.save(lock_path)
    bib.write_text(bib.read_text().replace("{verified}", "{record-verified}") + (
        f"@misc{{fake2020,\n  title = {{Cooking}},\n  pith = {{{JIA}}},\n"
        "  pith_status = {record-verified}\n}\n"))
    done = run_cli("check", str(bib), cache=tmp_path / "check-cache")
    assert done.returncode == 1
    assert "fake2020: evidence for" in done.stdout and "title_event is missing" in done.stdout


def test_a_states_author_list_is_never_used() -> None:
    """A state's snapshot is unsigned: its authors_text could be anything."""
    data = seed_bytes(STATE_SEEDS[0])
    report = verify_document(data, REGISTRY)
    assert report.status == "record-verified" and report.title and report.authors is None
    evidence = evidence_of(data, report)
    paper = evidence["title_event"]["payload"]["graph_snapshot"]["paper"]
    paper["authors_text"] = "Jane Doe, John Smith"
    evidence["title_event"]["event_id"] = rebuilt_event_id(
        evidence["title_event"], "graph_snapshot", report.pith_number)
    rewritten = verify_evidence(report.pith_number, evidence, REGISTRY)
    assert rewritten.status == "record-verified" and rewritten.authors is None


def test_check_counts_entries_whose_authors_went_unchecked(tmp_path: Path) -> None:
    entry = ("@article{ma,\n  title = {Democratizing Production-Scale Distributed Deep "
             "Learning},\n  author = {Doe, Jane},\n  eprint = {1811.00143},\n"
             "  archivePrefix = {arXiv}\n}\n")
    bib, _ = annotated(tmp_path, entry)
    done = run_cli("check", str(bib), cache=tmp_path / "check-cache")
    assert done.returncode == 0
    assert "1 with authors unchecked (record-verified)" in done.stdout


@pytest.mark.parametrize(("text", "message"), [
    ('zotero_api_key_env = "AWS_SECRET_ACCESS_KEY"\n', "could name any secret"),
    ('zotero_base_url = "https://attacker.example"\n', "receives your Zotero key"),
    ('lookup_pattern = "{base}/x?{value:d}"\n', "no format spec"),
    ('lookup_pattern = "{base}/{value:>1500000000}"\n', "no format spec"),
    ('lookup_pattern = "{base}/{value!r}"\n', "no format spec"),
])
def test_repository_config_cannot_do_harm(tmp_path: Path, text: str, message: str) -> None:
    bib, _ = annotated(tmp_path)
    (tmp_path / ".pith-bib.toml").write_text(text)
    done = run_cli("check", str(bib), cache=tmp_path / "check-cache")
    assert done.returncode == 2
    (line,) = done.stderr.strip().splitlines()
    assert message in line


def test_turned_down_checks_are_printed(tmp_path: Path) -> None:
    bib, _ = annotated(tmp_path)
    (tmp_path / ".pith-bib.toml").write_text('check_titles = false\nauthor_check = "off"\n')
    done = run_cli("check", str(bib), cache=tmp_path / "check-cache")
    assert "the title check is off (set in" in done.stderr
    assert "the author check is off (set in" in done.stderr


def test_check_verifies_only_the_papers_the_file_uses(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """A lock padded with papers no entry names costs no signature checks."""
    bib, lock_path = annotated(tmp_path)
    data = json.loads(lock_path.read_text())
    junk = {"record": {}, "receipt": {}, "title_event": None}
    for n in range(300):
        data["papers"][f"pith:2020:{'A' * 22}{n:04d}".replace("0", "A").replace("1", "B")
                       .replace("8", "C").replace("9", "D")] = junk
    lock_path.write_text(json.dumps(data))
    verified: list[str] = []
    real = check_module.verify_evidence

    def counting(number: str, *args: object) -> object:
        verified.append(number)
        return real(number, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(check_module, "verify_evidence", counting)
    monkeypatch.setattr(check_module, "_workers", lambda count: 1)
    monkeypatch.setattr(check_module, "EARLY_VERIFY_LIMIT", 100)  # the padding is over it
    lock = load_lock(lock_path)
    result = check_module.check_bib(bib, bib.read_bytes(), lock, lock_path,
                                    check_module.FieldNames(), REGISTRY,
                                    policy=entry_policy())
    assert result.findings == []
    assert verified == [JIA]


def test_hostile_snapshot_lines_are_counted_not_fatal(tmp_path: Path) -> None:
    good = {"id": "2101.00001", "title": "T", "abstract": "A", "categories": "cs.LG",
            "license": None, "versions": [{"version": "v1",
                                           "created": "Mon, 4 Jan 2021 10:00:00 GMT"}]}
    lines = [json.dumps(good),
             json.dumps(dict(good, id="2101.0000\u0661")),
             json.dumps(dict(good, id="2101.00002", title="\ud800")),
             "[" * 100_000,
             json.dumps(dict(good, id="2101.00003", versions=[
                 {"version": "v1", "created": "Fri, 31 Dec 9999 23:59:59 -0100"}]))]
    snapshot = tmp_path / "snap.jsonl"
    snapshot.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    stats = build_mirror(snapshot, tmp_path / "out")
    assert stats.papers == 1 and stats.bad == 4
    assert stats.index == "written"


def test_a_lone_surrogate_id_is_printed_escaped(tmp_path: Path) -> None:
    data = tmp_path / "s.json"
    data.write_text('[{"id":"\\ud800","type":"article","title":"Wrong",'
                    '"number":"arXiv:1802.04924"}]')
    for command in (["annotate", *OFFLINE], ["check"], ["check", "--json"]):
        done = run_cli(*command, str(data), cache=tmp_path / "cache")
        assert "Traceback" not in done.stderr, done.stderr
        assert done.returncode in (0, 1)


@pytest.mark.parametrize("raw", ["\u00b2", "00", "01", "-1", 0])
def test_zotero_result_indexes_must_be_plain_decimal(raw: object) -> None:
    seen: set[int] = set()
    assert list(ZoteroClient._indexed({raw: {}}, ["A", "B", "C"], seen)) == []
