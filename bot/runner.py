"""`paperboy run` and `paperboy post`: chat platforms, the scheduler and the health endpoint on one loop.

`run` goes until SIGINT/SIGTERM (or, on the console platform alone, the end of input), then stops
cleanly: the scheduler first (a digest being posted finishes its current message and is left
resumable), then the health endpoint and the platforms, in reverse order of starting.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import signal
import sys
import zoneinfo
from collections.abc import AsyncIterator

from bot.config import Config
from bot.core.errors import ConfigError
from bot.core.models import DigestRun
from bot.core.ports import ChatPlatform, Publisher
from bot.wiring import Services, chat_platforms, digest_poster, make_clock, open_services, read_ahead
from handlers.console import ConsolePublisher, run_console

log = logging.getLogger("paperboy.run")


@contextlib.asynccontextmanager
async def connected_platforms(
    config: Config, services: Services, *, receive: bool = True
) -> AsyncIterator[list[ChatPlatform]]:
    """The enabled platforms, connected (or, with receive=False, only able to post); stopped in reverse order."""
    started: list[ChatPlatform] = []
    try:
        for platform in chat_platforms(config, services):
            if receive:
                await platform.start()
                log.info("%s connected", platform.name)
            else:
                await platform.open_for_posting()
            started.append(platform)
        yield started
    finally:
        for platform in reversed(started):
            await platform.stop()


def publishers_for(platforms: list[ChatPlatform]) -> dict[str, Publisher]:
    return {"console": ConsolePublisher(sys.stdout), **{p.name: p.publisher for p in platforms}}


async def run_bot(config: Config) -> int:
    # Only the bot needs these (aiohttp's server, APScheduler), not `paperboy post`.
    from bot.health import HealthServer
    from bot.scheduler import DigestScheduler

    config.check_platform_secrets()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # The arXiv and LLM clients are built before the platforms connect: importing their SDKs later would hold the loop.
    async with open_services(config, now=make_clock(os.environ), clients_at_start=True) as services:
        async with connected_platforms(config, services) as platforms:
            poster = digest_poster(config, services, publishers_for(platforms))
            scheduler = DigestScheduler(
                poster,
                tick_seconds=config.settings.schedule.tick_seconds,
                events=services.store,
                read_ahead=read_ahead(config, services, poster),
            )
            health = None
            if config.settings.health.port:
                health = HealthServer(
                    host=config.settings.health.host,
                    port=config.settings.health.port,
                    platforms=platforms,
                    ledger=services.store,
                    subscription_errors=scheduler.subscription_errors,
                )
                await health.start()
            await scheduler.forget_old_events()  # also at start: its daily job never runs in a bot restarted daily
            scheduler.start()
            try:
                console = None
                if not platforms:
                    # No chat platform enabled: the bot also chats on the console. Ctrl-D in a terminal
                    # ends it; without a terminal (a service, a container) the scheduler runs on regardless.
                    console = asyncio.ensure_future(
                        run_console(services.chat, stdin=sys.stdin, stdout=sys.stdout, stderr=sys.stderr)
                    )
                    if sys.stdin.isatty():
                        console.add_done_callback(lambda _: stop.set())
                await stop.wait()
                if console is not None:
                    console.cancel()
                log.info("stopping: finishing what is in flight")
            finally:
                await scheduler.stop()
                if health is not None:
                    await health.stop()
    return 0


async def post_now(config: Config, name: str, local_date: dt.date | None) -> list[DigestRun]:
    """One subscription's digest now, through the same claims as the schedule (twice posts once)."""
    config.check_platform_secrets()
    async with open_services(config, now=make_clock(os.environ)) as services:
        subs = {sub.name: sub for sub in await services.subscriptions()}
        if name not in subs:
            raise ConfigError(f"no subscription named {name!r} (known: {', '.join(subs) or 'none'})")
        sub = subs[name]
        today = services.now().astimezone(zoneinfo.ZoneInfo(sub.timezone)).date()
        if local_date is not None and local_date > today:
            raise ConfigError(
                f"--date {local_date} is in the future for {name} ({sub.timezone}); it would block that day"
            )
        date = local_date or today
        async with connected_platforms(config, services, receive=False) as platforms:
            poster = digest_poster(config, services, publishers_for(platforms))
            runs = await poster.post(sub, date)
        claimed = {run.channel for run in runs}
        skipped = [
            DigestRun(name, channel, date, "skipped", error="already posted, or claimed by another process")
            for channel in sub.channels
            if channel not in claimed
        ]
        return [*runs, *skipped]
