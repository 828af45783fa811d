"""FakeDiscord: Discord's REST API (v10) and gateway on 127.0.0.1 (a random port), for the real discord.py client.

REST under /api/v10 (point `discord.api_url` at `api_url`): users/@me, oauth2/applications/@me,
gateway(/bot), command bulk overwrites (global and per guild), channel messages (POST, PATCH), threads
from a message, typing, interaction callbacks, and interaction webhooks (@original, follow-ups: as on
Discord, a deferred response is ephemeral when its callback says so, and the first follow-up to a
response still thinking becomes that response, its ephemerality unchanged). A message with files comes as
multipart/form-data, `payload_json` plus `files[n]` parts, each part named by an entry of the payload's
`attachments` ({"id": n, "filename": ...}) and the other way round, else 400 50035; the files are kept in
the call's `files` and become the message's attachments. Every
request is recorded with its time and JSON body; every JSON body is validated against Discord's
OpenAPI spec (tests/data/discord-api-spec), plus the limits the spec cannot say (2000 content
characters, 6000 embed characters a message): a violation is answered 400 50035 and kept in
`schema_errors`, as Discord would refuse it.

The gateway (`gateway_url`) speaks JSON, zlib-stream compressed when asked: HELLO, heartbeat ACKs,
IDENTIFY -> READY + GUILD_CREATE with the active threads (or close 4004 for a wrong token, 4014 for a
Message Content intent the application has not enabled, or `close_after_identify`); a thread the bot
starts is also sent as THREAD_CREATE (newly_created), as Discord does. Tests push MESSAGE_CREATE (a
reply with `reply_to`) and INTERACTION_CREATE with send_message()/send_command(), MESSAGE_REACTION_ADD
and MESSAGE_REACTION_REMOVE with react() (only when IDENTIFY asked for the guild message reactions
intent, as Discord sends them), a new session with replay_ready(), and wait on what the client sent
with wait_for().

Faults: fault() scripts an answer for matching requests (rate_limit(): 429 with retry_after;
forbid(): 403 Missing Access for one channel, every time); expire_interactions() makes interaction
tokens dead (401 Invalid Webhook Token), as after 15 minutes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import itertools
import json
import re
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import pytest_asyncio
from aiohttp import BodyPartReader, WSMsgType, web
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).resolve().parent.parent / "data" / "discord-api-spec" / "openapi.json"
_SPEC_URI = "urn:discord-openapi"

# Token-shaped (so the suite's secret scan would catch it in a log), but not a real token.
TOKEN = "MTQwMDAwMDAwMDAwMDAwMDAwMQ.GfAkEd.paperboy-test-token-not-real-000000"
APP_ID = BOT_ID = 1400000000000000001
GUILD_ID = 1400000000000000002
CHANNEL_ID = 1400000000000000003  # #papers: the bot may start threads
PLAIN_CHANNEL_ID = 1400000000000000004  # #announcements: the bot may post, not start threads
USER_ID = 1400000000000000005  # a person
OTHER_BOT_ID = 1400000000000000006

MESSAGE_CONTENT = 1 << 15  # the gateway intent bit
GUILD_MESSAGE_REACTIONS = 1 << 10  # the gateway intent bit for reactions in servers
GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19  # application flag: the toggle is on (unverified app)
CREATE_PUBLIC_THREADS = 1 << 35
EVERYONE_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | CREATE_PUBLIC_THREADS | (1 << 38)
CONTENT_LIMIT, EMBED_TOTAL_LIMIT, MAX_ACTION_ROWS = 2000, 6000, 5
EPHEMERAL, LOADING = 1 << 6, 1 << 7  # message flags
DISCORD_EPOCH_MS = 1420070400000

T = TypeVar("T")


# ---- Discord's OpenAPI spec -------------------------------------------------------------------


@functools.cache
def _spec() -> tuple[dict[str, Any], Registry]:
    spec = json.loads(SPEC.read_text("utf-8"))
    return spec, Registry().with_resource(_SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012))


@functools.cache
def _validator(pointer: str) -> Draft202012Validator:
    _, registry = _spec()
    return Draft202012Validator({"$ref": f"{_SPEC_URI}#{quote(pointer, safe='/~@')}"}, registry=registry)


def schema_errors(schema: str, instance: Any) -> list[str]:
    """Why `instance` is not a valid #/components/schemas/<schema> (empty when it is)."""
    return _errors(_validator(f"/components/schemas/{schema}"), instance)


def _errors(validator: Draft202012Validator, instance: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message[:200]}" for e in validator.iter_errors(instance)
    ]


@functools.cache
def _path_templates() -> list[tuple[re.Pattern[str], str]]:
    spec, _ = _spec()
    # Literal segments first ("@original" before "{message_id}").
    paths = sorted(spec["paths"], key=lambda p: p.count("{"))
    return [(re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)) + "$"), p) for p in paths]


def _snowflakes_as_strings(value: Any) -> Any:
    # The spec types snowflakes as strings; Discord also takes them as JSON numbers, as discord.py sends them.
    if isinstance(value, dict):
        return {k: _snowflakes_as_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snowflakes_as_strings(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and value > 10**15:
        return str(value)
    return value


def request_errors(method: str, path: str, body: Any) -> list[str]:
    """Why a JSON request body is not what the spec's requestBody for that route says (empty when valid)."""
    spec, _ = _spec()
    body = _snowflakes_as_strings(body)
    if isinstance(body, dict) and isinstance(body.get("attachments"), list):
        # A new file's attachment id is its index among the parts (files[0] -> 0), which Discord takes as a
        # number too, as discord.py sends it; the spec types every attachment id as a snowflake string.
        body = {**body, "attachments": [_attachment_id_as_string(a) for a in body["attachments"]]}
    for pattern, template in _path_templates():
        if pattern.match(path):
            operation = spec["paths"][template].get(method.lower())
            if operation is None:
                return [f"{method} {template} is not in the spec"]
            if "requestBody" not in operation:
                return [] if body is None else [f"{method} {template} takes no body"]
            pointer = "/paths/{}/{}/requestBody/content/application~1json/schema".format(
                template.replace("~", "~0").replace("/", "~1"), method.lower()
            )
            return _errors(_validator(pointer), body)
    return [f"{path} is not in the spec"]


def _attachment_id_as_string(attachment: Any) -> Any:
    if isinstance(attachment, dict) and isinstance(attachment.get("id"), int):
        return {**attachment, "id": str(attachment["id"])}
    return attachment


def limit_errors(body: Any) -> list[str]:
    """What Discord refuses that the schema cannot express: content over 2000, embeds over 6000 in total,
    more than 5 action rows."""
    if not isinstance(body, dict):
        return []
    errors = []
    if len(body.get("content") or "") > CONTENT_LIMIT:
        errors.append(f"content: over {CONTENT_LIMIT} characters")
    total = sum(embed_length(e) for e in body.get("embeds") or [])
    if total > EMBED_TOTAL_LIMIT:
        errors.append(f"embeds: {total} characters, over {EMBED_TOTAL_LIMIT}")
    # The spec allows 40 components for the newer layout; a message of action rows takes at most 5.
    if len(body.get("components") or []) > MAX_ACTION_ROWS:
        errors.append(f"components: over {MAX_ACTION_ROWS} action rows")
    return errors


def attachment_errors(body: Any, files: dict[str, Attached]) -> list[str]:
    """Every file part (`files[n]`) is named by an attachment {"id": n} of payload_json, and every attachment
    that is not an existing one has its part."""
    if not isinstance(body, dict):
        return []
    named = {f"files[{a.get('id')}]" for a in body.get("attachments") or [] if isinstance(a, dict)}
    errors = [f"{part}: no attachment in payload_json names it" for part in files if part not in named]
    errors += [f"attachments: {part} was not sent" for part in sorted(named - set(files))]
    return errors


async def _multipart(request: web.Request) -> tuple[Any, dict[str, Attached]]:
    """(payload_json, the file parts by name) of a multipart/form-data request, as Discord reads one."""
    body: Any = None
    files: dict[str, Attached] = {}
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        data = await part.read()
        if part.name == "payload_json":
            body = json.loads(data)
        elif part.name:
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            files[part.name] = Attached(part.filename or "", content_type, bytes(data))
    return body, files


def embed_length(embed: dict[str, Any]) -> int:
    """The characters Discord counts in an embed: title, description, field names and values, footer, author."""
    fields = embed.get("fields") or []
    return sum(
        len(text or "")
        for text in [
            embed.get("title"),
            embed.get("description"),
            (embed.get("footer") or {}).get("text"),
            (embed.get("author") or {}).get("name"),
            *(f.get("name") for f in fields),
            *(f.get("value") for f in fields),
        ]
    )


# ---- the fake ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Attached:
    """A file sent in a multipart request."""

    filename: str
    content_type: str
    data: bytes


@dataclasses.dataclass
class Call:
    """One REST request as the fake saw it."""

    method: str
    path: str  # after /api/v10
    query: dict[str, str]
    body: Any
    status: int = 0
    at: float = 0.0  # time.monotonic()
    response: Any = None  # what the fake answered
    files: dict[str, Attached] = dataclasses.field(default_factory=dict)  # multipart parts: "files[0]" -> file

    def matches(self, method: str, pattern: str) -> bool:
        return self.method == method and re.fullmatch(pattern, self.path) is not None


@dataclasses.dataclass
class Fault:
    method: str
    pattern: str
    status: int
    body: dict[str, Any]
    times: int | None  # None: every time
    headers: dict[str, str] = dataclasses.field(default_factory=dict)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def _user(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "global_name": None, "discriminator": "0", "avatar": None, "bot": bot}


class FakeDiscord:
    def __init__(self, *, token: str = TOKEN, app_flags: int = GATEWAY_MESSAGE_CONTENT_LIMITED) -> None:
        self.token = token
        self.app_flags = app_flags
        self.heartbeat_interval_ms = 41250
        self.close_after_identify: int | None = None  # a close code to answer every IDENTIFY with
        self.calls: list[Call] = []
        self.identifies: list[dict[str, Any]] = []  # IDENTIFY payloads (the token replaced by token_ok)
        self.heartbeats = 0
        self.schema_errors: list[str] = []
        self.commands: dict[int | None, list[dict[str, Any]]] = {}  # guild id (None: global) -> commands
        self.messages: dict[int, dict[str, Any]] = {}
        self.interactions: dict[str, dict[str, Any]] = {}  # token -> INTERACTION_CREATE payload
        self.originals: dict[str, dict[str, Any]] = {}  # token -> the (deferred) original response
        self.tokens_dead = False
        self.bot = _user(BOT_ID, "Paperboy", bot=True)
        self.person = _user(USER_ID, "ada")
        self.channels: dict[int, dict[str, Any]] = {
            CHANNEL_ID: self._text_channel(CHANNEL_ID, "papers"),
            PLAIN_CHANNEL_ID: self._text_channel(
                PLAIN_CHANNEL_ID,
                "announcements",
                [{"id": str(BOT_ID), "type": 1, "allow": "0", "deny": str(CREATE_PUBLIC_THREADS)}],
            ),
        }
        self._faults: list[Fault] = []
        self._events: list[tuple[str, dict[str, Any]]] = []  # gateway events a REST call caused, sent after it
        self._counter = itertools.count()
        self._changed = asyncio.Condition()
        self._ws: web.WebSocketResponse | None = None
        self._zlib: Any = None
        self._seq = 0
        self._intents = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    def _snowflake(self) -> int:
        """A new id that, like Discord's, encodes the current time (discord.py reads interaction ages from it)."""
        return ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(self._counter) & 0x3FFFFF)

    # ---- addresses

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # ---- lifecycle

    async def __aenter__(self) -> FakeDiscord:
        _spec()  # load the spec once, before any client is waiting on an answer
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._ws is not None and not self._ws.closed:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- faults

    def fault(
        self,
        method: str,
        pattern: str,
        status: int,
        body: dict[str, Any],
        *,
        times: int | None = 1,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next `times` requests matching (method, path regex) with this status and body."""
        self._faults.append(Fault(method, pattern, status, body, times, headers or {}))

    def rate_limit(self, method: str, pattern: str, *, retry_after: float = 1.5, times: int = 1) -> None:
        """429 as Discord sends it (discord.py needs the Via header to tell it from a Cloudflare ban)."""
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False, "code": 0}
        headers = {"Via": "1.1 google", "Retry-After": str(retry_after), "X-RateLimit-Scope": "user"}
        self.fault(method, pattern, 429, body, times=times, headers=headers)

    def forbid(self, channel_id: int) -> None:
        """403 Missing Access (50001) for every request on this channel."""
        self.fault("*", rf"/channels/{channel_id}(/.*)?", 403, {"message": "Missing Access", "code": 50001}, times=None)

    def expire_interactions(self) -> None:
        """Interaction webhooks (progress edits, follow-ups) answer 401 Invalid Webhook Token from now on,
        as 15 minutes after the interaction; the 3-second callback still works, as it came first."""
        self.tokens_dead = True

    # ---- what the client sent

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0) -> T:
        """The predicate's first truthy value, re-checked whenever the client sends something."""
        async with self._changed:
            return await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    def find(self, method: str, pattern: str, *, ok: bool | None = None) -> list[Call]:
        """Calls matching (method, path regex); ok=True only 2xx answers, ok=False only errors."""
        return [c for c in self.calls if c.matches(method, pattern) and (ok is None or (200 <= c.status < 300) == ok)]

    async def wait_calls(self, method: str, pattern: str, count: int = 1, *, timeout: float = 10.0) -> list[Call]:
        """At least `count` answered calls matching (method, path regex)."""

        def answered() -> list[Call]:
            found = [c for c in self.find(method, pattern) if c.status]
            return found if len(found) >= count else []

        return await self.wait_for(answered, timeout)

    def sent_messages(self) -> list[Call]:
        """Accepted message creations, by the bot and through interaction webhooks, in order."""
        return [
            c
            for c in self.calls
            if 200 <= c.status < 300
            and (c.matches("POST", r"/channels/\d+/messages") or c.matches("POST", r"/webhooks/\d+/[^/]+"))
        ]

    # ---- gateway pushes

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self._seq += 1
        await self._send({"op": 0, "t": event, "s": self._seq, "d": data})

    async def send_message(
        self,
        content: str,
        *,
        channel_id: int = CHANNEL_ID,
        author: dict[str, Any] | None = None,
        message_id: int | None = None,
        mention_bot: bool = False,
        reply_to: int | str | None = None,
    ) -> dict[str, Any]:
        """A MESSAGE_CREATE (with `reply_to`, a reply to that message, as Discord's Reply makes one, pinging
        nobody); without the Message Content intent Discord blanks what does not mention the bot."""
        author = author or self.person
        body: dict[str, Any] = {"content": content}
        if reply_to is not None:
            body["message_reference"] = {"type": 0, "message_id": str(reply_to), "guild_id": str(GUILD_ID)}
        message = self._message(channel_id, body, author=author, message_id=message_id)
        message["mentions"] = [self.bot] if mention_bot else []
        if "guild_id" in self.channels.get(channel_id, {}):
            message["guild_id"] = self.channels[channel_id]["guild_id"]  # (discord.py reads one without as a DM)
        if not self._intents & MESSAGE_CONTENT and not mention_bot:
            message["content"] = ""
        message["member"] = {"roles": [], "joined_at": _now(), "deaf": False, "mute": False, "flags": 0}
        await self.dispatch("MESSAGE_CREATE", message)
        return message

    async def send_command(
        self, command: str, subcommand: str | None = None, /, *, channel_id: int = CHANNEL_ID, **options: str | int
    ) -> dict[str, Any]:
        """An INTERACTION_CREATE for a slash command, as a member of the guild invokes it."""
        values = [{"name": k, "type": 4 if isinstance(v, int) else 3, "value": v} for k, v in options.items()]
        if subcommand is not None:
            values = [{"name": subcommand, "type": 1, "options": values}]
        registered = {c["name"]: c["id"] for c in self.commands.get(GUILD_ID, self.commands.get(None, []))}
        interaction_id = self._snowflake()
        token = f"aW50ZXJhY3Rpb246{interaction_id}OnBhcGVyYm95LXRlc3Q"
        channel = self.channels[channel_id]
        payload = {
            "id": str(interaction_id),
            "application_id": str(APP_ID),
            "type": 2,
            "token": token,
            "version": 1,
            "data": {
                "id": registered.get(command, str(self._snowflake())),
                "name": command,
                "type": 1,
                "options": values,
                "guild_id": str(GUILD_ID),
            },
            "guild_id": str(GUILD_ID),
            "guild": {"id": str(GUILD_ID), "locale": "en-US", "features": []},
            "channel_id": str(channel_id),
            "channel": {**channel, "permissions": str(EVERYONE_PERMISSIONS)},
            "member": {
                "user": self.person,
                "roles": [],
                "joined_at": _now(),
                "permissions": str(EVERYONE_PERMISSIONS),
                "deaf": False,
                "mute": False,
                "flags": 0,
                "pending": False,
            },
            "app_permissions": str(EVERYONE_PERMISSIONS),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "context": 0,
            "attachment_size_limit": 26214400,
        }
        self.interactions[token] = payload
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    async def react(self, message_id: int | str, emoji: str, *, user_id: int = USER_ID, added: bool = True) -> bool:
        """MESSAGE_REACTION_ADD (or, `added` False, _REMOVE) of a unicode emoji on a message in a server channel,
        in Discord's payload shape; False (nothing sent) when the client did not ask for the guild message
        reactions intent, as Discord then sends none."""
        message = self.messages[int(message_id)]
        if not self._intents & GUILD_MESSAGE_REACTIONS:
            return False
        emoji_object = {"id": None, "name": emoji}
        data: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": message["channel_id"],
            "message_id": message["id"],
            "guild_id": str(GUILD_ID),
            "emoji": emoji_object,
            "burst": False,
            "type": 0,
        }
        if added:
            user = {USER_ID: self.person, BOT_ID: self.bot}.get(user_id) or _user(user_id, f"user{user_id}")
            user = {**user, "public_flags": 0, "flags": 0, "primary_guild": None}  # a full user, as here
            member = {"user": user, "roles": [], "joined_at": _now(), "deaf": False, "mute": False, "flags": 0,
                      "pending": False, "nick": None, "avatar": None, "banner": None, "premium_since": None,
                      "communication_disabled_until": None}  # fmt: skip
            data |= {"member": member, "message_author_id": message["author"]["id"], "burst_colors": []}
            errors = schema_errors("GuildMemberResponse", member)
        else:
            errors = []
        errors += schema_errors("MessageReactionEmojiResponse", emoji_object)
        if errors:  # a bug in the fake: it must send what Discord sends
            raise AssertionError(f"FakeDiscord's reaction payload is not Discord's: {errors}")
        await self.dispatch("MESSAGE_REACTION_ADD" if added else "MESSAGE_REACTION_REMOVE", data)
        return True

    async def replay_ready(self) -> None:
        """READY and GUILD_CREATE again on the open connection: a new session, as after a failed RESUME."""
        await self._ready()

    async def close_gateway(self, code: int, reason: str = "") -> None:
        if self._ws is not None:
            await self._ws.close(code=code, message=reason.encode())

    # ---- gateway

    async def _send(self, payload: dict[str, Any]) -> None:
        if self._ws is None or self._ws.closed:
            raise RuntimeError("no gateway connection")
        data = json.dumps(payload)
        if self._zlib is not None:
            await self._ws.send_bytes(self._zlib.compress(data.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH))
        else:
            await self._ws.send_str(data)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._ws, self._seq = ws, 0
        self._zlib = zlib.compressobj() if request.query.get("compress") == "zlib-stream" else None
        await self._send({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            op, data = frame.get("op"), frame.get("d")
            if op == 1:
                self.heartbeats += 1
                await self._send({"op": 11})
            elif op == 2:
                await self._identify(ws, data)
            elif op == 6:
                await self.dispatch("RESUMED", {})
            await self._notify()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        token_ok = data.get("token") == self.token
        self.identifies.append({**{k: v for k, v in data.items() if k != "token"}, "token_ok": token_ok})
        self._intents = int(data.get("intents", 0))
        if not token_ok:
            await ws.close(code=4004, message=b"Authentication failed.")
        elif self.close_after_identify is not None:
            await ws.close(code=self.close_after_identify, message=b"Closed by the test.")
        elif self._intents & MESSAGE_CONTENT and not self.app_flags & (GATEWAY_MESSAGE_CONTENT_LIMITED | 1 << 18):
            await ws.close(code=4014, message=b"Disallowed intent(s).")
        else:
            await self._ready()

    async def _ready(self) -> None:
        session = f"session{self._snowflake()}"
        ready = {
            "v": 10,
            "user": {**self.bot, "verified": True, "mfa_enabled": False, "flags": 0},
            "guilds": [{"id": str(GUILD_ID), "unavailable": True}],
            "session_id": session,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(APP_ID), "flags": self.app_flags},
            "private_channels": [],
        }
        await self.dispatch("READY", ready)
        await self.dispatch("GUILD_CREATE", self._guild())

    def _text_channel(self, channel_id: int, name: str, overwrites: list[Any] | None = None) -> dict[str, Any]:
        return {
            "id": str(channel_id),
            "type": 0,
            "guild_id": str(GUILD_ID),
            "name": name,
            "position": 0,
            "permission_overwrites": overwrites or [],
            "nsfw": False,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "default_auto_archive_duration": 1440,
        }

    def _guild(self) -> dict[str, Any]:
        everyone = {
            "id": str(GUILD_ID),
            "name": "@everyone",
            "permissions": str(EVERYONE_PERMISSIONS),
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        return {
            "id": str(GUILD_ID),
            "name": "Paperboy Lab",
            "icon": None,
            "owner_id": str(USER_ID),
            "unavailable": False,
            "member_count": 2,
            "large": False,
            "joined_at": _now(),
            "roles": [everyone],
            "channels": [c for c in self.channels.values() if c["type"] == 0],
            "members": [{"user": self.bot, "roles": [], "joined_at": _now(), "deaf": False, "mute": False, "flags": 0}],
            "threads": [c for c in self.channels.values() if c["type"] == 11],  # the active threads
            "emojis": [],
            "stickers": [],
            "features": [],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "system_channel_id": None,
        }

    # ---- REST

    def _message(
        self,
        channel_id: int,
        body: dict[str, Any],
        *,
        author: dict[str, Any] | None = None,
        message_id: int | None = None,
        webhook_id: int | None = None,
        files: dict[str, Attached] | None = None,
    ) -> dict[str, Any]:
        message_id = message_id or self._snowflake()
        message = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "author": author or self.bot,
            "content": body.get("content") or "",
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": self._attachments(body, files or {}),
            "embeds": body.get("embeds") or [],
            "pinned": False,
            "type": 0,
            "flags": body.get("flags") or 0,
            "components": [],
        }
        if webhook_id is not None:
            message["webhook_id"] = str(webhook_id)
            message["application_id"] = str(APP_ID)
        if reference := body.get("message_reference"):
            message["type"] = 19
            message["message_reference"] = {**reference, "channel_id": str(channel_id)}
            message["referenced_message"] = self.messages.get(int(reference["message_id"]))
        self.messages[message_id] = message
        return message

    def _attachments(self, body: dict[str, Any], files: dict[str, Attached]) -> list[dict[str, Any]]:
        """The message's attachments as Discord returns them, on a CDN address of this fake."""
        out = []
        for entry in body.get("attachments") or []:
            attached = files.get(f"files[{entry['id']}]")
            if attached is None:
                continue
            snowflake = self._snowflake()
            url = f"http://127.0.0.1:{self.port}/attachments/{snowflake}/{quote(attached.filename)}"
            out.append({"id": str(snowflake), "filename": attached.filename, "size": len(attached.data), "url": url,
                        "proxy_url": url, "content_type": attached.content_type,
                        "description": entry.get("description")})  # fmt: skip
        return out

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        files: dict[str, Attached] = {}
        if request.content_type == "multipart/form-data":
            body, files = await _multipart(request)
        else:
            raw = await request.read()
            body = json.loads(raw) if raw and request.content_type == "application/json" else None
        call = Call(request.method, path, dict(request.query), body, at=time.monotonic(), files=files)
        self.calls.append(call)
        try:
            status, answer, headers = self._answer(request, call)
        except Exception as exc:  # a bug in the fake: make it loud in the test
            status, answer, headers = 500, {"message": f"FakeDiscord: {exc!r}", "code": 0}, {}
        call.status, call.response = status, answer
        events, self._events = self._events, []
        for event, data in events:
            if self._ws is not None and not self._ws.closed:  # `paperboy post` has no gateway
                await self.dispatch(event, data)
        await self._notify()
        if answer is None:
            return web.Response(status=status, headers=headers)
        # Exactly "application/json", as Discord sends it: discord.py parses nothing else.
        headers = {**headers, "Content-Type": "application/json"}
        return web.Response(body=json.dumps(answer).encode(), status=status, headers=headers)

    def _answer(self, request: web.Request, call: Call) -> tuple[int, Any, dict[str, str]]:
        for fault in self._faults:
            if fault.times != 0 and fault.method in ("*", call.method) and re.fullmatch(fault.pattern, call.path):
                if fault.times is not None:
                    fault.times -= 1
                return fault.status, fault.body, fault.headers
        webhook = call.path.startswith(("/webhooks/", "/interactions/"))
        if not webhook and request.headers.get("Authorization") != f"Bot {self.token}":
            return 401, {"message": "401: Unauthorized", "code": 0}, {}
        if call.body is not None:
            errors = request_errors(call.method, call.path, call.body) + limit_errors(call.body)
            errors += attachment_errors(call.body, call.files)
            if errors:
                self.schema_errors += [f"{call.method} {call.path}: {e}" for e in errors]
                details = {"_errors": [{"code": "INVALID", "message": e} for e in errors]}
                return 400, {"message": "Invalid Form Body", "code": 50035, "errors": {"body": details}}, {}
        for method, pattern, handler in self._routes():
            if call.method == method and (m := re.fullmatch(pattern, call.path)):
                return handler(call, *m.groups())
        return 404, {"message": "404: Not Found", "code": 0}, {}

    def _routes(self) -> list[tuple[str, str, Callable[..., tuple[int, Any, dict[str, str]]]]]:
        return [
            ("GET", r"/users/@me", lambda c: (200, {**self.bot, "verified": True, "flags": 0}, {})),
            ("GET", r"/oauth2/applications/@me", self._application),
            ("GET", r"/gateway(?:/bot)?", self._gateway_info),
            ("PUT", r"/applications/(\d+)/commands", lambda c, app: self._put_commands(c, None)),
            ("PUT", r"/applications/(\d+)/guilds/(\d+)/commands", lambda c, app, g: self._put_commands(c, int(g))),
            ("GET", r"/channels/(\d+)", self._get_channel),
            ("POST", r"/channels/(\d+)/messages", self._create_message),
            ("PATCH", r"/channels/(\d+)/messages/(\d+)", self._edit_message),
            ("POST", r"/channels/(\d+)/messages/(\d+)/threads", self._start_thread),
            ("POST", r"/channels/(\d+)/typing", lambda c, ch: (204, None, {})),
            ("POST", r"/interactions/(\d+)/([^/]+)/callback", self._callback),
            ("PATCH", r"/webhooks/(\d+)/([^/]+)/messages/@original", self._edit_original),
            ("POST", r"/webhooks/(\d+)/([^/]+)", self._followup),
        ]

    def _application(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        app = {"id": str(APP_ID), "name": "Paperboy", "icon": None, "description": "", "bot_public": False,
               "bot_require_code_grant": False, "owner": self.person, "verify_key": "0" * 64, "flags": self.app_flags,
               "bot": self.bot, "summary": "", "team": None}  # fmt: skip
        return 200, app, {}

    def _gateway_info(self, call: Call) -> tuple[int, Any, dict[str, str]]:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return 200, {"url": self.gateway_url, "shards": 1, "session_start_limit": limit}, {}

    def _put_commands(self, call: Call, guild_id: int | None) -> tuple[int, Any, dict[str, str]]:
        commands = [
            {**cmd, "id": str(self._snowflake()), "application_id": str(APP_ID), "version": str(self._snowflake())}
            | ({"guild_id": str(guild_id)} if guild_id else {})
            for cmd in call.body or []
        ]
        self.commands[guild_id] = commands
        return 200, commands, {}

    def _get_channel(self, call: Call, channel_id: str) -> tuple[int, Any, dict[str, str]]:
        channel = self.channels.get(int(channel_id))
        return (200, channel, {}) if channel else (404, {"message": "Unknown Channel", "code": 10003}, {})

    def _create_message(self, call: Call, channel_id: str) -> tuple[int, Any, dict[str, str]]:
        if int(channel_id) not in self.channels:
            return 404, {"message": "Unknown Channel", "code": 10003}, {}
        return 200, self._message(int(channel_id), call.body or {}, files=call.files), {}

    def _edit_message(self, call: Call, channel_id: str, message_id: str) -> tuple[int, Any, dict[str, str]]:
        message = self.messages.get(int(message_id))
        if message is None:
            return 404, {"message": "Unknown Message", "code": 10008}, {}
        message.update({k: v for k, v in (call.body or {}).items() if k in ("content", "embeds", "flags")})
        message["edited_timestamp"] = _now()
        return 200, message, {}

    def _start_thread(self, call: Call, channel_id: str, message_id: str) -> tuple[int, Any, dict[str, str]]:
        parent = self.channels.get(int(channel_id))
        if parent is None or int(message_id) not in self.messages:
            return 404, {"message": "Unknown Message", "code": 10008}, {}
        overwrites = {int(o["id"]): int(o["deny"]) for o in parent["permission_overwrites"]}
        if overwrites.get(BOT_ID, 0) & CREATE_PUBLIC_THREADS:
            return 403, {"message": "Missing Permissions", "code": 50013}, {}
        thread = {
            "id": message_id,  # a thread started from a message has that message's id
            "type": 11,
            "guild_id": str(GUILD_ID),
            "parent_id": channel_id,
            "owner_id": str(BOT_ID),
            "name": (call.body or {}).get("name", ""),
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "total_message_sent": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": (call.body or {}).get("auto_archive_duration") or 1440,
                "archive_timestamp": _now(),
                "locked": False,
            },
        }
        self.channels[int(message_id)] = thread
        self._events.append(("THREAD_CREATE", {**thread, "newly_created": True}))
        return 201, thread, {}

    def _interaction_for(self, token: str, *, callback: bool = False) -> dict[str, Any] | None:
        return None if self.tokens_dead and not callback else self.interactions.get(token)

    _DEAD = 401, {"message": "Invalid Webhook Token", "code": 50027}, {}

    def _callback(self, call: Call, interaction_id: str, token: str) -> tuple[int, Any, dict[str, str]]:
        interaction = self._interaction_for(token, callback=True)
        if interaction is None:
            return 404, {"message": "Unknown interaction", "code": 10062}, {}
        if token in self.originals:
            return 400, {"message": "Interaction has already been acknowledged.", "code": 40060}, {}
        original = self._message(int(interaction["channel_id"]), {}, webhook_id=APP_ID)
        ephemeral = ((call.body or {}).get("data") or {}).get("flags", 0) & EPHEMERAL
        original["flags"] = LOADING | ephemeral  # "Paperboy is thinking…", for all or for the asker alone
        self.originals[token] = original
        answer = {
            "interaction": {"id": interaction_id, "type": 2, "response_message_id": original["id"],
                            "response_message_loading": True, "response_message_ephemeral": bool(ephemeral)},
            "resource": {"type": (call.body or {}).get("type")},
        }  # fmt: skip
        return 200, answer, {}

    def _edit_original(self, call: Call, app_id: str, token: str) -> tuple[int, Any, dict[str, str]]:
        if self._interaction_for(token) is None or token not in self.originals:
            return self._DEAD
        original = self.originals[token]
        original.update({k: v for k, v in (call.body or {}).items() if k in ("content", "embeds")})
        if call.files:
            original["attachments"] = self._attachments(call.body or {}, call.files)
        original["flags"] &= ~LOADING  # ephemeral or not as the callback said: an edit cannot change it
        return 200, original, {}

    def _followup(self, call: Call, app_id: str, token: str) -> tuple[int, Any, dict[str, str]]:
        interaction = self._interaction_for(token)
        if interaction is None:
            return self._DEAD
        if (original := self.originals.get(token)) is not None and original["flags"] & LOADING:
            # Discord: the first follow-up to a response still thinking becomes that response, ephemeral or
            # not as the callback said, whatever its own flags.
            return self._edit_original(call, app_id, token)
        message = self._message(int(interaction["channel_id"]), call.body or {}, webhook_id=APP_ID, files=call.files)
        return (200, message, {}) if call.query.get("wait") in ("true", "1", "True") else (204, None, {})


@pytest_asyncio.fixture
async def fake_discord():
    """A started FakeDiscord (REST + gateway), stopped after the test."""
    async with FakeDiscord() as fake:
        yield fake
