"""A small Zotero Web API v3 client: read top-level items, write Extra back safely.

Why not pyzotero: its ``update_items`` posts batches and returns ``True``
after ``raise_for_status()``, throwing away the per-object ``failed`` map of
the 200 response, so an item rejected with 412 (changed by the user meanwhile)
looks written. Recovering from that is this tool's whole job, and it also
needs a deadline per request, a bounded body, a cap on ``Retry-After`` and an
API key that can never reach a message — a few hundred lines on ``requests``.

What the server expects, and what we do about it:

- reads page with ``start``/``limit=100`` until ``Total-Results``; ``since=V``
  returns only objects changed after library version V, and every response
  carries ``Last-Modified-Version`` (remembered for the next incremental run);
- writes are ``POST <library>/items`` of at most 50 objects, each carrying its
  ``key`` and ``version``; only the changed field is sent (the server applies
  it like a PATCH). The 200 response maps each index to ``successful``,
  ``unchanged`` or ``failed`` (with a code); a ``412`` there means the item
  changed since we read it: it is re-read, the caller re-applies its edit to
  the new data, and it is retried a bounded number of times — a user's change
  is never overwritten, because every write names the version it was made from;
- ``Backoff: N`` on any response (even a 200) means no request for N seconds;
  ``Retry-After`` on 429/503 is honoured, up to a cap beyond which we stop
  with a clear error instead of hanging;
- one request in flight at a time (writes above all); a write retried after a
  5xx is harmless, because it names the version it was made from: if the
  first attempt landed, the retry gets a 412 and the re-read finds our lines.

Zotero 7's local API (``http://localhost:23119/api/``, library ``users/0``, no
key) serves the same reads; it cannot write.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3

from .errors import (
    JsonFormatError,
    UsageError,
    ZoteroAuthError,
    ZoteroConnectionError,
    ZoteroError,
    ZoteroRateLimitError,
)
from .http_deadline import DeadlineReached, Watch, deadline_adapter, watching
from .strict_json import ascii_int, load_json
from .zotero_extra import visible
from .zotero_items import NOT_PAPERS

DEFAULT_BASE = "https://api.zotero.org"
LOCAL_BASE = "http://localhost:23119/api"
PAGE_SIZE = 100
WRITE_BATCH = 50
MAX_BODY = 32 * 1024 * 1024
_INDEX_RE = re.compile(r"0|[1-9][0-9]{0,5}")
# Zotero makes keys from this alphabet (no 0, 1, O); what a server sends is checked
# more leniently, only so that a key is always safe to print and to send back.
_OBJECT_KEY_RE = re.compile(r"[23456789ABCDEFGHIJKLMNPQRSTUVWXYZ]{8}")
_SERVER_KEY_RE = re.compile(r"[A-Z0-9]{8}")
_LIBRARY_RE = re.compile(r"(users|groups)/(0|[1-9][0-9]{0,11})")
_API_KEY_RE = re.compile(r"[A-Za-z0-9]{8,64}")
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

Refresh = Callable[[dict[str, Any]], "dict[str, Any] | None"]


@dataclass(frozen=True)
class Library:
    """``users/<id>`` or ``groups/<id>``: the only two kinds of Zotero library."""

    kind: str
    id: int

    @classmethod
    def parse(cls, text: str, *, local: bool = False) -> Library:
        match = _LIBRARY_RE.fullmatch(text.strip().strip("/"))
        if match is None:
            raise UsageError(f"{visible(text)!r} is not a Zotero library: write users/<number> "
                             "(your user ID from zotero.org/settings/keys) or groups/<number>")
        ident = int(match.group(2))
        if ident == 0 and not (local and match.group(1) == "users"):
            raise UsageError("users/0 only names the local Zotero library (the local API)")
        return cls(match.group(1), ident)

    def __str__(self) -> str:
        return f"{self.kind}/{self.id}"


@dataclass
class ReadResult:
    """Top-level items (notes and attachments left out) and the library version."""

    items: list[dict[str, Any]]
    library_version: int | None
    total: int
    skipped: int = 0
    consistent: bool = True  # False when the library changed while the pages were read


@dataclass
class WriteOutcome:
    """Per item, what became of a write: nothing is left unaccounted for."""

    written: dict[str, int] = field(default_factory=dict)  # key -> new item version
    unchanged: set[str] = field(default_factory=set)  # the server already had this data
    dropped: set[str] = field(default_factory=set)  # after a 412, no edit was needed any more
    failed: dict[str, str] = field(default_factory=dict)  # key -> why, fit to show a user
    library_versions: list[int] = field(default_factory=list)  # after each write that landed


@dataclass
class _Response:
    status: int
    headers: Any
    body: bytes


def _batches(items: Sequence[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _check_base(base_url: str) -> str:
    """The API root, refusing plain HTTP anywhere but this machine (the key travels)."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment or parts.username or parts.password:
        raise UsageError(f"{visible(base_url)!r} is not a Zotero API base URL")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise UsageError(f"{visible(base_url)!r}: the Zotero API is only spoken over https "
                         "(plain http only to this machine)")
    return base_url.strip().rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _int_header(headers: Any, name: str) -> int | None:
    return ascii_int(headers.get(name))


def _seconds(value: str | None) -> float | None:
    """``Retry-After``/``Backoff``: delta seconds, or an HTTP date for Retry-After."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _deadline_session() -> requests.Session:
    """A session whose connections a request's deadline can cut; no retries of its own
    (the client retries, and a write must never be repeated behind its back)."""
    session = requests.Session()
    adapter = deadline_adapter()(max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class ZoteroClient:
    """One Zotero library over the Web API (or the local API, read-only)."""

    def __init__(self, library: Library | str, api_key: str | None = None, *,
                 base_url: str = DEFAULT_BASE, collection: str | None = None,
                 local: bool = False, session: requests.Session | None = None,
                 timeout: float = 60.0, max_wait: float = 120.0, max_retries: int = 4,
                 max_conflict_rounds: int = 3, max_items: int = 500_000,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 user_agent: str = "pith-bib (Zotero sync)") -> None:
        self.library = library if isinstance(library, Library) else Library.parse(library,
                                                                                   local=local)
        self.local = local
        self.base_url = _check_base(LOCAL_BASE if local and base_url == DEFAULT_BASE
                                    else base_url)
        if collection is not None and not _OBJECT_KEY_RE.fullmatch(collection):
            raise UsageError(f"{visible(collection)!r} is not a Zotero collection key "
                             "(8 characters such as ABCD2345)")
        self.collection = collection
        if api_key is not None and not _API_KEY_RE.fullmatch(api_key):
            raise ZoteroAuthError("the Zotero API key is malformed (expected letters and "
                                  "digits, as shown on zotero.org/settings/keys)")
        if api_key is None and not local:
            raise ZoteroAuthError("a Zotero API key is needed to read and write this library")
        self.__api_key = api_key
        self.timeout = timeout
        self.max_wait = max_wait
        self.max_retries = max_retries
        self.max_conflict_rounds = max_conflict_rounds
        self.max_items = max_items
        self._sleep = sleep
        self._clock = clock
        self._session = session or _deadline_session()
        self._user_agent = user_agent
        self._not_before = 0.0
        self._lock = threading.Lock()  # one request in flight, whatever the caller does
        self.requests_made = 0

    def __repr__(self) -> str:
        return f"ZoteroClient({self.base_url!r}, {str(self.library)!r})"

    @classmethod
    def local_api(cls, **kwargs: Any) -> ZoteroClient:
        """Zotero 7's local API on this machine: read-only, no key."""
        return cls(Library("users", 0), None, local=True, **kwargs)

    # -- transport ---------------------------------------------------------------------
    def _headers(self, write: bool) -> dict[str, str]:
        headers = {"Zotero-API-Version": "3", "User-Agent": self._user_agent,
                   "Accept": "application/json"}
        if self.__api_key is not None:
            headers["Zotero-API-Key"] = self.__api_key
        if write:
            headers["Content-Type"] = "application/json"
        return headers

    def _wait_for_backoff(self) -> None:
        remaining = self._not_before - self._clock()
        if remaining <= 0:
            return
        if remaining > self.max_wait:
            raise ZoteroRateLimitError(
                f"Zotero asked for a pause of {remaining:.0f} s (more than {self.max_wait:.0f} s); "
                "nothing more was sent, try again later")
        self._sleep(remaining)

    def _note_backoff(self, headers: Any) -> None:
        backoff = _seconds(headers.get("Backoff"))
        if backoff:
            self._not_before = max(self._not_before, self._clock() + backoff)

    def _send(self, method: str, url: str, params: dict[str, Any] | None,
              body: bytes | None) -> _Response:
        """One exchange, all of it (connect, headers, body) within ``timeout`` seconds.

        The deadline is :mod:`pith_bib.http_deadline`'s: a server that drips its
        answer a byte at a time has its socket shut down when the time is up
        (a read timeout alone restarts with every byte).
        """
        self.requests_made += 1
        with watching(self.timeout) as watch:
            try:
                return self._exchange(method, url, params, body, watch)
            except DeadlineReached:
                pass
            except ZoteroConnectionError:
                if not watch.fired:
                    raise
        raise ZoteroConnectionError(f"the Zotero API at {self.base_url} took longer than "
                                    f"{self.timeout:.0f} s")

    def _exchange(self, method: str, url: str, params: dict[str, Any] | None,
                  body: bytes | None, watch: Watch) -> _Response:
        start = self._clock()
        try:
            response = self._session.request(
                method, url, params=params, data=body, headers=self._headers(body is not None),
                timeout=(min(10.0, self.timeout), self.timeout), stream=True,
                allow_redirects=False)
        except requests.Timeout:
            raise ZoteroConnectionError(f"the Zotero API at {self.base_url} did not answer "
                                        f"within {self.timeout:.0f} s") from None
        except requests.RequestException as exc:
            raise ZoteroConnectionError(f"cannot reach the Zotero API at {self.base_url} "
                                        f"({type(exc).__name__})") from None
        try:
            chunks: list[bytes] = []
            size = 0
            while True:  # read1: whatever has arrived, so the clock is checked as it comes
                if watch.fired or self._clock() - start > self.timeout:
                    raise DeadlineReached
                chunk = response.raw.read1(65536, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > MAX_BODY:
                    raise ZoteroError(f"the Zotero API sent more than {MAX_BODY} bytes")
                chunks.append(chunk)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise ZoteroConnectionError(f"the Zotero API at {self.base_url} broke off "
                                        f"({type(exc).__name__})") from None
        finally:
            response.close()
        if watch.fired:  # the shutdown socket read as the end of the body
            raise DeadlineReached
        return _Response(response.status_code, response.headers, b"".join(chunks))

    def _request(self, method: str, path: str, params: dict[str, Any] | None = None,
                 payload: Any = None) -> _Response:
        url = f"{self.base_url}/{path}"
        body = None if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        with self._lock:
            for attempt in range(self.max_retries + 1):
                self._wait_for_backoff()
                response = self._send(method, url, params, body)
                self._note_backoff(response.headers)
                if response.status not in _RETRY_STATUSES:
                    break
                wait = _seconds(response.headers.get("Retry-After"))
                if wait is None:
                    wait = min(2.0 ** attempt, self.max_wait)
                if wait > self.max_wait:
                    raise ZoteroRateLimitError(
                        f"Zotero (HTTP {response.status}) asked us to wait {wait:.0f} s, more "
                        f"than {self.max_wait:.0f} s; try again later")
                if attempt == self.max_retries:
                    break
                self._sleep(wait)
            if response.status in _RETRY_STATUSES:
                raise ZoteroRateLimitError(f"Zotero kept answering HTTP {response.status} "
                                           f"after {self.max_retries + 1} tries")
        if response.status == 403:
            raise ZoteroAuthError(f"Zotero refused the API key for {self.library} (HTTP 403): "
                                  "check the key and that it may read and write this library")
        return response

    @staticmethod
    def _json(response: _Response, what: str) -> Any:
        try:
            return load_json(response.body, max_bytes=MAX_BODY, allow_floats=True,
                             what="the Zotero API's answer")
        except JsonFormatError:
            raise ZoteroError(f"the Zotero API sent malformed JSON for {what}") from None

    # -- reads -------------------------------------------------------------------------
    def _items_path(self) -> str:
        if self.collection:
            return f"{self.library}/collections/{self.collection}/items/top"
        return f"{self.library}/items/top"

    def read_items(self, since: int | None = None) -> ReadResult:
        """Every top-level item (changed after ``since``, if given), page by page."""
        params: dict[str, Any] = {"format": "json", "limit": PAGE_SIZE, "sort": "dateAdded",
                                  "direction": "asc"}
        if since is not None:
            params["since"] = int(since)
        result = ReadResult(items=[], library_version=None, total=0)
        start = 0
        pages = 0
        declared: int | None = None  # the first page's Total-Results
        seen: set[Any] = set()  # the keys read so far
        while True:  # bounded by max_items: every page's objects count towards it
            response = self._request("GET", self._items_path(), {**params, "start": start})
            self._expect(response, 200, "items")
            page = self._json(response, "items")
            if not isinstance(page, list):
                raise ZoteroError("the Zotero API answered the item list with something else")
            version = _int_header(response.headers, "Last-Modified-Version")
            total = _int_header(response.headers, "Total-Results")
            if pages == 0:
                result.library_version = version
                result.total = total if total is not None else len(page)
                declared = total
            elif version != result.library_version:
                result.consistent = False
            pages += 1
            keys = {obj.get("key") for obj in page if isinstance(obj, dict)}
            if keys & seen:  # a server that ignores ``start`` would be read until max_items
                raise ZoteroError("the Zotero API sent items it had already sent on an "
                                  "earlier page; it does not page as documented")
            seen |= keys
            self._take(page, result)
            if len(result.items) + result.skipped > self.max_items:
                raise ZoteroError(f"the library has more than {self.max_items} items; "
                                  "name a collection to work on part of it")
            start += len(page)
            # Only a full page is followed by another, whatever Total-Results says: a
            # header that is too low must not hide the rest of the library, nor one too
            # high turn short pages into endless requests. Either is not the library
            # the first page described: its state is not kept for an incremental run.
            if declared is not None and (
                    start > declared or (len(page) < PAGE_SIZE and start < declared)):
                result.consistent = False
            if len(page) < PAGE_SIZE:
                return result

    @staticmethod
    def _take(page: list[Any], result: ReadResult) -> None:
        for obj in page:
            data = obj.get("data") if isinstance(obj, dict) else None
            if not isinstance(data, dict) or not isinstance(obj.get("key"), str) \
                    or not _SERVER_KEY_RE.fullmatch(obj["key"]) \
                    or not isinstance(obj.get("version"), int):
                raise ZoteroError("the Zotero API sent an item without key, version or data")
            if data.get("itemType") in NOT_PAPERS or data.get("parentItem"):
                result.skipped += 1
                continue
            result.items.append(obj)

    def read_items_by_key(self, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The current JSON of the given items (50 keys per request), by key."""
        found: dict[str, dict[str, Any]] = {}
        wanted = [k for k in keys if _SERVER_KEY_RE.fullmatch(k)]
        for start in range(0, len(wanted), WRITE_BATCH):
            chunk = wanted[start:start + WRITE_BATCH]
            response = self._request("GET", f"{self.library}/items",
                                     {"format": "json", "itemKey": ",".join(chunk),
                                      "limit": WRITE_BATCH})
            self._expect(response, 200, "items")
            page = self._json(response, "items")
            if not isinstance(page, list):
                raise ZoteroError("the Zotero API answered the item list with something else")
            for obj in page:
                if isinstance(obj, dict) and obj.get("key") in chunk \
                        and isinstance(obj.get("data"), dict):
                    found[obj["key"]] = obj
        return found

    def _expect(self, response: _Response, status: int, what: str) -> None:
        if response.status == status:
            return
        if response.status == 404:
            where = f"collection {self.collection} in " if self.collection else ""
            raise ZoteroError(f"Zotero has no {where}library {self.library} (HTTP 404)")
        raise ZoteroError(f"the Zotero API answered HTTP {response.status} when asked for "
                          f"{what}")

    # -- writes ------------------------------------------------------------------------
    def write_items(self, patches: Sequence[dict[str, Any]], refresh: Refresh) -> WriteOutcome:
        """Write each patch (``key``, ``version`` and changed fields), 50 per request.

        ``refresh(fresh_item_json)`` is called for an item the server rejected
        with 412 (changed since we read it): it returns the patch to make from
        the new data, or None when no change is needed any more.
        """
        if self.local:
            raise UsageError("the local Zotero API is read-only; use the web API to write")
        outcome = WriteOutcome()
        pending = [dict(p) for p in patches]
        for patch in pending:
            if not isinstance(patch.get("key"), str) or not isinstance(patch.get("version"), int):
                raise UsageError("every Zotero write needs the item's key and version")
        for attempt in range(self.max_conflict_rounds + 1):
            stale: list[str] = []
            for batch in _batches(pending, WRITE_BATCH):
                stale.extend(self._write_batch(batch, outcome))
            if not stale:
                break
            if attempt == self.max_conflict_rounds:
                for key in stale:
                    outcome.failed[key] = (f"the item kept changing while we wrote it "
                                           f"({attempt + 1} tries); run again later")
                break
            pending = self._rebase(stale, refresh, outcome)
        return outcome

    def _write_batch(self, batch: list[dict[str, Any]], outcome: WriteOutcome) -> list[str]:
        """Post one batch; record what happened to each object; return the stale keys."""
        keys = [patch["key"] for patch in batch]
        response = self._request("POST", f"{self.library}/items", payload=batch)
        if response.status == 412:  # the batch as a whole was refused as stale
            return keys
        if response.status != 200:
            for key in keys:
                outcome.failed[key] = f"Zotero answered HTTP {response.status} to the write"
            return []
        body = self._json(response, "the write")
        if not isinstance(body, dict):
            raise ZoteroError("the Zotero API answered a write with something else")
        seen: set[int] = set()
        self._record_successes(body, response, keys, seen, outcome)
        for _index, key in self._indexed(body.get("unchanged") or {}, keys, seen):
            outcome.unchanged.add(key)
        stale = self._record_failures(body.get("failed") or {}, keys, seen, outcome)
        for index, key in enumerate(keys):
            if index not in seen:
                outcome.failed[key] = "Zotero's answer did not mention this item"
        return stale

    def _record_successes(self, body: dict[str, Any], response: Any, keys: list[str],
                          seen: set[int], outcome: WriteOutcome) -> None:
        successful = body.get("successful") or body.get("success") or {}
        for index, key in self._indexed(successful, keys, seen):
            obj = successful[str(index)]
            version = obj.get("version") if isinstance(obj, dict) else None
            if not isinstance(version, int):
                version = _int_header(response.headers, "Last-Modified-Version") or 0
            outcome.written[key] = version
        if successful:
            library_version = _int_header(response.headers, "Last-Modified-Version")
            if library_version is not None:
                outcome.library_versions.append(library_version)

    def _record_failures(self, failed: Any, keys: list[str], seen: set[int],
                         outcome: WriteOutcome) -> list[str]:
        """Failed objects reported by name; those refused as stale (412) are returned."""
        stale: list[str] = []
        for index, key in self._indexed(failed, keys, seen):
            entry = failed[str(index)]
            code = entry.get("code") if isinstance(entry, dict) else None
            message = entry.get("message") if isinstance(entry, dict) else None
            if code == 412:
                stale.append(key)
            else:
                outcome.failed[key] = visible(f"Zotero refused the write ({code}): "
                                              f"{message or 'no reason given'}", 200)
        return stale

    @staticmethod
    def _indexed(mapping: Any, keys: list[str], seen: set[int]) -> Iterator[tuple[int, str]]:
        if not isinstance(mapping, dict):
            return
        for raw in mapping:
            # Exactly the decimal form Zotero writes ("0", "1", ...): "²" or "00" would pass
            # isdigit() yet name no index, or not the key the answer used.
            if not isinstance(raw, str) or not _INDEX_RE.fullmatch(raw) or \
                    int(raw) >= len(keys) or int(raw) in seen:
                continue
            seen.add(int(raw))
            yield int(raw), keys[int(raw)]

    def _rebase(self, stale: list[str], refresh: Refresh,
                outcome: WriteOutcome) -> list[dict[str, Any]]:
        """Re-read stale items and let the caller redo its edit on what is there now."""
        fresh = self.read_items_by_key(stale)
        pending: list[dict[str, Any]] = []
        for key in stale:
            obj = fresh.get(key)
            if obj is None or not isinstance(obj.get("version"), int):
                outcome.failed[key] = "the item is gone (deleted or moved) since it was read"
                continue
            patch = refresh(obj)
            if patch is None:
                outcome.dropped.add(key)
                continue
            pending.append({**patch, "key": key, "version": obj["version"]})
        return pending
