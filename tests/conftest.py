"""Shared fixtures live in plugin modules, one per fake or resource; this file adds suite-wide guards.

- Secrets (RELIABILITY row 37): the whole suite logs at DEBUG to a file (one per xdist worker), scanned at the
  end for anything shaped like a token; a match fails the run.
- The event loop (row 38): `loop_guard` turns on asyncio debug mode and fails a test in which
  any callback held the loop for more than SLOW_CALLBACK_SECONDS.
"""

from __future__ import annotations

import asyncio
import logging
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from bot.logs import SECRET_PATTERNS

pytest_plugins = [
    "tests.fakes.arxiv_server",
    "tests.fakes.arxiv_site",
    "tests.fakes.llm_server",
    "tests.db",
    "tests.stack",
    "tests.fakes.slack_server",
    "tests.fakes.discord_server",
]

# One directory per run (runs on one machine must not scan each other's logs). Under pytest-xdist each worker
# logs to a file of its own in the controller's directory, and the controller scans them all at the end.
_DEBUG_LOGS = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    worker = getattr(config, "workerinput", None)
    if worker is None:
        logs, name = Path(tempfile.mkdtemp(prefix="paperboy-tests-")), "debug.log"
    else:
        logs, name = Path(worker["paperboy_debug_logs"]), f"debug-{worker['workerid']}.log"
    config.stash[_DEBUG_LOGS] = logs
    handler = logging.FileHandler(logs / name, mode="w", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:  # pytest-xdist, in the controller, for each worker it starts
    node.workerinput["paperboy_debug_logs"] = str(node.config.stash[_DEBUG_LOGS])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    logging.shutdown()
    if hasattr(session.config, "workerinput"):
        return  # the controller scans this worker's file with its own, after every worker has finished
    logs = session.config.stash[_DEBUG_LOGS]
    text = "".join(log.read_text(encoding="utf-8", errors="replace") for log in sorted(logs.glob("debug*.log")))
    leaks = sorted({match.group(0)[:12] + "…" for match in SECRET_PATTERNS.finditer(text)})
    if leaks:
        print(f"\nSECRET LEAK: token-shaped strings in DEBUG logs ({logs}): {leaks}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        shutil.rmtree(logs, ignore_errors=True)  # kept only to be read after a leak


# The target is 100 ms; debug mode's own bookkeeping (a traceback per handle) roughly triples what a callback
# costs, and asyncio measures wall time: on the 2-core CI machine running two test workers, PDF parsing child
# processes and PostgreSQL, a callback is sometimes descheduled mid-way (0.36 s seen for a plain request
# handler). A blocking call (a sync HTTP request, a parse of a large feed) takes far longer than this anyway.
SLOW_CALLBACK_SECONDS = 0.75


class _SlowCallbacks(logging.Handler):
    """asyncio's debug mode logs 'Executing <...> took 0.123 seconds' for each slow callback."""

    pattern = re.compile(r"took \d+\.\d+ seconds")

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.slow: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if self.pattern.search(message):
            self.slow.append(message)


class LoopGuard:
    """Once armed (after start-up work such as connecting, which may legitimately take longer), any callback
    that holds the loop for more than SLOW_CALLBACK_SECONDS fails the test."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.watcher = _SlowCallbacks()

    def arm(self) -> None:
        logging.getLogger("asyncio").addHandler(self.watcher)
        self._loop.slow_callback_duration = SLOW_CALLBACK_SECONDS
        self._loop.set_debug(True)

    def disarm(self) -> list[str]:
        self._loop.set_debug(False)
        logging.getLogger("asyncio").removeHandler(self.watcher)
        return self.watcher.slow


@pytest.fixture
async def loop_guard():
    """A LoopGuard for this test's loop; call .arm() where the watched part begins."""
    guard = LoopGuard(asyncio.get_running_loop())
    yield guard
    slow = guard.disarm()
    assert slow == [], f"the event loop was blocked: {slow}"
