"""Get-or-create a summary: cache -> arXiv -> the paper itself -> LLM (within the daily budget) -> check -> store.

With source "full" the paper is read (bot.core.ports.PaperReader: its HTML, else its PDF, else the abstract alone)
and the LLM is given an excerpt of it (bot.core.excerpt); what it was written from (html, pdf, abstract) is part of
the summary's cache key. The paper is read, for its figures and licence, whether or not an LLM is configured.
When the day's budget cannot cover the full text, the summary is written from the abstract.

Every takeaway is checked against the paper (bot.core.faithfulness): when some do not stand on their quotes, the
LLM is asked once more, then those still unsupported are dropped; fewer than three left, or a tl;dr with a number
the paper does not give, and the summary is extractive.

Extractive summaries stand in when there is no LLM, the budget is spent, the LLM failed or its summary did not
stand; they are never stored as final, so the paper gets a proper summary later.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from bot.core.errors import ArxivUnavailable, BadQuery, LLMUnavailable, PaperNotFound, SummarizerFailed
from bot.core.excerpt import Excerpt, select_excerpt
from bot.core.extractive import extractive_summary
from bot.core.faithfulness import Checked, check_summary
from bot.core.fulltext import FullText
from bot.core.models import (
    ArxivRef,
    InputError,
    LLMOutput,
    Paper,
    SourceKind,
    SummarizedPaper,
    Summary,
    SummaryBatch,
    SummarySource,
)
from bot.core.ports import PaperReader, PaperSource, Progress, Store, Summarizer

log = logging.getLogger(__name__)

NO_LLM = "no LLM configured"
OVER_BUDGET = "the daily token budget is spent"
LLM_FAILED = "the LLM failed or was unreachable"
UNSUPPORTED = "the LLM's summary did not stand on the paper's text"

SummaryKey = tuple[str, int, str, str, str, SummarySource]
NOT_KNOWN_LATEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class CircuitBreaker:
    """After `threshold` service failures in a row, refuse calls for `cooldown`, then let one trial call
    through: a dead or hung LLM costs one wait, not 100, and holds no slot others need.

    Concurrent calls count together: eight timeouts from a digest open it for everyone.
    """

    def __init__(self, *, threshold: int, cooldown: dt.timedelta, now: Callable[[], dt.datetime]) -> None:
        self._threshold, self._cooldown, self._now = threshold, cooldown, now
        self._failures = 0
        self._open_until: dt.datetime | None = None
        self._trial_running = False

    @property
    def is_open(self) -> bool:
        """Calls are refused: it is cooling down, or a trial call is deciding."""
        return self._open_until is not None and (self._trial_running or self._now() < self._open_until)

    def admit(self) -> bool:
        """Whether a call may go ahead; after the cooldown the first one admitted is the trial."""
        if self.is_open:
            return False
        self._trial_running = self._open_until is not None
        return True

    def record(self, *, service_failed: bool) -> None:
        self._trial_running = False
        if not service_failed:
            self._failures, self._open_until = 0, None
            return
        self._failures += 1
        if self._failures >= self._threshold:
            self._open_until = self._now() + self._cooldown

    def abandon(self) -> None:
        """A call ended without a verdict (cancelled, or a bug): the next call may be the trial."""
        self._trial_running = False


class _Costed(Protocol):
    @property
    def tokens(self) -> int: ...


Output = TypeVar("Output", bound=_Costed)


@dataclass(frozen=True)
class LLMFailed:
    """Why a call to the LLM gave nothing: the note for what is shown instead, and the error (None when the
    breaker refused the call)."""

    reason: str
    error: SummarizerFailed | None = None


class MeteredLLM:
    """Calls to the LLM, each reserved from the day's token budget beforehand: refused while the breaker is open,
    and settled afterwards with what the call really cost (a failed one too)."""

    def __init__(self, store: Store, *, now: Callable[[], dt.datetime]) -> None:
        self._store = store
        self._breaker = CircuitBreaker(threshold=3, cooldown=dt.timedelta(minutes=2), now=now)
        self.down_note = LLM_FAILED  # why the breaker is open, for what is shown instead meanwhile

    @property
    def is_open(self) -> bool:
        return self._breaker.is_open

    async def call(self, run: Callable[[], Awaitable[Output]], *, day: dt.date, estimate: int) -> Output | LLMFailed:
        """`run()`'s output, its `estimate` (already reserved) corrected to its real cost; or why there is none."""
        if not self._breaker.admit():  # it opened while the reservation was made
            await self._store.adjust_tokens(day, -estimate)
            return LLMFailed(self.down_note)
        try:
            output = await run()
        except SummarizerFailed as exc:
            # Only the service failing counts toward the breaker: one unusable answer says it is up.
            # Recorded before anything awaits: whoever waits for this slot sees it.
            self._breaker.record(service_failed=isinstance(exc, LLMUnavailable))
            reason = LLM_FAILED
            if isinstance(exc, LLMUnavailable):
                reason = self.down_note = exc.note or LLM_FAILED
            await self._store.adjust_tokens(day, exc.tokens - estimate)  # failed attempts cost too
            return LLMFailed(reason, exc)
        except BaseException:
            self._breaker.abandon()
            raise
        self._breaker.record(service_failed=False)
        await self._store.adjust_tokens(day, output.tokens - estimate)
        return output


class SummaryService:
    def __init__(
        self,
        *,
        # where papers and summaries come from
        source: PaperSource,
        store: Store,
        summarizer: Summarizer | None,
        reader: PaperReader | None = None,  # None: summaries are written from the abstract
        summary_source: SummarySource = "full",
        # limits
        daily_token_budget: int,
        max_concurrency: int,
        cache_hours: float,
        max_input_tokens: int = 12_000,  # the most paper text one summary sends to the LLM
        # time, injectable for tests
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._source, self._store, self._summarizer, self._reader = source, store, summarizer, reader
        self._summary_source: SummarySource = summary_source
        self._budget = daily_token_budget
        self._max_input_tokens = max_input_tokens
        self._llm_slots = asyncio.Semaphore(max_concurrency)
        self._cache_age = dt.timedelta(hours=cache_hours)
        self._now = now
        self._in_flight: dict[SummaryKey, asyncio.Future[SummarizedPaper]] = {}
        self._llm = MeteredLLM(store, now=now)
        # What went wrong with the LLM, for the CLI's one-line report; chat users see the card's footer.
        self.llm_errors: list[str] = []

    async def fetch_papers(self, refs: Sequence[ArxivRef]) -> tuple[dict[ArxivRef, Paper], list[InputError]]:
        """Papers from the cache, the rest from arXiv in one batch; an error per ref that failed."""
        papers = await self._store.get_papers(refs, fresh_since=self._now() - self._cache_age)
        missing = [ref for ref in dict.fromkeys(refs) if ref not in papers]
        errors: list[InputError] = []
        if missing:
            try:
                fetched = await self._source.fetch(missing)
            except (ArxivUnavailable, BadQuery) as exc:
                return papers, [InputError(ref.versioned, str(exc)) for ref in missing]
            # fetched_at says "this was the newest version then": only an unversioned lookup shows that.
            latest = {fetched[ref].ref: fetched[ref] for ref in fetched if ref.version is None}
            pinned = [paper for ref, paper in fetched.items() if ref.version is not None and paper.ref not in latest]
            await self._store.save_papers(list(latest.values()), fetched_at=self._now())
            await self._store.save_papers(pinned, fetched_at=NOT_KNOWN_LATEST)
            papers.update(fetched)
            # No negative cache: a paper missing now may be announced (or arXiv recover) later.
            errors = [
                InputError(ref.versioned, str(PaperNotFound(ref.versioned))) for ref in missing if ref not in fetched
            ]
        return papers, errors

    async def summarize_refs(
        self,
        refs: Sequence[ArxivRef],
        *,
        language: str,
        source: SummarySource | None = None,
        progress: Progress | None = None,
    ) -> SummaryBatch:
        papers, errors = await self.fetch_papers(refs)
        found = [papers[ref] for ref in dict.fromkeys(refs) if ref in papers]
        summarized = await self.summarize_papers(found, language=language, source=source, progress=progress)
        return SummaryBatch(papers=tuple(summarized), errors=tuple(errors))

    async def summarize_papers(
        self,
        papers: Sequence[Paper],
        *,
        language: str,
        source: SummarySource | None = None,
        progress: Progress | None = None,
    ) -> list[SummarizedPaper]:
        """Summaries for all papers, concurrently (the LLM slots bound it), in the order given. `source`: what
        they are written from ("full": the paper itself; None: the configured summary.source)."""
        total = len(papers)
        step = max(1, total // 10)  # about ten progress notes, whatever the size
        done = 0

        async def one(paper: Paper) -> SummarizedPaper:
            nonlocal done
            summarized = await self.summarized(paper, language=language, source=source)
            done += 1
            if progress is not None and total > 1 and (done % step == 0 or done == total):
                await progress(f"Summarized {done}/{total} papers")
            return summarized

        return list(await asyncio.gather(*(one(paper) for paper in papers)))

    async def summary_for(self, paper: Paper, *, language: str, source: SummarySource | None = None) -> Summary:
        return (await self.summarized(paper, language=language, source=source)).summary

    async def summarized(self, paper: Paper, *, language: str, source: SummarySource | None = None) -> SummarizedPaper:
        """The paper with its summary and, when it is read ("full"), the text the reader found."""
        choice = self._choice(source)
        model = self._summarizer.model if self._summarizer is not None else ""
        prompt_version = self._summarizer.prompt_version if self._summarizer is not None else ""
        key = (paper.arxiv_id, paper.version, model, prompt_version, language, choice)
        # Everyone asking for the same summary at once shares one reading, one cache lookup and at most one LLM call.
        pending = self._in_flight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._read_and_summarize(paper, language, choice))
            self._in_flight[key] = pending
            pending.add_done_callback(lambda _: self._in_flight.pop(key, None))
        return await asyncio.shield(pending)

    def _choice(self, source: SummarySource | None) -> SummarySource:
        return "abstract" if self._reader is None else (source or self._summary_source)

    async def _read_and_summarize(self, paper: Paper, language: str, choice: SummarySource) -> SummarizedPaper:
        reading = await self._reader.read(paper) if choice == "full" and self._reader is not None else None
        text = reading or FullText.abstract_only(paper)
        summarizer = self._summarizer
        if summarizer is None:
            return SummarizedPaper(paper, extractive_summary(paper, language=language, reason=NO_LLM), reading)
        summary = await self._cached(summarizer, paper, language, text.kind)
        if summary is None:
            summary = await self._summarize_with_llm(summarizer, paper, language, text)
        return SummarizedPaper(paper, summary, reading)

    async def _cached(self, summarizer: Summarizer, paper: Paper, language: str, source: SourceKind) -> Summary | None:
        return await self._store.get_summary(
            paper.arxiv_id,
            paper.version,
            model=summarizer.model,
            prompt_version=summarizer.prompt_version,
            language=language,
            source=source,
        )

    async def _summarize_with_llm(self, summarizer: Summarizer, paper: Paper, language: str, text: FullText) -> Summary:
        if self._llm.is_open:  # do not queue for a slot behind calls to an LLM that is down
            return self._llm_is_down(paper, language)
        async with self._llm_slots:
            if self._llm.is_open:
                return self._llm_is_down(paper, language)
            day = self._now().date()
            excerpt = select_excerpt(paper, text, max_tokens=self._max_input_tokens)
            estimate = summarizer.estimate_tokens(paper, language, excerpt=excerpt)
            reserved = await self._store.reserve_tokens(day, estimate, budget=self._budget)
            if not reserved and text.kind != "abstract":
                # The full text costs more than today's budget has left: the abstract may still fit.
                cached = await self._cached(summarizer, paper, language, "abstract")
                if cached is not None:
                    return cached
                excerpt = select_excerpt(paper, FullText.abstract_only(paper), max_tokens=self._max_input_tokens)
                estimate = summarizer.estimate_tokens(paper, language, excerpt=excerpt)
                reserved = await self._store.reserve_tokens(day, estimate, budget=self._budget)
                if reserved:
                    log.info("arXiv:%s: the full text is over today's budget; the abstract is not", paper.arxiv_id)
            if not reserved:
                log.warning("daily token budget of %d spent; extractive summary for %s", self._budget, paper.arxiv_id)
                return extractive_summary(paper, language=language, reason=OVER_BUDGET)
            answer = await self._call(summarizer, paper, language, excerpt, day=day, estimate=estimate)
            if isinstance(answer, Summary):
                return answer  # extractive: the LLM failed or is down
            # In a thread: a long paper's passages take a few hundred milliseconds to normalise.
            checked = await asyncio.to_thread(check_summary, answer.summary, answer.citations, excerpt)
            if not checked.flawless and await self._store.reserve_tokens(day, estimate, budget=self._budget):
                # Once more for this paper, saying what failed; the better of the two answers is kept.
                retry = await self._call(
                    summarizer, paper, language, excerpt, day=day, estimate=estimate, retry_note=checked.retry_note()
                )
                if isinstance(retry, LLMOutput):
                    second = await asyncio.to_thread(check_summary, retry.summary, retry.citations, excerpt)
                    if _better(second, than=checked):
                        checked = second
        return await self._accepted(checked, paper, language)

    async def _call(
        self,
        summarizer: Summarizer,
        paper: Paper,
        language: str,
        excerpt: Excerpt,
        *,
        day: dt.date,
        estimate: int,
        retry_note: str | None = None,
    ) -> LLMOutput | Summary:
        """One summary from the LLM (its reservation made), or the extractive one when the LLM fails or is down."""
        output = await self._llm.call(
            lambda: summarizer.summarize(paper, language, excerpt=excerpt, retry_note=retry_note),
            day=day,
            estimate=estimate,
        )
        if not isinstance(output, LLMFailed):
            return output
        if output.error is not None:
            log.warning("LLM summary failed for %s: %s", paper.arxiv_id, output.error)
            if retry_note is None:  # a failed retry is not the command's failure: the first answer stands on its own
                _remember(self.llm_errors, str(output.error))
        return extractive_summary(paper, language=language, reason=output.reason)

    async def _accepted(self, checked: Checked, paper: Paper, language: str) -> Summary:
        """The checked summary, stored, when enough of it stands; else the extractive one, saying why."""
        total = checked.kept + len(checked.dropped)
        log.info(
            "arXiv:%s: %d of %d takeaways kept, %d dropped (%s)%s",
            paper.arxiv_id,
            checked.kept,
            total,
            len(checked.dropped),
            checked.reasons(),
            f"; the tl;dr {checked.tldr_problem}" if checked.tldr_problem else "",
        )
        if not checked.usable:
            return extractive_summary(paper, language=language, reason=UNSUPPORTED)
        await self._store.save_summary(paper, checked.summary)
        return checked.summary

    def _llm_is_down(self, paper: Paper, language: str) -> Summary:
        return extractive_summary(paper, language=language, reason=self._llm.down_note)


def _better(answer: Checked, *, than: Checked) -> bool:
    """The retry's answer is kept unless the first one stood better (usable where it is not, or more kept)."""
    return (answer.usable, answer.kept) >= (than.usable, than.kept)


def _remember(messages: list[str], message: str, keep: int = 20) -> None:
    # Bounded: a long-running bot keeps only the latest few (the CLI reports them; chat shows the footer).
    if message not in messages:
        messages.append(message)
        del messages[:-keep]


async def report_progress(progress: Progress | None, message: str) -> None:
    if progress is not None:
        await progress(message)
