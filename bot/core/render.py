"""Platform-free renderers over the core models: plain text (the console) and JSON.

The pages people read, the digest as HTML and Markdown, are templates outside the core (bot.pages,
which also takes every format through one render_digest). Every untrusted string passes clean_text,
then its surface's escaping. bot.core.card decides a card's content and links (built from the validated
arXiv id, plus the code pages the paper itself names). The small public helpers (short_authors,
categories_line, escape_markdown) are shared with the Slack and Discord renderers and the pages.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

from bot.core.card import card_view, code_links, html_url
from bot.core.models import Digest, Evidence, InputError, Paper, SourceKind, SummarizedPaper, Summary, SummaryBatch
from bot.core.questions import Answer, AnswerCitation
from bot.core.sanitize import clean_text, one_line, truncate
from bot.core.schedule import describe_window, utc_days
from bot.core.taste import TasteReport
from bot.core.textwidth import wrap

BATCH_FORMATS = ("text", "json")  # bot.pages adds markdown
ANSWER_FORMATS = ("text", "json")
TASTE_FORMATS = ("text", "json")
QUOTE_CHARS = 300  # of a quote shown under an answer (JSON has it whole)
DIGEST_FORMATS = ("text", "json")  # bot.pages adds markdown and html
TEXT_WIDTH = 88
TOC_TLDR_CHARS = 200
DIGEST_AUTHORS = 10  # a digest lists more authors than a card, but not a 300-name consortium
DISCLAIMER = (
    "Machine-written: these summaries were generated from the papers (each card says from what) and can be wrong. "
    "Use them to choose what to read, not instead of reading the papers."
)


# Shared helpers -------------------------------------------------------------------------------


def short_authors(authors: Sequence[str], limit: int = 3) -> str:
    """`A, B, C et al.` past `limit` names, else all of them."""
    names = [n for n in (one_line(a) for a in authors) if n]
    shown = ", ".join(names[:limit])
    return f"{shown} et al." if len(names) > limit else shown


def iso_utc(t: dt.datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SSZ`, as in the JSON output."""
    return (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    """What the digest really covered, for every renderer's header: the arXiv announcement(s) and their
    submission times, or the whole UTC days asked for."""
    return describe_window(digest.window or utc_days(digest.date, digest.days))


def empty_line(digest: Digest) -> str:
    """An empty digest: nothing matched, why, and what to try."""
    return " ".join([f"No new papers matched “{one_line(digest.query)}” in this window.", *digest.empty_reasons])


_MD_INLINE = re.compile(r"([\\`*_~\[\]<>|&])")
# Only special at the start of a line: headings, list items, quotes, setext underlines.
_MD_LINE_START = re.compile(r"^([#+\-=])|^(\d+)([.)])", re.M)


def escape_markdown(s: str) -> str:
    """clean_text, then backslash-escape what Markdown (CommonMark, GFM, Discord) would interpret,
    so backticks, `*bold*`, `||spoiler||`, `[x](y)` and `<script>` all show literally."""
    s = _MD_INLINE.sub(r"\\\1", clean_text(s))
    return _MD_LINE_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", s)


def _wrap(text: str, indent: str = "", first: str | None = None) -> list[str]:
    # By display width: a line of Chinese is as wide on screen as a line of English.
    lines = wrap(text, TEXT_WIDTH, initial_indent=indent if first is None else first, subsequent_indent=indent)
    return lines or [(indent if first is None else first).rstrip()]


# JSON -----------------------------------------------------------------------------------------


def figures_json(sp: SummarizedPaper) -> list[dict[str, Any]]:
    """The paper's figures, the lead (the one its card shows) first with "lead": true; [] when none were found."""
    view = card_view(sp)
    return [
        {"label": one_line(f.label), "caption": clean_text(f.caption), "anchor_url": f.anchor_url,
         "image_url": f.image_url, "lead": f is view.figure}
        for f in view.figures
    ]  # fmt: skip


def paper_json(sp: SummarizedPaper) -> dict[str, Any]:
    """One paper as in INTERFACE.md `--format json`, plus summary.note and summary.prompt_version."""
    p, s = sp.paper, sp.summary
    # Aligned with the takeaways (one each, null where none), an empty takeaway dropped with its evidence.
    cited = [(t, e) for t, e in zip((clean_text(t) for t in s.takeaways), _evidence_list(s), strict=True) if t]
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
        # abs and pdf as INTERFACE.md has them; html and the code/project pages the paper names, as on the card.
        "links": {"abs": p.abs_url, "pdf": p.pdf_url, "html": html_url(p)},
        "code_links": [{"kind": link.kind, "label": link.label, "url": link.url} for link in code_links(p)],
        "figures": figures_json(sp),
        "source": _source_json(sp),
        # In a digest ranked for a channel (INTERFACE.md "A channel's taste"): why it was picked, and its score.
        "why": one_line(sp.why or "") or None,
        "score": sp.score,
        "summary": {
            "language": one_line(s.language),
            "tldr": clean_text(s.tldr),
            "takeaways": [t for t, _ in cited],
            "evidence": [_one_evidence_json(e) for _, e in cited],
            "abstract_translation": clean_text(s.abstract_translation or "") or None,
            "generator": s.generator,
            "model": one_line(s.model or "") or None,
            "cached": s.cached,
            "note": one_line(s.note or "") or None,
            "prompt_version": one_line(s.prompt_version),
        },
    }


def _source_json(sp: SummarizedPaper) -> dict[str, Any]:
    """What the summary was written from (INTERFACE.md `source`): its kind, where it was read, the paper's licence
    (known when the paper was read, even for a summary written from the abstract)."""
    kind, reading = sp.summary.source, sp.reading
    url = reading.url if reading is not None and reading.kind == kind else sp.paper.abs_url
    license_ = (one_line(reading.license or "") or None) if reading is not None else None
    return {"kind": kind, "url": url, "license": license_}


def _evidence_list(s: Summary) -> list[Evidence | None]:
    return [*s.evidence[: len(s.takeaways)], *[None] * (len(s.takeaways) - len(s.evidence))]


def _one_evidence_json(evidence: Evidence | None) -> dict[str, str] | None:
    if evidence is None:
        return None
    return {"quote": clean_text(evidence.quote), "anchor_url": evidence.anchor_url}


def _errors_json(errors: Sequence[InputError]) -> list[dict[str, str]]:
    return [{"input": clean_text(e.input), "error": clean_text(e.error)} for e in errors]


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, indent=2)


# Plain text -----------------------------------------------------------------------------------


def _text_body(sp: SummarizedPaper, *, authors_limit: int, abstract: bool, indent: str = "") -> list[str]:
    view = card_view(sp)
    lines: list[str] = []
    if authors := short_authors(view.authors, authors_limit):
        lines += _wrap(authors, indent)
    lines += _wrap(f"{view.id_label} · {categories_line(sp.paper)} · {view.dates}", indent)
    if comment := one_line(view.comment or ""):
        lines += _wrap(f"Comment: {comment}", indent)
    if view.why:  # in a digest ranked for a channel: why it was picked
        lines += _wrap(f"Why: {view.why}", indent)
    lines += [""] + _wrap(f"TL;DR: {one_line(view.tldr)}", indent)
    if takeaways := [t for t in (one_line(t) for t in view.takeaways) if t]:
        lines += [f"{indent}Key takeaways:"]
        for t in takeaways:
            lines += _wrap(t, indent + "    ", indent + "  - ")
    if abstract and (text := one_line(sp.paper.abstract)):
        lines += [""] + _wrap(f"Abstract: {text}", indent)
    if translation := one_line(view.translation or ""):
        lines += [""] + _wrap(f"{view.translation_label}: {translation}", indent)
    lines += [""] + [f"{indent}{link.label}: {link.url}" for link in view.links]
    return lines + _wrap(view.footer, indent)


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


# Answers --------------------------------------------------------------------------------------

_READ_FROM: dict[SourceKind, str] = {
    "html": "from the full text (HTML)",
    "pdf": "from the PDF",
    "abstract": "from the abstract",
}


def answer_footer(answer: Answer) -> str:
    """How the answer was made and from what, with the reminder that a machine wrote it (every surface's footer)."""
    read_from = _READ_FROM[answer.source_kind]
    if answer.generator == "extractive":
        why = one_line(answer.note or "") or "no LLM"
        return f"No answer written ({why}): the passages closest to the question, {read_from}."
    model = one_line(answer.model or "") or "a language model"
    return f"Answered by {model} {read_from}; machine-written, check the quotes."


def citation_label(answer: Answer, citation: AnswerCitation) -> str:
    """Where a quote is: its section, and its paper when the answer is about several."""
    parts = [f"arXiv:{citation.arxiv_id}"] if len(answer.arxiv_ids) > 1 and citation.arxiv_id else []
    if section := one_line(citation.section):
        parts.append(section)
    return " · ".join(parts)


def answer_text(answer: Answer) -> str:
    """The console's and the CLI's answer: the text, each quote ("> ...") with its section and link, the footer."""
    lines: list[str] = []
    for paragraph in clean_text(answer.text).split("\n"):
        if paragraph.strip():
            lines += _wrap(paragraph.strip())
    for citation in answer.citations:
        lines += [""] + _wrap(f"“{truncate(one_line(citation.quote), QUOTE_CHARS)}”", "> ", "> ")
        label = citation_label(answer, citation)
        lines.append(f"  {label}: {citation.anchor_url}" if label else f"  {citation.anchor_url}")
    return "\n".join([*lines, "", *_wrap(answer_footer(answer))])


def answer_json(answer: Answer) -> dict[str, Any]:
    """`ask --format json` as in INTERFACE.md, plus language, cached, note, arxiv_ids and each citation's paper."""
    return {
        "arxiv_id": answer.arxiv_id,
        "version": answer.version,
        "question": clean_text(answer.question),
        "answer": clean_text(answer.text),
        "answered": answer.answered,
        "source": {"kind": answer.source_kind, "url": answer.source_url},
        "citations": [
            {
                "quote": clean_text(c.quote),
                "anchor_url": c.anchor_url,
                "section": one_line(c.section),
                "arxiv_id": c.arxiv_id,
            }
            for c in answer.citations
        ],  # fmt: skip
        "generator": answer.generator,
        "model": one_line(answer.model or "") or None,
        "language": answer.language,
        "cached": answer.cached,
        "note": one_line(answer.note or "") or None,
        "arxiv_ids": list(answer.arxiv_ids or (answer.arxiv_id,)),
    }


def render_taste(report: TasteReport, fmt: str) -> str:
    """`/digest taste` and `paperboy taste`: what a channel's ranking learned, as text or json."""
    check_format(fmt, TASTE_FORMATS)
    return _dumps(report.as_json()) if fmt == "json" else report.as_text()


def render_answer(answer: Answer, fmt: str) -> str:
    check_format(fmt, ANSWER_FORMATS)
    return _dumps(answer_json(answer)) if fmt == "json" else answer_text(answer)


# Entry points ---------------------------------------------------------------------------------


def check_format(fmt: str, allowed: tuple[str, ...]) -> None:
    if fmt not in allowed:
        raise ValueError(f"unknown format {fmt!r} (use one of: {', '.join(allowed)})")


def render_batch(batch: SummaryBatch, fmt: str) -> str:
    """Summary cards as text or json. Errors appear only in json (the CLI prints them to stderr)."""
    check_format(fmt, BATCH_FORMATS)
    if fmt == "json":
        return _dumps(
            {
                "papers": [paper_json(sp) for sp in batch.papers],
                "errors": _errors_json(batch.errors),
                "left_out": batch.left_out,
            }
        )
    parts = [card_text(sp) for sp in batch.papers]
    if batch.left_out:
        parts.append(f"{left_out_line(batch.left_out)}.")
    return f"\n\n{'-' * TEXT_WIDTH}\n\n".join(parts) + "\n" if parts else ""


def render_digest(digest: Digest, fmt: str) -> str:
    """A digest as text or json."""
    check_format(fmt, DIGEST_FORMATS)
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
                "window": window_line(digest),
                "empty_reasons": list(digest.empty_reasons),
                "errors": _errors_json(digest.errors),
            }
        )
    return _digest_text(digest)
