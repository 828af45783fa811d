"""Questions in threads and reactions on Slack (issues 10 and 11): answers rendered as blocks, and end to end with the
real slack-bolt app against FakeSlack, answered by the real core (AnswerService reading the fake arXiv site, the
fake LLM answering, a real store): a reply in a card's thread, a digest thread's "#2", a follow-up, a restart,
invented quotes and numbers, hostile text; reactions counted once per person; the missing scope said once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import re
import time
from pathlib import Path

import pytest

from bot.core.faithfulness import normalized
from bot.core.questions import DOES_NOT_SAY, Answer, AnswerCitation
from bot.core.summaries import LLM_FAILED
from handlers.slack.answers import MAX_CITATIONS, QUOTE_CHARS, answer_message
from handlers.slack.platform import slack_unescape
from tests.db import upgraded_store
from tests.fakes.llm_server import INVENTED, answered, history_in, is_question
from tests.fakes.slack_server import BOT_USER_ID, CHANNEL, SCOPES, FakeSlack
from tests.stack import build_stack
from tests.test_cli import READ_PAPERS, page_paragraphs
from tests.test_slack_platform import HOSTILE as HOSTILE_PAPER
from tests.test_slack_platform import headers, running, texts

MANIFEST = Path(__file__).resolve().parent.parent / "slack-manifest.yml"
ANCHOR = "https://arxiv.org/html/2505.22653v1#S4.p2"
HOSTILE = "<!channel> <@U123> <!subteam^S1> @here <https://evil.example|arxiv> see https://evil.example/x &amp;"
LINK = re.compile(r"<([^<>|]*)\|[^<>]*>")  # a live Slack link in mrkdwn
CARD_OF = re.compile(r"\*(\d+)\. <https://arxiv\.org/abs/([\d.]+)v")  # a digest card's title: number, arXiv id
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


def across_papers() -> Answer:
    """An answer across two papers, one quote each (the second without a section)."""
    return answer_of(
        arxiv_id="",
        arxiv_ids=("2505.22653", "2505.22651"),
        citations=(
            AnswerCitation("We use RL.", ANCHOR, "3 Method", "2505.22653"),
            AnswerCitation("No RL here.", "https://arxiv.org/html/2505.22651v1#S2.p1", "", "2505.22651"),
        ),
    )


def test_an_answer_across_papers_names_each_quotes_paper():
    assert markup(answer_message(across_papers()).payload()) == [
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


# ---- end to end: the real bolt app, FakeSlack, the real core over the fake arXiv site and the fake LLM

AVSE = "2508.08468v6"  # tests/data/papers/2508.08468v6.html, served by the fake arXiv site
Q_INSTANCE = "Which edge cloud instance type did they run the AVSE server on?"
Q_PHONE = "And what phone was used as the 5G user equipment?"
QUOTE_BLOCK = re.compile(r">(.*)\n— <([^<>|]+)\|[^<>]*>", re.S)


def quotes_of(post: dict) -> list[tuple[str, str]]:
    """(the quote as it reads, its link) of each block quote in a posted answer."""
    found = []
    for block in post.get("blocks") or []:
        if block["type"] == "section" and (m := QUOTE_BLOCK.fullmatch(block["text"]["text"])):
            found.append((slack_unescape(m[1]).removesuffix("…"), m[2]))
    return found


def shown(fake: FakeSlack) -> str:
    """Everything every posted (and edited) message shows."""
    return "\n".join(t for post in [*fake.posts(), *fake.updated] for t in texts(post))


async def paste(fake: FakeSlack, text: str, **fields) -> str:
    """A message with a link, answered with cards in its thread; the thread's ts, once the work is over (its 👀
    removed: the cards are recorded by then)."""
    payload = fake.message_event(text, **fields)
    await fake.send_envelope("events_api", payload)
    return await done(fake, payload["event"]["ts"], f"the cards for {text!r}")


async def ask(fake: FakeSlack, text: str, thread: str, store) -> dict:
    """A reply in `thread` (no mention); the answer it got there as it reads once the work is over."""
    before = len(fake.posts())
    payload = fake.message_event(text, thread_ts=thread)
    await fake.send_envelope("events_api", payload)
    return await answered_in(fake, thread, before, f"the answer to {text!r}", store)


async def ask_the_bot(fake: FakeSlack, text: str, store) -> tuple[str, dict]:
    """A message to the bot, "@Paperboy TEXT", in the channel: its ts, and the answer in its thread once given."""
    before = len(fake.posts())
    payload = fake.message_event(f"<@{BOT_USER_ID}> {text}")
    await fake.send_envelope("events_api", payload)
    ts = payload["event"]["ts"]
    return ts, await answered_in(fake, ts, before, f"the answer to {text!r}", store)


def as_shown(fake: FakeSlack, post: dict) -> dict:
    """A posted message as it reads now: with its latest chat.update, if any."""
    edits = [u for u in fake.updated if (u["channel"], u["ts"]) == (post["channel"], post["ts"])]
    return {**post, **edits[-1]} if edits else post


def working(post: dict) -> bool:
    return post["text"].startswith("⏳")


async def answered_in(fake: FakeSlack, thread: str, before: int, what: str, store) -> dict:
    """The one message posted in `thread` after the first `before` posts, once it no longer shows progress and it
    is recorded as ours (the last thing done after an answer: its turn is kept by then, for a follow-up)."""

    def posted() -> list[dict]:
        return [as_shown(fake, p) for p in fake.posts()[before:] if p.get("thread_ts") == thread]

    await fake.wait_for(lambda: bool(posted()) and not working(posted()[-1]), timeout=30, what=what)
    (answer,) = posted()
    await settled(lambda: store.message_papers(f"slack:{CHANNEL}", answer["ts"]))
    return answer


async def done(fake: FakeSlack, ts: str, what: str) -> str:
    """Message `ts` was answered: its 👀 shown while working is removed, the last thing the platform does."""
    await fake.wait_for(lambda: ("remove", CHANNEL, ts, "eyes") in fake.reactions, timeout=30, what=what)
    return ts


def thread_titles(fake: FakeSlack) -> list[str]:
    """The card titles posted in threads."""
    return [title for post in fake.posts() if "thread_ts" in post for title in headers(post)]


def asked(llm) -> list[dict]:
    """The LLM requests that were questions (not summaries)."""
    return [call for call in llm.calls if is_question(call)]


async def test_a_reply_in_a_cards_thread_is_answered_there_from_the_paper_and_a_follow_up_sees_it(
    fake_slack, chat_stack, fake_arxiv_site
):
    """No mention needed in our own thread: the answer quotes the paragraph verbatim and links to it. The
    follow-up's LLM request carries the first question. Chatter elsewhere (a reply in someone else's thread, a
    message in the channel) is not a question without the mention, and not even claimed."""
    chat_stack.arxiv.add_papers(READ_PAPERS)
    async with running(fake_slack, chat_stack, "socket", threads=chat_stack.store):
        thread = await paste(fake_slack, f"arXiv:{AVSE}")
        answer = await ask(fake_slack, Q_INSTANCE, thread, chat_stack.store)
        elsewhere = [
            fake_slack.message_event(Q_PHONE, thread_ts="1748460000.000100"),
            fake_slack.message_event(Q_PHONE),
        ]
        for payload in elsewhere:
            await fake_slack.wait_ack(await fake_slack.send_envelope("events_api", payload))
        follow_up = await ask(fake_slack, Q_PHONE, thread, chat_stack.store)
    card, *_ = fake_slack.posts()
    assert len(fake_slack.posts()) == 3 and card["thread_ts"] == thread
    paragraphs = page_paragraphs(fake_arxiv_site.html_url)
    ((quote, link),) = quotes_of(answer)
    page, anchor = link.split("#")
    assert page == f"{fake_arxiv_site.html_url}/{AVSE}" and normalized(quote) in paragraphs[anchor]
    assert "t3.medium" in quote and "t3.medium" in answer["text"]
    assert [LINK.fullmatch(m)[1] for m in markup(answer)] == [link]  # the paragraph's link, no other
    ((phone, _),) = quotes_of(follow_up)
    assert "Pixel 8" in phone
    first, second = asked(chat_stack.llm)
    assert history_in(first) == [] and [q for q, _ in history_in(second)] == [Q_INSTANCE]
    # 👀 on the paste while its card was worked out; the questions showed a progress message instead
    assert [c.args["timestamp"] for c in fake_slack.calls_to("reactions.add")] == [thread]
    for payload in elsewhere:
        assert await chat_stack.store.claim_event(f"slack:{payload['event_id']}")  # never claimed


async def test_an_answer_shows_its_progress_in_the_thread_and_that_message_becomes_the_answer(fake_slack, chat_stack):
    """Like /digest: the first note ("Reading the paper…") is posted in the thread, the later ones edit it, and the
    answer is edited into it (chat.update): one message, never left "working", and no 👀 on the question. With the
    LLM down, the same message ends as the fallback: the closest passages, saying why."""
    chat_stack.arxiv.add_papers(READ_PAPERS)
    async with running(fake_slack, chat_stack, "socket", threads=chat_stack.store):
        thread = await paste(fake_slack, f"arXiv:{AVSE}")
        answer = await ask(fake_slack, Q_INSTANCE, thread, chat_stack.store)
        chat_stack.llm.script({"status": 500}, {"status": 500})  # a second in case the client tries another format
        fallback = await ask(fake_slack, Q_PHONE, thread, chat_stack.store)
    _card, first, second = fake_slack.posts()
    for progress, final in ((first, answer), (second, fallback)):
        assert progress["text"] == "⏳ Reading the paper…" and progress["thread_ts"] == thread
        assert final["ts"] == progress["ts"]  # the progress message became the answer
        edits = [u for u in fake_slack.updated if u["ts"] == progress["ts"]]
        assert edits[-1]["blocks"] == final["blocks"] and all(working(e) for e in edits[:-1])
    assert "t3.medium" in answer["text"] and quotes_of(answer)
    assert fallback["blocks"][0]["text"]["text"].startswith(f"No answer: {LLM_FAILED}") and quotes_of(fallback)
    assert not any(working(as_shown(fake_slack, post)) for post in fake_slack.posts())
    assert [c.args["timestamp"] for c in fake_slack.calls_to("reactions.add")] == [thread]  # the paste's 👀 only


async def test_elsewhere_a_mention_with_a_link_and_a_question_is_answered_in_its_thread(fake_slack, chat_stack):
    """Outside our threads a question needs the @mention: "@Paperboy which ... arXiv:ID?" in the channel is answered
    in the message's thread from the paper (a progress message there while working), not with a card. The same
    question without the mention, a bare link with it, and a remark with it get the card."""
    chat_stack.arxiv.add_papers(READ_PAPERS)
    mention = f"<@{BOT_USER_ID}>"
    async with running(fake_slack, chat_stack, "socket", threads=chat_stack.store):
        ts, answer = await ask_the_bot(fake_slack, f"{Q_INSTANCE.rstrip('?')} in arXiv:{AVSE}?", chat_stack.store)
        for text in (f"{Q_INSTANCE} arXiv:{AVSE}", f"{mention} arXiv:{AVSE}", f"{mention} nice paper arXiv:{AVSE}"):
            await paste(fake_slack, text)
    assert answer["thread_ts"] == ts and "t3.medium" in answer["text"]
    ((_, link),) = quotes_of(answer)
    assert link.endswith(f"/{AVSE}#S5.SS1.p3")
    assert ts not in [c.args["timestamp"] for c in fake_slack.calls_to("reactions.add")]  # progress, not 👀
    assert [len(headers(post)) for post in fake_slack.posts()[1:]] == [1, 1, 1]  # three cards
    assert len(asked(chat_stack.llm)) == 1


async def test_a_reply_in_the_thread_of_an_answer_to_a_mention_is_a_follow_up(fake_slack, chat_stack):
    """The answer to "@Paperboy which ... arXiv:ID?" in the channel makes the message's thread one of ours, about
    that paper: a reply there without the mention is a follow-up, and the LLM is given the first question and
    answer. The answer is recorded as ours, under that thread."""
    chat_stack.arxiv.add_papers(READ_PAPERS)
    asked_first = f"{Q_INSTANCE.rstrip('?')} in arXiv:{AVSE}?"
    async with running(fake_slack, chat_stack, "socket", threads=chat_stack.store):
        ts, first = await ask_the_bot(fake_slack, asked_first, chat_stack.store)
        follow_up = await ask(fake_slack, Q_PHONE, ts, chat_stack.store)
    place, papers = await chat_stack.store.message_papers(f"slack:{CHANNEL}", first["ts"])
    assert (place.thread, [p.arxiv_id for p in papers]) == (ts, [AVSE.split("v")[0]])
    assert "t3.medium" in first["text"] and "Pixel 8" in follow_up["text"]
    earlier, later = asked(chat_stack.llm)
    assert history_in(earlier) == [] and [q for q, _ in history_in(later)] == [asked_first]


async def test_a_question_in_a_digest_thread_picks_the_paper_by_its_number(fake_slack, chat_stack):
    """/digest posts three cards in its thread, each recorded under it with its number; "#2 ..." there is answered
    from paper 2 (the LLM sees only its passages; the quote links to it)."""
    async with running(fake_slack, chat_stack, "socket", threads=chat_stack.store):
        await fake_slack.send_envelope("slash_commands", fake_slack.command("cat:cs.CL --max 3"))
        await fake_slack.wait_for(lambda: len(thread_titles(fake_slack)) == 3, 30, "the digest's cards")
        (parent,) = [p for p in fake_slack.posts() if "thread_ts" not in p]

        async def recorded() -> list:
            return await chat_stack.store.thread_papers(f"slack:{CHANNEL}", parent["ts"])

        await settled(lambda: _count(recorded, 3))  # recorded once Slack gave each card's ts
        papers = await recorded()
        assert [p.position for p in papers] == [1, 2, 3]
        cards = [p for p in fake_slack.posts() if p.get("thread_ts") == parent["ts"]]
        assert {p.message_id for p in papers} <= {c["ts"] for c in cards}
        second = papers[1]
        answer = await ask(fake_slack, f"#2 what about {second.title}?", parent["ts"], chat_stack.store)
    ((_, link),) = quotes_of(answer)
    assert second.arxiv_id in link and not any(p.arxiv_id in link for p in (papers[0], papers[2]))
    (request,) = asked(chat_stack.llm)
    assert second.title.split(":")[0] in json.dumps(request)
    assert not any(p.title.split(":")[0] in json.dumps(request) for p in (papers[0], papers[2]))


@pytest.mark.both_databases
async def test_a_restart_between_two_questions_keeps_the_conversation(fake_slack, chat_stack, db_url):
    """The first question is answered, the bot stops; a new process (a new store on the same database, a new
    ChatBot and platform) takes the follow-up in the same thread as a question and gives the LLM the first turn."""
    chat_stack.arxiv.add_papers(READ_PAPERS)
    async with running(fake_slack, chat_stack, "socket", threads=chat_stack.store):
        thread = await paste(fake_slack, f"arXiv:{AVSE}")
        first = await ask(fake_slack, Q_INSTANCE, thread, chat_stack.store)
    async with upgraded_store(db_url) as store:
        chat, *_ = build_stack(**{**chat_stack.clients, "store": store})
        restarted = dataclasses.replace(chat_stack, chat=chat, store=store)
        async with running(fake_slack, restarted, "socket", threads=store):
            follow_up = await ask(fake_slack, Q_PHONE, thread, store)
    assert "t3.medium" in first["text"] and "Pixel 8" in follow_up["text"]
    earlier, later = asked(chat_stack.llm)
    assert history_in(earlier) == [] and [q for q, _ in history_in(later)] == [Q_INSTANCE]
    assert fake_slack.connections == 2


async def test_an_invented_quote_or_number_never_reaches_slack(fake_slack, chat_stack, fake_arxiv_site):
    """The LLM misquotes twice (asked again once): the thread reads "The paper does not say" with the closest
    passages, each verbatim. It invents a number twice: the number is nowhere in Slack."""
    chat_stack.arxiv.add_papers(READ_PAPERS)
    paragraphs = page_paragraphs(fake_arxiv_site.html_url)
    async with running(fake_slack, chat_stack, "socket", threads=chat_stack.store):
        thread = await paste(fake_slack, f"arXiv:{AVSE}")
        chat_stack.llm.script(answered(misquote=True), answered(misquote=True))
        misquoted = await ask(fake_slack, Q_INSTANCE, thread, chat_stack.store)
        chat_stack.llm.script(answered(invent=True), answered(invent=True))
        invented = await ask(fake_slack, Q_PHONE, thread, chat_stack.store)
    for answer in (misquoted, invented):
        assert answer["blocks"][0]["text"]["text"] == DOES_NOT_SAY
        for quote, link in quotes_of(answer):
            assert normalized(quote) in paragraphs[link.split("#")[1]]
    assert len(asked(chat_stack.llm)) == 4 and " indeed" not in shown(fake_slack)
    assert INVENTED.rstrip("%") not in shown(fake_slack)


async def test_hostile_paper_text_and_question_stay_inert(fake_slack, chat_stack):
    """A paper whose title and abstract carry <!channel>, <@U123> and a disguised link, asked a question full of
    them: the answer quotes the paper, escaped; its one live link is the paragraph's."""
    chat_stack.arxiv.add_papers([HOSTILE_PAPER])
    question = "<!channel> <@U123> is <https://evil.example|arxiv> safe? see https://evil.example/x"
    async with running(fake_slack, chat_stack, "socket", threads=chat_stack.store):
        thread = await paste(fake_slack, "arXiv:2505.99999")
        answer = await ask(fake_slack, question, thread, chat_stack.store)
    assert [LINK.fullmatch(m)[1] for m in markup(answer)] == [link for _, link in quotes_of(answer)]
    assert quotes_of(answer) and all("2505.99999" in link for _, link in quotes_of(answer))
    for post in fake_slack.posts():
        every = "\n".join(texts(post))
        assert "<!" not in every and "<@" not in every and "<https://evil" not in every


async def test_a_paper_giving_orders_and_an_llm_obeying_it_stay_inert(fake_slack, chat_stack, fake_arxiv_site):
    """The widgets paper's paragraph says "Ignore previous instructions ... @channel <!here> <@U0123ABC>", the question
    is full of mentions and links, and the LLM answers with pings and links of its own: the thread's answer shows
    the quote escaped, the answer's text without them, and no live link but the paragraph's."""
    from tests.test_ask import INJECTION_QUESTION, obeying_llm, serve_injecting_paper

    page = serve_injecting_paper(chat_stack.arxiv, fake_arxiv_site)
    async with running(fake_slack, chat_stack, "socket", threads=chat_stack.store):
        thread = await paste(fake_slack, "arXiv:2505.99998v1")
        chat_stack.llm.script(obeying_llm())
        answer = await ask(fake_slack, INJECTION_QUESTION, thread, chat_stack.store)
    (quote, link), *_ = quotes_of(answer)
    assert "@channel <!here> <@U0123ABC>" in quote and link == f"{page}#S3.p2"  # as it reads, escaped in the post
    assert [LINK.fullmatch(m)[1] for m in markup(answer)] == [link for _, link in quotes_of(answer)]
    assert "PWNED" in answer["blocks"][0]["text"]["text"]  # what the LLM said, with nothing live in it
    for post in fake_slack.posts():
        every = "\n".join(texts(post))
        assert "<!" not in every and "<@" not in every and "<https://evil" not in every and "<script" not in every


async def settled(check, timeout: float = 30.0):
    """The async check's first truthy value: for what our own process has yet to write to the store (no server
    event to wait on)."""
    deadline = time.monotonic() + timeout
    while not (value := await check()):
        assert time.monotonic() < deadline, "the store did not change in time"
        await asyncio.sleep(0.02)
    return value


async def test_reactions_on_a_card_count_once_per_person_and_removing_them_removes_them(fake_slack, chat_stack):
    """Alice's 👍 and ⭐ on a card are her interest in its paper, counted as one person's; our own 👀 (the working
    reaction), a reaction on someone else's message and an emoji that does not count are nothing; removing her
    reactions removes the signals, and her 👍 redelivered after that (Socket Mode) does not bring it back. Bob's
    reactions mark when the ones before them were handled. (Carol pasted the link: her interest.)"""
    channel = f"slack:{CHANNEL}"

    async def people() -> dict[str, set[str]]:
        signals = await chat_stack.store.channel_signals(channel)
        return {person: {s.kind for s in signals if s.person == person} for person in {s.person for s in signals}}

    async def bob_reacted() -> bool:
        return "slack:U0BOB00001" in await people()

    async def react(*events: dict) -> None:
        for payload in events:
            await fake_slack.wait_ack(await fake_slack.send_envelope("events_api", payload))

    async with running(fake_slack, chat_stack, "socket", threads=chat_stack.store):
        await paste(fake_slack, "arXiv:2505.22653", user="U0CAROL01")
        card = fake_slack.posts()[0]["ts"]
        thumbs = fake_slack.reaction_event("+1", card)
        await react(
            thumbs,
            fake_slack.reaction_event("star", card),
            fake_slack.reaction_event("eyes", card, user=BOT_USER_ID),
            fake_slack.reaction_event("+1", "1748460000.000100", item_user="U0BOB00001"),
            fake_slack.reaction_event("tada", card),
            fake_slack.reaction_event("+1", card, user="U0BOB00001"),
        )
        await settled(bob_reacted)
        assert await people() == {
            "slack:U0CAROL01": {"pasted"}, "slack:U0ALICE01": {"+1", "star"}, "slack:U0BOB00001": {"+1"}
        }  # fmt: skip
        signals = await chat_stack.store.channel_signals(channel)
        assert {s.arxiv_id for s in signals} == {"2505.22653"} and len(signals) == 4
        taste = await chat_stack.taste.report(channel)
        assert (taste.signals, taste.people, taste.liked) == (3, 3, 1)  # one paper, three people's opinions of it
        await react(
            fake_slack.reaction_event("+1", card, added=False),
            fake_slack.reaction_event("star", card, added=False),
            thumbs,  # redelivered
            fake_slack.reaction_event("+1", card, added=False, user="U0BOB00001"),
        )
        await settled(lambda: _not(bob_reacted))
        assert await people() == {"slack:U0CAROL01": {"pasted"}}


async def _not(check) -> bool:
    return not await check()


async def _count(items, n: int) -> bool:
    return len(await items()) == n


LIKED = "2505.22648"  # WebDancer: Towards Autonomous Information Seeking Agency
SIMILAR = "2505.22501"  # EvolveSearch: An Iterative Self-Evolving Search Agent (older: not in the 3 newest)


async def digest_cards(fake: FakeSlack, text: str) -> dict[str, list[str]]:
    """/digest TEXT; each card its thread shows, by arXiv id: the texts of its blocks (title first), in order."""
    before = len(fake.posts())
    await fake.send_envelope("slash_commands", fake.command(text))
    await fake.wait_for(lambda: len(fake.posts()) > before, 30, "the /digest progress message")
    parent = fake.posts()[before]["ts"]

    def thread() -> list[dict]:
        return [p for p in fake.posts() if p.get("thread_ts") == parent]

    await fake.wait_for(lambda: sum(len(headers(p)) for p in thread()) == 3, 60, "the digest's three cards")
    cards: dict[str, list[str]] = {}
    for block in (block for post in thread() for block in post["blocks"]):
        text = block["text"]["text"] if "text" in block else " ".join(e["text"] for e in block.get("elements", [])
                                                                      if isinstance(e.get("text"), str))  # fmt: skip
        if title := CARD_OF.match(text):
            cards[title[2]] = []
        if cards:
            cards[next(reversed(cards))].append(text)
    return cards


async def test_reactions_bring_a_similar_paper_into_the_next_digest_saying_why(fake_slack, chat_stack):
    """A paper pasted here and 👍'd by four more people (five opinions: enough to learn from): the next /digest in
    this channel has a similar paper it did not have before, and its card says why, naming the liked paper."""
    channel = f"slack:{CHANNEL}"

    async def five_opinions() -> bool:
        return (await chat_stack.taste.report(channel)).signals == 5

    async with running(fake_slack, chat_stack, "socket", threads=chat_stack.store):
        before = await digest_cards(fake_slack, "cat:cs.CL --max 3")
        assert SIMILAR not in before  # by keywords and recency: not among the top 3
        await paste(fake_slack, f"arXiv:{LIKED}")
        card = fake_slack.posts()[-1]["ts"]
        for person in range(4):
            payload = fake_slack.reaction_event("+1", card, user=f"U0FAN0000{person}")
            await fake_slack.wait_ack(await fake_slack.send_envelope("events_api", payload))
        await settled(five_opinions)
        after = await digest_cards(fake_slack, "cat:cs.CL --max 3")
    why = [line for line in after[SIMILAR] if line.startswith("_like ")]
    assert why and "WebDancer" in why[0]  # like the paper people here liked, named
