"""The author comparison's general route, kept for the equivalence tests to compare with.

The code the quick routes replaced (LaTeX through the codec, words folded the
general way, no per-name caches). Memoised here only so that a corpus runs in
seconds: each of these is a pure function of its arguments.
"""

from __future__ import annotations

import functools

from pith_bib import authors

decode_reference = functools.cache(authors._decode_latex_reference)
fold_reference = functools.cache(authors._fold_tokens_general)


def signed_reference(text: str) -> authors._Signed:
    names: list[tuple[str, ...]] = []
    for piece in authors._SIGNED_SPLIT_RE.split(text[:authors.MAX_SIGNED_CHARS]):
        decoded = decode_reference(piece.strip()[:authors.MAX_NAME_CHARS])
        tokens = authors._strip_suffix_tokens(fold_reference(decoded))
        if tokens and tokens[-1] not in authors._SUFFIXES:
            names.append(tokens)
            if len(names) >= authors.MAX_SIGNED_NAMES:
                break
    index: dict[str, list[int]] = {}
    for position, tokens in enumerate(names):
        keys = set(tokens) | {"".join(tokens[i:]) for i in range(1, len(tokens) - 1)}
        for key in keys:
            index.setdefault(key, []).append(position)
    collaborations = frozenset(i for i, t in enumerate(names)
                               if authors._COLLAB_WORDS.intersection(t))
    return authors._Signed(tuple(names), {k: tuple(v) for k, v in index.items()},
                           collaborations)
