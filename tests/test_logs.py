"""Secrets never reach a log line, whatever the level (row 37)."""

import io
import logging

import pytest

from bot.logs import QUIET_LIBRARIES, RedactingFormatter, setup_logging
from handlers.discord import DiscordPlatform
from tests.fakes.discord_server import TOKEN as DISCORD_TOKEN
from tests.fakes.slack_server import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET
from tests.test_slack_platform import running

SECRETS = ["xoxb-1234-5678-abcdefghijkl", "xapp-1-A0-123-abcdef", "sk-proj-abcdefghijklmnop", "plain-signing-secret"]


def format_record(message: str, *args, exc_info=None) -> str:
    formatter = RedactingFormatter("%(message)s", ["plain-signing-secret"])
    record = logging.LogRecord("t", logging.DEBUG, __file__, 1, message, args, exc_info)
    return formatter.format(record)


def test_known_token_shapes_and_configured_secrets_are_redacted():
    """Slack, OpenAI tokens by shape and our own secrets by value become [redacted]."""
    text = format_record("tokens: %s %s %s %s", *SECRETS)
    assert all(secret not in text for secret in SECRETS) and text.count("[redacted]") == 4


def test_secrets_inside_a_traceback_are_redacted():
    """A secret in an exception message, logged with its traceback, is redacted too."""
    try:
        raise RuntimeError("auth failed for xoxb-1234-5678-abcdefghijkl")
    except RuntimeError:
        import sys

        text = format_record("boom", exc_info=sys.exc_info())
    assert "Traceback" in text and "xoxb-1234" not in text


def test_ordinary_words_are_left_alone():
    """'task-specific' and a Discord snowflake are not tokens."""
    text = format_record("a task-specific reward in channel 123456789012345678")
    assert text == "a task-specific reward in channel 123456789012345678"


# -- -v: what the libraries would log (row 37, issue 13 item 7)


@pytest.fixture
def verbose_log():
    """`paperboy -v`'s logging into a buffer; the suite's own logging (the row 37 DEBUG file) comes back after."""
    root = logging.getLogger()
    names = [*QUIET_LIBRARIES, "bot", "handlers", "storage", "paperboy"]
    saved = root.handlers[:], root.level, {name: logging.getLogger(name).level for name in names}
    buffer = io.StringIO()
    setup_logging(verbose=True, secrets=[BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, DISCORD_TOKEN])
    (handler,) = root.handlers
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        root.handlers[:], level, levels = saved
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)


def test_library_debug_lines_are_dropped_whatever_their_logger_level(verbose_log):
    """slack_bolt sets its app logger's level itself (copied from the root at -v): the handler's filter still
    drops its DEBUG lines; its warnings and our own DEBUG lines stay."""
    bolt = logging.getLogger("slack_bolt.AsyncApp")
    bolt.setLevel(logging.DEBUG)
    bolt.debug("Received message (data: %s)", '{"token": "legacy-verification-token"}')
    logging.getLogger("discord.http").debug("POST /channels/1/messages with {'content': 'hi'} has returned 200")
    bolt.warning("The session seems to be closed")
    logging.getLogger("handlers.discordance").debug("our own line, though its name starts like a library's")
    logging.getLogger("bot.clients.arxiv").debug("arXiv GET http://127.0.0.1/api/query")
    text = verbose_log.getvalue()
    assert "legacy-verification-token" not in text and "has returned" not in text
    assert "seems to be closed" in text and "our own line" in text and "arXiv GET" in text


TALK = "could you read https://arxiv.org/abs/2505.22653 before the Thursday reading group"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_verbose_slack_socket_mode_logs_no_payload_token_or_socket_url(verbose_log, fake_slack, chat_stack):
    """A message and a /digest over Socket Mode at -v: bolt and slack_sdk would log the person's text, the
    legacy verification token, the Socket Mode URL (a connection ticket), our reply and the response_url."""
    command = fake_slack.command("help")
    async with running(fake_slack, chat_stack, "socket"):
        await fake_slack.send_envelope("events_api", fake_slack.message_event(TALK))
        await fake_slack.wait_for(lambda: fake_slack.posted, what="the reply")
        await fake_slack.send_envelope("slash_commands", command)
        await fake_slack.wait_for(lambda: fake_slack.responses, what="the /digest help answer")
    text = verbose_log.getvalue()
    assert " DEBUG bot.clients.arxiv: arXiv GET" in text  # -v still shows our own DEBUG lines
    for private in ("Thursday reading group", "fake-verification-token", "/socket?ticket=", command["response_url"],
                    "The Climb Carves Wisdom", "Paste an arXiv link"):  # fmt: skip
        assert private not in text


async def test_verbose_discord_logs_no_message_or_gateway_event(verbose_log, fake_discord):
    """discord.py's DEBUG lines carry REST bodies and gateway events: the person's message, our reply."""
    platform = DiscordPlatform(
        chat=EchoChat(), events=MemoryEvents(), token=DISCORD_TOKEN, api_url=fake_discord.api_url,
        gateway_url=fake_discord.gateway_url, guild_ids=(), guild_ready_timeout=0.05, start_timeout=10,
    )  # fmt: skip
    await platform.start()
    try:
        await fake_discord.send_message(TALK)
        await fake_discord.wait_calls("POST", r"/channels/\d+/messages")
    finally:
        await platform.stop()
    text = verbose_log.getvalue()
    assert "Discord: connected as" in text
    assert "Thursday reading group" not in text and EchoChat.ANSWER not in text


class MemoryEvents:
    def __init__(self) -> None:
        self.keys: set[str] = set()

    async def claim_event(self, key: str) -> bool:
        fresh = key not in self.keys
        self.keys.add(key)
        return fresh


class EchoChat:
    """A chat that answers every message with one fixed text (what is answered is not this test's concern)."""

    ANSWER = "an answer only Discord should see"

    async def handle_message(self, message, reply) -> bool:
        await reply.text(self.ANSWER)
        return True
