"""What of a paper the LLM reads (bot.core.excerpt): sections chosen by their headings on the real pages and PDFs,
the budget kept, each passage under an id the LLM can cite."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.clients.reader_html import parse_html
from bot.clients.reader_pdf import parse_pdf
from bot.core.excerpt import CHARS_PER_TOKEN, select_excerpt
from bot.core.fulltext import FullText, Paragraph
from bot.core.models import Paper

PAPERS = Path(__file__).parent / "data" / "papers"
WHEN = dt.datetime(2025, 8, 12, tzinfo=dt.UTC)


def paper(arxiv_id: str, version: int = 1, abstract: str = "We study things and find results.") -> Paper:
    return Paper(arxiv_id, version, "A paper", ("A. Author",), abstract, None, None, "cs.CL", ("cs.CL",), WHEN, WHEN)


@pytest.fixture(scope="module")
def avse() -> FullText:
    """2508.08468v6: sections numbered I..VI, results in subsections 'V-A ...' under 'V Experimental Results'."""
    text = parse_html((PAPERS / "2508.08468v6.html").read_bytes(), url="https://arxiv.org/html/2508.08468v6",
                      arxiv_id="2508.08468", version=6)  # fmt: skip
    assert text is not None
    return text


def test_the_abstract_introduction_results_conclusion_and_captions(avse) -> None:
    """Related work, the problem formulation, the implementation and the acknowledgements are left out; the
    results' subsections count as results."""
    excerpt = select_excerpt(paper("2508.08468", 6), avse, max_tokens=12_000)
    sections = {p.section for p in excerpt.shown if p.label is None}
    wanted = {"Abstract", "I Introduction", "V Experimental Results", "V-A Vodafone 5G network", "VI CONCLUSION"}
    assert wanted <= sections
    assert not sections & {"II Related Work", "IV-B Implementation", "Acknowledgements"}
    assert [p.label for p in excerpt.shown if p.label] == [f"Figure {n}" for n in range(1, 11)]
    assert excerpt.kind == "html" and excerpt.tokens <= 12_000
    # In the paper's order, under the anchors the page has.
    ids = [p.id for p in excerpt.shown]
    assert ids[:3] == ["abstract1", "S1.p1", "S1.p2"] and "S5.SS1.p3" in ids
    assert excerpt.passage("S1.p1").url == "https://arxiv.org/html/2508.08468v6#S1.p1"
    # Every passage of the paper can be quoted, shown or not.
    assert excerpt.passage("S2.p1") is not None and excerpt.passage("S2.p1") not in excerpt.shown


@pytest.mark.parametrize("budget", [500, 2_000, 5_000])
def test_the_budget_holds_and_every_part_gets_its_turn(avse, budget) -> None:
    """A small budget still shows the abstract, then the introduction, results and conclusion in turn (a long
    results section does not crowd out the conclusion); a paragraph cut to fit ends with an ellipsis."""
    excerpt = select_excerpt(paper("2508.08468", 6), avse, max_tokens=budget)
    assert sum(len(p.text) for p in excerpt.shown) <= budget * CHARS_PER_TOKEN
    assert excerpt.shown[0].id == "abstract1"
    sections = {p.section for p in excerpt.shown if p.label is None}
    if budget >= 2_000:
        assert {"I Introduction", "VI CONCLUSION"} <= sections
        assert sections & {"V Experimental Results", "V-A Vodafone 5G network"}
    full = {p.id: p.text for p in excerpt.passages}
    for shown in excerpt.shown:
        assert shown.text == full[shown.id] or (shown.text.endswith("…") and full[shown.id].startswith(shown.text[:-1]))


def test_a_pdfs_paragraphs_get_ids_of_their_own() -> None:
    """A PDF's paragraphs share their page's anchor: the LLM cites p<page>.<n>, the link goes to the page."""
    text = parse_pdf((PAPERS / "2304.02623v1.pdf").read_bytes(), url="https://arxiv.org/pdf/2304.02623v1",
                     arxiv_id="2304.02623", version=1)  # fmt: skip
    assert text is not None
    excerpt = select_excerpt(paper("2304.02623"), text, max_tokens=12_000)
    ids = [p.id for p in excerpt.passages]
    assert len(ids) == len(set(ids))
    assert "p1.1" in ids and excerpt.passage("p1.1").url == "https://arxiv.org/pdf/2304.02623v1#page=1"
    sections = {p.section for p in excerpt.shown if p.label is None}
    assert {"ABSTRACT", "1 INTRODUCTION", "4 CONCLUSION"} <= sections
    assert "ACKNOWLEDGMENTS" not in sections and "" not in sections  # nor the title block


def test_without_an_abstract_heading_arxivs_abstract_stands_in() -> None:
    text = FullText("2501.00003", 1, "pdf", "https://arxiv.org/pdf/2501.00003v1", None,
                    (Paragraph("page=1", "1 Introduction", "Widgets are everywhere."),))  # fmt: skip
    excerpt = select_excerpt(paper("2501.00003", abstract="We study widgets."), text, max_tokens=1_000)
    shown = [(p.id, p.text) for p in excerpt.shown]
    assert shown == [("abstract", "We study widgets."), ("page=1", "Widgets are everywhere.")]
    assert excerpt.passage("abstract").url == "https://arxiv.org/abs/2501.00003v1"


def test_headings_that_say_nothing_give_the_body_in_order() -> None:
    paragraphs = (
        Paragraph("abstract", "Abstract", "We study widgets."),
        Paragraph("S1.p1", "1 Widgets", "First."),
        Paragraph("S2.p1", "2 Gadgets", "Second."),
        Paragraph("S3.p1", "References", "[1] A. Author."),
    )
    text = FullText("2501.00004", 1, "html", "https://arxiv.org/html/2501.00004v1", None, paragraphs)
    excerpt = select_excerpt(paper("2501.00004"), text, max_tokens=1_000)
    assert [p.id for p in excerpt.shown] == ["abstract", "S1.p1", "S2.p1"]


def test_an_abstract_only_text_is_the_abstract() -> None:
    source = paper("2501.00005", abstract="We study widgets. They are cheap.")
    excerpt = select_excerpt(source, FullText.abstract_only(source), max_tokens=12_000)
    assert excerpt.kind == "abstract"
    assert [(p.id, p.text) for p in excerpt.shown] == [("abstract", "We study widgets. They are cheap.")]
