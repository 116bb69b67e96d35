"""Everything a run can be configured with, and the objects built from it.

Command-line flags and config files both end up here, so the resolver, cache
and trust root are built the same way by every command.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .cache import Cache
from .mirrors import REGISTRY_URL, HostLimits, HttpSettings, Mirror, make_mirror, make_session
from .resolver import DEFAULT_JOBS, Resolver
from .trust import TrustRoot

DEFAULT_PER_HOST = 16
DEFAULT_RATE = 250.0


@dataclass
class Settings:
    mirrors: list[str] = field(default_factory=lambda: [REGISTRY_URL])
    offline: bool = False
    cache_dir: Path | None = None
    trust_keys: list[str] = field(default_factory=list)
    jobs: int = DEFAULT_JOBS
    per_host: int = DEFAULT_PER_HOST
    rate: float = DEFAULT_RATE
    lookup_pattern: str | None = None
    contact: str | None = None
    timeout: float = 15.0
    deadline: float = 30.0
    retries: int = 3

    def trust_root(self) -> TrustRoot:
        trust = TrustRoot.default()
        for key in self.trust_keys:
            trust = trust.with_hex_key(key)
        return trust

    def cache(self) -> Cache:
        return Cache(self.cache_dir)

    def build_mirrors(self) -> list[Mirror]:
        limits = HostLimits(per_host=self.per_host, rate=self.rate)
        http = HttpSettings(read_timeout=self.timeout, deadline=self.deadline)
        session = None

        def shared_session():  # type: ignore[no-untyped-def]
            nonlocal session
            if session is None:
                session = make_session(retries=self.retries, contact=self.contact,
                                       pool=max(self.per_host, 4))
            return session

        mirrors = []
        for spec in self.mirrors:
            if self.offline and spec.startswith(("http://", "https://")):
                continue  # offline: no HTTP mirror is even constructed
            mirrors.append(make_mirror(spec, shared_session, limits, http, self.lookup_pattern))
        return mirrors

    def resolver(self, known: Mapping[tuple[str, str], str] | None = None) -> Resolver:
        return Resolver(self.build_mirrors(), self.cache(), self.trust_root(),
                        offline=self.offline, known=known, jobs=self.jobs)
