"""Request lanes in the database: turns spaced across engines and OS processes, holds, an outage."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import load_config
from bot.core.models import ArxivRef
from bot.wiring import open_services
from storage.engine import make_engine
from storage.lanes import MemoryRequestLanes, SqlRequestLanes
from storage.migrations import upgrade
from storage.tables import request_lanes
from tests.processes import release_together

REPO = str(Path(__file__).resolve().parent.parent)
CORPUS = json.loads((Path(__file__).parent / "data" / "arxiv_corpus.json").read_text("utf-8"))
# A turn may come back a hair early on another clock (the database's, the event loop's): never a full turn.
CLOCK_SLACK = 0.01


async def taken_turns(lanes: list, lane: str, interval: float, per_lanes: int) -> tuple[float, list[float]]:
    """Every lanes object asks for `per_lanes` turns at once; returns the start and when each turn came."""
    came: list[float] = []

    async def turn(lanes_object) -> None:
        await lanes_object.wait_turn(lane, interval)
        came.append(time.time())

    start = time.time()
    async with asyncio.timeout(30):
        await asyncio.gather(*(turn(obj) for obj in lanes for _ in range(per_lanes)))
    return start, sorted(came)


def assert_spaced(start: float, came: list[float], interval: float) -> None:
    """The k-th turn came no earlier than k intervals after everyone asked: never two in one interval."""
    for k, at in enumerate(came):
        assert at >= start + k * interval - CLOCK_SLACK, f"turn {k} came {at - start:.3f} s after the start"


@pytest.fixture
async def engines(db_url):
    """Two engines (as two processes would have) on one upgraded database."""
    pair = [make_engine(db_url), make_engine(db_url)]
    await upgrade(pair[0])
    yield pair
    for engine in pair:
        await engine.dispose()


async def test_turns_are_spaced_across_engines(engines) -> None:
    """Three turns asked at once through each of two engines come at least an interval apart, all six."""
    lanes = [SqlRequestLanes(engine) for engine in engines]
    start, came = await taken_turns(lanes, "export.arxiv.org", 0.15, per_lanes=3)
    assert len(came) == 6
    assert_spaced(start, came, 0.15)


async def test_a_hold_delays_every_process(engines) -> None:
    """A hold taken through one engine (a 429's Retry-After) delays the next turn through the other."""
    first, second = (SqlRequestLanes(engine) for engine in engines)
    await first.wait_turn("export.arxiv.org", 0.01)
    held_at = time.time()
    await first.hold("export.arxiv.org", 0.4)
    async with asyncio.timeout(10):
        await second.wait_turn("export.arxiv.org", 0.01)
    assert time.time() >= held_at + 0.4 - CLOCK_SLACK


async def test_lanes_are_independent(engines) -> None:
    """A long interval on one lane does not delay another lane."""
    lanes = SqlRequestLanes(engines[0])
    await lanes.wait_turn("export.arxiv.org", 600)
    async with asyncio.timeout(10):  # would wait 600 s if the lanes were one
        await lanes.wait_turn("arxiv.org", 600)
    async with engines[1].connect() as conn:
        rows = dict((await conn.execute(select(request_lanes.c.name, request_lanes.c.next_at))).all())
    assert set(rows) == {"export.arxiv.org", "arxiv.org"}


async def test_memory_lanes_space_turns_within_a_process() -> None:
    """The in-process lanes space concurrent turns and honour a hold."""
    lanes = MemoryRequestLanes()
    start, came = await taken_turns([lanes], "lane", 0.1, per_lanes=4)
    assert_spaced(start, came, 0.1)
    held_at = time.monotonic()
    await lanes.hold("lane", 0.3)
    await lanes.wait_turn("lane", 0.1)
    assert time.monotonic() >= held_at + 0.3


async def test_an_unreachable_database_paces_this_process_alone_then_shares_again(tmp_path, caplog) -> None:
    """While the database cannot be opened, turns are still spaced (in-process) and one warning says so;
    once it is back, the lane is in the database again."""
    folder = tmp_path / "not-yet"
    engine = make_engine(f"sqlite+aiosqlite:///{folder / 'paperboy.db'}")
    try:
        lanes = SqlRequestLanes(engine)
        with caplog.at_level(logging.WARNING, logger="storage.lanes"):
            start, came = await taken_turns([lanes], "export.arxiv.org", 0.1, per_lanes=3)
            await lanes.hold("export.arxiv.org", 0.01)
        assert_spaced(start, came, 0.1)
        warnings = [r.getMessage() for r in caplog.records if r.name == "storage.lanes"]
        assert len(warnings) == 1 and "the database is unreachable" in warnings[0]
        assert "\n" not in warnings[0]

        folder.mkdir()
        await upgrade(engine)
        with caplog.at_level(logging.WARNING, logger="storage.lanes"):
            await lanes.wait_turn("export.arxiv.org", 0.1)
        assert "the database is back" in [r for r in caplog.records if r.name == "storage.lanes"][-1].getMessage()
        async with engine.connect() as conn:
            assert (await conn.execute(select(request_lanes.c.name))).scalars().all() == ["export.arxiv.org"]
    finally:
        await engine.dispose()


async def test_wiring_gives_the_arxiv_client_the_database_lane(db_url, fake_arxiv, tmp_path, monkeypatch) -> None:
    """The services' arXiv client takes its turns from the store's database, on a lane named after the API host."""
    monkeypatch.chdir(tmp_path)  # no ./config.toml
    env = {"PAPERBOY_STORAGE__URL": db_url, "PAPERBOY_ARXIV__API_URL": fake_arxiv.api_url}
    async with open_services(load_config(env=env)) as services:
        papers, errors = await services.summaries.fetch_papers([ArxivRef(CORPUS[0]["id"])])
    assert len(papers) == 1 and errors == []
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            names = (await conn.execute(select(request_lanes.c.name))).scalars().all()
    finally:
        await engine.dispose()
    assert names == [fake_arxiv.api_url.split("/")[2]]  # 127.0.0.1:PORT


# Each process: an ArxivClient on the shared database's lane, ready, then (on "go") fetching its ids one by one.
WORKER = """
import asyncio, sys
from bot.clients.arxiv import ArxivClient
from bot.core.models import ArxivRef
from storage.engine import make_engine
from storage.lanes import SqlRequestLanes

async def main(db_url, api_url, interval, ids):
    engine = make_engine(db_url)
    try:
        lane = SqlRequestLanes(engine)
        async with ArxivClient(api_url=api_url, min_interval_seconds=float(interval), lane=lane) as client:
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
            fetched = [len(await client.fetch([ArxivRef(i)])) for i in ids.split(",")]
            print("fetched", sum(fetched), flush=True)
    finally:
        await engine.dispose()

asyncio.run(main(*sys.argv[1:]))
"""


async def start_worker(db_url: str, api_url: str, interval: float, ids: str) -> asyncio.subprocess.Process:
    pipe = asyncio.subprocess.PIPE
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER, db_url, api_url, str(interval), ids,
        env={**os.environ, "PYTHONPATH": REPO}, stdin=pipe, stdout=pipe, stderr=pipe,
    )  # fmt: skip


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_processes_share_one_arxiv_lane(db_url, fake_arxiv) -> None:
    """Two OS processes on one PostgreSQL database, fetching at the same moment, reach arXiv at most once per
    interval overall, and both are served."""
    interval, per_process = 0.5, 3
    engine = make_engine(db_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    ids = [r["id"] for r in CORPUS[: 2 * per_process]]
    batches = [",".join(ids[:per_process]), ",".join(ids[per_process:])]
    workers = [await start_worker(db_url, fake_arxiv.api_url, interval, batch) for batch in batches]
    outputs = await release_together(workers, timeout=30)
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err.decode()
        assert out.decode().strip() == f"fetched {per_process}"
    assert len(fake_arxiv.requests) == 2 * per_process
    times = sorted(t for t, _ in fake_arxiv.requests)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # Arrival on the fake also carries each process's own send latency: a little slack, far less than a turn.
    assert min(gaps) >= interval - 0.1, gaps
