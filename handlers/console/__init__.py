"""The console platform: the same bot as in Slack or Discord, in a terminal (`paperboy chat`)."""

from handlers.console.platform import ConsolePublisher, ConsoleResponder, run_console

__all__ = ["ConsolePublisher", "ConsoleResponder", "run_console"]
