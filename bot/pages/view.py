"""What a digest page shows, gathered for the templates: core's card view of each paper (with its lead figure
and every figure), the abstract, shortened authors, and the frame in the digest's language. Strings stay raw
here; the templates' environments clean and escape every one of them (bot.pages.render)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.card import CardLink, CardView, card_view
from bot.core.models import Digest, Paper, SummarizedPaper, SummaryBatch
from bot.core.render import DIGEST_AUTHORS, short_authors, window_line
from bot.core.sanitize import url_host
from bot.core.schedule import utc_days
from bot.pages.labels import Labels, labels_for

PAPER_LANGUAGE = "en"  # arXiv's titles and abstracts; the summaries are in the digest's language
_LANG_TAG = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")


@dataclass(frozen=True)
class Entry:
    number: int
    anchor: str  # "p3": the contents list links here
    card: CardView
    authors: str  # shortened past DIGEST_AUTHORS names
    abstract: str
    links: tuple[CardLink, ...]  # after the title (which links the abstract page): pdf, html, code, project


@dataclass(frozen=True)
class OmittedLine:
    id_label: str
    url: str
    title: str


@dataclass(frozen=True)
class DigestPage:
    labels: Labels
    summary_lang: str  # lang attribute of what the LLM wrote
    paper_lang: str
    heading: str  # "cs.CL digest, 1 December 2026"
    query: str
    window: str
    count: str  # "5 papers"
    entries: tuple[Entry, ...]
    omitted_heading: str  # empty when nothing was omitted
    omitted: tuple[OmittedLine, ...]
    omitted_more: str  # "… and 2 more": the omitted papers counted but not named (when some are named)
    empty: str
    image_sources: str  # the hosts the page's figures load from, for its CSP's img-src ("" when none)


def lang_tag(language: str) -> str:
    """`language` if it is a well-formed tag for a lang attribute, else English."""
    return language if _LANG_TAG.fullmatch(language) else PAPER_LANGUAGE


def link_label(link: CardLink, labels: Labels) -> str:
    return {"abs": labels.abs_link, "project": labels.project_link}.get(link.kind, link.label)


def entry(number: int, item: SummarizedPaper, labels: Labels) -> Entry:
    card = card_view(item)
    links = tuple(CardLink(link.kind, link_label(link, labels), link.url) for link in card.links if link.kind != "abs")
    return Entry(
        number=number,
        anchor=f"p{number}",
        card=card,
        authors=short_authors(card.authors, DIGEST_AUTHORS),
        abstract=item.paper.abstract,
        links=links,
    )


def _omitted_line(paper: Paper) -> OmittedLine:
    return OmittedLine(id_label=f"arXiv:{paper.arxiv_id}", url=paper.abs_url, title=paper.title)


def image_sources(entries: tuple[Entry, ...]) -> str:
    """`https://arxiv.org`: where the figures' images are (card.py shows only strictly valid https URLs)."""
    hosts = {url_host(f.image_url) for e in entries for f in e.card.figures if f.image_url}
    return " ".join(f"https://{host}" for host in sorted(hosts) if host)


def digest_page(digest: Digest) -> DigestPage:
    labels = labels_for(digest.language)
    named = digest.omitted_papers[: digest.omitted]
    unnamed = digest.omitted - len(named)
    entries = tuple(entry(n, item, labels) for n, item in enumerate(digest.papers, 1))
    return DigestPage(
        labels=labels,
        summary_lang=lang_tag(digest.language),
        paper_lang=PAPER_LANGUAGE,
        heading=labels.title.format(title=digest.title, date=labels.long_date(digest.date)),
        query=digest.query,
        window=(
            labels.window(digest.date, digest.days)
            if digest.window in (None, utc_days(digest.date, digest.days))
            else window_line(digest)  # an arXiv announcement: worded once, in core, for every renderer
        ),
        count=labels.count(labels.papers, len(digest.papers)),
        entries=entries,
        omitted_heading=labels.count(labels.omitted, digest.omitted) if digest.omitted > 0 else "",
        omitted=tuple(_omitted_line(p) for p in named),
        omitted_more=labels.omitted_more.format(n=unnamed) if named and unnamed > 0 else "",
        empty=" ".join([labels.empty.format(query=digest.query), *digest.empty_reasons]),
        image_sources=image_sources(entries),
    )


@dataclass(frozen=True)
class BatchPage:
    """Summary cards for references a person gave (paperboy summarize --format markdown)."""

    labels: Labels
    summary_lang: str
    paper_lang: str
    entries: tuple[Entry, ...]
    left_out: str


def batch_page(batch: SummaryBatch) -> BatchPage:
    language = batch.papers[0].summary.language if batch.papers else PAPER_LANGUAGE
    labels = labels_for(language)
    return BatchPage(
        labels=labels,
        summary_lang=lang_tag(language),
        paper_lang=PAPER_LANGUAGE,
        entries=tuple(entry(n, item, labels) for n, item in enumerate(batch.papers, 1)),
        left_out=labels.count(labels.left_out, batch.left_out) if batch.left_out else "",
    )
