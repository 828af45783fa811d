"""Request lanes (bot.core.ports.RequestLane): turns for requests to one remote service, spaced by a minimum
interval, shared by every process that uses the same database (two `paperboy run` replicas, a CLI beside them).

SqlRequestLanes keeps each lane's next free turn in a row of `request_lanes`. Taking a turn is one short
write (an upsert, under BEGIN IMMEDIATE on SQLite; the row lock serializes it on PostgreSQL): slot =
max(now, next_at), next_at = slot + min_interval. The sleep until the slot happens after the commit, so no
lock is held while waiting. On PostgreSQL "now" is the database's clock, so replicas on hosts whose clocks
disagree still get turns the full interval apart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import Float, cast, extract, func, literal
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.expression import ColumnElement, case

from storage.engine import WRITE, dialect_insert
from storage.tables import request_lanes

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)


class MemoryRequestLanes:
    """Lanes within this process only, on its monotonic clock."""

    def __init__(self) -> None:
        self._next_at: dict[str, float] = {}

    async def wait_turn(self, lane: str, min_interval: float) -> None:
        # No await between reading and writing: turns are taken atomically on the event loop.
        now = time.monotonic()
        slot = max(now, self._next_at.get(lane, now))
        self._next_at[lane] = slot + min_interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def hold(self, lane: str, seconds: float) -> None:
        until = time.monotonic() + seconds
        self._next_at[lane] = max(self._next_at.get(lane, until), until)


class SqlRequestLanes:
    """Lanes in the database. While the database cannot be reached, each process paces itself alone
    (MemoryRequestLanes) rather than failing the request: a warning says so, once per outage."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._insert = dialect_insert(engine, "SqlRequestLanes")
        self._writer = engine.execution_options(**WRITE)
        self._postgres = engine.dialect.name == "postgresql"
        self._alone = MemoryRequestLanes()
        self._unreachable = False

    async def wait_turn(self, lane: str, min_interval: float) -> None:
        try:
            next_at, now = await self._move(lane, lambda current, now: _later(current, now) + min_interval)
        except (OSError, SQLAlchemyError) as exc:
            self._went_alone(lane, exc)
            await self._alone.wait_turn(lane, min_interval)
            return
        slot = next_at - min_interval
        if slot > now:
            await asyncio.sleep(slot - now)

    async def hold(self, lane: str, seconds: float) -> None:
        await self._alone.hold(lane, seconds)  # for this process, should the database go away meanwhile
        try:
            await self._move(lane, lambda current, now: _later(current, now + seconds))
        except (OSError, SQLAlchemyError) as exc:
            self._went_alone(lane, exc)

    async def _move(
        self, lane: str, value: Callable[[ColumnElement[float], ColumnElement[float]], ColumnElement[float]]
    ) -> tuple[float, float]:
        """Set the lane's next_at to value(next_at, now) in one statement (a new lane starts in the past);
        returns the new next_at and now."""
        async with self._writer.begin() as conn:
            now = self._now()
            insert = self._insert(request_lanes).values(name=lane, next_at=value(literal(0.0, Float), now))
            upsert = insert.on_conflict_do_update(
                index_elements=["name"], set_={"next_at": value(request_lanes.c.next_at, now)}
            ).returning(request_lanes.c.next_at, now)
            next_at, at = (await conn.execute(upsert)).one()
        if self._unreachable:
            self._unreachable = False
            log.warning("request lanes: the database is back; lanes are shared again")
        return float(next_at), float(at)

    def _now(self) -> ColumnElement[float]:
        if self._postgres:
            # clock_timestamp(), not now(): the time after waiting for the row's lock, not when the statement began.
            return cast(extract("epoch", func.clock_timestamp()), Float)
        return literal(time.time(), Float)  # SQLite: every process is on this host, on this clock

    def _went_alone(self, lane: str, exc: BaseException) -> None:
        if not self._unreachable:
            self._unreachable = True
            reason = str(getattr(exc, "orig", None) or exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning(
                "request lane %s: the database is unreachable (%s); this process paces its own requests until it "
                "is back, so replicas together may exceed the interval",
                lane,
                reason,
            )


def _later(a: ColumnElement[float], b: ColumnElement[float]) -> ColumnElement[float]:
    return case((a > b, a), else_=b)
