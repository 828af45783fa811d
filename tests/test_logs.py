"""Secrets never reach a log line, whatever the level (row 37); a console session's log stays out of the
conversation (issue 12)."""

import asyncio
import io
import logging
import os
import pty
import re
import sys

import pytest

from bot.core.chat import SHORT_HELP
from bot.logs import QUIET_LIBRARIES, RedactingFormatter, setup_logging
from handlers.console.platform import BANNER
from handlers.discord import DiscordPlatform
from tests.fakes.discord_server import TOKEN as DISCORD_TOKEN
from tests.fakes.slack_server import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET
from tests.test_cli import env, paperboy  # noqa: F401 - env is a fixture
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


# -- the console: a conversation, not a log (issue 12 item 2)

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) ", re.MULTILINE)
# A link, a digest, an error (a paper arXiv does not have), chatter, on a new database (its schema is created at
# start, which logs at INFO); "now" is the morning after the corpus was announced.
TRANSCRIPT = "please read https://arxiv.org/abs/2505.22653\n/digest cat:cs.CL --max 1\n2512.99999\nthanks!\n"
CORPUS_NOW = "2025-05-29T06:00:00Z"


def assert_conversation(out: str, err: str) -> None:
    """Each question answered on standard output; standard error has only progress notes."""
    assert "The Climb Carves Wisdom" in out and "arXiv digest: cat:cs.CL" in out
    assert "arXiv has no paper 2512.99999" in out
    assert LOG_LINE.search(out) is None and LOG_LINE.search(err) is None, err
    assert all(line.startswith("… ") for line in err.splitlines()), err


async def test_chat_transcript_has_answers_and_no_log_line(env, tmp_path):  # noqa: F811
    """`paperboy chat` with a link, a digest and an error piped in: answers on standard output, progress notes
    on standard error, and not one log line on either, though the database was created at start."""
    code, out, err = await paperboy("chat", env={**env, "PAPERBOY_CLOCK_START": CORPUS_NOW}, cwd=tmp_path,
                                    stdin=TRANSCRIPT)  # fmt: skip
    assert code == 0, err
    assert_conversation(out, err)
    assert not (tmp_path / "paperboy.log").exists()


async def test_chat_at_verbose_logs_to_a_file_and_says_where(env, tmp_path):  # noqa: F811
    """-v: the debug log goes to paperboy.log in the current directory, which start-up names in one line;
    the conversation stays as it was."""
    code, out, err = await paperboy("chat", "-v", env={**env, "PAPERBOY_CLOCK_START": CORPUS_NOW}, cwd=tmp_path,
                                    stdin=TRANSCRIPT)  # fmt: skip
    assert code == 0, err
    first, *rest = err.splitlines()
    assert first == f"paperboy: the debug log goes to {tmp_path / 'paperboy.log'}"
    assert_conversation(out, "\n".join(rest))
    logged = (tmp_path / "paperboy.log").read_text(encoding="utf-8")
    assert " INFO storage.migrations: database schema upgraded" in logged
    assert " DEBUG bot.clients.arxiv: arXiv GET" in logged and env["OPENAI_API_KEY"] not in logged


@pytest.mark.parametrize("command", ["chat", "run"])
async def test_a_console_session_in_a_terminal_starts_with_one_line(env, tmp_path, command):  # noqa: F811
    """On a terminal (a pseudo-terminal here), `paperboy chat`, and `paperboy run` with no chat platform
    enabled, print the banner alone at start (no schema, scheduler or connection lines); then the
    conversation, and Ctrl-D ends it with exit status 0."""
    controller, terminal = pty.openpty()
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", command, stdin=terminal, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env={**env, "PAPERBOY_CLOCK_START": CORPUS_NOW}, cwd=tmp_path,
        )  # fmt: skip
        os.close(terminal)
        os.write(controller, TRANSCRIPT.encode() + b"\x04")  # the lines, then Ctrl-D (end of input)
        out, err = await asyncio.wait_for(proc.communicate(), timeout=90)
    finally:
        os.close(controller)
    assert proc.returncode == 0, err
    banner, *rest = err.decode().splitlines()
    assert banner == BANNER
    assert_conversation(out.decode(), "\n".join(rest))
    assert out.decode().endswith(f"{SHORT_HELP}\n")  # "thanks!" on a terminal: the short help


def test_console_sessions_show_only_warnings_on_the_terminal(tmp_path, monkeypatch):
    """setup_logging(console=True): the terminal handler passes warnings only and our INFO lines are not even
    made; at -v a file handler takes everything, redacted."""
    root = logging.getLogger()
    names = ["bot", "handlers", "storage", "paperboy", *QUIET_LIBRARIES]
    saved = root.handlers[:], root.level, {name: logging.getLogger(name).level for name in names}
    monkeypatch.chdir(tmp_path)
    try:
        assert setup_logging(verbose=False, secrets=[], console=True) is None
        (terminal,) = root.handlers
        assert terminal.level == logging.WARNING and not logging.getLogger("bot.core.chat").isEnabledFor(logging.INFO)
        log_file = setup_logging(verbose=True, secrets=["plain-signing-secret"], console=True)
        assert log_file == tmp_path / "paperboy.log"
        terminal, to_file = root.handlers
        assert terminal.level == logging.WARNING and to_file.level == logging.NOTSET
        logging.getLogger("bot.core.chat").debug("signed with plain-signing-secret")
        to_file.flush()
        assert "DEBUG bot.core.chat: signed with [redacted]" in log_file.read_text(encoding="utf-8")
    finally:
        for handler in root.handlers:
            if handler not in saved[0]:
                handler.close()
        root.handlers[:], level, levels = saved
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)
