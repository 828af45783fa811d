"""One polite lane to arXiv's export API: spacing, timeouts, retries, a circuit breaker.

Every request of a client goes through one asyncio lock with at least `min_interval_seconds`
between request starts and a single connection; the lead creates one client per process. Given a
RequestLane (wiring passes the database's), each request also waits for its turn on the lane named
after the API's host, shared with every process on that database, and a Retry-After holds that lane.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode, urlsplit

import aiohttp

from bot.core.errors import ArxivRateLimited, ArxivUnavailable, BadQuery, UsageError
from bot.core.models import ArxivRef, Paper, check_query
from bot.core.ports import RequestLane

if TYPE_CHECKING:
    from pylatexenc.latex2text import LatexNodes2Text

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = "paperboy/0.1 (arXiv digest bot; +https://github.com/paperboy-bot/paperboy)"
MAX_BODY_BYTES = 20 * 1024 * 1024
MAX_WAIT_SECONDS = 60.0  # the longest backoff or Retry-After we sit through; beyond it, give up
_ATOM = "http://www.w3.org/2005/Atom"
_NS = {"atom": _ATOM, "arxiv": "http://arxiv.org/schemas/atom", "opensearch": "http://a9.com/-/spec/opensearch/1.1/"}
# The only entry ids we turn into papers: links are later built from this validated id.
_ENTRY_ID = re.compile(
    r"^https?://arxiv\.org/abs/(?P<id>[a-z-]+(?:\.[A-Z]{2})?/\d{7}|\d{4}\.\d{4,5})v(?P<version>\d+)$"
)
_SPACE = re.compile(r"\s+")

# What to make of a 200 with no entries: a real answer ("ok"), or (row 20) one of arXiv's transient
# empty pages, retried and then an error ("fail").
EmptyPolicy = Literal["ok", "fail"]


# arXiv's first new-style id: asked alongside ids that came back empty, to tell "unknown" from "unwell".
KNOWN_ID = "0704.0001"


@dataclass(frozen=True)
class Entry:
    """One <entry> of arXiv's Atom feed, its fields as arXiv wrote them (the title's whitespace collapsed)."""

    entry_id: str
    title: str
    authors: tuple[str, ...]
    summary: str
    comment: str | None
    journal_ref: str | None
    primary_category: str
    categories: tuple[str, ...]
    published: dt.datetime
    updated: dt.datetime


@dataclass(frozen=True)
class Feed:
    """One page of arXiv's answer: how many entries match in all (opensearch:totalResults), and this page's."""

    total_results: int
    entries: tuple[Entry, ...]


class _Transient(Exception):
    """A failure worth retrying; `detail` ("HTTP 503") goes into the final one-line message."""

    def __init__(self, detail: str, *, retry_after: float | None = None, rate_limited: bool = False) -> None:
        super().__init__(detail)
        self.detail, self.retry_after, self.rate_limited = detail, retry_after, rate_limited


class ArxivClient:
    """arXiv's export API as a `bot.core.ports.PaperSource`."""

    def __init__(
        self,
        *,
        api_url: str,
        # politeness
        min_interval_seconds: float = 3.0,
        user_agent: str = DEFAULT_USER_AGENT,
        page_size: int = 100,
        # failure handling
        timeout_seconds: float = 15.0,
        max_tries: int = 4,
        backoff_base_seconds: float = 3.0,
        breaker_threshold: int = 5,
        breaker_cooldown_seconds: float = 60.0,
        max_body_bytes: int = MAX_BODY_BYTES,
        # shared with other processes; without it, this client paces only itself
        lane: RequestLane | None = None,
    ) -> None:
        if page_size < 1 or max_tries < 1 or breaker_threshold < 1:
            raise ValueError("page_size, max_tries and breaker_threshold must be at least 1")
        self._api_url = api_url
        self._min_interval = min_interval_seconds
        self._user_agent = user_agent
        self._page_size = page_size
        self._timeout = timeout_seconds
        self._max_tries = max_tries
        self._backoff_base = backoff_base_seconds
        self._breaker_threshold = breaker_threshold
        self._breaker_cooldown = breaker_cooldown_seconds
        self._max_body = max_body_bytes
        self._session: aiohttp.ClientSession | None = None
        # the lane
        self._lock = asyncio.Lock()
        self._last_end = float("-inf")
        self._hold_until = float("-inf")  # set by a 429 or a Retry-After: the whole lane waits, not one caller
        self._shared_lane = lane
        self._lane_name = urlsplit(api_url).netloc or api_url  # "export.arxiv.org"
        # the breaker
        self._failures = 0
        self._open_until = float("-inf")
        self._trial_running = False

    async def __aenter__(self) -> ArxivClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # ---- PaperSource

    async def fetch(self, refs: Sequence[ArxivRef]) -> dict[ArxivRef, Paper]:
        """Papers for these refs, keyed by the ref as asked; ids arXiv does not know are absent."""
        wanted = list(dict.fromkeys(refs))
        found: dict[ArxivRef, Paper] = {}
        for i in range(0, len(wanted), self._page_size - 1):
            chunk = wanted[i : i + self._page_size - 1]
            ids = [r.versioned for r in chunk]
            # max_results = page_size (>= the chunk), as the arxiv package sends it.
            feed = await self._get(_params("", ",".join(ids), "relevance", 0, self._page_size), empty="ok")
            if not feed.entries:
                # Unknown ids, or one of arXiv's transient empty answers? Ask again with a paper that
                # surely exists: if it comes back, the ids are unknown; if the page stays empty, arXiv
                # is unwell (retried, then ArxivUnavailable), never "no such paper".
                control = _params("", ",".join([*ids, KNOWN_ID]), "relevance", 0, self._page_size)
                feed = await self._get(control, empty="fail")
            converted = await asyncio.to_thread(_to_papers, feed.entries)  # TeX conversion: ~1 ms a paper
            papers = [p for p in converted if p.arxiv_id != KNOWN_ID or KNOWN_ID in ids]
            for ref in chunk:
                # Versioned: that version; unversioned: the newest arXiv returned.
                matches = [p for p in papers if p.arxiv_id == ref.arxiv_id and ref.version in (None, p.version)]
                if matches:
                    found[ref] = max(matches, key=lambda p: p.version)
        return found

    async def search(self, query: str, start: dt.datetime, end: dt.datetime, *, limit: int) -> list[Paper]:
        """Papers matching an arXiv query, first submitted in [start, end], newest first, at most `limit`."""
        _check_query(query)
        query_text = f"({query}) AND submittedDate:[{_stamp(start)} TO {_stamp(end)}]"
        papers: dict[ArxivRef, Paper] = {}
        offset, total = 0, None
        pages_left = -(-limit // self._page_size) + 1  # a hard cap: the lane is shared with everyone
        while len(papers) < limit and (total is None or offset < total) and pages_left > 0:
            pages_left -= 1
            size = min(self._page_size, limit - len(papers))
            params = _params(query_text, "", "submittedDate", offset, size)
            # An empty first page is a real "nothing matched"; an empty later page is not.
            feed = await self._get(params, empty="ok" if offset == 0 else "fail")
            if total is None:
                total = feed.total_results
            if not feed.entries:
                break
            offset += len(feed.entries)
            page = await asyncio.to_thread(_to_papers, feed.entries)
            for paper in page:
                # arXiv's window is by the minute; hold it to the exact one asked.
                if start <= paper.published <= end:
                    papers.setdefault(paper.ref, paper)
            if min(paper.published for paper in page) < start:
                break  # newest first: the rest is older than the window
        return sorted(papers.values(), key=lambda p: p.published, reverse=True)[:limit]

    # ---- one logical request: breaker, retries, lane

    async def _get(self, params: dict[str, str], *, empty: EmptyPolicy) -> Feed:
        url = f"{self._api_url}?{urlencode(params)}"
        trial = self._breaker_admit()
        try:
            feed = await self._with_retries(url, empty)
        except ArxivUnavailable:
            self._failures += 1
            if self._failures >= self._breaker_threshold:
                self._open_until = time.monotonic() + self._breaker_cooldown
                log.warning("arXiv breaker open for %.0f s after %d failures", self._breaker_cooldown, self._failures)
            raise
        except BadQuery:
            self._failures = 0  # arXiv answered: it is up
            raise
        else:
            self._failures = 0
            return feed
        finally:
            if trial:
                self._trial_running = False

    def _breaker_admit(self) -> bool:
        """Fail fast while open; after the cooldown let one trial through. True for the trial."""
        if self._failures < self._breaker_threshold:
            return False
        remaining = self._open_until - time.monotonic()
        if remaining > 0 or self._trial_running:
            wait = max(remaining, 1.0)
            raise ArxivUnavailable(
                f"arXiv failed {self._failures} times in a row, so Paperboy is pausing requests to it; "
                f"try again in {wait:.0f} s"
            )
        self._trial_running = True
        return True

    async def _with_retries(self, url: str, empty: EmptyPolicy) -> Feed:
        last: _Transient | None = None
        tries = 0
        for tries in range(1, self._max_tries + 1):
            try:
                feed = await self._request(url)
            except _Transient as err:
                last = err
            else:
                if feed.entries or empty == "ok":
                    return feed
                last = _Transient("an empty page of results")
            if tries == self._max_tries:
                break
            delay = last.retry_after
            if delay is None:
                delay = min(self._backoff_base * 2 ** (tries - 1), MAX_WAIT_SECONDS)
            elif delay > MAX_WAIT_SECONDS:
                if last.rate_limited:
                    raise ArxivRateLimited(
                        f"arXiv is rate-limiting requests and asked to wait {delay:.0f} s; try again later"
                    )
                raise ArxivUnavailable(f"arXiv is unavailable and asked to wait {delay:.0f} s; try again later")
            if last.rate_limited or last.retry_after is not None:
                # arXiv asked everyone to wait, not only this caller: hold the lane, here and for other processes.
                self._hold_until = max(self._hold_until, time.monotonic() + delay)
                if self._shared_lane is not None:
                    await self._shared_lane.hold(self._lane_name, delay)
            log.info("arXiv try %d/%d failed (%s); retrying in %.2f s", tries, self._max_tries, last, delay)
            await asyncio.sleep(delay)
        assert last is not None
        state = "is rate-limiting requests" if last.rate_limited else "is temporarily unavailable"
        message = (
            f"arXiv {state} ({last.detail} after {tries} {'try' if tries == 1 else 'tries'}); "
            "try again in a few minutes"
        )
        log.info("arXiv gave up on %s: %s", url, message)  # the caller reports it
        raise (ArxivRateLimited if last.rate_limited else ArxivUnavailable)(message)

    @contextlib.asynccontextmanager
    async def _lane(self) -> AsyncIterator[None]:
        async with self._lock:
            # Counted from the previous request's end, so even a request slowed by its connect
            # reaches arXiv at least min_interval after the one before.
            wait = max(self._last_end + self._min_interval, self._hold_until) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if self._shared_lane is not None:
                await self._shared_lane.wait_turn(self._lane_name, self._min_interval)
            try:
                yield
            finally:
                self._last_end = time.monotonic()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = polite_session(self._timeout, self._user_agent)
        return self._session

    async def _request(self, url: str) -> Feed:
        """One HTTP request in the lane; classifies the outcome."""
        async with self._lane():
            started = time.monotonic()
            log.debug("arXiv GET %s", url)
            try:
                # ClientTimeout.total bounds the body read too: a 1 byte/s drip fails on time.
                async with self._client().get(url) as resp:
                    status, retry_after = resp.status, resp.headers.get("Retry-After")
                    body = await self._read_capped(resp)
            except TimeoutError:
                log.info("arXiv GET %s -> no answer within %g s", url, self._timeout)
                raise _Transient(f"no answer within {self._timeout:g} s") from None
            except aiohttp.ClientError as exc:
                log.info("arXiv GET %s -> %r", url, exc)
                raise _Transient("connection failed") from None
        log.info("arXiv GET %s -> HTTP %d, %d bytes in %.2f s", url, status, len(body), time.monotonic() - started)
        if status == 429:
            raise _Transient("HTTP 429", retry_after=_retry_after(retry_after), rate_limited=True)
        if status >= 500:
            raise _Transient(f"HTTP {status}", retry_after=_retry_after(retry_after))
        if status not in (200, 400):
            raise ArxivUnavailable(f"arXiv answered HTTP {status} at {self._api_url}; check arxiv.api_url")
        if status == 400:  # never retried: the same request would fail the same way
            with contextlib.suppress(_Transient):
                await asyncio.to_thread(parse_feed, body)  # raises BadQuery with arXiv's message
            raise BadQuery("arXiv rejected the request (HTTP 400)")
        return await asyncio.to_thread(parse_feed, body)  # raises BadQuery for an Error entry

    async def _read_capped(self, resp: aiohttp.ClientResponse) -> bytes:
        too_big = ArxivUnavailable(
            f"arXiv sent an oversized response (over {self._max_body // 1_000_000} MB); try again later"
        )
        if resp.content_length is not None and resp.content_length > self._max_body:
            raise too_big
        chunks, size = [], 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > self._max_body:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)


def parse_feed(body: bytes) -> Feed:
    """A checked arXiv Atom page. Blocking: call it in a thread.

    Strict: well-formed XML (no recovering from a truncated page), no DTD and no entities resolved, no
    network, no huge trees, an Atom feed, no Error entry (arXiv's answer to a bad query or id). An entry
    without an id or a readable published and updated time is skipped, with a warning.
    """
    # lxml directly, not the arxiv package's parser: that package imports requests (~0.15 s of start-up).
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError:
        raise _Transient("a malformed response") from None
    if root.getroottree().docinfo.doctype or root.tag != f"{{{_ATOM}}}feed":
        raise _Transient("a malformed response")
    for element in root.iterfind("atom:entry", _NS):
        if "arxiv.org/api/errors" in (element.findtext("atom:id", "", _NS)):
            message = _clean(element.findtext("atom:summary", "", _NS))[:200] or "unknown error"
            raise BadQuery(f"arXiv rejected the request: {message}")
    entries = (_entry(element) for element in root.iterfind("atom:entry", _NS))
    return Feed(
        total_results=_whole_number(_text(root, "opensearch:totalResults")),
        entries=tuple(entry for entry in entries if entry is not None),
    )


def _entry(element: Any) -> Entry | None:
    entry_id = _text(element, "atom:id")
    if not entry_id:
        log.warning("arXiv entry without an id skipped")
        return None
    published, updated = _time(_text(element, "atom:published")), _time(_text(element, "atom:updated"))
    if published is None or updated is None:
        log.warning("arXiv entry %.100r without a readable published or updated time skipped", entry_id)
        return None
    primary = element.find("arxiv:primary_category", _NS)
    return Entry(
        entry_id=entry_id,
        title=_SPACE.sub(" ", _text(element, "atom:title") or ""),
        authors=tuple(_text(author, "atom:name") or "" for author in element.iterfind("atom:author", _NS)),
        summary=_text(element, "atom:summary") or "",
        comment=_text(element, "arxiv:comment"),
        journal_ref=_text(element, "arxiv:journal_ref"),
        primary_category=(primary.get("term") if primary is not None else None) or "",
        categories=tuple(
            term for term in (c.get("term") for c in element.iterfind("atom:category", _NS)) if term is not None
        ),
        published=published,
        updated=updated,
    )


def _text(element: Any, path: str) -> str | None:
    """The text of the first child at `path`; None when there is none, or it is empty."""
    found = element.find(path, _NS)
    return None if found is None else found.text


def _time(text: str | None) -> dt.datetime | None:
    """An Atom time (2016-05-26T17:59:46Z) as an aware UTC datetime; None if absent or unreadable."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _whole_number(text: str | None) -> int:
    try:
        return int((text or "").strip())
    except ValueError:
        return 0


def _to_papers(results: Sequence[Entry]) -> list[Paper]:
    """Feed entries as Papers, TeX in titles and abstracts shown as text. Blocking: call it in a thread."""
    papers = []
    for result in results:
        match = _ENTRY_ID.match(result.entry_id.strip())
        if match is None:
            log.warning("arXiv entry with an unexpected id skipped: %.100r", result.entry_id)
            continue
        papers.append(
            Paper(
                arxiv_id=match["id"],
                version=int(match["version"]),
                title=_clean(tex_to_text(result.title)),
                authors=tuple(_clean(name) for name in result.authors),
                abstract=_clean(tex_to_text(result.summary)),
                comment=_clean(tex_to_text(result.comment or "")) or None,
                journal_ref=_clean(result.journal_ref) or None,
                primary_category=result.primary_category or (result.categories or [""])[0],
                categories=tuple(result.categories),
                published=result.published.astimezone(dt.UTC),
                updated=result.updated.astimezone(dt.UTC),
            )
        )
    return papers


# arXiv metadata is what authors typed: TeX-ish, not compiled TeX. Only text with a TeX marker is converted,
# and what TeX would misread there is set aside and put back verbatim: URLs, a bare %, &, # or ~ (authors
# mean "5%" and "~10x", not a comment and a space), a run of three or more backticks (a code fence, not
# an opening quote) and every $ when they do not pair up.
_TEX_MARKERS = ("\\", "$", "``", "''", "--")
_TEX_LINK = re.compile(r"\\(?:url|href)\s*\{([^{}]*)\}(?:\s*\{([^{}]*)\})?")
_TEX_URL = re.compile(r"https?://[^\s{}\\$<>\"]+")
_TEX_LITERAL = re.compile(r"(?<!\\)[%&#~]|`{3,}")
_TEX_DOLLAR = re.compile(r"(?<!\\)\$")
_SET_ASIDE = re.compile("[\ue200-\ue2ff]")


def tex_to_text(text: str) -> str:
    """`$\\rightarrow$` -> →, ``` ``quotes'' ``` -> “quotes”, `\\'e` -> é, by pylatexenc; the text as it was when
    it has no TeX or pylatexenc cannot read it. Blocking (and imports pylatexenc once): call it in a thread."""
    if not any(marker in text for marker in _TEX_MARKERS):
        return text
    kept: list[str] = []

    def set_aside(match: re.Match[str]) -> str:
        kept.append(match.group())
        return chr(0xE200 + len(kept) - 1)

    source = _SET_ASIDE.sub("", text)
    source = _TEX_LINK.sub(lambda m: f"{m[2]} ({m[1]})" if m[2] else m[1], source)
    source = _TEX_LITERAL.sub(set_aside, _TEX_URL.sub(set_aside, source))
    if len(_TEX_DOLLAR.findall(source)) % 2:
        source = _TEX_DOLLAR.sub(set_aside, source)
    if len(kept) > 0x100:
        return text
    try:
        converted = _latex_converter().latex_to_text(source)
    except Exception:  # pylatexenc has bugs on odd input (\href without a brace): keep the text as it came
        return text
    return _SET_ASIDE.sub(lambda m: kept[ord(m.group()) - 0xE200], converted)


@functools.cache
def _latex_converter() -> LatexNodes2Text:
    # Imported on first use, in the parsing thread: no start-up cost for commands that never parse a feed.
    from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

    def unknown_macro(node: Any) -> str:
        # An author's own macro (\ourmodel) names something: keep it as arXiv shows it, unless it is a
        # command with an argument (\foo{bar}), whose argument is the text.
        after = node.parsing_state.s[node.pos + node.len :]
        return "" if after.startswith("{") and not after.startswith("{}") else f"\\{node.macroname}"

    context = get_default_latex_context_db()  # a new one each call: ours to change
    context.set_unknown_macro_spec(MacroTextSpec("", simplify_repl=unknown_macro))
    return LatexNodes2Text(latex_context=context, math_mode="text", strict_latex_spaces=False)


def _params(search_query: str, id_list: str, sort_by: str, start: int, max_results: int) -> dict[str, str]:
    """The query parameters in the order arXiv's own client sends them."""
    return {
        "search_query": search_query,
        "id_list": id_list,
        "sortBy": sort_by,
        "sortOrder": "descending",
        "start": str(start),
        "max_results": str(max_results),
    }


def _check_query(query: str) -> None:
    """A user's query goes inside our date window: it may not close our parentheses or set its own dates
    (the core's one definition of a query a digest may run, checked here too, before any request)."""
    try:
        check_query(query)
    except UsageError as exc:
        raise BadQuery(str(exc)) from None


def _stamp(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("search window bounds must be aware datetimes")
    return moment.astimezone(dt.UTC).strftime("%Y%m%d%H%M")


def _clean(text: str | None) -> str:
    return _SPACE.sub(" ", text or "").strip()


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date), None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def polite_session(timeout: float, user_agent: str) -> aiohttp.ClientSession:
    """One connection at a time to arXiv (the API or arxiv.org), with a deadline that catches drip-feeds."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=1),
        timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, 10.0), sock_read=timeout),
        headers={"User-Agent": user_agent},
    )
