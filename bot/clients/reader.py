"""ArxivReader: a paper's full text from arxiv.org, a bot.core.ports.PaperReader.

In order: the text stored when the paper was first read (a paper is fetched once, ever, by id and version);
arXiv's HTML rendering, `{html_url}/{id}v{n}`; its PDF, `{pdf_url}/{id}v{n}`, when there is no usable HTML
(404, a stub, a page that is not LaTeXML, a failed conversion, a page over the size cap, no answer); and when
neither can be had, the abstract alone (FullText.abstract_only) with a one-line note saying why. Reading never
raises for a paper that cannot be read.

Politeness (READING.md): each request to arxiv.org waits for its turn on the RequestLane named after the host
("arxiv.org"), shared by every process on the database, `min_interval_seconds` apart (arxiv.org's Crawl-delay
is 15 s), one request at a time in this process; a redirect is a request of its own; a 429's or 503's
Retry-After holds the lane for everyone; /src and /e-print are never fetched. Concurrent reads of one paper
share one fetch.

Safety (RELIABILITY rows 22 and 25): every request has a deadline that covers the body, so a server that
drips one byte a second fails on time; bodies are read in chunks and given up past the size cap; the HTML is
parsed in a worker thread, never on the event loop; the PDF is parsed in a fresh process with CPU, memory and
wall-time limits, killed past them (a PDF bomb or a parser stuck in a loop costs one paper its full text,
nothing else), and its bytes are never written to disk.

Figures: the reader stores no PDF, so a PDF-only paper's figure is cropped (render_figure_png, in a child process
like the parser) from the PDF fetched again, politely, when a card uploads it or `paperboy figures` saves it;
the crops of the last few papers are kept in this process, so one digest posted to several channels fetches
each PDF once. (Keeping crops with the stored text instead was weighed: the lead figure is chosen only after
the summary, so every figure's crop would be stored for the rare PDF-only, CC-licensed paper.) Raster images
of an HTML rendering are fetched, on the same lane, only from arxiv.org's own hosts.

Licence: an HTML rendering names it; a PDF does not, so for a paper read from its PDF the abstract page,
`{abs_url}/{id}v{n}`, is fetched once more on the lane and its "view license" link (`div.abs-license a`) is
mapped to a name ("CC BY 4.0", "arXiv.org perpetual non-exclusive license"; any other: unknown). Without it a
PDF-only paper's figure could never be posted. The abstract page not had leaves the licence unknown, nothing more.

A paper neither of whose sources can be read for a lasting reason (both missing, too large, unparseable) is
remembered in this process for `remember_unreadable_hours`, so a digest does not spend two lane turns on it
at every tick; a failure that may pass (no answer, a 503) is not remembered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Literal, Protocol
from urllib.parse import urljoin, urlsplit

import aiohttp

from bot.clients.arxiv import DEFAULT_USER_AGENT, _retry_after, polite_session
from bot.core.fulltext import Figure, FullText
from bot.core.models import Paper
from bot.core.ports import FullTextStore, RequestLane

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
MAX_WAIT_SECONDS = 120.0  # the longest Retry-After sat through; beyond it the source counts as unavailable
_RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_NEVER_FETCHED = ("src", "e-print")  # arxiv.org's robots.txt: source tarballs are not for robots
_CHUNK = 64 * 1024
MAX_IMAGE_BYTES = 20_000_000  # one figure's image file
KEPT_CROPS = 64  # figure crops kept in this process (about 100 KB each)
_IMAGE_TYPES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


class HtmlParser(Protocol):
    def __call__(self, page: bytes, *, url: str, arxiv_id: str, version: int) -> FullText | None: ...


class PdfParser(Protocol):
    def __call__(self, data: bytes, *, url: str, arxiv_id: str, version: int, max_pages: int) -> FullText | None: ...


class FigureRenderer(Protocol):
    def __call__(self, data: bytes, figure: Figure) -> bytes | None: ...


@dataclass(frozen=True)
class PdfLimits:
    """What the PDF parser's process may use before it is stopped."""

    cpu_seconds: int = 60
    memory_bytes: int = 2 * 1024**3  # address space (RLIMIT_AS): pdfium maps itself, Python, the PDF
    wall_seconds: float = 90.0


class _Unread(Exception):
    """Why one source (the HTML or the PDF) was not read. `lasting`: asking again soon would get the same
    answer; `unreachable`: the host could not be reached at all (no point asking it for the other source)."""

    def __init__(self, reason: str, *, lasting: bool, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.lasting, self.unreachable = reason, lasting, unreachable


class _ConnectFailed(Exception):
    pass


class _TooLarge(Exception):
    pass


@dataclass(frozen=True)
class _Response:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes = b""


class ArxivReader:
    """Reads papers from arxiv.org's HTML renderings and PDFs; see the module docstring."""

    def __init__(
        self,
        *,
        lane: RequestLane,
        store: FullTextStore | None = None,
        html_url: str = "https://arxiv.org/html",
        pdf_url: str = "https://arxiv.org/pdf",
        abs_url: str | None = None,  # the licence of a PDF-only paper; None: "abs" beside pdf_url
        # politeness
        min_interval_seconds: float = 15.0,
        user_agent: str = DEFAULT_USER_AGENT,
        # failure handling
        timeout_seconds: float = 30.0,
        max_tries: int = 3,
        max_html_bytes: int = 15_000_000,
        max_pdf_bytes: int = 30_000_000,
        max_pdf_pages: int = 60,
        pdf_limits: PdfLimits = PdfLimits(),  # noqa: B008 (frozen)
        remember_unreadable_hours: float = 6.0,
        # the parsers; tests pass stand-ins (a PDF parser must be a module-level function: it runs in a child process)
        html_parser: HtmlParser | None = None,
        pdf_parser: PdfParser | None = None,
        figure_renderer: FigureRenderer | None = None,
    ) -> None:
        if max_tries < 1:
            raise ValueError("max_tries must be at least 1")
        self._lane = lane
        self._store = store
        self._html_url = html_url.rstrip("/")
        self._pdf_url = pdf_url.rstrip("/")
        self._abs_url = (abs_url or _beside(self._pdf_url, "abs")).rstrip("/")
        self._min_interval = min_interval_seconds
        self._user_agent = user_agent
        self._timeout = timeout_seconds
        self._max_tries = max_tries
        self._max_html = max_html_bytes
        self._max_pdf = max_pdf_bytes
        self._max_pdf_pages = max_pdf_pages
        self._pdf_limits = pdf_limits
        self._remember_unreadable = remember_unreadable_hours * 3600
        self._html_parser = html_parser
        self._pdf_parser = pdf_parser
        self._figure_renderer = figure_renderer
        self._session: aiohttp.ClientSession | None = None
        self._one_at_a_time = asyncio.Lock()  # this process sends one request to arxiv.org at a time
        self._reading: dict[tuple[str, int], asyncio.Task[FullText]] = {}
        self._unreadable: dict[tuple[str, int], tuple[float, str]] = {}  # -> (until, monotonic; note)
        self._crops: OrderedDict[tuple[str, int, str, str], bytes | None] = OrderedDict()  # (id, v, label, anchor)
        self._cropping = asyncio.Lock()  # one paper's figures at a time: a PDF is fetched once for them all

    async def __aenter__(self) -> ArxivReader:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        tasks = list(self._reading.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ---- PaperReader

    async def read(self, paper: Paper) -> FullText:
        """The paper's full text; concurrent reads of one paper share one fetch (a caller that gives up does
        not cancel it for the others)."""
        key = (paper.arxiv_id, paper.version)
        task = self._reading.get(key)
        if task is None:
            task = asyncio.create_task(self._read(paper), name=f"read arXiv:{paper.arxiv_id}v{paper.version}")
            self._reading[key] = task
            task.add_done_callback(lambda done: self._reading.pop(key) if self._reading.get(key) is done else None)
        return await asyncio.shield(task)

    async def _read(self, paper: Paper) -> FullText:
        try:
            return await self._read_once(paper)
        except Exception:  # a bug (a parser's, ours) must cost this paper its full text, nothing more
            log.exception("reading arXiv:%sv%d failed unexpectedly", paper.arxiv_id, paper.version)
            return FullText.abstract_only(paper, note="the paper could not be read (an internal error)")

    async def _read_once(self, paper: Paper) -> FullText:
        key = (paper.arxiv_id, paper.version)
        stored = await self._stored(paper)
        if stored is not None:
            return stored
        remembered = self._unreadable.get(key)
        if remembered is not None and remembered[0] > time.monotonic():
            return FullText.abstract_only(paper, note=remembered[1])
        failures: list[tuple[str, _Unread]] = []
        sources: tuple[tuple[str, str, Callable[[Paper], Awaitable[FullText]]], ...] = (
            ("HTML", self._html_url, self._from_html),
            ("PDF", self._pdf_url, self._from_pdf),
        )
        for name, base, read_source in sources:
            if failures and failures[-1][1].unreachable and _host(base) == _host(self._html_url):
                break  # arxiv.org cannot be reached: not worth another turn on its lane
            try:
                text = await read_source(paper)
            except _Unread as why:
                log.info("arXiv:%sv%d: %s not read: %s", paper.arxiv_id, paper.version, name, why.reason)
                failures.append((name, why))
                continue
            await self._save(text)
            return text
        note = "the paper could not be read (" + "; ".join(f"{name}: {why.reason}" for name, why in failures) + ")"
        if len(failures) == len(sources) and all(why.lasting for _, why in failures):
            self._unreadable[key] = (time.monotonic() + self._remember_unreadable, note)
        return FullText.abstract_only(paper, note=note)

    async def _stored(self, paper: Paper) -> FullText | None:
        if self._store is None:
            return None
        try:
            return await self._store.get_full_text(paper.arxiv_id, paper.version)
        except Exception as exc:  # the database is down: read from arxiv.org rather than not at all
            log.warning("arXiv:%sv%d: stored full texts unavailable (%s)", paper.arxiv_id, paper.version, exc)
            return None

    async def _save(self, text: FullText) -> None:
        if self._store is None:
            return
        try:
            await self._store.save_full_text(text)
        except Exception as exc:  # the text was read: use it now, and read it again next time
            log.warning("arXiv:%sv%d: the full text could not be stored (%s)", text.arxiv_id, text.version, exc)

    # ---- figures

    async def figure_png(self, paper: Paper, figure: Figure) -> bytes | None:
        """A figure of the paper's PDF cropped to a PNG (bot.core.ports.FigureImages); None when the PDF cannot
        be had or the crop is blank or tiny. Never raises."""
        (png,) = await self.figure_pngs(paper, (figure,))
        return png

    async def figure_pngs(self, paper: Paper, figures: Sequence[Figure]) -> list[bytes | None]:
        """Crops of these figures (found by the PDF parser) from one fetch of the paper's PDF, in order."""
        key = (paper.arxiv_id, paper.version)
        async with self._cropping:  # a second caller for the same paper finds the first one's crops
            missing = [f for f in figures if (*key, f.label, f.anchor) not in self._crops]
            if missing:
                try:
                    crops = await self._crop(paper, missing)
                except Exception:  # a bug must cost these figures their images, nothing more
                    log.exception("arXiv:%sv%d: cropping figures failed unexpectedly", *key)
                    crops = None
                # Not had (no answer, a 503): not remembered, a later card may try again.
                for figure, png in zip(missing, crops or (), strict=False):
                    self._crops[(*key, figure.label, figure.anchor)] = png
                while len(self._crops) > KEPT_CROPS:
                    self._crops.popitem(last=False)
        return [self._crops.get((*key, f.label, f.anchor)) for f in figures]

    async def _crop(self, paper: Paper, figures: Sequence[Figure]) -> list[bytes | None] | None:
        try:
            pdf = await self._get(f"{self._pdf_url}/{paper.arxiv_id}v{paper.version}", limit=self._max_pdf)
        except _Unread as why:
            log.info("arXiv:%sv%d: PDF not read for its figures: %s", paper.arxiv_id, paper.version, why.reason)
            return None
        if b"%PDF-" not in pdf.body[:1024]:
            return [None] * len(figures)
        work = _ChildWork(
            _crop_figures,
            (pdf.body, tuple(figures)),
            {"renderer": self._figure_renderer},
            doing="cropping the figures",
            worker="the figure cropper",
            failed="the figures could not be cropped",
        )
        outcome, detail = await self._run_in_child(work, name=f"paperboy-figures-{paper.arxiv_id}v{paper.version}")
        if outcome != "ok" or not isinstance(detail, list):
            log.info("arXiv:%sv%d: figures not cropped: %s", paper.arxiv_id, paper.version, detail)
            return [None] * len(figures)
        return [png if isinstance(png, bytes) else None for png in detail]

    async def image(self, url: str) -> bytes | None:
        """A figure's image file from the paper's HTML rendering (PNG, JPEG or GIF), politely, on the lane; only
        from the hosts the reader reads papers from. None when it cannot be had. Never raises."""
        if _host(url) not in {_host(self._html_url), _host(self._pdf_url)}:
            log.info("not fetching %s: not on the host papers are read from", url)
            return None
        try:
            response = await self._get(url, limit=MAX_IMAGE_BYTES)
        except _Unread as why:
            log.info("%s not fetched: %s", url, why.reason)
            return None
        if not response.body.startswith(_IMAGE_TYPES):
            log.info("%s is not a PNG, JPEG or GIF image", url)
            return None
        return response.body

    # ---- the two sources

    async def _from_html(self, paper: Paper) -> FullText:
        page = await self._get(f"{self._html_url}/{paper.arxiv_id}v{paper.version}", limit=self._max_html)
        parse = self._html_parser or _real_html_parser()
        try:
            # The final URL (after a redirect that may add a slash) is what relative image addresses resolve against.
            text = await asyncio.to_thread(
                parse, page.body, url=page.url, arxiv_id=paper.arxiv_id, version=paper.version
            )
        except Exception as exc:
            log.warning("arXiv:%sv%d: the HTML parser failed: %r", paper.arxiv_id, paper.version, exc)
            raise _Unread("the page could not be parsed", lasting=True) from None
        if text is None:
            raise _Unread("no usable HTML rendering (a stub, not LaTeXML, or no body text)", lasting=True)
        return text

    async def _from_pdf(self, paper: Paper) -> FullText:
        pdf = await self._get(f"{self._pdf_url}/{paper.arxiv_id}v{paper.version}", limit=self._max_pdf)
        if b"%PDF-" not in pdf.body[:1024]:
            raise _Unread("the answer is not a PDF", lasting=True)
        outcome, detail = await self._parse_pdf(pdf.body, url=pdf.url, paper=paper)
        if outcome == "failed":
            raise _Unread(str(detail), lasting=True)
        if not isinstance(detail, FullText):
            raise _Unread("no text in the PDF", lasting=True)
        if detail.license is not None:
            return detail
        return replace(detail, license=await self._license_from_abs_page(paper))

    async def _license_from_abs_page(self, paper: Paper) -> str | None:
        """The licence the abstract page names (stored with the text, so asked once ever); None when not had."""
        try:
            page = await self._get(f"{self._abs_url}/{paper.arxiv_id}v{paper.version}", limit=self._max_html)
        except _Unread as why:
            log.info(
                "arXiv:%sv%d: abstract page not read for the licence: %s", paper.arxiv_id, paper.version, why.reason
            )
            return None
        try:
            return await asyncio.to_thread(abs_page_license, page.body)
        except Exception as exc:  # a parser's bug must cost the licence, not the paper
            log.warning("arXiv:%sv%d: the abstract page could not be parsed: %r", paper.arxiv_id, paper.version, exc)
            return None

    async def _parse_pdf(self, data: bytes, *, url: str, paper: Paper) -> tuple[str, object]:
        """Parse in a fresh process under limits: ("ok", FullText | None) or ("failed", why)."""
        started = time.monotonic()
        work = _ChildWork(
            _parse_pdf_bytes,
            (data, url, paper.arxiv_id, paper.version, self._max_pdf_pages),
            {"parser": self._pdf_parser},
            doing="parsing the PDF",
            worker="the PDF parser",
            failed="the PDF could not be parsed",
        )
        outcome = await self._run_in_child(work, name=f"paperboy-pdf-{paper.arxiv_id}v{paper.version}")
        log.info(
            "arXiv:%sv%d: PDF of %d bytes parsed in a child process in %.2f s (%s)",
            paper.arxiv_id, paper.version, len(data), time.monotonic() - started, outcome[0],
        )  # fmt: skip
        return outcome

    async def _run_in_child(self, work: _ChildWork, *, name: str) -> Outcome:
        """`work` in a fresh process under the PDF limits: ("ok", its result) or ("failed", why)."""
        context = multiprocessing.get_context("spawn")  # fork would copy this process's threads and sockets
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(target=_in_child, args=(sender, self._pdf_limits, work), name=name, daemon=True)
        try:
            outcome = await asyncio.to_thread(_supervise, child, receiver, sender, self._pdf_limits, work)
        finally:  # cancelled (shutting down): the child goes too, and the supervising thread returns at once
            if child.pid is not None:
                with contextlib.suppress(Exception):
                    child.kill()
        return outcome

    # ---- HTTP

    async def _get(self, url: str, *, limit: int) -> _Response:
        """A 200 answer's final URL and body, following redirects and retrying what may pass; else _Unread."""
        redirects = tries = 0
        while True:
            _check_fetchable(url)
            tries += 1
            try:
                response = await self._request(url, limit)
            except _ConnectFailed:
                if tries < self._max_tries:
                    continue  # the lane's interval is the backoff
                raise _Unread("arxiv.org could not be reached", lasting=False, unreachable=True) from None
            except TimeoutError:
                raise _Unread(f"no complete answer within {self._timeout:g} s", lasting=False) from None
            except _TooLarge:
                raise _Unread(f"larger than {_megabytes(limit)}", lasting=True) from None
            except aiohttp.ClientError as exc:
                if tries < self._max_tries:
                    continue
                raise _Unread(f"the connection failed ({type(exc).__name__})", lasting=False) from None
            status = response.status
            if status == 200:
                return response
            if status in _REDIRECT_STATUSES and response.headers.get("Location"):
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise _Unread("too many redirects", lasting=False)
                url = urljoin(url, response.headers["Location"])
                continue
            if status in (404, 410):
                raise _Unread(f"not found (HTTP {status})", lasting=True)
            if status not in _RETRIED_STATUSES:
                raise _Unread(f"HTTP {status}", lasting=False)
            delay = _retry_after(response.headers.get("Retry-After"))
            if tries >= self._max_tries or (delay is not None and delay > MAX_WAIT_SECONDS):
                raise _Unread(f"HTTP {status} after {tries} {'try' if tries == 1 else 'tries'}", lasting=False)
            if delay is None and status == 429:
                delay = self._min_interval * 2 ** (tries - 1)
            if delay:
                # arXiv asked everyone to wait: the whole lane waits, here and in every other process.
                await self._lane.hold(_host(url), delay)
            log.info("%s -> HTTP %d; retrying (try %d of %d)", url, status, tries + 1, self._max_tries)

    async def _request(self, url: str, limit: int) -> _Response:
        """One request, in its turn on the lane; the body only for a 200, and only up to `limit`."""
        async with self._one_at_a_time:
            await self._lane.wait_turn(_host(url), self._min_interval)
            started = time.monotonic()
            try:
                # ClientTimeout.total bounds the body read too: a 1 byte/s drip fails on time.
                async with self._client().get(url, allow_redirects=False) as resp:
                    headers = {name: resp.headers[name] for name in ("Location", "Retry-After") if name in resp.headers}
                    body = await _read_capped(resp, limit) if resp.status == 200 else b""
                    status = resp.status
            except TimeoutError:
                log.info("%s -> no complete answer within %g s", url, self._timeout)
                raise
            except aiohttp.ClientConnectorError as exc:
                log.info("%s -> cannot connect: %s", url, exc)
                raise _ConnectFailed from None
            except _TooLarge:
                log.info("%s -> over %s, not read", url, _megabytes(limit))
                raise
        log.info("%s -> HTTP %d, %d bytes in %.2f s", url, status, len(body), time.monotonic() - started)
        return _Response(url=url, status=status, headers=headers, body=body)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = polite_session(self._timeout, self._user_agent)
        return self._session


async def _read_capped(resp: aiohttp.ClientResponse, limit: int) -> bytes:
    if resp.content_length is not None and resp.content_length > limit:
        resp.close()
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in resp.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            resp.close()  # stop reading: the rest is never downloaded
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _check_fetchable(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise _Unread(f"refused to fetch a {parts.scheme or 'relative'} address", lasting=True)
    segments = [s for s in parts.path.split("/") if s]
    if any(s in _NEVER_FETCHED for s in segments):
        raise _Unread("refused to fetch the paper's source (/src, /e-print)", lasting=True)


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _megabytes(limit: int) -> str:
    return f"{limit / 1_000_000:g} MB"


def abs_page_license(page: bytes) -> str | None:
    """The licence arXiv's abstract page links to in its "Access Paper" box, by name; None when unknown."""
    from bot.clients.reader_html import _parse  # lxml, never fetching or resolving entities

    root = _parse(page)
    if root is None:
        return None
    hrefs = root.xpath("//div[contains(concat(' ', normalize-space(@class), ' '), ' abs-license ')]//a/@href")
    return license_name(str(hrefs[0])) if hrefs else None


_CC_LICENSE = re.compile(r"/licenses/(by|by-sa|by-nd|by-nc|by-nc-sa|by-nc-nd)/(\d\.\d)/?")
_CC_ZERO = re.compile(r"/publicdomain/zero/(\d\.\d)/?")
_ARXIV_LICENSE = re.compile(r"/licenses/nonexclusive-distrib/1\.0/?(?:license\.html)?")


def license_name(href: str) -> str | None:
    """A licence's name from its address: "CC BY 4.0", "CC0 1.0", arXiv's default licence; None for any other."""
    parts = urlsplit(href.strip())
    host = (parts.hostname or "").removeprefix("www.")
    if parts.scheme not in ("http", "https"):
        return None
    if host == "creativecommons.org":
        if cc := _CC_LICENSE.fullmatch(parts.path):
            return f"CC {cc[1].upper()} {cc[2]}"
        if zero := _CC_ZERO.fullmatch(parts.path):
            return f"CC0 {zero[1]}"
    if host == "arxiv.org" and _ARXIV_LICENSE.fullmatch(parts.path):
        return "arXiv.org perpetual non-exclusive license"
    return None


def _beside(url: str, name: str) -> str:
    """https://arxiv.org/pdf -> https://arxiv.org/abs: another of the site's paths at the same level."""
    return urljoin(url.rstrip("/"), name)


def _real_html_parser() -> HtmlParser:
    from bot.clients.reader_html import parse_html  # lxml: imported when the first page is parsed

    return parse_html


def _real_pdf_parser() -> PdfParser:
    from bot.clients.reader_pdf import parse_pdf  # pypdfium2: imported in the child process only

    return parse_pdf


def _real_figure_renderer() -> FigureRenderer:
    from bot.clients.reader_pdf import render_figure_png  # pypdfium2: imported in the child process only

    return render_figure_png


# ---- the PDF's child process (parsing it, cropping its figures)

Outcome = tuple[Literal["ok", "failed"], object]


def _supervise(
    child: BaseProcess, receiver: Connection, sender: Connection, limits: PdfLimits, work: _ChildWork
) -> Outcome:
    """Start the child, wait for its answer at most `wall_seconds`, and leave no process behind. Blocking."""
    try:
        child.start()
        sender.close()  # only the child writes: its exit is then EOF here
        if not receiver.poll(limits.wall_seconds):
            return ("failed", f"{work.doing} took over {limits.wall_seconds:g} s")
        try:
            outcome: Outcome = receiver.recv()
        except EOFError:  # killed: over its CPU time (SIGXCPU, SIGKILL) or crashed in pdfium
            child.join(5)
            return ("failed", f"{work.worker} stopped (exit code {child.exitcode}, over a limit or crashed)")
        return outcome
    finally:
        if child.pid is not None:
            if child.is_alive():
                child.kill()
            child.join()
        receiver.close()


@dataclass(frozen=True)
class _ChildWork:
    """What a child process does with a PDF, and how its failures are worded."""

    function: Callable[..., object]  # module-level: the child imports it by name
    args: tuple[object, ...]
    kwargs: dict[str, object]
    doing: str  # "parsing the PDF"
    worker: str  # "the PDF parser"
    failed: str  # "the PDF could not be parsed"


def _in_child(sender: Connection, limits: PdfLimits, work: _ChildWork) -> None:
    """The child process's whole life: limits first, then the work, then one answer."""
    _limit_resources(limits)
    outcome: Outcome
    try:
        outcome = ("ok", work.function(*work.args, **work.kwargs))
    except MemoryError:
        outcome = ("failed", f"{work.worker} ran out of memory (limit {limits.memory_bytes // 1024**2} MB)")
    except Exception as exc:
        outcome = ("failed", f"{work.failed} ({type(exc).__name__})")
    sender.send(outcome)
    sender.close()


def _parse_pdf_bytes(
    data: bytes, url: str, arxiv_id: str, version: int, max_pages: int, *, parser: PdfParser | None
) -> FullText | None:
    parse = parser or _real_pdf_parser()
    return parse(data, url=url, arxiv_id=arxiv_id, version=version, max_pages=max_pages)


def _crop_figures(data: bytes, figures: tuple[Figure, ...], *, renderer: FigureRenderer | None) -> list[bytes | None]:
    render = renderer or _real_figure_renderer()
    return [render(data, figure) for figure in figures]


def _limit_resources(limits: PdfLimits) -> None:
    try:
        import resource
    except ImportError:  # not on a POSIX system: the wall-time limit alone holds
        return
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
