"""Build the AsyncEngine for `storage.url`: SQLite (the default) or PostgreSQL."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.core.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy import Table
    from sqlalchemy.ext.asyncio import AsyncEngine

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


_ASYNCIO = "sqlalchemy.ext.asyncio"
# What we take from it; any other name it exports loads the rest of it (see below).
_ASYNCIO_ENGINE_NAMES = ("AsyncConnection", "AsyncEngine", "create_async_engine")


def _register_asyncio_without_orm() -> None:
    """Make `sqlalchemy.ext.asyncio` importable without the ORM.

    The package's __init__ also imports AsyncSession and with it all of sqlalchemy.orm: a tenth of a second
    of every command's start-up, for a program that uses Core only. So the package is registered here
    without running its __init__, and its engine module is imported. The first use of any other name
    (AsyncSession, ...) runs the real __init__ after all (a module __getattr__, PEP 562), so whatever
    else in the process wants the ORM still gets the whole package.
    """
    if _ASYNCIO in sys.modules:
        return  # imported already, whole
    spec = importlib.util.find_spec(_ASYNCIO)
    if spec is None or spec.loader is None:
        return
    loader = spec.loader
    package = importlib.util.module_from_spec(spec)

    def load_the_rest(name: str) -> object:
        if name.startswith("__") or importlib.util.find_spec(f"{_ASYNCIO}.{name}") is not None:
            # A dunder, or a submodule (`from . import exc`) for the import system to load: not a reason to.
            raise AttributeError(name)
        del package.__getattr__
        loader.exec_module(package)
        return getattr(package, name)

    package.__getattr__ = load_the_rest  # type: ignore[method-assign]
    sys.modules[_ASYNCIO] = package
    try:
        engine = importlib.import_module(f"{_ASYNCIO}.engine")
        for name in _ASYNCIO_ENGINE_NAMES:
            setattr(package, name, getattr(engine, name))
    except BaseException:
        del sys.modules[_ASYNCIO]  # an unexpected SQLAlchemy: the next import runs the real __init__
        raise


_register_asyncio_without_orm()


def make_engine(url: str = DEFAULT_URL) -> AsyncEngine:
    """An AsyncEngine for a sqlite+aiosqlite or postgresql+asyncpg URL; ConfigError for anything else."""
    from sqlalchemy.ext.asyncio import create_async_engine

    parsed = _parse(url)
    if parsed.drivername == "sqlite+aiosqlite":
        engine = create_async_engine(parsed)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        parsed, pool_size=5, max_overflow=10, pool_timeout=30, pool_pre_ping=True, pool_recycle=1800
    )


def dialect_insert(engine: AsyncEngine, user: str) -> Callable[[Table], Any]:
    """The insert() of the engine's dialect, for ON CONFLICT. Imported here, not at the top: a SQLite user
    would pay ~50 ms at every start for PostgreSQL's dialect (create_engine has loaded the one in use)."""
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    raise ValueError(f"{user} supports SQLite and PostgreSQL, not {engine.dialect.name}")


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
