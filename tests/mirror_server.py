"""A real HTTP mirror on 127.0.0.1 for integration tests and benchmarks.

It serves registry-shaped paths from memory and can be told, per path, to
misbehave for the next requests: an HTTP status (with headers), a slow
trickle, a truncated or oversized body, a wrong Content-Type, a redirect.
Every request is counted so tests can assert what was (not) fetched.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.loopback import LoopbackServer


@dataclass
class Fault:
    """One misbehaviour for one request."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    content_type: str | None = None
    trickle: tuple[int, float] | None = None  # (bytes per write, seconds between writes)
    truncate_to: int | None = None  # declare the full length, send only this many bytes
    chunked_size: int | None = None  # send this many bytes with no Content-Length


class MirrorServer(LoopbackServer):
    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.files: dict[str, tuple[bytes, str]] = {}
        self.faults: dict[str, deque[Fault]] = defaultdict(deque)
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- content -------------------------------------------------------------------
    def add(self, path: str, body: bytes, content_type: str = "application/json") -> None:
        self.files[path] = (body, content_type)

    def add_document(self, pith_id: str, kind: str, body: bytes) -> None:
        self.add(f"/pith/{pith_id}/{kind}.json", body)

    def add_alias(self, kind: str, value: str, pith_number: str) -> None:
        self.add(f"/aliases/{kind}/{value.lower()}", pith_number.encode() + b"\n", "text/plain")

    def fault(self, path: str, *faults: Fault) -> None:
        with self.lock:
            self.faults[path].extend(faults)

    # -- lifecycle -----------------------------------------------------------------
    def handler(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)


def _make_handler(state: MirrorServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out as separate writes

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            with state.lock:
                state.counts[path] += 1
                fault = state.faults[path].popleft() if state.faults.get(path) else None
            if state.latency:
                time.sleep(state.latency)
            stored = state.files.get(path)
            if fault is None:
                if stored is None:
                    self._send(404, b"not found", "text/plain")
                else:
                    self._send(200, stored[0], stored[1])
                return
            body = fault.body if fault.body is not None else (stored[0] if stored else b"")
            ctype = fault.content_type or (stored[1] if stored else "application/json")
            if fault.trickle:
                self._trickle(body, ctype, *fault.trickle)
            elif fault.truncate_to is not None:
                self._send_head(fault.status, ctype, len(body), fault.headers)
                self.wfile.write(body[: fault.truncate_to])
                self.wfile.flush()
                self.close_connection = True
            elif fault.chunked_size is not None:
                self._send_chunked(fault.status, ctype, fault.chunked_size)
            else:
                self._send(fault.status, body, ctype, fault.headers)

        def _send_head(self, status: int, ctype: str, length: int | None,
                       headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            if length is not None:
                self.send_header("Content-Length", str(length))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()

        def _send(self, status: int, body: bytes, ctype: str,
                  headers: dict[str, str] | None = None) -> None:
            self._send_head(status, ctype, len(body), headers)
            self.wfile.write(body)

        def _trickle(self, body: bytes, ctype: str, step: int, pause: float) -> None:
            self._send_head(200, ctype, len(body))
            try:
                for start in range(0, len(body), step):
                    self.wfile.write(body[start:start + step])
                    self.wfile.flush()
                    time.sleep(pause)
            except OSError:
                pass  # the client gave up, as it should
            self.close_connection = True

        def _send_chunked(self, status: int, ctype: str, size: int) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            sent = 0
            try:
                while sent < size:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    sent += len(chunk)
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
            self.close_connection = True

    return Handler
