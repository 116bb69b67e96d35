"""Project configuration as a paper repository would set it, through the real command."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pith_bib.bibfile import parse
from pith_bib.config import KEYS, find_config
from pith_bib.errors import ConfigError
from tests.cli_support import SAMPLE_MIRROR, copy_sample, run_cli


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(SAMPLE_MIRROR, tmp_path / "mirror")
    (tmp_path / "paper").mkdir()
    copy_sample("zotero-biblatex.bib", tmp_path / "paper")
    return tmp_path


def test_dedicated_config_sets_fields_mirrors_and_lock(repo: Path) -> None:
    (repo / ".pith-bib.toml").write_text(
        'field = "pith_id"\nstatus_field = "pith_verified"\nmirrors = ["mirror"]\n'
        'offline = true\nlock = "locks/refs.lock.json"\n')
    bib = repo / "paper" / "zotero-biblatex.bib"
    result = run_cli("annotate", str(bib), cache=repo / "unused-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    entry = {e.key: e for e in parse(bib.read_bytes()).entries}["jia2018exploring"]
    assert entry.get("pith_id") == "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"
    assert entry.get("pith_verified") == "verified"
    assert entry.get("pith") is None
    assert (repo / "locks" / "refs.lock.json").is_file()
    assert (repo / "unused-cache").is_dir()  # the cache is the user's, never the repository's
    checked = run_cli("check", str(bib), cache=repo / "unused-cache")
    assert checked.returncode == 0, checked.stdout


def test_pyproject_table_is_read_and_flags_override_it(repo: Path) -> None:
    (repo / "pyproject.toml").write_text(
        '[project]\nname = "my-paper"\n\n[tool.pith-bib]\nmirrors = ["no-such-dir"]\n'
        'field = "pithnumber"\n')
    bib = repo / "paper" / "zotero-biblatex.bib"
    broken = run_cli("annotate", "--offline", str(bib), cache=repo / "c")
    assert broken.returncode == 2 and "no-such-dir" in broken.stderr
    result = run_cli("annotate", "--offline", "--mirror", str(repo / "mirror"), str(bib),
                     cache=repo / "c")
    assert result.returncode == 0, result.stderr
    assert b"pithnumber = {pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ}" in bib.read_bytes()


@pytest.mark.parametrize("text, message", [
    ('mirrrors = ["x"]\n', "unknown key 'mirrrors' in pith-bib config"),
    ('jobs = "many"\n', "'jobs' must be a whole number, not str"),
    ('offline = 1\n', "'offline' must be true or false, not int"),
    ('trust_keys = ["ab"]\n', "trust keys cannot come from a repository's config file"),
    ('cache_dir = "."\n', "the cache is the user's own"),
    ('timeout = -1\n', "timeout must be a number of at least"),
    ('lookup_pattern = "{base}/{nope}"\n', "lookup_pattern"),
    ('lookup_pattern = "{0}"\n', "lookup_pattern"),
    ('field = ""\n', "is not a valid field name"),
    ('field = "pith = {x},\\n note"\n', "is not a valid field name"),
    ('author_check = "maybe"\n', "author_check must be one of"),
    ('field = \n', "not valid TOML"),
])
def test_bad_config_is_a_one_line_usage_error(repo: Path, text: str, message: str) -> None:
    (repo / ".pith-bib.toml").write_text(text)
    bib = repo / "paper" / "zotero-biblatex.bib"
    before = bib.read_bytes()
    for command in ("annotate", "check"):
        result = run_cli(command, str(bib), cache=repo / "c")
        assert result.returncode == 2
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("pith-bib: error: ") and message in line, line
    assert bib.read_bytes() == before


def test_nearest_config_wins_and_every_key_is_known(tmp_path: Path) -> None:
    (tmp_path / ".pith-bib.toml").write_text('field = "outer"\n')
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    (tmp_path / "a" / "pyproject.toml").write_text('[tool.pith-bib]\nfield = "inner"\n')
    assert find_config(inner).get("field") == "inner"
    assert find_config(tmp_path).get("field") == "outer"
    assert find_config(tmp_path.parent).path != tmp_path / ".pith-bib.toml"
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert [key for key in KEYS if f"`{key}`" not in readme] == []
    with pytest.raises(ConfigError):
        (tmp_path / ".pith-bib.toml").write_text("[tool.pith-bib]\nbogus = 1\n")
        find_config(tmp_path)
