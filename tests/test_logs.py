"""Secrets never reach a log line, whatever the level (row 37)."""

import logging

from bot.logs import RedactingFormatter

SECRETS = ["xoxb-1234-5678-abcdefghijkl", "xapp-1-A0-123-abcdef", "sk-proj-abcdefghijklmnop", "plain-signing-secret"]


def format_record(message: str, *args, exc_info=None) -> str:
    formatter = RedactingFormatter("%(message)s", ["plain-signing-secret"])
    record = logging.LogRecord("t", logging.DEBUG, __file__, 1, message, args, exc_info)
    return formatter.format(record)


def test_known_token_shapes_and_configured_secrets_are_redacted():
    """Slack, OpenAI tokens by shape and our own secrets by value become [redacted]."""
    text = format_record("tokens: %s %s %s %s", *SECRETS)
    assert all(secret not in text for secret in SECRETS) and text.count("[redacted]") == 4


def test_secrets_inside_a_traceback_are_redacted():
    """A secret in an exception message, logged with its traceback, is redacted too."""
    try:
        raise RuntimeError("auth failed for xoxb-1234-5678-abcdefghijkl")
    except RuntimeError:
        import sys

        text = format_record("boom", exc_info=sys.exc_info())
    assert "Traceback" in text and "xoxb-1234" not in text


def test_ordinary_words_are_left_alone():
    """'task-specific' and a Discord snowflake are not tokens."""
    text = format_record("a task-specific reward in channel 123456789012345678")
    assert text == "a task-specific reward in channel 123456789012345678"
