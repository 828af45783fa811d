"""Reading ahead: a scheduled digest's papers are read and summarized before its time, so the post takes seconds.

Reading a paper politely takes a turn on arxiv.org's 15 s lane, and summarizing it an LLM call: a morning
digest built at its time would come minutes late. From arXiv's announcement of what the digest covers, or
`lead` before the post time, whichever is later, the digest is built as its post will build it (same window,
same papers skipped per channel) without claiming or publishing anything. The full texts and summaries land
in their caches; at the post time the build is one arXiv search and cache hits. The ledger's claims are
untouched: what is posted, and when, is still decided by the post tick alone.

Each (subscription, local date) is prepared once per process (remembered in memory: after a restart it is
prepared again, from the cache, cheaply). Two processes sharing a database may both prepare the same digest:
harmless, as each one's caches dedupe its own work and the shared arxiv.org lane keeps the two polite together.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import zoneinfo
from collections.abc import Awaitable, Callable

from bot.core.models import Subscription
from bot.core.posting import DigestPoster, _reason
from bot.core.schedule import latest_announcement, scheduled_at
from bot.core.summaries import utc_now

log = logging.getLogger(__name__)

# A prepared digest is remembered this long past its time (longer than any catch-up), then forgotten.
REMEMBER = dt.timedelta(days=2)


def read_ahead_dates(sub: Subscription, now: dt.datetime, lead: dt.timedelta) -> list[tuple[dt.date, dt.datetime]]:
    """The local dates (with their post times) to prepare at `now`: the post is still ahead, at most `lead`
    away, and arXiv has made the announcement it covers (so the window, and the papers, are the post's)."""
    today = now.astimezone(zoneinfo.ZoneInfo(sub.timezone)).date()
    dates = []
    for local_date in (today, today + dt.timedelta(days=1)):
        if local_date.weekday() not in sub.weekdays:
            continue
        at = scheduled_at(sub, local_date)
        if now < at <= now + lead and latest_announcement(at) <= now:
            dates.append((local_date, at))
    return dates


class ReadAhead:
    """Prepares the digests coming up within `lead`, each in a task of its own: tick() returns at once, so the
    post tick is never held up (the LLM's slots and the arxiv.org lane are shared with it as with chat)."""

    def __init__(
        self,
        *,
        poster: DigestPoster,
        subscriptions: Callable[[], Awaitable[list[Subscription]]],
        lead: dt.timedelta,
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._poster, self._subscriptions, self._lead, self._now = poster, subscriptions, lead, now
        self._started: dict[tuple[str, dt.date], dt.datetime] = {}  # (subscription, local date) -> its post time
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopped = False

    async def tick(self) -> None:
        """Start preparing each digest that is coming up and not yet started in this process."""
        now = self._now()
        self._started = {key: at for key, at in self._started.items() if at > now - REMEMBER}
        for sub in await self._subscriptions():
            if self._stopped:
                return
            try:
                dates = read_ahead_dates(sub, now, self._lead)
            except Exception:  # a time zone this host lacks: the post tick reports the subscription
                log.debug("subscription %s: cannot place its next post", sub.name, exc_info=True)
                continue
            for local_date, at in dates:
                if (sub.name, local_date) in self._started:
                    continue
                self._started[sub.name, local_date] = at
                task = asyncio.create_task(self._prepare(sub, local_date, at), name=f"read-ahead {sub.name}")
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _prepare(self, sub: Subscription, local_date: dt.date, at: dt.datetime) -> None:
        where = f"digest {sub.name} on {local_date} (due {at:%H:%M} UTC)"
        try:
            papers = await self._poster.prepare(sub, local_date)
        except Exception as exc:  # never the post's problem: it reads and summarizes at its time instead
            log.debug("%s: reading ahead failed", where, exc_info=True)
            log.warning("%s: reading ahead failed (%s); the post will read the papers itself", where, _reason(exc))
            return
        log.info("%s: %d papers read and summarized ahead of the post", where, papers)

    async def settle(self) -> None:
        """Wait for the preparations under way (tests, benchmarks)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Start no more and cancel those under way: nothing was claimed or posted; the caches keep what is done."""
        self._stopped = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
