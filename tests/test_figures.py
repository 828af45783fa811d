"""The lead figure on the cards (issue 9 item 4): Slack's image block and Discord's embed image from a real arXiv
page; a CC-licensed PDF-only paper's crop uploaded (Slack's three calls, Discord's multipart attachment) against
the fake platforms, and nothing uploaded without the licence; `reader.figures = false`; `paperboy figures`."""

from __future__ import annotations

import dataclasses
import json
import os
from types import SimpleNamespace

import pytest

from bot.clients.reader import ArxivReader
from bot.clients.reader_html import parse_html
from bot.config import load_config
from bot.core.models import Digest, SummarizedPaper, Summary, SummaryBatch
from bot.core.render import render_batch
from bot.wiring import chat_platforms
from handlers.discord import DiscordPlatform
from handlers.slack.blocks import batch_messages
from handlers.slack.platform import web_client
from handlers.slack.publisher import SlackPublisher
from storage.lanes import MemoryRequestLanes
from tests.fakes.arxiv_site import PAPERS, PNG
from tests.fakes.discord_server import CHANNEL_ID, GUILD_ID, TOKEN, FakeDiscord
from tests.fakes.slack_server import BOT_TOKEN, CHANNEL, FakeSlack
from tests.test_cli import REPO, paperboy
from tests.test_reader import WHEN, paper

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HTML_PAPER, PDF_PAPER = ("2508.08468", 6), ("2008.10010", 1)  # CC BY 4.0 with its HTML; a PDF-only paper
PAGE = "https://arxiv.org/html/2508.08468v6"
FIGURE_1 = f"{PAGE}/fig1.png"  # `src="2508.08468v6/fig1.png"`, a versioned directory under /html/


def summary() -> Summary:
    return Summary(language="en", tldr="It works.", takeaways=("One.", "Two.", "Three."), abstract_translation=None,
                   generator="llm", model="fake-model", prompt_version="v1", source="html")  # fmt: skip


def html_card() -> SummarizedPaper:
    """2508.08468v6 as the reader finds it on arxiv.org: the real page, read at its real address."""
    page = (PAPERS / "2508.08468v6.html").read_bytes()
    text = parse_html(page, url=PAGE, arxiv_id=HTML_PAPER[0], version=HTML_PAPER[1])
    assert text is not None and text.license == "CC BY 4.0"
    return SummarizedPaper(paper(*HTML_PAPER), summary(), reading=text)


def digest(*items: SummarizedPaper) -> Digest:
    return Digest(title="nlp-daily", date=WHEN.date(), query="cat:cs.CL", papers=items, omitted=0, language="en")


def reader_for(site) -> ArxivReader:
    return ArxivReader(lane=MemoryRequestLanes(), html_url=site.html_url, pdf_url=site.pdf_url,
                       min_interval_seconds=0.0, timeout_seconds=10.0)  # fmt: skip


async def pdf_card(reader: ArxivReader, *, license: str | None) -> SummarizedPaper:
    """2008.10010v1 read from its PDF on the fake arxiv.org (it has no HTML), under `license`."""
    text = await reader.read(paper(*PDF_PAPER))
    assert text.kind == "pdf" and text.figures[0].label == "Figure 1"
    return SummarizedPaper(paper(*PDF_PAPER), dataclasses.replace(summary(), source="pdf"),
                           reading=dataclasses.replace(text, license=license))  # fmt: skip


def blocks_of(post: dict, kind: str) -> list[dict]:
    return [b for b in post["blocks"] if b["type"] == kind]


def discord_platform(fake: FakeDiscord, **options: object) -> DiscordPlatform:
    return DiscordPlatform(chat=None, events=None, token=TOKEN, api_url=fake.api_url, gateway_url=fake.gateway_url,
                           guild_ids=(GUILD_ID,), guild_ready_timeout=0.05, start_timeout=10, **options)  # type: ignore[arg-type]  # fmt: skip


# ---- the lead figure of a page with HTML: Slack's image block, Discord's embed image


async def test_slack_card_shows_the_lead_figure_at_its_arxiv_address(fake_slack: FakeSlack) -> None:
    """An image block with the figure's resolved arXiv address, its caption as alt text and its label as title,
    accepted by Slack's limits; the label links to the figure in the paper, with the caption."""
    item = html_card()
    publisher = SlackPublisher(web_client(BOT_TOKEN, fake_slack.api_url), min_interval=0)
    await publisher.post_digest(CHANNEL, digest(item))
    parent, card = fake_slack.posts()
    (image,) = blocks_of(card, "image")
    caption = item.reading.figures[0].caption  # type: ignore[union-attr]
    assert image["image_url"] == FIGURE_1
    assert image["title"] == {"type": "plain_text", "text": "Figure 1", "emoji": True}
    assert image["alt_text"] == caption.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")[:2000]
    assert blocks_of(parent, "image") == [] and fake_slack.calls_to("files.getUploadURLExternal") == []
    (line,) = [e["text"] for b in blocks_of(card, "context") for e in b["elements"] if "Figure 1" in e["text"]]
    assert line.startswith(f"<{PAGE}#S4.F1|Figure 1>: {caption.split()[0]}")


async def test_discord_card_shows_the_lead_figure_as_the_embed_image(fake_discord: FakeDiscord) -> None:
    platform = discord_platform(fake_discord)
    await platform.start()
    try:
        await platform.publisher.post_digest(str(CHANNEL_ID), digest(html_card()))
    finally:
        await platform.stop()
    assert fake_discord.schema_errors == []
    parent, card = fake_discord.sent_messages()
    (embed,) = card.body["embeds"]
    assert embed["image"]["url"] == FIGURE_1 and card.files == {}
    (field,) = [f for f in embed["fields"] if f["name"] == "Figure 1"]
    assert field["value"].endswith(f"([in the paper]({PAGE}#S4.F1))")
    assert "image" not in parent.body["embeds"][0]


# ---- a PDF-only paper: its crop uploaded only under a CC licence


async def test_slack_uploads_a_cc_licensed_pdf_only_papers_figure_into_the_cards_thread(fake_slack, fake_arxiv_site):
    """files.getUploadURLExternal(filename, length), the PNG posted to the upload URL, then
    files.completeUploadExternal into the digest's thread, titled with its credit; the card itself links to the
    figure's page of the PDF."""
    async with reader_for(fake_arxiv_site) as reader:
        item = await pdf_card(reader, license="CC BY 4.0")
        publisher = SlackPublisher(web_client(BOT_TOKEN, fake_slack.api_url), min_interval=0, figures=reader)
        await publisher.post_digest(CHANNEL, digest(item))
        # A card posted at the top level (a /digest reply): the upload starts that card's own thread.
        (message,) = batch_messages(SummaryBatch(papers=(item,)))
        ts = await publisher.post(CHANNEL, message)
    parent, card, top_level = fake_slack.posts()
    first, second = fake_slack.uploads
    assert (first.channel, first.thread_ts, second.thread_ts) == (CHANNEL, parent["ts"], ts)
    assert first.data is not None and first.data.startswith(PNG_MAGIC) and len(first.data) > 1000
    assert first.filename == "arxiv-2008.10010v1-figure-1.png"
    assert first.title is not None and first.title.startswith("Figure 1 of arXiv:2008.10010v1 (CC BY 4.0): ")
    asked = [c.args for c in fake_slack.calls_to("files.getUploadURLExternal")]
    assert asked[0]["filename"] == first.filename and int(asked[0]["length"]) == len(first.data)
    methods = [c.method for c in fake_slack.calls if c.method != "chat.postMessage"]
    assert methods == ["files.getUploadURLExternal", "files.completeUploadExternal"] * 2
    assert blocks_of(card, "image") == []
    assert any("<https://arxiv.org/pdf/2008.10010v1#page=1|Figure 1>" in e["text"]
               for b in blocks_of(card, "context") for e in b["elements"])  # fmt: skip
    # The PDF was fetched once for both cards: the crop is kept.
    assert fake_arxiv_site.paths.count("/pdf/2008.10010v1") == 2  # the read, then one fetch for the crops


async def test_slack_uploads_nothing_for_a_pdf_only_paper_without_a_cc_licence(fake_slack, fake_arxiv_site):
    async with reader_for(fake_arxiv_site) as reader:
        item = await pdf_card(reader, license=None)
        publisher = SlackPublisher(web_client(BOT_TOKEN, fake_slack.api_url), min_interval=0, figures=reader)
        await publisher.post_digest(CHANNEL, digest(item))
    assert [c.method for c in fake_slack.calls] == ["chat.postMessage"] * 2 and fake_slack.uploads == []
    card = fake_slack.posts()[1]
    assert blocks_of(card, "image") == []
    assert any("<https://arxiv.org/pdf/2008.10010v1#page=1|Figure 1>" in e["text"]
               for b in blocks_of(card, "context") for e in b["elements"])  # fmt: skip
    assert fake_arxiv_site.paths.count("/pdf/2008.10010v1") == 1  # read once; no crop fetched


async def test_a_failed_upload_is_logged_and_the_digest_goes_on(fake_slack, fake_arxiv_site, caplog):
    """An install without files:write: Slack answers missing_scope; one warning, every card still posted."""
    fake_slack.always("missing_scope", method="files.getUploadURLExternal")
    async with reader_for(fake_arxiv_site) as reader:
        item = await pdf_card(reader, license="CC BY 4.0")
        publisher = SlackPublisher(web_client(BOT_TOKEN, fake_slack.api_url), min_interval=0, figures=reader)
        sent = await publisher.post_digest(CHANNEL, digest(item, html_card()))
    assert len(sent) == len(fake_slack.posts()) == 2 and fake_slack.uploads == []
    (warning,) = [r.getMessage() for r in caplog.records if "could not upload" in r.getMessage()]
    assert "missing_scope" in warning and "Figure 1 of arXiv:2008.10010v1" in warning and publisher.sending


async def test_discord_attaches_a_cc_licensed_pdf_only_papers_figure(fake_discord, fake_arxiv_site):
    """The card's message is multipart: files[0] is the PNG, payload_json names it in attachments, and the
    embed shows it (attachment://); without the licence, no file and no image."""
    async with reader_for(fake_arxiv_site) as reader:
        cc = await pdf_card(reader, license="CC BY-SA 4.0")
        other = dataclasses.replace(cc, reading=dataclasses.replace(cc.reading, license=None))  # type: ignore[arg-type]
        platform = discord_platform(fake_discord, figures=reader)
        await platform.start()
        try:
            await platform.publisher.post_digest(str(CHANNEL_ID), digest(cc, other))
        finally:
            await platform.stop()
    assert fake_discord.schema_errors == []
    _, attached, linked = fake_discord.sent_messages()
    name = "arxiv-2008.10010v1-figure-1.png"
    (part,) = attached.files.values()
    assert (part.filename, part.data[:8]) == (name, PNG_MAGIC) and attached.files.keys() == {"files[0]"}
    assert [(a["id"], a["filename"]) for a in attached.body["attachments"]] == [(0, name)]
    assert attached.body["embeds"][0]["image"]["url"] == f"attachment://{name}"
    assert attached.response["attachments"][0]["filename"] == name
    assert linked.files == {} and "image" not in linked.body["embeds"][0]
    assert "attachments" not in linked.body or linked.body["attachments"] == []
    assert "https://arxiv.org/pdf/2008.10010v1#page=1" in json.dumps(linked.body["embeds"][0]["fields"])


# ---- reader.figures = false


async def test_figures_off_shows_none_on_slack_or_discord(fake_slack, fake_discord, fake_arxiv_site):
    async with reader_for(fake_arxiv_site) as reader:
        item = await pdf_card(reader, license="CC BY 4.0")
        publisher = SlackPublisher(web_client(BOT_TOKEN, fake_slack.api_url), min_interval=0, figures=reader,
                                   show_figures=False)  # fmt: skip
        await publisher.post_digest(CHANNEL, digest(item, html_card()))
        platform = discord_platform(fake_discord, figures=reader, show_figures=False)
        await platform.start()
        try:
            await platform.publisher.post_digest(str(CHANNEL_ID), digest(item, html_card()))
        finally:
            await platform.stop()
    posted = json.dumps(fake_slack.posts())
    assert "image" not in {b["type"] for p in fake_slack.posts() for b in p["blocks"]} and "Figure 1" not in posted
    assert {c.method for c in fake_slack.calls} == {"chat.postMessage"} and fake_slack.uploads == []
    sent = fake_discord.sent_messages()
    assert all(c.files == {} and "image" not in c.body["embeds"][0] for c in sent) and len(sent) == 3
    assert "Figure 1" not in json.dumps([c.body for c in sent])


async def test_wiring_gives_the_platforms_the_reader_and_the_setting() -> None:
    env = {"PAPERBOY_SLACK__ENABLED": "true", "PAPERBOY_DISCORD__ENABLED": "true", "PAPERBOY_READER__FIGURES": "false",
           "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xapp-1-A0-1-x", "DISCORD_BOT_TOKEN": TOKEN}  # fmt: skip
    reader = object()
    services = SimpleNamespace(chat=None, store=None, reader=reader)
    for config, shown in [
        (load_config(env=env), False),
        (load_config(env={**env, "PAPERBOY_READER__FIGURES": "true"}), True),
    ]:
        slack, discord = chat_platforms(config, services)  # type: ignore[arg-type]
        for publisher in (slack.publisher, discord.publisher):
            assert publisher.show_figures is shown and publisher._figures is reader  # type: ignore[attr-defined]


# ---- JSON


def test_json_lists_the_figures_lead_first() -> None:
    item = html_card()
    picked = dataclasses.replace(item, summary=dataclasses.replace(item.summary, lead_figure="Figure 3"))
    (paper_json,) = json.loads(render_batch(SummaryBatch(papers=(picked,)), "json"))["papers"]
    figures = paper_json["figures"]
    assert len(figures) == 10 and [f["lead"] for f in figures] == [True] + [False] * 9
    assert [f["label"] for f in figures[:3]] == ["Figure 3", "Figure 1", "Figure 2"]
    assert set(figures[0]) == {"label", "caption", "anchor_url", "image_url", "lead"}
    assert figures[1]["image_url"] == FIGURE_1 and figures[1]["anchor_url"] == f"{PAGE}#S4.F1"
    unread = SummarizedPaper(paper(*HTML_PAPER), summary())
    assert json.loads(render_batch(SummaryBatch(papers=(unread,)), "json"))["papers"][0]["figures"] == []


# ---- the reader's images


async def test_the_reader_crops_once_and_fetches_images_only_from_arxiv(fake_arxiv_site) -> None:
    async with reader_for(fake_arxiv_site) as reader:
        text = await reader.read(paper(*PDF_PAPER))
        figure = text.figures[0]
        first = await reader.figure_png(paper(*PDF_PAPER), figure)
        again = await reader.figure_png(paper(*PDF_PAPER), figure)
        assert first is not None and first == again and first.startswith(PNG_MAGIC)
        assert fake_arxiv_site.paths.count("/pdf/2008.10010v1") == 2
        image = await reader.image(f"{fake_arxiv_site.html_url}/2508.08468v6/fig1.png")
        assert image == PNG
        assert await reader.image("https://evil.example/track.png") is None
        assert await reader.image(f"{fake_arxiv_site.base_url}/src/2508.08468v6") is None  # never the source
    assert not [p for p in fake_arxiv_site.paths if p.startswith("/src")]


async def test_a_pdf_that_cannot_be_had_gives_no_crop_and_is_tried_again(fake_arxiv_site) -> None:
    async with reader_for(fake_arxiv_site) as reader:
        text = await reader.read(paper(*PDF_PAPER))
        fake_arxiv_site.script("/pdf/2008.10010v1", "404")
        assert await reader.figure_png(paper(*PDF_PAPER), text.figures[0]) is None
        assert await reader.figure_png(paper(*PDF_PAPER), text.figures[0]) is not None


# ---- paperboy figures


@pytest.fixture
def figures_env(tmp_path, fake_arxiv, fake_arxiv_site):
    """The command's environment: the fake arXiv API (which knows both papers) and the fake arxiv.org."""
    for arxiv_id, version in (HTML_PAPER, PDF_PAPER):
        fake_arxiv.add_papers([{"id": arxiv_id, "version": version, "title": f"Paper {arxiv_id}",
                                "abstract": "We study things.", "categories": ["cs.SD"],
                                "published": "2025-08-11T17:00:00Z"}])  # fmt: skip
    base = {k: v for k, v in os.environ.items() if not k.startswith("PAPERBOY_") and k != "OPENAI_API_KEY"}
    return {**base, "PYTHONPATH": REPO, "PAPERBOY_STORAGE__URL": f"sqlite+aiosqlite:///{tmp_path}/paperboy.db",
            "PAPERBOY_ARXIV__API_URL": fake_arxiv.api_url, "PAPERBOY_ARXIV__MIN_INTERVAL_SECONDS": "0.01",
            "PAPERBOY_READER__HTML_URL": fake_arxiv_site.html_url, "PAPERBOY_READER__PDF_URL": fake_arxiv_site.pdf_url,
            "PAPERBOY_READER__MIN_INTERVAL_SECONDS": "0"}  # fmt: skip


async def test_paperboy_figures_lists_a_real_pages_figures(figures_env, tmp_path, fake_arxiv_site) -> None:
    code, out, err = await paperboy("figures", "2508.08468v6", env=figures_env, cwd=tmp_path)
    assert (code, err) == (0, "… reading arXiv:2508.08468v6\n"), err  # progress, in a pipe a plain line
    lines = out.splitlines()
    assert lines[0] == (f"arXiv:2508.08468v6: 10 figures (from arXiv's HTML rendering, "
                        f"{fake_arxiv_site.html_url}/2508.08468v6, CC BY 4.0)")  # fmt: skip
    assert lines[2].startswith("Figure 1: ") and lines[3] == f"  {fake_arxiv_site.html_url}/2508.08468v6/fig1.png"
    labels = [line.split(":")[0] for line in lines if line.startswith("Figure ")]
    assert labels == [f"Figure {n}" for n in range(1, 11)]
    assert sum(line.startswith("  Figure ") for line in lines) == 10  # the sub-figures, indented
    assert fake_arxiv_site.paths == ["/html/2508.08468v6"]  # listing fetches no image


async def test_paperboy_figures_out_saves_the_images(figures_env, tmp_path, fake_arxiv_site) -> None:
    out = tmp_path / "figs"
    code, _, err = await paperboy("figures", "2508.08468v6", "--out", str(out), env=figures_env, cwd=tmp_path)
    assert code == 0, err
    files = sorted(p.name for p in out.iterdir())
    images = [p for p in fake_arxiv_site.paths if p.endswith(".png")]
    assert len(files) == len(images) == len(set(images)) >= 10 and "figure-1.png" in files
    assert all((out / name).read_bytes() == PNG for name in files)
    assert f"wrote {len(files)} images to {out}" in err
    # A PDF-only paper: its figures cropped from the PDF.
    code, out_text, err = await paperboy("figures", "2008.10010v1", "--out", str(tmp_path / "pdf"), env=figures_env,
                                         cwd=tmp_path)  # fmt: skip
    assert (tmp_path / "pdf" / "figure-1.png").read_bytes().startswith(PNG_MAGIC), err
    assert "#page=1 (cropped from the PDF with --out)" in out_text


async def test_paperboy_figures_says_why_when_the_paper_cannot_be_read(figures_env, tmp_path, fake_arxiv_site) -> None:
    fake_arxiv_site.script("/html/2508.08468v6", "404")
    fake_arxiv_site.script("/pdf/2508.08468v6", "404")
    code, out, err = await paperboy("figures", "arXiv:2508.08468v6", env=figures_env, cwd=tmp_path)
    progress, error = err.splitlines()
    assert (code, out, progress) == (1, "", "… reading arXiv:2508.08468v6")
    assert error == (
        "paperboy: arXiv:2508.08468v6: the paper could not be read "
        "(HTML: not found (HTTP 404); PDF: not found (HTTP 404))"
    )
