"""The only place that builds things: engine, clients, services. Closed in reverse order."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Callable, Mapping

from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clients.arxiv import ArxivClient
from bot.clients.llm import OpenAISummarizer
from bot.config import Config, Secret
from bot.core.chat import ChatBot, ChatLimits, DigestDefaults
from bot.core.digest import DigestService
from bot.core.errors import ConfigError, StorageUnavailable
from bot.core.models import Subscription
from bot.core.ports import ChatPlatform, Publisher
from bot.core.posting import DigestPoster, PostTimes
from bot.core.summaries import SummaryService, utc_now
from storage.engine import make_engine
from storage.lanes import SqlRequestLanes
from storage.migrations import upgrade
from storage.repository import SqlStore


@dataclasses.dataclass(frozen=True)
class Services:
    summaries: SummaryService
    digests: DigestService
    chat: ChatBot
    store: SqlStore
    schema_version: int
    now: Callable[[], dt.datetime]
    configured_subscriptions: tuple[Subscription, ...]

    async def subscriptions(self) -> list[Subscription]:
        """From the configuration file and from chat (/digest subscribe), one list."""
        return [*self.configured_subscriptions, *await self.store.list_subscriptions()]


def make_clock(env: Mapping[str, str]) -> Callable[[], dt.datetime]:
    """The real UTC clock, or, with PAPERBOY_CLOCK_START (ISO 8601, for tests and demos), one that starts
    at that instant and runs at normal speed."""
    start = env.get("PAPERBOY_CLOCK_START")
    if not start:
        return utc_now
    try:
        offset = dt.datetime.fromisoformat(start).astimezone(dt.UTC) - dt.datetime.now(dt.UTC)
    except ValueError:
        raise ConfigError(f"PAPERBOY_CLOCK_START={start!r} is not an ISO 8601 time like 2025-06-02T06:29:00Z") from None
    return lambda: dt.datetime.now(dt.UTC) + offset


@contextlib.asynccontextmanager
async def open_services(config: Config, *, now: Callable[[], dt.datetime] = utc_now) -> AsyncIterator[Services]:
    settings = config.settings
    configured = tuple(settings.subscription_models())  # from the configuration file, built once
    engine = make_engine(settings.storage.url)
    try:
        schema_version = await _upgrade(engine, settings.storage.url)
        store = SqlStore(engine)
        async with ArxivClient(
            api_url=settings.arxiv.api_url,
            min_interval_seconds=settings.arxiv.min_interval_seconds,
            timeout_seconds=settings.arxiv.timeout_seconds,
            max_tries=settings.arxiv.max_tries,
            # Backing off in steps of the polite interval keeps retries at least that far apart.
            backoff_base_seconds=settings.arxiv.min_interval_seconds,
            lane=SqlRequestLanes(engine),  # arXiv's interval holds across every process on this database
        ) as arxiv:
            summarizer = None
            if config.llm_configured:
                key = config.secrets.get("OPENAI_API_KEY")
                summarizer = OpenAISummarizer(
                    base_url=settings.llm.base_url,
                    # Local servers (Ollama, vLLM, llama.cpp) accept any key; the client insists on one.
                    api_key=key.reveal() if key else "not-needed",
                    model=settings.llm.model,
                    timeout_seconds=settings.llm.timeout_seconds,
                    max_retries=settings.llm.max_retries,
                )
            try:
                summaries = SummaryService(
                    source=arxiv,
                    store=store,
                    summarizer=summarizer,
                    daily_token_budget=settings.llm.daily_token_budget,
                    max_concurrency=settings.llm.max_concurrency,
                    cache_hours=settings.arxiv.cache_hours,
                    now=now,
                )
                digests = DigestService(
                    source=arxiv, store=store, summaries=summaries, search_limit=settings.digest.search_limit, now=now
                )
                chat = ChatBot(
                    summaries=summaries,
                    digests=digests,
                    subscriptions=configured,
                    book=store,
                    language=settings.summary.language,
                    max_papers_per_message=settings.chat.max_papers_per_message,
                    digest_defaults=DigestDefaults(max_papers=settings.digest.max_papers, days=settings.digest.days),
                    limits=ChatLimits(
                        papers_per_user_per_minute=settings.chat.max_papers_per_user_per_minute,
                        papers_per_channel_per_minute=settings.chat.max_papers_per_channel_per_minute,
                        commands_per_user_per_minute=settings.chat.max_commands_per_user_per_minute,
                        subscriptions_per_channel=settings.chat.max_subscriptions_per_channel,
                    ),
                    now=now,
                )
                yield Services(
                    summaries=summaries,
                    digests=digests,
                    chat=chat,
                    store=store,
                    schema_version=schema_version,
                    now=now,
                    configured_subscriptions=configured,
                )
            finally:
                if summarizer is not None:
                    await summarizer.aclose()
    finally:
        await engine.dispose()


def chat_platforms(config: Config, services: Services) -> list[ChatPlatform]:
    """The enabled chat platforms, built but not connected (imported only when enabled)."""
    settings, secrets = config.settings, config.secrets
    platforms: list[ChatPlatform] = []
    if settings.slack.enabled:
        from handlers.slack import SlackPlatform

        platforms.append(
            SlackPlatform(
                chat=services.chat,
                events=services.store,
                bot_token=_reveal(secrets.get("SLACK_BOT_TOKEN")),
                app_token=_reveal(secrets.get("SLACK_APP_TOKEN")),
                signing_secret=_reveal(secrets.get("SLACK_SIGNING_SECRET")),
                mode=settings.slack.mode,
                http_host=settings.slack.http_host,
                http_port=settings.slack.http_port,
                api_url=settings.slack.api_url,
            )
        )
    if settings.discord.enabled:
        from handlers.discord import DiscordPlatform

        platforms.append(
            DiscordPlatform(
                chat=services.chat,
                events=services.store,
                token=_reveal(secrets.get("DISCORD_BOT_TOKEN")),
                api_url=settings.discord.api_url,
                gateway_url=settings.discord.gateway_url,
                guild_ids=settings.discord.guild_ids,
            )
        )
    return platforms


def digest_poster(config: Config, services: Services, publishers: Mapping[str, Publisher]) -> DigestPoster:
    schedule = config.settings.schedule
    return DigestPoster(
        digests=services.digests,
        ledger=services.store,
        publishers=publishers,
        subscriptions=services.subscriptions,
        times=PostTimes(
            grace=dt.timedelta(hours=schedule.grace_hours),
            lease=dt.timedelta(minutes=schedule.lease_minutes),
            late_after=max(dt.timedelta(minutes=2), 2 * dt.timedelta(seconds=schedule.tick_seconds)),
        ),
        now=services.now,
    )


def _reveal(secret: Secret | None) -> str:
    return secret.reveal() if secret else ""


async def _upgrade(engine: AsyncEngine, url: str) -> int:
    try:
        return await upgrade(engine)
    except (OSError, SQLAlchemyError) as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StorageUnavailable(f"cannot open the database {shown}: {reason} (check storage.url)") from exc
