"""The Discord platform: a discord.Client on the shared event loop; gateway events in, core calls out.

`start()` logs in and connects in a background task and returns once Discord sent READY (the
equivalent of `async with client: await client.start(token)`, never `client.run`). Pasted links
and `/digest ...` typed as text go to ChatBot.handle_message (an @mention with nothing to do gets the
short help); the `/digest` and `/subscriptions` application commands become typed commands
(bot.core.commands) from their options, for ChatBot.handle_command: an option is never turned back
into text. Rendering lives in embeds.py and sending in publisher.py.

A message that is none of those but is a reply to one of our cards or answers, or is written in one of our
digest threads, is a question when ChatBot.is_question says so (asked before the event is claimed); elsewhere a
question about a linked paper needs the @mention (IncomingMessage.addressed). Reactions
(the guild message reactions intent) on our messages go to ChatBot.reaction, for the channel's taste.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.core.chat import ChatBot, could_not_record, is_for_the_bot
from bot.core.commands import (
    AdhocDigest,
    ChannelDigest,
    Command,
    LessLike,
    ListSubscriptions,
    MoreLike,
    ShowTaste,
    Subscribe,
    Unsubscribe,
    usage_reply,
)
from bot.core.errors import PlatformStartError, PublishError, StorageUnavailable, UsageError
from bot.core.models import MAX_CHAT_DIGEST_PAPERS, MAX_DIGEST_DAYS, IncomingMessage
from bot.core.ports import EventLog, FigureImages, ThreadBook
from bot.core.sanitize import one_line
from handlers.discord.publisher import (
    NO_MENTIONS,
    DiscordPublisher,
    InteractionResponder,
    MessageResponder,
    message_place,
    replied_to,
)

log = logging.getLogger(__name__)

START_TIMEOUT_SECONDS = 60.0
STOP_PATIENCE_SECONDS = 30.0  # how long stop() lets answers in flight finish
PORTAL = "Discord Developer Portal (https://discord.com/developers/applications) → your application → Bot"
MESSAGE_CONTENT_HELP = (
    f"enable it in the {PORTAL} → Privileged Gateway Intents → Message Content Intent, save, and restart"
)
TOKEN_HELP = f"check DISCORD_BOT_TOKEN (to get a new one: {PORTAL} → Reset Token)"
NO_REACTIONS = (
    "Discord: the guild message reactions intent is off, so reactions on my cards do not teach this server's "
    "channels their taste (/taste more-like and less-like still do)"
)
HELP = """\
Paste an arXiv link (or arXiv:ID) where I can read it and I reply with a summary card.
/digest — this channel's subscription digests for today
/digest query:cat:cs.CL AND abs:reasoning — an ad-hoc digest (options: days, max, language)
/subscriptions add name:nlp query:cat:cs.CL — post a digest here every day (options: time, timezone, weekdays, \
max, language)
/subscriptions list — this channel's subscriptions
/subscriptions remove name:nlp — stop one
/taste more-like paper:2505.22653 — more papers like it in this channel's digests (less-like: fewer); \
reactions on my cards count too
/taste show — what this channel's digests learned
Reply to a card (or write in a digest's thread) to ask about its paper: #2 which dataset?"""
MENTION_HELP = (
    "Paste an arXiv link (or arXiv:ID) where I can read it and I reply with a summary card; "
    "/digest query:help lists the rest."
)


def default_intents() -> discord.Intents:
    """The least the bot needs: guilds (channels, threads), messages, their content (privileged), and reactions
    in servers (not privileged: a channel's taste)."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = True
    intents.guild_reactions = True
    return intents


def typed(build: Callable[[], Command]) -> Command | str:
    """The command built from a slash command's options, or the answer to a mistake in them."""
    try:
        return build()
    except UsageError as exc:
        return usage_reply(exc)


def digest_command(query: str | None, days: int | None, max_papers: int | None, language: str | None) -> Command | str:
    """`/digest query:… days:… max:… language:…`: the query is a search, whatever its words (`query:list`
    searches for "list"); without options, this channel's subscriptions."""
    query = one_line(query or "")
    if query.lower() == "help":  # the core's help describes the text commands
        return HELP
    if not query and days is None and max_papers is None and language is None:
        return ChannelDigest()
    return typed(lambda: AdhocDigest.from_options(query, days=days, max_papers=max_papers, language=language))


class _Client(discord.Client):
    def __init__(self, platform: DiscordPlatform, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.platform = platform
        self.tree = app_commands.CommandTree(self)

    async def setup_hook(self) -> None:  # once per login, before the gateway connects
        await self.platform._setup()

    async def on_ready(self) -> None:  # once per gateway session: may fire again after a failed RESUME
        await self.platform._on_ready()

    async def on_message(self, message: discord.Message) -> None:
        await self.platform._on_message(message)

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self.platform._on_reaction(payload, added=True)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self.platform._on_reaction(payload, added=False)


class DiscordPlatform:
    name = "discord"

    def __init__(
        self,
        *,
        chat: ChatBot,
        events: EventLog,
        # connection
        token: str,
        api_url: str,
        gateway_url: str,
        guild_ids: tuple[int, ...],
        # timing (tests shorten these)
        guild_ready_timeout: float = 2.0,
        start_timeout: float = START_TIMEOUT_SECONDS,
        # figures: where an attached figure's bytes come from; show_figures: reader.figures
        figures: FigureImages | None = None,
        show_figures: bool = True,
        # where posted cards and answers are recorded, for questions and reactions (None: nowhere)
        threads: ThreadBook | None = None,
        intents: discord.Intents | None = None,  # default_intents(); tests take some away
    ) -> None:
        self._chat, self._events = chat, events
        self._token = token
        self._api_url, self._gateway_url = api_url.rstrip("/"), gateway_url
        self._guild_ids = tuple(guild_ids)
        self._start_timeout = start_timeout
        # The bot has no voice features: skip discord.py's start-up warnings about voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        self._client = _Client(
            self,
            intents=intents or default_intents(),
            allowed_mentions=NO_MENTIONS,
            guild_ready_timeout=guild_ready_timeout,
            chunk_guilds_at_startup=False,
        )
        for command in self._commands():
            self._client.tree.add_command(command)
        self.publisher = DiscordPublisher(self._client, figures=figures, show_figures=show_figures, threads=threads)
        self.reads_all_messages = True  # False when the Message Content intent is off: mentions only
        self._ready = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[object]] = set()
        self._stopping = False
        self._saved_endpoints: tuple[str, yarl.URL] | None = None
        self._told_no_reactions = False
        self._reactions_in_order = asyncio.Lock()

    @property
    def client(self) -> discord.Client:
        return self._client

    # ---- lifecycle

    async def start(self) -> None:
        if not self._token:
            raise PlatformStartError(f"discord.enabled is true but DISCORD_BOT_TOKEN is not set: {TOKEN_HELP}")
        if not self._api_url.startswith(("https://", "http://")):
            raise PlatformStartError(f"discord.api_url must be an http(s) URL, not {self._api_url!r}")
        if not self._gateway_url.startswith(("wss://", "ws://")):
            raise PlatformStartError(f"discord.gateway_url must be a ws(s) URL, not {self._gateway_url!r}")
        # discord.py reads these class attributes for every request and connection; stop() restores them.
        self._saved_endpoints = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._api_url, yarl.URL(self._gateway_url)
        self._runner = asyncio.create_task(self._run(), name="discord-client")
        ready = asyncio.create_task(self._ready.wait())
        try:
            await asyncio.wait({self._runner, ready}, timeout=self._start_timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if self._ready.is_set():
            self._runner.add_done_callback(self._ended)
            return
        if self._runner.done() and not self._runner.cancelled() and self._runner.exception() is not None:
            error = self._runner.exception()
            if not isinstance(error, PlatformStartError):
                error = PlatformStartError(f"Discord could not start: {type(error).__name__}: {error}")
        else:
            error = PlatformStartError(
                f"Discord: no READY from {self._gateway_url} within {self._start_timeout:.0f} s: "
                "check discord.gateway_url, discord.api_url and the network"
            )
        await self.stop()
        raise error  # type: ignore[misc]

    async def open_for_posting(self) -> None:
        """Only the REST API, for `paperboy post`: logged in, no gateway (the running bot holds the events)."""
        self._saved_endpoints = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._api_url, yarl.URL(self._gateway_url)
        try:
            await self._client.login(self._token)
        except discord.LoginFailure:
            await self.stop()
            raise PlatformStartError(f"Discord rejected the bot token (401): {TOKEN_HELP}") from None
        except (discord.HTTPException, OSError, aiohttp.ClientError) as exc:
            await self.stop()
            raise PlatformStartError(f"cannot reach Discord's API at {self._api_url} ({type(exc).__name__})") from None

    async def _run(self) -> None:
        """login (GET users/@me, then the application) and the gateway loop; start-up failures become
        PlatformStartError with what to do. discord.py does not reconnect after 4004 or 4014."""
        try:
            await self._client.login(self._token)
            await self._client.connect(reconnect=True)
        except discord.LoginFailure:
            raise PlatformStartError(f"Discord rejected the bot token (401): {TOKEN_HELP}") from None
        except discord.PrivilegedIntentsRequired:
            raise PlatformStartError(
                f"Discord refused the Message Content intent (close code 4014): {MESSAGE_CONTENT_HELP}"
            ) from None
        except discord.ConnectionClosed as exc:
            if exc.code == 4004:
                raise PlatformStartError(f"Discord rejected the bot token (close code 4004): {TOKEN_HELP}") from None
            raise PlatformStartError(
                f"Discord closed the gateway connection (code {exc.code} {exc.reason}); see "
                "https://discord.com/developers/docs/topics/opcodes-and-status-codes#gateway-close-event-codes"
            ) from None
        except discord.HTTPException as exc:
            raise PlatformStartError(
                f"Discord's API at {self._api_url} answered {exc.status} {exc.text}: check discord.api_url "
                "and https://discordstatus.com"
            ) from None
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            raise PlatformStartError(
                f"cannot reach Discord at {self._api_url} ({type(exc).__name__}): check discord.api_url and the network"
            ) from None
        finally:
            if not self._client.is_closed():
                await self._client.close()

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("Discord: disconnected for good: %s", error)

    async def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True  # no new work; what is in flight may finish
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=STOP_PATIENCE_SECONDS)
        if not self._client.is_closed():
            await self._client.close()
        if self._runner is not None:
            await asyncio.wait({self._runner}, timeout=STOP_PATIENCE_SECONDS)
            if not self._runner.done():
                self._runner.cancel()
        if self._saved_endpoints is not None:
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self._saved_endpoints
            self._saved_endpoints = None
        if self._ready.is_set():
            log.info("Discord: disconnected")

    def is_connected(self) -> bool:
        ws = self._client.ws
        return (
            self._ready.is_set()
            and not self._client.is_closed()
            and self._runner is not None
            and not self._runner.done()
            and ws is not None
            and ws.open
        )

    # ---- events

    async def _setup(self) -> None:
        flags = self._client.application_flags
        if flags.gateway_message_content or flags.gateway_message_content_limited:
            log.info("Discord: Message Content intent on: answering every message with an arXiv link")
        else:
            # Asking for it anyway would end in close code 4014; without it Discord still sends the
            # content of messages that mention the bot. (Intents are fixed at IDENTIFY, after this hook.)
            self._client._connection._intents.message_content = False
            self.reads_all_messages = False
            log.warning(
                "Discord: the Message Content intent is off for this application, so I only answer messages "
                "that mention me; to answer every pasted link, %s",
                MESSAGE_CONTENT_HELP,
            )
        if not self._client.intents.guild_reactions and not self._told_no_reactions:
            self._told_no_reactions = True  # once per process, not per login
            log.warning(NO_REACTIONS)
        await self._sync_commands()

    async def _sync_commands(self) -> None:
        tree = self._client.tree
        if not self._guild_ids:
            try:
                synced = await tree.sync()
            except discord.HTTPException as exc:
                log.error("Discord: could not register the slash commands (%s %s)", exc.status, exc.text)
                return
            log.info(
                "Discord: %d slash commands registered globally (Discord may take a while to show them)", len(synced)
            )
            return
        for guild_id in self._guild_ids:
            guild = discord.Object(id=guild_id)
            tree.copy_global_to(guild=guild)
            try:
                synced = await tree.sync(guild=guild)
            except discord.HTTPException as exc:
                log.error(
                    "Discord: could not register the slash commands in server %s (%s %s): invite the bot there "
                    "with the bot and applications.commands scopes, or fix discord.guild_ids",
                    guild_id, exc.status, exc.text,
                )  # fmt: skip
                continue
            log.info("Discord: %d slash commands registered in server %s", len(synced), guild_id)

    async def _on_ready(self) -> None:
        if self._ready.is_set():
            log.info("Discord: READY again (a new gateway session); nothing to restart")
            return
        user = self._client.user
        log.info(
            "Discord: connected as %s (id %s) to %d server(s)",
            user, user.id if user else "?", len(self._client.guilds),
        )  # fmt: skip
        self._ready.set()

    def _track(self) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _on_message(self, message: discord.Message) -> None:
        if self._stopping:
            return
        self._track()  # before the first await, so stop() waits for it
        me = self._client.user
        if message.author.bot or message.webhook_id is not None or (me is not None and message.author.id == me.id):
            return  # our own posts, other bots, webhooks: never a loop
        text, mentions = message.content, 0
        if me is not None:
            text, mentions = re.subn(rf"<@!?{me.id}>", " ", text)
        text = text.strip()
        # Addressed to the bot: an @mention typed in the message (a reply's ping is not one), or a DM.
        addressed = mentions > 0 or isinstance(message.channel, discord.DMChannel)
        incoming = IncomingMessage(
            platform="discord",
            channel=f"discord:{message.channel.id}",
            text=text,
            user=str(message.author.id),
            extra={"message_id": str(message.id)},
            place=None if isinstance(message.channel, discord.DMChannel) else message_place(message),
            reply_to=replied_to(message),
            addressed=addressed,
        )
        if not addressed and not is_for_the_bot(text) and not await self._is_question(incoming, message):
            return
        responder = MessageResponder(message, self.publisher)
        try:
            fresh = await self._events.claim_event(f"discord:msg:{message.id}")
        except StorageUnavailable as exc:
            with contextlib.suppress(PublishError):  # logged, once, where it happened
                await could_not_record(exc, responder)  # a reply needs no database
            return
        if not fresh:
            log.info("Discord: message %s delivered again; it was already answered", message.id)
            return
        try:
            if not await self._chat.handle_message(incoming, responder) and addressed:
                await responder.text(MENTION_HELP)  # an @mention with no link and no command
        except PublishError:
            pass  # logged, once, where it happened
        except Exception:
            log.exception("Discord: answering message %s in channel %s failed", message.id, message.channel.id)
        finally:
            await responder.close()

    async def _is_question(self, incoming: IncomingMessage, message: discord.Message) -> bool:
        """A reply, or a message in a thread, that the chat takes for a question about papers of ours."""
        if self.publisher.threads is None or not incoming.text:
            return False
        if not incoming.reply_to and not isinstance(message.channel, discord.Thread | discord.PartialMessageable):
            return False  # a plain channel message outside any reply chain: chatter
        try:
            return await self._chat.is_question(incoming)
        except StorageUnavailable as exc:
            log.warning("Discord: could not tell whether message %s is a question: %s", message.id, exc)
            return False

    async def _on_reaction(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        """A reaction added or removed anywhere the bot sees: the chat counts it when the message is ours."""
        me = self._client.user
        if self._stopping or payload.guild_id is None or (me is not None and payload.user_id == me.id):
            return
        if payload.member is not None and payload.member.bot:
            return  # other bots' reactions are no one's taste
        self._track()
        emoji = payload.emoji.name
        if not emoji:
            return  # a custom emoji Discord no longer names (deleted)
        # One at a time, in the order Discord sent them (the lock is first come, first served, and taken before any
        # await): a reaction added and at once taken back ends removed.
        async with self._reactions_in_order:
            await self._reaction(payload, emoji, added=added)

    async def _reaction(self, payload: discord.RawReactionActionEvent, emoji: str, *, added: bool) -> None:
        try:
            await self._chat.reaction(
                f"discord:{payload.channel_id}", str(payload.message_id), f"discord:{payload.user_id}", emoji,
                added=added,
            )  # fmt: skip
        except StorageUnavailable as exc:
            log.warning("Discord: a reaction on message %s was not recorded: %s", payload.message_id, exc)
        except Exception:
            log.exception("Discord: a reaction on message %s in channel %s failed", payload.message_id,
                          payload.channel_id)  # fmt: skip

    async def _command(
        self, interaction: discord.Interaction, name: str, command: Command | str, *, parent: bool = False
    ) -> None:
        """Acknowledge within Discord's 3 s first, then do the work. The person who asked alone sees the
        progress and the answers (ephemeral); a digest is posted in the channel for all.
        `command` is a text instead when the answer is fixed (help, a mistake in the options); `parent`: in a
        thread, the command is about its parent channel (a channel's taste, as reactions in its threads are)."""
        if self._stopping:
            return
        self._track()
        responder = InteractionResponder(interaction, self.publisher, command=name)
        try:
            await interaction.response.defer(ephemeral=True, thinking=True)
        except discord.HTTPException as exc:
            if not responder.token_died(exc):
                log.warning("Discord: could not acknowledge %s (%s %s)", name, exc.status, exc.text)
        channel = f"discord:{interaction.channel_id}"
        if parent and isinstance(interaction.channel, discord.Thread) and interaction.channel.parent_id:
            channel = f"discord:{interaction.channel.parent_id}"
        try:
            if isinstance(command, str):
                await responder.text(command)
            else:
                await self._chat.handle_command(command, channel, responder, user=f"discord:{interaction.user.id}")
        except PublishError:
            pass  # logged, once, where it happened
        except Exception:
            log.exception("Discord: %s in %s failed", name, channel)
        finally:
            await responder.finish()

    def _commands(self) -> list[app_commands.Command | app_commands.Group]:
        @app_commands.command(name="digest", description="New arXiv papers: this channel's subscriptions, or a search")
        @app_commands.describe(
            query="arXiv search, e.g. cat:cs.CL AND abs:reasoning (empty: this channel's subscriptions)",
            days="how many UTC days back (default 1)",
            max_papers="at most this many papers",
            language="language of the summaries, e.g. en, zh, pt-BR",
        )
        @app_commands.rename(max_papers="max")
        async def digest(
            interaction: discord.Interaction,
            query: str | None = None,
            days: app_commands.Range[int, 1, MAX_DIGEST_DAYS] | None = None,
            max_papers: app_commands.Range[int, 1, MAX_CHAT_DIGEST_PAPERS] | None = None,
            language: app_commands.Range[str, 2, 12] | None = None,
        ) -> None:
            await self._command(interaction, "/digest", digest_command(query, days, max_papers, language))

        subscriptions = app_commands.Group(name="subscriptions", description="This channel's standing digests")

        @subscriptions.command(name="add", description="Post a digest of a search here every day")
        @app_commands.describe(
            name="a short name: letters, digits, - _ .",
            query="arXiv search, e.g. cat:cs.CL AND abs:reasoning",
            time="time of day, e.g. 08:30 (default 08:30)",
            timezone="IANA time zone, e.g. Europe/Berlin (default UTC)",
            weekdays="days to post, e.g. mon,wed,fri (default mon-fri)",
            max_papers="at most this many papers (default 10)",
            language="language of the summaries, e.g. en, zh",
        )
        @app_commands.rename(max_papers="max")
        async def add(
            interaction: discord.Interaction,
            name: app_commands.Range[str, 1, 40],
            query: str,
            time: app_commands.Range[str, 4, 5] | None = None,
            timezone: str | None = None,
            weekdays: app_commands.Range[str, 3, 60] | None = None,
            max_papers: app_commands.Range[int, 1, MAX_CHAT_DIGEST_PAPERS] | None = None,
            language: app_commands.Range[str, 2, 12] | None = None,
        ) -> None:
            command = typed(
                lambda: Subscribe.from_options(
                    name, query, time=time, timezone=timezone, weekdays=weekdays, max_papers=max_papers,
                    language=language,
                )
            )  # fmt: skip
            await self._command(interaction, "/subscriptions add", command)

        @subscriptions.command(name="remove", description="Stop posting a digest here")
        @app_commands.describe(name="the subscription's name, as /subscriptions list shows it")
        async def remove(interaction: discord.Interaction, name: app_commands.Range[str, 1, 40]) -> None:
            await self._command(interaction, "/subscriptions remove", Unsubscribe(one_line(name)))

        @subscriptions.command(name="list", description="This channel's subscriptions")
        async def list_(interaction: discord.Interaction) -> None:
            await self._command(interaction, "/subscriptions list", ListSubscriptions())

        taste = app_commands.Group(name="taste", description="What this channel's digests learn from you")

        @taste.command(name="more-like", description="More papers like this one in this channel's digests")
        @app_commands.describe(paper="an arXiv id or link, e.g. 2505.22653")
        async def more_like(interaction: discord.Interaction, paper: app_commands.Range[str, 1, 300]) -> None:
            command = typed(lambda: MoreLike.from_options(paper))
            await self._command(interaction, "/taste more-like", command, parent=True)

        @taste.command(name="less-like", description="Fewer papers like this one in this channel's digests")
        @app_commands.describe(paper="an arXiv id or link, e.g. 2505.22653")
        async def less_like(interaction: discord.Interaction, paper: app_commands.Range[str, 1, 300]) -> None:
            command = typed(lambda: LessLike.from_options(paper))
            await self._command(interaction, "/taste less-like", command, parent=True)

        @taste.command(name="show", description="What this channel's digests learned from reactions and papers")
        async def show(interaction: discord.Interaction) -> None:
            await self._command(interaction, "/taste show", ShowTaste(), parent=True)

        return [digest, subscriptions, taste]
