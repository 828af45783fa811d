"""A digest: the papers matching a query in a window (an arXiv announcement, or whole UTC days), filtered,
ranked, summarized; an empty one says why."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Sequence

from bot.core.categories import unknown_categories, unknown_category_line
from bot.core.models import Digest, DigestRequest, Paper
from bot.core.ports import PaperSource, Progress, Store
from bot.core.schedule import Window, announced_window, latest_announcement, unannounced_note, utc_days
from bot.core.signals import RankedPaper
from bot.core.summaries import SummaryService, report_progress, utc_now
from bot.core.taste import TasteService, authors_first, keyword_order, keyword_ranking

_FIELD_TERM = re.compile(r'(?:(ti|abs|all|au|cat|co|jr|rn|id|submittedDate):)?("[^"]+"|\[[^\]]*\]|[^\s()"]+)')
_OPERATORS = {"AND", "OR", "ANDNOT", "NOT", "TO"}
MAX_FOLLOWED_PAPERS = 50  # a followed author's papers searched for apart, when the search was cut short


def latest_announcement_request(request: DigestRequest, now: dt.datetime) -> DigestRequest:
    """`request` over arXiv's most recent announcement at `now`: what an ad-hoc digest covers unless a date
    or a number of days is asked for (arXiv makes papers public only when it announces them)."""
    return dataclasses.replace(request, date=latest_announcement(now).date(), days=1, window=announced_window(now))


def request_window(request: DigestRequest) -> Window:
    return request.window or utc_days(request.date, request.days)


def empty_reasons(query: str, window: Window, now: dt.datetime, *, already_sent: int = 0) -> tuple[str, ...]:
    """Why a digest of `query` over `window` found nothing, and what to try: one sentence each."""
    reasons = [unknown_category_line(value) for value in unknown_categories(query)]
    if already_sent:
        were = "paper was" if already_sent == 1 else "papers were"
        reasons.append(f"{already_sent} matching {were} already posted in this channel.")
    if (note := unannounced_note(window, now)) is not None:
        reasons.append(note)
    if not reasons:
        reasons.append(
            "Nothing matching it was submitted in this window: try a broader query, "
            "or more days (--days 7: the last 7 whole UTC days)."
        )
    return tuple(reasons)


def query_terms(query: str) -> list[str]:
    """The words a query looks for in titles and abstracts (categories, authors and dates are not words)."""
    terms = []
    for field, value in _FIELD_TERM.findall(query):
        if value in _OPERATORS or field in {"cat", "au", "id", "submittedDate", "jr", "rn"}:
            continue
        terms.append(value.strip('"').lower())
    return [t for t in terms if len(t) > 1]


def _text_of(paper: Paper) -> str:
    return f"{paper.title}\n{paper.abstract}".lower()


def select(papers: Sequence[Paper], include: Sequence[str], exclude: Sequence[str]) -> list[Paper]:
    """Papers with at least one `include` keyword (when any are given) and none of `exclude`."""
    inc = [k.lower() for k in include]
    exc = [k.lower() for k in exclude]
    chosen = []
    for paper in papers:
        text = _text_of(paper)
        if inc and not any(k in text for k in inc):
            continue
        if any(k in text for k in exc):
            continue
        chosen.append(paper)
    return chosen


def rank(papers: Sequence[Paper], terms: Sequence[str]) -> list[Paper]:
    """Most relevant first: a term in the title counts three times one in the abstract; then newest."""
    return keyword_order(papers, terms)


def authors_query(request: DigestRequest) -> str:
    """The request's query narrowed to its followed authors (au:"Yann LeCun" OR ...)."""
    names = " OR ".join(f'au:"{name}"' for name in request.authors)
    return f"({request.query}) AND ({names})"


def ranking_terms(request: DigestRequest) -> list[str]:
    return [*query_terms(request.query), *request.include]


class DigestService:
    def __init__(
        self,
        *,
        source: PaperSource,
        store: Store,
        summaries: SummaryService,
        search_limit: int,
        now: Callable[[], dt.datetime] = utc_now,
        taste: TasteService | None = None,
    ) -> None:
        self._source, self._store, self._summaries = source, store, summaries
        self._search_limit = search_limit
        self._now = now
        self._taste = taste

    async def candidates(self, request: DigestRequest, progress: Progress | None = None) -> list[Paper]:
        """The papers in the request's window matching its query and keywords, most relevant first."""
        start, end = request_window(request)
        await report_progress(progress, f"Searching arXiv for {request.query} ({start:%Y-%m-%d} to {end:%Y-%m-%d})")
        limit = request.candidates or self._search_limit
        found = await self._source.search(request.query, start, end, limit=limit)
        if request.authors and len(found) >= limit:  # cut short: followed authors' papers may be past the limit
            seen = {paper.arxiv_id for paper in found}
            by_authors = await self._source.search(authors_query(request), start, end, limit=MAX_FOLLOWED_PAPERS)
            found = [*found, *(paper for paper in by_authors if paper.arxiv_id not in seen)]
        await self._store.save_papers(found, fetched_at=self._now())
        return rank(select(found, request.include, request.exclude), ranking_terms(request))

    async def ranked(self, request: DigestRequest, papers: Sequence[Paper]) -> list[RankedPaper] | None:
        """The candidates in the order this digest shows them, each with why: by the channel's taste when the
        request names one (and there is a TasteService), papers by followed authors first. None: keep their
        order (no channel, no authors), as before."""
        if request.channel is not None and self._taste is not None:
            terms = ranking_terms(request)
            return await self._taste.rank(request.channel, papers, terms=terms, authors=request.authors)
        if request.authors:
            return authors_first(keyword_ranking(papers, ranking_terms(request)), papers, request.authors)
        return None

    async def build(
        self, request: DigestRequest, progress: Progress | None = None, *, candidates: Sequence[Paper] | None = None
    ) -> Digest:
        """Search (unless `candidates` are given, e.g. one search shared by a subscription's channels),
        drop the papers in `skip_ids`, order them as ranked() says, summarize the top `max_papers` (with why they
        were picked, when ranked), count the rest as omitted."""
        if candidates is None:
            candidates = await self.candidates(request, progress)
        matching = [paper for paper in candidates if paper.arxiv_id not in request.skip_ids]
        ranked = await self.ranked(request, matching)
        if ranked is not None:
            by_id = {paper.arxiv_id: paper for paper in matching}
            matching = [by_id[item.arxiv_id] for item in ranked]
        chosen = matching[: request.max_papers]
        if chosen:
            await report_progress(progress, f"Found {len(matching)} papers; summarizing the top {len(chosen)}")
        summarized = await self._summaries.summarize_papers(
            chosen, language=request.language, source=request.source, progress=progress
        )
        if ranked is not None:
            placed = {item.arxiv_id: item for item in ranked}
            summarized = [
                sp
                if (item := placed.get(sp.paper.arxiv_id)) is None
                else dataclasses.replace(sp, why=item.why, score=item.score)
                for sp in summarized
            ]
        window = request_window(request)
        reasons = () if chosen else empty_reasons(request.query, window, self._now(), already_sent=len(candidates))
        return Digest(
            title=request.title or f"arXiv digest: {request.query}",
            date=request.date,
            query=request.query,
            papers=tuple(summarized),
            omitted=len(matching) - len(chosen),
            omitted_papers=tuple(matching[len(chosen) :]),
            language=request.language,
            days=request.days,
            window=window,
            empty_reasons=reasons,
        )
