"""Self-consistent forgeries and malformed input: invalid, with a reason, no exception."""

from __future__ import annotations

import base64
import json

import pytest
from nacl.signing import SigningKey

from pith_bib import TrustRoot, verify_document
from pith_bib.publish import document_bytes, public_key_entry, resign_bundle
from pith_bib.strict_json import MAX_DEPTH, MAX_DOCUMENT_BYTES
from pith_bib.trust import REGISTRY_KEY_ID
from tests.support import BUNDLE_SEEDS, REGISTRY, seed_bytes, seed_json


@pytest.fixture(scope="module")
def forger_key() -> SigningKey:
    return SigningKey.generate()


@pytest.mark.parametrize("name", BUNDLE_SEEDS)
def test_resigned_bundle_with_own_key_is_invalid(name: str, forger_key: SigningKey) -> None:
    forged = resign_bundle(seed_json(name), forger_key, "forger-key")
    report = verify_document(document_bytes(forged), REGISTRY)
    assert report.status == "invalid"
    assert all("not a pinned key" in r for r in report.reasons)
    assert len(report.reasons) >= 4  # receipt, both events' signers/signatures, bundle


@pytest.mark.parametrize("name", BUNDLE_SEEDS)
def test_same_forgery_verifies_once_its_key_is_trusted(name: str,
                                                      forger_key: SigningKey) -> None:
    forged = resign_bundle(seed_json(name), forger_key, "forger-key")
    trust = TrustRoot.default().with_key(bytes(forger_key.verify_key))
    report = verify_document(document_bytes(forged), trust)
    assert report.status == "verified", report.reasons
    assert report.arxiv_id == seed_json(name)["source"]["id"]
    assert report.key_id == f"user-key:{trust.keys[-1].fingerprint}"


def test_forgery_claiming_the_registry_key_id_is_invalid(forger_key: SigningKey) -> None:
    forged = resign_bundle(seed_json(BUNDLE_SEEDS[0]), forger_key, REGISTRY_KEY_ID)
    forged["public_keys"] = [public_key_entry(forger_key, REGISTRY_KEY_ID)]
    forged = resign_bundle(forged, forger_key, REGISTRY_KEY_ID)
    forged["public_keys"] = [public_key_entry(forger_key, REGISTRY_KEY_ID)]
    report = verify_document(document_bytes(forged), REGISTRY)
    assert report.status == "invalid"
    assert any("public_keys[0] claims pinned key" in r for r in report.reasons)
    assert any("not a pinned key" in r for r in report.reasons)


def test_state_resigned_by_forger_is_invalid(forger_key: SigningKey) -> None:
    forged = resign_bundle(seed_json(BUNDLE_SEEDS[0]), forger_key, "forger-key")
    state_bytes = json.dumps(forged["state"]).encode()
    assert verify_document(state_bytes, REGISTRY).status == "invalid"
    trust = TrustRoot.default().with_key(bytes(forger_key.verify_key))
    assert verify_document(state_bytes, trust).status == "record-verified"


def _reasons(data: bytes) -> list[str]:
    report = verify_document(data, REGISTRY)
    assert report.status == "invalid"
    assert report.reasons
    return report.reasons


@pytest.mark.parametrize(("data", "fragment"), [
    (b"", "not well-formed JSON"),
    (b"not json", "not well-formed JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    (b'{"a": 1, "a": 2}', "duplicate key 'a'"),
    (b'{"a": NaN}', "NaN is not allowed"),
    (b'{"a": Infinity}', "Infinity is not allowed"),
    (b'{"a": -Infinity}', "-Infinity is not allowed"),
    (b'{"a": 1.5}', "fractional number"),
    (b"[]", "JSON array, not an object"),
    (b"42", "JSON integer"),
    (b'{"a": "\\ud800"}', "unpaired surrogate"),
    (b'{"bundle_type": "pith_other"}', "unknown document type"),
    (b'{"hello": "world"}', "not a Pith document"),
])
def test_malformed_json(data: bytes, fragment: str) -> None:
    reasons = _reasons(data)
    assert any(fragment in r for r in reasons), reasons


def test_deep_nesting_is_refused() -> None:
    data = b"[" * 10_000 + b"]" * 10_000
    assert any(f"deeper than {MAX_DEPTH}" in r for r in _reasons(data))
    moderate = b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1)
    assert any("deeper than" in r for r in _reasons(moderate))


def test_fifty_megabyte_document_is_refused_before_parsing() -> None:
    data = b'{"pad": "' + b"x" * (50 * 1024 * 1024) + b'"}'
    assert any(f"over the {MAX_DOCUMENT_BYTES}-byte limit" in r for r in _reasons(data))


def _bundle() -> dict:
    return seed_json(BUNDLE_SEEDS[0])


def _without_bundle_sig_issue(doc: dict) -> list[str]:
    return verify_document(json.dumps(doc).encode(), REGISTRY).reasons


def test_wrong_length_signature() -> None:
    doc = _bundle()
    doc["bundle_signature"]["signature_b64"] = base64.b64encode(b"\0" * 63).decode()
    assert any("signature_b64 is 84 characters, expected 88" in r
               for r in _without_bundle_sig_issue(doc))


def test_non_canonical_base64_signature() -> None:
    doc = _bundle()
    text = doc["bundle_signature"]["signature_b64"]
    # The char before "==" carries 4 unused bits: setting one keeps the decoded
    # bytes but makes the text a second spelling of the same signature.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    idx = alphabet.index(text[-3])
    doc["bundle_signature"]["signature_b64"] = text[:-3] + alphabet[idx | 1] + "=="
    assert base64.b64decode(doc["bundle_signature"]["signature_b64"]) == base64.b64decode(text)
    assert "bundle_signature.signature_b64 is not the canonical base64 of 64 bytes" in (
        _without_bundle_sig_issue(doc))


def test_signature_with_invalid_base64_characters() -> None:
    doc = _bundle()
    doc["bundle_signature"]["signature_b64"] = "!" * 86 + "=="
    assert "bundle_signature.signature_b64 is not valid base64" in _without_bundle_sig_issue(doc)


@pytest.mark.parametrize("mangle", [str.upper, lambda s: s[:32] + " " + s[32:]])
def test_upper_case_or_spaced_hex_is_rejected(mangle) -> None:
    doc = _bundle()
    doc["canonical_sha256"] = mangle(doc["canonical_sha256"])
    assert "bundle.canonical_sha256 is not 64 lower-case hex digits" in (
        _without_bundle_sig_issue(doc))


def test_upper_case_fingerprint_is_rejected() -> None:
    doc = _bundle()
    doc["bundle_signature"]["public_key_fingerprint"] = (
        doc["bundle_signature"]["public_key_fingerprint"].upper())
    assert "bundle_signature.public_key_fingerprint is not 32 lower-case hex digits" in (
        _without_bundle_sig_issue(doc))


@pytest.mark.parametrize("field", ["events", "canonical_record", "bundle_signature", "state"])
def test_missing_fields_are_named(field: str) -> None:
    doc = _bundle()
    del doc[field]
    assert f"bundle.{field} is missing" in _without_bundle_sig_issue(doc)


@pytest.mark.parametrize(("field", "value"), [
    ("events", {}), ("canonical_record", []), ("bundle_signature", "sig"), ("links", []),
])
def test_wrong_types_are_named(field: str, value: object) -> None:
    doc = _bundle()
    doc[field] = value
    reasons = _without_bundle_sig_issue(doc)
    assert any(f"bundle.{field} has the wrong type" in r for r in reasons), reasons


def test_version_as_boolean_is_a_wrong_type() -> None:
    doc = _bundle()
    doc["canonical_record"]["source"]["version"] = True
    reasons = _without_bundle_sig_issue(doc)
    assert "canonical_record.source.version has the wrong type (boolean)" in reasons


def test_unknown_event_type_is_reported_by_name() -> None:
    doc = _bundle()
    doc["events"][1]["event_type"] = "citation_signature"
    assert "events[1]: unknown event type 'citation_signature'" in (
        _without_bundle_sig_issue(doc))


def test_unknown_bundle_version() -> None:
    doc = _bundle()
    doc["bundle_version"] = "2.0"
    assert "bundle_version '2.0' is not a known version" in _without_bundle_sig_issue(doc)


def test_garbage_inside_every_field_never_raises() -> None:
    original = _bundle()
    for key in original:
        for junk in (None, 0, "", [], {}, [None], {"x": None}):
            if junk == original[key]:
                continue
            doc = dict(original)
            doc[key] = junk
            report = verify_document(json.dumps(doc).encode(), REGISTRY)
            assert report.status == "invalid"
            assert all("could not be checked" not in r for r in report.reasons), (key, junk)


def test_state_tampering_is_caught() -> None:
    doc = json.loads(seed_bytes("000_1d2cb73b9774673c.txt"))
    doc["current"]["graph_snapshots"][0]["payload"]["graph_snapshot"]["paper"]["title"] = "X"
    report = verify_document(json.dumps(doc).encode(), REGISTRY)
    assert report.status == "invalid"
    assert any("does not match the record's title hash" in r for r in report.reasons)
