"""Migrations on SQLite and PostgreSQL: databases left by earlier versions upgrade to a fresh install's schema
with their data; the frozen steps rebuild each earlier version exactly; upgraders may race."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import make_url

from bot.core.models import ArxivRef, DigestRun, Evidence, Subscription
from storage.engine import WRITE, make_engine
from storage.migrations import _PG_LOCK_KEY, LATEST, upgrade
from storage.repository import SqlStore
from storage.tables import metadata, schema_version
from tests.db import PostgresServer

SCHEMAS = Path(__file__).parent / "data" / "schemas"
OLD_VERSIONS = (1, 2, 3, 4, 5, 6)  # tests/data/schemas/v{N}.{sqlite,postgresql}.sql, made by generate.py there
REPO = str(Path(__file__).resolve().parent.parent)
UTC = dt.UTC


@pytest.fixture
def other_url(db_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A second empty database on db_url's backend, to compare schemas with."""
    if db_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"{make_url(db_url).database}_other"
    server.execute(f"CREATE DATABASE {name}")
    try:
        yield server.url(name)
    finally:
        server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def load_dump(url: str, version: int) -> None:
    """Make `url` (empty) the database that schema `version` left, from its backend's own dump."""
    parsed = make_url(url)
    backend = "sqlite" if parsed.drivername.startswith("sqlite") else "postgresql"
    script = (SCHEMAS / f"v{version}.{backend}.sql").read_text("utf-8")
    if backend == "sqlite":
        conn = sqlite3.connect(parsed.database or "")
        try:
            conn.executescript(script)
        finally:
            conn.close()
        return
    pg = await asyncpg.connect(host=parsed.host, port=parsed.port, user=parsed.username, database=parsed.database)
    try:
        await pg.execute(script)
    finally:
        await pg.close()


async def upgraded(url: str, *, target: int = LATEST) -> int:
    engine = make_engine(url)
    try:
        return await upgrade(engine, target=target)
    finally:
        await engine.dispose()


async def schema(url: str) -> dict[str, dict[str, Any]]:
    """Tables with their columns (name, type as this backend spells it, nullable, default), primary key,
    indexes, unique constraints and foreign keys, as SQLAlchemy reflects them."""
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_reflect)
    finally:
        await engine.dispose()


def _reflect(conn: Any) -> dict[str, dict[str, Any]]:
    inspector = inspect(conn)
    tables = {}
    for table in sorted(inspector.get_table_names()):
        tables[table] = {
            "columns": [
                (c["name"], c["type"].compile(dialect=conn.dialect), c["nullable"], c.get("default"))
                for c in inspector.get_columns(table)
            ],
            "primary_key": inspector.get_pk_constraint(table)["constrained_columns"],
            "indexes": sorted((i["name"], tuple(i["column_names"]), i["unique"]) for i in inspector.get_indexes(table)),
            "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)),
            "foreign_keys": sorted(
                (tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"]))
                for f in inspector.get_foreign_keys(table)
            ),
        }
    return tables


async def recorded_versions(url: str) -> list[int]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return sorted((await conn.execute(select(schema_version.c.version))).scalars())
    finally:
        await engine.dispose()


@pytest.mark.parametrize("version", OLD_VERSIONS)
async def test_frozen_steps_rebuild_each_earlier_version(db_url, other_url, version) -> None:
    """Today's steps 1..N build exactly the schema that version N's own code built (its dump)."""
    await load_dump(db_url, version)
    assert await upgraded(other_url, target=version) == version
    old = await schema(db_url)
    assert "schema_version" in old and len(old) > 1
    assert old == await schema(other_url)


@pytest.mark.parametrize("version", OLD_VERSIONS)
async def test_earlier_database_upgrades_to_a_fresh_install_keeping_its_data(db_url, other_url, version) -> None:
    """A database left by version N upgrades to the latest version; its schema then equals a fresh
    install's, and today's store reads every row the old code wrote."""
    await load_dump(db_url, version)
    assert await upgraded(db_url) == LATEST
    assert await upgraded(db_url) == LATEST  # and again: nothing left to do
    assert await upgraded(other_url) == LATEST
    assert await schema(db_url) == await schema(other_url)
    assert await recorded_versions(db_url) == list(range(1, LATEST + 1))
    engine = make_engine(db_url)
    try:
        await check_rows(SqlStore(engine), version)
    finally:
        await engine.dispose()


async def check_rows(store: SqlStore, version: int) -> None:
    """The rows generate.py wrote, as today's code reads them."""
    new_ref, old_ref = ArxivRef("2505.22653", 2), ArxivRef("hep-th/9901001")
    papers = await store.get_papers([new_ref, old_ref], fresh_since=dt.datetime(2025, 5, 30, tzinfo=UTC))
    assert papers[new_ref].authors == ("Ada Lovelace", "Émile Borel")
    assert papers[new_ref].categories == ("cs.CL", "cs.AI") and papers[new_ref].journal_ref is None
    assert papers[new_ref].updated == dt.datetime(2025, 5, 29, 9, 30, 0, 123456, tzinfo=UTC)
    assert papers[old_ref].version == 1 and papers[old_ref].journal_ref == "Phys. Lett. B 1 (1999)"
    summary = await store.get_summary("2505.22653", 2, model="gpt-4o-mini", prompt_version="p1", language="en")
    assert summary is not None and summary.takeaways == ("one", "two") and summary.generator == "llm"
    # Cached before summaries were written from the paper itself: from the abstract, with no evidence.
    assert (summary.source, summary.evidence, summary.lead_figure) == ("abstract", (), None)
    html = await store.get_summary("2505.22653", 2, model="gpt-4o-mini", prompt_version="p1", language="en",
                                   source="html")  # fmt: skip
    if version < 6:
        assert html is None
    else:  # written from the paper itself, with its evidence
        assert html is not None and html.takeaways == ("Accuracy rises by 12.5% on GSM8K.", "No code.")
        assert html.evidence == (
            Evidence("Accuracy rises by $12.5\\%$ on GSM8K.", "https://arxiv.org/html/2505.22653v2#S4.p2"),
            None,
        )
        assert html.lead_figure == "Figure 1"
    assert await store.tokens_used(dt.date(2025, 5, 30)) == 1234
    if version >= 2:
        assert await store.claim_event("slack:Ev0123") is False  # claimed before the upgrade
        assert await store.list_subscriptions() == [
            Subscription(
                name="nlp-daily",
                query="cat:cs.CL AND abs:reasoning",
                channels=("slack:C0123", "console"),
                time=dt.time(8, 30),
                timezone="Europe/Paris",
                weekdays=(0, 1, 2, 3, 4),
                max_papers=7,
                include=("reasoning",),
                language="fr",
                post_when_empty=False,
            )
        ]
    if version >= 3:
        assert await store.recent_runs() == [
            DigestRun(
                subscription="nlp-daily",
                channel="slack:C0123",
                local_date=dt.date(2025, 5, 30),
                state="sent",
                window_end=dt.datetime(2025, 5, 30, tzinfo=UTC),
                message_ids=("1717.1", "1717.2"),
                owner="5f0c6b5e-0d7a-4b8e-9a51-3c2f1d0e9b77",
            )
        ]
        assert await store.posted_paper_ids("slack:C0123") == {"2505.22653", "hep-th/9901001"}
    if version >= 5:
        text = await store.get_full_text("2505.22653", 2)
        assert text is not None and (text.kind, text.license) == ("html", "CC BY 4.0")
        assert text.paragraphs[1].text == "Accuracy rises by $12.5\\%$ on GSM8K."
        assert text.figures[0].image_url == "https://arxiv.org/html/2505.22653v2/x1.png"
    # And the old tables take new writes.
    assert await store.claim_event("slack:Ev9999") is True


async def test_fresh_install_equals_the_tables_module(db_url, other_url) -> None:
    """The steps build what storage/tables.py describes: a table changed there without a step fails here."""
    assert await upgraded(db_url) == LATEST
    engine = make_engine(other_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
    finally:
        await engine.dispose()
    assert await schema(db_url) == await schema(other_url)


async def test_two_upgrades_at_once_from_an_earlier_version(db_url) -> None:
    """Two upgraders racing on a version-1 database both end at the latest version, each step applied once."""
    await load_dump(db_url, 1)
    engines = [make_engine(db_url), make_engine(db_url)]
    try:
        assert await asyncio.gather(*(upgrade(e) for e in engines)) == [LATEST, LATEST]
        async with engines[0].connect() as conn:
            assert (await conn.execute(select(func.count()).select_from(schema_version))).scalar() == LATEST
    finally:
        for engine in engines:
            await engine.dispose()
    assert await recorded_versions(db_url) == list(range(1, LATEST + 1))


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_db_upgrade_commands_at_once(db_url, tmp_path) -> None:
    """Two `paperboy db upgrade` processes started together on one empty PostgreSQL database both succeed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERBOY_")}
    env |= {"PYTHONPATH": REPO, "PAPERBOY_STORAGE__URL": db_url}
    argv = [sys.executable, "-m", "bot", "db", "upgrade"]
    pipe = asyncio.subprocess.PIPE
    procs = [
        await asyncio.create_subprocess_exec(*argv, env=env, cwd=tmp_path, stdout=pipe, stderr=pipe) for _ in range(2)
    ]
    async with asyncio.timeout(60):
        outputs = await asyncio.gather(*(proc.communicate() for proc in procs))
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
        assert out.decode().strip() == f"database schema is at version {LATEST} (postgresql+asyncpg)"
    assert await recorded_versions(db_url) == list(range(1, LATEST + 1))


async def test_an_up_to_date_database_opens_without_waiting_for_the_lock(db_url) -> None:
    """Every command runs upgrade at start: with nothing to apply it only reads, so it does not queue behind
    another process's write (SQLite's write lock, waited for up to busy_timeout, 10 s) or upgrade (the
    PostgreSQL advisory lock)."""
    assert await upgraded(db_url) == LATEST
    holder, opener = make_engine(db_url), make_engine(db_url)
    try:
        async with holder.execution_options(**WRITE).begin() as conn:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            await conn.exec_driver_sql("DELETE FROM request_lanes")  # holds SQLite's write lock
            async with asyncio.timeout(5):
                assert await upgrade(opener) == LATEST
    finally:
        await opener.dispose()
        await holder.dispose()
