"""Logging to stderr (or, for a console session at -v, to paperboy.log) with secrets redacted, whatever the
level (RELIABILITY row 37)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path

# Token shapes we know, redacted even when they are not our own secrets.
# Each starts at a word boundary ("task-specific" is not an OpenAI key).
SECRET_PATTERNS = re.compile(
    r"(?<![A-Za-z0-9_-])(?:xox[abposr]-[A-Za-z0-9-]{6,}|xapp-[A-Za-z0-9-]{6,}|sk-[A-Za-z0-9_-]{8,}"
    r"|[A-Za-z0-9_-]{24,}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,})"
)


class RedactingFormatter(logging.Formatter):
    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        self._secrets = sorted((s for s in secrets if len(s) >= 4), key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return SECRET_PATTERNS.sub("[redacted]", text)

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


# Libraries whose DEBUG lines carry what must not be logged, or only noise: request headers and bodies (API keys,
# chat messages sent), Slack's Socket Mode payloads (message text, the legacy verification token) and the
# apps.connections.open answer (the Socket Mode URL, a connection ticket), Discord's REST bodies and gateway
# events, aiohttp's server tracebacks for garbage requests. At -v they stay at INFO; our own DEBUG lines remain.
QUIET_LIBRARIES = (
    "openai", "httpx", "httpcore", "httpx2", "httpcore2", "aiosqlite", "asyncio", "aiohttp", "slack_bolt",
    "slack_sdk", "discord", "websockets",
)  # fmt: skip


class QuietLibraries(logging.Filter):
    """Drops the DEBUG lines of QUIET_LIBRARIES. A filter on the handler, not only a logger level: slack_bolt
    copies the root's level onto its own logger when an app is built, which a parent's level cannot override."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO or not _is_library(record.name)


def _is_library(name: str) -> bool:
    return any(name == library or name.startswith(library + ".") for library in QUIET_LIBRARIES)


LOG_FILE = "paperboy.log"  # a console session's -v log, in the current directory
LINE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(*, verbose: bool, secrets: Iterable[str], quiet: bool = False, console: bool = False) -> Path | None:
    """quiet: one-shot commands report failures themselves, one line each; only errors are logged.
    console: a conversation on the terminal (`chat`, `run` chatting on the console): only warnings reach
    the terminal, so no log line lands between a question and its answer; with -v every line goes to
    LOG_FILE instead, whose path is returned."""
    secrets = list(secrets)
    root = logging.getLogger()
    root.handlers[:] = [_handler(logging.StreamHandler(), secrets)]
    log_file = None
    if console:
        root.handlers[0].setLevel(logging.WARNING)
        if verbose:
            log_file = Path(LOG_FILE).resolve()
            root.handlers.append(_handler(logging.FileHandler(log_file, encoding="utf-8"), secrets))
    root.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING)
    if not verbose and not quiet and not console:
        # A long-running bot tells its operator what it does; libraries only when something is wrong.
        for ours in ("bot", "handlers", "storage", "paperboy"):
            logging.getLogger(ours).setLevel(logging.INFO)
    if verbose:
        for library in QUIET_LIBRARIES:  # not even built (the filter is what guarantees it)
            logging.getLogger(library).setLevel(logging.INFO)
    return log_file


def _handler(handler: logging.Handler, secrets: Iterable[str]) -> logging.Handler:
    handler.setFormatter(RedactingFormatter(LINE_FORMAT, secrets))
    handler.addFilter(QuietLibraries())
    return handler
