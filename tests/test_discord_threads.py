"""Questions and reactions on Discord (issues 10 and 11): answers rendered as embeds, and end to end with the real
discord.py client against FakeDiscord, answered by the real core (AnswerService over the fake arXiv site and the
fake LLM, a real store): a reply to a card, a digest thread's "#2", a follow-up, invented quotes and numbers,
hostile text, reactions counted once per person.
"""

from __future__ import annotations

import json
import logging
import re

import pytest

from bot.core.questions import DOES_NOT_SAY, AnswerCitation, ThreadPlace
from bot.core.render import answer_footer
from handlers.discord.answers import MAX_CITATIONS, QUOTE_CHARS, answer_embed, answer_message, paragraph_link
from handlers.discord.embeds import escape, fit
from handlers.discord.platform import default_intents
from tests.fakes.discord_server import (
    BOT_ID,
    CHANNEL_ID,
    EPHEMERAL,
    GUILD_MESSAGE_REACTIONS,
    PLAIN_CHANNEL_ID,
    USER_ID,
    Call,
    FakeDiscord,
    embed_length,
    schema_errors,
)
from tests.fakes.llm_server import (
    INVENTED,
    answered,
    history_in,
    is_question,
    prompt_of,
    question_in,
    question_passages_in,
)
from tests.stack import build_chat
from tests.test_cli import READ_PAPERS
from tests.test_discord_embeds import (
    HOSTILE,
    PINGS,
    assert_valid,
    digest_of,
    outside_code_spans,
    unescaped_markdown,
)
from tests.test_discord_platform import (
    HOSTILE as HOSTILE_PAPER,
)
from tests.test_discord_platform import (
    MESSAGES,
    MemoryEvents,
    NoChat,
    all_strings,
    card_numbers,
    final_answer,
    platform_for,
    public,
)
from tests.test_slack_threads import ANCHOR, answer_of, settled  # the same answers, rendered for Slack there

MARKDOWN_LINK = re.compile(r"(?<!\\)\[(?:[^\]\\]|\\.)*\]\(([^)]*)\)")  # [label](url), brackets unescaped


def live_links(embed: dict) -> list[str]:
    """Every markdown link's URL in the embed's text, outside code spans (where Discord shows it as text)."""
    texts = [embed.get("description", ""), *(f["value"] for f in embed.get("fields", []))]
    return [m.group(1) for text in texts for m in MARKDOWN_LINK.finditer(outside_code_spans(text))]


# ---- rendering (pure)


def test_answer_is_text_then_each_quote_linked_to_its_paragraph_then_the_footer():
    out = answer_message(answer_of())
    assert_valid(out)
    (embed,) = [e.to_dict() for e in out.embeds]
    assert embed["description"] == "They train on MATH."
    (field,) = embed["fields"]
    assert field["name"] == "4 Experiments"
    assert field["value"] == f"> We train on the MATH dataset.\n[in the paper]({ANCHOR})"
    assert embed["footer"]["text"] == answer_footer(answer_of())  # the footer every surface shows
    assert "fake-model" in embed["footer"]["text"] and "from the full text (HTML)" in embed["footer"]["text"]
    assert live_links(embed) == [ANCHOR]


def test_hostile_answer_and_quotes_are_inert_and_only_paragraph_links_are_live():
    """Mentions, masked links, bare URLs, fences and spoilers in the answer and its quotes are shown literally;
    the one live link is the one Paperboy built (anchor_url)."""
    hostile = answer_of(
        HOSTILE + " see https://evil.example/x",
        citations=(AnswerCitation(HOSTILE, ANCHOR, "<@1234567890123456789> @here", "2505.22653"),),
    )
    embed = answer_embed(hostile).to_dict()
    texts = [embed["description"], *(f["name"] for f in embed["fields"]), *(f["value"] for f in embed["fields"])]
    for text in texts:
        assert not PINGS.search(text), text
        assert "\u200b" not in text.replace("@\u200b", "") and "\u202e" not in text
    assert "`https://evil.example/x`" in embed["description"]  # inert, in a code span
    assert live_links(embed) == [ANCHOR]
    quote = embed["fields"][0]["value"].removeprefix("> ").replace(f"[in the paper]({ANCHOR})", "")
    assert unescaped_markdown(outside_code_spans(quote)) == []
    assert schema_errors("RichEmbed", embed) == []


def test_markdown_inside_an_autolink_like_run_is_escaped_too():
    """discord.py's escape_markdown leaves `<x:/y>` as it is (it takes it for a link): a quote holding one must not
    open a spoiler or a code block."""
    for text in ["<||secret:/x||>", "<```://>", "see <*a*:/b> and `c`"]:
        embed = answer_embed(answer_of(text, citations=(AnswerCitation(text, ANCHOR, "", "2505.22653"),))).to_dict()
        quote = embed["fields"][0]["value"].removeprefix("> ").replace(f"[in the paper]({ANCHOR})", "")
        assert unescaped_markdown(embed["description"]) == [] and unescaped_markdown(quote) == []


def test_a_citation_url_that_is_not_one_http_url_gets_no_link():
    for bad in ["javascript:alert(1)", "https://arxiv.org/a b", "ftp://arxiv.org/1#S1", "https://a](https://b", ""]:
        assert paragraph_link(bad) is None
        embed = answer_embed(answer_of(citations=(AnswerCitation("a quote", bad, "", "2505.22653"),))).to_dict()
        assert live_links(embed) == [] and embed["fields"][0]["value"] == "> a quote"
    # A parenthesis cannot close the markdown link early.
    assert (
        paragraph_link("https://arxiv.org/html/2505.22653v1#S1.(x)") == "https://arxiv.org/html/2505.22653v1#S1.%28x%29"
    )


def test_does_not_say_shows_the_closest_passages_and_why():
    closest = tuple(AnswerCitation(f"passage {i} " + "word " * 200, ANCHOR, "2 Method", "2505.22653") for i in range(9))
    extractive = answer_of(DOES_NOT_SAY, answered=False, citations=closest, generator="extractive", model=None,
                           note="over today's token budget")  # fmt: skip
    out = answer_message(extractive)
    assert_valid(out)
    embed = out.embeds[0].to_dict()
    assert embed["description"].startswith("The paper does not say.") and "closest passages" in embed["description"]
    assert len(embed["fields"]) == MAX_CITATIONS and all(len(f["value"]) <= 1024 for f in embed["fields"])
    assert embed["footer"]["text"] == answer_footer(extractive) and "over today's token budget" in answer_footer(
        extractive
    )
    assert embed_length(embed) <= 6000


def test_an_answer_across_papers_names_each_quotes_paper():
    across = answer_of(
        arxiv_id="",
        arxiv_ids=("2505.22653", "2505.22651"),
        citations=(
            AnswerCitation("We use RL.", ANCHOR, "3 Method", "2505.22653"),
            AnswerCitation("No RL here.", "https://arxiv.org/html/2505.22651v1#S2.p1", "", "2505.22651"),
        ),
    )
    names = [f["name"] for f in answer_embed(across).to_dict()["fields"]]
    assert names == ["arXiv:2505.22653 · 3 Method", "arXiv:2505.22651"]


# ---- the guild message reactions intent


async def test_without_the_reactions_intent_the_log_says_so_once_and_posting_works(fake_discord, caplog):
    """Intents without guild reactions: identified without the bit, one warning line naming the intent, Discord
    sends no reaction events, and the bot still posts."""
    caplog.set_level(logging.INFO, logger="handlers.discord")
    intents = default_intents()
    intents.guild_reactions = False
    platform = platform_for(fake_discord, chat=NoChat(), events=MemoryEvents(), intents=intents)
    await platform.start()
    try:
        assert not fake_discord.identifies[0]["intents"] & GUILD_MESSAGE_REACTIONS
        ids = await platform.publisher.post_digest(str(CHANNEL_ID), digest_of(2))
        assert len(ids) == 3 and not await fake_discord.react(ids[1], "👍")
    finally:
        await platform.stop()
    assert caplog.text.count("the guild message reactions intent is off") == 1
    assert fake_discord.schema_errors == []


class BrokenBook:
    """A ThreadBook with a bug: recording cards raises what no database outage would."""

    async def record_cards(self, cards) -> None:
        raise RuntimeError("a bug in recording cards")


async def test_a_digest_whose_cards_cannot_be_recorded_is_still_posted_whole(fake_discord, caplog):
    """Recording cards is a courtesy (as on Slack): an unexpected error there is logged, and the digest goes on;
    raised, it would stop the post after a card was sent but before it was noted as sent, to be sent again."""
    platform = platform_for(fake_discord, chat=NoChat(), events=MemoryEvents(), threads=BrokenBook())
    await platform.start()
    try:
        sent = []

        async def on_sent(message_id: str) -> None:
            sent.append(message_id)

        ids = await platform.publisher.post_digest(str(CHANNEL_ID), digest_of(2), on_sent=on_sent)
    finally:
        await platform.stop()
    assert len(ids) == 3 and sent == ids
    assert "could not record" in caplog.text and "a bug in recording cards" in caplog.text


# ---- end to end: the real client, FakeDiscord, the real core


@pytest.fixture
async def bot(fake_discord, chat_stack):
    """The platform on FakeDiscord, its cards recorded in the store, answered by the real core."""
    platform = platform_for(fake_discord, chat=chat_stack.chat, events=chat_stack.store, threads=chat_stack.store)
    await platform.start()
    yield platform
    await platform.stop()
    assert fake_discord.schema_errors == []


def questions_asked(llm) -> list[dict]:
    """The requests the fake LLM got that were questions (not summaries), in order."""
    return [body for body in llm.calls if is_question(body)]


async def reply_to(fake: FakeDiscord, message: dict, timeout: float = 60) -> Call:
    """The bot's (first) reply to `message`, once Discord accepted it."""

    def found() -> Call | None:
        replies = (c for c in fake.find("POST", MESSAGES, ok=True) if c.body.get("message_reference"))
        return next((c for c in replies if str(c.body["message_reference"]["message_id"]) == message["id"]), None)

    return await fake.wait_for(found, timeout)


async def recorded(store, channel_id: int | str, message_id: str):
    """The thread and papers a message of ours was recorded under, once it is (just after it was posted; a person
    replying or reacting takes longer than that)."""
    return await settled(lambda: store.message_papers(f"discord:{channel_id}", message_id))


def discord_text(fake: FakeDiscord) -> str:
    """Everything the bot sent to Discord, as one string."""
    return "\n".join(json.dumps(c.body, ensure_ascii=False) for c in fake.calls if c.body)


async def card_reply(fake: FakeDiscord, text: str) -> tuple[dict, Call]:
    message = await fake.send_message(text)
    return message, await reply_to(fake, message)


async def recorded_card(fake: FakeDiscord, text: str, store) -> Call:
    """The card replying to a pasted link, once it is recorded as ours: a reply to it is then a question (a person
    takes longer than the bot's write after the post; a test must wait for it)."""
    _, card = await card_reply(fake, text)
    await recorded(store, CHANNEL_ID, card.response["id"])
    return card


INSTANCE = "Which edge cloud instance type did they run the AVSE server on?"  # tests/data/questions.json
PHONE = "and which phone was the user equipment?"


async def test_a_reply_to_a_card_is_answered_in_a_reply_quoting_the_paper(
    bot, fake_discord, chat_stack, fake_arxiv_site
):
    """Paste a link, reply to its card with a question: typing, then a reply to the question with the answer, its
    quote verbatim from the paper and linked to that paragraph, pinging nobody; the answer is recorded under the
    card's thread, so a reply to it continues the conversation."""
    chat_stack.arxiv.add_papers(READ_PAPERS)
    card = await recorded_card(fake_discord, "https://arxiv.org/abs/2508.08468v6", chat_stack.store)
    card_id = card.response["id"]
    question = await fake_discord.send_message(INSTANCE, reply_to=card_id)
    answer = await reply_to(fake_discord, question)
    assert answer.path == f"/channels/{CHANNEL_ID}/messages"
    assert answer.body["allowed_mentions"] == {"parse": [], "replied_user": False}
    typing = fake_discord.find("POST", rf"/channels/{CHANNEL_ID}/typing")
    assert len(typing) == 2 and card.at < typing[1].at < answer.at  # progress while it was worked out
    (request,) = questions_asked(chat_stack.llm)
    (cited,) = json.loads(answered()(request))["citations"]  # what the fake LLM answered
    assert cited["quote"] in dict(question_passages_in(request))[cited["passage"]]  # verbatim in the paper
    (embed,) = answer.body["embeds"]
    assert embed["description"].startswith("According to the paper")
    assert embed["fields"][0]["value"].startswith(f"> {fit(cited['quote'], QUOTE_CHARS)}")
    assert live_links(embed) == [f"{fake_arxiv_site.html_url}/2508.08468v6#{cited['passage']}"]
    # Recorded just after it was posted: a reply to it is a follow-up about the same paper.
    place, papers = await recorded(chat_stack.store, CHANNEL_ID, answer.response["id"])
    assert place.thread == card_id and [p.arxiv_id for p in papers] == ["2508.08468"]


async def test_elsewhere_a_mention_with_a_link_and_a_question_is_answered_in_a_reply(bot, fake_discord, chat_stack):
    """Outside our threads a question needs the @mention: "@Paperboy which ... ID?" gets the answer in a reply
    (typing first), not a card; the same without the mention gets the card."""
    chat_stack.arxiv.add_papers(READ_PAPERS)
    question = f"<@{BOT_ID}> {INSTANCE.rstrip('?')} in arXiv:2508.08468v6?"
    message = await fake_discord.send_message(question, mention_bot=True)
    answer = await reply_to(fake_discord, message)
    (embed,) = answer.body["embeds"]
    assert "t3.medium" in embed["description"] and embed["fields"], embed
    assert all("/2508.08468v6#S" in link for link in live_links(embed)) and live_links(embed)
    (typing,) = fake_discord.find("POST", rf"/channels/{CHANNEL_ID}/typing")
    assert typing.at < answer.at
    _, card = await card_reply(fake_discord, f"{INSTANCE} arXiv:2508.08468v6")
    assert card.body["embeds"][0]["title"].startswith("Cloud-Edge Audio-Visual Speech Enhancement")
    assert len(questions_asked(chat_stack.llm)) == 1


async def test_a_follow_up_replying_to_the_answer_sees_the_earlier_turn(bot, fake_discord, chat_stack):
    """A reply to the answer is a follow-up in the same conversation: the LLM is given the earlier question and
    answer, and the second answer is a reply to it."""
    chat_stack.arxiv.add_papers(READ_PAPERS)
    card = await recorded_card(fake_discord, "arXiv:2508.08468v6", chat_stack.store)
    first = await fake_discord.send_message(INSTANCE, reply_to=card.response["id"])
    answer = await reply_to(fake_discord, first)
    await recorded(chat_stack.store, CHANNEL_ID, answer.response["id"])
    await follow_up_sees(fake_discord, chat_stack, answer, INSTANCE)


async def follow_up_sees(fake: FakeDiscord, chat_stack, answer: Call, first_question: str) -> None:
    """A reply to `answer` (no mention) is answered in a reply, and the LLM was given the first turn with it."""
    follow_up = await fake.send_message(PHONE, reply_to=answer.response["id"])
    second = await reply_to(fake, follow_up)
    earlier, latest = questions_asked(chat_stack.llm)
    assert history_in(earlier) == []
    ((question, said),) = history_in(latest)
    assert question == first_question and said.startswith("According to the paper")
    assert question_in(latest) == PHONE
    assert second.body["embeds"][0]["description"].startswith("According to the paper")


async def test_a_reply_to_the_answer_to_a_mention_is_a_follow_up(bot, fake_discord, chat_stack):
    """The answer to "@Paperboy which ... ID?" outside our threads is recorded as ours, about that paper (its
    thread keyed by the question): a reply to it without the mention is a follow-up, and the LLM is given the
    first question and answer."""
    chat_stack.arxiv.add_papers(READ_PAPERS)
    asked = f"{INSTANCE.rstrip('?')} in arXiv:2508.08468v6?"
    message = await fake_discord.send_message(f"<@{BOT_ID}> {asked}", mention_bot=True)
    answer = await reply_to(fake_discord, message)
    place, papers = await recorded(chat_stack.store, CHANNEL_ID, answer.response["id"])
    assert place.thread == message["id"] and [p.arxiv_id for p in papers] == ["2508.08468"]
    await follow_up_sees(fake_discord, chat_stack, answer, asked)


async def test_in_a_digest_thread_number_two_is_about_paper_two(bot, fake_discord, chat_stack):
    """/digest posts its cards in a thread; "#2 ..." written there (no mention, no reply) is answered in the thread
    about the second paper, from its text alone."""
    interaction = await fake_discord.send_command("digest", query="cat:cs.CL", max=3)
    await fake_discord.wait_calls("POST", r"/channels/\d+/messages/\d+/threads", timeout=20)
    (parent,) = public(fake_discord)
    in_thread = rf"/channels/{parent['id']}/messages"
    cards = await fake_discord.wait_calls("POST", in_thread, 3, timeout=30)
    assert interaction and card_numbers(cards) == [1, 2, 3]
    thread = ThreadPlace(f"discord:{parent['id']}", parent["id"], f"discord:{CHANNEL_ID}")
    await recorded(chat_stack.store, parent["id"], cards[-1].response["id"])
    posted = await chat_stack.store.thread_papers(thread.location, thread.thread)
    assert [(p.position, p.message_id) for p in posted] == [(i, c.response["id"]) for i, c in enumerate(cards, 1)]
    # Paper 2 (2505.22148) presents a framework; the question names no paper but by its number.
    question = await fake_discord.send_message("#2 which framework do they present?", channel_id=int(parent["id"]))
    answer = await reply_to(fake_discord, question)
    assert answer.path == f"/channels/{parent['id']}/messages"  # in the thread
    (request,) = questions_asked(chat_stack.llm)
    prompt = prompt_of(request)
    assert posted[1].title in prompt and posted[0].title not in prompt and posted[2].title not in prompt
    (embed,) = answer.body["embeds"]
    assert live_links(embed) and all(posted[1].arxiv_id in link for link in live_links(embed))
    place, papers = await recorded(chat_stack.store, parent["id"], answer.response["id"])
    assert place == thread
    assert [p.position for p in papers] == [2]


@pytest.mark.parametrize("failure", ["invent", "misquote"])
async def test_an_invented_number_or_quote_never_reaches_discord(bot, fake_discord, chat_stack, failure):
    """The fake LLM invents a number (or misquotes) on the first try and on the retry: Discord gets "The paper
    does not say" with the closest passages, never the invention."""
    chat_stack.arxiv.add_papers(READ_PAPERS)
    card = await recorded_card(fake_discord, "arXiv:2508.08468v6", chat_stack.store)
    bad = answered(**{failure: True})
    chat_stack.llm.script(bad, bad)
    question = await fake_discord.send_message(INSTANCE, reply_to=card.response["id"])
    answer = await reply_to(fake_discord, question)
    assert len(questions_asked(chat_stack.llm)) == 2  # asked once more, then given up
    (embed,) = answer.body["embeds"]
    assert embed["description"].startswith(DOES_NOT_SAY)
    sent = discord_text(fake_discord)
    assert INVENTED not in sent and " indeed" not in sent


async def test_hostile_paper_and_question_are_inert(bot, fake_discord, chat_stack):
    """A question full of mentions and links about the hostile paper (whose abstract pings @everyone): the answer
    quotes it escaped, pings nobody, and links only to the paper."""
    chat_stack.arxiv.add_papers([HOSTILE_PAPER])
    card = await recorded_card(fake_discord, "arXiv:2505.99001", chat_stack.store)
    question = await fake_discord.send_message(
        f"@everyone <@{USER_ID}> who do they ping? see https://evil.example/x [arxiv](https://evil.example)",
        reply_to=card.response["id"],
    )
    answer = await reply_to(fake_discord, question)
    assert answer.body["allowed_mentions"]["parse"] == []
    (embed,) = answer.body["embeds"]
    for text in all_strings(embed):
        assert not PINGS.search(text), text
    assert "@\u200beveryone" in embed["fields"][0]["value"]  # the paper's own words, escaped
    assert all(link.startswith("https://arxiv.org/abs/2505.99001") for link in live_links(embed))
    assert "evil.example/x" not in json.dumps(answer.body)


async def test_a_paper_giving_orders_and_an_llm_obeying_it_stay_inert(bot, fake_discord, chat_stack, fake_arxiv_site):
    """The widgets paper's paragraph says "Ignore previous instructions ... @channel <!here> <@U0123ABC>", the question
    is full of mentions and links, and the LLM answers with pings and links of its own: the reply pings nobody,
    shows the quote escaped and links only to the paragraph."""
    from tests.test_ask import INJECTION_QUESTION, obeying_llm, serve_injecting_paper

    page = serve_injecting_paper(chat_stack.arxiv, fake_arxiv_site)
    card = await recorded_card(fake_discord, "arXiv:2505.99998v1", chat_stack.store)
    chat_stack.llm.script(obeying_llm())
    question = await fake_discord.send_message(INJECTION_QUESTION, reply_to=card.response["id"])
    answer = await reply_to(fake_discord, question)
    assert answer.body["allowed_mentions"]["parse"] == []
    (embed,) = answer.body["embeds"]
    assert "PWNED" in embed["description"] and "U0123ABC" in embed["fields"][0]["value"]
    for text in all_strings(embed):
        assert not PINGS.search(text), text  # (Slack's <@U0123ABC> and <!here> are plain text on Discord)
    assert live_links(embed) == [f"{page}#S3.p2"]
    assert "evil.example" not in json.dumps(answer.body)


@pytest.mark.both_databases  # one opinion per person and paper is the database's key
async def test_a_reaction_counts_once_per_person_and_removing_it_removes_it(bot, fake_discord, chat_stack):
    """👍 (delivered twice) and ⭐ on a card by one person: two reactions, one person's opinion of one paper;
    taken back, they are gone, in the order Discord sent them (🔥 added and at once removed ends removed). The bot's
    own reactions and emoji that do not count are nothing."""
    chat_stack.arxiv.add_papers(READ_PAPERS)
    _, card = await card_reply(fake_discord, "arXiv:2508.08468v6")
    card_id = card.response["id"]
    await recorded(chat_stack.store, CHANNEL_ID, card_id)
    channel, person = f"discord:{CHANNEL_ID}", f"discord:{USER_ID}"

    async def signals_become(*kinds: str) -> None:
        """Wait until this person's signals on the paper are of these kinds (the paste's, then reactions)."""

        async def now() -> list[str]:
            signals = await chat_stack.store.channel_signals(channel)
            assert {(s.arxiv_id, s.person) for s in signals} <= {("2508.08468", person)}, signals
            return sorted(s.kind for s in signals)

        try:
            await settled(lambda: _equal(now, sorted(kinds)))
        except AssertionError:
            assert await now() == sorted(kinds)  # says what they are instead
            raise

    await signals_become("pasted")  # a paper pasted here is interest already
    for emoji in ["👍", "👍", "⭐", "🦀"]:
        assert await fake_discord.react(card_id, emoji)
    assert await fake_discord.react(card_id, "👍", user_id=BOT_ID)
    await signals_become("pasted", "👍", "⭐")
    report = await chat_stack.taste.report(channel)
    assert report.signals == 1 and report.people == 1  # one person's opinion of one paper
    assert await fake_discord.react(card_id, "👍", added=False)
    await signals_become("pasted", "⭐")
    for emoji, added in [("🔥", True), ("🔥", False), ("⭐", False), ("👀", True)]:
        assert await fake_discord.react(card_id, emoji, added=added)
    await signals_become("pasted", "👀")


async def _equal(get, expected) -> bool:
    return await get() == expected


async def digest_cards(fake: FakeDiscord, **options) -> list[Call]:
    """/digest with these options; the cards it posted in its thread, once all are there."""
    parents_before = len(public(fake))
    await fake.send_command("digest", **options)
    parent = (await fake.wait_for(lambda: public(fake)[parents_before:], 30))[0]
    thread = rf"/channels/{parent['id']}/messages"
    count = int(re.search(r"\*\*(\d+) papers?\*\*", parent["embeds"][0]["description"]).group(1))
    return await fake.wait_calls("POST", thread, count, timeout=60)


LIKED = "2505.22648"  # WebDancer: Towards Autonomous Information Seeking Agency
SIMILAR = "2505.22501"  # EvolveSearch: An Iterative Self-Evolving Search Agent (older: not in the 3 newest)


async def test_reactions_bring_a_similar_paper_into_the_next_digest_saying_why(bot, fake_discord, chat_stack):
    """A paper pasted here and 👍'd by four more people (five opinions: enough to learn from): the next /digest in
    this channel has a similar paper it did not have before, and its card says why."""
    before = await digest_cards(fake_discord, query="cat:cs.CL", max=3)
    assert SIMILAR not in json.dumps([c.body for c in before])  # by keywords and recency: not today's top 3
    _, card = await card_reply(fake_discord, f"arXiv:{LIKED}")
    await recorded(chat_stack.store, CHANNEL_ID, card.response["id"])
    for person in range(4):
        assert await fake_discord.react(card.response["id"], "👍", user_id=USER_ID + 100 + person)
    channel = f"discord:{CHANNEL_ID}"

    async def opinions() -> bool:
        return (await chat_stack.taste.report(channel)).signals == 5

    await settled(opinions)
    after = await digest_cards(fake_discord, query="cat:cs.CL", max=3)
    (similar,) = [c.body["embeds"][0] for c in after if SIMILAR in c.body["embeds"][0]["url"]]
    why = [line for line in similar["description"].splitlines() if line.startswith("*like ")]
    assert why and "WebDancer" in why[0]  # like the paper people here liked, named


async def test_taste_commands_note_a_persons_opinion_for_the_channel_and_show_it(bot, fake_discord, chat_stack):
    """/taste more-like and less-like (for people who do not react) record one opinion for this channel, the latest
    replacing the other, answered to the asker alone; in a digest's thread they count for its channel; /taste
    show says what was counted."""
    channel = f"discord:{CHANNEL_ID}"
    noted = await final_answer(fake_discord, await fake_discord.send_command("taste", "more-like", paper=LIKED))
    assert noted["content"] == f"Noted: more like arXiv:{LIKED} here." and noted["flags"] == EPHEMERAL
    await final_answer(fake_discord, await fake_discord.send_command("taste", "less-like", paper=f"arXiv:{LIKED}v1"))
    person = f"discord:{USER_ID}"
    assert [(s.arxiv_id, s.person, s.kind, s.value) for s in await chat_stack.store.channel_signals(channel)] == [
        (LIKED, person, "less-like", -1)
    ]
    cards = await digest_cards(fake_discord, query="cat:cs.CL", max=1)
    thread_id = int(cards[0].path.split("/")[2])
    await final_answer(fake_discord, await fake_discord.send_command("taste", "more-like", paper=SIMILAR,
                                                                       channel_id=thread_id))  # fmt: skip
    assert {s.arxiv_id for s in await chat_stack.store.channel_signals(channel)} == {LIKED, SIMILAR}
    assert await chat_stack.store.channel_signals(f"discord:{thread_id}") == []
    shown = await final_answer(fake_discord, await fake_discord.send_command("taste", "show"))
    assert shown["content"].startswith(escape(f"Taste of {channel}: 2 signals from 1 person (1 liked, 1 disliked)."))
    mistake = await final_answer(fake_discord, await fake_discord.send_command("taste", "more-like", paper="banana"))
    assert "banana" in mistake["content"] and mistake["flags"] == EPHEMERAL


async def test_a_restart_between_two_questions_keeps_the_conversation(fake_discord, chat_stack):
    """The bot answers, stops, and a new one (a new ChatBot and client on the same database) takes the reply to its
    answer as the follow-up it is, with the earlier turn."""
    chat_stack.arxiv.add_papers(READ_PAPERS)
    first_run = platform_for(fake_discord, chat=chat_stack.chat, events=chat_stack.store, threads=chat_stack.store)
    await first_run.start()
    try:
        card = await recorded_card(fake_discord, "arXiv:2508.08468v6", chat_stack.store)
        question = await fake_discord.send_message(INSTANCE, reply_to=card.response["id"])
        answer = await reply_to(fake_discord, question)
        await recorded(chat_stack.store, CHANNEL_ID, answer.response["id"])
    finally:
        await first_run.stop()
    chat, _ = build_chat(**chat_stack.clients)
    second_run = platform_for(fake_discord, chat=chat, events=chat_stack.store, threads=chat_stack.store)
    await second_run.start()
    try:
        follow_up = await fake_discord.send_message(PHONE, reply_to=answer.response["id"])
        await reply_to(fake_discord, follow_up)
    finally:
        await second_run.stop()
    ((earlier, _),) = history_in(questions_asked(chat_stack.llm)[-1])
    assert earlier == INSTANCE and len(fake_discord.identifies) == 2
    assert fake_discord.schema_errors == []


async def test_a_digest_without_a_thread_is_asked_by_replying_to_its_cards(bot, fake_discord, chat_stack):
    """Where the bot may not start threads, the cards follow the parent in the channel, recorded under the parent;
    a reply to card 2 is about paper 2, and "#3" in a reply to the parent picks paper 3."""
    await fake_discord.send_command("digest", query="cat:cs.CL", max=3, channel_id=PLAIN_CHANNEL_ID)
    sent = await fake_discord.wait_calls("POST", rf"/channels/{PLAIN_CHANNEL_ID}/messages", 4, timeout=60)
    parent, *cards = sent
    place = ThreadPlace(f"discord:{PLAIN_CHANNEL_ID}", parent.response["id"], f"discord:{PLAIN_CHANNEL_ID}")
    await recorded(chat_stack.store, PLAIN_CHANNEL_ID, cards[-1].response["id"])
    posted = await chat_stack.store.thread_papers(place.location, place.thread)
    assert [p.message_id for p in posted] == [c.response["id"] for c in cards]
    question = await fake_discord.send_message(
        "which framework do they present?", channel_id=PLAIN_CHANNEL_ID, reply_to=cards[1].response["id"]
    )
    answer = await reply_to(fake_discord, question)
    assert live_links(answer.body["embeds"][0]) and all(
        posted[1].arxiv_id in u for u in live_links(answer.body["embeds"][0])
    )
    found = await recorded(chat_stack.store, PLAIN_CHANNEL_ID, answer.response["id"])
    assert found[0] == place and [p.position for p in found[1]] == [2]
    third = await fake_discord.send_message(
        "#3 what do they find about reward noise?", channel_id=PLAIN_CHANNEL_ID, reply_to=parent.response["id"]
    )
    await reply_to(fake_discord, third)
    assert posted[2].title in prompt_of(questions_asked(chat_stack.llm)[-1])
