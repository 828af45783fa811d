"""APScheduler ticks the digest poster; it holds no logic of its own.

The tick is level-triggered (every `tick_seconds` it posts whatever is due and not yet claimed), so
a missed fire, a restart or a second process changes nothing: the database decides. A second job
starts reading ahead the digests coming up (bot.core.readahead); it never holds up the post tick.
"""

from __future__ import annotations

import datetime as dt
import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.core.errors import StorageUnavailable
from bot.core.ports import EventLog
from bot.core.posting import DigestPoster
from bot.core.readahead import ReadAhead

log = logging.getLogger(__name__)


# Chat deliveries are remembered this long for dedupe; Slack and Discord redeliver within minutes.
EVENT_MEMORY = dt.timedelta(days=7)


class DigestScheduler:
    def __init__(
        self,
        poster: DigestPoster,
        *,
        tick_seconds: float,
        events: EventLog | None = None,
        read_ahead: ReadAhead | None = None,
    ) -> None:
        self._poster = poster
        self._read_ahead = read_ahead
        self._tick_seconds = tick_seconds
        self._events = events
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
        if self._read_ahead is not None:
            self._scheduler.add_job(
                self.read_ahead,
                IntervalTrigger(seconds=self._tick_seconds),
                id="read-ahead",
                next_run_time=dt.datetime.now(dt.UTC),
                max_instances=1,
                coalesce=True,
            )
        if self._events is not None:
            self._scheduler.add_job(self.forget_old_events, IntervalTrigger(hours=24), id="forget-events")
        self._scheduler.start()
        log.info("scheduler started: checking for due digests every %g s", self._tick_seconds)

    async def tick(self) -> None:
        """One tick; a failure (the database down, row 34) is logged and the next tick tries again."""
        try:
            await self._poster.tick()
        except StorageUnavailable as exc:
            # The database is down (rows 34, 44): nothing was posted without a claim; the next tick retries.
            log.error("digest tick failed: %s; retrying at the next tick", exc)
        except Exception:
            log.exception("digest tick failed; retrying at the next tick")

    async def read_ahead(self) -> None:
        """Start preparing the digests coming up (each in its own task: this returns at once)."""
        assert self._read_ahead is not None
        try:
            await self._read_ahead.tick()
        except StorageUnavailable as exc:  # the post tick reports the database being down
            log.debug("reading ahead failed: %s; retrying at the next tick", exc)
        except Exception:
            log.exception("reading ahead failed; retrying at the next tick")

    def subscription_errors(self) -> dict[str, str]:
        """Subscriptions that cannot be scheduled or keep failing, with why (for /healthz)."""
        return self._poster.subscription_errors()

    async def forget_old_events(self) -> None:
        assert self._events is not None
        try:
            forgotten = await self._events.forget_events(dt.datetime.now(dt.UTC) - EVENT_MEMORY)
        except Exception:
            log.exception("forgetting old chat deliveries failed; trying again tomorrow")
            return
        log.info("forgot %d chat deliveries older than %s", forgotten, EVENT_MEMORY)

    async def stop(self) -> None:
        """No new tick starts; the one running finishes its current message, records it and leaves its run
        resumable (a run still being built is released). Only then are the timers shut down: APScheduler's
        shutdown cancels running jobs, which could land between "accepted" and "recorded"."""
        if self._scheduler.running:
            self._scheduler.pause()
        if self._read_ahead is not None:
            await self._read_ahead.stop()
        await self._poster.drain()
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
