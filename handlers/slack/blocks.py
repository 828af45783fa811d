"""Core results as Slack messages: pure functions, no I/O.

Every untrusted string (titles, authors, comments, everything the LLM wrote, what a user typed)
passes clean_text/one_line and then Slack's three escapes, so no `<!channel>`, `<@U1>` or
`<https://evil|arxiv>` survives as markup. The only links are Paper.abs_url and Paper.pdf_url.
Text is cut and split on the escaped string, never inside `&amp;`, `&lt;` or `&gt;`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from bot.core.models import Digest, SummarizedPaper, SummaryBatch
from bot.core.render import (
    DIGEST_AUTHORS,
    DISCLAIMER,
    categories_line,
    empty_line,
    error_line,
    footer,
    format_dates,
    left_out_line,
    omitted_line,
    short_authors,
    translation_label,
    window_line,
)
from bot.core.sanitize import ELLIPSIS, clean_text, one_line

# Slack's limits (docs.slack.dev, Block Kit reference), and our own budget per message.
MAX_BLOCKS = 50  # blocks per message
MAX_SECTION_CHARS = 3000  # a section's (or context element's) mrkdwn text
MAX_HEADER_CHARS = 150  # a header's plain_text
MAX_MESSAGE_CHARS = 12_000  # all block text in one message; past ~13k Slack answers msg_too_long
MAX_FALLBACK_CHARS = 500  # the `text` shown in notifications; the blocks carry the content
MAX_TEXT_CHARS = 3000  # a plain text reply (help, errors, progress)
CARD_AUTHORS = 3
LIST_TITLE_CHARS = 200  # a digest parent lists each paper on one line
LIST_TLDR_CHARS = 140

Block = dict[str, Any]
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


@dataclasses.dataclass(frozen=True)
class SlackMessage:
    """One chat.postMessage payload: the notification text and the blocks, both already escaped."""

    text: str
    blocks: tuple[Block, ...] = ()

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": list(self.blocks)} if self.blocks else {"text": self.text}


# Escaping and cutting -----------------------------------------------------------------------


def escape(s: str) -> str:
    """Slack's escapes for `&`, `<`, `>`: after them no text is a mention, link or command."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(s: str) -> str:
    """Untrusted text, cleaned and escaped (line breaks kept)."""
    return escape(clean_text(s))


def mrkdwn_line(s: str) -> str:
    """Untrusted text on one line, cleaned and escaped."""
    return escape(one_line(s))


def fit(escaped: str, limit: int) -> str:
    """Escaped text cut to `limit` characters on a word boundary with "…", never inside an entity."""
    if len(escaped) <= limit:
        return escaped
    cut = escaped[: limit - 1]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > limit // 2:
        cut = cut[:space]
    cut = _PARTIAL_ENTITY.sub("", cut.rstrip(" \n,;:"))  # the strip may take an entity's ";"
    return cut.rstrip(" \n") + ELLIPSIS


def split(escaped: str, limit: int) -> list[str]:
    """Escaped text in pieces of at most `limit`, cut at a line break or space when one is near,
    never inside an entity. Joined back with a break they read as the original."""
    pieces: list[str] = []
    rest = escaped.strip()
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut < limit // 2:
            cut = limit
        amp = rest.rfind("&", max(0, cut - 4), cut)
        if amp > 0 and ";" not in rest[amp:cut]:
            cut = amp
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


# Blocks -------------------------------------------------------------------------------------


def header(escaped: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": fit(escaped, MAX_HEADER_CHARS), "emoji": True}}


def context(escaped: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(fit(escaped, MAX_SECTION_CHARS))]}


def sections(escaped: str) -> list[Block]:
    """One section per piece of at most MAX_SECTION_CHARS."""
    return [{"type": "section", "text": _mrkdwn(piece)} for piece in split(escaped, MAX_SECTION_CHARS)]


DIVIDER: Block = {"type": "divider"}


def block_chars(block: Block) -> int:
    """The text a block carries, as Slack counts it against a message."""
    if block["type"] == "context":
        return sum(len(e["text"]) for e in block["elements"])
    return len(block.get("text", {}).get("text", ""))


def links(sp: SummarizedPaper) -> str:
    # Built from the validated arXiv id: the only links we ever post.
    return f"<{sp.paper.abs_url}|Abstract page> · <{sp.paper.pdf_url}|PDF>"


def card_blocks(sp: SummarizedPaper, *, number: int | None = None, authors: int = CARD_AUTHORS) -> list[Block]:
    """One paper: title, who/where/when, tl;dr, takeaways, translated abstract, links, how it was made."""
    p, s = sp.paper, sp.summary
    title = one_line(p.title) or p.arxiv_id
    blocks = [header(escape(f"{number}. {title}" if number else title))]
    meta = [short_authors(p.authors, authors), f"{categories_line(p)} · {format_dates(p)}"]
    if comment := one_line(p.comment or ""):
        meta.append(f"Comment: {comment}")
    blocks.append(context(" · ".join(escape(m) for m in meta if m)))
    blocks += sections(f"*TL;DR* {mrkdwn_line(s.tldr) or '(no summary)'}")
    if takeaways := [t for t in (mrkdwn_line(t) for t in s.takeaways) if t]:
        blocks += sections("*Key takeaways*\n" + "\n".join(f"• {t}" for t in takeaways))
    if translation := mrkdwn(s.abstract_translation or ""):
        blocks += sections(f"*{mrkdwn_line(translation_label(s))}*\n{translation}")
    blocks += sections(links(sp))
    blocks.append(context(mrkdwn_line(footer(s))))
    return blocks


# Messages -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Unit:
    """Blocks that belong together (a card), and the words that name them in a notification."""

    label: str
    blocks: Sequence[Block]


def _pack(units: Sequence[_Unit], *, divider: bool, text: str | None = None) -> list[SlackMessage]:
    """Units in order, as few messages as the limits allow; a unit too big for one message is split
    between blocks. Each message's `text` names what it holds (or is `text` for the first)."""
    messages: list[tuple[list[str], list[Block]]] = []
    blocks: list[Block] = []
    labels: list[str] = []
    chars = 0

    def flush() -> None:
        nonlocal blocks, labels, chars
        if blocks:
            messages.append((labels, blocks))
        blocks, labels, chars = [], [], 0

    for unit in units:
        unit_blocks = ([DIVIDER] if divider and blocks else []) + list(unit.blocks)
        size = sum(block_chars(b) for b in unit_blocks)
        if blocks and (len(blocks) + len(unit_blocks) > MAX_BLOCKS or chars + size > MAX_MESSAGE_CHARS):
            flush()
            unit_blocks = list(unit.blocks)
        labels.append(unit.label)
        for block in unit_blocks:
            if blocks and (len(blocks) >= MAX_BLOCKS or chars + block_chars(block) > MAX_MESSAGE_CHARS):
                flush()
            blocks.append(block)
            chars += block_chars(block)
    flush()
    out = []
    for i, (names, msg_blocks) in enumerate(messages):
        fallback = text if i == 0 and text else "; ".join(dict.fromkeys(n for n in names if n))
        out.append(SlackMessage(text=fit(fallback or "(continued)", MAX_FALLBACK_CHARS), blocks=tuple(msg_blocks)))
    return out


def batch_messages(batch: SummaryBatch) -> list[SlackMessage]:
    """The reply to a message with references: a card per paper, then what failed or was left out."""
    units = [_Unit(mrkdwn_line(sp.paper.title), card_blocks(sp)) for sp in batch.papers]
    notes = [context(f"⚠️ {mrkdwn_line(error_line(e))}") for e in batch.errors]
    if batch.left_out:
        notes.append(context(escape(left_out_line(batch.left_out)) + "."))
    if notes:
        units.append(_Unit("", notes))
    n = len(batch.papers)
    first = f"Summary: {units[0].label}" if n == 1 else f"Summaries of {n} papers" if n else None
    return _pack(units, divider=True, text=first) or [text_message("No paper could be summarized.")]


def _list_line(i: int, sp: SummarizedPaper) -> str:
    title = fit(mrkdwn_line(sp.paper.title) or sp.paper.arxiv_id, LIST_TITLE_CHARS)
    tldr = fit(mrkdwn_line(sp.summary.tldr), LIST_TLDR_CHARS)
    return f"{i}. *<{sp.paper.abs_url}|{title}>*" + (f": {tldr}" if tldr else "")


def digest_messages(digest: Digest) -> list[SlackMessage]:
    """A digest as a short parent message listing the papers (title, link, one-line tl;dr), then the
    messages for its thread: the rest of the list if it did not fit, then the full cards, in order."""
    title = one_line(digest.title) or "Digest"
    head = [
        header(escape(f"{title}: {digest.date.isoformat()}")),
        context(f"{mrkdwn_line(window_line(digest))} · Query: {mrkdwn_line(digest.query)}"),
        context(f"⚠️ {escape(DISCLAIMER)}"),
    ]
    if not digest.papers:
        head.append(sections(f"*{mrkdwn_line(empty_line(digest))}*")[0])
    listing = [_list_line(i, sp) for i, sp in enumerate(digest.papers, 1)]
    head += sections("\n".join(listing)) if listing else []
    tail = [context(f"⚠️ {mrkdwn_line(error_line(e))}") for e in digest.errors]
    if digest.omitted:
        tail.append(context(escape(omitted_line(digest.omitted)) + "."))
    n = len(digest.papers)
    counted = f"{n} paper{'s' if n != 1 else ''}, summaries in the thread" if n else "no new papers"
    parent_text = escape(f"{title}: {digest.date.isoformat()}: {counted}")
    parent = _pack([_Unit("Contents (continued)", [b]) for b in head + tail], divider=False, text=parent_text)
    cards = [
        _Unit(escape(f"{i}. ") + mrkdwn_line(sp.paper.title), card_blocks(sp, number=i, authors=DIGEST_AUTHORS))
        for i, sp in enumerate(digest.papers, 1)
    ]
    return parent + _pack(cards, divider=True)


def text_message(message: str) -> SlackMessage:
    """A plain reply (help, an error, a confirmation): escaped, no blocks."""
    return SlackMessage(text=fit(mrkdwn(message), MAX_TEXT_CHARS))


def progress_message(message: str) -> SlackMessage:
    return SlackMessage(text=fit(f"⏳ {mrkdwn_line(message)}", MAX_TEXT_CHARS))


def done_message(digest: Digest) -> SlackMessage:
    """What the progress message of /digest says once the digest is posted."""
    n = len(digest.papers)
    what = f"{n} paper{'s' if n != 1 else ''}" if n else "no new papers"
    return SlackMessage(text=fit(f"✅ {mrkdwn_line(digest.title)}: {what}, posted below.", MAX_TEXT_CHARS))


def _mrkdwn(escaped: str) -> dict[str, Any]:
    # verbatim: Slack must not turn bare URLs into links or parse @here-like words in text we did not write.
    return {"type": "mrkdwn", "text": escaped, "verbatim": True}
