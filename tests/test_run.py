"""`paperboy run` and `paperboy post` as real processes: the schedule posts once, across processes and restarts."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sys

import aiohttp
import pytest

from storage.engine import make_engine
from storage.repository import SqlStore
from tests.test_cli import REPO, closed_port

# Thursday 2025-05-29 08:30 Berlin is 06:30 UTC; arXiv announced the corpus the evening before.
DUE = "2025-05-29T06:30:05+00:00"
CONFIG = """
[[subscriptions]]
name = "nlp"
query = "cat:cs.CL"
channels = ["console"]
time = "08:30"
timezone = "Europe/Berlin"
max_papers = 2
"""
_databases = itertools.count()


@pytest.fixture
def run_env(tmp_path, fake_arxiv, fake_arxiv_site):
    (tmp_path / "config.toml").write_text(CONFIG)
    base = {k: v for k, v in os.environ.items() if not k.startswith("PAPERBOY_") and k != "OPENAI_API_KEY"}
    return {
        **base,
        "PYTHONPATH": REPO,
        "PAPERBOY_STORAGE__URL": f"sqlite+aiosqlite:///{tmp_path}/paperboy.db",
        "PAPERBOY_ARXIV__API_URL": fake_arxiv.api_url,
        "PAPERBOY_ARXIV__MIN_INTERVAL_SECONDS": "0.01",
        # The papers themselves from the fake arxiv.org (the corpus's have no page there: their abstracts).
        "PAPERBOY_READER__HTML_URL": fake_arxiv_site.html_url,
        "PAPERBOY_READER__PDF_URL": fake_arxiv_site.pdf_url,
        "PAPERBOY_READER__MIN_INTERVAL_SECONDS": "0",
        "PAPERBOY_SCHEDULE__TICK_SECONDS": "1",
        "PAPERBOY_CLOCK_START": DUE,
    }


def postgres_database(postgres_server) -> str:
    """The URL of a fresh database on the session's PostgreSQL server."""
    database = f"run_{os.getpid()}_{next(_databases)}"
    postgres_server.execute(f"CREATE DATABASE {database}")
    return postgres_server.url(database)


def use_slack(run_env: dict[str, str], fake_slack) -> None:
    """Post to FakeSlack's Web API (HTTP mode on a closed port: no events come in)."""
    from tests.fakes.slack_server import BOT_TOKEN, SIGNING_SECRET

    run_env |= {
        "PAPERBOY_SLACK__ENABLED": "true",
        "PAPERBOY_SLACK__MODE": "http",
        "PAPERBOY_SLACK__HTTP_PORT": str(closed_port()),
        "PAPERBOY_SLACK__API_URL": fake_slack.api_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    }


async def start(*args: str, env, cwd) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=env, cwd=cwd,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def wait_for_state(url: str, state: str, timeout: float = 60) -> None:
    engine = make_engine(url)
    try:
        store = SqlStore(engine)
        async with asyncio.timeout(timeout):
            while not any(run.state == state for run in await _runs(store)):
                await asyncio.sleep(0.1)
    finally:
        await engine.dispose()


async def _runs(store: SqlStore):
    try:
        return await store.recent_runs()
    except Exception:  # the schema is not created yet
        return []


async def stop(proc: asyncio.subprocess.Process) -> tuple[int, str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode, out.decode(), err.decode()


async def test_post_twice_posts_once(run_env, tmp_path):
    """`paperboy post nlp` prints the digest; the second time it says it was already posted."""
    first = await start("post", "nlp", env=run_env, cwd=tmp_path)
    out, err = await asyncio.wait_for(first.communicate(), 60)
    assert first.returncode == 0, err.decode()
    assert out.decode().count("nlp: ") == 1 and "nlp console 2025-05-29: sent" in out.decode()
    second = await start("post", "nlp", env=run_env, cwd=tmp_path)
    out, _ = await asyncio.wait_for(second.communicate(), 60)
    assert out.decode().strip() == "nlp console 2025-05-29: skipped (already posted, or claimed by another process)"


async def test_two_processes_on_one_postgres_post_a_due_digest_once(run_env, tmp_path, postgres_server):
    """Two `paperboy run` on one PostgreSQL, both ticking when the digest falls due: one post; SIGTERM exits 0."""
    run_env["PAPERBOY_STORAGE__URL"] = postgres_database(postgres_server)
    run_env["PAPERBOY_CLOCK_START"] = "2025-05-29T06:29:52+00:00"  # 8 s before it is due: both are up by then
    procs = [await start("run", env=run_env, cwd=tmp_path) for _ in range(2)]
    for proc in procs:
        await wait_for_line(proc, "scheduler started")
    await wait_for_state(run_env["PAPERBOY_STORAGE__URL"], "sent")
    results = [await stop(proc) for proc in procs]
    assert [code for code, _, _ in results] == [0, 0], [err for _, _, err in results]
    digests = sum(out.count("Machine-written") for _, out, _ in results)
    assert digests == 1
    assert all("stopping: finishing what is in flight" in err for _, _, err in results)


async def wait_for_line(proc: asyncio.subprocess.Process, marker: str, timeout: float = 60) -> None:
    """Read the process's log until `marker` (the rest stays in the pipe for stop())."""
    async with asyncio.timeout(timeout):
        while marker not in (line := (await proc.stderr.readline()).decode()):
            # At the end of the log readline returns at once, never yielding: the timeout could not fire.
            assert line, f"the process exited before logging {marker!r}"


async def read_log(proc: asyncio.subprocess.Process, marker: str, seen: asyncio.Event) -> str:
    """The process's whole log; `seen` is set as soon as a line has `marker`."""
    lines = []
    while line := (await proc.stderr.readline()).decode():
        lines.append(line)
        if marker in line:
            seen.set()
    return "".join(lines)


async def test_healthz_reports_platforms_runs_and_a_subscription_that_cannot_be_scheduled(run_env, tmp_path):
    """With health.port set, /healthz answers 200 with each subscription's last run. A stored subscription in
    a time zone this host does not know is listed there, once in the log, and the valid one posts (row 42)."""
    from storage.migrations import upgrade
    from storage.tables import subscriptions
    from tests.test_posting import UNSCHEDULABLE_ROW

    engine = make_engine(run_env["PAPERBOY_STORAGE__URL"])
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(subscriptions.insert().values(UNSCHEDULABLE_ROW))
    finally:
        await engine.dispose()
    port = closed_port()
    run_env["PAPERBOY_HEALTH__PORT"] = str(port)
    proc = await start("run", env=run_env, cwd=tmp_path)
    try:
        await wait_for_state(run_env["PAPERBOY_STORAGE__URL"], "sent")
        async with aiohttp.ClientSession() as session, asyncio.timeout(30):
            while True:  # the bad subscription comes after the good one in a tick
                async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    body = json.loads(await resp.text())
                if body["subscription_errors"]:
                    break
                await asyncio.sleep(0.1)
        assert resp.status == 200 and body["status"] == "ok"
        assert body["subscriptions"]["nlp"][0] == {
            "channel": "console",
            "date": "2025-05-29",
            "state": "sent",
            "late": False,
        }
        assert list(body["subscription_errors"]) == ["mars"]
        assert "Mars/Olympus_Mons" in body["subscription_errors"]["mars"]
    finally:
        code, out, err = await stop(proc)
    assert code == 0, err
    assert out.count("Machine-written") == 1 and err.count("subscription mars cannot be scheduled") == 1


async def test_sigkill_right_after_slack_accepted_the_post_never_reposts(run_env, tmp_path, fake_slack):
    """SIGKILL after Slack accepted the digest, before its record: the restart marks it ambiguous (row 32)."""
    from tests.fakes.slack_server import CHANNEL

    (tmp_path / "config.toml").write_text(CONFIG.replace('channels = ["console"]', f'channels = ["slack:{CHANNEL}"]'))
    use_slack(run_env, fake_slack)
    run_env["PAPERBOY_SCHEDULE__LEASE_MINUTES"] = "1"
    first = await start("run", env=run_env, cwd=tmp_path)

    async def kill_on_post(call) -> None:
        if call.method == "chat.postMessage" and first.returncode is None:
            first.kill()
            await first.wait()

    fake_slack.after_accept = kill_on_post
    await asyncio.wait_for(first.wait(), timeout=60)
    assert first.returncode == -signal.SIGKILL and len(fake_slack.posts()) == 1
    fake_slack.after_accept = None

    run_env["PAPERBOY_CLOCK_START"] = "2025-05-29T06:33:00+00:00"  # past the one-minute lease
    second = await start("run", env=run_env, cwd=tmp_path)
    try:
        await wait_for_state(run_env["PAPERBOY_STORAGE__URL"], "ambiguous")
    finally:
        code, _, err = await stop(second)
    assert code == 0 and "not reposting" in err
    assert len(fake_slack.posts()) == 1


async def test_run_connects_slack_socket_mode_and_discord_and_stops_cleanly(
    run_env, tmp_path, fake_slack, fake_discord
):
    """`paperboy run` with both platforms (Socket Mode needs no signing secret): /healthz 200, then SIGTERM exits 0."""
    from tests.fakes.discord_server import TOKEN as DISCORD_TOKEN
    from tests.fakes.slack_server import APP_TOKEN, BOT_TOKEN

    port = closed_port()
    run_env |= {
        "PAPERBOY_HEALTH__PORT": str(port),
        "PAPERBOY_SLACK__ENABLED": "true",
        "PAPERBOY_SLACK__API_URL": fake_slack.api_url,
        "PAPERBOY_DISCORD__ENABLED": "true",
        "PAPERBOY_DISCORD__API_URL": fake_discord.api_url,
        "PAPERBOY_DISCORD__GATEWAY_URL": fake_discord.gateway_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_APP_TOKEN": APP_TOKEN,
        "DISCORD_BOT_TOKEN": DISCORD_TOKEN,
    }
    proc = await start("run", env=run_env, cwd=tmp_path)
    try:
        async with aiohttp.ClientSession() as session, asyncio.timeout(60):
            while True:
                try:
                    async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                        if resp.status == 200:
                            body = await resp.json()
                            break
                except aiohttp.ClientError:
                    assert proc.returncode is None, "paperboy run exited"
                await asyncio.sleep(0.2)
    finally:
        code, _, err = await stop(proc)
    assert body["platforms"] == {"slack": {"connected": True}, "discord": {"connected": True}}
    assert code == 0, err
    assert DISCORD_TOKEN not in err and BOT_TOKEN not in err and APP_TOKEN not in err


async def test_post_beside_a_running_bot_uses_only_the_apis(run_env, tmp_path, fake_slack, fake_discord):
    """`paperboy post` posts to Slack and Discord with their Web/REST APIs only: no port bound, no gateway."""
    import socket as socketlib

    from tests.fakes.discord_server import CHANNEL_ID
    from tests.fakes.discord_server import TOKEN as DISCORD_TOKEN
    from tests.fakes.slack_server import BOT_TOKEN, CHANNEL, SIGNING_SECRET

    channels = f'channels = ["slack:{CHANNEL}", "discord:{CHANNEL_ID}"]'
    (tmp_path / "config.toml").write_text(CONFIG.replace('channels = ["console"]', channels))
    with socketlib.socket() as busy:  # the running bot's HTTP port
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        run_env |= {
            "PAPERBOY_SLACK__ENABLED": "true",
            "PAPERBOY_SLACK__MODE": "http",
            "PAPERBOY_SLACK__HTTP_PORT": str(busy.getsockname()[1]),
            "PAPERBOY_SLACK__API_URL": fake_slack.api_url,
            "PAPERBOY_DISCORD__ENABLED": "true",
            "PAPERBOY_DISCORD__API_URL": fake_discord.api_url,
            "PAPERBOY_DISCORD__GATEWAY_URL": fake_discord.gateway_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "DISCORD_BOT_TOKEN": DISCORD_TOKEN,
        }
        proc = await start("post", "nlp", env=run_env, cwd=tmp_path)
        out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()
    assert f"nlp slack:{CHANNEL} 2025-05-29: sent" in out.decode()
    assert f"nlp discord:{CHANNEL_ID} 2025-05-29: sent" in out.decode()
    slack_posts = fake_slack.posts()
    assert len(slack_posts) >= 2 and all(p["thread_ts"] == slack_posts[0]["ts"] for p in slack_posts[1:])
    assert len(fake_discord.sent_messages()) >= 2 and fake_discord.identifies == []


# -- a clean stop in the middle of the morning digest (RELIABILITY row 41)

LONG_WORD = "paperboylongform"


def long_papers(count: int) -> list[dict[str, object]]:
    """Papers in Thursday's window whose cards fill a Slack message each: a digest of them is count + 1
    messages (the list, then one per card)."""
    sentence = "We show in part {} that " + LONG_WORD + " " + " ".join(f"token{j}" for j in range(140)) + "."
    return [
        {"id": f"2505.{90000 + i}", "title": f"Long paper {i}", "authors": ["A. Author"], "categories": ["cs.CL"],
         "abstract": " ".join(sentence.format(k) for k in range(6)), "published": "2025-05-28T12:00:00Z"}
        for i in range(count)
    ]  # fmt: skip


async def read_run(url: str):
    engine = make_engine(url)
    try:
        (run,) = await SqlStore(engine).recent_runs()
        return run
    finally:
        await engine.dispose()


async def test_sigterm_mid_digest_finishes_the_message_and_the_next_start_sends_the_rest(
    run_env, tmp_path, fake_slack, fake_arxiv, postgres_server
):
    """A digest of 8 messages, Slack answering each post after a second; SIGTERM once Slack accepted message 2,
    its answer held until the process has begun to stop: that message is recorded, the process exits 0, and the
    restart posts messages 3-8. Every message once; the run ends sent (issue 13's acceptance)."""
    from tests.fakes.slack_server import CHANNEL

    fake_arxiv.add_papers(long_papers(7))
    config = (
        CONFIG.replace('query = "cat:cs.CL"', f'query = "abs:{LONG_WORD}"')
        .replace("max_papers = 2", "max_papers = 9")
        .replace('channels = ["console"]', f'channels = ["slack:{CHANNEL}"]')
    )
    (tmp_path / "config.toml").write_text(config)
    use_slack(run_env, fake_slack)
    url = run_env["PAPERBOY_STORAGE__URL"] = postgres_database(postgres_server)
    first = await start("run", env=run_env, cwd=tmp_path)
    stopping = asyncio.Event()

    async def answer_after_a_second(call) -> None:
        if call.method != "chat.postMessage":
            return
        if len(fake_slack.posts()) == 2 and first.returncode is None:
            first.send_signal(signal.SIGTERM)  # while Slack's answer to message 2 is on its way
            await asyncio.wait_for(stopping.wait(), 30)
        await asyncio.sleep(1)  # a slow chat API: each post is answered after a second

    fake_slack.after_accept = answer_after_a_second
    async with asyncio.timeout(60):
        _, err = await asyncio.gather(first.stdout.read(), read_log(first, "stopping: finishing", stopping))
        await first.wait()
    assert first.returncode == 0, err
    run = await read_run(url)
    assert (run.state, len(run.message_ids), len(fake_slack.posts())) == ("interrupted", 2, 2)

    second = await start("run", env=run_env, cwd=tmp_path)
    try:
        await wait_for_state(url, "sent")
    finally:
        code, _, err = await stop(second)
    assert code == 0, err
    posts = fake_slack.posts()
    assert len(posts) == 8 and len({p["text"] for p in posts}) == 8
    assert all(p.get("thread_ts") == posts[0]["ts"] for p in posts[1:])  # the rest continue the same thread
    run = await read_run(url)
    assert run.message_ids == tuple(p["ts"] for p in posts)


async def test_sigterm_while_the_digest_is_built_lets_the_next_start_post_it_at_once(
    run_env, tmp_path, fake_arxiv, postgres_server
):
    """SIGTERM while arXiv has not answered yet: the process exits 0 at once and releases the run, so the
    restart posts it at once (not after the 15-minute lease)."""
    url = run_env["PAPERBOY_STORAGE__URL"] = postgres_database(postgres_server)
    fake_arxiv.script("hang")
    first = await start("run", env=run_env, cwd=tmp_path)
    async with asyncio.timeout(60):
        while not fake_arxiv.requests:
            assert first.returncode is None, "paperboy run exited"
            await asyncio.sleep(0.05)
    code, out, err = await stop(first)
    assert code == 0 and "Machine-written" not in out, err
    run = await read_run(url)
    assert (run.state, run.message_ids) == ("interrupted", ())

    second = await start("run", env=run_env, cwd=tmp_path)  # the same clock: the lease has not run out
    try:
        await wait_for_state(url, "sent", timeout=30)
    finally:
        code, out, err = await stop(second)
    assert code == 0 and out.count("Machine-written") == 1, err
