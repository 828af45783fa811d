"""The only place that builds things: engine, clients, services. Closed in reverse order."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, Self, TypeVar

from sqlalchemy import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.clients.prompts import ANSWER_PROMPT_VERSION, PROMPT_VERSION
from bot.config import ArxivSettings, Config, ReaderSettings, Secret
from bot.core.digest import DigestService
from bot.core.errors import ConfigError, StorageUnavailable
from bot.core.excerpt import Passage
from bot.core.models import ArxivRef, LLMOutput, Paper, Subscription
from bot.core.ports import ChatPlatform, FullTextStore, PaperReader, Publisher, RequestLane, TasteRanker
from bot.core.questions import LLMAnswer, Turn
from bot.core.summaries import SummaryService, utc_now
from bot.core.taste import TasteService
from storage.engine import make_engine
from storage.lanes import SqlRequestLanes
from storage.migrations import upgrade
from storage.repository import SqlStore

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.clients.arxiv import ArxivClient
    from bot.clients.llm import OpenAIAnswerer, OpenAISummarizer
    from bot.clients.reader import ArxivReader
    from bot.core.answers import AnswerService
    from bot.core.chat import ChatBot
    from bot.core.excerpt import Excerpt
    from bot.core.fulltext import Figure, FullText
    from bot.core.posting import DigestPoster
    from bot.core.readahead import ReadAhead


@dataclasses.dataclass(frozen=True)
class Services:
    summaries: SummaryService
    digests: DigestService
    taste: TasteService  # each channel's signals and learned ranking
    reader: OnDemandReader  # the paper itself (HTML, else PDF, else the abstract); its figures' images too
    store: SqlStore
    schema_version: int
    now: Callable[[], dt.datetime]
    configured_subscriptions: tuple[Subscription, ...]
    make_chat: Callable[[], ChatBot]
    make_answers: Callable[[], AnswerService]

    @functools.cached_property
    def chat(self) -> ChatBot:
        """Built on first use: summarize and digest never import the chat front end."""
        return self.make_chat()

    @property
    def answers(self) -> AnswerService:
        """Questions about papers (paperboy ask, /ask, threads); built on first use, once."""
        return self.make_answers()

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
async def open_services(
    config: Config, *, now: Callable[[], dt.datetime] = utc_now, clients_at_start: bool = False
) -> AsyncIterator[Services]:
    """clients_at_start: build the arXiv and LLM clients now (the long-running bot: importing their SDKs
    later would hold its event loop), not on first use (a command served from the cache never imports them)."""
    settings = config.settings
    configured = tuple(settings.subscription_models())  # from the configuration file, built once
    engine = make_engine(settings.storage.url)
    try:
        schema_version = await _upgrade(engine, settings.storage.url)
        store = SqlStore(engine)
        lanes = SqlRequestLanes(engine)  # arXiv's interval holds across every process on this database
        async with (
            OnDemandArxiv(lambda: _arxiv_client(settings.arxiv, lanes)) as arxiv,
            OnDemandReader(lambda: _reader(settings.reader, store, lanes)) as reader,
        ):
            summarizer, answerer = None, None
            if config.llm_configured:
                summarizer = OnDemandSummarizer(lambda: _llm_client(config), model=settings.llm.model)
                answerer = OnDemandAnswerer(lambda: _answer_client(config), model=settings.llm.model)
            if clients_at_start:
                arxiv.built()
                reader.built()
                for client in (summarizer, answerer):
                    if client is not None:
                        client.built()
            try:
                summaries = SummaryService(
                    source=arxiv,
                    store=store,
                    summarizer=summarizer,
                    reader=StoredFirst(store, reader),
                    summary_source=settings.summary.source,
                    daily_token_budget=settings.llm.daily_token_budget,
                    max_concurrency=settings.llm.max_concurrency,
                    cache_hours=settings.arxiv.cache_hours,
                    max_input_tokens=settings.reader.max_input_tokens,
                    now=now,
                )
                taste = _taste(config, store, now)
                digests = DigestService(
                    source=arxiv,
                    store=store,
                    summaries=summaries,
                    search_limit=settings.digest.search_limit,
                    now=now,
                    taste=taste,
                )

                @functools.cache
                def make_answers() -> AnswerService:
                    from bot.clients.retrieval import Bm25Retriever
                    from bot.core.answers import AnswerService

                    return AnswerService(
                        reader=StoredFirst(store, reader),
                        answerer=answerer,
                        retriever=Bm25Retriever(),
                        cache=store,
                        store=store,  # questions spend llm.daily_token_budget with the summaries
                        daily_token_budget=settings.llm.daily_token_budget,
                        max_input_tokens=settings.reader.max_input_tokens,
                        max_concurrency=settings.llm.max_concurrency,
                        now=now,
                    )

                def make_chat() -> ChatBot:
                    from bot.core.chat import ChatBot, ChatLimits, DigestDefaults

                    return ChatBot(
                        summaries=summaries,
                        digests=digests,
                        subscriptions=configured,
                        book=store,
                        language=settings.summary.language,
                        max_papers_per_message=settings.chat.max_papers_per_message,
                        digest_defaults=DigestDefaults(
                            max_papers=settings.digest.max_papers, days=settings.digest.days
                        ),
                        limits=ChatLimits(
                            papers_per_user_per_minute=settings.chat.max_papers_per_user_per_minute,
                            papers_per_channel_per_minute=settings.chat.max_papers_per_channel_per_minute,
                            commands_per_user_per_minute=settings.chat.max_commands_per_user_per_minute,
                            subscriptions_per_channel=settings.chat.max_subscriptions_per_channel,
                            questions_per_thread_per_hour=settings.chat.questions_per_thread_per_hour,
                        ),
                        answers=make_answers(),
                        taste=taste,
                        threads=store,
                        history_turns=settings.chat.history_turns,
                        now=now,
                    )

                yield Services(
                    summaries=summaries,
                    digests=digests,
                    taste=taste,
                    reader=reader,
                    store=store,
                    schema_version=schema_version,
                    now=now,
                    configured_subscriptions=configured,
                    make_chat=make_chat,
                    make_answers=make_answers,
                )
            finally:
                for client in (summarizer, answerer):
                    if client is not None:
                        await client.aclose()
    finally:
        await engine.dispose()


class _Closable(Protocol):
    async def aclose(self) -> None: ...


_Client = TypeVar("_Client", bound=_Closable)


class _OnFirstUse(Generic[_Client]):
    """A client built when first used: a command served from the cache never imports its SDK (aiohttp and
    arxiv's parser, or openai), which would be most of its start-up time."""

    def __init__(self, build: Callable[[], _Client]) -> None:
        self._build = build
        self._client: _Client | None = None

    def built(self) -> _Client:
        if self._client is None:
            self._client = self._build()
        return self._client

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class OnDemandArxiv(_OnFirstUse["ArxivClient"]):
    """arXiv's export API, a PaperSource."""

    async def fetch(self, refs: Sequence[ArxivRef]) -> dict[ArxivRef, Paper]:
        return await self.built().fetch(refs)

    async def search(self, query: str, start: dt.datetime, end: dt.datetime, *, limit: int) -> list[Paper]:
        return await self.built().search(query, start, end, limit=limit)


class OnDemandReader(_OnFirstUse["ArxivReader"]):
    """arxiv.org's HTML renderings and PDFs, a PaperReader; and a FigureImages (PDF crops), for the platforms."""

    async def read(self, paper: Paper) -> FullText:
        return await self.built().read(paper)

    async def figure_png(self, paper: Paper, figure: Figure) -> bytes | None:
        return await self.built().figure_png(paper, figure)

    async def figure_pngs(self, paper: Paper, figures: Sequence[Figure]) -> list[bytes | None]:
        return await self.built().figure_pngs(paper, figures)

    async def image(self, url: str) -> bytes | None:
        return await self.built().image(url)


class OnDemandSummarizer(_OnFirstUse["OpenAISummarizer"]):
    """The LLM, a Summarizer. The cache is asked with `model` and `prompt_version` alone: the client is
    built on the first summary the cache does not hold."""

    def __init__(self, build: Callable[[], OpenAISummarizer], *, model: str) -> None:
        super().__init__(build)
        self.model, self.prompt_version = model, PROMPT_VERSION

    def estimate_tokens(self, paper: Paper, language: str, *, excerpt: Excerpt | None = None) -> int:
        return self.built().estimate_tokens(paper, language, excerpt=excerpt)

    async def summarize(
        self, paper: Paper, language: str, *, excerpt: Excerpt | None = None, retry_note: str | None = None
    ) -> LLMOutput:
        return await self.built().summarize(paper, language, excerpt=excerpt, retry_note=retry_note)


class OnDemandAnswerer(_OnFirstUse["OpenAIAnswerer"]):
    """The LLM, an Answerer; like OnDemandSummarizer, an answer from the cache never builds the client."""

    def __init__(self, build: Callable[[], OpenAIAnswerer], *, model: str) -> None:
        super().__init__(build)
        self.model, self.prompt_version = model, ANSWER_PROMPT_VERSION

    def estimate_tokens(self, question: str, passages: Sequence[Passage], *, history: Sequence[Turn] = ()) -> int:
        return self.built().estimate_tokens(question, passages, history=history)

    async def answer(
        self,
        question: str,
        passages: Sequence[Passage],
        *,
        papers: Sequence[Paper],
        language: str,
        history: Sequence[Turn] = (),
        retry_note: str | None = None,
    ) -> LLMAnswer:
        return await self.built().answer(
            question, passages, papers=papers, language=language, history=history, retry_note=retry_note
        )


class StoredFirst:
    """A PaperReader that serves a text read before straight from the store: a summary served from the cache
    does not build the reader (nor import its HTTP client)."""

    def __init__(self, store: FullTextStore, reader: PaperReader) -> None:
        self._store, self._reader = store, reader

    async def read(self, paper: Paper) -> FullText:
        try:
            stored = await self._store.get_full_text(paper.arxiv_id, paper.version)
        except StorageUnavailable:
            stored = None  # the reader asks the store again, and reads from arxiv.org when it cannot
        return stored or await self._reader.read(paper)


def _arxiv_client(settings: ArxivSettings, lane: RequestLane) -> ArxivClient:
    from bot.clients.arxiv import ArxivClient

    return ArxivClient(
        api_url=settings.api_url,
        min_interval_seconds=settings.min_interval_seconds,
        timeout_seconds=settings.timeout_seconds,
        max_tries=settings.max_tries,
        # Backing off in steps of the polite interval keeps retries at least that far apart.
        backoff_base_seconds=settings.min_interval_seconds,
        lane=lane,
    )


def _reader(settings: ReaderSettings, store: FullTextStore, lane: RequestLane) -> ArxivReader:
    from bot.clients.reader import ArxivReader

    return ArxivReader(
        lane=lane,  # "arxiv.org", shared with every process on this database
        store=store,
        html_url=settings.html_url,
        pdf_url=settings.pdf_url,
        abs_url=settings.abs_url,
        min_interval_seconds=settings.min_interval_seconds,
        timeout_seconds=settings.timeout_seconds,
        max_html_bytes=settings.max_html_bytes,
        max_pdf_bytes=settings.max_pdf_bytes,
        max_pdf_pages=settings.max_pdf_pages,
    )


def _llm_client(config: Config) -> OpenAISummarizer:
    from bot.clients.llm import OpenAISummarizer

    return OpenAISummarizer(**_llm_options(config))


def _answer_client(config: Config) -> OpenAIAnswerer:
    from bot.clients.llm import OpenAIAnswerer

    return OpenAIAnswerer(**_llm_options(config))


def _llm_options(config: Config) -> dict[str, Any]:
    llm, key = config.settings.llm, config.secrets.get("OPENAI_API_KEY")
    return {
        "base_url": llm.base_url,
        # Local servers (Ollama, vLLM, llama.cpp) accept any key; the client insists on one.
        "api_key": key.reveal() if key else "not-needed",
        "model": llm.model,
        "timeout_seconds": llm.timeout_seconds,
        "max_retries": llm.max_retries,
    }


def _taste(config: Config, store: SqlStore, now: Callable[[], dt.datetime]) -> TasteService:
    ranking = config.settings.ranking
    ranker_factory: Callable[[], TasteRanker] = _tfidf_ranker
    if ranking.embedding_model:
        if not config.llm_configured:
            raise ConfigError(
                "ranking.embedding_model needs an endpoint: set llm.base_url, or OPENAI_API_KEY for OpenAI's"
            )
        ranker_factory = functools.partial(_embedding_ranker, config, ranking.embedding_model)
    return TasteService(
        book=store,
        store=store,
        ranker_factory=ranker_factory,
        interest=ranking.interest_reactions,
        disinterest=ranking.disinterest_reactions,
        min_signals=ranking.min_signals,
        now=now,
    )


# scikit-learn and SciPy load when a channel first has enough signals to learn from: `paperboy run` idles without
# them (under 150 MB).
def _tfidf_ranker() -> TasteRanker:
    from bot.clients.ranker import TfidfRanker

    return TfidfRanker()


def _embedding_ranker(config: Config, model: str) -> TasteRanker:
    from bot.clients.embeddings import OpenAIEmbeddings
    from bot.clients.ranker import EmbeddingRanker

    return EmbeddingRanker(OpenAIEmbeddings(**{**_llm_options(config), "model": model}), model=model)


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
                figures=services.reader,  # a CC-licensed PDF-only paper's lead figure, uploaded
                show_figures=settings.reader.figures,
                threads=services.store,  # cards posted are recorded: a reply in their thread is a question
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
                figures=services.reader,
                show_figures=settings.reader.figures,
                threads=services.store,
            )
        )
    return platforms


def digest_poster(config: Config, services: Services, publishers: Mapping[str, Publisher]) -> DigestPoster:
    from bot.core.posting import DigestPoster, PostTimes  # `run` and `post` only

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


def read_ahead(config: Config, services: Services, poster: DigestPoster) -> ReadAhead | None:
    """What reads a digest's papers before its time (`run` only), or None when schedule.read_ahead_minutes is 0."""
    from bot.core.readahead import ReadAhead

    minutes = config.settings.schedule.read_ahead_minutes
    if not minutes:
        return None
    return ReadAhead(
        poster=poster, subscriptions=services.subscriptions, lead=dt.timedelta(minutes=minutes), now=services.now
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
