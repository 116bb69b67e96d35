"""Produce documents in the registry's format, signed with a key you hold.

The verifier is only worth something if it rejects forgeries that are
internally perfect, so tests, fixture mirrors and benchmarks need a faithful
signer; an operator of a private registry needs the same. Nothing here is
trusted by default: documents made with your key verify only where that key
is pinned (``--trust-key``).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from importlib import resources
from typing import Any

from nacl.signing import SigningKey

from .canonical import canonical_sha256, pith_id, pith_number, short_pith_number
from .policy import arxiv_doi
from .state_rebuild import rebuild_state
from .trust import fingerprint_b32, fingerprint_hex

BUILDER_VERSION = "pith-number-builder-2026-05-17-v1"


def _sign(key: SigningKey, digest_hex: str) -> str:
    return base64.b64encode(key.sign(bytes.fromhex(digest_hex)).signature).decode("ascii")


def _key_fields(key: SigningKey, key_id: str) -> dict[str, str]:
    raw = bytes(key.verify_key)
    return {"key_id": key_id, "public_key_fingerprint": fingerprint_hex(raw)}


def public_key_entry(key: SigningKey, key_id: str) -> dict[str, Any]:
    raw = bytes(key.verify_key)
    return {
        "key_id": key_id, "algorithm": "ed25519", "format": "raw",
        "public_key_b64": base64.b64encode(raw).decode("ascii"),
        "public_key_hex": raw.hex(),
        "fingerprint_sha256_b32_first128bits": fingerprint_b32(raw),
        "fingerprint_sha256_hex": fingerprint_hex(raw),
        "rotates_at": None, "url": "", "notes": "",
    }


def resign_bundle(bundle: dict[str, Any], key: SigningKey, key_id: str) -> dict[str, Any]:
    """Recompute every derived value of ``bundle`` and sign it all with ``key``.

    The result is self-consistent end to end: the only thing that tells it
    from a registry document is the key, which is exactly what a verifier
    must notice.
    """
    doc = copy.deepcopy(bundle)
    record = doc["canonical_record"]
    digest = canonical_sha256(record)
    full = pith_number(digest, int(record["metadata"]["submitted_at"][:4]))
    ident = pith_id(digest)
    doc["pith_number"], doc["short_pith_number"] = full, short_pith_number(ident)
    doc["canonical_sha256"] = digest
    doc["source"] = copy.deepcopy(record["source"])
    for alias in doc["source_aliases"]:
        if alias["alias_kind"].startswith("pith_short_"):
            alias["alias_value"] = ident[: int(alias["alias_kind"].rsplit("_", 1)[1])]
    signer_fields = _key_fields(key, key_id)
    for event in doc["events"]:
        event["subject_pith_number"] = full
        event["signer"].update(signer_fields)
        if event["event_type"] == "record_created":
            payload = event["payload"]
            payload["canonical_record"] = copy.deepcopy(record)
            payload["canonical_sha256"] = digest
            payload["source_id"] = record["source"]["id"]
            payload["source_version"] = record["source"]["version"]
            receipt = payload["receipt"]
            receipt.update(signer_fields)
            receipt["canonical_sha256"] = digest
            receipt["signature_b64"] = _sign(key, digest)
        content = canonical_sha256(
            {k: v for k, v in event.items() if k not in ("signature", "content_sha256", "event_id")}
        )
        event["content_sha256"] = content
        event["event_id"] = f"sha256:{content}"
        event["signature"].update(signer_fields)
        event["signature"]["signature_b64"] = _sign(key, content)
    doc["public_keys"] = [public_key_entry(key, key_id)]
    doc.pop("state", None)
    doc.pop("bundle_signature", None)
    doc["state"] = rebuild_state(doc)
    body_digest = canonical_sha256(doc)
    signature = dict(bundle["bundle_signature"])
    signature.update(signer_fields)
    signature["bundle_sha256"] = body_digest
    signature["signature_b64"] = _sign(key, body_digest)
    doc["bundle_signature"] = signature
    return doc


def _template() -> dict[str, Any]:
    text = resources.files("pith_bib").joinpath("bundle_template.json").read_text("utf-8")
    return json.loads(text)


def build_bundle(arxiv_id: str, version: int, title: str, submitted_at: str,
                 key: SigningKey, key_id: str, *, abstract: str = "",
                 authors: str = "") -> dict[str, Any]:
    """A new bundle for one arXiv paper, signed with ``key``."""
    doc = _template()
    record = doc["canonical_record"]
    source = {"id": arxiv_id, "kind": "arxiv", "version": version}
    record["source"] = source
    record["metadata"]["submitted_at"] = submitted_at
    record["metadata"]["title_canon_sha256"] = _title_hash(title)
    record["metadata"]["abstract_canon_sha256"] = _title_hash(abstract)
    doc["source_aliases"] = [
        {"alias_kind": "arxiv", "alias_value": arxiv_id, "created_at": submitted_at},
        {"alias_kind": "arxiv_version", "alias_value": f"{arxiv_id}v{version}",
         "created_at": submitted_at},
        {"alias_kind": "doi", "alias_value": arxiv_doi(arxiv_id),
         "created_at": submitted_at},
    ]
    for event in doc["events"]:
        if event["event_type"] == "graph_snapshot":
            paper = event["payload"]["graph_snapshot"]["paper"]
            paper.update({"title": title, "submitted_at": submitted_at,
                          "abstract_excerpt": abstract, "authors_text": authors})
            event["payload"]["graph_snapshot"]["source"] = dict(source)
        else:
            event["payload"]["source_id"] = arxiv_id
    return resign_bundle(doc, key, key_id)


def _title_hash(text: str) -> str:
    return hashlib.sha256(text.lower().encode("utf-8")).hexdigest()


def state_of(bundle: dict[str, Any]) -> dict[str, Any]:
    """The ``state.json`` a mirror serves beside ``bundle``."""
    return copy.deepcopy(bundle["state"])


def document_bytes(doc: dict[str, Any]) -> bytes:
    """How the registry serves documents: plain JSON, UTF-8."""
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
