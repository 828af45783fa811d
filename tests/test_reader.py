"""The paper reader against a fake arxiv.org (tests/fakes/arxiv_site.py) serving real pages and PDFs: the HTML,
the PDF when there is no usable HTML, the abstract when neither; politeness (the lane, Retry-After, two
processes), bounds (timeouts, size caps, the PDF parser's limits), and a paper read once, ever (stored)."""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import os
import socket
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import update

from bot.clients.reader import ArxivReader, PdfLimits, abs_page_license, license_name
from bot.config import load_config
from bot.core.errors import ConfigError
from bot.core.fulltext import Figure, FullText, Paragraph
from bot.core.models import Paper
from bot.wiring import open_services
from storage.engine import make_engine
from storage.lanes import MemoryRequestLanes, SqlRequestLanes
from storage.migrations import upgrade
from storage.tables import full_texts
from tests.fakes.arxiv_site import (
    ARXIV_LICENSE,
    CC_BY,
    parser_that_eats_memory,
    parser_that_never_ends,
    parser_that_reports_its_page_cap,
)
from tests.processes import release_together

REPO = str(Path(__file__).resolve().parent.parent)
HTML_PAPER = ("2508.08468", 6)  # CC BY 4.0, 10 figures (with panels), 3 tables
PDF_PAPER = ("2008.10010", 1)  # no HTML on the fake: a PDF only
WHEN = dt.datetime(2025, 8, 12, tzinfo=dt.UTC)
CLOCK_SLACK = 0.05  # arrival times on the fake carry each request's own latency: far less than an interval


def paper(arxiv_id: str, version: int = 1) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        version=version,
        title="A paper",
        authors=("A. Author",),
        abstract="We study things and find results.",
        comment=None,
        journal_ref=None,
        primary_category="cs.CL",
        categories=("cs.CL",),
        published=WHEN,
        updated=WHEN,
    )


def reader_for(site, **options) -> ArxivReader:
    settings = {
        "lane": MemoryRequestLanes(),
        "html_url": site.html_url,
        "pdf_url": site.pdf_url,
        "min_interval_seconds": 0.0,
        "timeout_seconds": 5.0,
    }
    return ArxivReader(**(settings | options))


# ---- the HTML, the PDF, the abstract


async def test_the_html_rendering_is_read_first(fake_arxiv_site, loop_guard) -> None:
    """A paper with a LaTeXML page is read from it: paragraphs with their ids, the licence, the figures with their
    images resolved on the site; nothing else is fetched, and the parsing never holds the event loop."""
    loop_guard.arm()
    async with reader_for(fake_arxiv_site) as reader:
        text = await reader.read(paper(*HTML_PAPER))
    assert text.kind == "html" and text.note is None
    assert text.url == f"{fake_arxiv_site.html_url}/2508.08468v6"
    assert text.license == "CC BY 4.0" and text.is_cc_licensed
    assert len(text.paragraphs) > 20 and any(p.anchor == "S1.p1" for p in text.paragraphs)
    assert len(text.figures) == 10 and text.figures[0].label == "Figure 1"
    assert text.figures[0].image_url == f"{fake_arxiv_site.html_url}/2508.08468v6/fig1.png"
    assert len(text.table_captions) == 3
    assert fake_arxiv_site.paths == ["/html/2508.08468v6"]
    async with aiohttp.ClientSession() as session, session.get(text.figures[0].image_url) as resp:
        assert resp.status == 200 and (await resp.read()).startswith(b"\x89PNG")


async def test_a_redirect_is_followed_in_its_own_turn(fake_arxiv_site) -> None:
    """arXiv may redirect to the page with a trailing slash: the final URL is the text's (images resolve against
    it), and the second request waits for its turn like any other."""
    fake_arxiv_site.script("/html/2508.08468v6", "redirect")
    async with reader_for(fake_arxiv_site, min_interval_seconds=0.3) as reader:
        text = await reader.read(paper(*HTML_PAPER))
    assert text.kind == "html" and text.url == f"{fake_arxiv_site.html_url}/2508.08468v6/"
    assert text.figures[0].image_url == f"{fake_arxiv_site.html_url}/2508.08468v6/fig1.png"
    assert fake_arxiv_site.paths == ["/html/2508.08468v6", "/html/2508.08468v6/"]
    (first, _), (second, _) = fake_arxiv_site.requests
    assert second - first >= 0.3 - CLOCK_SLACK


async def test_no_html_rendering_means_the_pdf(fake_arxiv_site) -> None:
    """HTML 404 (a PDF-only submission): the PDF is read, page by page."""
    async with reader_for(fake_arxiv_site) as reader:
        text = await reader.read(paper(*PDF_PAPER))
    assert text.kind == "pdf" and text.url == f"{fake_arxiv_site.pdf_url}/2008.10010v1"
    assert text.paragraphs and text.paragraphs[0].anchor.startswith("page=")
    assert "Lip" in " ".join(p.text for p in text.paragraphs)
    assert fake_arxiv_site.paths == ["/html/2008.10010v1", "/pdf/2008.10010v1", "/abs/2008.10010v1"]  # the licence


async def test_a_stub_page_means_the_pdf(fake_arxiv_site) -> None:
    """HTTP 200 with arXiv's wrapper and no body text is no HTML rendering: the PDF is read."""
    fake_arxiv_site.script("/html/2302.07302v1", "stub")
    async with reader_for(fake_arxiv_site) as reader:
        text = await reader.read(paper("2302.07302"))
    assert text.kind == "pdf"
    assert fake_arxiv_site.paths == ["/html/2302.07302v1", "/pdf/2302.07302v1", "/abs/2302.07302v1"]


async def test_a_page_that_is_not_latexml_means_the_pdf(fake_arxiv_site) -> None:
    """An author-supplied HTML submission (not LaTeXML) is not read as the paper."""
    fake_arxiv_site.pdfs["2401.10725v1"] = fake_arxiv_site.pdfs["2304.02623v1"]
    async with reader_for(fake_arxiv_site) as reader:
        text = await reader.read(paper("2401.10725"))
    assert text.kind == "pdf"


async def test_neither_source_means_the_abstract_with_a_note_and_is_remembered(fake_arxiv_site) -> None:
    """Both 404: the abstract stands in, with one line saying why; asked again soon, arxiv.org is not asked."""
    async with reader_for(fake_arxiv_site) as reader:
        text = await reader.read(paper("2501.00001"))
        assert text == FullText.abstract_only(paper("2501.00001"), note=text.note)
        assert text.kind == "abstract" and text.paragraphs[0].text == "We study things and find results."
        assert text.note == "the paper could not be read (HTML: not found (HTTP 404); PDF: not found (HTTP 404))"
        assert fake_arxiv_site.paths == ["/html/2501.00001v1", "/pdf/2501.00001v1"]
        again = await reader.read(paper("2501.00001"))
    assert again.note == text.note and len(fake_arxiv_site.requests) == 2


async def test_a_failure_that_may_pass_is_not_remembered(fake_arxiv_site) -> None:
    """No answer (a timeout) is tried again at the next read, and then the paper is read."""
    fake_arxiv_site.script("/html/2508.08468v6", "hang")
    fake_arxiv_site.script("/pdf/2508.08468v6", "hang")
    async with reader_for(fake_arxiv_site, timeout_seconds=0.5) as reader:
        first = await reader.read(paper(*HTML_PAPER))
        assert first.kind == "abstract" and "no complete answer within 0.5 s" in (first.note or "")
        second = await reader.read(paper(*HTML_PAPER))
    assert second.kind == "html"


async def test_a_pdf_that_is_not_a_pdf_is_not_parsed(fake_arxiv_site) -> None:
    """The PDF address answering with something else (an HTML error page with HTTP 200) is no PDF."""
    fake_arxiv_site.pdfs["2501.00002v1"] = b"<html><body>Sorry</body></html>"
    async with reader_for(fake_arxiv_site) as reader:
        text = await reader.read(paper("2501.00002"))
    assert text.kind == "abstract" and "PDF: the answer is not a PDF" in (text.note or "")


# ---- bounds: size, time


async def test_an_oversized_page_is_not_read_and_the_pdf_is(fake_arxiv_site) -> None:
    """A page streamed past the cap (no Content-Length to go by) is given up mid-body; the PDF stands in."""
    fake_arxiv_site.script("/html/2008.10010v1", "oversized")
    async with reader_for(fake_arxiv_site, max_html_bytes=1_000_000) as reader:
        text = await reader.read(paper(*PDF_PAPER))
    assert text.kind == "pdf"
    assert fake_arxiv_site.streamed_to_end == {"/html/2008.10010v1": False}  # the other 63 MB were never read


async def test_a_page_declared_over_the_cap_is_not_read(fake_arxiv_site) -> None:
    """Content-Length over the cap: not read at all; the note names the cap."""
    async with reader_for(fake_arxiv_site, max_html_bytes=100_000) as reader:
        text = await reader.read(paper(*HTML_PAPER))
    assert text.kind == "abstract"
    assert text.note == "the paper could not be read (HTML: larger than 0.1 MB; PDF: not found (HTTP 404))"


@pytest.mark.parametrize("mode", ["hang", "drip"])
async def test_no_answer_in_time_falls_back_within_bounds(fake_arxiv_site, loop_guard, mode) -> None:
    """A page that never comes, or drips in a byte at a time, is given up at the deadline (the body counts);
    the PDF is read instead, and the event loop is never held."""
    fake_arxiv_site.drip_interval = 0.05
    fake_arxiv_site.script("/html/2008.10010v1", mode)
    loop_guard.arm()
    started = time.monotonic()
    async with reader_for(fake_arxiv_site, timeout_seconds=1.0) as reader:
        text = await reader.read(paper(*PDF_PAPER))
    assert text.kind == "pdf"
    assert fake_arxiv_site.paths == ["/html/2008.10010v1", "/pdf/2008.10010v1", "/abs/2008.10010v1"]  # not retried
    assert time.monotonic() - started < 1.0 + 20  # the deadline, then the PDF (parsed in a fresh process)


async def test_arxiv_unreachable_means_the_abstract_without_asking_for_the_pdf() -> None:
    """Nothing listens: a few tries, then the abstract; the PDF (same host) is not asked for."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: connections are refused
    base = f"http://127.0.0.1:{port}"
    async with ArxivReader(lane=MemoryRequestLanes(), html_url=f"{base}/html", pdf_url=f"{base}/pdf",
                           min_interval_seconds=0.0) as reader:  # fmt: skip
        text = await reader.read(paper(*HTML_PAPER))
    assert text.kind == "abstract"
    assert text.note == "the paper could not be read (HTML: arxiv.org could not be reached)"


# ---- politeness


async def test_429_retry_after_holds_the_lane(fake_arxiv_site) -> None:
    """A 429 with Retry-After: the next request, this reader's or another's on the same lanes, waits that long."""
    lane = MemoryRequestLanes()
    fake_arxiv_site.script("/html/2508.08468v6", "429:1")
    async with reader_for(fake_arxiv_site, lane=lane) as reader, reader_for(fake_arxiv_site, lane=lane) as other:
        first = asyncio.create_task(reader.read(paper(*HTML_PAPER)))
        while not fake_arxiv_site.requests:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)  # the 429 has come back and the lane is held
        texts = await asyncio.gather(first, other.read(paper(*PDF_PAPER)))
    assert [t.kind for t in texts] == ["html", "pdf"]
    times = {path: at for at, path in fake_arxiv_site.requests}
    assert fake_arxiv_site.paths.count("/html/2508.08468v6") == 2
    held_from = fake_arxiv_site.requests[0][0]
    later = [at for at, _ in fake_arxiv_site.requests[1:]]
    assert min(later) >= held_from + 1.0 - CLOCK_SLACK, (held_from, times)


async def test_a_retry_after_too_long_to_wait_is_not_waited_for(fake_arxiv_site) -> None:
    """Retry-After: 3600 is not sat through: the HTML counts as unavailable and the PDF is read."""
    fake_arxiv_site.script("/html/2008.10010v1", "503:3600")
    started = time.monotonic()
    async with reader_for(fake_arxiv_site) as reader:
        text = await reader.read(paper(*PDF_PAPER))
    assert text.kind == "pdf" and time.monotonic() - started < 30


async def test_the_source_is_never_fetched(fake_arxiv_site) -> None:
    """A redirect to /src (robots.txt disallows it) is refused before any request."""
    fake_arxiv_site.script("/html/2508.08468v6", "redirect:/src/2508.08468v6")
    async with reader_for(fake_arxiv_site) as reader:
        text = await reader.read(paper(*HTML_PAPER))
    assert text.kind == "abstract" and "refused to fetch the paper's source" in (text.note or "")
    assert not any(p.startswith(("/src", "/e-print")) for p in fake_arxiv_site.paths)


async def test_concurrent_reads_of_one_paper_make_one_fetch(fake_arxiv_site) -> None:
    """Five readers of one paper at once share one request; one of them giving up does not stop the others."""
    fake_arxiv_site.script("/html/2508.08468v6", "429:0.5")  # keeps the fetch in flight for a while
    async with reader_for(fake_arxiv_site) as reader:
        impatient = asyncio.create_task(reader.read(paper(*HTML_PAPER)))
        others = [asyncio.create_task(reader.read(paper(*HTML_PAPER))) for _ in range(4)]
        await asyncio.sleep(0.1)
        impatient.cancel()
        texts = await asyncio.gather(*others)
    assert all(t.kind == "html" for t in texts) and all(t is texts[0] for t in texts)
    assert fake_arxiv_site.paths == ["/html/2508.08468v6", "/html/2508.08468v6"]  # the 429, then the page


# ---- stored: fetched once, ever


async def test_a_paper_is_fetched_once_ever(fake_arxiv_site, store) -> None:
    """Read once through the store, the text comes back whole (figures, panels, licence) to a new reader, with no
    request; so does a PDF-only paper's. An abstract stand-in is not stored."""
    async with reader_for(fake_arxiv_site, store=store) as reader:
        html = await reader.read(paper(*HTML_PAPER))
        pdf = await reader.read(paper(*PDF_PAPER))
        missing = await reader.read(paper("2501.00001"))
    assert (html.kind, pdf.kind, missing.kind) == ("html", "pdf", "abstract")
    assert any(f.panels for f in html.figures)
    asked = len(fake_arxiv_site.requests)
    async with reader_for(fake_arxiv_site, store=store) as fresh:
        assert await fresh.read(paper(*HTML_PAPER)) == html
        assert await fresh.read(paper(*PDF_PAPER)) == pdf
        assert len(fake_arxiv_site.requests) == asked
        assert (await fresh.read(paper("2501.00001"))).kind == "abstract"
    assert len(fake_arxiv_site.requests) == asked + 2  # the abstract-only paper was asked for again
    assert await store.get_full_text("2501.00001", 1) is None


async def test_the_store_keeps_every_field(store) -> None:
    """A text round-trips exactly: nested panels, a drawing without an image, table captions, the note; a row in
    an unknown format reads as absent (read again, never misread); an abstract stand-in is refused."""
    panel = Figure("Figure 2a", "Left: $\\alpha$", "S2.F2.sf1", "https://arxiv.org/html/2501.00003v2/x2.png", "raster")
    text = FullText(
        arxiv_id="2501.00003",
        version=2,
        kind="html",
        url="https://arxiv.org/html/2501.00003v2/",
        license=None,
        paragraphs=(Paragraph("S1.p1", "1 Introduction", "We show 12.5% gains."), Paragraph("S1.p2", "", "More.")),
        figures=(
            Figure("Figure 1", "A drawing.", "S1.F1", None, "drawing"),
            Figure("Figure 2", "Two panels.", "S2.F2", None, "raster", panels=(panel, panel)),
        ),
        table_captions=("Table 1: Results.",),
        note="the PDF is over 30 MB",
    )
    await store.save_full_text(text)
    await store.save_full_text(text)  # again: idempotent
    assert await store.get_full_text("2501.00003", 2) == text
    assert await store.get_full_text("2501.00003", 1) is None
    with pytest.raises(ValueError, match="only full texts"):
        await store.save_full_text(FullText.abstract_only(paper("2501.00004")))
    async with store._writer.begin() as conn:
        await conn.execute(update(full_texts).values(content={"format": 999}))
    assert await store.get_full_text("2501.00003", 2) is None


# ---- the PDF parser's limits


@pytest.mark.parametrize(
    ("parser", "limits", "why"),
    [
        (parser_that_never_ends, PdfLimits(wall_seconds=2, cpu_seconds=60), "parsing the PDF took over 2 s"),
        (parser_that_never_ends, PdfLimits(wall_seconds=60, cpu_seconds=1), "the PDF parser stopped"),
        (parser_that_eats_memory, PdfLimits(memory_bytes=512 * 1024**2), "the PDF parser ran out of memory"),
    ],
    ids=["wall-time", "cpu", "memory"],
)
async def test_a_pdf_parser_past_its_limits_costs_only_that_paper(fake_arxiv_site, parser, limits, why) -> None:
    """An infinite loop or a PDF bomb in the parser: its process is stopped at the limit, the abstract stands in,
    no process is left behind, and the next paper is read as usual."""
    started = time.monotonic()
    async with reader_for(fake_arxiv_site, pdf_parser=parser, pdf_limits=limits) as reader:
        text = await reader.read(paper(*PDF_PAPER))
        assert text.kind == "abstract" and why in (text.note or ""), text.note
        assert time.monotonic() - started < 40
        assert multiprocessing.active_children() == []
        assert (await reader.read(paper(*HTML_PAPER))).kind == "html"


async def test_the_pdf_parser_gets_the_page_cap_and_the_bytes_stay_in_memory(fake_arxiv_site, tmp_path) -> None:
    """reader.max_pdf_pages reaches the parser; the PDF is never written to a file (the temporary directory the
    child and the reader would use stays empty)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", str(scratch))
        patch.setattr("tempfile.tempdir", str(scratch))
        reader = reader_for(fake_arxiv_site, pdf_parser=parser_that_reports_its_page_cap, max_pdf_pages=7)
        async with reader:
            text = await reader.read(paper(*PDF_PAPER))
    size = len(fake_arxiv_site.pdfs["2008.10010v1"])
    assert text.kind == "pdf" and text.paragraphs[0].text == f"read at most 7 pages of {size} bytes"
    assert list(scratch.iterdir()) == []


# ---- wiring and processes


async def test_wiring_reads_through_the_database(db_url, fake_arxiv_site, tmp_path, monkeypatch) -> None:
    """services.reader reads with the [reader] settings, stores the text, and paces on the database's lane."""
    monkeypatch.chdir(tmp_path)  # no ./config.toml
    env = {
        "PAPERBOY_STORAGE__URL": db_url,
        "PAPERBOY_READER__HTML_URL": fake_arxiv_site.html_url,
        "PAPERBOY_READER__PDF_URL": fake_arxiv_site.pdf_url,
        "PAPERBOY_READER__MIN_INTERVAL_SECONDS": "0",
    }
    async with open_services(load_config(env=env)) as services:
        text = await services.reader.read(paper(*HTML_PAPER))
        assert text.kind == "html"
        assert await services.store.get_full_text(*HTML_PAPER) == text


# Each process: an ArxivReader on the shared database's lane, ready, then (on "go") reading its papers one by one.
WORKER = """
import asyncio, datetime as dt, sys
from bot.clients.reader import ArxivReader
from bot.core.models import Paper
from storage.engine import make_engine
from storage.lanes import SqlRequestLanes

def paper(arxiv_id):
    when = dt.datetime(2025, 8, 12, tzinfo=dt.UTC)
    return Paper(arxiv_id, 1, "T", (), "An abstract.", None, None, "cs.CL", ("cs.CL",), when, when)

async def main(db_url, base, interval, ids):
    engine = make_engine(db_url)
    try:
        lane = SqlRequestLanes(engine)
        reader = ArxivReader(lane=lane, html_url=base + "/html", pdf_url=base + "/pdf",
                             min_interval_seconds=float(interval))
        async with reader:
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
            kinds = [(await reader.read(paper(i))).kind for i in ids.split(",")]
            print(" ".join(kinds), flush=True)
    finally:
        await engine.dispose()

asyncio.run(main(*sys.argv[1:]))
"""


async def start_worker(db_url: str, base_url: str, interval: float, ids: list[str]) -> asyncio.subprocess.Process:
    pipe = asyncio.subprocess.PIPE
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER, db_url, base_url, str(interval), ",".join(ids),
        env={**os.environ, "PYTHONPATH": REPO}, stdin=pipe, stdout=pipe, stderr=pipe,
    )  # fmt: skip


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_two_processes_keep_the_interval_between_arxiv_requests_together(db_url, fake_arxiv_site) -> None:
    """Two OS processes sharing one PostgreSQL database, reading at the same moment, reach arxiv.org at most once
    per reader.min_interval_seconds overall, and both read their papers."""
    interval, per_process = 0.5, 3
    ids = [f"2501.0010{i}" for i in range(2 * per_process)]
    for arxiv_id in ids:
        fake_arxiv_site.pages[f"{arxiv_id}v1"] = fake_arxiv_site.pages["2508.08468v6"]
    engine = make_engine(db_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    workers = [
        await start_worker(db_url, fake_arxiv_site.base_url, interval, batch)
        for batch in (ids[:per_process], ids[per_process:])
    ]
    outputs = await release_together(workers, timeout=60)
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err.decode()
        assert out.decode().split() == ["html"] * per_process
    assert len(fake_arxiv_site.requests) == 2 * per_process
    times = sorted(at for at, _ in fake_arxiv_site.requests)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= interval - 0.1, gaps


async def test_sql_lanes_pace_readers_of_one_database(store, fake_arxiv_site) -> None:
    """Two readers on one database's lanes (as two processes have) take turns an interval apart."""
    lanes = [SqlRequestLanes(store._engine), SqlRequestLanes(store._engine)]
    for arxiv_id in ("2501.00201", "2501.00202"):
        fake_arxiv_site.pages[f"{arxiv_id}v1"] = fake_arxiv_site.pages["2508.08468v6"]
    async with (
        reader_for(fake_arxiv_site, lane=lanes[0], min_interval_seconds=0.4) as one,
        reader_for(fake_arxiv_site, lane=lanes[1], min_interval_seconds=0.4) as two,
    ):
        texts = await asyncio.gather(one.read(paper("2501.00201")), two.read(paper("2501.00202")))
    assert [t.kind for t in texts] == ["html", "html"]
    (first, _), (second, _) = sorted(fake_arxiv_site.requests)
    assert second - first >= 0.4 - CLOCK_SLACK


def test_reader_settings_refuse_credentials_and_strip_slashes() -> None:
    config = load_config(env={"PAPERBOY_READER__HTML_URL": "https://arxiv.org/html/"})
    assert config.settings.reader.html_url == "https://arxiv.org/html"
    assert config.settings.reader.min_interval_seconds == 15 and config.settings.summary.source == "full"
    with pytest.raises(ConfigError, match="reader.pdf_url: the URL has a user name or password"):
        load_config(env={"PAPERBOY_READER__PDF_URL": "https://me:secret@arxiv.org/pdf"})


# ---- a PDF-only paper's licence, from its abstract page


async def test_a_pdf_only_papers_licence_comes_from_its_abstract_page(fake_arxiv_site, store) -> None:
    """HTML 404: after the PDF, the abstract page is asked, in its own turn on the lane, for the licence; CC BY
    there makes the figure postable, and the licence is stored with the text (not asked again)."""
    fake_arxiv_site.abs_licenses["2008.10010v1"] = CC_BY
    async with reader_for(fake_arxiv_site, store=store, min_interval_seconds=0.3) as reader:
        text = await reader.read(paper(*PDF_PAPER))
    assert text.kind == "pdf" and text.license == "CC BY 4.0" and text.is_cc_licensed
    assert fake_arxiv_site.paths == ["/html/2008.10010v1", "/pdf/2008.10010v1", "/abs/2008.10010v1"]
    (_, _), (pdf_at, _), (abs_at, _) = fake_arxiv_site.requests
    assert abs_at - pdf_at >= 0.3 - CLOCK_SLACK
    async with reader_for(fake_arxiv_site, store=store) as fresh:
        assert (await fresh.read(paper(*PDF_PAPER))).license == "CC BY 4.0"
    assert len(fake_arxiv_site.requests) == 3


async def test_arxivs_default_licence_is_not_creative_commons(fake_arxiv_site) -> None:
    fake_arxiv_site.abs_licenses["2008.10010v1"] = ARXIV_LICENSE
    async with reader_for(fake_arxiv_site) as reader:
        text = await reader.read(paper(*PDF_PAPER))
    assert text.kind == "pdf" and text.license == "arXiv.org perpetual non-exclusive license"
    assert not text.is_cc_licensed


async def test_no_abstract_page_leaves_the_licence_unknown(fake_arxiv_site) -> None:
    """The abstract page 404: the paper is still read from its PDF, its licence unknown."""
    fake_arxiv_site.script("/abs/2008.10010v1", "404")
    async with reader_for(fake_arxiv_site) as reader:
        text = await reader.read(paper(*PDF_PAPER))
    assert text.kind == "pdf" and text.note is None and text.paragraphs
    assert text.license is None and not text.is_cc_licensed
    assert fake_arxiv_site.paths[-1] == "/abs/2008.10010v1"


@pytest.mark.parametrize(
    ("href", "name"),
    [
        ("http://creativecommons.org/licenses/by/4.0/", "CC BY 4.0"),
        ("https://creativecommons.org/licenses/by-sa/4.0/", "CC BY-SA 4.0"),
        ("http://creativecommons.org/licenses/by-nc-sa/4.0/", "CC BY-NC-SA 4.0"),
        ("http://creativecommons.org/licenses/by-nc-nd/4.0/", "CC BY-NC-ND 4.0"),
        ("http://creativecommons.org/publicdomain/zero/1.0/", "CC0 1.0"),
        ("http://arxiv.org/licenses/nonexclusive-distrib/1.0/", "arXiv.org perpetual non-exclusive license"),
        ("http://arxiv.org/licenses/assumed-1991-2003/", None),
        ("http://creativecommons.evil.example/licenses/by/4.0/", None),
        ("javascript:alert(1)", None),
    ],
)
def test_licence_links_are_named(href: str, name: str | None) -> None:
    assert license_name(href) == name


def test_an_abstract_page_without_a_licence_box_names_none() -> None:
    assert abs_page_license(b"<html><body><div class='full-text'>View PDF</div></body></html>") is None
    assert abs_page_license(b"") is None
