"""Scheduled digest posts, exactly once: the ledger (database) decides, the scheduler only ticks.

For each due (subscription, channel, local date) a run is claimed before anything is posted. A run
records each message the platform accepted; a clean stop leaves it `interrupted` (resumable from the
next message, at once, here or in another process), a crash leaves it `sending`, which becomes
`ambiguous` for a person to check: Paperboy never reposts what it cannot prove was not posted.

A clean stop (drain) starts no new run, cancels a run still being built (nothing was posted, so it is
released at once) and lets a run that is posting finish its current message: recording a message the
platform accepted is shielded from cancellation, so it never lands between "accepted" and "recorded".
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from typing import Any, TypeVar

from bot.core.digest import DigestService
from bot.core.errors import BadQuery, LostClaim, PaperboyError, PublishError, StorageUnavailable
from bot.core.models import Digest, DigestRun, Paper, Subscription
from bot.core.ports import Publisher, RunLedger
from bot.core.schedule import announced_window, due_dates, missed_dates, scheduled_at
from bot.core.summaries import utc_now

log = logging.getLogger(__name__)

T = TypeVar("T")
Window = tuple[dt.datetime, dt.datetime]


class StopPosting(Exception):
    """Raised from on_sent when a stop was requested: the publisher stops after the message just recorded."""


class _StoppedBuilding(Exception):
    """A stop was requested while the digest was being built: the build was cancelled, nothing was posted."""


class _NotRecorded(Exception):
    """The platform accepted a message that could not be recorded. Not a PaperboyError on purpose: the run
    must not be treated as "not posted" and resumed (that message would be posted twice)."""

    def __init__(self, message_id: str, cause: BaseException) -> None:
        super().__init__(f"message {message_id}: {cause}")


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
        self._stop_requested = asyncio.Event()
        self._reported_missed: set[tuple[str, str, dt.date]] = set()
        self._troubles: dict[str, str] = {}  # subscription name -> why its last tick failed
        self._working: list[asyncio.Task[Any]] = []  # one entry per _busy() block being run
        self._idle = asyncio.Event()
        self._idle.set()
        self._recording: set[asyncio.Task[None]] = set()

    @contextlib.asynccontextmanager
    async def _busy(self) -> AsyncIterator[None]:
        task = asyncio.current_task()
        assert task is not None
        self._working.append(task)
        self._idle.clear()
        try:
            yield
        finally:
            self._working.remove(task)
            if not self._working:
                self._idle.set()

    def subscription_errors(self) -> dict[str, str]:
        """Subscriptions whose last tick failed (a time zone this host does not know, ...), with why."""
        return dict(self._troubles)

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
            subscriptions = await self._subscriptions()
            names = {sub.name for sub in subscriptions}
            self._troubles = {name: why for name, why in self._troubles.items() if name in names}  # deleted ones
            for sub in subscriptions:
                if self._stopping:
                    break
                await self._tick_one(sub, now)

    async def _tick_one(self, sub: Subscription, now: dt.datetime) -> None:
        """One subscription's share of a tick. Its failure is its own (row 42): the others still post, and
        it is logged once (not every tick) and reported by subscription_errors()."""
        try:
            due = due_dates(sub, now, grace=self._times.grace, late_after=self._times.late_after)
        except Exception as exc:  # a time zone this host's tz data lacks, a time it cannot place
            self._trouble(sub, f"cannot be scheduled on this host ({_reason(exc)}); fix its timezone or delete it")
            return
        try:
            for local_date, late in due:
                await self.post(sub, local_date, late=late)
            await self._report_missed(sub, now)
        except StorageUnavailable:
            raise  # not this subscription's fault: the whole tick waits for the database
        except Exception as exc:
            log.debug("subscription %s failed", sub.name, exc_info=True)
            self._trouble(sub, f"failed ({_reason(exc)}); retrying at the next tick")
            return
        if self._troubles.pop(sub.name, None) is not None:
            log.info("subscription %s is scheduled again", sub.name)

    def _trouble(self, sub: Subscription, why: str) -> None:
        if self._troubles.get(sub.name) != why:
            log.error("subscription %s %s", sub.name, why)
        self._troubles[sub.name] = why

    async def _report_missed(self, sub: Subscription, now: dt.datetime) -> None:
        """One log line per digest that was due longer ago than the grace window and never posted, in a channel
        that had this subscription's digest before that date. The days before a channel's first digest were not
        missed: the subscription did not exist yet, or was just added (the schema keeps no creation time, and
        a run is the first trace of it). A channel whose every earlier day was empty and unposted has no such
        trace either, and is not warned about."""
        for local_date in missed_dates(sub, now, grace=self._times.grace):
            for channel in sub.channels:
                key = (sub.name, channel, local_date)
                if key in self._reported_missed:
                    continue
                self._reported_missed.add(key)
                if await self._ledger.has_run(sub.name, channel, local_date):
                    continue
                if await self._ledger.last_window_end(sub.name, channel, before=local_date) is not None:
                    log.warning(
                        "digest %s for %s on %s was missed (the bot was down past the %s grace window); skipped",
                        sub.name, channel, local_date, self._times.grace,
                    )  # fmt: skip

    async def post(self, sub: Subscription, local_date: dt.date, *, late: bool = False) -> list[DigestRun]:
        """Post `sub`'s digest for `local_date` to each channel whose run this process claims."""
        runs = []
        candidates: dict[Window, list[Paper]] = {}  # one arXiv search per window
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

    async def _post_run(self, sub: Subscription, run: DigestRun, candidates: dict[Window, list[Paper]]) -> DigestRun:
        platform, raw_channel = split_channel(run.channel)
        publisher = self._publishers.get(platform)
        where = f"digest {sub.name} for {run.channel} on {run.local_date}"
        if publisher is None:
            return await self._finish(
                run, "failed", f"{where}: no {platform} platform is enabled; enable it or fix the channel"
            )
        # Until start_sending nothing is posted: any failure (or a stop) releases the run for the next tick.
        try:
            digest, window = await self._unless_stopped(self._build(sub, run.channel, run.local_date, candidates))
        except _StoppedBuilding:
            return await self._finish(
                run, "interrupted", f"{where}: stopped while it was being built; the next start posts it",
                level=logging.WARNING,
            )  # fmt: skip
        except BadQuery as exc:
            return await self._finish(run, "failed", f"{where}: arXiv rejected the query ({exc}); fix the query")
        except PaperboyError as exc:
            return await self._finish(run, "interrupted", f"{where}: could not be built ({exc}); will retry")
        except Exception as exc:
            log.debug("%s: building failed", where, exc_info=True)
            return await self._finish(run, "interrupted", f"{where}: could not be built ({_reason(exc)}); will retry")
        if not digest.papers and not sub.post_when_empty:
            return await self._finish(run, "empty", f"{where}: no new papers; nothing posted", level=logging.INFO)
        if self._stopping:
            return await self._finish(
                run, "interrupted", f"{where}: stopping before it was posted; the next start posts it",
                level=logging.WARNING,
            )  # fmt: skip
        try:
            await self._ledger.start_sending(run, window_end=window[1], lease_until=self._lease_end())
        except LostClaim:
            log.warning("%s: another process took it over while it was being built; not posting it here", where)
            return dataclasses.replace(run, state="taken over")
        except StorageUnavailable as exc:
            return await self._finish(run, "interrupted", f"{where}: {exc}; nothing was posted, retrying")

        async def on_sent(message_id: str) -> None:
            try:
                await self._record(run, message_id)
            except Exception as exc:
                raise _NotRecorded(message_id, exc) from exc
            if self._stopping:
                raise StopPosting

        try:
            await publisher.post_digest(raw_channel, digest, already_sent=run.message_ids, on_sent=on_sent)
        except StopPosting:
            return await self._finish(
                run, "interrupted", f"{where}: stopped mid-way; the next start sends the rest", level=logging.WARNING
            )
        except _NotRecorded as exc:
            log.error(
                "%s: the platform accepted %s, but it could not be recorded; left as sending, to become "
                "ambiguous (never reposted): check the channel", where, exc,
            )  # fmt: skip
            return dataclasses.replace(run, state="sending")
        except PublishError as exc:
            return await self._finish(run, "failed", f"{where}: {exc}")
        except PaperboyError as exc:
            # The platform answered "not accepted" (rate limited, unavailable): what it accepted is recorded.
            return await self._finish(run, "interrupted", f"{where}: {exc}; the rest is retried at the next tick")
        except Exception:
            log.exception("%s: posting failed; left as sending, to become ambiguous", where)
            return dataclasses.replace(run, state="sending")
        try:
            await self._ledger.record_posted_papers(run.channel, [p.paper.arxiv_id for p in digest.papers])
        except StorageUnavailable as exc:
            log.error("%s: posted, but which papers it had could not be recorded (%s); a later digest may repeat "
                      "them", where, exc)  # fmt: skip
        late = " (late)" if run.late else ""
        return await self._finish(
            run, "sent", f"{where}: posted{late}, {len(digest.papers)} papers", level=logging.INFO
        )

    async def _build(
        self, sub: Subscription, channel: str, local_date: dt.date, candidates: dict[Window, list[Paper]]
    ) -> tuple[Digest, Window]:
        since = await self._ledger.last_window_end(sub.name, channel, before=local_date)
        # What arXiv had announced by the digest's own time (or by now, if that is still ahead): a late,
        # resumed or back-dated run gets the same papers as on time.
        window = announced_window(min(self._now(), scheduled_at(sub, local_date)), since)
        request = dataclasses.replace(
            sub.request_for(local_date),
            window=window,
            skip_ids=frozenset(await self._ledger.posted_paper_ids(channel)),
            channel=channel,  # one search per window for all the channels; each ranks it by its own taste
        )
        if window not in candidates:
            candidates[window] = await self._digests.candidates(request)
        return await self._digests.build(request, candidates=candidates[window]), window

    async def prepare(self, sub: Subscription, local_date: dt.date) -> int:
        """Build `sub`'s digest for `local_date` for each channel exactly as its post will, claiming nothing
        and publishing nothing: the papers are read and summarized into the cache, so the post, at its time,
        is one arXiv search and cache hits. Returns how many distinct papers the digests hold."""
        candidates: dict[Window, list[Paper]] = {}  # one arXiv search per window, as in post()
        papers: set[str] = set()
        for channel in sub.channels:
            digest, _ = await self._build(sub, channel, local_date, candidates)
            papers.update(p.paper.arxiv_id for p in digest.papers)
        return len(papers)

    async def _unless_stopped(self, work: Coroutine[Any, Any, T]) -> T:
        """Await `work`, unless a stop is requested first: then cancel it and raise _StoppedBuilding."""
        task = asyncio.ensure_future(work)
        stop = asyncio.ensure_future(self._stop_requested.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not task.done():
                task.cancel()
                await asyncio.wait({task})
        if task.cancelled():
            raise _StoppedBuilding
        return task.result()

    async def _record(self, run: DigestRun, message_id: str) -> None:
        """Record a message the platform accepted. Shielded: a cancelled caller does not cancel the record,
        and drain() waits for it, so a clean stop never lands between "accepted" and "recorded"."""
        record = asyncio.ensure_future(self._ledger.record_message(run, message_id, lease_until=self._lease_end()))
        self._recording.add(record)
        record.add_done_callback(self._recording.discard)
        await asyncio.shield(record)

    def _lease_end(self) -> dt.datetime:
        return self._now() + self._times.lease

    async def _finish(self, run: DigestRun, state: str, message: str, *, level: int = logging.ERROR) -> DigestRun:
        try:
            await self._ledger.finish_run(run, state=state, error=None if state == "sent" else message)
        except LostClaim:
            log.error("%s [%s], but another process had taken the run over: check the channel", message, state)
            return dataclasses.replace(run, state="taken over")
        except StorageUnavailable as exc:
            log.error(
                "%s [%s], but that could not be recorded (%s): the run stays %s until its lease ends",
                message, state, exc, run.state,
            )  # fmt: skip
            return run
        log.log(level, "%s [%s]", message, state)
        return dataclasses.replace(run, state=state)

    async def drain(self, patience_seconds: float = 60.0) -> None:
        """Stop: start no new run, release a run still being built, let a run that is posting finish its
        current message (recorded) and stop there, resumable; return when all of that is done."""
        self._stopping = True
        self._stop_requested.set()
        try:
            await asyncio.wait_for(self._idle.wait(), patience_seconds)
        except TimeoutError:
            log.error(
                "a digest was still posting %.0f s into shutdown; cancelling it: it will be marked ambiguous",
                patience_seconds,
            )
            for task in set(self._working):
                task.cancel()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), 5)
        # A message the platform accepted is recorded even if its sender was cancelled.
        await asyncio.gather(*self._recording, return_exceptions=True)


def _reason(exc: BaseException) -> str:
    """An exception's first line (KeyError's without its quotes: ZoneInfoNotFoundError is one)."""
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return str(text).strip().splitlines()[0] if str(text).strip() else type(exc).__name__
