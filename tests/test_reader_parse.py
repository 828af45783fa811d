"""Reading a paper from bytes: arXiv's HTML rendering (LaTeXML) and the PDF fallback, on real pages and PDFs
(tests/data/papers/README.md says where each came from) and on small papers made with LaTeXML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.clients.reader_html import parse_html, resolve_src
from bot.core.fulltext import FullText

PAPERS = Path(__file__).parent / "data" / "papers"


def read(name: str) -> bytes:
    return (PAPERS / name).read_bytes()


def html_of(name: str, *, url: str, arxiv_id: str, version: int) -> FullText:
    parsed = parse_html(read(name), url=url, arxiv_id=arxiv_id, version=version)
    assert parsed is not None, name
    return parsed


@pytest.fixture(scope="module")
def avse() -> FullText:
    return html_of("2508.08468v6.html", url="https://arxiv.org/html/2508.08468v6", arxiv_id="2508.08468", version=6)


def all_text(paper: FullText) -> str:
    return "\n".join(
        [p.text for p in paper.paragraphs]
        + [f.caption for f in paper.figures]
        + [p.caption for f in paper.figures for p in f.panels]
        + list(paper.table_captions)
    )


# --- the real 2026 page (arXiv wrapper, versioned image directory, no <base>) ---


def test_real_page_identity_and_licence(avse: FullText) -> None:
    assert (avse.arxiv_id, avse.version, avse.kind) == ("2508.08468", 6, "html")
    assert avse.url == "https://arxiv.org/html/2508.08468v6"
    assert avse.license == "CC BY 4.0"
    assert avse.is_cc_licensed


def test_real_page_figures_with_panels_and_resolved_images(avse: FullText) -> None:
    assert [f.label for f in avse.figures] == [f"Figure {n}" for n in range(1, 11)]
    assert [f.anchor for f in avse.figures][:2] == ["S4.F1", "S4.F2"]
    assert sum(len(f.panels) for f in avse.figures) == 10
    panels = {f.label: f.panels for f in avse.figures if f.panels}
    assert [p.label for p in panels["Figure 7"]] == ["Figure 7(a)", "Figure 7(b)", "Figure 7(c)", "Figure 7(d)"]
    assert panels["Figure 7"][1].caption == "Average RTT (network latency only)."
    assert panels["Figure 7"][1].image_url == "https://arxiv.org/html/2508.08468v6/x2.png"
    # Figure 5's panels print "(a) Wi-Fi" in the caption text itself, without a tag element.
    assert (panels["Figure 5"][0].label, panels["Figure 5"][0].caption) == ("Figure 5(a)", "Wi-Fi (802.11n)")
    panel_anchors = {p.anchor for f in avse.figures for p in f.panels}
    assert not panel_anchors & {f.anchor for f in avse.figures}, "a sub-figure is also listed as a figure"
    urls = [u for f in avse.figures for u in [f.image_url, *(p.image_url for p in f.panels)]]
    assert all(u and re.fullmatch(r"https://arxiv\.org/html/2508\.08468v6/[\w.]+\.png", u) for u in urls), urls
    assert all(f.kind == "raster" for f in avse.figures)
    first = avse.figures[0]
    assert first.caption == "Audio-Visual Speech Enhancement AI model architecture."
    assert first.image_url == "https://arxiv.org/html/2508.08468v6/fig1.png"


def test_real_page_table_captions(avse: FullText) -> None:
    assert avse.table_captions == (
        "TABLE I: AVSE Multimedia Profile Configurations",
        "TABLE II: Latency report of different AVSE deployments",
        "TABLE III: Model Complexity and Execution Time",
    )


def test_real_page_paragraphs_sections_and_anchors(avse: FullText) -> None:
    abstract, *body = avse.paragraphs
    assert (abstract.anchor, abstract.section) == ("abstract1", "Abstract")
    assert abstract.text.startswith("Real-time audio-visual speech enhancement (AVSE) is a key enabler")
    assert len(body) == 65  # 66 div.ltx_para, one of which only holds a list whose 4 items are paragraphs
    assert body[0].anchor == "S1.p1" and body[0].section == "I Introduction"
    assert all(re.fullmatch(r"(S[1-6]|Sx1)(\.SS\d)?(\.I\d\.i\d)?\.p\d+", p.anchor) for p in body)
    assert {p.section for p in body} >= {
        "I Introduction",
        "IV-A Model Architecture and Feature Fusion",
        "VI CONCLUSION",
    }
    item = next(p for p in body if p.anchor == "S1.I1.i1.p1")
    assert item.text.startswith("We present a real-world deployment")  # the bullet is not text
    assert all(p.text == " ".join(p.text.split()) for p in avse.paragraphs)


def test_real_page_has_no_wrapper_bibliography_or_footnote_text(avse: FullText) -> None:
    text = all_text(avse)
    for wrapper in (
        "Report GitHub Issue",
        "arXiv is now an independent nonprofit",
        "License:",
        "Index Terms",
        "Instructions for reporting errors",
        "Generated on",
        "A. Adeel, J. Ahmad",
    ):
        assert wrapper not in text


def test_real_page_math_is_flattened_through_alttext(avse: FullText) -> None:
    s3 = next(p for p in avse.paragraphs if p.anchor == "S3.p1")
    assert "be $y[n]=x[n]+d[n],$ where $x[n]$ denotes the clean target speech" in s3.text
    equation = next(p for p in avse.paragraphs if p.anchor == "S4.SS1.p2")
    assert r"$\mathbf{z}_{t}^{(a)}=\mathcal{E}_{a}(\mathbf{a}_{t}),$" in equation.text
    assert "𝐳" not in all_text(avse)  # the MathML presentation is not read


def test_real_page_under_another_final_url_keeps_images_on_the_html_root() -> None:
    # Redirected to the unversioned address with a trailing slash: the versioned src still names /html/<id>v6/.
    paper = html_of("2508.08468v6.html", url="https://arxiv.org/html/2508.08468/", arxiv_id="2508.08468", version=6)
    assert paper.figures[0].image_url == "https://arxiv.org/html/2508.08468v6/fig1.png"


# --- pages that are not usable: the reader falls back to the PDF ---


@pytest.mark.parametrize(
    "page",
    [
        read("2401.10725v1.html"),  # an author-supplied HTML submission, not LaTeXML
        read("stub-2508.08468v6.html"),  # wrapper, infobox, title and abstract, no body
        b"",
        b"\x00\xff\x00garbage",
        b"<html><body><article class='ltx_document'><div class='ltx_para'><p>Too short.</p></div></article></html>",
    ],
    ids=["not-latexml", "stub", "empty", "garbage", "tiny"],
)
def test_unusable_pages_give_none(page: bytes) -> None:
    assert parse_html(page, url="https://arxiv.org/html/2401.10725v1", arxiv_id="2401.10725", version=1) is None


# --- image addresses: every src form arXiv pages use ---


@pytest.mark.parametrize(
    ("src", "base", "expected"),
    [
        ("x1.png", "https://arxiv.org/html/2406.01234v2/", "https://arxiv.org/html/2406.01234v2/x1.png"),
        (
            "extracted/6148210/pics/intro.png",
            "https://arxiv.org/html/2501.00001v1/",
            "https://arxiv.org/html/2501.00001v1/extracted/6148210/pics/intro.png",
        ),
        (
            "/html/2406.02818/assets/fig.png",
            "https://arxiv.org/html/2406.02818v1/",
            "https://arxiv.org/html/2406.02818/assets/fig.png",
        ),
        ("2604.05015v1/x1.png", "https://arxiv.org/html/2604.05015v1/", "https://arxiv.org/html/2604.05015v1/x1.png"),
        (
            "2508.08468v6/fig1.png",
            "https://arxiv.org/html/2508.08468v6/",
            "https://arxiv.org/html/2508.08468v6/fig1.png",
        ),
        ("2508.08468v6/fig1.png", "https://arxiv.org/html/", "https://arxiv.org/html/2508.08468v6/fig1.png"),
        (
            "hep-th/9901001v2/x1.png",
            "https://arxiv.org/html/hep-th/9901001v2/",
            "https://arxiv.org/html/hep-th/9901001v2/x1.png",
        ),
        ("x1.png", "http://127.0.0.1:8080/html/2406.01234v2/", "http://127.0.0.1:8080/html/2406.01234v2/x1.png"),
        ("https://example.org/a.png", "https://arxiv.org/html/2406.01234v2/", "https://example.org/a.png"),
        (" x1.png ", "https://arxiv.org/html/2406.01234v2/", "https://arxiv.org/html/2406.01234v2/x1.png"),
        ("data:image/png;base64,iVBORw0KGgo=", "https://arxiv.org/html/2406.01234v2/", None),
        ("javascript:alert(1)", "https://arxiv.org/html/2406.01234v2/", None),
        ("", "https://arxiv.org/html/2406.01234v2/", None),
    ],
)
def test_resolve_src(src: str, base: str, expected: str | None) -> None:
    assert resolve_src(src, base=base) == expected
