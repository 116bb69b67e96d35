"""A raw-socket HTTP server on 127.0.0.1 that misbehaves byte by byte.

``http.server`` cannot send half a header line, so this one writes the bytes
itself: it can drip the headers or the body one byte per N seconds, wait
before answering, declare more bytes than it sends, send a body with no
length at all, or answer 429/500 with any headers. Every request line is
logged so tests can assert what was (not) asked, never how long it took.
Each connection serves one request (``Connection: close``).
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found", 404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class Reply:
    """One answer. ``None`` content type means no Content-Type header at all."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line
    drip_headers: float | None = None  # status line at once, then one header byte per N s
    drip_body: float | None = None  # headers at once, then one body byte per N s
    declared_length: int | None = None  # Content-Length to declare (default: the body's)
    no_length: bool = False  # no Content-Length: the body ends when the connection closes


class SlowServer:
    def __init__(self) -> None:
        self.replies: dict[str, deque[Reply]] = defaultdict(deque)
        self.defaults: dict[str, Reply] = {}
        self.log: list[str] = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._listener: socket.socket | None = None
        self._clients: set[socket.socket] = set()
        self._thread: threading.Thread | None = None

    # -- content ---------------------------------------------------------------------
    def serve(self, path: str, reply: Reply) -> None:
        """Answer every request for ``path`` with ``reply`` (after any queued ones)."""
        self.defaults[path] = reply

    def queue(self, path: str, *replies: Reply) -> None:
        """Answer the next requests for ``path`` with these, in order."""
        with self.lock:
            self.replies[path].extend(replies)

    def count(self, path: str | None = None) -> int:
        with self.lock:
            return len(self.log) if path is None else self.log.count(path)

    # -- lifecycle -------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._listener is not None
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> SlowServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        listener.settimeout(0.1)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self.lock:
            clients = list(self._clients)
        for client in clients:
            _close(client)
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> SlowServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- serving ---------------------------------------------------------------------
    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self.lock:
                self._clients.add(client)
            threading.Thread(target=self._handle, args=(client,), daemon=True).start()

    def _handle(self, client: socket.socket) -> None:
        try:
            path = _read_request_path(client)
            if path is None:
                return
            with self.lock:
                self.log.append(path)
                queued = self.replies.get(path)
                reply = queued.popleft() if queued else self.defaults.get(path)
            if reply is None:
                reply = Reply(status=404, body=b"not found", content_type="text/plain")
            self._answer(client, reply)
        except OSError:
            pass  # the client went away, as a client at its deadline should
        finally:
            with self.lock:
                self._clients.discard(client)
            _close(client)

    def _answer(self, client: socket.socket, reply: Reply) -> None:
        if reply.delay and self._stop.wait(reply.delay):
            return
        status = f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}\r\n"
        lines = []
        if reply.content_type is not None:
            lines.append(f"Content-Type: {reply.content_type}")
        if not reply.no_length:
            length = reply.declared_length if reply.declared_length is not None \
                else len(reply.body)
            lines.append(f"Content-Length: {length}")
        lines += [f"{name}: {value}" for name, value in reply.headers.items()]
        lines.append("Connection: close")
        head = ("".join(f"{line}\r\n" for line in lines) + "\r\n").encode("latin-1")
        client.sendall(status.encode("latin-1"))
        self._send(client, head, reply.drip_headers)
        self._send(client, reply.body, reply.drip_body)

    def _send(self, client: socket.socket, data: bytes, drip: float | None) -> None:
        if drip is None:
            client.sendall(data)
            return
        for index in range(len(data)):
            client.sendall(data[index:index + 1])
            if self._stop.wait(drip):
                return


def _read_request_path(client: socket.socket) -> str | None:
    client.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(4096)
        if not chunk or len(data) > 65536:
            return None
        data += chunk
    client.settimeout(None)
    request_line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = request_line.split(" ")
    return parts[1] if len(parts) == 3 else None


def _close(client: socket.socket) -> None:
    with contextlib.suppress(OSError):
        client.close()
