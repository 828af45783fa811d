"""What the core needs from the world. bot.clients and storage implement these; bot.wiring plugs them in."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import NamedTuple, Protocol

from bot.core.excerpt import Excerpt, Passage
from bot.core.fulltext import Figure, FullText
from bot.core.models import (
    ArxivRef,
    Digest,
    DigestRun,
    LLMOutput,
    Paper,
    SourceKind,
    Subscription,
    Summary,
    SummaryBatch,
)
from bot.core.questions import Answer, LLMAnswer, PostedCard, ThreadPaper, ThreadPlace, Turn
from bot.core.signals import Signal, StoredTaste


class PaperSource(Protocol):
    async def fetch(self, refs: Sequence[ArxivRef]) -> dict[ArxivRef, Paper]:
        """Papers for these refs, keyed by the ref as asked; ids arXiv does not know are absent.

        Raises ArxivUnavailable (after retries) or BadQuery.
        """
        ...

    async def search(self, query: str, start: dt.datetime, end: dt.datetime, *, limit: int) -> list[Paper]:
        """Papers matching an arXiv query, first submitted in [start, end], newest first, at most `limit`."""
        ...


class Summarizer(Protocol):
    model: str
    prompt_version: str  # part of the cache key: a new prompt means new summaries

    async def summarize(
        self, paper: Paper, language: str, *, excerpt: Excerpt | None = None, retry_note: str | None = None
    ) -> LLMOutput:
        """A validated, sanitized summary of `excerpt` (None: the abstract alone), each takeaway with what it cites
        (unchecked: bot.core.faithfulness checks it). `retry_note` says what failed that check in the previous
        answer. Raises SummarizerFailed after retries."""
        ...

    def estimate_tokens(self, paper: Paper, language: str, *, excerpt: Excerpt | None = None) -> int:
        """An upper estimate of what summarize() will cost, reserved from the budget beforehand."""
        ...


class Store(Protocol):
    async def get_papers(self, refs: Sequence[ArxivRef], *, fresh_since: dt.datetime) -> dict[ArxivRef, Paper]:
        """Cached papers. A versioned ref matches exactly; an unversioned ref matches the newest
        version stored, if it was fetched at or after `fresh_since`."""
        ...

    async def save_papers(self, papers: Sequence[Paper], *, fetched_at: dt.datetime) -> None: ...

    async def get_summary(
        self, arxiv_id: str, version: int, *, model: str, prompt_version: str, language: str, source: SourceKind
    ) -> Summary | None:
        """The cached summary written from `source` (the paper's HTML or PDF, or its abstract), if any."""
        ...

    async def save_summary(self, paper: Paper, summary: Summary) -> None:
        """Cache an LLM summary as final (idempotent on its key)."""
        ...

    async def reserve_tokens(self, day: dt.date, amount: int, *, budget: int) -> bool:
        """Atomically add `amount` to the day's usage if the result stays within `budget`."""
        ...

    async def adjust_tokens(self, day: dt.date, delta: int) -> None:
        """Correct a reservation by the difference between the estimate and the real usage."""
        ...

    async def tokens_used(self, day: dt.date) -> int: ...


class Progress(Protocol):
    async def __call__(self, message: str) -> None: ...


class Responder(Protocol):
    """How a platform answers one chat message or command; it renders, the core decides."""

    async def progress(self, message: str) -> None: ...

    async def answer_progress(self, message: str) -> None:
        """Progress while a question is answered: the answer (or the text saying why there is none) replaces it
        (Slack shows it as a message in the thread; most surfaces as their usual progress)."""
        ...

    async def cards(self, batch: SummaryBatch) -> None: ...

    async def digest(self, digest: Digest) -> None: ...

    async def text(self, message: str) -> None: ...

    async def answer(self, answer: Answer) -> str | None:
        """An answer to a question, with its quotes linked to their paragraphs (in the thread it was asked in).
        Returns the id of the message that carries it when a reply to it, or in its thread, can continue the
        conversation (the core records it in the ThreadBook under the question's place), else None."""
        ...


class EventLog(Protocol):
    """Deduplicates chat deliveries (Slack retries, gateway replays) across restarts and processes."""

    async def claim_event(self, key: str) -> bool:
        """True the first time `key` (e.g. "slack:Ev0123", "discord:msg:123") is claimed, False ever after."""
        ...

    async def forget_events(self, before: dt.datetime) -> int:
        """Drop claims older than `before` (platforms redeliver for minutes, not weeks); returns how many."""
        ...


class SubscriptionBook(Protocol):
    """Subscriptions made from chat (`/digest subscribe`), stored in the database."""

    async def save_subscription(self, subscription: Subscription) -> None:
        """Create or replace the subscription with this name."""
        ...

    async def delete_subscription(self, name: str) -> bool: ...

    async def list_subscriptions(self) -> list[Subscription]: ...


class Publisher(Protocol):
    """Posts a digest to one channel of a platform: a short parent message, then the cards (threaded where
    the platform allows). Used by /digest and by the scheduler alike."""

    async def post_digest(
        self,
        channel: str,
        digest: Digest,
        *,
        already_sent: Sequence[str] = (),
        on_sent: Callable[[str], Awaitable[None]] | None = None,
    ) -> list[str]:
        """Post it; return the platform's ids of the messages sent, in order.

        `already_sent` are the ids an interrupted run posted (the first is the parent): those messages are
        skipped and the rest continue where they stopped. `on_sent` is awaited with each message id as
        soon as the platform accepted it (the scheduler records it).
        Raises PublishError when the channel cannot be posted to (permanent: no retry).
        """
        ...


class RunLedger(Protocol):
    """The database's record of scheduled posts: it, not the scheduler, decides what was posted."""

    async def claim_run(
        self,
        subscription: str,
        channel: str,
        local_date: dt.date,
        *,
        late: bool,
        now: dt.datetime,
        lease_until: dt.datetime,
    ) -> DigestRun | None:
        """Take the run, or None when another process or an earlier run has it. A run that was claimed but
        never started sending, with its lease expired, or one interrupted cleanly, is taken over; the
        previous holder then gets LostClaim from start_sending and the other writes, so it cannot post."""
        ...

    async def start_sending(self, run: DigestRun, *, window_end: dt.datetime, lease_until: dt.datetime) -> None: ...

    async def record_message(self, run: DigestRun, message_id: str, *, lease_until: dt.datetime) -> None: ...

    async def finish_run(self, run: DigestRun, *, state: str, error: str | None = None) -> None: ...

    async def expire_sending(self, now: dt.datetime) -> list[DigestRun]:
        """Runs left 'sending' past their lease (a crash mid-post) become 'ambiguous'; returns them."""
        ...

    async def has_run(self, subscription: str, channel: str, local_date: dt.date) -> bool: ...

    async def last_window_end(self, subscription: str, channel: str, *, before: dt.date) -> dt.datetime | None:
        """Where the previous digest (of an earlier local date) for this channel stopped, if any."""
        ...

    async def posted_paper_ids(self, channel: str) -> set[str]: ...

    async def record_posted_papers(self, channel: str, arxiv_ids: Sequence[str]) -> None: ...

    async def recent_runs(self, limit: int = 50) -> list[DigestRun]: ...


class ChatPlatform(Protocol):
    """A chat platform's connection, started and stopped by `paperboy run`."""

    name: str
    publisher: Publisher  # posts digests to this platform's channels (for /digest and the scheduler)

    async def start(self) -> None:
        """Connect and begin handling events; raise PlatformStartError (actionable message) if it cannot."""
        ...

    async def open_for_posting(self) -> None:
        """Only what posting needs (the Web/REST API), receiving nothing: for `paperboy post` beside a running bot."""
        ...

    async def stop(self) -> None: ...

    def is_connected(self) -> bool: ...


class RequestLane(Protocol):
    """Paces requests to one remote service (a lane: "export.arxiv.org") across every process sharing it."""

    async def wait_turn(self, lane: str, min_interval: float) -> None:
        """Return when this process may send its next request on `lane`; every process sharing the lanes
        gets turns at least `min_interval` seconds apart."""
        ...

    async def hold(self, lane: str, seconds: float) -> None:
        """No turn on `lane`, on any process, for the next `seconds` (a 429's or 503's Retry-After)."""
        ...


class PaperReader(Protocol):
    """Reads a paper itself: arXiv's HTML rendering, else the PDF, else only the abstract."""

    async def read(self, paper: Paper) -> FullText:
        """The paper's full text, fetched once per (id, version) ever (stored), politely paced.

        Never raises for a paper that cannot be read: returns FullText.abstract_only with a note saying why.
        """
        ...


class FullTextStore(Protocol):
    """Full texts read before, by (id, version): a paper is fetched from arxiv.org once, ever."""

    async def get_full_text(self, arxiv_id: str, version: int) -> FullText | None: ...

    async def save_full_text(self, text: FullText) -> None:
        """Only html and pdf texts are stored; an abstract-only stand-in is retried next time."""
        ...


class FigureImages(Protocol):
    """A figure's image as PNG bytes, for a platform that uploads it: a PDF-only paper's figure cropped from
    its page (bot.core.card: only under a CC licence)."""

    async def figure_png(self, paper: Paper, figure: Figure) -> bytes | None:
        """None when it cannot be had (the PDF unreachable, the crop blank or tiny). Never raises."""
        ...


class ThreadBook(Protocol):
    """Which papers each thread is about, and the questions asked there: in the database, so a restart or another
    replica continues a conversation."""

    async def record_cards(self, cards: Sequence[PostedCard]) -> None:
        """Remember posted cards, digest entries and answers under their thread (idempotent)."""
        ...

    async def thread_papers(self, location: str, thread: str) -> list[ThreadPaper]:
        """The papers posted in this thread, by position (one per paper: its first card)."""
        ...

    async def message_papers(self, location: str, message_id: str) -> tuple[ThreadPlace, list[ThreadPaper]] | None:
        """The thread a message of ours was posted in and the papers it carried; None for a message not ours."""
        ...

    async def add_turn(self, place: ThreadPlace, turn: Turn) -> None: ...

    async def recent_turns(self, location: str, thread: str, *, limit: int) -> list[Turn]:
        """The thread's latest `limit` questions and answers, oldest first."""
        ...

    async def questions_since(self, location: str, thread: str, since: dt.datetime) -> int:
        """How many questions were answered in this thread since `since` (the per-thread hourly cap)."""
        ...


class AnswerCache(Protocol):
    """Answers already given, by a key naming the paper and version, the question, the conversation before it,
    the language, the model and the prompt."""

    async def get_answer(self, key: str) -> Answer | None: ...

    async def save_answer(self, key: str, answer: Answer) -> None: ...


class Answerer(Protocol):
    """The LLM, answering a question from numbered passages of one or more papers."""

    model: str
    prompt_version: str  # part of the answer cache's key

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
        """An answer citing passages by their ids (unchecked: bot.core.faithfulness checks it). Passage text is
        data, never instructions. Raises SummarizerFailed (LLMUnavailable when the service failed) after retries."""
        ...

    def estimate_tokens(self, question: str, passages: Sequence[Passage], *, history: Sequence[Turn] = ()) -> int:
        """An upper estimate of what answer() will cost, reserved from the daily budget beforehand."""
        ...


class PassageRetriever(Protocol):
    """Ranks a paper's passages by how well they match a question (BM25). Pure computation: may run in a thread."""

    def closest(self, question: str, passages: Sequence[Passage], *, limit: int) -> list[Passage]:
        """At most `limit` passages, best first; those sharing no word with the question are left out."""
        ...


class TasteBook(Protocol):
    """A channel's signals (reactions, pasted papers, more-like/less-like) and its trained ranker."""

    async def add_signal(self, signal: Signal) -> bool:
        """Record it (replacing the same channel, paper, person and kind); True when it was not there before."""
        ...

    async def remove_signal(self, channel: str, arxiv_id: str, person: str, kind: str) -> bool:
        """Forget it (a reaction removed); True when there was one."""
        ...

    async def channel_signals(self, channel: str) -> list[Signal]: ...

    async def get_taste(self, channel: str) -> StoredTaste | None: ...

    async def save_taste(self, taste: StoredTaste) -> None: ...


class TasteScore(NamedTuple):
    """How a channel's ranker scores one candidate, from its own features (the why line says these, nothing else)."""

    score: float  # higher is more to the channel's taste (comparable within one score() call)
    terms: tuple[str, ...]  # the paper's terms that raised its score most, best first
    like: str | None  # the liked paper it is most similar to (an arXiv id), if any is similar
    similar: int  # how many liked papers it is similar to


class TasteTraits(NamedTuple):
    """What a trained model has learned, for `/digest taste`."""

    terms: tuple[str, ...]  # the terms that raise a paper's score most, best first
    anchors: tuple[tuple[str, str], ...]  # (arXiv id, title) of the liked papers it is anchored on, most typical first


class TasteRanker(Protocol):
    """Learns a channel's taste from papers its people liked and disliked. Pure computation (may run in a thread);
    its model is JSON, so nothing executable is ever read back from the database."""

    def train(self, liked: Sequence[Paper], disliked: Sequence[Paper], background: Sequence[Paper]) -> str:
        """A model (JSON) from the papers liked (+1) and disliked (-1); `background` (other candidates) count as weak
        negatives."""
        ...

    def score(self, model_json: str, papers: Sequence[Paper]) -> list[TasteScore]:
        """One TasteScore per paper, in order. Raises ValueError for a model it cannot read (retrain)."""
        ...

    def describe(self, model_json: str, *, limit: int) -> TasteTraits:
        """At most `limit` top terms and anchor papers. Raises ValueError for a model it cannot read."""
        ...
