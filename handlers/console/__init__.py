"""The console platform: the same bot as in Slack or Discord, in a terminal (`paperboy chat`)."""

from handlers.console.platform import ConsoleResponder, run_console

__all__ = ["ConsoleResponder", "run_console"]
