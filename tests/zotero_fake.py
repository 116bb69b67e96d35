"""A loopback fake of the Zotero Web API v3, for integration tests and benchmarks.

A real threaded HTTP server on 127.0.0.1 that keeps a library in memory with
Zotero's versioning: every write request that changes something raises the
library version by one and stamps the changed items with it. It serves
``GET <lib>/items/top`` (and the collection form) with ``start``/``limit``,
``since``, ``Total-Results``, ``Link`` and ``Last-Modified-Version``;
``GET <lib>/items?itemKey=``; and ``POST <lib>/items`` of at most 50 objects
(413 beyond) with the per-object ``successful``/``unchanged``/``failed`` map,
412 for a stale object version. It requires ``Zotero-API-Key`` (403 without
or with a wrong one) and ``format=json``.

Knobs for misbehaviour: queued responses (429 + Retry-After, 503, Backoff on a
200...), a hook run between the client's read and its write (a user editing
an item), a per-object failure injector, per-request latency. Every request
is logged so tests can assert what was (not) sent.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.loopback import LoopbackServer

API_KEY = "FakeKey0123456789abcdefg"
LIBRARY = "users/4242"


def item_key(n: int) -> str:
    """A valid 8-character Zotero key for item number n."""
    alphabet = "23456789ABCDEFGHIJKLMNPQRSTUVWXYZ"
    out = ""
    for _ in range(8):
        n, r = divmod(n, len(alphabet))
        out = alphabet[r] + out
    return out


@dataclass
class Canned:
    """One queued response: a status and headers, with the real answer unless ``body``."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    method: str | None = None  # only for requests of this method


@dataclass
class Logged:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    count: int = 0  # objects in a POST


class FakeZotero(LoopbackServer):
    def __init__(self, library: str = LIBRARY, api_key: str = API_KEY,
                 latency: float = 0.0) -> None:
        self.library = library
        self.api_key = api_key
        self.latency = latency
        self.version = 1
        self.items: dict[str, dict[str, Any]] = {}  # key -> {"key","version","data"}
        self.canned: deque[Canned] = deque()
        self.before_write: Callable[[FakeZotero, list[dict[str, Any]]], None] | None = None
        self.fail_objects: dict[str, tuple[int, str]] = {}  # key -> (code, message), once
        self.log: list[Logged] = []
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # -- library -------------------------------------------------------------------
    def add_item(self, key: str, data: dict[str, Any]) -> None:
        with self.lock:
            self.version += 1
            body = {"key": key, "version": self.version, **data}
            body.setdefault("extra", "")
            body.setdefault("collections", [])
            self.items[key] = {"key": key, "version": self.version, "library": {},
                               "data": body}

    def user_edit(self, key: str, **fields: Any) -> None:
        """Change an item as a Zotero user would (a new library and item version)."""
        with self.lock:
            self.version += 1
            item = self.items[key]
            item["data"].update(fields)
            item["version"] = item["data"]["version"] = self.version

    def extra(self, key: str) -> str:
        return self.items[key]["data"]["extra"]

    def requests(self, method: str | None = None) -> list[Logged]:
        with self.lock:
            return [r for r in self.log if method is None or r.method == method]

    # -- lifecycle -----------------------------------------------------------------
    def handler(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)

    # -- request handling (called with the lock held) ---------------------------------
    def handle_get(self, parts: list[str], query: dict[str, list[str]]
                   ) -> tuple[int, dict[str, str], Any]:
        if query.get("format", ["json"])[0] != "json":
            return 400, {}, "only format=json here"
        rest = parts[2:]
        objs = list(self.items.values())
        if rest[:1] == ["collections"] and len(rest) >= 3:
            objs = [o for o in objs if rest[1] in o["data"].get("collections", [])]
            rest = rest[2:]
        if rest == ["items", "top"]:
            objs = [o for o in objs if not o["data"].get("parentItem")]
        elif rest == ["items"]:
            keys = query.get("itemKey", [""])[0].split(",")
            if "itemKey" in query:
                objs = [o for o in objs if o["key"] in keys]
        elif len(rest) == 2 and rest[0] == "items":
            obj = self.items.get(rest[1])
            return (200, self._version_header(), obj) if obj else (404, {}, "no such item")
        else:
            return 404, {}, "not found"
        since = int(query.get("since", ["0"])[0])
        objs = [o for o in objs if o["version"] > since]
        total = len(objs)
        start = int(query.get("start", ["0"])[0])
        limit = min(int(query.get("limit", ["25"])[0]), 100)
        page = objs[start:start + limit]
        headers = {**self._version_header(), "Total-Results": str(total)}
        if start + limit < total:
            headers["Link"] = f'<{self.url}/{"/".join(parts)}?start={start + limit}>; rel="next"'
        return 200, headers, page

    def _version_header(self) -> dict[str, str]:
        return {"Last-Modified-Version": str(self.version)}

    def handle_post(self, body: Any, headers: Any) -> tuple[int, dict[str, str], Any]:
        if not isinstance(body, list):
            return 400, {}, "expected a JSON array"
        if len(body) > 50:
            return 413, {}, "Only 50 objects may be written per request"
        if self.before_write is not None:
            hook, self.before_write = self.before_write, None
            hook(self, body)
        expected = headers.get("If-Unmodified-Since-Version")
        if expected is not None and int(expected) != self.version:
            return 412, self._version_header(), "Library has been modified"
        result: dict[str, dict[str, Any]] = {"successful": {}, "success": {}, "unchanged": {},
                                             "failed": {}}
        changes: list[tuple[str, str, dict[str, Any]]] = []
        for index, obj in enumerate(body):
            self._judge_object(str(index), obj, result, changes)
        if changes:
            self.version += 1
            for index, key, fields in changes:
                item = self.items[key]
                item["data"].update(fields)
                item["version"] = item["data"]["version"] = self.version
                result["successful"][index] = item
                result["success"][index] = key
        return 200, self._version_header(), result

    def _judge_object(self, index: str, obj: Any, result: dict[str, dict[str, Any]],
                      changes: list[tuple[str, str, dict[str, Any]]]) -> None:
        key = obj.get("key") if isinstance(obj, dict) else None
        if key in self.fail_objects:
            code, message = self.fail_objects.pop(key)
            result["failed"][index] = {"key": key, "code": code, "message": message}
            return
        item = self.items.get(key) if isinstance(key, str) else None
        if item is None:
            result["failed"][index] = {"key": key, "code": 404, "message": "Item not found"}
            return
        if obj.get("version") != item["version"]:
            result["failed"][index] = {
                "key": key, "code": 412,
                "message": f"Item has been modified since specified version "
                           f"(expected {obj.get('version')}, found {item['version']})"}
            return
        fields = {k: v for k, v in obj.items() if k not in ("key", "version")}
        if all(item["data"].get(k) == v for k, v in fields.items()):
            result["unchanged"][index] = key
            return
        changes.append((index, key, fields))


def _make_handler(state: FakeZotero) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PATCH(self) -> None:
            self._serve("PATCH")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def _serve(self, method: str) -> None:
            split = urlsplit(self.path)
            query = parse_qs(split.query)
            parts = [p for p in split.path.split("/") if p]
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if state.latency:
                time.sleep(state.latency)
            with state.lock:
                status, headers, payload, count = self._answer(method, parts, query, raw)
                state.log.append(Logged(method, split.path, query, status, count))
            body = payload if isinstance(payload, bytes) else (
                json.dumps(payload).encode() if not isinstance(payload, str)
                else payload.encode())
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _answer(self, method: str, parts: list[str], query: dict[str, list[str]],
                    raw: bytes) -> tuple[int, dict[str, str], Any, int]:
            body: Any = None
            if raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    return 400, {}, "bad JSON", 0
            count = len(body) if isinstance(body, list) else 0
            if self.headers.get("Zotero-API-Key") != state.api_key:
                return 403, {}, "Forbidden", count
            if "/".join(parts[:2]) != state.library:
                return 403, {}, "Forbidden", count
            canned = None
            if state.canned and state.canned[0].method in (None, method):
                canned = state.canned.popleft()
            if canned is not None and canned.status != 200:
                return canned.status, canned.headers, canned.body or b"", count
            if method == "GET":
                status, headers, payload = state.handle_get(parts, query)
            elif method == "POST" and parts[2:] == ["items"]:
                status, headers, payload = state.handle_post(body, self.headers)
            else:
                status, headers, payload = 405, {}, "not supported by the fake"
            if canned is not None:
                headers = {**headers, **canned.headers}
            return status, headers, payload, count

    return Handler
