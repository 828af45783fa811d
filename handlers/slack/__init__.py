"""The Slack platform: pasted arXiv links get threaded cards, /digest builds and posts digests (slack-bolt)."""

from handlers.slack.platform import SlackPlatform
from handlers.slack.publisher import SlackPublisher

__all__ = ["SlackPlatform", "SlackPublisher"]
