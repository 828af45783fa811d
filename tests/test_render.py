"""Core renderers: cards, batches and digests as text and JSON, and the helpers every surface shares.

The Markdown and HTML pages are bot/pages (tests/test_pages.py)."""

import datetime as dt
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.card import dates_line, footer_line
from bot.core.models import Digest, InputError, Paper, SummarizedPaper, Summary, SummaryBatch
from bot.core.render import (
    card_text,
    escape_markdown,
    paper_json,
    render_batch,
    render_digest,
    short_authors,
)
from bot.core.sanitize import clean_text
from tests.interface import PAPER_KEYS, SUMMARY_KEYS

UTC = dt.UTC
HOSTILE_TITLE = "<!channel> *bold* ```code <script>alert(1)</script> ||spoiler||"
HOSTILE_ABSTRACT = "We ping @everyone and cite <https://evil|arxiv> for details.\u202e"
SUMMARY_EXTRA_KEYS = {"note", "prompt_version"}


def make_paper(**overrides) -> Paper:
    fields = {
        "arxiv_id": "2505.22653",
        "version": 1,
        "title": "The Climb Carves Wisdom Deeper\n  Than the Summit",
        "authors": ("Ang Lv", "Ruobing Xie", "Xingwu Sun", "Zhanhui Kang", "Rui Yan"),
        "abstract": "Recent studies on post-training large language models\nfor reasoning.",
        "comment": "Accepted by ACL 2025 findings",
        "journal_ref": None,
        "primary_category": "cs.CL",
        "categories": ("cs.CL", "cs.AI"),
        "published": dt.datetime(2025, 5, 28, 17, 0, tzinfo=UTC),
        "updated": dt.datetime(2025, 5, 28, 17, 0, tzinfo=UTC),
    }
    return Paper(**(fields | overrides))


def make_summary(**overrides) -> Summary:
    fields = {
        "language": "en",
        "tldr": "LLMs trained to reason with RL tolerate heavy reward noise.",
        "takeaways": ("Flipping 40% of rewards still reaches 72% on math.", "Rewarding reasoning phrases alone works."),
        "abstract_translation": None,
        "generator": "llm",
        "model": "gpt-4o-mini",
        "prompt_version": "v1",
    }
    return Summary(**(fields | overrides))


def make_sp(paper: Paper | None = None, **summary) -> SummarizedPaper:
    return SummarizedPaper(paper or make_paper(), make_summary(**summary))


def hostile_sp() -> SummarizedPaper:
    paper = make_paper(title=HOSTILE_TITLE, abstract=HOSTILE_ABSTRACT, comment="<@U123> 12 pages")
    return make_sp(paper, tldr="Read it ||now|| <!here>", takeaways=("*one*", "`two`"))


def make_digest(n: int = 3, omitted: int = 0, **overrides) -> Digest:
    papers = tuple(
        make_sp(make_paper(arxiv_id=f"2505.2265{i}", title=f"Paper number {i}"), tldr=f"Finding {i} holds.")
        for i in range(1, n + 1)
    )
    fields = {
        "title": "cs.CL daily",
        "date": dt.date(2025, 5, 30),
        "query": "cat:cs.CL",
        "papers": papers,
        "omitted": omitted,
        "language": "en",
    }
    return Digest(**(fields | overrides))


def unescaped(md: str, chars: str) -> list[str]:
    """Characters from `chars` in md not preceded by a backslash escape."""
    body = re.sub(r"\\.", "", md)  # drop every escape pair
    return [c for c in body if c in chars]


# Helpers shared with the Slack and Discord renderers ---------------------------------------------


def test_short_authors_adds_et_al_past_the_limit():
    """Four or more authors show the first three and "et al."; three or fewer show all."""
    assert short_authors(["A", "B", "C", "D"]) == "A, B, C et al."
    assert short_authors(["A", "B", "C"]) == "A, B, C"
    assert short_authors(["A", "B\u200b", "C"], limit=1) == "A et al."
    assert short_authors([]) == ""


def test_format_dates_shows_the_update_only_when_on_another_day():
    """A same-day version shows one date; a later version shows both, in UTC."""
    assert dates_line(make_paper()) == "Published 2025-05-28"
    later = make_paper(version=2, updated=dt.datetime(2025, 5, 31, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=3))))
    assert dates_line(later) == "Published 2025-05-28, updated 2025-05-30 (v2)"


def test_footer_names_the_model_or_the_extractive_reason():
    """The footer says which model wrote it, or that it is extractive and why."""
    assert footer_line(make_summary()) == "Summary by gpt-4o-mini from the abstract; machine-written, check the paper."
    extractive = make_summary(generator="extractive", model=None, note="daily token budget spent")
    assert footer_line(extractive) == (
        "Extractive summary (sentences from the abstract; daily token budget spent); machine-written, check the paper."
    )


# card_text ----------------------------------------------------------------------------------------


def test_card_text_carries_everything_a_card_needs():
    """Title, short authors, category, dates, comment, tl;dr, takeaways, translation, links and footer."""
    paper = make_paper(version=2, updated=dt.datetime(2025, 5, 30, 9, 0, tzinfo=UTC))
    card = card_text(make_sp(paper, language="zh", abstract_translation="关于通过强化学习的近期研究。"))
    for part in (
        "The Climb Carves Wisdom Deeper Than the Summit",
        "Ang Lv, Ruobing Xie, Xingwu Sun et al.",
        "cs.CL (also cs.AI)",
        "Published 2025-05-28, updated 2025-05-30 (v2)",
        "Comment: Accepted by ACL 2025 findings",
        "TL;DR: LLMs trained to reason with RL tolerate heavy reward noise.",
        "  - Flipping 40% of rewards still reaches 72% on math.",
        "Abstract (zh): 关于通过强化学习的近期研究。",
        "https://arxiv.org/abs/2505.22653v2",
        "https://arxiv.org/pdf/2505.22653v2",
        "Summary by gpt-4o-mini from the abstract; machine-written, check the paper.",
    ):
        assert part in card, part


def test_card_text_strips_control_characters():
    """Terminal escapes and bidi overrides in a title never reach the console."""
    card = card_text(make_sp(make_paper(title="Evil \x1b]0;pwned\x07 \u202etitle")))
    assert "\x1b" not in card and "\x07" not in card and "\u202e" not in card
    assert "Abstract (" not in card  # no translation when the summary has none


# JSON ---------------------------------------------------------------------------------------------


def test_paper_json_has_exactly_the_interface_keys():
    """paper_json is the INTERFACE.md object: its keys, UTC timestamps, links from the id."""
    cest = dt.timezone(dt.timedelta(hours=2))
    obj = paper_json(make_sp(make_paper(published=dt.datetime(2025, 5, 28, 19, 0, tzinfo=cest))))
    assert set(obj) == PAPER_KEYS
    assert SUMMARY_KEYS <= set(obj["summary"]) <= SUMMARY_KEYS | SUMMARY_EXTRA_KEYS
    assert obj["published"] == "2025-05-28T17:00:00Z"
    assert obj["title"] == "The Climb Carves Wisdom Deeper Than the Summit"
    assert obj["links"] == {
        "abs": "https://arxiv.org/abs/2505.22653v1",
        "pdf": "https://arxiv.org/pdf/2505.22653v1",
        "html": "https://arxiv.org/html/2505.22653v1",
    }
    assert obj["code_links"] == []
    assert obj["summary"]["generator"] == "llm" and obj["summary"]["cached"] is False


def test_render_batch_json_round_trips_the_hostile_paper():
    """JSON output parses, keeps the (cleaned) hostile text verbatim, and lists errors and left_out."""
    batch = SummaryBatch((hostile_sp(),), (InputError("2999.99999", "arXiv has no paper 2999.99999"),), left_out=2)
    out = json.loads(render_batch(batch, "json"))
    assert set(out) == {"papers", "errors", "left_out"}
    assert out["errors"] == [{"input": "2999.99999", "error": "arXiv has no paper 2999.99999"}]
    assert out["left_out"] == 2
    (paper,) = out["papers"]
    assert set(paper) == PAPER_KEYS
    assert paper["title"] == HOSTILE_TITLE
    assert paper["abstract"] == clean_text(HOSTILE_ABSTRACT) and "\u202e" not in paper["abstract"]


def test_render_digest_json_has_the_interface_keys():
    """Digest JSON carries title, date, query, papers and omitted (plus days, language, errors)."""
    out = json.loads(render_digest(make_digest(2, omitted=4), "json"))
    assert {"title", "date", "query", "papers", "omitted"} <= set(out)
    assert out["date"] == "2025-05-30" and out["omitted"] == 4 and len(out["papers"]) == 2
    assert all(set(p) == PAPER_KEYS for p in out["papers"])


# escape_markdown (the pages' Markdown and the Discord renderer use it) -------------------------------


@given(st.text())
def test_escape_markdown_round_trips(s):
    """Undoing the backslash escapes gives back the cleaned text, and no inline special is left bare."""
    out = escape_markdown(s)
    assert re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", out) == clean_text(s)
    assert unescaped(out, "\\`*_~[]<>|&") == []


# Empty digests and formats -------------------------------------------------------------------------


def test_empty_digest_says_no_new_papers():
    """An empty digest says so plainly."""
    out = render_digest(make_digest(0), "text")
    assert "No new papers" in out
    assert "Contents" not in out


def test_empty_digest_json_is_an_empty_list():
    """An empty digest in JSON has no papers and nothing omitted."""
    out = json.loads(render_digest(make_digest(0), "json"))
    assert out["papers"] == [] and out["omitted"] == 0


def test_text_digest_lists_contents_and_abstracts():
    """The terminal digest numbers the papers, shows each tl;dr and abstract, and the omitted count."""
    text = render_digest(make_digest(2, omitted=1, days=3), "text")
    assert "Papers first submitted from 2025-05-28 to 2025-05-30 (UTC)" in text
    assert "  1. Paper number 1" in text and "Finding 2 holds." in text
    assert "Abstract: Recent studies on post-training large language models for reasoning." in text
    assert "1 more paper matched and was omitted." in text


def test_unknown_format_is_rejected():
    """A format the core does not render raises ValueError naming its choices (bot.pages renders the
    Markdown and HTML pages)."""
    with pytest.raises(ValueError, match="text, json"):
        render_batch(SummaryBatch(()), "markdown")
    with pytest.raises(ValueError, match="text, json"):
        render_digest(make_digest(0), "html")
