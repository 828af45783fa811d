"""SqlStore: bot.core.ports.Store over an AsyncEngine. Rows become core dataclasses here and go no further."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Table, case, delete, func, select, update

from bot.core.errors import LostClaim
from bot.core.fulltext import Figure, FullText, Paragraph
from bot.core.models import ArxivRef, DigestRun, Evidence, Paper, SourceKind, Subscription, Summary
from bot.core.questions import Answer, AnswerCitation, PostedCard, ThreadPaper, ThreadPlace, Turn
from bot.core.signals import Signal, StoredTaste
from storage.engine import WRITE, dialect_insert
from storage.retry import PATIENCE_SECONDS, retry_database
from storage.tables import (
    answers,
    channel_tastes,
    chat_events,
    digest_runs,
    full_texts,
    posted_papers,
    summaries,
    taste_signals,
    thread_cards,
    thread_turns,
    token_usage,
)
from storage.tables import papers as papers_table
from storage.tables import subscriptions as subscriptions_table

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

_MICROSECOND = dt.timedelta(microseconds=1)  # what both databases' timestamps resolve
# The newest turns kept per thread, older ones deleted: as many as chat.history_turns and
# chat.questions_per_thread_per_hour allow at most (50 each; the hourly cap counts these rows with questions_since).
TURNS_KEPT_PER_THREAD = 50
Method = TypeVar("Method", bound=Callable[..., Awaitable[Any]])


def _retried(what: str) -> Callable[[Method], Method]:
    """Retry the method while the database is unreachable (for the store's patience), then StorageUnavailable.
    Only for reads and for writes that are safe to repeat after a commit whose answer was lost."""

    def wrap(method: Method) -> Method:
        @functools.wraps(method)
        async def retrying(self: SqlStore, *args: Any, **kwargs: Any) -> Any:
            return await retry_database(
                lambda: method(self, *args, **kwargs), what=what, patience_seconds=self.patience_seconds
            )

        return cast(Method, retrying)

    return wrap


class SqlStore:
    """The paper cache, the summary cache and the daily token budget, the scheduler's ledger, the threads of
    posted cards and their questions, the answer cache and each channel's taste, on SQLite or PostgreSQL.

    The engine belongs to whoever made it; every call uses its own connection and transaction. The
    scheduler's ledger calls and a chat answer's calls ride out a short database outage (`patience_seconds`),
    then raise StorageUnavailable.
    """

    def __init__(self, engine: AsyncEngine, *, patience_seconds: float = PATIENCE_SECONDS) -> None:
        self._engine = engine
        self.patience_seconds = patience_seconds
        self._last_claimed_at = dt.datetime.min.replace(tzinfo=dt.UTC)
        self._writer = engine.execution_options(**WRITE)
        self._insert = dialect_insert(engine, "SqlStore")  # the dialect's own insert(), for ON CONFLICT

    # -- papers

    @_retried("reading the paper cache")
    async def get_papers(self, refs: Sequence[ArxivRef], *, fresh_since: dt.datetime) -> dict[ArxivRef, Paper]:
        """Cached papers. A versioned ref matches exactly; an unversioned ref matches the newest
        version stored, if it was fetched at or after `fresh_since`."""
        if not refs:
            return {}
        query = select(papers_table).where(papers_table.c.arxiv_id.in_({r.arxiv_id for r in refs}))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        by_key = {(row.arxiv_id, row.version): row for row in rows}
        newest: dict[str, Any] = {}  # arxiv_id -> row of its highest version
        for row in rows:
            if row.arxiv_id not in newest or row.version > newest[row.arxiv_id].version:
                newest[row.arxiv_id] = row
        found: dict[ArxivRef, Paper] = {}
        for ref in refs:
            if ref.version is not None:
                match = by_key.get((ref.arxiv_id, ref.version))
            else:
                # A stale newest version is a miss, not a reason to serve an older one.
                match = newest.get(ref.arxiv_id)
                match = match if match is not None and match.fetched_at >= fresh_since else None
            if match is not None:
                found[ref] = _paper(match)
        return found

    @_retried("caching papers")
    async def save_papers(self, papers: Sequence[Paper], *, fetched_at: dt.datetime) -> None:
        # Deduplicated: PostgreSQL refuses to upsert one key twice in one statement.
        rows = {(p.arxiv_id, p.version): _paper_row(p, fetched_at) for p in papers}
        if rows:
            await self._upsert(papers_table, list(rows.values()))

    # -- summaries

    @_retried("reading the summary cache")
    async def get_summary(
        self,
        arxiv_id: str,
        version: int,
        *,
        model: str,
        prompt_version: str,
        language: str,
        source: SourceKind = "abstract",
    ) -> Summary | None:
        """The cached summary written from `source` (the paper's HTML or PDF, or its abstract), if any."""
        c = summaries.c
        query = select(summaries).where(
            c.arxiv_id == arxiv_id,
            c.version == version,
            c.model == model,
            c.prompt_version == prompt_version,
            c.language == language,
            c.source == source,
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).one_or_none()
        if row is None:
            return None
        return Summary(
            language=row.language,
            tldr=row.tldr,
            takeaways=tuple(row.takeaways),
            abstract_translation=row.abstract_translation,
            generator=row.generator,
            model=row.model,
            prompt_version=row.prompt_version,
            cached=True,
            source=row.source,
            evidence=tuple(_evidence(item) for item in row.evidence or ()),
            lead_figure=row.lead_figure,
        )

    @_retried("caching a summary")
    async def save_summary(self, paper: Paper, summary: Summary) -> None:
        """Cache an LLM summary as final (idempotent on its key)."""
        if summary.generator != "llm" or summary.model is None:
            raise ValueError("only LLM summaries with a model are cached")
        row = {
            "arxiv_id": paper.arxiv_id,
            "version": paper.version,
            "model": summary.model,
            "prompt_version": summary.prompt_version,
            "language": summary.language,
            "tldr": summary.tldr,
            "takeaways": list(summary.takeaways),
            "abstract_translation": summary.abstract_translation,
            "generator": summary.generator,
            "created_at": dt.datetime.now(dt.UTC),
            "source": summary.source,
            "evidence": [_evidence_json(item) for item in summary.evidence],
            "lead_figure": summary.lead_figure,
        }
        await self._upsert(summaries, [row])

    # -- full texts (bot.core.ports.FullTextStore)

    @_retried("reading the stored full texts")
    async def get_full_text(self, arxiv_id: str, version: int) -> FullText | None:
        query = select(full_texts).where(full_texts.c.arxiv_id == arxiv_id, full_texts.c.version == version)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).one_or_none()
        return None if row is None else _full_text(row)

    @_retried("storing a full text")
    async def save_full_text(self, text: FullText) -> None:
        """Store an html or pdf text (idempotent on (id, version)); an abstract-only stand-in is refused."""
        if text.kind not in ("html", "pdf"):
            raise ValueError("only full texts read from the HTML or the PDF are stored")
        row = {
            "arxiv_id": text.arxiv_id,
            "version": text.version,
            "kind": text.kind,
            "url": text.url,
            "license": text.license,
            "content": _full_text_content(text),
            "fetched_at": dt.datetime.now(dt.UTC),
        }
        await self._upsert(full_texts, [row])

    # -- daily token budget (RELIABILITY row 29)

    # A retried reservation whose first attempt did commit counts twice: the budget errs on the safe side.
    @_retried("reserving tokens from the daily budget")
    async def reserve_tokens(self, day: dt.date, amount: int, *, budget: int) -> bool:
        """Atomically add `amount` to the day's usage if the result stays within `budget`."""
        if amount < 0:
            raise ValueError("amount must not be negative")
        usage = token_usage.c
        async with self._writer.begin() as conn:
            await self._ensure_day(conn, day)
            # One conditional UPDATE: the row lock (PostgreSQL) or the write lock (SQLite) makes the
            # check and the add a single step, so concurrent reservations never overshoot.
            result = await conn.execute(
                update(token_usage)
                .where(usage.day == day, usage.tokens + amount <= budget)
                .values(tokens=usage.tokens + amount)
            )
        return result.rowcount == 1

    @_retried("correcting the daily token count")
    async def adjust_tokens(self, day: dt.date, delta: int) -> None:
        """Correct a reservation by the difference between the estimate and the real usage."""
        usage = token_usage.c
        async with self._writer.begin() as conn:
            await self._ensure_day(conn, day)
            await conn.execute(
                update(token_usage)
                .where(usage.day == day)
                .values(tokens=case((usage.tokens + delta < 0, 0), else_=usage.tokens + delta))
            )

    @_retried("reading the daily token count")
    async def tokens_used(self, day: dt.date) -> int:
        async with self._engine.connect() as conn:
            used = (await conn.execute(select(token_usage.c.tokens).where(token_usage.c.day == day))).scalar()
        return int(used or 0)

    # -- chat deliveries (bot.core.ports.EventLog)

    async def claim_event(self, key: str) -> bool:
        # One claim time for every attempt, unique in this store: a retry whose earlier attempt committed (its
        # answer lost) finds its own time on the claim, and answers the message after all.
        claimed_at = self._last_claimed_at = max(dt.datetime.now(dt.UTC), self._last_claimed_at + _MICROSECOND)
        return await retry_database(
            lambda: self._claim_event(key, claimed_at), what="recording a chat message",
            patience_seconds=self.patience_seconds,
        )  # fmt: skip

    async def _claim_event(self, key: str, claimed_at: dt.datetime) -> bool:
        insert = self._insert(chat_events).values(key=key, claimed_at=claimed_at)
        async with self._writer.begin() as conn:
            if (await conn.execute(insert.on_conflict_do_nothing(index_elements=["key"]))).rowcount == 1:
                return True
            query = select(chat_events.c.claimed_at).where(chat_events.c.key == key)
            return _aware((await conn.execute(query)).scalar()) == claimed_at

    async def forget_events(self, before: dt.datetime) -> int:
        async with self._writer.begin() as conn:
            result = await conn.execute(delete(chat_events).where(chat_events.c.claimed_at < before))
        return result.rowcount

    # -- subscriptions made in chat (bot.core.ports.SubscriptionBook)

    @_retried("saving a subscription")
    async def save_subscription(self, subscription: Subscription) -> None:
        await self._upsert(subscriptions_table, [_subscription_row(subscription)])

    @_retried("removing a subscription")
    async def delete_subscription(self, name: str) -> bool:
        async with self._writer.begin() as conn:
            result = await conn.execute(delete(subscriptions_table).where(subscriptions_table.c.name == name))
        return result.rowcount == 1

    @_retried("reading the subscriptions")
    async def list_subscriptions(self) -> list[Subscription]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(subscriptions_table).order_by(subscriptions_table.c.name))).all()
        return [_subscription(row) for row in rows]

    # -- scheduled posts (bot.core.ports.RunLedger)

    async def claim_run(
        self,
        subscription: str,
        channel: str,
        local_date: dt.date,
        *,
        late: bool,
        now: dt.datetime,
        lease_until: dt.datetime,
    ) -> DigestRun | None:
        # One token for every attempt: a retry whose earlier attempt did commit finds the claim is its own.
        row = {
            "subscription": subscription, "channel": channel, "local_date": local_date, "state": "claimed",
            "late": late, "owner": str(uuid.uuid4()), "lease_until": lease_until, "message_ids": [], "updated_at": now,
        }  # fmt: skip
        return await retry_database(
            lambda: self._claim_run(row),
            what=f"claiming digest {subscription} for {channel} on {local_date}",
            patience_seconds=self.patience_seconds,
        )

    async def _claim_run(self, row: dict[str, Any]) -> DigestRun | None:
        key = _run_key(row["subscription"], row["channel"], row["local_date"])
        now, owner, lease_until = row["updated_at"], row["owner"], row["lease_until"]
        async with self._writer.begin() as conn:
            inserted = await conn.execute(self._insert(digest_runs).values(row).on_conflict_do_nothing())
            if inserted.rowcount != 1:
                # Take over only what is safe to redo: nothing sent yet (lease expired), or stopped cleanly.
                await conn.execute(
                    update(digest_runs)
                    .where(_run_where(key))
                    .where(
                        ((digest_runs.c.state == "claimed") & (digest_runs.c.lease_until < now))
                        | (digest_runs.c.state == "interrupted")
                    )
                    .values(state="claimed", owner=owner, lease_until=lease_until, updated_at=now)
                )
            current = (await conn.execute(select(digest_runs).where(_run_where(key)))).one()
        # Ours when inserted or taken over now, or when an earlier attempt committed but its answer was lost.
        return _run(current) if current.owner == owner else None

    @_retried("starting to post a digest")
    async def start_sending(self, run: DigestRun, *, window_end: dt.datetime, lease_until: dt.datetime) -> None:
        # Only from "claimed", and only by the claim's owner: a run taken over meanwhile is not ours to post.
        # "sending" under our own token is this very call, committed by an attempt whose answer was lost.
        await self._update_run(
            run, only_state=("claimed", "sending"), state="sending", window_end=window_end, lease_until=lease_until
        )

    @_retried("recording a message the platform accepted")
    async def record_message(self, run: DigestRun, message_id: str, *, lease_until: dt.datetime) -> None:
        key = _run_key(run.subscription, run.channel, run.local_date)
        async with self._writer.begin() as conn:
            ids = (await conn.execute(select(digest_runs.c.message_ids).where(_run_where(key)))).scalar_one()
            # A retry (its first attempt committed, the answer was lost) must not record the message twice: a
            # resumed run would then skip one it never sent. Messages are recorded in order, so it is the last.
            recorded = ids if ids and ids[-1] == message_id else [*ids, message_id]
            # Each accepted message also extends the lease: a long, paced send is not mistaken for a crash.
            await self._update_in(conn, run, message_ids=recorded, lease_until=lease_until, only_state="sending")

    @_retried("recording how a digest ended")
    async def finish_run(self, run: DigestRun, *, state: str, error: str | None = None) -> None:
        await self._update_run(run, state=state, error=error)

    @_retried("checking for digests left sending")
    async def expire_sending(self, now: dt.datetime) -> list[DigestRun]:
        stale = (digest_runs.c.state == "sending") & (digest_runs.c.lease_until < now)
        expired = []
        async with self._writer.begin() as conn:
            for row in (await conn.execute(select(digest_runs).where(stale))).all():
                # Row by row, re-checking the state: of two processes, one marks it (and reports it).
                key = _run_key(row.subscription, row.channel, row.local_date)
                marked = await conn.execute(
                    update(digest_runs).where(_run_where(key) & stale).values(state="ambiguous", updated_at=now)
                )
                if marked.rowcount == 1:
                    expired.append(dataclasses.replace(_run(row), state="ambiguous"))
        return expired

    @_retried("reading the digest ledger")
    async def has_run(self, subscription: str, channel: str, local_date: dt.date) -> bool:
        query = select(digest_runs.c.state).where(_run_where(_run_key(subscription, channel, local_date)))
        async with self._engine.connect() as conn:
            return (await conn.execute(query)).first() is not None

    @_retried("reading the digest ledger")
    async def last_window_end(self, subscription: str, channel: str, *, before: dt.date) -> dt.datetime | None:
        query = select(func.max(digest_runs.c.window_end)).where(
            digest_runs.c.subscription == subscription,
            digest_runs.c.channel == channel,
            digest_runs.c.local_date < before,
            digest_runs.c.state.in_(("sent", "empty", "sending", "ambiguous", "interrupted")),
        )
        async with self._engine.connect() as conn:
            value = (await conn.execute(query)).scalar()
        return _aware(value)

    @_retried("reading the papers already posted")
    async def posted_paper_ids(self, channel: str) -> set[str]:
        query = select(posted_papers.c.arxiv_id).where(posted_papers.c.channel == channel)
        async with self._engine.connect() as conn:
            return set((await conn.execute(query)).scalars())

    @_retried("recording the papers posted")
    async def record_posted_papers(self, channel: str, arxiv_ids: Sequence[str]) -> None:
        if not arxiv_ids:
            return
        now = dt.datetime.now(dt.UTC)
        rows = [{"channel": channel, "arxiv_id": arxiv_id, "posted_at": now} for arxiv_id in dict.fromkeys(arxiv_ids)]
        async with self._writer.begin() as conn:
            await conn.execute(self._insert(posted_papers).values(rows).on_conflict_do_nothing())

    async def recent_runs(self, limit: int = 50) -> list[DigestRun]:
        query = select(digest_runs).order_by(digest_runs.c.updated_at.desc()).limit(limit)
        async with self._engine.connect() as conn:
            return [_run(row) for row in (await conn.execute(query)).all()]

    async def _update_run(
        self, run: DigestRun, *, only_state: str | tuple[str, ...] | None = None, **values: Any
    ) -> None:
        async with self._writer.begin() as conn:
            await self._update_in(conn, run, only_state=only_state, **values)

    async def _update_in(
        self, conn: Any, run: DigestRun, *, only_state: str | tuple[str, ...] | None = None, **values: Any
    ) -> None:
        """Update the run if this claim still owns it (and, with only_state, is in that state); else LostClaim."""
        where = _run_where(_run_key(run.subscription, run.channel, run.local_date)) & (digest_runs.c.owner == run.owner)
        if only_state is not None:
            where &= digest_runs.c.state.in_((only_state,) if isinstance(only_state, str) else only_state)
        result = await conn.execute(
            update(digest_runs).where(where).values(**values, updated_at=dt.datetime.now(dt.UTC))
        )
        if result.rowcount != 1:
            raise LostClaim(f"digest {run.subscription} for {run.channel} on {run.local_date} is no longer ours")

    # -- threads and their questions (bot.core.ports.ThreadBook)

    @_retried("recording the cards posted in a thread")
    async def record_cards(self, cards: Sequence[PostedCard]) -> None:
        """Remember posted cards under their thread; a card recorded again (a retry, a resumed digest) stays as
        first recorded."""
        now = dt.datetime.now(dt.UTC)
        # Deduplicated: PostgreSQL refuses to touch one key twice in one statement.
        rows = {(c.place.location, c.message_id, c.arxiv_id): _card_row(c, now) for c in cards}
        if not rows:
            return
        async with self._writer.begin() as conn:
            await conn.execute(self._insert(thread_cards).values(list(rows.values())).on_conflict_do_nothing())

    @_retried("reading the papers of a thread")
    async def thread_papers(self, location: str, thread: str) -> list[ThreadPaper]:
        """The papers posted in this thread, by position (one per paper: its first card)."""
        c = thread_cards.c
        query = select(thread_cards).where(c.location == location, c.thread == thread)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.order_by(*_CARD_ORDER))).all()
        return _first_card_per_paper(rows)

    @_retried("reading the papers of a message")
    async def message_papers(self, location: str, message_id: str) -> tuple[ThreadPlace, list[ThreadPaper]] | None:
        """The thread a message of ours was posted in and the papers it carried; None for a message not ours."""
        c = thread_cards.c
        query = select(thread_cards).where(c.location == location, c.message_id == message_id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query.order_by(*_CARD_ORDER))).all()
        if not rows:
            return None
        return ThreadPlace(location, rows[0].thread, rows[0].channel), _first_card_per_paper(rows)

    @_retried("recording a question and its answer")
    async def add_turn(self, place: ThreadPlace, turn: Turn) -> None:
        """Keep the turn (a retry finds it kept: same thread, time and person), then only the thread's newest
        TURNS_KEPT_PER_THREAD turns, so a long conversation does not grow the table without end."""
        row = {
            "location": place.location,
            "thread": place.thread,
            "asked_at": turn.asked_at,
            "person": turn.person,
            "question": turn.question,
            "answer": turn.answer,
            "arxiv_ids": list(turn.arxiv_ids),
        }
        c = thread_turns.c
        in_thread = (c.location == place.location) & (c.thread == place.thread)
        oldest_kept = (
            select(c.asked_at)
            .where(in_thread)
            .order_by(c.asked_at.desc())
            .offset(TURNS_KEPT_PER_THREAD - 1)
            .limit(1)
            .scalar_subquery()
        )
        async with self._writer.begin() as conn:
            await conn.execute(self._insert(thread_turns).values(row).on_conflict_do_nothing())
            # With fewer turns the subquery is NULL and the comparison deletes nothing.
            await conn.execute(delete(thread_turns).where(in_thread, c.asked_at < oldest_kept))

    @_retried("reading the conversation of a thread")
    async def recent_turns(self, location: str, thread: str, *, limit: int) -> list[Turn]:
        """The thread's latest `limit` questions and answers, oldest first."""
        if limit <= 0:
            return []
        c = thread_turns.c
        query = (
            select(thread_turns)
            .where(c.location == location, c.thread == thread)
            .order_by(c.asked_at.desc(), c.person.desc())
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_turn(row) for row in reversed(rows)]

    @_retried("counting the questions of a thread")
    async def questions_since(self, location: str, thread: str, since: dt.datetime) -> int:
        """How many questions were answered in this thread since `since` (the per-thread hourly cap)."""
        c = thread_turns.c
        query = select(func.count()).where(c.location == location, c.thread == thread, c.asked_at >= since)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    # -- answers already given (bot.core.ports.AnswerCache)

    @_retried("reading the answer cache")
    async def get_answer(self, key: str) -> Answer | None:
        query = select(answers.c.payload).where(answers.c.cache_key == _answer_key(key))
        async with self._engine.connect() as conn:
            payload = (await conn.execute(query)).scalar()
        return _answer(payload)

    @_retried("caching an answer")
    async def save_answer(self, key: str, answer: Answer) -> None:
        """Cache the answer under `key`, replacing any before it (idempotent)."""
        row = {
            "cache_key": _answer_key(key),
            "arxiv_id": answer.arxiv_id,
            "version": answer.version,
            "payload": _answer_json(answer),
            "created_at": dt.datetime.now(dt.UTC),
        }
        await self._upsert(answers, [row])

    # -- a channel's taste (bot.core.ports.TasteBook)

    @_retried("recording a reaction or a pasted paper")
    async def add_signal(self, signal: Signal) -> bool:
        """Record it (replacing the same channel, paper, person and kind); True when it was not there before.
        A retry whose first attempt committed answers False: the signal is there, once."""
        row = dataclasses.asdict(signal)  # the table's columns are the value's fields
        async with self._writer.begin() as conn:
            # The insert alone decides whether it is new, atomically on both databases; then replace what differs.
            if (await conn.execute(self._insert(taste_signals).values(row).on_conflict_do_nothing())).rowcount == 1:
                return True
            key = _signal_where(signal.channel, signal.arxiv_id, signal.person, signal.kind)
            await conn.execute(
                update(taste_signals).where(key).values(source=signal.source, value=signal.value, at=signal.at)
            )
        return False

    @_retried("removing a reaction")
    async def remove_signal(self, channel: str, arxiv_id: str, person: str, kind: str) -> bool:
        """Forget it (a reaction removed); True when there was one."""
        async with self._writer.begin() as conn:
            result = await conn.execute(delete(taste_signals).where(_signal_where(channel, arxiv_id, person, kind)))
        return result.rowcount == 1

    @_retried("reading a channel's reactions")
    async def channel_signals(self, channel: str) -> list[Signal]:
        """The channel's signals, oldest first."""
        c = taste_signals.c
        query = select(taste_signals).where(c.channel == channel).order_by(c.at, c.arxiv_id, c.person, c.kind)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_signal(row) for row in rows]

    @_retried("reading a channel's ranker")
    async def get_taste(self, channel: str) -> StoredTaste | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(channel_tastes).where(channel_tastes.c.channel == channel))).one_or_none()
        return None if row is None else StoredTaste(**row._mapping)  # its columns are the value's fields

    @_retried("saving a channel's ranker")
    async def save_taste(self, taste: StoredTaste) -> None:
        """Create or replace the channel's ranker."""
        await self._upsert(channel_tastes, [dataclasses.asdict(taste)])

    # -- helpers

    async def _ensure_day(self, conn: Any, day: dt.date) -> None:
        insert = self._insert(token_usage).values(day=day, tokens=0)
        await conn.execute(insert.on_conflict_do_nothing(index_elements=["day"]))

    async def _upsert(self, table: Table, rows: list[Mapping[str, Any]]) -> None:
        insert = self._insert(table).values(rows)
        keys = [c.name for c in table.primary_key.columns]
        changes = {c.name: insert.excluded[c.name] for c in table.columns if c.name not in keys}
        async with self._writer.begin() as conn:
            await conn.execute(insert.on_conflict_do_update(index_elements=keys, set_=changes))


def _paper_row(paper: Paper, fetched_at: dt.datetime) -> dict[str, Any]:
    return {
        "arxiv_id": paper.arxiv_id,
        "version": paper.version,
        "title": paper.title,
        "authors": list(paper.authors),
        "abstract": paper.abstract,
        "comment": paper.comment,
        "journal_ref": paper.journal_ref,
        "primary_category": paper.primary_category,
        "categories": list(paper.categories),
        "published": paper.published,
        "updated": paper.updated,
        "fetched_at": fetched_at,
    }


def _paper(row: Any) -> Paper:
    return Paper(
        arxiv_id=row.arxiv_id,
        version=row.version,
        title=row.title,
        authors=tuple(row.authors),
        abstract=row.abstract,
        comment=row.comment,
        journal_ref=row.journal_ref,
        primary_category=row.primary_category,
        categories=tuple(row.categories),
        published=row.published,
        updated=row.updated,
    )


def _evidence_json(evidence: Evidence | None) -> dict[str, str] | None:
    return None if evidence is None else {"quote": evidence.quote, "anchor_url": evidence.anchor_url}


def _evidence(data: Any) -> Evidence | None:
    return Evidence(quote=data["quote"], anchor_url=data["anchor_url"]) if isinstance(data, dict) else None


# The shape of full_texts.content. A row of another format is treated as absent: the paper is read again.
_FULL_TEXT_FORMAT = 1


def _full_text_content(text: FullText) -> dict[str, Any]:
    return {
        "format": _FULL_TEXT_FORMAT,
        "paragraphs": [[p.anchor, p.section, p.text] for p in text.paragraphs],
        "figures": [_figure_json(f) for f in text.figures],
        "table_captions": list(text.table_captions),
        "note": text.note,
    }


def _figure_json(figure: Figure) -> dict[str, Any]:
    return {
        "label": figure.label,
        "caption": figure.caption,
        "anchor": figure.anchor,
        "image_url": figure.image_url,
        "kind": figure.kind,
        "panels": [_figure_json(panel) for panel in figure.panels],
    }


def _full_text(row: Any) -> FullText | None:
    content = row.content
    if not isinstance(content, dict) or content.get("format") != _FULL_TEXT_FORMAT:
        return None
    return FullText(
        arxiv_id=row.arxiv_id,
        version=row.version,
        kind=row.kind,
        url=row.url,
        license=row.license,
        paragraphs=tuple(Paragraph(anchor, section, text) for anchor, section, text in content["paragraphs"]),
        figures=tuple(_figure(f) for f in content["figures"]),
        table_captions=tuple(content["table_captions"]),
        note=content["note"],
    )


def _figure(data: dict[str, Any]) -> Figure:
    return Figure(
        label=data["label"],
        caption=data["caption"],
        anchor=data["anchor"],
        image_url=data["image_url"],
        kind=data["kind"],
        panels=tuple(_figure(panel) for panel in data["panels"]),
    )


# A thread's (or a message's) cards, first first: a paper's first card is the one at its lowest position.
_CARD_ORDER = (thread_cards.c.position, thread_cards.c.posted_at, thread_cards.c.message_id, thread_cards.c.arxiv_id)


def _card_row(card: PostedCard, posted_at: dt.datetime) -> dict[str, Any]:
    return {
        "location": card.place.location,
        "message_id": card.message_id,
        "thread": card.place.thread,
        "channel": card.place.channel,
        "position": card.position,
        "arxiv_id": card.arxiv_id,
        "version": card.version,
        "title": card.title,
        "posted_at": posted_at,
    }


def _first_card_per_paper(rows: Sequence[Any]) -> list[ThreadPaper]:
    """One ThreadPaper per paper, from rows in _CARD_ORDER (a later answer naming it again adds nothing)."""
    papers: dict[str, ThreadPaper] = {}
    for row in rows:
        if row.arxiv_id not in papers:
            papers[row.arxiv_id] = ThreadPaper(
                position=row.position,
                arxiv_id=row.arxiv_id,
                version=row.version,
                message_id=row.message_id,
                title=row.title,
            )
    return list(papers.values())


def _turn(row: Any) -> Turn:
    return Turn(
        asked_at=row.asked_at,
        person=row.person,
        question=row.question,
        answer=row.answer,
        arxiv_ids=tuple(row.arxiv_ids),
    )


def _answer_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


# The shape of answers.payload. A row of another format is treated as absent: the question is answered again.
_ANSWER_FORMAT = 1


def _answer_json(answer: Answer) -> dict[str, Any]:
    content = dataclasses.asdict(answer)  # citations become dicts, tuples lists (in JSON)
    del content["cached"]  # a property of the reading, not of the answer
    return {"format": _ANSWER_FORMAT, **content}


def _answer(payload: Any) -> Answer | None:
    if not isinstance(payload, dict) or payload.get("format") != _ANSWER_FORMAT:
        return None
    names = {f.name for f in dataclasses.fields(Answer)} - {"cached", "citations", "arxiv_ids"}
    return Answer(
        **{name: payload[name] for name in names if name in payload},
        citations=tuple(AnswerCitation(**citation) for citation in payload["citations"]),
        arxiv_ids=tuple(payload["arxiv_ids"]),
        cached=True,
    )


def _signal_where(channel: str, arxiv_id: str, person: str, kind: str) -> Any:
    c = taste_signals.c
    return (c.channel == channel) & (c.arxiv_id == arxiv_id) & (c.person == person) & (c.kind == kind)


def _signal(row: Any) -> Signal:
    return Signal(**row._mapping)  # its columns are the value's fields


def _subscription_row(sub: Subscription) -> dict[str, Any]:
    return {
        "name": sub.name,
        "query": sub.query,
        "channels": list(sub.channels),
        "time": sub.time.strftime("%H:%M"),
        "timezone": sub.timezone,
        "weekdays": list(sub.weekdays),
        "max_papers": sub.max_papers,
        "include": list(sub.include),
        "exclude": list(sub.exclude),
        "language": sub.language,
        "post_when_empty": sub.post_when_empty,
        "updated_at": dt.datetime.now(dt.UTC),
    }


def _subscription(row: Any) -> Subscription:
    return Subscription(
        name=row.name,
        query=row.query,
        channels=tuple(row.channels),
        time=dt.time.fromisoformat(row.time),
        timezone=row.timezone,
        weekdays=tuple(row.weekdays),
        max_papers=row.max_papers,
        include=tuple(row.include),
        exclude=tuple(row.exclude),
        language=row.language,
        post_when_empty=row.post_when_empty,
    )


def _run_key(subscription: str, channel: str, local_date: dt.date) -> tuple[str, str, dt.date]:
    return (subscription, channel, local_date)


def _run_where(key: tuple[str, str, dt.date]) -> Any:
    subscription, channel, local_date = key
    return (
        (digest_runs.c.subscription == subscription)
        & (digest_runs.c.channel == channel)
        & (digest_runs.c.local_date == local_date)
    )


def _run(row: Any) -> DigestRun:
    return DigestRun(
        subscription=row.subscription,
        channel=row.channel,
        local_date=row.local_date,
        state=row.state,
        late=row.late,
        window_end=row.window_end,
        message_ids=tuple(row.message_ids),
        error=row.error,
        owner=row.owner,
    )


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    # func.max() bypasses the column type on SQLite: the value may come back naive (it is UTC).
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value
