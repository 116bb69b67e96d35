"""Every single-value change to a real bundle must stop it from verifying.

The suite walks every leaf of both seed bundles. The only leaves no hash or
signature covers are listed in ``UNCOVERED`` with the reason a change there
is harmless; the test proves that list is exact by checking those leaves
still verify after a plausible change.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from pith_bib import verify_document
from tests.support import BUNDLE_SEEDS, REGISTRY, seed_json

Path_ = tuple[Any, ...]

# The bundle hash covers everything but ``bundle_signature`` itself; in there,
# every field is checked against a constant, the pinned key or the recomputed
# hash, except the signing time. It is informational: no check depends on it
# and moving it cannot change what is vouched for.
UNCOVERED = {
    re.compile(r"bundle_signature/signed_at"): "time the bundle was signed; informational",
}


def _leaves(node: Any, path: Path_ = ()) -> Iterator[Path_]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        if not node:
            yield path  # an empty list is a leaf we can change by adding to it
        for i, value in enumerate(node):
            yield from _leaves(value, (*path, i))
    else:
        yield path


def _containers(node: Any, path: Path_ = ()) -> Iterator[Path_]:
    if isinstance(node, dict):
        yield path
        for key, value in node.items():
            yield from _containers(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _containers(value, (*path, i))


def _get(doc: Any, path: Path_) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _set(doc: Any, path: Path_, value: Any) -> None:
    _get(doc, path[:-1])[path[-1]] = value


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        if not value:
            return "x"
        last = value[-1]
        return value[:-1] + ("B" if last == "A" else "A" if last.isupper() else
                             "1" if last == "0" else "0" if last.isdigit() else
                             "y" if last == "x" else "x")
    if value is None:
        return "x"
    if value == []:
        return ["x"]
    raise AssertionError(f"unexpected leaf {value!r}")


def _label(path: Path_) -> str:
    return "/".join(str(p) for p in path)


def _is_uncovered(path: Path_) -> bool:
    return any(p.fullmatch(_label(path)) for p in UNCOVERED)


def _encode(doc: Any) -> bytes:
    return json.dumps(doc).encode()


@pytest.mark.parametrize("name", BUNDLE_SEEDS)
def test_every_leaf_change_breaks_verification(name: str) -> None:
    original = seed_json(name)
    survivors = []
    checked = 0
    for path in _leaves(original):
        if _is_uncovered(path):
            continue
        doc = copy.deepcopy(original)
        _set(doc, path, _changed(_get(doc, path)))
        report = verify_document(_encode(doc), REGISTRY)
        checked += 1
        if report.status == "verified" or not report.reasons:
            survivors.append(_label(path))
    assert checked > 200
    assert survivors == []


@pytest.mark.parametrize("name", BUNDLE_SEEDS)
def test_uncovered_list_is_exact(name: str) -> None:
    original = seed_json(name)
    uncovered = [p for p in _leaves(original) if _is_uncovered(p)]
    assert uncovered, "the uncovered list names leaves that do not exist"
    for path in uncovered:
        doc = copy.deepcopy(original)
        _set(doc, path, "2030-01-01T00:00:00.000000Z")
        assert verify_document(_encode(doc), REGISTRY).status == "verified", _label(path)


@pytest.mark.parametrize("name", BUNDLE_SEEDS)
def test_every_removed_key_breaks_verification(name: str) -> None:
    original = seed_json(name)
    survivors = []
    for path in _containers(original):
        for key in list(_get(original, path)):
            doc = copy.deepcopy(original)
            del _get(doc, path)[key]
            if verify_document(_encode(doc), REGISTRY).status == "verified":
                survivors.append(_label((*path, key)))
    assert survivors == []


@pytest.mark.parametrize("name", BUNDLE_SEEDS)
def test_every_added_key_breaks_verification(name: str) -> None:
    original = seed_json(name)
    survivors = []
    for path in _containers(original):
        doc = copy.deepcopy(original)
        _get(doc, path)["zz_added"] = "x"
        if verify_document(_encode(doc), REGISTRY).status == "verified":
            survivors.append(_label(path))
    assert survivors == []


@pytest.mark.parametrize("name", BUNDLE_SEEDS)
def test_reordered_events_break_verification(name: str) -> None:
    doc = seed_json(name)
    doc["events"].reverse()
    report = verify_document(_encode(doc), REGISTRY)
    assert report.status == "invalid"
    assert any("bundle_sha256" in r or "state" in r for r in report.reasons)


def _other(name: str) -> str:
    return next(n for n in BUNDLE_SEEDS if n != name)


@pytest.mark.parametrize("name", BUNDLE_SEEDS)
def test_swapped_receipt_signature(name: str) -> None:
    doc, other = seed_json(name), seed_json(_other(name))
    doc["events"][0]["payload"]["receipt"]["signature_b64"] = (
        other["events"][0]["payload"]["receipt"]["signature_b64"]
    )
    report = verify_document(_encode(doc), REGISTRY)
    assert report.status == "invalid"
    assert any("receipt: Ed25519 signature does not verify" in r for r in report.reasons)


@pytest.mark.parametrize("name", BUNDLE_SEEDS)
def test_swapped_event_signature(name: str) -> None:
    doc, other = seed_json(name), seed_json(_other(name))
    doc["events"][1]["signature"]["signature_b64"] = other["events"][1]["signature"][
        "signature_b64"]
    report = verify_document(_encode(doc), REGISTRY)
    assert report.status == "invalid"
    assert "events[1].signature: Ed25519 signature does not verify under pith-v1-2026-05" in (
        report.reasons)


@pytest.mark.parametrize("name", BUNDLE_SEEDS)
def test_swapped_bundle_signature(name: str) -> None:
    doc, other = seed_json(name), seed_json(_other(name))
    doc["bundle_signature"]["signature_b64"] = other["bundle_signature"]["signature_b64"]
    report = verify_document(_encode(doc), REGISTRY)
    assert report.reasons == [
        "bundle_signature: Ed25519 signature does not verify under pith-v1-2026-05"
    ]


def test_whole_bundle_signature_object_from_other_bundle() -> None:
    doc = seed_json(BUNDLE_SEEDS[0])
    doc["bundle_signature"] = seed_json(BUNDLE_SEEDS[1])["bundle_signature"]
    report = verify_document(_encode(doc), REGISTRY)
    assert "bundle_signature.bundle_sha256 does not match the bundle's content" in report.reasons
