"""The checks every Pith document shares, and the collector of their reasons.

Bundles, states and lock-file evidence all carry the same core: a canonical
record (whose hash gives the pith number), a registry-signed receipt over that
hash, and a graph snapshot that names the title and authors. Each of those is
checked here once, by the rule the protocol states for it
(``docs/protocol.md``), and each failure becomes one :class:`Reason` with a
code. Nothing here raises on bad input: a bad document is a report.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from .canonical import canon_text_sha256, canonical_sha256, is_sha256_hex, pith_number
from .policy import arxiv_doi
from .protocol import (
    ARXIV_ID_RE,
    FINGERPRINT_RE,
    KNOWN_ALIAS_KINDS,
    METADATA_KEYS,
    RECEIPT_KEYS,
    RECORD_KEYS,
    SCHEMA_VERSION,
    SIG_B64_LEN,
    TIMESTAMP_RE,
)
from .report import MAX_REASONS, Reason, VerificationReport
from .trust import PinnedKey, TrustRoot


def known(value: Any, allowed: frozenset[str]) -> bool:
    """Membership that cannot trip over unhashable JSON values."""
    return isinstance(value, str) and value in allowed


def type_name(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
            type(None): "null"}.get(type(value), type(value).__name__)


class TooManyProblems(Exception):
    """Raised once ``MAX_REASONS`` checks have failed: the verdict cannot change any more."""


class Checker:
    """Collects one specific reason per failed check, and which keys signed.

    Reasons are de-duplicated in constant time, and checking stops at
    ``MAX_REASONS`` failures (the document is invalid whatever else it holds), so a
    hostile document with thousands of broken parts costs time linear in its
    size at worst, and usually far less.
    """

    def __init__(self, trust: TrustRoot) -> None:
        self.trust = trust
        self._reasons: dict[str, Reason] = {}
        self.dropped = 0
        self.keys_used: list[PinnedKey] = []  # keys whose signatures verified
        # every pinned key the document names, signing or only named (a state's cut
        # events): a verdict is reusable only while all of them stay pinned
        self.keys_named: list[PinnedKey] = []

    @property
    def reasons(self) -> list[str]:
        out: list[str] = list(self._reasons.values())
        if self.dropped:
            out.append(Reason(f"checking stopped after {MAX_REASONS} problems", "more"))
        return out

    @property
    def failed(self) -> bool:
        return bool(self._reasons)

    def fail(self, reason: str, code: str = "malformed") -> None:
        if reason in self._reasons:
            return
        self._reasons[reason] = Reason(reason, code)
        if len(self._reasons) >= MAX_REASONS:
            self.dropped += 1
            raise TooManyProblems

    def need(self, obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
        """The value at ``obj[key]`` if present and of the right JSON type, else None."""
        if not isinstance(obj, dict):
            return None
        if key not in obj:
            self.fail(f"{where}.{key} is missing", "missing-field")
            return None
        value = obj[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        # JSON booleans are Python ints: never let true pass as a number.
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if not ok:
            self.fail(f"{where}.{key} has the wrong type ({type_name(value)})", "wrong-type")
            return None
        return value

    def exact_keys(self, obj: Any, allowed: frozenset[str], where: str) -> None:
        if not isinstance(obj, dict):
            self.fail(f"{where} is not an object", "wrong-type")
            return
        for key in sorted(set(obj) - allowed):
            self.fail(f"{where} has an unknown field {key!r}", "unknown-field")
        for key in sorted(allowed - set(obj)):
            self.fail(f"{where}.{key} is missing", "missing-field")

    def equal(self, actual: Any, expected: Any, what: str, code: str = "value-differs") -> bool:
        if actual != expected or type(actual) is not type(expected):
            self.fail(f"{what} is {actual!r}, expected {expected!r}", code)
            return False
        return True

    def digest(self, obj: Any, key: str, where: str) -> str | None:
        value = self.need(obj, key, str, where)
        if value is not None and not is_sha256_hex(value):
            self.fail(f"{where}.{key} is not 64 lower-case hex digits", "bad-digest")
            return None
        return value

    def timestamp(self, obj: Any, key: str, where: str) -> str | None:
        value = self.need(obj, key, str, where)
        if value is not None and not TIMESTAMP_RE.fullmatch(value):
            self.fail(f"{where}.{key} is not an ISO-8601 UTC timestamp: {value!r}",
                      "bad-timestamp")
            return None
        return value

    def pinned_key(self, holder: Any, where: str) -> PinnedKey | None:
        """The pinned key that ``holder`` (signer, signature, receipt) claims to be."""
        key_id = self.need(holder, "key_id", str, where)
        fingerprint = self.need(holder, "public_key_fingerprint", str, where)
        if key_id is None or fingerprint is None:
            return None
        if not FINGERPRINT_RE.fullmatch(fingerprint):
            self.fail(f"{where}.public_key_fingerprint is not 32 lower-case hex digits",
                      "bad-fingerprint")
            return None
        key = self.trust.find(key_id, fingerprint)
        if key is None:
            self.fail(f"{where}: signed by key {key_id!r} (fingerprint {fingerprint}), "
                      "which is not a pinned key", "unpinned-key")
        elif key not in self.keys_named:
            self.keys_named.append(key)
        return key

    def signature_bytes(self, holder: Any, where: str) -> bytes | None:
        text = self.need(holder, "signature_b64", str, where)
        if text is None:
            return None
        if len(text) != SIG_B64_LEN:
            self.fail(f"{where}.signature_b64 is {len(text)} characters, expected "
                      f"{SIG_B64_LEN}", "bad-signature-encoding")
            return None
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            self.fail(f"{where}.signature_b64 is not valid base64", "bad-signature-encoding")
            return None
        if len(raw) != 64 or base64.b64encode(raw).decode("ascii") != text:
            self.fail(f"{where}.signature_b64 is not the canonical base64 of 64 bytes",
                      "bad-signature-encoding")
            return None
        return raw

    def signature(self, holder: Any, digest_hex: str | None, signed_message: str,
                  where: str, signer_key: PinnedKey | None = None) -> None:
        """Protocol "Signatures": Ed25519 over the raw 32 bytes of ``digest_hex``."""
        if not isinstance(holder, dict):
            self.fail(f"{where} is not an object", "wrong-type")
            return
        self.equal(holder.get("algorithm"), "ed25519", f"{where}.algorithm")
        self.equal(holder.get("signature_status"), "signed_v1", f"{where}.signature_status")
        self.equal(holder.get("signed_message"), signed_message, f"{where}.signed_message")
        self.timestamp(holder, "signed_at", where)
        key = self.pinned_key(holder, where)
        raw_sig = self.signature_bytes(holder, where)
        if signer_key is not None and key is not None and key is not signer_key:
            self.fail(f"{where} names a different key from its signer", "signer-differs")
        if key is None or raw_sig is None or digest_hex is None:
            return
        if not key.verify(bytes.fromhex(digest_hex), raw_sig):
            self.fail(f"{where}: Ed25519 signature does not verify under {key.label}",
                      "signature")
            return
        if key not in self.keys_used:
            self.keys_used.append(key)

    def conclude(self, report: VerificationReport, ok_status: str) -> VerificationReport:
        """Fail closed: ``ok_status`` only when nothing failed and a pinned key signed."""
        report.reasons = self.reasons
        if self.keys_used:
            report.key_id = self.keys_used[0].label
            report.key_fingerprints = [k.fingerprint for k in self.keys_used] + [
                k.fingerprint for k in self.keys_named if k not in self.keys_used]
        if not self.failed and self.keys_used:
            report.status = ok_status
        elif not self.failed:
            report.reasons.append(Reason("no signature was checked", "unsigned"))
        return report


# -- the record core every document shares ----------------------------------------------
def source_of(checker: Checker, record: Any, where: str) -> tuple[str | None, int | None]:
    """Protocol "Years, ids and aliases": an arXiv source with id and integer version."""
    source = checker.need(record, "source", dict, where)
    if source is None:
        return None, None
    checker.exact_keys(source, frozenset({"id", "kind", "version"}), f"{where}.source")
    kind = checker.need(source, "kind", str, f"{where}.source")
    if kind is not None and kind != "arxiv":
        checker.fail(f"{where}.source.kind {kind!r} is not supported (only arxiv)",
                     "unsupported-source")
    arxiv_id = checker.need(source, "id", str, f"{where}.source")
    if arxiv_id is not None and not ARXIV_ID_RE.fullmatch(arxiv_id):
        checker.fail(f"{where}.source.id {arxiv_id!r} is not an arXiv identifier", "bad-source")
        arxiv_id = None
    version = checker.need(source, "version", int, f"{where}.source")
    if version is not None and version < 1:
        checker.fail(f"{where}.source.version must be at least 1", "bad-source")
    return arxiv_id, version


def check_record(checker: Checker, record: Any, claimed_number: Any,
                 where: str) -> tuple[str | None, str | None]:
    """Protocol "Pith numbers": the number is derived from the record's hash and year.

    Returns (canonical hash, full pith number).
    """
    if not isinstance(record, dict):
        checker.fail(f"{where} is not an object", "wrong-type")
        return None, None
    checker.exact_keys(record, RECORD_KEYS, where)
    checker.equal(record.get("schema_version"), SCHEMA_VERSION, f"{where}.schema_version",
                  "unknown-version")
    metadata = checker.need(record, "metadata", dict, where)
    checker.exact_keys(metadata, METADATA_KEYS, f"{where}.metadata")
    submitted = checker.timestamp(metadata, "submitted_at", f"{where}.metadata")
    checker.digest(metadata, "title_canon_sha256", f"{where}.metadata")
    checker.digest(metadata, "abstract_canon_sha256", f"{where}.metadata")
    checker.need(metadata, "primary_cat", str, f"{where}.metadata")
    checker.need(metadata, "license", str, f"{where}.metadata")
    cross = checker.need(metadata, "cross_cats_sorted", list, f"{where}.metadata")
    if cross is not None and (not all(isinstance(c, str) for c in cross)
                              or cross != sorted(cross)):
        checker.fail(f"{where}.metadata.cross_cats_sorted is not a sorted list of strings",
                     "malformed")
    digest = canonical_sha256(record)
    if submitted is None:
        return digest, None
    derived = pith_number(digest, int(submitted[:4]))
    if isinstance(claimed_number, str) and claimed_number != derived:
        checker.fail(f"pith_number {claimed_number!r} does not match the canonical record "
                     f"(which gives {derived})", "pith-number")
    elif not isinstance(claimed_number, str):
        checker.fail("pith_number is missing or not a string", "pith-number")
    return digest, derived


def record_prologue(checker: Checker, record: Any, claimed_number: Any, where: str,
                    report: VerificationReport) -> str | None:
    """The record checks a bundle, a state and lock evidence share; fills ``report``.

    Returns the canonical hash.
    """
    report.arxiv_id, report.arxiv_version = source_of(checker, record, where)
    digest, derived = check_record(checker, record, claimed_number, where)
    report.canonical_sha256, report.pith_number = digest, derived
    if isinstance(record, dict) and isinstance(record.get("metadata"), dict):
        submitted = record["metadata"].get("submitted_at")
        report.submitted_at = submitted if isinstance(submitted, str) else None
    return digest


def _expected_alias(kind: str, arxiv_id: str | None, version: int | None,
                    full_id: str | None) -> str | None:
    if kind == "arxiv":
        return arxiv_id
    if kind == "arxiv_version":
        return f"{arxiv_id}v{version}" if arxiv_id and version else None
    if kind == "doi":
        return arxiv_doi(arxiv_id) if arxiv_id else None
    size = int(kind.rsplit("_", 1)[1])  # pith_short_N
    return full_id[:size] if full_id else None


def check_aliases(checker: Checker, aliases: Any, report: VerificationReport,
                  full_id: str | None, where: str) -> list[tuple[str, str]]:
    """Protocol "Years, ids and aliases": every alias must follow from the record."""
    found: list[tuple[str, str]] = []
    if not isinstance(aliases, list):
        checker.fail(f"{where} is not an array", "wrong-type")
        return found
    for i, alias in enumerate(aliases):
        at = f"{where}[{i}]"
        checker.exact_keys(alias, frozenset({"alias_kind", "alias_value", "created_at"}), at)
        kind = checker.need(alias, "alias_kind", str, at)
        value = checker.need(alias, "alias_value", str, at)
        checker.timestamp(alias, "created_at", at)
        if kind is None or value is None:
            continue
        if not known(kind, KNOWN_ALIAS_KINDS):
            checker.fail(f"{at}: unknown alias kind {kind!r}", "unknown-alias")
            continue
        expected = _expected_alias(kind, report.arxiv_id, report.arxiv_version, full_id)
        if expected is not None and value != expected:
            checker.fail(f"{at}: {kind} alias {value!r} does not match the record "
                         f"({expected!r})", "alias")
            continue
        found.append((kind, value))
    return found


def title_matches_hash(title: str, title_hash: Any) -> bool:
    """Protocol "Titles and abstracts": sha256 of the whitespace-collapsed, lower-cased title.

    The same function derivation uses (``canonical.canon_text_sha256``), so the rule
    is stated once.
    """
    return canon_text_sha256(title) == title_hash


def snapshot_paper(checker: Checker, payload: Any, record: Any, where: str,
                   report: VerificationReport, *, signed: bool) -> None:
    """Title and authors from a graph snapshot; the title must match the record's hash.

    The title is trusted either way: the signed record pins its hash. The author
    list is pinned by nothing but the snapshot's own signature, so it is kept
    only from a ``signed`` snapshot; a state's cut-down copy could say anything.
    """
    snapshot = checker.need(payload, "graph_snapshot", dict, f"{where}.payload")
    paper = checker.need(snapshot, "paper", dict, f"{where}.payload.graph_snapshot")
    title = checker.need(paper, "title", str, f"{where}.payload.graph_snapshot.paper")
    arxiv_source = record.get("source") if isinstance(record, dict) else None
    if snapshot is not None and "source" in snapshot:
        checker.equal(snapshot["source"], arxiv_source, f"{where} snapshot source")
    if title is not None and isinstance(record, dict):
        title_hash = (record.get("metadata") or {}).get("title_canon_sha256")
        if not title_matches_hash(title, title_hash):
            checker.fail(f"{where}: title {title!r} does not match the record's title hash",
                         "title-hash")
            title = None
    report.title = title
    authors = paper.get("authors_text") if isinstance(paper, dict) else None
    report.authors = authors if signed and isinstance(authors, str) else None


def check_receipt(checker: Checker, receipt: Any, digest: str | None, where: str) -> None:
    """Protocol "Signatures": the registry's receipt signs the canonical hash."""
    if receipt is None:
        return
    checker.exact_keys(receipt, RECEIPT_KEYS, where)
    checker.equal(receipt.get("kind") if isinstance(receipt, dict) else None, "pith_receipt",
                  f"{where}.kind")
    checker.equal(receipt.get("canonical_sha256") if isinstance(receipt, dict) else None,
                  digest, f"{where}.canonical_sha256", "record-hash")
    checker.signature(receipt, digest, "canonical_sha256_bytes", where)


def check_created_payload(checker: Checker, payload: Any, record: Any, digest: str | None,
                          where: str) -> None:
    """A ``record_created`` payload repeats the record and carries the receipt."""
    if not isinstance(payload, dict):
        checker.fail(f"{where}.payload is not an object", "wrong-type")
        return
    checker.equal(payload.get("canonical_record"), record, f"{where}.payload.canonical_record")
    checker.equal(payload.get("canonical_sha256"), digest, f"{where}.payload.canonical_sha256",
                  "record-hash")
    source = record.get("source") if isinstance(record, dict) else None
    if isinstance(source, dict):
        checker.equal(payload.get("source_id"), source.get("id"), f"{where}.payload.source_id")
        checker.equal(payload.get("source_kind"), source.get("kind"),
                      f"{where}.payload.source_kind")
        checker.equal(payload.get("source_version"), source.get("version"),
                      f"{where}.payload.source_version")
    receipt = checker.need(payload, "receipt", dict, f"{where}.payload")
    check_receipt(checker, receipt, digest, f"{where}.payload.receipt")
