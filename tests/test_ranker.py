"""The TF-IDF taste ranker (bot.clients.ranker): a paper like the liked ones outranks one like the disliked ones, its
model is plain JSON read back exactly, and 500 candidates are scored in one call; with embeddings from a fake
OpenAI-compatible endpoint, and without them when it fails."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import subprocess
import sys

import pytest

from bot.clients.embeddings import OpenAIEmbeddings
from bot.clients.ranker import EmbeddingRanker, TfidfRanker
from bot.core.models import Paper
from tests.fakes.embeddings_server import DIMENSIONS, FakeEmbeddings

DAY = dt.datetime(2026, 2, 10, 12, tzinfo=dt.UTC)
TOPICS = {
    "rl": (
        "reinforcement learning policy gradient reward shaping agent exploration value function "
        "actor critic offline rl environment returns"
    ).split(),
    "vision": (
        "image segmentation convolutional detection pixels camera visual recognition bounding boxes "
        "object detector feature maps"
    ).split(),
    "speech": "speech recognition acoustic model phoneme audio speaker waveform vocoder prosody".split(),
}
COMMON = "we propose a method and show that it improves over strong baselines in experiments on benchmarks".split()


def paper(n: int, topic: str, rng: random.Random) -> Paper:
    words = rng.choices(TOPICS[topic], k=14) + rng.choices(COMMON, k=18)
    rng.shuffle(words)
    title = " ".join(rng.sample(TOPICS[topic], 4)).capitalize()
    return Paper(
        arxiv_id=f"2602.{n:05d}", version=1, title=title, authors=("A. Author",), abstract=" ".join(words) + ".",
        comment=None, journal_ref=None, primary_category="cs.LG", categories=("cs.LG",), published=DAY, updated=DAY,
    )  # fmt: skip


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[Paper]]:
    rng = random.Random(7)
    papers: dict[str, list[Paper]] = {topic: [] for topic in TOPICS}
    for n in range(600):
        topic = list(TOPICS)[n % len(TOPICS)]
        papers[topic].append(paper(n, topic, rng))
    return papers


@pytest.fixture(scope="module")
def trained(corpus) -> str:
    background = corpus["speech"][:40] + corpus["rl"][40:60] + corpus["vision"][40:60]
    return TfidfRanker().train(corpus["rl"][:8], corpus["vision"][:4], background)


def test_a_paper_like_the_liked_ones_outranks_a_dissimilar_one(corpus, trained):
    """Liked: reinforcement learning; disliked: vision. A new RL paper scores above a new vision and a new speech
    paper, is like one of the liked papers and names RL terms; the vision paper is like none of them."""
    new_rl, new_vision, new_speech = corpus["rl"][100], corpus["vision"][100], corpus["speech"][100]
    rl, vision, speech = TfidfRanker().score(trained, [new_rl, new_vision, new_speech])
    assert rl.score > speech.score > vision.score
    assert rl.like in {p.arxiv_id for p in corpus["rl"][:8]} and rl.similar >= 1
    assert rl.terms and all(set(t.split()) & set(TOPICS["rl"]) for t in rl.terms)
    assert vision.like is None and vision.similar == 0


def test_over_many_candidates_the_liked_topic_comes_first(corpus, trained):
    """Of 150 unseen candidates (50 per topic), the top 20 are all reinforcement learning."""
    candidates = corpus["rl"][150:] + corpus["vision"][150:] + corpus["speech"][150:]
    scores = TfidfRanker().score(trained, candidates)
    top = sorted(range(len(candidates)), key=lambda n: -scores[n].score)[:20]
    assert {candidates[n].arxiv_id for n in top} <= {p.arxiv_id for p in corpus["rl"]}


def test_the_model_is_plain_json_and_reads_back_exactly(corpus, trained):
    """The model is JSON (terms, idf, coefficients, anchors): re-serialized, it scores exactly the same; a model of
    another version, or not a model at all, is a ValueError (the service retrains)."""
    model = json.loads(trained)
    assert model["version"] == 1 and len(model["terms"]) == len(model["idf"]) == len(model["coef"]) > 0
    assert [a["id"] for a in model["anchors"]] == [p.arxiv_id for p in corpus["rl"][:8]]
    again = json.dumps(json.loads(trained))
    papers = corpus["rl"][200:210] + corpus["vision"][200:210]
    assert TfidfRanker().score(again, papers) == TfidfRanker().score(trained, papers)
    for bad in ("not json", json.dumps({**model, "version": 99}), json.dumps([1, 2])):
        with pytest.raises(ValueError):
            TfidfRanker().score(bad, papers)


def test_500_candidates_are_scored_in_one_call(corpus, trained):
    """Every candidate gets a score in (0, 1), in order (the time it takes is in benchmarks/taste_eval.py)."""
    candidates = [p for topic in TOPICS for p in corpus[topic]][:500]
    scores = TfidfRanker().score(trained, candidates)
    assert len(scores) == 500 and all(0.0 < s.score < 1.0 for s in scores)
    assert TfidfRanker().score(trained, []) == []


def test_what_the_model_learned(corpus, trained):
    """describe: top terms from the liked topic, anchors are liked papers with their titles."""
    traits = TfidfRanker().describe(trained, limit=5)
    assert 0 < len(traits.terms) <= 5 and all(set(t.split()) & set(TOPICS["rl"]) for t in traits.terms)
    titles = {p.arxiv_id: p.title for p in corpus["rl"][:8]}
    assert len(traits.anchors) == 5 and all(titles[i] == title for i, title in traits.anchors)


def test_one_sided_signals_still_make_a_model(corpus):
    """Only liked papers and no background (a centroid), only disliked papers, or nothing: each scores sensibly."""
    ranker = TfidfRanker()
    liked_only = ranker.train(corpus["rl"][:3], [], [])
    rl, vision = ranker.score(liked_only, [corpus["rl"][190], corpus["vision"][190]])
    assert rl.score > vision.score and rl.like is not None
    disliked_only = ranker.train([], corpus["vision"][:3], [])
    rl, vision = ranker.score(disliked_only, [corpus["rl"][190], corpus["vision"][190]])
    assert rl.score > vision.score and rl.like is None
    empty = ranker.train([], [], corpus["speech"][:5])
    assert [s.score for s in ranker.score(empty, corpus["rl"][:2])] == [0.5, 0.5]


def test_scoring_the_papers_just_trained_on_reuses_their_rows(corpus):
    """A digest scores its candidates right after training on them: the rows training computed give what the stored
    model computes from scratch (once: the next call computes them again)."""
    ranker = TfidfRanker()
    background = corpus["rl"][60:80] + corpus["speech"][60:80]
    model = ranker.train(corpus["rl"][:5], [], background)
    right_after = ranker.score(model, background)
    from_scratch = TfidfRanker().score(model, background)
    assert [s.score for s in right_after] == pytest.approx([s.score for s in from_scratch], abs=1e-12)
    assert [s[1:] for s in right_after] == [s[1:] for s in from_scratch]
    assert ranker.score(model, background) == from_scratch


@pytest.fixture
def embeddings():
    with FakeEmbeddings() as server:
        client = OpenAIEmbeddings(base_url=server.base_url, api_key="sk-test-embeddings", model="fake-embed",
                                  timeout_seconds=5, max_retries=0)  # fmt: skip
        try:
            yield server, client
        finally:
            client.close()


def test_embeddings_join_the_score(corpus, embeddings):
    """With ranking.embedding_model: the model also holds a regression over the papers' embeddings (from the
    endpoint, in batches, with the key); a new RL paper still outranks the others; each text is embedded once."""
    server, client = embeddings
    ranker = EmbeddingRanker(client, model="fake-embed")
    background = corpus["speech"][:40] + corpus["vision"][40:100]
    model = ranker.train(corpus["rl"][:8], corpus["vision"][:4], background)
    part = json.loads(model)["embedding"]
    assert part["model"] == "fake-embed" and len(part["coef"]) == DIMENSIONS
    assert {r["model"] for r in server.requests} == {"fake-embed"}
    assert max(len(r["input"]) for r in server.requests) <= 64
    assert {r["authorization"] for r in server.requests} == {"Bearer sk-test-embeddings"}
    assert sum(len(r["input"]) for r in server.requests) == 8 + 4 + 100
    candidates = [corpus["rl"][100], corpus["vision"][100], corpus["speech"][100]]
    rl, vision, speech = ranker.score(model, candidates)
    assert rl.score > max(vision.score, speech.score) and rl.like is not None
    asked = len(server.requests)
    assert ranker.score(model, candidates) == [rl, vision, speech] and len(server.requests) == asked
    assert TfidfRanker().score(model, candidates) != [rl, vision, speech]  # the TF-IDF part reads it alone


def test_without_embeddings_tfidf_alone_ranks(corpus, embeddings, caplog):
    """The endpoint down while training: the model's embedding part is empty and it scores as TF-IDF alone, saying
    so once per call in the log (host and model, never the key); a TF-IDF model is retrained for embeddings."""
    server, client = embeddings
    server.fail = True
    ranker = EmbeddingRanker(client, model="fake-embed")
    with caplog.at_level(logging.WARNING, logger="bot.clients.ranker"):
        model = ranker.train(corpus["rl"][:5], [], corpus["speech"][:20])
    assert json.loads(model)["embedding"] == {"model": "fake-embed", "coef": None, "intercept": 0.0}
    assert "embeddings from 127.0.0.1:" in caplog.text and "(fake-embed) failed" in caplog.text
    assert "TF-IDF alone" in caplog.text and "sk-test" not in caplog.text
    server.fail = False
    papers = corpus["rl"][120:125]
    assert ranker.score(model, papers) == TfidfRanker().score(model, papers)
    with pytest.raises(ValueError):
        ranker.score(TfidfRanker().train(corpus["rl"][:5], [], []), papers)
    with pytest.raises(ValueError):
        EmbeddingRanker(client, model="another-model").score(model, papers)


def test_an_idle_bot_does_not_load_the_rankers_libraries():
    """The wiring, the command line and a ranker built (as TasteService builds one for a channel below min_signals)
    load none of scikit-learn, SciPy, numpy or openai: they load when a channel first learns (the idle `paperboy
    run` stays small, benchmarks/idle_rss.py)."""
    code = (
        "import sys, bot.wiring, bot.cli\n"
        "from bot.clients.ranker import EmbeddingRanker, TfidfRanker\n"
        "TfidfRanker()\n"
        "loaded = [m for m in ('sklearn', 'scipy', 'numpy', 'openai') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
