"""GET /healthz: each chat platform's connection and the latest digest runs (by subscription), as JSON.

200 when every platform is connected, 503 otherwise (Docker's HEALTHCHECK and load balancers read it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiohttp import web

from bot.core.ports import ChatPlatform, RunLedger

log = logging.getLogger(__name__)


class HealthServer:
    def __init__(self, *, host: str, port: int, platforms: Sequence[ChatPlatform], ledger: RunLedger) -> None:
        self._host, self._port = host, port
        self._platforms = platforms
        self._ledger = ledger
        self._runner: web.AppRunner | None = None

    async def report(self) -> tuple[int, dict[str, object]]:
        platforms = {p.name: {"connected": p.is_connected()} for p in self._platforms}
        subscriptions: dict[str, list[dict[str, object]]] = {}
        for run in await self._ledger.recent_runs(limit=100):
            entry = {"channel": run.channel, "date": run.local_date.isoformat(), "state": run.state, "late": run.late}
            subscriptions.setdefault(run.subscription, []).append(entry)
        healthy = all(p["connected"] for p in platforms.values())
        body = {"status": "ok" if healthy else "degraded", "platforms": platforms, "subscriptions": subscriptions}
        return (200 if healthy else 503), body

    async def _healthz(self, request: web.Request) -> web.Response:
        status, body = await self.report()
        return web.json_response(body, status=status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("health endpoint on http://%s:%d/healthz", self._host, self._port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
