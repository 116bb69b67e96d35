"""Lock-file evidence: the smallest signed part of a document that still proves the number.

``record`` and ``receipt`` prove the pith number and the paper (the receipt
signs the record's hash); ``title_event`` is the registry-signed graph
snapshot that carries the title and authors (for a state, the unsigned
snapshot, whose title the record's hash still pins). ``check`` re-verifies it
offline with the same checks as a whole document.
"""

from __future__ import annotations

import json
from typing import Any

from .canonical import canonical_sha256
from .checker import Checker, TooManyProblems, check_receipt, record_prologue, snapshot_paper
from .protocol import CUT_EVENT_KEYS
from .report import RECORD_VERIFIED, VERIFIED, VerificationReport
from .state_rebuild import event_content, rebuilt_event_id
from .strict_json import load_json
from .trust import TrustRoot

EVIDENCE_KEYS = frozenset({"record", "receipt", "title_event"})


def evidence_of(data: bytes, report: VerificationReport, *, verified: bool = False
                ) -> dict[str, Any]:
    """The evidence for a document that verified (``report`` is its verification).

    ``verified=True`` says these exact bytes have just passed
    :func:`~pith_bib.verify.verify_document`, whose strict parse (size, depth,
    duplicate keys) they met: they are then read with the plain JSON parser,
    which gives the same objects at a fraction of the cost.
    """
    doc = json.loads(data) if verified and report.ok else load_json(data)
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


def report_from_verdict(verdict: VerificationReport, evidence_text: str
                        ) -> VerificationReport | None:
    """What :func:`verify_evidence` concludes on evidence a stored verdict is bound to.

    ``verdict`` must be the verification of the document this evidence was cut
    from, stored bound to exactly these bytes (the cache checks that binding
    and that every key behind it is still pinned). The evidence then states the
    same number, paper, title and authors; only its status depends on the cut:
    ``verified`` needs a signed title event, which a bundle's evidence carries
    unless the bundle had no snapshot, and a state's cut-down event never does.
    """
    if evidence_text.endswith('"title_event":null}'):
        return None  # verify_evidence refuses it; let it say why
    signed_title = verdict.kind == "bundle"
    return VerificationReport(
        status=VERIFIED if signed_title else RECORD_VERIFIED, kind="evidence",
        pith_number=verdict.pith_number, arxiv_id=verdict.arxiv_id,
        arxiv_version=verdict.arxiv_version, title=verdict.title, key_id=verdict.key_id,
        canonical_sha256=verdict.canonical_sha256, submitted_at=verdict.submitted_at,
        key_fingerprints=list(verdict.key_fingerprints),
        authors=verdict.authors if signed_title else None)


def verify_evidence(pith_number_text: str, evidence: Any, trust: TrustRoot
                    ) -> VerificationReport:
    """Re-verify lock-file evidence offline: the same checks, on the minimal parts.

    ``verified`` needs the registry-signed title event as well as the signed
    receipt; with only the receipt (evidence from a state) the best is
    ``record-verified``. Never raises on bad evidence.
    """
    report = VerificationReport(kind="evidence")
    checker = Checker(trust)
    try:
        if not isinstance(evidence, dict):
            checker.fail("evidence is not an object", "wrong-type")
        else:
            _check_evidence(checker, pith_number_text, evidence, report)
    except TooManyProblems:
        pass  # the verdict is settled; the reasons say checking stopped
    except Exception as exc:  # malformed evidence: fail closed
        checker.fail(f"evidence could not be checked ({type(exc).__name__}: {exc})",
                     "unexpected")
    signed_title = isinstance(evidence, dict) and \
        isinstance((evidence.get("title_event") or {}).get("signature"), dict)
    return checker.conclude(report, VERIFIED if signed_title else RECORD_VERIFIED)


def _check_evidence(checker: Checker, number: str, evidence: dict[str, Any],
                    report: VerificationReport) -> None:
    checker.exact_keys(evidence, EVIDENCE_KEYS, "evidence")
    record = checker.need(evidence, "record", dict, "evidence")
    digest = record_prologue(checker, record, number, "evidence.record", report)
    check_receipt(checker, checker.need(evidence, "receipt", dict, "evidence"), digest,
                  "evidence.receipt")
    event = evidence.get("title_event")
    if event is None:  # without it the entry's title could never be compared
        checker.fail("evidence.title_event is missing: the title cannot be checked",
                     "missing-field")
        return
    if not isinstance(event, dict):
        checker.fail("evidence.title_event is not an object", "wrong-type")
        return
    at = "evidence.title_event"
    if "signature" in event:  # a full, signed graph_snapshot event
        content = canonical_sha256(event_content(event))
        checker.equal(event.get("event_type"), "graph_snapshot", f"{at}.event_type")
        checker.equal(event.get("content_sha256"), content, f"{at}.content_sha256",
                      "event-hash")
        checker.equal(event.get("event_id"), f"sha256:{content}", f"{at}.event_id",
                      "event-hash")
        checker.equal(event.get("subject_pith_number"), report.pith_number,
                      f"{at}.subject_pith_number")
        signer = checker.pinned_key(event.get("signer"), f"{at}.signer")
        checker.signature(event.get("signature"), content, "open_graph_event_sha256_bytes",
                          f"{at}.signature", signer)
    else:  # a state's cut-down snapshot: its id is rebuilt, its title pinned by the record
        checker.exact_keys(event, frozenset(CUT_EVENT_KEYS), at)
        checker.pinned_key(event.get("signer"), f"{at}.signer")
        checker.equal(event.get("event_id"),
                      rebuilt_event_id(event, "graph_snapshot", report.pith_number),
                      f"{at}.event_id", "event-hash")
    snapshot_paper(checker, event.get("payload"), record, at, report,
                   signed="signature" in event)
