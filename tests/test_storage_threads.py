"""SqlStore as ThreadBook, AnswerCache and TasteBook, on SQLite and PostgreSQL: the threads of posted cards and
their questions, answers already given, and a channel's signals and ranker."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from bot.core.questions import DOES_NOT_SAY, Answer, AnswerCitation, PostedCard, ThreadPaper, ThreadPlace, Turn
from bot.core.signals import DISINTEREST, INTEREST, Signal, StoredTaste
from storage.repository import TURNS_KEPT_PER_THREAD
from tests.db import upgraded_store

pytestmark = pytest.mark.both_databases

UTC = dt.UTC
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
T0 = dt.datetime(2025, 5, 30, 12, 0, tzinfo=UTC)
SLACK = ThreadPlace("slack:C0123", "1717.0001", "slack:C0123")
# A Discord digest thread: its own location and key, its parent channel's taste.
DISCORD = ThreadPlace("discord:777", "777", "discord:555")
IDS = ("2505.22653", "2505.11111", "hep-th/9901001")


def card(place: ThreadPlace, message_id: str, position: int, arxiv_id: str, **changes: object) -> PostedCard:
    posted = PostedCard(place, message_id, position, arxiv_id, version=1, title=f"Paper {position}: «{arxiv_id}»")
    return dataclasses.replace(posted, **changes)


def digest(place: ThreadPlace) -> list[PostedCard]:
    """A digest of the three papers, one message each, recorded out of order."""
    return [card(place, f"m{position}", position, IDS[position - 1]) for position in (3, 1, 2)]


def turn(minutes: int, question: str = "What dataset?", person: str = "slack:U1") -> Turn:
    return Turn(
        asked_at=T0 + dt.timedelta(minutes=minutes),
        person=person,
        question=question,
        answer=f"GSM8K ({question})",
        arxiv_ids=(IDS[0],),
    )


def answer(**changes: object) -> Answer:
    given = Answer(
        arxiv_id=IDS[0],
        version=2,
        question="Which dataset, and how big?",
        text='GSM8K: 8.5k "grade-school" problems — <not a tag>.',
        answered=True,
        source_kind="html",
        source_url="https://arxiv.org/html/2505.22653v2",
        citations=(
            AnswerCitation(
                "We use GSM8K (8.5k problems).", "https://arxiv.org/html/2505.22653v2#S4.p2", "4 Data", IDS[0]
            ),
            AnswerCitation("Accuracy rises by $12.5\\%$.", "https://arxiv.org/html/2505.22653v2#S5.p1", "", IDS[0]),
        ),
        generator="llm",
        model="gpt-4o-mini",
        language="fr",
        arxiv_ids=(IDS[0],),
    )
    return dataclasses.replace(given, **changes)


def signal(person: str = "slack:U1", kind: str = "+1", **changes: object) -> Signal:
    given = Signal("slack:C0123", IDS[0], person, "reaction", kind, INTEREST, T0)
    return dataclasses.replace(given, **changes)


# -- ThreadBook


async def test_a_threads_papers_come_by_position_with_their_cards(store) -> None:
    await store.record_cards(digest(SLACK))
    await store.record_cards(digest(DISCORD))
    await store.record_cards([card(dataclasses.replace(SLACK, thread="1717.0002"), "m9", 1, "2501.00001")])
    assert await store.thread_papers(SLACK.location, SLACK.thread) == [
        ThreadPaper(1, IDS[0], 1, "m1", f"Paper 1: «{IDS[0]}»"),
        ThreadPaper(2, IDS[1], 1, "m2", f"Paper 2: «{IDS[1]}»"),
        ThreadPaper(3, IDS[2], 1, "m3", f"Paper 3: «{IDS[2]}»"),
    ]
    assert [p.arxiv_id for p in await store.thread_papers(DISCORD.location, DISCORD.thread)] == list(IDS)
    # Same thread key, other location (another channel's thread): nothing of ours.
    assert await store.thread_papers("slack:C9999", SLACK.thread) == []


async def test_recording_cards_again_changes_nothing(store) -> None:
    """A retry or a resumed digest records its cards again (even twice in one call): the first record stands."""
    await store.record_cards(digest(SLACK))
    before = await store.thread_papers(SLACK.location, SLACK.thread)
    again = card(SLACK, "m1", 7, IDS[0], title="another title", version=3)
    await store.record_cards([*digest(SLACK), again, again])
    await store.record_cards([])
    assert await store.thread_papers(SLACK.location, SLACK.thread) == before


async def test_an_answer_naming_papers_again_keeps_each_paper_at_its_first_card(store) -> None:
    """An answer is recorded with the papers it is about (so a reply to it continues): the thread still has
    each paper once, under its card; the answer's message leads back to the thread and its two papers."""
    await store.record_cards(digest(SLACK))
    await store.record_cards([card(SLACK, "answer1", 3, IDS[2]), card(SLACK, "answer1", 1, IDS[0])])
    papers = await store.thread_papers(SLACK.location, SLACK.thread)
    assert [(p.position, p.message_id) for p in papers] == [(1, "m1"), (2, "m2"), (3, "m3")]
    place, carried = await store.message_papers(SLACK.location, "answer1")
    assert place == SLACK
    assert [(p.position, p.arxiv_id, p.message_id) for p in carried] == [(1, IDS[0], "answer1"), (3, IDS[2], "answer1")]


async def test_a_message_leads_to_its_thread_place_and_papers(store) -> None:
    await store.record_cards(digest(DISCORD))
    found = await store.message_papers(DISCORD.location, "m2")
    assert found == (DISCORD, [ThreadPaper(2, IDS[1], 1, "m2", f"Paper 2: «{IDS[1]}»")])
    assert await store.message_papers(DISCORD.location, "not-ours") is None
    assert await store.message_papers("discord:555", "m2") is None  # the id, in another conversation


async def test_turns_come_back_latest_first_chosen_oldest_first_shown(store) -> None:
    other = dataclasses.replace(SLACK, thread="1717.0002")
    # Out of order, and in another time zone: ordered by the instant.
    for minutes in (5, 1, 3):
        await store.add_turn(SLACK, turn(minutes, f"question at {minutes}"))
    await store.add_turn(SLACK, dataclasses.replace(turn(0), asked_at=(T0 + dt.timedelta(minutes=4)).astimezone(IST)))
    await store.add_turn(other, turn(10, "elsewhere"))
    latest = await store.recent_turns(SLACK.location, SLACK.thread, limit=3)
    assert [t.asked_at for t in latest] == [T0 + dt.timedelta(minutes=m) for m in (3, 4, 5)]
    assert latest[0] == turn(3, "question at 3")
    assert latest[0].asked_at.tzinfo == UTC and latest[0].arxiv_ids == (IDS[0],)
    assert len(await store.recent_turns(SLACK.location, SLACK.thread, limit=10)) == 4
    assert await store.recent_turns(SLACK.location, SLACK.thread, limit=0) == []
    assert await store.recent_turns(other.location, other.thread, limit=10) == [turn(10, "elsewhere")]


async def test_a_turn_added_again_is_kept_once_and_questions_are_counted_by_time(store) -> None:
    for minutes in (0, 30, 61, 61):
        await store.add_turn(SLACK, turn(minutes))
    await store.add_turn(SLACK, turn(61, person="slack:U2"))  # same moment, another person: another question
    assert len(await store.recent_turns(SLACK.location, SLACK.thread, limit=10)) == 4
    assert await store.questions_since(SLACK.location, SLACK.thread, T0 + dt.timedelta(minutes=30)) == 3
    assert await store.questions_since(SLACK.location, SLACK.thread, T0 + dt.timedelta(minutes=62)) == 0
    assert await store.questions_since(DISCORD.location, DISCORD.thread, T0) == 0


async def test_a_thread_keeps_only_its_newest_turns(store) -> None:
    extra = 5
    for minutes in range(TURNS_KEPT_PER_THREAD + extra):
        await store.add_turn(SLACK, turn(minutes, f"q{minutes}"))
    await store.add_turn(DISCORD, turn(0, "untouched"))
    kept = await store.recent_turns(SLACK.location, SLACK.thread, limit=1000)
    assert [t.question for t in kept] == [f"q{m}" for m in range(extra, TURNS_KEPT_PER_THREAD + extra)]
    assert await store.questions_since(SLACK.location, SLACK.thread, T0) == TURNS_KEPT_PER_THREAD
    assert await store.recent_turns(DISCORD.location, DISCORD.thread, limit=10) == [turn(0, "untouched")]


async def test_a_restart_keeps_the_conversation_and_the_cards(db_url) -> None:
    """A new store (a restarted process, another replica) on the same database continues the thread."""
    async with upgraded_store(db_url) as first:
        await first.record_cards(digest(SLACK))
        await first.add_turn(SLACK, turn(1, "What dataset?"))
    async with upgraded_store(db_url) as second:
        assert await second.recent_turns(SLACK.location, SLACK.thread, limit=5) == [turn(1, "What dataset?")]
        assert len(await second.thread_papers(SLACK.location, SLACK.thread)) == 3
        await second.add_turn(SLACK, turn(2, "And on the second dataset?"))
        assert [t.question for t in await second.recent_turns(SLACK.location, SLACK.thread, limit=5)] == [
            "What dataset?",
            "And on the second dataset?",
        ]


# -- AnswerCache


async def test_an_answer_comes_back_whole_and_marked_cached(store) -> None:
    given = answer()
    assert given.cached is False
    assert await store.get_answer("key-1") is None
    await store.save_answer("key-1", given)
    assert await store.get_answer("key-1") == dataclasses.replace(given, cached=True)
    assert await store.get_answer("key-2") is None


async def test_extractive_and_cross_paper_answers_round_trip(store) -> None:
    extractive = answer(text=DOES_NOT_SAY, answered=False, generator="extractive", model=None,
                        note="no LLM configured", citations=(), source_kind="abstract")  # fmt: skip
    across = answer(
        arxiv_id="",
        version=0,
        arxiv_ids=IDS[:2],
        citations=(
            AnswerCitation("uses RL", "https://arxiv.org/html/2505.22653v1#S2.p1", "2 Method", IDS[0]),
            AnswerCitation("no RL here", "https://arxiv.org/abs/2505.11111v1", "", IDS[1]),
        ),
    )
    await store.save_answer("extractive", extractive)
    await store.save_answer("across", across)
    assert await store.get_answer("extractive") == dataclasses.replace(extractive, cached=True)
    read = await store.get_answer("across")
    assert read == dataclasses.replace(across, cached=True)
    assert isinstance(read.citations, tuple) and isinstance(read.arxiv_ids, tuple)


async def test_saving_an_answer_again_replaces_it_and_any_key_length_works(store) -> None:
    long_key = "2505.22653|2|" + "how many parameters? " * 500  # a question of any length
    await store.save_answer(long_key, answer())
    await store.save_answer(long_key, answer(text="Seven billion."))
    await store.save_answer(long_key, answer(text="Seven billion."))
    got = await store.get_answer(long_key)
    assert got is not None and got.text == "Seven billion."
    assert await store.get_answer(long_key + "?") is None
    # Saved from a cached reading: stored as the answer, read back cached as always.
    await store.save_answer("again", answer(cached=True))
    assert await store.get_answer("again") == answer(cached=True)


# -- TasteBook


async def test_a_signal_is_new_once_and_replaced_after(store) -> None:
    assert await store.add_signal(signal()) is True
    assert await store.add_signal(signal()) is False
    changed = signal(value=DISINTEREST, source="command", at=(T0 + dt.timedelta(hours=1)).astimezone(IST))
    assert await store.add_signal(changed) is False
    assert await store.channel_signals("slack:C0123") == [changed]
    assert (await store.channel_signals("slack:C0123"))[0].at.tzinfo == UTC


async def test_signals_are_per_person_and_kind_and_removed_one_by_one(store) -> None:
    assert await store.add_signal(signal(at=T0 + dt.timedelta(minutes=2))) is True
    assert await store.add_signal(signal(kind="star", at=T0 + dt.timedelta(minutes=1))) is True
    assert await store.add_signal(signal(person="slack:U2")) is True
    assert await store.add_signal(signal(channel="discord:555", person="discord:9")) is True
    signals = await store.channel_signals("slack:C0123")
    assert [(s.person, s.kind) for s in signals] == [("slack:U2", "+1"), ("slack:U1", "star"), ("slack:U1", "+1")]
    assert await store.remove_signal("slack:C0123", IDS[0], "slack:U1", "+1") is True
    assert await store.remove_signal("slack:C0123", IDS[0], "slack:U1", "+1") is False
    assert await store.remove_signal("slack:C0123", IDS[1], "slack:U1", "star") is False
    assert [(s.person, s.kind) for s in await store.channel_signals("slack:C0123")] == [
        ("slack:U2", "+1"),
        ("slack:U1", "star"),
    ]
    assert len(await store.channel_signals("discord:555")) == 1
    assert await store.channel_signals("console") == []


async def test_a_channels_ranker_is_stored_and_replaced(store) -> None:
    assert await store.get_taste("slack:C0123") is None
    taste = StoredTaste("slack:C0123", "sha256:abc", 7, T0, '{"terms": ["reasoning"], "weights": [0.5]}')
    await store.save_taste(taste)
    assert await store.get_taste("slack:C0123") == taste
    retrained = dataclasses.replace(taste, signals_key="sha256:def", signal_count=9, trained_at=T0.astimezone(IST),
                                    model_json="{}")  # fmt: skip
    await store.save_taste(retrained)
    assert await store.get_taste("slack:C0123") == retrained
    assert await store.get_taste("discord:555") is None
