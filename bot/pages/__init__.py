"""Pages people read: the digest as HTML and Markdown, and summary cards as Markdown, laid out by
Jinja2 templates (bot/pages/templates) from core's card view. Plain text and JSON stay in
bot.core.render; render_digest and render_batch here take every format, so callers need one import.
"""

from __future__ import annotations

from bot.core import render as core
from bot.core.models import Digest, SummaryBatch

DIGEST_FORMATS = ("text", "markdown", "json", "html")
BATCH_FORMATS = ("text", "markdown", "json")


def render_digest(digest: Digest, fmt: str) -> str:
    """A digest as text, markdown, json or a self-contained html page."""
    core.check_format(fmt, DIGEST_FORMATS)
    if fmt in core.DIGEST_FORMATS:
        return core.render_digest(digest, fmt)
    from bot.pages.render import TEMPLATES, render_template
    from bot.pages.view import digest_page

    if fmt == "html":
        return render_template("html", TEMPLATES["html"], page=digest_page(digest))
    return render_template("markdown", TEMPLATES["markdown"], page=digest_page(digest))


def render_batch(batch: SummaryBatch, fmt: str) -> str:
    """Summary cards as text, markdown or json. Errors appear only in json (the CLI prints them to stderr)."""
    core.check_format(fmt, BATCH_FORMATS)
    if fmt in core.BATCH_FORMATS:
        return core.render_batch(batch, fmt)
    from bot.pages.render import render_template
    from bot.pages.view import batch_page

    return render_template("markdown", "cards.md.j2", page=batch_page(batch))
