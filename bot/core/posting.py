"""Scheduled digest posts, exactly once: the ledger (database) decides, the scheduler only ticks.

For each due (subscription, channel, local date) a run is claimed before anything is posted. A run
records each message the platform accepted; a clean stop leaves it `interrupted` (resumable from the
next message), a crash leaves it `sending`, which becomes `ambiguous` for a person to check:
Paperboy never reposts what it cannot prove was not posted.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from bot.core.digest import DigestService
from bot.core.errors import LostClaim, PaperboyError, PublishError
from bot.core.models import DigestRun, Paper, Subscription
from bot.core.ports import Publisher, RunLedger
from bot.core.schedule import announced_window, due_dates, missed_dates, scheduled_at
from bot.core.summaries import utc_now

log = logging.getLogger(__name__)


class StopPosting(Exception):
    """Raised from on_sent when a stop was requested: the publisher stops after the message just recorded."""


@dataclasses.dataclass(frozen=True)
class PostTimes:
    grace: dt.timedelta = dt.timedelta(hours=6)  # a missed digest is still posted (late) this long after
    lease: dt.timedelta = dt.timedelta(minutes=15)  # how long a claimed or sending run is ours
    late_after: dt.timedelta = dt.timedelta(minutes=2)  # posted this long after its time: marked late


def split_channel(channel: str) -> tuple[str, str]:
    """ "slack:C0123" -> ("slack", "C0123"); "console" -> ("console", "console")."""
    platform, _, raw = channel.partition(":")
    return platform, raw or platform


class DigestPoster:
    def __init__(
        self,
        *,
        digests: DigestService,
        ledger: RunLedger,
        publishers: Mapping[str, Publisher],
        subscriptions: Callable[[], Awaitable[list[Subscription]]],
        times: PostTimes = PostTimes(),
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._digests, self._ledger = digests, ledger
        self._publishers = publishers
        self._subscriptions = subscriptions
        self._times = times
        self._now = now
        self._stopping = False
        self._reported_missed: set[tuple[str, str, dt.date]] = set()
        self._active = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.asynccontextmanager
    async def _busy(self) -> AsyncIterator[None]:
        self._active += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._active -= 1
            if self._active == 0:
                self._idle.set()

    async def tick(self) -> None:
        """Post every digest that is due (catching up within the grace window). Safe to run anywhere, any time."""
        if self._stopping:
            return
        async with self._busy():
            now = self._now()
            for run in await self._ledger.expire_sending(now):
                log.error(
                    "digest %s for %s on %s was interrupted while posting (%d messages recorded); "
                    "not reposting: check the channel and post it by hand if it is incomplete",
                    run.subscription, run.channel, run.local_date, len(run.message_ids),
                )  # fmt: skip
            for sub in await self._subscriptions():
                for local_date, late in due_dates(sub, now, grace=self._times.grace, late_after=self._times.late_after):
                    await self.post(sub, local_date, late=late)
                await self._report_missed(sub, now)

    async def _report_missed(self, sub: Subscription, now: dt.datetime) -> None:
        """One log line per digest that was due longer ago than the grace window and never posted."""
        for local_date in missed_dates(sub, now, grace=self._times.grace):
            for channel in sub.channels:
                key = (sub.name, channel, local_date)
                if key in self._reported_missed:
                    continue
                self._reported_missed.add(key)
                if not await self._ledger.has_run(sub.name, channel, local_date):
                    log.warning(
                        "digest %s for %s on %s was missed (the bot was down past the %s grace window); skipped",
                        sub.name, channel, local_date, self._times.grace,
                    )  # fmt: skip

    async def post(self, sub: Subscription, local_date: dt.date, *, late: bool = False) -> list[DigestRun]:
        """Post `sub`'s digest for `local_date` to each channel whose run this process claims."""
        now = self._now()
        runs = []
        candidates: dict[tuple[dt.datetime, dt.datetime], list[Paper]] = {}  # one arXiv search per window
        async with self._busy():
            for channel in sub.channels:
                if self._stopping:
                    break
                now = self._now()  # each claim's lease starts when it is taken, not when the loop began
                run = await self._ledger.claim_run(
                    sub.name, channel, local_date, late=late, now=now, lease_until=now + self._times.lease
                )
                if run is None:
                    continue  # another process has it, or it is done
                runs.append(await self._post_run(sub, run, candidates))
        return runs

    async def _post_run(
        self, sub: Subscription, run: DigestRun, candidates: dict[tuple[dt.datetime, dt.datetime], list[Paper]]
    ) -> DigestRun:
        platform, raw_channel = split_channel(run.channel)
        publisher = self._publishers.get(platform)
        where = f"digest {sub.name} for {run.channel} on {run.local_date}"
        if publisher is None:
            return await self._finish(
                run, "failed", f"{where}: no {platform} platform is enabled; enable it or fix the channel"
            )
        try:
            since = await self._ledger.last_window_end(sub.name, run.channel, before=run.local_date)
            # What arXiv had announced by the digest's own time (or by now, if that is still ahead): a late,
            # resumed or back-dated run gets the same papers as on time.
            window = announced_window(min(self._now(), scheduled_at(sub, run.local_date)), since)
            request = dataclasses.replace(
                sub.request_for(run.local_date),
                window=window,
                skip_ids=frozenset(await self._ledger.posted_paper_ids(run.channel)),
            )
            if window not in candidates:
                candidates[window] = await self._digests.candidates(request)
            digest = await self._digests.build(request, candidates=candidates[window])
        except PaperboyError as exc:
            # Nothing was posted: leave it to be claimed again on a later tick (within the grace window).
            return await self._finish(run, "interrupted", f"{where}: could not be built ({exc}); will retry")
        if not digest.papers and not sub.post_when_empty:
            return await self._finish(run, "empty", f"{where}: no new papers; nothing posted", level=logging.INFO)
        if self._stopping:
            return await self._finish(
                run, "interrupted", f"{where}: stopping before it was posted; resumes at the next start"
            )
        try:
            await self._ledger.start_sending(run, window_end=window[1], lease_until=self._lease_end())
        except LostClaim:
            log.warning("%s: another process took it over while it was being built; not posting it here", where)
            return dataclasses.replace(run, state="taken over")

        async def on_sent(message_id: str) -> None:
            await self._ledger.record_message(run, message_id, lease_until=self._lease_end())
            if self._stopping:
                raise StopPosting

        try:
            await publisher.post_digest(raw_channel, digest, already_sent=run.message_ids, on_sent=on_sent)
        except StopPosting:
            return await self._finish(run, "interrupted", f"{where}: stopped mid-way; resumes at the next start")
        except PublishError as exc:
            return await self._finish(run, "failed", f"{where}: {exc}")
        except PaperboyError as exc:
            # The platform answered "not accepted" (rate limited, unavailable): what it accepted is recorded.
            return await self._finish(run, "interrupted", f"{where}: {exc}; the rest is retried at the next tick")
        except Exception:
            log.exception("%s: posting failed; left as sending, to become ambiguous", where)
            return dataclasses.replace(run, state="sending")
        await self._ledger.record_posted_papers(run.channel, [p.paper.arxiv_id for p in digest.papers])
        late = " (late)" if run.late else ""
        return await self._finish(
            run, "sent", f"{where}: posted{late}, {len(digest.papers)} papers", level=logging.INFO
        )

    def _lease_end(self) -> dt.datetime:
        return self._now() + self._times.lease

    async def _finish(self, run: DigestRun, state: str, message: str, *, level: int = logging.ERROR) -> DigestRun:
        try:
            await self._ledger.finish_run(run, state=state, error=None if state == "sent" else message)
        except LostClaim:
            log.error("%s [%s], but another process had taken the run over: check the channel", message, state)
            return dataclasses.replace(run, state="taken over")
        log.log(level, "%s [%s]", message, state)
        return dataclasses.replace(run, state=state)

    async def drain(self, patience_seconds: float = 60.0) -> None:
        """Stop taking new runs; let the one in flight finish its current message, then return."""
        self._stopping = True
        try:
            await asyncio.wait_for(self._idle.wait(), patience_seconds)
        except TimeoutError:
            log.error("a digest was still posting %.0f s into shutdown; it will be marked ambiguous", patience_seconds)
