"""Seventh review, its findings on verified claims, fixed.

Annotate upgraded a state to the lock's bundle evidence without judging the
bundle's signed authors (a row of ``test_decide_table``); ``archivePrefix`` hid an
``eprinttype = {arxiv}`` eprint from the arXiv-id rule (rows of
``test_ids_rules``); a state's cut events name a signer that is only pin-checked,
which its stored verdict did not list, so a warm ``check`` kept passing after that
key was unpinned while a cold one failed (below).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pith_bib.cache import reusable_report
from pith_bib.canonical import canonical_sha256
from pith_bib.cli import main
from pith_bib.publish import build_bundle, document_bytes, state_of
from pith_bib.state_rebuild import rebuilt_event_id
from pith_bib.trust import TrustRoot, fingerprint_hex
from pith_bib.verdict_key import BINDING_VERSION, bind
from pith_bib.verify import verify_document
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
