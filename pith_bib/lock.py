"""The lock file: signed evidence committed next to the .bib, so ``check`` needs no network.

For every pith number the bibliography uses, the lock holds the canonical
record, its signed receipt and the title event: enough to re-verify the
number, the paper and the title offline under the pinned key. It also lists
the identifiers that were looked up and that no registry source knew, and
those annotate refused to number (a title that contradicts the signed one),
so ``check`` can tell "not annotated yet" from "no pith number exists" and
repeat annotate's reason.

The file is JSON with one paper per line, sorted, so a change to one entry is
a one-line diff in git and two runs on the same input give identical bytes.
Nothing in it is trusted: ``check`` verifies every piece it uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import write_atomic
from .canonical import canonical_text
from .errors import JsonFormatError, LockFileError
from .policy import record_aliases
from .strict_json import load_json

LOCK_VERSION = 1
LOCK_SUFFIX = ".pith-lock.json"
# About 4 KB of evidence per paper: room for 15,000 papers, and a bound on hostile input.
MAX_LOCK_BYTES = 64 * 1024 * 1024


def default_lock_path(bib_path: Path) -> Path:
    """``refs.bib`` → ``refs.pith-lock.json`` beside it."""
    return bib_path.with_name(bib_path.stem + LOCK_SUFFIX)


class EncodedEvidence(str):
    """Evidence already serialised as the lock file writes it (sorted, compact JSON).

    Why: the cache keeps each document's evidence in this form, so a warm
    annotate copies it into the lock without parsing a whole document or
    encoding the evidence again.
    """

    def decode(self) -> dict[str, Any]:  # type: ignore[override]
        value = load_json(self.encode("utf-8"), what="evidence")
        if not isinstance(value, dict):
            raise LockFileError("evidence is not an object")
        return value


def encode_evidence(evidence: dict[str, Any]) -> EncodedEvidence:
    return EncodedEvidence(canonical_text(evidence))


@dataclass
class LockFile:
    papers: dict[str, Any] = field(default_factory=dict)  # number → evidence (dict or encoded)
    not_found: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    path: Path | None = None

    def evidence(self, pith_number: str) -> dict[str, Any] | None:
        value = self.papers.get(pith_number)
        return value.decode() if isinstance(value, EncodedEvidence) else value

    def to_bytes(self) -> bytes:
        lines = ["{", f'"lock_version":{LOCK_VERSION},', '"generator":"pith-bib",']
        lines.append('"not_found":' + canonical_text(dict(sorted(self.not_found.items()))) + ",")
        lines.append('"refused":' + canonical_text(dict(sorted(self.refused.items()))) + ",")
        lines.append('"papers":{')
        items = sorted(self.papers.items())
        for index, (number, evidence) in enumerate(items):
            comma = "," if index < len(items) - 1 else ""
            encoded = evidence if isinstance(evidence, EncodedEvidence) \
                else canonical_text(evidence)
            lines.append(f"{canonical_text(number)}:{encoded}{comma}")
        lines.append("}")
        lines.append("}")
        return ("\n".join(lines) + "\n").encode("utf-8")

    def save(self, path: Path | None = None) -> bool:
        """Write atomically; False (and no write) when the bytes would not change."""
        target = path or self.path
        if target is None:
            raise LockFileError("no path to write the lock file to")
        data = self.to_bytes()
        try:
            if target.read_bytes() == data:
                return False
        except OSError:
            pass
        try:  # a configured lock path may name a folder that does not exist yet
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LockFileError(f"{target}: cannot create its folder: {exc.strerror or exc}"
                                ) from None
        write_atomic(target, data)
        return True

    def full_numbers(self, ids: Iterable[str]) -> dict[str, str | None]:
        """pith ID (or a short prefix of one) → the full number here, if exactly one."""
        by_id = {number.rsplit(":", 1)[-1]: number for number in self.papers}
        out: dict[str, str | None] = {}
        for ident in ids:
            if ident in by_id:
                out[ident] = by_id[ident]
                continue
            matches = [n for i, n in by_id.items() if i.startswith(ident)]
            out[ident] = matches[0] if len(matches) == 1 else None
        return out

    def mapping(self) -> dict[tuple[str, str], str]:
        """Alias → pith number, from the records (used by the resolver before any mirror)."""
        known: dict[tuple[str, str], str] = {}
        for number in self.papers:
            evidence = self.evidence(number) or {}
            source = (evidence.get("record") or {}).get("source") or {}
            arxiv_id, version = source.get("id"), source.get("version")
            if isinstance(arxiv_id, str):
                for key in record_aliases(arxiv_id, version if isinstance(version, int)
                                          else None):
                    known[key] = number
        return known


def load_lock(path: Path) -> LockFile | None:
    """The lock at ``path``; None when there is none; LockFileError when it is unusable."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise LockFileError(f"{path}: {exc.strerror or exc}") from None
    try:
        doc = load_json(data, max_bytes=MAX_LOCK_BYTES, what="lock file")
    except JsonFormatError as exc:
        raise LockFileError(f"{path}: not a pith-bib lock file ({exc})") from None
    if not isinstance(doc, dict) or doc.get("lock_version") != LOCK_VERSION:
        raise LockFileError(f"{path}: not a pith-bib lock file of version {LOCK_VERSION}")
    papers, not_found = doc.get("papers"), doc.get("not_found", {})
    refused = doc.get("refused", {})
    if not all(isinstance(x, dict) for x in (papers, not_found, refused)) or not all(
            isinstance(v, dict) for v in papers.values()):
        raise LockFileError(f"{path}: 'papers', 'not_found' and 'refused' must be objects")
    return LockFile(papers=papers, not_found={str(k): str(v) for k, v in not_found.items()},
                    refused={str(k): str(v) for k, v in refused.items()}, path=path)
