"""A loopback fake of arXiv's metadata endpoints (API Atom and OAI-PMH arXivRaw).

Answers look like arXiv's: titles folded over lines, abstracts indented and
wrapped, MSC classes among the Atom categories, RFC 2822 dates in arXivRaw. Every
request is recorded with the time of an injectable clock, so tests can check the
client's spacing without waiting. Per-paper fault modes make the next answer that
concerns that paper hostile.
"""

from __future__ import annotations

import textwrap
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

from tests.loopback import LoopbackServer

FAULTS = ("entity_bomb", "huge", "truncated", "wrong_id", "retry_after", "trickle")
HUGE_BYTES = 100 * 1024 * 1024

ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&lol3;</title></feed>
"""


@dataclass
class FakePaper:
    id: str
    versions: list[tuple[int, datetime]]
    title: str
    abstract: str
    categories: list[str]  # primary first
    license: str | None  # None: arXiv recorded none


def fold_title(title: str) -> str:
    return "\n  ".join(textwrap.wrap(title, 50)) or title


def wrap_abstract(abstract: str) -> str:
    return "  " + "\n".join(textwrap.wrap(abstract, 78)) + "\n"


def atom_entry(paper: FakePaper, answer_id: str | None = None) -> str:
    latest = max(n for n, _ in paper.versions)
    dates = dict(paper.versions)
    v1 = dates[1].strftime("%Y-%m-%dT%H:%M:%SZ")
    updated = dates.get(latest, dates[1]).strftime("%Y-%m-%dT%H:%M:%SZ")
    ident = answer_id or paper.id
    cats = "".join(f'\n    <category term="{c}" scheme="http://arxiv.org/schemas/atom"/>'
                   for c in [*paper.categories, "68Q45"])
    return f"""  <entry>
    <id>http://arxiv.org/abs/{ident}v{latest}</id>
    <updated>{updated}</updated>
    <published>{v1}</published>
    <title>{escape(fold_title(paper.title))}</title>
    <summary>{escape(wrap_abstract(paper.abstract))}</summary>
    <author>
      <name>A. Author</name>
    </author>
    <arxiv:comment xmlns:arxiv="http://arxiv.org/schemas/atom">12 pages</arxiv:comment>
    <link href="http://arxiv.org/abs/{ident}v{latest}" rel="alternate" type="text/html"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" \
term="{paper.categories[0]}" scheme="http://arxiv.org/schemas/atom"/>{cats}
  </entry>
"""


def atom_feed(entries: list[str]) -> bytes:
    return ("""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query" rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query: id_list</title>
  <id>http://arxiv.org/api/fake</id>
  <updated>2026-05-20T00:00:00-04:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">"""
            f"{len(entries)}</opensearch:totalResults>\n" + "".join(entries)
            + "</feed>\n").encode()


def oai_record(paper: FakePaper, answer_id: str | None = None) -> bytes:
    versions = "".join(
        f'<version version="v{n}"><date>{format_datetime(d, usegmt=True)}</date>'
        f"<size>12kb</size><source_type>D</source_type></version>\n"
        for n, d in sorted(paper.versions))
    license_xml = f"<license>{escape(paper.license)}</license>\n" if paper.license else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<responseDate>2026-05-20T00:00:00Z</responseDate>
<request verb="GetRecord" identifier={quoteattr("oai:arXiv.org:" + paper.id)} \
metadataPrefix="arXivRaw">http://export.arxiv.org/oai2</request>
<GetRecord><record><header><identifier>oai:arXiv.org:{paper.id}</identifier>
<datestamp>2026-01-01</datestamp><setSpec>math</setSpec></header>
<metadata>
<arXivRaw xmlns="http://arxiv.org/OAI/arXivRaw/">
<id>{answer_id or paper.id}</id><submitter>A. Author</submitter>
{versions}<title>{escape(fold_title(paper.title))}</title>
<authors>A. Author</authors>
<categories>{" ".join(paper.categories)}</categories>
<comments>12 pages</comments>
{license_xml}<abstract>{escape(wrap_abstract(paper.abstract))}</abstract>
</arXivRaw>
</metadata></record></GetRecord>
</OAI-PMH>
""".encode()


def oai_error(identifier: str) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">
<responseDate>2026-05-20T00:00:00Z</responseDate>
<error code="idDoesNotExist">Malformed identifier {escape(identifier)}</error>
</OAI-PMH>
""".encode()


class ArxivFake(LoopbackServer):
    def __init__(self, papers: list[FakePaper] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.papers = {p.id: p for p in papers or []}
        self.clock = clock
        self.requests: list[tuple[float, str]] = []
        self.user_agents: list[str] = []
        self.faults: dict[str, deque[str]] = defaultdict(deque)
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def fault(self, arxiv_id: str, *modes: str) -> None:
        assert all(m in FAULTS for m in modes)
        with self.lock:
            self.faults[arxiv_id].extend(modes)

    def _take_fault(self, ids: list[str]) -> tuple[str, str] | None:
        with self.lock:
            for ident in ids:
                if self.faults.get(ident):
                    return ident, self.faults[ident].popleft()
        return None

    def handler(self) -> type[BaseHTTPRequestHandler]:
        return _make_handler(self)

    # -- answers ------------------------------------------------------------------
    def answer(self, path: str, query: dict[str, list[str]]) -> tuple[list[str], Callable]:
        """The ids a request concerns and a function producing its (normal) body."""
        if path == "/api/query":
            ids = [i for i in query.get("id_list", [""])[0].split(",") if i]
            limit = int(query.get("max_results", ["10"])[0])
            return ids, lambda wrong=None: atom_feed(
                [atom_entry(self.papers[i], wrong) for i in ids if i in self.papers][:limit])
        if path == "/oai2":
            identifier = query.get("identifier", [""])[0]
            ident = identifier.removeprefix("oai:arXiv.org:")
            if query.get("metadataPrefix") != ["arXivRaw"] or ident not in self.papers:
                return [ident], lambda wrong=None: oai_error(identifier)
            return [ident], lambda wrong=None: oai_record(self.papers[ident], wrong)
        return [], lambda wrong=None: b""


def _make_handler(fake: ArxivFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            with fake.lock:
                fake.requests.append((fake.clock(), self.path))
                fake.user_agents.append(self.headers.get("User-Agent", ""))
            parts = urlsplit(self.path)
            ids, render = fake.answer(parts.path, parse_qs(parts.query))
            if not ids and parts.path not in ("/api/query", "/oai2"):
                self._send(404, b"not found")
                return
            taken = fake._take_fault(ids)
            if taken is None:
                self._send(200, render())
                return
            _, mode = taken
            if mode == "entity_bomb":
                self._send(200, ENTITY_BOMB)
            elif mode == "truncated":
                body = render()
                self._send(200, body[: len(body) // 2])
            elif mode == "wrong_id":
                self._send(200, render("1999.99999"))
            elif mode == "retry_after":
                self._send(503, b"Retry later", {"Retry-After": "7"})
            elif mode == "huge":
                self._huge()
            elif mode == "trickle":
                self._trickle()

        def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/atom+xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)

        def _huge(self) -> None:
            """100 MB with no Content-Length: only the client's cap can stop it."""
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
            self.end_headers()
            chunk = b"<a>" + b"x" * 65533
            try:
                for _ in range(HUGE_BYTES // len(chunk)):
                    self.wfile.write(chunk)
            except OSError:
                pass

        def _trickle(self) -> None:
            """Headers one byte at a time, slower than any deadline a test sets."""
            try:
                for byte in b"HTTP/1.0 200 OK\r\nX-Slow: " + b"a" * 100:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass

    return Handler
