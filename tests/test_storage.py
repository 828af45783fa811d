"""Storage on SQLite and a real PostgreSQL: migrations, the paper and summary caches, the token budget."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from bot.core.errors import ConfigError
from bot.core.models import ArxivRef, Paper, Subscription, Summary
from storage.engine import SQLITE_BUSY_TIMEOUT_MS, make_engine
from storage.migrations import LATEST, upgrade
from storage.repository import SqlStore
from storage.tables import schema_version

UTC = dt.UTC
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
T0 = dt.datetime(2025, 5, 30, 12, 0, tzinfo=UTC)
DAY = dt.date(2025, 5, 30)


def make_paper(arxiv_id: str = "2505.22653", version: int = 1, **changes: object) -> Paper:
    paper = Paper(
        arxiv_id=arxiv_id,
        version=version,
        title=f"Reasoning, version {version}",
        authors=("Ada Lovelace", "Alan Turing"),
        abstract="We study things.",
        comment="Accepted by ACL 2025 findings",
        journal_ref=None,
        primary_category="cs.CL",
        categories=("cs.CL", "cs.AI"),
        published=dt.datetime(2025, 5, 28, 22, 30, tzinfo=IST),
        updated=dt.datetime(2025, 5, 29, 17, 0, 0, 123456, tzinfo=UTC),
    )
    return replace(paper, **changes)


def make_summary(**changes: object) -> Summary:
    summary = Summary(
        language="zh",
        tldr="一句话总结。",
        takeaways=("first", "second", "third"),
        abstract_translation="摘要翻译。",
        generator="llm",
        model="gpt-4o-mini",
        prompt_version="p1",
    )
    return replace(summary, **changes)


# -- engine and migrations


def test_unsupported_url_scheme_is_a_one_line_config_error() -> None:
    """A URL for a driver we do not ship is a ConfigError naming storage.url, without the password."""
    with pytest.raises(ConfigError) as caught:
        make_engine("mysql+pymysql://bob:hunter2@db/paperboy")
    message = str(caught.value)
    assert message.startswith("storage.url: unsupported scheme 'mysql+pymysql'")
    assert "hunter2" not in message and "\n" not in message
    with pytest.raises(ConfigError, match=r"^storage\.url: not a database URL"):
        make_engine("paperboy.db")


def test_storage_loads_neither_the_orm_nor_an_unused_dialect(tmp_path) -> None:
    """Start-up: storage uses SQLAlchemy Core, so building its engine and store imports neither sqlalchemy.orm
    (sqlalchemy.ext.asyncio's __init__ would) nor PostgreSQL's dialect on SQLite; the rest of
    sqlalchemy.ext.asyncio still comes when asked for."""
    code = textwrap.dedent("""
        import asyncio, datetime, sys
        import bot.wiring
        from storage.engine import make_engine
        from storage.lanes import SqlRequestLanes
        from storage.migrations import upgrade
        from storage.repository import SqlStore

        async def main():
            engine = make_engine("sqlite+aiosqlite:///p.db")
            try:
                assert await upgrade(engine) > 0
                SqlRequestLanes(engine)
                assert await SqlStore(engine).tokens_used(datetime.date(2025, 5, 30)) == 0
            finally:
                await engine.dispose()

        asyncio.run(main())
        loaded = [m for m in ("sqlalchemy.orm", "sqlalchemy.dialects.postgresql") if m in sys.modules]
        assert not loaded, loaded
        from sqlalchemy.ext import asyncio as sa_asyncio
        from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
        assert "sqlalchemy.orm" in sys.modules and AsyncSession.__module__ == "sqlalchemy.ext.asyncio.session"
        assert sa_asyncio.AsyncEngine is AsyncEngine and sa_asyncio.async_sessionmaker is not None
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


async def test_sqlite_connections_use_wal_busy_timeout_and_foreign_keys(tmp_path) -> None:
    """Every SQLite connection runs in WAL mode with a busy timeout and foreign keys on."""
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")  # a plain scheme maps to aiosqlite
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == SQLITE_BUSY_TIMEOUT_MS
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
    finally:
        await engine.dispose()


async def test_upgrade_is_idempotent_and_reports_the_version(db_url) -> None:
    """Running upgrade twice reports the latest version both times and records each step once."""
    engine = make_engine(db_url)
    try:
        assert await upgrade(engine) == LATEST
        assert await upgrade(engine) == LATEST
        async with engine.connect() as conn:
            versions = (await conn.execute(select(schema_version.c.version))).scalars().all()
            assert sorted(versions) == list(range(1, LATEST + 1))
            assert (await conn.execute(text("SELECT count(*) FROM papers"))).scalar() == 0
    finally:
        await engine.dispose()


async def test_two_concurrent_upgrades_both_succeed(db_url) -> None:
    """Two processes' upgrades racing on one empty database both succeed, and each step runs once."""
    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        assert await asyncio.gather(*(upgrade(e) for e in engines)) == [LATEST, LATEST]
        async with engines[0].connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(schema_version))).scalar() == LATEST
    finally:
        for engine in engines:
            await engine.dispose()


# -- papers


async def test_papers_round_trip_with_aware_utc_datetimes_and_tuples(store: SqlStore) -> None:
    """A saved paper comes back equal, with tuples and aware UTC datetimes."""
    paper = make_paper()
    await store.save_papers([paper], fetched_at=T0)
    got = (await store.get_papers([paper.ref], fresh_since=T0))[paper.ref]
    assert got == paper
    assert isinstance(got.authors, tuple) and isinstance(got.categories, tuple)
    for moment in (got.published, got.updated):
        assert moment.utcoffset() == dt.timedelta(0)
    assert got.published == dt.datetime(2025, 5, 28, 17, 0, tzinfo=UTC)
    assert got.updated.microsecond == 123456


async def test_save_papers_upserts(store: SqlStore) -> None:
    """Saving a paper again replaces its row (and duplicates in one call are fine)."""
    await store.save_papers([make_paper()], fetched_at=T0)
    newer = make_paper(title="Corrected title", journal_ref="ACL 2025")
    await store.save_papers([make_paper(title="stale"), newer], fetched_at=T0)
    assert await store.get_papers([ArxivRef("2505.22653")], fresh_since=T0) == {ArxivRef("2505.22653"): newer}


async def test_versioned_ref_is_exact_and_unversioned_is_the_newest_if_fresh(store: SqlStore) -> None:
    """A versioned ref finds its row however old; an unversioned one finds the newest version only if fresh."""
    v1, v2 = make_paper(version=1), make_paper(version=2)
    old_id = make_paper("hep-th/9901001", version=3)
    await store.save_papers([v1, v2, old_id], fetched_at=T0)
    later = T0 + dt.timedelta(hours=1)
    latest, exact, unknown = ArxivRef("2505.22653"), ArxivRef("2505.22653", 1), ArxivRef("2999.99999")

    found = await store.get_papers([latest, exact, unknown, ArxivRef("hep-th/9901001")], fresh_since=T0)
    assert found == {latest: v2, exact: v1, ArxivRef("hep-th/9901001"): old_id}

    assert await store.get_papers([latest, exact], fresh_since=later) == {exact: v1}

    # v1 refetched later does not stand in for a stale v2: a newer version is known to exist.
    await store.save_papers([v1], fetched_at=later)
    assert await store.get_papers([latest], fresh_since=later) == {}
    await store.save_papers([v2], fetched_at=later)
    assert await store.get_papers([latest], fresh_since=later) == {latest: v2}
    assert await store.get_papers([], fresh_since=T0) == {}


async def test_naive_datetimes_are_refused(store: SqlStore) -> None:
    """A naive fetched_at is a bug and is refused rather than stored with a guessed zone."""
    with pytest.raises(Exception, match="naive datetime"):
        await store.save_papers([make_paper()], fetched_at=dt.datetime(2025, 5, 30, 12, 0))  # noqa: DTZ001


# -- summaries


async def test_summary_cache_round_trip_is_keyed_by_id_version_model_prompt_and_language(store: SqlStore) -> None:
    """A saved summary is found only under its exact key, and comes back marked cached."""
    paper, summary = make_paper(), make_summary()
    await store.save_summary(paper, summary)
    key = {"model": "gpt-4o-mini", "prompt_version": "p1", "language": "zh"}
    assert await store.get_summary(paper.arxiv_id, 1, **key) == replace(summary, cached=True)
    misses = [
        store.get_summary(paper.arxiv_id, 1, **{**key, "language": "en"}),
        store.get_summary(paper.arxiv_id, 1, **{**key, "model": "gpt-4o"}),
        store.get_summary(paper.arxiv_id, 1, **{**key, "prompt_version": "p2"}),
        store.get_summary(paper.arxiv_id, 2, **key),
        store.get_summary("2505.00001", 1, **key),
    ]
    assert await asyncio.gather(*misses) == [None] * len(misses)

    rewritten = make_summary(tldr="Better.", takeaways=("one",), abstract_translation=None)
    await store.save_summary(paper, rewritten)
    assert await store.get_summary(paper.arxiv_id, 1, **key) == replace(rewritten, cached=True)


async def test_extractive_summaries_are_not_cached(store: SqlStore) -> None:
    """save_summary refuses an extractive summary, which is never final."""
    with pytest.raises(ValueError, match="only LLM summaries"):
        await store.save_summary(make_paper(), make_summary(generator="extractive", model=None))


# -- token budget (RELIABILITY row 29)


async def test_concurrent_reservations_never_exceed_the_budget(store: SqlStore) -> None:
    """50 concurrent reservations of 100 against 2,050: exactly 20 succeed and 2,000 are used."""
    results = await asyncio.gather(*(store.reserve_tokens(DAY, 100, budget=2050) for _ in range(50)))
    assert results.count(True) == 20
    assert await store.tokens_used(DAY) == 2000
    assert await store.tokens_used(DAY + dt.timedelta(days=1)) == 0


async def test_a_reservation_that_would_overshoot_is_refused_whole(store: SqlStore) -> None:
    """A reservation is all or nothing: it succeeds up to the budget exactly, then fails without adding."""
    assert await store.reserve_tokens(DAY, 1500, budget=2000)
    assert not await store.reserve_tokens(DAY, 501, budget=2000)
    assert await store.reserve_tokens(DAY, 500, budget=2000)
    assert not await store.reserve_tokens(DAY, 1, budget=2000)
    assert await store.tokens_used(DAY) == 2000


async def test_adjust_tokens_corrects_usage_but_never_below_zero(store: SqlStore) -> None:
    """adjust_tokens adds the difference, clamps at zero, and works on a day with no row yet."""
    assert await store.reserve_tokens(DAY, 100, budget=1000)
    await store.adjust_tokens(DAY, -30)
    assert await store.tokens_used(DAY) == 70
    await store.adjust_tokens(DAY, -500)
    assert await store.tokens_used(DAY) == 0
    await store.adjust_tokens(DAY, 20)
    assert await store.tokens_used(DAY) == 20
    other = DAY - dt.timedelta(days=1)
    await store.adjust_tokens(other, -5)
    assert await store.tokens_used(other) == 0
    await store.adjust_tokens(other, 7)
    assert await store.tokens_used(other) == 7


async def test_sqlite_writer_waits_for_a_held_lock_instead_of_failing(tmp_path) -> None:
    """With another connection holding an exclusive lock, a reservation waits and then succeeds."""
    path = tmp_path / "p.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await upgrade(engine)
        store = SqlStore(engine)
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        task = asyncio.create_task(store.reserve_tokens(DAY, 10, budget=100))
        done, _ = await asyncio.wait({task}, timeout=0.5)
        assert not done, "the reservation should be waiting on the lock"
        blocker.execute("COMMIT")
        blocker.close()
        assert await asyncio.wait_for(task, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
        assert await store.tokens_used(DAY) == 10
    finally:
        await engine.dispose()


async def test_a_chat_event_is_claimed_once_even_concurrently(store):
    """Ten concurrent claims of one delivery key: exactly one wins; a later claim loses too."""
    results = await asyncio.gather(*(store.claim_event("slack:Ev1") for _ in range(10)))
    assert results.count(True) == 1
    assert await store.claim_event("slack:Ev1") is False
    assert await store.claim_event("slack:Ev2") is True


async def test_subscriptions_round_trip_and_delete(store):
    """A chat subscription is stored, replaced by name, listed, and deleted."""
    sub = Subscription(name="rl", query="cat:cs.LG", channels=("slack:C1",), time=dt.time(7, 5),
                       timezone="Asia/Tokyo", weekdays=(0, 2), include=("reward",), language="ja")  # fmt: skip
    await store.save_subscription(sub)
    await store.save_subscription(replace(sub, channels=("slack:C1", "discord:123456789012345678")))
    (stored,) = await store.list_subscriptions()
    assert stored == replace(sub, channels=("slack:C1", "discord:123456789012345678"))
    assert await store.delete_subscription("rl") is True
    assert await store.delete_subscription("rl") is False
    assert await store.list_subscriptions() == []


async def test_old_chat_events_are_forgotten(store):
    """forget_events drops claims older than the cut-off and keeps newer ones (their redeliveries stay deduped)."""
    await store.claim_event("slack:old")
    cutoff = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    assert await store.forget_events(cutoff) == 1
    assert await store.claim_event("slack:old") is True  # forgotten, so claimable again
    assert await store.forget_events(dt.datetime.now(dt.UTC) - dt.timedelta(days=1)) == 0
    assert await store.claim_event("slack:old") is False


# -- a database out of reach for a moment (RELIABILITY row 44)


class Flaky:
    """An operation that fails `failures` times with `error`, then answers 'done'."""

    def __init__(self, error: Exception, failures: int) -> None:
        self.error, self.failures, self.calls = error, failures, 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "done"


async def test_an_unreachable_database_is_retried_until_it_answers() -> None:
    from storage.retry import retry_database

    operation = Flaky(ConnectionRefusedError(111, "Connect call failed"), failures=3)
    assert await retry_database(operation, what="testing", patience_seconds=5) == "done"
    assert operation.calls == 4


async def test_an_error_that_is_not_about_reaching_the_database_is_not_retried() -> None:
    from sqlalchemy.exc import IntegrityError

    from storage.retry import retry_database

    operation = Flaky(IntegrityError("INSERT", {}, Exception("duplicate key")), failures=1)
    with pytest.raises(IntegrityError):
        await retry_database(operation, what="testing", patience_seconds=5)
    assert operation.calls == 1


async def test_retries_end_after_the_patience_with_one_line_naming_what_failed() -> None:
    from bot.core.errors import StorageUnavailable
    from storage.retry import retry_database

    operation = Flaky(ConnectionRefusedError(111, "Connect call failed"), failures=10**6)
    with pytest.raises(StorageUnavailable) as caught:
        await retry_database(operation, what="recording a message", patience_seconds=0.3)
    assert str(caught.value) == (
        "the database is unreachable ([Errno 111] Connect call failed) while recording a message; gave up after 0.3 s"
    )
    assert 2 <= operation.calls < 10  # backed off, not a busy loop


async def test_ledger_writes_are_safe_to_repeat_after_a_lost_answer(store: SqlStore) -> None:
    """A retry whose first attempt committed (the answer was lost) changes nothing: the claim is still ours,
    start_sending still succeeds, and a message is recorded once."""
    now = dt.datetime(2025, 5, 29, 6, 30, tzinfo=dt.UTC)
    lease = now + dt.timedelta(minutes=15)
    row = {
        "subscription": "nlp", "channel": "slack:C1", "local_date": now.date(), "state": "claimed", "late": False,
        "owner": "token-1", "lease_until": lease, "message_ids": [], "updated_at": now,
    }  # fmt: skip
    first = await store._claim_run(row)
    again = await store._claim_run(row)
    other = await store._claim_run({**row, "owner": "token-2"})
    assert first is not None and again == first and other is None
    await store.start_sending(first, window_end=now, lease_until=lease)
    await store.start_sending(first, window_end=now, lease_until=lease)
    for message_id in ["1.1", "1.1", "1.2", "1.2"]:
        await store.record_message(first, message_id, lease_until=lease)
    (run,) = await store.recent_runs()
    assert (run.state, run.message_ids) == ("sending", ("1.1", "1.2"))
