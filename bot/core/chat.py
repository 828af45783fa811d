"""The one handler path every chat platform (console, Slack, Discord) calls.

A platform translates its payload into an IncomingMessage and gives a Responder that renders;
this module decides what the answer is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import shlex
import zoneinfo
from collections.abc import Callable, Sequence

from bot.core.digest import DigestService
from bot.core.errors import PaperboyError
from bot.core.models import LANGUAGE_CODE, DigestRequest, IncomingMessage, Subscription
from bot.core.ports import Responder, SubscriptionBook
from bot.core.refs import find_invalid_links, find_refs
from bot.core.summaries import SummaryService, utc_now

log = logging.getLogger(__name__)

HELP = """\
Paste an arXiv link (or arXiv:ID) and I reply with a summary card.
/digest                  this channel's subscription digest for today
/digest QUERY            an ad-hoc digest, arXiv search syntax: /digest cat:cs.CL AND abs:reasoning
    options: --days N  --max N  --language L   (e.g. /digest cat:cs.LG --days 3 --max 5)
/digest list             this channel's subscriptions
/digest subscribe NAME QUERY [--time 08:30] [--timezone Europe/Berlin] [--max 10] [--language en]
                         subscribe this channel to a standing digest
/digest unsubscribe NAME stop it
/digest help             this help"""

NOT_ARXIV = "That does not look like an arXiv link. Paste a link to arxiv.org/abs/ID, or an id like 2505.22653."
SORRY = "Sorry, something went wrong on my side while {what}; it has been logged. Please try again later."


@dataclasses.dataclass(frozen=True)
class DigestDefaults:
    max_papers: int = 10
    days: int = 1


def is_for_the_bot(text: str) -> bool:
    """What ChatBot.handle_message answers: /digest, arXiv references, or links that only look like them.
    Platforms check it first, so only such deliveries are claimed in the event log and shown as in progress."""
    text = text.strip()
    return _is_digest_command(text) or bool(find_refs(text)) or bool(find_invalid_links(text))


def _is_digest_command(text: str) -> bool:
    return text == "/digest" or text.startswith("/digest ")


class ChatBot:
    def __init__(
        self,
        *,
        summaries: SummaryService,
        digests: DigestService,
        subscriptions: Sequence[Subscription],
        book: SubscriptionBook,
        language: str,
        max_papers_per_message: int,
        digest_defaults: DigestDefaults,
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._summaries, self._digests = summaries, digests
        self._configured = list(subscriptions)  # from the configuration file: read-only in chat
        self._book = book
        self._language = language
        self._max_papers = max_papers_per_message
        self._defaults = digest_defaults
        self._now = now

    async def handle_message(self, message: IncomingMessage, reply: Responder) -> bool:
        """Answer one message; False when it was not for the bot (no references, no command)."""
        text = message.text.strip()
        if _is_digest_command(text):
            await self.handle_digest_command(text.removeprefix("/digest").strip(), message.channel, reply)
            return True
        refs = find_refs(text)
        if not refs:
            if find_invalid_links(text):
                # Not echoed: a look-alike link repeated by the bot would be one more click on it.
                await reply.text(NOT_ARXIV)
                return True
            return False
        shown = refs[: self._max_papers]
        try:
            await reply.progress(f"Reading {len(shown)} paper{'s' if len(shown) > 1 else ''}…")
            batch = await self._summaries.summarize_refs(shown, language=self._language)
            await reply.cards(dataclasses.replace(batch, left_out=len(refs) - len(shown)))
        except PaperboyError as exc:
            await reply.text(str(exc))
        except Exception:
            log.exception("summarizing %s failed", ", ".join(map(str, shown)))
            await reply.text(SORRY.format(what="summarizing"))
        return True

    async def handle_digest_command(self, args: str, channel: str, reply: Responder) -> None:
        """`channel` is the qualified destination, as in the configuration: slack:C0123, discord:123, console."""
        word, _, rest = args.partition(" ")
        word = word.lower()
        try:
            if word == "help":
                await reply.text(HELP)
            elif word == "list":
                await reply.text(await self._describe_subscriptions(channel))
            elif word == "subscribe":
                await reply.text(await self._subscribe(rest, channel))
            elif word == "unsubscribe":
                await reply.text(await self._unsubscribe(rest.strip(), channel))
            elif not args:
                subs = await self.subscriptions_for(channel)
                if not subs:
                    await reply.text("This channel has no subscription. Try /digest cat:cs.CL, or /digest help.")
                for sub in subs:
                    await self._digest(sub.request_for(self._today(sub.timezone)), reply)
            else:
                await self._digest(self._adhoc_request(args), reply)
        except ValueError as exc:
            await reply.text(f"{exc}. See /digest help.")

    async def subscriptions_for(self, channel: str) -> list[Subscription]:
        subs = [*self._configured, *await self._book.list_subscriptions()]
        return [sub for sub in subs if channel in sub.channels]

    async def _describe_subscriptions(self, channel: str) -> str:
        subs = await self.subscriptions_for(channel)
        if not subs:
            return "This channel has no subscriptions. Add one with /digest subscribe NAME QUERY."
        lines = [f"• {_describe(s)}" for s in subs]
        return "Subscriptions for this channel:\n" + "\n".join(lines)

    async def _subscribe(self, args: str, channel: str) -> str:
        words, values = _split_options(args, {"--time", "--timezone", "--max", "--language"})
        if len(words) < 2:
            raise ValueError(f"Usage: {SUBSCRIBE_USAGE}")
        name, query = words[0], " ".join(words[1:])
        if not _NAME.match(name):
            raise ValueError("A subscription name is 1-40 letters, digits, '-', '_' or '.'")
        if any(sub.name == name for sub in self._configured):
            raise ValueError(f"{name} is defined in the configuration file; choose another name")
        existing = {sub.name: sub for sub in await self._book.list_subscriptions()}
        if name in existing and channel not in existing[name].channels:
            raise ValueError(f"{name} is another channel's subscription; choose another name")
        try:
            time = dt.time.fromisoformat(values.get("--time", "08:30"))
        except ValueError:
            raise ValueError("--time takes a time of day like 08:30") from None
        timezone = values.get("--timezone", "UTC")
        try:
            zoneinfo.ZoneInfo(timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError("--timezone takes an IANA name like Europe/Berlin") from None
        subscription = Subscription(
            name=name,
            query=query,
            channels=(channel,),
            time=time,
            timezone=timezone,
            max_papers=_whole(values.get("--max"), "--max", self._defaults.max_papers, 50),
            language=_language(values.get("--language", self._language)),
        )
        await self._book.save_subscription(subscription)
        return f"Subscribed this channel: {_describe(subscription)}."

    async def _unsubscribe(self, name: str, channel: str) -> str:
        if any(sub.name == name and channel in sub.channels for sub in self._configured):
            raise ValueError(f"{name} is defined in the configuration file; remove it there")
        existing = {sub.name: sub for sub in await self._book.list_subscriptions()}
        sub = existing.get(name)
        if sub is None or channel not in sub.channels:
            raise ValueError(f"This channel has no subscription named {name!r}")
        remaining = tuple(c for c in sub.channels if c != channel)
        if remaining:
            await self._book.save_subscription(dataclasses.replace(sub, channels=remaining))
        else:
            await self._book.delete_subscription(name)
        return f"Unsubscribed this channel from {name}."

    def _today(self, timezone: str = "UTC") -> dt.date:
        return self._now().astimezone(zoneinfo.ZoneInfo(timezone)).date()

    def _adhoc_request(self, args: str) -> DigestRequest:
        words, values = _split_options(args, {"--days", "--max", "--language"})
        if not words:
            raise ValueError("A digest needs a query")
        return DigestRequest(
            query=" ".join(words),
            date=self._today(),
            days=_whole(values.get("--days"), "--days", self._defaults.days, 31),
            max_papers=_whole(values.get("--max"), "--max", self._defaults.max_papers, 50),
            language=_language(values.get("--language", self._language)),
        )

    async def _digest(self, request: DigestRequest, reply: Responder) -> None:
        try:
            digest = await self._digests.build(request, progress=reply.progress)
        except PaperboyError as exc:
            await reply.text(str(exc))
            return
        except Exception:
            log.exception("digest for %r failed", request.query)
            await reply.text(SORRY.format(what="building the digest"))
            return
        await reply.digest(digest)


SUBSCRIBE_USAGE = "/digest subscribe NAME QUERY [--time 08:30] [--timezone Europe/Berlin] [--max 10] [--language en]"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


def _describe(sub: Subscription) -> str:
    return f"{sub.name}: {sub.query} at {sub.time:%H:%M} {sub.timezone}, up to {sub.max_papers} papers"


def _split_options(args: str, options: set[str]) -> tuple[list[str], dict[str, str]]:
    """Words and `--option value` pairs; quotes group words as in a shell."""
    try:
        words = shlex.split(args)
    except ValueError:
        words = args.split()
    values: dict[str, str] = {}
    rest = []
    it = iter(words)
    for word in it:
        if word in options:
            value = next(it, None)
            if value is None:
                raise ValueError(f"{word} needs a value")
            values[word] = value
        else:
            rest.append(word)
    return rest, values


def _whole(text: str | None, option: str, default: int, most: int) -> int:
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= most:
        raise ValueError(f"{option} takes a whole number from 1 to {most}")
    return int(text)


def _language(code: str) -> str:
    if not LANGUAGE_CODE.match(code):
        raise ValueError("--language takes a code like en, zh or pt-BR")
    return code
