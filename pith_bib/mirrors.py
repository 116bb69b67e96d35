"""Where documents come from: the registry, other HTTP(S) mirrors, local directories.

A mirror is a source of bytes, never of trust: everything it returns goes to
the verifier, and URLs found inside documents (``links``, ``mirror_hints``)
are never followed. HTTP fetching is defensive because a registry under load,
a captive portal or a hostile mirror all look the same from here: bounded
retries with backoff (honouring a capped ``Retry-After``), connect/read
timeouts plus an overall deadline, a hard size cap while streaming, a checked
``Content-Type``, and at most three redirects that never leave the host or
drop from https to http.

Layout shared by every mirror (the registry's own paths):

- ``pith/<ID>/bundle.json`` and ``pith/<ID>/state.json``
- ``aliases/<kind>/<value>``: a plain-text body naming the pith number, where
  ``kind`` is ``arxiv`` (id without version), ``arxiv_version`` (``<id>vN``) or
  ``doi`` (lower case). Any static web server can host it.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urljoin, urlsplit

from . import __version__
from .errors import FetchError, UsageError

if TYPE_CHECKING:
    import requests

REGISTRY_URL = "https://pith.science"
# No lookup route has been published by the registry; this pattern is a guess
# (see README). Whatever it answers is verified like everything else.
DEFAULT_LOOKUP_PATTERN = "{base}/api/lookup?{kind}={value}"
PROJECT_URL = "https://github.com/pith-science/pith-bib"
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
MAX_ALIAS_BYTES = 64 * 1024
MAX_REDIRECTS = 3
RETRY_AFTER_CAP = 10.0
DOCUMENT_TYPES = ("application/json", "application/ld+json", "text/json")
_PITH_ID_RE = re.compile(r"[A-Z2-7]{26}")
_PITH_IN_TEXT_RE = re.compile(r"pith:\d{4}:[A-Z2-7]{26}")
ALIAS_KINDS = ("arxiv", "arxiv_version", "doi")


class Mirror(Protocol):
    """What the resolver needs of a source of documents."""

    label: str
    is_local: bool

    def fetch(self, pith_id: str, kind: str) -> bytes | None:
        """The bytes of ``pith/<ID>/<kind>.json``, None when the mirror has none."""
        ...

    def lookup(self, kind: str, value: str) -> list[str]:
        """Pith numbers this mirror claims for an alias (unverified claims)."""
        ...

    def complete(self, prefix: str) -> list[str]:
        """Full IDs starting with a short prefix, where the mirror can list them."""
        ...


def _check_pith_id(pith_id: str) -> None:
    if not _PITH_ID_RE.fullmatch(pith_id):
        raise FetchError(f"not a 26-character pith ID: {pith_id!r}")


def alias_path(kind: str, value: str) -> str:
    """``aliases/<kind>/<value>`` with the value made safe for a URL or a file path."""
    if kind not in ALIAS_KINDS:
        raise UsageError(f"unknown alias kind {kind!r}")
    text = quote(value.strip().lower(), safe="/:;()-._~")
    if any(part in ("", ".", "..") for part in text.split("/")):
        raise UsageError(f"alias value {value!r} cannot be used as a path")
    return f"aliases/{kind}/{text}"


def pith_numbers_in(text: str) -> list[str]:
    return list(dict.fromkeys(_PITH_IN_TEXT_RE.findall(text)))


class LocalMirror:
    """A directory laid out like the registry; it indexes its own documents' aliases."""

    is_local = True

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise UsageError(f"mirror directory {str(self.root)!r} does not exist")
        self.label = str(self.root)
        self._index: dict[tuple[str, str], list[str]] | None = None
        self._lock = threading.Lock()

    def fetch(self, pith_id: str, kind: str) -> bytes | None:
        _check_pith_id(pith_id)
        path = self.root / "pith" / pith_id / f"{kind}.json"
        try:
            if path.stat().st_size > MAX_DOCUMENT_BYTES:
                raise FetchError(f"{path}: larger than {MAX_DOCUMENT_BYTES} bytes")
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise FetchError(f"{path}: {exc.strerror or exc}") from None

    def _build_index(self) -> dict[tuple[str, str], list[str]]:
        index: dict[tuple[str, str], list[str]] = {}
        folder = self.root / "pith"
        if not folder.is_dir():
            return index
        for doc_dir in sorted(folder.iterdir()):
            if not _PITH_ID_RE.fullmatch(doc_dir.name):
                continue
            for name in ("bundle.json", "state.json"):
                try:
                    doc = json.loads((doc_dir / name).read_bytes())
                except (OSError, ValueError):
                    continue
                for kind, value in _claimed_aliases(doc):
                    ids = index.setdefault((kind, value.lower()), [])
                    if doc_dir.name not in ids:
                        ids.append(doc_dir.name)
        return index

    def lookup(self, kind: str, value: str) -> list[str]:
        with self._lock:
            if self._index is None:
                self._index = self._build_index()
        found = [f"pith:{pid}" for pid in self._index.get((kind, value.lower()), [])]
        try:
            text = (self.root / alias_path(kind, value)).read_text("utf-8")[:MAX_ALIAS_BYTES]
            found += pith_numbers_in(text)
        except (OSError, UnicodeDecodeError, UsageError):
            pass
        return list(dict.fromkeys(found))

    def complete(self, prefix: str) -> list[str]:
        folder = self.root / "pith"
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir()
                      if p.name.startswith(prefix) and _PITH_ID_RE.fullmatch(p.name))


def _claimed_aliases(doc: Any) -> Iterator[tuple[str, str]]:
    """Aliases a document claims; only hints for finding it, checked after verification."""
    if not isinstance(doc, dict):
        return
    aliases = doc.get("source_aliases")
    if aliases is None and isinstance(doc.get("current"), dict):
        aliases = doc["current"].get("source_aliases")
    for alias in aliases if isinstance(aliases, list) else []:
        if isinstance(alias, dict) and isinstance(alias.get("alias_value"), str) \
                and alias.get("alias_kind") in ALIAS_KINDS:
            yield alias["alias_kind"], alias["alias_value"]


class HostLimits:
    """Per-host concurrency and request rate, shared by every worker of a run."""

    def __init__(self, per_host: int = 16, rate: float = 250.0) -> None:
        self.per_host = max(1, per_host)
        self.rate = rate
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._next_time: dict[str, float] = {}
        self._lock = threading.Lock()

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        with self._lock:
            semaphore = self._slots.setdefault(host, threading.BoundedSemaphore(self.per_host))
        with semaphore:
            if self.rate > 0:
                with self._lock:
                    now = time.monotonic()
                    start = max(now, self._next_time.get(host, now))
                    self._next_time[host] = start + 1.0 / self.rate
                if start > now:
                    time.sleep(start - now)
            yield


def user_agent(contact: str | None = None) -> str:
    extra = f"; mailto:{contact}" if contact else ""
    return f"pith-bib/{__version__} (+{PROJECT_URL}{extra})"


def make_session(*, retries: int = 3, backoff: float = 0.5, pool: int = 32,
                 contact: str | None = None) -> requests.Session:
    """One pooled session per run, retrying 429/5xx with backoff, jitter and Retry-After."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util import Retry

    class _CappedRetry(Retry):
        def get_retry_after(self, response: Any) -> float | None:
            value = super().get_retry_after(response)
            return None if value is None else min(value, RETRY_AFTER_CAP)

    retry = _CappedRetry(
        total=retries, connect=retries, read=retries, status=retries, redirect=0,
        backoff_factor=backoff, backoff_jitter=backoff / 2, backoff_max=RETRY_AFTER_CAP,
        status_forcelist=(429, 500, 502, 503, 504), allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_connections=pool, pool_maxsize=pool)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = user_agent(contact)
    session.trust_env = True
    return session


@dataclass
class HttpSettings:
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    deadline: float = 30.0
    max_bytes: int = MAX_DOCUMENT_BYTES


class HttpMirror:
    """A registry-shaped HTTP(S) server."""

    is_local = False

    def __init__(self, base_url: str, session: requests.Session, limits: HostLimits,
                 settings: HttpSettings | None = None,
                 lookup_pattern: str | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"mirror {base_url!r} is not an http(s) URL or a directory")
        self.base = base_url.rstrip("/")
        self.label = self.base
        self.host = parts.netloc
        self.scheme = parts.scheme
        self.session = session
        self.limits = limits
        self.settings = settings or HttpSettings()
        self.lookup_pattern = lookup_pattern
        # Set once a connection to the host failed after every retry: the rest
        # of the run skips it at once instead of paying the backoff again per
        # document (a laptop offline would otherwise wait seconds per entry).
        self.unreachable: str | None = None

    def fetch(self, pith_id: str, kind: str) -> bytes | None:
        _check_pith_id(pith_id)
        return self._get(f"{self.base}/pith/{pith_id}/{kind}.json", DOCUMENT_TYPES,
                         self.settings.max_bytes)

    def lookup(self, kind: str, value: str) -> list[str]:
        found: list[str] = []
        body = self._get(f"{self.base}/{alias_path(kind, value)}", None, MAX_ALIAS_BYTES)
        if body:
            found += pith_numbers_in(body.decode("utf-8", "replace"))
        if not found and self.lookup_pattern:
            url = self.lookup_pattern.format(base=self.base, kind=kind,
                                             value=quote(value, safe=""))
            body = self._get(url, None, MAX_ALIAS_BYTES)
            if body:
                found += pith_numbers_in(body.decode("utf-8", "replace"))
        return list(dict.fromkeys(found))

    def complete(self, prefix: str) -> list[str]:
        return []  # an HTTP mirror cannot list its documents

    def _redirect_target(self, url: str, location: str | None) -> str:
        if not location:
            raise FetchError(f"{url}: redirect without a Location")
        target = urljoin(url, location)
        parts = urlsplit(target)
        if parts.netloc != self.host:
            raise FetchError(f"{url}: refused redirect to another host ({parts.netloc})")
        if self.scheme == "https" and parts.scheme != "https":
            raise FetchError(f"{url}: refused redirect from https to {parts.scheme}")
        return target

    def _get(self, url: str, content_types: tuple[str, ...] | None,
             max_bytes: int) -> bytes | None:
        import requests

        settings = self.settings
        if self.unreachable is not None:
            raise FetchError(f"{url}: skipped; {self.host} could not be reached earlier in "
                             f"this run ({self.unreachable})")
        deadline = time.monotonic() + settings.deadline
        for _ in range(MAX_REDIRECTS + 1):
            try:
                with self.limits.slot(self.host):
                    response = self.session.get(
                        url, stream=True, allow_redirects=False,
                        timeout=(settings.connect_timeout, settings.read_timeout),
                        headers={"Accept": "application/json, text/plain;q=0.5"},
                    )
            except requests.exceptions.Timeout:
                raise FetchError(f"{url}: timed out") from None
            except requests.exceptions.RetryError as exc:
                raise FetchError(f"{url}: gave up after retries ({_short(exc)})") from None
            except requests.exceptions.ConnectionError as exc:
                self.unreachable = _short(exc)
                raise FetchError(f"{url}: connection failed ({_short(exc)})") from None
            except requests.exceptions.RequestException as exc:
                raise FetchError(f"{url}: connection failed ({_short(exc)})") from None
            try:
                if response.status_code in (301, 302, 303, 307, 308):
                    url = self._redirect_target(url, response.headers.get("Location"))
                    continue
                if response.status_code in (404, 410):
                    return None
                if response.status_code != 200:
                    retried = ""
                    history = getattr(response.raw, "retries", None)
                    if history is not None and history.history:
                        retried = f" after {len(history.history)} retries"
                    raise FetchError(f"{url}: HTTP {response.status_code}{retried}")
                if content_types is not None:
                    ctype = response.headers.get("Content-Type", "").split(";")[0].strip()
                    if ctype.lower() not in content_types and not ctype.endswith("+json"):
                        raise FetchError(f"{url}: unexpected Content-Type {ctype or 'none'!r}")
                return _read_body(url, response, max_bytes, deadline)
            finally:
                response.close()
        raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 160 else text[:157] + "..."


def _read_body(url: str, response: Any, max_bytes: int, deadline: float) -> bytes:
    """Stream the body, stopping at the size cap or the deadline, whichever comes first."""
    import requests
    import urllib3

    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"{url}: body of {declared} bytes is over the {max_bytes}-byte limit")
    raw = response.raw
    chunks: list[bytes] = []
    total = 0
    try:
        while True:
            if time.monotonic() > deadline:
                raise FetchError(f"{url}: not complete within the deadline")
            chunk = raw.read1(65536, decode_content=True)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                raise FetchError(f"{url}: body is over the {max_bytes}-byte limit")
            chunks.append(chunk)
    except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError) as exc:
        if isinstance(exc, FetchError):
            raise
        name = type(exc).__name__
        if "IncompleteRead" in name or "Protocol" in name:
            raise FetchError(f"{url}: body was truncated") from None
        if "Timeout" in name:
            raise FetchError(f"{url}: timed out while reading") from None
        raise FetchError(f"{url}: reading the body failed ({_short(exc)})") from None
    return b"".join(chunks)


def make_mirror(spec: str, session_factory: Any, limits: HostLimits,
                settings: HttpSettings | None = None,
                lookup_pattern: str | None = None) -> Mirror:
    """A mirror from a ``--mirror`` value: an http(s) URL or an existing directory."""
    if spec.startswith(("http://", "https://")):
        pattern = lookup_pattern
        if pattern is None and spec.rstrip("/") == REGISTRY_URL:
            pattern = DEFAULT_LOOKUP_PATTERN
        return HttpMirror(spec, session_factory(), limits, settings, pattern)
    if "://" in spec:
        raise UsageError(f"mirror {spec!r}: only http(s) URLs and directories are supported")
    return LocalMirror(spec)
