"""CSL-JSON end to end: ``annotate``, ``check`` and ``watch`` on a Zotero export.

Offline, against the sample mirror's five real documents. The file is in
Zotero's exact layout (``JSON.stringify(items, null, "\\t")``: tabs, raw
UTF-8, no final newline) with arXiv ids in each place Zotero puts them.
"""

from __future__ import annotations

import difflib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pith_bib import annotate
from pith_bib.entry_query import FieldNames
from pith_bib.lock import load_lock
from pith_bib.settings import Settings
from tests.cli_support import ROOT, SAMPLE_MIRROR, run_cli

OFFLINE = ["--offline", "--mirror", str(SAMPLE_MIRROR)]
JIA = "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"
YING = "pith:2018:AH5S4WE2T4KISLKPOBTLFWQMX3"
MA = "pith:2018:CTRGCVKP3IF5BR5WQP2SFIZL4G"
CHO = "pith:2017:2P5HMBOTO5J3LWMANSCSLZPRUZ"


def _people(*names: str) -> list[dict[str, str]]:
    return [{"family": n.split(", ")[0], "given": n.split(", ")[1]} for n in names]


ITEMS: list[dict[str, Any]] = [
    {"id": "jia2018exploring", "type": "article",  # Zotero's preprint: "arXiv:<id>" in number
     "title": "Exploring Hidden Dimensions in Parallelizing Convolutional Neural Networks",
     "publisher": "arXiv", "number": "arXiv:1802.04924",
     "author": _people("Jia, Zhihao", "Lin, Sina", "Qi, Charles R.", "Aiken, Alex"),
     "issued": {"date-parts": [["2018", 2, 14]]}},
    {"id": "ying2018image", "type": "article", "title": "Image classification at supercomputer "
     "scale", "DOI": "10.48550/arXiv.1811.06992", "publisher": "arXiv",
     "author": _people("Ying, Chris", "Kumar, Sameer", "Chen, Dehao", "Wang, Tao",
                       "Cheng, Youlong")},
    {"id": "ma2018democratizing", "type": "webpage",
     "title": "Democratizing Production-Scale Distributed Deep Learning",
     "URL": "http://arxiv.org/abs/1811.00143",
     "author": _people("Ma, Minghuang", "Pouransari, Hadi", "Chao, Daniel")},
    {"id": "cho2017powerai", "type": "report", "title": "PowerAI DDL",
     "note": "arXiv: 1708.02188", "author": _people("Cho, Minsik", "Finkler, Ulrich")},
    {"id": "narayanan2021efficient", "type": "article-journal",
     "title": "Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM",
     "container-title": "Proceedings of SC21", "DOI": "10.1145/3458817.3476209",
     "author": _people("Narayanan, Deepak")},
    {"id": "goodfellow2016deep", "type": "book", "title": "Deep Learning — Ünïcode",
     "publisher": "MIT Press", "author": _people("Goodfellow, Ian")},
]
EXPECTED = {"jia2018exploring": (JIA, "verified"), "ying2018image": (YING, "verified"),
            "ma2018democratizing": (MA, "record-verified"),
            "cho2017powerai": (CHO, "record-verified")}


def zotero_bytes(items: list[dict[str, Any]] = ITEMS) -> bytes:
    return json.dumps(items, indent="\t", ensure_ascii=False).encode("utf-8")


def load_items(path: Path) -> dict[str, dict[str, Any]]:
    """The file must be valid JSON, and every item an object ``json.loads`` reads."""
    items = json.loads(path.read_bytes())
    assert isinstance(items, list) and all(isinstance(i, dict) for i in items)
    return {i["id"]: i for i in items}


def ours(path: Path) -> dict[str, tuple[str | None, str | None]]:
    return {key: (item.get("custom", {}).get("pith"), item.get("custom", {}).get("pith_status"))
            for key, item in load_items(path).items()}


def inserted_only(old: str, new: str) -> list[str]:
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    opcodes = matcher.get_opcodes()
    assert {tag for tag, *_ in opcodes} <= {"equal", "insert"}, opcodes
    return [new[j1:j2] for tag, _, _, j1, j2 in opcodes if tag == "insert"]


def item_line(path: Path, key: str) -> int:
    """The line of the item's opening brace: the line above its ``"id"`` in this layout."""
    text = path.read_text(encoding="utf-8")
    return text[:text.index(f'"id": "{key}"')].count("\n")


@pytest.fixture
def annotated(tmp_path: Path) -> tuple[Path, Path, bytes]:
    refs = tmp_path / "refs.json"
    refs.write_bytes(zotero_bytes())
    result = run_cli("annotate", *OFFLINE, str(refs), cache=tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr
    return refs, tmp_path / "refs.pith-lock.json", result.stdout.encode()


def check(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_cli("check", *extra, str(path), cache=path.parent / "check-cache")


def test_annotate_inserts_only_custom_members_and_check_passes(
        annotated: tuple[Path, Path, bytes]) -> None:
    refs, lock_path, stdout = annotated
    before, after = zotero_bytes().decode(), refs.read_text(encoding="utf-8")
    pieces = inserted_only(before, after)
    assert len(pieces) == len(EXPECTED)
    assert all(p.startswith(',\n\t\t"custom": {\n\t\t\t"pith": "pith:') and p.endswith("\n\t\t}")
               for p in pieces), pieces
    assert not after.endswith("\n")  # Zotero's layout: no final newline, none added
    found = ours(refs)
    assert {k: v for k, v in found.items() if v != (None, None)} == EXPECTED
    assert found["narayanan2021efficient"] == found["goodfellow2016deep"] == (None, None)
    lock = load_lock(lock_path)
    assert lock is not None and sorted(lock.papers) == sorted(n for n, _ in EXPECTED.values())
    assert "10.1145/3458817.3476209" in json.dumps(lock.not_found)
    assert f"wrote {refs} and {lock_path}".encode() in stdout

    result = check(refs)
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines() == [
        "pith-bib check: 1 file(s), 5 entries with identifiers, 1 passed only as not-found in "
        "the lock, 2 with authors unchecked (record-verified), 0 problems"]


def test_second_annotate_writes_nothing(annotated: tuple[Path, Path, bytes]) -> None:
    refs, lock_path, _ = annotated
    stamps = [(p.read_bytes(), p.stat().st_mtime_ns) for p in (refs, lock_path)]
    again = run_cli("annotate", *OFFLINE, str(refs), cache=refs.parent / "cache")
    assert again.returncode == 0, again.stdout + again.stderr
    assert [(p.read_bytes(), p.stat().st_mtime_ns) for p in (refs, lock_path)] == stamps
    assert f"{refs}: already up to date" in again.stdout


def test_another_papers_number_is_reported_by_check_and_kept_by_annotate(
        annotated: tuple[Path, Path, bytes]) -> None:
    refs, _, _ = annotated
    text = refs.read_text(encoding="utf-8")
    assert text.count(f'"pith": "{JIA}"') == 1
    refs.write_text(text.replace(f'"pith": "{JIA}"', f'"pith": "{MA}"'), encoding="utf-8")
    tampered = refs.read_bytes()
    line = item_line(refs, "jia2018exploring")
    result = check(refs)
    assert result.returncode == 1
    assert (f"{refs}:{line}: jia2018exploring: {MA} is arXiv 1811.00143, but the entry says "
            "arXiv 1802.04924") in result.stdout.splitlines()
    again = run_cli("annotate", *OFFLINE, str(refs), cache=refs.parent / "cache")
    assert again.returncode == 1
    # the number is kept; its status no longer claims what renderers would print
    assert ours(refs)["jia2018exploring"] == (MA, "pith-mismatch")
    assert refs.read_bytes().count(b'"pith_status": "pith-mismatch"') == 1
    assert len(refs.read_bytes()) == len(tampered) + len("pith-mismatch") - len("verified")
    assert f"{refs}:{line}: jia2018exploring: pith-mismatch: " in again.stdout


def test_a_paper_deleted_from_the_lock(annotated: tuple[Path, Path, bytes]) -> None:
    refs, lock_path, _ = annotated
    lines = lock_path.read_text().splitlines()
    kept = [line for line in lines if not line.startswith(f'"{YING}"')]
    assert len(kept) == len(lines) - 1
    kept = [line.rstrip(",") if kept[i + 1:i + 2] == ["}"] else line
            for i, line in enumerate(kept)]
    lock_path.write_text("\n".join(kept) + "\n")
    result = check(refs)
    assert result.returncode == 1, result.stdout
    line = item_line(refs, "ying2018image")
    assert (f"{refs}:{line}: ying2018image: {YING} has no evidence in the lock file "
            "refs.pith-lock.json") in result.stdout.splitlines()


def test_a_changed_doi(annotated: tuple[Path, Path, bytes]) -> None:
    refs, _, _ = annotated
    text = refs.read_text(encoding="utf-8")
    refs.write_text(text.replace("10.48550/arXiv.1811.06992", "10.48550/arXiv.1811.06993"),
                    encoding="utf-8")
    result = check(refs)
    assert result.returncode == 1
    line = item_line(refs, "ying2018image")
    assert (f"{refs}:{line}: ying2018image: {YING} is arXiv 1811.06992, but the entry says "
            "arXiv 1811.06993") in result.stdout.splitlines()


def test_diff_shows_the_inserted_members_and_writes_nothing(tmp_path: Path) -> None:
    refs = tmp_path / "refs.json"
    refs.write_bytes(zotero_bytes())
    result = run_cli("annotate", *OFFLINE, "--diff", str(refs), cache=tmp_path / "cache")
    assert refs.read_bytes() == zotero_bytes()
    assert not (tmp_path / "refs.pith-lock.json").exists()
    added = [line for line in result.stdout.splitlines()
             if line.startswith("+") and not line.startswith("+++")]
    assert f'+\t\t\t"pith": "{JIA}",' in added
    assert added.count('+\t\t"custom": {') == len(EXPECTED)


def test_detected_by_content_without_a_json_name(tmp_path: Path) -> None:
    library = tmp_path / "library"
    library.write_bytes(zotero_bytes(ITEMS[:1]))
    result = run_cli("annotate", *OFFLINE, str(library), cache=tmp_path / "cache")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ours(library)["jia2018exploring"] == EXPECTED["jia2018exploring"]


def _line_of(text: str, needle: str) -> int:
    return text[:text.index(needle)].count("\n") + 1


@pytest.mark.parametrize("damage, where, key", [
    # a missing comma: JSON's error is at the next member, in the item it names
    (lambda t: t.replace('"Ying",', '"Ying"', 1), lambda t: _line_of(t, '"Chris"'),
     "ying2018image"),
    # truncated inside the third item, before its id
    (lambda t: t[:t.index('"id": "ma2018')], lambda t: t.count("\n") + 1, "#3"),
])
def test_malformed_file_is_one_error_and_never_written(tmp_path: Path, damage: Any, where: Any,
                                                       key: str) -> None:
    refs = tmp_path / "refs.json"
    text = damage(zotero_bytes().decode())
    line = where(text)
    data = text.encode()
    refs.write_bytes(data)
    result = run_cli("annotate", *OFFLINE, str(refs), cache=tmp_path / "cache")
    assert result.returncode == 2, result.stdout + result.stderr
    assert refs.read_bytes() == data
    assert not (tmp_path / "refs.pith-lock.json").exists()
    errors = [out for out in result.stdout.splitlines() if ": malformed: " in out]
    assert len(errors) == 1, result.stdout
    assert errors[0].startswith(f"{refs}:{line}: {key}: malformed: is not valid JSON")
    assert f"{refs}: the file has malformed entries; it was not changed" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    checked = check(refs)  # input that cannot be parsed: 2, as annotate says
    assert checked.returncode == 2 and f"{refs}:{line}: " in checked.stdout


def test_an_item_whose_custom_is_not_an_object_is_reported_not_edited(tmp_path: Path) -> None:
    items = [dict(ITEMS[0], custom="zotero-note"), ITEMS[1]]
    refs = tmp_path / "refs.json"
    refs.write_bytes(zotero_bytes(items))
    result = run_cli("annotate", *OFFLINE, str(refs), cache=tmp_path / "cache")
    assert result.returncode == 2, result.stdout + result.stderr  # malformed: exit 2
    assert f"{refs}:2: jia2018exploring: malformed: cannot be annotated: " in result.stdout
    found = load_items(refs)
    assert found["jia2018exploring"]["custom"] == "zotero-note"
    assert found["ying2018image"]["custom"] == {"pith": YING, "pith_status": "verified"}


def test_a_save_racing_the_write_is_kept_and_reported(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The re-read passes, then another program saves: ``expect`` keeps its save."""
    refs = tmp_path / "refs.json"
    refs.write_bytes(zotero_bytes())
    settings = Settings(mirrors=[str(SAMPLE_MIRROR)], offline=True, cache_dir=tmp_path / "c")
    result = annotate.plan(refs, refs.read_bytes(), settings.resolver(), FieldNames(), None,
                           policy=settings.policy())
    assert result.changed
    theirs = zotero_bytes(ITEMS[:2])
    real_reread = annotate._reread_unchanged

    def save_after_reread(res: annotate.FileResult) -> bool:
        unchanged = real_reread(res)
        refs.write_bytes(theirs)
        return unchanged

    monkeypatch.setattr(annotate, "_reread_unchanged", save_after_reread)
    lock_path = tmp_path / "refs.pith-lock.json"
    annotate.write_result(result, None, lock_path)
    assert result.error == annotate.CHANGED_MEANWHILE and not result.wrote
    assert refs.read_bytes() == theirs
    assert result.wrote_lock and lock_path.exists()  # lock first, as always


def _wait_for(condition: Any, what: str, limit: float = 60.0) -> None:
    """Poll until ``condition()``; the limit only stops a broken run from hanging the suite."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def _jia(path: Path) -> str | None:
    try:
        return ours(path)["jia2018exploring"][0]
    except (ValueError, KeyError):  # caught mid-write by a non-atomic test writer
        return None


def test_watch_reannotates_a_json_export(tmp_path: Path) -> None:
    refs = tmp_path / "refs.json"
    refs.write_bytes(zotero_bytes())
    log = tmp_path / "watch.log"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PITH_BIB_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONUNBUFFERED="1")
    with log.open("w") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "pith_bib", "watch", *OFFLINE, "--interval", "0.05",
             "--settle", "0.2", str(refs)], stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            _wait_for(lambda: _jia(refs) == JIA, "the first annotation")
            annotated = refs.read_bytes()
            refs.write_bytes(zotero_bytes())  # Zotero re-exports, without our members
            _wait_for(lambda: refs.read_bytes() == annotated, "the re-annotation")
            _wait_for(lambda: "changed; annotating" in log.read_text(), "the log line")
            child.send_signal(signal.SIGINT)
            code = child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    text = log.read_text()
    assert code == 0, text
    assert text.count("changed; annotating") == 1
    assert "Traceback" not in text


def test_bibtex_edits_are_reparsed_before_they_are_returned(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """Issue 10, for .bib as csljson does for JSON: refuse bytes that do not parse back."""
    from pith_bib import bibfile
    from pith_bib.documents import load_document
    from pith_bib.errors import BibEditError

    data = b"@article{a, title={A}}\n@article{b, title={B}}\n"
    doc = load_document(data, "t.bib", FieldNames())
    doc.set_fields(doc.entries[0], {"pith": JIA})
    assert doc.to_bytes() == data.replace(b"{A}}", b"{A}, pith={" + JIA.encode() + b"}}")
    real = bibfile.BibFile.to_bytes
    for damage in ((b"{B}", b"{C}"), (b"{A}", b"{C}"), (b"DM6G", b"XM6G"), (b"@article{b", b"")):
        monkeypatch.setattr(bibfile.BibFile, "to_bytes",
                            lambda self, d=damage: real(self).replace(*d))
        with pytest.raises(BibEditError, match="nothing was written"):
            doc.to_bytes()
