"""When digests are due, and which papers a digest covers. Pure functions of an aware `now`.

arXiv's schedule (info.arxiv.org/help/availability), all times US Eastern: submissions close at
14:00 on each working day, Monday to Friday, and are announced at 20:00 Sunday to Thursday.
Monday to Thursday, an announcement carries what was received since the previous working day's
14:00 until 14:00 that day (Friday 14:00 to Monday 14:00 for Monday's); Friday's submissions
(Thursday 14:00 to Friday 14:00) wait for Sunday's. There is none on Friday or Saturday evenings,
so a Saturday digest has nothing new and a Monday morning digest covers Sunday's announcement.
Holidays (arXiv skips a few announcements a year) and moderation holds are not modelled.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from bot.core.models import Subscription

EASTERN = zoneinfo.ZoneInfo("America/New_York")
ANNOUNCE_AT = dt.time(20, 0)
CUTOFF_AT = dt.time(14, 0)
ANNOUNCE_WEEKDAYS = (6, 0, 1, 2, 3)  # Sunday to Thursday (Monday = 0)
CUTOFF_WEEKDAYS = (0, 1, 2, 3, 4)  # Monday to Friday
Window = tuple[dt.datetime, dt.datetime]
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LAST_SECOND = dt.time(23, 59, 59)


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


def next_announcement(now: dt.datetime) -> dt.datetime:
    """The first arXiv announcement after `now` (aware, US Eastern)."""
    day = now.astimezone(EASTERN).date()
    for ahead in range(8):
        candidate = day + dt.timedelta(days=ahead)
        at = dt.datetime.combine(candidate, ANNOUNCE_AT, EASTERN)
        if candidate.weekday() in ANNOUNCE_WEEKDAYS and at > now:
            return at
    raise AssertionError("arXiv announces every week")  # pragma: no cover


def _cutoff(announcement: dt.datetime) -> dt.datetime:
    day = announcement.date()
    if day.weekday() == 6:  # Sunday's announcement closed on Friday
        day -= dt.timedelta(days=2)
    return dt.datetime.combine(day, CUTOFF_AT, EASTERN)


def _announcement_of(cutoff: dt.datetime) -> dt.datetime:
    """The announcement that closed at `cutoff` (a working day's 14:00 Eastern): Friday's is Sunday's."""
    day = cutoff.astimezone(EASTERN).date()
    if day.weekday() == 4:
        day += dt.timedelta(days=2)
    return dt.datetime.combine(day, ANNOUNCE_AT, EASTERN)


def _is_cutoff(t: dt.datetime) -> bool:
    eastern = t.astimezone(EASTERN)
    return eastern.weekday() in CUTOFF_WEEKDAYS and eastern.time() == CUTOFF_AT


def announced_window(now: dt.datetime, since: dt.datetime | None = None) -> Window:
    """The submission window [start, end) of what arXiv has announced since `since` (a previous end).

    End is the cutoff of the latest announcement at `now`; without `since`, the window is that one
    announcement (from the previous announcement's cutoff). Both are UTC.
    """
    latest = latest_announcement(now)
    end = _cutoff(latest)
    if since is None:
        since = _cutoff(latest_announcement(latest - dt.timedelta(minutes=1)))
    return since.astimezone(dt.UTC), end.astimezone(dt.UTC)


def utc_days(date: dt.date, days: int) -> Window:
    """The `days` whole UTC days ending on `date`, inclusive, as an aware [start, end] pair."""
    start = dt.datetime.combine(date - dt.timedelta(days=days - 1), dt.time.min, dt.UTC)
    return start, dt.datetime.combine(date, _LAST_SECOND, dt.UTC)


def _utc_days_of(window: Window) -> tuple[dt.date, dt.date] | None:
    """(first, last) UTC day when `window` is whole UTC days, as utc_days makes them."""
    start, end = (t.astimezone(dt.UTC) for t in window)
    if start.time() == dt.time.min and end.time() == _LAST_SECOND and start < end:
        return start.date(), end.date()
    return None


def _eastern(t: dt.datetime) -> str:
    """`Mon 1 Dec 20:00`, US Eastern (English names whatever the locale)."""
    e = t.astimezone(EASTERN)
    return f"{_DAY_NAMES[e.weekday()]} {e.day} {_MONTH_NAMES[e.month - 1]} {e:%H:%M}"


def announcements_in(window: Window) -> list[dt.datetime]:
    """The announcements whose whole submission window is `window` (each cutoff in (start, end]), oldest
    first; empty when `window` is not made of announcement windows (whole UTC days, say)."""
    start, end = window
    if not (_is_cutoff(start) and _is_cutoff(end)):
        return []
    first, last = start.astimezone(EASTERN).date(), end.astimezone(EASTERN).date()
    days = (first + dt.timedelta(days=n) for n in range(1, (last - first).days + 1))
    cutoffs = (dt.datetime.combine(day, CUTOFF_AT, EASTERN) for day in days if day.weekday() in CUTOFF_WEEKDAYS)
    return [_announcement_of(cutoff) for cutoff in cutoffs]


def describe_window(window: Window) -> str:
    """What a digest covers, in words, for its header: the announcement(s) and their submission times
    (US Eastern, as arXiv keeps them), or the whole UTC days asked for, or else the plain window."""
    if (days := _utc_days_of(window)) is not None:
        first, last = days
        if first == last:
            return f"Papers first submitted on {last.isoformat()} (UTC)"
        return f"Papers first submitted from {first.isoformat()} to {last.isoformat()} (UTC)"
    start, end = window
    submitted = f"submitted {_eastern(start)} – {_eastern(end)} ET"
    announced = announcements_in(window)
    if len(announced) == 1:
        return f"Announced {_eastern(announced[0])} ET: {submitted}"
    if announced:
        oldest, newest = _eastern(announced[0]), _eastern(announced[-1])
        return f"Announced {oldest} – {newest} ET ({len(announced)} announcements): {submitted}"
    if start >= end and _is_cutoff(end):
        return f"Nothing new: no arXiv announcement since {_eastern(_announcement_of(end))} ET"
    return f"Papers {submitted}"


def unannounced_note(window: Window, now: dt.datetime) -> str | None:
    """Why `window` can have no papers at `now`: arXiv has not announced (all of) it, or it is empty (no
    announcement since the previous digest). None when arXiv has announced all of it."""
    upcoming = f"{_eastern(next_announcement(now))} ET"
    if window[0] >= window[1]:
        return f"arXiv has announced nothing since the last digest; its next announcement is {upcoming}."
    announced_until = _cutoff(latest_announcement(now))
    if window[1] <= announced_until:
        return None
    if window[0] >= announced_until:
        return f"arXiv has not announced anything submitted in this window yet: its next announcement is {upcoming}."
    return (
        f"arXiv has announced what was submitted until {_eastern(announced_until)} ET; "
        f"what came later is in its next announcement, {upcoming}."
    )
