"""Questions and reactions on Discord (issues 10 and 11): answers rendered as embeds, and end to end with the real
discord.py client against FakeDiscord, answered by the real core (AnswerService over the fake arXiv site and the
fake LLM, a real store): a reply to a card, a digest thread's "#2", a follow-up, invented quotes and numbers,
hostile text, reactions counted once per person.
"""

from __future__ import annotations

import logging
import re

from bot.core.questions import DOES_NOT_SAY, AnswerCitation
from handlers.discord.answers import MAX_CITATIONS, answer_embed, answer_footer, answer_message, paragraph_link
from handlers.discord.platform import default_intents
from tests.fakes.discord_server import CHANNEL_ID, GUILD_MESSAGE_REACTIONS, embed_length, schema_errors
from tests.test_discord_embeds import (
    HOSTILE,
    PINGS,
    assert_valid,
    digest_of,
    outside_code_spans,
    unescape,
    unescaped_markdown,
)
from tests.test_discord_platform import MemoryEvents, NoChat, platform_for
from tests.test_slack_threads import ANCHOR, answer_of  # the same answers, rendered for Slack there

MARKDOWN_LINK = re.compile(r"(?<!\\)\[(?:[^\]\\]|\\.)*\]\(([^)]*)\)")  # [label](url), brackets unescaped


def live_links(embed: dict) -> list[str]:
    """Every markdown link's URL in the embed's text, outside code spans (where Discord shows it as text)."""
    texts = [embed.get("description", ""), *(f["value"] for f in embed.get("fields", []))]
    return [m.group(1) for text in texts for m in MARKDOWN_LINK.finditer(outside_code_spans(text))]


# ---- rendering (pure)


def test_answer_is_text_then_each_quote_linked_to_its_paragraph_then_the_footer():
    out = answer_message(answer_of())
    assert_valid(out)
    (embed,) = [e.to_dict() for e in out.embeds]
    assert embed["description"] == "They train on MATH."
    (field,) = embed["fields"]
    assert field["name"] == "4 Experiments"
    assert field["value"] == f"> We train on the MATH dataset.\n[in the paper]({ANCHOR})"
    footer = "Answer by fake-model from the full text (HTML); machine-written, check the paper."
    assert embed["footer"]["text"] == footer
    assert live_links(embed) == [ANCHOR]


def test_hostile_answer_and_quotes_are_inert_and_only_paragraph_links_are_live():
    """Mentions, masked links, bare URLs, fences and spoilers in the answer and its quotes are shown literally;
    the one live link is the one Paperboy built (anchor_url)."""
    hostile = answer_of(
        HOSTILE + " see https://evil.example/x",
        citations=(AnswerCitation(HOSTILE, ANCHOR, "<@1234567890123456789> @here", "2505.22653"),),
    )
    embed = answer_embed(hostile).to_dict()
    texts = [embed["description"], *(f["name"] for f in embed["fields"]), *(f["value"] for f in embed["fields"])]
    for text in texts:
        assert not PINGS.search(text), text
        assert "\u200b" not in text.replace("@\u200b", "") and "\u202e" not in text
    assert "`https://evil.example/x`" in embed["description"]  # inert, in a code span
    assert live_links(embed) == [ANCHOR]
    quote = embed["fields"][0]["value"].removeprefix("> ").replace(f"[in the paper]({ANCHOR})", "")
    assert unescaped_markdown(outside_code_spans(quote)) == []
    assert schema_errors("RichEmbed", embed) == []


def test_a_citation_url_that_is_not_one_http_url_gets_no_link():
    for bad in ["javascript:alert(1)", "https://arxiv.org/a b", "ftp://arxiv.org/1#S1", "https://a](https://b", ""]:
        assert paragraph_link(bad) is None
        embed = answer_embed(answer_of(citations=(AnswerCitation("a quote", bad, "", "2505.22653"),))).to_dict()
        assert live_links(embed) == [] and embed["fields"][0]["value"] == "> a quote"
    # A parenthesis cannot close the markdown link early.
    assert (
        paragraph_link("https://arxiv.org/html/2505.22653v1#S1.(x)") == "https://arxiv.org/html/2505.22653v1#S1.%28x%29"
    )


def test_does_not_say_shows_the_closest_passages_and_why():
    closest = tuple(AnswerCitation(f"passage {i} " + "word " * 200, ANCHOR, "2 Method", "2505.22653") for i in range(9))
    extractive = answer_of(DOES_NOT_SAY, answered=False, citations=closest, generator="extractive", model=None,
                           note="over today's token budget")  # fmt: skip
    out = answer_message(extractive)
    assert_valid(out)
    embed = out.embeds[0].to_dict()
    assert embed["description"].startswith("The paper does not say.") and "closest passages" in embed["description"]
    assert len(embed["fields"]) == MAX_CITATIONS and all(len(f["value"]) <= 1024 for f in embed["fields"])
    assert answer_footer(extractive) == (
        "The closest passages from the full text (HTML) (no LLM answer: over today's token budget); check the paper."
    )
    assert embed_length(embed) <= 6000


def test_an_answer_across_papers_names_each_quotes_paper():
    across = answer_of(
        arxiv_id="",
        arxiv_ids=("2505.22653", "2505.22651"),
        citations=(
            AnswerCitation("We use RL.", ANCHOR, "3 Method", "2505.22653"),
            AnswerCitation("No RL here.", "https://arxiv.org/html/2505.22651v1#S2.p1", "", "2505.22651"),
        ),
    )
    names = [f["name"] for f in answer_embed(across).to_dict()["fields"]]
    assert names == ["3 Method · arXiv:2505.22653", "Quote 2 · arXiv:2505.22651"]
    assert unescape(names[0]) == "3 Method · arXiv:2505.22653"


# ---- the guild message reactions intent


async def test_without_the_reactions_intent_the_log_says_so_once_and_posting_works(fake_discord, caplog):
    """Intents without guild reactions: identified without the bit, one warning line naming the intent, Discord
    sends no reaction events, and the bot still posts."""
    caplog.set_level(logging.INFO, logger="handlers.discord")
    intents = default_intents()
    intents.guild_reactions = False
    platform = platform_for(fake_discord, chat=NoChat(), events=MemoryEvents(), intents=intents)
    await platform.start()
    try:
        assert not fake_discord.identifies[0]["intents"] & GUILD_MESSAGE_REACTIONS
        ids = await platform.publisher.post_digest(str(CHANNEL_ID), digest_of(2))
        assert len(ids) == 3 and not await fake_discord.react(ids[1], "👍")
    finally:
        await platform.stop()
    assert caplog.text.count("the guild message reactions intent is off") == 1
    assert fake_discord.schema_errors == []
