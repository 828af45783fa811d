"""One view of a card (bot.core.card): what every surface shows, and which links, decided once."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.card import (
    MAX_CODE_LINKS,
    CardFigure,
    CardLink,
    card_view,
    code_links,
    hide_figures,
    lead_figure,
    paper_urls,
)
from bot.core.fulltext import Figure, FullText, Paragraph
from bot.core.models import Paper, SummarizedPaper, Summary, SummaryBatch

WHEN = dt.datetime(2025, 5, 28, 17, 0, tzinfo=dt.UTC)
PAPER = Paper(
    arxiv_id="2505.22653",
    version=2,
    title="The Climb Carves Wisdom Deeper Than the Summit",
    authors=("Ang Lv", "Ruobing Xie"),
    abstract="We study reward noise.",
    comment="Accepted by ACL 2025",
    journal_ref=None,
    primary_category="cs.CL",
    categories=("cs.CL", "cs.AI"),
    published=WHEN - dt.timedelta(days=2),
    updated=WHEN,
)
SUMMARY = Summary(
    language="en", tldr="Noise hurts less than expected.", takeaways=("One.", "Two."), abstract_translation=None,
    generator="llm", model="gpt-4o-mini", prompt_version="v1",
)  # fmt: skip


def with_text(abstract: str = "", comment: str | None = None) -> Paper:
    return dataclasses.replace(PAPER, abstract=abstract, comment=comment)


def test_card_view_leads_with_the_papers_identity_and_links():
    """The id without version, the linked title, the dates, the footer, and abs, PDF, HTML always."""
    view = card_view(SummarizedPaper(PAPER, SUMMARY))
    assert (view.arxiv_id, view.id_label, view.version) == ("2505.22653", "arXiv:2505.22653", 2)
    assert view.title_url == "https://arxiv.org/abs/2505.22653v2"
    assert view.dates == "Published 2025-05-26, updated 2025-05-28 (v2)"
    assert view.links == (
        CardLink("abs", "Abstract", "https://arxiv.org/abs/2505.22653v2"),
        CardLink("pdf", "PDF", "https://arxiv.org/pdf/2505.22653v2"),
        CardLink("html", "HTML", "https://arxiv.org/html/2505.22653v2"),
    )
    assert view.translation is None and view.translation_label is None
    assert view.footer == "Summary by gpt-4o-mini from the abstract; machine-written, check the paper."


def test_a_translation_comes_with_its_language_label():
    summary = dataclasses.replace(SUMMARY, language="zh", abstract_translation="我们研究奖励噪声。")
    view = card_view(SummarizedPaper(PAPER, summary))
    assert (view.translation, view.translation_label) == ("我们研究奖励噪声。", "Abstract (zh)")


def test_an_old_style_id_gets_its_links_too():
    view = card_view(SummarizedPaper(dataclasses.replace(PAPER, arxiv_id="hep-th/9901001", version=1), SUMMARY))
    assert view.id_label == "arXiv:hep-th/9901001"
    assert [link.url for link in view.links] == [
        "https://arxiv.org/abs/hep-th/9901001v1",
        "https://arxiv.org/pdf/hep-th/9901001v1",
        "https://arxiv.org/html/hep-th/9901001v1",
    ]


def test_code_links_come_from_the_abstract_and_the_comment():
    """GitHub, GitLab and Hugging Face URLs with a path; sentence punctuation and brackets trimmed; the
    links follow abs, PDF and HTML on the card."""
    paper = with_text(
        "Code is at https://github.com/lv-ang/noisy-rewards. (Models: https://huggingface.co/lv/noisy)",
        "See https://gitlab.com/lv/other",
    )
    assert code_links(paper) == (
        CardLink("code", "GitHub", "https://github.com/lv-ang/noisy-rewards"),
        CardLink("code", "Hugging Face", "https://huggingface.co/lv/noisy"),
    )
    assert card_view(SummarizedPaper(paper, SUMMARY)).links[3:] == code_links(paper)


def test_code_links_are_deduplicated_and_at_most_two():
    paper = with_text(
        "https://github.com/a/b and https://GitHub.com/a/b/ and https://github.com/a/b.git",
        "https://gitlab.com/c/d https://huggingface.co/e/f",
    )
    assert [link.url for link in code_links(paper)] == ["https://github.com/a/b", "https://gitlab.com/c/d"]
    assert MAX_CODE_LINKS == 2


@pytest.mark.parametrize(
    "comment",
    [
        "Project page: https://lv-ang.github.io/noisy/",
        "Our project website is available at https://lv-ang.github.io/noisy/.",
        "ACL 2025 (project page https://lv-ang.github.io/noisy/)",
    ],
)
def test_a_url_the_paper_calls_its_project_page_is_a_project_link(comment):
    assert code_links(with_text(comment=comment)) == (
        CardLink("project", "Project page", "https://lv-ang.github.io/noisy/"),
    )


@pytest.mark.parametrize(
    "text",
    [
        "Data at https://example.org/data",  # any other URL: not called a project page
        "Project page: see the appendix; also https://example.org/x",
        "http://github.com/a/b",  # https only
        "https://user@github.com/a/b",  # no userinfo
        "https://github.com@evil.example/a",
        "https://github.com:8443/a/b",  # no port
        "https://github.com.evil.example/a/b",  # a lookalike host
        "https://evil.example/github.com/a/b",
        "<https://evil.example|https://github.com/a/b>",
        'https://github.com/a|b https://github.com/a<b> https://github.com/a"b https://github.com/a`b',
        "https://github.com/a%zz",
        "javascript:alert(1)//https://github.com/a/b",
        "xhttps://github.com/a/b",
        "https://github.com https://github.com/",  # no repository
        "Project page: https://" + "a" * 600 + ".org/",  # longer than a Discord button allows
    ],
)
def test_hostile_or_foreign_urls_are_never_links(text):
    assert code_links(with_text(text, text)) == ()


def test_paper_urls_are_every_strict_url_in_order():
    paper = with_text("a https://x.org/1, http://y.org b", "c https://github.com/a/b.")
    assert paper_urls(paper) == ("https://x.org/1", "https://github.com/a/b")


@given(st.text(alphabet=st.sampled_from(list("https://github.com/aB-_.~%20|<>@:?#()[] \n")), max_size=200))
def test_every_code_link_is_a_clean_https_url(text):
    """Whatever the text, a link is https, on its own host, without a character that breaks a surface's syntax."""
    for link in code_links(with_text(text, text)):
        assert link.url.startswith("https://")
        assert not set(link.url) & set('|<>@ \n"`\\{}')
        assert link.kind == "code" and link.url.split("/")[2] in {"github.com", "gitlab.com", "huggingface.co"}


# Figures ----------------------------------------------------------------------------------------

PAGE = "https://arxiv.org/html/2505.22653v2"


def fig(n: int, *, kind: str = "raster", image: str | None = "", anchor: str | None = None) -> Figure:
    """Figure n of the HTML page, its image x{n}.png unless given (None: a drawing without one)."""
    url = f"{PAGE}/x{n}.png" if image == "" else image
    return Figure(f"Figure {n}", f"Caption {n}.", anchor or f"S1.F{n}", url, kind)  # type: ignore[arg-type]


def reading(*figures: Figure, kind: str = "html", license: str | None = "CC BY 4.0", url: str = PAGE) -> FullText:
    return FullText("2505.22653", 2, kind, url, license, (Paragraph("S1.p1", "1 Intro", "Text."),), figures)  # type: ignore[arg-type]


def read(text: FullText | None, pick: str | None = None) -> SummarizedPaper:
    return SummarizedPaper(PAPER, dataclasses.replace(SUMMARY, lead_figure=pick, source="html"), reading=text)


def test_the_lead_figure_is_figure_1_with_its_image_and_anchor_then_every_figure():
    view = card_view(read(reading(fig(1), fig(2))))
    assert view.figure == CardFigure("Figure 1", "Caption 1.", f"{PAGE}/x1.png", f"{PAGE}#S1.F1")
    assert [f.label for f in view.figures] == ["Figure 1", "Figure 2"]
    assert (view.source_kind, view.license) == ("html", "CC BY 4.0")


@pytest.mark.parametrize("pick", ["Figure 3", "figure 3", "Fig. 3", "Figure  3"])
def test_the_llms_pick_leads_when_the_paper_has_it(pick):
    view = card_view(read(reading(fig(1), fig(2), fig(3)), pick))
    assert view.figure is not None and view.figure.label == "Figure 3"
    assert [f.label for f in view.figures] == ["Figure 3", "Figure 1", "Figure 2"]


@pytest.mark.parametrize("pick", ["Figure 9", "Table 2", "", None, "3"])
def test_a_pick_the_paper_does_not_have_gives_figure_1(pick):
    assert lead_figure(read(reading(fig(2), fig(1)), pick)) == fig(1)


def test_without_a_figure_1_the_first_figure_leads():
    assert lead_figure(read(reading(fig(4), fig(5)))) == fig(4)


def test_a_drawing_without_an_image_gives_way_to_the_next_raster_figure():
    drawing = fig(1, kind="drawing", image=None)
    view = card_view(read(reading(drawing, fig(2), fig(3))))
    assert view.figure is not None and view.figure.label == "Figure 2"
    assert view.figures[1] == CardFigure("Figure 1", "Caption 1.", None, f"{PAGE}#S1.F1")
    # The pick is a drawing: the next raster figure after it, then from the start.
    two, three = fig(2, kind="drawing", image=None), fig(3, kind="drawing", image=None)
    assert lead_figure(read(reading(fig(1), two, fig(3)), "Figure 2")) == fig(3)
    assert lead_figure(read(reading(fig(1), fig(2), three), "Figure 3")) == fig(1)


def test_a_paper_of_drawings_only_shows_none_and_lists_them_all():
    view = card_view(read(reading(fig(1, kind="drawing", image=None), fig(2, kind="drawing", image=None))))
    assert view.figure is None
    assert [(f.label, f.image_url) for f in view.figures] == [("Figure 1", None), ("Figure 2", None)]


@pytest.mark.parametrize(
    "image",
    [
        "https://evil.example/track.png",  # another host than the page's
        "http://arxiv.org/html/2505.22653v2/x1.png",  # not https
        "https://arxiv.org/html/2505.22653v2/x1.png|<!here>",  # breaks a surface's link syntax
        "https://arxiv.org/html/2505.22653v2/" + "x" * 3000 + ".png",  # longer than Slack takes
    ],
)
def test_an_image_a_card_may_not_load_is_not_shown(image):
    view = card_view(read(reading(fig(1, image=image))))
    assert view.figure is None and view.figures[0].image_url is None


def test_a_hostile_anchor_links_to_the_page_itself():
    view = card_view(read(reading(fig(1, anchor='S1"><script>'))))
    assert view.figure is not None and view.figure.anchor_url == PAGE


def test_a_pdf_only_papers_lead_figure_is_uploaded_only_under_a_cc_licence():
    pdf = "https://arxiv.org/pdf/2505.22653v2"
    vector = Figure("Figure 1", "A vector plot.", "page=2", None, "drawing")
    cc = card_view(read(reading(vector, kind="pdf", url=pdf, license="CC BY-SA 4.0")))
    assert cc.figure == CardFigure("Figure 1", "A vector plot.", None, f"{pdf}#page=2", upload=True)
    other = card_view(read(reading(vector, kind="pdf", url=pdf, license=None)))
    assert other.figure == CardFigure("Figure 1", "A vector plot.", None, f"{pdf}#page=2", upload=False)
    licensed = card_view(
        read(reading(vector, kind="pdf", url=pdf, license="arXiv.org perpetual non-exclusive license"))
    )
    assert licensed.figure is not None and not licensed.figure.upload


def test_an_unread_paper_has_no_figures():
    view = card_view(read(None))
    assert (view.figure, view.figures, view.license) == (None, (), None)


def test_hide_figures_leaves_the_rest_of_the_reading():
    item = read(reading(fig(1)))
    (hidden,) = hide_figures(SummaryBatch(papers=(item,))).papers
    assert card_view(hidden).figure is None and card_view(hidden).figures == ()
    assert hidden.reading is not None and hidden.reading.license == "CC BY 4.0"
