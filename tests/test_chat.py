"""The shared chat handler path: pasted links get cards, /digest gets a digest, with progress."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.clients.arxiv import ArxivClient
from bot.core.chat import ChatBot, DigestDefaults
from bot.core.digest import DigestService
from bot.core.models import Digest, IncomingMessage, Subscription, SummaryBatch
from bot.core.summaries import SummaryService
from tests.fakes.summarizer import RecordingSummarizer


class RecordingResponder:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    async def progress(self, message: str) -> None:
        self.events.append(("progress", message))

    async def cards(self, batch: SummaryBatch) -> None:
        self.events.append(("cards", batch))

    async def digest(self, digest: Digest) -> None:
        self.events.append(("digest", digest))

    async def text(self, message: str) -> None:
        self.events.append(("text", message))

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.events]


@pytest.fixture
async def chat(fake_arxiv, store):
    async with ArxivClient(
        api_url=fake_arxiv.api_url, min_interval_seconds=0.01, max_tries=2, backoff_base_seconds=0.01
    ) as arxiv:
        llm = RecordingSummarizer()
        summaries = SummaryService(
            source=arxiv, store=store, summarizer=llm, daily_token_budget=10**9, max_concurrency=4, cache_hours=24
        )
        digests = DigestService(source=arxiv, store=store, summaries=summaries, search_limit=100)
        subscription = Subscription(name="nlp", query="cat:cs.CL", channels=("console",), max_papers=2)
        yield ChatBot(
            summaries=summaries,
            digests=digests,
            subscriptions=[subscription],
            book=store,
            language="en",
            max_papers_per_message=2,
            digest_defaults=DigestDefaults(max_papers=3, days=1),
            now=lambda: dt.datetime(2025, 5, 28, 22, 0, tzinfo=dt.UTC),
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


async def test_too_many_links_are_capped_with_a_count(chat):
    """Three links with a cap of two: two cards and one left out."""
    reply = RecordingResponder()
    await chat.handle_message(say("2505.22653 2505.22651 arXiv:2505.22648"), reply)
    batch = reply.events[-1][1]
    assert (len(batch.papers), batch.left_out) == (2, 1)


async def test_plain_chatter_gets_no_answer_and_a_fake_host_gets_a_warning(chat, fake_arxiv):
    """No reference: no reply. A look-alike host: a friendly note and no arXiv request."""
    quiet, warned = RecordingResponder(), RecordingResponder()
    assert not await chat.handle_message(say("good morning team"), quiet)
    assert await chat.handle_message(say("see arxiv.org.evil.com/abs/2301.00001"), warned)
    assert quiet.events == [] and warned.kinds() == ["text"]
    assert "not look like an arXiv link" in warned.events[0][1] and "evil" not in warned.events[0][1]
    assert fake_arxiv.requests == []


async def test_digest_command_builds_the_channel_subscription(chat):
    """/digest with no argument builds the channel's subscription for its local today."""
    reply = RecordingResponder()
    await chat.handle_message(say("/digest"), reply)
    assert reply.kinds()[0] == "progress" and reply.kinds()[-1] == "digest"
    digest = reply.events[-1][1]
    assert (digest.title, digest.date, len(digest.papers)) == ("nlp", dt.date(2025, 5, 28), 2)


async def test_adhoc_digest_with_options(chat):
    """/digest QUERY --max 1 --language zh builds an ad-hoc digest with those options."""
    reply = RecordingResponder()
    await chat.handle_message(say("/digest cat:cs.CV --max 1 --language zh"), reply)
    digest = reply.events[-1][1]
    assert (digest.query, len(digest.papers), digest.language) == ("cat:cs.CV", 1, "zh")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/digest help", "/digest QUERY"),
        ("/digest list", "nlp: cat:cs.CL"),
        ("/digest cat:cs.CL --max lots", "--max takes a whole number from 1 to 50"),
        ("/digest cat:cs.CL --language Klingon", "--language takes a code"),
    ],
)
async def test_digest_subcommands_answer_in_text(chat, command, expected):
    """help, list, and bad options answer with one text message."""
    reply = RecordingResponder()
    await chat.handle_message(say(command), reply)
    assert reply.kinds() == ["text"] and expected in reply.events[0][1]


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
        in_channel("/digest subscribe rl cat:cs.LG AND abs:reward --time 07:15 --timezone Europe/Berlin", "slack:C1"),
        reply,
    )
    assert "Subscribed this channel: rl: cat:cs.LG AND abs:reward at 07:15 Europe/Berlin" in reply.events[-1][1]
    (stored,) = await store.list_subscriptions()
    assert (stored.name, stored.channels, stored.time, stored.timezone) == (
        "rl",
        ("slack:C1",),
        dt.time(7, 15),
        "Europe/Berlin",
    )
    await chat.handle_message(in_channel("/digest list", "slack:C1"), reply)
    assert "rl: cat:cs.LG AND abs:reward" in reply.events[-1][1]
    await chat.handle_message(in_channel("/digest list", "slack:C2"), reply)
    assert "no subscriptions" in reply.events[-1][1]
    await chat.handle_message(in_channel("/digest unsubscribe rl", "slack:C1"), reply)
    assert reply.events[-1][1] == "Unsubscribed this channel from rl."
    assert await store.list_subscriptions() == []


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/digest subscribe onlyname", "Usage: /digest subscribe NAME QUERY"),
        ("/digest subscribe nlp cat:cs.CL", "nlp is defined in the configuration file"),
        ("/digest subscribe x cat:cs.CL --timezone Mars/Base", "--timezone takes an IANA name"),
        ("/digest subscribe x cat:cs.CL --time 25:00", "--time takes a time of day"),
        ("/digest unsubscribe nlp", "nlp is defined in the configuration file; remove it there"),
        ("/digest unsubscribe nope", "This channel has no subscription named 'nope'"),
    ],
)
async def test_bad_subscription_commands_explain_themselves(chat, command, expected):
    """Each mistake in /digest subscribe or unsubscribe gets one line saying what to do."""
    reply = RecordingResponder()
    await chat.handle_message(say(command), reply)
    assert reply.kinds() == ["text"] and expected in reply.events[0][1]
