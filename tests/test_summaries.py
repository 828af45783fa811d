"""The summary service: cache -> arXiv -> LLM -> store, with budget, coalescing and fallbacks."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import time

import pytest

from bot.clients.arxiv import ArxivClient
from bot.clients.llm import OpenAISummarizer
from bot.clients.reader import ArxivReader
from bot.core.card import card_view
from bot.core.errors import LLMUnavailable, SummarizerFailed
from bot.core.excerpt import select_excerpt
from bot.core.faithfulness import normalized
from bot.core.fulltext import FullText
from bot.core.models import ArxivRef, Paper
from bot.core.summaries import LLM_FAILED, NO_LLM, OVER_BUDGET, UNSUPPORTED, SummaryService
from storage.lanes import MemoryRequestLanes
from tests.fakes.llm_server import INVENTED, FakeLLM, cited
from tests.fakes.summarizer import RecordingSummarizer
from tests.test_cli import closed_port

NOW = dt.datetime(2025, 5, 30, 9, 0, tzinfo=dt.UTC)


def make_paper(n: int) -> Paper:
    return Paper(
        arxiv_id=f"2505.{10000 + n}",
        version=1,
        title=f"Paper number {n}",
        authors=("A. Author",),
        abstract=f"We study problem {n}. We propose a method. It improves accuracy by {n}%.",
        comment=None,
        journal_ref=None,
        primary_category="cs.CL",
        categories=("cs.CL",),
        published=NOW - dt.timedelta(days=1),
        updated=NOW - dt.timedelta(days=1),
    )


@pytest.fixture
async def arxiv(fake_arxiv):
    async with ArxivClient(
        api_url=fake_arxiv.api_url, min_interval_seconds=0.01, timeout_seconds=2, max_tries=2, backoff_base_seconds=0.01
    ) as client:
        yield client


def service(arxiv, store, summarizer, *, budget: int = 10**9, concurrency: int = 8, now=lambda: NOW) -> SummaryService:
    return SummaryService(
        source=arxiv,
        store=store,
        summarizer=summarizer,
        daily_token_budget=budget,
        max_concurrency=concurrency,
        cache_hours=24,
        now=now,
    )


async def test_second_request_is_served_from_cache_with_no_calls(arxiv, store, fake_arxiv):
    """A paper summarized once costs zero LLM calls and zero arXiv requests afterwards."""
    llm = RecordingSummarizer()
    first = await service(arxiv, store, llm).summarize_refs([ArxivRef("2505.22653")], language="zh")
    assert [p.paper.title[:9] for p in first.papers] == ["The Climb"]
    assert first.papers[0].summary.generator == "llm" and not first.papers[0].summary.cached
    calls, requests = len(llm.calls), len(fake_arxiv.requests)
    again = await service(arxiv, store, llm).summarize_refs([ArxivRef("2505.22653")], language="zh")
    assert again.papers[0].summary.cached
    assert again.papers[0].summary.tldr == first.papers[0].summary.tldr
    assert (len(llm.calls), len(fake_arxiv.requests)) == (calls, requests) == (1, 1)


async def test_the_same_paper_asked_100_times_at_once_costs_one_call(arxiv, store):
    """Concurrent requests for one paper are coalesced into a single LLM call."""
    llm = RecordingSummarizer(delay=0.05)
    svc = service(arxiv, store, llm)
    paper = make_paper(1)
    summaries = await asyncio.gather(*(svc.summary_for(paper, language="en") for _ in range(100)))
    assert len(llm.calls) == 1
    assert {s.tldr for s in summaries} == {"tl;dr of Paper number 1"}


@pytest.mark.both_databases  # row 29: the budget on SQLite and PostgreSQL
async def test_budget_is_never_exceeded_under_concurrency(arxiv, store):
    """50 papers against a budget for 20 estimates: at most 20 LLM calls, the rest extractive."""
    llm = RecordingSummarizer(tokens=100, estimate=100)
    svc = service(arxiv, store, llm, budget=2050, concurrency=50)
    results = await svc.summarize_papers([make_paper(n) for n in range(50)], language="en")
    generators = [r.summary.generator for r in results]
    assert generators.count("llm") == len(llm.calls) == 20
    assert {r.summary.note for r in results if r.summary.generator == "extractive"} == {OVER_BUDGET}
    assert await store.tokens_used(NOW.date()) <= 2050


@pytest.mark.both_databases  # row 29: the budget on SQLite and PostgreSQL
async def test_llm_failure_falls_back_to_extractive_and_is_not_cached(arxiv, store):
    """A failed LLM gives an extractive summary now and a real one on the next request."""
    llm = RecordingSummarizer()
    llm.queue.append(SummarizerFailed("the LLM at 127.0.0.1 is unreachable"))
    svc = service(arxiv, store, llm)
    paper = make_paper(2)
    fallback = await svc.summary_for(paper, language="en")
    assert (fallback.generator, fallback.note) == ("extractive", LLM_FAILED)
    assert svc.llm_errors == ["the LLM at 127.0.0.1 is unreachable"]
    assert await store.tokens_used(NOW.date()) == 0  # the reservation was given back
    later = await svc.summary_for(paper, language="en")
    assert later.generator == "llm" and len(llm.calls) == 2


async def test_breaker_stops_calling_a_dead_llm(arxiv, store):
    """After three service failures in a row the LLM is not called again during the cooldown."""
    llm = RecordingSummarizer()
    llm.queue.extend(LLMUnavailable("down") for _ in range(10))
    svc = service(arxiv, store, llm, concurrency=1)
    results = await svc.summarize_papers([make_paper(n) for n in range(6)], language="en")
    assert len(llm.calls) == 3
    assert all(r.summary.generator == "extractive" for r in results)


async def test_unusable_answers_do_not_open_the_breaker(arxiv, store):
    """Invalid answers are one paper's problem: six in a row still call the LLM for every paper."""
    llm = RecordingSummarizer()
    llm.queue.extend(SummarizerFailed("no usable summary") for _ in range(6))
    svc = service(arxiv, store, llm, concurrency=1)
    results = await svc.summarize_papers([make_paper(n) for n in range(7)], language="en")
    assert len(llm.calls) == 7
    assert sorted(r.summary.generator for r in results) == ["extractive"] * 6 + ["llm"]


class GatedSummarizer(RecordingSummarizer):
    """Calls wait at the gate until the test opens it."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def summarize(self, paper: Paper, language: str, **kwargs):
        await self.gate.wait()
        return await super().summarize(paper, language, **kwargs)


async def test_after_the_cooldown_one_trial_call_decides(arxiv, store):
    """Once the cooldown is over, one call goes through while the others stay extractive; its
    success closes the breaker."""
    clock = [NOW]
    llm = GatedSummarizer()
    llm.queue.extend(LLMUnavailable("down") for _ in range(3))
    llm.gate.set()
    svc = service(arxiv, store, llm, now=lambda: clock[0])
    await svc.summarize_papers([make_paper(n) for n in range(3)], language="en")
    assert len(llm.calls) == 3
    clock[0] += dt.timedelta(minutes=3)
    llm.gate.clear()
    tasks = [asyncio.ensure_future(svc.summary_for(make_paper(n), language="en")) for n in range(10, 15)]
    async with asyncio.timeout(10):
        while sum(task.done() for task in tasks) < 4:  # all but the trial, which waits at the gate
            await asyncio.wait([t for t in tasks if not t.done()], return_when=asyncio.FIRST_COMPLETED)
    llm.gate.set()
    during_trial = await asyncio.gather(*tasks)
    assert len(llm.calls) == 4
    assert sorted(s.generator for s in during_trial) == ["extractive"] * 4 + ["llm"]
    after = await svc.summarize_papers([make_paper(n) for n in range(20, 23)], language="en")
    assert [r.summary.generator for r in after] == ["llm"] * 3


async def test_no_llm_gives_a_labelled_extractive_summary(arxiv, store):
    """Without an LLM the summary is extractive, says so, and quotes the abstract."""
    batch = await service(arxiv, store, None).summarize_refs([ArxivRef("2505.22653")], language="en")
    summary = batch.papers[0].summary
    assert (summary.generator, summary.model, summary.note) == ("extractive", None, NO_LLM)
    assert summary.tldr in batch.papers[0].paper.abstract
    assert 1 <= len(summary.takeaways) <= 5


async def test_unknown_paper_is_an_error_and_not_negatively_cached(arxiv, store, fake_arxiv):
    """An id arXiv does not know gives 'no paper'; asking again asks arXiv again."""
    svc = service(arxiv, store, RecordingSummarizer())
    batch = await svc.summarize_refs([ArxivRef("2505.22653"), ArxivRef("2999.99999")], language="en")
    assert [p.paper.arxiv_id for p in batch.papers] == ["2505.22653"]
    assert [(e.input, e.error.split(" (")[0]) for e in batch.errors] == [
        ("2999.99999", "arXiv has no paper 2999.99999")
    ]
    before = len(fake_arxiv.requests)
    await svc.summarize_refs([ArxivRef("2999.99999")], language="en")
    assert len(fake_arxiv.requests) > before


async def test_arxiv_down_is_unavailable_not_unknown(arxiv, store, fake_arxiv):
    """503s after retries say arXiv is unavailable, not that the paper does not exist."""
    fake_arxiv.script("503", "503")
    batch = await service(arxiv, store, RecordingSummarizer()).summarize_refs([ArxivRef("2505.22653")], language="en")
    assert batch.papers == ()
    assert "unavailable" in batch.errors[0].error and "no paper" not in batch.errors[0].error


async def test_summaries_are_cached_per_language(arxiv, store):
    """The cache key includes the language: zh after en is a new LLM call."""
    llm = RecordingSummarizer()
    svc = service(arxiv, store, llm)
    paper = make_paper(3)
    en = await svc.summary_for(paper, language="en")
    zh = await svc.summary_for(paper, language="zh")
    assert en.abstract_translation is None and zh.abstract_translation
    assert llm.calls == [(paper.arxiv_id, "en"), (paper.arxiv_id, "zh")]
    assert dataclasses.replace(await svc.summary_for(paper, language="zh"), cached=False) == zh


@pytest.fixture
def real_llm(fake_llm):
    # Built outside the event loop, as at start-up: the client's SSL context and imports take ~0.1 s.
    return OpenAISummarizer(base_url=fake_llm.base_url, api_key="sk-test-loopguard-0000000000", model="m")


async def test_the_real_pipeline_never_blocks_the_event_loop(real_llm, loop_guard, fake_arxiv, store):
    """arXiv fetch + parse, LLM call, cache writes: no callback holds the loop (row 38)."""
    loop_guard.arm()
    llm = real_llm
    async with ArxivClient(api_url=fake_arxiv.api_url, min_interval_seconds=0.01) as arxiv:
        svc = service(arxiv, store, llm)
        refs = [ArxivRef(f"2505.{n}") for n in ("22653", "22651", "22648", "22552")]
        batch = await svc.summarize_refs(refs, language="zh")
        await llm.aclose()
    assert [p.summary.generator for p in batch.papers] == ["llm"] * 4


@pytest.mark.both_databases  # row 29: the budget on SQLite and PostgreSQL
async def test_failed_attempts_are_charged_to_the_budget(arxiv, store):
    """Tokens spent on answers that failed validation count against the day's budget (row 29)."""
    llm = RecordingSummarizer()
    llm.queue.append(SummarizerFailed("no usable summary", tokens=700))
    await service(arxiv, store, llm).summary_for(make_paper(4), language="en")
    assert await store.tokens_used(NOW.date()) == 700


async def test_a_versioned_lookup_does_not_pose_as_the_latest(arxiv, store, fake_arxiv):
    """After asking for v1 of a paper that has a v2, a plain id still asks arXiv and gets v2."""
    base = {"id": "2601.00007", "title": "T", "authors": ["A"], "abstract": "We study x.", "categories": ["cs.CL"]}
    fake_arxiv.add_papers([base | {"version": 1, "published": "2026-01-01T00:00:00Z"},
                           base | {"version": 2, "published": "2026-01-01T00:00:00Z"}])  # fmt: skip
    svc = service(arxiv, store, RecordingSummarizer())
    first, _ = await svc.fetch_papers([ArxivRef("2601.00007", 1)])
    latest, _ = await svc.fetch_papers([ArxivRef("2601.00007")])
    assert first[ArxivRef("2601.00007", 1)].version == 1 and latest[ArxivRef("2601.00007")].version == 2


async def test_json_schema_refused_with_a_500_still_gives_llm_summaries(arxiv, store):
    """llama-cpp-python answers json_schema with HTTP 500 and a validation message: that is a
    format rejection, not an outage. Summaries come from the LLM, and the second paper goes
    straight to the format that worked (issue 8)."""
    async with FakeLLM(reject_json_schema=True, rejection_status=500) as fake:
        llm = OpenAISummarizer(base_url=fake.base_url, api_key="sk-test-llamacpp-00000000000", model="m")
        svc = service(arxiv, store, llm)
        try:
            first = await svc.summary_for(make_paper(5), language="en")
            second = await svc.summary_for(make_paper(6), language="en")
        finally:
            await llm.aclose()
        assert (first.generator, second.generator) == ("llm", "llm") and svc.llm_errors == []
        assert fake.response_formats() == ["json_schema", "json_object", "json_object"]


def hung_llm_summarizer(fake: FakeLLM, timeout: float) -> OpenAISummarizer:
    # The default max_retries: a timeout must not be retried anyway.
    return OpenAISummarizer(base_url=fake.base_url, api_key="sk-test-hung-000000000000", model="m",
                            timeout_seconds=timeout)  # fmt: skip


async def test_a_hung_llm_card_falls_back_within_the_timeout(arxiv, store):
    """Row 43: with the LLM hanging and llm.timeout_seconds = 1, one paper's card is extractive in
    under 4 s (one request, no hidden retries) and says to raise llm.timeout_seconds."""
    async with FakeLLM(hang=True) as fake:
        llm = hung_llm_summarizer(fake, timeout=1)
        svc = service(arxiv, store, llm)
        started = time.monotonic()
        try:
            summary = await svc.summary_for(make_paper(7), language="en")
        finally:
            await llm.aclose()
        elapsed = time.monotonic() - started
        assert len(fake.calls) == 1
    assert summary.generator == "extractive" and elapsed < 4
    assert summary.note == "the LLM did not answer within 1 s; if it is slow, raise llm.timeout_seconds"


async def test_a_hung_llm_opens_the_breaker_for_a_digest_and_frees_the_slots(arxiv, store):
    """Row 43: ten papers through eight slots against a hung LLM (timeout 1 s) finish in at most
    two timeouts, not ten; the concurrent timeouts open the breaker, so the next card is
    extractive at once, without a request."""
    async with FakeLLM(hang=True) as fake:
        llm = hung_llm_summarizer(fake, timeout=1)
        svc = service(arxiv, store, llm)
        started = time.monotonic()
        try:
            digest = await svc.summarize_papers([make_paper(n) for n in range(30, 40)], language="en")
            digest_seconds = time.monotonic() - started
            calls = len(fake.calls)
            card = await asyncio.wait_for(svc.summary_for(make_paper(40), language="en"), 1)
        finally:
            await llm.aclose()
        assert len(fake.calls) == calls <= 10
    assert [r.summary.generator for r in digest] + [card.generator] == ["extractive"] * 11
    assert digest_seconds < 5  # ten timeouts would be 10 s; about 2 x 1 s at worst
    assert "did not answer within 1 s" in (card.note or "")


# ---- written from the paper itself, with checked evidence (issue 9)

AVSE = Paper(
    arxiv_id="2508.08468",
    version=6,
    title="Cloud-Edge Audio-Visual Speech Enhancement over 5G",
    authors=("A. Author",),
    abstract="Real-time audio-visual speech enhancement (AVSE) is a key enabler for immersive and interactive "
    "multimedia services. Aggressive compression reduced payload sizes by up to 80× with negligible perceptual "
    "degradation.",
    comment=None,
    journal_ref=None,
    primary_category="cs.SD",
    categories=("cs.SD",),
    published=NOW - dt.timedelta(days=1),
    updated=NOW - dt.timedelta(days=1),
)


@pytest.fixture
async def site_reader(fake_arxiv_site):
    """The real reader on the fake arxiv.org, which has 2508.08468v6's real page (and no page for make_paper's)."""
    async with ArxivReader(
        lane=MemoryRequestLanes(),
        html_url=fake_arxiv_site.html_url,
        pdf_url=fake_arxiv_site.pdf_url,
        min_interval_seconds=0,
        timeout_seconds=5,
    ) as reader:
        yield reader


@pytest.fixture
async def cited_llm(fake_llm):
    llm = OpenAISummarizer(base_url=fake_llm.base_url, api_key="sk-test-cited-000000000000", model="m", max_retries=0)
    yield llm
    await llm.aclose()


def reading_service(arxiv, store, summarizer, reader, *, budget: int = 10**9, **options) -> SummaryService:
    return SummaryService(
        source=arxiv, store=store, summarizer=summarizer, reader=reader, daily_token_budget=budget,
        max_concurrency=8, cache_hours=24, now=lambda: NOW, **options,
    )  # fmt: skip


def requested_text(call: dict) -> str:
    return "\n".join(m["content"] for m in call["messages"])


async def test_a_summary_of_the_full_text_cites_the_paper_verbatim(
    arxiv, store, site_reader, cited_llm, fake_llm, loop_guard
):
    """The LLM reads the abstract, introduction, results, conclusion and captions, each passage under its id; every
    takeaway's evidence is a verbatim passage of the page, linked to its paragraph. Reading, cutting and checking
    never hold the event loop."""
    loop_guard.arm()
    result = await reading_service(arxiv, store, cited_llm, site_reader).summarized(AVSE, language="en")
    summary, reading = result.summary, result.reading
    assert (summary.generator, summary.source) == ("llm", "html")
    assert reading is not None and reading.kind == "html" and reading.license == "CC BY 4.0"
    prompt = requested_text(fake_llm.calls[0])
    for part in ("[abstract1] ", "## I Introduction\n[S1.p1] ", "## VI CONCLUSION", "[S4.F1] Figure 1: "):
        assert part in prompt
    assert "## II Related Work" not in prompt
    paragraphs = {p.anchor: normalized(p.text) for p in reading.paragraphs}
    assert len(summary.takeaways) == len(summary.evidence) == 4 and len(fake_llm.calls) == 1
    for evidence in summary.evidence:
        assert evidence is not None and evidence.anchor_url.startswith(f"{reading.url}#")
        assert evidence.quote in paragraphs[evidence.anchor_url.split("#")[1]]
    assert any(char.isdigit() for char in summary.takeaways[2])  # the result gives its number, and stands


async def test_a_takeaway_with_an_invented_number_never_reaches_the_card(
    arxiv, store, site_reader, cited_llm, fake_llm, caplog
):
    """The LLM adds a number its quote does not give, and again when asked once more: that takeaway is dropped,
    from the card and from the cache, and one line says so."""
    caplog.set_level(logging.INFO, logger="bot.core.summaries")
    fake_llm.script(cited(invent={2}), cited(invent={2}))
    result = await reading_service(arxiv, store, cited_llm, site_reader).summarized(AVSE, language="en")
    assert len(fake_llm.calls) == 2
    assert "takeaway 3: gives 97.3, which its quote does not contain" in requested_text(fake_llm.calls[1])
    card = card_view(result)
    assert result.summary.generator == "llm" and len(card.takeaways) == 3
    assert not any(INVENTED.rstrip("%") in text for text in card.takeaways)
    cached = await store.get_summary(AVSE.arxiv_id, 6, model="m", prompt_version=cited_llm.prompt_version,
                                     language="en", source="html")  # fmt: skip
    assert cached is not None and cached.takeaways == result.summary.takeaways
    assert cached.evidence == result.summary.evidence and all(cached.evidence)
    lines = [r.getMessage() for r in caplog.records if "takeaways kept" in r.getMessage()]
    assert lines == ["arXiv:2508.08468: 3 of 4 takeaways kept, 1 dropped (1 number not in its quote)"]


async def test_a_misquote_is_asked_again_once_then_dropped(arxiv, store, site_reader, cited_llm, fake_llm):
    """A quote that is not in the paper: the LLM is asked once more, saying so; fixed, every takeaway stays;
    misquoted again, that takeaway goes."""
    svc = reading_service(arxiv, store, cited_llm, site_reader)
    fake_llm.script(cited(misquote={1}), cited())
    fixed = await svc.summary_for(AVSE, language="en")
    assert len(fake_llm.calls) == 2 and len(fixed.takeaways) == 4
    assert "takeaway 2: its quote is not verbatim in the paper" in requested_text(fake_llm.calls[1])

    fake_llm.script(cited(misquote={1}), cited(misquote={1}))
    again = await svc.summary_for(AVSE, language="zh")
    assert len(fake_llm.calls) == 4  # once more, not more
    assert len(again.takeaways) == 3 and not any(t.startswith("Method") for t in again.takeaways)


async def test_fewer_than_three_supported_takeaways_is_an_extractive_summary(
    arxiv, store, site_reader, cited_llm, fake_llm
):
    fake_llm.script(cited(misquote={0, 1}), cited(misquote={0, 1}))
    result = await reading_service(arxiv, store, cited_llm, site_reader).summarized(AVSE, language="en")
    assert (result.summary.generator, result.summary.note) == ("extractive", UNSUPPORTED)
    assert "did not stand on the paper" in card_view(result).footer
    assert len(fake_llm.calls) == 2
    assert await store.get_summary(AVSE.arxiv_id, 6, model="m", prompt_version=cited_llm.prompt_version,
                                   language="en", source="html") is None  # fmt: skip
    assert result.reading is not None and result.reading.kind == "html"  # the figures are still there


async def test_full_text_and_abstract_summaries_are_separate_cache_entries(arxiv, store, site_reader):
    llm = RecordingSummarizer()
    svc = reading_service(arxiv, store, llm, site_reader)
    full = await svc.summary_for(AVSE, language="en")
    abstract = await svc.summary_for(AVSE, language="en", source="abstract")
    assert (full.source, abstract.source) == ("html", "abstract") and len(llm.calls) == 2
    assert [e.kind for e in llm.excerpts] == ["html", "abstract"]
    assert (await svc.summary_for(AVSE, language="en")).cached
    assert (await svc.summary_for(AVSE, language="en", source="abstract")).cached
    assert len(llm.calls) == 2
    key = {"model": llm.model, "prompt_version": llm.prompt_version, "language": "en"}
    assert (await store.get_summary(AVSE.arxiv_id, 6, **key, source="pdf")) is None


async def test_a_full_text_over_the_budget_is_summarized_from_the_abstract(
    arxiv, store, site_reader, cited_llm, fake_llm
):
    """The day's budget cannot cover the full text but covers the abstract: an LLM summary of the abstract (the
    figures and licence still read), not an extractive one."""
    text = await site_reader.read(AVSE)
    full = cited_llm.estimate_tokens(AVSE, "en", excerpt=select_excerpt(AVSE, text, max_tokens=12_000))
    alone = cited_llm.estimate_tokens(
        AVSE, "en", excerpt=select_excerpt(AVSE, FullText.abstract_only(AVSE), max_tokens=12_000)
    )
    assert alone < full
    result = await reading_service(arxiv, store, cited_llm, site_reader, budget=alone).summarized(AVSE, language="en")
    assert (result.summary.generator, result.summary.source) == ("llm", "abstract")
    assert result.reading is not None and result.reading.kind == "html"
    assert "[S1.p1]" not in requested_text(fake_llm.calls[0]) and len(fake_llm.calls) == 1
    assert "from the abstract" in card_view(result).footer


async def test_the_paper_is_read_without_an_llm_and_not_for_the_abstract(arxiv, store, site_reader, fake_arxiv_site):
    """Figures and licence come with an extractive summary too; --source abstract reads nothing."""
    svc = reading_service(arxiv, store, None, site_reader)
    full = await svc.summarized(AVSE, language="en")
    assert full.summary.generator == "extractive" and full.reading is not None and full.reading.figures
    abstract = await svc.summarized(AVSE, language="en", source="abstract")
    assert abstract.reading is None
    assert fake_arxiv_site.paths == ["/html/2508.08468v6"]


async def test_with_arxiv_org_unreachable_the_card_comes_from_the_abstract(arxiv, store, cited_llm, fake_llm):
    port = closed_port()
    unreachable = {"html_url": f"http://127.0.0.1:{port}/html", "pdf_url": f"http://127.0.0.1:{port}/pdf"}
    async with ArxivReader(lane=MemoryRequestLanes(), min_interval_seconds=0, max_tries=1, **unreachable) as reader:
        result = await reading_service(arxiv, store, cited_llm, reader).summarized(AVSE, language="en")
    assert result.reading is not None and result.reading.kind == "abstract" and result.reading.note
    assert (result.summary.generator, result.summary.source) == ("llm", "abstract")
    assert "[S1.p1]" not in requested_text(fake_llm.calls[0])
    assert card_view(result).footer.startswith("Summary by m from the abstract")


async def test_a_subscriptions_source_decides_what_its_digest_reads(
    arxiv, store, site_reader, fake_arxiv_site, tmp_path
):
    """`source = "abstract"` in a [[subscriptions]] entry: its digest reads no paper; unset, summary.source (full)."""
    from bot.config import load_config
    from bot.core.digest import DigestService

    config = tmp_path / "config.toml"
    config.write_text('[[subscriptions]]\nname = "nlp"\nquery = "cat:cs.CL"\nchannels = ["console"]\n'
                      'max_papers = 2\nsource = "abstract"\n')  # fmt: skip
    (sub,) = load_config(str(config), env={}).settings.subscription_models()
    digests = DigestService(source=arxiv, store=store, summaries=reading_service(arxiv, store, None, site_reader),
                            search_limit=100, now=lambda: NOW)  # fmt: skip
    request = sub.request_for(dt.date(2025, 5, 28))
    digest = await digests.build(request)
    assert len(digest.papers) == 2 and all(p.reading is None for p in digest.papers)
    assert fake_arxiv_site.paths == []
    read = await digests.build(dataclasses.replace(request, source=None))
    assert all(p.reading is not None and p.reading.kind == "abstract" for p in read.papers)  # no page there: 404s
    assert len(fake_arxiv_site.paths) == 4  # each paper's HTML, then its PDF
