"""Logging to stderr with secrets redacted, whatever the level (RELIABILITY row 37)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

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


def setup_logging(*, verbose: bool, secrets: Iterable[str], quiet: bool = False) -> None:
    """quiet: one-shot commands report failures themselves, one line each; only errors are logged."""
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.WARNING)
    if not verbose and not quiet:
        # A long-running bot tells its operator what it does; libraries only when something is wrong.
        for ours in ("bot", "handlers", "storage", "paperboy"):
            logging.getLogger(ours).setLevel(logging.INFO)
    if verbose:
        # Third-party wire logs at DEBUG carry request headers (API keys): keep them at INFO.
        for noisy in ("openai", "httpx", "httpcore", "httpx2", "aiosqlite", "asyncio"):
            logging.getLogger(noisy).setLevel(logging.INFO)
