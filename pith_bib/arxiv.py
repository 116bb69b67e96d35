"""arXiv's metadata, fetched politely and parsed defensively, for deriving pith numbers.

Two sources behind one interface (:class:`ArxivSource`), both from arXiv itself:

- :class:`AtomSource`, the arXiv API (``{base}/api/query?id_list=...``): up to
  :data:`ATOM_BATCH` papers per request; title, abstract, v1 time, latest version
  and categories, but **no license** (the resolver then tries arXiv's licenses).
- :class:`OaiSource`, OAI-PMH ``GetRecord`` in ``arXivRaw``: one paper per
  request, but with the license and every version's date.

arXiv asks for at most one request every 3 seconds on a single connection, so
every request to a host passes through one process-wide :class:`RateGate` that
also serialises them (one request in flight, on a kept-alive connection). Each
request has a whole-request deadline enforced by a watchdog that shuts the socket
(a server trickling headers cannot hold us), a body cap, and no redirects. XML
is parsed with expat directly and any DOCTYPE or entity declaration is refused,
which rules out entity expansion and external entities without a new dependency
(``defusedxml`` would do the same, less strictly). A bad answer fails the papers
it was for, each with a one-line reason; it never raises out of ``fetch``.

:class:`CachedSource` puts a :class:`MetadataStore` in front, so a second run
asks arXiv nothing, and an ``offline`` mode never contacts arXiv at all.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import ssl
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlsplit
from urllib.request import getproxies, proxy_bypass
from xml.parsers import expat

from .atomic import write_atomic
from .derive import CATEGORY_RE, ArxivMetadata, check_arxiv_id
from .errors import ArxivMetadataError, FetchError, FileReadError, PithBibError, UsageError
from .mirrors import user_agent
from .safe_read import read_regular_file
from .strict_json import ascii_int, load_json

ARXIV_API = "https://export.arxiv.org"
ARXIV_INTERVAL = 3.0  # seconds between requests, arXiv's published limit
ATOM_BATCH = 100
MAX_ARXIV_BYTES = 4 * 1024 * 1024  # same cap as MAX_DOCUMENT_BYTES for mirrors
MAX_XML_DEPTH = 32
MAX_STORED_BYTES = 1024 * 1024
RETRY_AFTER_CAP = 30.0
ATOM_NS = "{http://www.w3.org/2005/Atom}"
ARXIV_ATOM_NS = "{http://arxiv.org/schemas/atom}"
OAI_NS = "{http://www.openarchives.org/OAI/2.0/}"
RAW_NS = "{http://arxiv.org/OAI/arXivRaw/}"
_ENTRY_ID_RE = re.compile(r"https?://arxiv\.org/abs/(?P<id>.+)v(?P<version>[1-9][0-9]{0,3})")


@dataclass(frozen=True)
class ArxivFailure:
    """Why no metadata came back for one paper (one line, safe to print)."""

    id: str
    reason: str


ArxivResult = ArxivMetadata | ArxivFailure


class ArxivSource(Protocol):
    """Anything that maps arXiv ids (no version) to their metadata or a failure."""

    def fetch(self, ids: Sequence[str]) -> dict[str, ArxivResult]: ...


class MetadataStore(Protocol):
    """Where fetched metadata is kept between runs."""

    def get(self, arxiv_id: str) -> ArxivMetadata | None: ...

    def put(self, arxiv_id: str, meta: ArxivMetadata) -> None: ...


# -- the rate gate -------------------------------------------------------------------

class RateGate:
    """One request at a time, each starting ``interval`` seconds after the last ended.

    ``clock`` and ``sleep`` are injectable so tests can check the spacing without
    waiting; the lock is held for the whole request, so there is never more than
    one connection in use, whatever the number of threads.
    """

    def __init__(self, interval: float = ARXIV_INTERVAL,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = interval
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self._next = float("-inf")

    @contextmanager
    def turn(self) -> Iterator[None]:
        with self._lock:
            while True:
                wait = self._next - self.clock()
                if wait <= 0:
                    break
                self.sleep(wait)
            try:
                yield
            finally:
                # Counted from the end of the answer: the server then sees starts at
                # least ``interval`` apart whatever the network latency was.
                self._next = max(self._next, self.clock() + self.interval)

    def defer(self, seconds: float) -> None:
        """Push the next request back (a ``Retry-After`` from the server)."""
        self._next = max(self._next, self.clock() + seconds)


_GATES: dict[str, RateGate] = {}
_GATES_LOCK = threading.Lock()


def gate_for(host: str) -> RateGate:
    """The process-wide gate of one host, so every client in the process shares it."""
    with _GATES_LOCK:
        return _GATES.setdefault(host.lower(), RateGate())


# -- HTTP ------------------------------------------------------------------------------

class ArxivTransport:
    """GETs to one arXiv host on one kept-alive connection, through the host's gate."""

    def __init__(self, base: str = ARXIV_API, *, gate: RateGate | None = None,
                 timeout: float = 15.0, deadline: float = 30.0,
                 max_bytes: int = MAX_ARXIV_BYTES, retries: int = 2) -> None:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"arXiv API {base!r} is not an http(s) URL")
        self.base = base.rstrip("/")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.prefix = parts.path.rstrip("/")
        self.gate = gate or gate_for(parts.netloc)
        self.timeout = timeout
        self.deadline = deadline
        self.max_bytes = max_bytes
        self.retries = retries
        self.requests = 0
        self._conn: http.client.HTTPConnection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def get(self, target: str) -> bytes:
        """The body of ``GET {base}{target}``; FetchError on anything but a 200."""
        url = f"{self.base}{target}"
        for attempt in range(self.retries + 1):
            with self.gate.turn():
                status, retry_after, body = self._request(self.prefix + target, url)
            if status == 200:
                return body
            if status in (429, 503) and attempt < self.retries:
                self.gate.defer(min(retry_after, RETRY_AFTER_CAP))
                continue
            raise FetchError(f"{url}: HTTP {status}")
        raise FetchError(f"{url}: no answer")  # pragma: no cover - loop always returns

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            timeout = min(self.timeout, self.deadline)
            proxy = getproxies().get(self.scheme) if self.scheme == "https" else None
            if proxy and not proxy_bypass(self.host):
                proxied = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
                conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                    proxied.hostname or "", proxied.port or 8080, timeout=timeout,
                    context=ssl.create_default_context())
                conn.set_tunnel(self.host, self.port or 443)
            elif self.scheme == "https":
                conn = http.client.HTTPSConnection(self.host, self.port, timeout=timeout,
                                                   context=ssl.create_default_context())
            else:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
            self._conn = conn
        return self._conn

    def _request(self, target: str, url: str) -> tuple[int, float, bytes]:
        reused = self._conn is not None and self._conn.sock is not None
        try:
            return self._request_once(target, url)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            if not reused:
                raise FetchError(f"{url}: connection closed by the server") from None
        # A kept-alive connection the server had already dropped: it never saw the
        # request, so asking once more on a fresh connection is not a second request.
        try:
            return self._request_once(target, url)
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            raise FetchError(f"{url}: connection closed by the server") from None

    def _request_once(self, target: str, url: str) -> tuple[int, float, bytes]:
        conn = self._connection()
        expired = threading.Event()

        def abort() -> None:
            expired.set()
            sock = conn.sock
            if sock is not None:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(self.deadline, abort)
        watchdog.daemon = True
        watchdog.start()
        self.requests += 1
        try:
            conn.request("GET", target, headers={
                "User-Agent": user_agent(), "Accept": "application/xml, text/xml;q=0.9",
                "Accept-Encoding": "identity", "Connection": "keep-alive"})
            response = conn.getresponse()
            retry_after = _retry_after(response.getheader("Retry-After"))
            body = self._read(response, url)
            if expired.is_set():
                raise FetchError(f"{url}: not complete within {self.deadline:g} s")
            return response.status, retry_after, body
        except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
            self.close()
            if expired.is_set():
                raise FetchError(f"{url}: not complete within {self.deadline:g} s") from None
            raise
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            if expired.is_set():
                raise FetchError(f"{url}: not complete within {self.deadline:g} s") from None
            raise FetchError(f"{url}: {_short(exc)}") from None
        except FetchError:
            self.close()
            raise
        finally:
            watchdog.cancel()

    def _read(self, response: http.client.HTTPResponse, url: str) -> bytes:
        declared = ascii_int(response.getheader("Content-Length"), 30)
        if declared is not None and declared > self.max_bytes:
            raise FetchError(f"{url}: body of {declared} bytes is over the "
                             f"{self.max_bytes}-byte limit")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = response.read(65536)
            if not chunk:
                return b"".join(chunks)
            total += len(chunk)
            if total > self.max_bytes:
                raise FetchError(f"{url}: body is over the {self.max_bytes}-byte limit")
            chunks.append(chunk)


def _retry_after(value: str | None) -> float:
    seconds = ascii_int(value)
    return float(seconds) if seconds is not None else ARXIV_INTERVAL


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) < 120 else text[:117] + "..."


# -- safe XML --------------------------------------------------------------------------

def parse_xml(data: bytes) -> ET.Element:
    """An element tree from untrusted bytes; DOCTYPE, entities and deep nesting refused."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    depth = 0

    def refuse(*_: object) -> None:
        raise ArxivMetadataError("the answer declares a DOCTYPE or entities (refused)")

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_XML_DEPTH:
            raise ArxivMetadataError("the answer's XML is nested implausibly deep")
        builder.start(_qname(name), {_qname(k): v for k, v in attrs.items()})

    def end(name: str) -> None:
        nonlocal depth
        depth -= 1
        builder.end(_qname(name))

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise ArxivMetadataError(
            f"malformed XML ({expat.ErrorString(exc.code)}, line {exc.lineno})") from None
    return builder.close()


def _qname(name: str) -> str:
    return "{" + name if "}" in name else name


def _text(element: ET.Element | None) -> str | None:
    return None if element is None else "".join(element.itertext())


# -- Atom (arXiv API) --------------------------------------------------------------------

def _atom_time(arxiv_id: str, text: str | None) -> datetime:
    try:
        moment = datetime.strptime((text or "").strip(), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise ArxivMetadataError(f"{arxiv_id}: bad time {text!r:.40}") from None
    return moment.replace(tzinfo=timezone.utc)


def _atom_entry(entry: ET.Element) -> ArxivMetadata:
    match = _ENTRY_ID_RE.fullmatch((entry.findtext(f"{ATOM_NS}id") or "").strip())
    if not match:
        raise ArxivMetadataError("an entry without an arXiv abstract URL as its id")
    arxiv_id, latest = check_arxiv_id(match.group("id")), int(match.group("version"))
    versions = [(1, _atom_time(arxiv_id, entry.findtext(f"{ATOM_NS}published")))]
    if latest > 1:
        versions.append((latest, _atom_time(arxiv_id, entry.findtext(f"{ATOM_NS}updated"))))
    primary = entry.find(f"{ARXIV_ATOM_NS}primary_category")
    primary_cat = primary.get("term", "") if primary is not None else ""
    # The feed lists the primary among the categories, and sometimes MSC/ACM classes
    # (68T05, I.2.6), which are not arXiv categories and not part of the record.
    terms = [c.get("term", "") for c in entry.findall(f"{ATOM_NS}category")]
    cross = [t for t in dict.fromkeys(terms) if CATEGORY_RE.fullmatch(t) and t != primary_cat]
    return ArxivMetadata(id=arxiv_id, versions=tuple(versions),
                         title=_text(entry.find(f"{ATOM_NS}title")) or "",
                         abstract=_text(entry.find(f"{ATOM_NS}summary")) or "",
                         primary_cat=primary_cat, cross_cats=tuple(cross), license=None)


def parse_atom(data: bytes, requested: Sequence[str]) -> dict[str, ArxivResult]:
    """Metadata for each requested id from an API answer; failures for the rest."""
    try:
        root = parse_xml(data)
        if root.tag != f"{ATOM_NS}feed":
            raise ArxivMetadataError("the answer is not an Atom feed")
    except ArxivMetadataError as exc:
        return {i: ArxivFailure(i, f"arXiv API: {exc}") for i in requested}
    wanted = set(requested)
    results: dict[str, ArxivResult] = {}
    for entry in root.findall(f"{ATOM_NS}entry"):
        try:
            meta = _atom_entry(entry)
        except ArxivMetadataError as exc:
            ident = _entry_id_of(entry)
            if ident in wanted:
                results[ident] = ArxivFailure(ident, f"arXiv API: {exc}")
            continue
        if meta.id not in wanted:
            continue  # an answer about a paper nobody asked for is ignored
        previous = results.get(meta.id)
        if previous is not None and previous != meta:
            results[meta.id] = ArxivFailure(meta.id, "arXiv API: conflicting entries")
        elif previous is None:
            results[meta.id] = meta
    for ident in requested:
        results.setdefault(ident, ArxivFailure(ident, "arXiv API: not in arXiv's answer"))
    return results


def _entry_id_of(entry: ET.Element) -> str:
    match = _ENTRY_ID_RE.fullmatch((entry.findtext(f"{ATOM_NS}id") or "").strip())
    return match.group("id") if match else ""


# -- OAI-PMH arXivRaw ------------------------------------------------------------------

def parse_oai(data: bytes, arxiv_id: str) -> ArxivResult:
    """Metadata from one OAI-PMH ``GetRecord`` answer in ``arXivRaw``, or a failure."""
    try:
        return _oai_record(parse_xml(data), arxiv_id)
    except ArxivMetadataError as exc:
        return ArxivFailure(arxiv_id, f"arXiv OAI-PMH: {exc}")


def _oai_record(root: ET.Element, arxiv_id: str) -> ArxivMetadata:
    if root.tag != f"{OAI_NS}OAI-PMH":
        raise ArxivMetadataError("the answer is not an OAI-PMH document")
    error = root.find(f"{OAI_NS}error")
    if error is not None:
        code = (error.get("code") or "error")[:40]
        raise ArxivMetadataError(f"{code}: {' '.join((_text(error) or '').split())[:120]}")
    raw = root.find(f"{OAI_NS}GetRecord/{OAI_NS}record/{OAI_NS}metadata/{RAW_NS}arXivRaw")
    if raw is None:
        raise ArxivMetadataError("no arXivRaw record in the answer")
    answered = (raw.findtext(f"{RAW_NS}id") or "").strip()
    if answered != arxiv_id:
        raise ArxivMetadataError(f"the answer is about another paper ({answered[:40]!r})")
    versions = [(v.get("version", ""), (v.findtext(f"{RAW_NS}date") or "").strip())
                for v in raw.findall(f"{RAW_NS}version")]
    license_text = (raw.findtext(f"{RAW_NS}license") or "").strip()
    return ArxivMetadata.from_raw(
        arxiv_id, versions, _text(raw.find(f"{RAW_NS}title")) or "",
        _text(raw.find(f"{RAW_NS}abstract")) or "",
        raw.findtext(f"{RAW_NS}categories") or "", license_text or None)


# -- sources ------------------------------------------------------------------------------

class AtomSource:
    """The arXiv API: many papers per request, no license."""

    def __init__(self, transport: ArxivTransport, batch_size: int = ATOM_BATCH) -> None:
        self.transport = transport
        self.batch_size = max(1, min(batch_size, ATOM_BATCH))

    def fetch(self, ids: Sequence[str]) -> dict[str, ArxivResult]:
        results: dict[str, ArxivResult] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), self.batch_size):
            batch = unique[start:start + self.batch_size]
            target = (f"/api/query?id_list={quote(','.join(batch), safe='/,.')}"
                      f"&max_results={len(batch)}")
            try:
                body = self.transport.get(target)
            except PithBibError as exc:
                results.update({i: ArxivFailure(i, f"arXiv API: {exc}") for i in batch})
                continue
            results.update(parse_atom(body, batch))
        return results


class OaiSource:
    """OAI-PMH ``arXivRaw``: one paper per request, with license and every version."""

    def __init__(self, transport: ArxivTransport, path: str = "/oai2") -> None:
        self.transport = transport
        self.path = path

    def fetch(self, ids: Sequence[str]) -> dict[str, ArxivResult]:
        results: dict[str, ArxivResult] = {}
        for ident in dict.fromkeys(ids):
            target = (f"{self.path}?verb=GetRecord&identifier="
                      f"{quote('oai:arXiv.org:' + ident, safe=':/.')}&metadataPrefix=arXivRaw")
            try:
                results[ident] = parse_oai(self.transport.get(target), ident)
            except PithBibError as exc:
                results[ident] = ArxivFailure(ident, f"arXiv OAI-PMH: {exc}")
        return results


class FileMetadataStore:
    """One small JSON file per paper under ``root``; unreadable files count as absent."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _path(self, arxiv_id: str) -> Path:
        return self.root / (check_arxiv_id(arxiv_id).replace("/", "_") + ".json")

    def get(self, arxiv_id: str) -> ArxivMetadata | None:
        """The stored metadata; anything unreadable, oversized or odd counts as absent.

        Read like every file that could be planted: a regular file only (never a
        FIFO or a device), bounded by the bytes read, strict JSON.
        """
        try:
            data = read_regular_file(self._path(arxiv_id), MAX_STORED_BYTES)
            if data is None:
                return None
            meta = ArxivMetadata.from_json(load_json(data, max_bytes=MAX_STORED_BYTES,
                                                     what="stored arXiv metadata"))
        except (OSError, ValueError, FileReadError):  # ArxivMetadataError is a ValueError
            return None
        return meta if meta.id == arxiv_id else None

    def put(self, arxiv_id: str, meta: ArxivMetadata) -> None:
        path = self._path(arxiv_id)
        self.root.mkdir(parents=True, exist_ok=True)
        data = json.dumps(meta.to_json(), sort_keys=True, ensure_ascii=True).encode("ascii")
        write_atomic(path, data)


class CachedSource:
    """A store in front of a source; ``offline`` (or no source) never contacts arXiv."""

    def __init__(self, inner: ArxivSource | None, store: MetadataStore | None = None,
                 offline: bool = False) -> None:
        self.inner = inner
        self.store = store
        self.offline = offline or inner is None

    def fetch(self, ids: Sequence[str]) -> dict[str, ArxivResult]:
        results: dict[str, ArxivResult] = {}
        missing: list[str] = []
        for ident in dict.fromkeys(ids):
            try:
                check_arxiv_id(ident)
            except ArxivMetadataError as exc:
                results[ident] = ArxivFailure(ident, str(exc))
                continue
            hit = self.store.get(ident) if self.store is not None else None
            if hit is not None:
                results[ident] = hit
            else:
                missing.append(ident)
        if self.offline or self.inner is None:
            results.update({i: ArxivFailure(i, "offline: no stored arXiv metadata")
                            for i in missing})
            return results
        if missing:
            fetched = self.inner.fetch(missing)
            for ident in missing:
                found = fetched.get(ident, ArxivFailure(ident, "no answer"))
                if isinstance(found, ArxivMetadata) and self.store is not None:
                    with suppress(PithBibError):  # a full disk must not lose the answer
                        self.store.put(ident, found)
                results[ident] = found
        return results


def make_arxiv_source(*, base: str = ARXIV_API, method: str = "oai",
                      store_dir: Path | str | None = None, offline: bool = False,
                      gate: RateGate | None = None) -> CachedSource:
    """The source the resolver uses: ``method`` ``"oai"`` or ``"atom"``, cached."""
    store = FileMetadataStore(store_dir) if store_dir is not None else None
    if offline:
        return CachedSource(None, store, offline=True)
    transport = ArxivTransport(base, gate=gate)
    if method == "atom":
        return CachedSource(AtomSource(transport), store)
    if method == "oai":
        return CachedSource(OaiSource(transport), store)
    raise UsageError(f"unknown arXiv metadata method {method!r} (oai or atom)")
