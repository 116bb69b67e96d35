"""The quick routes of the author comparison give exactly what the general ones give.

A cold process compares every entry once, so ``authors`` has quick routes:
LaTeX decoded by latexcodec's own lexer and table without its slow generators
(``ulatex.decode``), ASCII words folded by one translation table, brace-free
fields and names split by ``str.split``, and the usual case (every entry name
signed) decided without the full matching. The code they replaced is kept
below as the *reference* (the comparison as it was, LaTeX through the codec
itself); these tests require identical results from both on every author and
editor field of every .bib under ``../shared/corpora`` (skipped when absent),
against its own registry-style list, the next entry's list and altered lists,
and on hand-written adversarial and hostile input.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Sequence

import pytest

from pith_bib import authors, csljson, ulatex
from pith_bib.authors import AuthorComparison, AuthorVerdict, PersonName
from pith_bib.errors import CslJsonError
from tests.author_reference import decode_reference as _decode_reference
from tests.author_reference import fold_reference as _fold_reference
from tests.author_reference import signed_reference as _signed_reference
from tests.support import CORPORA, corpus_bib_entries
from tests.test_authors import registry_list

HOSTILE = [
    "", " ", "{", "}}}{{{", "\\", "\\\\\\\\", "\\" * 3000, "{\\" * 1000 + "o" + "}" * 100,
    "M\\", "M{\\\"u}ller\\", "Kr\\\"{a}mer", "{\\o}ster", "\\o ster", "D\\v{z}i\\'c", "D\\vz",
    "Fran\\c cois", "Fran\\c{c}ois", "{\\'\\i}\\~n", "\\'{\\i}", "\\L{}ukasz", "{\\AA}ngstr\\\"om",
    "$\\alpha$ Team", "a%comment\n\\ss b", "x\n\ny", "\\textbf{Bold} \\emph Name", "\\&\\_\\%",
    "Smith,,, John", "{,}", "and", " and and ", "et al.", "Smith et al", "Smith et~al.",
    "{Smith et al.}", "others", "{others}", "Jr.", "Smith, Jr.", "Smith, Jr., John",
    "van der Berg, Jan", "Jan van der Berg III", "{De Vita}, Riccardo", "Ørsted, Hans Christian",
    "Müller", "Mueller", "Ω ω ǅ ﬁ Straße İstanbul K", "x\x1cy\x1fz\x00w\u00a0v\u2003u",
    "\ud800 lone surrogate", "word " * 2000, "é" * 3000, "\\'e" * 1000, "\\textbf{" * 300,
    "A and " * 700 + "B", "{A and " * 300, "Wang~Tao", "Wang\u00a0Tao", "{Wang\tTao}",
    "{ATLAS Collaboration}", "ATLAS Collaboration and Smith, J.",
]


@functools.cache
def _corpus_fields() -> tuple[str, ...]:
    entries = corpus_bib_entries()
    fields = tuple(value for entry in entries for name in ("author", "editor")
                   if (value := entry.get(name)))
    assert len(fields) > 5000
    return fields


@functools.cache
def _corpus_names() -> tuple[str, ...]:
    names: dict[str, None] = {}
    for field in _corpus_fields():
        for raw in _split_reference(" ".join(field.split()))[0]:
            names[raw] = None
    return tuple(names)


# --------------------------------------------------------------------------- the reference
# The code the quick routes replaced. Memoised here only so that the corpus runs
# in seconds: each of these is a pure function of its arguments.

# (decode_reference, fold_reference, signed_reference: tests/author_reference.py)


def _top_level_split_reference(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(text):
        if char == "{":
            depth += 1
        elif char == "}":
            depth = max(0, depth - 1)
        elif depth == 0 and char in separator:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return parts


def _clean_reference(text: str) -> str:
    return " ".join(text.replace("{", "").replace("}", "").translate(authors._TIE_TRANS).split())


def _is_suffix_reference(word: str) -> bool:
    return _fold_reference(word) in authors._SUFFIX_WORDS


@functools.cache
def _parse_person_reference(raw: str) -> PersonName:
    text = _decode_reference(raw[:authors.MAX_NAME_CHARS]).strip()
    parts = [p.strip() for p in _top_level_split_reference(text, ",")]
    if len(parts) == 2 and _is_suffix_reference(parts[1]):
        parts, text = parts[:1], parts[0]
    if len(parts) >= 2:
        given = parts[2] if len(parts) >= 3 else parts[1]
        return PersonName(_clean_reference(parts[0]), _clean_reference(given))
    words = [w for w in _top_level_split_reference(text.translate(authors._TIE_TRANS),
                                                   " \t\r\n\f\v") if w]
    while len(words) > 1 and _is_suffix_reference(words[-1]):
        words.pop()
    if len(words) <= 1:
        return PersonName(_clean_reference(text))
    start = len(words) - 1
    for index, word in enumerate(words[:-1]):
        if authors._starts_lowercase(word):
            start = index
            break
    return PersonName(_clean_reference(" ".join(words[start:])),
                      _clean_reference(" ".join(words[:start])))


@functools.cache
def _plain_name_reference(raw: str) -> str:
    text = _decode_reference(raw).replace("{", "").replace("}", "")
    text = text.replace("~", " ")
    return "".join(c if c.isprintable() else " " for c in " ".join(text.split()))


_AND_RE = re.compile(r"[{}]|\s[Aa][Nn][Dd](?=\s)")


def _split_reference(field: str) -> tuple[list[str], bool]:
    truncated = len(field) > authors.MAX_FIELD_CHARS
    if truncated:
        field = field[:authors.MAX_FIELD_CHARS]
    names: list[str] = []
    depth = 0
    start = 0
    for match in _AND_RE.finditer(field):
        piece = match.group()
        if piece == "{":
            depth += 1
        elif piece == "}":
            depth = max(0, depth - 1)
        elif depth == 0:
            names.append(field[start:match.start()])
            start = match.end()
            if len(names) > authors.MAX_NAMES:
                return _drop_others_reference(names[:authors.MAX_NAMES], truncated=True)
    if not truncated:
        names.append(field[start:])
    return _drop_others_reference(names, truncated)


def _drop_others_reference(names: list[str], truncated: bool) -> tuple[list[str], bool]:
    kept: list[str] = []
    for name in names:
        stripped = " ".join(name.split())
        bare = " ".join(stripped.translate(authors._TIE_TRANS).strip("{}").split()).casefold()
        if not bare:
            continue
        if bare in authors._OTHERS:
            truncated = True
            continue
        shortened = authors._ET_AL_TAIL_RE.sub("", stripped)
        if shortened != stripped:
            truncated = True
        kept.append(shortened[:authors.MAX_NAME_CHARS])
    return kept, truncated


@functools.cache
def _entry_name_reference(person: PersonName, display: str) -> authors._EntryName | None:
    fold = _fold_reference
    family = authors._strip_suffix_tokens(fold(person.family[:authors.MAX_NAME_CHARS]))
    if not family or not any(c.isascii() and c.isalpha() for token in family for c in token):
        return None
    core = family
    while len(core) > 1 and core[0] in authors._PARTICLES:
        core = core[1:]
    given = fold(person.given[:authors.MAX_NAME_CHARS])
    collaboration = len(family) > 1 and bool(authors._COLLAB_WORDS.intersection(family))
    return authors._EntryName(display, family, core, given, collaboration)


def _judge_reference(names: list[tuple[PersonName, str]], signed_text: str) -> AuthorComparison:
    if not signed_text or not signed_text.strip():
        return AuthorComparison(AuthorVerdict.NOT_JUDGED, note="no signed author list")
    signed = _signed_reference(signed_text)
    if not signed.tokens:
        return AuthorComparison(AuthorVerdict.NOT_JUDGED, note="no signed author list")
    entries = [e for e in (_entry_name_reference(p, d) for p, d in names) if e is not None]
    candidates = [authors._candidates(e, signed) for e in entries]
    judged = [i for i, e in enumerate(entries) if not e.collaboration or candidates[i][1]]
    if not judged:
        note = ("only collaborations, which the signed list does not name" if entries
                else "no comparable author names")
        return AuthorComparison(AuthorVerdict.NOT_JUDGED, note=note)
    placed = authors._assign([candidates[i][0] for i in judged],
                             [candidates[i][1] for i in judged])
    missing = tuple(entries[i].display for n, i in enumerate(judged) if n not in placed)
    compared, matched = len(judged), len(judged) - len(missing)
    if matched == 0 or 2 * len(missing) > compared:
        verdict = AuthorVerdict.MISMATCH
    elif missing:
        verdict = AuthorVerdict.MINOR_DIFFERENCE
    else:
        verdict = AuthorVerdict.MATCH
    return AuthorComparison(verdict, missing, compared, matched)


def _compare_authors_reference(field: str, signed: str) -> AuthorComparison:
    if not field or not field.strip():
        return AuthorComparison(AuthorVerdict.NOT_JUDGED, note="no author field")
    raw_names, _truncated = _split_reference(field)
    names = [(_parse_person_reference(raw), _plain_name_reference(raw)) for raw in raw_names]
    return _judge_reference(names, signed)


def _compare_author_names_reference(people: Sequence[PersonName], signed: str) -> AuthorComparison:
    decode = _decode_reference
    names = []
    for person in list(people)[:authors.MAX_NAMES]:
        family = decode(person.family[:authors.MAX_NAME_CHARS])
        given = decode(person.given[:authors.MAX_NAME_CHARS])
        shown = _plain_name_reference(f"{family}, {given}" if given.strip() else family)
        names.append((PersonName(family, given), shown))
    if not names:
        return AuthorComparison(AuthorVerdict.NOT_JUDGED, note="no author names")
    return _judge_reference(names, signed)


def _assert_same(field: str, signed: str, structured: bool = True) -> AuthorComparison:
    """Both entry points against the reference (``structured``: also as CSL-JSON names)."""
    result = authors.compare_authors(field, signed)
    assert result == _compare_authors_reference(field, signed), (field[:200], signed[:200])
    if not structured:
        return result
    people = [_parse_person_reference(raw) for raw in _split_reference(field)[0]]
    assert authors.compare_author_names(people, signed) == \
        _compare_author_names_reference(people, signed), (field[:200], signed[:200])
    return result


# --------------------------------------------------------------------------- LaTeX


def test_quick_decoder_reads_latexcodecs_own_tables() -> None:
    assert ulatex.ulatex_tables() is not None  # else every name would go to the codec
    assert ulatex.decode("Kr{\\\"a}mer, \\o ster \\c{c}") == "Kr{ä}mer, øster {ç}"


def test_quick_decoder_equals_the_codec_on_every_corpus_field_and_name() -> None:
    if not CORPORA.is_dir():
        pytest.skip(f"{CORPORA} not present")
    texts = {*_corpus_fields(), *_corpus_names()}
    with_latex = [text for text in texts if "\\" in text]
    assert len(with_latex) > 2000
    for text in with_latex:
        assert ulatex.decode(text) == ulatex.decode_by_codec(text), text[:200]
        assert authors.decode_latex.__wrapped__(text) == \
            authors._decode_latex_reference(text), text[:200]


_FRAGMENTS = ["\\", "\\\\", "\\\"", "\\'", "\\`", "\\^", "\\~", "\\=", "\\.", "\\ ", "\\c",
              "\\v", "\\u", "\\H", "\\k", "\\r", "\\ss", "\\o", "\\O", "\\i", "\\j", "\\l",
              "\\aa", "\\AA", "\\ae", "\\textbf", "\\par", "\\%", "\\&", "\\{", "\\(", "\\)",
              "\\alpha", "\\mathbf", "{", "}", " ", "  ", "\n", "\t", "%", "$", "$$", "#",
              "#1", "-", "--", "---", "'", "''", "`", "``", "~", ",", ",,", "?`", "!`", "o",
              "e", "a", "i", "u", "D", "z", "Z", "c", "s", "g", "n", "x", "é", "ø", "_", "^"]


def test_quick_decoder_equals_the_codec_on_generated_latex() -> None:
    rng = random.Random(20_240_601)
    texts = ["".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(1, 14)))
             for _ in range(20_000)]
    texts += [text[:3000] for text in HOSTILE]
    for text in texts:
        assert ulatex.decode(text) == ulatex.decode_by_codec(text), text
        assert authors.decode_latex.__wrapped__(text) == authors._decode_latex_reference(text)


# --------------------------------------------------------------------------- words and names


def _assert_name_routes_agree(raw: str) -> None:
    assert authors.parse_person.__wrapped__(raw) == _parse_person_reference(raw), raw[:200]
    assert authors.plain_name.__wrapped__(raw) == _plain_name_reference(raw), raw[:200]
    for text in (raw, authors._decode_latex_reference(raw), *raw.split(",")):
        assert authors.fold_tokens.__wrapped__(text) == \
            authors._fold_tokens_general(text), text[:200]


def test_names_parse_and_fold_as_the_reference_on_every_corpus_name() -> None:
    names = _corpus_names()
    assert len(names) > 20_000
    for raw in names:
        _assert_name_routes_agree(raw)


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_names_parse_and_fold_as_the_reference_on_hostile_text(text: str) -> None:
    _assert_name_routes_agree(text)
    assert authors.split_bibtex_names(text) == _split_reference(text)


def test_ascii_folding_equals_the_general_route_for_every_character() -> None:
    every = "".join(chr(code) for code in range(128) if chr(code) != "\\")
    for text in (every, every[::-1], "Ae" + every + "oe", every.upper(), "Mueller-Goetze"):
        assert authors.fold_tokens.__wrapped__(text) == authors._fold_tokens_general(text)
    assert authors.fold_tokens("Mueller-Goetze d'Alembert") == ("muller", "gotze", "dalembert")


def test_fields_split_as_the_reference_on_every_corpus_field() -> None:
    for field in _corpus_fields():
        for text in (field, " ".join(field.split())):
            assert authors.split_bibtex_names(text) == _split_reference(text), text[:200]


def test_long_fields_are_cut_where_the_reference_cuts_them() -> None:
    for count in (authors.MAX_NAMES - 1, authors.MAX_NAMES, authors.MAX_NAMES + 1,
                  authors.MAX_NAMES + 2, 3 * authors.MAX_NAMES):
        for last in ("", " and others", " et al."):
            field = " and ".join(f"Name{i}, A." for i in range(count)) + last
            assert authors.split_bibtex_names(field) == _split_reference(field), (count, last)
    huge = "Smith, J. and " * (authors.MAX_FIELD_CHARS // 14 + 5)
    assert authors.split_bibtex_names(huge) == _split_reference(huge)
    assert authors.split_bibtex_names(huge)[1] is True


# --------------------------------------------------------------------------- comparisons


@functools.cache
def _registry(field: str, style: int) -> str:
    try:
        return registry_list(field, style)
    except Exception:  # pybtex refuses a few malformed names; then sign them as written
        return ", ".join(_plain_name_reference(raw) for raw in _split_reference(field)[0])


def _altered(signed: str, number: int) -> list[str]:
    """The list with a name removed, one family name changed, and the order reversed."""
    names = signed.split(", ")
    removed = names[:number % len(names)] + names[number % len(names) + 1:]
    changed = list(names)
    changed[number % len(names)] = changed[number % len(names)].rsplit(" ", 1)[0] + " Qzxvort"
    return [", ".join(removed), ", ".join(changed), ", ".join(reversed(names))]


def test_comparisons_equal_the_reference_on_every_corpus_field() -> None:
    fields = [" ".join(field.split()) for field in _corpus_fields()]
    quick = 0
    verdicts: dict[AuthorVerdict, int] = {}
    for number, field in enumerate(fields):
        own = _registry(field, number % 3)
        following = _registry(fields[(number + 1) % len(fields)], (number + 1) % 3)
        for n, signed in enumerate((own, following, *_altered(own, number))):
            result = _assert_same(field, signed, structured=n < 2)
            verdicts[result.verdict] = verdicts.get(result.verdict, 0) + 1
        raw_names = authors.split_bibtex_names(field)[0]
        words = [authors._entry_words(authors.parse_person(raw)) for raw in raw_names]
        quick += authors._each_name_signed(words, authors._signed_names(own))
    assert quick > 0.8 * len(fields)  # the quick route is what was compared, mostly
    assert verdicts[AuthorVerdict.MISMATCH] > 0.1 * len(fields)
    assert verdicts[AuthorVerdict.MINOR_DIFFERENCE] > 0.05 * len(fields)


def _family_list(given: Sequence[str], family: str = "Wang") -> str:
    return " and ".join(f"{family}, {name}" for name in given)


def _signed_list(given: Sequence[str], family: str = "Wang") -> str:
    return ", ".join(f"{name} {family}" for name in given)


GIVEN = [f"{letter}{suffix}" for suffix in ("an", "ei") for letter in "ABCDEFGHIJKLMNOPQRSTUVW"]
MANY = authors.MAX_CANDIDATES

ADVERSARIAL = [
    (_family_list(GIVEN[:MANY]), _signed_list(GIVEN[:MANY])),
    (_family_list(GIVEN[:MANY + 1]), _signed_list(GIVEN[:MANY + 1])),
    (_family_list(GIVEN[:MANY + 5]), _signed_list(GIVEN[:MANY + 5][::-1])),
    (_family_list(GIVEN[:MANY + 5]), _signed_list(GIVEN[:MANY])),
    (_family_list(GIVEN[:MANY]), _signed_list(GIVEN[:MANY + 5])),
    (_family_list(GIVEN[:3]), _signed_list(GIVEN[:MANY + 5])),
    (_family_list(GIVEN[:MANY + 5]), _signed_list(GIVEN[5:MANY + 10])),
    (_family_list(["A."] * (MANY + 3)), _signed_list(GIVEN[:MANY + 3])),
    (_family_list(GIVEN[:4]), _signed_list(["Xi"] * 30)),
    (_family_list(GIVEN[:4]) + " and " + _family_list(GIVEN[:4], "Li"),
     _signed_list(GIVEN[:40]) + ", " + _signed_list(GIVEN[:2], "Li")),
    ("Fox, Judy and Fox, Geoffrey", "Geoffrey Fox"),
    ("Fox, Judy and Fox, Judy", "Judy Fox"),
    ("Fox, Judy and Fox, Judy", "Judy Fox, Judy Fox"),
    ("Fox, Judy and Fox, Geoffrey", "Geoffrey Fox, Judy Fox"),
    ("Fox, G. and Fox, J.", "Judy Fox, Geoffrey Fox"),
    ("Li, Fei-Fei and Wang, Tao", "Fei-Fei Li, Tao Wang"),
    ("Fei-Fei, Li and Tao Wang", "Li Feifei, Wang Tao"),
    ("{De Vita}, Riccardo and van der Berg, Jan", "Riccardo DeVita, Jan van der Berg"),
    ("Santiago Akle Serrano and Evans II, Neal J.", "Neal J. Evans II, Santiago Akle Serrano"),
    ("{ATLAS Collaboration}", "ATLAS Collaboration"),
    ("{ATLAS Collaboration}", "Jane Smith, John Doe"),
    ("{ATLAS Collaboration} and Smith, Jane", "Jane Smith"),
    ("{ATLAS Collaboration} and Smith, Jane", "Jane Smith, The ATLAS Collaboration"),
    ("Smith, Jane and others", "Jane Smith, John Doe"),
    ("Smith, Jane and Doe, John and others", "Jane Smith"),
    ("Smith, Jane et al.", "Jane Smith"),
    ("M{\\\"u}ller, Hans and Mueller, Hans", "Hans M\\\"uller, Hans Mueller"),
    ("M{\\\"u}ller, Hans and Mueller, Hans", "Hans M\\\"uller"),
    ("Ørsted, H. C. and {\\O}rsted, A.", "Hans Christian Oersted, A. Orsted"),
    ("Wang, Tao", "Wang Tao"),
    ("Wang, Tao and Wang, Tao", "Wang Tao, Tao Wang"),
    ("Smith, Jr., John and Smith, John", "John Smith Jr., John Smith"),
    ("Zhang, 3 and Li, 4", "San Zhang, Si Li"),
    ("Иванов, Иван and Smith, J.", "Ivan Ivanov, J. Smith"),
    ("Иванов, Иван", "Ivan Ivanov"),
    ("Smith, J.", ""),
    ("Smith, J.", " , ; ( ) "),
    ("", "J. Smith"),
]


@pytest.mark.parametrize(("field", "signed"), ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_comparisons_equal_the_reference_on_adversarial_lists(field: str, signed: str) -> None:
    _assert_same(field, signed)
    reversed_signed = ", ".join(reversed(signed.split(", ")))
    _assert_same(field, reversed_signed)


def test_adversarial_lists_still_decide_what_they_should() -> None:
    same_family = _family_list(GIVEN[:MANY + 5])
    assert authors.compare_authors(same_family, _signed_list(GIVEN[:MANY + 5])).verdict \
        is AuthorVerdict.MATCH
    short = authors.compare_authors(same_family, _signed_list(GIVEN[:MANY]))
    assert short.verdict is AuthorVerdict.MINOR_DIFFERENCE
    assert len(short.missing) == 5
    twice = authors.compare_authors("Fox, Judy and Fox, Judy", "Judy Fox")
    assert (twice.verdict, twice.missing) == (AuthorVerdict.MINOR_DIFFERENCE, ("Fox, Judy",))
    named = authors.compare_author_names([PersonName("M\\\"uller", "Hans")], "Jane Smith")
    assert (named.verdict, named.missing) == (AuthorVerdict.MISMATCH, ("Müller, Hans",))


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_comparisons_equal_the_reference_on_hostile_text(text: str) -> None:
    for field, signed in ((text, "J. Smith, A. Müller"), ("Smith, J. and Müller, A.", text),
                          (text, text), (text[:500] + " and Smith, J.", "J. Smith, " + text)):
        _assert_same(field, signed)
    people = [PersonName(text[:300], text[:50]), PersonName(text[:300])]
    assert authors.compare_author_names(people, "J. Smith") == \
        _compare_author_names_reference(people, "J. Smith")


# --------------------------------------------------------------------------- the signed list


_AND_FRAGMENTS = ["and", "AND", "And", "aNd", " and ", "\tand\n", " & ", "&", " &", "& ",
                  "\u00a0and\u00a0", "\u2003&\u2003", "ands", "sand", "Alexander", "Sandra",
                  ",", ";", "(", ")", " ", "  ", "Jane Smith", "J. Doe", "\\'e", "é", "\u212a"]


def _split_texts() -> list[str]:
    rng = random.Random(20_240_602)
    texts = ["".join(rng.choice(_AND_FRAGMENTS) for _ in range(rng.randint(1, 12)))
             for _ in range(20_000)]
    return texts + HOSTILE + [text.upper() for text in HOSTILE]


def test_signed_lists_split_as_the_pattern_on_generated_and_hostile_text() -> None:
    for text in _split_texts():
        assert authors._signed_pieces(text) == authors._SIGNED_SPLIT_RE.split(text), text[:200]


def test_signed_lists_split_as_the_pattern_on_every_corpus_list() -> None:
    fields = [" ".join(field.split()) for field in _corpus_fields()]
    for number, field in enumerate(fields):
        signed = _registry(field, number % 3)
        for text in (signed, field):
            assert authors._signed_pieces(text) == authors._SIGNED_SPLIT_RE.split(text), \
                text[:200]


def test_only_the_ascii_letters_of_and_match_the_separator_pattern() -> None:
    """Why :func:`authors._signed_pieces` may test for ``and`` in the lower-cased text."""
    letters = {char: {chr(code) for code in range(0x110000)
                      if re.fullmatch(re.escape(char), chr(code), re.IGNORECASE)}
               for char in "and&"}
    assert letters == {"a": {"a", "A"}, "n": {"n", "N"}, "d": {"d", "D"}, "&": {"&"}}


def _signed_name_reference(piece: str) -> tuple[str, ...]:
    tokens = authors._strip_suffix_tokens(_fold_reference(_decode_reference(piece)))
    return tokens if tokens and tokens[-1] not in authors._SUFFIXES else ()


def test_signed_names_fold_as_the_reference_on_every_corpus_name_and_hostile_text() -> None:
    pieces = {piece.strip()[:authors.MAX_NAME_CHARS]
              for text in (*_corpus_names(), *_split_texts())
              for piece in authors._SIGNED_SPLIT_RE.split(text)}
    assert len(pieces) > 20_000
    for piece in pieces:
        assert authors._signed_name.__wrapped__(piece) == _signed_name_reference(piece), piece


# --------------------------------------------------------------------------- structured names


def test_structured_names_are_cut_and_decoded_as_the_reference() -> None:
    limit = authors.MAX_NAME_CHARS
    for text in ("a" * (limit - 1) + "\\'e", "a" * limit + "\\'e", "a" * (limit - 2) + "\\'e",
                 "a" * (limit + 5), "a" * limit, "\\'e" * limit, "Plain", "", *HOSTILE):
        assert authors._decoded(text) == authors.decode_latex(text[:limit]), text[:200]
        people = [PersonName(text, text[:40]), PersonName("Smith", text), PersonName(text)]
        for signed in ("J. Smith, " + text[:400], text[:400], "A. " + text[-400:]):
            assert authors.compare_author_names(people, signed) == \
                _compare_author_names_reference(people, signed), (text[:200], signed[:200])


def _csl_people() -> list[list[PersonName]]:
    people: list[list[PersonName]] = []
    for path in sorted(CORPORA.rglob("*.json")):
        try:
            items = csljson.parse(path.read_bytes(), str(path)).items
        except CslJsonError:
            continue
        people.extend([PersonName(f, g) for f, g in item.authors] for item in items)
    return [names for names in people if names]


def test_csl_json_names_compare_as_the_reference_on_every_corpus_item() -> None:
    if not CORPORA.is_dir():
        pytest.skip(f"{CORPORA} not present")
    people = _csl_people()
    assert len(people) > 10
    for number, names in enumerate(people):
        own = ", ".join(_plain_name_reference(f"{p.given} {p.family}") for p in names)
        following = people[(number + 1) % len(people)]
        other = ", ".join(_plain_name_reference(f"{p.given} {p.family}") for p in following)
        for signed in (own, other, *_altered(own, number)):
            assert authors.compare_author_names(names, signed) == \
                _compare_author_names_reference(names, signed), (names, signed)
