"""Every JSON pith-bib reads is bounded: deep nesting is a one-line error, never a traceback.

One case per reader that takes JSON from outside (the review's "deep JSON in the
lock file" class): the lock, the arXiv metadata store, the Zotero API's answers
and the Zotero sync state.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from pith_bib.arxiv import FileMetadataStore
from pith_bib.errors import ZoteroError
from pith_bib.zotero_api import ZoteroClient, _Response
from pith_bib.zotero_sync import SyncState
from tests.cli_support import SAMPLE_MIRROR, copy_sample, run_cli

DEEP = b"[" * 100_000 + b"]" * 100_000


def test_deep_lock_is_a_one_line_error_for_check_and_annotate(tmp_path: Path) -> None:
    bib = copy_sample("zotero-biblatex.bib", tmp_path)
    (tmp_path / "zotero-biblatex.pith-lock.json").write_bytes(b'{"a":' + DEEP + b"}")
    for command in ("check", "annotate"):
        extra = ["--offline", "--mirror", str(SAMPLE_MIRROR)] if command == "annotate" else []
        done = run_cli(command, *extra, str(bib), cache=tmp_path / "cache")
        assert done.returncode == 2, done.stderr
        (line,) = done.stderr.strip().splitlines()
        assert "nested deeper than" in line and "Traceback" not in done.stderr


def test_deep_stored_arxiv_metadata_counts_as_absent(tmp_path: Path) -> None:
    store = FileMetadataStore(tmp_path)
    (tmp_path / "1802.04924.json").write_bytes(DEEP)
    assert store.get("1802.04924") is None


def test_deep_zotero_answer_is_a_zotero_error() -> None:
    with pytest.raises(ZoteroError, match="malformed JSON"):
        ZoteroClient._json(_Response(200, {}, DEEP), "the items")


def test_deep_zotero_state_means_a_full_read(tmp_path: Path) -> None:
    client = SimpleNamespace(base_url="http://127.0.0.1:1", library="users/1", collection=None)
    state = SyncState(tmp_path, client)  # type: ignore[arg-type]
    state.path.write_bytes(DEEP[:60000])
    assert state.load() is None


def test_depth_is_counted_on_objects_and_arrays_only() -> None:
    from pith_bib.errors import JsonFormatError
    from pith_bib.strict_json import load_json

    def nested(depth: int) -> bytes:
        opener, closer = "", ""
        for level in range(depth):
            opener += '{"k":' if level % 2 else "["
            closer = ("}" if level % 2 else "]") + closer
        return (opener + '"[[[{{{"' + closer).encode()

    assert load_json(nested(5), max_depth=5) is not None  # brackets inside strings do not count
    with pytest.raises(JsonFormatError, match="nested deeper than 5 levels"):
        load_json(nested(6), max_depth=5)
    assert load_json(b'[[], {"a": [[]]}, 1]', max_depth=4) is not None
    with pytest.raises(JsonFormatError, match="nested deeper than 3 levels"):
        load_json(b'[[], {"a": [[]]}, 1]', max_depth=3)  # an empty array counts as a level
    with pytest.raises(JsonFormatError, match="nested deeper than"):
        load_json(b"[" * 200_000 + b"]" * 200_000)  # the parser's own guard, one line


def test_depth_is_still_measured_when_the_brackets_could_nest_too_deep() -> None:
    """The bracket count only spares the walk when it proves the limit: deep input still fails."""
    from pith_bib.errors import JsonFormatError
    from pith_bib.strict_json import load_json

    shallow_but_many = ("[" + ",".join(["[]"] * 100) + "]").encode()
    assert len(load_json(shallow_but_many, max_depth=2)) == 100  # walked: depth 2 is fine
    deep = ("[" * 5 + "]" * 5).encode()
    with pytest.raises(JsonFormatError, match="deeper than 4"):
        load_json(deep, max_depth=4)
    assert load_json(deep, max_depth=5) == [[[[[]]]]]
    brackets_in_strings = ('{"a": "' + "{" * 50 + '"}').encode()
    assert load_json(brackets_in_strings, max_depth=1) == {"a": "{" * 50}
