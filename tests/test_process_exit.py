"""The console script ends its process without interpreter teardown: nothing may be lost.

``pith_bib.cli.run`` flushes the output and calls ``os._exit`` once the command
has returned. These tests run it as users do (a subprocess) and check that
everything it owed them arrived: all of a report far larger than a pipe's
buffer, the exit code, the error text, and the files it wrote. In-process
callers of ``main`` keep the collector and the interpreter as they were.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
import tomllib

from pith_bib import cli
from tests.cli_support import ROOT, annotated_papers, run_cli, trust_args

PIPE_BUFFER = 64 * 1024


@pytest.fixture(autouse=True)
def _buffered_output(monkeypatch: pytest.MonkeyPatch) -> None:
    """Block-buffered stdout, as users have it: unbuffered output would hide a lost flush."""
    monkeypatch.delenv("PYTHONUNBUFFERED", raising=False)


def _bib_without_identifiers(path: Path, count: int) -> Path:
    path.write_text("".join(f"@book{{key{i},\n  title = {{A book with a long title, "
                            f"number {i}}},\n  year = {{2001}}\n}}\n\n" for i in range(count)))
    return path


def test_console_script_is_the_quick_exit_entry() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["pith-bib"] == "pith_bib.cli:run"
    assert "run()" in (ROOT / "pith_bib" / "__main__.py").read_text()


def test_a_report_larger_than_the_pipe_arrives_whole(tmp_path: Path) -> None:
    bib = _bib_without_identifiers(tmp_path / "books.bib", 2000)
    result = run_cli("annotate", "--dry-run", "--json", str(bib), cache=tmp_path / "cache")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.encode()) > 4 * PIPE_BUFFER
    assert result.stdout.endswith("]\n")
    outcomes = json.loads(result.stdout)  # a truncated report would not parse
    assert [o["key"] for o in outcomes] == [f"key{i}" for i in range(2000)]


def test_many_small_writes_arrive_whole_and_in_order(tmp_path: Path) -> None:
    """One line per finding, each its own write: the last ones sit in the buffer at exit."""
    bib = tmp_path / "papers.bib"
    bib.write_text("".join(f"@article{{p{i},\n  eprint = {{2101.{10000 + i}}},\n"
                           "  archivePrefix = {arXiv}\n}\n\n" for i in range(2000)))
    (tmp_path / "papers.pith-lock.json").write_text('{"lock_version":1,"papers":{}}')
    result = run_cli("check", str(bib), cache=tmp_path / "cache")
    assert result.returncode == cli.EXIT_FINDINGS, result.stderr
    lines = result.stdout.splitlines()
    assert len(result.stdout.encode()) > 2 * PIPE_BUFFER
    assert [line.split(": ")[1] for line in lines[:-1]] == [f"p{i}" for i in range(2000)]
    assert lines[-1].startswith("pith-bib check: 1 file(s), 2000 entries with identifiers")


def test_exit_codes_and_error_text_survive(tmp_path: Path) -> None:
    missing = run_cli("check", str(tmp_path / "absent.bib"), cache=tmp_path / "cache")
    assert missing.returncode == cli.EXIT_USAGE
    assert "absent.bib" in missing.stderr

    bib, lock = annotated_papers(tmp_path, count=3)
    lock.write_text(lock.read_text().replace("Paper number 2", "Paper number 9"))
    failed = run_cli("check", *trust_args(), str(bib), cache=tmp_path / "no-cache")
    assert failed.returncode == cli.EXIT_FINDINGS
    assert [line.split(": ")[1] for line in failed.stdout.splitlines()
            if "does not verify" in line] == ["paper2"]


def test_files_written_before_the_exit_are_complete(tmp_path: Path) -> None:
    bib, lock = annotated_papers(tmp_path, count=12)  # annotate ran as a subprocess
    assert bib.read_text().count("pith_status = {verified}") == 12
    assert json.loads(lock.read_text())["papers"]
    checked = run_cli("check", *trust_args(), str(bib), cache=tmp_path / "cache")
    assert checked.returncode == cli.EXIT_OK, checked.stdout + checked.stderr


def test_main_in_process_leaves_the_collector_as_it_was(tmp_path: Path) -> None:
    bib = _bib_without_identifiers(tmp_path / "books.bib", 3)
    assert gc.isenabled()
    assert cli.main(["annotate", "--dry-run", "--cache-dir", str(tmp_path / "c"),
                     str(bib)]) == cli.EXIT_OK
    assert gc.isenabled()


def test_last_command_of_a_process_leaves_the_collector_off(tmp_path: Path) -> None:
    bib = _bib_without_identifiers(tmp_path / "books.bib", 3)
    try:
        assert cli.main(["annotate", "--dry-run", "--cache-dir", str(tmp_path / "c"),
                         str(bib)], last=True) == cli.EXIT_OK
        assert not gc.isenabled()  # resuming would only start a collection before exit
    finally:
        gc.enable()
