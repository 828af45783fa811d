"""Numbered schema steps, each applied once, in its own transaction, recorded in schema_version.

To change the schema, append a step; never edit a released one. A step names the tables it
creates (never `metadata.create_all()` without `tables=`), so a table added later is created by
its own step and not, too early, by step 1.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.engine import WRITE
from storage.tables import (
    chat_events,
    digest_runs,
    metadata,
    papers,
    posted_papers,
    schema_version,
    subscriptions,
    summaries,
    token_usage,
)

log = logging.getLogger(__name__)

# Serializes concurrent upgraders on PostgreSQL (any constant bigint; never change it).
_PG_LOCK_KEY = 0x7061706572626F79 & 0x7FFFFFFFFFFFFFFF


@dataclass(frozen=True)
class Step:
    version: int
    description: str
    apply: Callable[[AsyncConnection], Awaitable[None]]


async def _initial(conn: AsyncConnection) -> None:
    await conn.run_sync(metadata.create_all, tables=[papers, summaries, token_usage])


async def _chat_tables(conn: AsyncConnection) -> None:
    await conn.run_sync(metadata.create_all, tables=[chat_events, subscriptions])


async def _scheduler_tables(conn: AsyncConnection) -> None:
    await conn.run_sync(metadata.create_all, tables=[digest_runs, posted_papers])


STEPS: tuple[Step, ...] = (
    Step(1, "papers, summaries, token_usage", _initial),
    Step(2, "chat_events, subscriptions", _chat_tables),
    Step(3, "digest_runs, posted_papers", _scheduler_tables),
)
LATEST = STEPS[-1].version
assert [s.version for s in STEPS] == list(range(1, LATEST + 1)), "migration steps must be numbered 1..n"


async def upgrade(engine: AsyncEngine) -> int:
    """Apply the pending steps and return the schema version. Safe to run again, or in two processes."""
    # BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL: one upgrader at a time, and each
    # re-reads the version under the lock, so a step another process applied is skipped.
    writer = engine.execution_options(**WRITE)
    while True:
        async with writer.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            await conn.run_sync(schema_version.create, checkfirst=True)
            current = (await conn.execute(select(func.max(schema_version.c.version)))).scalar_one() or 0
            step = next((s for s in STEPS if s.version > current), None)
            if step is None:
                if current > LATEST:
                    log.warning("database schema %d is newer than this program's %d", current, LATEST)
                return current
            await step.apply(conn)
            await conn.execute(insert(schema_version).values(version=step.version, applied_at=dt.datetime.now(dt.UTC)))
            log.info("database schema upgraded to version %d (%s)", step.version, step.description)
