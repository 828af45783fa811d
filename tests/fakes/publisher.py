"""A publisher for core tests: one message for the parent and one per card; records what it 'sent'."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from bot.core.errors import PublishError
from bot.core.models import Digest


class RecordingPublisher:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []  # (channel, digest title, message text)
        self.failing: dict[str, str] = {}  # channel -> error ("channel_not_found")
        self.crash_after: int | None = None  # raise (as a crash would) after this many accepted messages
        self.delay = 0.0
        self._ids = 0

    def messages(self, digest: Digest) -> list[str]:
        parent = f"{digest.title}: {len(digest.papers)} papers" if digest.papers else f"{digest.title}: no new papers"
        return [parent, *(f"card {p.paper.arxiv_id}" for p in digest.papers)]

    async def post_digest(
        self,
        channel: str,
        digest: Digest,
        *,
        already_sent: Sequence[str] = (),
        on_sent: Callable[[str], Awaitable[None]] | None = None,
    ) -> list[str]:
        if channel in self.failing:
            raise PublishError(f"cannot post to {channel}: {self.failing[channel]}")
        ids = []
        for text in self.messages(digest)[len(already_sent):]:
            await asyncio.sleep(self.delay)
            self._ids += 1
            self.sent.append((channel, digest.title, text))
            if self.crash_after is not None and len(self.sent) >= self.crash_after:
                raise RuntimeError("crash after the platform accepted the message")
            ids.append(str(self._ids))
            if on_sent is not None:
                await on_sent(str(self._ids))
        return ids
