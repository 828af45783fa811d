"""Slack Block Kit renderers as plain functions: escaping, Slack's limits, splitting, digest layout."""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import given
from hypothesis import strategies as st

from bot.core.models import Digest, InputError, Paper, SummarizedPaper, Summary, SummaryBatch
from handlers.slack.blocks import (
    MAX_BLOCKS,
    MAX_BUTTON_TEXT_CHARS,
    MAX_BUTTON_URL_CHARS,
    MAX_BUTTONS,
    MAX_HEADER_CHARS,
    MAX_MESSAGE_CHARS,
    MAX_SECTION_CHARS,
    SlackMessage,
    batch_messages,
    block_chars,
    digest_messages,
    escape,
    fit,
    split,
    text_message,
)

WHEN = dt.datetime(2025, 5, 28, 17, 0, tzinfo=dt.UTC)
HOSTILE = "<!channel> <!here> <@U123> <!subteam^S1> <https://evil.example|arxiv> <#C1> a&b"
# An escaped text: only &amp; &lt; &gt; may follow an "&".
BROKEN_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")
# The only link in text: the title's, to the abstract page. Every other link is a button.
OUR_LINK = re.compile(r"^<https://arxiv\.org/abs/\d{4}\.\d{5}v\d+\|[^<>]*>$")
TITLE = re.compile(r"\*(\d+\. )?<https://arxiv\.org/abs/[^|>]+\|([^<>]*)>\*")


def paper(i: int = 1, **changes) -> SummarizedPaper:
    values = dict(arxiv_id=f"2505.{i:05d}", version=1, title=f"Paper {i} on reasoning", authors=("A. One", "B. Two"),
                  abstract="We study things.", comment="12 pages", journal_ref=None, primary_category="cs.CL",
                  categories=("cs.CL", "cs.AI"), published=WHEN, updated=WHEN)  # fmt: skip
    summary = dict(language="en", tldr=f"Paper {i} finds a thing.", takeaways=("One.", "Two."),
                   abstract_translation=None, generator="llm", model="fake-model", prompt_version="v1")  # fmt: skip
    for key in list(changes):
        if key in summary:
            summary[key] = changes.pop(key)
    return SummarizedPaper(Paper(**{**values, **changes}), Summary(**summary))


def enormous(i: int) -> SummarizedPaper:
    """Everything as long as a hostile or careless source could make it, full of characters that escape."""
    return paper(
        i,
        title="Title & <b>tags</b> " * 200,
        authors=tuple(f"Author {n} <@U{n}>" for n in range(300)),
        comment="& " * 4000,
        tldr="a&b<c>d " * 1000,
        takeaways=tuple("<!here> & " * 500 for _ in range(7)),
        abstract_translation=("Übersetzung & <mehr> " * 3000),
        language="de",
    )


def texts(message: SlackMessage) -> list[str]:
    """Every text the message shows: the fallback and each block's text."""
    out = [message.text]
    for block in message.blocks:
        if block["type"] == "context":
            out += [e["text"] for e in block["elements"]]
        elif "text" in block:
            out.append(block["text"]["text"])
    return out


def titles(message: SlackMessage) -> list[str]:
    """The cards' titles (a bold section linking to the abstract page), with their numbers."""
    found = [TITLE.fullmatch(b["text"]["text"]) for b in message.blocks if b["type"] == "section"]
    return [(m[1] or "") + m[2] for m in found if m]


def buttons(message: SlackMessage) -> list[list[tuple[str, str]]]:
    """Each actions block's buttons as (text, url)."""
    return [[(e["text"]["text"], e["url"]) for e in b["elements"]] for b in message.blocks if b["type"] == "actions"]


def assert_within_limits(message: SlackMessage) -> None:
    assert 0 < len(message.blocks) <= MAX_BLOCKS or not message.blocks
    assert sum(block_chars(b) for b in message.blocks) <= MAX_MESSAGE_CHARS
    for block in message.blocks:
        limit = MAX_HEADER_CHARS if block["type"] == "header" else MAX_SECTION_CHARS
        assert block_chars(block) <= limit, block["type"]
        if block["type"] == "actions":
            assert 0 < len(block["elements"]) <= MAX_BUTTONS
            for button in block["elements"]:
                assert button["type"] == "button" and button["text"]["type"] == "plain_text"
                assert 0 < len(button["text"]["text"]) <= MAX_BUTTON_TEXT_CHARS
                assert button["url"].startswith("https://") and len(button["url"]) <= MAX_BUTTON_URL_CHARS
    for text in texts(message):
        assert not BROKEN_ENTITY.search(text), text[-40:]


def markup_tokens(message: SlackMessage) -> list[str]:
    return [token for text in texts(message) for token in re.findall(r"<[^>]*>", text)]


def test_escape_neutralizes_mentions_and_links():
    """Mentions, channel pings and disguised links become inert text."""
    out = escape(HOSTILE)
    assert "<" not in out and ">" not in out
    assert "&lt;!channel&gt;" in out and "&lt;@U123&gt;" in out and "a&amp;b" in out


@given(st.text(alphabet="&<> ab\n", max_size=300), st.integers(min_value=8, max_value=120))
def test_fit_and_split_never_break_an_escape(raw, limit):
    """Cutting or splitting escaped text stays within the limit and never leaves half an entity."""
    escaped = escape(raw)
    cut = fit(escaped, limit)
    assert len(cut) <= limit and not BROKEN_ENTITY.search(cut)
    pieces = split(escaped, limit)
    assert all(len(p) <= limit and not BROKEN_ENTITY.search(p) for p in pieces)
    assert "".join(pieces).replace(" ", "").replace("\n", "") == escaped.replace(" ", "").replace("\n", "")


def test_card_shows_every_part_and_links_only_to_arxiv():
    """A card: title linked to the abstract page, arXiv id, authors and dates, tl;dr, takeaways, translation,
    link buttons (abstract, PDF, HTML), footer."""
    sp = paper(7, abstract_translation="Wir untersuchen Dinge.", language="de")
    (message,) = batch_messages(SummaryBatch(papers=(sp,)))
    shown = "\n".join(texts(message))
    assert message.blocks[0] == {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*<https://arxiv.org/abs/2505.00007v1|Paper 7 on reasoning>*",
                 "verbatim": True},
    }  # fmt: skip
    assert message.blocks[1]["elements"][0]["text"].startswith("arXiv:2505.00007 · A. One, B. Two")
    for part in ("cs.CL (also cs.AI)", "Published 2025-05-28", "Comment: 12 pages",
                 "*TL;DR* Paper 7 finds a thing.", "• One.", "*Abstract (de)*", "Wir untersuchen Dinge.",
                 "fake-model", "machine-written"):  # fmt: skip
        assert part in shown, part
    assert markup_tokens(message) == ["<https://arxiv.org/abs/2505.00007v1|Paper 7 on reasoning>"]
    assert buttons(message) == [
        [
            ("Abstract", "https://arxiv.org/abs/2505.00007v1"),
            ("PDF", "https://arxiv.org/pdf/2505.00007v1"),
            ("HTML", "https://arxiv.org/html/2505.00007v1"),
        ]
    ]
    assert message.text == "Summary: Paper 7 on reasoning"
    assert_within_limits(message)


def test_code_link_from_the_abstract_is_a_button():
    """A GitHub URL the abstract gives is a button after abstract, PDF and HTML; in text it stays inert."""
    sp = paper(
        8, abstract="Code: https://github.com/one/reasoning.", comment="Code at https://github.com/one/reasoning"
    )
    (message,) = batch_messages(SummaryBatch(papers=(sp,)))
    assert buttons(message)[0][2:] == [
        ("HTML", "https://arxiv.org/html/2505.00008v1"),
        ("GitHub", "https://github.com/one/reasoning"),
    ]
    assert "Comment: Code at `https://github.com/one/reasoning`" in "\n".join(texts(message))
    assert_within_limits(message)


def test_hostile_urls_never_become_buttons_or_links():
    """Disguised, http, userinfo and lookalike URLs in the abstract and comment: no button, no link, shown inert."""
    hostile = ("<https://evil.example|https://github.com/a/b> http://github.com/a/b https://github.com@evil.example/x "
               "https://github.com.evil.example/a https://gitlab.com/a|b")  # fmt: skip
    sp = paper(9, abstract=hostile, comment=hostile, tldr=hostile)
    (message,) = batch_messages(SummaryBatch(papers=(sp,)))
    assert [text for text, _ in buttons(message)[0]] == ["Abstract", "PDF", "HTML"]
    assert markup_tokens(message) == ["<https://arxiv.org/abs/2505.00009v1|Paper 9 on reasoning>"]
    assert "`http://github.com/a/b`" in "\n".join(texts(message))


def test_a_url_in_the_translation_stays_in_its_sentence_inert():
    """The translated abstract keeps the paper's URL where it was, as plain text in a code span."""
    sp = paper(10, abstract_translation="代码见 https://github.com/one/reasoning。", language="zh")
    (message,) = batch_messages(SummaryBatch(papers=(sp,)))
    assert "*Abstract (zh)*\n代码见 `https://github.com/one/reasoning`。" in texts(message)


def test_hostile_text_is_escaped_everywhere_in_a_card():
    """Hostile title, authors, comment and summary: escaped in every block and in the fallback text."""
    sp = paper(3, title=HOSTILE, authors=(HOSTILE,), comment=HOSTILE, tldr=HOSTILE, takeaways=(HOSTILE,),
               abstract_translation=HOSTILE, language="zh")  # fmt: skip
    for message in batch_messages(SummaryBatch(papers=(sp,), errors=(InputError(HOSTILE, HOSTILE),))):
        assert all(OUR_LINK.match(token) for token in markup_tokens(message)), markup_tokens(message)
        assert "&lt;!channel&gt;" in message.text or message.text.startswith("Summary")
    (title,) = titles(batch_messages(SummaryBatch(papers=(sp,)))[0])
    assert title.startswith("&lt;!channel&gt; &lt;!here&gt;")


def test_enormous_papers_fit_slack_limits_across_messages():
    """Five enormous papers: several messages, each within 50 blocks, 3000 per section, 150 per header."""
    messages = batch_messages(SummaryBatch(papers=tuple(enormous(i) for i in range(5)), left_out=2))
    assert len(messages) > 1
    for message in messages:
        assert_within_limits(message)
        assert all(OUR_LINK.match(token) for token in markup_tokens(message))
    shown = [t for m in messages for t in titles(m)]
    assert len(shown) == 5 and all(t.endswith("…") for t in shown)
    assert sum(len(buttons(m)) for m in messages) == 5
    assert "2 more references were left out." in texts(messages[-1])[-1]


def test_errors_and_left_out_are_noted_under_the_cards():
    """Failed inputs and left-out references appear as short notes after the cards."""
    batch = SummaryBatch(papers=(paper(1),), errors=(InputError("2999.99999", "arXiv has no paper 2999.99999"),),
                         left_out=1)  # fmt: skip
    (message,) = batch_messages(batch)
    notes = [b["elements"][0]["text"] for b in message.blocks[-2:]]
    assert notes == ["⚠️ arXiv has no paper 2999.99999", "1 more reference was left out."]


def digest(n: int, **changes) -> Digest:
    values = dict(title="nlp-daily", date=dt.date(2025, 5, 28), query="cat:cs.CL & <!here>",
                  papers=tuple(paper(i) for i in range(1, n + 1)), omitted=0, language="en")  # fmt: skip
    return Digest(**{**values, **changes})


def test_digest_parent_lists_papers_and_cards_follow():
    """A small digest: a parent listing title, link and tl;dr per paper, then one message of cards."""
    parent, *thread = digest_messages(digest(3, omitted=4))
    assert parent.blocks[0]["text"]["text"] == "nlp-daily: 2025-05-28"
    assert parent.text == "nlp-daily: 2025-05-28: 3 papers, summaries in the thread"
    listing = "\n".join(texts(parent))
    assert (
        "1. *<https://arxiv.org/abs/2505.00001v1|Paper 1 on reasoning>* (arXiv:2505.00001): Paper 1 finds a thing."
        in listing
    )
    assert "Query: cat:cs.CL &amp; &lt;!here&gt;" in listing and "4 more papers matched and were omitted." in listing
    assert "Machine-written" in listing
    assert len(thread) == 1
    assert titles(thread[0]) == ["1. Paper 1 on reasoning", "2. Paper 2 on reasoning", "3. Paper 3 on reasoning"]
    assert [row[0][1] for row in buttons(thread[0])] == [f"https://arxiv.org/abs/2505.0000{i}v1" for i in (1, 2, 3)]


def test_sixty_paper_digest_splits_in_order_within_limits():
    """Row 36: 60 papers split into several messages, each within limits, cards in order 1..60."""
    messages = digest_messages(digest(60))
    assert len(messages) > 3
    for message in messages:
        assert_within_limits(message)
    cards = [t for m in messages[1:] for t in titles(m)]
    assert [int(t.split(".")[0]) for t in cards] == list(range(1, 61))
    listed = re.findall(r"^(\d+)\. \*<", "\n".join(t for m in messages for t in texts(m)), re.M)
    assert [int(n) for n in listed] == list(range(1, 61))


def test_empty_digest_says_so():
    """A digest with no papers: one message saying no new papers matched."""
    (message,) = digest_messages(digest(0))
    assert "No new papers matched" in "\n".join(texts(message)) and "no new papers" in message.text


def test_text_message_escapes_and_caps():
    """A plain reply is escaped and capped without blocks."""
    message = text_message("see <!channel> " + "x " * 5000)
    assert message.text.startswith("see &lt;!channel&gt;") and len(message.text) <= 3000 and not message.blocks


def test_every_mrkdwn_text_is_verbatim():
    """Slack must not auto-link URLs or parse mentions in any text object of a card (verbatim: true)."""
    (message,) = batch_messages(SummaryBatch(papers=(paper(1),)))
    objects = [b["text"] for b in message.blocks if b["type"] == "section"]
    objects += [e for b in message.blocks if b["type"] == "context" for e in b["elements"]]
    assert objects and all(o.get("verbatim") is True for o in objects if o["type"] == "mrkdwn")


# The lead figure ------------------------------------------------------------------------------


def with_figure(
    sp: SummarizedPaper, caption: str, *, kind: str = "html", license: str | None = None
) -> SummarizedPaper:
    from bot.core.fulltext import Figure, FullText, Paragraph

    base = f"https://arxiv.org/{kind}/{sp.paper.arxiv_id}v{sp.paper.version}"
    image = f"{base}/x1.png" if kind == "html" else None
    anchor = "S1.F1" if kind == "html" else "page=2"
    text = FullText(sp.paper.arxiv_id, sp.paper.version, kind, base, license, (Paragraph("S1.p1", "", "x"),),  # type: ignore[arg-type]
                    (Figure("Figure 1", caption, anchor, image, "raster"),))  # fmt: skip
    return SummarizedPaper(sp.paper, sp.summary, reading=text)


def test_a_card_shows_its_lead_figure_as_an_image_block_within_limits():
    """The image block: the arXiv address, the escaped caption (cut to 2000) as alt text, the label as title;
    then the label linked to the figure, with the caption cut short. Enormous, hostile captions still fit."""
    sp = with_figure(paper(1), "Pipeline <!channel> & more " * 300)
    (message,) = batch_messages(SummaryBatch(papers=(sp,)))
    assert_within_limits(message)
    (image,) = [b for b in message.blocks if b["type"] == "image"]
    assert image["image_url"] == "https://arxiv.org/html/2505.00001v1/x1.png"
    assert image["alt_text"].startswith("Pipeline &lt;!channel&gt; &amp; more") and len(image["alt_text"]) <= 2000
    assert image["title"]["text"] == "Figure 1" and not BROKEN_ENTITY.search(image["alt_text"])
    (line,) = [
        e["text"] for b in message.blocks if b["type"] == "context" for e in b["elements"] if "Figure" in e["text"]
    ]
    assert line.startswith("<https://arxiv.org/html/2505.00001v1#S1.F1|Figure 1>: Pipeline &lt;!channel&gt;")
    assert len(line) < 400 and message.uploads == ()
    many = [with_figure(enormous(i), "x" * 5000) for i in range(1, 9)]
    for message in digest_messages(digest(0, papers=tuple(many))):
        assert_within_limits(message)


def test_a_cc_pdf_only_figure_is_named_for_upload_in_the_message_holding_its_card():
    cc = with_figure(paper(1), "A plot.", kind="pdf", license="CC BY 4.0")
    other = with_figure(paper(2), "A plot.", kind="pdf", license=None)
    (message,) = batch_messages(SummaryBatch(papers=(cc, other)))
    assert message.uploads == (cc,) and not [b for b in message.blocks if b["type"] == "image"]
    assert "uploads" not in message.payload()
    links = [
        e["text"] for b in message.blocks if b["type"] == "context" for e in b["elements"] if "Figure" in e["text"]
    ]
    assert links == [f"<https://arxiv.org/pdf/2505.0000{n}v1#page=2|Figure 1>: A plot." for n in (1, 2)]
