"""An answer to a question about a paper -> one Discord message: pure functions, no I/O.

The answer's text is the LLM's (untrusted): escaped as every card string is (embeds.fit). Each citation is
a quote, escaped and cut, with a markdown link to its paragraph built from the citation's anchor_url alone
(Paperboy built it from a validated paragraph id), never from any text; the footer says how the answer was
made (bot.core.render.answer_footer, as on every surface). Sent, like cards, with allowed_mentions none.
"""

from __future__ import annotations

import re

import discord

from bot.core.questions import Answer, AnswerCitation
from bot.core.render import answer_footer, citation_label
from handlers.discord.embeds import (
    CARD_COLOR,
    FOOTER_CHARS,
    NOTE_COLOR,
    Outgoing,
    fit,
    plain,
)

ANSWER_CHARS = 1500
QUOTE_CHARS = 300
LABEL_CHARS = 140  # a quote's section (and paper), as its field's name
MAX_CITATIONS = 6  # with the answer, well inside one message's 6000 embed characters

# A paragraph's address (the reader's: https://arxiv.org/html/..., or where it is configured to read from).
_LINKABLE = re.compile(r"https?://[^\s<>\[\]`|\\]{1,500}")


def paragraph_link(url: str) -> str | None:
    """`url` safe inside a markdown link's parentheses (they are percent-encoded), or None when it is not one
    http(s) URL with nothing that could end the link or start more markdown."""
    if not _LINKABLE.fullmatch(url):
        return None
    return url.replace("(", "%28").replace(")", "%29")


def _citation_field(answer: Answer, citation: AnswerCitation, number: int) -> tuple[str, str]:
    quote = fit(citation.quote, QUOTE_CHARS)
    link = paragraph_link(citation.anchor_url)
    lines = [f"> {quote}" if quote else ""]
    if link is not None:
        lines.append(f"[in the paper]({link})")
    label = citation_label(answer, citation) or f"Quote {number}"
    return fit(label, LABEL_CHARS), "\n".join(line for line in lines if line)


def answer_embed(answer: Answer) -> discord.Embed:
    """The answer's text, then each citation as a quote with its paragraph link (a field each), and the footer."""
    lines = [fit(answer.text, ANSWER_CHARS, single_line=False) or "(no answer)"]
    if not answer.answered and answer.citations:
        lines += ["", "*The closest passages:*"]
    embed = discord.Embed(description="\n".join(lines), color=CARD_COLOR if answer.answered else NOTE_COLOR)
    for number, citation in enumerate(answer.citations[:MAX_CITATIONS], 1):
        name, value = _citation_field(answer, citation, number)
        if value:
            embed.add_field(name=name, value=value, inline=False)
    embed.set_footer(text=plain(answer_footer(answer), FOOTER_CHARS))
    return embed


def answer_message(answer: Answer) -> Outgoing:
    return Outgoing(embeds=(answer_embed(answer),))
