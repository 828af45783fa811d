"""APScheduler ticks the digest poster; it holds no logic of its own.

The tick is level-triggered (every `tick_seconds` it posts whatever is due and not yet claimed), so
a missed fire, a restart or a second process changes nothing: the database decides.
"""

from __future__ import annotations

import datetime as dt
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.core.posting import DigestPoster

log = logging.getLogger(__name__)


class DigestScheduler:
    def __init__(self, poster: DigestPoster, *, tick_seconds: float) -> None:
        self._poster = poster
        self._tick_seconds = tick_seconds
        self._scheduler = AsyncIOScheduler(timezone=dt.UTC)

    def start(self) -> None:
        self._scheduler.add_job(
            self.tick,
            IntervalTrigger(seconds=self._tick_seconds),
            id="digest-tick",
            next_run_time=dt.datetime.now(dt.UTC),  # at once: catch up on what was missed while down
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._scheduler.start()
        log.info("scheduler started: checking for due digests every %g s", self._tick_seconds)

    async def tick(self) -> None:
        """One tick; a failure (the database down, row 34) is logged and the next tick tries again."""
        try:
            await self._poster.tick()
        except Exception:
            # The database may be down (row 34): nothing was posted without a claim; the next tick retries.
            log.exception("digest tick failed; retrying at the next tick")

    async def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        await self._poster.drain()
