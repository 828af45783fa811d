"""The no-LLM summary: sentences from the abstract, labelled."""

import datetime as dt

from bot.core.extractive import extractive_summary, split_sentences
from bot.core.models import Paper

ABSTRACT = (
    "Large language models struggle with long documents. Prior work truncates the input. "
    "We propose ChunkWise, a method that reads documents in overlapping windows. "
    "ChunkWise improves accuracy from 61.2% to 74.5% on LongBench. The code is available."
)


def paper(abstract: str = ABSTRACT) -> Paper:
    when = dt.datetime(2025, 5, 28, tzinfo=dt.UTC)
    return Paper(
        "2505.00001",
        1,
        "ChunkWise: reading long documents",
        ("A",),
        abstract,
        None,
        None,
        "cs.CL",
        ("cs.CL",),
        when,
        when,
    )


def test_tldr_is_the_first_sentence_and_takeaways_keep_the_key_ones():
    """The tl;dr is the opening sentence; the method and the number sentences are takeaways."""
    summary = extractive_summary(paper(), language="en", reason="no LLM configured")
    assert summary.tldr == "Large language models struggle with long documents."
    assert any("61.2%" in t for t in summary.takeaways)
    assert any("We propose ChunkWise" in t for t in summary.takeaways)
    assert summary.generator == "extractive" and summary.note == "no LLM configured"


def test_other_language_says_it_is_not_translated():
    """An extractive summary cannot translate, and its note says so."""
    summary = extractive_summary(paper(), language="zh", reason="no LLM configured")
    assert summary.abstract_translation is None and "not translated" in (summary.note or "")


def test_sentence_split_keeps_decimals_and_handles_an_empty_abstract():
    """'61.2%' does not split a sentence; an empty abstract falls back to the title."""
    assert len(split_sentences(ABSTRACT)) == 5
    assert extractive_summary(paper(""), language="en", reason="x").tldr.startswith("ChunkWise")
