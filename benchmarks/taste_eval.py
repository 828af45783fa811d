"""A channel's taste, offline: precision@10 of the next day's digest ranked by keywords and by the learned ranker
after 5, 10 and 20 signals, and the time to rank 500 candidates; prints figures (not a test).

    python -m benchmarks.taste_eval [--noise 0.1] [--runs 5]

The papers are tests/data/taste/corpus.json (tests/data/taste/generate.py: recorded arXiv metadata and generated
papers over 14 topics, each with its true topic; two days). Each synthetic channel has a hidden interest, one topic,
and a subscription whose words are broader (or none, for a category subscription). On the first day its people
react 👍 to 20 papers of that topic (`--noise`: that share of the 20 are papers of other topics instead), three
people in turn, in a fixed random order. The next day's papers (all of them, disjoint from the first day's) are the
candidates: keyword ranking is today's (bot.core.digest.rank with the subscription's query terms); the learned
ranking is the real TasteService with the real TfidfRanker, after the first 5, 10 and 20 of those signals, signals
and papers kept in a real SqlStore (SQLite, a temporary file). Precision@10: the share of the top 10 in the hidden
topic.

Ranking time: TasteService.rank of 500 candidates for a channel with 20 signals, median of `--runs`: the first
ranking after the signals changed (trains the model and stores it) and a later one (scores with the stored model),
after one warm-up ranking (scikit-learn's import, about a second, is paid once per process).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import random
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.clients.ranker import TfidfRanker
from bot.core.digest import query_terms, rank
from bot.core.models import Paper
from bot.core.signals import INTEREST
from bot.core.taste import TasteService
from storage.engine import make_engine
from storage.migrations import upgrade
from storage.repository import SqlStore

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "taste" / "corpus.json"
SIGNAL_COUNTS = (5, 10, 20)
SIGNALS = 20
PEOPLE = ("slack:U01", "slack:U02", "slack:U03")
TOP = 10
TIMED_CANDIDATES = 500
SEED = 7


@dataclass(frozen=True)
class Channel:
    name: str
    interest: str  # the hidden topic
    query: str  # the subscription's query: its words are what keyword ranking knows


CHANNELS = (
    Channel("slack:CREASONING", "llm-reasoning", 'all:"language model" OR all:LLM'),
    Channel("slack:CSPEECH", "speech-enhancement", "cat:eess.AS OR all:speech"),
    Channel("slack:CGRAPHS", "graph-learning", "cat:cs.LG"),
    # Real abstracts: the arXiv API's answers for "testing" are software testing and statistics' tests alike.
    Channel("slack:CTESTING", "software-testing", "all:testing"),
)


@dataclass(frozen=True)
class Corpus:
    today: list[Paper]
    tomorrow: list[Paper]
    topic: dict[str, str]  # arxiv_id -> true topic


def load_corpus(path: Path = CORPUS) -> Corpus:
    data = json.loads(path.read_text(encoding="utf-8"))
    today_date, _ = data["days"]
    days: dict[bool, list[Paper]] = {True: [], False: []}
    topic = {}
    for row in data["papers"]:
        published = dt.datetime.fromisoformat(row["published"])
        categories = tuple(row["categories"])
        paper = Paper(row["id"], 1, row["title"], tuple(row["authors"]), row["abstract"], None, None, categories[0],
                      categories, published, published)  # fmt: skip
        days[row["day"] == today_date].append(paper)
        topic[paper.arxiv_id] = row["topic"]
    return Corpus(today=days[True], tomorrow=days[False], topic=topic)


def reactions(corpus: Corpus, interest: str, *, count: int, noise: float, seed: int) -> list[str]:
    """The ids of the first day's papers a channel reacts to, in the order it does: `count` of them, a share
    `noise` of other topics."""
    rng = random.Random(f"{seed}:{interest}")
    on_topic = [p.arxiv_id for p in corpus.today if corpus.topic[p.arxiv_id] == interest]
    off_topic = [p.arxiv_id for p in corpus.today if corpus.topic[p.arxiv_id] != interest]
    off = round(count * noise)
    chosen = rng.sample(on_topic, count - off) + rng.sample(off_topic, off)
    rng.shuffle(chosen)
    return chosen


def precision(ids: Sequence[str], corpus: Corpus, interest: str) -> float:
    top = ids[:TOP]
    return sum(corpus.topic[i] == interest for i in top) / len(top) if top else 0.0


@dataclass(frozen=True)
class Row:
    channel: Channel
    keyword: float
    learned: dict[int, float]  # signals -> precision@10
    on_topic_candidates: int


class Bench:
    """A TasteService over a real SqlStore (SQLite in a temporary directory) holding the first day's papers."""

    def __init__(self, store: SqlStore, corpus: Corpus) -> None:
        self.store, self.corpus = store, corpus
        self.taste = TasteService(book=store, store=store, ranker_factory=TfidfRanker)

    async def react(self, channel: str, ids: Sequence[str]) -> None:
        for n, arxiv_id in enumerate(ids):
            person = PEOPLE[n % len(PEOPLE)]
            await self.taste.record(channel, arxiv_id, person, source="reaction", kind="+1", value=INTEREST)

    async def learned_order(self, channel: str, candidates: Sequence[Paper], terms: Sequence[str]) -> list[str]:
        return [r.arxiv_id for r in await self.taste.rank(channel, candidates, terms=terms)]


@contextlib.asynccontextmanager
async def stored(corpus: Corpus) -> AsyncIterator[Bench]:
    """A Bench over a fresh SQLite file holding the first day's papers (the liked papers' texts come from it)."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'taste.db'}")
        try:
            await upgrade(engine)
            store = SqlStore(engine)
            await store.save_papers(corpus.today, fetched_at=dt.datetime(2026, 2, 10, 23, tzinfo=dt.UTC))
            yield Bench(store, corpus)
        finally:
            await engine.dispose()


async def evaluate(
    corpus: Corpus,
    channels: Sequence[Channel] = CHANNELS,
    *,
    counts: Sequence[int] = SIGNAL_COUNTS,
    noise: float = 0.0,
    seed: int = SEED,
) -> list[Row]:
    """Precision@10 of the next day's candidates per channel: keyword ranking, and the learned one per signal count."""
    rows = []
    async with stored(corpus) as bench:
        for channel in channels:
            terms = query_terms(channel.query)
            keyword = [p.arxiv_id for p in rank(corpus.tomorrow, terms)]
            liked = reactions(corpus, channel.interest, count=max(counts), noise=noise, seed=seed)
            learned = {}
            for count in counts:
                name = f"{channel.name}:{count}"  # a channel per count: each trains on its own signals
                await bench.react(name, liked[:count])
                order = await bench.learned_order(name, corpus.tomorrow, terms)
                learned[count] = precision(order, corpus, channel.interest)
            on_topic = sum(corpus.topic[p.arxiv_id] == channel.interest for p in corpus.tomorrow)
            rows.append(Row(channel, precision(keyword, corpus, channel.interest), learned, on_topic))
    return rows


@dataclass(frozen=True)
class Timing:
    candidates: int
    keyword: float  # seconds, median
    first: float  # the first ranking after the signals changed: trains and stores the model
    later: float  # scores with the stored model


async def ranking_time(
    corpus: Corpus,
    *,
    runs: int,
    candidates: int = TIMED_CANDIDATES,
    channel: Channel = CHANNELS[0],
    signals: int = SIGNALS,
    seed: int = SEED,
) -> Timing:
    """The time TasteService.rank takes for `candidates` papers with 20 signals (medians of `runs`)."""
    liked = reactions(corpus, channel.interest, count=signals, noise=0.0, seed=seed)
    pool = [p for p in corpus.tomorrow + corpus.today if p.arxiv_id not in set(liked)][:candidates]
    terms = query_terms(channel.query)
    keyword, first, later = [], [], []
    async with stored(corpus) as bench:
        await bench.react("slack:CWARMUP", liked)
        await bench.learned_order("slack:CWARMUP", pool, terms)  # scikit-learn's import, once
        for run in range(runs):
            started = time.perf_counter()
            rank(pool, terms)
            keyword.append(time.perf_counter() - started)
            timed = f"slack:CTIMED{run}"  # a new channel: its first ranking trains
            await bench.react(timed, liked)
            started = time.perf_counter()
            await bench.learned_order(timed, pool, terms)
            first.append(time.perf_counter() - started)
            started = time.perf_counter()
            await bench.learned_order(timed, pool, terms)
            later.append(time.perf_counter() - started)
    return Timing(len(pool), statistics.median(keyword), statistics.median(first), statistics.median(later))


def print_rows(rows: Sequence[Row], counts: Sequence[int], noise: float) -> None:
    off = round(SIGNALS * noise)
    print(f"Precision@{TOP} of the next day's digest ({len(rows)} channels; 👍 on {SIGNALS} first-day papers of the "
          f"hidden topic{f', {off} of them off-topic' if off else ''})")  # fmt: skip
    learned = "  ".join(f"{f'learned, {c} signals':>19}" for c in counts)
    print(f"{'hidden interest':<20} {'subscription terms':<26} {'in topic':>8}  {'keywords':>8}  {learned}")
    for r in rows:
        terms = ", ".join(query_terms(r.channel.query)) or "(category only)"
        cells = "  ".join(f"{r.learned[c]:>19.1f}" for c in counts)
        print(f"{r.channel.interest:<20} {terms:<26} {r.on_topic_candidates:>8}  {r.keyword:>8.1f}  {cells}")
    mean = "  ".join(f"{statistics.fmean(r.learned[c] for r in rows):>19.2f}" for c in counts)
    print(f"{'mean':<20} {'':<26} {'':>8}  {statistics.fmean(r.keyword for r in rows):>8.2f}  {mean}")


def print_timing(timing: Timing, runs: int) -> None:
    print(f"Ranking {timing.candidates} candidates with 20 signals (median of {runs}):")
    print(f"  keywords only (bot.core.digest.rank): {timing.keyword * 1000:.1f} ms")
    print(f"  learned, first after new signals (trains and stores the model): {timing.first * 1000:.0f} ms")
    print(f"  learned, model stored: {timing.later * 1000:.0f} ms")


async def main(args: argparse.Namespace) -> None:
    corpus = load_corpus(args.corpus)
    print(f"{len(corpus.today)} first-day papers, {len(corpus.tomorrow)} next-day candidates")
    print()
    print_rows(await evaluate(corpus, noise=0.0), SIGNAL_COUNTS, 0.0)
    if args.noise:
        print()
        print_rows(await evaluate(corpus, noise=args.noise), SIGNAL_COUNTS, args.noise)
    print()
    print_timing(await ranking_time(corpus, runs=args.runs), args.runs)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--noise", type=float, default=0.1, help="also with this share of the 20 reactions off-topic")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
