"""FakeSlack: Slack's Web API, Socket Mode websocket and response_url endpoint on 127.0.0.1 (a random port).

Web API: POST /api/<method> (auth.test, chat.postMessage, chat.update, reactions.add/remove,
apps.connections.open, files.getUploadURLExternal and files.completeUploadExternal), answered as Slack
does (HTTP 200 with {"ok": false, "error": ...}; 429 with Retry-After), checking the token and Block Kit's
limits. Every call is recorded with its time. Every answer names the token's scopes in its x-oauth-scopes header, as
Slack's do: by default those slack-manifest.yml asks for (`scopes`, settable per test).
Faults: script(method, "429:2", "channel_not_found", "ok", ..., channel=C) queues one outcome per
matching call; always(error, method=..., channel=...) answers every matching call with an error.

Uploads as Slack takes them since files.upload is gone: files.getUploadURLExternal(filename, length) gives
an upload_url on this fake; the bytes are POSTed there (no token, as to files.slack.com); then
files.completeUploadExternal(files=[{id, title}], channel_id, thread_ts) shares them, recorded in `uploads`
(only files whose bytes arrived, as many as announced).

Socket Mode: apps.connections.open returns ws://.../socket; on connect the fake sends `hello`,
then whatever send_envelope() pushes, and records every ack. drop_socket() cuts the TCP connection
without a close frame (the client sees 1006) so the client must reconnect.

Slack's side of HTTP mode: deliver(url, payload) POSTs an event (JSON) or a slash command (form)
signed with the signing secret as Slack signs it, with X-Slack-Retry-Num when asked.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import itertools
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest_asyncio
from aiohttp import web

BOT_TOKEN = "xoxb-1111111111-2222222222-FakeBotToken0000"
APP_TOKEN = "xapp-1-A0PAPERBOY-3333333333-FakeAppToken0000"
SIGNING_SECRET = "8f742231b10e8888abcd99b1a2c3d4e5"
TEAM_ID, APP_ID = "T0FAKETEAM", "A0PAPERBOY"
BOT_USER_ID, BOT_ID = "U0PAPERBOY", "B0PAPERBOY"
CHANNEL, USER = "C0TEAMCHAN", "U0ALICE01"
# What slack-manifest.yml asks for: an app installed from it gets these.
SCOPES = ("channels:history", "groups:history", "im:history", "chat:write", "commands", "reactions:read",
          "reactions:write", "files:write")  # fmt: skip

# Block Kit limits Slack enforces with invalid_blocks, and the top-level text limit.
MAX_BLOCKS, MAX_SECTION, MAX_HEADER, MAX_CONTEXT_ELEMENTS, MAX_TEXT = 50, 3000, 150, 10, 40_000
MAX_ACTIONS_ELEMENTS, MAX_BUTTON_TEXT, MAX_BUTTON_URL = 25, 75, 3000
MAX_IMAGE_URL, MAX_ALT_TEXT, MAX_IMAGE_TITLE = 3000, 2000, 2000


@dataclasses.dataclass
class Upload:
    """A file as files.getUploadURLExternal announced it, and what became of it."""

    file_id: str
    filename: str
    length: int
    data: bytes | None = None  # what was POSTed to its upload_url
    title: str | None = None  # set by files.completeUploadExternal, which shares it
    channel: str | None = None
    thread_ts: str | None = None


@dataclasses.dataclass
class Call:
    method: str
    at: float  # time.monotonic() when the request arrived
    args: dict[str, Any]
    token: str | None
    status: int = 200
    error: str | None = None  # None when Slack answered ok

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.error is None


@dataclasses.dataclass
class Ack:
    envelope_id: str
    at: float
    payload: dict[str, Any] | None


@dataclasses.dataclass
class Delivery:
    """Slack's view of one HTTP delivery: the status our endpoint answered, and how long it took."""

    status: int
    body: str
    seconds: float


def slack_signature(secret: str, timestamp: str, body: str) -> str:
    """X-Slack-Signature as Slack computes it: v0=HMAC-SHA256(secret, "v0:{timestamp}:{body}")."""
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


class FakeSlack:
    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        signing_secret: str = SIGNING_SECRET,
        scopes: tuple[str, ...] = SCOPES,
    ) -> None:
        self.bot_token, self.app_token, self.signing_secret = bot_token, app_token, signing_secret
        self.scopes = scopes  # granted to the bot token (the x-oauth-scopes header)
        self.calls: list[Call] = []
        self.posted: list[dict[str, Any]] = []  # accepted chat.postMessage args, with their "ts"
        self.updated: list[dict[str, Any]] = []  # accepted chat.update args
        self.reactions: list[tuple[str, str, str, str]] = []  # (method, channel, timestamp, name)
        self.files: dict[str, Upload] = {}  # every file announced, by id
        self.uploads: list[Upload] = []  # files shared by files.completeUploadExternal, in order
        self.responses: list[dict[str, Any]] = []  # bodies POSTed to response_url
        self.acks: list[Ack] = []
        self.envelopes_sent: dict[str, float] = {}
        self.connections = 0  # websockets opened, ever
        self._scripts: list[tuple[str, str | None, deque[str]]] = []
        self._always: list[tuple[str, str | None, str]] = []
        self._ids = itertools.count(1)
        self._ts = itertools.count(1)
        self._changed = asyncio.Condition()
        self._ws: web.WebSocketResponse | None = None
        self._ws_request: web.Request | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self.port = 0
        # Awaited after a call was answered but before the answer goes out (e.g. to kill the client
        # right after Slack accepted its post).
        self.after_accept: Callable[[Call], Awaitable[None]] | None = None

    # -- lifecycle

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/socket", self._socket)
        app.router.add_post("/response/{key}", self._response_url)
        app.router.add_post("/upload/{file_id}", self._upload_url)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        self._client = aiohttp.ClientSession()
        return self

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._client is not None:
            await self._client.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # -- faults

    def script(self, method: str, *outcomes: str, channel: str | None = None) -> None:
        """Outcomes for the next matching calls, one each: "ok", "429" or "429:SECONDS", or an error name."""
        self._scripts.append((method, channel, deque(outcomes)))

    def always(self, error: str, *, method: str = "*", channel: str | None = None) -> None:
        """Every matching call (method "*" for all) answers ok:false with `error`."""
        self._always.append((method, channel, error))

    def _fault(self, method: str, channel: str | None) -> str | None:
        for m, c, queue in self._scripts:
            if m == method and c in (None, channel) and queue:
                return queue.popleft()
        for m, c, error in self._always:
            if m in ("*", method) and c in (None, channel):
                return error
        return None

    # -- what was recorded

    def calls_to(self, *methods: str) -> list[Call]:
        return [c for c in self.calls if c.method in methods]

    def posts(self, channel: str | None = None) -> list[dict[str, Any]]:
        return [p for p in self.posted if channel in (None, p["channel"])]

    def api_calls_since(self, mark: int) -> list[Call]:
        return self.calls[mark:]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
        """Return once predicate() holds (checked after every recorded call, ack or response)."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
            except TimeoutError:
                seen = [(c.method, c.error) for c in self.calls[-10:]]
                raise AssertionError(
                    f"FakeSlack: no {what or 'change'} within {timeout} s; last calls {seen}"
                ) from None

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # -- payloads as Slack sends them

    def next_ts(self) -> str:
        return f"{1748469600 + next(self._ts)}.000100"

    def event_callback(self, event: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
        return {
            "token": "fake-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ids):08d}",
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": TEAM_ID,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
        }

    def message_event(
        self,
        text: str,
        *,
        channel: str = CHANNEL,
        user: str | None = USER,
        ts: str | None = None,
        event_id: str | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """An event_callback for a channel message (pass subtype=, bot_id=, thread_ts= ... as fields)."""
        ts = ts or self.next_ts()
        event = {"type": "message", "channel": channel, "text": text, "ts": ts, "event_ts": ts,
                 "channel_type": "channel", **fields}  # fmt: skip
        if user is not None:
            event["user"] = user
        return self.event_callback(event, event_id=event_id)

    def reaction_event(
        self,
        name: str,
        ts: str,
        *,
        added: bool = True,
        channel: str = CHANNEL,
        user: str = USER,
        item_user: str = BOT_USER_ID,
        event_id: str | None = None,
    ) -> dict[str, Any]:
        """An event_callback for a reaction added to (or removed from) the message `ts` (by default one of ours)."""
        event = {"type": "reaction_added" if added else "reaction_removed", "user": user, "reaction": name,
                 "item_user": item_user, "item": {"type": "message", "channel": channel, "ts": ts},
                 "event_ts": self.next_ts()}  # fmt: skip
        return self.event_callback(event, event_id=event_id)

    def command(self, text: str, *, channel: str = CHANNEL, user: str = USER) -> dict[str, str]:
        """A /digest slash command's fields, with a response_url on this fake."""
        key = next(self._ids)
        return {
            "token": "fake-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": "team",
            "user_id": user,
            "user_name": "alice",
            "command": "/digest",
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": f"{self.url}/response/{key}",
            "trigger_id": f"{key}.{TEAM_ID}.fake{key:06d}",
        }

    # -- Slack's side of HTTP mode

    async def deliver(
        self,
        url: str,
        payload: dict[str, Any],
        *,
        secret: str | None = None,
        timestamp: float | None = None,
        retry_num: int | None = None,
    ) -> Delivery:
        """POST an event (JSON) or a slash command (form, when payload has "command"), signed like Slack."""
        if "command" in payload:
            body, content_type = urlencode(payload), "application/x-www-form-urlencoded"
        else:
            body, content_type = json.dumps(payload), "application/json"
        stamp = str(int(time.time() if timestamp is None else timestamp))
        headers = {
            "Content-Type": content_type,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": slack_signature(secret or self.signing_secret, stamp, body),
        }
        if retry_num is not None:
            headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        assert self._client is not None
        started = time.monotonic()
        async with self._client.post(url, data=body.encode(), headers=headers) as response:
            text = await response.text()
        return Delivery(response.status, text, time.monotonic() - started)

    # -- Socket Mode

    async def send_envelope(
        self, kind: str, payload: dict[str, Any], *, retry_attempt: int | None = 0, envelope_id: str | None = None
    ) -> str:
        """Push an envelope ("events_api", "slash_commands") on the live websocket; returns its envelope_id.

        retry_attempt=None leaves the retry fields out, as some redeliveries do (bolt-python#1484)."""
        await self.wait_for(lambda: self._ws is not None and not self._ws.closed, what="live websocket")
        envelope_id = envelope_id or f"env-{next(self._ids):06d}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "accepts_response_payload": kind != "events_api",
            "payload": payload,
        }
        if kind == "events_api" and retry_attempt is not None:
            envelope |= {"retry_attempt": retry_attempt, "retry_reason": "timeout" if retry_attempt else ""}
        assert self._ws is not None
        self.envelopes_sent[envelope_id] = time.monotonic()
        await self._ws.send_json(envelope)
        return envelope_id

    async def wait_ack(self, envelope_id: str, timeout: float = 5.0) -> float:
        """Seconds from sending the envelope to its ack."""
        await self.wait_for(lambda: any(a.envelope_id == envelope_id for a in self.acks), timeout, f"ack {envelope_id}")
        ack = next(a for a in self.acks if a.envelope_id == envelope_id)
        return ack.at - self.envelopes_sent[envelope_id]

    async def drop_socket(self) -> None:
        """Cut the live websocket's TCP connection without a close frame (1006 on the client side)."""
        assert self._ws_request is not None and self._ws_request.transport is not None
        self._ws_request.transport.abort()
        self._ws = None

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws, self._ws_request = ws, request
        self._sockets.add(ws)
        self.connections += 1
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "debug_info": {"host": "fake-slack"},
             "connection_info": {"app_id": APP_ID}}
        )  # fmt: skip
        await self._notify()
        try:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    data = json.loads(message.data)
                    if "envelope_id" in data:
                        self.acks.append(Ack(data["envelope_id"], time.monotonic(), data.get("payload")))
                        await self._notify()
        finally:
            self._sockets.discard(ws)
            if self._ws is ws:
                self._ws = None
        return ws

    # -- response_url

    async def _response_url(self, request: web.Request) -> web.Response:
        self.responses.append(await request.json())
        await self._notify()
        return web.Response(text="ok")

    # -- upload_url (files.slack.com on Slack)

    async def _upload_url(self, request: web.Request) -> web.Response:
        upload = self.files.get(request.match_info["file_id"])
        if upload is None or upload.data is not None:
            return web.Response(status=404, text="unknown or used upload URL")
        data = await request.read()
        if request.content_type.startswith("multipart/"):
            return web.Response(status=400, text="the bytes are the body")  # as files_upload_v2 sends them
        upload.data = data
        await self._notify()
        return web.Response(text=f"OK - {len(data)}")

    # -- Web API

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args |= await request.json()
        elif request.can_read_body:
            args |= dict(parse_qsl(await request.text(), keep_blank_values=True))
        if isinstance(args.get("blocks"), str):
            args["blocks"] = json.loads(args["blocks"])
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.pop("token", None)
        call = Call(method, time.monotonic(), args, token)
        self.calls.append(call)
        try:
            response = self._answer(call)
            if self.after_accept is not None:
                await self.after_accept(call)
            return response
        finally:
            await self._notify()

    def _answer(self, call: Call) -> web.Response:
        fault = self._fault(call.method, call.args.get("channel"))
        if fault and fault.startswith("429"):
            call.status, call.error = 429, "ratelimited"
            retry_after = fault.partition(":")[2] or "1"
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": retry_after}
            )
        expected = self.app_token if call.method == "apps.connections.open" else self.bot_token
        error = fault if fault and fault != "ok" else None
        if error is None and call.token != expected:
            error = "not_authed" if not call.token else "invalid_auth"
        handler = getattr(self, "_" + call.method.replace(".", "_"), None)
        if error is None and handler is None:
            error = "unknown_method"
        if error is None:
            answer = handler(call.args)
            error = answer.get("error")
        scopes = {"x-oauth-scopes": ",".join(self.scopes)} if call.token == self.bot_token else {}
        if error is not None:
            call.error = error
            return web.json_response({"ok": False, "error": error}, headers=scopes)
        return web.json_response({"ok": True, **answer}, headers=scopes)

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": "https://fake.slack.com/", "team": "Fake Team", "user": "paperboy", "team_id": TEAM_ID,
                "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}  # fmt: skip

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self.port}/socket?ticket={next(self._ids)}"}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - Slack's method name
        if error := _message_error(args):
            return {"error": error}
        ts = self.next_ts()
        self.posted.append({**args, "ts": ts})
        return {"channel": args["channel"], "ts": ts, "message": {"type": "message", "text": args.get("text"),
                                                                  "bot_id": BOT_ID, "ts": ts}}  # fmt: skip

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        if not any(p["ts"] == args.get("ts") and p["channel"] == args.get("channel") for p in self.posted):
            return {"error": "message_not_found"}
        if error := _message_error(args):
            return {"error": error}
        self.updated.append(dict(args))
        return {"channel": args["channel"], "ts": args["ts"], "text": args.get("text")}

    def _reactions_add(self, args: dict[str, Any]) -> dict[str, Any]:
        self.reactions.append(("add", args.get("channel", ""), args.get("timestamp", ""), args.get("name", "")))
        return {}

    def _reactions_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        self.reactions.append(("remove", args.get("channel", ""), args.get("timestamp", ""), args.get("name", "")))
        return {}

    def _files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802 - Slack's name
        filename, length = str(args.get("filename") or ""), str(args.get("length") or "")
        if not filename or not length.isdigit() or int(length) < 1:
            return {"error": "invalid_arguments"}
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = Upload(file_id, filename, int(length))
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        try:
            files = json.loads(args.get("files") or "")
        except ValueError:
            return {"error": "invalid_arguments"}
        if not isinstance(files, list) or not files:
            return {"error": "invalid_arguments"}
        done = []
        for entry in files:
            upload = self.files.get(str(entry.get("id")))
            if upload is None or upload.data is None:
                return {"error": "file_not_found"}
            if len(upload.data) != upload.length:
                return {"error": "file_upload_size_mismatch"}
            done.append((upload, entry))
        if args.get("thread_ts") and not args.get("channel_id"):
            return {"error": "invalid_arguments"}  # a thread is in a channel
        for upload, entry in done:
            upload.title = entry.get("title") or upload.filename
            upload.channel, upload.thread_ts = args.get("channel_id"), args.get("thread_ts")
            self.uploads.append(upload)
        return {"files": [{"id": u.file_id, "title": u.title, "name": u.filename} for u, _ in done]}


def _message_error(args: dict[str, Any]) -> str | None:
    """Slack's own checks on a message: a channel, some text, Block Kit's limits."""
    if not args.get("channel"):
        return "channel_not_found"
    blocks = args.get("blocks") or []
    if not args.get("text") and not blocks:
        return "no_text"
    if len(args.get("text") or "") > MAX_TEXT:
        return "msg_too_long"
    if len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    for block in blocks:
        kind = block.get("type")
        if kind == "header" and len(block["text"]["text"]) > MAX_HEADER:
            return "invalid_blocks"
        if kind == "section" and len(block["text"]["text"]) > MAX_SECTION:
            return "invalid_blocks"
        if kind == "context" and (
            len(block["elements"]) > MAX_CONTEXT_ELEMENTS
            or any(len(e["text"]) > MAX_SECTION for e in block["elements"])
        ):
            return "invalid_blocks"
        if kind == "actions" and not _valid_actions(block["elements"]):
            return "invalid_blocks"
        if kind == "image" and not _valid_image(block):
            return "invalid_blocks"
    return None


def _valid_image(block: dict[str, Any]) -> bool:
    """An image block: a public https image_url of at most 3000 characters (or a slack_file), alt_text of 1 to
    2000, and a plain_text title of at most 2000 if any."""
    url = block.get("image_url")
    if url is not None and (not str(url).startswith("https://") or len(url) > MAX_IMAGE_URL):
        return False
    if url is None and not (block.get("slack_file") or {}).get("id"):
        return False
    if not 0 < len(block.get("alt_text") or "") <= MAX_ALT_TEXT:
        return False
    title = block.get("title")
    return title is None or (title.get("type") == "plain_text" and 0 < len(title.get("text") or "") <= MAX_IMAGE_TITLE)


def _valid_actions(elements: list[dict[str, Any]]) -> bool:
    """1 to 25 elements; a button has plain_text of 1-75 characters and, if any, a url of at most 3000."""
    if not 0 < len(elements) <= MAX_ACTIONS_ELEMENTS:
        return False
    for element in elements:
        if element.get("type") != "button":
            continue
        text = element.get("text") or {}
        if text.get("type") != "plain_text" or not 0 < len(text.get("text") or "") <= MAX_BUTTON_TEXT:
            return False
        if len(element.get("url") or "") > MAX_BUTTON_URL:
            return False
    return True


@pytest_asyncio.fixture
async def fake_slack():
    """A started FakeSlack, stopped after the test."""
    async with FakeSlack() as fake:
        yield fake
