"""The evaluation scripts (benchmarks/ask_eval.py, benchmarks/taste_eval.py) and their data stay usable: each core
function run on a small part of the data. The figures themselves are printed by the scripts, not asserted here."""

from __future__ import annotations

import dataclasses
import json

import pytest

from benchmarks import ask_eval, taste_eval
from bot.core.models import Paper
from tests.data.taste import generate
from tests.fakes.llm_server import MEASURED, FakeLLM

SMALL_PAPER = "2304.02623v1"  # four pages: quick to parse and to ask


@pytest.fixture(scope="module")
def questions() -> list[ask_eval.Question]:
    return ask_eval.load_questions()


@pytest.fixture(scope="module")
def corpus() -> taste_eval.Corpus:
    return taste_eval.load_corpus()


def test_every_question_names_paragraphs_its_paper_has(questions: list[ask_eval.Question]) -> None:
    papers = ask_eval.fixture_papers([q.paper for q in questions])
    passages = {versioned: {p.id for p in ask_eval.all_passages(*pt)} for versioned, pt in papers.items()}
    assert len(questions) >= 20
    assert sum(not q.answerable for q in questions) >= 6
    missing = [(q.paper, pid) for q in questions for pid in q.answer_passages if pid not in passages[q.paper]]
    assert missing == []


async def test_retrieval_counts_what_the_answer_service_sends(questions: list[ask_eval.Question]) -> None:
    asked_about = [q for q in questions if q.paper == SMALL_PAPER]
    papers = ask_eval.fixture_papers([SMALL_PAPER])
    count = len(ask_eval.all_passages(*papers[SMALL_PAPER]))

    whole = await ask_eval.ask_all(asked_about, papers, None, max_input_tokens=ask_eval.DEFAULT_BUDGET)
    row = ask_eval.retrieval_row(whole, {SMALL_PAPER: count}, ask_eval.DEFAULT_BUDGET)
    assert row.answerable == sum(q.answerable for q in asked_about) > 0
    assert row.whole_paper == row.right_sent == row.answerable  # a 4-page paper fits: everything is sent

    small = await ask_eval.ask_all(asked_about, papers, None, max_input_tokens=300)
    row = ask_eval.retrieval_row(small, {SMALL_PAPER: count}, 300)
    assert row.whole_paper == 0
    assert row.tokens_sent <= 300


async def test_answers_through_the_fake_llm_are_scored(questions: list[ask_eval.Question]) -> None:
    asked_about = [q for q in questions if q.paper == SMALL_PAPER]
    papers = ask_eval.fixture_papers([SMALL_PAPER])
    passages = {SMALL_PAPER: ask_eval.all_passages(*papers[SMALL_PAPER])}
    from bot.clients.llm import OpenAIAnswerer

    async with FakeLLM(tokens_per_call=MEASURED) as llm:
        answerer = OpenAIAnswerer(base_url=llm.base_url, api_key="test", model="fake", max_retries=0)
        try:
            asked = await ask_eval.ask_all(asked_about, papers, answerer, max_input_tokens=ask_eval.DEFAULT_BUDGET)
        finally:
            await answerer.aclose()
    row = ask_eval.answer_row(asked, passages, "fake", ask_eval.DEFAULT_BUDGET)
    assert (row.answerable, row.unanswerable) == (2, 2)
    assert row.calls >= 1 and row.tokens > 0
    # The fake quotes the passage sharing the most words with the question: "1 in 5 patients" is its own words.
    patients = next(a for a in asked if "patients" in a.question.question)
    assert ask_eval.cites_right(patients, passages[SMALL_PAPER])
    elsewhere = dataclasses.replace(patients.question, answer_passages=("p1.1",))
    assert not ask_eval.cites_right(dataclasses.replace(patients, question=elsewhere), passages[SMALL_PAPER])


def test_the_taste_corpus_is_what_its_script_writes() -> None:
    written = json.loads((generate.HERE / "corpus.json").read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(generate.build(), ensure_ascii=False))
    assert (generate.HERE / "corpus.json").stat().st_size < 1_500_000


def test_reactions_are_the_hidden_topic_but_for_the_noise(corpus: taste_eval.Corpus) -> None:
    liked = taste_eval.reactions(corpus, "speech-enhancement", count=20, noise=0.1, seed=1)
    assert len(set(liked)) == 20
    assert sum(corpus.topic[i] == "speech-enhancement" for i in liked) == 18
    assert set(liked) <= {p.arxiv_id for p in corpus.today}
    assert not set(liked) & {p.arxiv_id for p in corpus.tomorrow}


async def test_precision_and_timing_on_a_small_corpus(corpus: taste_eval.Corpus) -> None:
    def few(papers: list[Paper]) -> list[Paper]:
        return [p for p in papers if corpus.topic[p.arxiv_id] in {"speech-enhancement", "speech-tts", "speech-asr"}]

    small = dataclasses.replace(corpus, today=few(corpus.today)[:45], tomorrow=few(corpus.tomorrow)[:45])
    channel = taste_eval.Channel("console", "speech-enhancement", "all:speech")
    rows = await taste_eval.evaluate(small, [channel], counts=(5,), seed=1)
    assert [r.channel for r in rows] == [channel]
    assert 0.0 <= rows[0].keyword <= 1.0 and 0.0 <= rows[0].learned[5] <= 1.0
    timing = await taste_eval.ranking_time(small, runs=1, candidates=30, channel=channel, signals=5)
    assert timing.candidates == 30 and timing.first > 0 and timing.later > 0
