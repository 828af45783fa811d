"""Sending to Discord: the digest Publisher, and the Responders for a message reply and a slash command.

All sends go through discord.py (which waits out 429s as Discord asks). A 403 or 404 on a channel
is permanent: one log line, the channel is marked failed for a while, and nothing is retried.

A card whose lead figure is a CC-licensed PDF-only paper's crop (bot.core.card) is sent with that crop
attached (multipart: files[0] and its attachment), its embed showing it; the bytes come from the
FigureImages port. Without them the card goes as it is, linking to the figure's page of the PDF.

Every card posted (a reply to a pasted link, a digest asked for or scheduled) is recorded in the ThreadBook
under its thread, so a later reply to it, or a message in the digest's thread, is a question about its
papers: a reply card is a thread of its own (keyed by the card's id), a digest's thread is keyed by its id
(a digest posted without a thread: by its parent message's id). An answer's id goes back to the core, which
records it under the question's thread, so a reply to it continues the conversation.
"""

from __future__ import annotations

import hashlib
import io
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

import discord
from discord.context_managers import Typing

from bot.core.card import card_view, figure_credit, figure_filename, hide_figures, lead_figure
from bot.core.chat import SORRY
from bot.core.errors import PaperboyError, PublishError
from bot.core.models import Digest, SummarizedPaper, SummaryBatch
from bot.core.ports import FigureImages, ThreadBook
from bot.core.questions import Answer, PostedCard, ThreadPlace
from handlers.discord.answers import answer_message
from handlers.discord.embeds import (
    Outgoing,
    attached,
    batch_messages,
    digest_card_messages,
    digest_parent,
    progress_content,
    text_messages,
    thread_name,
)

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
FAILED_PAUSE_SECONDS = 3600.0  # a channel that answered 403/404 is not tried again for this long
PROGRESS_INTERVAL_SECONDS = 1.0
THREAD_ARCHIVE_MINUTES: Literal[1440] = 1440  # a day: the thread stays open while people read the digest
# An interaction token lives 15 minutes; Discord then answers 401 (50027) or 404 (10015, 10062).
_DEAD_TOKEN_STATUS = (401, 404)
_NOT_A_TEXT_CHANNEL = 50008  # "Cannot send messages in a non-text channel" (a forum, a category, voice)


def channel_id_of(channel: str) -> int:
    """`123456789012345678` or `discord:123456789012345678` -> the snowflake."""
    raw = channel.removeprefix("discord:")
    if not raw.isdigit():
        raise PublishError(f"{channel!r} is not a Discord channel id (use discord:123456789012345678)")
    return int(raw)


def location_of(channel: discord.abc.Messageable) -> tuple[str, str]:
    """(where a message is, the channel whose taste it counts to): a thread's parent channel, else itself."""
    location = f"discord:{getattr(channel, 'id', 0)}"
    parent = getattr(channel, "parent_id", None) if isinstance(channel, discord.Thread) else None
    return location, f"discord:{parent}" if parent else location


def replied_to(message: discord.Message) -> str:
    """The id of the message `message` is a reply to, in the same channel; "" when it is none."""
    reference = message.reference
    if message.type is not discord.MessageType.reply or reference is None or reference.message_id is None:
        return ""
    if reference.channel_id != message.channel.id:
        return ""
    return str(reference.message_id)


def message_place(message: discord.Message) -> ThreadPlace:
    """Where a message sits as a thread of ours would be keyed: in a thread, that thread; in a channel, the chain
    of replies it is part of (keyed by the message it replies to; the ThreadBook knows the chain's root)."""
    location, channel = location_of(message.channel)
    if isinstance(message.channel, discord.Thread):
        return ThreadPlace(location, str(message.channel.id), channel)
    return ThreadPlace(location, replied_to(message) or str(message.id), channel)


def _card(place: ThreadPlace, message_id: str, position: int, sp: SummarizedPaper) -> PostedCard:
    paper = sp.paper
    return PostedCard(place, message_id, position, paper.arxiv_id, paper.version, paper.title)


def _send_kwargs(out: Outgoing, file: discord.File | None = None) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
    if file is not None:
        kwargs["files"] = [file]  # multipart: the file, and its attachment in payload_json
    if out.embeds:
        kwargs["embeds"] = list(out.embeds)
    if out.content:
        kwargs["content"] = out.content
        if not out.embeds:
            kwargs["suppress_embeds"] = True  # no link previews under plain text
    if (view := out.view()) is not None:
        kwargs["view"] = view  # link buttons only: discord.py keeps no state for them
    return kwargs


def _nonce(channel_id: int, digest: Digest, index: int) -> str:
    """The same for the same message of the same digest in the same channel (Discord allows 25 characters)."""
    key = f"{channel_id}|{digest.title}|{digest.date}|{index}".encode()
    return hashlib.sha256(key).hexdigest()[:25]


class DiscordPublisher:
    """Posts through the bot's REST session. `post_digest` is the scheduler's bot.core.ports.Publisher."""

    def __init__(
        self,
        client: discord.Client,
        *,
        clock: Callable[[], float] = time.monotonic,
        figures: FigureImages | None = None,
        show_figures: bool = True,
        threads: ThreadBook | None = None,
    ) -> None:
        """figures: where attached figures' bytes come from (None: nothing attached); show_figures: reader.figures;
        threads: where posted cards and answers are recorded (None: nowhere, and nothing is a question)."""
        self._client = client
        self._clock = clock
        self._figures = figures
        self.show_figures = show_figures
        self.threads = threads
        self._failed: dict[int, float] = {}  # channel id -> when it failed

    async def record(self, cards: Sequence[PostedCard]) -> None:
        """Remember posted cards under their threads; a failure is logged, never raised (the post stands; only
        questions and reactions about them will not be recognised)."""
        if self.threads is None or not cards:
            return
        try:
            await self.threads.record_cards(cards)
        except PaperboyError as exc:
            log.warning("Discord: could not record %d posted card(s) for questions: %s", len(cards), exc)
        except Exception:
            log.exception("Discord: could not record %d posted card(s) for questions", len(cards))

    async def with_figure(self, out: Outgoing) -> tuple[Outgoing, discord.File | None]:
        """`out` and the file to send with it: its card's lead figure, cropped from the PDF, when it has one."""
        figure = lead_figure(out.upload) if out.upload is not None else None
        if out.upload is None or figure is None or self._figures is None:
            return out, None
        png = await self._figures.figure_png(out.upload.paper, figure)
        view = card_view(out.upload)
        if png is None:
            log.info("Discord: no image of %s to attach", figure_credit(view))
            return out, None
        name = figure_filename(view)
        return attached(out, name), discord.File(io.BytesIO(png), filename=name, description=figure_credit(view))

    def channel(self, channel_id: int) -> discord.abc.Messageable:
        """The cached channel (so threads and permissions are known), else a bare messageable."""
        cached = self._client.get_channel(channel_id)
        if isinstance(cached, discord.abc.Messageable):
            return cached
        return self._client.get_partial_messageable(channel_id)

    def is_failed(self, channel_id: int) -> bool:
        since = self._failed.get(channel_id)
        return since is not None and self._clock() - since < FAILED_PAUSE_SECONDS

    async def send(
        self,
        target: discord.abc.Messageable,
        out: Outgoing,
        *,
        reference: discord.Message | None = None,
        nonce: str | None = None,
    ) -> discord.Message:
        """One message; with `reference`, a reply that does not ping its author (still sent if that message was
        deleted meanwhile). Raises PublishError on a 4xx, never retried; 403/404 also mark the channel failed."""
        channel_id = getattr(target, "id", 0)
        if self.is_failed(channel_id):
            raise PublishError(f"Discord: channel {channel_id} refused the bot recently (no access); not retrying")
        out, file = await self.with_figure(out)
        kwargs = _send_kwargs(out, file)
        if nonce is not None:
            # With a nonce discord.py also sends enforce_nonce: a resend of the same message (its retry on a
            # 5xx, or ours) within a few minutes returns the first one instead of posting it again.
            kwargs["nonce"] = nonce
        if reference is not None:
            kwargs.update(reference=reference.to_reference(fail_if_not_exists=False), mention_author=False)
        try:
            return await target.send(**kwargs)
        except discord.HTTPException as exc:
            if not 400 <= exc.status < 500:
                raise  # 5xx after discord.py's retries: it may or may not have been posted
            reason = f"{exc.status} {exc.text or 'error'}, code {exc.code}"
            if exc.status in (403, 404) or exc.code == _NOT_A_TEXT_CHANNEL:
                self._failed[channel_id] = self._clock()
                message = (
                    f"Discord: cannot post to channel {channel_id} ({reason}): add the bot to that channel with "
                    "View Channel, Send Messages, Embed Links and Send Messages in Threads, or fix the channel id; "
                    "not retrying"
                )
            else:
                message = f"Discord refused a message for channel {channel_id} ({reason}); not retrying"
            log.error(message)
            raise PublishError(message) from None

    async def open_thread(self, target: discord.abc.Messageable, message_id: int, name: str) -> discord.Thread | None:
        """A public thread from that message when the channel allows it (a guild text channel where the bot
        may create threads and post in them), else None: the caller posts in the channel instead."""
        if not isinstance(target, discord.TextChannel):
            return None
        me = target.guild.me
        if me is not None:
            perms = target.permissions_for(me)
            if not (perms.create_public_threads and perms.send_messages_in_threads):
                log.info("Discord: no permission to start threads in channel %s; cards go in the channel", target.id)
                return None
        try:
            return await target.get_partial_message(message_id).create_thread(
                name=name, auto_archive_duration=THREAD_ARCHIVE_MINUTES
            )
        except discord.HTTPException as exc:
            log.warning(
                "Discord: could not start a thread in channel %s (%s %s); cards go in the channel",
                target.id, exc.status, exc.text,
            )  # fmt: skip
            return None

    async def post_digest(
        self,
        channel: str,
        digest: Digest,
        *,
        already_sent: Sequence[str] = (),
        on_sent: Callable[[str], Awaitable[None]] | None = None,
    ) -> list[str]:
        """The parent message, then the cards in a thread from it (or after it); the ids sent, in order.

        `already_sent` (an interrupted run's messages) are skipped; the rest continue in the thread started
        from the first of them (a thread has its parent message's id), or in the channel if there is none."""
        target = self.channel(channel_id_of(channel))
        if isinstance(target, discord.PartialMessageable):
            # Not in the gateway's cache (`paperboy post` has no gateway): fetch it, so a thread can be started.
            try:
                target = await self._client.fetch_channel(channel_id_of(channel))  # type: ignore[assignment]
            except discord.HTTPException:
                pass  # post_digest_to reports what is wrong with the channel when it sends
        return await self.post_digest_to(target, digest, already_sent=already_sent, on_sent=on_sent)

    async def _thread_of(self, target: discord.abc.Messageable, parent_id: str) -> discord.abc.Messageable:
        try:
            found = await self._client.fetch_channel(int(parent_id))
        except discord.HTTPException:
            return target  # no thread was started from it: the cards went in the channel
        return found if isinstance(found, discord.Thread) else target

    async def post_digest_to(
        self,
        target: discord.abc.Messageable,
        digest: Digest,
        *,
        reference: discord.Message | None = None,
        already_sent: Sequence[str] = (),
        on_sent: Callable[[str], Awaitable[None]] | None = None,
        once: bool = True,
    ) -> list[str]:
        """once: a resend of the same digest within minutes returns the messages first posted (a scheduled run
        resumed); False for one asked for in chat, which a person may well ask for again."""
        digest = hide_figures(digest, not self.show_figures)
        messages = [digest_parent(digest), *digest_card_messages(digest)]
        destination = await self._thread_of(target, already_sent[0]) if already_sent else target
        parent_id = already_sent[0] if already_sent else ""
        ids: list[str] = []
        for i, out in enumerate(messages):
            if i < len(already_sent):
                continue
            nonce = _nonce(getattr(target, "id", 0), digest, i) if once else None
            sent = await self.send(destination, out, reference=reference if i == 0 else None, nonce=nonce)
            ids.append(str(sent.id))
            if i > 0:  # card i is the digest's paper number i
                place = self._digest_place(target, destination, parent_id)
                await self.record([_card(place, ids[-1], i, digest.papers[i - 1])])
            if on_sent is not None:
                await on_sent(str(sent.id))
            if i == 0:
                parent_id = str(sent.id)
                if len(messages) > 1:
                    destination = await self.open_thread(target, sent.id, thread_name(digest)) or target
        return ids

    @staticmethod
    def _digest_place(
        target: discord.abc.Messageable, destination: discord.abc.Messageable, parent_id: str
    ) -> ThreadPlace:
        """A digest's thread: the thread its cards are in, else (no thread) the channel, keyed by the parent."""
        location, channel = location_of(target)
        if destination is not target:
            thread_id = str(getattr(destination, "id", parent_id))
            return ThreadPlace(f"discord:{thread_id}", thread_id, channel)
        return ThreadPlace(location, parent_id, channel)


class MessageResponder:
    """Answers one channel message: typing while it works, then one reply (a message reference that
    does not ping) with the cards; a digest asked for in text is posted like a scheduled one."""

    def __init__(self, message: discord.Message, publisher: DiscordPublisher) -> None:
        self._message = message
        self._publisher = publisher
        self._typing: Typing | None = None
        self._typed = False

    async def progress(self, message: str) -> None:
        if self._typed:
            return
        self._typed = True
        typing = self._message.channel.typing()
        try:
            await typing.__aenter__()  # re-sent every few seconds until close()
        except discord.HTTPException as exc:
            log.debug("typing indicator refused: %s", exc.status)
        else:
            self._typing = typing

    async def answer_progress(self, message: str) -> None:
        await self.progress(message)  # typing, until the answer is sent

    async def close(self) -> None:
        """Stop the typing indicator (idempotent)."""
        typing, self._typing = self._typing, None
        if typing is not None:
            await typing.__aexit__(None, None, None)

    async def _reply(self, messages: list[Outgoing]) -> list[discord.Message]:
        await self.close()
        sent = []
        for i, out in enumerate(messages):
            reference = self._message if i == 0 else None
            sent.append(await self._publisher.send(self._message.channel, out, reference=reference))
        return sent

    async def cards(self, batch: SummaryBatch) -> None:
        """One message a card (the notes after them), each card a thread of its own: a reply to it asks about it."""
        sent = await self._reply(batch_messages(hide_figures(batch, not self._publisher.show_figures)))
        location, channel = location_of(self._message.channel)
        await self._publisher.record([
            _card(ThreadPlace(location, str(message.id), channel), str(message.id), position, sp)
            for position, (sp, message) in enumerate(zip(batch.papers, sent, strict=False), 1)
        ])  # fmt: skip

    async def answer(self, answer: Answer) -> str:
        """A reply to the question; its id, which the core records under the question's thread, so a reply to the
        answer is a follow-up in the same conversation."""
        (sent,) = await self._reply([answer_message(answer)])
        return str(sent.id)

    async def text(self, message: str) -> None:
        await self._reply(text_messages(message))

    async def digest(self, digest: Digest) -> None:
        await self.close()
        await self._publisher.post_digest_to(self._message.channel, digest, reference=self._message, once=False)


class InteractionResponder:
    """Answers a slash command deferred ephemerally (`defer(ephemeral=True, thinking=True)`): everything
    through the interaction is seen by the person who asked alone. Progress edits the deferred response,
    whose last word is the answer (help, a confirmation, what went wrong) or, once a digest is posted in
    the channel by the bot (a thread of cards from its parent), where it is: never "working" or "done"
    when it is not. More answers are ephemeral follow-ups. Once the interaction token is dead (15
    minutes), answers go to the channel through the bot instead."""

    def __init__(
        self,
        interaction: discord.Interaction,
        publisher: DiscordPublisher,
        *,
        command: str,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._interaction = interaction
        self._clock = clock
        self._last_progress = -PROGRESS_INTERVAL_SECONDS
        self._publisher = publisher
        self._command = command
        self._channel_id = interaction.channel_id or 0
        self._dead = False
        self._answered = False  # the deferred response holds an answer, not "thinking" or progress

    def live(self) -> bool:
        """Whether answers can still go through the interaction (its token lives 15 minutes)."""
        if not self._dead and self._interaction.is_expired():
            self._give_up("is over 15 minutes old")
        return not self._dead

    def _give_up(self, why: str) -> None:
        log.warning(
            "Discord: the %s interaction in channel %s %s; posting the answer in the channel instead",
            self._command, self._channel_id, why,
        )  # fmt: skip
        self._dead = True

    def token_died(self, exc: discord.HTTPException) -> bool:
        """True (and from now on answers go to the channel) when `exc` says the interaction token is dead."""
        if exc.status not in _DEAD_TOKEN_STATUS:
            return False
        self._give_up(f"expired before its answer was ready ({exc.status} {exc.text})")
        return True

    async def _answer(self, out: Outgoing) -> None:
        """The deferred response becomes `out` the first time; later answers are ephemeral follow-ups. With
        the token dead, a channel message from the bot."""
        if self.live():
            shown, file = await self._publisher.with_figure(out)
            try:
                if not self._answered:
                    attachments = {"attachments": [file]} if file is not None else {}
                    await self._interaction.edit_original_response(
                        content=shown.content, embeds=list(shown.embeds), allowed_mentions=NO_MENTIONS, **attachments
                    )
                    self._answered = True
                else:
                    await self._interaction.followup.send(ephemeral=True, **_send_kwargs(shown, file))
                return
            except discord.HTTPException as exc:
                if not self.token_died(exc):
                    raise
        await self._publisher.send(self._publisher.channel(self._channel_id), out)

    async def progress(self, message: str) -> None:
        # At most one edit a second: a webhook allows about five per two seconds, and notes come in bursts.
        if not self.live() or self._clock() - self._last_progress < PROGRESS_INTERVAL_SECONDS:
            return
        self._last_progress = self._clock()
        try:
            await self._interaction.edit_original_response(
                content=progress_content(message), allowed_mentions=NO_MENTIONS
            )
        except discord.HTTPException as exc:
            if not self.token_died(exc):
                log.warning("Discord: could not show progress for %s: %s %s", self._command, exc.status, exc.text)
        else:
            self._answered = False  # progress again (a channel's second digest): its answer replaces it

    async def answer_progress(self, message: str) -> None:
        await self.progress(message)  # the deferred response, which the answer replaces

    async def text(self, message: str) -> None:
        for out in text_messages(message):
            await self._answer(out)

    async def cards(self, batch: SummaryBatch) -> None:
        for out in batch_messages(hide_figures(batch, not self._publisher.show_figures)):
            await self._answer(out)

    async def answer(self, answer: Answer) -> None:
        await self._answer(answer_message(answer))

    async def digest(self, digest: Digest) -> None:
        """Posted in the channel by the bot, as a scheduled digest is: a public parent message with the
        cards in a thread from it (the interaction's own messages are the asker's alone)."""
        channel = self._publisher.channel(self._channel_id)
        try:
            await self._publisher.post_digest_to(channel, digest, once=False)
        except PublishError as exc:
            await self.text(f"I could not post the digest in this channel: {exc}")
            return
        n = len(digest.papers)
        if self.live():  # else the channel has the digest itself; a public "posted" would be noise
            await self.text(f"✅ Digest posted here: {n} paper{'s' if n != 1 else ''}." if n else "✅ Digest posted.")

    async def finish(self) -> None:
        """The command is over: a deferred response still showing progress (or still thinking: the work ended
        without an answer, which was logged) says so."""
        if not self._answered and self.live():
            try:
                await self._interaction.edit_original_response(
                    content=SORRY.format(what=f"answering {self._command}"), allowed_mentions=NO_MENTIONS
                )
            except discord.HTTPException as exc:
                self.token_died(exc)
