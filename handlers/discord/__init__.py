"""Discord: summary cards for pasted arXiv links, /digest and /subscriptions, and digest posts (discord.py)."""

from handlers.discord.platform import DiscordPlatform
from handlers.discord.publisher import DiscordPublisher

__all__ = ["DiscordPlatform", "DiscordPublisher"]
