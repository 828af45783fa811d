"""Domain values: frozen dataclasses with named constructors. No I/O here."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from bot.core.errors import UsageError

if TYPE_CHECKING:  # fulltext imports Paper from here
    from bot.core.fulltext import FullText

SourceKind = Literal["html", "pdf", "abstract"]
# What a summary is asked to be written from: the paper itself (its HTML, else its PDF, else its abstract), or
# the abstract alone.
SummarySource = Literal["full", "abstract"]

Generator = Literal["llm", "extractive"]

# What a person may ask for. The operator (configuration file, command line) may ask for bigger digests
# than anyone in a channel: each paper is an LLM call.
MAX_DIGEST_DAYS = 31
MAX_DIGEST_PAPERS = 200
MAX_CHAT_DIGEST_PAPERS = 50
MAX_QUERY_CHARS = 500
MAX_CANDIDATES = 2000  # matching papers a digest ranks (digest.search_limit allows as many)
DEFAULT_CANDIDATES = 200
MAX_FOLLOWED_AUTHORS = 100
MAX_AUTHOR_CHARS = 100
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_LANGUAGE = re.compile(r"([A-Za-z]{2,3})(?:-([A-Za-z0-9]{2,8}))?", re.ASCII)
_SUBSCRIPTION_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}", re.ASCII)
_TIME_OF_DAY = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])", re.ASCII)
CHANNEL = re.compile(r"console|slack:[CGD][A-Z0-9]{2,30}|discord:[0-9]{15,21}", re.ASCII)


class Language(str):
    """A language code as the summaries and their cache know it: en, zh, pt-BR (the LLM gets a name for it).

    One spelling per language: `zh_cn`, `zh-cn` and `zh-CN` all parse to `zh-CN` (BCP 47 case), so they
    are one cache key. A str, so it goes wherever a code went before.
    """

    __slots__ = ()

    @classmethod
    def parse(cls, text: str) -> Language:
        match = _LANGUAGE.fullmatch(text.strip().replace("_", "-"))
        if match is None:
            raise UsageError(f"{text!r} is not a language code like en, zh or pt-BR")
        primary, subtag = match.group(1).lower(), match.group(2)
        if subtag is None:
            return cls(primary)
        if len(subtag) == 2 or subtag.isdigit():  # a region: CN, BR, 419
            subtag = subtag.upper()
        elif len(subtag) == 4:  # a script: Hant
            subtag = subtag.title()
        else:
            subtag = subtag.lower()
        return cls(f"{primary}-{subtag}")

    @property
    def is_english(self) -> bool:
        return self.split("-")[0].lower() == "en"


ENGLISH = Language("en")


def check_days(days: int) -> int:
    if not 1 <= days <= MAX_DIGEST_DAYS:
        raise UsageError(f"a digest covers 1 to {MAX_DIGEST_DAYS} days, not {days}")
    return days


def check_max_papers(max_papers: int, most: int = MAX_DIGEST_PAPERS) -> int:
    if not 1 <= max_papers <= most:
        raise UsageError(f"a digest has 1 to {most} papers, not {max_papers}")
    return max_papers


def parse_whole_number(text: str) -> int:
    if not (text.isascii() and text.isdigit()):
        raise UsageError(f"{text!r} is not a whole number")
    return int(text)


def check_query(query: str) -> str:
    """An arXiv search a digest may run: it goes inside the digest's date window, so it may not close
    the window's parentheses or set its own dates."""
    query = query.strip()
    if not query:
        raise UsageError("a digest needs a query in arXiv search syntax, like cat:cs.CL AND abs:reasoning")
    depth = 0
    for char in query:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            break
    if depth != 0:
        raise UsageError(f"the query {query!r} has unbalanced parentheses; check it and try again")
    if "submitteddate" in query.lower() or "lastupdateddate" in query.lower():
        raise UsageError("leave dates out of the query: use --date and --days (or the subscription's schedule)")
    if len(query) > MAX_QUERY_CHARS:
        raise UsageError(f"the query is longer than {MAX_QUERY_CHARS} characters; shorten it")
    return query


def check_subscription_name(name: str) -> str:
    if not _SUBSCRIPTION_NAME.fullmatch(name):
        raise UsageError(f"{name!r} is not a subscription name: use 1-40 letters, digits, '-', '_' or '.'")
    return name


def parse_time_of_day(text: str) -> dt.time:
    match = _TIME_OF_DAY.fullmatch(text.strip())
    if match is None:
        raise UsageError(f"{text!r} is not a time of day like 08:30")
    return dt.time(int(match.group(1)), int(match.group(2)))


def check_timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise UsageError(f"{name!r} is not an IANA time zone like Europe/Berlin") from None
    return name


def parse_weekdays(names: Iterable[str]) -> tuple[int, ...]:
    """mon, Tuesday, WED ... as Monday=0 numbers, in week order, each once; at least one."""
    days = []
    for name in names:
        word = name.strip().lower()
        day = next((n for n, full in enumerate(_WEEKDAY_NAMES) if len(word) >= 3 and full.startswith(word)), None)
        if day is None:
            raise UsageError(f"{name!r} is not a weekday (use mon, tue, ... sun)")
        days.append(day)
    return check_weekdays(days)


def check_weekdays(days: Iterable[int]) -> tuple[int, ...]:
    unique = set(days)
    if not unique or not unique <= set(range(7)):
        raise UsageError("a subscription needs one or more weekdays (mon, tue, ... sun)")
    return tuple(sorted(unique))


def check_channels(channels: Iterable[str]) -> tuple[str, ...]:
    channels = tuple(channels)
    if not channels:
        raise UsageError(
            "a subscription needs at least one channel (slack:C0123ABCD, discord:123456789012345678 or console)"
        )
    for channel in channels:
        if not CHANNEL.fullmatch(channel):
            raise UsageError(
                f"{channel!r} is not a channel (use slack:C0123ABCD, discord:123456789012345678 or console)"
            )
    return channels


def check_authors(authors: Iterable[str]) -> tuple[str, ...]:
    """Names to follow, as arXiv writes them ("Yann LeCun", "Y. LeCun"); each once."""
    if isinstance(authors, str):
        authors = (authors,)
    names = []
    for raw in authors:
        name = " ".join(str(raw).split())
        if not name or len(name) > MAX_AUTHOR_CHARS or any(c in name for c in '"()'):
            raise UsageError(
                f"{raw!r} is not an author's name (1 to {MAX_AUTHOR_CHARS} characters without quotes or parentheses, "
                "like Yann LeCun)"
            )
        if name not in names:
            names.append(name)
    if len(names) > MAX_FOLLOWED_AUTHORS:
        raise UsageError(f"a subscription follows at most {MAX_FOLLOWED_AUTHORS} authors, not {len(names)}")
    return tuple(names)


def check_candidates(candidates: int) -> int:
    if not 1 <= candidates <= MAX_CANDIDATES:
        raise UsageError(f"a subscription ranks 1 to {MAX_CANDIDATES} candidate papers, not {candidates}")
    return candidates


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
    # What it was written from (part of the cache key): the paper's HTML or PDF, or only its abstract.
    source: SourceKind = "abstract"
    # One entry per takeaway: the verbatim passage it rests on, or None where the check found none.
    evidence: tuple[Evidence | None, ...] = ()
    lead_figure: str | None = None  # the figure label the LLM picked for the headline result ("Figure 3")


@dataclass(frozen=True)
class Evidence:
    """A verbatim passage of the paper and the link to the paragraph it was read in."""

    quote: str
    anchor_url: str


@dataclass(frozen=True)
class Citation:
    """What the LLM gave a takeaway to stand on, before bot.core.faithfulness checks it: a quote and the id of the
    paragraph it says the quote is from."""

    quote: str
    paragraph: str


@dataclass(frozen=True)
class SummarizedPaper:
    paper: Paper
    summary: Summary
    # The paper as the reader found it (figures, licence, where it was read), when it was read.
    reading: FullText | None = None
    # In a digest ranked for a channel: one short line saying why it was picked (untrusted: it may quote a paper's
    # title), and its ranking score.
    why: str | None = None
    score: float | None = None


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
    """Which papers a digest covers: a query over `window` (an arXiv announcement's submission times, as
    bot.core.schedule gives them) or, without one, over `days` whole UTC days ending on `date`."""

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
    source: SummarySource | None = None  # what the summaries are written from; None: summary.source
    channel: str | None = None  # rank with this channel's taste (bot.core.taste); None: by keywords
    authors: tuple[str, ...] = ()  # their matching papers are always in it, first
    candidates: int | None = None  # how many papers the search returns to rank; None: digest.search_limit


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
    # The matching papers past max_papers, best first (a digest lists them one line each).
    omitted_papers: tuple[Paper, ...] = ()
    # The submission window it really covered ([start, end], UTC; None: `days` UTC days ending on `date`).
    window: tuple[dt.datetime, dt.datetime] | None = None
    # When it has no papers: why, and what to try (one sentence each).
    empty_reasons: tuple[str, ...] = ()


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
    source: SummarySource | None = None  # what its summaries are written from; None: summary.source
    authors: tuple[str, ...] = ()  # people whose matching papers are always included, first
    candidates: int = DEFAULT_CANDIDATES  # how many matching papers its digests rank

    @classmethod
    def create(
        cls,
        *,
        name: str,
        query: str,
        channels: Iterable[str],
        time: dt.time = dt.time(8, 30),
        timezone: str = "UTC",
        weekdays: Iterable[int] = (0, 1, 2, 3, 4),
        max_papers: int = 10,
        include: Iterable[str] = (),
        exclude: Iterable[str] = (),
        language: str = ENGLISH,
        post_when_empty: bool = True,
        source: SummarySource | None = None,
        most_papers: int = MAX_DIGEST_PAPERS,
        authors: Iterable[str] = (),
        candidates: int = DEFAULT_CANDIDATES,
    ) -> Subscription:
        """A subscription from what a person wrote (configuration file or chat), every value checked; the
        first wrong one is a UsageError. `most_papers`: chat allows fewer than the operator's file."""
        if time.tzinfo is not None:
            raise UsageError(f"{time} is not a time of day like 08:30 (the time zone is set apart)")
        return cls(
            name=check_subscription_name(name),
            query=check_query(query),
            channels=check_channels(channels),
            time=time,
            timezone=check_timezone(timezone),
            weekdays=check_weekdays(weekdays),
            max_papers=check_max_papers(max_papers, most_papers),
            include=tuple(include),
            exclude=tuple(exclude),
            language=Language.parse(language),
            post_when_empty=post_when_empty,
            source=source,
            authors=check_authors(authors),
            candidates=check_candidates(candidates),
        )

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
            source=self.source,
            authors=self.authors,
            candidates=self.candidates,
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
    # One per takeaway, unchecked: what the LLM cited for it (None where it cited nothing).
    citations: tuple[Citation | None, ...] = ()


@dataclass(frozen=True)
class ThreadPlace:
    """Where a message sits, as the platform names it; the same strings when posting and when asking.

    `location` is the qualified conversation the message is physically in ("slack:C0123", "discord:<channel or
    thread id>"); `thread` the conversation's key within it (Slack: the thread's parent ts; Discord: the digest
    thread's id, or the id of the card message a reply chain started from); `channel` the qualified channel whose
    taste the papers count to (a Discord thread's parent channel), as in the configuration ("slack:C0123").
    """

    location: str
    thread: str
    channel: str


@dataclass(frozen=True)
class IncomingMessage:
    """A chat message, translated in by a platform handler."""

    platform: str
    channel: str
    text: str
    user: str = ""
    extra: dict[str, str] = field(default_factory=dict, compare=False)
    # Where it was written, when that could be a thread of ours (a question about its papers).
    place: ThreadPlace | None = None
    reply_to: str = ""  # the id of the message it replies to (Discord's reply to a card), if any
    addressed: bool = False  # said to the bot: an @mention or a direct message (the console's every line)
