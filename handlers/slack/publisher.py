"""Posting to Slack: the Publisher (digests, for /digest and the scheduler) and the Responders.

One SlackPublisher per workspace. Every message goes through a per-channel lane, at most one
message about every `min_interval` seconds (Slack's guidance), in order. 429s are retried by
slack_sdk's AsyncRateLimitErrorRetryHandler, which honours Retry-After. Errors that no retry
can fix raise PublishError at once: a channel we cannot post to, and a token Slack rejected,
after which nothing more is sent for the workspace (and the platform reports not connected).

A card whose lead figure is a CC-licensed PDF-only paper's crop (bot.core.card) is followed by that crop,
uploaded into the card's thread (files.getUploadURLExternal, the bytes to its upload_url,
files.completeUploadExternal: slack_sdk's files_upload_v2), its bytes from the FigureImages port. An
upload is a courtesy: one that fails is logged, and the digest goes on.

Every card posted (a reply to a pasted link, a digest's thread, /digest) is recorded in the ThreadBook under its
thread, numbered as shown (a digest's numbering), with the ts of the message that carries it: a later message in
that thread is then a question about its papers, and a reaction on that message a signal for them. Recording is
a courtesy too: a database that cannot take it is logged, and the post stands.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.card import card_view, figure_credit, figure_filename, hide_figures, lead_figure
from bot.core.chat import SORRY
from bot.core.errors import PaperboyError, PublishError
from bot.core.models import Digest, SummarizedPaper, SummaryBatch
from bot.core.ports import FigureImages, ThreadBook
from bot.core.questions import Answer, PostedCard, ThreadPlace
from bot.core.sanitize import one_line, truncate
from handlers.slack.answers import answer_message
from handlers.slack.blocks import (
    SlackMessage,
    batch_messages,
    digest_messages,
    progress_message,
    text_message,
    title_block,
)

log = logging.getLogger(__name__)

MIN_INTERVAL_SECONDS = 1.0  # per channel: Slack allows bursts, but asks for about one message a second
PROGRESS_INTERVAL_SECONDS = 1.0  # a progress message is edited at most this often
WORKING_REACTION = "eyes"
UPLOAD_TITLE_CHARS = 250  # an uploaded figure's title: its credit, then as much of the caption as fits

# A token Slack will not accept again: stop sending for the whole workspace.
AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"})
# Errors no retry can fix, with what the operator should do.
PERMANENT_HINTS = {
    "channel_not_found": "check the channel id; for a private channel, invite the bot first",
    "not_in_channel": "invite the bot to the channel (/invite @Paperboy)",
    "is_archived": "the channel is archived; unarchive it or remove it from the subscription",
    "restricted_action": "the workspace does not let the bot post there; ask an admin or choose another channel",
    "missing_scope": "add the missing scope to the Slack app (see slack-manifest.yml) and reinstall it",
    "team_access_not_granted": "the app is not installed for this channel's workspace",
    "invalid_blocks": "a bug in Paperboy's message layout; please report it",
    "msg_too_long": "a bug in Paperboy's message layout; please report it",
}


class SlackUnavailable(PaperboyError):
    """Slack did not take the message (rate limited past our retries, down, unreachable): retry later."""


class DeliveryUnknown(Exception):
    """The connection broke after a post was sent: Slack may or may not have it. Not a PaperboyError on purpose:
    callers must not treat it as "not posted" and try again."""


OnSent = Callable[[str], Awaitable[None]]
Numbered = Sequence[tuple[int | None, SummarizedPaper]]  # (the number a card shows, if any; its paper)
Carried = list[tuple[int, SummarizedPaper]]  # (position, paper) of each card a message carries


def numbered(papers: Sequence[SummarizedPaper], *, shown: bool) -> Numbered:
    """A digest's cards show their number; a reply's cards do not (their position is still their order)."""
    return [(i if shown else None, sp) for i, sp in enumerate(papers, 1)]


def cards_by_message(messages: Sequence[SlackMessage], cards: Numbered) -> list[Carried]:
    """For each message, the cards whose title block it holds, as (position 1..n, paper): a card split across
    messages belongs to the first, where its title is."""
    titles = {_key(title_block(card_view(sp), number)): position for position, (number, sp) in enumerate(cards, 1)}
    papers = [sp for _, sp in cards]
    carried: list[Carried] = []
    for message in messages:
        positions = [titles[k] for block in message.blocks if (k := _key(block)) in titles]
        carried.append([(p, papers[p - 1]) for p in dict.fromkeys(positions)])
    return carried


def _key(block: dict[str, Any]) -> str:
    return json.dumps(block, sort_keys=True)


@dataclasses.dataclass
class _Lane:
    lock: asyncio.Lock = dataclasses.field(default_factory=asyncio.Lock)
    last: float = float("-inf")


class SlackPublisher:
    """Implements bot.core.ports.Publisher for one workspace; channels are raw ids ("C0123ABCD")."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        min_interval: float = MIN_INTERVAL_SECONDS,
        figures: FigureImages | None = None,
        show_figures: bool = True,
        threads: ThreadBook | None = None,
    ) -> None:
        """figures: where an uploaded figure's bytes come from (none: no uploads); show_figures: `reader.figures`;
        threads: where posted cards are recorded (none: nowhere, and no thread is a conversation)."""
        self._client = client
        self._min_interval = min_interval
        self._figures = figures
        self.show_figures = show_figures
        self._threads = threads
        self._lanes: dict[str, _Lane] = {}
        self.stopped_reason: str | None = None

    @property
    def sending(self) -> bool:
        return self.stopped_reason is None

    def stop_sending(self, reason: str) -> None:
        """Nothing more is sent for this workspace; said once, in one log line."""
        if self.stopped_reason is None:
            self.stopped_reason = reason
            log.error("Slack: %s; sending is stopped for this workspace", reason)

    # -- the Publisher port

    async def post_digest(
        self,
        channel: str,
        digest: Digest,
        *,
        already_sent: Sequence[str] = (),
        on_sent: OnSent | None = None,
        parent_ts: str | None = None,
    ) -> list[str]:
        """The parent message, then its thread; returns the ts of each message sent, in order.

        `already_sent` (an interrupted run's messages) are skipped; the rest continue the thread under
        the first of them, the parent. `parent_ts`, a message of ours (the progress message of /digest),
        is edited into the parent, so the channel gets one message, not two.
        """
        channel = channel.removeprefix("slack:")
        shown = hide_figures(digest, not self.show_figures)
        messages = digest_messages(shown)
        cards = cards_by_message(messages, numbered(shown.papers, shown=True))
        sent: list[str] = []
        thread_ts = already_sent[0] if already_sent else None
        for i, message in enumerate(messages):
            if i < len(already_sent):
                continue
            if i == 0 and parent_ts is not None:
                ts = await self._edit_or_post(channel, parent_ts, message)
            else:
                ts = await self.post(channel, message, thread_ts=thread_ts if i else None)
            if i == 0:
                thread_ts = ts
            sent.append(ts)
            if on_sent is not None:
                await on_sent(ts)
            await self.record_cards(channel, thread_ts or ts, ts, cards[i])
        return sent

    async def post_cards(self, channel: str, batch: SummaryBatch, *, thread_ts: str | None) -> list[str]:
        """A reply's cards, in `thread_ts` (None: each message in the channel, its own thread), recorded there."""
        shown = hide_figures(batch, not self.show_figures)
        messages = batch_messages(shown)
        cards = cards_by_message(messages, numbered(shown.papers, shown=False))
        sent: list[str] = []
        for message, carried in zip(messages, cards, strict=True):
            ts = await self.post(channel, message, thread_ts=thread_ts)
            sent.append(ts)
            await self.record_cards(channel, thread_ts or ts, ts, carried)
        return sent

    async def record_cards(self, channel: str, thread_ts: str, ts: str, cards: Carried) -> None:
        """The cards message `ts` carries, under thread `thread_ts`; a failure is logged, never raised (the post
        stands; only questions and reactions there will not be recognised)."""
        if self._threads is None or not cards:
            return
        place = ThreadPlace(f"slack:{channel}", thread_ts, f"slack:{channel}")
        posted = [
            PostedCard(place, ts, position, sp.paper.arxiv_id, sp.paper.version, one_line(sp.paper.title))
            for position, sp in cards
        ]
        try:
            await self._threads.record_cards(posted)
        except PaperboyError as exc:
            log.warning("Slack: could not record the cards of message %s in %s: %s", ts, channel, exc)
        except Exception:
            log.exception("Slack: could not record the cards of message %s in %s", ts, channel)

    # -- Web API calls

    async def post(self, channel: str, message: SlackMessage, *, thread_ts: str | None = None) -> str:
        """chat.postMessage in the channel's lane; returns the message's ts."""
        # No link_names, no parse: only escaped text and our own links. No previews of arXiv pages.
        args: dict[str, Any] = {"channel": channel, **message.payload(), "unfurl_links": False, "unfurl_media": False}
        if thread_ts:
            args["thread_ts"] = thread_ts
        response = await self._call("chat_postMessage", channel, paced=True, **args)
        ts = str(response["ts"])
        for item in message.uploads:
            await self.upload_figure(channel, item, thread_ts=thread_ts or ts)
        return ts

    async def upload_figure(self, channel: str, item: SummarizedPaper, *, thread_ts: str) -> bool:
        """The card's lead figure (a PDF crop) uploaded into the thread, titled with its credit and caption.
        False, logged, when it could not be (no bytes, a missing files:write scope, Slack refusing)."""
        figure = lead_figure(item)
        if self._figures is None or figure is None:
            return False
        png = await self._figures.figure_png(item.paper, figure)
        view = card_view(item)
        if png is None:
            log.info("Slack: no image of %s to upload", figure_credit(view))
            return False
        caption = one_line(figure.caption)
        title = truncate(f"{figure_credit(view)}: {caption}" if caption else figure_credit(view), UPLOAD_TITLE_CHARS)
        try:
            await self._call(
                "files_upload_v2", channel, paced=True,
                file=png, filename=figure_filename(view), title=title, alt_txt=truncate(caption, 1000) or None,
                channel=channel, thread_ts=thread_ts,
            )  # fmt: skip
        except (PaperboyError, SlackClientError) as exc:
            log.warning("Slack: could not upload %s to %s: %s", figure_credit(view), channel, exc)
            return False
        return True

    async def update(self, channel: str, ts: str, message: SlackMessage) -> None:
        await self._call("chat_update", channel, paced=True, channel=channel, ts=ts, **message.payload())

    async def _edit_or_post(self, channel: str, ts: str, message: SlackMessage) -> str:
        """Message `ts` edited into `message`; if Slack refuses (someone deleted it), `message` posted anew."""
        try:
            await self.update(channel, ts, message)
        except PaperboyError as exc:
            log.debug("Slack: could not edit %s in %s (%s); posting instead", ts, channel, exc)
            return await self.post(channel, message)
        return ts

    async def react(self, channel: str, ts: str, name: str = WORKING_REACTION, *, add: bool = True) -> bool:
        """Add (or remove) a reaction; cosmetic, so any failure but a rejected token is only logged."""
        method = "reactions_add" if add else "reactions_remove"
        try:
            await self._call(method, channel, paced=False, channel=channel, timestamp=ts, name=name)
        except PaperboyError as exc:
            log.debug("Slack %s on %s failed: %s", method, channel, exc)
            return False
        return True

    async def _call(self, method: str, lane_key: str, *, paced: bool, **args: Any) -> Any:
        """One Web API call; `paced` calls wait their turn in the channel's lane."""
        if self.stopped_reason is not None:
            raise PublishError(f"Slack sending is stopped: {self.stopped_reason}")
        lane = self._lanes.setdefault(lane_key, _Lane()) if paced else _Lane()
        async with lane.lock:
            if paced and (wait := lane.last + self._min_interval - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            try:
                return await getattr(self._client, method)(**args)
            except SlackApiError as exc:
                raise self._error(method, lane_key, exc) from None
            except aiohttp.ClientConnectorError as exc:  # never connected: nothing was sent
                raise SlackUnavailable(f"Slack could not be reached for {lane_key} ({type(exc).__name__})") from None
            except (aiohttp.ClientError, TimeoutError) as exc:
                if method == "chat_postMessage":
                    # The request may have reached Slack: neither "sent" nor "not sent" (a digest run is left
                    # for a person, never reposted).
                    raise DeliveryUnknown(
                        f"Slack's answer to a post in {lane_key} was lost ({type(exc).__name__})"
                    ) from None
                raise SlackUnavailable(f"Slack could not be reached for {lane_key} ({type(exc).__name__})") from None
            finally:
                if paced:
                    lane.last = time.monotonic()

    def _error(self, method: str, channel: str, exc: SlackApiError) -> PaperboyError:
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if error in AUTH_ERRORS:
            self.stop_sending(f"the bot token was rejected ({error}); reinstall the app or set a new SLACK_BOT_TOKEN")
            return PublishError(f"Slack sending is stopped: the bot token was rejected ({error})")
        if error in PERMANENT_HINTS:
            needed = exc.response.get("needed")
            hint = PERMANENT_HINTS[error] + (f" (needed: {needed})" if needed else "")
            return PublishError(f"Slack cannot post to channel {channel}: {error}; {hint}")
        what = "rate limited past our retries" if error == "ratelimited" else error
        return SlackUnavailable(f"Slack did not take {method.replace('_', '.')} for {channel}: {what}; try again later")


class ProgressMessage:
    """One message showing the latest progress note: posted on the first note, then edited in place at most once
    a PROGRESS_INTERVAL (always ending on the latest note), until `replace` (or `stop`) hands it over to what takes
    its place, so it is never left saying "working"."""

    def __init__(self, publisher: SlackPublisher, channel: str, *, thread_ts: str | None = None) -> None:
        self._publisher, self._channel, self._thread = publisher, channel, thread_ts
        self._ts: str | None = None
        self._last_edit = float("-inf")
        self._latest: str | None = None
        self._editor: asyncio.Task[None] | None = None

    async def show(self, note: str) -> None:
        """The first note is posted (raising what the post raised); later ones are edited in, paced."""
        if self._ts is None:
            self._ts = await self._publisher.post(self._channel, progress_message(note), thread_ts=self._thread)
            self._last_edit = time.monotonic()
            return
        self._latest = note
        if self._editor is None or self._editor.done():
            self._editor = asyncio.get_running_loop().create_task(self._show_latest())

    async def _show_latest(self) -> None:
        while self._latest is not None:
            await asyncio.sleep(max(0.0, self._last_edit + PROGRESS_INTERVAL_SECONDS - time.monotonic()))
            note, self._latest = self._latest, None
            if note is not None and self._ts is not None:
                self._last_edit = time.monotonic()
                await self.edit(self._ts, progress_message(note))

    async def stop(self) -> str | None:
        """No more progress edits; the message's ts (None when none was posted), handed over to what replaces it.
        A later note starts a new message."""
        self._latest = None
        if self._editor is not None and not self._editor.done():
            self._editor.cancel()
            await asyncio.gather(self._editor, return_exceptions=True)
        ts, self._ts = self._ts, None
        return ts

    async def replace(self, message: SlackMessage) -> str | None:
        """The progress message edited into `message`; its ts, or None when there was none or Slack refused the
        edit (then the caller posts `message` instead)."""
        ts = await self.stop()
        return ts if ts is not None and await self.edit(ts, message) else None

    async def edit(self, ts: str, message: SlackMessage) -> bool:
        try:
            await self._publisher.update(self._channel, ts, message)
        except PaperboyError as exc:
            log.debug("Slack: could not edit the progress message %s in %s: %s", ts, self._channel, exc)
            return False
        return True


class ThreadResponder:
    """Answers a message in its thread. While a pasted link's cards are worked out, a reaction on the message shows
    it (removed when done); while a question is answered, a progress message in the thread does, and becomes the
    answer (or the text saying why there is none).

    After a post fails, later answers raise the same error without calling Slack again.
    """

    def __init__(self, publisher: SlackPublisher, *, channel: str, ts: str, thread_ts: str) -> None:
        self._publisher, self._channel, self._ts, self._thread = publisher, channel, ts, thread_ts
        self._reacted = False
        self._answering = ProgressMessage(publisher, channel, thread_ts=thread_ts)
        self._failed: PaperboyError | None = None
        self.sent: list[str] = []

    async def progress(self, message: str) -> None:
        if not self._reacted:
            self._reacted = await self._publisher.react(self._channel, self._ts)

    async def answer_progress(self, message: str) -> None:
        self._check()
        try:
            await self._answering.show(message)
        except PaperboyError as exc:
            self._failed = exc
            raise

    async def cards(self, batch: SummaryBatch) -> None:
        self._check()
        try:
            self.sent += await self._publisher.post_cards(self._channel, batch, thread_ts=self._thread)
        except PaperboyError as exc:
            self._failed = exc
            raise

    async def digest(self, digest: Digest) -> None:
        self._check()
        self.sent += await self._publisher.post_digest(self._channel, digest)

    async def text(self, message: str) -> None:
        await self._post(text_message(message))

    async def answer(self, answer: Answer) -> str:
        """In the thread the question was asked in: its progress message becomes the answer. Its ts."""
        return await self._post(answer_message(answer))

    async def finish(self) -> None:
        """The work is over: a progress message still showing (it ended without an answer, logged) says so."""
        await self._answering.replace(text_message(SORRY.format(what="answering the question")))
        if self._reacted:
            await self._publisher.react(self._channel, self._ts, add=False)

    def _check(self) -> None:
        if self._failed is not None:
            raise self._failed

    async def _post(self, message: SlackMessage) -> str:
        """`message` in the thread: the question's progress message edited into it, else a new post. Its ts."""
        self._check()
        ts = await self._answering.replace(message)
        if ts is None:
            try:
                ts = await self._publisher.post(self._channel, message, thread_ts=self._thread)
            except PaperboyError as exc:
                self._failed = exc
                raise
        self.sent.append(ts)
        return ts


Respond = Callable[..., Awaitable[Any]]


class CommandResponder:
    """Answers /digest: text privately through the command's response_url; a digest's progress as one
    channel message edited in place (ProgressMessage), which then becomes the digest's parent message, or the
    error when the digest fails: it is never left saying "working"."""

    def __init__(self, publisher: SlackPublisher, *, channel: str, respond: Respond) -> None:
        self._publisher, self._channel, self._respond = publisher, channel, respond
        self._progress = ProgressMessage(publisher, channel)  # while a digest is under way

    async def progress(self, message: str) -> None:
        try:
            await self._progress.show(message)
        except PublishError as exc:
            # Raised into the digest build, which stops and shows this to the person.
            raise PublishError(f"I cannot post in this channel: {exc}") from None

    async def answer_progress(self, message: str) -> None:
        await self.progress(message)

    async def cards(self, batch: SummaryBatch) -> None:
        await self._progress.stop()
        await self._publisher.post_cards(self._channel, batch, thread_ts=None)

    async def digest(self, digest: Digest) -> None:
        progress_ts = await self._progress.stop()
        await self._publisher.post_digest(self._channel, digest, parent_ts=progress_ts)

    async def answer(self, answer: Answer) -> None:
        """In the channel (a command has no thread to continue in)."""
        message = answer_message(answer)
        if await self._progress.replace(message) is None:
            await self._publisher.post(self._channel, message)

    async def text(self, message: str) -> None:
        """While a digest is under way, its progress message becomes this (what went wrong), for all to see;
        otherwise the person alone reads it."""
        if await self._progress.replace(text_message(f"⚠️ {message}")) is not None:
            return
        try:
            await self._respond(
                text=text_message(message).text, response_type="ephemeral", unfurl_links=False, unfurl_media=False
            )
        except (aiohttp.ClientError, TimeoutError, SlackApiError) as exc:
            log.warning("Slack: could not answer /digest in %s through its response_url (%s)", self._channel, exc)

    async def finish(self) -> None:
        """The command is over: a progress message still showing (the work ended without an answer) says so."""
        await self._progress.replace(text_message(f"⚠️ {SORRY.format(what='building the digest')}"))
