"""FakeArxivSite: arxiv.org's paper pages on 127.0.0.1, a random port: `/html/<id>v<n>` (arXiv's HTML rendering),
`/pdf/<id>v<n>`, `/abs/<id>v<n>` (the abstract page, for any paper: only its licence box, with the link arXiv
renders, `abs_licenses` per paper or else `abs_license`), and any image under /html/ (a small PNG).

It serves the real pages and PDFs of tests/data/papers/ (README.md there says where each came from), and more
added with `pages`/`pdfs`. A path it has nothing for answers 404, as arxiv.org does for a paper without an HTML
rendering. script(path, *modes) queues behaviours for one path, one per request:

- "ok"; "404"; "redirect" (301 to the same path with a trailing slash, which serves the page) or
  "redirect:/LOCATION";
- "stub" (HTTP 200: arXiv's wrapper and no body text, tests/data/papers/stub-2508.08468v6.html);
- "hang" (never answers); "drip" (headers, then one byte per `drip_interval` seconds);
- "429" or "429:SECONDS", "503" or "503:SECONDS" (with Retry-After);
- "oversized" (a 200 streamed in chunks, without Content-Length, up to `oversize_bytes`; `streamed_to_end`
  says whether the client read all of it).

/src and /e-print answer 403 (and are recorded: a polite reader never asks). Every request is recorded with
its arrival time.
"""

from __future__ import annotations

import asyncio
import re
import struct
import time
import zlib
from collections import defaultdict, deque
from pathlib import Path

import pytest_asyncio
from aiohttp import web

from bot.core.fulltext import FullText, Paragraph

PAPERS = Path(__file__).resolve().parent.parent / "data" / "papers"
MODES = ("ok", "404", "redirect", "stub", "hang", "drip", "429", "503", "oversized")
_VERSIONED = re.compile(r"(?:\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})v\d+")
ARXIV_LICENSE = "http://arxiv.org/licenses/nonexclusive-distrib/1.0/"
CC_BY = "http://creativecommons.org/licenses/by/4.0/"
_IMAGE = re.compile(r"\.(?:png|jpe?g|gif|svg)$", re.IGNORECASE)


def _png() -> bytes:
    """A valid 2x2 grey PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x80\x80" for _ in range(2))
    header = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


PNG = _png()


class FakeArxivSite:
    """Speaks GET /html/..., /pdf/... and /abs/... like arxiv.org; records every request."""

    def __init__(self) -> None:
        self.pages = _papers("html")  # "2508.08468v6" -> the page
        self.pdfs = _papers("pdf")
        self.stub = (PAPERS / "stub-2508.08468v6.html").read_bytes()
        self.abs_license = ARXIV_LICENSE  # the licence link of every abstract page, unless abs_licenses says
        self.abs_licenses: dict[str, str] = {}  # "2008.10010v1" -> its licence link
        self.requests: list[tuple[float, str]] = []  # (time.time(), path)
        self.streamed_to_end: dict[str, bool] = {}
        self.drip_interval = 1.0
        self.oversize_bytes = 64 * 1024 * 1024
        self._scripts: defaultdict[str, deque[str]] = defaultdict(deque)
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # ---- control

    @property
    def html_url(self) -> str:
        return f"{self.base_url}/html"

    @property
    def pdf_url(self) -> str:
        return f"{self.base_url}/pdf"

    @property
    def abs_url(self) -> str:
        return f"{self.base_url}/abs"

    @property
    def paths(self) -> list[str]:
        return [path for _, path in self.requests]

    def script(self, path: str, *modes: str) -> None:
        """Queue behaviours for requests to `path` ("/html/2508.08468v6"), one per request; then the default."""
        for mode in modes:
            if mode.split(":")[0] not in MODES:
                raise ValueError(f"unknown FakeArxivSite mode {mode!r}")
        self._scripts[path.rstrip("/")].extend(modes)

    # ---- lifecycle

    async def __aenter__(self) -> FakeArxivSite:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing.set()  # releases "hang" and "drip" handlers
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- serving

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.requests.append((time.time(), path))
        kind, _, rest = path.lstrip("/").partition("/")
        if kind in ("src", "e-print"):
            return web.Response(status=403, text="robots may not fetch sources")
        if kind == "html" and _IMAGE.search(rest):
            return web.Response(body=PNG, content_type="image/png")
        key = rest.rstrip("/")
        if kind not in ("html", "pdf", "abs") or not _VERSIONED.fullmatch(key):
            return web.Response(status=404, text="not found")
        queue = self._scripts[path.rstrip("/")]
        mode, _, arg = (queue.popleft() if queue else "ok").partition(":")
        if mode == "redirect":
            raise web.HTTPMovedPermanently(location=arg or f"/{kind}/{key}/")
        if mode == "404":
            return web.Response(status=404, text="not found")
        if mode == "hang":
            await self._closing.wait()
            return web.Response(status=503)
        if mode in ("429", "503"):
            return web.Response(status=int(mode), text="Rate exceeded.", headers={"Retry-After": arg} if arg else {})
        if mode == "oversized":
            return await self._oversized(request)
        if kind == "abs":
            body: bytes | None = _abs_page(key, self.abs_licenses.get(key, self.abs_license))
        else:
            body = self.stub if mode == "stub" else (self.pages if kind == "html" else self.pdfs).get(key)
        if body is None:
            return web.Response(status=404, text="not found")
        content_type = "application/pdf" if kind == "pdf" else "text/html"
        if mode == "drip":
            return await self._drip(request, body, content_type)
        return web.Response(body=body, content_type=content_type)

    async def _drip(self, request: web.Request, body: bytes, content_type: str) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": content_type})
        resp.content_length = len(body)
        await resp.prepare(request)
        for i in range(len(body)):
            await resp.write(body[i : i + 1])
            try:
                await asyncio.wait_for(self._closing.wait(), self.drip_interval)
                break
            except TimeoutError:
                pass
        return resp

    async def _oversized(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Type": "text/html"})
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        self.streamed_to_end[request.path] = False
        chunk = b"<p>" + b"x" * (64 * 1024 - 3)
        try:
            for _ in range(self.oversize_bytes // len(chunk)):
                await resp.write(chunk)
        except (ConnectionResetError, ConnectionError):
            return resp
        self.streamed_to_end[request.path] = True
        return resp


def _abs_page(versioned_id: str, license_href: str) -> bytes:
    """The abstract page's licence box as arxiv.org's pages have it: a Creative Commons licence's link shows its
    icon, arXiv's own licence's the words "view license"."""
    if "creativecommons.org" in license_href:
        link_body = '<img alt="Creative Commons License" src="https://arxiv.org/icons/licenses/by-4.0.png"/>'
    else:
        link_body = "view license"
    return f"""<!DOCTYPE html><html lang="en"><head><title>[{versioned_id}] A paper</title></head><body>
<div class="extra-services"><div class="full-text"><a name="other"></a><span class="descriptor">Full-text links:</span>
<h2>Access Paper:</h2><ul><li><a href="/pdf/{versioned_id}" class="abs-button download-pdf">View PDF</a></li>
<li><a href="/src/{versioned_id}" class="abs-button download-eprint">TeX Source</a></li></ul>
<div class="abs-license"><a href="{license_href}" title="Rights to this article" class="has_license">
{link_body}</a></div></div></div></body></html>""".encode()


def _papers(extension: str) -> dict[str, bytes]:
    return {p.stem: p.read_bytes() for p in PAPERS.glob(f"*.{extension}") if _VERSIONED.fullmatch(p.stem)}


# ---- stand-ins for the PDF parser (module-level: the reader runs them in a child process)


def parser_that_never_ends(data: bytes, **_: object) -> FullText | None:
    """A PDF that sends the parser into an infinite loop."""
    while True:
        pass


def parser_that_eats_memory(data: bytes, **_: object) -> FullText | None:
    """A PDF bomb: the parser inflates it until its memory limit stops it (a 1 GB backstop, should it not)."""
    hoard = [bytearray(64 * 1024 * 1024) for _ in range(16)]
    return None if hoard else None


def parser_that_reports_its_page_cap(data: bytes, *, url: str, arxiv_id: str, version: int, max_pages: int) -> FullText:
    """What the reader asked for, as a one-paragraph text."""
    text = f"read at most {max_pages} pages of {len(data)} bytes"
    return FullText(arxiv_id, version, "pdf", url, None, (Paragraph("page=1", "", text),))


@pytest_asyncio.fixture
async def fake_arxiv_site():
    """A started FakeArxivSite serving tests/data/papers/."""
    async with FakeArxivSite() as site:
        yield site
