"""The only place that builds things: engine, clients, services. Closed in reverse order."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator

from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clients.arxiv import ArxivClient
from bot.clients.llm import OpenAISummarizer
from bot.config import Config, Secret
from bot.core.chat import ChatBot, DigestDefaults
from bot.core.digest import DigestService
from bot.core.errors import StorageUnavailable
from bot.core.ports import ChatPlatform
from bot.core.summaries import SummaryService
from storage.engine import make_engine
from storage.migrations import upgrade
from storage.repository import SqlStore


@dataclasses.dataclass(frozen=True)
class Services:
    summaries: SummaryService
    digests: DigestService
    chat: ChatBot
    store: SqlStore
    schema_version: int


@contextlib.asynccontextmanager
async def open_services(config: Config) -> AsyncIterator[Services]:
    settings = config.settings
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
                )
                digests = DigestService(
                    source=arxiv, store=store, summaries=summaries, search_limit=settings.digest.search_limit
                )
                chat = ChatBot(
                    summaries=summaries,
                    digests=digests,
                    subscriptions=settings.subscription_models(),
                    book=store,
                    language=settings.summary.language,
                    max_papers_per_message=settings.chat.max_papers_per_message,
                    digest_defaults=DigestDefaults(max_papers=settings.digest.max_papers, days=settings.digest.days),
                )
                yield Services(
                    summaries=summaries, digests=digests, chat=chat, store=store, schema_version=schema_version
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


def _reveal(secret: Secret | None) -> str:
    return secret.reveal() if secret else ""


async def _upgrade(engine: AsyncEngine, url: str) -> int:
    try:
        return await upgrade(engine)
    except (OSError, SQLAlchemyError) as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise StorageUnavailable(f"cannot open the database {shown}: {reason} (check storage.url)") from exc
