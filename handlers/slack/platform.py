"""The Slack platform: a bolt AsyncApp over Socket Mode or HTTP (Events API), sharing the bot's event loop.

Translate in: a channel message with arXiv references -> ChatBot.handle_message, answered in its
thread (an @mention with nothing to do gets the short help); `/digest ...` -> ChatBot.handle_text_command
(parsed there, once). A reply in the thread of one of our cards or digests is a question about its papers, no
@mention needed (ChatBot.is_question asks the ThreadBook); elsewhere a question needs the @mention, and its
answer makes the message's thread one of ours (a reply there is a follow-up, no mention needed). A reaction
added to or removed from one of our messages -> ChatBot.reaction (the channel's taste). Everything Slack
delivers is acknowledged first and worked on in a task; each delivery is claimed by its event_id
in the database before any work, so Slack's retries and Socket Mode redeliveries never answer twice.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import time
from collections.abc import Coroutine
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.chat import SHORT_HELP, ChatBot, could_not_record, is_for_the_bot
from bot.core.errors import PaperboyError, PlatformStartError, StorageUnavailable
from bot.core.models import IncomingMessage
from bot.core.ports import EventLog, FigureImages, Responder, ThreadBook
from bot.core.questions import ThreadPlace
from handlers.slack.publisher import MIN_INTERVAL_SECONDS, CommandResponder, SlackPublisher, ThreadResponder

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MAX_SIGNATURE_AGE_SECONDS = 300  # Slack's replay window (and slack_sdk's SignatureVerifier)
MAX_BODY_BYTES = 1024 * 1024  # Slack's events and commands are a few kB
# An HTTP client gets this long for its request headers (from connecting, or from the previous answer on a
# kept-alive connection) and again for its body; slower ones are closed (slow-loris).
READ_TIMEOUT_SECONDS = 10.0
REJECTION_WARNING_SECONDS = 60.0  # a misconfiguration is warned about once a minute; the rest at DEBUG
TIMESTAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds
SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
CONNECT_TIMEOUT_SECONDS = 30.0
DRAIN_SECONDS = 30.0  # at stop, answers in flight get this long to finish
RATE_LIMIT_RETRIES = 3
# Message subtypes that are still a person writing; every other subtype (edits, deletions, joins,
# bot_message, message_changed from unfurls) is ignored.
PERSON_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
# Without it Slack sends no reaction events: the channel's taste then learns only from pasted links and commands.
REACTIONS_SCOPE = "reactions:read"
TOKEN_HINTS = {
    "bot": "copy the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions page into SLACK_BOT_TOKEN",
    "app": "create an app-level token with connections:write (Basic Information > App-Level Tokens), put it "
    "in SLACK_APP_TOKEN, and turn on Socket Mode",
}


def web_client(token: str | None, api_url: str) -> AsyncWebClient:
    """A Web API client on `api_url` that waits out 429s (Retry-After). It does not resend after a dropped
    connection: Slack may already have taken the post, and a resent post is a duplicate."""
    return AsyncWebClient(
        token=token,
        base_url=api_url if api_url.endswith("/") else api_url + "/",
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
    )


def slack_unescape(text: str) -> str:
    """Message text as the person typed it: Slack sends `&`, `<`, `>` escaped."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class SlackPlatform:
    name = "slack"

    def __init__(
        self,
        *,
        chat: ChatBot,
        events: EventLog,
        # secrets (from the environment)
        bot_token: str,
        app_token: str,
        signing_secret: str,
        # connection
        mode: str,
        http_host: str,
        http_port: int,
        api_url: str,
        # pacing and timing (defaults are Slack's guidance; tests shorten them)
        min_interval: float = MIN_INTERVAL_SECONDS,
        ping_interval: float = 10.0,
        drain_seconds: float = DRAIN_SECONDS,
        read_timeout: float = READ_TIMEOUT_SECONDS,
        # figures: where an uploaded figure's bytes come from; show_figures: reader.figures
        figures: FigureImages | None = None,
        show_figures: bool = True,
        # where posted cards are recorded, so a reply in their thread is a question and a reaction a signal
        threads: ThreadBook | None = None,
    ) -> None:
        if mode not in ("socket", "http"):
            raise ValueError(f"slack.mode must be 'socket' or 'http', not {mode!r}")
        self._chat, self._events = chat, events
        self._bot_token, self._app_token = bot_token, app_token
        self._mode, self._host, self._port, self._api_url = mode, http_host, http_port, api_url
        self._ping_interval, self._drain_seconds = ping_interval, drain_seconds
        self._read_timeout = read_timeout
        self._warned_at: dict[str, float] = {}  # rejection reason -> when it was last logged as a warning
        # Only HTTP mode receives requests to verify; Socket Mode has no signing secret.
        self._verifier = SignatureVerifier(signing_secret) if mode == "http" else None
        self._web = web_client(bot_token, api_url)
        self.publisher = SlackPublisher(
            self._web, min_interval=min_interval, figures=figures, show_figures=show_figures, threads=threads
        )
        self._bot_user_id: str | None = None
        self._bot_id: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._reactions = asyncio.Lock()  # reactions are recorded in the order Slack sent them (add, then remove)
        self._started = False
        self.http_port: int | None = None  # the bound port in HTTP mode (http_port may be 0)
        self.app = AsyncApp(
            name="paperboy",
            # The bot's identity comes from our own auth.test at start: no second call per workspace.
            client=web_client(None, api_url),
            # A plain function: bolt reads an authorize function's parameter names (a method's `self` confuses it).
            authorize=lambda enterprise_id, team_id: self._authorize(enterprise_id, team_id),
            signing_secret=signing_secret,
            request_verification_enabled=mode == "http",
        )
        self.app.event("message")(self._on_message)
        self.app.event("link_shared")(self._on_link_shared)
        self.app.event("reaction_added")(self._on_reaction)
        self.app.event("reaction_removed")(self._on_reaction)
        self.app.event("app_uninstalled")(self._on_uninstalled)
        self.app.event("tokens_revoked")(self._on_uninstalled)
        self.app.command("/digest")(self._on_digest)

    # -- lifecycle

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        self._web.session = self._session  # one connection pool for all Web API calls
        try:
            auth = await self._web.auth_test()
            self._bot_user_id, self._bot_id = auth.get("user_id"), auth.get("bot_id")
            _warn_about_missing_scopes(auth.headers)
            if self._mode == "socket":
                await self._start_socket()
            else:
                await self._start_http()
        except SlackApiError as exc:
            await self._close_session()
            raise PlatformStartError(f"Slack rejected SLACK_BOT_TOKEN ({_error(exc)}): {TOKEN_HINTS['bot']}") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            await self._close_session()
            raise PlatformStartError(
                f"cannot reach the Slack Web API at {self._api_url} ({type(exc).__name__}); "
                "check slack.api_url and the network"
            ) from None
        except BaseException:
            await self._close_session()
            raise
        self._started = True
        where = f"HTTP on {self._host}:{self.http_port}{EVENTS_PATH}" if self._mode == "http" else "Socket Mode"
        log.info("Slack: connected to %s as %s (%s)", auth.get("team"), auth.get("user"), where)

    async def _start_socket(self) -> None:
        try:
            # Asked here rather than by the handler, which would retry a bad token forever.
            opened = await self.app.client.apps_connections_open(app_token=self._app_token)
        except SlackApiError as exc:
            raise PlatformStartError(f"Slack rejected SLACK_APP_TOKEN ({_error(exc)}): {TOKEN_HINTS['app']}") from None
        handler = AsyncSocketModeHandler(self.app, self._app_token, ping_interval=self._ping_interval)
        handler.client.wss_uri = opened["url"]
        self._socket = handler
        try:
            await asyncio.wait_for(handler.connect_async(), CONNECT_TIMEOUT_SECONDS)
        except TimeoutError:
            await handler.close_async()
            self._socket = None
            raise PlatformStartError(
                f"Slack Socket Mode: no websocket connection after {CONNECT_TIMEOUT_SECONDS:.0f} s; "
                "check the network or proxy (outbound wss:// must be allowed)"
            ) from None

    async def _start_http(self) -> None:
        server = web.Application(client_max_size=MAX_BODY_BYTES)
        server.router.add_post(EVENTS_PATH, self._http_request)
        # aiohttp has no header-read timeout, but its keep-alive timer runs from the connection's start until
        # a request's headers are complete: a client that never finishes them is closed after read_timeout.
        # After an early answer, the rest of a body is read (and dropped) for at most read_timeout too.
        runner = web.AppRunner(
            server, access_log=None, keepalive_timeout=self._read_timeout, lingering_time=self._read_timeout
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._port).start()
        except OSError as exc:
            await runner.cleanup()
            raise PlatformStartError(
                f"cannot listen for Slack events on {self._host}:{self._port} ({exc.strerror or exc}); "
                "choose a free slack.http_port"
            ) from None
        self._runner = runner
        self.http_port = runner.addresses[0][1]

    async def open_for_posting(self) -> None:
        """Only the Web API, for `paperboy post`: no events taken, no port bound, no socket opened (the running
        bot may hold those)."""
        self._session = aiohttp.ClientSession()
        self._web.session = self._session
        try:
            await self._web.auth_test()
        except SlackApiError as exc:
            await self._close_session()
            raise PlatformStartError(f"Slack rejected SLACK_BOT_TOKEN ({_error(exc)}): {TOKEN_HINTS['bot']}") from None
        except (aiohttp.ClientError, TimeoutError) as exc:
            await self._close_session()
            raise PlatformStartError(f"cannot reach Slack at {self._api_url} ({type(exc).__name__})") from None

    async def stop(self) -> None:
        """Stop taking deliveries, let answers in flight finish (up to drain_seconds), close connections."""
        was_running, self._started = self._started, False
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=self._drain_seconds)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("Slack: %d answers were still running at stop and were cancelled", len(pending))
                await asyncio.gather(*pending, return_exceptions=True)
        await self._close_session()
        if was_running:
            log.info("Slack: disconnected")

    def is_connected(self) -> bool:
        if not self._started or not self.publisher.sending:
            return False
        if self._socket is not None:
            client = self._socket.client
            return not client.closed and client.current_session is not None and not client.current_session.closed
        return self._runner is not None

    async def _close_session(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
            self._web.session = None

    # -- HTTP mode: verify, then hand to bolt

    async def _http_request(self, request: web.Request) -> web.Response:
        """Anyone can reach this port: whatever arrives gets a 4xx and at most one log line, never a traceback."""
        try:
            async with asyncio.timeout(self._read_timeout):
                body = await request.read()
        except TimeoutError:
            log.debug("Slack: a request's body took longer than %.0f s; answered 408", self._read_timeout)
            return web.json_response({"error": "request timeout"}, status=408)
        try:
            text = body.decode("utf-8")  # slack_sdk's verifier would raise on anything else
        except UnicodeDecodeError:
            log.debug("Slack: a request to %s is not UTF-8 (not from Slack); answered 400", EVENTS_PATH)
            return web.json_response({"error": "malformed request"}, status=400)
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if (rejected := self._not_from_slack(text, timestamp, signature)) is not None:
            # One line, without the body or any header value: nothing here is ours to log.
            self._log_rejection(*rejected)
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            payload = parse_body(text, request.content_type)
        except ValueError:  # json's errors
            payload = None
        if (why := _not_a_slack_payload(payload)) is not None:
            log.debug("Slack: a signed request to %s is %s; answered 400", EVENTS_PATH, why)
            return web.json_response({"error": "malformed request"}, status=400)
        try:
            bolt_request = AsyncBoltRequest(body=text, query=request.query_string, headers=dict(request.headers))
            response = await self.app.async_dispatch(bolt_request)
        except Exception as exc:
            # Signed, so from Slack: worth a line, but its payload is not ours to log.
            log.warning("Slack: could not read a signed request to %s (%s); answered 400", EVENTS_PATH,
                        type(exc).__name__)  # fmt: skip
            return web.json_response({"error": "malformed request"}, status=400)
        return await to_aiohttp_response(response)

    def _not_from_slack(self, body: str, timestamp: str, signature: str) -> tuple[str, str] | None:
        """(kind, why) when this request is not Slack's: `why` is a reason an operator can act on; `kind` is
        "secret" or "clock" when our own configuration may be at fault. None when it is Slack's."""
        if self._verifier is None or not TIMESTAMP.fullmatch(timestamp):
            return "stranger", "no valid X-Slack-Request-Timestamp (not from Slack?)"
        age = time.time() - int(timestamp)
        if abs(age) > MAX_SIGNATURE_AGE_SECONDS:
            why = f"its timestamp is {age:+.0f} s off: a replayed request, or this host's clock is wrong (check NTP)"
            return "clock", why
        if not SIGNATURE.fullmatch(signature) or not self._verifier.is_valid(body, timestamp, signature):
            return "secret", "bad X-Slack-Signature (check SLACK_SIGNING_SECRET)"
        return None

    def _log_rejection(self, kind: str, why: str) -> None:
        """A wrong signing secret or clock rejects every request: a warning, at most once a minute for each.
        Requests without a timestamp are not Slack's (scanners): DEBUG only, so they cannot flood the log."""
        now = time.monotonic()
        if kind != "stranger" and now - self._warned_at.get(kind, -math.inf) >= REJECTION_WARNING_SECONDS:
            self._warned_at[kind] = now
            log.warning("Slack: rejected a request to %s: %s", EVENTS_PATH, why)
        else:
            log.debug("Slack: rejected a request to %s: %s", EVENTS_PATH, why)

    async def _authorize(self, enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        """The bot's identity from our auth.test at start (bolt drops our own events with it)."""
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_user_id=self._bot_user_id,
            bot_id=self._bot_id,
            bot_token=self._bot_token,
        )

    # -- listeners: acknowledged by bolt (events) or by us (commands) at once; work goes to a task

    async def _on_message(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        if self._from_a_person(event):
            self._spawn(self._answer(event, str(body.get("event_id") or "")), "answering a message")

    async def _on_reaction(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        item = event.get("item") or {}
        user, name = str(event.get("user") or ""), str(event.get("reaction") or "")
        if item.get("type") != "message" or not item.get("channel") or not item.get("ts") or not user or not name:
            return
        # Our own 👀 (shown while working) is no one's taste; nor is a reaction on someone else's message.
        if user == self._bot_user_id or event.get("item_user", self._bot_user_id) != self._bot_user_id:
            return
        added = event.get("type") == "reaction_added"
        self._spawn(self._react(item, user, name, added, str(body.get("event_id") or "")), "recording a reaction")

    async def _on_link_shared(self) -> None:
        """Links typed in the composer (source "composer") or posted: never a public post."""

    async def _on_uninstalled(self) -> None:
        self.publisher.stop_sending("the app was uninstalled or its tokens revoked; reinstall it to use Paperboy")

    async def _on_digest(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        self._spawn(self._digest_command(body, respond), "answering /digest")

    def _from_a_person(self, event: dict[str, Any]) -> bool:
        if event.get("subtype") not in PERSON_SUBTYPES or event.get("bot_id") or event.get("bot_profile"):
            return False
        return bool(event.get("user")) and event.get("user") != self._bot_user_id and bool(event.get("channel"))

    async def _wanted(self, message: IncomingMessage, addressed: bool) -> bool:
        """For the bot: an @mention, a command or reference, or a reply in one of our threads (a question)."""
        if addressed or is_for_the_bot(message.text):
            return True
        if message.place is None:  # chatter outside a thread: not even a database lookup
            return False
        try:
            return await self._chat.is_question(message)
        except PaperboyError as exc:
            log.warning("Slack: could not tell whether a reply in %s is a question (%s); not answered",
                        message.channel, exc)  # fmt: skip
            return False

    def _read(self, event: dict[str, Any]) -> tuple[str, bool]:
        """The message as the person typed it, without our @mention (so `@Paperboy /digest ...` is a command),
        and whether it was addressed to us: an @mention, or a direct message."""
        text = str(event.get("text") or "")
        mentioned = False
        if self._bot_user_id:
            text, mentions = re.subn(rf"<@{re.escape(self._bot_user_id)}(\|[^>]*)?>", " ", text)
            mentioned = mentions > 0
        return slack_unescape(text).strip(), mentioned or event.get("channel_type") == "im"

    async def _answer(self, event: dict[str, Any], event_id: str) -> None:
        channel, ts = str(event["channel"]), str(event["ts"])
        if not self.publisher.sending:
            return
        thread_ts = str(event.get("thread_ts") or "")
        text, addressed = self._read(event)
        message = IncomingMessage(
            platform="slack",
            channel=f"slack:{channel}",
            text=text,
            user=str(event.get("user") or ""),
            extra={"ts": ts, "thread_ts": thread_ts},
            # A reply in a thread: maybe one of ours, where it is a question about the thread's papers. A message
            # said to the bot is answered in its thread (its own, when top-level), which the answer makes ours.
            place=ThreadPlace(f"slack:{channel}", thread_ts or ts, f"slack:{channel}")
            if addressed or thread_ts not in ("", ts)
            else None,
            addressed=addressed,
        )
        if not await self._wanted(message, addressed):
            return
        reply = ThreadResponder(self.publisher, channel=channel, ts=ts, thread_ts=thread_ts or ts)
        try:
            if await self._claimed(f"slack:{event_id or f'msg:{channel}:{ts}'}", reply):
                if not await self._chat.handle_message(message, reply) and addressed:
                    await reply.text(SHORT_HELP)  # an @mention with no link and no command
        except PaperboyError as exc:
            log.error("Slack: could not answer a message in %s: %s", channel, exc)
        finally:
            await reply.finish()

    async def _react(self, item: dict[str, Any], user: str, name: str, added: bool, event_id: str) -> None:
        """One reaction on one of our messages, as a signal for its papers; once, however often Slack delivers it.
        Nobody is told anything: a database that cannot take it is logged."""
        channel, ts = str(item["channel"]), str(item["ts"])
        async with self._reactions:
            try:
                if event_id and not await self._events.claim_event(f"slack:{event_id}"):
                    return
                await self._chat.reaction(f"slack:{channel}", ts, f"slack:{user}", name, added=added)
            except PaperboyError as exc:
                log.warning("Slack: could not record a reaction in %s: %s", channel, exc)

    async def _digest_command(self, body: dict[str, Any], respond: Any) -> None:
        channel = str(body.get("channel_id") or "")
        trigger = body.get("trigger_id")
        reply = CommandResponder(self.publisher, channel=channel, respond=respond)
        user = f"slack:{body['user_id']}" if body.get("user_id") else ""
        text = slack_unescape(str(body.get("text") or ""))
        try:
            if not trigger or await self._claimed(f"slack:command:{trigger}", reply):
                await self._chat.handle_text_command(text, f"slack:{channel}", reply, user=user)
        except PaperboyError as exc:
            log.error("Slack: /digest in %s could not be posted: %s", channel, exc)
            await reply.text(str(exc))
        finally:
            await reply.finish()

    async def _claimed(self, key: str, reply: Responder) -> bool:
        """Claim a delivery before any work: a retry or redelivery of it finds it taken. When the database
        stays unreachable, the person is told so (a reply needs no database) and it is not answered."""
        try:
            if await self._events.claim_event(key):
                return True
        except StorageUnavailable as exc:
            await could_not_record(exc, reply)
            return False
        log.debug("Slack: %s was already answered", key)
        return False

    def _spawn(self, work: Coroutine[Any, Any, None], what: str) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:
                log.exception("Slack: %s failed", what)

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _warn_about_missing_scopes(headers: dict[str, Any]) -> None:
    """Slack lists the token's scopes in every Web API answer's x-oauth-scopes header; said once, at start."""
    granted = next((str(v) for k, v in headers.items() if k.lower() == "x-oauth-scopes"), None)
    if granted is not None and REACTIONS_SCOPE not in {s.strip() for s in granted.split(",")}:
        log.warning(
            "Slack: the bot token lacks the %s scope, so reactions on cards do not count toward the channel's "
            "taste; add it (see slack-manifest.yml) and reinstall the app",
            REACTIONS_SCOPE,
        )


def _error(exc: SlackApiError) -> str:
    return str(exc.response.get("error") or f"HTTP {exc.response.status_code}")


def _not_a_slack_payload(payload: object) -> str | None:
    """What is wrong with a signed body bolt would fail on (a 500 and a traceback), or None. Slack sends a
    JSON object with a type (events, interactions), or a form with a command or an ssl_check."""
    if not isinstance(payload, dict):
        return "not a JSON object or a form"
    if not (isinstance(payload.get("type"), str) or "command" in payload or "ssl_check" in payload):
        return "neither an event, an interaction nor a command"
    if ("event" in payload or payload.get("type") == "event_callback") and not isinstance(payload.get("event"), dict):
        return "an event callback without an event object"
    return None
