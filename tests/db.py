"""Database fixtures: one real PostgreSQL 15 server per test session; `db_url` and `store` on SQLite and it.

PostgreSQL comes from the `initdb`/`pg_ctl` binaries on PATH. Without them the postgres cases
skip, unless PAPERBOY_REQUIRE_POSTGRES=1 (as in CI), which makes them fail instead.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from storage.engine import make_engine
from storage.migrations import upgrade
from storage.repository import SqlStore

MISSING = "PostgreSQL 15 binaries (initdb, pg_ctl) not on PATH; install postgresql-15 to run these"
READY_TIMEOUT = 30.0
# Speed over durability: a throwaway server.
FAST_SETTINGS = "-F -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to completion from sync code, even while a test's event loop is running."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@dataclass(frozen=True)
class PostgresServer:
    port: int
    database: str = "paperboy"
    host: str = "127.0.0.1"
    user: str = "postgres"

    def url(self, database: str | None = None) -> str:
        return f"postgresql+asyncpg://{self.user}@{self.host}:{self.port}/{database or self.database}"

    def execute(self, sql: str) -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE) on the maintenance database."""
        _run(self._execute(sql))

    async def _execute(self, sql: str) -> None:
        conn = await asyncpg.connect(host=self.host, port=self.port, user=self.user, database="postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()


class _Cluster:
    """A data directory in a temp dir, run by the `postgres` user when we are root (initdb refuses root)."""

    def __init__(self) -> None:
        # RAM-backed when possible: a database per test is then ~10x cheaper to create.
        shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None  # noqa: S108
        self.base = Path(tempfile.mkdtemp(prefix="paperboy-pg-", dir=shm))
        self.data, self.sockets, self.log = self.base / "data", self.base / "sock", self.base / "postgres.log"
        self.sockets.mkdir()
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            try:
                for path in (self.base, self.sockets):
                    shutil.chown(path, "postgres", "postgres")
            except LookupError as error:
                raise RuntimeError("running tests as root needs a 'postgres' user to run initdb") from error
            self.prefix = [shutil.which("runuser") or "/usr/sbin/runuser", "-u", "postgres", "--"]

    def _cmd(self, tool: str, *args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [*self.prefix, shutil.which(tool) or tool, *map(str, args)]
        return subprocess.run(argv, cwd=self.base, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> PostgresServer:
        self._cmd("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        for _ in range(3):  # a free port can be taken between choosing it and binding it
            port = _free_port()
            options = f"-h 127.0.0.1 -p {port} -k {self.sockets} {FAST_SETTINGS}"
            started = self._cmd(
                "pg_ctl", "-D", self.data, "-l", self.log, "-w", "-t", "60", "-o", options, "start", check=False
            )
            if started.returncode == 0:
                break
        else:
            raise RuntimeError(f"PostgreSQL did not start:\n{started.stderr}\n{self.log_tail()}")
        server = PostgresServer(port)
        _run(self._wait_ready(server))
        server.execute(f"CREATE DATABASE {server.database}")
        return server

    async def _wait_ready(self, server: PostgresServer) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                conn = await asyncpg.connect(
                    host=server.host, port=server.port, user=server.user, database="postgres", timeout=5
                )
            except (OSError, asyncpg.PostgresError) as error:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL not ready after {READY_TIMEOUT}s:\n{self.log_tail()}") from error
                await asyncio.sleep(0.05)
            else:
                await conn.close()
                return

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._cmd("pg_ctl", "-D", self.data, "-m", "fast", "-w", "-t", "60", "stop", check=False)
        shutil.rmtree(self.base, ignore_errors=True)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else "(no server log)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL 15 server on 127.0.0.1 (random port) for the whole session, removed at the end."""
    if not (shutil.which("initdb") and shutil.which("pg_ctl")):
        if os.environ.get("PAPERBOY_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{MISSING} (PAPERBOY_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(MISSING)
    cluster = _Cluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """An asyncpg SQLAlchemy URL to the session server's database."""
    return postgres_server.url()


_database_numbers = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for one test: a temp SQLite file, or a fresh database on the session server."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'paperboy.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")  # lazily: sqlite runs need no server
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    server.execute(f"CREATE DATABASE {name}")
    try:
        yield server.url(name)
    finally:
        server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlStore]:
    """A SqlStore on an upgraded `db_url` database; its engine is disposed afterwards."""
    engine = make_engine(db_url)
    try:
        await upgrade(engine)
        yield SqlStore(engine)
    finally:
        await engine.dispose()
