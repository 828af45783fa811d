"""Resident memory of an idle `paperboy run` with Slack (Socket Mode) and Discord connected to the fakes.

    python -m benchmarks.idle_rss

Starts the fakes in this process, `paperboy run` as a child process, waits until /healthz says both
platforms are connected, lets it idle, and reads the child's VmRSS from /proc (aim: under 150 MB).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
from pathlib import Path

import aiohttp

from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.discord_server import TOKEN as DISCORD_TOKEN
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.slack_server import APP_TOKEN, BOT_TOKEN, FakeSlack

REPO = Path(__file__).resolve().parent.parent
IDLE_SECONDS = 5.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def healthy(port: int, patience_seconds: float = 60) -> dict:
    async with aiohttp.ClientSession() as session, asyncio.timeout(patience_seconds):
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        return await resp.json()
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeArxiv() as arxiv, FakeSlack() as slack, FakeDiscord() as discord:
            health_port = free_port()
            env = {
                **os.environ,
                "PYTHONPATH": str(REPO),
                "PAPERBOY_STORAGE__URL": f"sqlite+aiosqlite:///{tmp}/idle.db",
                "PAPERBOY_ARXIV__API_URL": arxiv.api_url,
                "PAPERBOY_HEALTH__PORT": str(health_port),
                "PAPERBOY_SLACK__ENABLED": "true",
                "PAPERBOY_SLACK__API_URL": slack.api_url,
                "PAPERBOY_DISCORD__ENABLED": "true",
                "PAPERBOY_DISCORD__API_URL": discord.api_url,
                "PAPERBOY_DISCORD__GATEWAY_URL": discord.gateway_url,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_APP_TOKEN": APP_TOKEN,
                "DISCORD_BOT_TOKEN": DISCORD_TOKEN,
            }
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=env, cwd=tmp,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            try:
                report = await healthy(health_port)
                await asyncio.sleep(IDLE_SECONDS)  # idle on purpose: this measures a bot at rest
                rss = rss_mb(proc.pid)
            except TimeoutError:
                _, err = await proc.communicate()
                raise SystemExit(f"paperboy run did not get healthy:\n{err.decode()[-3000:]}") from None
            finally:
                if proc.returncode is None:
                    proc.terminate()
            _, err = await proc.communicate()
    print(f"platforms                   {report['platforms']}")
    print(f"idle RSS of paperboy run    {rss:.0f} MB after {IDLE_SECONDS:g} s idle (aim: under 150 MB)")
    print(f"exit after SIGTERM          {proc.returncode}")
    if proc.returncode:
        print(err.decode()[-2000:])


if __name__ == "__main__":
    asyncio.run(main())
