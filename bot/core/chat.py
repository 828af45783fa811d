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
from bot.core.models import DigestRequest, IncomingMessage, Subscription
from bot.core.ports import Responder
from bot.core.refs import find_invalid_links, find_refs
from bot.core.summaries import SummaryService, utc_now

log = logging.getLogger(__name__)

HELP = """\
Paste an arXiv link (or arXiv:ID) and I reply with a summary card.
/digest                  this channel's subscription digest for today
/digest QUERY            an ad-hoc digest, arXiv search syntax: /digest cat:cs.CL AND abs:reasoning
    options: --days N  --max N  --language L   (e.g. /digest cat:cs.LG --days 3 --max 5)
/digest list             this channel's subscriptions
/digest help             this help"""

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
SORRY = "Sorry, something went wrong on my side while {what}; it has been logged. Please try again later."


@dataclasses.dataclass(frozen=True)
class DigestDefaults:
    max_papers: int = 10
    days: int = 1


class ChatBot:
    def __init__(
        self,
        *,
        summaries: SummaryService,
        digests: DigestService,
        subscriptions: Sequence[Subscription],
        language: str,
        max_papers_per_message: int,
        digest_defaults: DigestDefaults,
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._summaries, self._digests = summaries, digests
        self._subscriptions = list(subscriptions)
        self._language = language
        self._max_papers = max_papers_per_message
        self._defaults = digest_defaults
        self._now = now

    async def handle_message(self, message: IncomingMessage, reply: Responder) -> bool:
        """Answer one message; False when it was not for the bot (no references, no command)."""
        text = message.text.strip()
        if text == "/digest" or text.startswith("/digest "):
            await self.handle_digest_command(text.removeprefix("/digest").strip(), message.channel, reply)
            return True
        refs = find_refs(text)
        if not refs:
            invalid = find_invalid_links(text)
            if invalid:
                await reply.text(f"That does not look like an arXiv link: {invalid[0]}")
            return bool(invalid)
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
        word = args.split(maxsplit=1)[0].lower() if args else ""
        if word == "help":
            await reply.text(HELP)
        elif word == "list":
            await reply.text(self._describe_subscriptions(channel))
        elif word in {"subscribe", "unsubscribe"}:
            await reply.text(
                "Subscriptions are set in the configuration file ([[subscriptions]]) for now; "
                "managing them from chat comes with the Slack and Discord platforms."
            )
        elif not args:
            subs = self.subscriptions_for(channel)
            if not subs:
                await reply.text("This channel has no subscription. Try /digest cat:cs.CL, or /digest help.")
            for sub in subs:
                await self._digest(sub.request_for(self._today(sub.timezone)), reply)
        else:
            try:
                request = self._adhoc_request(args)
            except ValueError as exc:
                await reply.text(f"{exc}. See /digest help.")
                return
            await self._digest(request, reply)

    def subscriptions_for(self, channel: str) -> list[Subscription]:
        return [sub for sub in self._subscriptions if channel in sub.channels]

    def _describe_subscriptions(self, channel: str) -> str:
        subs = self.subscriptions_for(channel)
        if not subs:
            return "This channel has no subscriptions."
        lines = [f"• {s.name}: {s.query} at {s.time:%H:%M} {s.timezone}, up to {s.max_papers} papers" for s in subs]
        return "Subscriptions for this channel:\n" + "\n".join(lines)

    def _today(self, timezone: str = "UTC") -> dt.date:
        return self._now().astimezone(zoneinfo.ZoneInfo(timezone)).date()

    def _adhoc_request(self, args: str) -> DigestRequest:
        try:
            words = shlex.split(args)
        except ValueError:
            words = args.split()
        options = {"--days": "days", "--max": "max_papers", "--language": "language"}
        values: dict[str, str] = {}
        query_words = []
        it = iter(words)
        for word in it:
            if word in options:
                value = next(it, None)
                if value is None:
                    raise ValueError(f"{word} needs a value")
                values[options[word]] = value
            else:
                query_words.append(word)
        if not query_words:
            raise ValueError("A digest needs a query")
        try:
            days = int(values.get("days", self._defaults.days))
            max_papers = int(values.get("max_papers", self._defaults.max_papers))
        except ValueError:
            raise ValueError("--days and --max take whole numbers") from None
        if not 1 <= days <= 31 or not 1 <= max_papers <= 50:
            raise ValueError("--days must be 1-31 and --max 1-50")
        language = values.get("language", self._language)
        if not _LANGUAGE.match(language):
            raise ValueError("--language takes a code like en, zh or pt-BR")
        return DigestRequest(
            query=" ".join(query_words),
            date=self._today(),
            days=days,
            max_papers=max_papers,
            language=language,
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
