"""Canonical hashing and every written form of a pith number."""

from __future__ import annotations

import pytest

from pith_bib.canonical import (
    PithNumber,
    canonical_bytes,
    canonical_sha256,
    parse_pith_number,
    pith_id,
    pith_number,
    short_pith_number,
)
from pith_bib.errors import PithNumberError
from pith_bib.trust import REGISTRY_KEY_HEX, TrustRoot, fingerprint_b32, fingerprint_hex
from tests.support import seed_json


def test_canonical_bytes_sort_keys_and_keep_unicode() -> None:
    assert canonical_bytes({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


def test_seed_canonical_hash_and_pith_number_reproduce() -> None:
    doc = seed_json("001_702a4949302f7c0a.txt")
    digest = canonical_sha256(doc["canonical_record"])
    assert digest == doc["canonical_sha256"]
    assert pith_number(digest, 2018) == doc["pith_number"]
    assert short_pith_number(pith_id(digest)) == doc["short_pith_number"]


def test_pith_number_year_is_zero_padded_and_id_26_chars() -> None:
    number = pith_number("00" * 32, 999)
    assert number == "pith:0999:" + "A" * 26


@pytest.mark.parametrize("text", [
    "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ",
    " pith:2018:dm6gbysnjhdmwlodxzbvepyjhj ",
    "PITH:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ",
])
def test_full_forms_parse(text: str) -> None:
    parsed = parse_pith_number(text)
    assert parsed == PithNumber(id="DM6GBYSNJHDMWLODXZBVEPYJHJ", year=2018)
    assert str(parsed) == "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ"


@pytest.mark.parametrize(("text", "ident"), [
    ("pith:DM6GBYSNJHDMWLODXZBVEPYJHJ", "DM6GBYSNJHDMWLODXZBVEPYJHJ"),
    ("DM6GBYSNJHDMWLODXZBVEPYJHJ", "DM6GBYSNJHDMWLODXZBVEPYJHJ"),
    ("pith:DM6GBYSN", "DM6GBYSN"),
    ("DM6GBYSNJHDM", "DM6GBYSNJHDM"),
])
def test_short_and_bare_forms_parse(text: str, ident: str) -> None:
    parsed = parse_pith_number(text)
    assert parsed.id == ident
    assert parsed.year is None
    assert parsed.matches("pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ")
    assert not parsed.matches("pith:2018:AH5S4WE2T4KISLKPOBTLFWQMX3")


@pytest.mark.parametrize(("text", "fragment"), [
    ("pith:2018:DM6GBYSN", "full"),
    ("pith:18:DM6GBYSNJHDMWLODXZBVEPYJHJ", "four digits"),
    ("pith:DM6GBYS", "8 to 26"),
    ("pith:DM6GBYSNJHDMWLODXZBVEPYJHJA", "8 to 26"),
    ("pith:DM6GBYS1", "base32"),
    ("10.1000/xyz", "base32"),
    ("", "8 to 26"),
])
def test_bad_forms_are_rejected_clearly(text: str, fragment: str) -> None:
    with pytest.raises(PithNumberError, match=fragment):
        parse_pith_number(text)


def test_pith_id_rejects_non_digest() -> None:
    with pytest.raises(PithNumberError):
        pith_id("ABC")


def test_registry_key_fingerprints_match_protocol() -> None:
    raw = bytes.fromhex(REGISTRY_KEY_HEX)
    assert fingerprint_hex(raw) == "8d4b5ee74e4693bcd1df2446408b0d54"
    assert fingerprint_b32(raw) == "RVFV5Z2OI2J3ZUO7ERDEBCYNKS"
    key = TrustRoot.default().keys[0]
    assert key.key_id == "pith-v1-2026-05"


def test_trust_root_with_key_adds_and_dedups() -> None:
    base = TrustRoot.default()
    widened = base.with_key(b"\x01" * 32)
    assert len(widened.keys) == 2
    assert widened.with_key(b"\x01" * 32) is widened
    assert len(base.keys) == 1
