"""The Slack case: 20 links pasted at once in 20 messages, a fake LLM at 1 s per call; prints figures (not a test).

    python -m benchmarks.slack_case [--mode http|socket] [--links 20] [--latency 1.0] [--channels 1]

The bot is wired exactly as `paperboy run` wires it (open_services, chat_platforms): the real bolt app
over HTTP or a Socket Mode websocket, the arXiv and openai clients, SQLite. Slack, arXiv and the LLM are
the loopback fakes. Replies to one channel are paced at about one a second (Slack's guidance), so with
every message in one channel the last reply comes about `links` seconds after the first; spread them
over channels (--channels) to see the LLM's share alone. arXiv's 3 s politeness interval is shortened
(--arxiv-interval) because it is the arXiv client's figure, measured by the digest benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.digest_benchmark import papers
from bot.config import load_config
from bot.wiring import chat_platforms, open_services
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.llm_server import MEASURED, FakeLLM
from tests.fakes.slack_server import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, FakeSlack


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def run_slack_case(
    *, mode: str = "http", links: int = 20, latency: float = 1.0, channels: int = 1, arxiv_interval: float = 0.05
) -> dict[str, Any]:
    """Paste `links` links at once, one per message, over `channels` channels; time the acks and the replies."""
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            FakeArxiv(papers(links), recorded=False) as arxiv,
            FakeLLM(delay=latency, tokens_per_call=MEASURED) as llm,
            FakeSlack() as slack,
        ):
            env = {
                "PAPERBOY_STORAGE__URL": f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}",
                "PAPERBOY_ARXIV__API_URL": arxiv.api_url,
                "PAPERBOY_ARXIV__MIN_INTERVAL_SECONDS": str(arxiv_interval),
                "PAPERBOY_LLM__BASE_URL": llm.base_url,
                "PAPERBOY_LLM__MAX_CONCURRENCY": str(max(8, links)),
                "PAPERBOY_SLACK__ENABLED": "true",
                "PAPERBOY_SLACK__MODE": mode,
                "PAPERBOY_SLACK__API_URL": slack.api_url,
                "PAPERBOY_SLACK__HTTP_PORT": str(_free_port()),
                "OPENAI_API_KEY": "bench-not-a-secret",
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_APP_TOKEN": APP_TOKEN,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            }
            config = load_config(None, env)
            async with open_services(config) as services:
                (platform,) = chat_platforms(config, services)
                await platform.start()
                try:
                    payloads = [
                        slack.message_event(f"have a look: https://arxiv.org/abs/2506.{i:05d}",
                                            channel=f"C0BENCH{i % channels:04d}")
                        for i in range(links)
                    ]  # fmt: skip
                    started = time.perf_counter()
                    if mode == "http":
                        url = f"http://127.0.0.1:{config.settings.slack.http_port}/slack/events"
                        deliveries = await asyncio.gather(*(slack.deliver(url, p) for p in payloads))
                        acks = [d.seconds for d in deliveries]
                    else:
                        sent = [await slack.send_envelope("events_api", p) for p in payloads]
                        acks = list(await asyncio.gather(*(slack.wait_ack(e) for e in sent)))
                    await slack.wait_for(lambda: len(slack.posted) >= links, timeout=120 + 2 * links, what="replies")
                    last_reply = time.perf_counter() - started
                finally:
                    await platform.stop()
            per_channel = math.ceil(links / channels)
            return {
                "mode": mode,
                "links": links,
                "channels": channels,
                "llm_latency_s": latency,
                "replies": len(slack.posted),
                "llm_calls": len(llm.calls),
                "time_to_last_reply_s": last_reply,
                # The arXiv lane fetches the papers one by one; then the LLM; then one reply a second per channel.
                "floor_s": max((links - 1) * arxiv_interval, (per_channel - 1) * 1.0) + latency,
                "ack_p50_ms": statistics.median(acks) * 1000,
                "ack_p95_ms": _percentile(acks, 0.95) * 1000,
                "ack_max_ms": max(acks) * 1000,
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("http", "socket"), default="http")
    parser.add_argument("--links", type=int, default=20)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--arxiv-interval", type=float, default=0.05)
    args = parser.parse_args()
    r = asyncio.run(
        run_slack_case(
            mode=args.mode,
            links=args.links,
            latency=args.latency,
            channels=args.channels,
            arxiv_interval=args.arxiv_interval,
        )
    )
    report(r)


def report(r: dict) -> None:
    print(f"mode                        {r['mode']}  ({r['links']} links in {r['links']} messages, "
          f"{r['channels']} channel{'s' if r['channels'] != 1 else ''})")  # fmt: skip
    print(f"replies                     {r['replies']}  ({r['llm_calls']} LLM calls at {r['llm_latency_s']:g} s)")
    print(f"time to the last reply      {r['time_to_last_reply_s']:.2f} s  "
          f"(floor {r['floor_s']:.1f} s: arXiv lane or ~1 reply/s per channel, plus the LLM)")  # fmt: skip
    print(f"ack latency p50 / p95 / max {r['ack_p50_ms']:.1f} / {r['ack_p95_ms']:.1f} / {r['ack_max_ms']:.1f} ms")


if __name__ == "__main__":
    main()
