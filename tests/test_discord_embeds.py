"""Discord renderers as plain functions: cards, digests and text within Discord's limits, escaped, schema-valid."""

from __future__ import annotations

import datetime as dt
import re

import discord
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.models import Digest, InputError, Paper, SummarizedPaper, Summary, SummaryBatch
from bot.core.sanitize import clean_text, one_line
from handlers.discord.embeds import (
    BUTTONS_PER_ROW,
    CONTENT_LIMIT,
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    EMBEDS_PER_MESSAGE,
    FIELD_VALUE_LIMIT,
    FIELDS_LIMIT,
    FOOTER_LIMIT,
    ROWS_PER_MESSAGE,
    THREAD_NAME_LIMIT,
    TITLE_LIMIT,
    Outgoing,
    batch_messages,
    card_embed,
    card_message,
    digest_card_messages,
    digest_parent,
    fit,
    split_text,
    text_messages,
    thread_name,
)
from tests.fakes.discord_server import embed_length, schema_errors

WHEN = dt.datetime(2025, 5, 28, 17, 0, tzinfo=dt.UTC)
HOSTILE = (
    "@everyone @here <@&1234567890123456789> <@1234567890123456789> ＠everyone zero\u200bwidth\u202eflip "
    "```fence``` ||spoiler|| *bold* _it_ ~~strike~~ `code` > quote [arxiv](https://evil.example) \\"
)


def paper(n: int = 1, *, title: str = "Noisy Rewards in Learning to Reason", **changes: object) -> Paper:
    fields: dict[str, object] = dict(
        arxiv_id=f"2505.{22000 + n:05d}",
        version=1,
        title=title,
        authors=("Ang Lv", "Ruobing Xie", "Xingwu Sun", "Zhanhui Kang"),
        abstract="We study reward noise in RL for reasoning.",
        comment="Accepted by ACL 2025 findings",
        journal_ref=None,
        primary_category="cs.CL",
        categories=("cs.CL", "cs.AI"),
        published=WHEN,
        updated=WHEN,
    )
    fields.update(changes)
    return Paper(**fields)  # type: ignore[arg-type]


def summary(**changes: object) -> Summary:
    fields: dict[str, object] = dict(
        language="en",
        tldr="Reward noise hurts less than expected.",
        takeaways=("Flipping 40% of rewards still converges.", "Rewarding reasoning phrases works."),
        abstract_translation=None,
        generator="llm",
        model="gpt-4o-mini",
        prompt_version="v1",
    )
    fields.update(changes)
    return Summary(**fields)  # type: ignore[arg-type]


def card(n: int = 1, **paper_changes: object) -> SummarizedPaper:
    return SummarizedPaper(paper(n, **paper_changes), summary())


def digest_of(n: int, **changes: object) -> Digest:
    fields: dict[str, object] = dict(
        title="nlp", date=WHEN.date(), query="cat:cs.CL", papers=tuple(card(i) for i in range(1, n + 1)),
        omitted=0, language="en",
    )  # fmt: skip
    fields.update(changes)
    return Digest(**fields)  # type: ignore[arg-type]


def message_payload(out: Outgoing) -> dict[str, object]:
    """What discord.py sends for it (content, embeds, the view's components, no mentions)."""
    body: dict[str, object] = {"allowed_mentions": {"parse": []}}
    if out.content:
        body["content"] = out.content
    if out.embeds:
        body["embeds"] = [e.to_dict() for e in out.embeds]
    if (view := out.view()) is not None:
        body["components"] = view.to_components()
    return body


def buttons(out: Outgoing) -> list[tuple[str, str]]:
    """(label, url) of each button the message carries, as discord.py sends them."""
    rows = message_payload(out).get("components") or []
    return [(b["label"], b["url"]) for row in rows for b in row["components"]]  # type: ignore[union-attr]


def assert_valid(out: Outgoing) -> None:
    payload = message_payload(out)
    assert schema_errors("MessageCreateRequest", payload) == []
    for embed in out.embeds:
        assert schema_errors("RichEmbed", embed.to_dict()) == []
    assert len(out.embeds) <= EMBEDS_PER_MESSAGE
    assert sum(embed_length(e.to_dict()) for e in out.embeds) <= EMBED_TOTAL_LIMIT
    rows = payload.get("components") or []
    assert len(rows) <= ROWS_PER_MESSAGE  # type: ignore[arg-type]
    for row in rows:  # type: ignore[attr-defined]
        assert schema_errors("ActionRowComponentForMessageRequest", row) == []
        assert 0 < len(row["components"]) <= BUTTONS_PER_ROW
        # Link-style buttons only: a URL, no custom_id, so nothing waits for an interaction.
        assert all(
            b["style"] == 5 and b["url"].startswith("https://") and "custom_id" not in b for b in row["components"]
        )


def unescaped_markdown(s: str) -> list[str]:
    """Markdown characters not preceded by an escaping backslash."""
    found, i = [], 0
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        if s[i] in "*_~|`":
            found.append(s[i])
        i += 1
    return found


def outside_code_spans(s: str) -> str:
    """The text without its code spans (from an unescaped backtick to the next backtick), escapes kept."""
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\":
            out.append(s[i : i + 2])
            i += 2
        elif s[i] == "`" and (end := s.find("`", i + 1)) > 0:
            i = end + 1
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def unescape(s: str) -> str:
    return re.sub(r"\\(.)", r"\1", s, flags=re.S).replace("@\u200b", "@")


PINGS = re.compile(r"@(everyone|here)|<@[!&]?\d{17,20}>")  # mass mentions and user/role mention tokens


def test_card_has_everything_a_reader_skims():
    """A card: linked title, authors, arXiv id, category and dates, comment, tl;dr, takeaways, how it was made;
    its links are buttons under it."""
    message = card_message(card())
    data = message.embeds[0].to_dict()
    assert data["title"] == "Noisy Rewards in Learning to Reason"
    assert data["url"] == "https://arxiv.org/abs/2505.22001v1"
    assert "Ang Lv, Ruobing Xie, Xingwu Sun et al." in data["description"]
    assert "arXiv:2505.22001 · cs.CL (also cs.AI) · Published 2025-05-28" in data["description"]
    assert "*Comment:* Accepted by ACL 2025 findings" in data["description"]
    assert "**TL;DR** Reward noise hurts less than expected." in data["description"]
    fields = {f["name"]: f["value"] for f in data["fields"]}
    assert fields["Key takeaways"] == "• Flipping 40% of rewards still converges.\n• Rewarding reasoning phrases works."
    assert data["footer"]["text"].startswith("Summary by gpt-4o-mini from the abstract; machine-written")
    assert buttons(message) == [
        ("Abstract", "https://arxiv.org/abs/2505.22001v1"),
        ("PDF", "https://arxiv.org/pdf/2505.22001v1"),
        ("HTML", "https://arxiv.org/html/2505.22001v1"),
    ]
    assert_valid(message)


def test_code_and_project_links_from_the_paper_are_buttons():
    """A GitHub URL in the abstract and a project page in the comment become buttons after abs, PDF and HTML."""
    sp = card(
        abstract="We release code at https://github.com/lv-ang/noisy-rewards.",
        comment="ACL 2025. Project page: https://lv-ang.github.io/noisy/",
    )
    message = card_message(sp)
    assert buttons(message)[2:] == [
        ("HTML", "https://arxiv.org/html/2505.22001v1"),
        ("GitHub", "https://github.com/lv-ang/noisy-rewards"),
        ("Project page", "https://lv-ang.github.io/noisy/"),
    ]
    assert_valid(message)


def test_hostile_urls_in_the_abstract_never_become_buttons():
    """Only strictly parsed https links to code hosts or a named project page: no userinfo, `|`, `<`, no http,
    no lookalike host."""
    sp = card(
        abstract="Code: https://github.com@evil.example/x, http://github.com/a/b, https://github.com.evil.example/a "
        "<https://evil.example|https://github.com/a/b> https://evil.example/github.com/a https://gitlab.com/a|b",
        comment="Project page: javascript:alert(1) and see https://evil.example/x",
    )
    assert [label for label, _ in buttons(card_message(sp))] == ["Abstract", "PDF", "HTML"]


def test_translation_is_a_field_when_the_language_differs():
    """A summary in another language carries the translated abstract under its language label."""
    sp = SummarizedPaper(paper(), summary(language="zh", abstract_translation="我们研究推理中的奖励噪声。"))
    fields = {f.name: f.value for f in card_embed(sp).fields}
    assert fields["Abstract (zh)"] == "我们研究推理中的奖励噪声。"


def test_a_url_in_the_translation_is_inert_text():
    """The translated abstract keeps the paper's URL in its sentence, in a code span, where Discord links nothing."""
    translation = "代码见 https://github.com/lv-ang/noisy-rewards。"
    sp = SummarizedPaper(paper(), summary(language="zh", abstract_translation=translation))
    fields = {f.name: f.value for f in card_embed(sp).fields}
    assert fields["Abstract (zh)"] == "代码见 `https://github.com/lv-ang/noisy-rewards`。"


def test_an_enormous_paper_still_fits_every_limit():
    """Huge title, 500 authors, 100 long takeaways and a 50k translation: every limit holds, under 6000 in all."""
    sp = SummarizedPaper(
        paper(title="Scaling " * 2000, authors=tuple(f"Author {i}" for i in range(500)), comment="pages " * 3000),
        summary(
            tldr="long " * 5000,
            takeaways=tuple("takeaway " * 600 for _ in range(100)),
            abstract_translation="翻译" * 25000,
            model="m" * 5000,
        ),
    )
    embed = card_embed(sp, number=60)
    assert len(embed.title or "") <= TITLE_LIMIT and (embed.title or "").startswith("60. Scaling")
    assert len(embed.description or "") <= DESCRIPTION_LIMIT
    assert len(embed.fields) <= FIELDS_LIMIT and all(len(f.value or "") <= FIELD_VALUE_LIMIT for f in embed.fields)
    assert len(embed.footer.text or "") <= FOOTER_LIMIT
    assert len(embed) <= EMBED_TOTAL_LIMIT == 6000
    assert_valid(Outgoing(embeds=(embed,)))


def test_hostile_paper_is_escaped_and_pings_nobody():
    """Mentions, full-width @, zero-width and bidi characters, fences, spoilers, masked links: shown literally."""
    sp = SummarizedPaper(
        paper(title=HOSTILE, authors=("<@1234567890123456789>", "Eve @here"), comment=HOSTILE),
        summary(tldr=HOSTILE, takeaways=(HOSTILE,)),
    )
    data = card_embed(sp).to_dict()
    texts = [data["title"], data["description"], *(f["value"] for f in data["fields"])]
    for text in texts:
        assert not PINGS.search(text), text
        assert "@\u200beveryone" in text
        assert "\u200b" not in text.replace("@\u200b", "") and "\u202e" not in text
        assert "\\`\\`\\`fence\\`\\`\\`" in text and "\\|\\|spoiler\\|\\|" in text
        assert "[arxiv\\](`https://evil.example`)" in text  # a masked link shows as text, its URL inert
        assert unescaped_markdown(outside_code_spans(text).replace("**TL;DR**", "").replace("*Comment:*", "")) == []
    assert data["url"] == "https://arxiv.org/abs/2505.22001v1"
    assert schema_errors("RichEmbed", data) == []


def test_batch_reply_has_a_card_per_paper_then_the_notes():
    """Several papers in one reply, a message each with its buttons; errors and the left-out count in a last,
    link-free embed under the last card."""
    batch = SummaryBatch(
        papers=(card(1), card(2)),
        errors=(InputError("2999.99999", "arXiv has no paper 2999.99999 (check the id)"),),
        left_out=3,
    )
    first, second = batch_messages(batch)
    assert [e.title for e in (*first.embeds, second.embeds[0])] == ["Noisy Rewards in Learning to Reason"] * 2
    assert buttons(first)[0] == ("Abstract", "https://arxiv.org/abs/2505.22001v1")
    assert buttons(second)[0] == ("Abstract", "https://arxiv.org/abs/2505.22002v1")
    notes = second.embeds[1].description or ""
    assert "⚠ arXiv has no paper 2999.99999" in notes and "3 more references were left out." in notes
    assert first.content is None and second.content is None
    for message in (first, second):
        assert_valid(message)


def test_sixty_card_digest_is_a_card_a_message_in_order():
    """60 papers: numbered cards 1..60, in order, each in its own message with its own link buttons."""
    messages = digest_card_messages(digest_of(60))
    assert len(messages) == 60
    numbers = [int((e.title or "").split(".")[0]) for m in messages for e in m.embeds]
    assert numbers == list(range(1, 61))
    for i, message in enumerate(messages, 1):
        assert_valid(message)
        assert buttons(message)[0] == ("Abstract", f"https://arxiv.org/abs/2505.{22000 + i:05d}v1")


def test_digest_parent_is_short_and_says_what_follows():
    """The parent: title and date, query, window, count, omitted, disclaimer; an empty digest says so."""
    parent = digest_parent(digest_of(3, omitted=2, query="cat:cs.CL AND abs:*reason*"))
    (embed,) = parent.embeds
    assert embed.title == "nlp: 2025-05-28"
    text = embed.description or ""
    assert "**Query:** cat:cs.CL AND abs:\\*reason\\*" in text
    assert "Papers first submitted on 2025-05-28 (UTC)" in text and "**3 papers**" in text
    assert "2 more papers matched and were omitted." in text and "Machine-written" in text
    assert_valid(parent)
    empty = digest_parent(digest_of(0)).embeds[0].description or ""
    assert "No new papers matched “cat:cs.CL” in this window." in empty


def test_thread_name_fits_and_pings_nobody():
    """A thread name stays within 100 characters and defuses mentions."""
    name = thread_name(digest_of(1, title="@everyone " * 30))
    assert len(name) <= THREAD_NAME_LIMIT and not PINGS.search(name)


def test_long_text_is_split_into_messages_of_2000():
    """A 5000-character answer becomes escaped messages of at most 2000 characters, nothing lost."""
    text = "\n".join(f"line {i} with *stars* and @here" for i in range(200))
    messages = text_messages(text)
    assert len(messages) >= 3 and all(len(m.content or "") <= CONTENT_LIMIT for m in messages)
    joined = "\n".join(unescape(m.content or "") for m in messages)
    assert joined == clean_text(text)
    for m in messages:
        assert_valid(m)


# ---- properties (RELIABILITY rows 17-18): any hostile mix stays escaped, within limits, never split mid-escape

_TOKENS = st.sampled_from(
    [
        "@everyone", "@here", "＠everyone", "<@&1234567890123456789>", "<@!1234567890123456789>", "```", "`",
        "||", "*", "**", "_", "__", "~~", "\\", ">", "> ", ">>> ", "# ", "- ", "[x](y)", "\u200b", "\u202e",
        "\U000e0041", "\n", " ", "é", "中文",
    ]
)  # fmt: skip
# No ":" so no URL forms (escape_markdown leaves URLs as they are, by design).
_WORDS = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=":"), max_size=6)
HOSTILE_TEXT = st.lists(st.one_of(_TOKENS, _WORDS), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(HOSTILE_TEXT, st.integers(min_value=20, max_value=300))
def test_fit_never_breaks_an_escape(text, limit):
    """fit(): within the limit, no unescaped markdown, no ping, and it unescapes to a prefix of the clean text."""
    out = fit(text, limit)
    assert len(out) <= limit
    assert unescaped_markdown(out) == []
    assert not PINGS.search(out)
    assert not re.match(r"(>>>|>)\s|#|-", out)
    shown = unescape(out)
    assert one_line(text).startswith(shown.removesuffix("…"))


_URLISH = st.sampled_from(
    ["https://", "http://evil.example/a_b*c", "javascript://x", "1https://e.com", "x://", "://", ":", "/", ")", ".",
     "`", "@", "|", "<", "中"]
)  # fmt: skip
LINK_TEXT = st.lists(st.one_of(_URLISH, _TOKENS, _WORDS), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(LINK_TEXT, st.integers(min_value=20, max_value=300))
def test_no_url_is_live_outside_a_code_span(text, limit):
    """fit(): whatever scheme://... the text holds, Discord sees it only inside a code span, where it links nothing;
    outside them all markdown stays escaped and nothing pings."""
    out = outside_code_spans(fit(text, limit))
    assert not re.search(r"[a-z0-9+.-]://", out, re.I), out
    assert unescaped_markdown(out) == [] and not PINGS.search(out)


@settings(max_examples=200, deadline=None)
@given(HOSTILE_TEXT, st.integers(min_value=20, max_value=200))
def test_split_text_chunks_are_whole(text, limit):
    """split_text(): every chunk within the limit and fully escaped; together they are the whole clean text."""
    chunks = split_text(text, limit)
    assert all(0 < len(c) <= limit for c in chunks)
    assert all(unescaped_markdown(c) == [] and not PINGS.search(c) for c in chunks)
    squeeze = "".join(unescape("".join(chunks)).split())
    assert squeeze == "".join(clean_text(text).split())


def test_one_embed_over_6000_is_refused():
    """An embed that could never be sent is an error, not a silently broken message."""
    huge = discord.Embed(title="t" * 256, description="d" * 4096)
    for _ in range(3):
        huge.add_field(name="n", value="v" * 1024)
    with pytest.raises(ValueError, match="6000"):
        Outgoing(embeds=(huge,))


def test_the_lead_figure_is_the_embed_image_and_a_field_within_limits():
    from bot.core.fulltext import Figure, FullText, Paragraph
    from handlers.discord.embeds import attached

    base = card()
    page = f"https://arxiv.org/html/{base.paper.arxiv_id}v{base.paper.version}"
    figure = Figure("Figure 1", "The **pipeline** @everyone " * 200, "S1.F1", f"{page}/x1.png", "raster")
    text = FullText(base.paper.arxiv_id, 1, "html", page, None, (Paragraph("S1.p1", "", "x"),), (figure,))
    sp = SummarizedPaper(base.paper, base.summary, reading=text)
    out = card_message(sp)
    assert_valid(out)
    embed = out.embeds[0].to_dict()
    assert embed["image"]["url"] == f"{page}/x1.png" and out.upload is None
    (field,) = [f for f in embed["fields"] if f["name"] == "Figure 1"]
    assert field["value"].endswith(f"([in the paper]({page}#S1.F1))") and "@everyone" not in field["value"]
    shown = attached(out, "figure.png").embeds[0].to_dict()
    assert shown["image"]["url"] == "attachment://figure.png" and embed["image"]["url"] == f"{page}/x1.png"
