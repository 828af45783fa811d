"""Digests: a query over an announcement or whole UTC days, include/exclude, ranked, top N summarized
concurrently; an empty digest says why."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from bot.clients.arxiv import ArxivClient
from bot.core.digest import DigestService, empty_reasons, latest_announcement_request, query_terms, rank
from bot.core.models import DigestRequest
from bot.core.render import empty_line, window_line
from bot.core.schedule import announced_window, utc_days
from bot.core.summaries import SummaryService
from tests.fakes.arxiv_server import CORPUS
from tests.fakes.summarizer import RecordingSummarizer

DAY = dt.date(2025, 5, 28)


@pytest.fixture
async def services(fake_arxiv, store):
    async with ArxivClient(api_url=fake_arxiv.api_url, min_interval_seconds=0.01, page_size=7) as arxiv:
        llm = RecordingSummarizer(delay=0.05)
        summaries = SummaryService(
            source=arxiv, store=store, summarizer=llm, daily_token_budget=10**9, max_concurrency=4, cache_hours=24
        )
        yield DigestService(source=arxiv, store=store, summaries=summaries, search_limit=100), llm


def test_query_terms_skip_categories_operators_and_dates():
    """Only words a title or abstract could contain are ranking terms."""
    assert query_terms('cat:cs.CL AND abs:reasoning OR ti:"reward model" ANDNOT au:smith') == [
        "reasoning",
        "reward model",
    ]


async def test_digest_ranks_filters_and_counts_omitted(services):
    """cat:cs.CL on the corpus day: top 3 by relevance to 'reasoning', the rest counted as omitted."""
    digests, llm = services
    request = DigestRequest(query="cat:cs.CL AND abs:reasoning", date=DAY, max_papers=3, language="zh")
    notes: list[str] = []

    async def progress(message: str) -> None:
        notes.append(message)

    digest = await digests.build(request, progress=progress)
    assert len(digest.papers) == 3
    assert all("reasoning" in p.paper.abstract.lower() for p in digest.papers)
    assert any("reason" in p.paper.title.lower() for p in digest.papers[:1])  # title hits rank first
    assert digest.omitted == len(digest.omitted_papers) > 0
    assert not {p.arxiv_id for p in digest.omitted_papers} & {p.paper.arxiv_id for p in digest.papers}
    assert len(llm.calls) == 3 and {lang for _, lang in llm.calls} == {"zh"}
    assert notes[0].startswith("Searching arXiv") and notes[-1] == "Summarized 3/3 papers"


async def test_include_and_exclude_keywords(services):
    """include keeps papers mentioning any keyword; exclude drops those mentioning any."""
    digests, _ = services
    request = DigestRequest(query="cat:cs.CL", date=DAY, max_papers=20, include=("reward",), exclude=("vision",))
    digest = await digests.build(request)
    assert digest.papers
    for item in digest.papers:
        text = (item.paper.title + item.paper.abstract).lower()
        assert "reward" in text and "vision" not in text


async def test_a_day_without_papers_is_an_empty_digest(services):
    """No matching papers: an empty digest, nothing summarized, nothing omitted; it covered the UTC day asked
    for and says what to try."""
    digests, llm = services
    digest = await digests.build(DigestRequest(query="cat:cs.CL", date=dt.date(2025, 6, 2)))
    assert (digest.papers, digest.omitted, llm.calls) == ((), 0, [])
    assert digest.window == utc_days(dt.date(2025, 6, 2), 1)
    assert window_line(digest) == "Papers first submitted on 2025-06-02 (UTC)"
    assert empty_line(digest) == (
        "No new papers matched “cat:cs.CL” in this window. Nothing matching it was submitted in this window: "
        "try a broader query, or more days (--days 7: the last 7 whole UTC days)."
    )


async def test_the_latest_announcement_is_what_arxiv_has_made_public(fake_arxiv, store):
    """Thursday 29 May 02:00 ET, on a fake arXiv where papers appear at their announcement: the latest
    announcement (Wednesday 20:00 ET) has the corpus's cs.CL papers, and the header says so. "Today (UTC)",
    the old default, has none: what was submitted on the 29th is not out yet, and the digest says when it is."""
    now = dt.datetime(2025, 5, 29, 6, 0, tzinfo=dt.UTC)
    fake_arxiv.clock = lambda: now
    fake_arxiv.add_papers([{"id": "2505.23001", "title": "Submitted after the cutoff", "categories": ["cs.CL"],
                            "published": "2025-05-28T19:00:00Z"}])  # fmt: skip
    async with ArxivClient(api_url=fake_arxiv.api_url, min_interval_seconds=0.01) as arxiv:
        summaries = SummaryService(source=arxiv, store=store, summarizer=RecordingSummarizer(), cache_hours=24,
                                   daily_token_budget=10**9, max_concurrency=4, now=lambda: now)  # fmt: skip
        digests = DigestService(source=arxiv, store=store, summaries=summaries, search_limit=100, now=lambda: now)
        request = latest_announcement_request(DigestRequest(query="cat:cs.CL", date=now.date(), max_papers=1), now)
        assert (request.date, request.window) == (dt.date(2025, 5, 28), announced_window(now))
        digest = await digests.build(request)
        today = await digests.build(DigestRequest(query="cat:cs.CL", date=now.date()))
    found = [p.paper.arxiv_id for p in digest.papers] + [p.arxiv_id for p in digest.omitted_papers]
    assert sorted(found) == sorted(r["id"] for r in json.loads(CORPUS.read_text()) if "cs.CL" in r["categories"])
    assert digest.window == announced_window(now) and digest.empty_reasons == ()
    assert window_line(digest) == "Announced Wed 28 May 20:00 ET: submitted Tue 27 May 14:00 – Wed 28 May 14:00 ET"
    assert today.papers == () and today.empty_reasons == (
        "arXiv has not announced anything submitted in this window yet: its next announcement is Thu 29 May 20:00 ET.",
    )


def test_an_empty_digest_names_an_unknown_category():
    """cat:zz.XX is no arXiv category (and the window is not the reason); a wrong case gets the right spelling;
    wildcards over an archive and quoted categories are fine."""
    now = dt.datetime(2025, 12, 9, 14, 0, tzinfo=dt.UTC)
    window = announced_window(now)
    assert empty_reasons("cat:zz.XX AND abs:reasoning", window, now) == (
        "cat:zz.XX is not an arXiv category; the list is at https://arxiv.org/category_taxonomy.",
    )
    assert empty_reasons("cat:cs.cl OR cat:zz.XX OR cat:cs.cl", window, now) == (
        "cat:cs.cl is not an arXiv category; did you mean cat:cs.CL?",
        "cat:zz.XX is not an arXiv category; the list is at https://arxiv.org/category_taxonomy.",
    )
    for fine in ('cat:"cs.CL"', "cat:cs.*", "cat:hep-th", "cat:cond-mat.str-el", "(cat:q-fin.TR)", "cat:cmp-lg"):
        assert not empty_reasons(fine, window, now)[0].startswith("cat:"), fine


def test_an_empty_digest_says_its_papers_were_already_posted():
    """A scheduled digest whose matches were all sent to this channel before says so, not "nothing matched"."""
    now = dt.datetime(2025, 12, 9, 14, 0, tzinfo=dt.UTC)
    assert empty_reasons("cat:cs.CL", announced_window(now), now, already_sent=2) == (
        "2 matching papers were already posted in this channel.",
    )


def test_rank_prefers_title_hits_then_newer_papers():
    """A term in the title outranks the same term only in the abstract."""
    from tests.test_summaries import make_paper

    a, b = make_paper(1), make_paper(2)
    b = b.__class__(**{**b.__dict__, "title": "Reasoning about things"})
    a = a.__class__(**{**a.__dict__, "abstract": "reasoning reasoning"})
    assert [p.title for p in rank([a, b], ["reasoning"])] == ["Reasoning about things", "Paper number 1"]
