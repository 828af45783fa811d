"""Get-or-create a summary: cache -> arXiv -> LLM (within the daily budget) -> store.

Extractive summaries stand in when there is no LLM, the budget is spent, or the LLM failed;
they are never stored as final, so the paper gets a proper summary later.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence

from bot.core.errors import ArxivUnavailable, BadQuery, LLMUnavailable, PaperNotFound, SummarizerFailed
from bot.core.extractive import extractive_summary
from bot.core.models import ArxivRef, InputError, Paper, SummarizedPaper, Summary, SummaryBatch
from bot.core.ports import PaperSource, Progress, Store, Summarizer

log = logging.getLogger(__name__)

NO_LLM = "no LLM configured"
OVER_BUDGET = "the daily token budget is spent"
LLM_FAILED = "the LLM failed or was unreachable"

SummaryKey = tuple[str, int, str, str, str]
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


class SummaryService:
    def __init__(
        self,
        *,
        # where papers and summaries come from
        source: PaperSource,
        store: Store,
        summarizer: Summarizer | None,
        # limits
        daily_token_budget: int,
        max_concurrency: int,
        cache_hours: float,
        # time, injectable for tests
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._source, self._store, self._summarizer = source, store, summarizer
        self._budget = daily_token_budget
        self._llm_slots = asyncio.Semaphore(max_concurrency)
        self._cache_age = dt.timedelta(hours=cache_hours)
        self._now = now
        self._in_flight: dict[SummaryKey, asyncio.Future[Summary]] = {}
        self._breaker = CircuitBreaker(threshold=3, cooldown=dt.timedelta(minutes=2), now=now)
        self._llm_down_note = LLM_FAILED  # why the breaker is open, for the cards it answers
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
        self, refs: Sequence[ArxivRef], *, language: str, progress: Progress | None = None
    ) -> SummaryBatch:
        papers, errors = await self.fetch_papers(refs)
        found = [papers[ref] for ref in dict.fromkeys(refs) if ref in papers]
        summarized = await self.summarize_papers(found, language=language, progress=progress)
        return SummaryBatch(papers=tuple(summarized), errors=tuple(errors))

    async def summarize_papers(
        self, papers: Sequence[Paper], *, language: str, progress: Progress | None = None
    ) -> list[SummarizedPaper]:
        """Summaries for all papers, concurrently (the LLM slots bound it), in the order given."""
        total = len(papers)
        step = max(1, total // 10)  # about ten progress notes, whatever the size
        done = 0

        async def one(paper: Paper) -> SummarizedPaper:
            nonlocal done
            summary = await self.summary_for(paper, language=language)
            done += 1
            if progress is not None and total > 1 and (done % step == 0 or done == total):
                await progress(f"Summarized {done}/{total} papers")
            return SummarizedPaper(paper, summary)

        return list(await asyncio.gather(*(one(paper) for paper in papers)))

    async def summary_for(self, paper: Paper, *, language: str) -> Summary:
        if self._summarizer is None:
            return extractive_summary(paper, language=language, reason=NO_LLM)
        key = (paper.arxiv_id, paper.version, self._summarizer.model, self._summarizer.prompt_version, language)
        # Everyone asking for the same summary at once shares one cache lookup and at most one LLM call.
        pending = self._in_flight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._cached_or_new(self._summarizer, paper, language))
            self._in_flight[key] = pending
            pending.add_done_callback(lambda _: self._in_flight.pop(key, None))
        return await asyncio.shield(pending)

    async def _cached_or_new(self, summarizer: Summarizer, paper: Paper, language: str) -> Summary:
        cached = await self._store.get_summary(
            paper.arxiv_id,
            paper.version,
            model=summarizer.model,
            prompt_version=summarizer.prompt_version,
            language=language,
        )
        return cached or await self._summarize_with_llm(summarizer, paper, language)

    async def _summarize_with_llm(self, summarizer: Summarizer, paper: Paper, language: str) -> Summary:
        if self._breaker.is_open:  # do not queue for a slot behind calls to an LLM that is down
            return self._llm_is_down(paper, language)
        async with self._llm_slots:
            if self._breaker.is_open:
                return self._llm_is_down(paper, language)
            day = self._now().date()
            estimate = summarizer.estimate_tokens(paper, language)
            if not await self._store.reserve_tokens(day, estimate, budget=self._budget):
                log.warning("daily token budget of %d spent; extractive summary for %s", self._budget, paper.arxiv_id)
                return extractive_summary(paper, language=language, reason=OVER_BUDGET)
            if not self._breaker.admit():  # it opened while the reservation was made
                await self._store.adjust_tokens(day, -estimate)
                return self._llm_is_down(paper, language)
            try:
                output = await summarizer.summarize(paper, language)
            except SummarizerFailed as exc:
                return await self._llm_failed(exc, paper, language, day=day, estimate=estimate)
            except BaseException:
                self._breaker.abandon()
                raise
            self._breaker.record(service_failed=False)
            await self._store.adjust_tokens(day, output.tokens - estimate)
        await self._store.save_summary(paper, output.summary)
        return output.summary

    def _llm_is_down(self, paper: Paper, language: str) -> Summary:
        return extractive_summary(paper, language=language, reason=self._llm_down_note)

    async def _llm_failed(
        self, exc: SummarizerFailed, paper: Paper, language: str, *, day: dt.date, estimate: int
    ) -> Summary:
        # Only the service failing counts toward the breaker: one paper's unusable answer says it is up.
        # Recorded before anything awaits: whoever waits for this slot sees it.
        self._breaker.record(service_failed=isinstance(exc, LLMUnavailable))
        reason = LLM_FAILED
        if isinstance(exc, LLMUnavailable):
            reason = self._llm_down_note = exc.note or LLM_FAILED
        log.warning("LLM summary failed for %s: %s", paper.arxiv_id, exc)
        _remember(self.llm_errors, str(exc))
        await self._store.adjust_tokens(day, exc.tokens - estimate)  # failed attempts cost too
        return extractive_summary(paper, language=language, reason=reason)


def _remember(messages: list[str], message: str, keep: int = 20) -> None:
    # Bounded: a long-running bot keeps only the latest few (the CLI reports them; chat shows the footer).
    if message not in messages:
        messages.append(message)
        del messages[:-keep]


async def report_progress(progress: Progress | None, message: str) -> None:
    if progress is not None:
        await progress(message)
