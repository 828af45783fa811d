"""One view of a card: what a paper's card shows, in what order, with which links. Decided once
here; Slack, Discord, the console and the digest page only lay it out.

All text in a CardView is still untrusted raw text: each surface cleans and escapes it. The links
are built from the validated arXiv id, except code and project links, which are taken only from the
paper's own abstract and comment, strictly parsed (sanitize.find_urls) and limited to known code
hosts or a URL the paper calls its project page.

Figures come from the paper as the reader found it (SummarizedPaper.reading). The lead figure is the one
the LLM picked for the headline result if the paper has it, else Figure 1, else the first; it is shown
as an image only when it has one: an image file of the paper's own page (a strictly valid https URL on
the host the page was read from), or, for a PDF-only paper, a crop of its page that a platform uploads
(only under a CC licence: other figures may be linked to, not copied). Everything else links to where
the figure is in the paper.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Literal, TypeVar

from bot.core.fulltext import Figure, FullText
from bot.core.models import Digest, Paper, SourceKind, SummarizedPaper, Summary, SummaryBatch
from bot.core.sanitize import find_urls, one_line, url_host

LinkKind = Literal["abs", "pdf", "html", "code", "project"]
MAX_CODE_LINKS = 2
CODE_HOSTS = {"github.com": "GitHub", "gitlab.com": "GitLab", "huggingface.co": "Hugging Face"}
# "Project page: https://...", "our project website is available at https://...": the words right before the URL.
_PROJECT_WORDS = re.compile(
    r"\bproject\s*(?:page|website|site|homepage)[\s:,(-]*(?:(?:is\s+)?(?:available|hosted|online)\s+)?"
    r"(?:at|on|here)?[\s:(-]*$",
    re.I,
)
_PROJECT_LOOKBACK = 80
MAX_IMAGE_URL_CHARS = 3000  # Slack's image block; Discord's embed image takes longer ones
_ANCHOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=-]{0,63}")  # LaTeXML's "S1.F1", a PDF's "page=2"
_FIGURE_WORD = re.compile(r"^fig(?:ure)?\.?\s*", re.I)


@dataclass(frozen=True)
class CardLink:
    kind: LinkKind
    label: str
    url: str


@dataclass(frozen=True)
class CardFigure:
    """One figure of the paper as a card shows or lists it. `caption` is untrusted raw text."""

    label: str  # "Figure 1"
    caption: str
    image_url: str | None  # its own image on arXiv, to show; None for a drawing in the page or a PDF-only paper
    anchor_url: str  # where it is in the paper: the HTML rendering's figure (#S1.F1) or the PDF's page (#page=2)
    # A PDF-only paper's lead figure, CC licensed: the platform uploads its crop (bot.core.ports.FigureImages).
    upload: bool = False


@dataclass(frozen=True)
class CardView:
    """A paper's card as every surface shows it, in this order."""

    arxiv_id: str  # 2505.22653, no version
    id_label: str  # arXiv:2505.22653, shown on every card and digest entry
    version: int
    title: str
    title_url: str  # the abstract page
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    primary_category: str
    dates: str
    comment: str | None
    tldr: str
    takeaways: tuple[str, ...]
    translation: str | None
    translation_label: str | None  # "Abstract (zh)" when there is a translation
    links: tuple[CardLink, ...]  # abs, pdf, html always; then code and project links found in the paper
    footer: str
    figure: CardFigure | None = None  # the lead figure, shown on the card
    figures: tuple[CardFigure, ...] = ()  # every figure of the paper, the lead first
    source_kind: SourceKind = "abstract"  # what the summary was written from
    license: str | None = None  # the paper's licence, when its page said
    why: str | None = None  # in a digest ranked for a channel: why it was picked (untrusted: may quote a title)


def html_url(paper: Paper) -> str:
    """arXiv's HTML rendering of this version (built from the validated id, like abs_url)."""
    return f"https://arxiv.org/html/{paper.arxiv_id}v{paper.version}"


def _utc(t: dt.datetime) -> dt.datetime:
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def dates_line(paper: Paper) -> str:
    """`Published 2025-05-28`, plus `, updated 2025-05-30 (v2)` when this version is from another day."""
    published, updated = _utc(paper.published).date(), _utc(paper.updated).date()
    if published == updated:
        return f"Published {published.isoformat()}"
    return f"Published {published.isoformat()}, updated {updated.isoformat()} (v{paper.version})"


# What an LLM summary was written from, as its footer says it.
_WRITTEN_FROM = {"html": "from the full text (HTML)", "pdf": "from the PDF", "abstract": "from the abstract"}


def footer_line(summary: Summary) -> str:
    """How the summary was made, with the reminder that a machine wrote it."""
    if summary.generator == "extractive":
        note = one_line(summary.note or "")
        why = f"sentences from the abstract; {note}" if note else "sentences from the abstract"
        return f"Extractive summary ({why}); machine-written, check the paper."
    model = one_line(summary.model or "") or "a language model"
    return f"Summary by {model} {_WRITTEN_FROM[summary.source]}; machine-written, check the paper."


def paper_urls(paper: Paper) -> tuple[str, ...]:
    """Every strictly valid https URL the paper's abstract and comment give, in order."""
    return tuple(url for text in (paper.abstract, paper.comment or "") for _, _, url in find_urls(text))


def _normalized(url: str) -> str:
    """Scheme and host lower-cased (the path is case-sensitive)."""
    host = url_host(url)
    return f"https://{host}{url[len('https://') + len(host) :]}"


def _dedupe_key(url: str) -> str:
    key = _normalized(url).rstrip("/")
    return key.removesuffix(".git").lower()


def code_links(paper: Paper) -> tuple[CardLink, ...]:
    """Code and project links the paper gives in its abstract or comment: GitHub, GitLab and Hugging
    Face URLs with a path, and any URL the text calls its project page; https only, deduplicated,
    at most MAX_CODE_LINKS."""
    links: list[CardLink] = []
    seen: set[str] = set()
    for text in (paper.abstract, paper.comment or ""):
        for start, _, raw in find_urls(text):
            url = _normalized(raw)
            host = url_host(url).removeprefix("www.")
            path = url[len("https://") + len(url_host(url)) :].strip("/")
            if host in CODE_HOSTS and path:
                link = CardLink("code", CODE_HOSTS[host], url)
            elif _PROJECT_WORDS.search(text[max(0, start - _PROJECT_LOOKBACK) : start]):
                link = CardLink("project", "Project page", url)
            else:
                continue
            if (key := _dedupe_key(url)) not in seen:
                seen.add(key)
                links.append(link)
            if len(links) == MAX_CODE_LINKS:
                return tuple(links)
    return tuple(links)


def card_links(paper: Paper) -> tuple[CardLink, ...]:
    return (
        CardLink("abs", "Abstract", paper.abs_url),
        CardLink("pdf", "PDF", paper.pdf_url),
        CardLink("html", "HTML", html_url(paper)),
        *code_links(paper),
    )


def _same_label(a: str, b: str) -> bool:
    """Labels that name one figure: "Figure 3", "figure 3", "Fig. 3", "Figure  3"."""

    def key(label: str) -> str:
        return "".join(_FIGURE_WORD.sub("", one_line(label)).split()).casefold()

    return bool(key(a)) and key(a) == key(b)


def _image_url(figure: Figure, reading: FullText) -> str | None:
    """The figure's image address when a card may show it: a strictly valid https URL (safe in every
    surface's link syntax) on the host the paper's page was read from, so a page cannot make cards load
    an image from anywhere else."""
    url = figure.image_url
    if url is None or len(url) > MAX_IMAGE_URL_CHARS or not url_host(url) or url_host(url) != url_host(reading.url):
        return None
    return url


def _showable(figure: Figure, reading: FullText) -> bool:
    # A PDF's figures, raster or vector, are cropped from the rendered page; a page's drawing (SVG, TikZ) is not.
    return reading.kind == "pdf" or _image_url(figure, reading) is not None


def lead_figure(item: SummarizedPaper) -> Figure | None:
    """The figure a card shows: the LLM's pick if the paper has it, else Figure 1, else the first; one that
    cannot be shown as an image gives way to the next that can (after it, then from the start), or none."""
    reading = item.reading
    if reading is None or not reading.figures:
        return None
    figures = reading.figures
    picked = item.summary.lead_figure or ""
    start = next((i for i, f in enumerate(figures) if _same_label(f.label, picked)), None)
    if start is None:
        start = next((i for i, f in enumerate(figures) if _same_label(f.label, "Figure 1")), 0)
    candidates = (*figures[start:], *figures[:start])
    return next((f for f in candidates if _showable(f, reading)), None)


def figure_anchor_url(paper: Paper, reading: FullText, figure: Figure) -> str:
    """Where the figure is, on the paper's own arXiv page (built from the validated id, like the card's links):
    the HTML rendering's figure, or the PDF's page."""
    base = paper.pdf_url if reading.kind == "pdf" else html_url(paper)
    return f"{base}#{figure.anchor}" if _ANCHOR.fullmatch(figure.anchor) else base


def card_figures(item: SummarizedPaper, lead: Figure | None) -> tuple[CardFigure, ...]:
    """Every figure of the paper, `lead` (see lead_figure) first; () when it was not read."""
    reading = item.reading
    if reading is None:
        return ()
    ordered = ([lead] if lead is not None else []) + [f for f in reading.figures if f is not lead]
    return tuple(
        CardFigure(
            label=f.label,
            caption=f.caption,
            image_url=_image_url(f, reading),
            anchor_url=figure_anchor_url(item.paper, reading, f),
            upload=f is lead and reading.kind == "pdf" and reading.is_cc_licensed,
        )
        for f in ordered
    )


def figure_credit(view: CardView) -> str:
    """What a re-posted figure carries (a CC licence asks for attribution): `Figure 1 of arXiv:2505.22653v2
    (CC BY 4.0)`."""
    label = one_line(view.figure.label if view.figure else "") or "A figure"
    licence = f" ({one_line(view.license)})" if view.license and one_line(view.license) else ""
    return f"{label} of {view.id_label}v{view.version}{licence}"


def file_stem(text: str) -> str:
    """`Figure 1(a)` -> `figure-1-a`: a file name any platform and file system takes (letters, digits, `.`, `-`)."""
    return re.sub(r"[^a-z0-9.]+", "-", one_line(text).lower()).strip("-.")[:100] or "figure"


def figure_filename(view: CardView) -> str:
    """`arxiv-2505.22653v2-figure-1.png`, for the card's lead figure."""
    label = view.figure.label if view.figure else "figure"
    return f"{file_stem(f'arxiv-{view.arxiv_id}v{view.version}-{label}')}.png"


def _without_figures(item: SummarizedPaper) -> SummarizedPaper:
    if item.reading is None or not item.reading.figures:
        return item
    return replace(item, reading=replace(item.reading, figures=()))


_Result = TypeVar("_Result", SummaryBatch, Digest)


def hide_figures(result: _Result, hide: bool = True) -> _Result:
    """The batch or digest without figures when `hide` (`reader.figures = false`): cards show none, pages list none."""
    if not hide:
        return result
    return replace(result, papers=tuple(_without_figures(item) for item in result.papers))


def card_view(item: SummarizedPaper) -> CardView:
    p, s = item.paper, item.summary
    translation = s.abstract_translation or None
    lead = lead_figure(item)
    figures = card_figures(item, lead)
    return CardView(
        arxiv_id=p.arxiv_id,
        id_label=f"arXiv:{p.arxiv_id}",
        version=p.version,
        title=p.title,
        title_url=p.abs_url,
        authors=p.authors,
        categories=p.categories,
        primary_category=p.primary_category,
        dates=dates_line(p),
        comment=p.comment or None,
        tldr=s.tldr,
        takeaways=s.takeaways,
        translation=translation,
        translation_label=f"Abstract ({one_line(s.language) or 'translated'})" if translation else None,
        links=card_links(p),
        footer=footer_line(s),
        figure=figures[0] if lead is not None else None,
        figures=figures,
        source_kind=s.source,
        license=item.reading.license if item.reading else None,
        why=one_line(item.why or "") or None,
    )
