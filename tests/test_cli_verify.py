"""``pith-bib verify`` as a user runs it: a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support import SEEDS, fixed_key, make_bundle_bytes


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pith_bib", *args], input=stdin.decode() if stdin else None,
        capture_output=True, text=True, check=False, timeout=60,
    )


def test_verify_all_seeds_text_output() -> None:
    files = sorted(str(p) for p in SEEDS.iterdir())
    result = run("verify", *files)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 5
    assert f"{files[1]}: verified pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ 1802.04924v2" in lines
    assert f"{files[0]}: record-verified pith:2018:CTRGCVKP3IF5BR5WQP2SFIZL4G 1811.00143v2" in lines


def test_verify_json_report_shape() -> None:
    seed = str(SEEDS / "002_4713260b799be0b3.txt")
    result = run("verify", "--json", seed)
    assert result.returncode == 0
    (item,) = json.loads(result.stdout)
    assert item == {
        "file": seed, "status": "verified", "pith_number": "pith:2018:AH5S4WE2T4KISLKPOBTLFWQMX3",
        "arxiv_id": "1811.06992", "arxiv_version": 2,
        "title": "Image Classification at Supercomputer Scale", "key_id": "pith-v1-2026-05",
        "reasons": [],
    }


def test_verify_stdin_and_failure_exit_code(tmp_path: Path) -> None:
    data = (SEEDS / "001_702a4949302f7c0a.txt").read_bytes().replace(b"Exploring", b"Explaining")
    result = run("verify", "-", stdin=data)
    assert result.returncode == 1
    assert result.stdout.startswith("<stdin>: invalid ")
    assert "    " in result.stdout  # reasons are listed under the failure


def test_trust_key_option_admits_a_test_signed_bundle(tmp_path: Path) -> None:
    key = fixed_key(9)
    doc = tmp_path / "bundle.json"
    doc.write_bytes(make_bundle_bytes("2103.00001", key=key))
    assert run("verify", str(doc)).returncode == 1
    hex_key = bytes(key.verify_key).hex()
    result = run("verify", "--trust-key", hex_key, str(doc))
    assert result.returncode == 0, result.stdout
    assert ": verified pith:2021:" in result.stdout


def test_unreadable_file_exits_2() -> None:
    result = run("verify", "/nonexistent/bundle.json")
    assert result.returncode == 2
    assert "cannot read" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_trust_key_is_a_usage_error() -> None:
    result = run("verify", "--trust-key", "zz", str(SEEDS / "001_702a4949302f7c0a.txt"))
    assert result.returncode == 2
    assert "not hexadecimal" in result.stderr
    assert "Traceback" not in result.stderr
