"""ArxivClient against FakeArxiv on 127.0.0.1: recorded real responses, faults, the one lane."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import socket
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.clients.arxiv import ArxivClient, parse_feed, tex_to_text
from bot.core.errors import ArxivRateLimited, ArxivUnavailable, BadQuery
from bot.core.models import ArxivRef
from storage.lanes import MemoryRequestLanes
from tests.fakes.arxiv_server import FakeArxiv

DATA = Path(__file__).parent / "data"
CORPUS = json.loads((DATA / "arxiv_corpus.json").read_text("utf-8"))
UTC = dt.UTC
INTERVAL = 0.05


def make_client(fake: FakeArxiv, **overrides: object) -> ArxivClient:
    options: dict = {
        "api_url": fake.api_url,
        "min_interval_seconds": INTERVAL,
        "backoff_base_seconds": 0.01,
        "max_tries": 3,
        "timeout_seconds": 2.0,
    } | overrides
    return ArxivClient(**options)


def params(path_qs: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(path_qs).query, keep_blank_values=True)


def gaps(fake: FakeArxiv) -> list[float]:
    times = [t for t, _ in fake.requests]
    return [b - a for a, b in zip(times, times[1:], strict=False)]


class Ticker:
    """Measures event-loop stalls: the longest gap between 10 ms ticks."""

    def __init__(self) -> None:
        self.longest = 0.0
        self.ticks = 0

    async def run(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            self.longest = max(self.longest, time.monotonic() - before)
            self.ticks += 1


# ---- recorded real responses


async def test_recorded_paper_parses_into_paper(fake_arxiv):
    """A recorded arXiv answer for 1605.08386 becomes a complete Paper, asked with the recorded URL."""
    recorded = json.loads((DATA / "arxiv-api-recorded/id_1605.08386_s0_m100_199195aa31ad.json").read_text())
    async with make_client(fake_arxiv) as client:
        papers = await client.fetch([ArxivRef("1605.08386")])
    paper = papers[ArxivRef("1605.08386")]
    assert paper.arxiv_id == "1605.08386" and paper.version == 1
    assert paper.title == "Heat-bath random walks with Markov bases"
    assert paper.authors == ("Caprice Stanley", "Tobias Windisch")
    assert paper.abstract.startswith("Graphs on lattice points are studied")
    assert paper.comment == "20 pages, 3 figures" and paper.journal_ref is None
    assert paper.primary_category == "math.CO" and paper.categories == ("math.CO", "math.ST")
    assert paper.published == dt.datetime(2016, 5, 26, 17, 59, 46, tzinfo=UTC)
    assert paper.updated.utcoffset() == dt.timedelta(0)
    [(_, path)] = fake_arxiv.requests
    assert path == urlsplit(recorded["url"]).path + "?" + urlsplit(recorded["url"]).query


async def test_recorded_two_id_batch_keeps_only_known(fake_arxiv):
    """A two-id batch is one request; the id arXiv does not know is simply absent."""
    async with make_client(fake_arxiv) as client:
        papers = await client.fetch([ArxivRef("0808.05394"), ArxivRef("1707.08567")])
    assert list(papers) == [ArxivRef("1707.08567")]
    assert papers[ArxivRef("1707.08567")].title.startswith("Proceedings of Workshop AEW10")
    assert len(papers[ArxivRef("1707.08567")].authors) == 34
    assert len(fake_arxiv.requests) == 1


async def test_recorded_old_style_id(fake_arxiv):
    """An old-style id maps back to its ref, with journal ref, stripped abstract and all authors."""
    ref = ArxivRef("astro-ph/0601001")
    async with make_client(fake_arxiv) as client:
        paper = (await client.fetch([ref]))[ref]
    assert (paper.arxiv_id, paper.version) == ("astro-ph/0601001", 1)
    assert paper.journal_ref == "ActaAstron.56:1-50,2006"
    assert paper.abstract.startswith("We derive the frequencies") and "  " not in paper.abstract
    assert paper.authors[0] == "Andrew Gould" and len(paper.authors) == 4
    assert paper.abs_url == "https://arxiv.org/abs/astro-ph/0601001v1"


async def test_recorded_versioned_old_style_id(fake_arxiv):
    """A versioned ref (quant-ph/0201082v1) is keyed by that ref and gets that version."""
    ref = ArxivRef("quant-ph/0201082", 1)
    async with make_client(fake_arxiv) as client:
        papers = await client.fetch([ref])
    assert papers[ref].version == 1 and papers[ref].categories == ("quant-ph", "cs.PL")
    assert params(fake_arxiv.requests[0][1])["id_list"] == ["quant-ph/0201082v1"]


async def test_recorded_search_page_parses():
    """A recorded 10-entry search page passes the strict check and yields ten papers."""
    body = json.loads((DATA / "arxiv-api-recorded/q_testing_s0_m10_bc5a6c384fe9.json").read_text())["body"]
    feed = parse_feed(body.encode())
    assert feed.total_results == 214881 and len(feed.entries) == 10


PARSED_BEFORE = json.loads((DATA / "arxiv-api-recorded-entries.json").read_text("utf-8"))["fixtures"]


@pytest.mark.parametrize("name", sorted(PARSED_BEFORE))
def test_recorded_responses_parse_as_the_arxiv_package_parsed_them(name):
    """Our lxml parser gives, for every recorded real answer, what the arxiv package's parser gave (kept in
    arxiv-api-recorded-entries.json when it was replaced): every field of every entry, the total, the error."""
    body = json.loads((DATA / "arxiv-api-recorded" / name).read_text("utf-8"))["body"].encode()
    expected = PARSED_BEFORE[name]
    if "error" in expected:
        with pytest.raises(BadQuery) as caught:
            parse_feed(body)
        assert f"BadQuery: {caught.value}" == expected["error"]
        return
    feed = parse_feed(body)
    entries = [
        {
            **dataclasses.asdict(entry),
            "authors": list(entry.authors),
            "categories": list(entry.categories),
            "published": entry.published.isoformat(),
            "updated": entry.updated.isoformat(),
        }
        for entry in feed.entries
    ]
    assert feed.total_results == expected["total_results"]
    assert entries == expected["entries"]


# ---- fetch


async def test_many_ids_one_request(fake_arxiv):
    """Twenty ids go out in one id_list request and come back keyed by ref, whitespace collapsed."""
    refs = [ArxivRef(r["id"]) for r in CORPUS]
    async with make_client(fake_arxiv) as client:
        papers = await client.fetch(refs)
    assert set(papers) == set(refs)
    assert len(fake_arxiv.requests) == 1
    first = papers[ArxivRef(CORPUS[0]["id"])]
    assert first.title == " ".join(CORPUS[0]["title"].split())
    assert first.authors == tuple(CORPUS[0]["authors"])


async def test_ids_are_chunked_by_page_size(fake_arxiv):
    """With page_size=8, twenty ids take three requests of at most seven (a slot stays free for the control id)."""
    refs = [ArxivRef(r["id"]) for r in CORPUS]
    async with make_client(fake_arxiv, page_size=8) as client:
        papers = await client.fetch(refs)
    assert len(papers) == 20
    sizes = [len(params(p)["id_list"][0].split(",")) for p in fake_arxiv.paths]
    assert sizes == [7, 7, 6]


async def test_versions_map_to_the_refs_asked(fake_arxiv):
    """An unversioned ref gets the newest version; a versioned ref exactly its version."""
    base = {"id": "2601.00001", "title": "T", "authors": ["A"], "abstract": "x", "categories": ["cs.CL"]}
    fake_arxiv.add_papers(
        [
            base | {"version": 1, "published": "2026-01-01T00:00:00Z"},
            base | {"version": 2, "published": "2026-01-01T00:00:00Z", "updated": "2026-01-05T00:00:00Z"},
        ]
    )
    latest, first = ArxivRef("2601.00001"), ArxivRef("2601.00001", 1)
    async with make_client(fake_arxiv) as client:
        papers = await client.fetch([latest, first])
    assert papers[latest].version == 2 and papers[first].version == 1
    assert papers[latest].updated == dt.datetime(2026, 1, 5, tzinfo=UTC)


async def test_paper_conversion_cleans_text(fake_arxiv):
    """Titles and abstracts have whitespace collapsed; an absent comment is None."""
    fake_arxiv.add_papers(
        [
            {
                "id": "2601.00002",
                "title": "  A\n   split\ttitle ",
                "authors": ["Ann  Author"],
                "abstract": "\n  First line\n  second   line.  ",
                "categories": ["cs.LG", "cs.CL"],
                "published": "2026-01-02T03:04:05Z",
            }
        ]
    )
    async with make_client(fake_arxiv) as client:
        paper = (await client.fetch([ArxivRef("2601.00002")]))[ArxivRef("2601.00002")]
    assert paper.title == "A split title" and paper.abstract == "First line second line."
    assert paper.authors == ("Ann Author",) and paper.comment is None and paper.journal_ref is None
    assert paper.primary_category == "cs.LG"
    assert paper.published == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


async def test_tex_in_titles_and_abstracts_is_shown_as_text(fake_arxiv):
    """TeX as authors type it becomes readable text; a bare %, ~ or & and a URL stay exactly as written."""
    fake_arxiv.add_papers(
        [
            {
                "id": "2601.00003",
                "title": "From ``Noise'' to Signal: Rewards $\\rightarrow$ Reasoning in R$^2$ Na\\\"ive Models",
                "abstract": "We gain 5% (\\textasciitilde{}2x, ~3x at AT&T) with $\\alpha$ -- see "
                "\\url{https://github.com/a/b_c%20d} and \\ourmodel.",
                "comment": "Project page: https://a.github.io/x~y/",
                "categories": ["cs.CL"],
                "published": "2026-01-02T03:04:05Z",
            }
        ]
    )
    async with make_client(fake_arxiv) as client:
        paper = (await client.fetch([ArxivRef("2601.00003")]))[ArxivRef("2601.00003")]
    assert paper.title == "From “Noise” to Signal: Rewards → Reasoning in R^2 Naïve Models"
    assert paper.abstract == ("We gain 5% (~2x, ~3x at AT&T) with α – see https://github.com/a/b_c%20d and \\ourmodel.")
    assert paper.comment == "Project page: https://a.github.io/x~y/"
    assert tex_to_text("```code``` is a fence, ``this'' a quote") == "```code``` is a fence, “this” a quote"


@pytest.mark.parametrize(
    "text",
    ["plain text, 5% better", "costs $5", "\\href{https://x.org}{here", "{unbalanced", "a\ue200b"],
)
def test_tex_conversion_never_loses_text_it_cannot_read(text):
    """No TeX, an odd $, pylatexenc's own failures: the words stay (a lone brace or private-use mark may go)."""
    out = tex_to_text(text)
    assert [w for w in out.replace("\ue200", "").split() if w.isalpha()] == [
        w for w in text.replace("\ue200", "").split() if w.isalpha()
    ]


async def test_unknown_id_is_absent_once_a_known_paper_proves_arxiv_well(fake_arxiv):
    """The recorded empty feed for 0000.0000, then a control request that returns 0704.0001: absent, in 2 requests."""
    async with make_client(fake_arxiv, max_tries=3) as client:
        assert await client.fetch([ArxivRef("0000.0000")]) == {}
    assert [params(p)["id_list"][0] for p in fake_arxiv.paths] == ["0000.0000", "0000.0000,0704.0001"]


async def test_empty_feeds_that_persist_are_unavailable_not_unknown(fake_arxiv):
    """Row 20: empty answers even with the control id are arXiv being unwell: ArxivUnavailable after max_tries."""
    fake_arxiv.script(*["empty"] * 4)
    async with make_client(fake_arxiv, max_tries=3) as client:
        with pytest.raises(ArxivUnavailable, match="temporarily unavailable"):
            await client.fetch([ArxivRef("2505.22653")])
    assert len(fake_arxiv.requests) == 4  # the first answer, then the control request tried 3 times


async def test_malformed_id_is_bad_query_without_retry(fake_arxiv):
    """The recorded HTTP 400 Error entry for `abc` becomes BadQuery with arXiv's message, asked once."""
    async with make_client(fake_arxiv) as client:
        with pytest.raises(BadQuery, match="incorrect id format for abc"):
            await client.fetch([ArxivRef("abc")])
    assert len(fake_arxiv.requests) == 1


async def test_error_entry_with_200_is_bad_query(fake_arxiv):
    """An Error entry served with HTTP 200 is BadQuery, never a paper, never retried."""
    fake_arxiv.script("error_entry")
    async with make_client(fake_arxiv) as client:
        with pytest.raises(BadQuery, match="scripted error entry"):
            await client.fetch([ArxivRef("2505.22653")])
    assert len(fake_arxiv.requests) == 1


# ---- row 20, row 21: classification and backoff


async def test_transient_empty_feed_is_retried(fake_arxiv):
    """Row 20: two empty 200s (the second to the control request) then the paper; requests stay spaced."""
    fake_arxiv.script("empty", "empty")
    async with make_client(fake_arxiv, max_tries=4) as client:
        papers = await client.fetch([ArxivRef("2505.22653")])
    assert ArxivRef("2505.22653") in papers
    assert len(fake_arxiv.requests) == 3
    assert min(gaps(fake_arxiv)) >= INTERVAL


async def test_429_retry_after_is_honoured(fake_arxiv):
    """Two 429s with Retry-After: 0.3 then OK: the paper, with >= 0.3 s before each retry."""
    fake_arxiv.script("429:0.3", "429:0.3")
    async with make_client(fake_arxiv, max_tries=4) as client:
        papers = await client.fetch([ArxivRef("2505.22653")])
    assert ArxivRef("2505.22653") in papers
    assert len(fake_arxiv.requests) == 3
    assert min(gaps(fake_arxiv)) >= 0.3


async def test_429_forever_is_rate_limited(fake_arxiv):
    """429 on every try ends in ArxivRateLimited after max_tries, with a one-line message."""
    fake_arxiv.script(*["429"] * 3)
    async with make_client(fake_arxiv, max_tries=3) as client:
        with pytest.raises(ArxivRateLimited) as caught:
            await client.fetch([ArxivRef("2505.22653")])
    assert str(caught.value) == ("arXiv is rate-limiting requests (HTTP 429 after 3 tries); try again in a few minutes")
    assert len(fake_arxiv.requests) == 3


async def test_long_retry_after_gives_up_at_once(fake_arxiv):
    """A Retry-After beyond a minute is not slept through: ArxivRateLimited after one request."""
    fake_arxiv.script("429:3600")
    async with make_client(fake_arxiv) as client:
        with pytest.raises(ArxivRateLimited, match="3600 s"):
            await client.fetch([ArxivRef("2505.22653")])
    assert len(fake_arxiv.requests) == 1


async def test_503_forever_is_unavailable_with_backoff(fake_arxiv):
    """503 on every try: ArxivUnavailable after max_tries, waits growing exponentially."""
    fake_arxiv.script(*["503"] * 3)
    async with make_client(fake_arxiv, max_tries=3, backoff_base_seconds=0.1) as client:
        with pytest.raises(ArxivUnavailable) as caught:
            await client.fetch([ArxivRef("2505.22653")])
    assert not isinstance(caught.value, ArxivRateLimited)
    assert str(caught.value) == (
        "arXiv is temporarily unavailable (HTTP 503 after 3 tries); try again in a few minutes"
    )
    first, second = gaps(fake_arxiv)
    assert first >= 0.1 and second >= 0.2


async def test_truncated_xml_is_retried(fake_arxiv):
    """A body cut in half is a transient malformed answer: retried, then the paper."""
    fake_arxiv.script("truncated")
    async with make_client(fake_arxiv) as client:
        papers = await client.fetch([ArxivRef("2505.22653")])
    assert papers[ArxivRef("2505.22653")].abstract == " ".join(tex_to_text(CORPUS[0]["abstract"]).split())
    assert len(fake_arxiv.requests) == 2


async def test_truncated_forever_is_unavailable(fake_arxiv):
    """Truncated on every try: ArxivUnavailable naming a malformed response, never partial papers."""
    fake_arxiv.script(*["truncated"] * 2)
    async with make_client(fake_arxiv, max_tries=2) as client:
        with pytest.raises(ArxivUnavailable, match="malformed response"):
            await client.fetch([ArxivRef("2505.22653")])


async def test_oversized_body_is_refused(fake_arxiv):
    """A body over the cap is ArxivUnavailable after one request (retrying would not shrink it)."""
    async with make_client(fake_arxiv, max_body_bytes=1000) as client:
        with pytest.raises(ArxivUnavailable, match="oversized"):
            await client.fetch([ArxivRef("2505.22653")])
    assert len(fake_arxiv.requests) == 1


def test_doctype_is_rejected():
    """A feed with a DTD (entity tricks live there) is treated as malformed, not parsed."""
    body = (
        b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>&b;</title></feed>'
    )
    with pytest.raises(Exception, match="malformed response"):
        parse_feed(body)


async def test_breaker_opens_and_fails_fast(fake_arxiv):
    """After `threshold` failed calls the breaker fails fast with no request; after cooldown, one trial."""
    fake_arxiv.script(*["503"] * 3)
    ref = ArxivRef("2505.22653")
    async with make_client(fake_arxiv, max_tries=1, breaker_threshold=2, breaker_cooldown_seconds=0.3) as client:
        for _ in range(2):
            with pytest.raises(ArxivUnavailable, match="HTTP 503"):
                await client.fetch([ref])
        with pytest.raises(ArxivUnavailable, match="pausing requests"):
            await client.fetch([ref])
        assert len(fake_arxiv.requests) == 2
        await asyncio.sleep(0.3)  # the cooldown itself, measured by the same monotonic clock
        with pytest.raises(ArxivUnavailable, match="HTTP 503"):  # the one trial, which fails
            await client.fetch([ref])
        with pytest.raises(ArxivUnavailable, match="pausing requests"):  # open again at once
            await client.fetch([ref])
        assert len(fake_arxiv.requests) == 3
        await asyncio.sleep(0.3)
        assert ref in await client.fetch([ref])  # the trial succeeds: closed again
        assert ref in await client.fetch([ref])
    assert len(fake_arxiv.requests) == 5


async def test_bad_query_does_not_open_breaker(fake_arxiv):
    """BadQuery means arXiv answered: it does not count toward the breaker."""
    async with make_client(fake_arxiv, breaker_threshold=1) as client:
        for _ in range(2):
            with pytest.raises(BadQuery):
                await client.fetch([ArxivRef("abc")])
    assert len(fake_arxiv.requests) == 2


# ---- row 22: hangs and drips, the loop stays responsive


@pytest.mark.parametrize("mode", ["hang", "drip"])
async def test_stalled_server_times_out_without_blocking_loop(fake_arxiv, mode):
    """A server that never answers, or drips 10 bytes/s, fails on time while the loop keeps ticking."""
    fake_arxiv.script(mode)
    fake_arxiv.drip_interval = 0.1  # faster than sock_read: only the total timeout can stop it
    ticker = Ticker()
    tick_task = asyncio.create_task(ticker.run())
    began = time.monotonic()
    try:
        async with make_client(fake_arxiv, max_tries=1, timeout_seconds=0.5) as client:
            with pytest.raises(ArxivUnavailable, match=r"unavailable \(no answer within 0.5 s after 1 try\)"):
                await client.fetch([ArxivRef("2505.22653")])
    finally:
        tick_task.cancel()
    assert time.monotonic() - began < 1.5
    assert ticker.ticks >= 20 and ticker.longest < 0.2


# ---- row 23: one lane


async def test_concurrent_fetches_share_one_lane(fake_arxiv):
    """Five concurrent fetches never overlap on the wire and keep min_interval between starts."""
    fake_arxiv.latency = 0.02  # without the lane these would overlap or come closer than INTERVAL
    refs = [ArxivRef(r["id"]) for r in CORPUS[:5]]
    async with make_client(fake_arxiv) as client:
        results = await asyncio.gather(*(client.fetch([ref]) for ref in refs))
    assert [list(r) for r in results] == [[ref] for ref in refs]
    assert len(fake_arxiv.requests) == 5
    assert fake_arxiv.max_in_flight == 1
    assert min(gaps(fake_arxiv)) >= INTERVAL


class RecordingLanes(MemoryRequestLanes):
    """The in-process lanes, noting every call (the database's are tested in test_lanes.py)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str, float]] = []

    async def wait_turn(self, lane: str, min_interval: float) -> None:
        self.calls.append(("turn", lane, min_interval))
        await super().wait_turn(lane, min_interval)

    async def hold(self, lane: str, seconds: float) -> None:
        self.calls.append(("hold", lane, seconds))
        await super().hold(lane, seconds)


async def test_each_request_takes_a_turn_on_the_api_hosts_lane(fake_arxiv):
    """Given a shared lane, every request first takes a turn on the lane named after the API's host."""
    lanes = RecordingLanes()
    async with make_client(fake_arxiv, lane=lanes) as client:
        for record in CORPUS[:2]:
            await client.fetch([ArxivRef(record["id"])])
    host = urlsplit(fake_arxiv.api_url).netloc
    assert lanes.calls == [("turn", host, INTERVAL), ("turn", host, INTERVAL)]


@pytest.mark.parametrize(("fault", "held"), [("429:0.3", 0.3), ("503:0.3", 0.3), ("429", 0.01), ("503", None)])
async def test_retry_after_holds_the_shared_lane(fake_arxiv, fault, held):
    """A 429, or a 503 with Retry-After, holds the lane for every process (as long as the wait); a bare 503
    backs off this caller only."""
    fake_arxiv.script(fault)
    lanes = RecordingLanes()
    async with make_client(fake_arxiv, lane=lanes) as client:
        assert ArxivRef("2505.22653") in await client.fetch([ArxivRef("2505.22653")])
    host = urlsplit(fake_arxiv.api_url).netloc
    turn = ("turn", host, INTERVAL)
    assert lanes.calls == ([turn, turn] if held is None else [turn, ("hold", host, held), turn])
    assert min(gaps(fake_arxiv)) >= (held or 0.01)


async def test_503_with_a_long_retry_after_gives_up_at_once(fake_arxiv):
    """A 503 asking to wait an hour is not slept through, nor held on the lane: unavailable, one request."""
    fake_arxiv.script("503:3600")
    lanes = RecordingLanes()
    async with make_client(fake_arxiv, lane=lanes) as client:
        with pytest.raises(ArxivUnavailable, match=r"^arXiv is unavailable and asked to wait 3600 s; try again later$"):
            await client.fetch([ArxivRef("2505.22653")])
    assert len(fake_arxiv.requests) == 1
    assert [call[0] for call in lanes.calls] == ["turn"]


# ---- search


def corpus_ids(predicate) -> list[str]:
    chosen = [r for r in CORPUS if predicate(r)]
    return [r["id"] for r in sorted(chosen, key=lambda r: r["published"], reverse=True)]


async def test_search_paginates_newest_first(fake_arxiv):
    """A day-window search returns every cs.CL paper, newest first, over pages of five."""
    start, end = dt.datetime(2025, 5, 28, tzinfo=UTC), dt.datetime(2025, 5, 28, 23, 59, 59, tzinfo=UTC)
    async with make_client(fake_arxiv, page_size=5) as client:
        papers = await client.search("cat:cs.CL", start, end, limit=100)
    expected = corpus_ids(lambda r: "cs.CL" in r["categories"])
    assert [p.arxiv_id for p in papers] == expected and len(expected) == 16
    assert len(fake_arxiv.requests) == 4
    sent = params(fake_arxiv.paths[0])
    assert sent["search_query"] == ["(cat:cs.CL) AND submittedDate:[202505280000 TO 202505282359]"]
    assert (sent["sortBy"], sent["sortOrder"], sent["max_results"]) == (["submittedDate"], ["descending"], ["5"])
    assert [params(p)["start"] for p in fake_arxiv.paths] == [["0"], ["5"], ["10"], ["15"]]


async def test_search_window_and_limit(fake_arxiv):
    """A narrower window with a boolean query returns only papers in it, at most `limit`."""
    start, end = dt.datetime(2025, 5, 28, 12, tzinfo=UTC), dt.datetime(2025, 5, 28, 16, 30, tzinfo=UTC)
    query = "cat:cs.* ANDNOT (cat:cs.CV OR cat:eess.IV)"
    async with make_client(fake_arxiv, page_size=5) as client:
        papers = await client.search(query, start, end, limit=6)
    expected = corpus_ids(
        lambda r: (
            "2025-05-28T12:00" <= r["published"] <= "2025-05-28T16:30"
            and not {"cs.CV", "eess.IV"} & set(r["categories"])
        )
    )
    assert len(expected) > 6
    assert [p.arxiv_id for p in papers] == expected[:6]
    assert [params(p)["max_results"] for p in fake_arxiv.paths] == [["5"], ["1"]]


async def test_search_with_nothing_matching_is_empty(fake_arxiv):
    """A window with no papers is an empty list after one request (an empty first page is an answer)."""
    start, end = dt.datetime(2025, 6, 1, tzinfo=UTC), dt.datetime(2025, 6, 2, tzinfo=UTC)
    async with make_client(fake_arxiv) as client:
        assert await client.search("cat:cs.CL", start, end, limit=10) == []
    assert len(fake_arxiv.requests) == 1


async def test_search_retries_empty_page_before_total(fake_arxiv):
    """An empty second page before totalResults is transient: retried, and the search completes."""
    fake_arxiv.script("ok", "empty")
    start, end = dt.datetime(2025, 5, 28, tzinfo=UTC), dt.datetime(2025, 5, 29, tzinfo=UTC)
    async with make_client(fake_arxiv, page_size=5) as client:
        papers = await client.search("all:language", start, end, limit=100)
    expected = corpus_ids(lambda r: "language" in f"{r['title']} {r['abstract']} {r['comment']}".lower())
    assert [p.arxiv_id for p in papers] == expected and len(expected) > 5
    starts = [params(p)["start"][0] for p in fake_arxiv.paths]
    assert starts[:3] == ["0", "5", "5"]


async def test_search_empty_pages_forever_is_unavailable(fake_arxiv):
    """A second page that stays empty ends in ArxivUnavailable, not a silently short digest."""
    fake_arxiv.script("ok", "empty", "empty")
    start, end = dt.datetime(2025, 5, 28, tzinfo=UTC), dt.datetime(2025, 5, 29, tzinfo=UTC)
    async with make_client(fake_arxiv, page_size=5, max_tries=2) as client:
        with pytest.raises(ArxivUnavailable, match="empty page"):
            await client.search("cat:cs.CL", start, end, limit=100)


async def test_search_rejects_naive_datetimes(fake_arxiv):
    """Naive window bounds are a programming error, refused before any request."""
    async with make_client(fake_arxiv) as client:
        with pytest.raises(ValueError, match="aware"):
            await client.search("cat:cs.CL", dt.datetime(2025, 5, 28), dt.datetime(2025, 5, 29), limit=5)
    assert fake_arxiv.requests == []


async def test_search_syntax_error_is_bad_query(fake_arxiv):
    """A query arXiv cannot parse is BadQuery carrying arXiv's message, asked once."""
    start, end = dt.datetime(2025, 5, 28, tzinfo=UTC), dt.datetime(2025, 5, 29, tzinfo=UTC)
    async with make_client(fake_arxiv) as client:
        with pytest.raises(BadQuery, match="unable to parse search query"):
            await client.search("cat:cs.CL OR", start, end, limit=5)
    assert len(fake_arxiv.requests) == 1


async def test_connection_refused_is_unavailable():
    """Nothing listening: ArxivUnavailable after max_tries, saying the connection failed."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = ArxivClient(api_url=f"http://127.0.0.1:{port}/api/query", min_interval_seconds=0.01,
                         backoff_base_seconds=0.01, max_tries=2)  # fmt: skip
    async with client:
        with pytest.raises(ArxivUnavailable) as caught:
            await client.fetch([ArxivRef("2505.22653")])
    assert str(caught.value) == (
        "arXiv is temporarily unavailable (connection failed after 2 tries); try again in a few minutes"
    )


DAY_START = dt.datetime(2025, 5, 28, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    "query",
    ["cat:cs.LG) OR (cat:cs.LG", "cat:cs.CL AND submittedDate:[202001010000 TO 202501010000]", "(cat:cs.CL", "x" * 501],
)
async def test_a_query_cannot_escape_its_date_window(fake_arxiv, query):
    """Unbalanced parentheses, its own dates or a huge query: BadQuery, and no request at all."""
    async with ArxivClient(api_url=fake_arxiv.api_url, min_interval_seconds=0.01) as client:
        with pytest.raises(BadQuery):
            await client.search(query, DAY_START, DAY_START + dt.timedelta(days=1), limit=10)
    assert fake_arxiv.requests == []
