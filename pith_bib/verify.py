"""Say exactly how far a Pith bundle or state can be trusted.

``verify_document`` is the only judge in pith-bib: everything that writes
``verified`` anywhere asks it first. It re-derives every hash, every pith
number and the merged state from the document's own content, checks every
signature against pinned keys only, and collects a specific reason for each
check that fails. It never raises on a bad document, and any doubt is
``invalid``: a status is only as good as the weakest check behind it.

The trust root is a required argument: a verifier that silently falls back to
a default would let one command trust what another refuses.
"""

from __future__ import annotations

import base64
from typing import Any

from .canonical import canonical_sha256, pith_id, short_pith_number
from .checker import (
    Checker,
    TooManyProblems,
    check_aliases,
    check_created_payload,
    known,
    record_prologue,
    snapshot_paper,
    type_name,
)
from .errors import JsonFormatError
from .protocol import (
    BUNDLE_KEYS,
    BUNDLE_SIGNATURE_KEYS,
    BUNDLE_TYPE,
    CURRENT_KEYS,
    CUT_EVENT_KEYS,
    EMPTY_STATE_LISTS,
    EVENT_KEYS,
    KNOWN_BUNDLE_VERSIONS,
    KNOWN_EVENT_TYPES,
    KNOWN_MERGE_VERSIONS,
    KNOWN_STATE_VERSIONS,
    SIGNATURE_KEYS,
    STATE_KEYS,
    STATE_TYPE,
)
from .report import RECORD_VERIFIED, VERIFIED, Reason, VerificationReport
from .state_rebuild import event_content, rebuild_state, rebuilt_event_id
from .strict_json import load_json
from .trust import TrustRoot

__all__ = ["VerificationReport", "verify_document"]


def _check_versions(checker: Checker, doc: dict[str, Any], version_key: str,
                    versions: frozenset[str]) -> None:
    if not known(doc.get(version_key), versions):
        checker.fail(f"{version_key} {doc.get(version_key)!r} is not a known version",
                     "unknown-version")
    if not known(doc.get("merge_version"), KNOWN_MERGE_VERSIONS):
        checker.fail(f"merge_version {doc.get('merge_version')!r} is not a known merge version",
                     "unknown-version")


# -- bundles -----------------------------------------------------------------------------
def _check_bundle(checker: Checker, doc: dict[str, Any], report: VerificationReport) -> None:
    """Protocol "Bundles": record, aliases, events, embedded state, bundle signature."""
    report.kind = "bundle"
    checker.exact_keys(doc, BUNDLE_KEYS, "bundle")
    _check_versions(checker, doc, "bundle_version", KNOWN_BUNDLE_VERSIONS)
    record = checker.need(doc, "canonical_record", dict, "bundle")
    digest = record_prologue(checker, record, doc.get("pith_number"), "canonical_record",
                             report)
    stated = checker.digest(doc, "canonical_sha256", "bundle")
    if stated is not None and stated != digest:
        checker.fail("canonical_sha256 does not match the hash of canonical_record",
                     "record-hash")
    full_id = pith_id(digest) if digest else None
    if full_id:
        checker.equal(doc.get("short_pith_number"), short_pith_number(full_id),
                      "short_pith_number")
    if record is not None:
        checker.equal(doc.get("source"), record.get("source"), "bundle.source")
    report.aliases = check_aliases(checker, doc.get("source_aliases"), report, full_id,
                                   "source_aliases")
    report.built_at = checker.timestamp(doc, "built_at", "bundle")
    for name in ("timestamp_proofs", "mirror_hints", "public_keys"):
        checker.need(doc, name, list, "bundle")
    checker.need(doc, "links", dict, "bundle")
    _check_public_keys(checker, doc.get("public_keys"))
    events = checker.need(doc, "events", list, "bundle")
    if events is not None:
        report.event_count = len(events)
        _check_events(checker, events, report, record, digest)
    _check_embedded_state(checker, doc, events)
    _check_bundle_signature(checker, doc)


def _check_embedded_state(checker: Checker, doc: dict[str, Any], events: Any) -> None:
    """Protocol "States": the embedded state must be the merge of the bundle's events."""
    state = checker.need(doc, "state", dict, "bundle")
    if state is None or not isinstance(events, list) or \
            not all(isinstance(e, dict) for e in events):
        return
    rebuilt = rebuild_state(doc)
    if state == rebuilt:
        return  # equal to the rebuilt state, whose hash was just computed
    if state.get("state_sha256") != canonical_sha256(
        {k: v for k, v in state.items() if k != "state_sha256"}
    ):
        checker.fail("state.state_sha256 does not match the embedded state", "state-hash")
    differing = sorted(k for k in set(state) | set(rebuilt) if state.get(k) != rebuilt.get(k))
    checker.fail("embedded state differs from the state rebuilt from the events "
                 f"(fields: {', '.join(differing)})", "state-merge")


def _check_bundle_signature(checker: Checker, doc: dict[str, Any]) -> None:
    """Protocol "Bundles": the registry signs the hash of everything but the signature."""
    signature = checker.need(doc, "bundle_signature", dict, "bundle")
    if signature is None:
        return
    checker.exact_keys(signature, BUNDLE_SIGNATURE_KEYS, "bundle_signature")
    body = {k: v for k, v in doc.items() if k != "bundle_signature"}
    bundle_digest = canonical_sha256(body)
    if signature.get("bundle_sha256") != bundle_digest:
        checker.fail("bundle_signature.bundle_sha256 does not match the bundle's content",
                     "bundle-hash")
    checker.signature(signature, bundle_digest, "bundle_sha256_bytes", "bundle_signature")


def _check_public_keys(checker: Checker, keys: Any) -> None:
    """A bundle's own key list is untrusted; it may only repeat a pinned key exactly."""
    if not isinstance(keys, list):
        return
    for i, entry in enumerate(keys):
        if not isinstance(entry, dict):
            checker.fail(f"public_keys[{i}] is not an object", "wrong-type")
            continue
        pinned = checker.trust.by_key_id(entry.get("key_id"))
        if pinned is None:
            continue
        expected = {
            "public_key_hex": pinned.raw.hex(),
            "public_key_b64": base64.b64encode(pinned.raw).decode("ascii"),
            "fingerprint_sha256_hex": pinned.fingerprint,
            "fingerprint_sha256_b32_first128bits": pinned.fingerprint_b32,
        }
        for name, value in expected.items():
            if entry.get(name) != value:
                checker.fail(f"public_keys[{i}] claims pinned key {pinned.key_id!r} but its "
                             f"{name} differs from the pinned key", "key-impersonation")
        if entry.get("algorithm") != "ed25519":
            checker.fail(f"public_keys[{i}].algorithm is not ed25519", "key-impersonation")


def _check_event(checker: Checker, event: dict[str, Any], at: str, derived: str | None
                 ) -> None:
    """Protocol "Bundles": an event's hash, id, subject and signature."""
    checker.exact_keys(event, EVENT_KEYS, at)
    checker.equal(event.get("schema_version"), "1.0", f"{at}.schema_version",
                  "unknown-version")
    event_type = event.get("event_type")
    if not known(event_type, KNOWN_EVENT_TYPES):
        checker.fail(f"{at}: unknown event type {event_type!r}", "unknown-event")
    if derived is not None:
        checker.equal(event.get("subject_pith_number"), derived, f"{at}.subject_pith_number")
    checker.equal(event.get("supersedes"), [], f"{at}.supersedes")
    checker.equal(event.get("prev_event"), None, f"{at}.prev_event")
    content = canonical_sha256(event_content(event))
    stated = checker.digest(event, "content_sha256", at)
    if stated is not None and stated != content:
        checker.fail(f"{at}.content_sha256 does not match the event's content", "event-hash")
    checker.equal(event.get("event_id"), f"sha256:{content}", f"{at}.event_id", "event-hash")
    signer = checker.need(event, "signer", dict, at)
    signer_key = checker.pinned_key(signer, f"{at}.signer") if signer is not None else None
    sig = checker.need(event, "signature", dict, at)
    if sig is not None:
        checker.exact_keys(sig, SIGNATURE_KEYS, f"{at}.signature")
        checker.signature(sig, content, "open_graph_event_sha256_bytes", f"{at}.signature",
                          signer_key)


def _check_events(checker: Checker, events: list[Any], report: VerificationReport,
                  record: Any, digest: str | None) -> None:
    created = 0
    for i, event in enumerate(events):
        at = f"events[{i}]"
        if not isinstance(event, dict):
            checker.fail(f"{at} is not an object", "wrong-type")
            continue
        _check_event(checker, event, at, report.pith_number)
        if event.get("event_type") == "record_created":
            created += 1
            check_created_payload(checker, event.get("payload"), record, digest, at)
        elif event.get("event_type") == "graph_snapshot":
            snapshot_paper(checker, event.get("payload"), record, at, report, signed=True)
    if created != 1:
        checker.fail(f"a bundle needs exactly one record_created event, found {created}",
                     "record-created")


# -- states ------------------------------------------------------------------------------
def _check_state_lists(checker: Checker, doc: dict[str, Any], current: dict[str, Any]) -> None:
    checker.exact_keys(current, CURRENT_KEYS, "current")
    for name in EMPTY_STATE_LISTS:
        if current.get(name) not in ([], None):
            checker.fail(f"current.{name} is not empty: the merge rules for it are unknown",
                         "unknown-merge")
    for name in ("equivocations", "invalid_events"):
        if doc.get(name) != []:
            checker.fail(f"state.{name} is not empty: the merge rules for it are unknown",
                         "unknown-merge")


def _check_cut_event(checker: Checker, cut: Any, event_type: str, subject: Any,
                     at: str) -> str | None:
    """A state's cut-down event: its id is rebuilt; returns that id."""
    if not isinstance(cut, dict):
        checker.fail(f"{at} is not an object", "wrong-type")
        return None
    checker.exact_keys(cut, frozenset(CUT_EVENT_KEYS), at)
    checker.pinned_key(cut.get("signer"), f"{at}.signer")
    rebuilt = rebuilt_event_id(cut, event_type, subject)
    checker.equal(cut.get("event_id"), rebuilt, f"{at}.event_id", "event-hash")
    return rebuilt


def _check_state(checker: Checker, doc: dict[str, Any], report: VerificationReport) -> None:
    """Protocol "States": only the record and its receipt are signed in a state."""
    report.kind = "state"
    checker.exact_keys(doc, STATE_KEYS, "state")
    _check_versions(checker, doc, "state_version", KNOWN_STATE_VERSIONS)
    current = checker.need(doc, "current", dict, "state")
    if current is None:
        return
    _check_state_lists(checker, doc, current)
    record = checker.need(current, "canonical_record", dict, "current")
    digest = record_prologue(checker, record, doc.get("pith_number"),
                             "current.canonical_record", report)
    full_id = pith_id(digest) if digest else None
    report.aliases = check_aliases(checker, current.get("source_aliases"), report, full_id,
                                   "current.source_aliases")
    subject = doc.get("pith_number")
    event_ids: list[str] = []
    created = checker.need(current, "record_created", dict, "current")
    if created is not None:
        event_id = _check_cut_event(checker, created, "record_created", subject,
                                    "current.record_created")
        event_ids += [event_id] if event_id else []
        check_created_payload(checker, created.get("payload"), record, digest,
                              "current.record_created")
    for i, snap in enumerate(checker.need(current, "graph_snapshots", list, "current") or []):
        at = f"current.graph_snapshots[{i}]"
        event_id = _check_cut_event(checker, snap, "graph_snapshot", subject, at)
        if event_id is not None:
            event_ids.append(event_id)
            snapshot_paper(checker, snap.get("payload"), record, at, report, signed=False)
    _check_state_counts(checker, doc, event_ids, report)


def _check_state_counts(checker: Checker, doc: dict[str, Any], event_ids: list[str],
                        report: VerificationReport) -> None:
    applied = checker.need(doc, "applied_event_ids", list, "state")
    if applied is not None and sorted(map(str, applied)) != sorted(event_ids):
        checker.fail("applied_event_ids do not match the state's events", "state-merge")
    count = len(event_ids)
    report.event_count = count
    for name, expected in (("event_count", count), ("valid_event_count", count),
                           ("invalid_event_count", 0), ("equivocation_count", 0)):
        checker.equal(doc.get(name), expected, f"state.{name}", "state-merge")
    stated = checker.digest(doc, "state_sha256", "state")
    if stated is not None and stated != canonical_sha256(
        {k: v for k, v in doc.items() if k != "state_sha256"}
    ):
        checker.fail("state_sha256 does not match the state's content", "state-hash")


# -- the entry point ---------------------------------------------------------------------
def _dispatch(checker: Checker, doc: Any, report: VerificationReport) -> None:
    if not isinstance(doc, dict):
        checker.fail(f"document is a JSON {type_name(doc)}, not an object", "wrong-type")
    elif doc.get("bundle_type") == BUNDLE_TYPE:
        _check_bundle(checker, doc, report)
    elif doc.get("state_type") == STATE_TYPE:
        _check_state(checker, doc, report)
    elif "bundle_type" in doc or "state_type" in doc:
        kind = doc.get("bundle_type", doc.get("state_type"))
        checker.fail(f"unknown document type {kind!r}", "unknown-type")
    else:
        checker.fail("not a Pith document (no bundle_type or state_type)", "unknown-type")


def verify_document(data: bytes, trust: TrustRoot) -> VerificationReport:
    """Verify a bundle or state; the report's reasons name every failed check."""
    report = VerificationReport()
    checker = Checker(trust)
    try:
        doc = load_json(data)
    except JsonFormatError as exc:
        report.reasons = [Reason(str(exc).removeprefix("document: "), "json")]
        return report
    try:
        _dispatch(checker, doc, report)
    except TooManyProblems:
        pass  # the verdict is settled; the reasons say checking stopped
    except Exception as exc:  # a check tripped over malformed data: fail closed
        checker.fail(f"document could not be checked ({type(exc).__name__}: {exc})",
                     "unexpected")
    return checker.conclude(report, VERIFIED if report.kind == "bundle" else RECORD_VERIFIED)
