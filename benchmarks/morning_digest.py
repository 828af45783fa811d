"""The morning digest from its due time to its last card, cold and read ahead; prints figures (not a test).

    python -m benchmarks.morning_digest [--papers 10] [--latency 1.0] [--reader-interval 15]

A subscription of `--papers` papers posts to a Slack channel at 08:30 UTC on Tuesday 3 June 2025 (it covers
Monday evening's announcement). Everything is real but the servers: the arXiv, arxiv.org, LLM and Slack
fakes on loopback, wired as `paperboy run` wires them (open_services, the Slack platform, digest_poster,
read_ahead) on a fresh SQLite file per case. arxiv.org keeps its real 15 s between requests
(reader.min_interval_seconds), the LLM answers in `--latency` seconds, Slack takes about one message a second.

(a) cold: no read-ahead; the tick at 08:30 searches, reads, summarizes and posts.
(b) read ahead: at 08:00 the read-ahead job prepares the digest (its own time is printed too); the tick at
    08:30 is one arXiv search, cache hits and the posts.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import tempfile
import time
from pathlib import Path

from benchmarks.digest_benchmark import bench_env, papers
from bot.config import load_config
from bot.runner import connected_platforms, publishers_for
from bot.wiring import digest_poster, open_services, read_ahead
from tests.fakes.arxiv_server import FakeArxiv
from tests.fakes.arxiv_site import FakeArxivSite
from tests.fakes.llm_server import MEASURED, FakeLLM
from tests.fakes.slack_server import BOT_TOKEN, FakeSlack

DUE = dt.datetime(2025, 6, 3, 8, 30, tzinfo=dt.UTC)  # Monday evening's announcement was 00:00 UTC
AHEAD = dt.timedelta(minutes=30)
CHANNEL = "C0MORNING"


@dataclasses.dataclass
class Case:
    wall: float  # from the tick at the due time to its return, the last card posted
    cards: int
    messages: int  # Slack messages (a card each, but cards are packed up to Slack's block limit)
    llm_calls: int  # during that tick
    reads: int  # requests to arxiv.org during that tick
    ahead: float | None = None  # how long the read-ahead took, before the due time


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


async def run_case(*, n_papers: int, latency: float, reader_interval: float, read_ahead_first: bool) -> Case:
    with tempfile.TemporaryDirectory() as tmp:
        config_path = Path(tmp) / "config.toml"
        config_path.write_text(
            f'[[subscriptions]]\nname = "morning"\nquery = "cat:cs.CL"\nchannels = ["slack:{CHANNEL}"]\n'
            f'time = "08:30"\ntimezone = "UTC"\nmax_papers = {n_papers}\n'
        )
        clock = Clock(DUE - AHEAD if read_ahead_first else DUE)
        async with (
            FakeArxiv(papers(n_papers), recorded=False) as arxiv,
            FakeArxivSite() as site,
            FakeLLM(delay=latency, tokens_per_call=MEASURED) as llm,
            FakeSlack() as slack,
        ):
            arxiv.clock = clock  # the papers are public from Monday evening's announcement on
            real_pages = sorted(site.pages.values(), key=len)
            for i in range(n_papers):  # every paper has an HTML rendering (a real one, under its id)
                site.pages[f"2506.{i:05d}v1"] = real_pages[i % len(real_pages)]
            env = bench_env(tmp, arxiv, llm) | {
                "PAPERBOY_SUMMARY__SOURCE": "full",  # the papers are read (bench_env's other benchmarks do not)
                "PAPERBOY_READER__HTML_URL": site.html_url,
                "PAPERBOY_READER__PDF_URL": site.pdf_url,
                "PAPERBOY_READER__MIN_INTERVAL_SECONDS": str(reader_interval),
                "PAPERBOY_SLACK__ENABLED": "true",
                "PAPERBOY_SLACK__API_URL": slack.api_url,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
            }
            config = load_config(str(config_path), env)
            async with (
                open_services(config, now=clock, clients_at_start=True) as services,
                connected_platforms(config, services, receive=False) as platforms,
            ):
                poster = digest_poster(config, services, publishers_for(platforms))
                ahead = None
                if read_ahead_first:
                    reader = read_ahead(config, services, poster)
                    assert reader is not None
                    started = time.perf_counter()
                    await reader.tick()
                    await reader.settle()
                    ahead = time.perf_counter() - started
                    # In life the read-ahead ended minutes before the post: its last arXiv request does not hold
                    # the post's search back by the API's politeness interval.
                    await asyncio.sleep(config.settings.arxiv.min_interval_seconds)
                    clock.now = DUE
                calls, reads = len(llm.calls), len(site.requests)
                started = time.perf_counter()
                await poster.tick()
                wall = time.perf_counter() - started
                cards = len(await services.store.posted_paper_ids(f"slack:{CHANNEL}"))
                messages = len(slack.posts(CHANNEL))
                return Case(wall, cards, messages, len(llm.calls) - calls, len(site.requests) - reads, ahead)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=10)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--reader-interval", type=float, default=15.0)
    args = parser.parse_args()
    common = dict(n_papers=args.papers, latency=args.latency, reader_interval=args.reader_interval)
    print(
        f"== a {args.papers}-paper morning digest to Slack: FakeLLM at {args.latency:g} s per call, "
        f"arxiv.org at one request per {args.reader_interval:g} s"
    )
    cold = asyncio.run(run_case(**common, read_ahead_first=False))
    report("(a) cold: due time to last card", cold)
    warm = asyncio.run(run_case(**common, read_ahead_first=True))
    report("(b) read ahead: due time to last card", warm, "aim < 15 s")
    print(f"    the read-ahead itself, before the due time: {warm.ahead:.1f} s")


def report(what: str, case: Case, aim: str = "") -> None:
    print(f"{what:<40}{case.wall:6.1f} s  {aim}")
    print(f"    {case.cards} cards in {case.messages} Slack messages; during it {case.llm_calls} LLM calls, "
          f"{case.reads} arxiv.org requests")  # fmt: skip


if __name__ == "__main__":
    main()
