"""SqlStore: bot.core.ports.Store over an AsyncEngine. Rows become core dataclasses here and go no further."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Table, case, delete, func, select, update

from bot.core.errors import LostClaim
from bot.core.fulltext import Figure, FullText, Paragraph
from bot.core.models import ArxivRef, DigestRun, Evidence, Paper, SourceKind, Subscription, Summary
from storage.engine import WRITE, dialect_insert
from storage.retry import PATIENCE_SECONDS, retry_database
from storage.tables import chat_events, digest_runs, full_texts, posted_papers, summaries, token_usage
from storage.tables import papers as papers_table
from storage.tables import subscriptions as subscriptions_table

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

_MICROSECOND = dt.timedelta(microseconds=1)  # what both databases' timestamps resolve
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
    """The paper cache, the summary cache and the daily token budget, on SQLite or PostgreSQL.

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
