"""Verification under hostile documents: bounded work, closed field sets, every check in force.

The cases named in the hardening review: a 46 KB bundle of 16,000 empty events,
12,000 empty aliases or state entries, and the largest document under the cap
built to fail as many checks as possible. Each must fail closed with a capped,
specific reason list (no timing assertions here: ``benchmarks/bench_verify.py``
reports the times). Also every unknown field the record and events could carry,
signed by a trusted key, is refused.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from nacl.signing import SigningKey

from pith_bib import TrustRoot, verify_document
from pith_bib.evidence import evidence_of, verify_evidence
from pith_bib.publish import document_bytes, resign_bundle
from pith_bib.report import MAX_REASONS
from pith_bib.strict_json import MAX_DOCUMENT_BYTES
from tests.support import BUNDLE_SEEDS, REGISTRY, STATE_SEEDS, seed_bytes, seed_json


def many_events_bundle(count: int = 16_000) -> bytes:
    doc = seed_json(BUNDLE_SEEDS[0])
    doc["events"] = [{} for _ in range(count)]
    return json.dumps(doc).encode()


def worst_case_document(limit: int = MAX_DOCUMENT_BYTES) -> bytes:
    """Close to the size cap, as costly per byte as we know how to make it.

    Copies of a genuine, registry-signed snapshot event: every copy passes every
    per-event check (hash, id, signature), so nothing stops the work early, and
    the embedded state must be rebuilt from all of them before the bundle fails.
    """
    doc = seed_json(BUNDLE_SEEDS[0])
    snapshot = next(e for e in doc["events"] if e["event_type"] == "graph_snapshot")
    one = len(json.dumps(snapshot, separators=(",", ":"))) + 1
    copies = (limit - len(json.dumps(doc, separators=(",", ":")))) // one
    doc["events"] += [snapshot] * copies
    data = json.dumps(doc, separators=(",", ":")).encode()
    assert limit - 2 * one < len(data) <= limit
    return data


def test_sixteen_thousand_empty_events_fail_with_a_capped_reason_list() -> None:
    data = many_events_bundle()
    assert len(data) < 200_000
    report = verify_document(data, REGISTRY)
    assert report.status == "invalid"
    assert len(report.reasons) == MAX_REASONS + 1
    assert report.reasons[-1] == f"checking stopped after {MAX_REASONS} problems"
    assert report.reason_codes[0] in ("missing-field", "unknown-field", "value-differs")


@pytest.mark.parametrize("where", ["source_aliases", "state_entries"])
def test_twelve_thousand_empty_entries_fail_closed(where: str) -> None:
    if where == "source_aliases":
        doc = seed_json(BUNDLE_SEEDS[0])
        doc["source_aliases"] = [{} for _ in range(12_000)]
    else:
        doc = seed_json(STATE_SEEDS[0])
        doc["current"]["graph_snapshots"] = [{} for _ in range(12_000)]
    report = verify_document(json.dumps(doc).encode(), REGISTRY)
    assert report.status == "invalid"
    assert len(report.reasons) <= MAX_REASONS + 1


def test_worst_case_document_under_the_cap_fails_closed() -> None:
    report = verify_document(worst_case_document(), REGISTRY)
    assert report.status == "invalid"
    assert 0 < len(report.reasons) <= MAX_REASONS + 1
    assert "bundle-hash" in report.reason_codes


@pytest.fixture(scope="module")
def signer() -> tuple[SigningKey, TrustRoot]:
    key = SigningKey(bytes(range(32)))
    return key, TrustRoot.default().with_key(bytes(key.verify_key), origin="test")


def _signed(doc: dict[str, Any], signer: tuple[SigningKey, TrustRoot]) -> bytes:
    return document_bytes(resign_bundle(doc, signer[0], "test-key"))


def _mutations() -> list[tuple[str, Any]]:
    def record(doc: dict[str, Any]) -> list[dict[str, Any]]:
        created = next(e for e in doc["events"] if e["event_type"] == "record_created")
        return [doc["canonical_record"], created["payload"]["canonical_record"]]

    def extra_record_key(doc: dict[str, Any]) -> None:
        for r in record(doc):
            r["extra"] = 1

    def extra_metadata_key(doc: dict[str, Any]) -> None:
        for r in record(doc):
            r["metadata"]["note"] = "x"

    def schema_version(doc: dict[str, Any]) -> None:
        for r in record(doc):
            r["schema_version"] = "2.0"

    def event_extra_key(doc: dict[str, Any]) -> None:
        doc["events"][0]["extra"] = True

    def event_schema(doc: dict[str, Any]) -> None:
        doc["events"][1]["schema_version"] = "9"

    def unsorted_cross(doc: dict[str, Any]) -> None:
        for r in record(doc):
            r["metadata"]["cross_cats_sorted"] = ["cs.NE", "cs.DC"]

    return [(f.__name__, f) for f in (extra_record_key, extra_metadata_key, schema_version,
                                      event_extra_key, event_schema, unsorted_cross)]


def test_a_trusted_resigned_seed_verifies(signer: tuple[SigningKey, TrustRoot]) -> None:
    # the control for the mutations below: re-signing alone keeps the bundle valid
    assert verify_document(_signed(seed_json(BUNDLE_SEEDS[0]), signer),
                           signer[1]).status == "verified"


@pytest.mark.parametrize(("name", "mutate"), _mutations())
def test_unknown_or_malformed_signed_content_is_refused(
        name: str, mutate: Any, signer: tuple[SigningKey, TrustRoot]) -> None:
    doc = copy.deepcopy(seed_json(BUNDLE_SEEDS[0]))
    mutate(doc)
    report = verify_document(_signed(doc, signer), signer[1])
    assert report.status == "invalid", name


def test_state_evidence_snapshot_signer_must_be_pinned() -> None:
    data = seed_bytes(STATE_SEEDS[0])
    report = verify_document(data, REGISTRY)
    evidence = evidence_of(data, report)
    assert verify_evidence(report.pith_number, evidence, REGISTRY).ok
    evidence["title_event"]["signer"]["public_key_fingerprint"] = "0" * 32
    bad = verify_evidence(report.pith_number, evidence, REGISTRY)
    assert bad.status == "invalid"
    assert "unpinned-key" in bad.reason_codes
