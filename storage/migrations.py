"""Numbered schema steps, each applied once, in its own transaction, recorded in schema_version.

Each step carries its own DDL, frozen as it was on the day it was released: a step never reads
storage/tables.py (the latest shape), so changing a table there cannot change what an old step
builds, on a fresh install or on an old database. To change the schema, edit tables.py AND
append a step (CREATE, ALTER, CREATE INDEX, ...); never edit a released one. The SQL is written
once for SQLite and PostgreSQL alike, except where SQLite cannot do what PostgreSQL does in place
(a new primary key: SQLite rebuilds the table), where a step spells each backend's own;
tests/test_migrations.py checks that a fresh install equals tables.py and equals an old database
upgraded (fixtures in tests/data/schemas/).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from storage.engine import WRITE
from storage.tables import schema_version

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

# Serializes concurrent upgraders on PostgreSQL (any constant bigint; never change it).
_PG_LOCK_KEY = 0x7061706572626F79 & 0x7FFFFFFFFFFFFFFF

# The one type spelled differently: what SQLAlchemy's DateTime(timezone=True) created on each
# backend when the first steps were made with metadata.create_all (SQLite keeps the declared name).
_TIMESTAMP = "TIMESTAMP WITH TIME ZONE"
_SPELLING = {"sqlite": {_TIMESTAMP: "DATETIME"}}


@dataclass(frozen=True)
class Step:
    version: int
    description: str
    statements: tuple[str, ...]
    # A backend's own statements in place of `statements` ("sqlite": ...), where the shared SQL cannot do it.
    per_dialect: tuple[tuple[str, tuple[str, ...]], ...] = ()

    async def apply(self, conn: AsyncConnection) -> None:
        dialect = conn.dialect.name
        for statement in dict(self.per_dialect).get(dialect, self.statements):
            await conn.exec_driver_sql(_spelled(statement, dialect))


def _spelled(statement: str, dialect: str) -> str:
    for standard, local in _SPELLING.get(dialect, {}).items():
        statement = statement.replace(standard, local)
    return statement


# Created before any step, by the runner itself (it records the steps).
_SCHEMA_VERSION = f"""
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER NOT NULL,
    applied_at {_TIMESTAMP} NOT NULL,
    PRIMARY KEY (version)
)"""

STEPS: tuple[Step, ...] = (
    Step(
        1,
        "papers, summaries, token_usage",
        (
            f"""CREATE TABLE papers (
                arxiv_id VARCHAR(64) NOT NULL,
                version INTEGER NOT NULL,
                title TEXT NOT NULL,
                authors JSON NOT NULL,
                abstract TEXT NOT NULL,
                comment TEXT,
                journal_ref TEXT,
                primary_category VARCHAR(64) NOT NULL,
                categories JSON NOT NULL,
                published {_TIMESTAMP} NOT NULL,
                updated {_TIMESTAMP} NOT NULL,
                fetched_at {_TIMESTAMP} NOT NULL,
                PRIMARY KEY (arxiv_id, version)
            )""",
            f"""CREATE TABLE summaries (
                arxiv_id VARCHAR(64) NOT NULL,
                version INTEGER NOT NULL,
                model VARCHAR(200) NOT NULL,
                prompt_version VARCHAR(64) NOT NULL,
                language VARCHAR(35) NOT NULL,
                tldr TEXT NOT NULL,
                takeaways JSON NOT NULL,
                abstract_translation TEXT,
                generator VARCHAR(16) NOT NULL,
                created_at {_TIMESTAMP} NOT NULL,
                PRIMARY KEY (arxiv_id, version, model, prompt_version, language)
            )""",
            """CREATE TABLE token_usage (
                day DATE NOT NULL,
                tokens BIGINT NOT NULL,
                PRIMARY KEY (day)
            )""",
        ),
    ),
    Step(
        2,
        "chat_events, subscriptions",
        (
            f"""CREATE TABLE chat_events (
                "key" VARCHAR(200) NOT NULL,
                claimed_at {_TIMESTAMP} NOT NULL,
                PRIMARY KEY ("key")
            )""",
            f"""CREATE TABLE subscriptions (
                name VARCHAR(80) NOT NULL,
                "query" TEXT NOT NULL,
                channels JSON NOT NULL,
                time VARCHAR(8) NOT NULL,
                timezone VARCHAR(64) NOT NULL,
                weekdays JSON NOT NULL,
                max_papers INTEGER NOT NULL,
                include JSON NOT NULL,
                exclude JSON NOT NULL,
                language VARCHAR(35) NOT NULL,
                post_when_empty BOOLEAN NOT NULL,
                updated_at {_TIMESTAMP} NOT NULL,
                PRIMARY KEY (name)
            )""",
        ),
    ),
    Step(
        3,
        "digest_runs, posted_papers",
        (
            f"""CREATE TABLE digest_runs (
                subscription VARCHAR(80) NOT NULL,
                channel VARCHAR(100) NOT NULL,
                local_date DATE NOT NULL,
                state VARCHAR(16) NOT NULL,
                late BOOLEAN NOT NULL,
                owner VARCHAR(36) NOT NULL,
                lease_until {_TIMESTAMP} NOT NULL,
                window_end {_TIMESTAMP},
                message_ids JSON NOT NULL,
                error TEXT,
                updated_at {_TIMESTAMP} NOT NULL,
                PRIMARY KEY (subscription, channel, local_date)
            )""",
            f"""CREATE TABLE posted_papers (
                channel VARCHAR(100) NOT NULL,
                arxiv_id VARCHAR(64) NOT NULL,
                posted_at {_TIMESTAMP} NOT NULL,
                PRIMARY KEY (channel, arxiv_id)
            )""",
        ),
    ),
    Step(
        4,
        "request_lanes",
        (
            """CREATE TABLE request_lanes (
                name VARCHAR(200) NOT NULL,
                next_at FLOAT NOT NULL,
                PRIMARY KEY (name)
            )""",
        ),
    ),
    Step(
        5,
        "full_texts",
        (
            f"""CREATE TABLE full_texts (
                arxiv_id VARCHAR(64) NOT NULL,
                version INTEGER NOT NULL,
                kind VARCHAR(16) NOT NULL,
                url TEXT NOT NULL,
                license TEXT,
                content JSON NOT NULL,
                fetched_at {_TIMESTAMP} NOT NULL,
                PRIMARY KEY (arxiv_id, version)
            )""",
        ),
    ),
    Step(
        6,
        "summaries: source (in the key), evidence, lead_figure",
        # What a summary was written from is part of its key; the summaries already cached were written from
        # the abstract (and carry no evidence).
        (
            "ALTER TABLE summaries ADD COLUMN source VARCHAR(16) NOT NULL DEFAULT 'abstract'",
            "ALTER TABLE summaries ALTER COLUMN source DROP DEFAULT",
            "ALTER TABLE summaries ADD COLUMN evidence JSON",
            "ALTER TABLE summaries ADD COLUMN lead_figure TEXT",
            "ALTER TABLE summaries DROP CONSTRAINT summaries_pkey",
            "ALTER TABLE summaries ADD PRIMARY KEY (arxiv_id, version, model, prompt_version, language, source)",
        ),
        per_dialect=(
            (
                "sqlite",  # no ALTER of a primary key: a new table, the rows copied, renamed into place
                (
                    f"""CREATE TABLE summaries_v6 (
                        arxiv_id VARCHAR(64) NOT NULL,
                        version INTEGER NOT NULL,
                        model VARCHAR(200) NOT NULL,
                        prompt_version VARCHAR(64) NOT NULL,
                        language VARCHAR(35) NOT NULL,
                        tldr TEXT NOT NULL,
                        takeaways JSON NOT NULL,
                        abstract_translation TEXT,
                        generator VARCHAR(16) NOT NULL,
                        created_at {_TIMESTAMP} NOT NULL,
                        source VARCHAR(16) NOT NULL,
                        evidence JSON,
                        lead_figure TEXT,
                        PRIMARY KEY (arxiv_id, version, model, prompt_version, language, source)
                    )""",
                    """INSERT INTO summaries_v6 (arxiv_id, version, model, prompt_version, language, tldr, takeaways,
                        abstract_translation, generator, created_at, source, evidence, lead_figure)
                    SELECT arxiv_id, version, model, prompt_version, language, tldr, takeaways,
                        abstract_translation, generator, created_at, 'abstract', NULL, NULL
                    FROM summaries""",
                    "DROP TABLE summaries",
                    "ALTER TABLE summaries_v6 RENAME TO summaries",
                ),
            ),
        ),
    ),
    Step(
        7,
        "thread_cards, thread_turns, answers, taste_signals, channel_tastes",
        (
            f"""CREATE TABLE thread_cards (
                location VARCHAR(100) NOT NULL,
                message_id VARCHAR(100) NOT NULL,
                thread VARCHAR(100) NOT NULL,
                channel VARCHAR(100) NOT NULL,
                "position" INTEGER NOT NULL,
                arxiv_id VARCHAR(64) NOT NULL,
                version INTEGER NOT NULL,
                title TEXT NOT NULL,
                posted_at {_TIMESTAMP} NOT NULL,
                PRIMARY KEY (location, message_id, arxiv_id)
            )""",
            "CREATE INDEX ix_thread_cards_thread ON thread_cards (location, thread)",
            f"""CREATE TABLE thread_turns (
                location VARCHAR(100) NOT NULL,
                thread VARCHAR(100) NOT NULL,
                asked_at {_TIMESTAMP} NOT NULL,
                person VARCHAR(200) NOT NULL,
                question TEXT NOT NULL,
                answer TEXT NOT NULL,
                arxiv_ids JSON NOT NULL,
                PRIMARY KEY (location, thread, asked_at, person)
            )""",
            f"""CREATE TABLE answers (
                cache_key VARCHAR(64) NOT NULL,
                arxiv_id VARCHAR(64) NOT NULL,
                version INTEGER NOT NULL,
                payload JSON NOT NULL,
                created_at {_TIMESTAMP} NOT NULL,
                PRIMARY KEY (cache_key)
            )""",
            f"""CREATE TABLE taste_signals (
                channel VARCHAR(100) NOT NULL,
                arxiv_id VARCHAR(64) NOT NULL,
                person VARCHAR(200) NOT NULL,
                kind VARCHAR(100) NOT NULL,
                source VARCHAR(16) NOT NULL,
                "value" INTEGER NOT NULL,
                "at" {_TIMESTAMP} NOT NULL,
                PRIMARY KEY (channel, arxiv_id, person, kind)
            )""",
            f"""CREATE TABLE channel_tastes (
                channel VARCHAR(100) NOT NULL,
                signals_key VARCHAR(128) NOT NULL,
                signal_count INTEGER NOT NULL,
                trained_at {_TIMESTAMP} NOT NULL,
                model_json TEXT NOT NULL,
                PRIMARY KEY (channel)
            )""",
        ),
    ),
)
LATEST = STEPS[-1].version
assert [s.version for s in STEPS] == list(range(1, LATEST + 1)), "migration steps must be numbered 1..n"


async def upgrade(engine: AsyncEngine, *, target: int = LATEST) -> int:
    """Apply the pending steps up to `target` and return the schema version. Safe to run again, or in
    two processes at once."""
    # Every command starts here: a database already up to date is one plain read, no lock taken.
    current = await _read_version(engine)
    if current is not None and _next_step(current, target) is None:
        return _checked(current)
    # BEGIN IMMEDIATE on SQLite, an advisory lock on PostgreSQL: one upgrader at a time, and each
    # re-reads the version under the lock, so a step another process applied is skipped.
    writer = engine.execution_options(**WRITE)
    while True:
        async with writer.begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            await conn.exec_driver_sql(_spelled(_SCHEMA_VERSION, conn.dialect.name))
            current = (await conn.execute(select(func.max(schema_version.c.version)))).scalar_one() or 0
            step = _next_step(current, target)
            if step is None:
                return _checked(current)
            await step.apply(conn)
            await conn.execute(insert(schema_version).values(version=step.version, applied_at=dt.datetime.now(dt.UTC)))
            log.info("database schema upgraded to version %d (%s)", step.version, step.description)


async def _read_version(engine: AsyncEngine) -> int | None:
    """The recorded schema version, or None when there is no schema_version table yet (a new database)."""
    try:
        async with engine.connect() as conn:
            return (await conn.execute(select(func.max(schema_version.c.version)))).scalar_one() or 0
    except (OperationalError, ProgrammingError) as exc:
        if _no_such_table(exc):
            return None
        raise


def _no_such_table(error: OperationalError | ProgrammingError) -> bool:
    # PostgreSQL's undefined_table, on asyncpg's error or the adapter's; SQLite has only its message.
    errors = (error.orig, getattr(error.orig, "__cause__", None))
    return any(getattr(e, "sqlstate", None) == "42P01" for e in errors) or "no such table" in str(error.orig)


def _next_step(current: int, target: int) -> Step | None:
    return next((s for s in STEPS if current < s.version <= target), None)


def _checked(current: int) -> int:
    if current > LATEST:
        log.warning("database schema %d is newer than this program's %d", current, LATEST)
    return current
