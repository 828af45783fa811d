"""Build the AsyncEngine for `storage.url`: SQLite (the default) or PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.core.errors import ConfigError

DEFAULT_URL = "sqlite+aiosqlite:///paperboy.db"
SQLITE_BUSY_TIMEOUT_MS = 10_000

# Plain schemes are accepted for convenience and mapped to the async drivers we ship.
_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}

# Execution option for transactions that write: on SQLite they start with BEGIN IMMEDIATE, so
# they queue on busy_timeout for the write lock instead of failing midway ("database is locked").
WRITE = {"paperboy_write": True}


def make_engine(url: str = DEFAULT_URL) -> AsyncEngine:
    """An AsyncEngine for a sqlite+aiosqlite or postgresql+asyncpg URL; ConfigError for anything else."""
    parsed = _parse(url)
    if parsed.drivername == "sqlite+aiosqlite":
        engine = create_async_engine(parsed)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        parsed, pool_size=5, max_overflow=10, pool_timeout=30, pool_pre_ping=True, pool_recycle=1800
    )


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        # The URL may hold a password, so it is not echoed.
        raise ConfigError(
            "storage.url: not a database URL (use sqlite+aiosqlite:///FILE or postgresql+asyncpg://...)"
        ) from None
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise ConfigError(
            f"storage.url: unsupported scheme {parsed.drivername!r} "
            "(use sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB)"
        )
    return parsed.set(drivername=driver)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the driver (it skips BEGIN before DDL and SELECT) and emit it below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")  # readers never block the writer
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get("paperboy_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
