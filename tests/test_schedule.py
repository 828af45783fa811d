"""Which papers a digest covers: arXiv's announcement windows (US Eastern, across DST), their header text,
and why part of a window can have no papers yet. Pure functions; no I/O."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from bot.core.schedule import announced_window, announcements_in, describe_window, unannounced_note, utc_days
from tests.fakes.arxiv_server import announced_at

ET = zoneinfo.ZoneInfo("America/New_York")


def et(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=ET)


# Week of Monday 8 December 2025 (no holiday). (now, announcement, window start, window end), US Eastern.
MONDAY_ANNOUNCEMENT = (et(2025, 12, 8, 20), et(2025, 12, 5, 14), et(2025, 12, 8, 14))
SUNDAY_ANNOUNCEMENT = (et(2025, 12, 7, 20), et(2025, 12, 4, 14), et(2025, 12, 5, 14))
THURSDAY_ANNOUNCEMENT = (et(2025, 12, 4, 20), et(2025, 12, 3, 14), et(2025, 12, 4, 14))


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (et(2025, 12, 9, 9), MONDAY_ANNOUNCEMENT),  # Tuesday morning: Friday 14:00 to Monday 14:00
        (et(2025, 12, 8, 20), MONDAY_ANNOUNCEMENT),  # Monday, at the announcement
        (et(2025, 12, 8, 19, 59), SUNDAY_ANNOUNCEMENT),  # Monday, before it: Sunday's (Thursday to Friday)
        (et(2025, 12, 8, 9), SUNDAY_ANNOUNCEMENT),
        (et(2025, 12, 7, 20, 30), SUNDAY_ANNOUNCEMENT),  # Sunday evening
        (et(2025, 12, 7, 12), THURSDAY_ANNOUNCEMENT),  # Sunday noon: nothing since Thursday
        (et(2025, 12, 6, 12), THURSDAY_ANNOUNCEMENT),  # Saturday
        (et(2025, 12, 5, 21), THURSDAY_ANNOUNCEMENT),  # Friday evening: no announcement
    ],
)
def test_the_latest_announcement_window(now, expected):
    announcement, start, end = expected
    assert announced_window(now) == (start.astimezone(dt.UTC), end.astimezone(dt.UTC))
    assert announcements_in(announced_window(now)) == [announcement]


def test_windows_across_the_spring_dst_change():
    """Sunday 9 March 2025 02:00 ET clocks go forward: Sunday's announcement is at 20:00 EDT (00:00 UTC), and
    Monday's window runs from Friday 14:00 EST (19:00 UTC) to Monday 14:00 EDT (18:00 UTC): 71 hours."""
    before, at = dt.datetime(2025, 3, 9, 23, 59, tzinfo=dt.UTC), dt.datetime(2025, 3, 10, 0, 0, tzinfo=dt.UTC)
    assert announcements_in(announced_window(before)) == [et(2025, 3, 6, 20)]
    assert announcements_in(announced_window(at)) == [et(2025, 3, 9, 20)]
    start, end = announced_window(et(2025, 3, 11, 8))
    assert (start, end) == (dt.datetime(2025, 3, 7, 19, tzinfo=dt.UTC), dt.datetime(2025, 3, 10, 18, tzinfo=dt.UTC))
    assert end - start == dt.timedelta(hours=71)
    assert describe_window((start, end)) == (
        "Announced Mon 10 Mar 20:00 ET: submitted Fri 7 Mar 14:00 – Mon 10 Mar 14:00 ET"
    )


def test_windows_across_the_autumn_dst_change():
    """Sunday 2 November 2025 clocks go back: Monday's window is Friday 14:00 EDT (18:00 UTC) to Monday 14:00 EST
    (19:00 UTC), 73 hours; Monday's announcement is at 01:00 UTC."""
    start, end = announced_window(dt.datetime(2025, 11, 4, 1, 0, tzinfo=dt.UTC))
    assert (start, end) == (dt.datetime(2025, 10, 31, 18, tzinfo=dt.UTC), dt.datetime(2025, 11, 3, 19, tzinfo=dt.UTC))
    assert end - start == dt.timedelta(hours=73)
    assert announcements_in(announced_window(dt.datetime(2025, 11, 4, 0, 59, tzinfo=dt.UTC))) == [et(2025, 11, 2, 20)]


def test_windows_tile_time_over_a_year():
    """Hour by hour through 2025: each window is one announcement, ends before now, and starts where the
    previous one ended (no submission falls between two, none is in two)."""
    now, previous = dt.datetime(2025, 1, 1, tzinfo=dt.UTC), None
    while now.year == 2025:
        window = announced_window(now)
        assert window[1] <= now and len(announcements_in(window)) == 1
        if previous is not None and window != previous:
            assert window[0] == previous[1]
        previous, now = window, now + dt.timedelta(hours=1)


def test_each_submission_is_in_the_window_of_the_announcement_that_carries_it():
    """Against the fake arXiv's own statement of the schedule (written forward, from a submission): at its
    announcement a paper is in the latest window; a second before, it is not announced yet."""
    submitted = dt.datetime(2025, 2, 24, 0, 0, 30, tzinfo=dt.UTC)
    while submitted < dt.datetime(2025, 11, 20, tzinfo=dt.UTC):
        announcement = announced_at(submitted)
        start, end = announced_window(announcement)
        assert start < submitted < end, submitted
        assert announced_window(announcement - dt.timedelta(seconds=1))[1] < submitted
        submitted += dt.timedelta(minutes=97)


def test_headers_say_what_was_covered():
    """One announcement, several (a catch-up), none (nothing announced since), whole UTC days, anything else."""
    assert describe_window(announced_window(et(2025, 12, 9, 9))) == (
        "Announced Mon 8 Dec 20:00 ET: submitted Fri 5 Dec 14:00 – Mon 8 Dec 14:00 ET"
    )
    since_thursday = announced_window(et(2025, 12, 9, 9), since=et(2025, 12, 4, 14))
    assert describe_window(since_thursday) == (
        "Announced Sun 7 Dec 20:00 – Mon 8 Dec 20:00 ET (2 announcements): "
        "submitted Thu 4 Dec 14:00 – Mon 8 Dec 14:00 ET"
    )
    nothing_new = announced_window(et(2025, 12, 6, 9), since=et(2025, 12, 4, 14))
    assert describe_window(nothing_new) == "Nothing new: no arXiv announcement since Thu 4 Dec 20:00 ET"
    assert describe_window(utc_days(dt.date(2025, 5, 30), 1)) == "Papers first submitted on 2025-05-30 (UTC)"
    assert describe_window(utc_days(dt.date(2025, 5, 30), 3)) == (
        "Papers first submitted from 2025-05-28 to 2025-05-30 (UTC)"
    )
    odd = (et(2025, 12, 5, 9), et(2025, 12, 5, 17, 30))
    assert describe_window(odd) == "Papers submitted Fri 5 Dec 09:00 – Fri 5 Dec 17:30 ET"


def test_whole_utc_days_end_on_the_date():
    """--days 3 --date 2025-05-30 covers May 28 00:00 to May 30 23:59:59 UTC."""
    start, end = utc_days(dt.date(2025, 5, 30), 3)
    assert start == dt.datetime(2025, 5, 28, tzinfo=dt.UTC)
    assert end == dt.datetime(2025, 5, 30, 23, 59, 59, tzinfo=dt.UTC)


def test_what_arxiv_has_not_announced_yet_is_named():
    """Today's UTC day at Tuesday 09:00 ET: announced until Monday 14:00 ET, the rest on Tuesday evening.
    Tomorrow: nothing of it yet. Last week: all announced. An empty catch-up window: nothing since."""
    now = et(2025, 12, 9, 9)
    assert unannounced_note(utc_days(dt.date(2025, 12, 9), 1), now) == (
        "arXiv has not announced anything submitted in this window yet: its next announcement is Tue 9 Dec 20:00 ET."
    )
    assert unannounced_note(utc_days(dt.date(2025, 12, 9), 3), now) == (
        "arXiv has announced what was submitted until Mon 8 Dec 14:00 ET; what came later is in its next "
        "announcement, Tue 9 Dec 20:00 ET."
    )
    assert unannounced_note(utc_days(dt.date(2025, 12, 3), 2), now) is None
    assert unannounced_note(announced_window(now), now) is None
    nothing_new = announced_window(et(2025, 12, 6, 9), since=et(2025, 12, 4, 14))
    assert unannounced_note(nothing_new, et(2025, 12, 6, 9)) == (
        "arXiv has announced nothing since the last digest; its next announcement is Sun 7 Dec 20:00 ET."
    )
