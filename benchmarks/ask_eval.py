"""Asking the fixture papers: is the right paragraph sent to the LLM, is it cited, and is an unanswerable question
answered "the paper does not say"; prints figures (not a test).

    python -m benchmarks.ask_eval                       # retrieval, then answers by the fake LLM
    python -m benchmarks.ask_eval --base-url URL --model M   # answers by a real OpenAI-compatible LLM
                                                        # (OPENAI_API_KEY from the environment)

The questions are tests/data/questions.json: each names the paragraph(s) holding its answer, or none when the
paper does not answer it. The papers of tests/data/papers/ are parsed by the reader's own parsers and given to the
real AnswerService (bot.core.answers) through a reader that returns them; no cache, no budget limit.

Retrieval: what the AnswerService itself sends to the LLM, captured at the Answerer port (an Answerer that records
the passages it is given and answers nothing), at `--max-input-tokens` (the whole paper when it fits, else the
Bm25Retriever's choice) and at `--small-budget`, where retrieval decides. Beside it, the retriever's own ranking:
is the right paragraph its first, or among its first three.

Answers: the real OpenAIAnswerer through the same AnswerService, by default against the fake LLM of
tests/fakes/llm_server.py (started here), which quotes the passage sharing the most words with the question. A
citation counts when its quote is in one of the right paragraphs; tokens are what the LLM reported per question
(a retry included).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.faithfulness import FIXTURES, fixture_paper
from bot.clients.retrieval import Bm25Retriever
from bot.core.answers import AnswerService
from bot.core.errors import SummarizerFailed
from bot.core.excerpt import Passage, approx_tokens, select_excerpt
from bot.core.faithfulness import normalized
from bot.core.fulltext import FullText
from bot.core.models import Paper
from bot.core.ports import Answerer
from bot.core.questions import Answer, LLMAnswer, Turn

QUESTIONS = Path(__file__).resolve().parent.parent / "tests" / "data" / "questions.json"
DEFAULT_BUDGET = 12_000  # reader.max_input_tokens' default
SMALL_BUDGET = 2_000


@dataclass(frozen=True)
class Question:
    paper: str  # "2508.08468v6"
    question: str
    answer_passages: tuple[str, ...]  # any of them holds the answer; () when the paper does not answer it
    expected: str
    kind: str = ""

    @property
    def answerable(self) -> bool:
        return bool(self.answer_passages)


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    rows = json.loads(path.read_text(encoding="utf-8"))["questions"]
    return [
        Question(r["paper"], r["question"], tuple(r["answer_passages"]), r["expected"], r.get("kind", "")) for r in rows
    ]


def fixture_papers(versioned_ids: Sequence[str]) -> dict[str, tuple[Paper, FullText]]:
    """The papers asked about, parsed as the reader parses them, by versioned id."""
    files = {versioned: (file, title) for versioned, file, title in FIXTURES}
    return {versioned: fixture_paper(versioned, *files[versioned]) for versioned in dict.fromkeys(versioned_ids)}


def all_passages(paper: Paper, text: FullText) -> tuple[Passage, ...]:
    """Every passage under the id the LLM sees (the excerpt's passages do not depend on the budget)."""
    return select_excerpt(paper, text, max_tokens=DEFAULT_BUDGET).passages


class FixtureReader:
    """bot.core.ports.PaperReader over the parsed fixtures."""

    def __init__(self, texts: dict[str, FullText]) -> None:
        self._texts = texts

    async def read(self, paper: Paper) -> FullText:
        return self._texts[paper.arxiv_id]


class NoCache:
    """Every question is asked anew (the same question at two budgets has the same cache key)."""

    async def get_answer(self, key: str) -> Answer | None:
        return None

    async def save_answer(self, key: str, answer: Answer) -> None:
        return None


class Ledger:
    """The Store's token budget, unlimited: what is reserved is only counted."""

    def __init__(self) -> None:
        self.used = 0

    async def reserve_tokens(self, day: dt.date, amount: int, *, budget: int) -> bool:
        self.used += amount
        return True

    async def adjust_tokens(self, day: dt.date, delta: int) -> None:
        self.used += delta

    async def tokens_used(self, day: dt.date) -> int:
        return self.used


@dataclass
class Call:
    shown: tuple[str, ...]  # the passage ids the service gave the LLM
    shown_tokens: int
    tokens: int  # what the LLM reported


class Recording:
    """An Answerer that records what the AnswerService sends it; with no `inner` it answers nothing."""

    def __init__(self, inner: Answerer | None) -> None:
        self.inner = inner
        self.model = inner.model if inner is not None else "retrieval-only"
        self.prompt_version = inner.prompt_version if inner is not None else "none"
        self.calls: list[Call] = []

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
        shown = (tuple(p.id for p in passages), sum(approx_tokens(p.text) for p in passages))
        if self.inner is None:
            self.calls.append(Call(*shown, tokens=0))
            return LLMAnswer(text="", answered=False, citations=(), tokens=0)
        try:
            answer = await self.inner.answer(
                question, passages, papers=papers, language=language, history=history, retry_note=retry_note
            )
        except SummarizerFailed as exc:  # an unusable answer costs its tokens too
            self.calls.append(Call(*shown, tokens=exc.tokens))
            raise
        self.calls.append(Call(*shown, tokens=answer.tokens))
        return answer

    def estimate_tokens(self, question: str, passages: Sequence[Passage], *, history: Sequence[Turn] = ()) -> int:
        if self.inner is not None:
            return self.inner.estimate_tokens(question, passages, history=history)
        return sum(approx_tokens(p.text) for p in passages)


@dataclass
class Asked:
    question: Question
    answer: Answer
    calls: list[Call] = field(default_factory=list)

    @property
    def sent(self) -> tuple[str, ...]:
        return self.calls[0].shown if self.calls else ()

    @property
    def right_sent(self) -> bool:
        return any(pid in self.sent for pid in self.question.answer_passages)


async def ask_all(
    questions: Sequence[Question],
    papers: dict[str, tuple[Paper, FullText]],
    answerer: Answerer | None,
    *,
    max_input_tokens: int,
) -> list[Asked]:
    """Each question asked of its paper through the AnswerService, with what it sent to the LLM."""
    recording = Recording(answerer)
    service = AnswerService(
        reader=FixtureReader({paper.arxiv_id: text for paper, text in papers.values()}),
        answerer=recording,
        retriever=Bm25Retriever(),
        cache=NoCache(),
        store=Ledger(),  # type: ignore[arg-type]  # only the token budget of the Store is used
        daily_token_budget=10**12,
        max_input_tokens=max_input_tokens,
        max_concurrency=1,
    )
    asked = []
    for question in questions:
        recording.calls = []
        answer = await service.ask(papers[question.paper][0], question.question, language="en")
        asked.append(Asked(question, answer, recording.calls))
    return asked


def cites_right(asked: Asked, passages: Sequence[Passage]) -> bool:
    """An answer whose citations include a quote from one of the paragraphs holding the answer."""
    if not asked.answer.answered:
        return False
    right = [normalized(p.text) for p in passages if p.id in asked.question.answer_passages]
    return any(normalized(c.quote) in text for c in asked.answer.citations for text in right)


@dataclass(frozen=True)
class RetrievalRow:
    budget: int
    answerable: int
    whole_paper: int  # questions whose whole paper was sent
    right_sent: int
    passages_sent: float  # mean
    tokens_sent: float  # mean


def retrieval_row(asked: Sequence[Asked], passage_counts: dict[str, int], budget: int) -> RetrievalRow:
    answerable = [a for a in asked if a.question.answerable]
    return RetrievalRow(
        budget=budget,
        answerable=len(answerable),
        whole_paper=sum(1 for a in answerable if len(a.sent) == passage_counts[a.question.paper]),
        right_sent=sum(1 for a in answerable if a.right_sent),
        passages_sent=statistics.fmean(len(a.sent) for a in answerable) if answerable else 0.0,
        tokens_sent=statistics.fmean(a.calls[0].shown_tokens for a in answerable if a.calls) if answerable else 0.0,
    )


def bm25_ranks(questions: Sequence[Question], passages: dict[str, tuple[Passage, ...]]) -> tuple[int, int]:
    """How many answerable questions the retriever ranks a right paragraph first, and among its first three."""
    retriever = Bm25Retriever()
    first = top3 = 0
    for q in questions:
        if not q.answerable:
            continue
        ranked = [p.id for p in retriever.closest(q.question, passages[q.paper], limit=3)]
        first += bool(ranked) and ranked[0] in q.answer_passages
        top3 += any(pid in q.answer_passages for pid in ranked)
    return first, top3


@dataclass(frozen=True)
class AnswerRow:
    model: str
    budget: int
    answerable: int
    cited_right: int
    answered: int  # of the answerable, those answered (not "does not say")
    unanswerable: int
    does_not_say: int  # of the unanswerable
    tokens: float  # mean per question, retries included
    calls: float  # mean LLM calls per question


def answer_row(asked: Sequence[Asked], passages: dict[str, tuple[Passage, ...]], model: str, budget: int) -> AnswerRow:
    answerable = [a for a in asked if a.question.answerable]
    unanswerable = [a for a in asked if not a.question.answerable]
    return AnswerRow(
        model=model,
        budget=budget,
        answerable=len(answerable),
        cited_right=sum(cites_right(a, passages[a.question.paper]) for a in answerable),
        answered=sum(a.answer.answered for a in answerable),
        unanswerable=len(unanswerable),
        does_not_say=sum(not a.answer.answered and a.answer.generator == "llm" for a in unanswerable),
        tokens=statistics.fmean(sum(c.tokens for c in a.calls) for a in asked) if asked else 0.0,
        calls=statistics.fmean(len(a.calls) for a in asked) if asked else 0.0,
    )


def share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else "-"


def print_retrieval(rows: Sequence[RetrievalRow], bm25: tuple[int, int], answerable: int) -> None:
    print("Retrieval: is the right paragraph among the passages the AnswerService sends to the LLM?")
    print(f"{'max_input_tokens':>16}  {'whole paper sent':>16}  {'right paragraph sent':>20}  "
          f"{'passages sent':>13}  {'tokens sent':>11}")  # fmt: skip
    for r in rows:
        print(f"{r.budget:>16}  {share(r.whole_paper, r.answerable):>16}  {share(r.right_sent, r.answerable):>20}  "
              f"{r.passages_sent:>13.1f}  {r.tokens_sent:>11.0f}")  # fmt: skip
    print(f"BM25 alone (Bm25Retriever.closest): right paragraph first {share(bm25[0], answerable)}, "
          f"in the first three {share(bm25[1], answerable)}")  # fmt: skip


def print_answers(rows: Sequence[AnswerRow]) -> None:
    print("Answers through the AnswerService (citations checked verbatim; numbers checked against the quotes)")
    print(f"{'LLM':<22} {'max_input_tokens':>16}  {'cites the right paragraph':>25}  {'answered':>12}  "
          f"{'does not say (unanswerable)':>27}  {'tokens/answer':>13}  {'calls':>5}")  # fmt: skip
    for r in rows:
        print(f"{r.model:<22} {r.budget:>16}  {share(r.cited_right, r.answerable):>25}  "
              f"{share(r.answered, r.answerable):>12}  {share(r.does_not_say, r.unanswerable):>27}  "
              f"{r.tokens:>13.0f}  {r.calls:>5.2f}")  # fmt: skip


def print_details(asked: Sequence[Asked], passages: dict[str, tuple[Passage, ...]]) -> None:
    for a in asked:
        q = a.question
        verdict = ("cited" if cites_right(a, passages[q.paper]) else "MISSED") if q.answerable else (
            "does not say" if not a.answer.answered else "ANSWERED")  # fmt: skip
        print(f"  {q.paper} {verdict:<12} sent={'yes' if a.right_sent else 'no ':3} {q.question[:70]}")
        print(f"      -> {a.answer.text[:150]!r}")


async def main(args: argparse.Namespace) -> None:
    # An unusable answer, a retry, a fallback: each logs a line per question; the tables count them.
    for name in ("bot.clients.llm", "bot.core.answers"):
        logging.getLogger(name).setLevel(logging.ERROR)
    questions = load_questions(args.questions)[: args.limit or None]
    papers = fixture_papers([q.paper for q in questions])
    passages = {versioned: all_passages(*paper_text) for versioned, paper_text in papers.items()}
    counts = {versioned: len(p) for versioned, p in passages.items()}
    answerable = sum(q.answerable for q in questions)
    print(f"{len(questions)} questions ({answerable} with a known paragraph, {len(questions) - answerable} the paper "
          f"does not answer) on {', '.join(papers)}")  # fmt: skip
    print()
    rows = []
    for budget in dict.fromkeys((args.max_input_tokens, args.small_budget)):
        rows.append(retrieval_row(await ask_all(questions, papers, None, max_input_tokens=budget), counts, budget))
    print_retrieval(rows, bm25_ranks(questions, passages), answerable)
    print()
    answer_rows = []
    for budget in dict.fromkeys((args.max_input_tokens, args.small_budget)):
        asked, model = await answered(questions, papers, args, budget)
        answer_rows.append(answer_row(asked, passages, model, budget))
        if args.verbose:
            print(f"max_input_tokens = {budget}:")
            print_details(asked, passages)
    print_answers(answer_rows)


async def answered(
    questions: Sequence[Question], papers: dict[str, tuple[Paper, FullText]], args: argparse.Namespace, budget: int
) -> tuple[list[Asked], str]:
    """The questions answered by the real OpenAIAnswerer: against args.base_url, else against the fake LLM."""
    from bot.clients.llm import OpenAIAnswerer

    if args.base_url:
        answerer = OpenAIAnswerer(
            base_url=args.base_url, api_key=os.environ.get("OPENAI_API_KEY", ""), model=args.model
        )
        try:
            return await ask_all(questions, papers, answerer, max_input_tokens=budget), args.model
        finally:
            await answerer.aclose()
    from tests.fakes.llm_server import MEASURED, FakeLLM

    async with FakeLLM(tokens_per_call=MEASURED) as llm:
        answerer = OpenAIAnswerer(base_url=llm.base_url, api_key="bench", model="fake-llm", max_retries=0)
        try:
            return await ask_all(questions, papers, answerer, max_input_tokens=budget), "fake LLM"
        finally:
            await answerer.aclose()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--base-url", help="an OpenAI-compatible endpoint (OPENAI_API_KEY from the environment)")
    parser.add_argument("--model", default="gpt-4o-mini", help="the model at --base-url")
    parser.add_argument("--max-input-tokens", type=int, default=DEFAULT_BUDGET)
    parser.add_argument("--small-budget", type=int, default=SMALL_BUDGET)
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--limit", type=int, default=0, help="only the first N questions")
    parser.add_argument("--verbose", action="store_true", help="each question's verdict and answer")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
