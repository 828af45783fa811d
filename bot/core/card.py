"""One view of a card: what a paper's card shows, in what order, with which links. Decided once
here; Slack, Discord, the console and the digest page only lay it out.

All text in a CardView is still untrusted raw text: each surface cleans and escapes it. The links
are built from the validated arXiv id, except code and project links, which are taken only from the
paper's own abstract and comment, strictly parsed (sanitize.find_urls) and limited to known code
hosts or a URL the paper calls its project page.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

from bot.core.models import Paper, SummarizedPaper, Summary
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


@dataclass(frozen=True)
class CardLink:
    kind: LinkKind
    label: str
    url: str


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


def footer_line(summary: Summary) -> str:
    """How the summary was made, with the reminder that a machine wrote it."""
    if summary.generator == "extractive":
        note = one_line(summary.note or "")
        why = f"sentences from the abstract; {note}" if note else "sentences from the abstract"
        return f"Extractive summary ({why}); machine-written, check the paper."
    model = one_line(summary.model or "") or "a language model"
    return f"Summary by {model} from the abstract; machine-written, check the paper."


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


def card_view(item: SummarizedPaper) -> CardView:
    p, s = item.paper, item.summary
    translation = s.abstract_translation or None
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
    )
