"""Database fixtures: one real PostgreSQL 15 server per test session; `db_url` and `store` on SQLite, and on it too
for the tests where storage semantics matter.

PostgreSQL comes from the `initdb`/`pg_ctl` binaries on PATH. Without them the postgres cases
skip, unless PAPERBOY_REQUIRE_POSTGRES=1 (as in CI), which makes them fail instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
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


def _new_database(server: PostgresServer, prefix: str = "test") -> str:
    """Create an empty database on `server`; its name."""
    name = f"{prefix}_{os.getpid()}_{next(_database_numbers)}"
    server.execute(f"CREATE DATABASE {name}")
    return name


# The rule: db_url and store are SQLite; a test where storage semantics matter runs on SQLite and PostgreSQL: every
# database test of these modules (storage, migrations, request lanes, the reader's full-text store), and a test
# marked both_databases.
BOTH_DATABASES_MODULES = {"test_storage", "test_migrations", "test_lanes", "test_reader"}
BOTH_DATABASES = ["sqlite", "postgres"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_databases: run on SQLite and on PostgreSQL (db_url and store)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "db_url" not in metafunc.fixturenames or _parametrizes_db_url(metafunc):
        return
    module = metafunc.module.__name__.rpartition(".")[2]
    if module in BOTH_DATABASES_MODULES or metafunc.definition.get_closest_marker("both_databases"):
        metafunc.parametrize("db_url", BOTH_DATABASES, indirect=True)


def _parametrizes_db_url(metafunc: pytest.Metafunc) -> bool:
    """The test names its database itself (@pytest.mark.parametrize("db_url", [...], indirect=True))."""
    for marker in metafunc.definition.iter_markers("parametrize"):
        names = marker.args[0] if marker.args else marker.kwargs.get("argnames", ())
        if "db_url" in ([n.strip() for n in names.split(",")] if isinstance(names, str) else names):
            return True
    return False


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for one test: a temp SQLite file, or (param "postgres") a fresh database on the
    session server."""
    if getattr(request, "param", "sqlite") == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'paperboy.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")  # lazily: sqlite runs need no server
    name = _new_database(server)
    try:
        yield server.url(name)
    finally:
        server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextlib.asynccontextmanager
async def upgraded_store(url: str, **options: Any) -> AsyncIterator[SqlStore]:
    """A SqlStore on the upgraded database at `url`; its engine is disposed afterwards."""
    engine = make_engine(url)
    try:
        await upgrade(engine)
        yield SqlStore(engine, **options)
    finally:
        await engine.dispose()


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlStore]:
    """A SqlStore on an upgraded `db_url` database."""
    async with upgraded_store(db_url) as upgraded:
        yield upgraded


# -- a PostgreSQL server a test may stop (RELIABILITY row 44)


class StoppablePostgres:
    """A private PostgreSQL server (not the session's) that a test may stop and start again on its port.

    Instead of waiting out an outage of some seconds, a test starts the server again once a store found it
    down: `await server.retried()` returns at storage.retry's first warning after stop().
    """

    def __init__(self) -> None:
        self._cluster = _Cluster()
        self.server = self._cluster.start()
        self._options = f"-h 127.0.0.1 -p {self.server.port} -k {self._cluster.sockets} {FAST_SETTINGS}"
        self._watch: _RetryWatch | None = None

    @property
    def running(self) -> bool:
        return self._watch is None

    async def stop(self) -> None:
        """As `docker stop` would: sessions are ended, new connections refused."""
        self._watch = _RetryWatch()
        await asyncio.to_thread(self._cluster._cmd, "pg_ctl", "-D", self._cluster.data, "-m", "fast", "-w", "stop")

    async def retried(self, timeout: float = 20) -> None:
        """Wait until a store has found the stopped server unreachable and is retrying."""
        assert self._watch is not None, "retried() waits for a stopped server"
        async with asyncio.timeout(timeout):
            await self._watch.seen.wait()

    async def start(self) -> None:
        await asyncio.to_thread(self._start)

    def _start(self) -> None:
        self._cluster._cmd("pg_ctl", "-D", self._cluster.data, "-l", self._cluster.log, "-w", "-o", self._options,
                           "start")  # fmt: skip
        if self._watch is not None:
            self._watch.close()
            self._watch = None

    @contextlib.asynccontextmanager
    async def new_store(self, **options: Any) -> AsyncIterator[SqlStore]:
        """A SqlStore on a fresh, upgraded database of this server."""
        async with upgraded_store(self.server.url(_new_database(self.server, "outage")), **options) as upgraded:
            yield upgraded

    def close(self) -> None:
        self._cluster.stop()


class _RetryWatch(logging.Handler):
    """Sets `seen` at storage.retry's warning that the database is unreachable (it then retries with backoff)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen = asyncio.Event()
        self._logger = logging.getLogger("storage.retry")
        self._logger.addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.set()  # logged from the store's coroutine, on the test's loop

    def close(self) -> None:
        self._logger.removeHandler(self)
        super().close()


@pytest.fixture(scope="session")
def _stoppable_postgres(postgres_server: PostgresServer) -> Iterator[StoppablePostgres]:
    # postgres_server: skipped (or failed, in CI) without the binaries
    server = StoppablePostgres()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def stoppable_postgres(_stoppable_postgres: StoppablePostgres) -> Iterator[StoppablePostgres]:
    """The session's stoppable PostgreSQL server, running again after each test whatever the test did."""
    yield _stoppable_postgres
    if not _stoppable_postgres.running:
        _stoppable_postgres._start()
