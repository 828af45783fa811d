"""The Discord platform end to end: the real discord.py client against FakeDiscord's REST API and gateway.

Every request body the client sends is validated by the fake against Discord's OpenAPI spec (and the
2000/6000 limits); each test ends by asserting there was no violation. RELIABILITY rows 11-15, 17-18, 36.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import re
import time
from urllib.parse import parse_qs, urlsplit

import discord
import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.core.chat import COULD_NOT_RECORD
from bot.core.commands import AdhocDigest, ChannelDigest, Subscribe
from bot.core.errors import PlatformStartError, PublishError, StorageUnavailable
from bot.core.models import Language
from handlers.discord import DiscordPlatform
from handlers.discord.embeds import escape
from handlers.discord.platform import HELP, MENTION_HELP, digest_command, typed
from tests.fakes.discord_server import (
    BOT_ID,
    CHANNEL_ID,
    EMBED_TOTAL_LIMIT,
    EPHEMERAL,
    GUILD_ID,
    GUILD_MESSAGE_REACTIONS,
    LOADING,
    MESSAGE_CONTENT,
    OTHER_BOT_ID,
    PLAIN_CHANNEL_ID,
    TOKEN,
    FakeDiscord,
    _user,
    embed_length,
    schema_errors,
)
from tests.test_discord_embeds import digest_of

MESSAGES = r"/channels/\d+/messages"
FOLLOWUP = r"/webhooks/\d+/[^/]+"
ORIGINAL = r"/webhooks/\d+/[^/]+/messages/@original"
CALLBACK = r"/interactions/\d+/[^/]+/callback"
NONE = {"parse": []}
PINGS = re.compile(r"@(everyone|here)|<@[!&]?\d{17,20}>")


def platform_for(fake: FakeDiscord, *, chat, events, guild_ids=(GUILD_ID,), **options) -> DiscordPlatform:
    return DiscordPlatform(
        chat=chat,
        events=events,
        token=TOKEN,
        api_url=fake.api_url,
        gateway_url=fake.gateway_url,
        guild_ids=guild_ids,
        guild_ready_timeout=0.05,
        start_timeout=10,
        **options,
    )


class LogWatch(logging.Handler):
    """Lets a test wait for a log line from the bot (logged on the event loop's thread)."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text, self.seen = text, asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.seen.set()

    async def wait(self, timeout: float = 10.0) -> None:
        logger = logging.getLogger("handlers.discord")
        logger.addHandler(self)
        try:
            await asyncio.wait_for(self.seen.wait(), timeout)
        finally:
            logger.removeHandler(self)


class MemoryEvents:
    """An EventLog for tests that need no database."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    async def claim_event(self, key: str) -> bool:
        fresh = key not in self.keys
        self.keys.add(key)
        return fresh


class NoChat:
    """For tests of sending and start-up: any use of the chat is a failure."""

    def __getattr__(self, name: str):
        raise AssertionError(f"the chat was not expected to be used ({name})")


@pytest.fixture
async def bot(fake_discord, chat_stack):
    """The platform connected to FakeDiscord, answering with the real core (FakeArxiv, FakeLLM, a real store)."""
    chat_stack.llm.delay = 0.05
    platform = platform_for(fake_discord, chat=chat_stack.chat, events=chat_stack.store)
    await platform.start()
    yield platform
    await platform.stop()
    assert fake_discord.schema_errors == []


@pytest.fixture
async def sender(fake_discord):
    """The platform connected without a chat: for sending, rate limits and failures (no database needed)."""
    platform = platform_for(fake_discord, chat=NoChat(), events=MemoryEvents())
    await platform.start()
    yield platform
    await platform.stop()
    assert fake_discord.schema_errors == []


def bodies(calls) -> list[dict]:
    return [c.body for c in calls]


def all_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in all_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in all_strings(v)]
    return []


def card_numbers(calls) -> list[int]:
    return [int(e["title"].split(".")[0]) for c in calls for e in c.body.get("embeds", []) if e.get("url")]


# ---- connecting


async def test_connects_identifies_and_registers_commands(bot, fake_discord):
    """The real client logs in, identifies with the message content intent, gets READY and GUILD_CREATE,
    and registers /digest, /subscriptions and /taste in the configured server."""
    assert bot.is_connected()
    (identify,) = fake_discord.identifies
    assert identify["token_ok"] and identify["intents"] & MESSAGE_CONTENT
    assert identify["intents"] & GUILD_MESSAGE_REACTIONS  # reactions on cards: a channel's taste
    assert bot.client.get_channel(CHANNEL_ID) is not None  # GUILD_CREATE was read
    (put,) = fake_discord.find("PUT", rf"/applications/{BOT_ID}/guilds/{GUILD_ID}/commands")
    assert sorted(c["name"] for c in put.body) == ["digest", "subscriptions", "taste"]
    digest = next(c for c in put.body if c["name"] == "digest")
    assert [(o["name"], o["type"], o["required"]) for o in digest["options"]] == [
        ("query", 3, False), ("days", 4, False), ("max", 4, False), ("language", 3, False)
    ]  # fmt: skip
    subcommands = next(c for c in put.body if c["name"] == "subscriptions")["options"]
    assert [o["name"] for o in subcommands] == ["add", "remove", "list"]
    taste = next(c for c in put.body if c["name"] == "taste")["options"]
    assert [(o["name"], [p["name"] for p in o.get("options", [])]) for o in taste] == [
        ("more-like", ["paper"]), ("less-like", ["paper"]), ("show", [])
    ]  # fmt: skip


async def test_commands_sync_globally_without_guild_ids(fake_discord):
    """With no discord.guild_ids the commands are registered globally; stop() restores discord.py's endpoints."""
    before = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    platform = platform_for(fake_discord, chat=NoChat(), events=MemoryEvents(), guild_ids=())
    await platform.start()
    assert Route.BASE == fake_discord.api_url
    await platform.stop()
    assert len(fake_discord.find("PUT", rf"/applications/{BOT_ID}/commands")) == 1
    assert fake_discord.find("PUT", r"/applications/\d+/guilds/.*") == []
    assert (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY) == before and not platform.is_connected()


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("bad token", "rejected the bot token (401): check DISCORD_BOT_TOKEN"),
        ("close 4004", "rejected the bot token (close code 4004): check DISCORD_BOT_TOKEN"),
        ("close 4014", "Privileged Gateway Intents → Message Content Intent"),
    ],
)
async def test_fatal_start_errors_are_actionable_and_not_retried(fake_discord, caplog, setup, expected):
    """A bad token (401 or close 4004) or a refused intent (4014): PlatformStartError saying what to do,
    one attempt only, the client closed, the token never shown (row 12)."""
    if setup == "bad token":
        fake_discord.token = "some-other-token"
    else:
        fake_discord.close_after_identify = int(setup.split()[1])
    before = Route.BASE
    platform = platform_for(fake_discord, chat=NoChat(), events=MemoryEvents())
    with pytest.raises(PlatformStartError) as raised:
        await platform.start()
    assert expected in str(raised.value)
    assert len(fake_discord.find("GET", r"/users/@me")) == 1
    assert len(fake_discord.identifies) == (0 if setup == "bad token" else 1)  # no reconnect loop
    assert platform.client.is_closed() and not platform.is_connected() and Route.BASE == before
    assert TOKEN not in str(raised.value) and TOKEN not in caplog.text


async def test_without_message_content_intent_only_mentions_are_answered(fake_discord, chat_stack, caplog):
    """Message Content off in the portal: no 4014; a warning at start says what to enable; a link that
    mentions the bot is answered, one that does not (its content withheld by Discord) is not."""
    fake_discord.app_flags = 0
    caplog.set_level(logging.INFO, logger="handlers.discord")
    platform = platform_for(fake_discord, chat=chat_stack.chat, events=chat_stack.store)
    await platform.start()
    try:
        assert not fake_discord.identifies[0]["intents"] & MESSAGE_CONTENT and not platform.reads_all_messages
        assert "only answer messages that mention me" in caplog.text and "Message Content Intent" in caplog.text
        await fake_discord.send_message("https://arxiv.org/abs/2505.22651")
        mention = await fake_discord.send_message(f"<@{BOT_ID}> https://arxiv.org/abs/2505.22653", mention_bot=True)
        (reply,) = await fake_discord.wait_calls("POST", MESSAGES)
        assert reply.body["message_reference"]["message_id"] == int(mention["id"])
        assert len(chat_stack.llm.calls) == 1
    finally:
        await platform.stop()
    assert fake_discord.schema_errors == []


# ---- pasted links


async def test_pasted_link_gets_one_reply_with_a_card(bot, fake_discord, chat_stack):
    """A message with an arXiv link: typing, then one reply to it (no ping) with one embed for the paper."""
    message = await fake_discord.send_message("have a look at https://arxiv.org/abs/2505.22653v1 please")
    (reply,) = await fake_discord.wait_calls("POST", MESSAGES)
    assert fake_discord.find("POST", rf"/channels/{CHANNEL_ID}/typing")[0].at <= reply.at
    body = reply.body
    assert body["message_reference"]["message_id"] == int(message["id"])
    assert body["allowed_mentions"] == {"parse": [], "replied_user": False}
    (embed,) = body["embeds"]
    assert embed["title"].startswith("The Climb Carves Wisdom Deeper Than the Summit")
    assert embed["url"] == "https://arxiv.org/abs/2505.22653v1"
    assert "Summary of The Climb Carves Wisdom" in embed["description"]  # what FakeLLM wrote
    assert schema_errors("RichEmbed", embed) == [] and embed_length(embed) <= EMBED_TOTAL_LIMIT
    assert "arXiv:2505.22653 · " in embed["description"]
    # discord.py's View of link buttons on the wire: abstract, PDF, HTML, and the code URL the abstract gives.
    (row,) = body["components"]
    assert [(b["style"], b["label"], b["url"]) for b in row["components"]][2:] == [
        (5, "HTML", "https://arxiv.org/html/2505.22653v1"),
        (5, "GitHub", "https://github.com/trestad/Noisy-Rewards-in-Learning-to-Reason"),
    ]
    assert fake_discord.schema_errors == []
    assert len(chat_stack.llm.calls) == 1


class UnreachableEvents:
    """An EventLog whose database stayed unreachable past the store's retries."""

    async def claim_event(self, key: str) -> bool:
        raise StorageUnavailable("the database is unreachable (connection refused) while recording a chat message")


async def test_a_database_that_stays_down_is_told_in_a_reply(fake_discord):
    """Row 44: the message cannot be recorded, so it is not worked on (no typing, no chat); the person reads
    'I could not record this; try again in a minute' in a reply (which needs no database)."""
    platform = platform_for(fake_discord, chat=NoChat(), events=UnreachableEvents())
    await platform.start()
    try:
        message = await fake_discord.send_message("https://arxiv.org/abs/2505.22653")
        (reply,) = await fake_discord.wait_calls("POST", MESSAGES)
    finally:
        await platform.stop()
    assert reply.body["content"] == COULD_NOT_RECORD
    assert reply.body["message_reference"]["message_id"] == int(message["id"])
    assert fake_discord.find("POST", r"/channels/\d+/typing") == [] and fake_discord.schema_errors == []


async def test_own_and_other_bots_messages_are_ignored(bot, fake_discord, chat_stack):
    """Links posted by the bot itself or another bot get nothing; a person's link still gets its reply."""
    await fake_discord.send_message("https://arxiv.org/abs/2505.22651", author=fake_discord.bot)
    await fake_discord.send_message("https://arxiv.org/abs/2505.22648", author=_user(OTHER_BOT_ID, "x", bot=True))
    person = await fake_discord.send_message("https://arxiv.org/abs/2505.22653")
    (reply,) = await fake_discord.wait_calls("POST", MESSAGES)
    assert reply.body["message_reference"]["message_id"] == int(person["id"])
    assert len(chat_stack.llm.calls) == 1 and fake_discord.find("POST", r"/channels/\d+/typing")[0]


@pytest.mark.both_databases  # the duplicate is caught by the database's unique claim
async def test_second_ready_and_duplicate_delivery_start_nothing_twice(bot, fake_discord, caplog):
    """on_ready firing again (a new session) restarts nothing; the same message id delivered twice,
    before and after it, is answered once (row 11)."""
    caplog.set_level(logging.INFO, logger="handlers.discord")
    message = await fake_discord.send_message("2505.22653")
    await fake_discord.wait_calls("POST", MESSAGES)
    second_ready = LogWatch("READY again")
    await fake_discord.replay_ready()
    await second_ready.wait()
    await fake_discord.send_message("2505.22653", message_id=int(message["id"]))
    later = await fake_discord.send_message("2505.22651")  # its reply shows the duplicate was handled before
    replies = await fake_discord.wait_calls("POST", MESSAGES, 2)
    assert [c.body["message_reference"]["message_id"] for c in replies] == [int(message["id"]), int(later["id"])]
    assert len(fake_discord.find("POST", MESSAGES)) == 2
    assert "delivered again" in caplog.text
    assert len(fake_discord.find("PUT", r"/applications/.*")) == 1
    logged = [r.getMessage() for phase in ("setup", "call") for r in caplog.get_records(phase)]
    assert sum("Discord: connected as" in line for line in logged) == 1 and bot.is_connected()


async def test_stop_lets_an_answer_in_flight_finish(bot, fake_discord, chat_stack):
    """stop() while a reply is being prepared: the reply is still posted, then the client disconnects."""
    chat_stack.llm.delay = 0.5
    await fake_discord.send_message("2505.22653")
    await fake_discord.wait_calls("POST", r"/channels/\d+/typing")  # the answer is under way
    await bot.stop()
    assert len(fake_discord.find("POST", MESSAGES, ok=True)) == 1
    assert bot.client.is_closed() and not bot.is_connected()


HOSTILE = {
    "id": "2505.99001",
    "version": 1,
    "title": "@everyone <@&1234567890123456789> ＠here ```rm -rf``` ||spoiler|| *bold* [arxiv](https://evil.example)",
    "authors": ["<@1234567890123456789>", "Eve\u200b @here"],
    "abstract": "We ping @everyone\u202e and hide \U000e0041 tags. ```",
    "comment": "> quoted ||x|| # heading",
    "categories": ["cs.CL"],
    "published": "2025-05-28T12:00:00Z",
}


async def test_hostile_paper_reaches_discord_escaped_and_pinging_nobody(bot, fake_discord, chat_stack):
    """Mentions, full-width @, zero-width and tag characters, fences, spoilers and masked links in a paper
    arrive escaped, with allowed_mentions none (rows 15, 17, 18)."""
    chat_stack.arxiv.add_papers([HOSTILE])
    await fake_discord.send_message("arXiv:2505.99001")
    (reply,) = await fake_discord.wait_calls("POST", MESSAGES)
    assert reply.body["allowed_mentions"]["parse"] == []
    (embed,) = reply.body["embeds"]
    for text in all_strings(embed):
        assert not PINGS.search(text), text
        assert "\u200b" not in text.replace("@\u200b", "") and "\U000e0041" not in text and "\u202e" not in text
    assert "@\u200beveryone" in embed["title"] and "<@\u200b&1234567890123456789>" in embed["title"]
    assert "\\`\\`\\`rm -rf\\`\\`\\`" in embed["title"] and "\\|\\|spoiler\\|\\|" in embed["title"]
    assert "[arxiv\\](`https://evil.example`)" in embed["title"]  # never a disguised link, its URL inert
    assert "\\> quoted \\|\\|x\\|\\|" in embed["description"]
    assert embed["url"] == "https://arxiv.org/abs/2505.99001v1"


async def test_a_mention_without_a_link_gets_the_short_help(bot, fake_discord, chat_stack):
    """'@Paperboy hi' gets the short help as a reply; plain chatter gets nothing."""
    await fake_discord.send_message("good morning team")
    mention = await fake_discord.send_message(f"<@{BOT_ID}> hi, what can you do?", mention_bot=True)
    (reply,) = await fake_discord.wait_calls("POST", MESSAGES)
    assert reply.body["content"] == escape(MENTION_HELP)
    assert reply.body["message_reference"]["message_id"] == int(mention["id"]) and chat_stack.llm.calls == []


async def test_seven_links_get_five_cards_and_the_other_two_named(bot, fake_discord, chat_stack):
    """Seven links, more than chat.max_papers_per_message (5): five cards, then a note naming the two left out
    and saying to paste them again; neither is read."""
    ids = ["2505.22653", "2505.22651", "2505.22648", "2505.22552", "2505.22537", "2505.22501", "2505.22453"]
    await fake_discord.send_message(" ".join(ids))
    replies = await fake_discord.wait_calls("POST", MESSAGES, 5, timeout=20)
    assert sum(len(c.body["embeds"]) for c in replies) == 6  # five cards, a message each, and the note
    note = replies[-1].body["embeds"][-1]["description"]
    assert note == (
        "⚠ Left out, as I read at most 5 links per message: 2505.22501, 2505.22453. Paste them again in a new message."
    )
    assert len(chat_stack.llm.calls) == 5 and fake_discord.schema_errors == []


# ---- slash commands


def public(fake: FakeDiscord, channel_id: int = CHANNEL_ID) -> list[dict]:
    """What the bot made that everyone in the channel sees: its messages and interaction responses, not the
    ephemeral ones (nor thread messages: a thread is a channel of its own)."""
    return [m for m in fake.messages.values() if m["channel_id"] == str(channel_id)
            and m["author"]["id"] == str(BOT_ID) and not m["flags"] & EPHEMERAL]  # fmt: skip


async def final_answer(fake: FakeDiscord, interaction: dict, timeout: float = 20) -> dict:
    """The interaction's deferred response once it holds an answer: not thinking, not a progress note."""

    def answered() -> dict | None:
        response = fake.originals.get(interaction["token"])
        if response is None or response["flags"] & LOADING or response["content"].startswith("⏳"):
            return None
        return response

    return await fake.wait_for(answered, timeout)


async def test_digest_command_defers_at_once_then_posts_the_digest_in_the_channel(bot, fake_discord, chat_stack):
    """/digest: the deferred callback (type 5, ephemeral) comes before any work; progress edits it for the asker
    alone; the bot posts the digest's parent in the channel, the cards in a thread from it, and the deferred
    response ends saying so (row 14). The channel gets one message."""
    chat_stack.llm.delay = 0.3  # the work takes a while; the acknowledgement must not wait for it
    interaction_sent = time.monotonic()
    interaction = await fake_discord.send_command("digest", query="cat:cs.CL", max=3)
    (callback,) = await fake_discord.wait_calls("POST", CALLBACK)
    assert callback.path == f"/interactions/{interaction['id']}/{interaction['token']}/callback"
    assert callback.body["type"] == 5 and callback.body["data"]["flags"] == EPHEMERAL
    answer = await final_answer(fake_discord, interaction)
    assert answer["content"] == "✅ Digest posted here: 3 papers." and answer["flags"] == EPHEMERAL
    progress = [c.body["content"] for c in fake_discord.find("PATCH", ORIGINAL)]
    assert progress[0].startswith("⏳") and progress[-1] == answer["content"]
    (parent,) = public(fake_discord)
    assert parent["embeds"][0]["title"] == "arXiv digest: cat:cs.CL: 2025-05-28"
    assert "**3 papers**" in parent["embeds"][0]["description"]
    assert fake_discord.find("POST", rf"/channels/{CHANNEL_ID}/messages/{parent['id']}/threads")
    cards = fake_discord.find("POST", rf"/channels/{parent['id']}/messages")  # the thread has the parent's id
    assert card_numbers(cards) == [1, 2, 3] and fake_discord.find("POST", FOLLOWUP) == []
    for call in [*fake_discord.find("POST", MESSAGES), *fake_discord.find("PATCH", ORIGINAL)]:
        assert call.body["allowed_mentions"]["parse"] == []
    # discord.py's random nonce, not the digest's stable one: asked for twice, a digest is posted twice.
    assert not re.fullmatch(r"[0-9a-f]{25}", str(fake_discord.find("POST", MESSAGES)[0].body.get("nonce")))
    # Acknowledged before any work: the first arXiv request came after the callback.
    assert callback.at < chat_stack.arxiv.requests[0][0] and callback.at - interaction_sent < 1.0


async def test_a_failed_digest_is_told_to_the_asker_alone_and_never_done(bot, fake_discord, chat_stack):
    """arXiv answers 503 to every try: the deferred response, seen by the asker alone, ends on what went wrong;
    the channel gets nothing, and nothing says "Done"."""
    chat_stack.arxiv.script("503", "503", "503", "503")
    interaction = await fake_discord.send_command("digest", query="cat:cs.CL")
    answer = await final_answer(fake_discord, interaction)
    assert answer["content"].startswith("arXiv") and "try again" in answer["content"]
    assert answer["flags"] == EPHEMERAL and public(fake_discord) == []
    assert not any("✅" in json.dumps(c.body, ensure_ascii=False) for c in fake_discord.calls if c.body)


async def test_subscriptions_add_list_remove(bot, fake_discord, chat_stack):
    """/subscriptions add, list and remove manage this channel's subscription in the store; each answer is
    the asker's alone."""
    added = await fake_discord.send_command(
        "subscriptions", "add", name="rl", query="cat:cs.LG AND abs:reward", time="07:15", timezone="Europe/Berlin"
    )
    answer = await final_answer(fake_discord, added)
    assert "Subscribed this channel: rl: cat:cs.LG AND abs:reward at 07:15 Europe/Berlin" in answer["content"]
    (stored,) = await chat_stack.store.list_subscriptions()
    assert (stored.name, stored.channels, stored.time) == ("rl", (f"discord:{CHANNEL_ID}",), dt.time(7, 15))
    listed = await fake_discord.send_command("subscriptions", "list")
    assert "rl: cat:cs.LG AND abs:reward" in (await final_answer(fake_discord, listed))["content"]
    removed = await fake_discord.send_command("subscriptions", "remove", name="rl")
    assert "Unsubscribed this channel from rl." in (await final_answer(fake_discord, removed))["content"]
    assert await chat_stack.store.list_subscriptions() == []
    assert [c.body["type"] for c in fake_discord.find("POST", CALLBACK)] == [5, 5, 5]
    assert public(fake_discord) == [] and all(
        c.body["allowed_mentions"] == NONE for c in fake_discord.find("PATCH", ORIGINAL)
    )


async def test_expired_interaction_falls_back_to_a_channel_message(bot, fake_discord, caplog):
    """When the interaction token has died (401 on its webhook) the answer is posted in the channel by the
    bot, and the log says so once (row 14)."""
    fake_discord.expire_interactions()
    await fake_discord.send_command("digest", query="cat:cs.CL", max=1)
    (parent,) = await fake_discord.wait_calls("POST", rf"/channels/{CHANNEL_ID}/messages", timeout=20)
    assert parent.body["embeds"][0]["title"] == "arXiv digest: cat:cs.CL: 2025-05-28"
    assert parent.body["allowed_mentions"] == NONE
    await fake_discord.wait_calls("POST", r"/channels/\d+/messages/\d+/threads")
    await fake_discord.wait_for(lambda: len(fake_discord.find("POST", MESSAGES, ok=True)) == 2)
    assert fake_discord.find("POST", FOLLOWUP, ok=True) == []
    assert len(fake_discord.find("PATCH", ORIGINAL)) == 1  # the first dead answer switched to the channel
    assert caplog.text.count("expired before its answer was ready") == 1


async def test_digest_help_describes_the_discord_commands(sender, fake_discord):
    """/digest query:help answers with the Discord commands (not the text-command help), to the asker alone."""
    answer = await final_answer(fake_discord, await fake_discord.send_command("digest", query="help"))
    assert "/subscriptions add name:nlp query:cat:cs.CL — post a digest here" in answer["content"]
    assert answer["flags"] == EPHEMERAL and public(fake_discord) == []


def test_command_options_become_typed_commands():
    """Slash command options become the core's typed commands, never text: any query is a search."""
    assert digest_command("cat:cs.CL AND abs:reasoning", 3, 5, "zh_cn") == AdhocDigest(
        "cat:cs.CL AND abs:reasoning", days=3, max_papers=5, language=Language("zh-CN")
    )
    assert digest_command(None, None, None, None) == ChannelDigest()
    for word in ["list", "subscribe", "unsubscribe", "it's $(x) --max 3"]:
        assert digest_command(word, None, None, None) == AdhocDigest(word)
    assert digest_command(" Help ", None, None, None) == HELP
    assert digest_command("cat:cs.CL", None, None, "Klingon") == (
        "'Klingon' is not a language code like en, zh or pt-BR. See /digest help."
    )
    command = typed(lambda: Subscribe.from_options("rl", "it's $(x)", time="7:15", weekdays="mon,fri"))
    assert command == Subscribe("rl", "it's $(x)", time=dt.time(7, 15), weekdays=(0, 4))


async def test_digest_query_list_searches_arxiv_for_list(bot, fake_discord, chat_stack):
    """`/digest query:list` is an arXiv search for "list" (the option is never re-parsed as a subcommand)."""
    await fake_discord.send_command("digest", query="list", max=1)
    (parent,) = await fake_discord.wait_calls("POST", rf"/channels/{CHANNEL_ID}/messages", timeout=20)
    (search,) = [parse_qs(urlsplit(path).query)["search_query"][0] for path in chat_stack.arxiv.paths]
    assert search.startswith("(list) AND submittedDate:")
    assert parent.body["embeds"][0]["title"] == "arXiv digest: list: 2025-05-28"


# ---- sending: rate limits, failures, big digests (no database needed)


async def test_rate_limited_post_waits_as_told_and_is_sent_once(sender, fake_discord):
    """429 with retry_after 0.5, then 200: discord.py waits ~0.5 s and the message is sent once (row 13)."""
    fake_discord.rate_limit("POST", rf"/channels/{CHANNEL_ID}/messages", retry_after=0.5)
    ids = await sender.publisher.post_digest(str(CHANNEL_ID), digest_of(0))
    limited, sent = fake_discord.find("POST", MESSAGES)
    assert (limited.status, sent.status) == (429, 200) and sent.at - limited.at >= 0.5
    assert ids == [sent.response["id"]]


async def test_missing_access_is_one_log_line_and_never_retried(sender, fake_discord, caplog):
    """403 Missing Access: PublishError, one clear log line, the channel marked failed, no second request (row 13)."""
    fake_discord.forbid(CHANNEL_ID)
    for _ in range(2):
        with pytest.raises(PublishError, match=str(CHANNEL_ID)):
            await sender.publisher.post_digest(f"discord:{CHANNEL_ID}", digest_of(2))
    assert len(fake_discord.find("POST", rf"/channels/{CHANNEL_ID}/.*")) == 1
    (line,) = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert "cannot post to channel" in line and "Missing Access" in line and "not retrying" in line
    assert sender.publisher.is_failed(CHANNEL_ID) and TOKEN not in caplog.text


async def test_sixty_paper_digest_posts_in_order_within_limits(sender, fake_discord):
    """A 60-paper digest: the parent, a thread from it, then every card once, in order, in messages within
    Discord's limits; the ids returned are the messages', in order (row 36)."""
    seen: list[str] = []

    async def on_sent(message_id: str) -> None:
        seen.append(message_id)

    ids = await sender.publisher.post_digest(str(CHANNEL_ID), digest_of(60), on_sent=on_sent)
    sent = fake_discord.sent_messages()
    assert ids == seen == [c.response["id"] for c in sent]
    parent, *cards = sent
    (thread,) = fake_discord.find("POST", rf"/channels/{CHANNEL_ID}/messages/{ids[0]}/threads")
    assert thread.body["name"] == "nlp: 2025-05-28"
    assert all(c.path == f"/channels/{ids[0]}/messages" for c in cards)  # the thread has the parent's id
    assert card_numbers(cards) == list(range(1, 61)) and len(cards) == len(ids) - 1 >= 6
    for call in cards:
        assert len(call.body["embeds"]) <= 10 and sum(map(embed_length, call.body["embeds"])) <= EMBED_TOTAL_LIMIT
        assert call.body["allowed_mentions"] == NONE


async def test_interrupted_digest_resumes_after_what_was_sent(sender, fake_discord):
    """Stopped after 3 messages, then resumed from their ids: every card posted once, in the thread (row 36)."""

    class Stop(Exception):
        pass

    async def stop_after_three(message_id: str) -> None:
        if len(fake_discord.sent_messages()) == 3:
            raise Stop

    recorded: list[str] = []

    async def record_then_stop(message_id: str) -> None:
        recorded.append(message_id)
        await stop_after_three(message_id)

    digest = digest_of(60)
    with pytest.raises(Stop):
        await sender.publisher.post_digest(str(CHANNEL_ID), digest, on_sent=record_then_stop)
    rest = await sender.publisher.post_digest(str(CHANNEL_ID), digest, already_sent=recorded)
    sent = fake_discord.sent_messages()
    assert len(rest) == len(sent) - 3
    assert card_numbers(sent) == list(range(1, 61))
    assert len({call.path for call in sent[1:]}) == 1 and sent[1].path != sent[0].path  # all cards in the thread


async def test_channel_without_thread_permission_gets_the_cards_after_the_parent(sender, fake_discord):
    """Where the bot may not start threads, the cards follow the parent in the channel, with no 403 asked for."""
    ids = await sender.publisher.post_digest(str(PLAIN_CHANNEL_ID), digest_of(3))
    assert fake_discord.find("POST", r".*/threads") == []
    assert [c.path for c in fake_discord.sent_messages()] == [f"/channels/{PLAIN_CHANNEL_ID}/messages"] * len(ids)
    assert card_numbers(fake_discord.sent_messages()) == [1, 2, 3]


async def test_allowed_mentions_none_is_the_client_default(sender):
    """The client itself defaults to no mentions, under the per-send setting."""
    assert sender.client.allowed_mentions is not None
    assert sender.client.allowed_mentions.to_dict() == discord.AllowedMentions.none().to_dict()


async def test_digest_messages_carry_a_stable_nonce(sender, fake_discord):
    """Each digest message has a nonce with enforce_nonce, the same when the same digest is posted again."""
    digest = digest_of(3)
    await sender.publisher.post_digest(str(CHANNEL_ID), digest)
    first = [(c.body.get("nonce"), c.body.get("enforce_nonce")) for c in fake_discord.sent_messages()]
    await sender.publisher.post_digest(str(CHANNEL_ID), digest)
    second = [(c.body.get("nonce"), c.body.get("enforce_nonce")) for c in fake_discord.sent_messages()][len(first) :]
    assert first == second and len({nonce for nonce, _ in first}) == len(first)
    assert all(nonce and enforce is True for nonce, enforce in first)
