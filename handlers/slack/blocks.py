"""Core results as Slack messages: pure functions, no I/O.

A card lays out bot.core.card.CardView: the title linked to the abstract page, the arXiv id, and the
card's links as URL buttons in an actions block (the app needs no interactivity for them). Its lead
figure is an image block of the figure's own arXiv address (Slack fetches it), with its label and caption
linked to where it is in the paper; a PDF-only paper's figure is that link, and the message names the
card for the publisher to upload the crop into the thread when the licence allows (SlackMessage.uploads).

Every untrusted string (titles, authors, comments, everything the LLM wrote, what a user typed)
passes clean_text/one_line and then Slack's three escapes, so no `<!channel>`, `<@U1>` or
`<https://evil|arxiv>` survives as markup; a URL in such text is shown inert, in a code span.
The only links are the CardView's (built from the arXiv id, or strictly parsed code and project
URLs the paper gives). Text is cut and split on the escaped string, never inside `&amp;`, `&lt;`, `&gt;`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from bot.core.card import CardView, card_view
from bot.core.models import Digest, SummarizedPaper, SummaryBatch
from bot.core.render import (
    DIGEST_AUTHORS,
    DISCLAIMER,
    categories_line,
    empty_line,
    error_line,
    left_out_line,
    omitted_line,
    short_authors,
    window_line,
)
from bot.core.sanitize import ELLIPSIS, clean_text, one_line, split_urls

# Slack's limits (docs.slack.dev, Block Kit reference), and our own budget per message.
MAX_BLOCKS = 50  # blocks per message
MAX_SECTION_CHARS = 3000  # a section's (or context element's) mrkdwn text
MAX_HEADER_CHARS = 150  # a header's plain_text
MAX_BUTTONS = 25  # elements in one actions block
MAX_BUTTON_TEXT_CHARS = 75
MAX_BUTTON_URL_CHARS = 3000
MAX_MESSAGE_CHARS = 12_000  # all block text in one message; past ~13k Slack answers msg_too_long
MAX_FALLBACK_CHARS = 500  # the `text` shown in notifications; the blocks carry the content
MAX_TEXT_CHARS = 3000  # a plain text reply (help, errors, progress)
MAX_IMAGE_URL_CHARS = 3000  # an image block's image_url
MAX_ALT_TEXT_CHARS = 2000  # an image block's alt_text
MAX_IMAGE_TITLE_CHARS = 2000  # an image block's title (plain_text)
FIGURE_TITLE_CHARS = 100  # "Figure 1": a label, not a sentence
FIGURE_CAPTION_CHARS = 300  # the caption shown under the image (alt_text carries more)
CARD_AUTHORS = 3
TITLE_CHARS = 500  # a card's linked title (a section: its 3000 would be a wall of text)
LIST_TITLE_CHARS = 200  # a digest parent lists each paper on one line
LIST_TLDR_CHARS = 140

Block = dict[str, Any]
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")
_COLUMNS = re.compile(r"\S {2,}\S")  # words two or more spaces apart: text laid out in columns
_GAP = re.compile(r"( {2,})")


@dataclasses.dataclass(frozen=True)
class SlackMessage:
    """One chat.postMessage payload: the notification text and the blocks, both already escaped."""

    text: str
    blocks: tuple[Block, ...] = ()
    # The cards in this message whose lead figure is uploaded into the thread after it (a CC-licensed PDF crop).
    uploads: tuple[SummarizedPaper, ...] = ()

    def payload(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": list(self.blocks)} if self.blocks else {"text": self.text}


# Escaping and cutting -----------------------------------------------------------------------


def escape(s: str) -> str:
    """Slack's escapes for `&`, `<`, `>`: after them no text is a mention, link or command."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _inert(cleaned: str) -> str:
    # verbatim already keeps Slack from linking a bare URL; the code span also shows it is not one.
    return "".join(f"`{escape(piece)}`" if is_url else escape(piece) for piece, is_url in split_urls(cleaned))


def mrkdwn(s: str) -> str:
    """Untrusted text, cleaned and escaped (line breaks kept), URLs inert."""
    return _inert(clean_text(s))


def mrkdwn_line(s: str) -> str:
    """Untrusted text on one line, cleaned and escaped, URLs inert."""
    return _inert(one_line(s))


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
    if block["type"] == "image":
        return len(block["alt_text"]) + len(block.get("title", {}).get("text", ""))
    if block["type"] in ("context", "actions"):
        return sum(len(e["text"]) if block["type"] == "context" else len(e["text"]["text"]) for e in block["elements"])
    return len(block.get("text", {}).get("text", ""))


def link_buttons(view: CardView) -> Block:
    """The card's links as URL buttons (abstract, PDF, HTML, then code or project pages)."""
    buttons = [
        {"type": "button", "text": {"type": "plain_text", "text": fit(escape(link.label), MAX_BUTTON_TEXT_CHARS)},
         "url": link.url}
        for link in view.links
        if len(link.url) <= MAX_BUTTON_URL_CHARS
    ]  # fmt: skip
    return {"type": "actions", "elements": buttons[:MAX_BUTTONS]}


def title_block(view: CardView, number: int | None = None) -> Block:
    """The title, bold and linked to the abstract page (a header block cannot hold a link)."""
    title = fit(escape(one_line(view.title)), TITLE_CHARS) or escape(view.id_label)
    prefix = f"{number}. " if number else ""
    return {"type": "section", "text": _mrkdwn(f"*{prefix}<{view.title_url}|{title}>*")}


def figure_blocks(view: CardView) -> list[Block]:
    """The lead figure: its image (the figure's own arXiv address, Slack fetches it) titled with its label, the
    caption as alt text; then the label linked to where the figure is in the paper, and the caption."""
    figure = view.figure
    if figure is None:
        return []
    label = escape(one_line(figure.label)) or "Figure"
    caption = mrkdwn_line(figure.caption)
    blocks: list[Block] = []
    if figure.image_url and len(figure.image_url) <= MAX_IMAGE_URL_CHARS:
        title = fit(label, FIGURE_TITLE_CHARS)  # within MAX_IMAGE_TITLE_CHARS
        blocks.append({
            "type": "image",
            "image_url": figure.image_url,
            "alt_text": fit(escape(one_line(figure.caption)) or label, MAX_ALT_TEXT_CHARS),
            "title": {"type": "plain_text", "text": title, "emoji": True},
        })  # fmt: skip
    line = f"<{figure.anchor_url}|{fit(label, FIGURE_TITLE_CHARS)}>"
    blocks.append(context(f"{line}: {fit(caption, FIGURE_CAPTION_CHARS)}" if caption else line))
    return blocks


def card_blocks(sp: SummarizedPaper, *, number: int | None = None, authors: int = CARD_AUTHORS) -> list[Block]:
    """One paper as its CardView: linked title; id, authors, category, dates, comment; tl;dr, takeaways,
    the lead figure, translated abstract; link buttons; how it was made."""
    return _card_blocks(card_view(sp), sp, number=number, authors=authors)


def _card_blocks(view: CardView, sp: SummarizedPaper, *, number: int | None, authors: int) -> list[Block]:
    blocks = [title_block(view, number)]
    meta = [view.id_label, short_authors(view.authors, authors), f"{categories_line(sp.paper)} · {view.dates}"]
    meta_text = " · ".join(escape(m) for m in meta if m)
    if comment := one_line(view.comment or ""):
        meta_text += f" · Comment: {mrkdwn_line(comment)}"
    blocks.append(context(meta_text))
    if view.why:
        blocks.append(context(f"_{mrkdwn_line(view.why)}_"))  # why a digest picked it
    blocks += sections(f"*TL;DR* {mrkdwn_line(view.tldr) or '(no summary)'}")
    if takeaways := [t for t in (mrkdwn_line(t) for t in view.takeaways) if t]:
        blocks += sections("*Key takeaways*\n" + "\n".join(f"• {t}" for t in takeaways))
    blocks += figure_blocks(view)
    if view.translation and (translation := mrkdwn(view.translation)):
        blocks += sections(f"*{mrkdwn_line(view.translation_label or '')}*\n{translation}")
    blocks.append(link_buttons(view))
    blocks.append(context(mrkdwn_line(view.footer)))
    return blocks


# Messages -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Unit:
    """Blocks that belong together (a card), and the words that name them in a notification."""

    label: str
    blocks: Sequence[Block]
    uploads: tuple[SummarizedPaper, ...] = ()


def _card_unit(label: str, sp: SummarizedPaper, *, number: int | None = None, authors: int = CARD_AUTHORS) -> _Unit:
    """A card, and its paper when its lead figure is to be uploaded after it."""
    view = card_view(sp)
    blocks = _card_blocks(view, sp, number=number, authors=authors)
    return _Unit(label, blocks, (sp,) if view.figure is not None and view.figure.upload else ())


def _pack(units: Sequence[_Unit], *, divider: bool, text: str | None = None) -> list[SlackMessage]:
    """Units in order, as few messages as the limits allow; a unit too big for one message is split
    between blocks. Each message's `text` names what it holds (or is `text` for the first)."""
    messages: list[tuple[list[str], list[Block], list[SummarizedPaper]]] = []
    blocks: list[Block] = []
    labels: list[str] = []
    uploads: list[SummarizedPaper] = []
    chars = 0

    def flush() -> None:
        nonlocal blocks, labels, uploads, chars
        if blocks:
            messages.append((labels, blocks, uploads))
        blocks, labels, uploads, chars = [], [], [], 0

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
                labels.append(f"{unit.label} (continued)" if unit.label else "")
            blocks.append(block)
            chars += block_chars(block)
        uploads += unit.uploads  # after the message holding the card's end
    flush()
    out = []
    for i, (names, msg_blocks, msg_uploads) in enumerate(messages):
        # The notification text says what the message holds, never a bare "(continued)".
        fallback = text if i == 0 and text else "; ".join(dict.fromkeys(n for n in names if n))
        fallback = fallback or f"{text or 'arXiv papers'} (continued)"
        out.append(
            SlackMessage(text=fit(fallback, MAX_FALLBACK_CHARS), blocks=tuple(msg_blocks), uploads=tuple(msg_uploads))
        )
    return out


def batch_messages(batch: SummaryBatch) -> list[SlackMessage]:
    """The reply to a message with references: a card per paper, then what failed or was left out."""
    units = [_card_unit(mrkdwn_line(sp.paper.title), sp) for sp in batch.papers]
    notes = [f"⚠️ {mrkdwn_line(error_line(e))}" for e in batch.errors]
    if batch.left_out:
        notes.append(escape(left_out_line(batch.left_out)) + ".")
    if notes:
        units.append(_Unit(" ".join(notes), [context(note) for note in notes]))
    n = len(batch.papers)
    first = f"Summary: {units[0].label}" if n == 1 else f"Summaries of {n} papers" if n else None
    return _pack(units, divider=True, text=first) or [text_message("No paper could be summarized.")]


def _list_line(i: int, sp: SummarizedPaper) -> str:
    view = card_view(sp)
    title = fit(escape(one_line(view.title)), LIST_TITLE_CHARS) or escape(view.id_label)
    tldr = fit(mrkdwn_line(view.tldr), LIST_TLDR_CHARS)
    return f"{i}. *<{view.title_url}|{title}>* ({escape(view.id_label)})" + (f": {tldr}" if tldr else "")


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
    parent = _pack([_Unit("", [b]) for b in head + tail], divider=False, text=parent_text)
    cards = [
        _card_unit(escape(f"{i}. ") + mrkdwn_line(sp.paper.title), sp, number=i, authors=DIGEST_AUTHORS)
        for i, sp in enumerate(digest.papers, 1)
    ]
    return parent + _pack(cards, divider=True)


def text_message(message: str) -> SlackMessage:
    """A plain reply (help, an error, a confirmation): escaped, no blocks. Text laid out in columns (the help)
    is a code block, where Slack keeps its spaces and a fixed-width font lines them up."""
    if _COLUMNS.search(message) and "```" not in message:
        return SlackMessage(text=f"```\n{fit(escape(_clean_columns(message)), MAX_TEXT_CHARS - 8)}\n```")
    return SlackMessage(text=fit(mrkdwn(message), MAX_TEXT_CHARS))


def _clean_columns(text: str) -> str:
    """clean_text on each run of words, keeping the line breaks, each line's indent and the gaps between
    columns (clean_text collapses spaces)."""
    lines = text.strip("\n").split("\n")
    return "\n".join("".join(p if p.isspace() else clean_text(p) for p in _GAP.split(line)) for line in lines)


def progress_message(message: str) -> SlackMessage:
    return SlackMessage(text=fit(f"⏳ {mrkdwn_line(message)}", MAX_TEXT_CHARS))


def _mrkdwn(escaped: str) -> dict[str, Any]:
    # verbatim: Slack must not turn bare URLs into links or parse @here-like words in text we did not write.
    return {"type": "mrkdwn", "text": escaped, "verbatim": True}
