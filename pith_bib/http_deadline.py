"""A whole-request deadline for HTTP, enforced by shutting the socket down.

Why: ``requests`` has only connect and read timeouts, and a read timeout is
per read: a server that sends one byte a minute never trips it, so a body (or
headers) dripped slowly holds a request for as long as the server likes. Here
one daemon thread keeps every request's deadline (a heap, not a timer each) and,
when one passes, shuts down the sockets that request is using; the blocked read
returns at once and the request fails. Used by the mirrors and the Zotero client.

A request runs inside :func:`watching`; sessions mount :func:`deadline_adapter`,
whose connection pools attach each connection to the current request's watch
when it is taken from the pool and detach it when it is given back.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any


class DeadlineReached(Exception):
    """Raised inside urllib3 (a retry sleep, a new connection) once the deadline has passed.

    A plain ``Exception``: neither urllib3 nor requests catches it, so it
    unwinds the whole request, closing its connection on the way.
    """


_CURRENT = threading.local()


def current_watch() -> Watch | None:
    return getattr(_CURRENT, "watch", None)


def _shutdown(conn: Any) -> None:
    """Wake a thread blocked on this connection's socket: recv() returns EOF at once.

    ``shutdown`` rather than ``close``: closing an fd another thread is blocked on
    does not wake it on every platform, and the fd number could be reused.
    The base-class method is used on TLS sockets too, leaving the TLS state alone.
    """
    sock = getattr(conn, "sock", None)
    if sock is None:
        return
    import socket  # loaded by the HTTP stack already; offline runs never need it

    with suppress(OSError, TypeError):  # already closed, or not a plain socket (TLS in TLS)
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class Watch:
    """One request's deadline, enforced on the urllib3 connections it is using.

    Connections are attached when taken from the pool and detached when given
    back, under one lock with :meth:`fire`: a connection handed to another
    request can never be shut down by this one's deadline.
    """

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.fired = False
        self._conns: set[Any] = set()
        self._lock = threading.Lock()
        self._over = False

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def attach(self, conn: Any) -> None:
        with self._lock:
            if self._over:
                return
            self._conns.add(conn)
            conn._pith_watch = self
            if self.fired:
                _shutdown(conn)  # a pooled, connected socket taken after the deadline

    def detach(self, conn: Any) -> None:
        with self._lock:
            self._conns.discard(conn)
            conn._pith_watch = None

    def fire(self) -> None:
        with self._lock:
            if self._over:
                return
            self.fired = True
            for conn in self._conns:
                _shutdown(conn)

    def finish(self) -> None:
        with self._lock:
            self._over = True
            for conn in self._conns:
                conn._pith_watch = None
            self._conns.clear()


class Watchdog:
    """One daemon thread firing every watch whose deadline has passed (a heap, not a timer each)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watch]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, watch: Watch) -> None:
        with self._cond:
            heapq.heappush(self._heap, (watch.deadline, next(self._counter), watch))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pith-bib-deadlines",
                                                daemon=True)
                self._thread.start()
            # Woken only when its next wake-up moves earlier: every request's deadline is
            # "now + the same delay", so almost always later than the head's, and waking
            # the thread per request only made it fight the fetching threads for the GIL.
            if self._heap[0][2] is watch:
                self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                watch = heapq.heappop(self._heap)[2]
            watch.fire()  # a no-op for requests already finished


_WATCHDOG = Watchdog()


@contextmanager
def watching(seconds: float) -> Iterator[Watch]:
    """Run the body under a deadline that covers connect, headers, body, retries and sleeps."""
    watch = Watch(seconds)
    _WATCHDOG.add(watch)
    _CURRENT.watch = watch
    try:
        yield watch
    finally:
        _CURRENT.watch = None
        watch.finish()


def _guarded_connect(conn: Any, connect: Callable[[], None]) -> None:
    """Connect no longer than the deadline allows; a socket not yet made cannot be shut down."""
    watch = current_watch()
    if watch is not None:
        remaining = watch.remaining()
        if watch.fired or remaining <= 0:
            raise DeadlineReached
        if not isinstance(conn.timeout, (int, float)) or conn.timeout > remaining:
            conn.timeout = remaining
    connect()
    if watch is not None and watch.fired:
        _shutdown(conn)


def _attach(conn: Any) -> Any:
    watch = current_watch()
    if watch is not None and conn is not None:
        watch.attach(conn)
    return conn


def _detach(conn: Any) -> None:
    watch = getattr(conn, "_pith_watch", None)
    if watch is not None:
        watch.detach(conn)


@functools.cache
def deadline_adapter() -> type:
    """A ``requests`` adapter class whose connections a :func:`watching` deadline can cut.

    Built on first use, so runs that send nothing never import requests.
    """
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class WatchedHTTPConnection(HTTPConnection):
        def connect(self) -> None:
            _guarded_connect(self, super().connect)

    class WatchedHTTPSConnection(HTTPSConnection):
        def connect(self) -> None:
            _guarded_connect(self, super().connect)

    class Watched:
        """Pool methods: a connection belongs to the current request's watch while taken."""

        def _get_conn(self, timeout: float | None = None) -> Any:
            return _attach(super()._get_conn(timeout))  # type: ignore[misc]

        def _put_conn(self, conn: Any) -> None:
            _detach(conn)
            super()._put_conn(conn)  # type: ignore[misc]

    class WatchedHTTPPool(Watched, HTTPConnectionPool):
        ConnectionCls = WatchedHTTPConnection

    class WatchedHTTPSPool(Watched, HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPSConnection

    pools = {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}

    class DeadlineAdapter(HTTPAdapter):
        """Pools whose connections a request's deadline can cut (SOCKS proxies excepted)."""

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = dict(pools)

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **kwargs)
            if not proxy.lower().startswith("socks"):
                manager.pool_classes_by_scheme = dict(pools)
            return manager

    return DeadlineAdapter
