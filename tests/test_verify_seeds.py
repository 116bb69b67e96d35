"""The real registry documents verify, with the facts the protocol doc lists."""

from __future__ import annotations

import pytest

from pith_bib import TrustRoot, verify_document
from tests.support import REGISTRY, SEED_FACTS, seed_bytes


@pytest.mark.parametrize("name", sorted(SEED_FACTS))
def test_seed_verifies_with_expected_facts(name: str) -> None:
    kind, number, arxiv_id, version = SEED_FACTS[name]
    report = verify_document(seed_bytes(name), REGISTRY)
    expected_status = "verified" if kind == "bundle" else "record-verified"
    assert report.status == expected_status, report.reasons
    assert report.reasons == []
    assert report.kind == kind
    assert report.pith_number == number
    assert report.arxiv_id == arxiv_id
    assert report.arxiv_version == version
    assert report.key_id == "pith-v1-2026-05"
    assert report.title


def test_seed_titles_come_from_the_signed_snapshot() -> None:
    report = verify_document(seed_bytes("001_702a4949302f7c0a.txt"), REGISTRY)
    assert report.title == (
        "Exploring Hidden Dimensions in Parallelizing Convolutional Neural Networks"
    )


def test_seed_is_invalid_under_a_trust_root_without_the_registry_key() -> None:
    empty = TrustRoot(keys=())
    report = verify_document(seed_bytes("001_702a4949302f7c0a.txt"), empty)
    assert report.status == "invalid"
    assert any("not a pinned key" in r for r in report.reasons)


def test_state_seed_without_registry_key_is_invalid() -> None:
    report = verify_document(seed_bytes("000_1d2cb73b9774673c.txt"), TrustRoot(keys=()))
    assert report.status == "invalid"
