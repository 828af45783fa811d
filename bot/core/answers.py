"""Answer a question from a paper's own text: cache -> read the paper -> passages -> LLM (within the daily budget)
-> check every quote and number -> cache.

The LLM is given the whole paper when it fits `max_input_tokens`, else the passages BM25 finds closest to the
question and the thread's last question (bot.core.ports.PassageRetriever), in the paper's order. Across papers
each paper gets its share of the budget and its passages are shown under "N:"-prefixed ids.

Its answer stands only on what the paper says (bot.core.faithfulness): a citation whose quote is not verbatim in
the paper (or is too short to be evidence) is dropped; a number in the answer that none of the kept quotes gives,
or an answer left with no citation, makes the answer unsupported. An unsupported answer is asked once more,
saying what failed, then replaced by "The paper does not say." with the passages closest to the question. Those
passages stand in, too, when no LLM can be asked (none configured, the budget spent, the LLM failing): such
answers are "extractive" and say why. Every citation links to the paragraph by the URL Paperboy built
(Passage.url), never one the LLM wrote; the answer's text is cleaned of links and mentions.

Only what the LLM answered (and the check accepted, or the LLM's own "does not say") is cached. A fallback after
failed checks, an extractive answer, or one read from an abstract standing in for an unreadable paper is not:
asking again later may do better.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.core.excerpt import Excerpt, Passage, approx_tokens, select_excerpt
from bot.core.faithfulness import MIN_QUOTE_CHARS, check_takeaway, find_quote, normalized, numbers_in
from bot.core.fulltext import FullText
from bot.core.models import Citation, Paper, SourceKind
from bot.core.ports import AnswerCache, Answerer, PaperReader, PassageRetriever, Progress, Store
from bot.core.questions import DOES_NOT_SAY, PAPERS_DO_NOT_SAY, Answer, AnswerCitation, LLMAnswer, Turn
from bot.core.sanitize import clean_generated
from bot.core.summaries import NO_LLM, OVER_BUDGET, LLMFailed, MeteredLLM, report_progress, utc_now

log = logging.getLogger(__name__)

UNSUPPORTED = "the LLM's answer did not stand on the paper's text"
READING = "Reading the paper…"
READING_PAPERS = "Reading the papers…"
FINDING = "Finding the passages…"
ASKING = "Asking the model…"

MAX_ANSWER_CHARS = 1500  # an answer is a few sentences; the quotes carry the detail
CLOSEST_SHOWN = 3  # passages shown when there is no answer (at least one per paper across papers)
CLOSEST_CHARS = 200  # of each such passage, its beginning
_WEAKEST_FIRST: tuple[SourceKind, ...] = ("abstract", "pdf", "html")


@dataclass(frozen=True)
class _Paper:
    """One paper as read for a question: its text, and every passage of it under the id the LLM sees."""

    paper: Paper
    text: FullText
    passages: tuple[Passage, ...]
    ranked: tuple[Passage, ...]  # the passages sharing words with the question, best first


@dataclass(frozen=True)
class CheckedAnswer:
    """The LLM's answer after the check: the citations that stand (quote, passage it was found in), the answer's
    text as it would be shown, and what failed."""

    text: str
    kept: tuple[tuple[str, Passage], ...]
    problems: tuple[str, ...]  # what makes it unsupported (empty: it stands)

    @property
    def supported(self) -> bool:
        return not self.problems

    def retry_note(self) -> str:
        """What failed, for the second attempt: in our words, the LLM's own text only as numbers."""
        return "; ".join(self.problems)


def check_answer(answer: LLMAnswer, excerpt: Excerpt) -> CheckedAnswer:
    """Each citation's quote verbatim in one of `excerpt.passages` (the one named first) and long enough to be
    evidence; every number the answer gives in one of the quotes kept."""
    text = clean_generated(answer.text, max_chars=MAX_ANSWER_CHARS)
    kept: list[tuple[str, Passage]] = []
    problems: list[str] = []
    for position, citation in enumerate(answer.citations, 1):
        verdict = check_takeaway("", Citation(citation.quote, citation.passage), excerpt)
        passage = None
        if verdict.evidence is not None:
            passage = find_quote(verdict.evidence.quote, excerpt, near=citation.passage)
        if verdict.evidence is None or passage is None:
            log.info("citation %d dropped: %s", position, verdict.problem or "its quote is not verbatim")
            continue
        kept.append((verdict.evidence.quote, passage))
    if answer.answered:
        if not text:
            problems.append("the answer has no text")
        if not kept:
            problems.append(
                f"no citation quotes a passage verbatim (each quote must be copied exactly from the passage it "
                f"names, at least {MIN_QUOTE_CHARS} characters)"
            )
        quoted = frozenset().union(*(numbers_in(quote) for quote, _ in kept))
        missing = numbers_in(text) - quoted
        if missing:
            problems.append(f"the answer gives {', '.join(sorted(missing))}, which none of its quotes contains")
    return CheckedAnswer(text, tuple(kept), tuple(problems))


def answer_key(
    papers: Sequence[Paper],
    question: str,
    *,
    across: bool,
    history: Sequence[Turn],
    language: str,
    model: str,
    prompt_version: str,
) -> str:
    """The answer cache's key: the papers and versions, the question (normalised), the conversation before it, the
    language, the model and the prompt."""
    parts = {
        "papers": [[paper.arxiv_id, paper.version] for paper in papers],
        "across": across,
        "question": _normalized_question(question),
        "history": [[turn.question, turn.answer] for turn in history],
        "language": language,
        "model": model,
        "prompt": prompt_version,
    }
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _normalized_question(question: str) -> str:
    return " ".join(normalized(question).casefold().rstrip("?!.。？！ ").split())


class AnswerService:
    def __init__(
        self,
        *,
        reader: PaperReader | None,  # None: answers come from the abstract alone
        answerer: Answerer | None,  # None: the closest passages, no answer
        retriever: PassageRetriever,
        cache: AnswerCache,
        store: Store,  # the daily token budget (reserve_tokens/adjust_tokens), shared with summaries
        daily_token_budget: int,
        max_input_tokens: int = 12_000,  # the most paper text one answer sends to the LLM
        max_concurrency: int = 8,
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._reader, self._answerer, self._retriever = reader, answerer, retriever
        self._cache, self._store = cache, store
        self._budget = daily_token_budget
        self._max_input_tokens = max_input_tokens
        self._llm_slots = asyncio.Semaphore(max_concurrency)
        self._now = now
        self._llm = MeteredLLM(store, now=now)

    async def ask(
        self,
        paper: Paper,
        question: str,
        *,
        language: str,
        history: Sequence[Turn] = (),
        progress: Progress | None = None,
    ) -> Answer:
        """An answer from the paper's text (its HTML, else its PDF, else its abstract), with verbatim quotes."""
        return await self._ask([paper], question, across=False, language=language, history=history, progress=progress)

    async def ask_across(
        self,
        papers: Sequence[Paper],
        question: str,
        *,
        language: str,
        history: Sequence[Turn] = (),
        progress: Progress | None = None,
    ) -> Answer:
        """One answer from several papers (a digest's), each citation carrying its paper's id."""
        return await self._ask(papers, question, across=True, language=language, history=history, progress=progress)

    async def _ask(
        self,
        papers: Sequence[Paper],
        question: str,
        *,
        across: bool,
        language: str,
        history: Sequence[Turn],
        progress: Progress | None,
    ) -> Answer:
        if not papers:
            raise ValueError("a question needs at least one paper")
        answerer = self._answerer
        key = None
        if answerer is not None:
            key = answer_key(
                papers,
                question,
                across=across,
                history=history,
                language=language,
                model=answerer.model,
                prompt_version=answerer.prompt_version,
            )
            cached = await self._cache.get_answer(key)
            if cached is not None:
                return dataclasses.replace(cached, cached=True)
        await report_progress(progress, READING_PAPERS if len(papers) > 1 else READING)
        texts = await asyncio.gather(*(self._read(paper) for paper in papers))
        await report_progress(progress, FINDING)
        query = question + (" " + history[-1].question if history else "")
        read = await asyncio.to_thread(self._prepare, papers, texts, query, across)
        asked = _Asked(read, question, across=across, language=language)
        if answerer is None:
            return asked.extractive(NO_LLM)
        result = await self._with_llm(answerer, asked, history, progress)
        if key is not None and result.generator == "llm" and result.note is None and not _stand_in(read):
            await self._cache.save_answer(key, result)
        return result

    async def _read(self, paper: Paper) -> FullText:
        return await self._reader.read(paper) if self._reader is not None else FullText.abstract_only(paper)

    def _prepare(self, papers: Sequence[Paper], texts: Sequence[FullText], query: str, across: bool) -> list[_Paper]:
        """Each paper's passages (prefixed "N:" across papers) and those closest to the question, best first."""
        read = []
        for number, (paper, text) in enumerate(zip(papers, texts, strict=True), 1):
            passages = select_excerpt(paper, text, max_tokens=self._max_input_tokens).passages
            if across:
                passages = tuple(dataclasses.replace(p, id=f"{number}:{p.id}") for p in passages)
            ranked = self._retriever.closest(query, passages, limit=len(passages))
            read.append(_Paper(paper, text, passages, tuple(ranked)))
        return read

    def _shown(self, read: Sequence[_Paper]) -> list[Passage]:
        """What the LLM is given: every passage when they all fit, else each paper's closest within its share of
        the budget, in the paper's order."""
        everything = [p for one in read for p in one.passages]
        if sum(approx_tokens(p.text) for p in everything) <= self._max_input_tokens:
            return everything
        share = self._max_input_tokens // max(len(read), 1)
        shown: list[Passage] = []
        for one in read:
            if sum(approx_tokens(p.text) for p in one.passages) <= share:
                shown += one.passages
                continue
            # Nothing shares a word with the question: the paper from its beginning (the abstract first).
            candidates = one.ranked or one.passages
            chosen: set[str] = set()
            room = share
            for passage in candidates:
                cost = approx_tokens(passage.text)
                if cost <= room:
                    chosen.add(passage.id)
                    room -= cost
            shown += [p for p in one.passages if p.id in chosen]
        return shown

    async def _with_llm(
        self, answerer: Answerer, asked: _Asked, history: Sequence[Turn], progress: Progress | None
    ) -> Answer:
        if self._llm.is_open:  # do not queue for a slot behind calls to an LLM that is down
            return asked.extractive(self._llm.down_note)
        async with self._llm_slots:
            if self._llm.is_open:
                return asked.extractive(self._llm.down_note)
            shown = self._shown(asked.read)
            day = self._now().date()
            estimate = answerer.estimate_tokens(asked.question, shown, history=history)
            if not await self._store.reserve_tokens(day, estimate, budget=self._budget):
                log.warning("daily token budget of %d spent; no answer to a question", self._budget)
                return asked.extractive(OVER_BUDGET)
            await report_progress(progress, ASKING)
            first = await self._call(answerer, asked, shown, history, day=day, estimate=estimate)
            if isinstance(first, str):
                return asked.extractive(first)
            checked = await asyncio.to_thread(check_answer, first, asked.excerpt(shown))
            if checked.supported:
                return asked.from_llm(first, checked, answerer.model)
            log.info("an answer did not stand (%s); asking once more", checked.retry_note())
            if await self._store.reserve_tokens(day, estimate, budget=self._budget):
                retry = await self._call(
                    answerer, asked, shown, history, day=day, estimate=estimate, retry_note=checked.retry_note()
                )
                if isinstance(retry, LLMAnswer):
                    second = await asyncio.to_thread(check_answer, retry, asked.excerpt(shown))
                    if second.supported:
                        return asked.from_llm(retry, second, answerer.model)
                    log.info("the retried answer did not stand either (%s)", second.retry_note())
        return asked.does_not_say(answerer.model, note=UNSUPPORTED)

    async def _call(
        self,
        answerer: Answerer,
        asked: _Asked,
        shown: Sequence[Passage],
        history: Sequence[Turn],
        *,
        day: dt.date,
        estimate: int,
        retry_note: str | None = None,
    ) -> LLMAnswer | str:
        """The LLM's answer (its reservation made), or why there is none."""
        answer = await self._llm.call(
            lambda: answerer.answer(
                asked.question,
                shown,
                papers=[one.paper for one in asked.read],
                language=asked.language,
                history=history,
                retry_note=retry_note,
            ),
            day=day,
            estimate=estimate,
        )
        if not isinstance(answer, LLMFailed):
            return answer
        if answer.error is not None:
            log.warning("LLM answer failed: %s", answer.error)
        return answer.reason


def _stand_in(read: Sequence[_Paper]) -> bool:
    """Some paper was answered from its abstract because it could not be read now: it may be readable later."""
    return any(one.text.kind == "abstract" and one.text.note is not None for one in read)


class _Asked:
    """One question about papers as read, and the answers that can be made of it."""

    def __init__(self, read: list[_Paper], question: str, *, across: bool, language: str) -> None:
        self.read, self.question, self.language, self.across = read, question, language, across
        self._paper_of = {p.id: one.paper for one in read for p in one.passages}

    def excerpt(self, shown: Sequence[Passage]) -> Excerpt:
        """Every passage of every paper, for finding quotes (a quote may be in a passage the LLM was not shown)."""
        first = self.read[0]
        return Excerpt(
            paper=first.paper,
            kind=first.text.kind,
            passages=tuple(p for one in self.read for p in one.passages),
            shown=tuple(shown),
        )

    def from_llm(self, llm: LLMAnswer, checked: CheckedAnswer, model: str) -> Answer:
        """The answer the LLM gave, `checked` and standing."""
        if not llm.answered:  # the LLM says the passages do not answer it: show the closest
            text = checked.text if checked.text and not numbers_in(checked.text) else None
            return self.does_not_say(model, text=text)
        citations = tuple(self._citation(quote, passage) for quote, passage in checked.kept)
        return self._answer(checked.text, answered=True, citations=citations, generator_model=model)

    def does_not_say(self, model: str, *, note: str | None = None, text: str | None = None) -> Answer:
        text = text or (PAPERS_DO_NOT_SAY if self.across else DOES_NOT_SAY)
        return self._answer(text, answered=False, citations=self._closest(), generator_model=model, note=note)

    def extractive(self, why: str) -> Answer:
        closest = self._closest()
        text = f"No answer: {why}." + (" The passages closest to the question are below." if closest else "")
        return self._answer(text, answered=False, citations=closest, generator_model=None, note=why)

    def _closest(self) -> tuple[AnswerCitation, ...]:
        """The beginnings of the passages closest to the question, taken from each paper in turn."""
        queues = [list(one.ranked) for one in self.read]
        chosen: list[Passage] = []
        while any(queues) and len(chosen) < max(CLOSEST_SHOWN, len(queues)):
            for queue in queues:
                if queue and len(chosen) < max(CLOSEST_SHOWN, len(queues)):
                    chosen.append(queue.pop(0))
        return tuple(self._citation(_beginning(p.text), p) for p in chosen)

    def _citation(self, quote: str, passage: Passage) -> AnswerCitation:
        paper = self._paper_of[passage.id]
        return AnswerCitation(quote=quote, anchor_url=passage.url, section=passage.section, arxiv_id=paper.arxiv_id)

    def _answer(
        self,
        text: str,
        *,
        answered: bool,
        citations: tuple[AnswerCitation, ...],
        generator_model: str | None,
        note: str | None = None,
    ) -> Answer:
        papers = [one.paper for one in self.read]
        kinds = {one.text.kind for one in self.read}
        single = self.read[0] if not self.across else None
        return Answer(
            arxiv_id=single.paper.arxiv_id if single else "",
            version=single.paper.version if single else 0,
            question=self.question,
            text=text,
            answered=answered,
            source_kind=next(kind for kind in _WEAKEST_FIRST if kind in kinds),
            source_url=single.text.url if single else "",
            citations=citations,
            generator="llm" if generator_model is not None else "extractive",
            model=generator_model,
            language=self.language,
            arxiv_ids=tuple(paper.arxiv_id for paper in papers),
            note=note,
        )


def _beginning(text: str) -> str:
    """About the first CLOSEST_CHARS characters of a passage, verbatim, cut at a word."""
    text = normalized(text)
    if len(text) <= CLOSEST_CHARS:
        return text
    cut = text[: CLOSEST_CHARS + 1].rsplit(" ", 1)[0]
    return cut if len(cut) >= CLOSEST_CHARS // 2 else text[:CLOSEST_CHARS]
