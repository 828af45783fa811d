"""A channel's taste as a linear model over TF-IDF of titles and abstracts (bot.core.ports.TasteRanker).

Training fits the TF-IDF (sublinear tf, English stop words, words and word pairs) on the liked, disliked and
background papers, keeps the terms of the liked and disliked papers and the background's most common ones, and fits a
logistic regression: liked +1, disliked -1, background as weak negatives. The model is plain JSON (terms, idf,
coefficients, the liked papers' vectors as anchors): nothing executable is read back from the database, and scoring
rebuilds the features from it with a fixed vocabulary.

scikit-learn and numpy are imported inside the functions: an idle bot never loads them.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from bot.clients.embeddings import EmbeddingsFailed
from bot.core.models import Paper
from bot.core.ports import TasteScore, TasteTraits

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

log = logging.getLogger(__name__)
Embedder = Callable[[Sequence[str]], list[list[float]]]  # bot.clients.embeddings.OpenAIEmbeddings

MODEL_VERSION = 1
MAX_TERMS = 20_000  # the liked and disliked papers' terms first, then the background's most common
MIN_BACKGROUND_PAPERS = 2  # a term only background papers have is kept when this many have it
MAX_ANCHORS = 200  # the liked papers kept for "like X" (the most recent ones given)
BACKGROUND_WEIGHT = 0.1  # one background paper weighs a tenth of a disliked one: most are merely not picked
SIMILAR = 0.12  # cosine similarity from which a candidate counts as like a liked paper
TOP_TERMS = 3  # terms named per candidate
_WORD = r"(?u)\b[^\W\d_][\w-]*\w\b"  # words of 2+ characters starting with a letter: no bare numbers
_DIGITS = 6


def _text(paper: Paper) -> str:
    # The title twice: it says what the paper is about more densely than the abstract.
    return f"{paper.title}\n{paper.title}\n{paper.abstract}"


def _features(terms: Sequence[str], idf: Sequence[float], papers: Sequence[Paper]) -> csr_matrix:
    """TF-IDF rows (sublinear tf, l2-normalized) of `papers` over a fixed vocabulary: what TfidfVectorizer computes,
    rebuilt from the stored terms and idf."""
    import numpy as np
    from scipy.sparse import diags
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.preprocessing import normalize

    counts = CountVectorizer(
        stop_words="english", ngram_range=(1, 2), token_pattern=_WORD, vocabulary={t: i for i, t in enumerate(terms)}
    ).transform([_text(p) for p in papers])
    counts = counts.astype(np.float64)
    counts.data = 1.0 + np.log(counts.data)
    weighted = counts @ diags(np.asarray(idf, dtype=np.float64))
    return normalize(weighted.tocsr(), norm="l2", copy=False)


def _vocabulary(
    signal_papers: Sequence[Paper], background: Sequence[Paper]
) -> tuple[list[str], list[float], csr_matrix]:
    """The terms the model knows, their idf over all the papers it is trained on, and those papers' rows (as
    _features would compute them)."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    everything = [*signal_papers, *background]
    vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english", ngram_range=(1, 2), token_pattern=_WORD)
    matrix = vectorizer.fit_transform([_text(p) for p in everything]).tocsc()
    names = vectorizer.get_feature_names_out()
    in_signals = np.asarray(matrix[: len(signal_papers)].getnnz(axis=0)).ravel() > 0
    document_frequency = np.diff(matrix.indptr)
    # The signal papers' terms; then the background's that several papers share, the most common first.
    kept = in_signals | (document_frequency >= MIN_BACKGROUND_PAPERS)
    order = np.lexsort((-document_frequency, ~in_signals))[: min(MAX_TERMS, int(kept.sum()))]
    order = np.sort(order)
    # Fewer columns, each row scaled back to unit length: what _features computes over these terms.
    rows = normalize(matrix[:, order].tocsr(), norm="l2", copy=False)
    return [str(names[i]) for i in order], [float(vectorizer.idf_[i]) for i in order], rows


def _rounded(values: Sequence[float]) -> list[float]:
    import numpy as np

    return [float(v) for v in np.round(np.asarray(values, dtype=np.float64), _DIGITS)]


def _sparse_row(row: csr_matrix) -> dict[str, list[Any]]:
    return {"i": [int(i) for i in row.indices], "v": _rounded(row.data)}


def _anchor_matrix(anchors: Sequence[dict[str, Any]], width: int) -> csr_matrix:
    import numpy as np
    from scipy.sparse import csr_matrix

    indptr = np.cumsum([0, *(len(a["i"]) for a in anchors)])
    indices = np.asarray([i for a in anchors for i in a["i"]], dtype=np.int64)
    data = np.asarray([v for a in anchors for v in a["v"]], dtype=np.float64)
    return csr_matrix((data, indices, indptr), shape=(len(anchors), width))


@dataclasses.dataclass(frozen=True)
class _Signals:
    """What a model is trained on: each paper once, liked before disliked before background."""

    liked: list[Paper]
    disliked: list[Paper]
    background: list[Paper]

    @classmethod
    def of(cls, liked: Sequence[Paper], disliked: Sequence[Paper], background: Sequence[Paper]) -> _Signals:
        liked = _unique(liked)
        liked_ids = {p.arxiv_id for p in liked}
        disliked = [p for p in _unique(disliked) if p.arxiv_id not in liked_ids]
        signal_ids = liked_ids | {p.arxiv_id for p in disliked}
        return cls(liked, disliked, [p for p in _unique(background) if p.arxiv_id not in signal_ids])

    @property
    def papers(self) -> list[Paper]:
        return [*self.liked, *self.disliked]

    @property
    def everything(self) -> list[Paper]:
        return [*self.liked, *self.disliked, *self.background]

    def fit(self, features: Any) -> tuple[list[float], float]:
        """Coefficients and intercept over `features` (a row per paper of `everything`): a logistic regression of
        liked (+1) against disliked and background (-1, the background weighing BACKGROUND_WEIGHT); with one side
        only, towards (or away from) its mean."""
        import numpy as np
        from sklearn.linear_model import LogisticRegression

        liked, signals = len(self.liked), len(self.papers)
        if not self.liked or not (self.disliked or self.background):
            rows, sign = (features[:liked], 1) if self.liked else (features[liked:signals], -1)
            return [float(c) for c in np.asarray(rows.mean(axis=0)).ravel() * sign], 0.0
        labels = [1] * liked + [-1] * (len(self.everything) - liked)
        weights = [1.0] * signals + [BACKGROUND_WEIGHT] * len(self.background)
        model = LogisticRegression(C=10.0, solver="liblinear", max_iter=200)
        model.fit(features, np.asarray(labels), sample_weight=np.asarray(weights))
        return [float(c) for c in model.coef_[0]], float(model.intercept_[0])


def _load(model_json: str) -> dict[str, Any]:
    try:
        model = json.loads(model_json)
    except ValueError as exc:
        raise ValueError(f"not a taste model: {exc}") from None
    if not isinstance(model, dict) or model.get("version") != MODEL_VERSION:
        raise ValueError("not a taste model of this version")
    if not (len(model["terms"]) == len(model["idf"]) == len(model["coef"])):
        raise ValueError("a taste model with mismatched terms and weights")
    return model


class TfidfRanker:
    """bot.core.ports.TasteRanker: TF-IDF and a logistic regression, stored as JSON.

    It remembers the rows of the papers it last trained on until the next score: a digest scores its candidates right
    after training on them (as the background), and those rows are what scoring would compute again."""

    def __init__(self) -> None:
        self._trained: tuple[str, dict[str, int], csr_matrix] | None = None  # model, row per paper id, rows

    def train(self, liked: Sequence[Paper], disliked: Sequence[Paper], background: Sequence[Paper]) -> str:
        signals = _Signals.of(liked, disliked, background)
        model, features = self._trained_model(signals)
        return self._dumped(model, signals, features)

    def _trained_model(self, signals: _Signals) -> tuple[dict[str, Any], csr_matrix | None]:
        """The model, and the rows of `signals.everything` it was fitted on (None without signals)."""
        if not signals.papers:
            empty = {"version": MODEL_VERSION, "terms": [], "idf": [], "coef": [], "intercept": 0.0, "anchors": []}
            return empty, None
        terms, idf, features = _vocabulary(signals.papers, signals.background)
        coef, intercept = signals.fit(features)
        anchors = [
            {"id": paper.arxiv_id, "title": paper.title, **_sparse_row(features[n])}
            for n, paper in enumerate(signals.liked)
        ][-MAX_ANCHORS:]  # fmt: skip
        model = {
            "version": MODEL_VERSION,
            "terms": terms,
            "idf": idf,  # exact: scoring rebuilds the rows training had
            "coef": _rounded(coef),
            "intercept": round(intercept, _DIGITS),
            "anchors": anchors,
        }
        return model, features

    def _dumped(self, model: dict[str, Any], signals: _Signals, features: csr_matrix | None) -> str:
        """The model as JSON, remembered with its training rows (one assignment: other threads train too)."""
        model_json = json.dumps(model, ensure_ascii=False, separators=(",", ":"))
        rows = {p.arxiv_id: n for n, p in enumerate(signals.everything)}
        self._trained = None if features is None else (model_json, rows, features)
        return model_json

    def score(self, model_json: str, papers: Sequence[Paper]) -> list[TasteScore]:
        import numpy as np

        model = _load(model_json)
        if not papers:
            return []
        if not model["terms"]:
            return [TasteScore(0.5, (), None, 0) for _ in papers]
        terms = model["terms"]
        features = self._rows(model_json, papers)
        if features is None:
            features = _features(terms, model["idf"], papers)
        coef = np.asarray(model["coef"], dtype=np.float64)
        decisions = features @ coef + float(model["intercept"])
        contributions = features.multiply(coef).tocsr()
        anchors = model["anchors"]
        similarity = (features @ _anchor_matrix(anchors, len(terms)).T).toarray() if anchors else None
        scores = []
        for n, decision in enumerate(decisions):
            start, end = contributions.indptr[n], contributions.indptr[n + 1]
            values, columns = contributions.data[start:end], contributions.indices[start:end]
            best = np.lexsort((columns, -values))  # largest first; ties by column, for a stable answer
            named = (terms[columns[i]] for i in best if values[i] > 0)
            like, similar = None, 0
            if similarity is not None:
                sims = similarity[n]
                similar = int((sims >= SIMILAR).sum())
                if similar:
                    like = str(anchors[int(sims.argmax())]["id"])
            scores.append(TasteScore(_sigmoid(float(decision)), _distinct(named, TOP_TERMS), like, similar))
        return scores

    def _rows(self, model_json: str, papers: Sequence[Paper]) -> csr_matrix | None:
        """The papers' rows as the last training computed them, if it was this model's and had them all; once (a
        bot keeps no candidates' rows between digests)."""
        trained, self._trained = self._trained, None
        if trained is None or trained[0] != model_json or any(p.arxiv_id not in trained[1] for p in papers):
            return None
        return trained[2][[trained[1][p.arxiv_id] for p in papers]]

    def describe(self, model_json: str, *, limit: int) -> TasteTraits:
        import numpy as np

        model = _load(model_json)
        coef = np.asarray(model["coef"], dtype=np.float64)
        order = np.argsort(-coef, kind="stable")
        terms = _distinct((model["terms"][i] for i in order if coef[i] > 0), limit)
        anchors = model["anchors"]
        if not anchors:
            return TasteTraits(terms, ())
        typical = (_anchor_matrix(anchors, len(coef)) @ coef).ravel()
        ranked = sorted(range(len(anchors)), key=lambda n: -typical[n])[:limit]
        return TasteTraits(terms, tuple((str(anchors[n]["id"]), str(anchors[n]["title"])) for n in ranked))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, x))))


def _unique(papers: Sequence[Paper]) -> list[Paper]:
    seen: dict[str, Paper] = {}
    for paper in papers:
        seen.setdefault(paper.arxiv_id, paper)
    return list(seen.values())


def _distinct(terms: Iterable[str], limit: int) -> tuple[str, ...]:
    """At most `limit` terms, in order, leaving out those that share all their words with one named before
    ("reward" after "reward model", and "reward model" after "reward")."""
    kept: list[str] = []
    for term in terms:
        if len(kept) == limit:
            break
        words = set(term.split())
        if any(words <= set(k.split()) or set(k.split()) <= words for k in kept):
            continue
        kept.append(term)
    return tuple(kept)


class EmbeddingRanker(TfidfRanker):
    """TfidfRanker's model (its terms and anchors say why), and a second logistic regression over the papers'
    embeddings from an OpenAI-compatible endpoint; a paper's score is the mean of both. When the endpoint fails,
    the TF-IDF model alone ranks (logged): a digest never waits on embeddings it cannot have."""

    def __init__(self, embed: Embedder, *, model: str) -> None:
        super().__init__()
        self._embed, self._model = embed, model

    def train(self, liked: Sequence[Paper], disliked: Sequence[Paper], background: Sequence[Paper]) -> str:
        signals = _Signals.of(liked, disliked, background)
        model, features = self._trained_model(signals)
        part: dict[str, Any] = {"model": self._model, "coef": None, "intercept": 0.0}
        vectors = self._vectors(signals.everything) if signals.papers else None
        if vectors is not None:
            coef, intercept = signals.fit(vectors)
            part.update(coef=_rounded(coef), intercept=round(intercept, _DIGITS))
        return self._dumped({**model, "embedding": part}, signals, features)

    def score(self, model_json: str, papers: Sequence[Paper]) -> list[TasteScore]:
        import numpy as np

        part = json.loads(model_json).get("embedding") if papers else None
        if papers and (not isinstance(part, dict) or part.get("model") != self._model):
            raise ValueError(f"a taste model trained without {self._model} embeddings")
        scores = super().score(model_json, papers)
        if part is None or part["coef"] is None or (vectors := self._vectors(papers)) is None:
            return scores
        decisions = vectors @ np.asarray(part["coef"], dtype=np.float64) + float(part["intercept"])
        return [s._replace(score=(s.score + _sigmoid(float(d))) / 2) for s, d in zip(scores, decisions, strict=True)]

    def _vectors(self, papers: Sequence[Paper]) -> Any:
        """The papers' embeddings, unit length, a row each; None when the endpoint failed (logged)."""
        import numpy as np
        from sklearn.preprocessing import normalize

        try:
            vectors = self._embed([_text(p) for p in papers])
        except EmbeddingsFailed as exc:
            log.warning("%s; ranking by TF-IDF alone", exc)
            return None
        return normalize(np.asarray(vectors, dtype=np.float64), norm="l2")
