"""The real core wired to the loopback fakes: what a chat platform test talks to.

`chat_stack` gives a ChatBot over a real ArxivClient (FakeArxiv), a real OpenAISummarizer and OpenAIAnswerer
(FakeLLM), a real ArxivReader (FakeArxivSite: the papers of tests/data/papers are read; the corpus's have no page
there, so they are answered from their abstracts), the real TasteService (TfidfRanker) and a real store (the `store`
fixture: SQLite, PostgreSQL too for a test marked both_databases) as the ThreadBook, AnswerCache and TasteBook, as
`paperboy run` wires them. Platforms get `chat_stack.store` as their `threads`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import pytest

from bot.clients.arxiv import ArxivClient
from bot.clients.llm import OpenAIAnswerer, OpenAISummarizer
from bot.clients.ranker import TfidfRanker
from bot.clients.reader import ArxivReader
from bot.clients.retrieval import Bm25Retriever
from bot.core.answers import AnswerService
from bot.core.chat import ChatBot, ChatLimits, DigestDefaults
from bot.core.digest import DigestService
from bot.core.models import Subscription
from bot.core.ports import PaperReader
from bot.core.summaries import SummaryService
from bot.core.taste import TasteService
from storage.lanes import MemoryRequestLanes

# The corpus papers were submitted on 2025-05-28 before 14:00 US Eastern, so arXiv announced them at 20:00 ET
# that day; "now" is the next morning, so /digest (arXiv's latest announcement) finds them.
CORPUS_NOW = dt.datetime(2025, 5, 29, 6, 0, tzinfo=dt.UTC)
# What the fake LLM answers are checked against is read once; the budget is never the limit in these tests.
BUDGET = 10**9
DEFAULT_LIMITS = ChatLimits()


@dataclasses.dataclass
class ChatStack:
    chat: ChatBot
    store: object  # storage.repository.SqlStore: also the EventLog, SubscriptionBook, ThreadBook and TasteBook
    arxiv: object  # tests.fakes.arxiv_server.FakeArxiv
    llm: object  # tests.fakes.llm_server.FakeLLM
    summaries: SummaryService
    answers: AnswerService | None = None
    taste: TasteService | None = None
    site: object = None  # tests.fakes.arxiv_site.FakeArxivSite
    # The clients, for a test that builds a second ChatBot on them (a restart, another replica): build_stack(...)
    clients: dict[str, object] = dataclasses.field(default_factory=dict)


def build_chat(**options) -> tuple[ChatBot, SummaryService]:
    """The chat as wiring builds it (build_stack's options); questions are answered (from the abstract without a
    `reader`)."""
    chat, summaries, _, _ = build_stack(**options)
    return chat, summaries


def build_stack(
    *,
    arxiv_client: ArxivClient,
    summarizer: OpenAISummarizer | None,
    store,
    subscriptions: Sequence[Subscription] = (),
    answerer: OpenAIAnswerer | None = None,
    reader: PaperReader | None = None,
    limits: ChatLimits = DEFAULT_LIMITS,
    history_turns: int = 6,
    now=lambda: CORPUS_NOW,
) -> tuple[ChatBot, SummaryService, AnswerService, TasteService]:
    summaries = SummaryService(
        source=arxiv_client,
        store=store,
        summarizer=summarizer,
        daily_token_budget=BUDGET,
        max_concurrency=8,
        cache_hours=24,
        now=now,
    )
    taste = TasteService(book=store, store=store, ranker_factory=TfidfRanker, now=now)
    digests = DigestService(
        source=arxiv_client, store=store, summaries=summaries, search_limit=100, now=now, taste=taste
    )
    answers = AnswerService(
        reader=reader, answerer=answerer, retriever=Bm25Retriever(), cache=store, store=store,
        daily_token_budget=BUDGET, now=now,
    )  # fmt: skip
    chat = ChatBot(
        summaries=summaries,
        digests=digests,
        subscriptions=subscriptions,
        book=store,
        language="en",
        max_papers_per_message=5,
        digest_defaults=DigestDefaults(max_papers=5, days=1),
        limits=limits,
        answers=answers,
        taste=taste,
        threads=store,
        history_turns=history_turns,
        now=now,
    )
    return chat, summaries, answers, taste


def llm_options(fake_llm) -> dict[str, object]:
    return {"base_url": fake_llm.base_url, "api_key": "sk-test-stack-000000000000", "model": "fake-model",
            "timeout_seconds": 30, "max_retries": 0}  # fmt: skip


@pytest.fixture
def summarizer_for(fake_llm):
    # Built outside the event loop, as at start-up (the client's imports and SSL context take ~0.1 s).
    return OpenAISummarizer(**llm_options(fake_llm))


@pytest.fixture
def answerer_for(fake_llm):
    return OpenAIAnswerer(**llm_options(fake_llm))


@pytest.fixture
async def chat_stack(fake_arxiv, fake_llm, fake_arxiv_site, store, summarizer_for, answerer_for):
    """A ChatBot on the real clients and store; the fakes are reachable as .arxiv, .llm and .site."""
    async with (
        ArxivClient(
            api_url=fake_arxiv.api_url, min_interval_seconds=0.01, max_tries=2, backoff_base_seconds=0.01
        ) as arxiv_client,
        ArxivReader(
            lane=MemoryRequestLanes(), store=store, html_url=fake_arxiv_site.html_url,
            pdf_url=fake_arxiv_site.pdf_url, abs_url=fake_arxiv_site.abs_url, min_interval_seconds=0.0,
        ) as reader,
    ):  # fmt: skip
        chat, summaries, answers, taste = build_stack(
            arxiv_client=arxiv_client, summarizer=summarizer_for, store=store, answerer=answerer_for, reader=reader
        )
        clients = {"arxiv_client": arxiv_client, "summarizer": summarizer_for, "answerer": answerer_for,
                   "reader": reader, "store": store}  # fmt: skip
        yield ChatStack(chat=chat, store=store, arxiv=fake_arxiv, llm=fake_llm, summaries=summaries,
                        answers=answers, taste=taste, site=fake_arxiv_site, clients=clients)  # fmt: skip
        await summarizer_for.aclose()
        await answerer_for.aclose()
