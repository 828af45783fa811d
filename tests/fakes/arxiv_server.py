"""FakeArxiv: arXiv's export API (GET /api/query) on 127.0.0.1, a random port.

It serves the corpus (tests/data/arxiv_corpus.json, plus add_papers()) as Atom in arXiv's 2026
format, and the recorded real responses (tests/data/arxiv-api-recorded/) verbatim when a
request's query parameters equal a recorded URL's. script() queues faults, one per request:
"ok", "empty", "429" or "429:SECONDS" (with Retry-After), "503" or "503:SECONDS", "error_entry", "hang",
"drip" (headers, then one byte per `drip_interval` seconds), "truncated" (half the XML).

Search evaluator (small but honest): AND, OR, ANDNOT (AND/ANDNOT bind tighter than OR;
adjacent terms are ANDed), parentheses, field:term with ti, au, abs, co, jr, cat (exact or
`cs.*` prefix, any listed category), id, all, bare terms and "quoted phrases" (case-insensitive
substring), and submittedDate/lastUpdatedDate:[YYYYMMDDHHMM TO YYYYMMDDHHMM].

With `clock` set, a paper exists only from its announcement on (announced_at: arXiv's schedule,
written here independently of bot.core.schedule so each checks the other).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import re
import time
import zoneinfo
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape, quoteattr

import pytest_asyncio
from aiohttp import web

DATA = Path(__file__).resolve().parent.parent / "data"
CORPUS = DATA / "arxiv_corpus.json"
KNOWN_PAPER = {
    "id": "0704.0001",
    "title": "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies",
    "authors": ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"],
    "abstract": "A fully differential calculation in perturbative quantum chromodynamics is presented.",
    "categories": ["hep-ph"],
    "published": "2007-04-02T19:18:42Z",
}
RECORDED = DATA / "arxiv-api-recorded"

_ID = re.compile(r"(?P<id>\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v(?P<version>[1-9]\d*))?")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TOKEN = re.compile(
    r'\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<field>[A-Za-z]+):(?:"(?P<fphrase>[^"]*)"|\[(?P<range>[^\]]*)\]'
    r'|(?P<fword>[^\s()"]+))|"(?P<phrase>[^"]*)"|(?P<word>[^\s()"]+))'
)
_FIELDS = {
    "ti": lambda r: r["title"],
    "au": lambda r: " ; ".join(r["authors"]),
    "abs": lambda r: r["abstract"],
    "co": lambda r: r["comment"] or "",
    "jr": lambda r: r["journal_ref"] or "",
    "id": lambda r: f"{r['id']}v{r['version']}",
}
_TEXT_FIELDS = tuple(_FIELDS.values())
_FIELDS["all"] = lambda r: " ".join([*(f(r) for f in _TEXT_FIELDS), *r["categories"]])
MODES = ("ok", "empty", "429", "503", "error_entry", "hang", "drip", "truncated")
Record = dict[str, Any]
Predicate = Callable[[Record], bool]


class QueryError(ValueError):
    """A search_query the evaluator cannot parse (arXiv answers with an Error entry)."""


class FakeArxiv:
    """Speaks GET /api/query like export.arxiv.org; records every request."""

    def __init__(self, papers: Iterable[Mapping[str, Any]] | None = None, *, recorded: bool = True) -> None:
        self._papers: dict[tuple[str, int], Record] = {}
        self.add_papers(json.loads(CORPUS.read_text("utf-8")) if papers is None else papers)
        # arXiv's first new-style paper, which the client asks for to tell unknown ids from a sick arXiv.
        self.add_papers([KNOWN_PAPER])
        self._recorded: dict[tuple[tuple[str, str], ...], tuple[int, str]] = {}
        if recorded:
            for path in sorted(RECORDED.glob("*.json")):
                rec = json.loads(path.read_text("utf-8"))
                self._recorded[_key(parse_qsl(urlsplit(rec["url"]).query, keep_blank_values=True))] = (
                    rec["status_code"],
                    rec["body"],
                )
        self._script: deque[str] = deque()
        self.requests: list[tuple[float, str]] = []  # (time.monotonic(), raw path_qs)
        self.max_in_flight = 0
        self.drip_interval = 1.0
        self.latency = 0.0  # seconds each answer waits, so unserialized clients would overlap
        self.clock: Callable[[], dt.datetime] | None = None  # when set, papers appear at their announcement
        self._in_flight = 0
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.api_url = ""

    # ---- control

    def add_papers(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Serve these records too: {id, version, title, authors, abstract, categories, published, ...}."""
        for raw in records:
            rec = {"version": 1, "authors": [], "abstract": "", "comment": None, "journal_ref": None, **raw}
            rec["published"] = _time(rec["published"])
            rec["updated"] = _time(rec.get("updated") or rec["published"])
            self._papers[(rec["id"], int(rec["version"]))] = rec

    def script(self, *modes: str) -> None:
        for mode in modes:
            if mode.split(":")[0] not in MODES:
                raise ValueError(f"unknown FakeArxiv mode {mode!r}")
        self._script.extend(modes)

    @property
    def paths(self) -> list[str]:
        return [path for _, path in self.requests]

    # ---- lifecycle

    async def __aenter__(self) -> FakeArxiv:
        app = web.Application()
        app.router.add_get("/api/query", self._handle)
        # handler_cancellation: a client that gave up (timeout) ends the handler, as on a real server.
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.api_url = f"http://127.0.0.1:{port}/api/query"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing.set()  # releases "hang" and "drip" handlers
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- serving

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((time.monotonic(), request.raw_path))  # path and query as sent
        self._in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            mode, _, arg = (self._script.popleft() if self._script else "ok").partition(":")
            if self.latency:
                await asyncio.sleep(self.latency)
            if mode == "hang":
                await self._closing.wait()
                return web.Response(status=503)
            if mode == "429":
                headers = {"Retry-After": arg} if arg else {}
                return web.Response(status=429, text="Rate exceeded.", headers=headers)
            if mode == "503":
                return web.Response(status=503, text="Service Unavailable", headers={"Retry-After": arg} if arg else {})
            query = dict(request.query)
            if mode == "empty":
                status, body = 200, _feed(query, [], total=0)
            elif mode == "error_entry":
                status, body = 200, _error_feed("scripted_error", "scripted error entry")
            else:
                status, body = self._answer(query)
            data = body.encode("utf-8")
            if mode == "truncated":
                data = data[: len(data) // 2]
            if mode == "drip":
                return await self._drip(request, status, data)
            return web.Response(status=status, body=data, content_type="application/atom+xml", charset="utf-8")
        finally:
            self._in_flight -= 1

    async def _drip(self, request: web.Request, status: int, data: bytes) -> web.StreamResponse:
        resp = web.StreamResponse(status=status, headers={"Content-Type": "application/atom+xml; charset=utf-8"})
        resp.content_length = len(data)
        await resp.prepare(request)
        for i in range(len(data)):
            await resp.write(data[i : i + 1])
            try:
                await asyncio.wait_for(self._closing.wait(), self.drip_interval)
                break
            except TimeoutError:
                pass
        return resp

    def _answer(self, query: dict[str, str]) -> tuple[int, str]:
        recorded = self._recorded.get(_key(query.items()))
        if recorded is not None:
            return recorded
        ids = [i for i in query.get("id_list", "").split(",") if i]
        search = query.get("search_query", "").strip()
        for i in ids:
            if not _ID.fullmatch(i):
                return 400, _error_feed(f"incorrect_id_format_for_{i}", f"incorrect id format for {i}")
        try:
            start, max_results = int(query.get("start", "0")), int(query.get("max_results", "10"))
            matches = parse_query(search) if search else None
        except QueryError as exc:
            return 400, _error_feed("malformed_query", str(exc))
        except ValueError:
            return 400, _error_feed("bad_paging", "start and max_results must be integers")
        if ids:
            records = [r for r in map(self._lookup, dict.fromkeys(ids)) if r is not None]
        elif matches is not None:
            records = [r for r in self._latest() if matches(r)]
        else:
            records = []
        if self.clock is not None:
            now = self.clock()
            records = [r for r in records if announced_at(r["published"]) <= now]
        if matches is not None:
            records = [r for r in records if matches(r)]
        sort_by = query.get("sortBy", "relevance")
        if sort_by in ("submittedDate", "lastUpdatedDate"):
            field = "published" if sort_by == "submittedDate" else "updated"
            records.sort(key=lambda r: r[field], reverse=query.get("sortOrder") != "ascending")
        return 200, _feed(query, records[start : start + max_results], total=len(records))

    def _lookup(self, text: str) -> Record | None:
        m = _ID.fullmatch(text)
        assert m is not None
        if m["version"]:
            return self._papers.get((m["id"], int(m["version"])))
        versions = [r for (i, _), r in self._papers.items() if i == m["id"]]
        return max(versions, key=lambda r: r["version"], default=None)

    def _latest(self) -> list[Record]:
        return [r for r in map(self._lookup, dict.fromkeys(i for i, _ in self._papers)) if r is not None]


def announced_at(submitted: dt.datetime) -> dt.datetime:
    """When arXiv announces a paper submitted at `submitted`: at 20:00 US Eastern after the first 14:00
    Eastern cutoff of a working day (Monday to Friday) at or after it; Friday's cutoff is announced Sunday."""
    eastern = zoneinfo.ZoneInfo("America/New_York")
    local = submitted.astimezone(eastern)
    day = local.date() if local.time() < dt.time(14) else local.date() + dt.timedelta(days=1)
    while day.weekday() >= 5:  # submitted over the weekend: Monday's cutoff
        day += dt.timedelta(days=1)
    if day.weekday() == 4:
        day += dt.timedelta(days=2)
    return dt.datetime.combine(day, dt.time(20), eastern)


# ---- the search_query evaluator


def parse_query(text: str) -> Predicate:
    """arXiv search_query syntax -> a predicate over records."""
    tokens: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        if not text[pos:].strip():
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            raise QueryError(f"unable to parse search query at {text[pos : pos + 20]!r}")
        pos = m.end()
        if m["lp"] or m["rp"]:
            tokens.append((m["lp"] or m["rp"], None))
        elif m["word"] in ("AND", "OR", "ANDNOT"):
            tokens.append((m["word"], None))
        elif m["field"]:
            tokens.append(("term", _term(m["field"], m["fphrase"], m["range"], m["fword"])))
        else:
            tokens.append(("term", _term("all", m["phrase"], None, m["word"])))
    parser = _Parser(tokens)
    predicate = parser.or_expr()
    if parser.pos != len(tokens):
        raise QueryError("unable to parse search query: unbalanced parentheses or a dangling operator")
    return predicate


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.tokens, self.pos = tokens, 0

    def peek(self) -> str | None:
        return self.tokens[self.pos][0] if self.pos < len(self.tokens) else None

    def or_expr(self) -> Predicate:
        left = self.and_expr()
        while self.peek() == "OR":
            self.pos += 1
            right, prev = self.and_expr(), left
            left = lambda r, a=prev, b=right: a(r) or b(r)  # noqa: E731
        return left

    def and_expr(self) -> Predicate:
        left = self.atom()
        while self.peek() in ("AND", "ANDNOT", "term", "("):
            op = self.peek()
            if op in ("AND", "ANDNOT"):
                self.pos += 1
            right, prev = self.atom(), left
            if op == "ANDNOT":
                left = lambda r, a=prev, b=right: a(r) and not b(r)  # noqa: E731
            else:
                left = lambda r, a=prev, b=right: a(r) and b(r)  # noqa: E731
        return left

    def atom(self) -> Predicate:
        kind = self.peek()
        if kind == "(":
            self.pos += 1
            inner = self.or_expr()
            if self.peek() != ")":
                raise QueryError("unable to parse search query: missing ')'")
            self.pos += 1
            return inner
        if kind == "term":
            self.pos += 1
            return self.tokens[self.pos - 1][1]
        raise QueryError(f"unable to parse search query: unexpected {kind or 'end of query'}")


def _term(field: str, phrase: str | None, span: str | None, word: str | None) -> Predicate:
    if field in ("submittedDate", "lastUpdatedDate"):
        m = re.fullmatch(r"\s*(\d{4,14})\s+TO\s+(\d{4,14})\s*", span or "")
        if m is None:
            raise QueryError(f"unable to parse search query: bad {field} range [{span}]")
        low, high = m.groups()
        key = "published" if field == "submittedDate" else "updated"

        def in_range(r: Record) -> bool:
            stamp = r[key].strftime("%Y%m%d%H%M%S")
            return stamp[: len(low)] >= low and stamp[: len(high)] <= high

        return in_range
    if span is not None:
        raise QueryError(f"unable to parse search query: a range is only valid for dates, not {field}")
    needle = (phrase if phrase is not None else word or "").lower()
    if field == "cat":
        if needle.endswith("*"):
            return lambda r: any(c.lower().startswith(needle[:-1]) for c in r["categories"])
        return lambda r: needle in (c.lower() for c in r["categories"])
    if field not in _FIELDS:
        raise QueryError(f"unable to parse search query: unknown field {field}")
    get, needle = _FIELDS[field], needle.rstrip("*")
    return lambda r: needle in get(r).lower()


# ---- Atom, as arXiv writes it in 2026


def _x(text: str) -> str:
    return escape(_XML_INVALID.sub("", text))


def _attr(text: str) -> str:
    return quoteattr(_XML_INVALID.sub("", text))


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _head(feed_id: str, title: str, link: str | None, per_page: int, total: int, start: int) -> list[str]:
    return [
        "<?xml version='1.0' encoding='UTF-8'?>",
        '<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom"'
        ' xmlns="http://www.w3.org/2005/Atom">',
        f"  <id>{_x(feed_id)}</id>",
        f"  <title>{_x(title)}</title>",
        f"  <updated>{_stamp(dt.datetime.now(dt.UTC))}</updated>",
        *([f'  <link href={_attr(link)} type="application/atom+xml"/>'] if link else []),
        f"  <opensearch:itemsPerPage>{per_page}</opensearch:itemsPerPage>",
        f"  <opensearch:totalResults>{total}</opensearch:totalResults>",
        f"  <opensearch:startIndex>{start}</opensearch:startIndex>",
    ]


def _feed(query: Mapping[str, str], records: list[Record], *, total: int) -> str:
    sq, ids = query.get("search_query", ""), query.get("id_list", "")
    start, per_page = query.get("start", "0"), query.get("max_results", "10")
    digest = base64.b64encode(hashlib.sha1(repr(sorted(query.items())).encode()).digest()).decode()[:27]
    lines = _head(
        f"https://arxiv.org/api/{digest}",
        f"arXiv Query: search_query={sq}&id_list={ids}&start={start}&max_results={per_page}",
        f"https://arxiv.org/api/query?search_query={sq}&start={start}&max_results={per_page}&id_list={ids}",
        int(per_page) if per_page.isdigit() else 10,
        total,
        int(start) if start.isdigit() else 0,
    )
    for r in records:
        vid = f"{r['id']}v{r['version']}"
        primary = r.get("primary_category") or (r["categories"] or [""])[0]
        lines += [
            "  <entry>",
            f"    <id>http://arxiv.org/abs/{_x(vid)}</id>",
            f"    <title>{_x(r['title'])}</title>",
            f"    <updated>{_stamp(r['updated'])}</updated>",
            f'    <link href={_attr(f"https://arxiv.org/abs/{vid}")} rel="alternate" type="text/html"/>',
            f'    <link href={_attr(f"https://arxiv.org/pdf/{vid}")} rel="related" type="application/pdf"'
            ' title="pdf"/>',
            f"    <summary>{_x(r['abstract'])}</summary>",
            *(f'    <category term={_attr(c)} scheme="http://arxiv.org/schemas/atom"/>' for c in r["categories"]),
            f"    <published>{_stamp(r['published'])}</published>",
            *([f"    <arxiv:comment>{_x(r['comment'])}</arxiv:comment>"] if r["comment"] else []),
            f"    <arxiv:primary_category term={_attr(primary)}/>",
            *([f"    <arxiv:journal_ref>{_x(r['journal_ref'])}</arxiv:journal_ref>"] if r["journal_ref"] else []),
            *(f"    <author>\n      <name>{_x(name)}</name>\n    </author>" for name in r["authors"]),
            "  </entry>",
        ]
    return "\n".join([*lines, "</feed>", ""])


def _error_feed(code: str, message: str) -> str:
    """arXiv's Error entry (as in the recorded `abc` response): no <published>, an errors id."""
    now = _stamp(dt.datetime.now(dt.UTC))
    url = f"https://arxiv.org/api/errors#{code}"
    lines = _head("https://arxiv.org/", "arXiv Search Results", None, 1, 1, 0)
    lines += [
        "  <entry>",
        f"    <id>{_x(url)}</id>",
        "    <title>Error</title>",
        f"    <updated>{now}</updated>",
        f'    <link href={_attr(url)} rel="alternate" type="text/html"/>',
        f"    <summary>{_x(message)}</summary>",
        "    <author>\n      <name>arXiv api core</name>\n    </author>",
        "  </entry>",
        "</feed>",
        "",
    ]
    return "\n".join(lines)


def _key(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(pairs))


def _time(value: str | dt.datetime) -> dt.datetime:
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"FakeArxiv needs aware timestamps, got {value!r}")
    return moment.astimezone(dt.UTC)


@pytest_asyncio.fixture
async def fake_arxiv():
    """A started FakeArxiv serving the 20-paper corpus and the recorded responses."""
    async with FakeArxiv() as fake:
        yield fake
