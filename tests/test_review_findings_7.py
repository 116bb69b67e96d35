"""Seventh review (two attackers: "claim verified" and "lose a file"), its findings fixed.

Verified claims: annotate upgraded a state to the lock's bundle evidence without
judging the bundle's signed authors (a row of ``test_decide_table``);
``archivePrefix`` hid an ``eprinttype = {arxiv}`` eprint from the arXiv-id rule
(rows of ``test_ids_rules``); a state's cut events name a signer that is only
pin-checked, which its stored verdict did not list, so a warm ``check`` kept
passing after that key was unpinned while a cold one failed (below).

Nothing lost (below): a configured field name could be a bibliography field, which
annotate then overwrote in every entry; ``annotate .`` raised a traceback; an empty
``-o`` wrote the input in place; a refused write left a new lock behind; ``watch``
blocked on a FIFO and read ``/dev/zero`` without end; a bad config file raised a
traceback; UTF-16 without a mark read as a file of no entries (and passed ``check``),
UTF-32 with one as UTF-16; a megabyte title was echoed whole.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pith_bib.bibfile import parse
from pith_bib.cache import reusable_report
from pith_bib.canonical import canonical_sha256, parse_pith_number
from pith_bib.cli import main
from pith_bib.entry_query import FieldNames
from pith_bib.errors import BibDecodeError, ConfigError, PithNumberError, ZoteroConnectionError
from pith_bib.policy import Claims, title_rule
from pith_bib.publish import build_bundle, document_bytes, state_of
from pith_bib.report import VerificationReport
from pith_bib.state_rebuild import rebuilt_event_id
from pith_bib.terminal import json_text
from pith_bib.trust import TrustRoot, fingerprint_hex
from pith_bib.verdict_key import BINDING_VERSION, bind
from pith_bib.verify import verify_document
from pith_bib.watch import _digest
from pith_bib.zotero_api import ZoteroClient
from tests.cli_support import SAMPLE_MIRROR, run_cli
from tests.slow_server import Reply, SlowServer
from tests.support import fixed_key

SIGNER = fixed_key(71)  # signs the receipt
NAMED = fixed_key(72)  # only named as the signer of the state's cut events
SIGNER_HEX = bytes(SIGNER.verify_key).hex()
NAMED_HEX = bytes(NAMED.verify_key).hex()
BOTH = TrustRoot.default().with_hex_key(SIGNER_HEX, origin="test") \
    .with_hex_key(NAMED_HEX, origin="test")
SIGNER_ONLY = TrustRoot.default().with_hex_key(SIGNER_HEX, origin="test")


def _state_naming_a_second_key() -> tuple[str, bytes]:
    """A state whose receipt ``SIGNER`` signs and whose unsigned cut events name ``NAMED``."""
    bundle = build_bundle("2107.00001", 1, "Named But Not Signing", "2021-07-01T00:00:00Z",
                          SIGNER, "signer")
    state: dict[str, Any] = state_of(bundle)
    subject = state["pith_number"]
    current = state["current"]
    named = {"key_id": "named", "public_key_fingerprint": fingerprint_hex(
        bytes(NAMED.verify_key))}
    for cut in (current["record_created"], *current["graph_snapshots"]):
        cut["signer"].update(named)
    current["record_created"]["event_id"] = rebuilt_event_id(
        current["record_created"], "record_created", subject)
    for snapshot in current["graph_snapshots"]:
        snapshot["event_id"] = rebuilt_event_id(snapshot, "graph_snapshot", subject)
    state["applied_event_ids"] = [current["record_created"]["event_id"]] + [
        s["event_id"] for s in current["graph_snapshots"]]
    state.pop("state_sha256")
    state["state_sha256"] = canonical_sha256(state)
    return subject, document_bytes(state)


def test_a_verdict_lists_every_pinned_key_the_document_names() -> None:
    _, data = _state_naming_a_second_key()
    report = verify_document(data, BOTH)
    assert report.status == "record-verified", report.reasons
    signer_fp, named_fp = (fingerprint_hex(bytes(k.verify_key)) for k in (SIGNER, NAMED))
    assert report.key_fingerprints == [signer_fp, named_fp]  # the signer first
    assert report.key_id is not None and signer_fp in report.key_id
    assert reusable_report(report.to_dict(), BOTH) is not None
    assert reusable_report(report.to_dict(), SIGNER_ONLY) is None  # NAMED unpinned
    assert not verify_document(data, SIGNER_ONLY).ok  # what a cold run says


def test_a_warm_check_fails_like_a_cold_one_once_a_named_key_is_unpinned(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    subject, data = _state_naming_a_second_key()
    folder = tmp_path / "mirror" / "pith" / subject.rsplit(":", 1)[1]
    folder.mkdir(parents=True)
    (folder / "state.json").write_bytes(data)
    bib = tmp_path / "refs.bib"
    bib.write_text("@article{named,\n  title = {Named But Not Signing},\n"
                   "  eprint = {2107.00001},\n  archivePrefix = {arXiv}\n}\n")
    cache = ["--cache-dir", str(tmp_path / "cache")]
    both = ["--trust-key", SIGNER_HEX, "--trust-key", NAMED_HEX]
    assert main(["annotate", *both, *cache, "--offline", "--mirror",
                 str(tmp_path / "mirror"), str(bib)]) == 0
    assert main(["check", *both, *cache, str(bib)]) == 0  # the verdict is reused
    capsys.readouterr()
    warm = main(["check", "--trust-key", SIGNER_HEX, *cache, str(bib)])
    warm_out = capsys.readouterr().out
    cold = main(["check", "--trust-key", SIGNER_HEX, "--cache-dir",
                 str(tmp_path / "empty-cache"), str(bib)])
    cold_out = capsys.readouterr().out
    assert warm == cold == 1
    assert "not a pinned key" in warm_out and warm_out == cold_out


def test_verdicts_bound_before_the_binding_version_are_not_reused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A verdict stored by an older pith-bib (its report read in the old sense) is
    verified again: the binding covers the version of what reports mean."""
    current = bind("ab" * 32, '{"report":1}')
    assert current  # a key is at hand in the tests' data directory
    monkeypatch.setattr("pith_bib.verdict_key.BINDING_VERSION", BINDING_VERSION + "x")
    assert bind("ab" * 32, '{"report":1}') != current


# -- nothing lost ------------------------------------------------------------------------
SAMPLE_ENTRY = ("@article{k,\n  title={Exploring Hidden Dimensions in Parallelizing "
                "Convolutional Neural Networks},\n  eprint={1802.04924}\n}\n")


@pytest.mark.parametrize("name", ["title", "eprint", "Author", "note", "doi", "year", "url"])
@pytest.mark.parametrize("key", ["field", "status_field"])
def test_a_bibliography_field_cannot_be_pith_bibs_field(name: str, key: str) -> None:
    with pytest.raises(ConfigError, match="bibliography field of its own"):
        FieldNames(**{"pith" if key == "field" else "status": name})


def test_a_config_naming_the_title_as_status_field_changes_nothing(tmp_path: Path) -> None:
    bib = tmp_path / "refs.bib"
    bib.write_text(SAMPLE_ENTRY)
    (tmp_path / ".pith-bib.toml").write_text('status_field = "title"\n')
    done = run_cli("annotate", "--offline", "--mirror", str(SAMPLE_MIRROR), str(bib),
                   cache=tmp_path / "cache")
    assert done.returncode == 2 and "bibliography field of its own" in done.stderr
    assert bib.read_text() == SAMPLE_ENTRY
    assert not (tmp_path / "refs.pith-lock.json").exists()


@pytest.mark.parametrize("argv", [["annotate", "."], ["check", "."], ["annotate", "/"],
                                  ["watch", "."], ["annotate", ""], ["check", ""],
                                  ["annotate", "-o", "", "refs.bib"],
                                  ["annotate", "--lock", "", "refs.bib"],
                                  ["check", "--lock", " ", "refs.bib"]])
def test_a_path_that_names_no_file_is_a_usage_error(tmp_path: Path, argv: list[str]) -> None:
    (tmp_path / "refs.bib").write_text(SAMPLE_ENTRY)
    done = run_cli(*argv, cache=tmp_path / "cache", cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "not a file" in done.stderr or "an empty path" in done.stderr
    assert (tmp_path / "refs.bib").read_text() == SAMPLE_ENTRY
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "cache") == ["refs.bib"]


def test_a_refused_write_leaves_no_lock_behind(tmp_path: Path) -> None:
    read_only, source = tmp_path / "ro.bib", tmp_path / "in.bib"
    for bib in (read_only, source):
        bib.write_text(SAMPLE_ENTRY)
    read_only.chmod(0o444)
    (tmp_path / "outdir").mkdir()
    mirror = ["--offline", "--mirror", str(SAMPLE_MIRROR)]
    refused = run_cli("annotate", *mirror, str(read_only), cache=tmp_path / "cache")
    to_folder = run_cli("annotate", *mirror, "-o", str(tmp_path / "outdir"), str(source),
                        cache=tmp_path / "cache")
    assert (refused.returncode, to_folder.returncode) == (2, 2)
    assert "read-only" in refused.stderr and "not a regular file" in to_folder.stderr
    assert not (tmp_path / "ro.pith-lock.json").exists()
    assert not (tmp_path / "outdir.pith-lock.json").exists()
    assert source.read_text() == read_only.read_text() == SAMPLE_ENTRY


def test_watch_reads_only_a_regular_files_bytes(tmp_path: Path) -> None:
    """A FIFO where the export was would block ``open`` for good; /dev/zero never ends."""
    fifo, zero, bib = tmp_path / "fifo.bib", tmp_path / "zero.bib", tmp_path / "refs.bib"
    os.mkfifo(fifo)
    zero.symlink_to("/dev/zero")
    bib.write_text(SAMPLE_ENTRY)
    assert _digest(fifo) is None and _digest(zero) is None
    assert _digest(bib) == hashlib.sha256(SAMPLE_ENTRY.encode()).hexdigest()


@pytest.mark.parametrize(("config", "message"), [
    (b"field = \"\xff\"\n", "not UTF-8"),
    (b"x = " + b"[" * 5000 + b"]" * 5000 + b"\n", "not valid TOML"),
    (b"tool = 1\n", "[tool] must be a table"),
])
def test_a_bad_config_file_is_a_one_line_error(tmp_path: Path, config: bytes,
                                               message: str) -> None:
    (tmp_path / "refs.bib").write_text(SAMPLE_ENTRY)
    (tmp_path / ".pith-bib.toml").write_bytes(config)
    done = run_cli("check", str(tmp_path / "refs.bib"), cache=tmp_path / "cache")
    assert done.returncode == 2 and message in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("codec", ["utf-32", "utf-16", "utf-16-le", "utf-16-be",
                                   "utf-32-le", "utf-32-be"])
def test_wide_text_is_read_and_written_in_its_encoding_with_or_without_a_mark(
        codec: str) -> None:
    """``utf-32``/``utf-16`` write a byte-order mark first; the others none (JabRef's
    UTF-16 files have none). Read as UTF-8 they were entries hidden between NULs."""
    data = ("% é\n" + SAMPLE_ENTRY).encode(codec)
    bib = parse(data, "refs.bib")
    assert bib.problems == [] and [e.key for e in bib.entries] == ["k"]
    assert bib.to_bytes() == data
    bib.set_field(bib.entries[0], "pith", "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ")
    edited = bib.to_bytes()
    again = parse(edited, "refs.bib")
    assert again.encoding == bib.encoding and edited.startswith(data[:4])
    assert again.entries[0].get("pith") == "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"


def test_wide_text_that_is_not_valid_in_its_encoding_is_refused() -> None:
    with pytest.raises(BibDecodeError, match="full of zero bytes"):
        parse(b"\x00a\x00b\x00c\x00d\x00", "refs.bib")  # UTF-16 of odd length


def test_a_huge_title_is_quoted_by_its_start() -> None:
    title = "A" * 1_000_000
    report = VerificationReport(status="verified", pith_number="pith:2018:" + "A" * 26,
                                arxiv_id="1802.04924", title="Something Else Entirely")
    finding = title_rule(Claims(title=title), report)
    assert finding is not None and "likely wrong identifier" in finding.message
    assert len(finding.message) < 1_000


def test_input_that_cannot_be_parsed_exits_2_in_annotate_and_check(tmp_path: Path) -> None:
    """The status table's ``malformed`` is exit 2: a CSL item whose ``custom`` is not an
    object (the rest of the file is annotated), and a .bib that check cannot parse."""
    csl = tmp_path / "refs.json"
    csl.write_text('[{"id": "a", "type": "article", "title": "Exploring Hidden Dimensions '
                   'in Parallelizing Convolutional Neural Networks", "custom": null,\n'
                   '  "URL": "https://arxiv.org/abs/1802.04924"}]')
    bib = tmp_path / "broken.bib"
    bib.write_text("@article{k,\n  title = {Unclosed\n")
    annotated = run_cli("annotate", "--offline", "--mirror", str(SAMPLE_MIRROR), "--dry-run",
                        str(csl), cache=tmp_path / "c")
    checked = run_cli("check", str(bib), cache=tmp_path / "c")
    assert annotated.returncode == 2 and "malformed" in annotated.stdout
    assert checked.returncode == 2 and "broken.bib:1" in checked.stdout


def test_a_number_too_long_to_convert_is_said_of_the_file(tmp_path: Path) -> None:
    csl = tmp_path / "refs.json"
    csl.write_text('[{"id": "a", "type": "article", "number": ' + "1" * 5000 + "}]")
    done = run_cli("annotate", "--offline", "--dry-run", str(csl), cache=tmp_path / "c")
    assert done.returncode == 2
    assert "a number with more digits than any reader converts" in done.stdout
    assert "set_int_max_str_digits" not in done.stdout + done.stderr


# -- the Zotero client's deadline covers the whole exchange (eighth review) ---------------
@pytest.mark.parametrize("drip", ["body", "headers"])
def test_a_zotero_server_dripping_its_answer_is_cut_at_the_deadline(drip: str) -> None:
    """One byte every 0.4 s never trips a read timeout; the watchdog's deadline must.
    (Without it the 40-byte body below arrives whole, after 16 s, and is read.)"""
    body = b"[" + b" " * 38 + b"]"
    reply = Reply(body=body, headers={"Total-Results": "0", "Last-Modified-Version": "5"},
                  **({"drip_body": 0.4} if drip == "body" else {"drip_headers": 0.4}))
    with SlowServer() as server:
        server.serve("/users/4242/items/top?format=json&limit=100&sort=dateAdded"
                     "&direction=asc&start=0", reply)
        client = ZoteroClient("users/4242", "FakeKey0123456789abcdefg", base_url=server.url,
                              timeout=1.0, max_retries=0)
        with pytest.raises(ZoteroConnectionError, match="took longer than 1 s"):
            client.read_items()


# -- a verdict an older pith-bib stored is made again, once (eighth review) ---------------
def test_a_verdict_under_an_older_binding_is_stored_again_after_one_verification(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pith_bib.resolver as resolver_module
    from pith_bib import verdict_key
    from pith_bib.resolver import parse_query
    from pith_bib.settings import Settings

    bundle = build_bundle("2107.00002", 1, "Stored Long Ago", "2021-07-01T00:00:00Z",
                          SIGNER, "signer")
    number = bundle["pith_number"]
    folder = tmp_path / "mirror" / "pith" / number.rsplit(":", 1)[1]
    folder.mkdir(parents=True)
    (folder / "bundle.json").write_bytes(document_bytes(bundle))
    settings = Settings(mirrors=[str(tmp_path / "mirror")], offline=True,
                        cache_dir=tmp_path / "cache", trust_keys=[SIGNER_HEX])
    verified: list[str] = []
    real_verify = resolver_module.verify_document

    def counted(data: bytes, trust: TrustRoot) -> Any:
        verified.append("x")
        return real_verify(data, trust)

    monkeypatch.setattr(resolver_module, "verify_document", counted)
    monkeypatch.setattr(verdict_key, "BINDING_VERSION", "1")  # an older pith-bib's run
    settings.resolver().resolve_many([parse_query(number)])
    monkeypatch.setattr(verdict_key, "BINDING_VERSION", BINDING_VERSION)
    runs = []
    for _ in range(3):
        verified.clear()
        (result,) = settings.resolver().resolve_many([parse_query(number)])
        assert result.status == "verified" and result.source == "cache"
        runs.append(len(verified))
    assert runs == [1, 0, 0]  # verified once, then its new verdict answers


# -- eighth review: hostile values in numbers, encodings, output and renderers -------------
@pytest.mark.parametrize("text", ["pith:²⁰¹⁹:" + "A" * 26, "pith:٢٠١٩:" + "A" * 26,
                                  "pith:2019:" + "ß" * 13, "pith:" + "ß" * 8,
                                  "pith: 201:" + "A" * 26, "pith:201 :" + "A" * 26])
def test_a_number_written_in_other_digits_or_letters_is_not_a_pith_number(text: str) -> None:
    """``isdigit`` is true for superscripts (``int`` then raised a traceback in every
    command and renderer); ``upper`` turns "ß" into "SS", a base32 ID."""
    with pytest.raises(PithNumberError, match="pith"):
        parse_pith_number(text)


def test_a_run_of_nul_bytes_is_refused_not_read_as_no_entries() -> None:
    """Zeros on both sides of every byte are NULs, not UTF-16. Read as UTF-16 the file
    had no entries and passed check; read on past them, a file of zero bytes could
    hide anything: it is refused, loudly. A stray NUL is kept as it is."""
    with pytest.raises(BibDecodeError, match="full of zero bytes"):
        parse(b"\x00" * 2000 + SAMPLE_ENTRY.encode(), "refs.bib")
    stray = SAMPLE_ENTRY.encode().replace(b"eprint", b"\x00eprint")
    assert [e.key for e in parse(stray, "refs.bib").entries] == ["k"]


def test_cjk_wide_text_without_a_mark_is_read() -> None:
    """CJK text puts zero bytes on the low side too (U+3000, U+4E00): still UTF-16."""
    text = ("@article{k,\n  title = {一　一　一　一　一　一　一　一},\n"
            "  eprint = {1802.04924}\n}\n") * 40
    for codec in ("utf-16-le", "utf-32-le"):
        bib = parse(text.encode(codec), "refs.bib")
        assert bib.encoding == codec and len(bib.entries) == 40


def test_json_output_escapes_what_a_terminal_acts_on() -> None:
    value = {"title": "Invoice \u202egpj.exe\u2066 \u200f\x9b2J é"}
    text = json_text(value)
    assert json.loads(text) == value  # the same data to any JSON reader
    assert not any(c in text for c in "\u202e\u2066\u200f\x9b") and "é" in text


def test_check_quotes_a_huge_pith_or_status_by_its_start(tmp_path: Path) -> None:
    bib = tmp_path / "refs.bib"
    bib.write_text(SAMPLE_ENTRY)
    mirror = ["--offline", "--mirror", str(SAMPLE_MIRROR)]
    assert run_cli("annotate", *mirror, str(bib), cache=tmp_path / "c").returncode == 0
    text, statuses = re.subn(r"pith_status\s*=\s*\{verified\}",
                             "pith_status = {" + "x" * 10**6 + "}", bib.read_text())
    text, numbers = re.subn(r"pith\s*=\s*\{", "pith = {" + " " * 10**6, text)
    assert statuses == numbers == 1
    bib.write_text(text)
    done = run_cli("check", str(bib), cache=tmp_path / "c")
    assert done.returncode == 1
    assert max(len(line) for line in done.stdout.splitlines()) < 3000


def test_the_pandoc_filter_reads_an_empty_code_node_as_no_text() -> None:
    number = "pith:2019:XVZTWFOKD3YIMLE2C4J7IGSDYA"

    def meta(text: str) -> dict[str, Any]:
        return {"t": "MetaInlines", "c": [{"t": "Str", "c": text}]}

    doc = {"pandoc-api-version": [1, 23], "meta": {"references": {"t": "MetaList", "c": [
        {"t": "MetaMap", "c": {"id": {"t": "MetaInlines", "c": [{"t": "Code", "c": []}]},
                               "custom": {"t": "MetaMap", "c": {
                                   "pith": meta(number), "pith_status": meta("verified")}}}}]}},
        "blocks": [{"t": "Div", "c": [["refs", [], []], []]}]}
    done = subprocess.run([sys.executable, "-m", "pith_bib.pandoc_filter"],
                          input=json.dumps(doc).encode(), capture_output=True, timeout=60,
                          check=False)
    assert done.returncode == 0 and b"Traceback" not in done.stderr
    assert json.loads(done.stdout) == doc  # nothing to link: the document as it came


def test_the_pandoc_filter_leaves_an_ast_it_cannot_handle_as_it_was(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Nesting that fits json's limit on the way in but not with our link added (or any
    shape the filter did not expect): the document is rendered as citeproc made it."""
    from pith_bib import pandoc_filter

    def too_deep(doc: Any, folder: Path) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    data = b'{"pandoc-api-version":[1,23],"meta":{},"blocks":[]}'
    monkeypatch.setattr(pandoc_filter, "filter_document", too_deep)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    out = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out))
    assert pandoc_filter.main([]) == 0
    assert out.getvalue() == data
    assert "left the document as it was" in capsys.readouterr().err
