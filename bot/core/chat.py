"""The one handler path every chat platform (console, Slack, Discord) calls.

A platform translates its payload into an IncomingMessage and gives a Responder that renders;
this module decides what the answer is.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import time
import zoneinfo
from collections.abc import Callable, Sequence
from typing import TypeVar

from bot.core.commands import (
    AdhocDigest,
    ChannelDigest,
    Command,
    Help,
    ListSubscriptions,
    Subscribe,
    Unsubscribe,
    is_digest_command,
    parse_command,
    usage_reply,
)
from bot.core.digest import DigestService, latest_announcement_request
from bot.core.errors import PaperboyError, StorageUnavailable, UsageError
from bot.core.models import (
    MAX_CHAT_DIGEST_PAPERS,
    ArxivRef,
    DigestRequest,
    IncomingMessage,
    InputError,
    Language,
    Subscription,
    check_days,
    check_max_papers,
    check_query,
)
from bot.core.ports import Responder, SubscriptionBook
from bot.core.ratelimit import SlidingWindow
from bot.core.refs import find_invalid_links, find_refs
from bot.core.summaries import SummaryService, utc_now

log = logging.getLogger(__name__)
T = TypeVar("T")

HELP = """\
Paste an arXiv link (or arXiv:ID) and I reply with a summary card.
/digest                  this channel's subscriptions, over arXiv's latest announcement
/digest QUERY            an ad-hoc digest of the latest announcement, arXiv search syntax: /digest cat:cs.CL
    options: --days N  --max N  --language L   (e.g. /digest cat:cs.LG --days 3 --max 5)
    --days N: papers first submitted in the last N whole UTC days, whether arXiv announced them yet or not
/digest list             this channel's subscriptions
/digest subscribe NAME QUERY   subscribe this channel to a standing digest
    options: --time 08:30  --timezone Europe/Berlin  --weekdays mon,wed,fri  --max 10  --language en
/digest unsubscribe NAME stop it
/digest help             this help"""

# The answer to an @mention with no reference and no command: what the bot does, in one line.
SHORT_HELP = "Paste an arXiv link (or arXiv:ID) and I reply with a summary card; /digest help lists the rest."
MAX_NAMED_LEFT_OUT = 10  # references past chat.max_papers_per_message named in the reply, at most
NOT_ARXIV = (
    "That does not look like an arXiv link. Paste a link to arxiv.org/abs/ID, an id like 2505.22653, "
    "or a DOI like 10.48550/arXiv.2505.22653."
)
# The database stayed unreachable past the store's retries: nothing was recorded, so asking again is safe.
COULD_NOT_RECORD = "I could not record this; try again in a minute."
SORRY = "Sorry, something went wrong on my side while {what}; it has been logged. Please try again later."
SLOW_DOWN_PERSON = (
    "Slow down a little, please: I read at most {limit} papers per person per minute. Try again in {wait}."
)
SLOW_DOWN_CHANNEL = (
    "Slow down a little, please: I read at most {limit} papers per minute in this channel. Try again in {wait}."
)
SLOW_DOWN_COMMANDS = (
    "Slow down a little, please: at most {limit} digests and subscription changes per person per minute. "
    "Try again in {wait}."
)


@dataclasses.dataclass(frozen=True)
class DigestDefaults:
    max_papers: int = 10
    days: int = 1


@dataclasses.dataclass(frozen=True)
class ChatLimits:
    """What one person or channel may ask for per minute (RELIABILITY rows 29 and 46)."""

    papers_per_user_per_minute: int = 10
    papers_per_channel_per_minute: int = 30
    # digests (each is many papers) and subscribe/unsubscribe
    commands_per_user_per_minute: int = 5
    subscriptions_per_channel: int = 20


def is_for_the_bot(text: str) -> bool:
    """What ChatBot.handle_message answers: /digest, arXiv references, or links that only look like them.
    Platforms check it first, so only such deliveries are claimed in the event log and shown as in progress."""
    text = text.strip()
    return is_digest_command(text) or bool(find_refs(text)) or bool(find_invalid_links(text))


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
        limits: ChatLimits = ChatLimits(),
        now: Callable[[], dt.datetime] = utc_now,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._summaries, self._digests = summaries, digests
        self._configured = list(subscriptions)  # from the configuration file: read-only in chat
        self._book = book
        self._language = Language.parse(language)
        self._max_papers = max_papers_per_message
        self._defaults = digest_defaults
        self._limits = limits
        self._now = now
        self._clock = clock
        self._papers_by_user = SlidingWindow(limits.papers_per_user_per_minute, clock=clock)
        self._papers_by_channel = SlidingWindow(limits.papers_per_channel_per_minute, clock=clock)
        self._commands_by_user = SlidingWindow(limits.commands_per_user_per_minute, clock=clock)
        self._told_until: dict[tuple[str, str], float] = {}  # who was asked to slow down, until when

    async def handle_message(self, message: IncomingMessage, reply: Responder) -> bool:
        """Answer one message; False when it was not for the bot (no references, no command)."""
        text = message.text.strip()
        user = f"{message.platform}:{message.user}" if message.user else ""
        if is_digest_command(text):
            await self.handle_text_command(text, message.channel, reply, user=user)
            return True
        refs = find_refs(text)
        if not refs:
            if find_invalid_links(text):
                # Not echoed: a look-alike link repeated by the bot would be one more click on it.
                await reply.text(NOT_ARXIV)
                return True
            return False
        shown, left_out = refs[: self._max_papers], refs[self._max_papers :]
        if not await self._papers_allowed(user, message.channel, len(shown), reply):
            return True
        try:
            await reply.progress(f"Reading {len(shown)} paper{'s' if len(shown) > 1 else ''}…")
            batch = await self._summaries.summarize_refs(shown, language=self._language)
            if left_out:
                batch = dataclasses.replace(batch, errors=(*batch.errors, self._left_out(left_out)))
            await reply.cards(batch)
        except StorageUnavailable as exc:
            await could_not_record(exc, reply)
        except PaperboyError as exc:
            await reply.text(str(exc))
        except Exception:
            log.exception("summarizing %s failed", ", ".join(map(str, shown)))
            await reply.text(SORRY.format(what="summarizing"))
        return True

    def _left_out(self, refs: Sequence[ArxivRef]) -> InputError:
        """The references past the per-message limit, by id, and how to have them read."""
        named = ", ".join(map(str, refs[:MAX_NAMED_LEFT_OUT]))
        more = f" and {len(refs) - MAX_NAMED_LEFT_OUT} more" if len(refs) > MAX_NAMED_LEFT_OUT else ""
        return InputError(
            named,
            f"Left out, as I read at most {self._max_papers} links per message: {named}{more}. "
            "Paste them again in a new message.",
        )

    async def handle_text_command(self, text: str, channel: str, reply: Responder, *, user: str = "") -> None:
        """`/digest ...` as typed on a text platform (console, a message, Slack's command text)."""
        try:
            command = parse_command(text)
        except UsageError as exc:
            await reply.text(usage_reply(exc))
            return
        await self.handle_command(command, channel, reply, user=user)

    async def handle_command(self, command: Command, channel: str, reply: Responder, *, user: str = "") -> None:
        """`channel` is the qualified destination, as in the configuration: slack:C0123, discord:123, console;
        `user` the qualified person (slack:U0123), for the per-person limits."""
        try:
            if isinstance(command, Help):
                await reply.text(HELP)
            elif isinstance(command, ListSubscriptions):
                await reply.text(await self._describe_subscriptions(channel))
            elif (wait := self._commands_by_user.try_take(user) if user else 0.0) > 0:
                limit = self._commands_by_user.limit
                await reply.text(SLOW_DOWN_COMMANDS.format(limit=limit, wait=_seconds(wait)))
            elif isinstance(command, Subscribe):
                await reply.text(await self._subscribe(command, channel))
            elif isinstance(command, Unsubscribe):
                await reply.text(await self._unsubscribe(command.name, channel))
            elif isinstance(command, ChannelDigest):
                subs = await self.subscriptions_for(channel)
                if not subs:
                    await reply.text("This channel has no subscription. Try /digest cat:cs.CL, or /digest help.")
                for sub in subs:
                    request = sub.request_for(self._today(sub.timezone))
                    await self._digest(latest_announcement_request(request, self._now()), reply)
            else:
                await self._digest(self._adhoc_request(command), reply)
        except UsageError as exc:
            await reply.text(usage_reply(exc))
        except StorageUnavailable as exc:
            await could_not_record(exc, reply)

    async def subscriptions_for(self, channel: str) -> list[Subscription]:
        subs = [*self._configured, *await self._book.list_subscriptions()]
        return [sub for sub in subs if channel in sub.channels]

    async def _papers_allowed(self, user: str, channel: str, count: int, reply: Responder) -> bool:
        """Within this person's and this channel's papers per minute? If not, they are told once per wait
        (a flood of messages gets one answer, not one each)."""
        windows = [(user, self._papers_by_user, SLOW_DOWN_PERSON)] if user else []
        windows.append((channel, self._papers_by_channel, SLOW_DOWN_CHANNEL))
        for key, window, message in windows:
            wait = window.wait_seconds(key, count)
            if wait > 0:
                now = self._clock()
                if self._told_until.get((message, key), -math.inf) <= now:
                    self._told_until = {k: t for k, t in self._told_until.items() if t > now}
                    self._told_until[message, key] = now + wait
                    await reply.text(message.format(limit=window.limit, wait=_seconds(wait)))
                return False
        for key, window, _ in windows:
            window.take(key, count)
        return True

    async def _describe_subscriptions(self, channel: str) -> str:
        subs = await self.subscriptions_for(channel)
        if not subs:
            return "This channel has no subscriptions. Add one with /digest subscribe NAME QUERY."
        lines = [f"• {_describe(s)}" for s in subs]
        return "Subscriptions for this channel:\n" + "\n".join(lines)

    async def _subscribe(self, command: Subscribe, channel: str) -> str:
        # Options not given keep Subscription's own defaults.
        given = {"time": command.time, "timezone": command.timezone, "weekdays": command.weekdays}
        subscription = Subscription.create(
            name=command.name,
            query=command.query,
            channels=(channel,),
            max_papers=_given(_chat_papers(command.max_papers), self._defaults.max_papers),
            language=_given(command.language, self._language),
            **{option: value for option, value in given.items() if value is not None},  # type: ignore[arg-type]
        )
        name = subscription.name
        if any(sub.name == name for sub in self._configured):
            raise UsageError(f"{name} is defined in the configuration file; choose another name")
        stored = await self._book.list_subscriptions()
        existing = {sub.name: sub for sub in stored}
        if name in existing and channel not in existing[name].channels:
            raise UsageError(f"{name} is another channel's subscription; choose another name")
        here = [sub for sub in [*self._configured, *stored] if channel in sub.channels and sub.name != name]
        if len(here) >= self._limits.subscriptions_per_channel:
            return (
                f"This channel already has {len(here)} subscriptions, the most it may have. "
                "Remove one with /digest unsubscribe NAME first."
            )
        await self._book.save_subscription(subscription)
        return f"Subscribed this channel: {_describe(subscription)}."

    async def _unsubscribe(self, name: str, channel: str) -> str:
        if any(sub.name == name and channel in sub.channels for sub in self._configured):
            raise UsageError(f"{name} is defined in the configuration file; remove it there")
        existing = {sub.name: sub for sub in await self._book.list_subscriptions()}
        sub = existing.get(name)
        if sub is None or channel not in sub.channels:
            raise UsageError(f"This channel has no subscription named {name!r}")
        remaining = tuple(c for c in sub.channels if c != channel)
        if remaining:
            await self._book.save_subscription(dataclasses.replace(sub, channels=remaining))
        else:
            await self._book.delete_subscription(name)
        return f"Unsubscribed this channel from {name}."

    def _today(self, timezone: str = "UTC") -> dt.date:
        return self._now().astimezone(zoneinfo.ZoneInfo(timezone)).date()

    def _adhoc_request(self, command: AdhocDigest) -> DigestRequest:
        """--days N: whole UTC days ending today; without it, what arXiv announced last."""
        request = DigestRequest(
            query=check_query(command.query),
            date=self._today(),
            days=1 if command.days is None else check_days(command.days),
            max_papers=_given(_chat_papers(command.max_papers), self._defaults.max_papers),
            language=_given(command.language, self._language),
        )
        return request if command.days is not None else latest_announcement_request(request, self._now())

    async def _digest(self, request: DigestRequest, reply: Responder) -> None:
        try:
            digest = await self._digests.build(request, progress=reply.progress)
        except StorageUnavailable:
            raise  # handle_command tells the person
        except PaperboyError as exc:
            await reply.text(str(exc))
            return
        except Exception:
            log.exception("digest for %r failed", request.query)
            await reply.text(SORRY.format(what="building the digest"))
            return
        await reply.digest(digest)


async def could_not_record(exc: StorageUnavailable, reply: Responder) -> None:
    """The person is told to ask again; the operator reads why (the store logged the outage as it began)."""
    log.warning("a chat answer gave up: %s", exc)
    await reply.text(COULD_NOT_RECORD)


def _describe(sub: Subscription) -> str:
    return f"{sub.name}: {sub.query} at {sub.time:%H:%M} {sub.timezone}, up to {sub.max_papers} papers"


def _given(value: T | None, default: T) -> T:
    return default if value is None else value


def _chat_papers(max_papers: int | None) -> int | None:
    """What someone in a channel asked for is bounded tighter than the operator's own defaults."""
    return None if max_papers is None else check_max_papers(max_papers, MAX_CHAT_DIGEST_PAPERS)


def _seconds(wait: float) -> str:
    return f"{max(1, math.ceil(wait))} s"
