"""Scheduled digests post exactly once: claims, catch-up, DST, crashes, clean stops (rows 30-36, 40)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable
from typing import TYPE_CHECKING

import pytest

from bot.clients.arxiv import ArxivClient
from bot.core.digest import DigestService
from bot.core.models import Subscription
from bot.core.posting import DigestPoster, PostTimes
from bot.core.render import window_line
from bot.core.summaries import SummaryService
from tests.fakes.publisher import RecordingPublisher
from tests.fakes.summarizer import RecordingSummarizer

if TYPE_CHECKING:
    from tests.db import StoppablePostgres

# Thursday 2025-05-29: arXiv announced the corpus (submitted May 28 before 14:00 ET) at 20:00 ET on the 28th.
THURSDAY = dt.date(2025, 5, 29)
DUE = dt.datetime(2025, 5, 29, 6, 30, tzinfo=dt.UTC)  # 08:30 in Berlin


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def nlp(**changes) -> Subscription:
    values = dict(name="nlp", query="cat:cs.CL", channels=("slack:C1", "slack:C2"), time=dt.time(8, 30),
                  timezone="Europe/Berlin", weekdays=(0, 1, 2, 3, 4), max_papers=3)  # fmt: skip
    return Subscription(**{**values, **changes})


@pytest.fixture
async def world(fake_arxiv, store):
    async with ArxivClient(
        api_url=fake_arxiv.api_url, min_interval_seconds=0.01, max_tries=2, backoff_base_seconds=0.01
    ) as arxiv:
        yield arxiv, store


def make_poster(world, subs, *, clock, publisher=None, llm=None, ledger=None):
    arxiv, store = world
    llm = llm or RecordingSummarizer()
    summaries = SummaryService(source=arxiv, store=store, summarizer=llm, daily_token_budget=10**9,
                               max_concurrency=8, cache_hours=24, now=clock)  # fmt: skip
    digests = DigestService(source=arxiv, store=store, summaries=summaries, search_limit=100, now=clock)
    publisher = publisher or RecordingPublisher()

    async def subscriptions():
        return list(subs)

    poster = DigestPoster(digests=digests, ledger=ledger or store, publishers={"slack": publisher},
                          subscriptions=subscriptions, times=PostTimes(), now=clock)  # fmt: skip
    return poster, publisher, llm


def parents(publisher: RecordingPublisher) -> list[tuple[str, str]]:
    return [(channel, text) for channel, _, text in publisher.sent if not text.startswith("card")]


@pytest.mark.both_databases
async def test_a_due_digest_posts_once_even_when_the_tick_fires_twice(world):
    """Two ticks at the due time: each channel gets the digest once (row 31, one process)."""
    clock = Clock(DUE + dt.timedelta(seconds=20))
    poster, publisher, _ = make_poster(world, [nlp()], clock=clock)
    await asyncio.gather(poster.tick(), poster.tick())
    await poster.tick()
    assert sorted(parents(publisher)) == [("C1", "nlp: 3 papers"), ("C2", "nlp: 3 papers")]
    assert len(publisher.sent) == 8
    runs = await world[1].recent_runs()
    assert sorted((r.channel, r.state, len(r.message_ids)) for r in runs) == [
        ("slack:C1", "sent", 4),
        ("slack:C2", "sent", 4),
    ]


@pytest.mark.both_databases
async def test_two_posters_on_one_database_post_once(world):
    """Two 'processes' (posters sharing only the database) racing: one post per channel (row 31)."""
    clock = Clock(DUE)
    first, pub1, _ = make_poster(world, [nlp()], clock=clock)
    second, pub2, _ = make_poster(world, [nlp()], clock=clock)
    await asyncio.gather(*(p.tick() for p in (first, second, first, second)))
    assert sorted(parents(pub1) + parents(pub2)) == [("C1", "nlp: 3 papers"), ("C2", "nlp: 3 papers")]


@pytest.mark.both_databases
async def test_restart_within_grace_catches_up_late_and_older_is_skipped(world):
    """Down at 08:30, back at 08:40: posted once, marked late. Back after 7 h: skipped (row 30)."""
    clock = Clock(DUE + dt.timedelta(minutes=10))
    poster, publisher, _ = make_poster(world, [nlp(channels=("slack:C1",))], clock=clock)
    await poster.tick()
    await poster.tick()
    (run,) = await world[1].recent_runs()
    assert (run.state, run.late, len(parents(publisher))) == ("sent", True, 1)

    clock.now = DUE + dt.timedelta(hours=7)
    late_poster, late_publisher, _ = make_poster(world, [nlp(name="other", channels=("slack:C9",))], clock=clock)
    await late_poster.tick()
    assert late_publisher.sent == []


@pytest.mark.parametrize(
    ("zone", "start"),
    [("Europe/Berlin", dt.datetime(2026, 3, 28, 12, tzinfo=dt.UTC)),
     ("Europe/Berlin", dt.datetime(2026, 10, 24, 12, tzinfo=dt.UTC)),
     ("America/New_York", dt.datetime(2026, 3, 7, 17, tzinfo=dt.UTC)),
     ("America/New_York", dt.datetime(2026, 10, 31, 16, tzinfo=dt.UTC))],  # local noon: nothing to catch up
)  # fmt: skip
async def test_dst_changes_neither_skip_nor_double_a_day(world, zone, start):
    """Ticks every 10 min for 48 h over a DST change at 02:30 local: exactly one run per local date (row 33)."""
    clock = Clock(start)
    sub = nlp(channels=("slack:C1",), time=dt.time(2, 30), timezone=zone, weekdays=tuple(range(7)))
    poster, publisher, _ = make_poster(world, [sub], clock=clock)
    while clock.now < start + dt.timedelta(hours=48):
        await poster.tick()
        clock.now += dt.timedelta(minutes=10)
    dates = sorted(run.local_date for run in await world[1].recent_runs())
    assert len(dates) == len(set(dates)) == 2 and (dates[1] - dates[0]).days == 1
    assert len(parents(publisher)) == 2


@pytest.mark.both_databases
async def test_crash_after_the_platform_accepted_is_never_reposted(world, caplog):
    """A crash between 'accepted' and its record: the run stays sending, then ambiguous; never reposted (row 32)."""
    clock = Clock(DUE)
    poster, publisher, _ = make_poster(world, [nlp(channels=("slack:C1",))], clock=clock)
    publisher.crash_after = 1
    await poster.tick()
    (run,) = await world[1].recent_runs()
    assert (run.state, run.message_ids, len(publisher.sent)) == ("sending", (), 1)

    clock.now += dt.timedelta(minutes=30)  # past the lease; the process has "restarted"
    restarted, again, _ = make_poster(world, [nlp(channels=("slack:C1",))], clock=clock)
    await restarted.tick()
    (run,) = await world[1].recent_runs()
    assert run.state == "ambiguous" and again.sent == []
    assert "not reposting" in caplog.text


@pytest.mark.both_databases
async def test_a_clean_stop_mid_digest_resumes_from_the_next_message(world):
    """A stop while posting finishes the current message; a restart sends the rest, once (rows 36, 40)."""
    clock = Clock(DUE)
    poster, publisher, _ = make_poster(world, [nlp(channels=("slack:C1",))], clock=clock)
    publisher.delay = 0.05
    posting = asyncio.create_task(poster.tick())
    async with asyncio.timeout(10):
        while len(publisher.sent) < 2:
            await asyncio.sleep(0.01)
    await poster.drain(patience_seconds=5)
    await posting
    (run,) = await world[1].recent_runs()
    assert run.state == "interrupted" and len(run.message_ids) == len(publisher.sent) < 4

    restarted, rest, _ = make_poster(world, [nlp(channels=("slack:C1",))], clock=clock)
    await restarted.tick()
    all_sent = [text for _, _, text in publisher.sent + rest.sent]
    assert all_sent == ["nlp: 3 papers", *[t for t in all_sent if t.startswith("card")]] and len(all_sent) == 4
    (run,) = await world[1].recent_runs()
    assert (run.state, len(run.message_ids)) == ("sent", 4)


async def test_one_bad_channel_fails_alone(world, caplog):
    """channel_not_found on one of three channels: that run failed with a log line, the other two sent (row 6)."""
    clock = Clock(DUE)
    publisher = RecordingPublisher()
    publisher.failing["C2"] = "channel_not_found"
    poster, _, _ = make_poster(world, [nlp(channels=("slack:C1", "slack:C2", "slack:C3"))], clock=clock,
                               publisher=publisher)  # fmt: skip
    await poster.tick()
    states = {r.channel: r.state for r in await world[1].recent_runs()}
    assert states == {"slack:C1": "sent", "slack:C2": "failed", "slack:C3": "sent"}
    assert "channel_not_found" in caplog.text
    await poster.tick()
    assert len(parents(publisher)) == 2  # no retry storm


@pytest.mark.parametrize(("post_when_empty", "expected"), [(True, ["nlp: no new papers"]), (False, [])])
async def test_a_day_without_new_papers(world, post_when_empty, expected):
    """Friday's digest has nothing new after Thursday's: a short note or nothing, per post_when_empty (row 35)."""
    clock = Clock(DUE)
    sub = nlp(channels=("slack:C1",), post_when_empty=post_when_empty)
    poster, publisher, _ = make_poster(world, [sub], clock=clock)
    await poster.tick()
    publisher.sent.clear()
    clock.now += dt.timedelta(days=1)  # Friday: no announcement since Wednesday's
    await poster.tick()
    assert [text for _, _, text in publisher.sent] == expected
    states = sorted(r.state for r in await world[1].recent_runs())
    assert states == sorted(["sent", "sent" if post_when_empty else "empty"])


def missed_lines(caplog) -> list[str]:
    return sorted(r.getMessage() for r in caplog.records if "was missed" in r.getMessage())


async def test_a_new_subscription_has_missed_nothing(world, caplog):
    """The first tick of a subscription added today posts today's digest and warns about none of the week's
    earlier weekdays: they came before it, they were not missed (issue 12 item 2)."""
    poster, publisher, _ = make_poster(world, [nlp()], clock=Clock(DUE + dt.timedelta(seconds=20)))
    await poster.tick()
    assert sorted(parents(publisher)) == [("C1", "nlp: 3 papers"), ("C2", "nlp: 3 papers")]
    assert missed_lines(caplog) == []


@pytest.mark.both_databases
async def test_days_the_bot_was_down_after_a_digest_are_reported_missed_once(world, caplog):
    """Posted on Monday, down Tuesday and Wednesday, back on Thursday: one warning for each of those two days
    and each channel; none for the days before Monday's digest; none again at the next tick."""
    clock = Clock(DUE - dt.timedelta(days=3) + dt.timedelta(seconds=20))  # Monday 26 May, 08:30 in Berlin
    poster, publisher, _ = make_poster(world, [nlp()], clock=clock)
    await poster.tick()
    assert len(parents(publisher)) == 2 and missed_lines(caplog) == []
    clock.now = DUE + dt.timedelta(seconds=20)
    await poster.tick()
    await poster.tick()
    down = [f"digest nlp for slack:{c} on 2025-05-{d} was missed" for c in ("C1", "C2") for d in (27, 28)]
    assert [line.split(" (")[0] for line in missed_lines(caplog)] == sorted(down)


class KeepingPublisher(RecordingPublisher):
    """Also keeps each digest it was given, to read its header."""

    def __init__(self) -> None:
        super().__init__()
        self.digests: list = []

    async def post_digest(self, channel, digest, **kwargs):
        self.digests.append(digest)
        return await super().post_digest(channel, digest, **kwargs)


async def test_a_posted_digest_states_the_announcement_it_covered(world):
    """Thursday's post covers Wednesday's announcement and its header says so (not a UTC day computed from the
    date); Friday's covers Thursday's; Saturday's has no announcement since, and says when the next one is."""
    clock, publisher = Clock(DUE), KeepingPublisher()
    poster, _, _ = make_poster(world, [nlp(channels=("slack:C1",), weekdays=tuple(range(7)))], clock=clock,
                               publisher=publisher)  # fmt: skip
    for _ in range(3):  # Thursday, Friday, Saturday
        await poster.tick()
        clock.now += dt.timedelta(days=1)
    thursday, friday, saturday = publisher.digests
    assert window_line(thursday) == "Announced Wed 28 May 20:00 ET: submitted Tue 27 May 14:00 – Wed 28 May 14:00 ET"
    assert len(thursday.papers) == 3 and thursday.empty_reasons == ()
    assert window_line(friday) == "Announced Thu 29 May 20:00 ET: submitted Wed 28 May 14:00 – Thu 29 May 14:00 ET"
    assert friday.papers == () and saturday.papers == ()
    assert window_line(saturday) == "Nothing new: no arXiv announcement since Thu 29 May 20:00 ET"
    assert saturday.empty_reasons == (
        "arXiv has announced nothing since the last digest; its next announcement is Sun 1 Jun 20:00 ET.",
    )


@pytest.mark.both_databases
async def test_each_paper_reaches_a_channel_once(world):
    """A paper sent by one subscription is not sent to the same channel again by another."""
    clock = Clock(DUE)
    subs = [nlp(name="a", channels=("slack:C1",), max_papers=20), nlp(name="b", channels=("slack:C1",), max_papers=20)]
    poster, publisher, _ = make_poster(world, subs, clock=clock)
    await poster.tick()
    cards = [text for _, _, text in publisher.sent if text.startswith("card")]
    assert cards and len(cards) == len(set(cards))


async def test_overlapping_subscriptions_call_the_llm_once_per_paper(world):
    """10 subscriptions x 3 channels with overlapping queries: one LLM call per distinct paper."""
    clock = Clock(DUE)
    queries = ["cat:cs.CL", "cat:cs.CV", "cat:cs.CL AND abs:reasoning", "cat:cs.AI", "cat:cs.LG"] * 2
    subs = [nlp(name=f"s{i}", query=q, channels=(f"slack:A{i}", f"slack:B{i}", f"slack:C{i}"), max_papers=20)
            for i, q in enumerate(queries)]  # fmt: skip
    poster, publisher, llm = make_poster(world, subs, clock=clock)
    await poster.tick()
    posted = {text for _, _, text in publisher.sent if text.startswith("card")}
    assert len(llm.calls) == len(posted) == len({paper_id for paper_id, _ in llm.calls})


async def test_a_locked_sqlite_database_delays_the_post_but_does_not_lose_or_double_it(fake_arxiv, tmp_path):
    """Row 34: another connection holds an exclusive lock for a second; busy_timeout waits; one post."""
    import sqlite3
    import threading

    from storage.engine import make_engine
    from storage.migrations import upgrade
    from storage.repository import SqlStore

    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    locked, release = threading.Event(), threading.Event()

    def hold_lock() -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        locked.set()
        release.wait(5)
        conn.execute("COMMIT")
        conn.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    await asyncio.to_thread(locked.wait, 5)
    try:
        async with ArxivClient(api_url=fake_arxiv.api_url, min_interval_seconds=0.01) as arxiv:
            poster, publisher, _ = make_poster((arxiv, SqlStore(engine)), [nlp(channels=("slack:C1",))],
                                               clock=Clock(DUE))  # fmt: skip
            asyncio.get_running_loop().call_later(1.0, release.set)
            await poster.tick()
            await poster.tick()
    finally:
        release.set()
        await asyncio.to_thread(holder.join)
        await engine.dispose()
    assert parents(publisher) == [("C1", "nlp: 3 papers")]


class OutageLedger:
    """The real ledger, or, while `down`, a database that refuses connections (PostgreSQL stopped)."""

    def __init__(self, real) -> None:
        self.real, self.down = real, True

    def __getattr__(self, name):
        async def refuse(*args, **kwargs):
            raise ConnectionRefusedError("connection refused")

        return refuse if self.down else getattr(self.real, name)


async def test_database_down_at_digest_time_posts_nothing_then_catches_up(world, caplog):
    """Row 34: ticks while the database is down post nothing and log; once it is back the digest goes out once."""
    from bot.scheduler import DigestScheduler

    clock = Clock(DUE)
    ledger = OutageLedger(world[1])
    poster, publisher, _ = make_poster(world, [nlp(channels=("slack:C1",))], clock=clock, ledger=ledger)
    scheduler = DigestScheduler(poster, tick_seconds=60)
    await scheduler.tick()
    await scheduler.tick()
    assert publisher.sent == [] and "digest tick failed; retrying at the next tick" in caplog.text
    ledger.down = False
    clock.now += dt.timedelta(minutes=5)
    await scheduler.tick()
    await scheduler.tick()
    assert parents(publisher) == [("C1", "nlp: 3 papers")]


@pytest.mark.both_databases
async def test_a_run_taken_over_after_its_lease_is_not_posted_by_the_slow_first_holder(world):
    """A claims, builds slowly past its lease; B takes over and posts; A then finds it lost the claim (one post)."""
    clock = Clock(DUE)
    slow_llm = RecordingSummarizer(delay=0.5)
    a, pub_a, _ = make_poster(world, [nlp(channels=("slack:C1",))], clock=clock, llm=slow_llm)
    b, pub_b, _ = make_poster(world, [nlp(channels=("slack:C1",))], clock=clock)
    first = asyncio.create_task(a.tick())
    async with asyncio.timeout(10):
        while not slow_llm.calls:  # A holds the claim and is summarizing
            await asyncio.sleep(0.01)
    clock.now += dt.timedelta(minutes=20)  # past A's lease
    await b.tick()
    await first
    assert parents(pub_a) == [] and parents(pub_b) == [("C1", "nlp: 3 papers")]
    (run,) = await world[1].recent_runs()
    assert run.state == "sent"


# -- a clean stop (row 41), one bad subscription (row 42)


@pytest.mark.both_databases
async def test_a_stop_while_the_digest_is_built_releases_the_run_at_once(world, fake_arxiv):
    """SIGTERM while arXiv is slow: the build is abandoned, the run is released (not held for the lease),
    and another process posts it on its next tick."""
    clock = Clock(DUE)
    poster, publisher, _ = make_poster(world, [nlp(channels=("slack:C1",))], clock=clock)
    fake_arxiv.script("hang")
    building = asyncio.create_task(poster.tick())
    async with asyncio.timeout(10):
        while not fake_arxiv.requests:
            await asyncio.sleep(0.01)
        await poster.drain(patience_seconds=60)  # returns without waiting for arXiv
        await building
    (run,) = await world[1].recent_runs()
    assert (run.state, run.message_ids, publisher.sent) == ("interrupted", (), [])

    other, posted, _ = make_poster(world, [nlp(channels=("slack:C1",))], clock=clock)  # same time: no lease expired
    await other.tick()
    assert parents(posted) == [("C1", "nlp: 3 papers")]
    (run,) = await world[1].recent_runs()
    assert run.state == "sent"


class HeldRecords:
    """The real ledger, whose record_message starts (sets `recording`) and then waits for `proceed`."""

    def __init__(self, real) -> None:
        self.real = real
        self.recording, self.proceed = asyncio.Event(), asyncio.Event()

    def __getattr__(self, name):
        return getattr(self.real, name)

    async def record_message(self, *args, **kwargs):
        self.recording.set()
        await self.proceed.wait()
        await self.real.record_message(*args, **kwargs)


@pytest.mark.both_databases
async def test_cancelling_the_poster_never_loses_the_record_of_an_accepted_message(world):
    """Cancellation landing between "accepted" and "recorded" (a scheduler shut down without waiting): the
    record still completes, and drain() waits for it."""
    ledger = HeldRecords(world[1])
    poster, publisher, _ = make_poster(world, [nlp(channels=("slack:C1",))], clock=Clock(DUE), ledger=ledger)
    posting = asyncio.create_task(poster.tick())
    await asyncio.wait_for(ledger.recording.wait(), 10)
    posting.cancel()
    draining = asyncio.create_task(poster.drain(patience_seconds=5))
    await asyncio.wait([posting, draining], timeout=0.1)
    assert not draining.done()  # waiting for the record
    ledger.proceed.set()
    await draining
    assert posting.cancelled()
    (run,) = await world[1].recent_runs()
    assert len(publisher.sent) == 1 and len(run.message_ids) == 1


# A subscription row (as /digest subscribe on another host might have stored it) that this host cannot schedule.
UNSCHEDULABLE_ROW = {
    "name": "mars", "query": "cat:cs.CL", "channels": ["console"], "time": "08:30", "timezone": "Mars/Olympus_Mons",
    "weekdays": [0, 1, 2, 3, 4], "max_papers": 3, "include": [], "exclude": [], "language": "en",
    "post_when_empty": True, "updated_at": DUE,
}  # fmt: skip


async def test_a_subscription_that_cannot_be_scheduled_fails_alone_and_is_logged_once(world, caplog):
    """A stored subscription with a time zone this host does not know, and a due valid one: the valid one
    posts; the bad one is one log line over several ticks, and is reported (row 42)."""
    from storage.tables import subscriptions as subscriptions_table

    store = world[1]
    async with store._engine.begin() as conn:
        await conn.execute(subscriptions_table.insert().values(UNSCHEDULABLE_ROW))
    clock = Clock(DUE)
    poster, publisher, _ = make_poster(world, [nlp(channels=("slack:C1",))], clock=clock)
    configured = poster._subscriptions

    async def configured_and_stored():
        return [*await configured(), *await store.list_subscriptions()]

    poster._subscriptions = configured_and_stored
    for _ in range(3):
        await poster.tick()
        clock.now += dt.timedelta(minutes=1)
    assert parents(publisher) == [("C1", "nlp: 3 papers")]
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.core.posting" and "Mars" in r.getMessage()]
    assert len(lines) == 1 and "subscription mars cannot be scheduled" in lines[0]
    assert list(poster.subscription_errors()) == ["mars"]


async def test_a_query_arxiv_rejects_fails_that_run_once_instead_of_every_tick(world, fake_arxiv, caplog):
    """arXiv answers the subscription's query with an error: the run is failed, with one log line; later
    ticks neither ask arXiv again nor log again."""
    clock = Clock(DUE)
    poster, publisher, _ = make_poster(world, [nlp(channels=("slack:C1",))], clock=clock)
    fake_arxiv.script("error_entry")
    await poster.tick()
    asked = len(fake_arxiv.requests)
    await poster.tick()
    (run,) = await world[1].recent_runs()
    assert run.state == "failed" and "arXiv rejected the query" in run.error and publisher.sent == []
    assert len(fake_arxiv.requests) == asked
    assert sum(r.name == "bot.core.posting" and "rejected" in r.getMessage() for r in caplog.records) == 1


# -- PostgreSQL stopped mid-digest (row 44)


@pytest.fixture
async def outage_world(fake_arxiv, stoppable_postgres):
    """Like `world`, on a fresh database of the stoppable server."""
    async with (
        stoppable_postgres.new_store() as store,
        ArxivClient(api_url=fake_arxiv.api_url, min_interval_seconds=0.01) as arxiv,
    ):
        yield arxiv, store


class OnSentHook(RecordingPublisher):
    """Awaits `hook(n)` after the platform accepted message n, before Paperboy's on_sent records it."""

    def __init__(self, hook) -> None:
        super().__init__()
        self.hook = hook

    async def post_digest(self, channel, digest, *, already_sent=(), on_sent=None):
        async def hooked(message_id: str) -> None:
            await self.hook(len(self.sent))
            await on_sent(message_id)

        return await super().post_digest(channel, digest, already_sent=already_sent, on_sent=hooked)


async def start_once_retried(server: StoppablePostgres, *, once: Awaitable[None] | None = None) -> None:
    """Start the server again once a store found it down (the outage lasts until then)."""
    if once is not None:
        await once
    await server.retried()
    await server.start()


def sent_once(publisher: RecordingPublisher) -> bool:
    texts = [text for _, _, text in publisher.sent]
    return texts[0] == "nlp: 3 papers" and len(texts) == len(set(texts)) == 4


async def test_postgres_stopped_between_accepted_and_recorded_posts_every_message_once(
    outage_world, stoppable_postgres
):
    """PostgreSQL stops right after the platform accepted message 2 and is back once the record found it down:
    the record waits for it, the digest goes on, every message is posted once, and the run ends sent (not
    ambiguous)."""
    restart: list[asyncio.Task] = []

    async def after_accepted(count: int) -> None:
        if count == 2:
            await stoppable_postgres.stop()  # down before the record is attempted
            restart.append(asyncio.create_task(start_once_retried(stoppable_postgres)))

    publisher = OnSentHook(after_accepted)
    poster, _, _ = make_poster(outage_world, [nlp(channels=("slack:C1",))], clock=Clock(DUE), publisher=publisher)
    try:
        await poster.tick()
    finally:
        await asyncio.gather(*restart)
    assert sent_once(publisher)
    (run,) = await outage_world[1].recent_runs()
    assert (run.state, len(run.message_ids)) == ("sent", 4)


async def test_postgres_stopped_while_the_digest_is_built_does_not_hold_it_for_the_lease(
    outage_world, stoppable_postgres
):
    """PostgreSQL stops while the papers are being summarized and is back once the summaries' writes found it
    down: the run is not left claimed for the whole lease; the next tick (same time) posts it, once."""
    outage: dict[str, asyncio.Future] = {}

    class OutageWhileSummarizing(RecordingSummarizer):
        async def summarize(self, paper, language, **options):
            if not outage:  # the first of the concurrent calls stops the server; all wait until it is down
                outage["down"] = down = asyncio.ensure_future(stoppable_postgres.stop())
                outage["back"] = asyncio.ensure_future(start_once_retried(stoppable_postgres, once=down))
            await outage["down"]
            return await super().summarize(paper, language, **options)

    clock = Clock(DUE)
    poster, publisher, _ = make_poster(
        outage_world, [nlp(channels=("slack:C1",))], clock=clock, llm=OutageWhileSummarizing()
    )
    try:
        await poster.tick()
    finally:
        await asyncio.gather(*outage.values())
    await poster.tick()
    assert sent_once(publisher)
    (run,) = await outage_world[1].recent_runs()
    assert run.state == "sent"


async def test_postgres_down_longer_than_the_patience_leaves_an_accepted_message_ambiguous(
    outage_world, stoppable_postgres, caplog
):
    """The platform accepted a message and the database stays down past the retries: nothing more is posted,
    the run is left sending (then ambiguous), never resumed, so that message is never posted twice."""
    arxiv, store = outage_world
    store.patience_seconds = 0.5

    async def after_accepted(count: int) -> None:
        if count == 2:
            await stoppable_postgres.stop()

    from bot.scheduler import DigestScheduler

    publisher = OnSentHook(after_accepted)
    poster, _, _ = make_poster(outage_world, [nlp(channels=("slack:C1",))], clock=Clock(DUE), publisher=publisher)
    try:
        await DigestScheduler(poster, tick_seconds=60).tick()  # the rest of the tick fails too, with a log line
    finally:
        await stoppable_postgres.start()
    assert len(publisher.sent) == 2
    assert "the platform accepted message" in caplog.text and "left as sending" in caplog.text
    (run,) = await store.recent_runs()
    assert (run.state, len(run.message_ids)) == ("sending", 1)
    restarted, again, _ = make_poster(outage_world, [nlp(channels=("slack:C1",))], clock=Clock(DUE))
    await restarted.tick()
    assert again.sent == []
