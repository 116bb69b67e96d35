"""``annotate.decide`` as a table: entry, lock and resolution in; status, writes and lock out.

Why a table: ``decide`` is where every rule (identity, version, DOI, title,
authors, "never downgrade", "never forget what the lock proves") meets, and a
regression in one rule usually shows as a wrong status on a row nobody
thought of. Each row names its case; every :class:`Status` has at least one
row (``malformed`` comes from ``plan``, so it has a ``plan`` row).

Documents are real: bundles and states signed by a test key through
``pith_bib.publish`` and verified by ``verify_document``, plus two real
registry seeds under the pinned registry key. No subprocesses, no network.
"""

from __future__ import annotations

import copy
import functools
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pith_bib.annotate import Decision, FieldNames, LockContext, decide, plan
from pith_bib.bibfile import parse
from pith_bib.documents import DocumentEntry, load_document
from pith_bib.entry_query import query_for
from pith_bib.evidence import evidence_of, verify_evidence
from pith_bib.ids import extract
from pith_bib.lock import LockFile
from pith_bib.policy import Query, Status, entry_policy
from pith_bib.publish import build_bundle, document_bytes, state_of
from pith_bib.report import VerificationReport
from pith_bib.resolver import Resolution
from pith_bib.trust import TrustRoot
from pith_bib.verify import verify_document
from tests.support import fixed_key, seed_bytes

KEY = fixed_key(23)
TRUST = TrustRoot.default().with_key(bytes(KEY.verify_key))
FIELDS = FieldNames()
PATH = "refs.bib"
SUBMITTED = "2021-01-02T03:04:05Z"
JOURNAL_DOI = "10.1145/3458817.3476209"
# A well-formed pith number that no document has.
NOWHERE = "pith:2020:ZZZZZZZZZZZZZZZZZZZZZZZZZZ"

A_FIELDS = {"title": "Attention Is Everything",
            "author": "Lovelace, Ada and Babbage, Charles and Hopper, Grace",
            "eprint": "2101.01234", "archiveprefix": "arXiv"}
B_FIELDS = {"title": "Another Paper Entirely", "author": "Turing, Alan and Shannon, Claude",
            "eprint": "2202.05678", "archiveprefix": "arXiv"}
SEED_BUNDLE_FIELDS = {  # seed 001, signed by the registry key
    "title": "Exploring Hidden Dimensions in Parallelizing Convolutional Neural Networks",
    "author": "Jia, Zhihao and Lin, Sina and Qi, Charles R. and Aiken, Alex",
    "eprint": "1802.04924"}
SEED_STATE_FIELDS = {  # seed 000, a state signed by the registry key
    "title": "Democratizing Production-Scale Distributed Deep Learning",
    "author": "Ma, Minghuang and Pouransari, Hadi and Chao, Daniel and Adya, Saurabh",
    "eprint": "1811.00143"}
FABRICATED = "Smith, John and Doe, Jane and Hopper, Grace"  # 2 of 3 absent: a mismatch


# -- documents -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Doc:
    data: bytes
    report: VerificationReport

    @property
    def number(self) -> str:
        assert self.report.pith_number is not None
        return self.report.pith_number


def _verified(data: bytes) -> Doc:
    report = verify_document(data, TRUST)
    assert report.ok, report.reasons
    return Doc(data, report)


@functools.cache
def docs() -> dict[str, Doc]:
    """Signed fixtures, built once: A as a bundle and as a state, B, and two real seeds."""
    a = build_bundle("2101.01234", 1, A_FIELDS["title"], SUBMITTED, KEY, "test-key",
                     authors="Ada Lovelace, Charles Babbage, Grace Hopper")
    b = build_bundle("2202.05678", 1, B_FIELDS["title"], SUBMITTED, KEY, "test-key",
                     authors="Alan Turing, Claude Shannon")
    return {"A": _verified(document_bytes(a)),
            "A-state": _verified(document_bytes(state_of(a))),
            "B": _verified(document_bytes(b)),
            "S": _verified(seed_bytes("001_702a4949302f7c0a.txt")),
            "T": _verified(seed_bytes("000_1d2cb73b9774673c.txt"))}


def tokens() -> dict[str, str]:
    """``<A>`` (full number), ``<A8>`` (short form), ``<A.id>`` (26-character id), …"""
    out = {"<Z>": NOWHERE}
    for name, doc in docs().items():
        ident = doc.number.rsplit(":", 1)[1]
        out[f"<{name}>"] = doc.number
        out[f"<{name}8>"] = f"pith:{ident[:8]}"
        out[f"<{name}.id>"] = ident
    return out


def fill(text: str) -> str:
    for token, value in tokens().items():
        text = text.replace(token, value)
    return text


def number_of(name: str) -> str:
    return docs()[name].number


# -- the inputs a row names ----------------------------------------------------------------
def entry_of(fields: dict[str, str], key: str = "e") -> DocumentEntry:
    """A one-entry .bib read the way ``plan`` reads it."""
    body = "".join(f"  {name} = {{{fill(value)}}},\n" for name, value in fields.items())
    doc = load_document(f"@article{{{key},\n{body}}}\n".encode(), PATH, FIELDS)
    assert list(doc.problems) == [] and len(doc.entries) == 1
    return doc.entries[0]


def resolution_for(query: Query, spec: str) -> Resolution:
    """``"A"``: a verified document; ``"unavailable: why"``: a failed resolution."""
    if ":" in spec:
        status, reason = (part.strip() for part in spec.split(":", 1))
        return Resolution(query, status=Status(status), reasons=[fill(reason)])
    doc = docs()[spec]
    return Resolution(query, status=Status(doc.report.status), pith_number=doc.number,
                      report=doc.report, source="fixture-mirror", mapped_by="fixture",
                      document=doc.data)


def tampered_evidence(name: str) -> dict[str, Any]:
    doc = docs()[name]
    evidence = copy.deepcopy(evidence_of(doc.data, doc.report))
    signature = evidence["receipt"]["signature_b64"]
    evidence["receipt"]["signature_b64"] = ("B" if signature[0] == "A" else "A") + signature[1:]
    return evidence


def lock_of(items: Iterable[str]) -> LockFile | None:
    """``evidence:A``, ``bad-evidence:A``, ``not_found:KEY``, ``refused:KEY``; none → no lock."""
    items = list(items)
    if not items:
        return None
    lock = LockFile()
    for item in items:
        kind, value = item.split(":", 1)
        value = fill(value)
        if kind == "evidence":
            doc = docs()[value]
            lock.papers[doc.number] = evidence_of(doc.data, doc.report)
        elif kind == "bad-evidence":
            lock.papers[number_of(value)] = tampered_evidence(value)
        elif kind == "not_found":
            lock.not_found[value] = Status.NOT_FOUND.value
        else:
            assert kind == "refused", item
            lock.refused[value] = "author-mismatch: an earlier run refused it"
    return lock


# -- the table -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Case:
    """One row. Strings may hold ``<A>``-style tokens for the fixtures' numbers."""

    fields: dict[str, str]
    resolution: str | None  # None exactly when the entry has nothing to resolve
    status: Status
    writes: dict[str, str]
    action: str
    message: str  # a fragment of the action and reasons
    lock: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()  # fixture names whose numbers the new lock records
    refused: tuple[str, ...] = ()  # query keys the new lock records as refused
    not_found: tuple[str, ...] = ()  # query keys the new lock records as not found
    warning: str | None = None  # a fragment of the warnings; None: no warning at all
    source: str | None = None
    author_check: str = "fail"
    check_titles: bool = True


ADDS_A = {"pith": "<A>", "pith_status": "verified"}
A_NUMBERED = {**A_FIELDS, "pith": "<A>", "pith_status": "verified"}
A_KEY = "arxiv:2101.01234"
DOI_KEY = f"doi:{JOURNAL_DOI}"

CASES = [
    # -- verified -------------------------------------------------------------------------
    pytest.param(Case(A_FIELDS, "A", Status.VERIFIED, ADDS_A, "added", "added",
                      evidence=("A",)), id="verified-bundle-adds-number-and-status"),
    pytest.param(Case(SEED_BUNDLE_FIELDS, "S", Status.VERIFIED,
                      {"pith": "<S>", "pith_status": "verified"}, "added", "added",
                      evidence=("S",)), id="verified-real-seed-under-registry-key"),
    pytest.param(Case(A_NUMBERED, "A", Status.VERIFIED, {}, "unchanged", "unchanged",
                      evidence=("A",)), id="verified-existing-correct-fields-unchanged"),
    pytest.param(Case({**A_FIELDS, "pith": "<A>", "pith_status": "record-verified"}, "A",
                      Status.VERIFIED, {"pith_status": "verified"}, "updated", "updated",
                      evidence=("A",)), id="verified-upgrades-record-verified-status"),
    pytest.param(Case({**A_FIELDS, "pith": "<A>", "pith_status": "checked by hand"}, "A",
                      Status.VERIFIED, {"pith_status": "verified"}, "updated", "updated",
                      evidence=("A",)), id="verified-replaces-unknown-status-text"),
    pytest.param(Case({**A_FIELDS, "pith": "<A8>"}, "A", Status.VERIFIED, ADDS_A, "updated",
                      "updated", evidence=("A",)), id="verified-short-number-written-in-full"),
    pytest.param(Case({**A_FIELDS, "eprint": "2101.01234v2"}, "A", Status.VERIFIED, ADDS_A,
                      "added", "added", evidence=("A",),
                      warning="the entry cites 2101.01234v2; the signed record is v1"),
                 id="verified-v2-cited-v1-record-warns"),
    pytest.param(Case({**A_FIELDS, "author": A_FIELDS["author"] + " and Knuth, Donald"}, "A",
                      Status.VERIFIED, ADDS_A, "added", "added", evidence=("A",),
                      warning="not among the signed authors of <A>: Knuth, Donald"),
                 id="verified-authors-minor-difference-warns-by-name"),
    pytest.param(Case({**A_FIELDS, "author": FABRICATED}, "A", Status.VERIFIED, ADDS_A,
                      "added", "added", evidence=("A",), author_check="warn",
                      warning="author mismatch: Smith, John; Doe, Jane not among the signed "
                              "authors of <A>"),
                 id="verified-author-mismatch-only-warns-in-warn-mode"),
    pytest.param(Case({**A_FIELDS, "author": FABRICATED}, "A", Status.VERIFIED, ADDS_A,
                      "added", "added", evidence=("A",), author_check="off"),
                 id="verified-author-check-off-judges-nothing"),
    pytest.param(Case({k: v for k, v in A_FIELDS.items() if k != "author"}, "A",
                      Status.VERIFIED, ADDS_A, "added", "added", evidence=("A",)),
                 id="verified-entry-without-author-not-judged"),
    pytest.param(Case({**A_FIELDS, "title": "A Study of Cats"}, "A", Status.VERIFIED, ADDS_A,
                      "added", "added", evidence=("A",), check_titles=False),
                 id="verified-title-not-judged-when-check-titles-off"),
    pytest.param(Case(A_NUMBERED, "A-state", Status.VERIFIED, {}, "unchanged",
                      "the lock's evidence still proves verified", lock=("evidence:A",),
                      evidence=("A",), source="lock"),
                 id="verified-handwritten-status-kept-when-lock-proves-it"),
    pytest.param(Case(A_FIELDS, "unavailable: 127.0.0.1:9 timed out", Status.VERIFIED,
                      ADDS_A, "added", "127.0.0.1:9 timed out", lock=("evidence:A",),
                      evidence=("A",), source="lock"),
                 id="verified-failed-resolution-rescued-by-lock-evidence"),
    pytest.param(Case(A_NUMBERED, "invalid: signature does not verify", Status.VERIFIED, {},
                      "unchanged", "signature does not verify", lock=("evidence:A",),
                      evidence=("A",), source="lock"),
                 id="verified-bad-mirror-document-rescued-by-lock-evidence"),
    pytest.param(Case(A_FIELDS, "A", Status.VERIFIED, ADDS_A, "added", "added",
                      lock=(f"refused:{A_KEY}", f"not_found:{A_KEY}"), evidence=("A",)),
                 id="verified-old-refusal-and-not-found-dropped"),
    # -- record-verified ------------------------------------------------------------------
    pytest.param(Case(A_FIELDS, "A-state", Status.RECORD_VERIFIED,
                      {"pith": "<A>", "pith_status": "record-verified"}, "added", "added",
                      evidence=("A",)), id="record-verified-state-adds-number"),
    pytest.param(Case(SEED_STATE_FIELDS, "T", Status.RECORD_VERIFIED,
                      {"pith": "<T>", "pith_status": "record-verified"}, "added", "added",
                      evidence=("T",)), id="record-verified-real-seed-state"),
    pytest.param(Case(A_NUMBERED, "A-state", Status.RECORD_VERIFIED,
                      {"pith_status": "record-verified"}, "updated", "updated",
                      evidence=("A",)),
                 id="record-verified-corrects-handwritten-verified"),
    pytest.param(Case(A_NUMBERED, "A-state", Status.RECORD_VERIFIED,
                      {"pith_status": "record-verified"}, "updated", "updated",
                      lock=("evidence:A-state",), evidence=("A",)),
                 id="record-verified-lock-with-state-evidence-proves-no-more"),
    # -- not-found ------------------------------------------------------------------------
    pytest.param(Case({"title": "A Journal Paper", "doi": JOURNAL_DOI},
                      f"not-found: no doi mapping for {JOURNAL_DOI}", Status.NOT_FOUND, {},
                      "none", "no doi mapping", not_found=(DOI_KEY,)),
                 id="not-found-journal-doi-recorded"),
    pytest.param(Case({**A_FIELDS, "eprint": "2101.99999"},
                      "not-found: no arxiv mapping for 2101.99999", Status.NOT_FOUND, {},
                      "none", "no arxiv mapping", not_found=("arxiv:2101.99999",)),
                 id="not-found-arxiv-recorded"),
    # -- no-identifier --------------------------------------------------------------------
    pytest.param(Case({"title": "Deep Learning", "author": "Goodfellow, Ian",
                       "publisher": "MIT Press"}, None, Status.NO_IDENTIFIER, {}, "none",
                      "none"), id="no-identifier-left-alone"),
    pytest.param(Case({"title": "Deep Learning", "note": "see arXiv for a preprint"}, None,
                      Status.NO_IDENTIFIER, {}, "none", "none", lock=("evidence:A",)),
                 id="no-identifier-with-a-lock-records-nothing"),
    # -- invalid --------------------------------------------------------------------------
    pytest.param(Case(A_FIELDS, "invalid: signature does not verify", Status.INVALID, {},
                      "none", "signature does not verify"),
                 id="invalid-document-fails-verification"),
    pytest.param(Case({**A_FIELDS, "pith": "<Z>", "pith_status": "verified"},
                      "not-found: no source has <Z>", Status.INVALID, {}, "kept",
                      "the pith field names a pith number that no source has"),
                 id="invalid-existing-pith-no-source-has-never-recorded-not-found"),
    pytest.param(Case({**A_FIELDS, "pith": "pith:2021:not-a-number"}, None, Status.INVALID,
                      {}, "kept", "the pith field is not a pith number"),
                 id="invalid-pith-field-not-a-number-kept"),
    pytest.param(Case({**A_FIELDS, "pith": "<A8>"}, "B", Status.INVALID, {}, "kept",
                      "document is <B>, not <A8>", refused=("<A8>",)),
                 id="invalid-document-is-another-number"),
    # -- unavailable ----------------------------------------------------------------------
    pytest.param(Case({"title": "A Journal Paper", "doi": JOURNAL_DOI},
                      "unavailable: 127.0.0.1:9 timed out", Status.UNAVAILABLE, {}, "none",
                      "timed out", lock=(f"not_found:{DOI_KEY}",), not_found=(DOI_KEY,)),
                 id="unavailable-keeps-old-not-found"),
    pytest.param(Case({"title": "A Journal Paper", "doi": JOURNAL_DOI},
                      "unavailable: 127.0.0.1:9 timed out", Status.UNAVAILABLE, {}, "none",
                      "timed out"), id="unavailable-without-lock-records-nothing"),
    pytest.param(Case(A_NUMBERED, "unavailable: 127.0.0.1:9 timed out", Status.UNAVAILABLE,
                      {}, "kept", "timed out"),
                 id="unavailable-existing-fields-kept-not-downgraded"),
    pytest.param(Case(A_NUMBERED, "unavailable: 127.0.0.1:9 timed out", Status.UNAVAILABLE,
                      {}, "kept", "timed out", lock=("bad-evidence:A",), evidence=("A",)),
                 id="unavailable-unverifiable-lock-evidence-kept-as-it-was"),
    # -- conflict -------------------------------------------------------------------------
    pytest.param(Case({**A_FIELDS, "url": "https://arxiv.org/abs/2202.05678"}, None,
                      Status.CONFLICT, {}, "none", "fields name different arXiv papers"),
                 id="conflict-two-arxiv-ids"),
    pytest.param(Case({**A_NUMBERED, "doi": "10.48550/arXiv.2202.05678"}, None,
                      Status.CONFLICT, {}, "kept", "doi says 2202.05678"),
                 id="conflict-arxiv-doi-disagrees-existing-pith-kept"),
    # -- title-mismatch -------------------------------------------------------------------
    pytest.param(Case({**A_FIELDS, "title": "A Study of Cats"}, "A", Status.TITLE_MISMATCH,
                      {}, "none", "likely wrong identifier: the entry's title is "
                      "'A Study of Cats'", refused=(A_KEY,)),
                 id="title-mismatch-wrong-eprint-refused"),
    # a refused entry keeps its number, but not a status that renderers print
    pytest.param(Case({**A_NUMBERED, "title": "A Study of Cats"}, "A",
                      Status.TITLE_MISMATCH, {"pith_status": "title-mismatch"}, "updated",
                      "likely wrong identifier", refused=("pith:<A.id>",)),
                 id="title-mismatch-existing-pith-kept-its-verified-status-not"),
    # -- author-mismatch ------------------------------------------------------------------
    pytest.param(Case({**A_FIELDS, "author": FABRICATED}, "A", Status.AUTHOR_MISMATCH, {},
                      "none", "author mismatch: Smith, John; Doe, Jane not among the signed "
                      "authors of <A> (Ada Lovelace, Charles Babbage, Grace Hopper)",
                      refused=(A_KEY,)),
                 id="author-mismatch-fabricated-coauthors-refused"),
    pytest.param(Case({**SEED_BUNDLE_FIELDS, "author": "Doe, Jane and Roe, Richard"}, "S",
                      Status.AUTHOR_MISMATCH, {}, "none", "Doe, Jane; Roe, Richard",
                      refused=("arxiv:1802.04924",)),
                 id="author-mismatch-real-seed-no-shared-author"),
    pytest.param(Case({**A_NUMBERED, "author": FABRICATED}, "A", Status.AUTHOR_MISMATCH,
                      {"pith_status": "author-mismatch"}, "updated", "Smith, John; Doe, Jane",
                      refused=("pith:<A.id>",)),
                 id="author-mismatch-existing-pith-kept-its-verified-status-not"),
    pytest.param(Case({**A_FIELDS, "pith": "<A>", "author": FABRICATED}, "A",
                      Status.AUTHOR_MISMATCH, {}, "kept", "Smith, John; Doe, Jane",
                      refused=("pith:<A.id>",)),
                 id="author-mismatch-existing-pith-without-status-kept-as-is"),
    pytest.param(Case({**A_FIELDS, "author": FABRICATED}, "unavailable: offline",
                      Status.AUTHOR_MISMATCH, {}, "none", "Smith, John", lock=("evidence:A",),
                      refused=(A_KEY,), source="lock"),
                 id="author-mismatch-judged-on-lock-evidence-too"),
    # a state (no signed authors) found now, a bundle in the lock: the status the lock
    # would keep is judged on the bundle's signed authors (seventh review)
    pytest.param(Case({**A_NUMBERED, "author": FABRICATED}, "A-state",
                      Status.AUTHOR_MISMATCH, {"pith_status": "author-mismatch"}, "updated",
                      "Smith, John; Doe, Jane", lock=("evidence:A",),
                      refused=("pith:<A.id>",)),
                 id="author-mismatch-judged-on-the-lock-evidence-that-upgrades-a-state"),
    # -- pith-mismatch --------------------------------------------------------------------
    pytest.param(Case({**A_FIELDS, "pith": "<B>", "pith_status": "verified"}, "B",
                      Status.PITH_MISMATCH, {"pith_status": "pith-mismatch"}, "updated",
                      "<B> is arXiv 2202.05678, but the entry says arXiv 2101.01234"),
                 id="pith-mismatch-existing-pith-for-another-paper-kept-status-not"),
    pytest.param(Case({"title": A_FIELDS["title"], "doi": JOURNAL_DOI, "pith": "<A>"}, "A",
                      Status.PITH_MISMATCH, {}, "kept",
                      f"<A> does not name DOI {JOURNAL_DOI} in its signed aliases"),
                 id="pith-mismatch-existing-pith-vs-unsigned-journal-doi"),
    pytest.param(Case({"title": A_FIELDS["title"], "doi": JOURNAL_DOI}, "A",
                      Status.PITH_MISMATCH, {}, "none",
                      f"does not name DOI {JOURNAL_DOI}", refused=(DOI_KEY,)),
                 id="pith-mismatch-journal-doi-only-record-not-signing-it-refused"),
]


def _run(case: Case) -> Decision:
    entry = entry_of(case.fields)
    ids = extract(entry.source)
    query, problem = query_for(entry, ids, FIELDS)
    assert (query is None) == (case.resolution is None), (query, problem)
    resolution = resolution_for(query, case.resolution) if query and case.resolution else None
    locks = LockContext.of(lock_of(case.lock), TRUST)
    return decide(entry, ids, query, problem, resolution, path=PATH, fields=FIELDS,
                  locks=locks, policy=entry_policy(check_titles=case.check_titles,
                                                   author_check=case.author_check))


@pytest.mark.parametrize("case", CASES)
def test_decide(case: Case) -> None:
    decision = _run(case)
    outcome = decision.outcome
    assert outcome.status is case.status, outcome.reasons
    assert decision.writes == {name: fill(value) for name, value in case.writes.items()}
    assert outcome.action == case.action
    assert fill(case.message) in " | ".join([outcome.action, *outcome.reasons])
    if case.warning is None:
        assert outcome.warnings == []
    else:
        assert any(fill(case.warning) in w for w in outcome.warnings), outcome.warnings
    if case.source is not None:
        assert outcome.source == case.source
    assert sorted(decision.evidence) == sorted(number_of(name) for name in case.evidence)
    assert decision.not_found == {fill(k): Status.NOT_FOUND.value for k in case.not_found}
    assert sorted(decision.refused) == sorted(fill(k) for k in case.refused)
    for reason in decision.refused.values():
        assert reason.startswith(f"{case.status.value}: ")
    if case.status.is_ok:
        assert outcome.pith_number == fill(decision.writes.get("pith") or
                                           case.fields.get("pith", ""))


def case_named(name: str) -> Case:
    [row] = [p.values[0] for p in CASES if p.id == name]
    assert isinstance(row, Case)
    return row


def test_written_evidence_reverifies_offline() -> None:
    """The evidence a verified row records is what ``check`` needs: it verifies alone."""
    for name, expected in (("verified-bundle-adds-number-and-status", "verified"),
                           ("record-verified-state-adds-number", "record-verified")):
        decision = _run(case_named(name))
        [(number, evidence)] = decision.evidence.items()
        assert verify_evidence(number, evidence, TRUST).status == expected


def test_version_conflict_is_reported_not_silently_numbered() -> None:
    """README: ``conflict`` covers fields naming two *versions*; ids keeps the paper "but reports".

    ``query_for`` only turns conflicts into a problem when there is no arXiv id,
    so a v1/v2 disagreement resolves the unversioned id and nothing mentions it.
    """
    case = Case({**A_FIELDS, "eprint": "2101.01234v1",
                 "url": "https://arxiv.org/abs/2101.01234v2"}, "A", Status.VERIFIED, ADDS_A,
                "added", "added", evidence=("A",))
    decision = _run(case)
    assert "different versions" in extract(entry_of(case.fields).source).conflicts[0]
    text = " | ".join([*decision.outcome.reasons, *decision.outcome.warnings])
    assert "different versions" in text


# -- plan rows: what only a whole file shows -------------------------------------------------
class StubResolver:
    """Answers ``plan``'s one batch from a table; records what it was asked."""

    def __init__(self, answers: dict[str, str]) -> None:
        self.trust = TRUST
        self.answers = answers
        self.asked: list[str] = []

    def resolve_many(self, queries: Iterable[Query], known: Any = None,
                     progress: Any = None) -> list[Resolution]:
        out = []
        for query in queries:
            self.asked.append(str(query))
            out.append(resolution_for(query, self.answers[str(query)]))
        return out


GOOD_ENTRY = ("@article{good,\n  title = {Attention Is Everything},\n"
              "  author = {Lovelace, Ada and Hopper, Grace},\n  eprint = {2101.01234},\n}\n")
FABRICATED_ENTRY = GOOD_ENTRY.replace("{good,", "{fab,").replace(
    "Lovelace, Ada and Hopper, Grace", FABRICATED)


@dataclass(frozen=True)
class PlanCase:
    text: str
    statuses: dict[str, Status]  # entry key → status
    numbered: dict[str, str | None]  # entry key → pith field after applying the plan
    error: str | None = None
    papers: tuple[str, ...] = ()
    refused: tuple[str, ...] = ()


PLAN_CASES = [
    pytest.param(PlanCase(GOOD_ENTRY + "@article{bad,\n  title = {Unclosed\n",
                          {"bad": Status.MALFORMED}, {}, error="malformed entries"),
                 id="malformed-file-is-never-decided-or-written"),
    pytest.param(PlanCase(GOOD_ENTRY, {"good": Status.VERIFIED}, {"good": "<A>"},
                          papers=("A",)), id="verified-written-into-the-file-and-lock"),
    pytest.param(PlanCase(GOOD_ENTRY + FABRICATED_ENTRY,
                          {"good": Status.VERIFIED, "fab": Status.AUTHOR_MISMATCH},
                          {"good": "<A>", "fab": None}, papers=("A",), refused=(A_KEY,)),
                 id="author-mismatch-beside-a-good-entry-gets-no-number"),
]


@pytest.mark.parametrize("case", PLAN_CASES)
def test_plan(case: PlanCase) -> None:
    data = case.text.encode()
    resolver = StubResolver({"2101.01234": "A"})
    result = plan(Path(PATH), data, resolver, FIELDS, None,  # type: ignore[arg-type]
                  policy=entry_policy())
    assert {o.key: o.status for o in result.outcomes} == case.statuses
    if case.error is not None:
        assert case.error in (result.error or "")
        assert result.new_bytes is None and result.lock is None and resolver.asked == []
        return
    assert result.error is None and result.new_bytes is not None and result.lock is not None
    after = {e.key: e.get("pith") for e in parse(result.new_bytes, PATH).entries}
    assert after == {k: fill(v) if v else None for k, v in case.numbered.items()}
    assert sorted(result.lock.papers) == sorted(number_of(n) for n in case.papers)
    assert sorted(result.lock.refused) == sorted(case.refused)


def test_every_status_has_a_row() -> None:
    counts = Counter(p.values[0].status for p in CASES if not p.marks)
    counts.update(s for p in PLAN_CASES for s in p.values[0].statuses.values()
                  if s is Status.MALFORMED)
    assert set(counts) == set(Status), set(Status) - set(counts)
