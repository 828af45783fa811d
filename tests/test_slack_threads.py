"""Questions in threads and reactions on Slack (issues 10 and 11): answers rendered as blocks, and end to end with the
real slack-bolt app against FakeSlack, answered by the real core (AnswerService reading the fake arXiv site, the
fake LLM answering, a real store): a reply in a card's thread, a digest thread's "#2", a follow-up, a restart,
invented quotes and numbers, hostile text; reactions counted once per person; the missing scope said once.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from bot.core.questions import DOES_NOT_SAY, Answer, AnswerCitation
from handlers.slack.answers import MAX_CITATIONS, QUOTE_CHARS, answer_message
from tests.fakes.slack_server import SCOPES, FakeSlack
from tests.test_slack_platform import running, texts

MANIFEST = Path(__file__).resolve().parent.parent / "slack-manifest.yml"
ANCHOR = "https://arxiv.org/html/2505.22653v1#S4.p2"
HOSTILE = "<!channel> <@U123> <!subteam^S1> @here <https://evil.example|arxiv> see https://evil.example/x &amp;"
LINK = re.compile(r"<([^<>|]*)\|[^<>]*>")  # a live Slack link in mrkdwn
MARKUP = re.compile(r"<[^>]*>")  # anything Slack would read as a mention, command or link


def answer_of(text: str = "They train on MATH.", *, citations=None, **changes) -> Answer:
    fields = dict(
        arxiv_id="2505.22653",
        version=1,
        question="what dataset?",
        text=text,
        answered=True,
        source_kind="html",
        source_url="https://arxiv.org/html/2505.22653v1",
        citations=(AnswerCitation("We train on the MATH dataset.", ANCHOR, "4 Experiments", "2505.22653"),)
        if citations is None
        else citations,
        generator="llm",
        model="fake-model",
        language="en",
        arxiv_ids=("2505.22653",),
    )
    return Answer(**{**fields, **changes})  # type: ignore[arg-type]


def markup(payload: dict) -> list[str]:
    return [m for text in texts(payload) for m in MARKUP.findall(text)]


# ---- rendering (pure)


def test_answer_is_text_then_each_quote_linked_to_its_paragraph_then_the_footer():
    payload = answer_message(answer_of()).payload()
    assert payload["text"] == "They train on MATH."
    answer, quote, footer = payload["blocks"]
    assert answer["text"]["text"] == "They train on MATH." and answer["text"]["verbatim"] is True
    assert quote["text"]["text"] == f">We train on the MATH dataset.\n— <{ANCHOR}|4 Experiments>"
    assert footer["type"] == "context" and "fake-model" in footer["elements"][0]["text"]
    assert markup(payload) == [f"<{ANCHOR}|4 Experiments>"]


def test_hostile_answer_and_quotes_are_inert_and_only_paragraph_links_are_live():
    """Mentions, disguised links and bare URLs in the answer, its quotes and their sections are escaped or
    shown in code spans; the one live link is the paragraph's, built from anchor_url."""
    hostile = answer_of(HOSTILE, citations=(AnswerCitation(HOSTILE, ANCHOR, HOSTILE, "2505.22653"),))
    payload = answer_message(hostile).payload()
    assert [LINK.fullmatch(m)[1] for m in markup(payload)] == [ANCHOR]
    shown = "\n".join(texts(payload))
    assert "&lt;!channel&gt;" in shown and "`https://evil.example/x`" in shown
    assert "<!" not in shown and "<@" not in shown and "<https://evil" not in shown


def test_a_citation_url_that_breaks_out_of_slack_link_syntax_gets_no_link():
    for bad in ["javascript:alert(1)", "https://arxiv.org/a b", "https://a|<!channel>", "https://a>x", ""]:
        payload = answer_message(answer_of(citations=(AnswerCitation("a quote", bad, "", "2505.22653"),))).payload()
        assert markup(payload) == [], bad
        assert payload["blocks"][1]["text"]["text"] == ">a quote\n— the paragraph"


def test_does_not_say_shows_the_closest_passages_cut_and_says_why():
    long = "word " * 200
    closest = tuple(AnswerCitation(f"passage {i} {long}", ANCHOR, "2 Method", "2505.22653") for i in range(12))
    extractive = answer_of(DOES_NOT_SAY, answered=False, citations=closest, generator="extractive", model=None,
                           note="over today's token budget")  # fmt: skip
    blocks = answer_message(extractive).payload()["blocks"]
    assert blocks[0]["text"]["text"] == DOES_NOT_SAY and "closest passages" in blocks[1]["elements"][0]["text"]
    quotes = [b["text"]["text"] for b in blocks if b["type"] == "section" and b["text"]["text"].startswith(">")]
    assert len(quotes) == MAX_CITATIONS
    assert all(len(q.split("\n")[0]) <= QUOTE_CHARS + 1 and q.split("\n")[0].endswith("…") for q in quotes)
    assert "over today's token budget" in blocks[-1]["elements"][0]["text"]


def test_an_answer_across_papers_names_each_quotes_paper():
    across = answer_of(
        arxiv_id="",
        arxiv_ids=("2505.22653", "2505.22651"),
        citations=(
            AnswerCitation("We use RL.", ANCHOR, "3 Method", "2505.22653"),
            AnswerCitation("No RL here.", "https://arxiv.org/html/2505.22651v1#S2.p1", "", "2505.22651"),
        ),
    )
    assert markup(answer_message(across).payload()) == [
        f"<{ANCHOR}|arXiv:2505.22653 · 3 Method>",
        "<https://arxiv.org/html/2505.22651v1#S2.p1|arXiv:2505.22651>",
    ]


# ---- the manifest and the scope


def _manifest_list(key: str) -> set[str]:
    """The items of a list in slack-manifest.yml (a YAML subset: `key:` then `- item # comment` lines)."""
    lines = MANIFEST.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{key}:")
    items: set[str] = set()
    for line in lines[start + 1 :]:
        if line.strip().startswith("#"):
            continue
        if not line.strip().startswith("- "):
            break
        items.add(line.strip()[2:].split("#")[0].strip())
    return items


def test_the_manifest_asks_for_reactions_and_the_fake_grants_what_it_asks():
    assert {"reactions:read", "reactions:write"} <= _manifest_list("bot")
    assert {"reaction_added", "reaction_removed", "message.channels"} <= _manifest_list("bot_events")
    assert set(SCOPES) == _manifest_list("bot")


async def test_a_token_without_reactions_read_is_said_once_at_start_and_the_bot_works(caplog):
    caplog.set_level(logging.INFO, logger="handlers.slack")
    async with FakeSlack(scopes=tuple(s for s in SCOPES if s != "reactions:read")) as fake:
        async with running(fake, None, "socket") as platform:
            assert platform.is_connected()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "reactions:read" in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage()
    caplog.clear()
    async with FakeSlack() as fake:
        async with running(fake, None, "socket"):
            pass
    assert [r for r in caplog.records if "reactions:read" in r.getMessage()] == []
