"""The quick paths of identifier extraction, title keys and author matching equal the slow ones.

Each speed-up keeps its general route (``ids`` reads through ``get`` alone,
``titles._title_key_reference``, the uncached author helpers); these tests run
both on every relevant field of every .bib under ``../shared/corpora`` (skipped
when absent) and on hand-written hostile text, and require identical results.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pith_bib import authors, ids, titles
from pith_bib.bibfile import Entry, parse
from tests.author_reference import signed_reference as _signed_reference
from tests.support import corpus_bib_entries


def _corpus_entries() -> tuple[Entry, ...]:
    found = corpus_bib_entries()
    assert len(found) > 5000
    return found


def _corpus_values(*names: str) -> Iterator[str]:
    for entry in _corpus_entries():
        for name in names:
            value = entry.get(name)
            if value:
                yield value


HOSTILE = [
    "",
    " ",
    "{",
    "}}}{{{",
    "\\",
    "\\\\\\\\",
    "\\" * 5000,
    "{\\" * 2000 + "o" + "}" * 100,
    "Schr\\\"odinger {Bridges}",
    "Schrödinger Bridges",
    "KANEL{\\'E}: Kolmogorov-Arnold",
    "$\\sqrt{s}$ = 13 TeV with $t\\bar{t}$",
    "A_b c__d -- e --- f `` g '' h ~ i % j # k & l",
    "x\x1cy\x1fz\x00w\u00a0v\u2003u",
    "Ω ω ǅ ﬁ Straße İstanbul K",
    "ab{c}d$e$f",
    "{{{{unbalanced",
    "closing}}}} only",
    "word " * 20_000,
    "é" * 30_000,
    "\\'e" * 10_000,
    "\\textbf{" * 3000,
    "\\ensuremath{\\nu}\\ensuremath{\\mu} {\\&} \\& \\% \\_ \\$",
    "\ud800 lone surrogate",
]


# --------------------------------------------------------------------------- ids


class _GetOnly:
    """An entry seen only through the FieldSource protocol (as CSL-JSON items are)."""

    def __init__(self, entry: Entry) -> None:
        self._entry = entry

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._entry.get(name, default)


def test_extract_reads_bib_entries_as_get_alone_does() -> None:
    entries = _corpus_entries()
    different = [e for e in entries if ids.extract(e) != ids.extract(_GetOnly(e))]
    assert different == []
    assert sum(ids.extract(e).arxiv_id is not None for e in entries) > 2000


class _Recording:
    """Answers every name with ``answer``, and records which names were asked."""

    def __init__(self, answer: str, **answers: str) -> None:
        self.answer, self.answers = answer, answers
        self.asked: set[str] = set()

    def get(self, name: str, default: str | None = None) -> str | None:
        self.asked.add(name)
        return self.answers.get(name, self.answer)


def test_the_fast_reader_knows_every_field_extraction_reads() -> None:
    """Extraction's dict of an entry's values holds FIELDS_READ only: nothing else is asked."""
    for recording, reached in ((_Recording("arXiv:2101.01234"), "eprinturl"),
                               (_Recording("2101.01234", archiveprefix=""), "eprinttype"),
                               (_Recording("CoRR"), "volume")):
        ids.extract(recording)
        assert reached in recording.asked and recording.asked <= ids.FIELDS_READ


HAND_WRITTEN_BIB = rb"""
@string{ax = "arXiv"}
@article{mixed, EPrint = {2101.01234v2}, ArchivePrefix = ax,
  JOURNAL = {arXiv preprint arXiv:2101.01234}, DOI = {10.48550/ARXIV.2101.01234}}
@article{dup, eprint = {hep-th/9901001}, eprint = {2101.01234}, note = "see " # "hep-th/9901001v3"}
@article{corr, journal = {CoRR}, volume = {abs/1706.03762}, url = {https://arxiv.org/abs/1706.03762v5}}
@article{conflict, arxiv = {2101.00001}, pdf = {https://arxiv.org/pdf/2101.00002.pdf}}
@article{escaped, doi = {10.1000/a\_b\%c}, eid = {arXiv:\ 1234.5678},
  howpublished = {ar{X}iv 2101.01234}}
@article{empty, eprint = {}, doi = {}, Url = {}}
@misc{nothing, title = {No ids at all}}
"""


def test_extract_fast_path_on_hand_written_entries() -> None:
    bib = parse(HAND_WRITTEN_BIB)
    assert len(bib.entries) == 7
    for entry in bib.entries:
        assert ids.extract(entry) == ids.extract(_GetOnly(entry)), entry.key
    assert ids.extract(bib.entries[0]).arxiv == "2101.01234v2"


def _id_in_text_reference(value: str) -> ids.ArxivId | None:
    """The free-text rule as it was: always cleaned, escapes always substituted."""
    text = ids._DOI_ESCAPES_RE.sub(r"\1", value).replace("{", "").replace("}", "").strip()
    match = None
    if "arxiv" in value.lower():
        match = ids._IN_TEXT_RE.search(text) or ids._URL_RE.search(text)
    if match is None and "/" in value:
        match = ids._OLD_IN_TEXT_RE.search(text)
    return ids._from_match(match) if match else None


def test_free_text_rule_equals_the_reference() -> None:
    values = [*_corpus_values(*ids.TEXT_FIELDS, "title", "url"), *HOSTILE,
              "arXiv:\\ 2101.01234", "see hep-th/9901001", "ar{X}iv 2101.01234",
              "{arXiv} preprint {arXiv:2101.01234v3}", "Phys. Rev. D 100/2 (2019)"]
    assert sum(_id_in_text_reference(v) is not None for v in values) > 100
    for value in values:
        assert ids._id_in_text(value) == _id_in_text_reference(value), value[:80]


class _Listed:
    """A source offering ``values_of``: read once, and never through ``get``."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.asked: list[str] = []
        self.read: list[frozenset[str]] = []

    def values_of(self, names: frozenset[str]) -> dict[str, str]:
        self.read.append(names)
        return {k: v for k, v in self.values.items() if k in names}

    def get(self, name: str, default: str | None = None) -> str | None:
        self.asked.append(name)
        return self.values.get(name.lower(), default)


def test_extract_reads_a_listing_source_once() -> None:
    source = _Listed({"eprint": "2101.01234", "doi": "10.1000/x", "title": "T"})
    result = ids.extract(source)
    assert (result.arxiv_id, result.doi) == ("2101.01234", "10.1000/x")
    assert source.asked == [] and source.read == [ids.FIELDS_READ]


def test_values_of_answers_as_get_does() -> None:
    """bibfile's one-pass reader: the first field of a name, macros expanded, any case."""
    bib = parse(b'@string{ax = "arXiv"}\n@article{k, EPrint = {1}, eprint = {2}, '
                b'ArchivePrefix = ax, Title = {T}, note = "a" # ax}\n')
    entry = bib.entries[0]
    names = frozenset({"eprint", "archiveprefix", "note", "doi"})
    assert entry.values_of(names) == {name: entry.get(name) for name in names
                                      if entry.get(name) is not None}
    assert entry.values_of(names) == {"eprint": "1", "archiveprefix": "arXiv", "note": "aarXiv"}


# --------------------------------------------------------------------------- titles


def _assert_title_paths_agree(text: str) -> None:
    assert titles.latex_to_text(text) == titles._latex_to_text_reference(text), text[:80]
    for decode in (True, False):
        assert titles.title_key(text, decode) == titles._title_key_reference(text, decode), \
            (text[:80], decode)


def test_title_keys_equal_the_reference_on_every_corpus_title() -> None:
    values = list(_corpus_values("title", "booktitle", "journal"))
    assert len(values) > 5000
    for text in values:
        _assert_title_paths_agree(text)


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_title_keys_equal_the_reference_on_hostile_text(text: str) -> None:
    _assert_title_paths_agree(text)


def test_ascii_key_folds_every_ascii_character_like_the_pattern() -> None:
    every = "".join(chr(code) for code in range(128) if chr(code) != "\\")
    for text in (every, every[::-1], "a" + every + "b", every.upper()):
        _assert_title_paths_agree(text)
    assert titles.title_key("Deep-Learning_based {ML}: a $t$-test") == \
        "deep learning based ml a t test"


# --------------------------------------------------------------------------- authors


def _assert_author_paths_agree(field: str) -> None:
    raw_names, _ = authors.split_bibtex_names(field)
    for raw in raw_names:
        person = authors.parse_person.__wrapped__(raw)
        assert authors.parse_person(raw) == person, raw
        display = authors.plain_name.__wrapped__(raw)
        assert authors.plain_name(raw) == display, raw
        assert authors._entry_name(person, display) == \
            authors._entry_name.__wrapped__(person, display), raw
    assert authors._parse_signed(field) == _signed_reference(field), field[:80]
    signed = ", ".join(authors.plain_name(raw) for raw in raw_names[::-1])
    assert authors._parse_signed(signed) == _signed_reference(signed), signed[:80]


def test_author_helpers_equal_uncached_on_every_corpus_author_field() -> None:
    values = list(_corpus_values("author", "editor"))
    assert len(values) > 5000
    for field in values:
        _assert_author_paths_agree(" ".join(field.split()))


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_author_helpers_equal_uncached_on_hostile_text(text: str) -> None:
    _assert_author_paths_agree(text[:20_000])
    _assert_author_paths_agree(" and ".join([text[:500]] * 3))


def test_verdicts_do_not_depend_on_what_the_caches_hold() -> None:
    field = "M{\\\"u}ller, Hans and Fox, Judy and Fox, Geoffrey and van der Berg, Jan"
    signed = "Geoffrey Fox, Hans Mueller, Jan van der Berg"
    first = authors.compare_authors(field, signed)
    for helper in (authors.parse_person, authors.plain_name, authors._entry_name,
                   authors._signed_name, authors._index_keys):
        helper.cache_clear()
    assert authors.compare_authors(field, signed) == first
    assert first.verdict is authors.AuthorVerdict.MINOR_DIFFERENCE
    assert first.missing == ("Fox, Judy",)


def test_author_caches_are_bounded() -> None:
    for helper in (authors.parse_person, authors.plain_name, authors._entry_name,
                   authors._signed_name, authors._index_keys, authors.decode_latex,
                   authors.fold_tokens):
        maxsize = helper.cache_info().maxsize
        assert maxsize is not None and maxsize <= 32768
