"""An answer to a question about a paper -> one Discord message: pure functions, no I/O.

The answer's text is the LLM's (untrusted): escaped as every card string is (embeds.fit). Each citation is
a quote, escaped and cut, with a markdown link to its paragraph built from the citation's anchor_url alone
(Paperboy built it from a validated paragraph id), never from any text; the footer says how the answer was
made. Sent, like cards, with allowed_mentions none.
"""

from __future__ import annotations

import re

import discord

from bot.core.questions import Answer, AnswerCitation
from bot.core.sanitize import one_line
from handlers.discord.embeds import (
    CARD_COLOR,
    FIELD_NAME_LIMIT,
    FOOTER_CHARS,
    NOTE_COLOR,
    Outgoing,
    fit,
    plain,
)

ANSWER_CHARS = 1500
QUOTE_CHARS = 300
SECTION_CHARS = 100
MAX_CITATIONS = 6  # with the answer, well inside one message's 6000 embed characters

# A paragraph's address (the reader's: https://arxiv.org/html/..., or where it is configured to read from).
_LINKABLE = re.compile(r"https?://[^\s<>\[\]`|\\]{1,500}")
# What the answer was read from, as the footer says it.
_READ_FROM = {"html": "from the full text (HTML)", "pdf": "from the PDF", "abstract": "from the abstract"}


def paragraph_link(url: str) -> str | None:
    """`url` safe inside a markdown link's parentheses (they are percent-encoded), or None when it is not one
    http(s) URL with nothing that could end the link or start more markdown."""
    if not _LINKABLE.fullmatch(url):
        return None
    return url.replace("(", "%28").replace(")", "%29")


def _citation_field(citation: AnswerCitation, number: int, *, name_paper: bool) -> tuple[str, str]:
    label = one_line(citation.section) or f"Quote {number}"
    if name_paper and citation.arxiv_id:
        label = f"{label} · arXiv:{citation.arxiv_id}"
    quote = fit(citation.quote, QUOTE_CHARS)
    link = paragraph_link(citation.anchor_url)
    lines = [f"> {quote}" if quote else ""]
    if link is not None:
        lines.append(f"[in the paper]({link})")
    return fit(label, min(SECTION_CHARS + 40, FIELD_NAME_LIMIT)), "\n".join(line for line in lines if line)


def answer_footer(answer: Answer) -> str:
    """How the answer was made, with the reminder that a machine wrote it."""
    read_from = _READ_FROM.get(answer.source_kind, "from the paper")
    if answer.generator == "extractive":
        note = one_line(answer.note or "")
        why = f"no LLM answer: {note}" if note else "no LLM answer"
        return f"The closest passages {read_from} ({why}); check the paper."
    model = one_line(answer.model or "") or "a language model"
    cached = " (answered before)" if answer.cached else ""
    return f"Answer by {model} {read_from}{cached}; machine-written, check the paper."


def answer_embed(answer: Answer) -> discord.Embed:
    """The answer's text, then each citation as a quote with its paragraph link (a field each), and the footer."""
    lines = [fit(answer.text, ANSWER_CHARS, single_line=False) or "(no answer)"]
    if not answer.answered and answer.citations:
        lines += ["", "*The closest passages:*"]
    embed = discord.Embed(description="\n".join(lines), color=CARD_COLOR if answer.answered else NOTE_COLOR)
    name_paper = len(answer.arxiv_ids) > 1 or not answer.arxiv_id  # an answer across a digest's papers
    for number, citation in enumerate(answer.citations[:MAX_CITATIONS], 1):
        name, value = _citation_field(citation, number, name_paper=name_paper)
        if value:
            embed.add_field(name=name, value=value, inline=False)
    embed.set_footer(text=plain(answer_footer(answer), FOOTER_CHARS))
    return embed


def answer_message(answer: Answer) -> Outgoing:
    return Outgoing(embeds=(answer_embed(answer),))
