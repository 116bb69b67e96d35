"""``pith-bib annotate`` end to end: a subprocess on copies of the sample libraries."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from pith_bib.bibfile import parse
from pith_bib.lock import load_lock
from tests.bibdiff import only_our_fields_added
from tests.cli_support import SAMPLE_MIRROR, copy_sample, run_cli

OFFLINE = ["--offline", "--mirror", str(SAMPLE_MIRROR)]

ZOTERO_EXPECTED = {
    "cho2017powerai": ("pith:2017:2P5HMBOTO5J3LWMANSCSLZPRUZ", "record-verified"),
    "harlap2018pipedream": ("pith:2018:545VV5TWOWRWQ3PEMEMSEYRLMS", "record-verified"),
    "jia2018exploring": ("pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ", "verified"),
    "ma2018democratizing": ("pith:2018:CTRGCVKP3IF5BR5WQP2SFIZL4G", "record-verified"),
}


def fields_by_key(path: Path) -> dict[str, tuple[str | None, str | None]]:
    bib = parse(path.read_bytes(), str(path))
    return {e.key: (e.get("pith"), e.get("pith_status")) for e in bib.entries}


def test_annotate_adds_only_our_fields_and_is_idempotent(tmp_path: Path) -> None:
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    before = bib.read_bytes()
    result = run_cli("annotate", *OFFLINE, str(bib), cache=tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr
    after = bib.read_bytes()
    assert only_our_fields_added(before.decode(), after.decode()) == []
    found = fields_by_key(bib)
    for key, expected in ZOTERO_EXPECTED.items():
        assert found[key] == expected, key
    lock_path = tmp_path / "zotero-biblatex.pith-lock.json"
    lock = load_lock(lock_path)
    assert lock is not None and sorted(lock.papers) == sorted(n for n, _ in
                                                              ZOTERO_EXPECTED.values())
    assert f"wrote {bib} and {lock_path}" in result.stdout

    lock_before = lock_path.read_bytes()
    again = run_cli("annotate", *OFFLINE, str(bib), cache=tmp_path / "cache")
    assert again.returncode == 0
    assert bib.read_bytes() == after and lock_path.read_bytes() == lock_before
    assert "already up to date" in again.stdout


def test_second_run_from_the_lock_alone_needs_no_mirror(tmp_path: Path) -> None:
    """A fresh cache and no mirror: the lock's evidence is enough to keep everything."""
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    run_cli("annotate", *OFFLINE, str(bib), cache=tmp_path / "cache")
    after = bib.read_bytes()
    empty = tmp_path / "empty-mirror"
    empty.mkdir()
    again = run_cli("annotate", "--offline", "--mirror", str(empty), str(bib),
                    cache=tmp_path / "fresh-cache")
    assert bib.read_bytes() == after
    assert again.returncode == 0, again.stdout


def test_failures_are_reported_and_never_numbered(tmp_path: Path) -> None:
    bib = copy_sample("distributed-training.bib", tmp_path)
    result = run_cli("annotate", *OFFLINE, "-v", str(bib), cache=tmp_path / "cache")
    assert result.returncode == 1, result.stdout + result.stderr
    found = fields_by_key(bib)
    assert found["harlap2018pipedream"] == (None, None)
    assert found["nobody2021unknown"] == (None, None)
    assert found["narayanan2021efficient"] == (None, None)
    assert found["goodfellow2016deep"] == (None, None)
    assert found["jia2018exploring"] == ("pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ", "verified")
    assert found["ying2018image"] == ("pith:2018:AH5S4WE2T4KISLKPOBTLFWQMX3", "verified")
    mismatch = [line for line in result.stdout.splitlines() if "harlap2018pipedream" in line]
    assert len(mismatch) == 1
    assert mismatch[0].startswith(f"{bib}:38: harlap2018pipedream: title-mismatch: ")
    assert "PipeDream" in mismatch[0] and "'PowerAI DDL'" in mismatch[0]
    assert f"{bib}:59: nobody2021unknown: not-found no arxiv mapping for 2101.99999" \
        in result.stdout
    assert found["ying2018fabricated"] == (None, None)
    assert f"{bib}:50: ying2018fabricated: author-mismatch: author mismatch: Smith, John; " \
        "Doe, Jane; Roe, Richard not among the signed authors" in result.stdout
    assert "8 entries, 7 with identifiers" in result.stdout


def test_json_report_has_one_record_per_entry(tmp_path: Path) -> None:
    bib = copy_sample("distributed-training.bib", tmp_path)
    result = run_cli("annotate", *OFFLINE, "--json", str(bib), cache=tmp_path / "cache")
    records = json.loads(result.stdout)
    assert [r["key"] for r in records] == [e.key for e in parse(
        (Path(__file__).parents[1] / "sample_libraries/distributed-training.bib").read_bytes()
    ).entries]
    by_key = {r["key"]: r for r in records}
    jia = by_key["jia2018exploring"]
    assert jia["line"] == 10 and jia["identifier"] == "1802.04924"
    assert jia["pith_number"] == "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"
    assert jia["status"] == "verified" and jia["source"] == str(SAMPLE_MIRROR)
    assert by_key["harlap2018pipedream"]["status"] == "title-mismatch"
    assert by_key["harlap2018pipedream"]["reasons"]
    assert by_key["goodfellow2016deep"]["status"] == "no-identifier"
    assert by_key["narayanan2021efficient"]["identifier"] == "10.1145/3458817.3476209"


def test_dry_run_and_diff_write_nothing(tmp_path: Path) -> None:
    bib = copy_sample("distributed-training.bib", tmp_path)
    before = bib.read_bytes()
    dry = run_cli("annotate", *OFFLINE, "--dry-run", str(bib), cache=tmp_path / "cache")
    assert "dry run, nothing written" in dry.stdout
    diff = run_cli("annotate", *OFFLINE, "--diff", str(bib), cache=tmp_path / "cache")
    assert bib.read_bytes() == before
    assert list(tmp_path.glob("*.pith-lock.json")) == []
    assert f"--- a/{bib}" in diff.stdout
    added = [line for line in diff.stdout.splitlines()
             if line.startswith("+") and not line.startswith("+++")]
    assert "+  pith          = {pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ}," in added
    assert '+    pith_status = "record-verified"' in added
    assert all("pith" in line or line.rstrip().endswith(",") for line in added)


def test_output_option_leaves_the_input_alone(tmp_path: Path) -> None:
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    before = bib.read_bytes()
    out = tmp_path / "out" / "annotated.bib"
    out.parent.mkdir()
    result = run_cli("annotate", *OFFLINE, "-o", str(out), str(bib), cache=tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert bib.read_bytes() == before
    assert only_our_fields_added(before.decode(), out.read_text()) == []
    assert (out.parent / "annotated.pith-lock.json").is_file()
    many = run_cli("annotate", *OFFLINE, "-o", str(out), str(bib), str(bib),
                   cache=tmp_path / "cache")
    assert many.returncode == 2 and "exactly one input" in many.stderr


def test_malformed_file_is_never_written(tmp_path: Path) -> None:
    bib = tmp_path / "broken.bib"
    data = (b"@article{good, title={Fine}, eprint={1802.04924}, archivePrefix={arXiv}}\n\n"
            b"@article{bad, title={Unbalanced {brace}, eprint={1811.06992}\n\n"
            b"@misc{after, eprint={1811.00143}, archivePrefix={arXiv}}\n")
    bib.write_bytes(data)
    result = run_cli("annotate", *OFFLINE, str(bib), cache=tmp_path / "cache")
    assert result.returncode == 2
    assert bib.read_bytes() == data
    assert not (tmp_path / "broken.pith-lock.json").exists()
    assert f"{bib}:3: bad: malformed: " in result.stdout
    assert "it was not changed" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_unreadable_inputs_are_one_line_errors(tmp_path: Path) -> None:
    missing = run_cli("annotate", *OFFLINE, str(tmp_path / "nope.bib"), cache=tmp_path / "c")
    assert missing.returncode == 2
    assert missing.stderr.strip().splitlines() == [
        f"pith-bib: error: {tmp_path / 'nope.bib'}: cannot read: No such file or directory"]
    binary = tmp_path / "binary.bib"
    binary.write_bytes(b"\xff\xfe\x00\xd8garbage\x00" * 4 + b"\x00\x00\x01")
    result = run_cli("annotate", *OFFLINE, str(binary), cache=tmp_path / "c")
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert str(binary) in result.stdout + result.stderr


def test_existing_pith_for_another_paper_is_kept_and_reported(tmp_path: Path) -> None:
    bib = tmp_path / "refs.bib"
    data = (b"@article{jia2018exploring,\n  title = {Exploring Hidden Dimensions in "
            b"Parallelizing Convolutional Neural Networks},\n  eprint = {1802.04924},\n"
            b"  archivePrefix = {arXiv},\n  pith = {pith:2018:AH5S4WE2T4KISLKPOBTLFWQMX3},\n"
            b"  pith_status = {verified}\n}\n")
    bib.write_bytes(data)
    result = run_cli("annotate", *OFFLINE, str(bib), cache=tmp_path / "cache")
    assert result.returncode == 1
    # the number is kept; its status no longer claims what renderers would print
    assert bib.read_bytes() == data.replace(b"{verified}", b"{pith-mismatch}")
    assert (f"{bib}:1: jia2018exploring: pith-mismatch: "
            "pith:2018:AH5S4WE2T4KISLKPOBTLFWQMX3 is arXiv 1811.06992, but the entry "
            "says arXiv 1802.04924") in result.stdout


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_network_failure_never_removes_or_downgrades_fields(tmp_path: Path) -> None:
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    run_cli("annotate", *OFFLINE, str(bib), cache=tmp_path / "cache")
    annotated = bib.read_bytes()
    (tmp_path / "zotero-biblatex.pith-lock.json").unlink()
    dead = f"http://127.0.0.1:{_closed_port()}"
    result = run_cli("annotate", "--mirror", dead, str(bib), cache=tmp_path / "fresh-cache")
    assert result.returncode == 1
    assert bib.read_bytes() == annotated
    assert result.stdout.count(": unavailable: ") == len(ZOTERO_EXPECTED)


def test_lock_evidence_restores_fields_a_rewrite_dropped_with_no_network(tmp_path: Path
                                                                        ) -> None:
    """Zotero rewrote the file without our fields; no cache, no network: the lock suffices."""
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    original = bib.read_bytes()
    run_cli("annotate", *OFFLINE, str(bib), cache=tmp_path / "cache")
    annotated = bib.read_bytes()
    bib.write_bytes(original)
    dead = f"http://127.0.0.1:{_closed_port()}"
    result = run_cli("annotate", "--json", "--mirror", dead, str(bib),
                     cache=tmp_path / "fresh-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert bib.read_bytes() == annotated
    records = json.loads(result.stdout)
    assert {r["source"] for r in records} == {"lock"}
    assert all(any("127.0.0.1" in note for note in r["reasons"]) for r in records)


def test_removed_entries_drop_out_of_the_lock(tmp_path: Path) -> None:
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    run_cli("annotate", *OFFLINE, str(bib), cache=tmp_path / "cache")
    lock_path = tmp_path / "zotero-biblatex.pith-lock.json"
    text = bib.read_text()
    start = text.index("@article{jia2018exploring")
    end = text.index("@online{ma2018democratizing")
    bib.write_text(text[:start] + text[end:])
    run_cli("annotate", *OFFLINE, str(bib), cache=tmp_path / "cache")
    lock = load_lock(lock_path)
    assert lock is not None
    assert "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ" not in lock.papers
    assert len(lock.papers) == len(ZOTERO_EXPECTED) - 1


def test_lock_option_and_lock_diffs_one_line_per_paper(tmp_path: Path) -> None:
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    lock_path = tmp_path / "locks" / "refs.lock.json"
    lock_path.parent.mkdir()
    result = run_cli("annotate", *OFFLINE, "--lock", str(lock_path), str(bib),
                     cache=tmp_path / "cache")
    assert result.returncode == 0
    lines = lock_path.read_text().splitlines()
    paper_lines = [line for line in lines if line.startswith('"pith:')]
    assert len(paper_lines) == len(ZOTERO_EXPECTED)
    assert paper_lines == sorted(paper_lines)
    assert not (tmp_path / "zotero-biblatex.pith-lock.json").exists()


def test_progress_bar_only_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    from pith_bib.cli import Progress

    bar = Progress("refs.bib", enabled=True)
    for done in range(1, 41):
        bar(done, 40)
    shown = capsys.readouterr().err
    assert "\rrefs.bib [" in shown and shown.endswith("40/40\n")
    quiet = Progress("refs.bib", enabled=False)
    for done in range(1, 41):
        quiet(done, 40)
    assert capsys.readouterr().err == ""
