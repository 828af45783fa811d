"""The schema as SQLAlchemy Core tables, in its latest shape, for queries.

migrations.py builds it with its own frozen DDL, never from these tables: a change here needs a new
step there (tests/test_migrations.py fails until a fresh install equals these tables).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes in, aware UTC out, on every backend (SQLite keeps no offset, so store UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


metadata = MetaData()

papers = Table(
    "papers",
    metadata,
    Column("arxiv_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("title", Text, nullable=False),
    Column("authors", JSON, nullable=False),  # list[str]
    Column("abstract", Text, nullable=False),
    Column("comment", Text),
    Column("journal_ref", Text),
    Column("primary_category", String(64), nullable=False),
    Column("categories", JSON, nullable=False),  # list[str]
    Column("published", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
)

# Only final (LLM) summaries are stored; the key is everything that changes the text, what it was written from too.
summaries = Table(
    "summaries",
    metadata,
    Column("arxiv_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("model", String(200), primary_key=True),
    Column("prompt_version", String(64), primary_key=True),
    Column("language", String(35), primary_key=True),
    Column("tldr", Text, nullable=False),
    Column("takeaways", JSON, nullable=False),  # list[str]
    Column("abstract_translation", Text),
    Column("generator", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("source", String(16), primary_key=True),  # html, pdf or abstract (bot.core.models.SourceKind)
    # One per takeaway: {"quote", "anchor_url"} or null; NULL for the summaries cached before evidence was kept.
    Column("evidence", JSON),
    Column("lead_figure", Text),  # the figure the LLM picked for the headline result ("Figure 3")
)

# LLM tokens spent (or reserved) per UTC day, for the daily budget.
token_usage = Table(
    "token_usage",
    metadata,
    Column("day", Date, primary_key=True),
    Column("tokens", BigInteger, nullable=False, default=0),
)

# Chat deliveries already handled ("slack:Ev123", "discord:msg:456"): a platform's retry or replay
# finds its key here and is ignored, whichever process handles it.
chat_events = Table(
    "chat_events",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("claimed_at", UTCDateTime, nullable=False),
)

# Subscriptions made from chat (/digest subscribe); those in the configuration file are not stored.
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("query", Text, nullable=False),
    Column("channels", JSON, nullable=False),  # list[str], qualified: slack:C0123, discord:123, console
    Column("time", String(8), nullable=False),  # HH:MM, local to `timezone`
    Column("timezone", String(64), nullable=False),
    Column("weekdays", JSON, nullable=False),  # list[int], Monday = 0
    Column("max_papers", Integer, nullable=False),
    Column("include", JSON, nullable=False),
    Column("exclude", JSON, nullable=False),
    Column("language", String(35), nullable=False),
    Column("post_when_empty", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Scheduled posts: one row per (subscription, channel, local date), taken before posting. The unique
# key is what makes a digest post at most once, whatever the number of processes or ticks.
digest_runs = Table(
    "digest_runs",
    metadata,
    Column("subscription", String(80), primary_key=True),
    Column("channel", String(100), primary_key=True),
    Column("local_date", Date, primary_key=True),
    Column("state", String(16), nullable=False),  # claimed sending sent empty failed interrupted ambiguous
    Column("late", Boolean, nullable=False),
    # Who holds the run: a fresh token per claim. Every later write checks it, so a process whose lease
    # ran out (and was taken over) can no longer start sending or record anything.
    Column("owner", String(36), nullable=False),
    Column("lease_until", UTCDateTime, nullable=False),
    Column("window_end", UTCDateTime),
    Column("message_ids", JSON, nullable=False),  # list[str], in order: where an interrupted run resumes
    Column("error", Text),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Every paper ever posted to a channel by a scheduled digest: each paper at most once per channel.
posted_papers = Table(
    "posted_papers",
    metadata,
    Column("channel", String(100), primary_key=True),
    Column("arxiv_id", String(64), primary_key=True),
    Column("posted_at", UTCDateTime, nullable=False),
)

# The next free turn of each request lane ("export.arxiv.org"), shared by every process: see storage/lanes.py.
request_lanes = Table(
    "request_lanes",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("next_at", Float, nullable=False),  # seconds since the epoch, on the database's clock
)

# Papers read in full (bot.core.fulltext.FullText), by (id, version): each is fetched from arxiv.org once, ever.
# Only html and pdf texts; `content` holds paragraphs, figures with their panels, table captions and the note,
# under a format number (storage/repository.py) so that a text stored in an older shape is read again, not misread.
full_texts = Table(
    "full_texts",
    metadata,
    Column("arxiv_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("kind", String(16), nullable=False),  # html or pdf
    Column("url", Text, nullable=False),  # the page or PDF it was read from (after redirects)
    Column("license", Text),
    Column("content", JSON, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
)

# The cards, digest entries and answers Paperboy posted, by the thread they are in (bot.core.questions.ThreadPlace):
# a message in that thread, or a reply to one of them, is a question about their papers. One row per paper of a
# message; the key also finds a message's papers (a reply to it), the index a thread's.
thread_cards = Table(
    "thread_cards",
    metadata,
    Column("location", String(100), primary_key=True),  # the conversation it is in: "slack:C0123", "discord:123"
    Column("message_id", String(100), primary_key=True),
    Column("thread", String(100), nullable=False),
    Column("channel", String(100), nullable=False),  # whose taste it counts to (a Discord thread's parent channel)
    Column("position", Integer, nullable=False),  # the paper's number in the thread ("#3"), 1-based
    Column("arxiv_id", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("posted_at", UTCDateTime, nullable=False),
    Index("ix_thread_cards_thread", "location", "thread"),
)

# The questions asked in a thread and their answers, so a follow-up (after a restart, or on another replica) sees
# them. Keyed by when and by whom: a retried write finds its own row. Only a thread's newest turns are kept.
thread_turns = Table(
    "thread_turns",
    metadata,
    Column("location", String(100), primary_key=True),
    Column("thread", String(100), primary_key=True),
    Column("asked_at", UTCDateTime, primary_key=True),
    Column("person", String(200), primary_key=True),  # qualified: "slack:U0123"
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),  # the answer's text as shown
    Column("arxiv_ids", JSON, nullable=False),  # list[str]: the papers it was about
)

# Answers already given (bot.core.ports.AnswerCache). The caller's key names the paper, the question, the
# conversation, the language, the model and the prompt; it is stored hashed (a question has no length limit, an
# index entry has). `payload` is the Answer as JSON under a format number (storage/repository.py).
answers = Table(
    "answers",
    metadata,
    Column("cache_key", String(64), primary_key=True),  # sha256 of the key, hex
    Column("arxiv_id", String(64), nullable=False),  # "" for an answer across several papers
    Column("version", Integer, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

# What people in a channel showed interest or disinterest in (bot.core.signals.Signal): one row per
# (channel, paper, person, kind), so removing a reaction removes its row; the key's prefix finds a channel's.
taste_signals = Table(
    "taste_signals",
    metadata,
    Column("channel", String(100), primary_key=True),
    Column("arxiv_id", String(64), primary_key=True),  # without version
    Column("person", String(200), primary_key=True),
    Column("kind", String(100), primary_key=True),  # the emoji name, "pasted", "more-like", "less-like"
    Column("source", String(16), nullable=False),  # reaction, pasted or command
    Column("value", Integer, nullable=False),  # 1 interest, -1 disinterest
    Column("at", UTCDateTime, nullable=False),
)

# Each channel's trained ranker (bot.core.signals.StoredTaste): opaque JSON, and the signals it was trained on.
channel_tastes = Table(
    "channel_tastes",
    metadata,
    Column("channel", String(100), primary_key=True),
    Column("signals_key", String(128), nullable=False),
    Column("signal_count", Integer, nullable=False),
    Column("trained_at", UTCDateTime, nullable=False),
    Column("model_json", Text, nullable=False),
)

# One row per applied migration step; the schema's version is the highest.
schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UTCDateTime, nullable=False),
)
