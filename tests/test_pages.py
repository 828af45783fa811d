"""The digest page (bot/pages): HTML and Markdown from the templates, laid out from core's card view.

The zh fixture (tests/data/digest-zh.json) is the example digest's papers as Paperboy would summarize
them, plus one paper with a very long title, a very long URL and a long unbroken word.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from bot.core.models import Digest, InputError, Paper, SummarizedPaper, Summary, SummaryBatch
from bot.pages import render_batch, render_digest
from bot.pages.render import md_code, md_linked, md_url
from tests.test_render import HOSTILE_TITLE, hostile_sp, make_digest, make_sp

DATA = Path(__file__).parent / "data"
logging.getLogger("markdown_it").setLevel(logging.INFO)  # it logs every rule it tries at DEBUG
LONG_URL_START = "https://github.com/very-long-organisation-name-for-testing/"


def _paper(obj: dict) -> Paper:
    return Paper(
        arxiv_id=obj["arxiv_id"],
        version=obj["version"],
        title=obj["title"],
        authors=tuple(obj["authors"]),
        abstract=obj["abstract"],
        comment=obj["comment"],
        journal_ref=obj["journal_ref"],
        primary_category=obj["primary_category"],
        categories=tuple(obj["categories"]),
        published=dt.datetime.fromisoformat(obj["published"]),
        updated=dt.datetime.fromisoformat(obj["updated"]),
    )


def zh_digest() -> Digest:
    """A realistic Chinese digest: 5 summarized papers, 3 omitted, over 3 days."""
    obj = json.loads((DATA / "digest-zh.json").read_text(encoding="utf-8"))
    papers = tuple(
        SummarizedPaper(
            _paper(p),
            Summary(
                language=p["summary"]["language"],
                tldr=p["summary"]["tldr"],
                takeaways=tuple(p["summary"]["takeaways"]),
                abstract_translation=p["summary"]["abstract_translation"],
                generator=p["summary"]["generator"],
                model=p["summary"]["model"],
                prompt_version="v1",
            ),
        )
        for p in obj["papers"]
    )
    omitted = tuple(_paper(p) for p in obj["omitted_papers"])
    return Digest(
        title=obj["title"],
        date=dt.date.fromisoformat(obj["date"]),
        query=obj["query"],
        papers=papers,
        omitted=len(omitted),
        language=obj["language"],
        days=obj["days"],
        omitted_papers=omitted,
    )


class Page(HTMLParser):
    """The parts of an HTML page the tests look at: elements with their attributes and the
    nearest lang around them, and the text of each element kind."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], str]] = []  # tag, attributes, inherited lang
        self.text: dict[str, list[str]] = {}
        self._open: list[tuple[str, str, list[str]]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        lang = attributes.get("lang") or (self._open[-1][1] if self._open else "")
        self.elements.append((tag, attributes, lang))
        if tag not in {"meta", "br", "link", "img"}:
            self._open.append((tag, lang, []))

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            name, _, parts = self._open.pop()
            self.text.setdefault(name, []).append("".join(parts).strip())
            if self._open:
                self._open[-1][2].extend(parts)
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1][2].append(data)

    def find(self, tag: str, **attrs: str) -> list[tuple[dict[str, str], str]]:
        return [(a, lang) for t, a, lang in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def hrefs(html: str) -> list[str]:
    return [a["href"] for a, _ in Page(html).find("a") if "href" in a]


# HTML ----------------------------------------------------------------------------------------------


def test_zh_page_has_a_real_title_chinese_labels_and_lang_per_block():
    """Title with the date in Chinese; headings and labels in Chinese; paper text lang=en, summaries lang=zh."""
    html = render_digest(zh_digest(), "html")
    page = Page(html)
    assert page.text["title"] == ["cs.CL digest · 2025年5月30日"] == page.text["h1"]
    assert page.find("html")[0][0]["lang"] == "zh-Hans"
    assert "目录" in page.text["h2"] and "另有 3 篇论文符合条件,未收录" in page.text["h2"]
    assert page.text["h3"] == ["要点"] * 5
    assert page.text["summary"] == ["摘要", "中文翻译"] * 5
    assert "2025年5月28日至2025年5月30日(UTC)首次提交的论文" in html
    assert not [attrs for attrs, _ in page.find("details") if "open" in attrs]  # folded until asked for
    assert [lang for _, lang in page.find("details")] == ["en", "zh"] * 5
    titles = [lang for a, lang in page.find("a") if a["href"].startswith("https://arxiv.org/abs/") and "class" not in a]
    assert titles == ["en"] * 5
    assert [lang for _, lang in page.find("p", **{"class": "authors"})] == ["en"] * 5
    assert [lang for _, lang in page.find("p", **{"class": "tldr"})] == ["zh"] * 5
    assert [lang for _, lang in page.find("ul", **{"class": "points"})] == ["zh"] * 5


def test_page_entries_are_compact_and_the_contents_lists_titles_only():
    """Each entry: number, linked title, id, categories, authors, tl;dr, takeaways; the contents list
    holds the titles alone, linking to the entries; the omitted papers are one line each at the end."""
    digest = zh_digest()
    html = render_digest(digest, "html")
    page = Page(html)
    nav = html[html.index("<nav") : html.index("</nav>")]
    assert Page(nav).text["a"] == [one.paper.title for one in digest.papers]
    assert [a["href"] for a, _ in Page(nav).find("a")] == ["#p1", "#p2", "#p3", "#p4", "#p5"]
    assert [a["id"] for a, _ in page.find("article")] == ["p1", "p2", "p3", "p4", "p5"]
    first = html[html.index('<article id="p1">') : html.index("</article>")]
    for part in (
        ">arXiv:2505.22653v1</a>",
        '<span class="cat">cs.CL</span> cs.AI',
        "Published 2025-05-28",
        "Preprint",
        "Ang Lv, Ruobing Xie, Xingwu Sun, Zhanhui Kang, Rui Yan",
        "即使把40%的奖励随机翻转",
        "研究关注大型语言模型在强化学习训练后的奖励噪声影响。",
        'href="https://arxiv.org/pdf/2505.22653v1">PDF</a>',
        'href="https://arxiv.org/html/2505.22653v1">HTML</a>',
        'href="https://github.com/trestad/Noisy-Rewards-in-Learning-to-Reason">GitHub</a>',
        "Summary by gpt-4o-mini from the abstract",
    ):
        assert part in first, part
    omitted = html[html.index('<section class="omitted"') :]
    assert Page(omitted).text["li"] == [f"arXiv:{p.arxiv_id} {p.title}" for p in digest.omitted_papers]
    assert 'href="https://arxiv.org/abs/2505.22501v1"' in omitted


def test_page_is_self_contained_and_links_only_what_we_built():
    """CSP: nothing to load, nothing to run; every href is an anchor, an arXiv link built from the id,
    or a URL the paper itself gives, strictly parsed."""
    html = render_digest(zh_digest(), "html")
    assert html.startswith("<!DOCTYPE html>")
    assert "default-src 'none'; style-src 'unsafe-inline'" in html
    assert "<script" not in html and "src=" not in html and "<link" not in html and "@import" not in html
    assert "overflow-wrap: anywhere" in html
    for href in hrefs(html):
        assert re.fullmatch(r"#p\d|https://arxiv\.org/(abs|pdf|html)/2505\.\d{5}v\d|https://github\.com/\S+", href)


def test_page_escapes_hostile_text():
    """A title, abstract, comment and summary full of markup stay text; a disguised link is not a link."""
    html = render_digest(make_digest(0, papers=(hostile_sp(), make_sp())), "html")
    assert "<script" not in html.lower() and "&lt;script&gt;" in html
    assert "&lt;!channel&gt;" in html and "&lt;!here&gt;" in html
    assert not [h for h in hrefs(html) if "evil" in h]
    assert "\u202e" not in html


def test_english_page_frame():
    """An English digest: the date spelt out, English labels, no translation fold."""
    html = render_digest(make_digest(2, omitted=4), "html")
    page = Page(html)
    assert page.text["h1"] == ["cs.CL daily, 30 May 2025"]
    assert page.text["summary"] == ["Abstract", "Abstract"]
    assert "Contents" in page.text["h2"] and "4 more papers matched" in page.text["h2"]
    assert "li" not in Page(html[html.index('<section class="omitted"') :]).text  # counted, not named
    some = dataclasses.replace(make_digest(1, omitted=3), omitted_papers=zh_digest().omitted_papers[:1])
    assert "… and 2 more" in Page(render_digest(some, "html")).text["li"]
    assert "Papers first submitted on 30 May 2025 (UTC)" in html


def test_traditional_chinese_and_other_languages():
    """zh-TW gets traditional labels; a language without labels gets the English frame, lang set to it."""
    tw = Page(render_digest(dataclasses.replace(zh_digest(), language="zh-TW"), "html"))
    assert tw.text["summary"][:2] == ["摘要", "中文翻譯"] and tw.text["h3"][0] == "要點"
    de = render_digest(make_digest(1, language="de"), "html")
    assert '<html lang="en">' in de and '<p class="tldr" lang="de">' in de
    bad = render_digest(make_digest(1, language='x" onload="y'), "html")
    assert 'lang="en"' in bad and "onload" not in bad.split("<body>")[0] + bad.split("<main>")[1].split('"tldr"')[0]


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_empty_page_says_no_new_papers(fmt):
    """No papers: one plain line, no contents."""
    out = render_digest(make_digest(0), fmt)
    assert "No new papers matched “cat:cs.CL” in this window." in out
    assert "Contents" not in out and "<details" not in out


# Markdown ------------------------------------------------------------------------------------------


def markdown_html(md: str) -> str:
    """The Markdown as a CommonMark renderer shows it (raw HTML passed through, as GitHub does)."""
    return MarkdownIt("commonmark", {"html": True}).render(md)


def test_markdown_digest_reads_like_the_html_page():
    """The same frame and entries: Chinese labels, titles-only contents, folded abstract and translation
    with lang set, the omitted papers one line each."""
    digest = zh_digest()
    md = render_digest(digest, "markdown")
    assert md.startswith("# cs.CL digest · 2025年5月30日\n")
    assert "**目录**\n\n1. [The Climb Carves Wisdom Deeper Than the Summit: On the Noisy Rewards" in md
    assert md.count('<details lang="en"><summary lang="zh-Hans">摘要</summary>') == 5
    assert md.count('<details lang="zh"><summary lang="zh-Hans">中文翻译</summary>') == 5
    assert "**要点**\n\n- 研究关注大型语言模型" in md
    assert "`arXiv:2505.22653v1` · **cs.CL** cs.AI · Published 2025-05-28 · Preprint\\\nAng Lv," in md
    last = "- [arXiv:2505.22425](https://arxiv.org/abs/2505.22425v1) Scaling Reasoning without Attention"
    assert md.rstrip().endswith(last)
    page = Page(markdown_html(md))
    assert len(page.find("h3")) == 5 and len(page.find("details")) == 10
    assert page.text["summary"] == ["摘要", "中文翻译"] * 5
    assert not page.find("hr")[1:]  # one rule before the omitted papers; a stray --- would make a heading
    assert "<h2>" not in markdown_html(md)  # nothing turned into a setext heading


def test_markdown_urls_are_links_without_backslashes():
    """Every URL, in a link or in the text, reaches the reader whole: no backslash escapes inside
    (GitHub keeps them in the link), a CJK sentence after a URL is not part of it."""
    md = render_digest(zh_digest(), "markdown")
    rendered = markdown_html(md)
    links = hrefs(rendered)
    assert not [h for h in links if "\\" in h or "%5C" in h]
    assert "https://github.com/trestad/Noisy-Rewards-in-Learning-to-Reason" in links
    long_urls = [h for h in links if h.startswith(LONG_URL_START)]
    assert long_urls and all(h.endswith("_many_parameters_v2.yaml") for h in long_urls)
    assert "https://arxiv.org/abs/2505.22338v2" in links and "#p5" in links
    for url in re.findall(r"https://[^\s<>)\]]+", md):
        assert "\\" not in url, url
    assert "Reason>获得。" in md  # the autolink ends where the URL does


def test_markdown_escapes_hostile_text_and_keeps_disguised_links_inert():
    """Markup in a title shows literally; `<https://evil|arxiv>` is not a link; mentions stay text."""
    md = render_digest(make_digest(0, papers=(hostile_sp(),)), "markdown")
    rendered = markdown_html(md)
    assert "<script" not in rendered and "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered
    assert not [h for h in hrefs(rendered) if "evil" in h]
    assert "<code>https://evil</code>" in rendered
    assert "<strong>bold</strong>" not in rendered and "*bold*" in rendered


def test_markdown_cards_show_a_hostile_paper_literally():
    """Mentions, emphasis, code fences, spoilers and tags in a title, comment and summary come out as
    text: the only markup is the template's, the only links the ones we built."""
    md = render_batch(SummaryBatch((hostile_sp(),)), "markdown")
    assert "\\*bold\\*" in md and "\\`\\`\\`code" in md and "\\|\\|spoiler\\|\\|" in md
    assert "\\<script\\>" in md and "\\<!channel\\>" in md and "\\<!here\\>" in md
    rendered = Page(markdown_html(md))
    assert {tag for tag, _, _ in rendered.elements} <= {"a", "h3", "p", "code", "strong", "ul", "li", "details",
                                                         "summary", "br", "sub"}  # fmt: skip
    assert rendered.text["h3"] == [f"1. {HOSTILE_TITLE}"]
    assert "<@U123> 12 pages" in rendered.text["p"][0] and "Read it ||now|| <!here>" in rendered.text["p"][1]
    assert rendered.text["li"] == ["*one*", "`two`"]
    assert {a.get("href") for a, _ in rendered.find("a")} == {
        None,  # the anchor the contents list links to
        "https://arxiv.org/abs/2505.22653v1",
        "https://arxiv.org/pdf/2505.22653v1",
        "https://arxiv.org/html/2505.22653v1",
    }


def test_markdown_filters():
    """The filters behind the templates: code spans hold any backticks, URLs are percent-encoded."""
    assert md_code("a`b") == "``a`b``" and md_code("`x`") == "`` `x` ``"
    assert md_url("https://example.org/a_(b)") == "https://example.org/a_%28b%29"
    with pytest.raises(ValueError):
        md_url("javascript:alert(1)")
    assert md_linked("see https://example.org/a_b, and *x*") == "see <https://example.org/a_b>, and \\*x\\*"
    assert md_linked("run javascript://x now") == "run `javascript://x` now"


def test_markdown_cards_for_summarize():
    """summarize --format markdown: the same entries without the digest frame, a left-out line."""
    batch = SummaryBatch((make_sp(), hostile_sp()), (InputError("bad", "not an arXiv reference: 'bad'"),), left_out=2)
    md = render_batch(batch, "markdown")
    assert "not an arXiv reference" not in md  # errors go to stderr
    assert md.startswith('### <a name="p1"></a>1. [The Climb Carves Wisdom Deeper Than the Summit]')
    assert "**TL;DR** LLMs trained to reason with RL tolerate heavy reward noise." in md
    assert "**Key takeaways**" in md and "\n---\n" in md
    assert md.rstrip().endswith("*2 more references were left out.*")
    assert "[PDF](https://arxiv.org/pdf/2505.22653v1)" in md


def test_render_digest_takes_every_format():
    """bot.pages.render_digest is the one entry point: text and json come from core, unchanged."""
    digest = make_digest(2)
    assert json.loads(render_digest(digest, "json"))["papers"][0]["arxiv_id"] == "2505.22651"
    assert render_digest(digest, "text").startswith("cs.CL daily: 2025-05-30")
    with pytest.raises(ValueError, match="html"):
        render_digest(digest, "yaml")
    with pytest.raises(ValueError, match="markdown"):
        render_batch(SummaryBatch(()), "html")


def test_importing_the_pages_does_not_import_jinja2():
    """The command line imports bot.pages; jinja2 loads only when a page is rendered."""
    code = "import sys, bot.pages; assert 'jinja2' not in sys.modules, 'jinja2 imported'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# Figures ---------------------------------------------------------------------------------------------


def with_figures(sp: SummarizedPaper) -> SummarizedPaper:
    from bot.core.fulltext import Figure, FullText, Paragraph

    page = f"https://arxiv.org/html/{sp.paper.arxiv_id}v{sp.paper.version}"
    figures = (
        Figure("Figure 1", "The <b>pipeline</b> [x](javascript:alert(1))", "S1.F1", f"{page}/x1.png", "raster"),
        Figure("Figure 2", "A drawing in the page.", "S2.F2", None, "drawing"),
        Figure("Figure 3", "Tracked.", "S3.F3", "https://evil.example/pixel.png", "raster"),
    )
    text = FullText(
        sp.paper.arxiv_id, sp.paper.version, "html", page, "CC BY 4.0", (Paragraph("S1.p1", "", "x"),), figures
    )
    return dataclasses.replace(sp, reading=text)


def test_html_page_shows_the_lead_figure_and_folds_every_figure():
    """The lead figure's image under the takeaways, linked to the figure; a folded "Figures" section with each
    figure; images only from arXiv (the CSP says so), none from elsewhere; labels in the digest's language."""
    digest = dataclasses.replace(zh_digest(), papers=(with_figures(zh_digest().papers[0]),))
    html = render_digest(digest, "html")
    page = Page(html)
    base = "https://arxiv.org/html/2505.22653v1"
    assert "default-src 'none'; style-src 'unsafe-inline'; img-src https://arxiv.org\"" in html
    assert [a["src"] for a, _ in page.find("img")] == [f"{base}/x1.png", f"{base}/x1.png"]  # lead, then in the fold
    assert "论文图表 (3)" in page.text["summary"]
    figures = html[
        html.index('<details class="figures">') : html.index("</details>", html.index('<details class="figures">'))
    ]
    assert [a["href"] for a, _ in Page(figures).find("a")] == [f"{base}#S1.F1"] * 2 + [f"{base}#S2.F2", f"{base}#S3.F3"]
    assert (
        "&lt;b&gt;pipeline&lt;/b&gt;" in html and "<b>pipeline" not in html and "javascript" not in "".join(hrefs(html))
    )
    english = render_digest(dataclasses.replace(digest, language="en"), "html")
    assert "Figures (3)" in Page(english).text["summary"]


def test_markdown_shows_the_lead_figure_and_folds_every_figure():
    digest = dataclasses.replace(zh_digest(), papers=(with_figures(zh_digest().papers[0]),))
    md = render_digest(digest, "markdown")
    base = "https://arxiv.org/html/2505.22653v1"
    lead = f"[![Figure 1]({base}/x1.png)]({base}#S1.F1)\n\n*[Figure 1]({base}#S1.F1)*: The \\<b\\>pipeline"
    assert md.count(lead) == 2  # under the takeaways, and first in the fold
    assert '<summary lang="zh-Hans">论文图表 (3)</summary>' in md and "pixel.png" not in md
    assert f"*[Figure 2]({base}#S2.F2)*: A drawing in the page." in md
    html = markdown_html(md)
    assert [a["src"] for a, _ in Page(html).find("img")] == [f"{base}/x1.png"] * 2


def test_a_page_without_figures_loads_no_images():
    html = render_digest(zh_digest(), "html")
    assert "img-src" not in html and "<img" not in html and "<figure" not in html
