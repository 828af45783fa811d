"""A channel's taste in chat and on the command line (issue 11): /digest more-like, less-like and taste; pasted papers
and reactions on our cards recorded as signals (once per person, removed with the reaction); `paperboy taste CHANNEL`
and `paperboy digest --channel CHANNEL` against the fake arXiv and LLM."""

from __future__ import annotations

import json

import pytest

from bot.core.questions import PostedCard, ThreadPlace
from bot.core.signals import DISINTEREST, INTEREST
from tests import test_cli
from tests.test_ask import AnswerRecorder
from tests.test_cli import paperboy

env = test_cli.env  # a fixture: the CLI's environment (fake arXiv, arxiv.org and LLM; SQLite)
# Five papers of the corpus about reasoning with reinforcement learning, pasted in the console.
LIKED = ["2505.22653", "2505.22453", "2505.22338", "2505.22334", "2505.22257"]


def say(text: str, user: str = "you"):
    from bot.core.models import IncomingMessage

    return IncomingMessage(platform="console", channel="console", text=text, user=user)


async def signals(store, channel: str = "console") -> list[tuple[str, str, str, int]]:
    return sorted((s.arxiv_id, s.person, s.kind, s.value) for s in await store.channel_signals(channel))


async def test_more_like_and_less_like_record_one_opinion_per_person(chat_stack):
    """more-like records interest for the person in this channel, in one line; less-like on the same paper replaces
    it; a malformed id is refused before anything is recorded."""
    chat, store = chat_stack.chat, chat_stack.store
    reply = AnswerRecorder()
    await chat.handle_message(say("/digest more-like https://arxiv.org/abs/2505.22653v1"), reply)
    assert reply.events == [("text", "Noted: more like arXiv:2505.22653 here.")]
    assert await signals(store) == [("2505.22653", "console", "more-like", INTEREST)]
    await chat.handle_message(say("/digest less-like 2505.22653"), reply)
    assert reply.events[-1] == ("text", "Noted: less like arXiv:2505.22653 here.")
    assert await signals(store) == [("2505.22653", "console", "less-like", DISINTEREST)]
    await chat.handle_message(say("/digest more-like 2505.2265"), reply)
    assert reply.events[-1][1].startswith("/digest more-like: not an arXiv reference: '2505.2265'")
    assert len(await signals(store)) == 1


async def test_more_like_fetches_the_paper_so_the_ranker_can_learn_from_it_and_an_unknown_one_is_told(chat_stack):
    """The paper named is fetched from arXiv (and cached) when it is noted: training reads its title and abstract
    from the store. An id arXiv does not have is one line, and counts for nothing."""
    from bot.core.models import ArxivRef
    from bot.core.summaries import NOT_KNOWN_LATEST

    chat, store = chat_stack.chat, chat_stack.store
    reply = AnswerRecorder()
    assert await store.get_papers([ArxivRef("2505.22453")], fresh_since=NOT_KNOWN_LATEST) == {}
    await chat.handle_message(say("/digest more-like 2505.22453"), reply)
    assert reply.events == [("text", "Noted: more like arXiv:2505.22453 here.")]
    cached = await store.get_papers([ArxivRef("2505.22453")], fresh_since=NOT_KNOWN_LATEST)
    assert [p.arxiv_id for p in cached.values()] == ["2505.22453"] and cached[ArxivRef("2505.22453")].abstract
    await chat.handle_message(say("/digest less-like 2512.99999"), reply)
    (line,) = reply.events[-1][1].splitlines()
    assert line.startswith("arXiv has no paper 2512.99999")
    assert await signals(store) == [("2505.22453", "console", "more-like", INTEREST)]


async def test_a_chat_digest_in_a_channel_without_signals_is_todays_digest_exactly(chat_stack):
    """/digest QUERY in a channel with no signals (another channel has plenty) shows the papers, and leaves out the
    papers, in exactly the order a DigestService without any taste gives."""
    from bot.core.digest import DigestService
    from bot.core.models import DigestRequest

    chat, store = chat_stack.chat, chat_stack.store
    for n, arxiv_id in enumerate(LIKED):
        await chat_stack.taste.record("slack:COTHER", arxiv_id, f"slack:U{n}", source="pasted", kind="pasted",
                                      value=INTEREST)  # fmt: skip
    reply = AnswerRecorder()
    await chat.handle_message(say("/digest cat:cs.CL AND abs:reasoning --max 3"), reply)
    ((_, digest),) = [event for event in reply.events if event[0] == "digest"]
    plain = DigestService(source=chat_stack.clients["arxiv_client"], store=store, summaries=chat_stack.summaries,
                          search_limit=100)  # fmt: skip
    request = DigestRequest(query=digest.query, date=digest.date, days=digest.days, window=digest.window,
                            max_papers=3)  # fmt: skip
    today = await plain.build(request)
    assert len(digest.papers) == 3 and digest.omitted_papers
    assert [p.paper.arxiv_id for p in digest.papers] == [p.paper.arxiv_id for p in today.papers]
    assert [p.arxiv_id for p in digest.omitted_papers] == [p.arxiv_id for p in today.omitted_papers]
    assert all(p.why == "matches: reasoning" for p in digest.papers)


async def test_a_pasted_paper_is_interest_and_taste_says_what_was_learned(chat_stack):
    """Each paper pasted in the console is one interest signal from "console"; /digest taste counts them, and from
    ranking.min_signals (5) on says what the ranker learned."""
    chat, store = chat_stack.chat, chat_stack.store
    reply = AnswerRecorder()
    await chat.handle_message(say("/digest taste"), reply)
    assert reply.events[-1][1].startswith("No signals in console yet")
    await chat.handle_message(say(" ".join(LIKED[:3])), reply)
    assert await signals(store) == sorted((i, "console", "pasted", INTEREST) for i in LIKED[:3])
    await chat.handle_message(say("/digest taste"), reply)
    assert reply.events[-1][1].startswith("Taste of console: 3 signals from 1 person (3 liked, 0 disliked).")
    await chat.handle_message(say(" ".join(LIKED[3:])), reply)
    await chat.handle_message(say("/digest taste"), reply)
    learned = reply.events[-1][1]
    assert learned.startswith("Taste of console: 5 signals") and "Top terms:" in learned and "Anchored on:" in learned


async def test_a_reaction_on_our_card_counts_once_per_person_and_removing_it_removes_it(chat_stack):
    """👍 (Slack's "+1", Discord's character) on a card of ours: an interest signal for its paper in the card's
    channel, one per person and emoji; taking it back forgets it; another emoji, or a message not ours, records
    nothing."""
    chat, store = chat_stack.chat, chat_stack.store
    place = ThreadPlace("slack:C01", "1700000000.000100", "slack:C01")
    await store.record_cards([PostedCard(place, "1700000000.000200", 1, "2505.22653", 1, "The Climb")])
    for _ in range(2):
        await chat.reaction("slack:C01", "1700000000.000200", "slack:U1", "+1", added=True)
    await chat.reaction("slack:C01", "1700000000.000200", "slack:U2", "-1", added=True)
    await chat.reaction("slack:C01", "1700000000.000200", "slack:U3", "tada", added=True)
    await chat.reaction("slack:C01", "1700000000.999999", "slack:U3", "+1", added=True)
    assert await signals(store, "slack:C01") == [
        ("2505.22653", "slack:U1", "+1", INTEREST),
        ("2505.22653", "slack:U2", "-1", DISINTEREST),
    ]
    await chat.reaction("slack:C01", "1700000000.200", "slack:U1", "+1", added=False)  # not ours: nothing
    await chat.reaction("slack:C01", "1700000000.000200", "slack:U1", "+1", added=False)
    assert await signals(store, "slack:C01") == [("2505.22653", "slack:U2", "-1", DISINTEREST)]


# ---- the command line


async def test_taste_and_digest_for_a_channel(env, tmp_path, fake_arxiv):
    """Papers pasted in `paperboy chat` teach the console's taste: `paperboy taste console --format json` counts
    them and names what it learned; `paperboy digest --channel console` ranks by it, each paper saying why."""
    code, out, err = await paperboy("taste", "console", "--format", "json", env=env, cwd=tmp_path)
    assert code == 0, err
    empty = json.loads(out)
    assert (empty["channel"], empty["signals"], empty["learning"]) == ("console", 0, False)
    args = ("digest", "--query", "cat:cs.CL", "--date", "2025-05-28", "--max", "5", "--format", "json")
    code, before, err = await paperboy(*args, env=env, cwd=tmp_path)
    assert code == 0, err

    lines = "".join(f"https://arxiv.org/abs/{i}\n" for i in LIKED)
    code, _, err = await paperboy("chat", env=env, cwd=tmp_path, stdin=lines)
    assert code == 0, err
    code, out, err = await paperboy("taste", "console", "--format", "json", env=env, cwd=tmp_path)
    assert code == 0, err
    taste = json.loads(out)
    assert (taste["signals"], taste["people"], taste["liked"], taste["learning"]) == (5, 1, 5, True)
    assert taste["top_terms"] and {a["arxiv_id"] for a in taste["anchors"]} <= set(LIKED)
    code, out, _ = await paperboy("taste", "console", env=env, cwd=tmp_path)
    assert code == 0 and out.startswith("Taste of console: 5 signals from 1 person")

    code, out, err = await paperboy(*args, "--channel", "console", env=env, cwd=tmp_path)
    assert code == 0, err
    papers = json.loads(out)["papers"]
    assert len(papers) == 5 and all(isinstance(p["score"], float) for p in papers)
    assert any(p["why"] for p in papers)
    # Without --channel, the keyword ranking as before the signals: the same papers, nothing saying why.
    code, after, err = await paperboy(*args, env=env, cwd=tmp_path)
    assert code == 0, err
    assert [(p["arxiv_id"], p["why"], p["score"]) for p in json.loads(after)["papers"]] == [
        (p["arxiv_id"], None, None) for p in json.loads(before)["papers"]
    ]
    assert [p["arxiv_id"] for p in papers] != [p["arxiv_id"] for p in json.loads(before)["papers"]]


@pytest.mark.parametrize("args", [["taste", "slack:not a channel"], ["digest", "--query", "x", "--channel", "irc:1"]])
async def test_a_bad_channel_is_a_usage_error(env, tmp_path, args):
    code, out, err = await paperboy(*args, env=env, cwd=tmp_path)
    assert (code, out) == (2, "")
    (line,) = err.strip().splitlines()
    assert "is not a channel" in line


async def test_embeddings_without_an_endpoint_is_a_configuration_error(env, tmp_path):
    env["PAPERBOY_RANKING__EMBEDDING_MODEL"] = "text-embedding-3-small"
    del env["PAPERBOY_LLM__BASE_URL"], env["OPENAI_API_KEY"]
    code, out, err = await paperboy("taste", "console", env=env, cwd=tmp_path)
    assert (code, out) == (2, "")
    (line,) = err.strip().splitlines()
    assert "ranking.embedding_model needs an endpoint" in line
