"""`pith-bib mirror build`: arXiv snapshot → alias files that LocalMirror reads."""

from __future__ import annotations

import argparse
import gzip
import json
import os
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from pith_bib.cli_mirror import add_parser, run
from pith_bib.derive import ArxivMetadata, derive_pith_number
from pith_bib.errors import UsageError
from pith_bib.mirror_build import MAX_LINE_BYTES, build_mirror, snapshot_metadata
from pith_bib.mirrors import LocalMirror

SHARED = Path(__file__).resolve().parents[2] / "shared" / "derivation" / "records.jsonl"
BAD_LINES = [
    b"{not json",
    b"[1, 2, 3]",
    json.dumps({"id": "../../../escape", "title": "T", "abstract": "A", "categories": "cs.LG",
                "license": None, "versions": [{"version": "v1",
                                               "created": "Mon, 2 Apr 2007 19:18:42 GMT"}]}
               ).encode(),
    json.dumps({"id": "0704.0001", "title": "T", "abstract": "A", "categories": "cs.LG",
                "license": None, "versions": []}).encode(),
    json.dumps({"id": "0704.0002", "title": "T", "abstract": "A", "categories": "cs.LG",
                "license": None, "versions": [{"version": "v1", "created": "soon"}]}).encode(),
    json.dumps({"id": "0704.0003", "title": 5, "abstract": "A", "categories": "cs.LG",
                "license": None, "versions": []}).encode(),
    b'{"id": "0704.0004", "title": "\xff\xfe"}',
]


def snapshot_line(ident: str, n: int) -> dict[str, Any]:
    versions = [{"version": f"v{v}", "created": f"Mon, {1 + v} Apr 2007 19:18:{n % 60:02d} GMT"}
                for v in range(1, 1 + n % 3 + 1)]
    return {
        "id": ident, "submitter": "A. Author", "authors": "A. Author",
        "title": f"Paper number {n} about\n  folded titles",
        "abstract": f"  We prove theorem {n}.\nIt is indented and wrapped.\n",
        "categories": "math.CO cs.DM" if n % 2 else "hep-th",
        "license": None if n % 5 == 0 else "http://arxiv.org/licenses/nonexclusive-distrib/1.0/",
        "versions": versions, "update_date": "2026-01-01",
    }


def shared_lines() -> list[dict[str, Any]]:
    if not SHARED.is_file():
        return []
    rows = [json.loads(line) for line in SHARED.read_text("utf-8").splitlines() if line]
    out = []
    for row in rows:
        created = row["submitted_at"].replace("Z", "+00:00")
        v1 = format_datetime(datetime.fromisoformat(created), usegmt=True)
        out.append({"id": row["arxiv_id"], "title": row["title"], "abstract": row["abstract"],
                    "categories": " ".join([row["primary_cat"], *row["cross"]]),
                    "license": row["license"] or None,
                    "versions": [{"version": f"v{v}", "created": v1}
                                 for v in range(1, row["version"] + 1)],
                    "expected": row["expected_pith"]})
    return out


def write_snapshot(path: Path, total: int = 10_000, compress: bool = False) -> list[str]:
    """``total`` lines: the shared records, bad lines, new- and old-style ids."""
    lines: list[bytes] = [json.dumps(row).encode() for row in shared_lines()]
    lines += BAD_LINES
    lines.append(b"x" * (MAX_LINE_BYTES + 10))
    lines.append(b"")
    ids: list[str] = []
    n = 0
    while len(lines) < total:
        ident = f"math/07{n:05d}" if n % 10 == 0 else f"0704.{n:05d}"
        ids.append(ident)
        lines.append(json.dumps(snapshot_line(ident, n)).encode())
        n += 1
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(gzip.compress(data, 1) if compress else data)
    return ids


def all_files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns
            for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("compress", [False, True])
def test_build_then_local_mirror_finds_every_number(tmp_path: Path, compress: bool) -> None:
    snapshot = tmp_path / "snapshot.jsonl"
    out = tmp_path / "mirror"
    ids = write_snapshot(snapshot, compress=compress)
    stats = build_mirror(snapshot, out)
    shared = shared_lines()
    assert stats.papers == len(ids) + len(shared)
    assert stats.bad == len(BAD_LINES) + 1
    assert stats.written == 3 * stats.papers
    assert len(stats.bad_samples) == 5
    mirror = LocalMirror(out)
    for row in shared:
        assert mirror.lookup("arxiv", row["id"]) == [row["expected"]]
        assert mirror.lookup("arxiv_version", f"{row['id']}v{len(row['versions'])}") == \
            [row["expected"]]
        assert mirror.lookup("doi", f"10.48550/arXiv.{row['id']}") == [row["expected"]]
    for n in (0, 1, 10, 4321, len(ids) - 1):
        meta = snapshot_metadata(snapshot_line(ids[n], n))
        assert mirror.lookup("arxiv", ids[n]) == [derive_pith_number(meta)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mirror", "snapshot.jsonl"]
    assert not (out / "escape").exists()


def test_second_build_rewrites_nothing(tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.jsonl"
    out = tmp_path / "mirror"
    write_snapshot(snapshot, total=2_000)
    first = build_mirror(snapshot, out)
    before = all_files(out)
    second = build_mirror(snapshot, out)
    assert second.written == 0
    assert second.unchanged == first.written
    assert all_files(out) == before


def test_changed_paper_rewrites_only_its_files(tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.jsonl"
    out = tmp_path / "mirror"
    row = snapshot_line("0704.00001", 1)
    snapshot.write_text(json.dumps(row) + "\n" + json.dumps(snapshot_line("0704.00002", 2)))
    build_mirror(snapshot, out)
    row["versions"].append({"version": "v9", "created": "Mon, 2 Apr 2010 19:18:42 GMT"})
    snapshot.write_text(json.dumps(row) + "\n" + json.dumps(snapshot_line("0704.00002", 2)))
    stats = build_mirror(snapshot, out)
    assert (stats.written, stats.unchanged) == (3, 3)
    number = derive_pith_number(snapshot_metadata(row))
    assert LocalMirror(out).lookup("arxiv_version", "0704.00001v9") == [number]


def test_truncated_gzip_keeps_what_was_built(tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.jsonl.gz"
    write_snapshot(snapshot, total=3_000, compress=True)
    snapshot.write_bytes(snapshot.read_bytes()[:-200])
    stats = build_mirror(snapshot, tmp_path / "mirror")
    assert stats.papers > 1_000
    assert stats.stopped is not None and "unreadable" in stats.stopped
    assert LocalMirror(tmp_path / "mirror").lookup("arxiv", "0704.00001")


def test_snapshot_null_license_is_no_license() -> None:
    meta = snapshot_metadata(snapshot_line("0704.00005", 5))
    assert isinstance(meta, ArxivMetadata)
    assert meta.license == ""
    assert meta.cross_cats == ("cs.DM",)


def test_cli_build_reports_and_succeeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    snapshot = tmp_path / "snapshot.jsonl"
    write_snapshot(snapshot, total=200)
    parser = argparse.ArgumentParser(prog="pith-bib")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["mirror", "build", "--arxiv-snapshot", str(snapshot),
                              str(tmp_path / "out"), "--json"])
    assert args.handler is run
    assert run(args) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["bad_lines"] == len(BAD_LINES) + 1
    assert summary["written"] == 3 * summary["papers"]
    assert "skipped line" in captured.err
    assert not any(ord(c) < 32 and c not in "\n" for c in captured.err)


def test_cli_missing_snapshot_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        build_mirror(tmp_path / "absent.jsonl", tmp_path / "out")
    assert os.path.isdir(tmp_path / "out")
