"""The faithfulness check (bot.core.faithfulness), a pure unit: quotes verbatim in the paper, numbers in their quotes,
names with digits left alone; on a real LaTeXML page (math as $alttext$) and on hand-made passages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.clients.reader_html import parse_html
from bot.core.excerpt import select_excerpt
from bot.core.faithfulness import check_summary, check_takeaway, figure_label, numbers_in
from bot.core.fulltext import Figure, FullText, Paragraph
from bot.core.models import Citation, Paper, Summary

PAPERS = Path(__file__).parent / "data" / "papers"
WHEN = dt.datetime(2025, 8, 12, tzinfo=dt.UTC)


def paper(arxiv_id: str = "2501.00001", abstract: str = "We show that sparse widgets are cheap.") -> Paper:
    return Paper(arxiv_id, 1, "Sparse Widgets", ("A. Author",), abstract, None, None, "cs.LG", ("cs.LG",), WHEN, WHEN)


@pytest.fixture(scope="module")
def widgets():
    """The LaTeXML widgets paper (math as $alttext$, an injection paragraph), as the reader gives it."""
    text = parse_html((PAPERS / "latexml-widgets.html").read_bytes(), url="https://arxiv.org/html/2501.00001v1",
                      arxiv_id="2501.00001", version=1)  # fmt: skip
    return select_excerpt(paper(), text, max_tokens=12_000)


def small_excerpt(*paragraphs: tuple[str, str], figures: tuple[str, ...] = ()):
    text = FullText(
        "2501.00002", 1, "html", "https://arxiv.org/html/2501.00002v1", "CC BY 4.0",
        tuple(Paragraph(anchor, "4 Results", body) for anchor, body in paragraphs),
        tuple(Figure(label, "A caption.", f"S4.F{i}", None, "drawing") for i, label in enumerate(figures, 1)),
    )  # fmt: skip
    return select_excerpt(paper("2501.00002"), text, max_tokens=12_000)


# ---- numbers


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("accuracy rises by 12.5 %", {"12.5"}),
        ("accuracy rises by 12.5%", {"12.5"}),
        ("12.50% and .5", {"12.5", "0.5"}),
        ("1,234 samples and 10,000 steps", {"1234", "10000"}),
        (r"$37.5\%$ at $10\,000$ steps and $1{,}000$ runs", {"37.5", "10000", "1000"}),
        ("up to 80× smaller, 3x faster, 1.2M parameters", {"80", "3", "1.2"}),
        ("GPT-4, GPT-4o, Llama-3-8B, Qwen-2.5-7B, Qwen2.5-7B-Instruct and ResNet-50 reach 85.3", {"85.3"}),
        ("pass@1 on CIFAR-10 over 5G with an H100 and top-1 accuracy", set()),
        ("Figure 3, Fig. 4, Table 2, Section 5 and Eq. (7) show 0.82", {"0.82"}),
        ("Llama 2 and GPT 4 as baselines, from 2020 to 2024", {"2020", "2024"}),
    ],
)
def test_numbers_are_read_as_written_and_names_are_not_numbers(text, numbers) -> None:
    """Spacing, thousands separators, TeX and trailing zeros do not change a number; names with digits are names."""
    assert numbers_in(text) == numbers


def test_no_conversion_between_a_fraction_and_a_percentage() -> None:
    """0.125 is not 12.5%: only the spellings the paper itself writes count."""
    assert numbers_in("0.125") != numbers_in("12.5%")


# ---- one takeaway


def test_a_verbatim_quote_with_the_takeaways_numbers_stands(widgets) -> None:
    """The quote copies the paragraph with its math as the reader flattened it ($70\\%$); 70% and 0.2 are in it."""
    verdict = check_takeaway(
        "Pruning 70% of widgets costs at most 0.2 points.",
        Citation(r"Pruning $70\%$ of the widgets keeps accuracy within $0.2$ points", "S3.p1"),
        widgets,
    )
    assert verdict.problem is None
    assert verdict.evidence is not None
    assert verdict.evidence.anchor_url == "https://arxiv.org/html/2501.00001v1#S3.p1"
    assert verdict.evidence.quote == r"Pruning $70\%$ of the widgets keeps accuracy within $0.2$ points"


def test_a_number_the_quote_does_not_give_makes_it_unsupported(widgets) -> None:
    verdict = check_takeaway(
        "Pruning 70% of widgets costs 1.5 points.",
        Citation(r"Pruning $70\%$ of the widgets keeps accuracy within $0.2$ points", "S3.p1"),
        widgets,
    )
    assert verdict.problem == "gives 1.5, which its quote does not contain"


def test_a_misquote_is_unsupported(widgets) -> None:
    """A quote the paper does not contain word for word, or whose math was rewritten, is no evidence."""
    for misquote in (
        "Pruning 70% of the widgets keeps accuracy within 0.2 points",  # the math without its $...$ and \%
        "Pruning $70\\%$ of widgets keeps accuracy within $0.2$ points",  # a word left out
        "Widgets are the most important part of every large model.",  # invented
    ):
        verdict = check_takeaway("Pruning keeps accuracy.", Citation(misquote, "S3.p1"), widgets)
        assert verdict.problem == "its quote is not verbatim in the paper", misquote
        assert verdict.evidence is None


def test_whitespace_quotation_marks_and_nfkc_do_not_matter(widgets) -> None:
    """Line breaks and runs of spaces, the quotation marks and ellipsis a model wraps a quote in, and full-width
    look-alikes are normalised away."""
    quote = "“…Pruning  $70\\%$ of the\nwidgets keeps accuracy within $０.２$ points…”"
    verdict = check_takeaway("Pruning 70% of widgets costs 0.2 points.", Citation(quote, "S3.p1"), widgets)
    assert verdict.problem is None and verdict.evidence is not None


def test_a_quote_found_in_another_paragraph_links_to_where_it_is(widgets) -> None:
    verdict = check_takeaway(
        "Sparse widgets are cheap.",
        Citation("Sparse widgets are cheap and accurate enough for small models.", "S1.p1"),  # it is S4.p1
        widgets,
    )
    assert verdict.problem is None
    assert verdict.evidence is not None and verdict.evidence.anchor_url.endswith("#S4.p1")


def test_a_takeaway_without_a_quote_stands_only_without_numbers(widgets) -> None:
    assert check_takeaway("Widgets matter.", None, widgets).problem is None
    assert check_takeaway("Widgets save 37.5%.", None, widgets).problem == "gives 37.5 without a quote"


def test_a_quote_too_short_to_say_anything_is_no_evidence(widgets) -> None:
    assert check_takeaway("Widgets.", Citation("the widgets", "S3.p1"), widgets).problem == (
        "its quote is too short to be evidence"
    )


def test_model_names_in_a_takeaway_need_not_be_in_its_quote() -> None:
    excerpt = small_excerpt(("S4.p1", "Our method improves accuracy by 4.1 points over the baseline."))
    verdict = check_takeaway(
        "On Llama-3-8B and GPT-4, accuracy improves by 4.1 points.",
        Citation("improves accuracy by 4.1 points over the baseline", "S4.p1"),
        excerpt,
    )
    assert verdict.problem is None


# ---- a whole summary


def summary(takeaways: tuple[str, ...], tldr: str = "Sparse widgets are cheap.") -> Summary:
    return Summary("en", tldr, takeaways, None, "llm", "m", "v2", source="html", lead_figure="fig. 2")


def test_unsupported_takeaways_are_dropped_with_why(widgets) -> None:
    good = Citation(r"Pruning $70\%$ of the widgets keeps accuracy within $0.2$ points", "S3.p1")
    checked = check_summary(
        summary(("Pruning 70% costs 0.2 points.", "Pruning 90% costs 0.2 points.", "Widgets are new.", "Tiny.")),
        [good, good, Citation("Widgets were invented in 1850 by a famous duke.", "S1.p1"), None],
        widgets,
    )
    assert checked.summary.takeaways == ("Pruning 70% costs 0.2 points.", "Tiny.")
    assert [e.anchor_url.rsplit("#", 1)[1] if e else None for e in checked.summary.evidence] == ["S3.p1", None]
    assert checked.dropped == (
        (2, "Pruning 90% costs 0.2 points.", "gives 90, which its quote does not contain"),
        (3, "Widgets are new.", "its quote is not verbatim in the paper"),
    )
    assert not checked.usable and not checked.flawless
    assert checked.retry_note() == (
        "takeaway 2: gives 90, which its quote does not contain; takeaway 3: its quote is not verbatim in the paper"
    )
    assert checked.summary.lead_figure == "Figure 2"  # the paper's own label for what the LLM named


def test_a_tldr_with_a_number_the_paper_never_gives_is_a_problem(widgets) -> None:
    checked = check_summary(summary(("A.", "B.", "C."), tldr="Widgets cut cost by 42.7%."), [None] * 3, widgets)
    assert checked.tldr_problem == "gives 42.7, which the paper does not" and not checked.usable
    fine = check_summary(summary(("A.", "B.", "C."), tldr="Widgets cut cost by 37.5%."), [None] * 3, widgets)
    assert fine.tldr_problem is None and fine.usable and fine.flawless


def test_the_lead_figure_must_be_one_the_paper_has() -> None:
    assert figure_label("Figure 9", ("Figure 1", "Figure 2")) is None
    assert figure_label("FIGURE 2", ("Figure 1", "Figure 2")) == "Figure 2"
    assert figure_label(None, ("Figure 1",)) is None
