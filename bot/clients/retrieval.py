"""Which passages of a paper bear on a question: BM25 over its paragraphs, by SQLite's FTS5.

Each call builds an FTS5 index of the passages in a private in-memory SQLite database (stdlib sqlite3, whose
SQLite has FTS5 built in), ranks them with FTS5's own `bm25()` and throws the index away. Why not the
deployment's database: the ranking must not depend on it. PostgreSQL's `ts_rank` is not BM25 (it ignores document
frequency and length), so the same question would reach different paragraphs on a SQLite and on a PostgreSQL
deployment, and the evaluation (benchmarks/ask_eval.py) would measure only one of them. A paper has a few hundred
passages at most: indexing them takes milliseconds, needs no table, no migration and nothing to clean up, and the
passages never touch the shared database. FTS5's BM25 (k1 = 1.2, b = 0.75) is kept by SQLite, not written here.

The question never reaches FTS5 as syntax: each of its words is quoted as an FTS5 string and the strings are
OR-ed, so `NEAR(`, `*`, `"`, `-`, `:` or `AND` in a question are just words (or nothing). Words that say nothing
about the content ("what", "does", "paper") are dropped first. The `porter` stemmer lets "datasets" find
"dataset"; the section heading is indexed beside the text with a lower weight, so "what were the results?"
prefers the results section without a heading outranking a paragraph that really says it.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from contextlib import closing

from bot.core.excerpt import Passage

HEADING_WEIGHT = 0.3  # against 1.0 for the passage's own text
MAX_QUERY_WORDS = 64  # a pasted essay is not a better question; it only makes the query slower

# Letters and digits only: FTS5's unicode61 tokenizer splits on everything else, underscores included.
_WORD = re.compile(r"[^\W_]+")
# English function words and the words every question about a paper has; matching them says nothing.
STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below between both
    but by can could did do does doing done down during each few for from further had has have having he her here
    hers him his how i if in into is it its itself just me more most my no nor not now of off on once only or other
    our ours out over own same she should so some such than that the their theirs them then there these they this
    those through to too under until up very was we were what when where which while who whom why will with would
    you your yours
    paper papers article study work authors author use used using tell say says said mention mentioned
    please explain describe give show shown
    """.split()
)


def query_words(question: str) -> list[str]:
    """The question's distinct content words, lower-cased, in order."""
    words = (word.casefold() for word in _WORD.findall(question))
    return list(dict.fromkeys(word for word in words if word not in STOP_WORDS))[:MAX_QUERY_WORDS]


def fts_query(words: Sequence[str]) -> str:
    """An FTS5 query matching any of `words`, each quoted as a string so none is read as syntax."""
    return " OR ".join('"' + word.replace('"', '""') + '"' for word in words)


class Bm25Retriever:
    """bot.core.ports.PassageRetriever: BM25 over the passages' text and headings (SQLite FTS5, in memory)."""

    def closest(self, question: str, passages: Sequence[Passage], *, limit: int) -> list[Passage]:
        words = query_words(question)
        if not words or not passages or limit <= 0:
            return []
        with closing(sqlite3.connect(":memory:")) as db:
            db.execute("CREATE VIRTUAL TABLE passages USING fts5(body, heading, tokenize='porter unicode61')")
            db.executemany(
                "INSERT INTO passages(rowid, body, heading) VALUES (?, ?, ?)",
                [
                    (index, passage.text, passage.section or passage.label or "")
                    for index, passage in enumerate(passages)
                ],
            )
            # bm25() is lower for a better match; ties keep the paper's order.
            rows = db.execute(
                "SELECT rowid FROM passages WHERE passages MATCH ? ORDER BY bm25(passages, 1.0, ?), rowid LIMIT ?",
                (fts_query(words), HEADING_WEIGHT, limit),
            ).fetchall()
        return [passages[index] for (index,) in rows]
