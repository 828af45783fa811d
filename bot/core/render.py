"""Platform-free renderers over the core models: plain text, Markdown, JSON and HTML.

Every untrusted string passes clean_text, then its surface's escaping. The only links are
Paper.abs_url and Paper.pdf_url, built from the validated arXiv id. The small public helpers
(short_authors, format_dates, footer, escape_markdown) are shared with the Slack and Discord renderers.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Sequence
from typing import Any

from bot.core.models import Digest, InputError, Paper, SummarizedPaper, Summary, SummaryBatch
from bot.core.sanitize import clean_text, one_line, truncate
from bot.core.textwidth import wrap

BATCH_FORMATS = ("text", "markdown", "json")
DIGEST_FORMATS = ("text", "markdown", "json", "html")
TEXT_WIDTH = 88
TOC_TLDR_CHARS = 200
DIGEST_AUTHORS = 10  # a digest lists more authors than a card, but not a 300-name consortium
DISCLAIMER = (
    "Machine-written: these summaries were generated from the abstracts and can be wrong. "
    "Use them to choose what to read, not instead of reading the papers."
)


# Shared helpers -------------------------------------------------------------------------------


def short_authors(authors: Sequence[str], limit: int = 3) -> str:
    """`A, B, C et al.` past `limit` names, else all of them."""
    names = [n for n in (one_line(a) for a in authors) if n]
    shown = ", ".join(names[:limit])
    return f"{shown} et al." if len(names) > limit else shown


def _utc(t: dt.datetime) -> dt.datetime:
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def iso_utc(t: dt.datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ`, as in the JSON output."""
    return _utc(t).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_dates(paper: Paper) -> str:
    """`Published 2025-05-28`, plus `, updated 2025-05-30 (v2)` when this version is from another day."""
    published, updated = _utc(paper.published).date(), _utc(paper.updated).date()
    if published == updated:
        return f"Published {published.isoformat()}"
    return f"Published {published.isoformat()}, updated {updated.isoformat()} (v{paper.version})"


def footer(summary: Summary) -> str:
    """How the summary was made, with the reminder that a machine wrote it."""
    if summary.generator == "extractive":
        note = one_line(summary.note or "")
        why = f"sentences from the abstract; {note}" if note else "sentences from the abstract"
        return f"Extractive summary ({why}); machine-written, check the paper."
    model = one_line(summary.model or "") or "a language model"
    return f"Summary by {model} from the abstract; machine-written, check the paper."


def translation_label(summary: Summary) -> str:
    return f"Abstract ({one_line(summary.language) or 'translated'})"


def categories_line(paper: Paper) -> str:
    """`cs.CL (also cs.AI, cs.LG)`."""
    primary = one_line(paper.primary_category)
    others = [c for c in (one_line(c) for c in paper.categories) if c and c != primary]
    return f"{primary} (also {', '.join(others)})" if others else primary


def left_out_line(n: int) -> str:
    return f"{n} more reference was left out" if n == 1 else f"{n} more references were left out"


def error_line(error: InputError) -> str:
    """One line per input that failed, naming the input unless the message already does."""
    message = clean_text(error.error)
    if error.input in error.error or error.input[:40] in error.error:
        return message
    return f"{truncate(one_line(error.input), 80)}: {message}"


def omitted_line(n: int) -> str:
    return f"{n} more paper matched and was omitted" if n == 1 else f"{n} more papers matched and were omitted"


def window_line(digest: Digest) -> str:
    """The UTC days the digest covers."""
    if digest.days <= 1:
        return f"Papers first submitted on {digest.date.isoformat()} (UTC)"
    start = digest.date - dt.timedelta(days=digest.days - 1)
    return f"Papers first submitted from {start.isoformat()} to {digest.date.isoformat()} (UTC)"


def empty_line(digest: Digest) -> str:
    return f"No new papers matched “{one_line(digest.query)}” in this window."


_MD_INLINE = re.compile(r"([\\`*_~\[\]<>|&])")
# Only special at the start of a line: headings, list items, quotes, setext underlines.
_MD_LINE_START = re.compile(r"^([#+\-=])|^(\d+)([.)])", re.M)


def escape_markdown(s: str) -> str:
    """clean_text, then backslash-escape what Markdown (CommonMark, GFM, Discord) would interpret,
    so backticks, `*bold*`, `||spoiler||`, `[x](y)` and `<script>` all show literally."""
    s = _MD_INLINE.sub(r"\\\1", clean_text(s))
    return _MD_LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", s)


def _md(s: str) -> str:
    return escape_markdown(one_line(s))


def _wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    # By display width: a line of Chinese is as wide on screen as a line of English.
    lines = wrap(text, TEXT_WIDTH, initial_indent=indent if first is None else first, subsequent_indent=indent)
    return lines or [(indent if first is None else first).rstrip()]


# JSON -----------------------------------------------------------------------------------------


def paper_json(sp: SummarizedPaper) -> dict[str, Any]:
    """One paper as in INTERFACE.md `--format json`, plus summary.note and summary.prompt_version."""
    p, s = sp.paper, sp.summary
    return {
        "arxiv_id": p.arxiv_id,
        "version": p.version,
        "title": one_line(p.title),
        "authors": [n for n in (one_line(a) for a in p.authors) if n],
        "abstract": clean_text(p.abstract),
        "comment": one_line(p.comment or "") or None,
        "journal_ref": one_line(p.journal_ref or "") or None,
        "primary_category": one_line(p.primary_category),
        "categories": [c for c in (one_line(c) for c in p.categories) if c],
        "published": iso_utc(p.published),
        "updated": iso_utc(p.updated),
        "links": {"abs": p.abs_url, "pdf": p.pdf_url},
        "summary": {
            "language": one_line(s.language),
            "tldr": clean_text(s.tldr),
            "takeaways": [t for t in (clean_text(t) for t in s.takeaways) if t],
            "abstract_translation": clean_text(s.abstract_translation or "") or None,
            "generator": s.generator,
            "model": one_line(s.model or "") or None,
            "cached": s.cached,
            "note": one_line(s.note or "") or None,
            "prompt_version": one_line(s.prompt_version),
        },
    }


def _errors_json(errors: Sequence[InputError]) -> list[dict[str, str]]:
    return [{"input": clean_text(e.input), "error": clean_text(e.error)} for e in errors]


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2)


# Plain text -----------------------------------------------------------------------------------


def _text_body(sp: SummarizedPaper, *, authors_limit: int, abstract: bool, indent: str = "") -> list[str]:
    p, s = sp.paper, sp.summary
    lines: list[str] = []
    if authors := short_authors(p.authors, authors_limit):
        lines += _wrap(authors, indent)
    lines += _wrap(f"{categories_line(p)} · {format_dates(p)}", indent)
    if comment := one_line(p.comment or ""):
        lines += _wrap(f"Comment: {comment}", indent)
    lines += [""] + _wrap(f"TL;DR: {one_line(s.tldr)}", indent)
    if takeaways := [t for t in (one_line(t) for t in s.takeaways) if t]:
        lines += [f"{indent}Key takeaways:"]
        for t in takeaways:
            lines += _wrap(t, indent + "    ", indent + "  - ")
    if abstract and (text := one_line(p.abstract)):
        lines += [""] + _wrap(f"Abstract: {text}", indent)
    if translation := one_line(s.abstract_translation or ""):
        lines += [""] + _wrap(f"{translation_label(s)}: {translation}", indent)
    lines += ["", f"{indent}Abstract page: {p.abs_url}", f"{indent}PDF: {p.pdf_url}"]
    return lines + _wrap(footer(s), indent)


def card_text(sp: SummarizedPaper) -> str:
    """The chat card as plain text, for the console."""
    return "\n".join([*_wrap(one_line(sp.paper.title)), *_text_body(sp, authors_limit=3, abstract=False)])


def _digest_text(d: Digest) -> str:
    out = [f"{one_line(d.title)}: {d.date.isoformat()}", "=" * TEXT_WIDTH, *_wrap(DISCLAIMER), ""]
    out += [*_wrap(f"Query: {one_line(d.query)}"), window_line(d), ""]
    if not d.papers:
        out.append(empty_line(d))
    else:
        out += ["Contents"]
        for i, sp in enumerate(d.papers, 1):
            out += _wrap(one_line(sp.paper.title), "     ", f"{i:>3}. ")
            out += _wrap(truncate(one_line(sp.summary.tldr), TOC_TLDR_CHARS), "     ")
        for i, sp in enumerate(d.papers, 1):
            out += ["", "-" * TEXT_WIDTH, *_wrap(one_line(sp.paper.title), "    ", f"{i}. ".ljust(4))]
            out += _text_body(sp, authors_limit=DIGEST_AUTHORS, abstract=True, indent="    ")
    if d.omitted:
        out += ["", f"{omitted_line(d.omitted)}."]
    return "\n".join(out) + "\n"


# Markdown -------------------------------------------------------------------------------------


def _md_body(sp: SummarizedPaper, *, authors_limit: int, abstract: bool, heading: str) -> list[str]:
    p, s = sp.paper, sp.summary
    out: list[str] = []
    if authors := short_authors(p.authors, authors_limit):
        out += [f"**Authors:** {escape_markdown(authors)}", ""]
    meta = f"{escape_markdown(categories_line(p))} · {escape_markdown(format_dates(p))}"
    if comment := one_line(p.comment or ""):
        meta += f" · **Comment:** {escape_markdown(comment)}"
    out += [meta, "", f"**Links:** [abstract]({p.abs_url}) · [PDF]({p.pdf_url})", ""]
    if abstract and (text := _md(p.abstract)):
        out += [f"**Abstract.** {text}", ""]
    if translation := _md(s.abstract_translation or ""):
        out += [f"**{escape_markdown(translation_label(s))}.** {translation}", ""]
    out += [f"{heading} Summary", "", _md(s.tldr) or "\\(no summary\\)", ""]
    if takeaways := [t for t in (_md(t) for t in s.takeaways) if t]:
        out += [f"{heading} Key takeaways", "", *(f"- {t}" for t in takeaways), ""]
    return out + [f"*{escape_markdown(footer(s))}*"]


def card_markdown(sp: SummarizedPaper) -> str:
    """One paper as a Markdown card (no abstract: the tl;dr and takeaways are the point)."""
    return "\n".join([f"### {_md(sp.paper.title)}", "", *_md_body(sp, authors_limit=3, abstract=False, heading="####")])


def _digest_markdown(d: Digest) -> str:
    out = [f"# {_md(d.title)}: {d.date.isoformat()}", "", f"> ⚠️ {escape_markdown(DISCLAIMER)}", ""]
    out += [f"**Query:** {_md(d.query)}", "", escape_markdown(window_line(d)), ""]
    if not d.papers:
        out += [f"**{escape_markdown(empty_line(d))}**", ""]
    else:
        out += ["## Contents", ""]
        for i, sp in enumerate(d.papers, 1):
            tldr = escape_markdown(truncate(one_line(sp.summary.tldr), TOC_TLDR_CHARS))
            out.append(f"{i}. **{_md(sp.paper.title)}**: {tldr}")
        for i, sp in enumerate(d.papers, 1):
            out += ["", "---", "", f"## {i}. {_md(sp.paper.title)}", ""]
            out += _md_body(sp, authors_limit=DIGEST_AUTHORS, abstract=True, heading="###")
        out.append("")
    if d.omitted:
        out += ["---", "", f"*{omitted_line(d.omitted)}.*", ""]
    return "\n".join(out)


# HTML -----------------------------------------------------------------------------------------

_CSS = """
body{font:16px/1.55 system-ui,-apple-system,"Segoe UI",sans-serif;max-width:46rem;margin:2rem auto;
padding:0 1rem;color:#1b1b1b;background:#fff}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2.2rem}h3{font-size:1rem;margin:1rem 0 .3rem}
.note{background:#fff6d6;border-left:4px solid #e0b400;padding:.5rem .8rem}
.meta,.foot{color:#555;font-size:.9rem}article{border-top:1px solid #ddd}
nav li{margin:.3rem 0}nav .tldr{color:#444}.empty{font-weight:600}
@media (prefers-color-scheme:dark){body{background:#161616;color:#e6e6e6}.note{background:#3a3210}
.meta,.foot,nav .tldr{color:#aaa}a{color:#8ab4f8}}
"""


def _h(s: str) -> str:
    return html.escape(one_line(s))


def _html_paper(i: int, sp: SummarizedPaper) -> list[str]:
    p, s = sp.paper, sp.summary
    out = [f'<article id="p{i}">', f"<h2>{i}. {_h(p.title)}</h2>"]
    if authors := short_authors(p.authors, DIGEST_AUTHORS):
        out.append(f'<p class="meta">{html.escape(authors)}</p>')
    meta = f"{html.escape(categories_line(p))} · {html.escape(format_dates(p))}"
    if comment := one_line(p.comment or ""):
        meta += f" · Comment: {html.escape(comment)}"
    out.append(f'<p class="meta">{meta}</p>')
    abs_url, pdf_url = html.escape(p.abs_url), html.escape(p.pdf_url)
    out.append(f'<p><a href="{abs_url}">Abstract page</a> · <a href="{pdf_url}">PDF</a></p>')
    out += ["<h3>Summary</h3>", f"<p>{_h(s.tldr)}</p>"]
    if takeaways := [t for t in (one_line(t) for t in s.takeaways) if t]:
        out += ["<h3>Key takeaways</h3>", "<ul>", *(f"<li>{html.escape(t)}</li>" for t in takeaways), "</ul>"]
    if text := _h(p.abstract):
        out += ["<h3>Abstract</h3>", f"<p>{text}</p>"]
    if translation := _h(s.abstract_translation or ""):
        out += [f"<h3>{html.escape(translation_label(s))}</h3>", f"<p>{translation}</p>"]
    return out + [f'<p class="foot">{html.escape(footer(s))}</p>', "</article>"]


def _digest_html(d: Digest) -> str:
    title = f"{one_line(d.title)}: {d.date.isoformat()}"
    lang = one_line(d.language) if re.fullmatch(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*", d.language) else "en"
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{html.escape(lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # Nothing to load and nothing to run: the page stands alone.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="referrer" content="no-referrer">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">⚠️ {html.escape(DISCLAIMER)}</p>',
        f'<p class="meta">Query: {_h(d.query)}<br>{html.escape(window_line(d))}</p>',
        "</header>",
    ]
    if not d.papers:
        out.append(f'<p class="empty">{html.escape(empty_line(d))}</p>')
    else:
        out += ["<nav>", "<h2>Contents</h2>", "<ol>"]
        for i, sp in enumerate(d.papers, 1):
            tldr = html.escape(truncate(one_line(sp.summary.tldr), TOC_TLDR_CHARS))
            out.append(f'<li><a href="#p{i}">{_h(sp.paper.title)}</a><br><span class="tldr">{tldr}</span></li>')
        out += ["</ol>", "</nav>"]
        for i, sp in enumerate(d.papers, 1):
            out += _html_paper(i, sp)
    if d.omitted:
        out.append(f'<p class="meta">{html.escape(omitted_line(d.omitted))}.</p>')
    return "\n".join([*out, "</body>", "</html>", ""])


# Entry points ---------------------------------------------------------------------------------


def _check(fmt: str, allowed: tuple[str, ...]) -> None:
    if fmt not in allowed:
        raise ValueError(f"unknown format {fmt!r} (use one of: {', '.join(allowed)})")


def render_batch(batch: SummaryBatch, fmt: str) -> str:
    """Summary cards as text, markdown or json. Errors appear only in json (the CLI prints them to stderr)."""
    _check(fmt, BATCH_FORMATS)
    if fmt == "json":
        return _dumps(
            {
                "papers": [paper_json(sp) for sp in batch.papers],
                "errors": _errors_json(batch.errors),
                "left_out": batch.left_out,
            }
        )
    card, rule = (card_text, "-" * TEXT_WIDTH) if fmt == "text" else (card_markdown, "---")
    parts = [card(sp) for sp in batch.papers]
    if batch.left_out:
        line = f"{left_out_line(batch.left_out)}."
        parts.append(line if fmt == "text" else f"*{line}*")
    return f"\n\n{rule}\n\n".join(parts) + "\n" if parts else ""


def render_digest(digest: Digest, fmt: str) -> str:
    """A digest as text, markdown, json or a self-contained html page."""
    _check(fmt, DIGEST_FORMATS)
    if fmt == "json":
        return _dumps(
            {
                "title": one_line(digest.title),
                "date": digest.date.isoformat(),
                "query": one_line(digest.query),
                "days": digest.days,
                "language": one_line(digest.language),
                "papers": [paper_json(sp) for sp in digest.papers],
                "omitted": digest.omitted,
                "errors": _errors_json(digest.errors),
            }
        )
    return {"text": _digest_text, "markdown": _digest_markdown, "html": _digest_html}[fmt](digest)
