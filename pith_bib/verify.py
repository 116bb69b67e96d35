"""Say exactly how far a Pith bundle or state can be trusted.

``verify_document`` is the only judge in pith-bib: everything that writes
``verified`` anywhere asks it first. It re-derives every hash, every pith
number and the merged state from the document's own content, checks every
signature against pinned keys only, and collects a specific reason for each
check that fails. It never raises on a bad document, and any doubt is
``invalid``: a status is only as good as the weakest check behind it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from .canonical import (
    SHORT_LENGTHS,
    canonical_sha256,
    is_sha256_hex,
    pith_id,
    pith_number,
    short_pith_number,
)
from .trust import PinnedKey, TrustRoot

VERIFIED = "verified"
RECORD_VERIFIED = "record-verified"
INVALID = "invalid"

MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 48

BUNDLE_TYPE = "pith_open_graph_bundle"
STATE_TYPE = "pith_open_graph_state"
KNOWN_BUNDLE_VERSIONS = frozenset({"1.0"})
KNOWN_STATE_VERSIONS = frozenset({"1.0"})
KNOWN_MERGE_VERSIONS = frozenset({"pith-open-graph-merge-v1"})
KNOWN_EVENT_TYPES = frozenset({"record_created", "graph_snapshot"})
KNOWN_ALIAS_KINDS = frozenset({"arxiv", "arxiv_version", "doi"} | {
    f"pith_short_{n}" for n in SHORT_LENGTHS
})

BUNDLE_KEYS = frozenset({
    "bundle_type", "bundle_version", "pith_number", "short_pith_number", "canonical_record",
    "canonical_sha256", "source", "source_aliases", "events", "timestamp_proofs",
    "mirror_hints", "public_keys", "merge_version", "built_at", "links", "state",
    "bundle_signature",
})
STATE_KEYS = frozenset({
    "state_type", "state_version", "pith_number", "merge_version", "event_count",
    "valid_event_count", "invalid_event_count", "equivocation_count", "current",
    "equivocations", "invalid_events", "applied_event_ids", "state_sha256",
})
EMPTY_STATE_LISTS = (
    "author_attestations", "timestamp_anchors", "storage_attestations",
    "citation_signatures", "replication_records", "corrections", "mirror_hints",
)
CURRENT_KEYS = frozenset(
    {"canonical_record", "source_aliases", "graph_snapshots", "record_created",
     *EMPTY_STATE_LISTS}
)
EVENT_KEYS = frozenset({
    "event_type", "subject_pith_number", "target", "payload", "signer", "created_at",
    "supersedes", "prev_event", "signature", "content_sha256", "schema_version", "event_id",
})
CUT_EVENT_KEYS = ("event_id", "target", "created_at", "signer", "payload")
SIGNATURE_KEYS = frozenset({
    "signature_status", "algorithm", "key_id", "public_key_fingerprint", "signature_b64",
    "signed_message", "signed_at",
})
BUNDLE_SIGNATURE_KEYS = SIGNATURE_KEYS | {"bundle_sha256"}
RECEIPT_KEYS = frozenset({
    "kind", "key_id", "algorithm", "signed_at", "signature_b64", "signed_message",
    "builder_version", "receipt_version", "canonical_sha256", "last_reissued_at",
    "signature_status", "first_computed_at", "public_key_fingerprint",
})

_ARXIV_NEW_RE = re.compile(r"\d{4}\.\d{4,5}")
_ARXIV_OLD_RE = re.compile(r"[a-z][a-z-]*(\.[A-Z]{2})?/\d{7}")
_TIMESTAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")
_FINGERPRINT_RE = re.compile(r"[0-9a-f]{32}")
_SIG_B64_LEN = 88


@dataclass
class VerificationReport:
    """What a document proves. ``reasons`` is empty exactly when status is not invalid."""

    status: str = INVALID
    kind: str | None = None
    pith_number: str | None = None
    arxiv_id: str | None = None
    arxiv_version: int | None = None
    title: str | None = None
    key_id: str | None = None
    reasons: list[str] = field(default_factory=list)
    canonical_sha256: str | None = None
    submitted_at: str | None = None
    built_at: str | None = None
    event_count: int | None = None
    aliases: list[tuple[str, str]] = field(default_factory=list)
    key_fingerprints: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in (VERIFIED, RECORD_VERIFIED)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["aliases"] = [list(a) for a in self.aliases]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VerificationReport:
        """Rebuild a report saved with ``to_dict`` (the cache keeps verdicts this way)."""
        names = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in data.items() if k in names}
        values["aliases"] = [tuple(a) for a in values.get("aliases", [])]
        return cls(**values)


class _DocumentError(ValueError):
    """Raised while decoding JSON; becomes a single reason, never escapes."""


def _pairs_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _DocumentError(f"duplicate key {key!r} in a JSON object")
        obj[key] = value
    return obj


def _reject_constant(name: str) -> Any:
    raise _DocumentError(f"{name} is not allowed in a Pith document")


def _reject_float(text: str) -> Any:
    # The format has no fractional numbers, and their canonical form differs
    # between JSON implementations, so one can only be a forgery or a mistake.
    raise _DocumentError(f"fractional number {text} is not allowed in a Pith document")


_JSON_STRING_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # unrolled: 4x faster on long strings
_BRACKETS_RE = re.compile(r"[\[\]{}]")
_SURROGATE_ESCAPE_RE = re.compile(r"\\u[dD][89a-fA-F]")


def _nesting_depth(text: str) -> int:
    """Deepest bracket nesting outside strings, measured on the text before parsing.

    Cheaper than walking the parsed tree, and it refuses a pathological input
    before the parser recurses into it.
    """
    depth = deepest = 0
    for bracket in _BRACKETS_RE.findall(_JSON_STRING_RE.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def parse_json_document(data: bytes) -> Any:
    """Strict JSON: UTF-8, bounded, no duplicate keys, no NaN/Infinity, no floats."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise _DocumentError("document must be bytes")
    if len(data) > MAX_DOCUMENT_BYTES:
        raise _DocumentError(
            f"document is {len(data)} bytes, over the {MAX_DOCUMENT_BYTES}-byte limit"
        )
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _DocumentError(f"document is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    text = text.removeprefix("\ufeff")
    if _nesting_depth(text) > MAX_DEPTH:
        raise _DocumentError(f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        obj = json.loads(
            text,
            object_pairs_hook=_pairs_without_duplicates,
            parse_constant=_reject_constant,
            parse_float=_reject_float,
        )
    except _DocumentError:
        raise
    except RecursionError:
        raise _DocumentError(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise _DocumentError(f"not well-formed JSON: {exc}") from None
    if _SURROGATE_ESCAPE_RE.search(text):  # only escapes can smuggle in a lone surrogate
        try:
            canonical_sha256(obj)
        except UnicodeEncodeError:
            raise _DocumentError("JSON string holds an unpaired surrogate escape") from None
    return obj


def _known(value: Any, allowed: frozenset[str]) -> bool:
    """Membership that cannot trip over unhashable JSON values."""
    return isinstance(value, str) and value in allowed


def _type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
            type(None): "null"}.get(type(value), type(value).__name__)


class _Checker:
    """Collects one specific reason per failed check, and which keys signed."""

    def __init__(self, trust: TrustRoot) -> None:
        self.trust = trust
        self.reasons: list[str] = []
        self.keys_used: list[PinnedKey] = []

    def fail(self, reason: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)

    def need(self, obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
        """The value at ``obj[key]`` if present and of the right JSON type, else None."""
        if not isinstance(obj, dict):
            return None
        if key not in obj:
            self.fail(f"{where}.{key} is missing")
            return None
        value = obj[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # JSON booleans are Python ints: never let true pass as a number.
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            self.fail(f"{where}.{key} has the wrong type ({_type_name(value)})")
            return None
        return value

    def exact_keys(self, obj: Any, allowed: frozenset[str], where: str) -> None:
        if not isinstance(obj, dict):
            self.fail(f"{where} is not an object")
            return
        for key in sorted(set(obj) - allowed):
            self.fail(f"{where} has an unknown field {key!r}")
        for key in sorted(allowed - set(obj)):
            self.fail(f"{where}.{key} is missing")

    def equal(self, actual: Any, expected: Any, what: str) -> bool:
        if actual != expected or type(actual) is not type(expected):
            self.fail(f"{what} is {actual!r}, expected {expected!r}")
            return False
        return True

    def digest(self, obj: Any, key: str, where: str) -> str | None:
        value = self.need(obj, key, str, where)
        if value is not None and not is_sha256_hex(value):
            self.fail(f"{where}.{key} is not 64 lower-case hex digits")
            return None
        return value

    def timestamp(self, obj: Any, key: str, where: str) -> str | None:
        value = self.need(obj, key, str, where)
        if value is not None and not _TIMESTAMP_RE.fullmatch(value):
            self.fail(f"{where}.{key} is not an ISO-8601 UTC timestamp: {value!r}")
            return None
        return value

    def pinned_key(self, holder: Any, where: str) -> PinnedKey | None:
        """The pinned key that ``holder`` (signer, signature, receipt) claims to be."""
        key_id = self.need(holder, "key_id", str, where)
        fingerprint = self.need(holder, "public_key_fingerprint", str, where)
        if key_id is None or fingerprint is None:
            return None
        if not _FINGERPRINT_RE.fullmatch(fingerprint):
            self.fail(f"{where}.public_key_fingerprint is not 32 lower-case hex digits")
            return None
        key = self.trust.find(key_id, fingerprint)
        if key is None:
            self.fail(
                f"{where}: signed by key {key_id!r} (fingerprint {fingerprint}), "
                "which is not a pinned key"
            )
        return key

    def signature_bytes(self, holder: Any, where: str) -> bytes | None:
        text = self.need(holder, "signature_b64", str, where)
        if text is None:
            return None
        if len(text) != _SIG_B64_LEN:
            self.fail(f"{where}.signature_b64 is {len(text)} characters, expected {_SIG_B64_LEN}")
            return None
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            self.fail(f"{where}.signature_b64 is not valid base64")
            return None
        if len(raw) != 64 or base64.b64encode(raw).decode("ascii") != text:
            self.fail(f"{where}.signature_b64 is not the canonical base64 of 64 bytes")
            return None
        return raw

    def signature(self, holder: Any, digest_hex: str | None, signed_message: str,
                  where: str, signer_key: PinnedKey | None = None) -> None:
        """Check one Ed25519 signature over the raw bytes of ``digest_hex``."""
        if not isinstance(holder, dict):
            self.fail(f"{where} is not an object")
            return
        self.equal(holder.get("algorithm"), "ed25519", f"{where}.algorithm")
        self.equal(holder.get("signature_status"), "signed_v1", f"{where}.signature_status")
        self.equal(holder.get("signed_message"), signed_message, f"{where}.signed_message")
        self.timestamp(holder, "signed_at", where)
        key = self.pinned_key(holder, where)
        raw_sig = self.signature_bytes(holder, where)
        if signer_key is not None and key is not None and key is not signer_key:
            self.fail(f"{where} names a different key from its signer")
        if key is None or raw_sig is None or digest_hex is None:
            return
        if not key.verify(bytes.fromhex(digest_hex), raw_sig):
            self.fail(f"{where}: Ed25519 signature does not verify under {key.label}")
            return
        if key not in self.keys_used:
            self.keys_used.append(key)


def _source_of(checker: _Checker, record: Any, where: str) -> tuple[str | None, int | None]:
    source = checker.need(record, "source", dict, where)
    if source is None:
        return None, None
    checker.exact_keys(source, frozenset({"id", "kind", "version"}), f"{where}.source")
    kind = checker.need(source, "kind", str, f"{where}.source")
    if kind is not None and kind != "arxiv":
        checker.fail(f"{where}.source.kind {kind!r} is not supported (only arxiv)")
    arxiv_id = checker.need(source, "id", str, f"{where}.source")
    if arxiv_id is not None and not (
        _ARXIV_NEW_RE.fullmatch(arxiv_id) or _ARXIV_OLD_RE.fullmatch(arxiv_id)
    ):
        checker.fail(f"{where}.source.id {arxiv_id!r} is not an arXiv identifier")
    version = checker.need(source, "version", int, f"{where}.source")
    if version is not None and version < 1:
        checker.fail(f"{where}.source.version must be at least 1")
    return arxiv_id, version


def _check_record(checker: _Checker, record: Any, claimed_number: Any,
                  where: str) -> tuple[str | None, str | None]:
    """Derive the canonical hash and pith number; returns (hash, full pith number)."""
    if not isinstance(record, dict):
        checker.fail(f"{where} is not an object")
        return None, None
    metadata = checker.need(record, "metadata", dict, where)
    submitted = checker.timestamp(metadata, "submitted_at", f"{where}.metadata")
    checker.digest(metadata, "title_canon_sha256", f"{where}.metadata")
    digest = canonical_sha256(record)
    if submitted is None:
        return digest, None
    derived = pith_number(digest, int(submitted[:4]))
    if isinstance(claimed_number, str) and claimed_number != derived:
        checker.fail(
            f"pith_number {claimed_number!r} does not match the canonical record "
            f"(which gives {derived})"
        )
    elif not isinstance(claimed_number, str):
        checker.fail("pith_number is missing or not a string")
    return digest, derived


def _check_aliases(checker: _Checker, aliases: Any, arxiv_id: str | None,
                   version: int | None, full_id: str | None,
                   where: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if not isinstance(aliases, list):
        checker.fail(f"{where} is not an array")
        return found
    for i, alias in enumerate(aliases):
        at = f"{where}[{i}]"
        checker.exact_keys(alias, frozenset({"alias_kind", "alias_value", "created_at"}), at)
        kind = checker.need(alias, "alias_kind", str, at)
        value = checker.need(alias, "alias_value", str, at)
        checker.timestamp(alias, "created_at", at)
        if kind is None or value is None:
            continue
        expected: str | None
        if kind == "arxiv":
            expected = arxiv_id
        elif kind == "arxiv_version":
            expected = f"{arxiv_id}v{version}" if arxiv_id and version else None
        elif kind == "doi":
            expected = f"10.48550/arxiv.{arxiv_id}".lower() if arxiv_id else None
        elif _known(kind, KNOWN_ALIAS_KINDS) and kind.startswith("pith_short_"):
            size = int(kind.rsplit("_", 1)[1])
            expected = full_id[:size] if full_id else None
        else:
            checker.fail(f"{at}: unknown alias kind {kind!r}")
            continue
        if expected is not None and value != expected:
            checker.fail(f"{at}: {kind} alias {value!r} does not match the record ({expected!r})")
            continue
        found.append((kind, value))
    return found


def _title_matches_hash(title: str, title_hash: Any) -> bool:
    """The record hashes the lower-cased arXiv title; whitespace rules are unknown."""
    candidates = {title, " ".join(title.split()), unicodedata.normalize("NFC", title)}
    return any(
        hashlib.sha256(c.lower().encode("utf-8")).hexdigest() == title_hash for c in candidates
    )


def _snapshot_title(checker: _Checker, payload: Any, arxiv_source: Any, record: Any,
                    where: str) -> str | None:
    snapshot = checker.need(payload, "graph_snapshot", dict, f"{where}.payload")
    paper = checker.need(snapshot, "paper", dict, f"{where}.payload.graph_snapshot")
    title = checker.need(paper, "title", str, f"{where}.payload.graph_snapshot.paper")
    if snapshot is not None and "source" in snapshot:
        checker.equal(snapshot["source"], arxiv_source, f"{where} snapshot source")
    if title is not None and isinstance(record, dict):
        title_hash = (record.get("metadata") or {}).get("title_canon_sha256")
        if not _title_matches_hash(title, title_hash):
            checker.fail(f"{where}: title {title!r} does not match the record's title hash")
            return None
    return title


def _check_receipt(checker: _Checker, payload: Any, record: Any, digest: str | None,
                   where: str) -> None:
    if not isinstance(payload, dict):
        checker.fail(f"{where}.payload is not an object")
        return
    checker.equal(payload.get("canonical_record"), record, f"{where}.payload.canonical_record")
    checker.equal(payload.get("canonical_sha256"), digest, f"{where}.payload.canonical_sha256")
    source = record.get("source") if isinstance(record, dict) else None
    if isinstance(source, dict):
        checker.equal(payload.get("source_id"), source.get("id"), f"{where}.payload.source_id")
        checker.equal(payload.get("source_kind"), source.get("kind"),
                      f"{where}.payload.source_kind")
        checker.equal(payload.get("source_version"), source.get("version"),
                      f"{where}.payload.source_version")
    receipt = checker.need(payload, "receipt", dict, f"{where}.payload")
    if receipt is None:
        return
    at = f"{where}.payload.receipt"
    checker.exact_keys(receipt, RECEIPT_KEYS, at)
    checker.equal(receipt.get("kind"), "pith_receipt", f"{at}.kind")
    checker.equal(receipt.get("canonical_sha256"), digest, f"{at}.canonical_sha256")
    checker.signature(receipt, digest, "canonical_sha256_bytes", at)


def _cut(event: dict[str, Any]) -> dict[str, Any]:
    return {k: event.get(k) for k in CUT_EVENT_KEYS}


def _event_content(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in ("signature", "content_sha256", "event_id")}


def rebuild_state(bundle: dict[str, Any]) -> dict[str, Any]:
    """The state the merge rules give for a bundle's events (PITH_PROTOCOL.md)."""
    events = bundle.get("events") or []
    created = [e for e in events if e.get("event_type") == "record_created"]
    snapshots = [e for e in events if e.get("event_type") == "graph_snapshot"]
    current: dict[str, Any] = {
        "canonical_record": (created[0].get("payload") or {}).get("canonical_record")
        if created else None,
        "source_aliases": bundle.get("source_aliases"),
        "graph_snapshots": [_cut(e) for e in snapshots],
        "record_created": _cut(created[0]) if created else None,
    }
    for name in EMPTY_STATE_LISTS:
        current[name] = []
    state: dict[str, Any] = {
        "state_type": STATE_TYPE,
        "state_version": "1.0",
        "pith_number": bundle.get("pith_number"),
        "merge_version": bundle.get("merge_version"),
        "event_count": len(events),
        "valid_event_count": len(events),
        "invalid_event_count": 0,
        "equivocation_count": 0,
        "current": current,
        "equivocations": [],
        "invalid_events": [],
        "applied_event_ids": [e.get("event_id") for e in events],
    }
    state["state_sha256"] = canonical_sha256(state)
    return state


def _check_bundle(checker: _Checker, doc: dict[str, Any], report: VerificationReport) -> None:
    report.kind = "bundle"
    checker.exact_keys(doc, BUNDLE_KEYS, "bundle")
    version = doc.get("bundle_version")
    if not _known(version, KNOWN_BUNDLE_VERSIONS):
        checker.fail(f"bundle_version {version!r} is not a known version")
    merge = doc.get("merge_version")
    if not _known(merge, KNOWN_MERGE_VERSIONS):
        checker.fail(f"merge_version {merge!r} is not a known merge version")

    record = checker.need(doc, "canonical_record", dict, "bundle")
    arxiv_id, arxiv_version = _source_of(checker, record, "canonical_record")
    report.arxiv_id, report.arxiv_version = arxiv_id, arxiv_version
    claimed = doc.get("pith_number")
    digest, derived = _check_record(checker, record, claimed, "canonical_record")
    report.canonical_sha256 = digest
    report.pith_number = derived
    report.submitted_at = (record or {}).get("metadata", {}).get("submitted_at") \
        if isinstance((record or {}).get("metadata"), dict) else None
    stated = checker.digest(doc, "canonical_sha256", "bundle")
    if stated is not None and stated != digest:
        checker.fail("canonical_sha256 does not match the hash of canonical_record")
    full_id = pith_id(digest) if digest else None
    if full_id:
        checker.equal(doc.get("short_pith_number"), short_pith_number(full_id),
                      "short_pith_number")
    if record is not None:
        checker.equal(doc.get("source"), record.get("source"), "bundle.source")
    report.aliases = _check_aliases(checker, doc.get("source_aliases"), arxiv_id,
                                    arxiv_version, full_id, "source_aliases")
    report.built_at = checker.timestamp(doc, "built_at", "bundle")
    for name in ("timestamp_proofs", "mirror_hints", "public_keys"):
        checker.need(doc, name, list, "bundle")
    checker.need(doc, "links", dict, "bundle")
    _check_public_keys(checker, doc.get("public_keys"))

    events = checker.need(doc, "events", list, "bundle")
    if events is not None:
        report.event_count = len(events)
        report.title = _check_events(checker, events, derived, record, digest)

    state = checker.need(doc, "state", dict, "bundle")
    if state is not None and isinstance(events, list) and \
            all(isinstance(e, dict) for e in events):
        rebuilt = rebuild_state(doc)
        # Equal to the rebuilt state (whose hash was just computed) means its
        # state_sha256 is right too; only a difference needs the second hash.
        if state != rebuilt and state.get("state_sha256") != canonical_sha256(
            {k: v for k, v in state.items() if k != "state_sha256"}
        ):
            checker.fail("state.state_sha256 does not match the embedded state")
        if state != rebuilt:
            differing = sorted(
                k for k in set(state) | set(rebuilt) if state.get(k) != rebuilt.get(k)
            )
            checker.fail(
                "embedded state differs from the state rebuilt from the events "
                f"(fields: {', '.join(differing)})"
            )

    signature = checker.need(doc, "bundle_signature", dict, "bundle")
    if signature is not None:
        checker.exact_keys(signature, BUNDLE_SIGNATURE_KEYS, "bundle_signature")
        body = {k: v for k, v in doc.items() if k != "bundle_signature"}
        bundle_digest = canonical_sha256(body)
        if signature.get("bundle_sha256") != bundle_digest:
            checker.fail("bundle_signature.bundle_sha256 does not match the bundle's content")
        checker.signature(signature, bundle_digest, "bundle_sha256_bytes", "bundle_signature")


def _check_public_keys(checker: _Checker, keys: Any) -> None:
    """A bundle's own key list is untrusted; it may only repeat a pinned key exactly."""
    if not isinstance(keys, list):
        return
    for i, entry in enumerate(keys):
        if not isinstance(entry, dict):
            checker.fail(f"public_keys[{i}] is not an object")
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
                checker.fail(
                    f"public_keys[{i}] claims pinned key {pinned.key_id!r} but its "
                    f"{name} differs from the pinned key"
                )
        if entry.get("algorithm") != "ed25519":
            checker.fail(f"public_keys[{i}].algorithm is not ed25519")


def _check_events(checker: _Checker, events: list[Any], derived: str | None, record: Any,
                  digest: str | None) -> str | None:
    title: str | None = None
    created = 0
    source = record.get("source") if isinstance(record, dict) else None
    for i, event in enumerate(events):
        at = f"events[{i}]"
        if not isinstance(event, dict):
            checker.fail(f"{at} is not an object")
            continue
        missing = sorted(EVENT_KEYS - set(event))
        for key in missing:
            checker.fail(f"{at}.{key} is missing")
        event_type = event.get("event_type")
        if not _known(event_type, KNOWN_EVENT_TYPES):
            checker.fail(f"{at}: unknown event type {event_type!r}")
        if derived is not None:
            checker.equal(event.get("subject_pith_number"), derived, f"{at}.subject_pith_number")
        checker.equal(event.get("supersedes"), [], f"{at}.supersedes")
        checker.equal(event.get("prev_event"), None, f"{at}.prev_event")
        content = canonical_sha256(_event_content(event))
        stated = checker.digest(event, "content_sha256", at)
        if stated is not None and stated != content:
            checker.fail(f"{at}.content_sha256 does not match the event's content")
        checker.equal(event.get("event_id"), f"sha256:{content}", f"{at}.event_id")
        signer = checker.need(event, "signer", dict, at)
        signer_key = checker.pinned_key(signer, f"{at}.signer") if signer is not None else None
        sig = checker.need(event, "signature", dict, at)
        if sig is not None:
            checker.exact_keys(sig, SIGNATURE_KEYS, f"{at}.signature")
            checker.signature(sig, content, "open_graph_event_sha256_bytes",
                              f"{at}.signature", signer_key)
        payload = event.get("payload")
        if event_type == "record_created":
            created += 1
            _check_receipt(checker, payload, record, digest, at)
        elif event_type == "graph_snapshot":
            title = _snapshot_title(checker, payload, source, record, at)
    if created != 1:
        checker.fail(f"a bundle needs exactly one record_created event, found {created}")
    return title


def _rebuilt_event_id(cut: dict[str, Any], event_type: str, subject: Any) -> str:
    event = {
        "event_type": event_type, "subject_pith_number": subject, "target": cut.get("target"),
        "payload": cut.get("payload"), "signer": cut.get("signer"),
        "created_at": cut.get("created_at"), "supersedes": [], "prev_event": None,
        "schema_version": "1.0",
    }
    return f"sha256:{canonical_sha256(event)}"


def _check_state(checker: _Checker, doc: dict[str, Any], report: VerificationReport) -> None:
    report.kind = "state"
    checker.exact_keys(doc, STATE_KEYS, "state")
    if not _known(doc.get("state_version"), KNOWN_STATE_VERSIONS):
        checker.fail(f"state_version {doc.get('state_version')!r} is not a known version")
    if not _known(doc.get("merge_version"), KNOWN_MERGE_VERSIONS):
        checker.fail(f"merge_version {doc.get('merge_version')!r} is not a known merge version")
    current = checker.need(doc, "current", dict, "state")
    if current is None:
        return
    checker.exact_keys(current, CURRENT_KEYS, "current")
    for name in EMPTY_STATE_LISTS:
        if current.get(name) not in ([], None):
            checker.fail(f"current.{name} is not empty: the merge rules for it are unknown")
    for name in ("equivocations", "invalid_events"):
        if doc.get(name) != []:
            checker.fail(f"state.{name} is not empty: the merge rules for it are unknown")

    record = checker.need(current, "canonical_record", dict, "current")
    arxiv_id, arxiv_version = _source_of(checker, record, "current.canonical_record")
    report.arxiv_id, report.arxiv_version = arxiv_id, arxiv_version
    digest, derived = _check_record(checker, record, doc.get("pith_number"),
                                    "current.canonical_record")
    report.canonical_sha256, report.pith_number = digest, derived
    if isinstance(record, dict) and isinstance(record.get("metadata"), dict):
        report.submitted_at = record["metadata"].get("submitted_at")
    full_id = pith_id(digest) if digest else None
    report.aliases = _check_aliases(checker, current.get("source_aliases"), arxiv_id,
                                    arxiv_version, full_id, "current.source_aliases")

    subject = doc.get("pith_number")
    event_ids: list[str] = []
    created = checker.need(current, "record_created", dict, "current")
    if created is not None:
        checker.exact_keys(created, frozenset(CUT_EVENT_KEYS), "current.record_created")
        checker.pinned_key(created.get("signer"), "current.record_created.signer")
        rebuilt = _rebuilt_event_id(created, "record_created", subject)
        checker.equal(created.get("event_id"), rebuilt, "current.record_created.event_id")
        event_ids.append(rebuilt)
        _check_receipt(checker, created.get("payload"), record, digest, "current.record_created")
    snapshots = checker.need(current, "graph_snapshots", list, "current")
    for i, snap in enumerate(snapshots or []):
        at = f"current.graph_snapshots[{i}]"
        if not isinstance(snap, dict):
            checker.fail(f"{at} is not an object")
            continue
        checker.exact_keys(snap, frozenset(CUT_EVENT_KEYS), at)
        checker.pinned_key(snap.get("signer"), f"{at}.signer")
        rebuilt = _rebuilt_event_id(snap, "graph_snapshot", subject)
        checker.equal(snap.get("event_id"), rebuilt, f"{at}.event_id")
        event_ids.append(rebuilt)
        source = record.get("source") if isinstance(record, dict) else None
        report.title = _snapshot_title(checker, snap.get("payload"), source, record, at)

    applied = checker.need(doc, "applied_event_ids", list, "state")
    if applied is not None and sorted(map(str, applied)) != sorted(event_ids):
        checker.fail("applied_event_ids do not match the state's events")
    count = len(event_ids)
    report.event_count = count
    for name, expected in (("event_count", count), ("valid_event_count", count),
                           ("invalid_event_count", 0), ("equivocation_count", 0)):
        checker.equal(doc.get(name), expected, f"state.{name}")
    stated = checker.digest(doc, "state_sha256", "state")
    if stated is not None and stated != canonical_sha256(
        {k: v for k, v in doc.items() if k != "state_sha256"}
    ):
        checker.fail("state_sha256 does not match the state's content")


def verify_document(data: bytes, trust: TrustRoot | None = None) -> VerificationReport:
    """Verify a bundle or state; the report's reasons name every failed check."""
    report = VerificationReport()
    checker = _Checker(trust or TrustRoot.default())
    try:
        doc = parse_json_document(data)
    except _DocumentError as exc:
        report.reasons = [str(exc)]
        return report
    try:
        if not isinstance(doc, dict):
            checker.fail(f"document is a JSON {_type_name(doc)}, not an object")
        elif doc.get("bundle_type") == BUNDLE_TYPE:
            _check_bundle(checker, doc, report)
        elif doc.get("state_type") == STATE_TYPE:
            _check_state(checker, doc, report)
        elif "bundle_type" in doc or "state_type" in doc:
            kind = doc.get("bundle_type", doc.get("state_type"))
            checker.fail(f"unknown document type {kind!r}")
        else:
            checker.fail("not a Pith document (no bundle_type or state_type)")
    except Exception as exc:  # a check tripped over malformed data: fail closed
        checker.fail(f"document could not be checked ({type(exc).__name__}: {exc})")
    return _conclude(report, checker, VERIFIED if report.kind == "bundle" else RECORD_VERIFIED)


def _conclude(report: VerificationReport, checker: _Checker, ok_status: str
              ) -> VerificationReport:
    """Fail closed: ``ok_status`` only when nothing failed and a pinned key signed."""
    report.reasons = checker.reasons
    if checker.keys_used:
        report.key_id = checker.keys_used[0].label
        report.key_fingerprints = [k.fingerprint for k in checker.keys_used]
    if not checker.reasons and checker.keys_used:
        report.status = ok_status
    elif not checker.reasons:
        report.reasons.append("no signature was checked")
    return report


def evidence_of(data: bytes, report: VerificationReport) -> dict[str, Any]:
    """The minimal signed evidence for a verified document, for the lock file.

    ``record`` and ``receipt`` prove the pith number and the paper (the receipt
    signs the record's hash); ``title_event`` is the registry-signed event that
    carries the title (for a state, the unsigned snapshot, which the record's
    title hash still pins).
    """
    doc = json.loads(data)
    if report.kind == "bundle":
        events = doc["events"]
        created = next(e for e in events if e["event_type"] == "record_created")
        snapshot = [e for e in events if e["event_type"] == "graph_snapshot"]
        return {"record": doc["canonical_record"], "receipt": created["payload"]["receipt"],
                "title_event": snapshot[-1] if snapshot else None}
    current = doc["current"]
    snapshots = current["graph_snapshots"]
    return {"record": current["canonical_record"],
            "receipt": current["record_created"]["payload"]["receipt"],
            "title_event": snapshots[-1] if snapshots else None}


class EncodedEvidence(str):
    """Evidence already serialised as the lock file writes it (sorted, compact JSON).

    Why: the cache keeps each document's evidence in this form, so a warm
    annotate copies it into the lock without parsing a whole document or
    encoding the evidence again.
    """

    def decode(self) -> dict[str, Any]:  # type: ignore[override]
        value = json.loads(self)
        if not isinstance(value, dict):
            raise ValueError("evidence is not an object")
        return value


def encode_evidence(evidence: dict[str, Any]) -> EncodedEvidence:
    return EncodedEvidence(json.dumps(evidence, sort_keys=True, separators=(",", ":"),
                                      ensure_ascii=False))


def verify_evidence(pith_number_text: str, evidence: Any,
                    trust: TrustRoot | None = None) -> VerificationReport:
    """Re-verify lock-file evidence offline: the same checks, on the minimal parts.

    ``verified`` needs the registry-signed title event as well as the signed
    receipt; with only the receipt (evidence from a state) the best is
    ``record-verified``. Never raises on bad evidence.
    """
    report = VerificationReport(kind="evidence")
    checker = _Checker(trust or TrustRoot.default())
    try:
        if not isinstance(evidence, dict):
            checker.fail("evidence is not an object")
        else:
            _check_evidence(checker, pith_number_text, evidence, report)
    except Exception as exc:  # malformed evidence: fail closed
        checker.fail(f"evidence could not be checked ({type(exc).__name__}: {exc})")
    signed_title = isinstance(evidence, dict) and \
        isinstance((evidence.get("title_event") or {}).get("signature"), dict)
    return _conclude(report, checker, VERIFIED if signed_title else RECORD_VERIFIED)


def _check_evidence(checker: _Checker, number: str, evidence: dict[str, Any],
                    report: VerificationReport) -> None:
    checker.exact_keys(evidence, frozenset({"record", "receipt", "title_event"}), "evidence")
    record = checker.need(evidence, "record", dict, "evidence")
    arxiv_id, version = _source_of(checker, record, "evidence.record")
    report.arxiv_id, report.arxiv_version = arxiv_id, version
    digest, derived = _check_record(checker, record, number, "evidence.record")
    report.canonical_sha256, report.pith_number = digest, derived
    receipt = checker.need(evidence, "receipt", dict, "evidence")
    if receipt is not None:
        checker.exact_keys(receipt, RECEIPT_KEYS, "evidence.receipt")
        checker.equal(receipt.get("kind"), "pith_receipt", "evidence.receipt.kind")
        checker.equal(receipt.get("canonical_sha256"), digest, "evidence.receipt.canonical_sha256")
        checker.signature(receipt, digest, "canonical_sha256_bytes", "evidence.receipt")
    event = evidence.get("title_event")
    if event is None:
        return
    if not isinstance(event, dict):
        checker.fail("evidence.title_event is not an object")
        return
    source = record.get("source") if isinstance(record, dict) else None
    if "signature" in event:  # a full, signed graph_snapshot event
        content = canonical_sha256(_event_content(event))
        checker.equal(event.get("event_type"), "graph_snapshot", "evidence.title_event.event_type")
        checker.equal(event.get("content_sha256"), content, "evidence.title_event.content_sha256")
        checker.equal(event.get("event_id"), f"sha256:{content}", "evidence.title_event.event_id")
        checker.equal(event.get("subject_pith_number"), derived,
                      "evidence.title_event.subject_pith_number")
        signer = checker.pinned_key(event.get("signer"), "evidence.title_event.signer")
        checker.signature(event.get("signature"), content, "open_graph_event_sha256_bytes",
                          "evidence.title_event.signature", signer)
    else:  # a state's cut-down snapshot: its id is rebuilt, its title pinned by the record
        checker.exact_keys(event, frozenset(CUT_EVENT_KEYS), "evidence.title_event")
        checker.equal(event.get("event_id"), _rebuilt_event_id(event, "graph_snapshot", derived),
                      "evidence.title_event.event_id")
    report.title = _snapshot_title(checker, event.get("payload"), source, record,
                                   "evidence.title_event")
