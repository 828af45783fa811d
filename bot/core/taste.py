"""A channel's taste: what its people reacted to, pasted and asked for more or less of, and how a digest ranks
its candidates with it.

Signals are summed per (paper, person): one person's 👍, ⭐ and 🔥 on a paper, or their 20 reactions to it, are
one opinion. Below `min_signals` opinions a channel gets exactly the keyword ranking (bot.core.digest.rank); from
there the ranker's learned score is blended with the keyword score, the learned part weighing more as opinions
accumulate. A channel's model is retrained only when its signals changed, at most once per ranking, and kept in
the database (TasteBook) as the ranker's JSON.

Every why line comes from the ranker's own features (the liked paper a candidate is most like, the terms that
raised its score) or from the query's terms a paper contains: never from an LLM.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bot.core.models import ArxivRef, Paper
from bot.core.ports import Store, TasteBook, TasteRanker, TasteScore
from bot.core.sanitize import one_line, truncate
from bot.core.signals import DISINTEREST, INTEREST, RankedPaper, Signal, SignalSource, StoredTaste
from bot.core.summaries import utc_now

log = logging.getLogger(__name__)

DEFAULT_INTEREST = ("👍", "⭐", "🔥", "❤️", "👀")
DEFAULT_DISINTEREST = ("👎", "🙈")
# Slack names an emoji, Discord sends the character: both spellings of the defaults are one emoji.
_EMOJI_NAMES = {
    "+1": "👍", "thumbsup": "👍", "star": "⭐", "fire": "🔥", "heart": "❤", "eyes": "👀",
    "-1": "👎", "thumbsdown": "👎", "see_no_evil": "🙈",
}  # fmt: skip
_SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff\ufe0f]")
_VERSION = re.compile(r"v\d+$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_LEARNED_WEIGHT = 0.9  # the keyword score always keeps a say
REPORT_ITEMS = 10
WHY_TITLE_CHARS = 70
MATCHES_SHOWN = 4


def emoji_key(emoji: str) -> str:
    """One spelling per emoji: Slack's "+1", ":+1:" and "+1::skin-tone-3", Discord's "👍" and "👍🏽" are all "👍";
    "❤️" (with its variation selector) is "❤". Other names and characters are kept as given (lower-cased)."""
    text = emoji.strip().strip(":").split("::")[0].lower()
    text = _SKIN_TONES.sub("", text)
    return _EMOJI_NAMES.get(text, text)


def keyword_hits(paper: Paper, terms: Sequence[str]) -> int:
    """How well a paper matches the query's terms: one in the title counts three times one in the abstract (five
    at most per term there)."""
    title, abstract = paper.title.lower(), paper.abstract.lower()
    return sum(3 * title.count(t) + min(abstract.count(t), 5) for t in terms)


def keyword_order(papers: Sequence[Paper], terms: Sequence[str]) -> list[Paper]:
    """Most keyword hits first; then newest; then by id (a stable order for equal papers)."""
    return sorted(papers, key=lambda p: (-keyword_hits(p, terms), -p.published.timestamp(), p.arxiv_id))


def matches_line(paper: Paper, terms: Sequence[str]) -> str | None:
    """ "matches: reasoning, reward model": the query's terms the paper's title or abstract contains."""
    text = f"{paper.title}\n{paper.abstract}".lower()
    found = list(dict.fromkeys(t.lower() for t in terms if t and t.lower() in text))
    if not found:
        return None
    return "matches: " + ", ".join(one_line(t) for t in found[:MATCHES_SHOWN])


def keyword_ranking(papers: Sequence[Paper], terms: Sequence[str]) -> list[RankedPaper]:
    """Today's ranking (bot.core.digest.rank), each paper scored by its keyword hits and saying which terms it
    matches."""
    ordered = keyword_order(papers, terms)
    return [RankedPaper(p.arxiv_id, float(keyword_hits(p, terms)), matches_line(p, terms)) for p in ordered]


def _name_words(name: str) -> list[str]:
    return one_line(name).replace(".", ". ").casefold().split()


def same_person(followed: str, author: str) -> bool:
    """Whether an arXiv author name is a followed one: the same words, or the same surname with given names that agree
    as far as they are written ("Y. LeCun" follows "Yann LeCun")."""
    want, have = _name_words(followed), _name_words(author)
    if not want or not have or want[-1] != have[-1]:
        return False
    if want == have:
        return True
    for a, b in zip(want[:-1], have[:-1], strict=False):
        short, full = (a, b) if len(a) <= len(b) else (b, a)
        if not (short == full or (short.endswith(".") and full.startswith(short[:-1]))):
            return False
    return len(want) > 1 and len(have) > 1


def followed_author(paper: Paper, authors: Sequence[str]) -> str | None:
    """The paper's first author (as arXiv spells it) whom the channel follows, if any."""
    return next((a for a in paper.authors for f in authors if same_person(f, a)), None)


def authors_first(ranked: Sequence[RankedPaper], papers: Sequence[Paper], authors: Sequence[str]) -> list[RankedPaper]:
    """Papers by a followed author first (in their order), saying so; then the others, as ranked."""
    if not authors:
        return list(ranked)
    by_id = {p.arxiv_id: p for p in papers}
    first, rest = [], []
    for item in ranked:
        name = followed_author(by_id[item.arxiv_id], authors)
        if name is None:
            rest.append(item)
        else:
            first.append(dataclasses.replace(item, why=f"new from an author you follow: {one_line(name)}"))
    return first + rest


@dataclasses.dataclass(frozen=True)
class Opinions:
    """A channel's signals summed per (paper, person): what each person thinks of each paper, once."""

    liked: tuple[str, ...]  # arXiv ids whose people's opinions add up to interest, the latest signalled last
    disliked: tuple[str, ...]
    count: int  # distinct (paper, person) opinions that are not neutral
    people: int
    key: str  # a digest of the signals: a stored model trained on another key is stale

    @classmethod
    def of(cls, signals: Sequence[Signal]) -> Opinions:
        per_person: dict[tuple[str, str], int] = defaultdict(int)
        latest: dict[str, dt.datetime] = {}
        for s in signals:
            per_person[(s.arxiv_id, s.person)] += s.value
            latest[s.arxiv_id] = max(latest.get(s.arxiv_id, s.at), s.at)
        per_paper: dict[str, int] = defaultdict(int)
        opinions = {k: (v > 0) - (v < 0) for k, v in per_person.items() if v}
        for (arxiv_id, _), sign in opinions.items():
            per_paper[arxiv_id] += sign
        in_order = sorted(per_paper, key=lambda i: (latest[i], i))
        lines = sorted(f"{s.arxiv_id}\t{s.person}\t{s.kind}\t{s.value}" for s in signals)
        return cls(
            liked=tuple(i for i in in_order if per_paper[i] > 0),
            disliked=tuple(i for i in in_order if per_paper[i] < 0),
            count=len(opinions),
            people=len({person for _, person in opinions}),
            key=hashlib.sha256("\n".join(lines).encode()).hexdigest(),
        )


@dataclasses.dataclass(frozen=True)
class TasteReport:
    """What `/digest taste` and `paperboy taste CHANNEL` show: signals counted, what the ranker learned."""

    channel: str
    signals: int  # opinions: distinct (paper, person), a person's reactions to one paper counted once
    people: int
    liked: int
    disliked: int
    min_signals: int
    learning: bool  # whether digests here use the learned ranker (enough signals, and a ranker)
    terms: tuple[str, ...] = ()
    anchors: tuple[tuple[str, str], ...] = ()  # (arXiv id, title), most typical of the taste first
    trained_at: dt.datetime | None = None

    def as_text(self) -> str:
        people = "person" if self.people == 1 else "people"
        signals = "signal" if self.signals == 1 else "signals"
        if not self.signals:
            return (
                f"No signals in {self.channel} yet: react to Paperboy's cards (👍 or 👎), paste papers, or use "
                f"{_opinion_commands(self.channel)}, and digests here learn what you like."
            )
        head = (
            f"Taste of {self.channel}: {self.signals} {signals} from {self.people} {people} "
            f"({self.liked} liked, {self.disliked} disliked)."
        )
        if not self.learning:
            if self.signals < self.min_signals:
                return f"{head} Digests here rank by keywords until there are {self.min_signals}."
            return f"{head} Learning is off here (no ranker): digests rank by keywords."
        lines = [head]
        if self.terms:
            lines.append("Top terms: " + ", ".join(one_line(t) for t in self.terms))
        if self.anchors:
            lines.append("Anchored on:")
            lines += [f"• arXiv:{i} {truncate(one_line(title), 100)}" for i, title in self.anchors]
        return "\n".join(lines)

    def as_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "signals": self.signals,
            "people": self.people,
            "liked": self.liked,
            "disliked": self.disliked,
            "min_signals": self.min_signals,
            "learning": self.learning,
            "top_terms": [one_line(t) for t in self.terms],
            "anchors": [{"arxiv_id": i, "title": one_line(title)} for i, title in self.anchors],
            "trained_at": self.trained_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
            if self.trained_at
            else None,
        }


@dataclasses.dataclass(frozen=True)
class _Learned:
    scores: list[TasteScore]
    titles: dict[str, str]  # liked papers' titles, for "like X"
    weight: float  # of the learned score in the blend


class TasteService:
    def __init__(
        self,
        *,
        book: TasteBook,
        store: Store,
        ranker_factory: Callable[[], TasteRanker] | None,
        interest: Sequence[str] = DEFAULT_INTEREST,
        disinterest: Sequence[str] = DEFAULT_DISINTEREST,
        min_signals: int = 5,
        now: Callable[[], dt.datetime] = utc_now,
    ) -> None:
        self._book, self._store = book, store
        self._ranker_factory = ranker_factory
        self._ranker: TasteRanker | None = None
        self._values = {emoji_key(e): INTEREST for e in interest} | {emoji_key(e): DISINTEREST for e in disinterest}
        self._min_signals = max(1, min_signals)
        self._now = now

    def value_of(self, emoji: str) -> int | None:
        """INTEREST or DISINTEREST for an emoji that counts (either platform's spelling), else None."""
        return self._values.get(emoji_key(emoji))

    async def record(
        self, channel: str, arxiv_id: str, person: str, *, source: SignalSource, kind: str, value: int
    ) -> bool:
        """Record a person's interest or disinterest in a paper here; True when it is new."""
        if value not in (INTEREST, DISINTEREST):
            raise ValueError(f"a signal's value is {INTEREST} or {DISINTEREST}, not {value}")
        signal = Signal(channel, _VERSION.sub("", arxiv_id), person, source, kind, value, self._now())
        return await self._book.add_signal(signal)

    async def forget(self, channel: str, arxiv_id: str, person: str, kind: str) -> bool:
        """Remove a signal (a reaction taken back); True when there was one."""
        return await self._book.remove_signal(channel, _VERSION.sub("", arxiv_id), person, kind)

    async def rank(
        self, channel: str, papers: Sequence[Paper], *, terms: Sequence[str], authors: Sequence[str] = ()
    ) -> list[RankedPaper]:
        """The papers best first for this channel, each with its score and why. Below `min_signals` opinions (or
        without a ranker, or when learning fails): the keyword ranking, exactly."""
        ranked = keyword_ranking(papers, terms)
        if self._ranker_factory is not None and papers:
            try:
                learned = await self._learned(channel, papers)
            except Exception as exc:  # a digest never fails for want of its taste
                log.warning("ranking by %s's taste failed (%s); ranking by keywords", channel, _reason(exc))
                learned = None
            if learned is not None:
                ranked = _blend(ranked, papers, terms, learned)
        return authors_first(ranked, papers, authors)

    async def report(self, channel: str) -> TasteReport:
        opinions = Opinions.of(await self._book.channel_signals(channel))
        report = TasteReport(
            channel=channel,
            signals=opinions.count,
            people=opinions.people,
            liked=len(opinions.liked),
            disliked=len(opinions.disliked),
            min_signals=self._min_signals,
            learning=False,
        )
        if self._ranker_factory is None or opinions.count < self._min_signals:
            return report
        stored = await self._book.get_taste(channel)
        if stored is not None and stored.signals_key == opinions.key:
            model_json, trained_at = stored.model_json, stored.trained_at
        else:  # not saved: a digest retrains with its candidates as the background
            model_json, trained_at = await self._train(opinions, ()), self._now()
        traits = await asyncio.to_thread(self._ranker_built().describe, model_json, limit=REPORT_ITEMS)
        return dataclasses.replace(
            report, learning=True, terms=traits.terms, anchors=traits.anchors, trained_at=trained_at
        )

    def _ranker_built(self) -> TasteRanker:
        if self._ranker is None:
            assert self._ranker_factory is not None
            self._ranker = self._ranker_factory()
        return self._ranker

    async def _learned(self, channel: str, papers: Sequence[Paper]) -> _Learned | None:
        opinions = Opinions.of(await self._book.channel_signals(channel))
        if opinions.count < self._min_signals:
            return None
        ranker = self._ranker_built()
        stored = await self._book.get_taste(channel)
        scores = None
        if stored is not None and stored.signals_key == opinions.key:
            try:
                scores = await asyncio.to_thread(ranker.score, stored.model_json, papers)
            except ValueError:  # a model an older ranker wrote: retrained below
                scores = None
        if scores is None:
            model_json = await self._train(opinions, papers)
            await self._book.save_taste(StoredTaste(channel, opinions.key, opinions.count, self._now(), model_json))
            scores = await asyncio.to_thread(ranker.score, model_json, papers)
        weight = min(MAX_LEARNED_WEIGHT, opinions.count / (opinions.count + self._min_signals))
        liked = await self._papers({s.like for s in scores if s.like is not None}, papers)
        return _Learned(scores, {i: p.title for i, p in liked.items()}, weight)

    async def _papers(self, ids: Iterable[str], known: Sequence[Paper]) -> dict[str, Paper]:
        """These papers by id: from `known`, else from the store (those it lacks are left out)."""
        wanted = set(ids)
        found = {p.arxiv_id: p for p in known if p.arxiv_id in wanted}
        missing = sorted(wanted - found.keys())
        if missing:
            stored = await self._store.get_papers([ArxivRef(i) for i in missing], fresh_since=_EPOCH)
            found |= {p.arxiv_id: p for p in stored.values()}
        return found

    async def _train(self, opinions: Opinions, background: Sequence[Paper]) -> str:
        """A model of these opinions; the papers' texts from `background` or the store (those missing are left
        out)."""
        known = await self._papers((*opinions.liked, *opinions.disliked), background)
        liked = [known[i] for i in opinions.liked if i in known]
        disliked = [known[i] for i in opinions.disliked if i in known]
        return await asyncio.to_thread(self._ranker_built().train, liked, disliked, background)


def _opinion_commands(channel: str) -> str:
    """How people in this channel say more-like and less-like: Discord has its own /taste command."""
    if channel.startswith("discord:"):
        return "/taste more-like paper:ID and /taste less-like paper:ID"
    return "/digest more-like ID and /digest less-like ID"


def _normalized(values: Iterable[float]) -> list[float]:
    values = list(values)
    low, high = min(values, default=0.0), max(values, default=0.0)
    return [(v - low) / (high - low) if high > low else 0.0 for v in values]


def _blend(
    keyword: Sequence[RankedPaper], papers: Sequence[Paper], terms: Sequence[str], learned: _Learned
) -> list[RankedPaper]:
    """The keyword ranking re-ordered by the blend of both scores, each scaled to [0, 1] over the candidates (ties
    keep the keyword order)."""
    by_id = {p.arxiv_id: n for n, p in enumerate(papers)}
    scores = [learned.scores[by_id[item.arxiv_id]] for item in keyword]
    taste = _normalized(s.score for s in scores)
    top_hits = max((item.score for item in keyword), default=0.0)
    hits = [item.score / top_hits if top_hits else 0.0 for item in keyword]
    w = learned.weight
    blended = []
    for item, score, t, k in zip(keyword, scores, taste, hits, strict=True):
        why = _taste_line(score, learned.titles)
        if why is None or (item.why is not None and (1 - w) * k > w * t):
            why = item.why
        blended.append(RankedPaper(item.arxiv_id, round(w * t + (1 - w) * k, 4), why))
    return sorted(blended, key=lambda item: -item.score)


def _taste_line(score: TasteScore, titles: dict[str, str]) -> str | None:
    """ "like “Title”, liked here; terms: a, b", from the ranker's features; None for a paper not to the taste."""
    if score.like is None and score.score < 0.5:
        return None
    parts = []
    title = titles.get(score.like or "")
    if title is not None:
        quoted = f"“{truncate(one_line(title), WHY_TITLE_CHARS)}”"
        if score.similar > 1:
            parts.append(f"like {score.similar} papers liked here, such as {quoted}")
        else:
            parts.append(f"like {quoted}, liked here")
    if score.terms:
        words = ", ".join(one_line(t) for t in score.terms)
        parts.append(f"terms: {words}" if parts else f"terms liked here: {words}")
    return "; ".join(parts) or None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
