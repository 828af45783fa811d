"""`paperboy run`: every enabled chat platform on one event loop until SIGINT/SIGTERM, then a clean stop."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from bot.config import Config
from bot.wiring import chat_platforms, open_services

log = logging.getLogger("paperboy.run")


async def run_bot(config: Config) -> int:
    config.check_platform_secrets()
    async with open_services(config) as services:
        platforms = chat_platforms(config, services)
        if not platforms:
            # No chat platform enabled: the bot runs on the console.
            from handlers.console import run_console

            return await run_console(services.chat, stdin=sys.stdin, stdout=sys.stdout, stderr=sys.stderr)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        started = []
        try:
            for platform in platforms:
                await platform.start()
                started.append(platform)
                log.info("%s connected", platform.name)
            await stop.wait()
            log.info("stopping: finishing what is in flight")
        finally:
            for platform in reversed(started):
                await platform.stop()
    return 0
