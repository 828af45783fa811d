"""Core results -> Discord messages: pure functions, no I/O.

A card lays out bot.core.card.CardView: one message per card, so its link buttons (an action row of
link-style buttons, which need no interaction handling) sit right under it.

Every untrusted string (titles, authors, abstracts, comments, what the LLM wrote, what a user
typed) passes clean_text, is cut to fit, and only then is escaped (discord.utils.escape_markdown,
then escape_mentions): cutting before escaping means a limit never splits an escape sequence.
A URL in such text is shown inert, in a code span (Discord would link it). The only links are the
CardView's: the title's, and the buttons (built from the arXiv id, or strictly parsed code and project
URLs the paper gives). Plain text is sent with link previews suppressed.

A card's lead figure is the embed's image (the figure's own arXiv address), with its label, linked to
where it is in the paper, and its caption in a field; a PDF-only paper's figure is that link, and the
message names the card for the publisher to attach the crop when the licence allows (Outgoing.upload,
shown by the embed as `attachment://<name>`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence

import discord

from bot.core.card import CardLink, CardView, card_view
from bot.core.models import Digest, InputError, SummarizedPaper, SummaryBatch
from bot.core.render import (
    DISCLAIMER,
    categories_line,
    empty_line,
    error_line,
    left_out_line,
    omitted_line,
    short_authors,
    window_line,
)
from bot.core.sanitize import clean_text, one_line, split_urls, truncate

# Discord's limits (discord.py docs for Embed; Discord's "Embed Limits").
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELDS_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_LIMIT = 6000  # all embeds of one message together: titles, descriptions, fields, footers
CONTENT_LIMIT = 2000
THREAD_NAME_LIMIT = 100
ROWS_PER_MESSAGE = 5  # action rows in one message
BUTTONS_PER_ROW = 5
BUTTON_LABEL_LIMIT = 80
BUTTON_URL_LIMIT = 512

# Our own budgets, well inside the limits, so one card is always < EMBED_TOTAL_LIMIT on its own
# and a reader skims rather than scrolls.
AUTHORS_CHARS = 300
META_CHARS = 300
COMMENT_CHARS = 300
TLDR_CHARS = 1200
TAKEAWAY_CHARS = 300
FOOTER_CHARS = 300
FIGURE_LABEL_CHARS = 100
FIGURE_CAPTION_CHARS = 300
MAX_NOTES = 10
CARD_COLOR = 0xB31B1B  # arXiv red
NOTE_COLOR = 0x808080


def _escape_prose(text: str) -> str:
    # escape_markdown only prefixes a whole `[label](url)` match with one backslash, and leaves an autolink-like
    # `<x:/y>` untouched, the markdown inside either (`||`, backticks, `*`) live; escaped piece by piece between
    # "](" and after each "<", neither can form.
    def pieces(part: str) -> str:
        return "<".join(discord.utils.escape_markdown(piece) for piece in part.split("<"))

    return discord.utils.escape_mentions("\\](".join(pieces(p) for p in text.split("](")))


def escape(text: str) -> str:
    """Untrusted text as Discord shows it literally: cleaned, markdown escaped, mentions defused, and each
    URL in a code span, where Discord does not link it (split_urls ends a URL at a backtick or `@`)."""
    return "".join(f"`{piece}`" if is_url else _escape_prose(piece) for piece, is_url in split_urls(clean_text(text)))


def _cut(raw: str, limit: int, render: Callable[[str], str]) -> str:
    budget = limit
    while True:
        out = render(truncate(raw, budget))
        if len(out) <= limit:
            return out
        budget -= max(1, (len(out) - limit) // 2)  # escaping at most doubles a character (plus a ZWSP)


def fit(text: str, limit: int, *, single_line: bool = True) -> str:
    """`escape(text)` in at most `limit` characters, cut on a word boundary with "…" before escaping."""
    return _cut(one_line(text) if single_line else clean_text(text), limit, escape)


def plain(text: str, limit: int) -> str:
    """For surfaces that render no markdown (footers, thread names): cleaned, cut, mentions defused."""
    return _cut(one_line(text), limit, discord.utils.escape_mentions)


@dataclasses.dataclass(frozen=True)
class Outgoing:
    """One Discord message: plain text (sent with link previews suppressed) or embeds, and rows of link
    buttons under them (the publisher sends them as a discord.ui.View)."""

    content: str | None = None
    embeds: tuple[discord.Embed, ...] = ()
    link_rows: tuple[tuple[CardLink, ...], ...] = ()
    # The card (the first embed) whose lead figure, a CC-licensed PDF crop, is attached when sent: see attached().
    upload: SummarizedPaper | None = None

    def __post_init__(self) -> None:
        if self.content is not None and len(self.content) > CONTENT_LIMIT:
            raise ValueError(f"message content over {CONTENT_LIMIT} characters")
        if len(self.embeds) > EMBEDS_PER_MESSAGE or embeds_length(self.embeds) > EMBED_TOTAL_LIMIT:
            raise ValueError(f"over {EMBEDS_PER_MESSAGE} embeds or {EMBED_TOTAL_LIMIT} embed characters")
        if len(self.link_rows) > ROWS_PER_MESSAGE or any(not 0 < len(r) <= BUTTONS_PER_ROW for r in self.link_rows):
            raise ValueError(f"over {ROWS_PER_MESSAGE} rows of 1 to {BUTTONS_PER_ROW} buttons")

    def view(self) -> discord.ui.View | None:
        """The buttons as discord.py sends them: link-style only, so nothing waits for an interaction.
        Built when sending (a View wants the running event loop)."""
        if not self.link_rows:
            return None
        view = discord.ui.View(timeout=None)
        for row, links in enumerate(self.link_rows):
            for link in links:
                view.add_item(
                    discord.ui.Button(style=discord.ButtonStyle.link, label=link.label, url=link.url, row=row)
                )
        return view


def attached(out: Outgoing, filename: str) -> Outgoing:
    """`out` with its card's embed showing the file sent with it as `filename` (Discord's attachment://)."""
    card = out.embeds[0].copy()
    card.set_image(url=f"attachment://{filename}")
    return dataclasses.replace(out, embeds=(card, *out.embeds[1:]))


def link_row(links: Sequence[CardLink]) -> tuple[CardLink, ...]:
    """A card's links that fit one row of buttons (the CardView gives at most five)."""
    fitting = [
        dataclasses.replace(link, label=plain(link.label, BUTTON_LABEL_LIMIT))
        for link in links
        if len(link.url) <= BUTTON_URL_LIMIT
    ]
    return tuple(fitting[:BUTTONS_PER_ROW])


def embeds_length(embeds: Iterable[discord.Embed]) -> int:
    """The characters Discord counts toward a message's 6000 (discord.py's Embed.__len__)."""
    return sum(len(e) for e in embeds)


# Cards ----------------------------------------------------------------------------------------


def _takeaways(items: Sequence[str]) -> str:
    lines: list[str] = []
    for item in items:
        line = f"• {fit(item, TAKEAWAY_CHARS)}"
        if line == "• " or len("\n".join([*lines, line])) > FIELD_VALUE_LIMIT:
            continue
        lines.append(line)
    return "\n".join(lines)


def _add_figure(embed: discord.Embed, view: CardView) -> None:
    """The lead figure: the embed's image, and a field with its label, its caption and a link to where it is in
    the paper."""
    figure = view.figure
    if figure is None:
        return
    label = fit(figure.label, FIGURE_LABEL_CHARS) or "Figure"
    caption = fit(figure.caption, FIGURE_CAPTION_CHARS)
    where = f"[in the paper]({figure.anchor_url})"
    embed.add_field(name=label, value=f"{caption} ({where})" if caption else where, inline=False)
    if figure.image_url:
        embed.set_image(url=figure.image_url)


def card_embed(sp: SummarizedPaper, *, number: int | None = None) -> discord.Embed:
    """One paper as its CardView: title (linking to the abstract page), authors, arXiv id, category, dates,
    comment, tl;dr, takeaways, the lead figure, abstract translation when there is one, and how it was made.
    Its links are buttons: see card_message."""
    return _card_embed(card_view(sp), sp, number=number)


def _card_embed(view: CardView, sp: SummarizedPaper, *, number: int | None) -> discord.Embed:
    prefix = f"{number}. " if number is not None else ""
    title = prefix + (fit(view.title, TITLE_LIMIT - len(prefix)) or view.id_label)
    lines = []
    if authors := short_authors(view.authors):
        lines.append(fit(authors, AUTHORS_CHARS))
    lines.append(fit(f"{view.id_label} · {categories_line(sp.paper)} · {view.dates}", META_CHARS))
    if comment := one_line(view.comment or ""):
        lines.append(f"*Comment:* {fit(comment, COMMENT_CHARS)}")
    if view.why:  # why a digest picked it
        lines.append(f"*{fit(view.why, META_CHARS)}*")
    lines += ["", f"**TL;DR** {fit(view.tldr, TLDR_CHARS) or '(no summary)'}"]
    embed = discord.Embed(title=title, url=view.title_url, description="\n".join(lines), color=CARD_COLOR)
    if takeaways := _takeaways(view.takeaways):
        embed.add_field(name="Key takeaways", value=takeaways, inline=False)
    _add_figure(embed, view)
    if view.translation and (translation := fit(view.translation, FIELD_VALUE_LIMIT, single_line=False)):
        embed.add_field(name=fit(view.translation_label or "", FIELD_NAME_LIMIT), value=translation, inline=False)
    embed.set_footer(text=plain(view.footer, FOOTER_CHARS))
    return embed


def card_message(sp: SummarizedPaper, *, number: int | None = None) -> Outgoing:
    """One card per message, its link buttons right under it (and its lead figure's crop when it is attached)."""
    view = card_view(sp)
    row = link_row(view.links)
    upload = sp if view.figure is not None and view.figure.upload else None
    return Outgoing(embeds=(_card_embed(view, sp, number=number),), link_rows=(row,) if row else (), upload=upload)


def notes_embed(errors: Sequence[InputError] = (), notes: Sequence[str] = ()) -> discord.Embed | None:
    """What could not be served and what was left out, as one small embed (no link previews)."""
    lines = [f"⚠ {fit(error_line(e), 300)}" for e in errors[:MAX_NOTES]]
    if len(errors) > MAX_NOTES:
        lines.append(f"⚠ {len(errors) - MAX_NOTES} more could not be read")
    lines += [fit(note, 300) for note in notes]
    if not lines:
        return None
    return discord.Embed(description="\n".join(lines), color=NOTE_COLOR)


def _with_notes(messages: list[Outgoing], notes: discord.Embed | None) -> list[Outgoing]:
    """The notes under the last card when they fit in its message, else in a message of their own."""
    if notes is None:
        return messages
    if messages:
        last = messages[-1]
        embeds = (*last.embeds, notes)
        if len(embeds) <= EMBEDS_PER_MESSAGE and embeds_length(embeds) <= EMBED_TOTAL_LIMIT:
            return [*messages[:-1], dataclasses.replace(last, embeds=embeds)]
    return [*messages, Outgoing(embeds=(notes,))]


def batch_messages(batch: SummaryBatch) -> list[Outgoing]:
    """The reply to a pasted link: one message per paper (its card and link buttons), then the errors and
    left-out count in a last, link-free embed."""
    notes = [f"{left_out_line(batch.left_out)}."] if batch.left_out else []
    return _with_notes([card_message(sp) for sp in batch.papers], notes_embed(batch.errors, notes))


# Digests --------------------------------------------------------------------------------------


def digest_parent(digest: Digest) -> Outgoing:
    """The digest's short first message: what it is, the window, how many papers, the disclaimer."""
    n = len(digest.papers)
    lines = [f"**Query:** {fit(digest.query, 500)}", escape(window_line(digest))]
    lines.append(f"**{n} paper{'s' if n != 1 else ''}**" if n else escape(empty_line(digest)))
    if digest.omitted:
        lines.append(escape(f"{omitted_line(digest.omitted)}."))
    lines += [f"⚠ {fit(error_line(e), 300)}" for e in digest.errors[:MAX_NOTES]]
    lines += ["", f"*{escape(DISCLAIMER)}*"]
    title = fit(f"{one_line(digest.title)}: {digest.date.isoformat()}", TITLE_LIMIT)
    return Outgoing(embeds=(discord.Embed(title=title, description="\n".join(lines), color=CARD_COLOR),))


def digest_card_messages(digest: Digest) -> list[Outgoing]:
    """The digest's cards, numbered, in order, a message each (with its link buttons)."""
    return [card_message(sp, number=i) for i, sp in enumerate(digest.papers, 1)]


def thread_name(digest: Digest) -> str:
    return plain(f"{digest.title}: {digest.date.isoformat()}", THREAD_NAME_LIMIT) or "Digest"


# Plain text -----------------------------------------------------------------------------------


def _pieces(line: str, limit: int) -> list[str]:
    """One raw line cut into raw pieces whose escaped form fits `limit`, at spaces where possible."""
    pieces: list[str] = []
    while len(escape(line)) > limit:
        cut = len(line)
        while len(escape(line[:cut])) > limit:
            cut = max(1, cut - max(1, (len(escape(line[:cut])) - limit) // 2))
        space = line.rfind(" ", 0, cut + 1)
        cut = space if space > cut // 2 else cut
        pieces.append(line[:cut])
        line = line[cut:].lstrip(" ")
    return [*pieces, line]


def split_text(text: str, limit: int = CONTENT_LIMIT) -> list[str]:
    """Untrusted text escaped into chunks of at most `limit` characters, split between lines (or words);
    each chunk is escaped on its own, so no split falls inside an escape sequence."""
    chunks: list[str] = []
    current: list[str] = []
    for line in clean_text(text).split("\n"):
        for piece in _pieces(line, limit):
            candidate = "\n".join([*current, piece])
            if current and len(escape(candidate)) > limit:
                chunks.append(escape("\n".join(current)))
                current = [piece]
            else:
                current.append(piece)
    if current and (body := escape("\n".join(current))):
        chunks.append(body)
    return chunks


def text_messages(text: str) -> list[Outgoing]:
    return [Outgoing(content=chunk) for chunk in split_text(text)]


def progress_content(message: str) -> str:
    return f"⏳ {fit(message, CONTENT_LIMIT - 2)}"
