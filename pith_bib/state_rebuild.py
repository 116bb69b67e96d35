"""The state the merge rules give for a bundle's events (PITH_PROTOCOL.md, "States").

A state document is a cache of a merge, never trusted as served: the verifier
rebuilds the state from a bundle's signed events and compares, and the
publisher builds states the same way, so both use this one function.
"""

from __future__ import annotations

from typing import Any

from .canonical import canonical_sha256
from .protocol import CUT_EVENT_KEYS, EMPTY_STATE_LISTS, STATE_TYPE


def cut_event(event: dict[str, Any]) -> dict[str, Any]:
    return {k: event.get(k) for k in CUT_EVENT_KEYS}


def event_content(event: dict[str, Any]) -> dict[str, Any]:
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
        "graph_snapshots": [cut_event(e) for e in snapshots],
        "record_created": cut_event(created[0]) if created else None,
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


def rebuilt_event_id(cut: dict[str, Any], event_type: str, subject: Any) -> str:
    event = {
        "event_type": event_type, "subject_pith_number": subject, "target": cut.get("target"),
        "payload": cut.get("payload"), "signer": cut.get("signer"),
        "created_at": cut.get("created_at"), "supersedes": [], "prev_event": None,
        "schema_version": "1.0",
    }
    return f"sha256:{canonical_sha256(event)}"

