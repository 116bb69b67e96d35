"""The lock's line reader, read by position, accepts and cuts exactly what the split reader did.

``lock._canonical_lines`` decides which lock files are in our own layout (and
so may be read line by line, with cached verdicts) and cuts each paper's
evidence text out. It was rewritten to read by position instead of splitting
the file into lines; the old version is kept here as the reference, and both
are run on locks that ``LockFile.to_bytes`` writes and on many mutations of them.
"""

from __future__ import annotations

import random
import re

import pytest

from pith_bib.lock import _HEADER, _PAPER_PREFIX, LockFile, _canonical_lines

_PAPER_NUMBER_RE = re.compile(r'"(pith:[0-9]{4}:[A-Z2-7]{26})":\{')


def _reference(data: bytes) -> tuple[list[str], list[tuple[str, str]]] | None:
    """The reader as it was: split into lines, check each, slice out the evidence."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.split("\n")
    if len(lines) < 9 or tuple(lines[:3]) != _HEADER or lines[5] != '"papers":{' or \
            lines[-3:] != ["}", "}", ""] or not lines[3].startswith('"not_found":') or \
            not lines[4].startswith('"refused":'):
        return None
    papers = []
    last = len(lines) - 4
    for index in range(6, last + 1):
        line = lines[index]
        match = _PAPER_NUMBER_RE.match(line)
        comma = index < last
        if match is None or not line.endswith("}," if comma else "}"):
            return None
        papers.append((match.group(1), line[_PAPER_PREFIX:len(line) - comma]))
    return lines[:6], papers


def _plain(result: tuple[list[str], list[tuple[str, str]]] | None) -> object:
    if result is None:
        return None
    header, papers = result
    return header, [(number, str(text)) for number, text in papers]


def _number(rng: random.Random) -> str:
    return f"pith:20{rng.randint(10, 26)}:" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
                                                       for _ in range(26))


def _lock(rng: random.Random, papers: int) -> bytes:
    lock = LockFile(
        papers={_number(rng): {"record": {"title": rng.choice(["T", "Ünï", "a\nb", "}", "\u2028"])},
                               "n": rng.randint(0, 9)} for _ in range(papers)},
        not_found={f"arxiv:{rng.randint(1000, 9999)}.0001": "not-found"
                   for _ in range(rng.randint(0, 2))},
        refused={"doi:10.1/x": "title-mismatch: no"} if rng.random() < 0.3 else {})
    return lock.to_bytes()


def _mutations(rng: random.Random, data: bytes) -> list[bytes]:
    out = [data, data + b"\n", data[:-1], data.replace(b"\n", b"\r\n"), b" " + data,
           data.replace(b"},\n", b"}\n", 1), data.replace(b"}\n}\n}\n", b"},\n}\n}\n"),
           data.replace(b'":{', b'" :{', 1), data.replace(b"\n}\n}\n", b"\n}\n}"),
           data.replace(b'"papers":{\n', b'"papers":{\n\n'), data + b"x", b"\xff" + data]
    for _ in range(30):
        at = rng.randrange(len(data) + 1)
        choice = rng.random()
        if choice < 0.4:
            out.append(data[:at] + rng.choice([b"\n", b"}", b",", b"{", b'"', b"\r"]) + data[at:])
        elif choice < 0.8 and at < len(data):
            out.append(data[:at] + data[at + 1:])
        else:
            out.append(data[:at])
    return out


@pytest.mark.parametrize("seed", range(40))
def test_same_answer_as_the_split_reader(seed: int) -> None:
    rng = random.Random(seed)
    data = _lock(rng, rng.choice([0, 1, 2, 5, 30]))
    assert _plain(_canonical_lines(data)) == _reference(data) is not None
    for mutated in _mutations(rng, data):
        assert _plain(_canonical_lines(mutated)) == _reference(mutated), mutated[:200]


def test_the_evidence_is_cut_once_as_evidence_objects() -> None:
    rng = random.Random(7)
    parsed = _canonical_lines(_lock(rng, 3))
    assert parsed is not None
    assert all(type(text).__name__ == "EncodedEvidence" for _, text in parsed[1])
