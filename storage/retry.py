"""Bounded retries for a database that is briefly out of reach (a restart, a failover, a dropped connection).

Only failures to reach the database are retried; anything else (a constraint, a bug) is raised at once.
After `patience_seconds` the last failure becomes StorageUnavailable, one line a person can act on.
Retry only what is safe to repeat: an operation whose commit may have succeeded before the connection
broke runs again, so it must be idempotent (see SqlStore's ledger writes).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import exc as sa_exc

from bot.core.errors import StorageUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

PATIENCE_SECONDS = 10.0
FIRST_DELAY_SECONDS = 0.1
MAX_DELAY_SECONDS = 2.0
# PostgreSQL SQLSTATEs for "the server is not there right now": connection exceptions (08xxx), an admin
# or crash shutdown, "the database system is starting up / shutting down", too many connections.
_UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")


def is_unreachable(error: BaseException) -> bool:
    """True when `error` (or what caused it) says the database could not be reached, not that it refused."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError | TimeoutError | sa_exc.TimeoutError):
            return True
        if isinstance(current, sa_exc.InterfaceError) and not isinstance(current.orig, sqlite3.Error):
            return True  # asyncpg's "connection is closed" (SQLite's InterfaceError is a bad parameter: a bug)
        if isinstance(current, sa_exc.DBAPIError) and current.connection_invalidated:
            return True
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_UNREACHABLE_STATES):
            return True
        if isinstance(current, sqlite3.OperationalError) and ("locked" in str(current) or "busy" in str(current)):
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


async def retry_database(
    operation: Callable[[], Awaitable[T]],
    *,
    what: str,
    patience_seconds: float = PATIENCE_SECONDS,
) -> T:
    """Await operation() until it succeeds, retrying an unreachable database with backoff for up to
    `patience_seconds`; then raise StorageUnavailable naming `what` was being done."""
    deadline = time.monotonic() + patience_seconds
    delay = FIRST_DELAY_SECONDS
    failed_at: float | None = None
    while True:
        try:
            result = await operation()
        except Exception as error:
            if not is_unreachable(error):
                raise
            left = deadline - time.monotonic()
            reason = _reason(error)
            if left <= 0:
                raise StorageUnavailable(
                    f"the database is unreachable ({reason}) while {what}; gave up after {patience_seconds:g} s"
                ) from error
            if failed_at is None:
                failed_at = time.monotonic()
                log.warning("the database is unreachable (%s) while %s; retrying for up to %.0f s", reason, what, left)
            await asyncio.sleep(min(delay, left))
            delay = min(2 * delay, MAX_DELAY_SECONDS)
            continue
        if failed_at is not None:
            log.info("the database is back after %.1f s (%s)", time.monotonic() - failed_at, what)
        return result


def _reason(error: BaseException) -> str:
    """The driver's own first line, without SQLAlchemy's SQL and background-link lines."""
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__
