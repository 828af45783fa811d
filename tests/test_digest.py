"""Digests: a query over a UTC window, include/exclude, ranked, top N summarized concurrently."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.clients.arxiv import ArxivClient
from bot.core.digest import DigestService, query_terms, rank, window
from bot.core.models import DigestRequest
from bot.core.summaries import SummaryService
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


def test_window_is_whole_utc_days_ending_on_the_date():
    """--days 3 --date 2025-05-30 covers May 28 00:00 to May 30 23:59:59 UTC."""
    start, end = window(dt.date(2025, 5, 30), 3)
    assert start == dt.datetime(2025, 5, 28, tzinfo=dt.UTC)
    assert end == dt.datetime(2025, 5, 30, 23, 59, 59, tzinfo=dt.UTC)


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
    """No matching papers: an empty digest, nothing summarized, nothing omitted."""
    digests, llm = services
    digest = await digests.build(DigestRequest(query="cat:cs.CL", date=dt.date(2025, 6, 2)))
    assert (digest.papers, digest.omitted, llm.calls) == ((), 0, [])


def test_rank_prefers_title_hits_then_newer_papers():
    """A term in the title outranks the same term only in the abstract."""
    from tests.test_summaries import make_paper

    a, b = make_paper(1), make_paper(2)
    b = b.__class__(**{**b.__dict__, "title": "Reasoning about things"})
    a = a.__class__(**{**a.__dict__, "abstract": "reasoning reasoning"})
    assert [p.title for p in rank([a, b], ["reasoning"])] == ["Reasoning about things", "Paper number 1"]
