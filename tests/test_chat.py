"""The shared chat handler path: pasted links get cards, /digest gets a digest, with progress; per-person
and per-channel limits (RELIABILITY rows 29 and 46); a database that stays down is told (row 44)."""

from __future__ import annotations

import datetime as dt
import io
import logging

import pytest
from sqlalchemy import insert

from bot.clients.arxiv import ArxivClient
from bot.core.chat import COULD_NOT_RECORD, ChatBot, ChatLimits, DigestDefaults
from bot.core.digest import DigestService
from bot.core.errors import StorageUnavailable
from bot.core.models import Digest, IncomingMessage, Subscription, SummaryBatch
from bot.core.questions import Answer
from bot.core.ratelimit import SlidingWindow
from bot.core.render import error_line
from bot.core.summaries import SummaryService
from bot.core.taste import TasteService
from handlers.console import run_console
from storage.engine import make_engine
from storage.migrations import upgrade
from storage.repository import SqlStore
from storage.tables import chat_events
from tests import test_run
from tests.fakes.summarizer import RecordingSummarizer

# Thursday 29 May 2025, 02:00 US Eastern: arXiv announced the corpus (submitted on the 28th before 14:00 ET)
# at 20:00 ET on the 28th, so /digest, which covers the latest announcement, finds it.
NOW = dt.datetime(2025, 5, 29, 6, 0, tzinfo=dt.UTC)


class RecordingResponder:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    async def progress(self, message: str) -> None:
        self.events.append(("progress", message))

    async def answer_progress(self, message: str) -> None:
        self.events.append(("progress", message))

    async def cards(self, batch: SummaryBatch) -> None:
        self.events.append(("cards", batch))

    async def digest(self, digest: Digest) -> None:
        self.events.append(("digest", digest))

    async def text(self, message: str) -> None:
        self.events.append(("text", message))

    async def answer(self, answer: Answer) -> None:
        self.events.append(("answer", answer))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]

    def answers(self) -> list[Answer]:
        return [event for kind, event in self.events if kind == "answer"]


class Clock:
    """The monotonic clock the chat's rate limits read; a test moves it by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def limits() -> ChatLimits:
    return ChatLimits()  # a test parametrizes `limits` for smaller ones


@pytest.fixture
async def chat(fake_arxiv, store, clock, limits):
    async with ArxivClient(
        api_url=fake_arxiv.api_url, min_interval_seconds=0.01, max_tries=2, backoff_base_seconds=0.01
    ) as arxiv:
        llm = RecordingSummarizer()
        summaries = SummaryService(
            source=arxiv, store=store, summarizer=llm, daily_token_budget=10**9, max_concurrency=4, cache_hours=24
        )
        digests = DigestService(source=arxiv, store=store, summaries=summaries, search_limit=100, now=lambda: NOW)
        subscription = Subscription(name="nlp", query="cat:cs.CL", channels=("console",), max_papers=2)
        yield ChatBot(
            summaries=summaries,
            digests=digests,
            subscriptions=[subscription],
            book=store,
            language="en",
            max_papers_per_message=2,
            digest_defaults=DigestDefaults(max_papers=3, days=1),
            limits=limits,
            now=lambda: NOW,
            clock=clock,
        )


def say(text: str) -> IncomingMessage:
    return IncomingMessage(platform="console", channel="console", text=text)


async def test_a_pasted_link_gets_one_reply_with_a_card(chat):
    """A message with a link: progress, then one cards reply for that paper."""
    reply = RecordingResponder()
    assert await chat.handle_message(say("look <https://arxiv.org/abs/2505.22653v1|this>!"), reply)
    assert reply.kinds() == ["progress", "cards"]
    batch = reply.events[-1][1]
    assert [p.paper.arxiv_id for p in batch.papers] == ["2505.22653"]


async def test_too_many_links_name_the_ones_left_out(chat, fake_arxiv):
    """Four links with a cap of two: two cards, and a note naming the other two and how to have them read;
    they are never asked of arXiv."""
    reply = RecordingResponder()
    await chat.handle_message(say("2505.22653 2505.22651 arXiv:2505.22648v1 https://arxiv.org/abs/2505.22552"), reply)
    batch = reply.events[-1][1]
    assert [p.paper.arxiv_id for p in batch.papers] == ["2505.22653", "2505.22651"]
    (note,) = [error_line(e) for e in batch.errors]
    assert note == (
        "Left out, as I read at most 2 links per message: 2505.22648v1, 2505.22552. Paste them again in a new message."
    )
    assert not any("2505.22648" in path or "2505.22552" in path for path in fake_arxiv.paths)


async def test_plain_chatter_gets_no_answer_and_a_fake_host_gets_a_warning(chat, fake_arxiv):
    """No reference: no reply. A look-alike host: a friendly note and no arXiv request."""
    quiet, warned = RecordingResponder(), RecordingResponder()
    assert not await chat.handle_message(say("good morning team"), quiet)
    assert await chat.handle_message(say("see arxiv.org.evil.com/abs/2301.00001"), warned)
    assert quiet.events == [] and warned.kinds() == ["text"]
    assert "not look like an arXiv link" in warned.events[0][1] and "evil" not in warned.events[0][1]
    assert fake_arxiv.requests == []


async def test_digest_command_builds_the_channel_subscription(chat):
    """/digest with no argument builds the channel's subscription over arXiv's latest announcement (dated
    by that announcement: Wednesday 28 May)."""
    reply = RecordingResponder()
    await chat.handle_message(say("/digest"), reply)
    assert reply.kinds()[0] == "progress" and reply.kinds()[-1] == "digest"
    digest = reply.events[-1][1]
    assert (digest.title, digest.date, len(digest.papers)) == ("nlp", dt.date(2025, 5, 28), 2)


async def test_adhoc_digest_with_options(chat):
    """/digest QUERY --max 1 --language zh_cn builds an ad-hoc digest with those options (zh_cn is zh-CN)."""
    reply = RecordingResponder()
    await chat.handle_message(say("/digest cat:cs.CV --max 1 --language zh_cn"), reply)
    digest = reply.events[-1][1]
    assert (digest.query, len(digest.papers), digest.language) == ("cat:cs.CV", 1, "zh-CN")


async def test_console_digest_lists_the_latest_announcement_and_an_empty_one_says_why(chat, fake_arxiv):
    """In the console, on a fake arXiv where papers appear only at their announcement: /digest cat:cs.CL
    lists Wednesday evening's papers under a header saying so (the old default, today in UTC, had none);
    --days 1 (today, UTC) is empty and says when arXiv announces it; cat:zz.XX is named as no category."""
    fake_arxiv.clock = lambda: NOW
    fake_arxiv.add_papers([{"id": "2505.23001", "title": "After the cutoff", "categories": ["cs.CL"],
                            "published": "2025-05-29T01:00:00Z"}])  # fmt: skip
    lines = "/digest cat:cs.CL --max 1\n/digest cat:cs.CL --days 1\n/digest cat:zz.XX\n"
    out, err = io.StringIO(), io.StringIO()
    assert await run_console(chat, stdin=io.StringIO(lines), stdout=out, stderr=err) == 0
    listed, today, unknown = out.getvalue().split("Machine-written")[1:]
    assert "Announced Wed 28 May 20:00 ET: submitted Tue 27 May 14:00 – Wed 28 May 14:00 ET" in listed
    assert "1. " in listed and "15 more papers matched" in listed and "After the cutoff" not in out.getvalue()
    assert "Papers first submitted on 2025-05-29 (UTC)" in today and "No new papers matched" in today
    assert "its next announcement is Thu 29 May 20:00 ET" in " ".join(today.split())
    assert "cat:zz.XX is not an arXiv category" in " ".join(unknown.split())


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/digest help", "/digest QUERY"),
        ("/digest list", "nlp: cat:cs.CL"),
        ("/digest cat:cs.CL --max lots", "--max takes a whole number, not 'lots'. See /digest help."),
        ("/digest cat:cs.CL --language Klingon", "'Klingon' is not a language code like en, zh or pt-BR"),
        ("/digest cat:cs.CL --days 99999999", "a digest covers 1 to 31 days, not 99999999. See /digest help."),
        ("/digest cat:cs.CL --max 51", "a digest has 1 to 50 papers, not 51"),
        ("/digest (cat:cs.CL --max 2", "has unbalanced parentheses"),
        ("/digest --max 2", "a digest needs a query"),
    ],
)
async def test_digest_subcommands_answer_in_text(chat, fake_arxiv, command, expected):
    """help, list, and bad options or bounds answer with one text message (and never reach arXiv)."""
    reply = RecordingResponder()
    await chat.handle_message(say(command), reply)
    assert reply.kinds() == ["text"] and expected in reply.events[0][1]
    assert fake_arxiv.requests == []


async def test_arxiv_down_during_digest_is_a_clear_message(chat, fake_arxiv):
    """arXiv failing during /digest answers with the unavailable message, not a crash."""
    fake_arxiv.script(*["503"] * 10)
    reply = RecordingResponder()
    await chat.handle_message(say("/digest cat:cs.CL"), reply)
    assert reply.kinds()[-1] == "text" and "unavailable" in reply.events[-1][1]


def in_channel(text: str, channel: str) -> IncomingMessage:
    return IncomingMessage(platform="slack", channel=channel, text=text)


async def test_subscribe_list_and_unsubscribe_from_chat(chat, store):
    """/digest subscribe stores a subscription for this channel; list shows it; unsubscribe removes it."""
    reply = RecordingResponder()
    await chat.handle_message(
        in_channel("/digest subscribe rl cat:cs.LG AND abs:reward --time 07:15 --timezone Europe/Berlin", "slack:C01"),
        reply,
    )
    assert "Subscribed this channel: rl: cat:cs.LG AND abs:reward at 07:15 Europe/Berlin" in reply.events[-1][1]
    (stored,) = await store.list_subscriptions()
    assert (stored.name, stored.channels, stored.time, stored.timezone) == (
        "rl",
        ("slack:C01",),
        dt.time(7, 15),
        "Europe/Berlin",
    )
    await chat.handle_message(in_channel("/digest list", "slack:C01"), reply)
    assert "rl: cat:cs.LG AND abs:reward" in reply.events[-1][1]
    await chat.handle_message(in_channel("/digest list", "slack:C02"), reply)
    assert "no subscriptions" in reply.events[-1][1]
    await chat.handle_message(in_channel("/digest unsubscribe rl", "slack:C01"), reply)
    assert reply.events[-1][1] == "Unsubscribed this channel from rl."
    assert await store.list_subscriptions() == []


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/digest subscribe onlyname", "Usage: /digest subscribe NAME QUERY"),
        ("/digest subscribe nlp cat:cs.CL", "nlp is defined in the configuration file"),
        ("/digest subscribe x cat:cs.CL --timezone Mars/Base", "'Mars/Base' is not an IANA time zone"),
        ("/digest subscribe x cat:cs.CL --time 25:00", "'25:00' is not a time of day like 08:30"),
        ("/digest subscribe x cat:cs.CL --max 99", "a digest has 1 to 50 papers, not 99"),
        ("/digest subscribe x cat:cs.CL) OR (cat:cs.LG", "has unbalanced parentheses"),
        ("/digest subscribe my/digest cat:cs.CL", "'my/digest' is not a subscription name"),
        ("/digest unsubscribe nlp", "nlp is defined in the configuration file; remove it there"),
        ("/digest unsubscribe nope", "This channel has no subscription named 'nope'"),
    ],
)
async def test_bad_subscription_commands_explain_themselves(chat, command, expected):
    """Each mistake in /digest subscribe or unsubscribe gets one line saying what to do."""
    reply = RecordingResponder()
    await chat.handle_message(say(command), reply)
    assert reply.kinds() == ["text"] and expected in reply.events[0][1]


async def test_a_doi_gets_a_card_and_impossible_ids_make_no_request(chat, fake_arxiv):
    """A pasted arXiv DOI is that paper; an id that cannot exist is a warning in link form, silence when bare."""
    reply, warned, quiet = RecordingResponder(), RecordingResponder(), RecordingResponder()
    assert not await chat.handle_message(say("meeting moved to 2513.00001, room 0612.1234"), quiet)
    assert await chat.handle_message(say("see https://arxiv.org/abs/2513.00001 and arXiv:2505.2265"), warned)
    assert quiet.events == [] and warned.kinds() == ["text"] and fake_arxiv.requests == []
    assert await chat.handle_message(say("cite <https://doi.org/10.48550/arXiv.2505.22653>"), reply)
    assert reply.kinds() == ["progress", "cards"]
    assert [p.paper.arxiv_id for p in reply.events[-1][1].papers] == ["2505.22653"]


# ---- limits: RELIABILITY rows 29 (denial of wallet) and 46 (one person floods)


def test_sliding_window_counts_each_key_alone():
    """Units within the window count; they leave it one by one; another key is not affected."""
    clock = Clock()
    window = SlidingWindow(3, window_seconds=60, clock=clock)
    assert [window.try_take("alice") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert window.try_take("alice") == 60.0 and window.try_take("bob") == 0.0
    clock.now += 59.5
    assert window.wait_seconds("alice") == 0.5 and window.wait_seconds("alice", 3) == 0.5
    clock.now += 0.5
    assert window.try_take("alice", 2) == 0.0 and window.wait_seconds("alice", 2) == 60.0
    assert window.wait_seconds("carol", 10) == 0.0  # bigger than the limit: fits an empty window only


def from_person(text: str, user: str, channel: str = "console") -> IncomingMessage:
    return IncomingMessage(platform="console", channel=channel, text=text, user=user)


@pytest.mark.parametrize("limits", [ChatLimits(papers_per_user_per_minute=3)])
async def test_console_flood_of_links_gets_one_slow_down_and_nothing_more(chat, fake_arxiv, clock):
    """Row 46 on the console platform: 6 pasted links in 6 lines with 3 papers per person per minute: three
    cards, then one polite 'slow down' (not one per line), and no arXiv request for the rest."""
    lines = "".join(f"https://arxiv.org/abs/{i}v1\n" for i in ["2505.22653", "2505.22651", "2505.22648",
                                                              "2505.22552", "2505.22537", "2505.22501"])  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    assert await run_console(chat, stdin=io.StringIO(lines), stdout=out, stderr=err) == 0
    assert out.getvalue().count("Slow down a little, please") == 1
    assert "at most 3 papers per person per minute. Try again in 60 s." in out.getvalue()
    assert err.getvalue().count("Reading 1 paper") == 3
    asked = " ".join(fake_arxiv.paths)
    assert "2505.22648" in asked and not any(i in asked for i in ["2505.22552", "2505.22537", "2505.22501"])


@pytest.mark.parametrize("limits", [ChatLimits(papers_per_user_per_minute=2, papers_per_channel_per_minute=3)])
async def test_a_flooding_person_waits_and_everyone_else_is_served_at_once(chat, clock):
    """Row 29: over their papers per minute a person is told to slow down; another person, and another
    channel, are answered at once; a minute later the first person is served again."""
    alice = [RecordingResponder() for _ in range(3)]
    await chat.handle_message(from_person("2505.22653 2505.22651", "alice"), alice[0])
    await chat.handle_message(from_person("2505.22648", "alice"), alice[1])
    await chat.handle_message(from_person("2505.22552", "alice"), alice[2])
    assert [r.kinds() for r in alice] == [["progress", "cards"], ["text"], []]  # told once, then quiet
    assert "2 papers per person per minute" in alice[1].events[0][1]
    bob = RecordingResponder()
    await chat.handle_message(from_person("2505.22648", "bob"), bob)
    assert bob.kinds() == ["progress", "cards"]
    carol, elsewhere = RecordingResponder(), RecordingResponder()
    await chat.handle_message(from_person("2505.22552", "carol"), carol)  # the channel's 3 are used up
    await chat.handle_message(from_person("2505.22552", "carol", channel="slack:C01"), elsewhere)
    assert "at most 3 papers per minute in this channel" in carol.events[0][1]
    assert elsewhere.kinds() == ["progress", "cards"]
    clock.now += 60
    again = RecordingResponder()
    await chat.handle_message(from_person("2505.22648", "alice"), again)
    assert again.kinds() == ["progress", "cards"]


@pytest.mark.parametrize("limits", [ChatLimits(commands_per_user_per_minute=3)])
async def test_subscribe_flood_is_limited_per_person(chat, store, clock):
    """Row 46: a fourth subscribe (or digest) in a minute from one person is refused politely; another
    person's command is answered at once."""
    answers = []
    for n in range(4):
        reply = RecordingResponder()
        await chat.handle_message(from_person(f"/digest subscribe s{n} cat:cs.CL", "mallory"), reply)
        answers.append(reply.events[-1][1])
    assert all(a.startswith("Subscribed") for a in answers[:3])
    assert answers[3].startswith("Slow down a little, please: at most 3 digests and subscription changes")
    assert len(await store.list_subscriptions()) == 3
    help_, other = RecordingResponder(), RecordingResponder()
    await chat.handle_message(from_person("/digest help", "mallory"), help_)  # help and list are free
    await chat.handle_message(from_person("/digest unsubscribe s0", "bob"), other)
    assert "/digest QUERY" in help_.events[0][1] and other.events[0][1] == "Unsubscribed this channel from s0."


@pytest.mark.parametrize("limits", [ChatLimits(subscriptions_per_channel=4)])
async def test_a_channel_has_at_most_its_cap_of_subscriptions(chat, store, clock):
    """Row 46: at the cap (configured ones counted) a new subscription gets a clear message; replacing one of
    this channel's own is still allowed, and another channel is not affected."""
    for n in range(3):  # with the configured "nlp": four in this channel
        clock.now += 60  # not limited per person here
        await chat.handle_message(from_person(f"/digest subscribe s{n} cat:cs.CL", "alice"), RecordingResponder())
    refused, replaced, elsewhere = RecordingResponder(), RecordingResponder(), RecordingResponder()
    await chat.handle_message(from_person("/digest subscribe s9 cat:cs.CL", "bob"), refused)
    await chat.handle_message(from_person("/digest subscribe s0 cat:cs.LG --max 2", "bob"), replaced)
    await chat.handle_message(from_person("/digest subscribe s9 cat:cs.CL", "bob", channel="slack:C01"), elsewhere)
    assert refused.events[0][1] == (
        "This channel already has 4 subscriptions, the most it may have. "
        "Remove one with /digest unsubscribe NAME first."
    )
    assert replaced.events[0][1].startswith("Subscribed this channel: s0: cat:cs.LG")
    assert elsewhere.events[0][1].startswith("Subscribed this channel: s9")
    assert sorted(s.name for s in await store.list_subscriptions()) == ["s0", "s1", "s2", "s9"]


class UnreachableStore:
    """Every call fails as SqlStore's do once the database stayed unreachable past its retries."""

    def __getattr__(self, name: str):
        async def unreachable(*args, **kwargs):
            raise StorageUnavailable(f"the database is unreachable (connection refused) while {name}; gave up")

        return unreachable


@pytest.mark.parametrize(
    "line",
    ["https://arxiv.org/abs/2505.22653", "/digest", "/digest cat:cs.CL", "/digest subscribe rl cat:cs.LG",
     "/digest unsubscribe rl", "/digest list", "/digest more-like 2505.22653", "/digest taste"],
)  # fmt: skip
async def test_a_database_that_stays_down_is_told_to_the_person_on_the_console(fake_arxiv, line, caplog):
    """Row 44: whatever was asked, the person reads 'I could not record this; try again in a minute', one line;
    the operator gets the reason in one warning, no traceback."""
    store = UnreachableStore()
    async with ArxivClient(api_url=fake_arxiv.api_url, min_interval_seconds=0.01) as arxiv:
        summaries = SummaryService(source=arxiv, store=store, summarizer=RecordingSummarizer(),
                                   daily_token_budget=10**9, max_concurrency=4, cache_hours=24)  # fmt: skip
        digests = DigestService(source=arxiv, store=store, summaries=summaries, search_limit=100)
        taste = TasteService(book=store, store=store, ranker_factory=None)
        chat = ChatBot(summaries=summaries, digests=digests, subscriptions=[], book=store, language="en",
                       max_papers_per_message=2, digest_defaults=DigestDefaults(), taste=taste)  # fmt: skip
        out, err = io.StringIO(), io.StringIO()
        assert await run_console(chat, stdin=io.StringIO(line + "\n"), stdout=out, stderr=err) == 0
    assert out.getvalue() == COULD_NOT_RECORD + "\n"
    (warning,) = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "the database is unreachable" in warning.getMessage() and warning.exc_info is None


run_env = test_run.run_env  # a fixture: `paperboy run`'s environment (console, SQLite, FakeArxiv)


async def test_run_forgets_week_old_chat_deliveries_at_start(run_env, tmp_path):
    """Claims older than a week are dropped when `paperboy run` starts, not only by the daily job (which a bot
    restarted every day never reaches); recent ones stay (a redelivery is still recognised)."""
    engine = make_engine(run_env["PAPERBOY_STORAGE__URL"])
    try:
        await upgrade(engine)
        now = dt.datetime.now(dt.UTC)
        async with engine.begin() as conn:
            claims = [("slack:EvOLD", dt.timedelta(days=8)), ("slack:EvNEW", dt.timedelta(hours=1))]
            await conn.execute(insert(chat_events), [{"key": key, "claimed_at": now - age} for key, age in claims])
        # Nothing scheduled: no digest posting or reading ahead (both start at once) for the SIGTERM to land in.
        (tmp_path / "config.toml").write_text("")
        run_env["PAPERBOY_SCHEDULE__READ_AHEAD_MINUTES"] = "0"
        bot = await test_run.start("run", env=run_env, cwd=tmp_path)
        await test_run.wait_for_line(bot, "forgot 1 chat deliveries older than 7 days")
        code, _, err = await test_run.stop(bot)
        assert code == 0, err
        store = SqlStore(engine)
        assert await store.claim_event("slack:EvOLD") and not await store.claim_event("slack:EvNEW")
    finally:
        await engine.dispose()
