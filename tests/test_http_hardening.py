"""Our HTTP endpoints face anyone who can reach the port (RELIABILITY row 45).

Slack's HTTP mode (/slack/events) and /healthz: unauthenticated or malformed requests get a 4xx and at
most one DEBUG line each (never an ERROR, never a traceback); a client that sends its request slowly
(slow-loris) is closed after the read timeout.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import logging
import time

import aiohttp
import pytest

from bot.health import HealthServer
from handlers.slack.platform import MAX_BODY_BYTES
from tests.db import _free_port
from tests.fakes.slack_server import SIGNING_SECRET
from tests.test_slack_platform import events_url, running

READ_TIMEOUT = 0.5
# How long a test waits for the server to close a slow connection: far above the read timeout (the bound we
# set), far below aiohttp's own default (an hour).
CLOSE_WITHIN = 10 * READ_TIMEOUT


def signed(body: bytes, *, timestamp: str | None = None, content_type: str = "application/json") -> dict[str, str]:
    """Headers Slack would send with `body`, signed with the app's real signing secret."""
    stamp = timestamp or str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}", "Content-Type": content_type}


def bad_requests() -> list[tuple[str, dict[str, str], bytes, int]]:
    """(kind, headers, body, expected status): each a way a stranger, a scanner or a broken client asks."""
    now = str(int(time.time()))
    event = json.dumps({"type": "event_callback", "event_id": "EvX", "event": {"type": "message"}}).encode()
    form = "application/x-www-form-urlencoded"
    return [
        ("no timestamp", {"Content-Type": "application/json"}, event, 401),
        ("garbage timestamp", {"X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "v0=00"}, event, 401),
        ("huge timestamp", {"X-Slack-Request-Timestamp": "9" * 5000, "X-Slack-Signature": "v0=00"}, event, 401),
        ("float timestamp", {"X-Slack-Request-Timestamp": "1e400", "X-Slack-Signature": "v0=00"}, event, 401),
        ("stale timestamp", signed(event, timestamp=str(int(time.time()) - 3600)), event, 401),
        ("wrong signature", {**signed(event), "X-Slack-Signature": "v0=" + "0" * 64}, event, 401),
        ("signature not hex", {**signed(event), "X-Slack-Signature": "v0=zz"}, event, 401),
        ("signed bad JSON", signed(b'{"type": "event_call'), b'{"type": "event_call', 400),
        ("signed JSON list", signed(b"[1, 2]"), b"[1, 2]", 400),
        ("signed empty body", signed(b""), b"", 400),
        ("signed event not an object", signed(b'{"type":"event_callback","event":7}'),
         b'{"type":"event_callback","event":7}', 400),
        ("signed form, bad payload", signed(b"payload=%7Bnot-json", content_type=form), b"payload=%7Bnot-json", 400),
        ("signed form, no command", signed(b"a=1&b=2", content_type=form), b"a=1&b=2", 400),
        ("signed, not UTF-8", signed(b"\xff\xfe{}"), b"\xff\xfe{}", 400),
        ("oversized body", {"X-Slack-Request-Timestamp": now}, b"x" * (MAX_BODY_BYTES + 1), 413),
    ]  # fmt: skip


async def test_a_hundred_bad_requests_get_4xx_and_at_most_one_debug_line_each(fake_slack, caplog):
    """Row 45: 100 requests of 15 kinds are answered 401/400/413; no ERROR, no traceback, one line at most
    each (a wrong signature or clock is a WARNING once a minute: it may be our own configuration)."""
    caplog.set_level(logging.DEBUG)
    kinds = bad_requests()
    async with running(fake_slack, None, "http") as platform, aiohttp.ClientSession() as session:
        url = events_url(platform)
        caplog.clear()

        async def ask(kind: tuple[str, dict[str, str], bytes, int]) -> tuple[str, int, int]:
            name, headers, body, expected = kind
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                return name, response.status, expected

        answers = []
        requests = list(itertools.islice(itertools.cycle(kinds), 100))
        for start in range(0, 100, 20):  # 20 at a time, as a scanner would
            answers += await asyncio.gather(*(ask(kind) for kind in requests[start : start + 20]))
        records = list(caplog.records)
    assert [(name, status) for name, status, expected in answers if status != expected] == []
    assert {name for name, _, _ in answers} == {name for name, *_ in kinds}
    assert [r.getMessage() for r in records if r.levelno >= logging.ERROR] == []
    assert [r.getMessage() for r in records if r.exc_info or "Traceback" in r.getMessage()] == []
    assert len(records) <= 100, [r.getMessage() for r in records][:20]
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and any("SLACK_SIGNING_SECRET" in w for w in warnings)  # secret, clock: once each
    assert not any(SIGNING_SECRET in r.getMessage() for r in records)


async def test_a_signed_event_is_still_answered_after_the_bad_ones(fake_slack, chat_stack):
    """The rejections change nothing for Slack itself: a real event right after them gets its reply."""
    async with running(fake_slack, chat_stack, "http") as platform:
        async with aiohttp.ClientSession() as session:
            for _, headers, body, _ in bad_requests()[:8]:
                async with session.post(events_url(platform), data=body, headers=headers) as response:
                    assert 400 <= response.status < 500
        delivery = await fake_slack.deliver(events_url(platform), fake_slack.message_event("arXiv:2505.22653"))
        assert delivery.status == 200
        await fake_slack.wait_for(lambda: fake_slack.posted, what="a reply")


# -- slow-loris


async def hold_open(port: int, first: bytes, drip: bytes) -> tuple[bytes, float]:
    """Send `first`, then `drip` every 0.1 s (never finishing the request); return what the server answered
    and how long it kept the connection open."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    opened = time.monotonic()

    async def trickle() -> None:
        writer.write(first)
        while drip:
            await asyncio.sleep(0.1)
            writer.write(drip)
            await writer.drain()

    sender = asyncio.ensure_future(trickle())
    answer = b""
    try:
        async with asyncio.timeout(CLOSE_WITHIN):
            while chunk := await reader.read(4096):
                answer += chunk
    except ConnectionError:
        pass  # closed while we were still writing: closed all the same
    finally:
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        writer.close()
    return answer, time.monotonic() - opened


SLOW = {
    "silent": (b"", b""),
    "headers dripped": (b"POST /slack/events HTTP/1.1\r\nHost: paperboy\r\n", b"X-Padding: 1\r\n"),
    "body dripped": (b"POST /slack/events HTTP/1.1\r\nHost: paperboy\r\nContent-Length: 100000\r\n\r\n", b"x"),
}


@pytest.mark.parametrize("kind", SLOW)
async def test_slow_loris_on_the_slack_endpoint_is_closed_after_the_read_timeout(fake_slack, kind, caplog):
    """Row 45: a connection that never completes its headers is closed after read_timeout (aiohttp's keep-alive
    timer); one whose body never completes gets 408 then, and is closed a read_timeout later."""
    caplog.set_level(logging.DEBUG)
    async with running(fake_slack, None, "http", read_timeout=READ_TIMEOUT) as platform:
        answer, _ = await hold_open(platform.http_port, *SLOW[kind])  # raises TimeoutError if never closed
    if kind == "body dripped":
        assert answer.startswith(b"HTTP/1.1 408 ")
    else:
        assert answer == b""
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


class NoRuns:
    async def recent_runs(self, limit: int = 50) -> list:
        return []


@pytest.mark.parametrize("kind", ["silent", "headers dripped"])
async def test_slow_loris_on_healthz_is_closed_after_the_read_timeout(monkeypatch, kind):
    """/healthz has the same bound; a real request is still answered."""
    monkeypatch.setattr("bot.health.READ_TIMEOUT_SECONDS", READ_TIMEOUT)
    port = _free_port()
    health = HealthServer(host="127.0.0.1", port=port, platforms=[], ledger=NoRuns())
    await health.start()
    try:
        first, drip = SLOW[kind]
        answer, _ = await hold_open(port, first.replace(b"POST /slack/events", b"GET /healthz"), drip)
        assert answer == b""
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/healthz") as response:
            assert response.status == 200 and (await response.json())["status"] == "ok"
    finally:
        await health.stop()
