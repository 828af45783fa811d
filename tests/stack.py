"""The real core wired to the loopback fakes: what a chat platform test talks to.

`chat_stack` gives a ChatBot over a real ArxivClient (FakeArxiv), a real OpenAISummarizer (FakeLLM)
and a real store (the `store` fixture: SQLite, PostgreSQL too for a test marked both_databases), as `paperboy run`
wires them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import pytest

from bot.clients.arxiv import ArxivClient
from bot.clients.llm import OpenAISummarizer
from bot.core.chat import ChatBot, DigestDefaults
from bot.core.digest import DigestService
from bot.core.models import Subscription
from bot.core.summaries import SummaryService

# The corpus papers were submitted on 2025-05-28 before 14:00 US Eastern, so arXiv announced them at 20:00 ET
# that day; "now" is the next morning, so /digest (arXiv's latest announcement) finds them.
CORPUS_NOW = dt.datetime(2025, 5, 29, 6, 0, tzinfo=dt.UTC)


@dataclasses.dataclass
class ChatStack:
    chat: ChatBot
    store: object  # storage.repository.SqlStore: also the EventLog and SubscriptionBook
    arxiv: object  # tests.fakes.arxiv_server.FakeArxiv
    llm: object  # tests.fakes.llm_server.FakeLLM
    summaries: SummaryService


def build_chat(
    *, arxiv_client: ArxivClient, summarizer: OpenAISummarizer | None, store, subscriptions: Sequence[Subscription] = ()
) -> tuple[ChatBot, SummaryService]:
    summaries = SummaryService(
        source=arxiv_client,
        store=store,
        summarizer=summarizer,
        daily_token_budget=10**9,
        max_concurrency=8,
        cache_hours=24,
        now=lambda: CORPUS_NOW,
    )
    digests = DigestService(
        source=arxiv_client, store=store, summaries=summaries, search_limit=100, now=lambda: CORPUS_NOW
    )
    chat = ChatBot(
        summaries=summaries,
        digests=digests,
        subscriptions=subscriptions,
        book=store,
        language="en",
        max_papers_per_message=5,
        digest_defaults=DigestDefaults(max_papers=5, days=1),
        now=lambda: CORPUS_NOW,
    )
    return chat, summaries


@pytest.fixture
def summarizer_for(fake_llm):
    # Built outside the event loop, as at start-up (the client's imports and SSL context take ~0.1 s).
    return OpenAISummarizer(base_url=fake_llm.base_url, api_key="sk-test-stack-000000000000", model="fake-model",
                            timeout_seconds=30, max_retries=0)  # fmt: skip


@pytest.fixture
async def chat_stack(fake_arxiv, fake_llm, store, summarizer_for):
    """A ChatBot on the real clients and store; the fakes are reachable as .arxiv and .llm."""
    async with ArxivClient(
        api_url=fake_arxiv.api_url, min_interval_seconds=0.01, max_tries=2, backoff_base_seconds=0.01
    ) as arxiv_client:
        chat, summaries = build_chat(arxiv_client=arxiv_client, summarizer=summarizer_for, store=store)
        yield ChatStack(chat=chat, store=store, arxiv=fake_arxiv, llm=fake_llm, summaries=summaries)
        await summarizer_for.aclose()
