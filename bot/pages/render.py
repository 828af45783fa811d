"""Digest pages and cards from the Jinja2 templates in templates/ (a team restyles them there).

Both environments escape every value a template prints: HTML by autoescaping, Markdown by the
`finalize` hook below (core's escape_markdown), so a template cannot forget. What is already safe
says so by its type (markupsafe.Markup, MarkdownSafe). jinja2 is imported on the first render only:
the command line starts without it.
"""

from __future__ import annotations

import functools
import html
import re
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from bot.core.render import escape_markdown
from bot.core.sanitize import find_urls, one_line, split_urls

if TYPE_CHECKING:
    import jinja2

Surface = Literal["html", "markdown"]
TEMPLATES = {"html": "digest.html.j2", "markdown": "digest.md.j2"}
# Characters a Markdown link destination may not hold bare; percent-encoded, never backslash-escaped
# (GitHub shows a backslash inside a URL as part of it).
_URL_SAFE = "".join(sorted(set(map(chr, range(33, 127))) - set("()<>\\`\"' ")))


class MarkdownSafe(str):
    """Markdown that is already escaped: printed as is."""

    __slots__ = ()


def url_pieces(text: str) -> list[tuple[Literal["text", "link", "inert"], str]]:
    """`text` on one line, cut into plain text, links (strictly valid https URLs, sanitize.find_urls)
    and inert pieces (anything else a renderer might take for a link: shown, never linked)."""
    text = one_line(text)
    pieces: list[tuple[Literal["text", "link", "inert"], str]] = []

    def loose(part: str) -> None:
        pieces.extend(("inert" if is_url else "text", piece) for piece, is_url in split_urls(part))

    at = 0
    for start, end, url in find_urls(text):
        loose(text[at:start])
        pieces.append(("link", url))
        at = end
    loose(text[at:])
    return pieces


# Markdown --------------------------------------------------------------------------------------


def _md_escape(value: object) -> str:
    """finalize: every printed value is one line of escaped Markdown unless it is MarkdownSafe."""
    if isinstance(value, MarkdownSafe):
        return value
    return escape_markdown(one_line(str(value)))


def _md_text(piece: str) -> str:
    """escape_markdown keeps nothing at the edges; the spaces around a URL are the sentence's."""
    if not piece.strip():
        return " " if piece else ""
    lead = " " if piece[0].isspace() else ""
    trail = " " if piece[-1].isspace() else ""
    return f"{lead}{escape_markdown(piece)}{trail}"


def md_code(text: object) -> MarkdownSafe:
    """A code span, fenced with more backticks than the text holds (no escaping inside code)."""
    s = one_line(str(text))
    fence = "`" * (max(map(len, re.findall("`+", s)), default=0) + 1)
    pad = " " if s.startswith("`") or s.endswith("`") else ""
    return MarkdownSafe(f"{fence}{pad}{s}{pad}{fence}")


def md_linked(text: object) -> MarkdownSafe:
    """Escaped text whose URLs are autolinks, `<https://...>` (no backslash inside), and whose
    look-alikes (`javascript://x`, `https://evil|label`) are inert code spans."""
    out = []
    for kind, piece in url_pieces(str(text)):
        if kind == "link":
            out.append(f"<{piece}>")
        elif kind == "inert":
            out.append(md_code(piece))
        else:
            out.append(_md_text(piece))
    return MarkdownSafe("".join(out))


def md_html(text: object) -> MarkdownSafe:
    """Text inside raw HTML (a <summary>, an attribute), where Markdown escapes would show."""
    return MarkdownSafe(html.escape(one_line(str(text))))


def md_url(url: object) -> MarkdownSafe:
    """A link destination: an https URL or a #fragment, percent-encoded where Markdown would stumble."""
    s = str(url)
    if not (s.startswith(("https://", "#")) and s.isascii()):
        raise ValueError(f"not a link this page makes: {s!r}")
    return MarkdownSafe(urllib.parse.quote(s, safe=_URL_SAFE))


# HTML ------------------------------------------------------------------------------------------


def _html_clean(value: object) -> object:
    """finalize: every printed value is one clean line (autoescape then escapes it) unless it is Markup."""
    from markupsafe import Markup

    return value if isinstance(value, Markup) else one_line(str(value))


def html_linked(text: object) -> Any:
    """Escaped text whose strictly valid https URLs are links."""
    from markupsafe import Markup, escape

    out = []
    for kind, piece in url_pieces(str(text)):
        out.append(Markup('<a href="{0}">{0}</a>').format(piece) if kind == "link" else escape(piece))
    return Markup("").join(out)


def html_url(url: object) -> str:
    s = str(url)
    if not s.startswith(("https://", "#")):
        raise ValueError(f"not a link this page makes: {s!r}")
    return s


# Environments ----------------------------------------------------------------------------------


@functools.cache
def environment(surface: Surface) -> jinja2.Environment:
    import jinja2

    filters: dict[str, Callable[..., Any]]
    if surface == "html":
        finalize: Callable[[object], object] = _html_clean
        filters = {"linked": html_linked, "url": html_url}
    else:
        finalize = _md_escape
        filters = {"linked": md_linked, "url": md_url, "code": md_code, "html": md_html}
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("bot.pages", "templates"),
        autoescape=surface == "html",  # noqa: S701 (Markdown is escaped by finalize, not by HTML escaping)
        finalize=finalize,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(filters)
    return env


def render_template(surface: Surface, name: str, **context: object) -> str:
    return environment(surface).get_template(name).render(**context)
