"""`pith-bib mirror build`: arXiv snapshot → the sorted alias index (or files) LocalMirror reads.

The index is checked end to end (every good id, all three alias kinds), for
idempotence (a rebuild leaves the file's inode and mtime alone), for constant
memory (tracemalloc peak independent of the snapshot's size), and against a
hostile index (unsorted, garbled, huge lines, not a regular file): a lookup may
fail, but never answers wrongly, raises or hangs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import stat
import tracemalloc
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from pith_bib.alias_index import INDEX_PATH, MAX_INDEX_LINE, lookup_index
from pith_bib.cli_mirror import add_parser, run
from pith_bib.derive import ArxivMetadata, derive_pith_number
from pith_bib.errors import FetchError, FileReadError, UsageError
from pith_bib.mirror_build import MAX_LINE_BYTES, IndexWriter, build_mirror, snapshot_metadata
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


def write_snapshot(path: Path, total: int = 10_000, compress: bool = False,
                   shuffle: bool = False) -> list[str]:
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
    if shuffle:  # arXiv's snapshot is not sorted by id either
        random.Random(7).shuffle(lines)
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(gzip.compress(data, 1) if compress else data)
    return ids


def all_files(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


def expected_numbers(ids: list[str]) -> dict[str, tuple[str, int]]:
    """id → (derived number, latest version) for the generated papers."""
    out = {}
    for n, ident in enumerate(ids):
        meta = snapshot_metadata(snapshot_line(ident, n))
        out[ident] = (derive_pith_number(meta), meta.latest_version)
    return out


def index_lines(root: Path) -> list[bytes]:
    return (root / INDEX_PATH).read_bytes().splitlines(keepends=True)


@pytest.mark.parametrize("compress", [False, True])
def test_index_answers_every_good_id_in_all_three_kinds(tmp_path: Path, compress: bool) -> None:
    snapshot = tmp_path / "snapshot.jsonl"
    out = tmp_path / "mirror"
    ids = write_snapshot(snapshot, compress=compress, shuffle=True)
    stats = build_mirror(snapshot, out, chunk_lines=4_000)  # several runs to merge
    shared = shared_lines()
    assert stats.papers == len(ids) + len(shared)
    assert stats.bad == len(BAD_LINES) + 1
    assert len(stats.bad_samples) == 5
    assert (stats.index, stats.aliases, stats.written) == ("written", 3 * stats.papers, 0)
    lines = index_lines(out)
    assert lines == sorted(set(lines)) and len(lines) == 3 * stats.papers
    # One file, no per-alias files, no temporary files left behind.
    assert [p.relative_to(out).as_posix() for p in out.rglob("*")] == ["aliases", INDEX_PATH]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mirror", "snapshot.jsonl"]
    mirror = LocalMirror(out)
    for row in shared:
        assert mirror.lookup("arxiv", row["id"]) == [row["expected"]]
        assert mirror.lookup("arxiv_version", f"{row['id']}v{len(row['versions'])}") == \
            [row["expected"]]
        assert mirror.lookup("doi", f"10.48550/arXiv.{row['id']}") == [row["expected"]]
    for ident, (number, latest) in expected_numbers(ids).items():
        assert mirror.lookup("arxiv", ident) == [number]
        assert mirror.lookup("arxiv_version", f"{ident}v{latest}") == [number]
        assert mirror.lookup("doi", f"10.48550/ARXIV.{ident}") == [number]
    assert mirror.lookup("arxiv", "0704.99999") == []
    assert mirror.lookup("arxiv_version", f"{ids[1]}v9") == []
    assert mirror.lookup("arxiv", "../../escape") == []
    assert mirror.bad_files == 0


def test_rebuild_leaves_the_index_file_untouched(tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.jsonl"
    out = tmp_path / "mirror"
    write_snapshot(snapshot, total=2_000)
    first = build_mirror(snapshot, out)
    before = all_files(out)
    second = build_mirror(snapshot, out, chunk_lines=500)  # other runs, same bytes
    assert (first.index, second.index) == ("written", "unchanged")
    assert second.aliases == first.aliases
    assert all_files(out) == before  # same inode, same mtime


def test_changed_paper_replaces_the_index(tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.jsonl"
    out = tmp_path / "mirror"
    row = snapshot_line("0704.00001", 1)
    other = json.dumps(snapshot_line("0704.00002", 2))
    snapshot.write_text(json.dumps(row) + "\n" + other)
    build_mirror(snapshot, out)
    inode = (out / INDEX_PATH).stat().st_ino
    row["versions"].append({"version": "v9", "created": "Mon, 2 Apr 2010 19:18:42 GMT"})
    snapshot.write_text(json.dumps(row) + "\n" + other)
    stats = build_mirror(snapshot, out)
    assert stats.index == "written"
    assert (out / INDEX_PATH).stat().st_ino != inode  # replaced by rename, not rewritten
    number = derive_pith_number(snapshot_metadata(row))
    mirror = LocalMirror(out)
    assert mirror.lookup("arxiv_version", "0704.00001v9") == [number]
    assert mirror.lookup("arxiv", "0704.00001") == [number]


def test_per_file_output_is_still_available(tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.jsonl"
    out = tmp_path / "mirror"
    ids = write_snapshot(snapshot, total=600)
    stats = build_mirror(snapshot, out, per_file=True)
    assert stats.written == 3 * stats.papers and stats.index == "written"
    (out / INDEX_PATH).unlink()  # answers now come from the files alone
    number, latest = expected_numbers(ids)[ids[10]]
    mirror = LocalMirror(out)
    assert mirror.lookup("arxiv", ids[10]) == [number]
    assert mirror.lookup("arxiv_version", f"{ids[10]}v{latest}") == [number]
    assert (out / "aliases" / "doi" / "10.48550" / f"arxiv.{ids[10]}").is_file()
    again = build_mirror(snapshot, out, per_file=True)
    assert (again.written, again.unchanged) == (0, stats.written)


def test_external_merge_in_many_passes_gives_the_same_file(tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.jsonl"
    write_snapshot(snapshot, total=1_500, shuffle=True)
    build_mirror(snapshot, tmp_path / "one")
    build_mirror(snapshot, tmp_path / "many", chunk_lines=50, fan_in=3)
    assert (tmp_path / "many" / INDEX_PATH).read_bytes() == \
        (tmp_path / "one" / INDEX_PATH).read_bytes()
    assert [p.name for p in (tmp_path / "many" / "aliases").iterdir()] == ["index.tsv"]


def test_index_writer_drops_repeats_and_holds_one_chunk(tmp_path: Path) -> None:
    target = tmp_path / "aliases" / "index.tsv"
    with IndexWriter(target, chunk_lines=10, fan_in=2) as writer:
        for n in reversed(range(100)):
            writer.add(f"arxiv:{n % 40:04d}\tX\n".encode())
            assert len(writer._buffer) < 10
        count, replaced = writer.finish()
    assert (count, replaced) == (40, True)
    assert target.read_bytes() == b"".join(f"arxiv:{n:04d}\tX\n".encode() for n in range(40))
    assert [p.name for p in target.parent.iterdir()] == ["index.tsv"]


def _peak_build_bytes(tmp_path: Path, total: int) -> int:
    snapshot = tmp_path / f"snap{total}.jsonl"
    with snapshot.open("w") as handle:
        for n in range(total):
            handle.write(json.dumps(snapshot_line(f"0801.{(n * 7919) % 100_000:05d}", n)) + "\n")
    tracemalloc.start()
    try:
        build_mirror(snapshot, tmp_path / f"m{total}", chunk_lines=300, fan_in=4)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_snapshot(tmp_path: Path) -> None:
    # The bound is one chunk, one write batch and ``fan_in`` open runs (64 KB
    # buffers each); both builds reach it (40 and 160 runs). Holding every line
    # instead would add 36,000 lines x ~90 bytes (over 3 MB) to the large one.
    small = _peak_build_bytes(tmp_path, 4_000)
    large = _peak_build_bytes(tmp_path, 16_000)
    assert large < small + 600_000, (small, large)
    assert len(index_lines(tmp_path / "m16000")) == 48_000


def test_truncated_gzip_keeps_what_was_built(tmp_path: Path) -> None:
    snapshot = tmp_path / "snapshot.jsonl.gz"
    write_snapshot(snapshot, total=3_000, compress=True)
    snapshot.write_bytes(snapshot.read_bytes()[:-200])
    stats = build_mirror(snapshot, tmp_path / "mirror")
    assert stats.papers > 1_000
    assert stats.stopped is not None and "unreadable" in stats.stopped
    assert stats.index == "written"  # no index before: the partial one is better than none
    assert LocalMirror(tmp_path / "mirror").lookup("arxiv", "0704.00001")


def test_truncated_gzip_never_replaces_a_complete_index(tmp_path: Path) -> None:
    whole = tmp_path / "whole.jsonl.gz"
    write_snapshot(whole, total=3_000, compress=True)
    build_mirror(whole, tmp_path / "mirror")
    before = all_files(tmp_path / "mirror")
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    stats = build_mirror(cut, tmp_path / "mirror")
    assert stats.stopped and stats.index == "kept"
    assert all_files(tmp_path / "mirror") == before


# -- a hostile index ---------------------------------------------------------------


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, dict[str, tuple[str, int]]]:
    snapshot = tmp_path / "snapshot.jsonl"
    ids = write_snapshot(snapshot, total=1_200)
    build_mirror(snapshot, tmp_path / "mirror")
    return tmp_path / "mirror", expected_numbers(ids)


@pytest.mark.parametrize("reorder", ["shuffled", "reversed"])
def test_unsorted_index_misses_but_never_answers_wrongly(
        built: tuple[Path, dict[str, tuple[str, int]]], reorder: str) -> None:
    root, expected = built
    lines = index_lines(root)
    if reorder == "shuffled":
        random.Random(3).shuffle(lines)
    else:
        lines.reverse()
    (root / INDEX_PATH).write_bytes(b"".join(lines))
    mirror = LocalMirror(root)
    answered = 0
    for ident, (number, _) in expected.items():
        found = mirror.lookup("arxiv", ident)
        assert found in ([], [number])
        answered += bool(found)
    assert answered < len(expected)  # the disorder did cost lookups: the test bites


def answer(mirror: LocalMirror, kind: str, value: str) -> list[str] | str:
    """The lookup's answer, or "unreadable": a mirror with a bad file cannot say "nothing"."""
    try:
        return mirror.lookup(kind, value)
    except FetchError as exc:
        assert "could not be read" in str(exc)
        return "unreadable"


def _lookup_all(root: Path, expected: dict[str, tuple[str, int]]) -> LocalMirror:
    mirror = LocalMirror(root)
    for ident, (number, latest) in list(expected.items())[::37]:
        # no wrong answer, ever: the right one, none (an empty index), or "unreadable"
        assert answer(mirror, "arxiv", ident) in ("unreadable", [], [number])
        assert answer(mirror, "arxiv_version", f"{ident}v{latest}") in ("unreadable", [],
                                                                         [number])
    return mirror


GARBAGE = {
    "empty": b"",
    "binary": bytes(random.Random(5).randrange(256) for _ in range(200_000)),
    "one huge line": b"arxiv:" + b"9" * 5_000_000,
    "huge line in the middle": b"arxiv:0000\tpith:2020:" + b"A" * 3_000_000 + b"\nz\n",
    "no newline at all": b"\t" * 100_000,
    "only newlines": b"\n" * 100_000,
    "NUL bytes": b"\0" * 100_000,
}


@pytest.mark.parametrize("name", list(GARBAGE))
def test_garbage_index_costs_only_failed_lookups(
        built: tuple[Path, dict[str, tuple[str, int]]], name: str) -> None:
    root, expected = built
    (root / INDEX_PATH).write_bytes(GARBAGE[name])
    mirror = _lookup_all(root, expected)
    assert mirror.bad_files <= 1  # a garbled index is reported once, not per lookup


def test_garbled_numbers_are_not_answers(tmp_path: Path) -> None:
    good = "pith:2020:" + "A" * 26
    (tmp_path / "aliases").mkdir()
    (tmp_path / INDEX_PATH).write_bytes(
        b"arxiv:0704.00001\tpith:2020:AAAA\n"
        b"arxiv:0704.00001\tnot a number\n"
        + f"arxiv:0704.00001\t{good}\n".encode()
        + f"arxiv:0704.00001\t{good} trailing\n".encode()
        + f"arxiv:0704.00002\t{good}\r\n".encode())
    mirror = LocalMirror(tmp_path)
    assert mirror.lookup("arxiv", "0704.00001") == [good]
    assert mirror.lookup("arxiv", "0704.00002") == [good]
    assert mirror.lookup("arxiv", "0704.00001\tpith:2020:AAAA") == []
    assert mirror.lookup("arxiv", "0704.0000") == []


def test_many_lines_for_one_key_are_read_in_bounded_number(tmp_path: Path) -> None:
    (tmp_path / "aliases").mkdir()
    numbers = [f"pith:2020:{chr(65 + n % 26) * 26}" for n in range(26)]
    body = b"".join(f"arxiv:0704.00001\t{n}\n".encode() for n in sorted(numbers) * 10_000)
    (tmp_path / INDEX_PATH).write_bytes(body)
    found = LocalMirror(tmp_path).lookup("arxiv", "0704.00001")
    assert 1 <= len(found) <= 4 and set(found) <= set(numbers)


def test_an_index_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "aliases").mkdir()
    os.mkfifo(tmp_path / INDEX_PATH)  # opening it blocking would hang forever
    mirror = LocalMirror(tmp_path)
    assert answer(mirror, "arxiv", "0704.00001") == "unreadable"
    assert answer(mirror, "arxiv", "0704.00002") == "unreadable"
    assert mirror.bad_files == 1 and "FIFO" in mirror.bad_file_warnings[0]
    assert stat.S_ISFIFO(os.stat(tmp_path / INDEX_PATH).st_mode)


def test_an_index_linking_outside_the_mirror_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "secret.tsv"
    outside.write_bytes(f"arxiv:0704.00001\tpith:2020:{'A' * 26}\n".encode())
    root = tmp_path / "mirror"
    (root / "aliases").mkdir(parents=True)
    (root / INDEX_PATH).symlink_to(outside)
    with pytest.raises(FileReadError):
        lookup_index(root / INDEX_PATH, "arxiv", "0704.00001", within=root)
    assert answer(LocalMirror(root), "arxiv", "0704.00001") == "unreadable"


def test_keys_that_no_index_line_can_hold_are_never_searched(tmp_path: Path) -> None:
    (tmp_path / "aliases").mkdir()
    (tmp_path / INDEX_PATH).write_bytes(f"arxiv:a b\tpith:2020:{'A' * 26}\n".encode())
    for kind, value in (("arxiv", "a b"), ("arxiv", "x" * MAX_INDEX_LINE),
                        ("ARXIV", "a"), ("arxiv", "a\nb"), ("arxiv", "\udcff")):
        assert lookup_index(tmp_path / INDEX_PATH, kind, value, within=tmp_path) == []


def test_snapshot_null_license_is_no_license() -> None:
    meta = snapshot_metadata(snapshot_line("0704.00005", 5))
    assert isinstance(meta, ArxivMetadata)
    assert meta.license == ""
    assert meta.cross_cats == ("cs.DM",)


def _cli(tmp_path: Path, *extra: str) -> Any:
    parser = argparse.ArgumentParser(prog="pith-bib")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["mirror", "build", "--arxiv-snapshot",
                              str(tmp_path / "snapshot.jsonl"), str(tmp_path / "out"), *extra])
    assert args.handler is run
    return args


def test_cli_build_reports_and_succeeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    write_snapshot(tmp_path / "snapshot.jsonl", total=200)
    assert run(_cli(tmp_path, "--json")) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["bad_lines"] == len(BAD_LINES) + 1
    assert summary["index"] == "written"
    assert summary["index_lines"] == 3 * summary["papers"]
    assert summary["written"] == 0
    assert not (tmp_path / "out" / "aliases" / "arxiv").exists()
    assert "skipped line" in captured.err
    assert not any(ord(c) < 32 and c not in "\n" for c in captured.err)
    assert run(_cli(tmp_path)) == 0
    assert "aliases/index.tsv unchanged" in capsys.readouterr().out


def test_cli_per_file_writes_alias_files(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    write_snapshot(tmp_path / "snapshot.jsonl", total=100)
    assert run(_cli(tmp_path, "--per-file", "--json")) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["written"] == 3 * summary["papers"] == summary["index_lines"]
    assert (tmp_path / "out" / "aliases" / "arxiv").is_dir()


def test_cli_missing_snapshot_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        build_mirror(tmp_path / "absent.jsonl", tmp_path / "out")
    assert os.path.isdir(tmp_path / "out")
