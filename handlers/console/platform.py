"""Each input line is a chat message; replies go to stdout, progress to stderr (log lines stay out of the
conversation: bot.logs.setup_logging(console=True)). On a terminal, start-up prints one line, the banner."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import TextIO

from bot.core.chat import SHORT_HELP, ChatBot
from bot.core.models import Digest, IncomingMessage, SummaryBatch
from bot.core.questions import Answer
from bot.core.render import answer_text, card_text, error_line, left_out_line, render_digest
from bot.core.sanitize import clean_text

CHANNEL = "console"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
BANNER = "Paperboy console: paste an arXiv link, ask with /ask REF QUESTION, or type /digest help. Ctrl-D quits."


class ConsoleResponder:
    def __init__(self, out: TextIO, err: TextIO) -> None:
        self._out, self._err = out, err

    async def progress(self, message: str) -> None:
        _write_line(self._err, f"… {clean_text(message)}")

    async def answer_progress(self, message: str) -> None:
        await self.progress(message)

    async def cards(self, batch: SummaryBatch) -> None:
        parts = [card_text(paper) for paper in batch.papers]
        parts += [f"⚠ {error_line(e)}" for e in batch.errors]
        if batch.left_out:
            parts.append(f"({left_out_line(batch.left_out)})")
        _write_line(self._out, "\n\n".join(parts) + "\n")

    async def digest(self, digest: Digest) -> None:
        # A large digest takes a few hundred ms to render: off the event loop.
        _write_line(self._out, await asyncio.to_thread(render_digest, digest, "text"))

    async def text(self, message: str) -> None:
        # Terminal control characters out; spacing kept (the help text is laid out in columns).
        _write_line(self._out, _CONTROL.sub("", message))

    async def answer(self, answer: Answer) -> None:
        _write_line(self._out, answer_text(answer) + "\n")


def _write_line(stream: TextIO, text: str) -> None:
    stream.write(text if text.endswith("\n") else text + "\n")
    stream.flush()


def _read_lines(stream: TextIO, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]) -> None:
    # A daemon thread, so a blocked readline never holds up shutdown or the event loop.
    for line in iter(stream.readline, ""):
        loop.call_soon_threadsafe(queue.put_nowait, line)
    loop.call_soon_threadsafe(queue.put_nowait, None)


async def run_console(chat: ChatBot, *, stdin: TextIO, stdout: TextIO, stderr: TextIO) -> int:
    """Answer every line until end of input; exit status 0."""
    interactive = stdin.isatty()
    responder = ConsoleResponder(stdout, stderr)
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    threading.Thread(target=_read_lines, args=(stdin, asyncio.get_running_loop(), queue), daemon=True).start()
    if interactive:
        _write_line(stderr, BANNER)
    while (line := await queue.get()) is not None:
        text = line.strip()
        if not text:
            continue
        message = IncomingMessage(platform="console", channel=CHANNEL, text=text, user="you", addressed=True)
        answered = await chat.handle_message(message, responder)
        if not answered and interactive:  # everything typed here is addressed to the bot, as a mention is
            await responder.text(SHORT_HELP)
    return 0


class ConsolePublisher:
    """Scheduled digests for the `console` channel: printed to standard output as one message."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._count = 0

    async def post_digest(
        self,
        channel: str,
        digest: Digest,
        *,
        already_sent: Sequence[str] = (),
        on_sent: Callable[[str], Awaitable[None]] | None = None,
    ) -> list[str]:
        if already_sent:
            return []
        _write_line(self._out, await asyncio.to_thread(render_digest, digest, "text"))
        self._count += 1
        message_id = f"console-{self._count}"
        if on_sent is not None:
            await on_sent(message_id)
        return [message_id]
