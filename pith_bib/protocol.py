"""The Pith document format as this verifier knows it: types, versions and field sets.

Every set here is closed on purpose: an unknown field, event type or version
is reported rather than ignored, because a verifier that skips what it does
not understand can be made to accept what it should not (PITH_PROTOCOL.md;
``docs/protocol.md`` in this repository).
"""

from __future__ import annotations

import re

from .canonical import SHORT_LENGTHS

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

# An arXiv id without version, as records name it: new style (``1110.2382``,
# ``2101.01234``) or old style ``archive/YYMMNNN`` (``math/0702322``); the subject
# class (``math.GT/...``) is not part of an id. Strict, because ids also become
# file names in mirrors; ``derive.py`` uses the same pattern.
ARXIV_ID_RE = re.compile(r"(?:[0-9]{4}\.[0-9]{4,5}|[a-z]{2,10}(?:-[a-z]{2,10})?/[0-9]{7})")
SCHEMA_VERSION = "1.0"
RECORD_KEYS = frozenset({"source", "metadata", "schema_version"})
METADATA_KEYS = frozenset({"submitted_at", "primary_cat", "cross_cats_sorted", "license",
                           "title_canon_sha256", "abstract_canon_sha256"})
TIMESTAMP_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z")
FINGERPRINT_RE = re.compile(r"[0-9a-f]{32}")
SIG_B64_LEN = 88
