"""Shared helpers for the test suite: seed documents and signed fixtures."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from nacl.signing import SigningKey

from pith_bib.bibfile import Entry, parse
from pith_bib.errors import BibError
from pith_bib.evidence import evidence_of
from pith_bib.lock import encode_evidence
from pith_bib.policy import signed_aliases
from pith_bib.publish import build_bundle, document_bytes
from pith_bib.trust import TrustRoot

DATA = Path(__file__).parent / "data"
SEEDS = DATA / "seeds"
SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPORA = SHARED / "corpora"
REGISTRY = TrustRoot.default()


def cache_put(cache: Any, data: bytes, report: Any) -> bool:
    """Store a verified document the way the resolver does (evidence and aliases derived)."""
    return cache.put(data, report, encode_evidence(evidence_of(data, report)),
                     signed_aliases(report))

SEED_FACTS = {
    "000_1d2cb73b9774673c.txt": ("state", "pith:2018:CTRGCVKP3IF5BR5WQP2SFIZL4G", "1811.00143", 2),
    "001_702a4949302f7c0a.txt": ("bundle", "pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ", "1802.04924", 2),
    "002_4713260b799be0b3.txt": ("bundle", "pith:2018:AH5S4WE2T4KISLKPOBTLFWQMX3", "1811.06992", 2),
    "003_86e2392fa49a3543.txt": ("state", "pith:2017:2P5HMBOTO5J3LWMANSCSLZPRUZ", "1708.02188", 1),
    "004_4af43fd21d9dca6c.txt": ("state", "pith:2018:545VV5TWOWRWQ3PEMEMSEYRLMS", "1806.03377", 1),
}
BUNDLE_SEEDS = [n for n, f in SEED_FACTS.items() if f[0] == "bundle"]
STATE_SEEDS = [n for n, f in SEED_FACTS.items() if f[0] == "state"]


def seed_bytes(name: str) -> bytes:
    return (SEEDS / name).read_bytes()


def seed_json(name: str) -> dict[str, Any]:
    return json.loads(seed_bytes(name))


def fixed_key(seed_byte: int) -> SigningKey:
    """A deterministic test key, so fixtures are reproducible between runs."""
    return SigningKey(bytes([seed_byte]) * 32)


def make_bundle_bytes(arxiv_id: str, version: int = 1, title: str | None = None,
                      key: SigningKey | None = None, key_id: str = "test-key",
                      submitted_at: str = "2021-03-04T05:06:07Z") -> bytes:
    key = key or fixed_key(7)
    doc = build_bundle(arxiv_id, version, title or f"Test paper {arxiv_id}", submitted_at,
                       key, key_id)
    return document_bytes(doc)


def corpus_files() -> list[Path]:
    if not CORPORA.is_dir():
        return []
    return sorted(p for p in CORPORA.rglob("*")
                  if p.is_file() and p.suffix in (".bib", ".bibtex"))


@functools.cache
def corpus_bib_entries() -> tuple[Entry, ...]:
    """Every entry of the corpora's .bib files the reader accepts; the test skips without them."""
    if not CORPORA.is_dir():
        pytest.skip(f"{CORPORA} not present")
    found: list[Entry] = []
    for path in sorted(CORPORA.rglob("*.bib")):
        try:
            found.extend(parse(path.read_bytes(), str(path)).entries)
        except BibError:  # a file the reader refuses has no entries to compare
            continue
    return tuple(found)
