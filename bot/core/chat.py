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
from typing import TYPE_CHECKING, TypeVar

from bot.core.commands import (
    AdhocDigest,
    ChannelDigest,
    Command,
    Help,
    LessLike,
    ListSubscriptions,
    MoreLike,
    ShowTaste,
    Subscribe,
    Unsubscribe,
    check_question,
    is_ask_command,
    is_digest_command,
    parse_ask,
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
    Paper,
    Subscription,
    check_days,
    check_max_papers,
    check_query,
)
from bot.core.picking import asks_about_papers, looks_like_question, pick_papers
from bot.core.ports import Responder, SubscriptionBook, ThreadBook
from bot.core.questions import Answer, PostedCard, ThreadPaper, ThreadPlace, Turn
from bot.core.ratelimit import SlidingWindow
from bot.core.refs import find_invalid_links, find_refs
from bot.core.render import error_line
from bot.core.sanitize import one_line
from bot.core.signals import DISINTEREST, INTEREST
from bot.core.summaries import SummaryService, utc_now

if TYPE_CHECKING:
    from bot.core.answers import AnswerService
    from bot.core.taste import TasteService

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
/digest more-like ID     more papers like this one in this channel's digests (less-like ID: fewer)
/digest taste            what this channel's digests learned from reactions, pasted papers and more-like
/digest help             this help
Ask in the thread of a card or a digest and I answer from the paper, quoting it: "#2 which dataset?"
Elsewhere, mention me with the link and the question: "@Paperboy which dataset does 2505.22653 use?"
/ask REF QUESTION        (console) ask one paper a question"""

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
SLOW_DOWN_THREAD = (
    "This thread has had {limit} questions in the past hour, the most I answer in one thread. Ask again in {wait}."
)
NO_TASTE = "This bot does not keep a channel's taste."
NOTED = "Noted: {how} like arXiv:{arxiv_id} here."
HOUR = dt.timedelta(hours=1)
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
    questions_per_thread_per_hour: int = 20  # each question also counts as one paper per person and channel


@dataclasses.dataclass(frozen=True)
class _Thread:
    """A thread of ours a message was written in (or replies into), its papers, and those of the message it
    replies to."""

    place: ThreadPlace
    papers: list[ThreadPaper]
    replied: list[ThreadPaper]


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
        answers: AnswerService | None = None,  # None: questions are not answered (nor recognised)
        taste: TasteService | None = None,  # None: no signals are recorded
        threads: ThreadBook | None = None,  # which papers each thread is about, and its conversation
        history_turns: int = 6,  # earlier questions and answers given with a follow-up
        now: Callable[[], dt.datetime] = utc_now,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._summaries, self._digests = summaries, digests
        self._answers, self._taste, self._threads = answers, taste, threads
        self._history_turns = history_turns
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
        """Answer one message; False when it was not for the bot (no references, no command, not a question in
        a thread of ours)."""
        text = message.text.strip()
        user = f"{message.platform}:{message.user}" if message.user else ""
        if is_digest_command(text):
            await self.handle_text_command(text, message.channel, reply, user=user)
            return True
        if is_ask_command(text):
            await self.handle_ask(text, message.channel, reply, user=user)
            return True
        refs = find_refs(text)
        if not refs and find_invalid_links(text):
            # Not echoed: a look-alike link repeated by the bot would be one more click on it.
            await reply.text(NOT_ARXIV)
            return True
        thread = await self._question_thread(message, refs)
        if thread is not None:
            await self._answer_in_thread(message, thread, reply, user=user)
            return True
        if not refs:
            return False
        shown, left_out = refs[: self._max_papers], refs[self._max_papers :]
        if self._answers is not None and message.addressed and asks_about_papers(_besides_refs(text)):
            # "@Paperboy what dataset does 2505.22653 use?" outside our threads: the mention makes it a question.
            await self._answer_named(shown, text, message.channel, reply, user=user, place=message.place)
            return True
        if not await self._papers_allowed(user, message.channel, len(shown), reply):
            return True
        try:
            await reply.progress(f"Reading {len(shown)} paper{'s' if len(shown) > 1 else ''}…")
            batch = await self._summaries.summarize_refs(shown, language=self._language)
            if left_out:
                batch = dataclasses.replace(batch, errors=(*batch.errors, self._left_out(left_out)))
            await reply.cards(batch)
        except Exception as exc:
            await _failed(exc, reply, what="summarizing", of=", ".join(map(str, shown)))
            return True
        channel = message.place.channel if message.place is not None else message.channel
        for item in batch.papers:  # a paper someone bothered to paste here is one this channel cares about
            await self._note_pasted(channel, item.paper.arxiv_id, _person(user))
        return True

    async def is_question(self, message: IncomingMessage) -> bool:
        """Whether handle_message would answer it as a question about a thread's papers (platforms ask before
        claiming a thread message that is_for_the_bot turns down). False when the database cannot say."""
        text = message.text.strip()
        if is_digest_command(text) or is_ask_command(text):
            return False
        return await self._question_thread(message, find_refs(text)) is not None

    async def reaction(self, location: str, message_id: str, person: str, emoji: str, *, added: bool) -> None:
        """A reaction added to or removed from a message: on a card (or answer) of ours, with an emoji that counts,
        it records or forgets a signal for each of its papers in its channel. Never raises."""
        if self._taste is None or self._threads is None:
            return
        try:
            value = self._taste.value_of(emoji)
            if value is None:
                return
            found = await self._threads.message_papers(location, message_id)
            if found is None:
                return
            place, papers = found
            for paper in papers:
                if added:
                    await self._taste.record(
                        place.channel, paper.arxiv_id, person, source="reaction", kind=emoji, value=value
                    )
                else:
                    await self._taste.forget(place.channel, paper.arxiv_id, person, emoji)
        except StorageUnavailable as exc:
            log.warning("a reaction was not recorded: %s", exc)
        except Exception:
            log.exception("recording a reaction on %s %s failed", location, message_id)

    async def handle_ask(self, text: str, channel: str, reply: Responder, *, user: str = "") -> None:
        """`/ask REF QUESTION` (the console): one paper, outside any thread."""
        try:
            command = parse_ask(text)
        except UsageError as exc:
            await reply.text(str(exc))
            return
        await self._answer_named([command.ref], command.question, channel, reply, user=user)

    async def _answer_named(
        self,
        refs: Sequence[ArxivRef],
        question: str,
        channel: str,
        reply: Responder,
        *,
        user: str,
        place: ThreadPlace | None = None,
    ) -> None:
        """A question about the papers it names, outside any thread of ours (`/ask REF QUESTION`, or a question
        with links put to the bot): answered (across them when several). With the `place` the answer is posted
        in (a chat platform's), that place becomes a thread of ours about those papers, the conversation kept."""
        if self._answers is None:
            await reply.text("This bot does not answer questions about papers.")
            return
        try:
            question = check_question(question)
        except UsageError as exc:
            await reply.text(f"{exc}.")
            return
        try:
            if not await self._papers_allowed(user, channel, 1, reply):
                return
            found, errors = await self._summaries.fetch_papers(refs)
            if errors:  # one for every ref it did not find
                await reply.text(error_line(errors[0]))
                return
            papers = [found[ref] for ref in refs]
            answer = await self._answer(papers, question, history=(), reply=reply)
            answer_id = await reply.answer(answer)
        except Exception as exc:
            await _failed(exc, reply, what="answering the question", of=", ".join(map(str, refs)))
            return
        if place is not None:
            await self._keep(place, answer_id, list(enumerate(papers, 1)), answer, user=user)

    async def _answer(
        self, papers: Sequence[Paper], question: str, *, history: Sequence[Turn], reply: Responder
    ) -> Answer:
        """One paper's answer, or one across several; progress shown as it is worked out (as a question's: the
        answer replaces it)."""
        assert self._answers is not None
        language, progress = self._language, reply.answer_progress
        if len(papers) == 1:
            return await self._answers.ask(papers[0], question, language=language, history=history, progress=progress)
        return await self._answers.ask_across(papers, question, language=language, history=history, progress=progress)

    async def _question_thread(self, message: IncomingMessage, refs: Sequence[ArxivRef]) -> _Thread | None:
        """The thread of ours this message asks about, or None: it is not in (nor a reply to) one of our threads,
        or it names papers that are not the thread's (a pasted link: cards), or it is nothing but the links, or it
        is chatter ("thanks!")."""
        if self._answers is None or self._threads is None or (message.place is None and not message.reply_to):
            return None
        if not looks_like_question(message.text):
            return None
        try:
            thread = await self._thread_of(message)
        except StorageUnavailable as exc:
            log.warning("could not tell whether a message is a question: %s", exc)
            return None
        if thread is None:
            return None
        if refs:
            ours = {p.arxiv_id for p in thread.papers}
            if any(ref.arxiv_id not in ours for ref in refs) or not _words_besides_refs(message.text):
                return None
        return thread

    async def _thread_of(self, message: IncomingMessage) -> _Thread | None:
        assert self._threads is not None
        place, replied = message.place, list[ThreadPaper]()
        if message.reply_to:
            location = place.location if place is not None else message.channel
            found = await self._threads.message_papers(location, message.reply_to)
            if found is not None:
                place, replied = found
        if place is None:
            return None
        papers = await self._threads.thread_papers(place.location, place.thread) or replied
        return _Thread(place, papers, replied) if papers else None

    async def _answer_in_thread(
        self, message: IncomingMessage, thread: _Thread, reply: Responder, *, user: str
    ) -> None:
        assert self._answers is not None and self._threads is not None
        try:
            asked = check_question(message.text)
        except UsageError as exc:
            await reply.text(f"{exc}.")
            return
        pick = pick_papers(asked, thread.papers, replied=thread.replied)
        if pick.ask is not None:
            await reply.text(pick.ask)
            return
        question = pick.question
        place = thread.place
        try:
            if not await self._thread_allows(place, reply):
                return
            if not await self._papers_allowed(user, place.channel, 1, reply):
                return
            refs = [ArxivRef(p.arxiv_id, p.version) for p in pick.papers]
            found, errors = await self._summaries.fetch_papers(refs)
            if errors:
                await reply.text(error_line(errors[0]))
                return
            papers = [found[ref] for ref in refs]
            history = []
            if self._history_turns:
                history = await self._threads.recent_turns(place.location, place.thread, limit=self._history_turns)
            answer = await self._answer(papers, question, history=history, reply=reply)
            answer_id = await reply.answer(answer)
        except Exception as exc:
            await _failed(exc, reply, what="answering the question", of=place.thread)
            return
        positions = [p.position for p in pick.papers]
        await self._keep(place, answer_id, list(zip(positions, papers, strict=True)), answer, user=user)

    async def _keep(
        self,
        place: ThreadPlace,
        answer_id: str | None,
        papers: Sequence[tuple[int, Paper]],
        answer: Answer,
        *,
        user: str,
    ) -> None:
        """After an answer: the turn kept for the thread's follow-ups, and the answer's message recorded under the
        thread with the papers it is about (numbered as in the thread), so a reply to it or in the thread is one.
        The turn first: once the answer is known as ours, a follow-up finds it."""
        if self._threads is None:
            return
        try:
            await self._threads.add_turn(place, _turn(answer, person=user, at=self._now()))
            if answer_id:
                await self._threads.record_cards([
                    PostedCard(place, answer_id, position, paper.arxiv_id, paper.version, one_line(paper.title))
                    for position, paper in papers
                ])  # fmt: skip
        except StorageUnavailable as exc:  # the answer was given; only a follow-up will not see it
            log.warning("an answer was not kept for the thread's follow-ups: %s", exc)

    async def _thread_allows(self, place: ThreadPlace, reply: Responder) -> bool:
        """Within the thread's questions per hour? If not, one line saying when to ask again."""
        assert self._threads is not None
        limit = self._limits.questions_per_thread_per_hour
        now = self._now()
        if await self._threads.questions_since(place.location, place.thread, now - HOUR) < limit:
            return True
        recent = await self._threads.recent_turns(place.location, place.thread, limit=limit)
        oldest = min((turn.asked_at for turn in recent), default=now)
        wait = (oldest + HOUR - now).total_seconds()
        await reply.text(SLOW_DOWN_THREAD.format(limit=limit, wait=_minutes(wait)))
        return False

    async def _note_pasted(self, channel: str, arxiv_id: str, person: str) -> None:
        """A pasted paper's interest; a database outage loses it (logged) and nothing else."""
        if self._taste is None:
            return
        try:
            await self._taste.record(channel, arxiv_id, person, source="pasted", kind="pasted", value=INTEREST)
        except StorageUnavailable as exc:
            log.warning("a pasted paper's interest was not recorded: %s", exc)

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
            elif isinstance(command, ShowTaste):
                await reply.text(await self._describe_taste(channel))
            elif (wait := self._commands_by_user.try_take(user) if user else 0.0) > 0:
                limit = self._commands_by_user.limit
                await reply.text(SLOW_DOWN_COMMANDS.format(limit=limit, wait=_seconds(wait)))
            elif isinstance(command, Subscribe):
                await reply.text(await self._subscribe(command, channel))
            elif isinstance(command, Unsubscribe):
                await reply.text(await self._unsubscribe(command.name, channel))
            elif isinstance(command, MoreLike | LessLike):
                await reply.text(await self._note_taste(command, channel, user))
            elif isinstance(command, ChannelDigest):
                subs = await self.subscriptions_for(channel)
                if not subs:
                    await reply.text("This channel has no subscription. Try /digest cat:cs.CL, or /digest help.")
                for sub in subs:
                    request = dataclasses.replace(sub.request_for(self._today(sub.timezone)), channel=channel)
                    await self._digest(latest_announcement_request(request, self._now()), reply)
            else:
                await self._digest(dataclasses.replace(self._adhoc_request(command), channel=channel), reply)
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

    async def _describe_taste(self, channel: str) -> str:
        if self._taste is None:
            return NO_TASTE
        return (await self._taste.report(channel)).as_text()

    async def _note_taste(self, command: MoreLike | LessLike, channel: str, user: str) -> str:
        """A person's more-like or less-like for a paper here; saying the other one later replaces it."""
        if self._taste is None:
            return NO_TASTE
        # Fetched (and so cached) first: the ranker learns from the paper's title and abstract, and an id arXiv
        # does not know is told, not counted.
        _, errors = await self._summaries.fetch_papers([command.ref])
        if errors:
            return error_line(errors[0])
        more = isinstance(command, MoreLike)
        kind, other = ("more-like", "less-like") if more else ("less-like", "more-like")
        arxiv_id, person = command.ref.arxiv_id, _person(user)
        await self._taste.forget(channel, arxiv_id, person, other)
        await self._taste.record(
            channel, arxiv_id, person, source="command", kind=kind, value=INTEREST if more else DISINTEREST
        )
        return NOTED.format(how="more" if more else "less", arxiv_id=arxiv_id)

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


async def _failed(exc: Exception, reply: Responder, *, what: str, of: str) -> None:
    """One line for the person: the database's outage, an error meant for them, or an apology (a bug, logged)."""
    if isinstance(exc, StorageUnavailable):
        await could_not_record(exc, reply)
    elif isinstance(exc, PaperboyError):
        await reply.text(str(exc))
    else:
        log.error("%s %s failed", what, of, exc_info=exc)
        await reply.text(SORRY.format(what=what))


def _describe(sub: Subscription) -> str:
    return f"{sub.name}: {sub.query} at {sub.time:%H:%M} {sub.timezone}, up to {sub.max_papers} papers"


def _given(value: T | None, default: T) -> T:
    return default if value is None else value


def _chat_papers(max_papers: int | None) -> int | None:
    """What someone in a channel asked for is bounded tighter than the operator's own defaults."""
    return None if max_papers is None else check_max_papers(max_papers, MAX_CHAT_DIGEST_PAPERS)


def _seconds(wait: float) -> str:
    return f"{max(1, math.ceil(wait))} s"


def _minutes(wait: float) -> str:
    return f"{max(1, math.ceil(wait / 60))} min"


def _person(user: str) -> str:
    """Who a signal is from: the qualified user; the console has one person, "console"."""
    return "console" if not user or user.startswith("console:") else user


def _besides_refs(text: str) -> str:
    """A message without its references and look-alike links: "does 2401.10725 use RL?" is "does use RL?"."""
    return " ".join(w for w in text.split() if not find_refs(w) and not find_invalid_links(w))


def _words_besides_refs(text: str) -> bool:
    """Whether a message says something besides its references ("does 2401.10725 use RL?", not a bare link)."""
    return any(ch.isalpha() for ch in _besides_refs(text))


def _turn(answer: Answer, *, person: str, at: dt.datetime) -> Turn:
    arxiv_ids = answer.arxiv_ids or (answer.arxiv_id,)
    return Turn(asked_at=at, person=person, question=answer.question, answer=answer.text, arxiv_ids=arxiv_ids)
