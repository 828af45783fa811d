"""A channel's taste as a linear model over TF-IDF of titles and abstracts (bot.core.ports.TasteRanker).

Training fits the TF-IDF (sublinear tf, English stop words, words and word pairs) on the liked, disliked and
background papers, keeps the terms of the liked and disliked papers and the background's most common ones, and fits a
logistic regression: liked +1, disliked -1, background as weak negatives. The model is plain JSON (terms, idf,
coefficients, the liked papers' vectors as anchors): nothing executable is read back from the database, and scoring
rebuilds the features from it with a fixed vocabulary.

scikit-learn and numpy are imported inside the functions: an idle bot never loads them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from bot.core.models import Paper
from bot.core.ports import TasteScore, TasteTraits

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

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


def _fit(features: csr_matrix, labels: Sequence[int], weights: Sequence[float]) -> tuple[list[float], float]:
    """Coefficients and intercept of a logistic regression: liked (+1) against the rest (-1)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=10.0, solver="liblinear", max_iter=200)
    model.fit(features, np.asarray(labels), sample_weight=np.asarray(weights))
    return [float(c) for c in model.coef_[0]], float(model.intercept_[0])


def _centroid(features: csr_matrix, sign: int) -> tuple[list[float], float]:
    """With one side only (liked papers and nothing else, or no liked paper): towards (or away from) their mean."""
    import numpy as np

    return [float(c) for c in np.asarray(features.mean(axis=0)).ravel() * sign], 0.0


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
        liked = _unique(liked)
        disliked = [p for p in _unique(disliked) if p.arxiv_id not in {q.arxiv_id for q in liked}]
        signal_ids = {p.arxiv_id for p in (*liked, *disliked)}
        background = [p for p in _unique(background) if p.arxiv_id not in signal_ids]
        signal_papers = [*liked, *disliked]
        if not signal_papers:
            return json.dumps({"version": MODEL_VERSION, "terms": [], "idf": [], "coef": [], "intercept": 0.0,
                               "anchors": []})  # fmt: skip
        terms, idf, features = _vocabulary(signal_papers, background)
        if not liked:
            coef, intercept = _centroid(features[len(liked) : len(signal_papers)], -1)
        elif not disliked and not background:
            coef, intercept = _centroid(features[: len(liked)], 1)
        else:
            labels = [1] * len(liked) + [-1] * (len(disliked) + len(background))
            weights = [1.0] * len(signal_papers) + [BACKGROUND_WEIGHT] * len(background)
            coef, intercept = _fit(features, labels, weights)
        anchors = [
            {"id": paper.arxiv_id, "title": paper.title, **_sparse_row(features[n])}
            for n, paper in enumerate(liked)
        ][-MAX_ANCHORS:]  # fmt: skip
        model_json = json.dumps(
            {
                "version": MODEL_VERSION,
                "terms": terms,
                "idf": idf,  # exact: scoring rebuilds the rows training had
                "coef": _rounded(coef),
                "intercept": round(intercept, _DIGITS),
                "anchors": anchors,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        self._trained = (model_json, {p.arxiv_id: n for n, p in enumerate((*signal_papers, *background))}, features)
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
