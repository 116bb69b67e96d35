"""Candidate pith numbers for arXiv ids, derived from arXiv's own metadata.

No published route maps an arXiv id to a pith number, but the number is a
hash of a record built from arXiv's metadata (``derive.py``), so it can be
computed. A derived number is a hint like any other: the resolver fetches its
bundle from the mirrors, verifies it and asks the policy, exactly as for a
number an alias index named. Two things are guessed and therefore tried in a
bounded order: the license (the arXiv API does not give it) and the version
(the registry may have built its record before the latest revision).

Requests to arXiv: one Atom API request per 100 ids, at most one request
every 3 seconds on one connection (``arxiv.RateGate``), and none at all for
ids whose metadata is stored in the user cache or when offline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import PithBibError

if TYPE_CHECKING:
    from .arxiv import ArxivFailure, CachedSource
    from .derive import ArxivMetadata

MAX_VERSIONS = 2  # the latest version and the one before it
MAX_DERIVED_CANDIDATES = 20  # licenses x versions; each costs one bundle fetch at most


@dataclass
class Hints:
    """What derivation offers for one arXiv id: candidates in order, and why if none."""

    candidates: list[tuple[str, str]] = field(default_factory=list)  # (pith ID, label)
    latest_version: int | None = None
    failure: str | None = None

    def describe_miss(self, arxiv_id: str) -> str:
        """The reason an entry shows when no derived number exists, naming the version."""
        if self.failure is not None:
            return f"could not derive a pith number from arXiv's metadata: {self.failure}"
        return (f"derived {len(self.candidates)} candidate pith numbers from arXiv's metadata "
                f"for {arxiv_id} (v{self.latest_version} and earlier); no mirror has any of "
                f"them (the registry may not hold this paper, or its record predates "
                f"v{self.latest_version})")


class ArxivHints:
    """Derives candidates for many ids at once from a (cached) arXiv metadata source."""

    def __init__(self, source: CachedSource | Callable[[], CachedSource], *,
                 max_versions: int = MAX_VERSIONS,
                 max_candidates: int = MAX_DERIVED_CANDIDATES) -> None:
        self._source = source
        self.max_versions = max_versions
        self.max_candidates = max_candidates

    @classmethod
    def create(cls, *, base: str, store_dir: Path | None, offline: bool) -> ArxivHints:
        """Hints whose arXiv client (and XML and HTTP modules) load on first use only.

        A warm run whose every entry is cached never needs them.
        """

        def source() -> CachedSource:
            from .arxiv import make_arxiv_source

            return make_arxiv_source(base=base, method="atom", store_dir=store_dir,
                                     offline=offline)

        return cls(source)

    @property
    def source(self) -> CachedSource:
        if callable(self._source):
            self._source = self._source()
        return self._source

    def for_ids(self, arxiv_ids: Sequence[str]) -> dict[str, Hints]:
        """Hints for every id (a failure for one id never affects another)."""
        try:
            answers = self.source.fetch(list(dict.fromkeys(arxiv_ids)))
        except PithBibError as exc:  # the source promises not to raise; fail closed anyway
            return {i: Hints(failure=str(exc)) for i in arxiv_ids}
        return {i: self._hints(answers.get(i)) for i in arxiv_ids}

    def _hints(self, answer: ArxivMetadata | ArxivFailure | None) -> Hints:
        from .derive import ArxivMetadata, derive_candidates

        if not isinstance(answer, ArxivMetadata):
            return Hints(failure=answer.reason if answer is not None else "no answer")
        try:
            derived = derive_candidates(answer, max_versions=self.max_versions,
                                        max_candidates=self.max_candidates)
        except PithBibError as exc:
            return Hints(failure=str(exc))
        return Hints([(c.pith_number.rsplit(":", 1)[-1], f"derived from arXiv v{c.version}")
                      for c in derived], answer.latest_version)
