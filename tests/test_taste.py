"""A channel's taste (bot.core.taste) on the real store: emoji of both platforms, one opinion per person and paper,
exactly today's keyword ranking below min_signals, the learned ranking and its why lines above, retraining only
when the signals changed, followed authors first; and a digest ranked for a channel."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import random

import pytest

from bot.clients.arxiv import ArxivClient
from bot.clients.ranker import TfidfRanker
from bot.core.digest import DigestService, rank
from bot.core.models import Digest, DigestRequest, Paper
from bot.core.posting import DigestPoster, PostTimes
from bot.core.signals import DISINTEREST, INTEREST
from bot.core.summaries import SummaryService
from bot.core.taste import TasteService, same_person
from tests.fakes.publisher import RecordingPublisher
from tests.fakes.summarizer import RecordingSummarizer
from tests.test_ranker import DAY, TOPICS, paper

CHANNEL = "slack:C0TASTE1"
NOW = DAY + dt.timedelta(days=1)


class CountingRanker(TfidfRanker):
    def __init__(self) -> None:
        self.trained = 0

    def train(self, liked, disliked, background):
        self.trained += 1
        return super().train(liked, disliked, background)


def papers_of(topic: str, count: int, start: int, seed: int = 3) -> list[Paper]:
    rng = random.Random(seed + start)
    return [paper(start + n, topic, rng) for n in range(count)]


def dated(papers: list[Paper], published: dt.datetime) -> list[Paper]:
    return [dataclasses.replace(p, published=published) for p in papers]


def taste(store, ranker=None, **kwargs) -> TasteService:
    factory = None if ranker is False else (lambda: ranker or TfidfRanker())
    return TasteService(book=store, store=store, ranker_factory=factory, now=lambda: NOW, **kwargs)


async def like(service: TasteService, papers: list[Paper], *, emoji: str = "+1") -> None:
    """Each paper liked by its own person (one opinion each)."""
    for n, p in enumerate(papers):
        await service.record(CHANNEL, p.arxiv_id, f"slack:U{n:04d}", source="reaction", kind=emoji, value=INTEREST)


@pytest.fixture
async def liked_rl(store) -> list[Paper]:
    """Eight reinforcement-learning papers from yesterday, in the store (as posted cards are)."""
    papers = papers_of("rl", 8, 1000)
    await store.save_papers(papers, fetched_at=DAY)
    return papers


def test_emoji_count_in_both_platforms_spellings():
    """Slack's names (with colons and skin tones) and Discord's characters (with skin tones and the variation
    selector) of the defaults; configured lists replace them."""
    service = TasteService(book=None, store=None, ranker_factory=None)  # type: ignore[arg-type]
    for emoji in ("+1", ":+1:", "+1::skin-tone-3", "thumbsup", "👍", "👍🏽", "star", "⭐", "fire", "🔥", "heart", "❤️",
                  "❤", "eyes", "👀"):  # fmt: skip
        assert service.value_of(emoji) == INTEREST, emoji
    for emoji in ("-1", "thumbsdown", "👎", "👎🏿", "see_no_evil", "🙈"):
        assert service.value_of(emoji) == DISINTEREST, emoji
    for emoji in ("tada", "🎉", "", "smile"):
        assert service.value_of(emoji) is None, emoji
    custom = TasteService(book=None, store=None, ranker_factory=None, interest=["tada"], disinterest=["👎"])  # type: ignore[arg-type]
    assert (custom.value_of("tada"), custom.value_of("-1"), custom.value_of("+1")) == (INTEREST, DISINTEREST, None)


def test_followed_names():
    assert same_person("Yann LeCun", "Y. LeCun") and same_person("y. lecun", "Yann  LeCun")
    assert same_person("J. Smith", "John A. Smith")
    assert not same_person("LeCun", "Yann LeCun") and not same_person("Yann LeCun", "Yannick Smith")
    assert not same_person("A. Smith", "John Smith")


async def test_below_min_signals_it_is_todays_keyword_ranking(store, liked_rl):
    """Four opinions (one person's 20 reactions to one paper among them): exactly bot.core.digest.rank's order, scored
    by keyword hits, each saying which query terms it matches; the ranker is never trained."""
    ranker = CountingRanker()
    service = taste(store, ranker)
    await like(service, liked_rl[:3])
    for n in range(20):  # one person, one paper, many reactions and kinds: one opinion
        emoji = ["+1", "star", "fire", "heart", "eyes"][n % 5]
        await service.record(CHANNEL, liked_rl[3].arxiv_id, "slack:UMANY", source="reaction", kind=emoji, value=1)
    report = await service.report(CHANNEL)
    assert (report.signals, report.people, report.learning) == (4, 4, False)
    assert "rank by keywords until there are 5" in report.as_text()

    candidates = papers_of("rl", 5, 2000) + papers_of("vision", 5, 3000)
    candidates[7] = dataclasses.replace(candidates[7], title="Image detection of reward", published=NOW)
    terms = ["image", "reward"]
    ranked = await service.rank(CHANNEL, candidates, terms=terms)
    assert [r.arxiv_id for r in ranked] == [p.arxiv_id for p in rank(candidates, terms)]
    by_id = {p.arxiv_id: p for p in candidates}
    for item in ranked:
        text = (by_id[item.arxiv_id].title + by_id[item.arxiv_id].abstract).lower()
        found = [t for t in terms if t in text]
        assert item.why == ("matches: " + ", ".join(found) if found else None)
    assert ranked[0].arxiv_id == candidates[7].arxiv_id and ranked[0].score == 3 * 2 + 0 + min(
        candidates[7].abstract.count("image"), 5
    ) + min(candidates[7].abstract.count("reward"), 5)
    assert ranker.trained == 0


async def test_removing_a_reaction_removes_the_signal(store, liked_rl):
    service = taste(store)
    assert await service.record(CHANNEL, liked_rl[0].arxiv_id + "v2", "slack:U1", source="reaction", kind="+1", value=1)
    assert not await service.record(CHANNEL, liked_rl[0].arxiv_id, "slack:U1", source="reaction", kind="+1", value=1)
    assert (await service.report(CHANNEL)).signals == 1
    assert await service.forget(CHANNEL, liked_rl[0].arxiv_id, "slack:U1", "+1")
    assert not await service.forget(CHANNEL, liked_rl[0].arxiv_id, "slack:U1", "+1")
    assert (await service.report(CHANNEL)).signals == 0
    with pytest.raises(ValueError):
        await service.record(CHANNEL, liked_rl[0].arxiv_id, "slack:U1", source="reaction", kind="+1", value=2)


async def test_a_persons_like_and_dislike_of_one_paper_cancel_out(store, liked_rl):
    service = taste(store)
    await service.record(CHANNEL, liked_rl[0].arxiv_id, "slack:U1", source="reaction", kind="+1", value=INTEREST)
    await service.record(CHANNEL, liked_rl[0].arxiv_id, "slack:U1", source="command", kind="less-like", value=-1)
    await service.record(CHANNEL, liked_rl[1].arxiv_id, "slack:U1", source="command", kind="less-like", value=-1)
    report = await service.report(CHANNEL)
    assert (report.signals, report.liked, report.disliked) == (1, 0, 1)


async def test_with_enough_signals_a_similar_paper_ranks_first_and_says_why(store, liked_rl):
    """Six people liked RL papers: among today's candidates, newest (keyword order) vision and speech papers first,
    the RL ones move to the top, each saying which liked paper it is like and its terms; the others say nothing."""
    service = taste(store)
    await like(service, liked_rl[:6])
    rl = dated(papers_of("rl", 3, 2000), DAY)
    others = dated(papers_of("vision", 6, 3000) + papers_of("speech", 6, 4000), NOW)
    candidates = others + rl
    assert {p.arxiv_id for p in rank(candidates, [])[:3]}.isdisjoint(p.arxiv_id for p in rl)
    ranked = await service.rank(CHANNEL, candidates, terms=[])
    assert {r.arxiv_id for r in ranked[:3]} == {p.arxiv_id for p in rl}
    titles = {p.title for p in liked_rl[:6]}
    for item in ranked[:3]:
        assert item.why is not None and item.why.startswith("like ") and "liked here" in item.why
        assert any(f"“{t}”" in item.why for t in titles) and "terms: " in item.why
    assert all(item.why is None for item in ranked[3:])
    assert ranked[0].score >= ranked[1].score >= ranked[-1].score


async def test_retrained_only_when_the_signals_change(store, liked_rl):
    """The model is trained once and stored; ranking again uses it; a new signal retrains (once), a replaced
    identical one does not; a stored model the ranker cannot read is retrained."""
    ranker = CountingRanker()
    service = taste(store, ranker)
    await like(service, liked_rl[:5])
    candidates = papers_of("rl", 4, 2000) + papers_of("vision", 4, 3000)
    first = await service.rank(CHANNEL, candidates, terms=[])
    stored = await store.get_taste(CHANNEL)
    assert ranker.trained == 1 and stored is not None and stored.signal_count == 5
    assert json.loads(stored.model_json)["version"] == 1
    assert await service.rank(CHANNEL, candidates, terms=[]) == first
    assert ranker.trained == 1
    await like(service, liked_rl[:1])  # the same person, paper and emoji again: replaced, not new
    await service.rank(CHANNEL, candidates, terms=[])
    assert ranker.trained == 1
    await like(service, liked_rl[5:6])
    await service.rank(CHANNEL, candidates, terms=[])
    assert ranker.trained == 2 and (await store.get_taste(CHANNEL)).signal_count == 6
    broken = await store.get_taste(CHANNEL)
    await store.save_taste(dataclasses.replace(broken, model_json='{"version": 0}'))
    assert await service.rank(CHANNEL, candidates, terms=[])
    assert ranker.trained == 3


async def test_papers_by_a_followed_author_come_first(store, liked_rl):
    """Below or above min_signals, a paper by a followed author (as arXiv spells the name) comes first, saying so."""
    candidates = papers_of("vision", 5, 3000)
    candidates[3] = dataclasses.replace(candidates[3], authors=("Ada Lovelace", "Y. LeCun"))
    for service in (taste(store), taste(store, ranker=False)):
        ranked = await service.rank(CHANNEL, candidates, terms=[], authors=["Yann LeCun", "Nobody Here"])
        assert ranked[0].arxiv_id == candidates[3].arxiv_id
        assert ranked[0].why == "new from an author you follow: Y. LeCun"
        assert [r.arxiv_id for r in ranked[1:]] == [p.arxiv_id for p in rank(candidates, []) if p is not candidates[3]]
    service = taste(store)
    await like(service, liked_rl[:6])
    ranked = await service.rank(CHANNEL, candidates + papers_of("rl", 2, 2000), terms=[], authors=["Yann LeCun"])
    assert ranked[0].arxiv_id == candidates[3].arxiv_id


async def test_the_report_says_what_was_learned(store, liked_rl):
    service = taste(store)
    empty = (await service.report(CHANNEL)).as_text()
    assert empty.startswith(f"No signals in {CHANNEL} yet") and "/digest more-like ID" in empty
    on_discord = (await service.report("discord:123")).as_text()  # Discord's own command, not /digest's
    assert "/taste more-like paper:ID and /taste less-like paper:ID" in on_discord and "/digest" not in on_discord
    await like(service, liked_rl[:6])
    disliked = papers_of("vision", 1, 3000)
    await store.save_papers(disliked, fetched_at=DAY)
    await service.record(CHANNEL, disliked[0].arxiv_id, "discord:1", source="reaction", kind="👎", value=DISINTEREST)
    report = await service.report(CHANNEL)
    data = report.as_json()
    assert {k: data[k] for k in ("channel", "signals", "people", "liked", "disliked", "learning")} == {
        "channel": CHANNEL, "signals": 7, "people": 7, "liked": 6, "disliked": 1, "learning": True,
    }  # fmt: skip
    assert data["top_terms"] and all(set(t.split()) & set(TOPICS["rl"]) for t in data["top_terms"])
    titles = {p.arxiv_id: p.title for p in liked_rl}
    assert data["anchors"] and all(titles[a["arxiv_id"]] == a["title"] for a in data["anchors"])
    text = report.as_text()
    assert text.startswith(f"Taste of {CHANNEL}: 7 signals from 7 people (6 liked, 1 disliked).")
    assert "Top terms: " in text and f"• arXiv:{data['anchors'][0]['arxiv_id']} " in text
    off = await taste(store, ranker=False).report(CHANNEL)
    assert not off.learning and "no ranker" in off.as_text()


async def test_a_failing_ranker_leaves_the_keyword_ranking(store, liked_rl, caplog):
    class Broken(TfidfRanker):
        def train(self, liked, disliked, background):
            raise RuntimeError("out of memory")

    service = taste(store, Broken())
    await like(service, liked_rl[:6])
    candidates = papers_of("rl", 3, 2000) + papers_of("vision", 3, 3000)
    with caplog.at_level(logging.WARNING, logger="bot.core.taste"):
        ranked = await service.rank(CHANNEL, candidates, terms=["policy"])
    assert [r.arxiv_id for r in ranked] == [p.arxiv_id for p in rank(candidates, ["policy"])]
    assert f"ranking by {CHANNEL}'s taste failed (out of memory); ranking by keywords" in caplog.text


class ListedPapers:
    """A PaperSource with a fixed search result."""

    def __init__(self, papers: list[Paper]) -> None:
        self.papers = papers

    async def fetch(self, refs):
        return {}

    async def search(self, query, start, end, *, limit):
        return self.papers[:limit]


async def test_a_digest_for_a_channel_with_signals_ranks_a_similar_paper_higher(store, liked_rl):
    """One search; the channel with signals gets the RL paper (oldest, last by keywords) in its top 3 with its why
    line; a channel with none gets exactly the digest it got before (the same as without a TasteService)."""
    rl = dated(papers_of("rl", 1, 2000), DAY)[0]
    others = dated(papers_of("vision", 5, 3000) + papers_of("speech", 5, 4000), NOW)
    source = ListedPapers(others + [rl])
    service = taste(store)
    await like(service, liked_rl[:6])
    summaries = SummaryService(source=source, store=store, summarizer=RecordingSummarizer(), daily_token_budget=10**9,
                               max_concurrency=4, cache_hours=24, summary_source="abstract")  # fmt: skip
    digests = DigestService(source=source, store=store, summaries=summaries, search_limit=100, taste=service)
    before = DigestService(source=source, store=store, summaries=summaries, search_limit=100)
    request = DigestRequest(query="cat:cs.LG", date=NOW.date(), max_papers=3)

    tasteful = await digests.build(dataclasses.replace(request, channel=CHANNEL))
    assert tasteful.papers[0].paper.arxiv_id == rl.arxiv_id
    assert tasteful.papers[0].why.startswith("like ") and tasteful.papers[0].score is not None
    assert rl.arxiv_id not in {p.arxiv_id for p in tasteful.omitted_papers}

    plain = await digests.build(dataclasses.replace(request, channel="slack:C0NOSIGNAL"))
    today = await before.build(request)
    assert [p.paper.arxiv_id for p in plain.papers] == [p.paper.arxiv_id for p in today.papers]
    assert [p.arxiv_id for p in plain.omitted_papers] == [p.arxiv_id for p in today.omitted_papers]
    assert rl.arxiv_id == today.omitted_papers[-1].arxiv_id
    assert [(p.why, p.score) for p in plain.papers] == [(None, 0.0)] * 3
    assert [(p.why, p.score) for p in today.papers] == [(None, None)] * 3


def test_the_why_line_shows_on_every_surface_escaped():
    """A digest card's why line (quoting a hostile title) as one muted italic line in Slack, Discord and the pages,
    escaped like the title; in JSON as "why" and "score". Without one, no such line."""
    from bot.core.render import paper_json
    from bot.pages import render_digest
    from handlers.discord.embeds import card_embed
    from handlers.slack.blocks import card_blocks
    from tests.test_render import HOSTILE_TITLE, make_digest, make_sp

    why = f"like “{HOSTILE_TITLE}”, liked here; terms: reward"
    sp = dataclasses.replace(make_sp(), why=why, score=0.8)
    digest = dataclasses.replace(make_digest(1), papers=(sp,))
    assert (paper_json(sp)["why"], paper_json(sp)["score"]) == (why, 0.8)
    assert (paper_json(make_sp())["why"], paper_json(make_sp())["score"]) == (None, None)

    contexts = [b["elements"][0]["text"] for b in card_blocks(sp) if b["type"] == "context"]
    assert "_like “&lt;!channel&gt; *bold* ```code &lt;script&gt;alert(1)&lt;/script&gt; ||spoiler||”, liked here; " \
           "terms: reward_" in contexts  # fmt: skip
    assert not any("liked here" in t for b in card_blocks(make_sp()) for t in [str(b)])

    lines = card_embed(sp).description.splitlines()
    assert r"*like “<!channel> \*bold\* \`\`\`code <script>alert(1)</script> \|\|spoiler\|\|”, liked here; " \
           r"terms: reward*" in lines  # fmt: skip
    assert "liked here" not in card_embed(make_sp()).description

    markdown = render_digest(digest, "markdown")
    assert "\n*like “\\<!channel\\> \\*bold\\* \\`\\`\\`code \\<script\\>alert(1)\\</script\\> " in markdown
    html = render_digest(digest, "html")
    assert '<p class="meta" lang="en"><em>like “&lt;!channel&gt; *bold* ```code &lt;script&gt;' in html
    plain = dataclasses.replace(digest, papers=(make_sp(),))
    assert "<em>" not in render_digest(plain, "html") and "liked here" not in render_digest(plain, "markdown")

    # The console and `paperboy digest`'s text: one "Why:" line under the meta, control characters gone.
    from bot.core.render import card_text
    from bot.core.render import render_digest as render_text

    console = dataclasses.replace(sp, why="like “Evil \x1b]0;pwned\x07 \u202etitle”, liked here")
    assert "Why: like “Evil ]0;pwned title”, liked here" in card_text(console).splitlines()
    assert "    Why: like “<!channel> *bold* ```code <script>alert(1)</script> ||spoiler||”, liked" \
           in render_text(digest, "text").splitlines()  # fmt: skip
    assert "Why:" not in card_text(make_sp()) and "Why:" not in render_text(plain, "text")


class DigestsByChannel(RecordingPublisher):
    def __init__(self) -> None:
        super().__init__()
        self.digests: dict[str, Digest] = {}

    async def post_digest(self, channel, digest, **kwargs):
        self.digests[channel] = digest
        return await super().post_digest(channel, digest, **kwargs)


async def test_a_scheduled_digest_is_ranked_per_channel(fake_arxiv, store):
    """One subscription, two channels, one search: the channel whose people liked five older papers gets those
    first, saying why; the other gets today's order (newest first for a category)."""
    from tests.test_posting import DUE, Clock, nlp

    clock = Clock(DUE)
    liked = ["2505.22240", "2505.22425", "2505.22453", "2505.22501", "2505.22334"]
    service = TasteService(book=store, store=store, ranker_factory=TfidfRanker, now=clock)
    for n, arxiv_id in enumerate(liked):
        await service.record("slack:C1", arxiv_id, f"slack:U{n}", source="pasted", kind="pasted", value=INTEREST)
    async with ArxivClient(api_url=fake_arxiv.api_url, min_interval_seconds=0.01) as arxiv:
        summaries = SummaryService(source=arxiv, store=store, summarizer=RecordingSummarizer(), cache_hours=24,
                                   daily_token_budget=10**9, max_concurrency=8, now=clock)  # fmt: skip
        digests = DigestService(source=arxiv, store=store, summaries=summaries, search_limit=100, now=clock,
                                taste=service)  # fmt: skip
        publisher = DigestsByChannel()

        async def subscriptions():
            return [nlp()]

        poster = DigestPoster(digests=digests, ledger=store, publishers={"slack": publisher},
                              subscriptions=subscriptions, times=PostTimes(), now=clock)  # fmt: skip
        await poster.tick()
    tasteful, plain = publisher.digests["C1"], publisher.digests["C2"]
    assert [p.paper.arxiv_id for p in plain.papers] == ["2505.22411", "2505.22148", "2505.22653"]
    assert all(p.why is None for p in plain.papers)
    assert {p.paper.arxiv_id for p in tasteful.papers} <= set(liked)
    assert all(p.why.startswith("like ") for p in tasteful.papers)
    searches = [path for path in fake_arxiv.paths if "search_query" in path]
    assert len(searches) == 1, searches


async def test_a_subscriptions_authors_and_candidates(store):
    """[[subscriptions]] authors (each once, names checked) and candidates (1-2000, default 200) reach its digests'
    requests; the search asks arXiv for that many papers."""
    from bot.core.errors import UsageError
    from bot.core.models import Subscription

    sub = Subscription.create(name="nlp", query="cat:cs.CL", channels=["console"],
                              authors=["Yann LeCun", " Yann  LeCun ", "Ada Lovelace"], candidates=500)  # fmt: skip
    assert (sub.authors, sub.candidates) == (("Yann LeCun", "Ada Lovelace"), 500)
    request = sub.request_for(NOW.date())
    assert (request.authors, request.candidates, request.channel) == (("Yann LeCun", "Ada Lovelace"), 500, None)
    assert Subscription.create(name="x", query="cat:cs.CL", channels=["console"]).candidates == 200
    for bad in ({"candidates": 0}, {"candidates": 2001}, {"authors": [""]}, {"authors": ["x" * 101]}):
        with pytest.raises(UsageError):
            Subscription.create(name="x", query="cat:cs.CL", channels=["console"], **bad)

    class Limits(ListedPapers):
        asked: list[int] = []

        async def search(self, query, start, end, *, limit):
            self.asked.append(limit)
            return await super().search(query, start, end, limit=limit)

    source = Limits(papers_of("rl", 3, 2000))
    summaries = SummaryService(source=source, store=store, summarizer=None, daily_token_budget=0, max_concurrency=1,
                               cache_hours=24, summary_source="abstract")  # fmt: skip
    digests = DigestService(source=source, store=store, summaries=summaries, search_limit=300)
    await digests.candidates(request)
    await digests.candidates(dataclasses.replace(request, candidates=None))
    assert source.asked == [500, 300]


async def test_a_followed_authors_paper_past_the_search_limit_is_still_in_the_digest(fake_arxiv, store):
    """candidates = 3 of the day's 15 cs.CL papers (newest first): the followed author's older paper is found by a
    second search (the query narrowed to au:"..."), and leads the digest saying why. Not cut short, one search."""
    now = dt.datetime(2025, 5, 29, 6, 0, tzinfo=dt.UTC)
    async with ArxivClient(api_url=fake_arxiv.api_url, min_interval_seconds=0.01) as arxiv:
        summaries = SummaryService(source=arxiv, store=store, summarizer=None, daily_token_budget=0, now=lambda: now,
                                   max_concurrency=4, cache_hours=24, summary_source="abstract")  # fmt: skip
        digests = DigestService(source=arxiv, store=store, summaries=summaries, search_limit=100, now=lambda: now)
        request = DigestRequest(query="cat:cs.CL", date=dt.date(2025, 5, 28), max_papers=2, candidates=3,
                                authors=("Honghan Wu",))  # fmt: skip
        digest = await digests.build(request)
        assert [p.paper.arxiv_id for p in digest.papers][0] == "2505.22240"
        assert digest.papers[0].why == "new from an author you follow: Honghan Wu"
        assert len(digest.papers) + len(digest.omitted_papers) == 4
        searches = [path for path in fake_arxiv.paths if "search_query" in path]
        assert len(searches) == 2 and "Honghan" in searches[1]
        await digests.build(dataclasses.replace(request, candidates=None))
        assert len([path for path in fake_arxiv.paths if "search_query" in path]) == 3


async def test_a_taste_report_quoting_hostile_titles_is_inert_on_every_surface():
    """`/digest taste` names the papers a taste is anchored on and its terms, which a paper's author wrote: on Slack,
    Discord, the console and `paperboy taste` no mention, link, markup or terminal escape in them is live."""
    import io

    from bot.core.render import render_taste
    from bot.core.taste import TasteReport
    from handlers.console.platform import ConsoleResponder
    from handlers.discord.embeds import text_messages
    from handlers.slack.blocks import text_message

    title = "<!channel> @everyone <@123456789012345678> [click](https://evil.example/x) ```x``` \x1b[31mred \u202e"
    report = TasteReport(
        channel="slack:C1", signals=5, people=2, liked=5, disliked=0, min_signals=5, learning=True,
        terms=("<!here>", "reward"), anchors=(("2505.22653", title),),
    )  # fmt: skip
    text = report.as_text()
    assert "2505.22653 <!channel>" in text and "\x1b" not in text and "\u202e" not in text

    slack = text_message(text).text
    assert "<!" not in slack and "&lt;!channel&gt;" in slack and "&lt;!here&gt;" in slack
    assert "[click](`https://evil.example/x`)" in slack  # the URL inert in a code span

    (discord,) = [out.content for out in text_messages(text)]
    assert "@everyone" not in discord and "<@123456789012345678>" not in discord
    assert r"[click\](`https://evil.example/x`)" in discord and r"\`\`\`x\`\`\`" in discord

    out = io.StringIO()
    await ConsoleResponder(out, io.StringIO()).text(text)
    assert render_taste(report, "text") == text
    assert all(c not in out.getvalue() + text for c in "\x1b\u202e")
