"""Where documents come from: the registry, other HTTP(S) mirrors, local directories.

A mirror is a source of bytes, never of trust: everything it returns goes to
the verifier, and URLs found inside documents (``links``, ``mirror_hints``)
are never followed. HTTP fetching is defensive because a registry under load,
a captive portal or a hostile mirror all look the same from here: bounded
retries with backoff (honouring a capped ``Retry-After``), connect/read
timeouts plus an overall deadline, a hard size cap while streaming, a checked
``Content-Type``, and at most three redirects that never leave the host or
drop from https to http.

Every mirror costs at most one request per question per run: answers
(documents, "not here", errors) are remembered, and concurrent askers of the
same question wait for the one request in flight. An alias answer yields at
most :data:`MAX_CANDIDATES_PER_ANSWER` pith numbers, so one hostile answer
cannot turn into thousands of document requests.

Layout shared by every mirror (the registry's own paths):

- ``pith/<ID>/bundle.json`` and ``pith/<ID>/state.json``
- ``aliases/<kind>/<value>``: a plain-text body naming the pith number, where
  ``kind`` is ``arxiv`` (id without version), ``arxiv_version`` (``<id>vN``) or
  ``doi`` (lower case). Any static web server can host it.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote, urljoin, urlsplit

from ._version import __version__
from .alias_index import INDEX_PATH, lookup_index
from .document_index_store import DocumentIndexStore, signature
from .errors import FetchError, FileReadError, JsonFormatError, UsageError
from .http_deadline import DeadlineReached, Watch, current_watch, deadline_adapter, watching
from .safe_read import read_regular_file, visible_path
from .strict_json import MAX_DOCUMENT_BYTES, ascii_int, load_json

if TYPE_CHECKING:
    import requests

REGISTRY_URL = "https://pith.science"
# No lookup route has been published by the registry; this pattern is a guess
# (see README). Whatever it answers is verified like everything else.
DEFAULT_LOOKUP_PATTERN = "{base}/api/lookup?{kind}={value}"
PROJECT_URL = "https://github.com/pith-science/pith-bib"
MAX_ALIAS_BYTES = 64 * 1024
MAX_REDIRECTS = 3
RETRY_AFTER_CAP = 10.0
MAX_CANDIDATES_PER_ANSWER = 4
MAX_ALIASES_PER_DOCUMENT = 16  # a real document claims one to three
MAX_NAMED_BAD_FILES = 5
MEMO_MAX_BYTES = 256 * 1024 * 1024  # documents kept for re-asking; beyond, only in-flight sharing
DOCUMENT_TYPES = ("application/json", "application/ld+json", "text/json")
# Static servers label an extension-less alias file application/octet-stream
# (nginx, GitHub Pages, python -m http.server); it is accepted, HTML is not.
ALIAS_TYPES = ("text/plain", "application/json", "text/json", "application/octet-stream", "")
_PITH_ID_RE = re.compile(r"[A-Z2-7]{26}")
_PITH_IN_TEXT_RE = re.compile(r"pith:[0-9]{4}:[A-Z2-7]{26}")
_DOC_KIND_RE = re.compile(r"[a-z_]{1,32}")
ALIAS_KINDS = ("arxiv", "arxiv_version", "doi")

__all__ = [
    "ALIAS_KINDS", "DEFAULT_LOOKUP_PATTERN", "MAX_CANDIDATES_PER_ANSWER", "MAX_DOCUMENT_BYTES",
    "REGISTRY_URL", "HostLimits", "HttpMirror", "HttpSettings", "LocalMirror", "Mirror",
    "__version__", "alias_path", "make_mirror", "make_session", "pith_numbers_in", "user_agent",
]


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


def _check_document(pith_id: str, kind: str) -> None:
    if not _PITH_ID_RE.fullmatch(pith_id):
        raise FetchError(f"not a 26-character pith ID: {pith_id!r}")
    if not _DOC_KIND_RE.fullmatch(kind):
        raise FetchError(f"not a document kind: {kind!r}")


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


def _first_candidates(numbers: list[str]) -> list[str]:
    """The first few distinct numbers of an answer: a flood must not become a flood of fetches."""
    return list(dict.fromkeys(numbers))[:MAX_CANDIDATES_PER_ANSWER]


# -- one answer per question per run ------------------------------------------------


@dataclass
class _Pending:
    """One in-flight fetch that later callers for the same document wait on."""

    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: Exception | None = None
    abandoned: bool = False


class _Once:
    """Per-run memo with single flight: a question is asked of the network once.

    The first asker computes; concurrent askers of the same key wait for it and
    get the same value or the same exception. Bytes are kept up to
    :data:`MEMO_MAX_BYTES` in total (a run over a huge bibliography must not
    hold every document twice); past that, answers are still shared with the
    askers already waiting but not kept.
    """

    def __init__(self, max_bytes: int = MEMO_MAX_BYTES) -> None:
        self._entries: dict[Hashable, _Pending] = {}
        self._lock = threading.Lock()
        self._bytes = 0
        self._max_bytes = max_bytes

    def run(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        while True:
            with self._lock:
                entry = self._entries.get(key)
                if entry is None:
                    entry = self._entries[key] = _Pending()
                    break
            entry.done.wait()
            if entry.abandoned:
                continue  # the asker was interrupted (KeyboardInterrupt): ask again
            if entry.error is not None:
                raise entry.error
            return entry.value
        try:
            entry.value = compute()
        except Exception as exc:
            entry.error = exc
            raise
        except BaseException:
            entry.abandoned = True
            self._forget(key)
            raise
        finally:
            entry.done.set()
        if isinstance(entry.value, bytes):
            with self._lock:
                if self._bytes + len(entry.value) > self._max_bytes:
                    self._entries.pop(key, None)
                else:
                    self._bytes += len(entry.value)
        return entry.value

    def _forget(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)


# -- local directories ----------------------------------------------------------------


class LocalMirror:
    """A directory laid out like the registry; it indexes its own documents' aliases.

    The directory may come from a repository, so every file is read with
    :func:`read_regular_file` (regular files only, bounded, never blocking,
    symlinks only when they stay inside the mirror). A bad file costs only
    itself: it is skipped, counted in ``bad_files``, and the first few are
    named in ``bad_file_warnings`` for the caller to print.

    Aliases come from three places, all unverified hints: the documents' own
    ``source_aliases``, per-file ``aliases/<kind>/<value>`` and the sorted
    ``aliases/index.tsv`` that ``pith-bib mirror build`` writes
    (:mod:`pith_bib.alias_index`, searched in place, never loaded).
    """

    is_local = True

    def __init__(self, root: Path | str, index_store: DocumentIndexStore | None = None) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise UsageError(f"mirror directory {str(self.root)!r} does not exist")
        self.index_store = index_store
        self.label = str(self.root)
        self._real_root = os.path.realpath(self.root)
        self._index: dict[tuple[str, str], list[str]] | None = None
        self._lock = threading.Lock()
        self._problem_lock = threading.Lock()
        self.bad_files = 0
        self.bad_file_warnings: list[str] = []
        self._index_noted = False

    def _note_bad(self, message: str) -> None:
        with self._problem_lock:
            self.bad_files += 1
            if len(self.bad_file_warnings) < MAX_NAMED_BAD_FILES:
                self.bad_file_warnings.append(message)

    def _read(self, path: Path, max_bytes: int) -> bytes | None:
        try:
            return read_regular_file(path, max_bytes, within=self._real_root)
        except FileReadError as exc:
            self._note_bad(str(exc))
            raise

    def fetch(self, pith_id: str, kind: str) -> bytes | None:
        _check_document(pith_id, kind)
        try:
            return self._read(self.root / "pith" / pith_id / f"{kind}.json", MAX_DOCUMENT_BYTES)
        except FileReadError as exc:
            raise FetchError(str(exc)) from None

    def _document_ids(self) -> list[str]:
        """IDs of ``pith/<ID>`` folders: names first, then the type the listing already holds."""
        try:
            with os.scandir(self.root / "pith") as entries:
                return sorted(e.name for e in entries
                              if _PITH_ID_RE.fullmatch(e.name) and _is_dir(e))
        except OSError:
            return []

    def _read_document(self, path: Path) -> Any:
        try:
            data = self._read(path, MAX_DOCUMENT_BYTES)
        except FileReadError:
            return None
        if data is None:
            return None
        try:
            return load_json(data, max_bytes=MAX_DOCUMENT_BYTES, what=visible_path(path))
        except JsonFormatError as exc:
            self._note_bad(str(exc))
            return None

    def _build_index(self) -> dict[tuple[str, str], list[str]]:
        """The documents' aliases: from the store when no document changed, else read."""
        pith_ids = self._document_ids()
        if self.index_store is None:
            return self._read_index(pith_ids)
        sig = signature(self.root, pith_ids)
        index = self.index_store.load(self.root, sig)
        if index is None:
            index = self._read_index(pith_ids)
            self.index_store.save(self.root, sig, index)
        return index

    def _read_index(self, pith_ids: list[str]) -> dict[tuple[str, str], list[str]]:
        index: dict[tuple[str, str], list[str]] = {}
        for pith_id in pith_ids:
            for name in ("bundle.json", "state.json"):
                doc = self._read_document(self.root / "pith" / pith_id / name)
                for kind, value in itertools.islice(_claimed_aliases(doc),
                                                    MAX_ALIASES_PER_DOCUMENT):
                    ids = index.setdefault((kind, value.lower()), [])
                    # The list stays tiny, so this membership test stays cheap
                    # even when 100,000 documents claim the same alias.
                    if len(ids) < MAX_CANDIDATES_PER_ANSWER and pith_id not in ids:
                        ids.append(pith_id)
        return index

    def lookup(self, kind: str, value: str) -> list[str]:
        with self._lock:
            if self._index is None:
                self._index = self._build_index()
        found = [f"pith:{pid}" for pid in self._index.get((kind, value.lower()), [])]
        try:
            data = self._read(self.root / alias_path(kind, value), MAX_ALIAS_BYTES)
        except (FileReadError, UsageError):
            data = None
        if data is not None:
            try:
                found += pith_numbers_in(data.decode("utf-8"))
            except UnicodeDecodeError:
                self._note_bad(f"{visible_path(self.root / alias_path(kind, value))}: "
                               "not UTF-8 text")
        found = _first_candidates(found + self._index_numbers(kind, value))
        if not found and self.bad_files:
            # One bad file costs only itself, but it may have been the answer: a mirror
            # with unreadable files cannot say cleanly that it has nothing.
            raise FetchError(f"{self.label}: no answer for {kind} {value}, but "
                             f"{self.bad_files} file(s) in the mirror could not be read")
        return found

    def _index_numbers(self, kind: str, value: str) -> list[str]:
        """The index's answer; a bad index costs this lookup and is reported once."""
        try:
            return lookup_index(self.root / INDEX_PATH, kind, value, within=self._real_root,
                                limit=MAX_CANDIDATES_PER_ANSWER)
        except FileReadError as exc:
            with self._problem_lock:
                noted, self._index_noted = self._index_noted, True
            if not noted:
                self._note_bad(str(exc))
            return []

    def complete(self, prefix: str) -> list[str]:
        return [pid for pid in self._document_ids()
                if pid.startswith(prefix)][:MAX_CANDIDATES_PER_ANSWER]


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # no stat call on Linux/macOS for a plain entry
    except OSError:
        return False


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


# -- HTTP: limits, session, deadline ----------------------------------------------------


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


@functools.cache
def _retry_class() -> type:
    """urllib3's Retry, with a capped Retry-After and no sleep past the request's deadline."""
    from urllib3.util import Retry

    class CappedRetry(Retry):
        def get_retry_after(self, response: Any) -> float | None:
            value = super().get_retry_after(response)
            return None if value is None else min(value, RETRY_AFTER_CAP)

        def sleep(self, response: Any = None) -> None:
            """Sleep before a retry, unless the sleep would end past the request's deadline."""
            planned = 0.0
            if self.respect_retry_after_header and response is not None:
                planned = self.get_retry_after(response) or 0.0
            if not planned:
                planned = self.get_backoff_time()
            watch = current_watch()
            if watch is not None and (watch.fired or planned >= watch.remaining()):
                raise DeadlineReached
            if planned > 0:
                time.sleep(planned)

    return CappedRetry


def user_agent(contact: str | None = None) -> str:
    extra = f"; mailto:{contact}" if contact else ""
    return f"pith-bib/{__version__} (+{PROJECT_URL}{extra})"


def make_session(*, retries: int = 3, backoff: float = 0.5, pool: int = 32,
                 contact: str | None = None) -> requests.Session:
    """One pooled session per run, retrying 429/5xx with backoff, jitter and Retry-After.

    Its connections obey :class:`HttpMirror`'s per-request deadline (see
    ``watching``); a session made elsewhere still works, with the deadline
    checked only between body chunks.
    """
    import requests

    adapter_class, retry_class = deadline_adapter(), _retry_class()
    retry = retry_class(
        total=retries, connect=retries, read=retries, status=retries, redirect=0,
        backoff_factor=backoff, backoff_jitter=backoff / 2, backoff_max=RETRY_AFTER_CAP,
        status_forcelist=(429, 500, 502, 503, 504), allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True, raise_on_status=False, raise_on_redirect=False,
    )
    session = requests.Session()
    adapter = adapter_class(max_retries=retry, pool_connections=pool, pool_maxsize=pool)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = user_agent(contact)
    session.trust_env = True
    return session


@dataclass
class HttpSettings:
    """Per-request bounds: a slow or endless mirror costs at most these."""

    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    deadline: float = 30.0
    max_bytes: int = MAX_DOCUMENT_BYTES


class _HostTimedOut(FetchError):
    """A read or connect timeout: the host is skipped for the rest of the run."""


@dataclass(frozen=True)
class _Answer:
    """What a request expects back: its name in messages and the Content-Types allowed."""

    name: str
    types: tuple[str, ...]


_DOCUMENT = _Answer("pith document", DOCUMENT_TYPES)
_ALIAS = _Answer("pith alias answer", ALIAS_TYPES)


def _looks_like_html(body: bytes) -> bool:
    return body.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] == b"<"


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
        # Set once the host failed to connect after every retry, or timed out:
        # the rest of the run skips it at once instead of paying the backoff or
        # the deadline again per document (a laptop offline, a tarpit).
        self.unreachable: str | None = None
        self._once = _Once()

    def fetch(self, pith_id: str, kind: str) -> bytes | None:
        _check_document(pith_id, kind)
        url = f"{self.base}/pith/{pith_id}/{kind}.json"
        result: bytes | None = self._once.run(
            ("fetch", pith_id, kind), lambda: self._get(url, _DOCUMENT, self.settings.max_bytes))
        return result

    def lookup(self, kind: str, value: str) -> list[str]:
        found: tuple[str, ...] = self._once.run(("lookup", kind, value),
                                                lambda: self._lookup(kind, value))
        return list(found)

    def _lookup(self, kind: str, value: str) -> tuple[str, ...]:
        found = self._alias_answer(f"{self.base}/{alias_path(kind, value)}")
        if not found and self.lookup_pattern:
            found = self._alias_answer(self.lookup_pattern.format(
                base=self.base, kind=kind, value=quote(value, safe="")))
        return tuple(_first_candidates(found))

    def _alias_answer(self, url: str) -> list[str]:
        body = self._get(url, _ALIAS, MAX_ALIAS_BYTES)
        if not body:
            return []
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise FetchError(f"{url}: not a pith alias answer (not UTF-8 text)") from None
        if text.lstrip("\ufeff \t\r\n")[:1] in ("{", "["):
            try:
                load_json(body, max_bytes=MAX_ALIAS_BYTES, allow_floats=True, what="answer")
            except JsonFormatError as exc:
                raise FetchError(f"{url}: not a pith alias answer ({exc})") from None
        return pith_numbers_in(text)

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

    def _get(self, url: str, answer: _Answer, max_bytes: int) -> bytes | None:
        """One document or alias answer, all of it within ``settings.deadline``.

        The deadline starts once this host's concurrency slot is ours (waiting
        for our own limit is not the host's fault) and covers every hop,
        retry and retry sleep. The slot is held for the whole exchange, body
        included, so ``per_host`` bounds real concurrent downloads.
        """
        if self.unreachable is not None:
            raise FetchError(f"{url}: skipped; {self.host} {self.unreachable}")
        deadline = self.settings.deadline
        with self.limits.slot(self.host), watching(deadline) as watch:
            try:
                return self._follow(url, answer, max_bytes, watch)
            except DeadlineReached:
                pass
            except _HostTimedOut as exc:
                if not watch.fired:
                    self.unreachable = "timed out earlier in this run"
                    raise FetchError(str(exc)) from None
            except FetchError:
                if not watch.fired:
                    raise
        self.unreachable = f"missed the {deadline:g}-second deadline earlier in this run"
        raise FetchError(f"{url}: not complete within the deadline ({deadline:g} s)")

    def _follow(self, url: str, answer: _Answer, max_bytes: int, watch: Watch) -> bytes | None:
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(url, watch)
            try:
                if response.status_code in (301, 302, 303, 307, 308):
                    url = self._redirect_target(url, response.headers.get("Location"))
                    continue
                if response.status_code in (404, 410):
                    return None
                if response.status_code != 200:
                    raise FetchError(f"{url}: HTTP {response.status_code}{_retried(response)}")
                _check_content_type(url, response, answer)
                body = _read_body(url, response, max_bytes, watch)
                if _looks_like_html(body):
                    raise FetchError(f"{url}: an HTML page, not a {answer.name}")
                return body
            finally:
                response.close()
        raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")

    def _send(self, url: str, watch: Watch) -> Any:
        import requests

        settings = self.settings
        remaining = watch.remaining()
        if remaining <= 0:
            raise DeadlineReached
        try:
            return self.session.get(
                url, stream=True, allow_redirects=False,
                timeout=(min(settings.connect_timeout, remaining),
                         min(settings.read_timeout, remaining)),
                headers={"Accept": "application/json, text/plain;q=0.5"},
            )
        except requests.exceptions.Timeout:
            raise _HostTimedOut(f"{url}: timed out") from None
        except requests.exceptions.RetryError as exc:
            raise FetchError(f"{url}: gave up after retries ({_short(exc)})") from None
        except requests.exceptions.ConnectionError as exc:
            if _caused_by_timeout(exc):  # a read timeout after the last retry lands here
                raise _HostTimedOut(f"{url}: timed out") from None
            if not watch.fired:
                self.unreachable = f"could not be reached earlier in this run ({_short(exc)})"
            raise FetchError(f"{url}: connection failed ({_short(exc)})") from None
        except requests.exceptions.RequestException as exc:
            raise FetchError(f"{url}: connection failed ({_short(exc)})") from None


def _caused_by_timeout(exc: BaseException) -> bool:
    import urllib3

    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2: a refusal is no timeout.
    return isinstance(reason, urllib3.exceptions.TimeoutError) and \
        not isinstance(reason, urllib3.exceptions.NewConnectionError)


def _retried(response: Any) -> str:
    history = getattr(response.raw, "retries", None)
    if history is not None and history.history:
        return f" after {len(history.history)} retries"
    return ""


def _check_content_type(url: str, response: Any, answer: _Answer) -> None:
    ctype = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if ctype not in answer.types and not ctype.endswith("+json"):
        raise FetchError(f"{url}: unexpected Content-Type {ctype or 'none'!r}; "
                         f"not a {answer.name}")


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 160 else text[:157] + "..."


def _read_body(url: str, response: Any, max_bytes: int, watch: Watch) -> bytes:
    """Stream the body, stopping at the size cap or the deadline, whichever comes first.

    The watchdog shuts the socket down at the deadline, which a blocked read
    sees as EOF or a protocol error: ``watch.fired`` is what tells that apart
    from a server that really closed early.
    """
    import requests
    import urllib3

    declared = ascii_int(response.headers.get("Content-Length"), 30)
    if declared is not None and declared > max_bytes:
        raise FetchError(f"{url}: body of {declared} bytes is over the {max_bytes}-byte limit")
    raw = response.raw
    chunks: list[bytes] = []
    total = 0
    try:
        while True:
            if watch.fired or watch.remaining() <= 0:
                raise DeadlineReached
            chunk = raw.read1(65536, decode_content=True)
            if not chunk:
                break
            total += len(chunk)
            if total > max_bytes:
                raise FetchError(f"{url}: body is over the {max_bytes}-byte limit")
            chunks.append(chunk)
    except (urllib3.exceptions.HTTPError, requests.exceptions.RequestException, OSError) as exc:
        if watch.fired:
            raise DeadlineReached from None
        name = type(exc).__name__
        if "IncompleteRead" in name or "Protocol" in name:
            raise FetchError(f"{url}: body was truncated") from None
        if "Timeout" in name:
            raise _HostTimedOut(f"{url}: timed out while reading") from None
        raise FetchError(f"{url}: reading the body failed ({_short(exc)})") from None
    if watch.fired:
        raise DeadlineReached
    return b"".join(chunks)


def make_mirror(spec: str, session_factory: Any, limits: HostLimits,
                settings: HttpSettings | None = None,
                lookup_pattern: str | None = None,
                index_store: DocumentIndexStore | None = None) -> Mirror:
    """A mirror from a ``--mirror`` value: an http(s) URL or an existing directory."""
    if spec.startswith(("http://", "https://")):
        pattern = lookup_pattern
        if pattern is None and spec.rstrip("/") == REGISTRY_URL:
            pattern = DEFAULT_LOOKUP_PATTERN
        return HttpMirror(spec, session_factory(), limits, settings, pattern)
    if "://" in spec:
        raise UsageError(f"mirror {spec!r}: only http(s) URLs and directories are supported")
    return LocalMirror(spec, index_store)
