"""Config file + environment + flags → one :class:`Settings`, resolved once per run.

Every command takes the same object, so two commands can never disagree about
which keys are trusted or which fields are ours (``verify`` once ignored the
keys ``annotate`` honoured). Every value is validated here, up front, with a
one-line error naming the key: a bad value must never surface later as a
traceback. Precedence: flags over environment over the config file.
"""

from __future__ import annotations

import math
import os
import string
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Config, find_config
from .entry_query import FieldNames
from .errors import ConfigError, UsageError
from .policy import AUTHOR_CHECK_MODES, Policy, entry_policy
from .trust import TrustRoot

if TYPE_CHECKING:
    from .cache import Cache
    from .derived_hints import ArxivHints
    from .mirrors import Mirror
    from .resolver import Resolver

REGISTRY_URL = "https://pith.science"
# Sized so a cold run is bound by round trips, not by these limits: 250 requests a
# second spaced evenly capped 1,000 identifiers at 4 s (issue 14); 32 connections
# keep a 50 ms link busy without the threads fighting over the GIL for the verifying.
DEFAULT_JOBS = 32
DEFAULT_PER_HOST = 32
DEFAULT_RATE = 1000.0
TRUST_KEYS_ENV = "PITH_BIB_TRUST_KEYS"
ARXIV_API_ENV = "PITH_BIB_ARXIV_API"
ARXIV_API = "https://export.arxiv.org"
LOOKUP_FIELDS = frozenset({"base", "kind", "value"})


@dataclass
class Settings:
    """Everything a run is configured with; build the resolver, cache and policy from it."""

    mirrors: list[str] = field(default_factory=lambda: [REGISTRY_URL])
    offline: bool = False
    cache_dir: Path | None = None
    trust_keys: list[str] = field(default_factory=list)
    trust_key_origins: dict[str, str] = field(default_factory=dict)
    jobs: int = DEFAULT_JOBS
    per_host: int = DEFAULT_PER_HOST
    rate: float = DEFAULT_RATE
    lookup_pattern: str | None = None
    contact: str | None = None
    timeout: float = 15.0
    deadline: float = 30.0
    retries: int = 3
    fields: FieldNames = field(default_factory=FieldNames)
    lock: Path | None = None
    check_titles: bool = True
    author_check: str = "fail"
    config_path: Path | None = None
    arxiv_api: str = ARXIV_API
    derive: bool = True
    zotero_library: str | None = None
    zotero_api_key_env: str = "ZOTERO_API_KEY"
    zotero_base_url: str = "https://api.zotero.org"

    def trust_root(self) -> TrustRoot:
        trust = TrustRoot.default()
        for key in self.trust_keys:
            trust = trust.with_hex_key(key, origin=self.trust_key_origins.get(key, "settings"))
        return trust

    def policy(self) -> Policy:
        return entry_policy(check_titles=self.check_titles, author_check=self.author_check)

    def cache(self) -> Cache:
        from .cache import Cache

        return Cache(self.cache_dir)

    def build_mirrors(self) -> list[Mirror]:
        from .document_index_store import DocumentIndexStore
        from .mirrors import HostLimits, HttpSettings, make_mirror, make_session

        limits = HostLimits(per_host=self.per_host, rate=self.rate)
        http = HttpSettings(read_timeout=self.timeout, deadline=self.deadline)
        session = None

        def shared_session() -> Any:
            nonlocal session
            if session is None:
                session = make_session(retries=self.retries, contact=self.contact,
                                       pool=max(self.per_host, 4))
                freeze_environment(session, os.environ)
            return session

        store = DocumentIndexStore(self._user_cache_dir() / "local-mirror-index")
        return [make_mirror(spec, shared_session, limits, http, self.lookup_pattern, store)
                for spec in self.mirrors
                if not (self.offline and spec.startswith(("http://", "https://")))]

    def resolver(self) -> Resolver:
        from .resolver import Resolver

        return Resolver(self.build_mirrors(), self.cache(), trust=self.trust_root(),
                        offline=self.offline, jobs=self.jobs, hints=self.arxiv_hints())

    def arxiv_hints(self) -> ArxivHints | None:
        """Derivation from arXiv's metadata, unless switched off; stored in the user cache."""
        if not self.derive:
            return None
        from .derived_hints import ArxivHints

        store = self._user_cache_dir() / "arxiv-metadata"
        return ArxivHints.create(base=self.arxiv_api, store_dir=store, offline=self.offline)

    def _user_cache_dir(self) -> Path:
        from .cache import default_cache_dir

        return self.cache_dir or default_cache_dir()

    def lock_path_for(self, bib_path: Path) -> Path:
        from .lock import default_lock_path

        return self.lock if self.lock is not None else default_lock_path(bib_path)

    def trust_lines(self) -> list[str]:
        """What every run prints: each key trusted beyond the built-in one, each check
        turned down. Both can come from a pull request, so neither may be silent."""
        lines = [f"trusting extra key {k.fingerprint} ({k.label}) from {k.origin}"
                 for k in self.trust_root().extra_keys]
        where = f" (set in {self.config_path})" if self.config_path else ""
        if not self.check_titles:
            lines.append(f"the title check is off{where}")
        if self.author_check != "fail":
            lines.append(f"the author check is {self.author_check}{where}")
        return lines


# What requests reads from the environment on every request when ``trust_env`` is set.
_CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def freeze_environment(session: Any, environ: Mapping[str, str]) -> None:
    """Read once what requests would re-read before every request, when that is the same.

    Why: with ``trust_env`` requests re-reads the proxy variables and the CA
    bundle variables and looks for ``~/.netrc`` before each request (about
    0.5 ms each, a sixth of a cold run's CPU). On Linux, with no proxy
    variable, no ``NETRC`` and no netrc file, what it would find is only the
    CA bundle, which is set once on the session instead: the same requests.
    Otherwise (proxies, netrc, other platforms' system settings) it keeps reading.
    """
    if not sys.platform.startswith("linux"):
        return  # macOS and Windows also read system proxy settings
    if any(name.lower().endswith("_proxy") or name == "NETRC" for name in environ):
        return
    home = Path(os.path.expanduser("~"))
    if any((home / name).exists() for name in (".netrc", "_netrc")):
        return
    bundle = next((environ[n] for n in _CA_BUNDLE_VARIABLES if environ.get(n)), None)
    if bundle is not None and session.verify is True:
        session.verify = bundle
    session.trust_env = False


# -- building it ------------------------------------------------------------------------
_PLAIN_KEYS = ("lookup_pattern", "jobs", "per_host", "rate", "contact", "offline", "timeout",
               "deadline", "check_titles", "author_check", "arxiv_api", "derive",
               "zotero_library")


def _from_config(settings: Settings, config: Config) -> None:
    for key in _PLAIN_KEYS:
        value = config.get(key)
        if value is not None:
            setattr(settings, key, value)
    base = config.path.parent if config.path else Path.cwd()
    if config.get("mirrors"):
        settings.mirrors = [m if "://" in m else str((base / m).resolve())
                            for m in config.get("mirrors")]
    if config.get("lock"):
        settings.lock = config.relative("lock")
    settings.fields = FieldNames(pith=config.get("field", "pith"),
                                 status=config.get("status_field", "pith_status"))
    settings.config_path = config.path


def _from_environment(settings: Settings, environ: Mapping[str, str]) -> None:
    from .cache import CACHE_ENV

    if environ.get(CACHE_ENV):
        settings.cache_dir = Path(environ[CACHE_ENV])
    if environ.get(ARXIV_API_ENV):
        settings.arxiv_api = environ[ARXIV_API_ENV]
    for key in environ.get(TRUST_KEYS_ENV, "").replace(",", " ").split():
        settings.trust_keys.append(key)
        settings.trust_key_origins[key] = f"${TRUST_KEYS_ENV}"


def _from_flags(settings: Settings, flags: Any) -> None:
    if getattr(flags, "mirror", None):
        settings.mirrors = list(flags.mirror)
    if getattr(flags, "offline", False):
        settings.offline = True
    if getattr(flags, "cache_dir", None):
        settings.cache_dir = Path(flags.cache_dir)
    for key in getattr(flags, "trust_key", None) or []:
        settings.trust_keys.append(key)
        settings.trust_key_origins[key] = "--trust-key"
    if getattr(flags, "jobs", None):
        settings.jobs = flags.jobs
    if getattr(flags, "lock", None):
        settings.lock = Path(flags.lock)
    if getattr(flags, "arxiv_api", None):
        settings.arxiv_api = flags.arxiv_api
    if getattr(flags, "no_derive", False):
        settings.derive = False
    for name in ("zotero_library", "zotero_base_url"):
        if getattr(flags, name, None):
            setattr(settings, name, getattr(flags, name))


def _check_number(value: Any, key: str, *, minimum: float, whole: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            (whole and not isinstance(value, int)) or math.isnan(value) or value < minimum:
        kind = "a whole number" if whole else "a number"
        raise ConfigError(f"{key} must be {kind} of at least {minimum}, not {value!r}")


def validate(settings: Settings) -> Settings:
    """Refuse every value that would fail later, naming its key."""
    _check_number(settings.jobs, "jobs", minimum=1, whole=True)
    _check_number(settings.per_host, "per_host", minimum=1, whole=True)
    _check_number(settings.rate, "rate", minimum=0)
    _check_number(settings.timeout, "timeout", minimum=0.001)
    _check_number(settings.deadline, "deadline", minimum=0.001)
    if settings.author_check not in AUTHOR_CHECK_MODES:
        raise ConfigError(f"author_check must be one of {', '.join(AUTHOR_CHECK_MODES)}, "
                          f"not {settings.author_check!r}")
    if settings.lookup_pattern is not None:
        _check_lookup_pattern(settings.lookup_pattern)
    for key in ("arxiv_api", "zotero_base_url"):
        if not str(getattr(settings, key)).startswith(("http://", "https://")):
            raise ConfigError(f"{key} must be an http(s) URL, not {getattr(settings, key)!r}")
    try:
        settings.trust_root()
    except UsageError as exc:
        raise ConfigError(str(exc)) from None
    except ValueError as exc:
        raise ConfigError(f"trust key: {exc}") from None
    return settings


def _check_lookup_pattern(pattern: str) -> None:
    try:
        fields = [(name, spec, conversion) for _, name, spec, conversion
                  in string.Formatter().parse(pattern) if name is not None]
    except ValueError as exc:
        raise ConfigError(f"lookup_pattern {pattern!r}: {exc}") from None
    names = {name for name, _, _ in fields}
    if any(spec or conversion for _, spec, conversion in fields):  # {value:>1500000000}
        raise ConfigError(f"lookup_pattern {pattern!r}: placeholders take no format "
                          "spec or conversion")
    unknown = names - LOOKUP_FIELDS
    if unknown or "base" not in names:
        raise ConfigError(f"lookup_pattern {pattern!r} may use only {{base}}, {{kind}} and "
                          "{value}, and must start from {base}")


def load_settings(flags: Any = None, *, start: Path | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """The one call that turns config file + environment + flags into ``Settings``.

    ``start`` is where the config search begins (the first input file's folder,
    else the working directory).
    """
    settings = Settings()
    _from_config(settings, find_config(start or Path.cwd()))
    _from_environment(settings, os.environ if environ is None else environ)
    if flags is not None:
        _from_flags(settings, flags)
    return validate(settings)
