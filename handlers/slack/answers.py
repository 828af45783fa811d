"""An answer to a question asked in a card's or a digest's thread, as a Slack message: pure functions, no I/O.

The answer's text (the LLM wrote it) is cleaned and escaped as card text is (handlers.slack.blocks), so no
mention, command or link in it is live. Each citation is a block quote of the paper's own words, escaped the same
way, followed by a link to its paragraph; that link is the only one in the message, and it is built from the
citation's anchor_url alone (Paperboy made it from the paper's validated paragraph id), never from text the LLM
or the paper wrote. The footer and the quote labels are the ones every surface uses (bot.core.render).
"""

from __future__ import annotations

import re

from bot.core.questions import Answer, AnswerCitation
from bot.core.render import answer_footer, citation_label
from handlers.slack.blocks import (
    MAX_FALLBACK_CHARS,
    MAX_SECTION_CHARS,
    Block,
    SlackMessage,
    context,
    escape,
    fit,
    mrkdwn,
    mrkdwn_line,
    sections,
)

QUOTE_CHARS = 300  # a quote is evidence, not the paper: its first ~300 characters
MAX_CITATIONS = 8  # quotes shown under one answer
ANSWER_CHARS = 6000  # the answer's own text; with the quotes it stays well within a message's 12,000
LABEL_CHARS = 100
# A paragraph link Slack's <url|label> syntax cannot be broken out of: a scheme, then no space, `<`, `>` or `|`.
_LINKABLE = re.compile(r"https?://[^\s<>|]{1,500}")


def answer_message(answer: Answer) -> SlackMessage:
    """The answer's text, then each quote it rests on (or, when the paper does not say, the closest passages)
    linked to its paragraph, then how it was made; `text` is the plain notification."""
    blocks: list[Block] = sections(fit(mrkdwn(answer.text), ANSWER_CHARS) or "(no answer)")
    citations = answer.citations[:MAX_CITATIONS]
    if citations and not answer.answered:
        blocks.append(context("The closest passages:"))
    blocks += [_quote_block(c, label=citation_label(answer, c)) for c in citations]
    blocks.append(context(mrkdwn_line(answer_footer(answer))))
    return SlackMessage(text=fit(mrkdwn_line(answer.text), MAX_FALLBACK_CHARS) or "Answer", blocks=tuple(blocks))


def _quote_block(citation: AnswerCitation, *, label: str) -> Block:
    quote = fit(mrkdwn_line(citation.quote), QUOTE_CHARS)
    label = fit(escape(label or "the paragraph"), LABEL_CHARS)
    url = citation.anchor_url
    where = f"<{url}|{label}>" if _LINKABLE.fullmatch(url) else label
    # `>` opens Slack's block quote: ours, the quote's own `>` is escaped.
    return {"type": "section", "text": {"type": "mrkdwn", "text": fit(f">{quote}\n— {where}", MAX_SECTION_CHARS),
                                        "verbatim": True}}  # fmt: skip
