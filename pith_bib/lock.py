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

import contextlib
import hashlib
import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .atomic import write_atomic
from .canonical import canonical_text
from .errors import FileReadError, JsonFormatError, LockFileError, UsageError
from .policy import record_aliases
from .safe_read import read_regular_file
from .strict_json import MAX_DEPTH, load_json

if TYPE_CHECKING:
    from .report import VerificationReport

LOCK_VERSION = 1
LOCK_SUFFIX = ".pith-lock.json"
# A paper's evidence sits two levels deep in the lock: its own nesting limit.
EVIDENCE_MAX_DEPTH = MAX_DEPTH - 2
# About 4 KB of evidence per paper: room for 15,000 papers, and a bound on hostile input.
MAX_LOCK_BYTES = 64 * 1024 * 1024
# One paper line as to_bytes writes it: the number, then its evidence object.
_PAPER_NUMBER_RE = re.compile(r'"(pith:[0-9]{4}:[A-Z2-7]{26})":\{')
_NUMBER_RE = re.compile(r"pith:[0-9]{4}:[A-Z2-7]{26}")
_PAPER_PREFIX = len('"pith:2018:DM6GBYSNJHDMWLODXZBVEPYJHJ":')
_HEADER = ("{", f'"lock_version":{LOCK_VERSION},', '"generator":"pith-bib",')
_TAIL = "\n}\n}\n"  # after the last paper line: the papers object and the file close

# Given a lock's paper lines (pith number → evidence text) and the lock's digest
# (lock_digest of the bytes they were cut from), the verdicts the caller holds for
# exactly those bytes: pith number → verdict.
KnownEvidence = Callable[[Mapping[str, str], str], Mapping[str, "VerificationReport"]]


def number_json(number: str) -> str:
    """A pith number as a JSON string: a well-formed one needs no escaping, written as is."""
    return f'"{number}"' if _NUMBER_RE.fullmatch(number) else canonical_text(number)


def lock_digest(data: bytes) -> str:
    """A lock file's identity for remembered verdicts: the sha256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


def default_lock_path(bib_path: Path) -> Path:
    """``refs.bib`` → ``refs.pith-lock.json`` beside it.

    A path that names no file (``.``, ``..``, ``/``) has no lock beside it: a usage
    error, before anything is read or written.
    """
    if bib_path.name in ("", ".", ".."):
        raise UsageError(f"{bib_path}: not a file (a bibliography file is needed)")
    return bib_path.with_name(bib_path.stem + LOCK_SUFFIX)


class EncodedEvidence(str):
    """Evidence already serialised as the lock file writes it (sorted, compact JSON).

    Why: the cache keeps each document's evidence in this form, so a warm
    annotate copies it into the lock without parsing a whole document or
    encoding the evidence again.
    """

    def decode(self) -> dict[str, Any]:  # type: ignore[override]
        value = load_json(self.encode("utf-8"), max_bytes=MAX_LOCK_BYTES,
                          max_depth=EVIDENCE_MAX_DEPTH, what="evidence")
        if not isinstance(value, dict):
            raise LockFileError("evidence is not an object")
        return value


def encode_evidence(evidence: dict[str, Any]) -> EncodedEvidence:
    return EncodedEvidence(canonical_text(evidence))


@dataclass(frozen=True)
class _Read:
    """What a lock read line by line was, to tell later whether writing it back changes it."""

    data: bytes  # the file's bytes
    digest: str  # lock_digest(data)
    head: tuple[str, str]  # its not_found and refused lines, as they are in the file
    papers: dict[str, EncodedEvidence]  # its paper lines' evidence, by number
    in_order: bool  # its papers sorted by number, as to_bytes writes them


@dataclass
class LockFile:
    """A lock file's content: what ``check`` needs to verify each number offline."""

    papers: dict[str, Any] = field(default_factory=dict)  # number → evidence (dict or encoded)
    not_found: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    # number → verdict, for evidence byte-identical to a verdict the caller vouched for
    known: dict[str, VerificationReport] = field(default_factory=dict, repr=False,
                                                 compare=False)
    # lock_digest of the bytes the last ``save`` wrote or found already there
    saved_digest: str | None = field(default=None, repr=False, compare=False)
    # the lock this one replaces, read from the same file (see ``save``)
    replaces: LockFile | None = field(default=None, repr=False, compare=False)
    _read: _Read | None = field(default=None, repr=False, compare=False)

    @property
    def digest(self) -> str | None:
        """lock_digest of the bytes this lock was read from, when read line by line."""
        return self._read.digest if self._read is not None else None

    def known_report(self, pith_number: str) -> VerificationReport | None:
        """The vouched-for verdict for this number, if its evidence is still those bytes."""
        report = self.known.get(pith_number)
        if report is None or not isinstance(self.papers.get(pith_number), EncodedEvidence):
            return None
        return report

    def evidence(self, pith_number: str) -> dict[str, Any] | None:
        value = self.papers.get(pith_number)
        return value.decode() if isinstance(value, EncodedEvidence) else value

    def to_bytes(self) -> bytes:
        """The file's bytes: header lines, then one paper per line, sorted.

        Built as one list of pieces joined once: the evidence is most of ten
        megabytes for a large bibliography, and each extra copy of it shows.
        """
        not_found, refused = self._head()
        parts = ["\n".join(_HEADER), "\n", not_found, "\n", refused, "\n", '"papers":{\n']
        items = sorted(self.papers.items())
        last = len(items) - 1
        for index, (number, evidence) in enumerate(items):
            parts.append(number_json(number) + ":")
            parts.append(evidence if isinstance(evidence, EncodedEvidence)
                         else canonical_text(evidence))
            parts.append(",\n" if index < last else "\n")
        parts.append("}\n}\n")
        return "".join(parts).encode("utf-8")

    def _head(self) -> tuple[str, str]:
        """The not_found and refused lines as :meth:`to_bytes` writes them."""
        return ('"not_found":' + canonical_text(dict(sorted(self.not_found.items()))) + ",",
                '"refused":' + canonical_text(dict(sorted(self.refused.items()))) + ",")

    def _writes_back(self, old: LockFile | None) -> _Read | None:
        """How ``old`` was read, when :meth:`to_bytes` would give exactly those bytes.

        True when ``old`` was read line by line from our own layout with its
        papers in order, and this lock holds the same papers with the same
        evidence text and the same header lines: every byte to_bytes writes is
        then one ``old`` was read from.
        """
        read = old._read if old is not None else None
        if read is None or not read.in_order or self._head() != read.head or \
                self.papers.keys() != read.papers.keys():
            return None
        for number, evidence in self.papers.items():
            if not (isinstance(evidence, EncodedEvidence) and evidence == read.papers[number]):
                return None
        return read

    def save(self, path: Path | None = None) -> bool:
        """Write atomically; False (and no write) when the bytes would not change.

        When this lock would write back exactly the file it :attr:`replaces` was
        read from, and the file still holds those bytes, it is not even built.
        """
        target = path or self.path
        if target is None:
            raise LockFileError("no path to write the lock file to")
        read = self._writes_back(self.replaces)
        if read is not None:
            with contextlib.suppress(OSError):
                if target.read_bytes() == read.data:
                    self.saved_digest = read.digest
                    return False
        data = self.to_bytes()
        self.saved_digest = lock_digest(data)
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
        """Alias → pith number, from the records (used by the resolver before any mirror).

        One number per alias, the last that claims it: the resolver verifies it and,
        if it fails, goes on to other sources. A caller that must not let a failing
        claim hide a good one reads :meth:`claims` instead.
        """
        return {key: numbers[-1] for key, numbers in self.claims().items()}

    def claims(self) -> dict[tuple[str, str], list[str]]:
        """Alias → every pith number whose evidence claims it, in the lock's order."""
        known: dict[tuple[str, str], list[str]] = {}
        for number in self.papers:
            report = self.known_report(number)
            if report is not None:  # the verdict states the record's source (cache binding)
                arxiv_id, version = report.arxiv_id, report.arxiv_version
            else:
                arxiv_id, version = self._source(number)
            if isinstance(arxiv_id, str):
                for key in record_aliases(arxiv_id, version if isinstance(version, int)
                                          else None):
                    known.setdefault(key, []).append(number)
        return known

    def _source(self, number: str) -> tuple[Any, Any]:
        """(arXiv id, version) the evidence claims; (None, None) when it cannot say.

        Only a claim: whatever maps through it is verified before it counts.
        Evidence that does not parse (a line kept unparsed) names nothing.
        """
        try:
            evidence = self.evidence(number)
        except (JsonFormatError, LockFileError):
            return None, None
        record = evidence.get("record") if isinstance(evidence, dict) else None
        source = record.get("source") if isinstance(record, dict) else None
        if not isinstance(source, dict):
            return None, None
        return source.get("id"), source.get("version")


def load_lock(path: Path, known: KnownEvidence | None = None, *, defer: bool = False
              ) -> LockFile | None:
    """The lock at ``path``; None when there is none; LockFileError when it is unusable.

    ``known`` (given the lock's paper lines and :func:`lock_digest` of the file)
    answers the verdicts the caller already holds for exactly those evidence
    bytes (the user cache's: :mod:`pith_bib.lock_verdicts`). A lock
    in the layout :meth:`LockFile.to_bytes` writes is read line by line, and a
    line so vouched for is kept as its text, unparsed, with its verdict; every
    other line is parsed as strictly as the whole file otherwise is, now, or
    with ``defer`` when it is used (:meth:`EncodedEvidence.decode`): ``check``
    parses and verifies such lines in its worker processes, in parallel, and a
    line that is not valid evidence fails that paper's verification. Why:
    parsing ten megabytes of evidence that the cache has already vouched for
    was a third of a warm run.
    """
    try:  # a lock can come from a repository: never a FIFO, a device or an endless read
        data = read_regular_file(path, MAX_LOCK_BYTES)
    except FileReadError as exc:
        raise LockFileError(str(exc)) from None
    if data is None:
        return None
    if known is not None:
        lines = _canonical_lines(data)
        if lines is not None:
            return _load_lines(path, data, *lines, known, defer)
    return _load_whole(path, data)


def _canonical_lines(data: bytes
                     ) -> tuple[list[str], list[tuple[str, EncodedEvidence]]] | None:
    """(the header lines, [(number, evidence text)]) when ``data`` is in our own layout.

    Read by position in the decoded text, each line's evidence cut out once:
    the evidence is most of ten megabytes, and every whole copy (split lines,
    then slices, then the evidence objects) was fresh memory for the process.
    """
    if len(data) > MAX_LOCK_BYTES:
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    head = _header_lines(text)
    if head is None or not text.endswith(_TAIL, head[1] - 1):  # its newline ends the header
        return None
    lines, pos = head
    end = len(text) - len(_TAIL) + 1  # just past the last paper line's newline
    papers: list[tuple[str, EncodedEvidence]] = []
    match = _PAPER_NUMBER_RE.match
    while pos < end:
        stop = text.find("\n", pos, end)
        comma = stop + 1 < end
        found = match(text, pos, stop)
        if found is None or not text.endswith("}," if comma else "}", pos, stop):
            return None
        papers.append((found.group(1), EncodedEvidence(text[pos + _PAPER_PREFIX:stop - comma])))
        pos = stop + 1
    return lines, papers


def _header_lines(text: str) -> tuple[list[str], int] | None:
    """The six header lines as :meth:`LockFile.to_bytes` writes them, and where papers start."""
    lines, pos = [], 0
    for _ in range(6):
        stop = text.find("\n", pos)
        if stop < 0:
            return None
        lines.append(text[pos:stop])
        pos = stop + 1
    if tuple(lines[:3]) != _HEADER or lines[5] != '"papers":{' or \
            not lines[3].startswith('"not_found":') or not lines[4].startswith('"refused":'):
        return None
    return lines, pos


def _load_lines(path: Path, data: bytes, head: list[str],
                lines: list[tuple[str, EncodedEvidence]], known: KnownEvidence, defer: bool
                ) -> LockFile:
    lock = _load_whole(path, ("{" + head[1] + head[3] + head[4] + '"papers":{}}').encode())
    texts: dict[str, EncodedEvidence] = {}
    for number, text in lines:
        if number in texts:
            raise LockFileError(f"{path}: not a pith-bib lock file (lock file: duplicate key "
                                f"{number!r})")
        texts[number] = text
    digest = lock_digest(data)
    lock._read = _Read(data, digest, (head[3], head[4]), texts,
                       all(a < b for a, b in itertools.pairwise(texts)))
    vouched = known(texts, digest)
    for number, text in lines:
        report = vouched.get(number)
        if report is not None:
            lock.known[number] = report
        if report is not None or defer:
            lock.papers[number] = text
            continue
        try:
            value = load_json(text.encode("utf-8"), max_bytes=MAX_LOCK_BYTES,
                              max_depth=EVIDENCE_MAX_DEPTH, what="lock file")
        except JsonFormatError as exc:
            raise LockFileError(f"{path}: not a pith-bib lock file ({exc})") from None
        if not isinstance(value, dict):
            raise LockFileError(f"{path}: 'papers', 'not_found' and 'refused' must be objects")
        lock.papers[number] = value
    return lock


def _load_whole(path: Path, data: bytes) -> LockFile:
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
