"""Domain values: frozen dataclasses with named constructors. No I/O here."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Literal

Generator = Literal["llm", "extractive"]
# A language code as people write them: en, zh, pt-BR (the LLM gets a name for it).
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


@dataclass(frozen=True)
class ArxivRef:
    """A validated arXiv identifier: new style (2505.22653) or old style (hep-th/9901001)."""

    arxiv_id: str
    version: int | None = None

    @property
    def versioned(self) -> str:
        return self.arxiv_id if self.version is None else f"{self.arxiv_id}v{self.version}"

    def __str__(self) -> str:
        return self.versioned


@dataclass(frozen=True)
class Paper:
    """One version of an arXiv paper, as arXiv describes it. All text is untrusted."""

    arxiv_id: str
    version: int
    title: str
    authors: tuple[str, ...]
    abstract: str
    comment: str | None
    journal_ref: str | None
    primary_category: str
    categories: tuple[str, ...]
    published: dt.datetime  # first version, aware UTC
    updated: dt.datetime  # this version, aware UTC

    @property
    def ref(self) -> ArxivRef:
        return ArxivRef(self.arxiv_id, self.version)

    # Links are built only from the validated id, never taken from the feed or the LLM.
    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}v{self.version}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}v{self.version}"


@dataclass(frozen=True)
class Summary:
    """What a reader skims: a tl;dr, 3-7 takeaways, and the abstract translated when asked.

    `note` says why a summary is extractive ("no LLM configured", "daily token budget spent",
    "the LLM failed"); such summaries are never cached as final.
    """

    language: str
    tldr: str
    takeaways: tuple[str, ...]
    abstract_translation: str | None
    generator: Generator
    model: str | None
    prompt_version: str
    cached: bool = False
    note: str | None = None


@dataclass(frozen=True)
class SummarizedPaper:
    paper: Paper
    summary: Summary


@dataclass(frozen=True)
class InputError:
    """One input that could not be served, with a user-safe message."""

    input: str
    error: str


@dataclass(frozen=True)
class SummaryBatch:
    """The answer to "summarize these references": what worked, what did not, what was left out."""

    papers: tuple[SummarizedPaper, ...]
    errors: tuple[InputError, ...] = ()
    left_out: int = 0


@dataclass(frozen=True)
class DigestRequest:
    """Which papers a digest covers: a query over a window of UTC days ending on `date`."""

    query: str
    date: dt.date
    days: int = 1
    max_papers: int = 10
    language: str = "en"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    title: str | None = None
    # A scheduled digest covers exactly what arXiv announced since the previous one, not whole days.
    window: tuple[dt.datetime, dt.datetime] | None = None
    # Papers this channel was already sent (each paper at most once per channel, ever).
    skip_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Digest:
    title: str
    date: dt.date
    query: str
    papers: tuple[SummarizedPaper, ...]
    omitted: int
    language: str
    days: int = 1
    errors: tuple[InputError, ...] = ()


@dataclass(frozen=True)
class Subscription:
    """A channel's standing digest; from the configuration file or from chat."""

    name: str
    query: str
    channels: tuple[str, ...] = ()
    time: dt.time = dt.time(8, 30)
    timezone: str = "UTC"
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday=0
    max_papers: int = 10
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    language: str = "en"
    post_when_empty: bool = True

    def request_for(self, date: dt.date, *, days: int = 1) -> DigestRequest:
        return DigestRequest(
            query=self.query,
            date=date,
            days=days,
            max_papers=self.max_papers,
            language=self.language,
            include=self.include,
            exclude=self.exclude,
            title=self.name,
        )


@dataclass(frozen=True)
class DigestRun:
    """One scheduled post: a subscription's digest for one channel and local date, as the ledger has it.

    state: claimed -> sending -> sent | empty | failed; interrupted (stopped cleanly mid-way:
    resumable); ambiguous (a crash while sending: left for a person, never reposted).
    """

    subscription: str
    channel: str
    local_date: dt.date
    state: str
    late: bool = False
    window_end: dt.datetime | None = None
    message_ids: tuple[str, ...] = ()
    error: str | None = None
    owner: str = ""  # the claim's token: writes by anyone else are refused


@dataclass(frozen=True)
class LLMOutput:
    """A summary the LLM wrote, with the tokens it cost (for the daily budget)."""

    summary: Summary
    tokens: int


@dataclass(frozen=True)
class IncomingMessage:
    """A chat message, translated in by a platform handler."""

    platform: str
    channel: str
    text: str
    user: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False)
