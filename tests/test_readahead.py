"""Reading ahead: a digest's papers are summarized after arXiv's announcement and before the post's time,
so the post makes no LLM call; nothing is claimed or posted ahead, and a failing read-ahead never stops the post."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging

import pytest

from bot.clients.arxiv import ArxivClient
from bot.config import load_config
from bot.core.digest import DigestService
from bot.core.models import LLMOutput, Paper, Subscription
from bot.core.posting import DigestPoster, PostTimes
from bot.core.readahead import ReadAhead, read_ahead_dates
from bot.core.schedule import announced_window
from bot.core.summaries import SummaryService
from tests.fakes.publisher import RecordingPublisher
from tests.fakes.summarizer import RecordingSummarizer

# Thursday 2025-05-29: arXiv announced the corpus (submitted May 28 before 14:00 ET) at 20:00 ET on the 28th,
# 00:00 UTC on the 29th.
THURSDAY = dt.date(2025, 5, 29)
DUE = dt.datetime(2025, 5, 29, 6, 30, tzinfo=dt.UTC)  # 08:30 in Berlin
ANNOUNCED = dt.datetime(2025, 5, 29, 0, 0, tzinfo=dt.UTC)
LEAD = dt.timedelta(minutes=60)


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


class GatedSummarizer(RecordingSummarizer):
    """Holds every call until `gate` is set; `started` is set once `expected` calls are waiting."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.expected, self.waiting = expected, 0
        self.gate, self.started = asyncio.Event(), asyncio.Event()

    async def summarize(self, paper: Paper, language: str, **kwargs) -> LLMOutput:
        self.waiting += 1
        if self.waiting >= self.expected:
            self.started.set()
        await self.gate.wait()
        return await super().summarize(paper, language, **kwargs)


def nlp(**changes) -> Subscription:
    values = dict(name="nlp", query="cat:cs.CL", channels=("slack:C1", "slack:C2"), time=dt.time(8, 30),
                  timezone="Europe/Berlin", weekdays=(0, 1, 2, 3, 4), max_papers=3)  # fmt: skip
    return Subscription(**{**values, **changes})


@dataclasses.dataclass
class World:
    clock: Clock
    poster: DigestPoster
    read_ahead: ReadAhead
    publisher: RecordingPublisher
    llm: RecordingSummarizer
    digests: DigestService
    store: object


@pytest.fixture
async def arxiv(fake_arxiv):
    async with ArxivClient(
        api_url=fake_arxiv.api_url, min_interval_seconds=0.01, max_tries=2, backoff_base_seconds=0.01
    ) as client:
        yield client


@pytest.fixture
async def make_world(arxiv, fake_arxiv, store):
    made: list[ReadAhead] = []

    def make(subs, *, now, lead=LEAD, llm=None) -> World:
        clock = Clock(now)
        fake_arxiv.clock = clock  # papers exist only from their announcement on
        llm = llm or RecordingSummarizer()
        summaries = SummaryService(source=arxiv, store=store, summarizer=llm, daily_token_budget=10**9,
                                   max_concurrency=8, cache_hours=24, now=clock)  # fmt: skip
        digests = DigestService(source=arxiv, store=store, summaries=summaries, search_limit=100, now=clock)
        publisher = RecordingPublisher()

        async def subscriptions():
            return list(subs)

        poster = DigestPoster(digests=digests, ledger=store, publishers={"slack": publisher},
                              subscriptions=subscriptions, times=PostTimes(), now=clock)  # fmt: skip
        read_ahead = ReadAhead(poster=poster, subscriptions=subscriptions, lead=lead, now=clock)
        made.append(read_ahead)
        return World(clock, poster, read_ahead, publisher, llm, digests, store)

    yield make
    for read_ahead in made:  # nothing a test started is left running after it
        await read_ahead.stop()


def parents(publisher: RecordingPublisher) -> list[tuple[str, str]]:
    return [(channel, text) for channel, _, text in publisher.sent if not text.startswith("card")]


async def test_papers_are_summarized_ahead_and_the_post_makes_no_llm_call(make_world, fake_arxiv):
    """Half an hour before 08:30, after the announcement: each channel's digest is summarized, nothing is
    claimed or posted; at 08:30 the post is one search and cache hits, posted once per channel."""
    world = make_world([nlp()], now=DUE - dt.timedelta(minutes=30))
    # C2 already had the top paper: its digest goes one further down the list, and that one is read ahead too.
    request = dataclasses.replace(nlp().request_for(THURSDAY), window=announced_window(DUE))
    top = (await world.digests.candidates(request))[0].arxiv_id
    await world.store.record_posted_papers("slack:C2", [top])

    await world.read_ahead.tick()
    await world.read_ahead.settle()
    assert len(world.llm.calls) == len({paper for paper, _ in world.llm.calls}) == 4
    assert world.publisher.sent == [] and await world.store.recent_runs() == []

    await world.read_ahead.tick()  # prepared once
    await world.read_ahead.settle()
    assert len(world.llm.calls) == 4

    world.clock.now = DUE + dt.timedelta(seconds=20)
    searches = len(fake_arxiv.requests)
    await world.poster.tick()
    assert len(world.llm.calls) == 4  # every summary came from the cache
    assert len(fake_arxiv.requests) == searches + 1  # one search, shared by the channels
    assert sorted(parents(world.publisher)) == [("C1", "nlp: 3 papers"), ("C2", "nlp: 3 papers")]
    cards = {text.removeprefix("card ") for _, _, text in world.publisher.sent if text.startswith("card")}
    assert cards == {paper for paper, _ in world.llm.calls}
    await world.poster.tick()
    assert len(parents(world.publisher)) == 2


async def test_nothing_is_read_ahead_before_the_announcement(make_world, fake_arxiv):
    """A post at 00:30 UTC covers the announcement at 00:00 UTC: at 23:45 nothing is prepared (the papers are
    not public yet, and the window would be the previous one); at 00:05 it is."""
    sub = nlp(channels=("slack:C1",), time=dt.time(0, 30), timezone="UTC")
    world = make_world([sub], now=ANNOUNCED - dt.timedelta(minutes=15))
    assert read_ahead_dates(sub, world.clock.now, LEAD) == []
    await world.read_ahead.tick()
    await world.read_ahead.settle()
    assert world.llm.calls == [] and fake_arxiv.requests == []

    world.clock.now = ANNOUNCED + dt.timedelta(minutes=5)
    await world.read_ahead.tick()
    await world.read_ahead.settle()
    assert len(world.llm.calls) == 3 and world.publisher.sent == []


async def test_nothing_is_read_ahead_further_than_the_lead_or_when_it_is_off(make_world, fake_arxiv):
    sub = nlp()
    assert read_ahead_dates(sub, DUE - dt.timedelta(minutes=61), LEAD) == []
    assert read_ahead_dates(sub, DUE - dt.timedelta(minutes=60), LEAD) == [(THURSDAY, DUE)]
    assert read_ahead_dates(sub, DUE, LEAD) == []  # due: the post tick's own business
    assert read_ahead_dates(sub, DUE - dt.timedelta(minutes=30), dt.timedelta(0)) == []

    world = make_world([sub], now=DUE - dt.timedelta(minutes=30), lead=dt.timedelta(0))
    await world.read_ahead.tick()
    await world.read_ahead.settle()
    assert world.llm.calls == [] and fake_arxiv.requests == []


def test_read_ahead_minutes_defaults_to_an_hour_and_0_turns_it_off():
    from bot.wiring import read_ahead

    assert load_config(None, {}).settings.schedule.read_ahead_minutes == 60
    off = load_config(None, {"PAPERBOY_SCHEDULE__READ_AHEAD_MINUTES": "0"})
    assert read_ahead(off, services=None, poster=None) is None  # type: ignore[arg-type]


async def test_a_failing_read_ahead_is_logged_once_and_the_post_still_comes(make_world, fake_arxiv, caplog):
    world = make_world([nlp()], now=DUE - dt.timedelta(minutes=30))
    fake_arxiv.script("503", "503")  # both tries of the read-ahead's search
    await world.read_ahead.tick()
    await world.read_ahead.settle()
    world.clock.now += dt.timedelta(minutes=1)
    await world.read_ahead.tick()  # not retried, not logged again
    await world.read_ahead.settle()
    failures = [r for r in caplog.records if "reading ahead failed" in r.getMessage() and r.levelno >= logging.WARNING]
    assert len(failures) == 1 and "the post will read the papers itself" in failures[0].getMessage()
    assert world.llm.calls == [] and world.publisher.sent == []

    world.clock.now = DUE
    await world.poster.tick()
    assert sorted(parents(world.publisher)) == [("C1", "nlp: 3 papers"), ("C2", "nlp: 3 papers")]
    assert len(world.llm.calls) == 3


async def test_the_read_ahead_runs_beside_the_post_and_they_share_each_summary(make_world):
    """tick() only starts the work; a post that comes due while it is still summarizing waits for the same
    summaries (one LLM call per paper), and stop() cancels what is left without posting anything."""
    llm = GatedSummarizer(expected=3)
    world = make_world([nlp(channels=("slack:C1",))], now=DUE - dt.timedelta(minutes=1), llm=llm)
    await world.read_ahead.tick()  # returns with the summaries still held
    await asyncio.wait_for(llm.started.wait(), 10)
    assert world.publisher.sent == []

    world.clock.now = DUE
    posting = asyncio.create_task(world.poster.tick())
    llm.gate.set()
    await asyncio.wait_for(posting, 10)
    await world.read_ahead.settle()
    assert len(llm.calls) == 3
    assert parents(world.publisher) == [("C1", "nlp: 3 papers")]


async def test_stop_cancels_a_read_ahead_under_way(make_world):
    llm = GatedSummarizer(expected=3)
    world = make_world([nlp(channels=("slack:C1",))], now=DUE - dt.timedelta(minutes=1), llm=llm)
    await world.read_ahead.tick()
    await asyncio.wait_for(llm.started.wait(), 10)
    await asyncio.wait_for(world.read_ahead.stop(), 10)
    await world.read_ahead.tick()  # stopped: starts nothing
    assert world.publisher.sent == [] and await world.store.recent_runs() == []
