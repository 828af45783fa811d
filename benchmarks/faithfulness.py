"""Faithfulness over the fixture papers: what the check keeps and drops, and what reading the paper costs in input
tokens; prints figures (not a test).

    python -m benchmarks.faithfulness [--max-input-tokens 12000]

The papers of tests/data/papers/ (2508.08468v6's real HTML page, the LaTeXML widgets page, the three real PDFs) are
served by the fake arxiv.org and read by the real reader; the real summarizer (SummaryService, OpenAISummarizer)
writes their summaries through the fake LLM, on a fresh SQLite file. The fake LLM answers four ways (four takeaways
each, the third giving a number its quote has, when the paper has one):

- quotes correctly: every quote a verbatim run of the passage it names;
- misquotes once: the second takeaway's quote is not in the paper, then the retry quotes correctly;
- invents a number: the third takeaway adds a number its quote does not give, in the retry too;
- misquotes two: the first two takeaways' quotes are not in the paper, in the retry too.

Per paper and answer: the LLM calls made (a second one is the retry), the takeaways kept and dropped with why (the
summarizer's own log line), and what the card got. Input tokens are the fake LLM's count (4 characters a token) of
the first request, written from the full text and from the abstract alone.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import logging
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bot.clients.llm import OpenAISummarizer
from bot.clients.reader import ArxivReader
from bot.clients.reader_html import parse_html
from bot.clients.reader_pdf import parse_pdf
from bot.core.excerpt import approx_tokens
from bot.core.fulltext import FullText
from bot.core.models import ArxivRef, Paper
from bot.core.summaries import SummaryService
from storage.engine import make_engine
from storage.lanes import MemoryRequestLanes
from storage.migrations import upgrade
from storage.repository import SqlStore
from tests.fakes.arxiv_site import PAPERS, FakeArxivSite
from tests.fakes.llm_server import MEASURED, FakeLLM, cited

WHEN = dt.datetime(2025, 8, 12, tzinfo=dt.UTC)
# (id under which the fake arxiv.org serves it, the file, a title)
FIXTURES = (
    ("2508.08468v6", "2508.08468v6.html", "Cloud-edge audio-visual speech enhancement over 5G"),
    ("2501.00001v1", "latexml-widgets.html", "Sparse widgets (LaTeXML 0.8.7)"),
    ("2008.10010v1", "2008.10010v1.pdf", "A lip sync expert is all you need"),
    ("2302.07302v1", "2302.07302v1.pdf", "CiteSee"),
    ("2304.02623v1", "2304.02623v1.pdf", "Beyond summarization"),
)
Answer = Callable[[dict[str, Any]], str]
ANSWERS: tuple[tuple[str, tuple[Answer, ...]], ...] = (
    ("quotes correctly", (cited(),)),
    ("misquotes once", (cited(misquote={1}), cited())),
    ("invents a number", (cited(invent={2}), cited(invent={2}))),
    ("misquotes two", (cited(misquote={0, 1}), cited(misquote={0, 1}))),
)


@dataclasses.dataclass
class Outcome:
    calls: int
    verdict: str  # the summarizer's log line, without the paper's id
    card: str


class Verdicts(logging.Handler):
    """The summarizer's one line per paper: 'arXiv:ID: 3 of 4 takeaways kept, 1 dropped (...)'."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "takeaways kept" in (message := record.getMessage()):
            self.lines.append(message.split(": ", 1)[1])


class NoArxivApi:
    """The papers are given whole: the export API is never asked."""

    async def fetch(self, refs: Sequence[ArxivRef]) -> dict[ArxivRef, Paper]:
        raise AssertionError("not used")

    async def search(self, query: str, start: dt.datetime, end: dt.datetime, *, limit: int) -> list[Paper]:
        raise AssertionError("not used")


def fixture_paper(versioned: str, file: str, title: str) -> tuple[Paper, FullText]:
    """arXiv's record of the paper (its abstract as the paper gives it) and its whole text, as the reader parses it."""
    arxiv_id, version = versioned.rsplit("v", 1)
    data = (PAPERS / file).read_bytes()
    parse = parse_html if file.endswith(".html") else parse_pdf
    text = parse(data, url=f"https://arxiv.org/x/{versioned}", arxiv_id=arxiv_id, version=int(version))
    assert text is not None, file
    abstract = " ".join(p.text for p in text.paragraphs if p.section.lower() == "abstract") or title
    paper = Paper(arxiv_id, int(version), title, ("A. Author",), abstract, None, None, "cs.CL", ("cs.CL",), WHEN, WHEN)
    return paper, text


def prompt_tokens(call: dict[str, Any]) -> int:
    return sum(len(str(m.get("content", ""))) for m in call["messages"]) // 4


async def main(max_input_tokens: int) -> None:
    verdicts = Verdicts()
    logging.getLogger("bot.core.summaries").addHandler(verdicts)
    logging.getLogger("bot.core.summaries").setLevel(logging.INFO)
    # The widgets page has an injection paragraph on purpose: its warning at every call is not news here.
    logging.getLogger("bot.clients.llm").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await upgrade(engine)
        store = SqlStore(engine)
        async with FakeArxivSite() as site, FakeLLM(tokens_per_call=MEASURED) as llm:
            site.pages["2501.00001v1"] = (PAPERS / "latexml-widgets.html").read_bytes()
            reader = ArxivReader(lane=MemoryRequestLanes(), store=store, html_url=site.html_url, pdf_url=site.pdf_url,
                                 min_interval_seconds=0)  # fmt: skip
            summarizers: list[OpenAISummarizer] = []

            def service(model: str) -> SummaryService:
                # One model name per answer: each is a cache key of its own, so every paper is summarized anew.
                summarizer = OpenAISummarizer(base_url=llm.base_url, api_key="bench", model=model, max_retries=0)
                summarizers.append(summarizer)
                return SummaryService(source=NoArxivApi(), store=store, summarizer=summarizer, reader=reader,
                                      daily_token_budget=10**9, max_concurrency=1, cache_hours=24,
                                      max_input_tokens=max_input_tokens)  # fmt: skip

            tokens: list[tuple[str, str, int, int, int]] = []
            outcomes: list[tuple[str, str, Outcome]] = []
            try:
                for versioned, file, title in FIXTURES:
                    paper, whole = fixture_paper(versioned, file, title)
                    whole_tokens = sum(approx_tokens(p.text) for p in whole.paragraphs)
                    for number, (name, script) in enumerate(ANSWERS):
                        before = len(llm.calls)
                        llm.script(*script)
                        result = await service(f"fake-{number}").summarized(paper, language="en")
                        summary = result.summary
                        card = f"{summary.generator}, {len(summary.takeaways)} takeaways, from {summary.source}"
                        verdict = verdicts.lines.pop() if verdicts.lines else "-"
                        outcomes.append((versioned, name, Outcome(len(llm.calls) - before, verdict, card)))
                        if number == 0:
                            full_tokens = prompt_tokens(llm.calls[before])
                            kind = result.reading.kind if result.reading else "?"
                    before = len(llm.calls)
                    await service("fake-abstract").summarized(paper, language="en", source="abstract")
                    tokens.append((versioned, kind, whole_tokens, full_tokens, prompt_tokens(llm.calls[before])))
            finally:
                for summarizer in summarizers:
                    await summarizer.aclose()
                await reader.aclose()
        await engine.dispose()
    print(f"Input tokens per paper (reader.max_input_tokens = {max_input_tokens}; about 4 characters a token)")
    print(f"{'paper':14} {'read from':9} {'whole text':>10} {'LLM input: full text':>21} {'abstract only':>14}")
    for versioned, kind, whole_tokens, full_tokens, abstract_tokens in tokens:
        print(f"{versioned:14} {kind:9} {whole_tokens:>10} {full_tokens:>21} {abstract_tokens:>14}")
    print()
    print("Takeaways kept and dropped by the faithfulness check (4 per answer; a second call is the retry)")
    print(f"{'paper':14} {'the fake LLM':17} {'calls':>5}  {'check':62} card")
    for versioned, name, outcome in outcomes:
        print(f"{versioned:14} {name:17} {outcome.calls:>5}  {outcome.verdict:62} {outcome.card}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-input-tokens", type=int, default=12_000)
    asyncio.run(main(parser.parse_args().max_input_tokens))
