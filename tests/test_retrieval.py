"""BM25 retrieval over a real paper's paragraphs (SQLite FTS5, in memory): the paragraph that answers comes first,
and a question cannot speak FTS5's query language."""

from __future__ import annotations

import pytest

from bot.clients.retrieval import Bm25Retriever, fts_query, query_words
from bot.core.excerpt import Passage, select_excerpt
from tests.test_reader import HTML_PAPER, paper
from tests.test_reader_parse import html_of


@pytest.fixture(scope="module")
def passages() -> tuple[Passage, ...]:
    text = html_of("2508.08468v6.html", url="https://arxiv.org/html/2508.08468v6", arxiv_id="2508.08468", version=6)
    return select_excerpt(paper(*HTML_PAPER), text, max_tokens=12_000).passages


@pytest.mark.parametrize(
    ("question", "paragraph"),
    [
        ("Which smartphone was used as the user equipment?", "S5.SS1.p4"),
        ("What sampling rate was the audio recorded at?", "S5.p5"),
        ("How much CPU does audio-only processing need?", "S5.SS1.p10"),
        ("What latency does the private 5G network achieve?", "S5.SS1.p14"),
        ("In which spectrum band does the Vodafone network operate?", "S5.SS1.p2"),
        ("What will future work look at?", "S6.p5"),
        ("How long is each frame of the input stream?", "S5.SS2.p4"),
    ],
)
def test_the_paragraph_that_answers_comes_first(passages, question, paragraph):
    found = Bm25Retriever().closest(question, passages, limit=5)
    assert found[0].id == paragraph
    assert len({p.id for p in found}) == len(found) <= 5


def test_limit_and_only_passages_sharing_a_word(passages):
    found = Bm25Retriever().closest("Vodafone", passages, limit=100)
    assert found and all("vodafone" in (p.text + p.section).lower() for p in found)
    assert len(Bm25Retriever().closest("Vodafone", passages, limit=2)) == 2


def test_the_heading_counts_but_less_than_the_text():
    passages = [
        Passage("S1.p1", "u#S1.p1", "Results", "We report the numbers in the table below."),
        Passage("S2.p1", "u#S2.p1", "Method", "The results show a large gain over the baseline."),
        Passage("S3.p1", "u#S3.p1", "Related work", "Others measured something else entirely."),
    ]
    found = Bm25Retriever().closest("What are the results?", passages, limit=3)
    assert [p.id for p in found] == ["S2.p1", "S1.p1"]


@pytest.mark.parametrize(
    "question",
    [
        'latency" OR "*',
        "NEAR(latency network, 2)",
        "latency AND NOT network",
        "body:latency",
        "-latency ^network *",
        'latency """',
        "latency); DROP TABLE passages; --",
    ],
)
def test_fts_syntax_in_a_question_is_only_words(passages, question):
    found = Bm25Retriever().closest(question, passages, limit=3)
    assert found, question  # "latency" (or "network"/"body") is still a word to look for
    assert all(p in passages for p in found)


def test_the_query_quotes_every_word():
    words = query_words('What "is" NEAR(x) the *latency* AND 5G?')
    assert words == ["near", "x", "latency", "5g"]
    assert fts_query(words) == '"near" OR "x" OR "latency" OR "5g"'


@pytest.mark.parametrize("question", ["", "   ", "What is this paper about?", "?!*", "zyxwvut quux"])
def test_no_content_word_or_no_overlap_gives_nothing(passages, question):
    assert Bm25Retriever().closest(question, passages, limit=5) == []


def test_no_passages_or_no_room_gives_nothing(passages):
    assert Bm25Retriever().closest("latency", [], limit=5) == []
    assert Bm25Retriever().closest("latency", passages, limit=0) == []
