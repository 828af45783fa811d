"""GET /healthz: each chat platform's connection, the latest digest runs (by subscription) and the
subscriptions that cannot be scheduled, as JSON.

200 when every platform is connected, 503 otherwise (Docker's HEALTHCHECK and load balancers read it). A
subscription that cannot be scheduled is reported but does not make the process unhealthy: restarting
it would not help, and the other subscriptions still post.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from aiohttp import web

from bot.core.ports import ChatPlatform, RunLedger

log = logging.getLogger(__name__)

READ_TIMEOUT_SECONDS = 10.0  # for a request's headers, and for the rest of a body nobody reads


class HealthServer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        platforms: Sequence[ChatPlatform],
        ledger: RunLedger,
        subscription_errors: Callable[[], Mapping[str, str]] = dict,
    ) -> None:
        self._host, self._port = host, port
        self._platforms = platforms
        self._ledger = ledger
        self._subscription_errors = subscription_errors
        self._runner: web.AppRunner | None = None

    async def report(self) -> tuple[int, dict[str, object]]:
        platforms = {p.name: {"connected": p.is_connected()} for p in self._platforms}
        subscriptions: dict[str, list[dict[str, object]]] = {}
        for run in await self._ledger.recent_runs(limit=100):
            entry: dict[str, object] = {
                "channel": run.channel, "date": run.local_date.isoformat(), "state": run.state, "late": run.late,
            }  # fmt: skip
            if run.state not in ("sent", "empty") and run.error:
                entry["error"] = run.error
            subscriptions.setdefault(run.subscription, []).append(entry)
        healthy = all(p["connected"] for p in platforms.values())
        body = {
            "status": "ok" if healthy else "degraded",
            "platforms": platforms,
            "subscriptions": subscriptions,
            "subscription_errors": dict(self._subscription_errors()),
        }
        return (200 if healthy else 503), body

    async def _healthz(self, request: web.Request) -> web.Response:
        status, body = await self.report()
        return web.json_response(body, status=status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        # aiohttp has no header-read timeout; its keep-alive timer, armed from the connection's start, closes a
        # client that never completes a request (slow-loris) after READ_TIMEOUT_SECONDS.
        self._runner = web.AppRunner(
            app, access_log=None, keepalive_timeout=READ_TIMEOUT_SECONDS, lingering_time=READ_TIMEOUT_SECONDS
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("health endpoint on http://%s:%d/healthz", self._host, self._port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
