"""When digests are due, and which papers a digest covers. Pure functions of an aware `now`.

arXiv announces new papers Sunday to Thursday at 20:00 US Eastern. Monday to Thursday, an
announcement carries the submissions received before 14:00 Eastern that day; Sunday's carries
those received before Friday 14:00. There is none on Friday or Saturday evenings, so a Saturday
digest has nothing new and a Monday morning digest covers Sunday's announcement.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from bot.core.models import Subscription

EASTERN = zoneinfo.ZoneInfo("America/New_York")
ANNOUNCE_AT = dt.time(20, 0)
CUTOFF_AT = dt.time(14, 0)
ANNOUNCE_WEEKDAYS = (6, 0, 1, 2, 3)  # Sunday to Thursday (Monday = 0)


def scheduled_at(sub: Subscription, local_date: dt.date) -> dt.datetime:
    """The UTC instant of a subscription's post on a local date.

    A time that does not exist that day (spring forward) is taken with the offset before the
    change, so it falls an hour later on the wall clock; a time that happens twice (fall back) is
    taken the first time. Either way each local date has exactly one instant.
    """
    local = dt.datetime.combine(local_date, sub.time, zoneinfo.ZoneInfo(sub.timezone))
    return local.astimezone(dt.UTC)


def due_dates(
    sub: Subscription, now: dt.datetime, *, grace: dt.timedelta, late_after: dt.timedelta = dt.timedelta(minutes=2)
) -> list[tuple[dt.date, bool]]:
    """The local dates whose post is due at `now`: scheduled at or before now, at most `grace` ago.

    Each comes with `late`: True when its time passed more than `late_after` ago (a catch-up after downtime).
    Dates older than the grace window are not returned (the caller logs that it skipped them).
    """
    tz = zoneinfo.ZoneInfo(sub.timezone)
    today = now.astimezone(tz).date()
    due = []
    for back in range(grace.days + 2, -1, -1):
        local_date = today - dt.timedelta(days=back)
        if local_date.weekday() not in sub.weekdays:
            continue
        at = scheduled_at(sub, local_date)
        if at <= now and now - at <= grace:
            due.append((local_date, now - at > late_after))
    return due


def missed_dates(sub: Subscription, now: dt.datetime, *, grace: dt.timedelta, lookback_days: int = 7) -> list[dt.date]:
    """Scheduled dates in the last `lookback_days` whose time is older than the grace window."""
    tz = zoneinfo.ZoneInfo(sub.timezone)
    today = now.astimezone(tz).date()
    dates = (today - dt.timedelta(days=back) for back in range(lookback_days, -1, -1))
    return [d for d in dates if d.weekday() in sub.weekdays and now - scheduled_at(sub, d) > grace]


def latest_announcement(now: dt.datetime) -> dt.datetime:
    """The most recent arXiv announcement at or before `now` (aware, US Eastern)."""
    day = now.astimezone(EASTERN).date()
    for back in range(8):
        candidate = day - dt.timedelta(days=back)
        at = dt.datetime.combine(candidate, ANNOUNCE_AT, EASTERN)
        if candidate.weekday() in ANNOUNCE_WEEKDAYS and at <= now:
            return at
    raise AssertionError("arXiv announces every week")  # pragma: no cover


def _cutoff(announcement: dt.datetime) -> dt.datetime:
    day = announcement.date()
    if day.weekday() == 6:  # Sunday's announcement closed on Friday
        day -= dt.timedelta(days=2)
    return dt.datetime.combine(day, CUTOFF_AT, EASTERN)


def announced_window(now: dt.datetime, since: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """The submission window [start, end) of what arXiv has announced since `since` (a previous end).

    End is the cutoff of the latest announcement at `now`; without `since`, the window is that one
    announcement (from the previous announcement's cutoff). Both are UTC.
    """
    latest = latest_announcement(now)
    end = _cutoff(latest)
    if since is None:
        since = _cutoff(latest_announcement(latest - dt.timedelta(minutes=1)))
    return since.astimezone(dt.UTC), end.astimezone(dt.UTC)
